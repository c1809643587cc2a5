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
  // The caller has the admin role: it may write the events whose rules say
  // so (EventEnteredInError) without being registered or involved.
  bool admin = false;
};

// What a decision may need to know about one event of the client's stream
// (EventEnteredInError names one).
struct StreamEventInfo {
  uint64_t global_position = 0;
  uint64_t stream_version = 0;
  // The log's event_type, e.g. "ReferralSent".
  std::string event_type;
  // The organisation that recorded it (the envelope's actor).
  std::string organization_id;
  // Whether it carries a care event (the log may hold others).
  bool care_event = false;
};
// Finds an event of the client's stream by its id in lowercase
// 36-character form; nullopt when the stream holds none.
using FindStreamEvent =
    absl::FunctionRef<std::optional<StreamEventInfo>(absl::string_view)>;

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
// `find_event` looks up events of the client's stream (the overload without
// it finds none, so EventEnteredInError is NOT_FOUND there).
// REQUIRES: ValidateCareCommand(command) is OK.
[[nodiscard]] absl::StatusOr<std::vector<v1::CareEvent>> DecideClientCommand(
    const care::ClientRecord& record,
    const care::OrganizationDirectory& directory,
    absl::FunctionRef<bool(absl::string_view)> involved_in_other,
    FindStreamEvent find_event, const CareCommand& command);
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
