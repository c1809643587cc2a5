#include "services/care_command_handler.h"

#include <future>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/access_policy.h"
#include "care/upcasting.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace caseline::services {
namespace {

using eventstore::EventId;

// Serialization that is the same bytes for the same message, so that a
// retried command produces identical events.
std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return bytes;
}

}  // namespace

// Identifies what a command asks for, so that a command_id reused for a
// different command is told apart from a retry.
std::string CommandDigest(const care::CareCommand& command,
                          bool occurred_at_given) {
  std::string name =
      absl::StrCat(command.client_id, "\n", DeterministicBytes(command.event));
  if (occurred_at_given) {
    absl::StrAppend(&name, "\n", absl::ToUnixNanos(command.occurred_at));
  }
  return EventId::FromName(name).ToString();
}

bool IsOrganizationCommand(const care::CareCommand& command) {
  return command.event.has_organization_registered() ||
         command.event.has_organization_updated();
}

std::string CommandStreamId(const care::CareCommand& command) {
  return IsOrganizationCommand(command)
             ? std::string(care::kOrganizationsStream)
             : care::ClientStreamId(command.client_id);
}

eventstore::AppendRequest CommandAppendRequest(
    const care::CareCommand& command, absl::string_view digest,
    const std::vector<v1::CareEvent>& events, std::optional<uint64_t> version) {
  const std::string id_prefix =
      absl::StrCat(command.organization_id, "\n", command.command_id, "\n");
  eventstore::AppendRequest append;
  append.stream_id = CommandStreamId(command);
  append.expected_version = version.has_value()
                                ? eventstore::ExpectedVersion::Exact(*version)
                                : eventstore::ExpectedVersion::NoStream();
  for (size_t i = 0; i < events.size(); ++i) {
    eventstore::ProposedEvent& e = append.events.emplace_back();
    e.event_id = EventId::FromName(absl::StrCat(id_prefix, i));
    e.event_type = care::CareEventName(events[i]);
    e.occurred_at = command.occurred_at;
    e.actor = {command.organization_id, command.user_id, command.role};
    e.correlation_id = command.command_id;
    e.schema_version = care::SchemaVersionOf(events[i].event_case());
    e.content_type = v1::kCareEventContentType;
    e.payload = DeterministicBytes(events[i]);
    e.metadata = {{kCommandIdKey, command.command_id},
                  {kCommandDigestKey, std::string(digest)},
                  {kCommandEventsKey, absl::StrCat(events.size())}};
  }
  return append;
}

CareCommandHandler::CareCommandHandler(
    eventstore::EventLog* log, projections::ClientRecordStore* records,
    absl::AnyInvocable<absl::Time() const> clock)
    : log_(log), records_(records), clock_(std::move(clock)) {}

void KeyedSequencer::Run(const std::string& key, Task task) {
  {
    MutexLock lock(&mu_);
    auto [it, idle] = waiting_.try_emplace(key);
    if (!idle) {
      it->second.push_back(std::move(task));
      return;
    }
  }
  RunSoon(std::move(task));
}

void KeyedSequencer::Release(const std::string& key) {
  Task next;
  {
    MutexLock lock(&mu_);
    auto it = waiting_.find(key);
    if (it == waiting_.end()) return;
    if (it->second.empty()) {
      waiting_.erase(it);
      return;
    }
    next = std::move(it->second.front());
    it->second.pop_front();
  }
  RunSoon(std::move(next));
}

size_t KeyedSequencer::busy_keys() const {
  MutexLock lock(&mu_);
  return waiting_.size();
}

void KeyedSequencer::RunSoon(Task task) {
  // A trampoline: the outermost call on a thread runs its task and then every
  // task started meanwhile on this thread, so that a task released by a task
  // that finished inline does not run nested inside it.
  thread_local std::deque<Task>* started = nullptr;
  if (started != nullptr) {
    started->push_back(std::move(task));
    return;
  }
  std::deque<Task> queue;
  started = &queue;
  std::move(task)();
  while (!queue.empty()) {
    Task next = std::move(queue.front());
    queue.pop_front();
    std::move(next)();
  }
  started = nullptr;
}

absl::StatusOr<v1::CommandResult> CareCommandHandler::AlreadyApplied(
    const eventstore::RecordedEvent& first, const std::string& stream_id,
    const std::string& digest, const care::CareCommand& command) {
  auto digest_it = first.metadata.find(kCommandDigestKey);
  if (first.stream_id != stream_id || digest_it == first.metadata.end() ||
      digest_it->second != digest) {
    return absl::AlreadyExistsError(absl::StrCat(
        "command_id ", command.command_id, " was already used by ",
        command.organization_id, " for another command (", first.event_type,
        " on stream ", first.stream_id, " at global position ",
        first.global_position, "); a new command needs a new command_id"));
  }
  size_t count = 1;
  if (auto it = first.metadata.find(kCommandEventsKey);
      it != first.metadata.end()) {
    if (!absl::SimpleAtoi(it->second, &count) || count == 0) count = 1;
  }
  eventstore::ReadStreamOptions read;
  read.from_version = first.stream_version;
  read.max_count = std::min(count, eventstore::kMaxReadCount);
  ASSIGN_OR_RETURN(eventstore::StreamPage page,
                   log_->ReadStream(stream_id, read));
  v1::CommandResult result;
  result.set_stream_id(stream_id);
  result.set_already_applied(true);
  result.set_first_global_position(first.global_position);
  for (const eventstore::RecordedEvent& e : page.events) {
    result.add_event_types(e.event_type);
    result.set_last_global_position(e.global_position);
    result.set_stream_version(e.stream_version);
  }
  return result;
}

// One command on its way through ExecuteAsync.
struct CareCommandHandler::Running {
  care::CareCommand command;
  std::string stream_id;
  std::string digest;
  EventId first_id;
  ExecuteCallback done;
};

absl::StatusOr<v1::CommandResult> CareCommandHandler::Execute(
    care::CareCommand command, bool occurred_at_given) {
  std::promise<absl::StatusOr<v1::CommandResult>> result;
  ExecuteAsync(std::move(command), occurred_at_given,
               [&result](absl::StatusOr<v1::CommandResult> r) {
                 result.set_value(std::move(r));
               });
  return result.get_future().get();
}

void CareCommandHandler::ExecuteAsync(care::CareCommand command,
                                      bool occurred_at_given,
                                      ExecuteCallback done) {
  const absl::Time now = clock_ ? clock_() : absl::Now();
  if (!occurred_at_given) command.occurred_at = now;
  if (absl::Status s = care::ValidateCareCommand(command, now); !s.ok()) {
    std::move(done)(std::move(s));
    return;
  }
  // In a cluster, decide against every write acknowledged anywhere before
  // this command (a single log holds them already).
  if (absl::Status s = log_->AwaitAcknowledged(absl::Seconds(10)); !s.ok()) {
    std::move(done)(std::move(s));
    return;
  }
  auto running = std::make_shared<Running>();
  running->stream_id = CommandStreamId(command);
  running->digest = CommandDigest(command, occurred_at_given);
  running->first_id = EventId::FromName(
      absl::StrCat(command.organization_id, "\n", command.command_id, "\n", 0));
  running->command = std::move(command);
  running->done = std::move(done);
  const std::string stream_id = running->stream_id;
  streams_.Run(stream_id, [this, running = std::move(running)]() mutable {
    Attempt(std::move(running), 0);
  });
}

void CareCommandHandler::Finish(const std::shared_ptr<Running>& running,
                                absl::StatusOr<v1::CommandResult> result) {
  // Answering is the last thing done here: once every command is answered,
  // the server may destroy this handler. So the stream's next command is let
  // in first (it may even start, on this thread, before this one is
  // answered).
  ExecuteCallback done = std::move(running->done);
  streams_.Release(running->stream_id);
  std::move(done)(std::move(result));
}

void CareCommandHandler::Attempt(std::shared_ptr<Running> running,
                                 int attempt) {
  const care::CareCommand& command = running->command;
  const std::string& stream_id = running->stream_id;
  if (attempt == 0) {
    absl::StatusOr<std::optional<eventstore::RecordedEvent>> existing =
        log_->FindEvent(running->first_id);
    if (!existing.ok()) return Finish(running, existing.status());
    if (existing->has_value()) {
      return Finish(running, AlreadyApplied(**existing, stream_id,
                                            running->digest, command));
    }
  }
  if (attempt == kMaxDecideAttempts) {
    return Finish(
        running,
        absl::AbortedError(absl::StrCat(
            "stream ", stream_id,
            " kept changing while the command was decided (",
            kMaxDecideAttempts,
            " attempts); retry the command with the same command_id")));
  }
  // The version appended at is the one the decision was made against: the
  // stream's last event of any kind (a raw, non-care event on a client's or
  // the organisations stream is not part of the record, but the append must
  // still expect it).
  absl::StatusOr<std::vector<v1::CareEvent>> events;
  std::optional<uint64_t> version;
  if (IsOrganizationCommand(command)) {
    absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>>
        directory = records_->Directory();
    if (!directory.ok()) return Finish(running, directory.status());
    events = care::DecideOrganizationCommand(**directory, command);
    version = (*directory)->version();
  } else {
    absl::StatusOr<projections::ClientAtHead> client =
        records_->Open(command.client_id);
    if (!client.ok()) return Finish(running, client.status());
    // A care event of the stream that does not parse: the record is not
    // known, so nothing is decided.
    if (absl::Status s = client->client->parse_error(); !s.ok()) {
      return Finish(running, std::move(s));
    }
    auto involved_in_other = [this, &command](absl::string_view other) {
      absl::StatusOr<std::shared_ptr<const projections::ClientSnapshot>> r =
          records_->Client(other);
      return r.ok() && (*r)->parse_error().ok() && (*r)->record().registered &&
             care::Involved((*r)->record(), command.organization_id);
    };
    const projections::ClientSnapshot& snapshot = *client->client;
    auto find_event = [&snapshot](absl::string_view event_id)
        -> std::optional<care::StreamEventInfo> {
      for (const auto& stored : snapshot.events()) {
        const eventstore::RecordedEvent& e = stored->recorded;
        if (e.event_id.ToString() != event_id) continue;
        return care::StreamEventInfo{e.global_position, e.stream_version,
                                     e.event_type, e.actor.organization_id,
                                     stored->care.has_value()};
      }
      return std::nullopt;
    };
    events = care::DecideClientCommand(snapshot.record(), *client->directory,
                                       involved_in_other, find_event, command);
    version = client->client->version();
  }
  if (!events.ok()) return Finish(running, events.status());
  if (command.expected_version.has_value() &&
      (!version.has_value() || *version != *command.expected_version)) {
    return Finish(running,
                  absl::AbortedError(absl::StrCat(
                      "stream ", stream_id, " is at version ",
                      version.has_value() ? absl::StrCat(*version) : "none",
                      ", not the expected ", *command.expected_version,
                      " (x-caseline-expected-version): read the record "
                      "again and decide again")));
  }

  eventstore::AppendRequest append =
      CommandAppendRequest(command, running->digest, *events, version);
  v1::CommandResult result;
  result.set_stream_id(stream_id);
  for (const eventstore::ProposedEvent& e : append.events) {
    result.add_event_types(e.event_type);
  }
  log_->AppendAsync(
      std::move(append),
      [this, running = std::move(running), attempt, result = std::move(result)](
          absl::StatusOr<eventstore::AppendResult> appended) mutable {
        KeyedSequencer::RunSoon([this, running = std::move(running), attempt,
                                 result = std::move(result),
                                 appended = std::move(appended)]() mutable {
          Appended(std::move(running), attempt, std::move(result),
                   std::move(appended));
        });
      });
}

void CareCommandHandler::Appended(
    std::shared_ptr<Running> running, int attempt, v1::CommandResult result,
    absl::StatusOr<eventstore::AppendResult> appended) {
  if (appended.ok()) {
    result.set_first_global_position(appended->first_position);
    result.set_last_global_position(appended->last_position);
    result.set_stream_version(appended->last_version);
    result.set_already_applied(appended->already_written);
    return Finish(running, std::move(result));
  }
  if (absl::IsAborted(appended.status())) {
    // The record moved (another writer to the same log): decide again.
    return Attempt(std::move(running), attempt + 1);
  }
  if (absl::IsAlreadyExists(appended.status())) {
    // A concurrent copy of this command won the race.
    absl::StatusOr<std::optional<eventstore::RecordedEvent>> existing =
        log_->FindEvent(running->first_id);
    if (!existing.ok()) return Finish(running, existing.status());
    if (existing->has_value()) {
      return Finish(running, AlreadyApplied(**existing, running->stream_id,
                                            running->digest, running->command));
    }
  }
  Finish(running, appended.status());
}

}  // namespace caseline::services
