// CareCommandHandler: runs care-record commands against the event log.
//
// For each command, in its stream's turn (commands on one stream run one at a
// time in this server, queued without holding a thread), it (1) returns the
// original result if the command_id was already applied; (2) gets the client's
// record and the organisation directory from the ClientRecordStore (caught up
// from the streams rather than re-read); (3) decides with the pure rules of
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

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "base/mutex.h"
#include "care/care_decision.h"
#include "caseline/v1/care_record.pb.h"
#include "caseline/v1/wire_constants.h"
#include "eventstore/event_log.h"
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
std::string CommandDigest(const care::CareCommand& command,
                          bool occurred_at_given);
// The append that records `events`, decided for `command` against a record
// at `version` (nullopt: the stream does not exist yet): name-based event ids,
// the command's actor, occurred_at and metadata, care-event payloads.
eventstore::AppendRequest CommandAppendRequest(
    const care::CareCommand& command, absl::string_view digest,
    const std::vector<v1::CareEvent>& events, std::optional<uint64_t> version);

// Runs tasks one at a time per key (a stream), in arrival order, without
// holding a thread while a task waits: a task ends when it calls Release(key)
// (from any thread), which starts the key's next task. A task started from
// inside another task on the same thread runs after that one returns, so a
// chain of tasks that finish inline never nests on the stack.
// Thread-safe.
class KeyedSequencer {
 public:
  using Task = absl::AnyInvocable<void() &&>;
  KeyedSequencer() = default;
  // Takes the lock once, so that a Release that ran on another thread just
  // before (its caller answered, and the owner destroys this) is ordered
  // before the destruction, also for TSan, which does not see the ordering
  // through gRPC's uninstrumented Abseil.
  ~KeyedSequencer() { MutexLock lock(&mu_); }
  void Run(const std::string& key, Task task) ABSL_LOCKS_EXCLUDED(mu_);
  void Release(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);
  // Keys with a running task (for tests: 0 when idle).
  size_t busy_keys() const ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `task` now or, when called from inside a task run this way on this
  // thread, right after that task returns (a trampoline). Run and Release
  // start tasks this way; a callback that may start tasks should run its body
  // this way too, so that a chain of tasks that finish inline stays flat.
  static void RunSoon(Task task);

 private:
  mutable Mutex mu_;
  // A key is present while one of its tasks runs; the deque holds the
  // tasks waiting behind it.
  absl::flat_hash_map<std::string, std::deque<Task>> waiting_
      ABSL_GUARDED_BY(mu_);
};

class CareCommandHandler {
 public:
  using ExecuteCallback =
      absl::AnyInvocable<void(absl::StatusOr<v1::CommandResult>) &&>;

  // `log` and `records` (the reader of its client and organisations
  // streams) are not owned and must outlive the handler. `clock` defaults to
  // absl::Now.
  CareCommandHandler(eventstore::EventLog* log,
                     projections::ClientRecordStore* records,
                     absl::AnyInvocable<absl::Time() const> clock = nullptr);

  // Runs `command`; `occurred_at_given` says whether the caller set
  // command.occurred_at (otherwise it is taken to be now). Calls `done`
  // exactly once, possibly before returning, on this thread or on a thread of
  // the log (EventLog::AppendAsync's contract): no thread waits for the
  // append's sync, so a gRPC thread can run it.
  void ExecuteAsync(care::CareCommand command, bool occurred_at_given,
                    ExecuteCallback done);
  // Blocking form of ExecuteAsync.
  [[nodiscard]] absl::StatusOr<v1::CommandResult> Execute(
      care::CareCommand command, bool occurred_at_given);

 private:
  struct Running;

  absl::StatusOr<v1::CommandResult> AlreadyApplied(
      const eventstore::RecordedEvent& first, const std::string& stream_id,
      const std::string& digest, const care::CareCommand& command);
  // Decides `running` against the current record and appends; on a version
  // conflict, decides again from the append's callback.
  void Attempt(std::shared_ptr<Running> running, int attempt);
  // The rest of Attempt, once the append is answered.
  void Appended(std::shared_ptr<Running> running, int attempt,
                v1::CommandResult result,
                absl::StatusOr<eventstore::AppendResult> appended);
  // Lets the stream's next command in, then answers the caller (last: the
  // handler may be destroyed once every command is answered).
  void Finish(const std::shared_ptr<Running>& running,
              absl::StatusOr<v1::CommandResult> result);

  eventstore::EventLog* const log_;
  projections::ClientRecordStore* const records_;
  const absl::AnyInvocable<absl::Time() const> clock_;
  // Commands on one stream run one at a time in this server, so that they do
  // not race each other through re-decisions; no thread waits meanwhile.
  KeyedSequencer streams_;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_CARE_COMMAND_HANDLER_H_
