// The checks the per-topic rule files share (care/*_rules.cc): field checks
// (ids, text, enums, dates, timestamps), lookups in the record and the
// directory, and the one standing refusal. Private to care/'s rule files.
//
// Every check returns OK or the refusal that names the field or the rule and
// what would satisfy it; the texts are part of the API (acceptance tests in
// other languages compare them), so change them only on purpose.
#ifndef CASELINE_CARE_RULE_CHECKS_H_
#define CASELINE_CARE_RULE_CHECKS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "care/client_record.h"
#include "care/organization_directory.h"
#include "caseline/v1/care_events.pb.h"
#include "google/protobuf/repeated_field.h"
#include "google/protobuf/timestamp.pb.h"

namespace caseline::care::rules {

inline constexpr size_t kMaxIdBytes = 64;
inline constexpr size_t kMaxTextBytes = 4096;

// INVALID_ARGUMENT "<field>: <problem>".
absl::Status Invalid(absl::string_view field, absl::string_view problem);

// --- Field checks (no state) -------------------------------------------------

// 1..64 of A-Z a-z 0-9 . _ - :, starting with a letter or digit.
absl::Status CheckId(absl::string_view value, absl::string_view field);
// As CheckId, but empty is allowed.
absl::Status CheckOptionalId(absl::string_view value, absl::string_view field);
// At most kMaxTextBytes; not empty when `required`.
absl::Status CheckText(absl::string_view value, absl::string_view field,
                       bool required);
// An enum field: a value `is_valid` knows (the generated <Enum>_IsValid), and
// not UNSPECIFIED (0) when `required`.
absl::Status CheckEnum(int value, bool (*is_valid)(int),
                       absl::string_view field, bool required);
// A calendar date between years 1 and 9999.
absl::Status CheckDate(const v1::Date& date, absl::string_view field);
// A caller's timestamp: nanos 0..999999999.
absl::Status CheckTimestamp(const google::protobuf::Timestamp& t,
                            absl::string_view field);
// A given or a family name; each part within the text limit.
absl::Status CheckName(const v1::PersonName& name, absl::string_view field);
// Each element a known DataClass other than UNSPECIFIED, named field[i].
absl::Status CheckDataClasses(
    const google::protobuf::RepeatedField<int>& classes,
    absl::string_view field);

// --- Lookups in the directory and the record ---------------------------------

// NOT_FOUND naming `field` unless the organisation is registered.
absl::Status RequireOrganization(const OrganizationDirectory& directory,
                                 absl::string_view organization_id,
                                 absl::string_view field);

// ALREADY_EXISTS unless `id` is new among the client's `what`s (a map of the
// record keyed by id).
template <typename Map>
absl::Status RequireNew(const Map& map, const std::string& id,
                        absl::string_view what, absl::string_view client_id) {
  if (map.count(id) == 0) return absl::OkStatus();
  return absl::AlreadyExistsError(absl::StrCat(what, " ", id,
                                               " already exists for client ",
                                               client_id, "; choose a new id"));
}

// The client's `what` with `id`, or NOT_FOUND.
template <typename Map>
auto RequireKnown(const Map& map, const std::string& id, absl::string_view what,
                  absl::string_view client_id)
    -> absl::StatusOr<const typename Map::mapped_type*> {
  auto it = map.find(id);
  if (it != map.end()) return &it->second;
  return absl::NotFoundError(
      absl::StrCat("client ", client_id, " has no ", what, " ", id));
}

// --- Standing (docs/access.md "Who may write what", step 5) ------------------

// The one answer for a client the acting organisation may not act on and for
// a client that does not exist, so that writes cannot probe which exist:
// PERMISSION_DENIED, prefixed with "<field>: " when `field` is not empty.
absl::Status NotKnownOrNotInvolved(absl::string_view field,
                                   absl::string_view client,
                                   absl::string_view organization,
                                   const v1::CareEvent& event);

}  // namespace caseline::care::rules

#endif  // CASELINE_CARE_RULE_CHECKS_H_
