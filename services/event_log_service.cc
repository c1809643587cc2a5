#include "services/event_log_service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "care/access_policy.h"
#include "care/organization_directory.h"
#include "services/event_conversion.h"
#include "services/grpc_status.h"

namespace caseline::services {
namespace {

// Events read from the log per catch-up step of a subscription.
constexpr size_t kSubscriptionPage = 500;

constexpr char kReadStreamOperation[] = "caseline.v1.EventLog/ReadStream";
constexpr char kReadAllOperation[] = "caseline.v1.EventLog/ReadAll";
constexpr char kSubscribeOperation[] = "caseline.v1.EventLog/Subscribe";

// The client of a client stream, or empty.
absl::string_view ClientOfStream(absl::string_view stream_id) {
  if (absl::ConsumePrefix(&stream_id, "client-")) return stream_id;
  return {};
}

// The care streams take events only through the care-record commands,
// which decide them against the record (docs/access.md "Raw appends").
absl::Status CheckNotCareStream(absl::string_view stream_id) {
  if (!absl::StartsWith(stream_id, "client-") &&
      !absl::StartsWith(stream_id, care::kAccessStreamPrefix) &&
      stream_id != care::kOrganizationsStream) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "stream_id: ", stream_id,
      " is a care stream (client-<id>, access-<id> and organizations take "
      "events only through the care-record services: Clients, Consents, "
      "Referrals, ..., Organizations); append raw events to another stream"));
}

}  // namespace

EventLogService::EventLogService(eventstore::EventLog* log,
                                 AccessControl* access,
                                 EventLogServiceOptions options)
    : log_(log), access_(access), options_(options) {}

void EventLogService::BeginShutdown() { shutting_down_ = true; }

grpc::ServerUnaryReactor* EventLogService::Append(
    grpc::CallbackServerContext* context, const v1::AppendRequest* request,
    v1::AppendResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  absl::Status allowed = caller.status();
  if (allowed.ok()) {
    // Care events go through the care-record commands, which check them
    // against the record and the caller; raw appends are for operators.
    allowed = RequireRole(*caller, kAdmin,
                          "EventLog.Append (raw appends; agencies record care "
                          "events through the care-record services)");
  }
  if (allowed.ok()) allowed = CheckNotCareStream(request->stream_id());
  if (!allowed.ok()) {
    reactor->Finish(ToGrpcStatus(allowed));
    return reactor;
  }
  absl::StatusOr<eventstore::AppendRequest> append = FromProto(*request);
  if (!append.ok()) {
    reactor->Finish(ToGrpcStatus(append.status()));
    return reactor;
  }
  log_->AppendAsync(
      *std::move(append),
      [reactor, response](absl::StatusOr<eventstore::AppendResult> r) {
        if (r.ok()) ToProto(*r, response);
        reactor->Finish(ToGrpcStatus(r.status()));
      });
  return reactor;
}

grpc::ServerUnaryReactor* EventLogService::ReadStream(
    grpc::CallbackServerContext* context, const v1::ReadStreamRequest* request,
    v1::ReadStreamResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto finish = [reactor](const absl::Status& s) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  };
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return finish(caller.status());
  // A client's stream: an agency that is not involved with the client
  // learns nothing, not even whether the stream exists.
  std::optional<ClientRead> client_read;
  if (const absl::string_view client = ClientOfStream(request->stream_id());
      !client.empty()) {
    absl::StatusOr<ClientRead> read =
        access_->OpenClient(*caller, client, kReadStreamOperation);
    if (!read.ok()) return finish(read.status());
    client_read = *std::move(read);
  }
  absl::StatusOr<eventstore::StreamPage> page =
      log_->ReadStream(request->stream_id(), FromProto(*request));
  if (!page.ok()) return finish(page.status());
  if (client_read.has_value() && !page->events.empty() &&
      !client_read->Knows(page->events.back().stream_version)) {
    // Appended since the decision was made: decide on the newer record.
    absl::StatusOr<ClientRead> read = access_->OpenClient(
        *caller, ClientOfStream(request->stream_id()), kReadStreamOperation);
    if (!read.ok()) return finish(read.status());
    client_read = *std::move(read);
  }
  // What the page shows, answered once its access records are durable (no
  // thread waits for that sync; most pages need no record at all).
  struct Shown {
    eventstore::StreamPage page;
    std::vector<bool> visible;
    v1::Withheld withheld;
  };
  auto shown = std::make_shared<Shown>();
  shown->visible.resize(page->events.size());
  auto answer = [reactor, response, shown](absl::Status recorded) {
    if (!recorded.ok()) {
      reactor->Finish(ToGrpcStatus(recorded));
      return;
    }
    const eventstore::StreamPage& read = shown->page;
    for (size_t i = 0; i < read.events.size(); ++i) {
      if (shown->visible[i]) ToProto(read.events[i], response->add_events());
    }
    response->set_next_version(read.next_version);
    response->set_end_of_stream(read.end_of_stream);
    response->set_last_stream_version(read.last_stream_version);
    if (shown->withheld.count() > 0) {
      *response->mutable_withheld() = std::move(shown->withheld);
    }
    reactor->Finish(grpc::Status::OK);
  };
  if (client_read.has_value()) {
    for (size_t i = 0; i < page->events.size(); ++i) {
      shown->visible[i] = client_read->Show(page->events[i]);
    }
    shown->withheld = client_read->withheld();
    shown->page = *std::move(page);
    access_->RecordAsync(*caller, kReadStreamOperation, {&*client_read},
                         std::move(answer));
    return reactor;
  }
  StreamFilter filter(access_, &*caller);
  if (absl::Status s = filter.Filter(page->events, &shown->visible); !s.ok()) {
    return finish(s);
  }
  shown->withheld = filter.TakeWithheld();
  shown->page = *std::move(page);
  filter.RecordShownAsync(kReadStreamOperation, std::move(answer));
  return reactor;
}

grpc::Status EventLogService::ReadAll(grpc::ServerContext* context,
                                      const v1::ReadAllRequest* request,
                                      v1::ReadAllResponse* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status s = RequireRole(
          *caller, kAdmin | kAuditor,
          "EventLog.ReadAll (a global read; agencies read their clients' "
          "streams with ReadStream or Subscribe)");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(FromProto(*request));
  if (!page.ok()) return ToGrpcStatus(page.status());
  StreamFilter filter(access_, &*caller);
  std::vector<bool> visible;
  if (absl::Status s = filter.Filter(page->events, &visible); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = filter.RecordShown(kReadAllOperation); !s.ok()) {
    return ToGrpcStatus(s);
  }
  for (const eventstore::RecordedEvent& e : page->events) {
    ToProto(e, response->add_events());
  }
  response->set_next_position(page->next_position);
  response->set_end_of_log(page->end_of_log);
  response->set_head_position(page->head_position);
  return grpc::Status::OK;
}

// Every subscriber reads the log itself, a page at a time, and writes with
// gRPC's flow control: a slow consumer holds back only its own reads, and the
// server never holds more than one page for it.
grpc::Status EventLogService::Subscribe(
    grpc::ServerContext* context, const v1::SubscribeRequest* request,
    grpc::ServerWriter<v1::SubscribeResponse>* writer) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!caller->break_glass_reason.empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "x-caseline-break-glass: breaking the glass is for one read of one "
        "client, not a subscription; read the client's stream instead"));
  }
  // Delivers only what the caller may see (everything for auditors and
  // admins), and writes the access records of each page before it.
  StreamFilter filter(access_, &*caller);
  std::vector<bool> visible;
  eventstore::ReadAllOptions read;
  read.max_count = kSubscriptionPage;
  read.filter = FromProto(request->filter());
  const uint64_t head_at_start = log_->HeadPosition();
  uint64_t next = request->has_from_end()
                      ? head_at_start + 1
                      : std::max<uint64_t>(request->from_position(), 1);
  const uint64_t checkpoint_events = request->checkpoint_every_events() != 0
                                         ? request->checkpoint_every_events()
                                         : options_.default_checkpoint_events;
  const absl::Duration checkpoint_interval =
      request->checkpoint_interval_ms() != 0
          ? absl::Milliseconds(request->checkpoint_interval_ms())
          : options_.default_checkpoint_interval;

  bool caught_up = false;
  uint64_t examined_since_checkpoint = 0;
  absl::Time last_checkpoint = absl::Now();
  v1::SubscribeResponse message;
  auto send_checkpoint = [&](bool is_caught_up) {
    message.Clear();
    v1::Checkpoint* checkpoint = is_caught_up ? message.mutable_caught_up()
                                              : message.mutable_checkpoint();
    checkpoint->set_position(next - 1);
    if (v1::Withheld w = filter.TakeWithheld(); w.count() > 0) {
      *checkpoint->mutable_withheld() = std::move(w);
    }
    examined_since_checkpoint = 0;
    last_checkpoint = absl::Now();
    return writer->Write(message);
  };

  while (true) {
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "subscription cancelled");
    }
    if (shutting_down_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          absl::StrCat("server shutting down; resubscribe with "
                                       "from_position ",
                                       next));
    }
    read.from_position = next;
    absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
    if (!page.ok()) return ToGrpcStatus(page.status());
    if (absl::Status s = filter.Filter(page->events, &visible); !s.ok()) {
      return ToGrpcStatus(s);
    }
    if (absl::Status s = filter.RecordShown(kSubscribeOperation); !s.ok()) {
      return ToGrpcStatus(s);
    }
    for (size_t i = 0; i < page->events.size(); ++i) {
      if (!visible[i]) continue;
      const eventstore::RecordedEvent& e = page->events[i];
      message.Clear();
      ToProto(e, message.mutable_event());
      if (!writer->Write(message)) {
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "subscriber went away");
      }
    }
    examined_since_checkpoint += page->next_position - next;
    next = page->next_position;
    if (!caught_up && next > head_at_start) {
      caught_up = true;
      if (!send_checkpoint(/*is_caught_up=*/true)) {
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "subscriber went away");
      }
    }
    if (examined_since_checkpoint >= checkpoint_events ||
        absl::Now() - last_checkpoint >= checkpoint_interval) {
      if (!send_checkpoint(/*is_caught_up=*/false)) {
        return grpc::Status(grpc::StatusCode::CANCELLED,
                            "subscriber went away");
      }
    }
    if (page->end_of_log) {
      const absl::Duration until_checkpoint =
          checkpoint_interval - (absl::Now() - last_checkpoint);
      log_->WaitForHeadAbove(
          next - 1,
          std::max(absl::ZeroDuration(),
                   std::min(options_.subscription_poll, until_checkpoint)));
    }
  }
}

// Anyone may verify the chain: it shows hashes, not care data.
grpc::Status EventLogService::VerifyChain(grpc::ServerContext* context,
                                          const v1::VerifyChainRequest* request,
                                          v1::VerifyChainResponse* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<eventstore::ChainVerification> report =
      log_->VerifyChain(request->from_position(), request->to_position());
  if (!report.ok()) return ToGrpcStatus(report.status());
  response->set_ok(report->ok);
  response->set_events_checked(report->events_checked);
  response->set_first_bad_position(report->first_bad_position);
  response->set_problem(report->problem);
  response->set_head_position(report->head_position);
  response->set_head_hash(eventstore::HashToHex(report->head_hash));
  return grpc::Status::OK;
}

}  // namespace caseline::services
