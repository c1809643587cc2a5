// Decides care-record commands: given a client's record (or the organisation
// directory) and a proposed care event, either the events to append or a
// rejection that names the rule and what would satisfy it. Pure functions of
// their arguments: no I/O, no clock (the caller passes `now`).
#ifndef CASELINE_CARE_CARE_DECISION_H_
#define CASELINE_CARE_CARE_DECISION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "care/client_record.h"
#include "care/organization_directory.h"

namespace caseline::care {

// How far ahead of the server clock occurred_at may be.
inline constexpr absl::Duration kMaxFutureSkew = absl::Minutes(5);

struct CareCommand {
  std::string command_id;
  std::string client_id;        // empty for organisation commands
  std::string organization_id;  // the acting organisation
  std::string user_id;
  absl::Time occurred_at;
  v1::CareEvent event;  // what the caller proposes
  // The acting person's discipline (x-caseline-discipline), recorded as the
  // actor's role; empty when not given.
  std::string role = {};
  // Set when the caller asked for optimistic concurrency (metadata
  // x-caseline-expected-version): the command is refused with ABORTED,
  // nothing written, unless the stream it writes is at exactly this version
  // when it is decided. Not re-decided on a conflict.
  std::optional<uint64_t> expected_version = {};
};

// Checks the command's own fields: command_id, client_id, occurred_at and the
// proposed event's ids, required fields and enum values. INVALID_ARGUMENT
// naming the field.
[[nodiscard]] absl::Status ValidateCareCommand(const CareCommand& command,
                                               absl::Time now);

// Decides a client command against `record` (the client's current record),
// in the order of docs/access.md "Who may write what": the acting
// organisation is registered (NOT_FOUND x-caseline-org); it is involved in
// the client's care, the client being registered (else PERMISSION_DENIED,
// the same answer for an unknown client); the command's own rule
// (PERMISSION_DENIED naming it); then the record's state.
// `involved_in_other(id)` answers whether the acting organisation is
// involved in another client's care (false for an unknown client).
// REQUIRES: ValidateCareCommand(command) is OK.
[[nodiscard]] absl::StatusOr<std::vector<v1::CareEvent>> DecideClientCommand(
    const care::ClientRecord& record,
    const care::OrganizationDirectory& directory,
    absl::FunctionRef<bool(absl::string_view)> involved_in_other,
    const CareCommand& command);

// Decides OrganizationRegistered / OrganizationUpdated.
[[nodiscard]] absl::StatusOr<std::vector<v1::CareEvent>>
DecideOrganizationCommand(const care::OrganizationDirectory& directory,
                          const CareCommand& command);

}  // namespace caseline::care

#endif  // CASELINE_CARE_CARE_DECISION_H_
