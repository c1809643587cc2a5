// The organisation directory, folded from the "organizations" stream.
// A plain value: not thread-safe; copy it to share.
#ifndef CASELINE_CARE_ORGANIZATION_DIRECTORY_H_
#define CASELINE_CARE_ORGANIZATION_DIRECTORY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "caseline/v1/care_events.pb.h"
#include "care/care_event_context.h"

namespace caseline::care {

// The stream that holds OrganizationRegistered / OrganizationUpdated.
inline constexpr char kOrganizationsStream[] = "organizations";

class OrganizationDirectory {
 public:
  // Folds one event of the organizations stream; other events are ignored.
  void Apply(const v1::CareEvent& event, const CareEventContext& context);

  // The organisation, or nullptr.
  const v1::OrganizationRegistered* Find(
      absl::string_view organization_id) const;
  bool Contains(absl::string_view organization_id) const {
    return Find(organization_id) != nullptr;
  }
  size_t size() const { return organizations_.size(); }
  // Every organisation, ordered by id.
  std::vector<const v1::OrganizationRegistered*> All() const;
  // Version of the last event applied; nullopt before the first.
  std::optional<uint64_t> version() const { return version_; }
  // Records that the stream was read up to `version` (a non-care event on
  // it, which Apply never sees). No effect when `version` is not newer.
  void SkipTo(uint64_t version) {
    if (!version_.has_value() || *version_ < version) version_ = version;
  }

 private:
  absl::flat_hash_map<std::string, v1::OrganizationRegistered> organizations_;
  std::optional<uint64_t> version_;
};

}  // namespace caseline::care

#endif  // CASELINE_CARE_ORGANIZATION_DIRECTORY_H_
