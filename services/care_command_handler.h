// CareCommandHandler: runs care-record commands against the event log.
//
// For each command, holding the stream's lock (commands on one stream run one
// at a time in this server), it (1) returns the original result if the
// command_id was already applied; (2) gets the client's record and the
// organisation directory from the ClientRecordStore (caught up from the
// streams rather than re-read); (3) decides with the pure rules of
// care_decision.h; (4) appends the events with the exact stream version the
// record was read at, and on a version conflict (another writer to the same
// log) re-decides against the new record, up to kMaxDecideAttempts times.
//
// Idempotency: the events of command C by organisation O get the name-based
// ids EventId::FromName(O + "\n" + C + "\n" + index), so the log itself
// refuses a second copy, and a retry finds the first.
//
// Thread-safe.
#ifndef CASELINE_SERVICES_CARE_COMMAND_HANDLER_H_
#define CASELINE_SERVICES_CARE_COMMAND_HANDLER_H_

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "caseline/v1/care_record.pb.h"
#include "caseline/v1/wire_constants.h"
#include "eventstore/event_log.h"
#include "base/mutex.h"
#include "care/care_decision.h"
#include "projections/client_record_store.h"

namespace caseline::services {

// Envelope metadata keys on care events.
inline constexpr char kCommandIdKey[] = "command_id";
inline constexpr char kCommandDigestKey[] = "command_digest";
inline constexpr char kCommandEventsKey[] = "command_events";

inline constexpr int kMaxDecideAttempts = 8;

// The pieces of Execute that are functions of the command alone, so that
// tests and tests/fuzz/request_fuzz.cc check exactly what Execute appends.
//
// Organisation commands (OrganizationRegistered/Updated) write the
// "organizations" stream; all others the client's stream.
bool IsOrganizationCommand(const care::CareCommand& command);
std::string CommandStreamId(const care::CareCommand& command);
// Identifies what a command asks for (its client, event and, when given,
// occurred_at), so that a command_id reused for another command is told apart
// from a retry. Stored as the kCommandDigestKey metadata.
std::string CommandDigest(const care::CareCommand& command, bool occurred_at_given);
// The append that records `events`, decided for `command` against a record
// at `version` (nullopt: the stream does not exist yet): name-based event ids,
// the command's actor, occurred_at and metadata, care-event payloads.
eventstore::AppendRequest CommandAppendRequest(
    const care::CareCommand& command, absl::string_view digest,
    const std::vector<v1::CareEvent>& events, std::optional<uint64_t> version);


class CareCommandHandler {
 public:
  // `log` and `records` (the reader of its client and organisations
  // streams) are not owned and must outlive the handler. `clock` defaults to
  // absl::Now.
  CareCommandHandler(eventstore::EventLog* log,
                     projections::ClientRecordStore* records,
                     absl::AnyInvocable<absl::Time() const> clock = nullptr);

  // Runs `command`; `occurred_at_given` says whether the caller set
  // command.occurred_at (otherwise it is taken to be now).
  [[nodiscard]] absl::StatusOr<v1::CommandResult> Execute(
      care::CareCommand command, bool occurred_at_given);

 private:
  absl::StatusOr<v1::CommandResult> AlreadyApplied(
      const eventstore::RecordedEvent& first, const std::string& stream_id,
      const std::string& digest, const care::CareCommand& command);
  // Serialises commands on one stream within this server, so that they do
  // not race each other through re-decisions; a stream maps to one stripe.
  Mutex& StreamLock(const std::string& stream_id);

  eventstore::EventLog* const log_;
  projections::ClientRecordStore* const records_;
  const absl::AnyInvocable<absl::Time() const> clock_;
  std::array<Mutex, 64> stream_locks_;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_CARE_COMMAND_HANDLER_H_
