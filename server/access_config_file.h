// Reads caselined --access_config: the organisations allowed to call and
// their roles (docs/access.md), as JSON:
//   {"organizations": {"org-mercy-general": ["agency"],
//                      "state-privacy-office": ["auditor"],
//                      "caseline-ops": ["admin"]}}
// Roles: "agency", "auditor", "admin"; an organisation may hold several.
#ifndef CASELINE_SERVER_ACCESS_CONFIG_FILE_H_
#define CASELINE_SERVER_ACCESS_CONFIG_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/access_control.h"

namespace caseline::server {

// INVALID_ARGUMENT naming the key for anything else: an unknown key or role,
// a value of the wrong type, an organisation without roles.
absl::StatusOr<services::AccessConfig> ParseAccessConfig(absl::string_view json);

// Reads and parses the file; NOT_FOUND when it cannot be read.
absl::StatusOr<services::AccessConfig> LoadAccessConfigFile(
    const std::string& path);

}  // namespace caseline::server

#endif  // CASELINE_SERVER_ACCESS_CONFIG_FILE_H_
