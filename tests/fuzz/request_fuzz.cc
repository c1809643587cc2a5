// request_fuzz: one request as the services receive it, through the same
// conversion, validation and command decision they run.
//
// Input: byte 0 selects the request type (tests/fuzz/care_world.h
// RequestTypes), byte 1 the caller (CallerFor), the rest is the request in
// protobuf wire form; bytes gRPC would refuse to parse are skipped.
//
// Care-record requests run CommandFromRequest -> ValidateCareCommand ->
// DecideClientCommand / DecideOrganizationCommand against TheCareWorld(),
// then CommandAppendRequest -> ValidateAppendRequest, exactly as
// CareCommandHandler::Execute does, and fold the accepted events into a copy
// of the record. EventLog requests run FromProto and the log's own checks;
// an accepted append is sealed and decoded as the log would store it.
//
// Invariants (abort on violation):
//   - a refusal is a documented code (services/care_command_handler.h) with a
//     message;
//   - deciding is a pure function: the same command gives the same answer;
//   - an accepted command yields at least one care event, each of a known
//     type, whose append passes the event log's validation, and whose
//     payloads parse back to the decided events;
//   - an accepted append's events survive SealEnvelope / DecodeEnvelope.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "caseline/v1/care_record.pb.h"
#include "caseline/v1/event_log.pb.h"
#include "eventstore/envelope.h"
#include "eventstore/validation.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/care_command_handler.h"
#include "care/care_decision.h"
#include "services/care_record_service.h"
#include "services/event_conversion.h"
#include "tests/fuzz/care_world.h"
#include "tests/fuzz/fuzz_check.h"

namespace caseline::fuzz {
namespace {

using google::protobuf::util::MessageDifferencer;

// CASELINE_FUZZ_VERBOSE=1 prints each input's outcome (for checking seeds).
void Trace(const absl::Status& status, const google::protobuf::Message& m) {
  static const bool verbose = std::getenv("CASELINE_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "%s: %s\n", m.GetDescriptor()->name().c_str(),
                 status.ToString().c_str());
  }
}

void CheckRefusal(const absl::Status& status,
                  std::initializer_list<absl::StatusCode> allowed) {
  FUZZ_CHECK(!status.ok(), "a refusal must not be OK");
  FUZZ_CHECK(!status.message().empty(),
             absl::StrCat("refusal without a message: ", status.ToString()));
  bool documented = false;
  for (absl::StatusCode code : allowed) documented |= status.code() == code;
  FUZZ_CHECK(documented, absl::StrCat("undocumented code: ", status.ToString()));
}

using Decision = absl::StatusOr<std::vector<v1::CareEvent>>;

void CheckSameDecision(const Decision& a, const Decision& b) {
  FUZZ_CHECK(a.status() == b.status(),
             absl::StrCat(a.status().ToString(), " vs ", b.status().ToString()));
  if (!a.ok()) return;
  FUZZ_CHECK(a->size() == b->size(), "different number of events");
  for (size_t i = 0; i < a->size(); ++i) {
    FUZZ_CHECK(MessageDifferencer::Equals((*a)[i], (*b)[i]),
               (*a)[i].ShortDebugString());
  }
}

void FuzzCommand(const services::Caller& caller,
                 const google::protobuf::Message& request) {
  bool occurred_at_given = false;
  absl::StatusOr<care::CareCommand> command =
      services::CommandFromRequest(caller, request, &occurred_at_given);
  if (!command.ok()) {
    Trace(command.status(), request);
    CheckRefusal(command.status(), {absl::StatusCode::kInvalidArgument,
                                    absl::StatusCode::kPermissionDenied});
    return;
  }
  const CareWorld& world = TheCareWorld();
  if (!occurred_at_given) command->occurred_at = world.now;
  if (absl::Status s = care::ValidateCareCommand(*command, world.now);
      !s.ok()) {
    Trace(s, request);
    CheckRefusal(s, {absl::StatusCode::kInvalidArgument});
    return;
  }

  const bool organization = services::IsOrganizationCommand(*command);
  care::ClientRecord record(command->client_id);
  if (auto it = world.clients.find(command->client_id);
      it != world.clients.end()) {
    record = it->second;
  }
  auto client_exists = [&world](absl::string_view id) {
    auto it = world.clients.find(std::string(id));
    return it != world.clients.end() && it->second.registered;
  };
  auto decide = [&]() -> Decision {
    if (organization) {
      return care::DecideOrganizationCommand(world.directory, *command);
    }
    return care::DecideClientCommand(record, world.directory,
                                         client_exists, *command);
  };
  const Decision events = decide();
  CheckSameDecision(events, decide());
  Trace(events.status(), request);
  if (!events.ok()) {
    CheckRefusal(events.status(), {absl::StatusCode::kInvalidArgument,
                                   absl::StatusCode::kNotFound,
                                   absl::StatusCode::kAlreadyExists,
                                   absl::StatusCode::kPermissionDenied,
                                   absl::StatusCode::kFailedPrecondition});
    return;
  }

  const std::string what = command->event.ShortDebugString();
  FUZZ_CHECK(!events->empty(), absl::StrCat("accepted with no events: ", what));
  for (const v1::CareEvent& e : *events) {
    FUZZ_CHECK(e.event_case() != v1::CareEvent::EVENT_NOT_SET, what);
  }
  const std::optional<uint64_t> version =
      organization ? world.directory.version() : record.version;
  const eventstore::AppendRequest append = services::CommandAppendRequest(
      *command, services::CommandDigest(*command, occurred_at_given), *events,
      version);
  const absl::Status valid =
      eventstore::ValidateAppendRequest(append, eventstore::Limits{});
  FUZZ_CHECK(valid.ok(),
             absl::StrCat("the decision accepted ", what,
                          " but the event log refuses its append: ",
                          valid.ToString()));
  FUZZ_CHECK(append.stream_id == services::CommandStreamId(*command), what);
  FUZZ_CHECK(append.events.size() == events->size(), what);

  // Fold what was appended, as the next command's record would.
  care::CareEventContext context;
  context.occurred_at = command->occurred_at;
  context.recorded_at = world.now;
  context.organization_id = command->organization_id;
  context.user_id = command->user_id;
  care::OrganizationDirectory directory = world.directory;
  for (size_t i = 0; i < append.events.size(); ++i) {
    v1::CareEvent stored;
    FUZZ_CHECK(stored.ParseFromString(append.events[i].payload), what);
    FUZZ_CHECK(MessageDifferencer::Equals(stored, (*events)[i]), what);
    context.global_position = 1000 + i;
    if (organization) {
      context.stream_version = directory.version().value_or(0) + 1;
      directory.Apply(stored, context);
    } else {
      context.stream_version =
          record.version.has_value() ? *record.version + 1 : 0;
      record.Apply(stored, context);
      FUZZ_CHECK(record.version == context.stream_version, what);
    }
  }
}

void FuzzAppend(const v1::AppendRequest& request) {
  absl::StatusOr<eventstore::AppendRequest> append =
      services::FromProto(request);
  if (!append.ok()) {
    CheckRefusal(append.status(), {absl::StatusCode::kInvalidArgument});
    return;
  }
  if (absl::Status s =
          eventstore::ValidateAppendRequest(*append, eventstore::Limits{});
      !s.ok()) {
    CheckRefusal(s, {absl::StatusCode::kInvalidArgument});
    return;
  }
  // What the log stores for each event (event_log_append.cc).
  const absl::Time now = TheCareWorld().now;
  eventstore::Hash chain{};
  uint64_t version = 0;
  for (const eventstore::ProposedEvent& e : append->events) {
    eventstore::RecordedEvent r;
    r.event_id = e.event_id.value_or(eventstore::EventId());
    r.stream_id = append->stream_id;
    r.stream_version = version++;
    r.global_position = version;
    r.event_type = e.event_type;
    r.occurred_at = e.occurred_at.value_or(now);
    r.recorded_at = now;
    r.actor = e.actor;
    r.correlation_id = e.correlation_id;
    r.causation_id = e.causation_id;
    r.schema_version = e.schema_version;
    r.content_type = e.content_type;
    r.payload = e.payload;
    r.metadata = e.metadata;
    r.prev_hash = chain;
    const std::string value = eventstore::SealEnvelope(&r);
    chain = r.hash;
    absl::StatusOr<eventstore::RecordedEvent> decoded =
        eventstore::DecodeEnvelope(value);
    FUZZ_CHECK(decoded.ok(), decoded.status().ToString());
    FUZZ_CHECK(*decoded == r,
               absl::StrCat("envelope round trip changed event ",
                            r.global_position));
  }
}

void FuzzReadStream(const v1::ReadStreamRequest& request) {
  // The checks EventLog::ReadStream makes of the converted options.
  const eventstore::ReadStreamOptions options = services::FromProto(request);
  absl::Status s = eventstore::ValidateStreamId(
      request.stream_id(), eventstore::Limits{}, "stream_id");
  if (s.ok()) s = eventstore::ValidateMaxCount(options.max_count);
  if (!s.ok()) CheckRefusal(s, {absl::StatusCode::kInvalidArgument});
  if (request.max_count() == 0) {
    FUZZ_CHECK(options.max_count == services::kDefaultReadCount,
               "max_count 0 must mean the default page");
  }
}

void FuzzReadAll(const v1::ReadAllRequest& request) {
  const eventstore::ReadAllOptions options = services::FromProto(request);
  if (absl::Status s = eventstore::ValidateMaxCount(options.max_count);
      !s.ok()) {
    CheckRefusal(s, {absl::StatusCode::kInvalidArgument});
  }
  FUZZ_CHECK(options.filter.event_type_prefix ==
                 request.filter().event_type_prefix(),
             "filter lost");
}

}  // namespace
}  // namespace caseline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caseline;  // NOLINT(google-build-using-namespace)
  if (size < 2) return 0;
  const auto& types = fuzz::RequestTypes();
  const google::protobuf::Descriptor* type = types[data[0] % types.size()];
  const services::Caller caller = fuzz::CallerFor(data[1]);
  std::unique_ptr<google::protobuf::Message> request(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(type)
          ->New());
  if (!request->ParseFromArray(data + 2, static_cast<int>(size - 2))) return 0;
  if (type == v1::AppendRequest::descriptor()) {
    fuzz::FuzzAppend(static_cast<const v1::AppendRequest&>(*request));
  } else if (type == v1::ReadStreamRequest::descriptor()) {
    fuzz::FuzzReadStream(static_cast<const v1::ReadStreamRequest&>(*request));
  } else if (type == v1::ReadAllRequest::descriptor()) {
    fuzz::FuzzReadAll(static_cast<const v1::ReadAllRequest&>(*request));
  } else {
    fuzz::FuzzCommand(caller, *request);
  }
  return 0;
}
