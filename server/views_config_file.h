// Reads caselined --views_config: a JSON object whose keys are ViewsConfig's
// field names (care/views_config.h), each optional, e.g.
//   {"follow_up_window_days": 7, "caseload_threshold": 40,
//    "match_threshold": 0.85, "time_zone": "America/New_York"}
// time_zone is an IANA name, loaded from the system's zone database;
// phone_region a region code libphonenumber supports ("US", "AU");
// address_abbreviations an object of word -> abbreviation whose words are
// normalised as client matching normalises address words (care/
// client_matching.h NormalizeAddressLine), replacing the default table;
// nicknames_file the path of a nickname list (care/nicknames.h), replacing
// the built-in one.
#ifndef CASELINE_SERVER_VIEWS_CONFIG_FILE_H_
#define CASELINE_SERVER_VIEWS_CONFIG_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "care/views_config.h"

namespace caseline::server {

// Parses `json` over the defaults. INVALID_ARGUMENT naming the key for an
// unknown key, a value of the wrong type or out of range; naming the key and
// the value for a time_zone the zone database does not know and for a
// phone_region libphonenumber does not support; naming the word for an
// address_abbreviations entry that is not one word to one word, or two
// entries for one normalised word with different abbreviations; naming
// nicknames_file and the path for a list that cannot be read, and the line
// for one that does not parse (care::NicknameTable::Parse). A relative
// nicknames_file is read from `directory` (empty: the working directory).
absl::StatusOr<care::ViewsConfig> ParseViewsConfig(
    absl::string_view json, const std::string& directory = "");

// Reads and parses the file (a relative nicknames_file is read beside it);
// NOT_FOUND when it cannot be read.
absl::StatusOr<care::ViewsConfig> LoadViewsConfigFile(
    const std::string& path);

}  // namespace caseline::server

#endif  // CASELINE_SERVER_VIEWS_CONFIG_FILE_H_
