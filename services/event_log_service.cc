#include "services/event_log_service.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/random/random.h"
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

// The call's deadline (InfiniteFuture when it has none).
absl::Time DeadlineOf(const grpc::ServerContext& context) {
  // gRPC reports "no deadline" as a time point centuries away.
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline - std::chrono::system_clock::now() >
      std::chrono::hours(24 * 365 * 100)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

std::function<bool()> CancelledOf(const grpc::ServerContext& context) {
  return [&context] { return context.IsCancelled(); };
}

}  // namespace

EventLogService::EventLogService(eventstore::EventLog* log,
                                 AccessControl* access,
                                 EventLogServiceOptions options)
    : log_(log),
      access_(access),
      options_(options),
      hub_(log, SubscriptionHubOptions{
                    .workers = options.subscription_workers,
                    .max_per_organization =
                        options.max_subscriptions_per_organization}),
      verifications_("chain verifications",
                     options.max_concurrent_verifications),
      large_reads_("large ReadAll pages", options.max_concurrent_large_reads) {}

EventLogService::~EventLogService() { Stop(); }

void EventLogService::BeginShutdown() {
  shutting_down_ = true;
  hub_.BeginShutdown();
}

void EventLogService::Stop() {
  shutting_down_ = true;
  hub_.Stop();
}

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
  auto answer = [reactor, response, shown](const absl::Status& recorded) {
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
  const eventstore::ReadAllOptions read = FromProto(*request);
  // A large page takes its turn (EventLogServiceOptions) for reading,
  // filtering and converting it, the work that takes CPU; not for waiting
  // for its access records to be synced.
  std::optional<AdmissionLimiter::Permit> permit;
  if (read.max_count > kDefaultReadCount ||
      !read.filter.event_type_prefix.empty() ||
      !read.filter.stream_id_prefix.empty()) {
    absl::StatusOr<AdmissionLimiter::Permit> admitted =
        large_reads_.Acquire(DeadlineOf(*context), CancelledOf(*context));
    if (!admitted.ok()) return ToGrpcStatus(admitted.status());
    permit = *std::move(admitted);
  }
  StreamFilter filter(access_, &*caller);
  absl::StatusOr<eventstore::LogPage> page;
  absl::Status filtered;
  auto read_and_convert = [&] {
    page = log_->ReadAll(read);
    if (!page.ok()) return;
    std::vector<bool> visible;
    filtered = filter.Filter(page->events, &visible);
    if (!filtered.ok()) return;
    // Nothing leaves before the access records are durable (below): the
    // response is sent only when this returns OK.
    for (const eventstore::RecordedEvent& e : page->events) {
      ToProto(e, response->add_events());
    }
  };
  if (permit.has_value()) {
    large_reads_.RunAdmitted(*permit, read_and_convert);
    permit.reset();
  } else {
    read_and_convert();
  }
  if (!page.ok()) return ToGrpcStatus(page.status());
  if (!filtered.ok()) return ToGrpcStatus(filtered);
  if (absl::Status s = filter.RecordShown(kReadAllOperation); !s.ok()) {
    return ToGrpcStatus(s);
  }
  response->set_next_position(page->next_position);
  response->set_end_of_log(page->end_of_log);
  response->set_head_position(page->head_position);
  return grpc::Status::OK;
}

// One subscription, as a callback reactor: it holds no thread while it waits
// for the consumer or for the log (services/subscription_hub.h). It is always
// in exactly one of these states, and whoever holds it there is the only one
// to touch its delivery state:
//  - reading: Step() on a hub worker reads the page after `next_`, filters
//    it and writes its access records (StreamFilter::RecordShown) before any
//    of it is shown;
//  - writing: one message in flight; OnWriteDone() starts the next (Advance).
//    So a slow consumer holds back only itself, and the server holds at most
//    one page (kSubscriptionPage events) for it;
//  - parked: caught up to the head, holding no events, until the hub resumes
//    it (the head moved past it, its checkpoint interval elapsed, it was
//    cancelled, or the server is shutting down), which runs Step() again.
// The messages and their order are those of the synchronous loop this
// replaced: per page, its visible events; then `caught_up` once the
// subscription has passed the head it started at; then a checkpoint when
// checkpoint_every_events have been examined or checkpoint_interval has
// passed since the last one.
class EventLogService::SubscribeReactor final
    : public grpc::ServerWriteReactor<v1::SubscribeResponse>,
      public ParkedSubscription {
 public:
  SubscribeReactor(EventLogService* service,
                   grpc::CallbackServerContext* context,
                   const v1::SubscribeRequest& request)
      : service_(service), filter_(service->access_, &caller_) {
    absl::StatusOr<Caller> caller = service_->access_->Authenticate(*context);
    if (!caller.ok()) {
      Finish(ToGrpcStatus(caller.status()));
      return;
    }
    caller_ = *std::move(caller);
    if (!caller_.break_glass_reason.empty()) {
      Finish(ToGrpcStatus(absl::InvalidArgumentError(
          "x-caseline-break-glass: breaking the glass is for one read of one "
          "client, not a subscription; read the client's stream instead")));
      return;
    }
    // Development mode's anonymous local operator is not an organisation
    // and is not capped.
    if (absl::Status admitted = service_->hub_.Admit(caller_.organization_id,
                                                     Capped());
        !admitted.ok()) {
      Finish(ToGrpcStatus(admitted));
      return;
    }
    admitted_ = true;
    read_.max_count = kSubscriptionPage;
    read_.filter = FromProto(request.filter());
    head_at_start_ = service_->log_->HeadPosition();
    next_ = request.has_from_end()
                ? head_at_start_ + 1
                : std::max<uint64_t>(request.from_position(), 1);
    checkpoint_events_ = request.checkpoint_every_events() != 0
                             ? request.checkpoint_every_events()
                             : service_->options_.default_checkpoint_events;
    checkpoint_interval_ =
        request.checkpoint_interval_ms() != 0
            ? absl::Milliseconds(request.checkpoint_interval_ms())
            : service_->options_.default_checkpoint_interval;
    last_checkpoint_ = absl::Now();
    service_->hub_.Run([this] { Step(); });
  }

  void OnWriteDone(bool ok) override {
    HandOff();
    if (!ok) {
      EndWith(grpc::Status(grpc::StatusCode::CANCELLED, "subscriber went away"));
      return;
    }
    Advance();
  }

  void OnCancel() override {
    MutexLock lock(&mu_);
    cancelled_ = true;
    // A parked subscription is resumed and ends itself (Step); one reading
    // or writing sees the flag, or a failed write, when that is done.
    service_->hub_.Wake(this);
  }

  void OnDone() override {
    HandOff();
    ReleaseEvents();
    if (admitted_) service_->hub_.Release(caller_.organization_id, Capped());
    delete this;
  }

  // Called by the hub's dispatcher, on a worker.
  void Resume(uint64_t unmatched_through) override {
    if (unmatched_through < next_ || IsCancelled() ||
        service_->shutting_down_) {
      Step();
      return;
    }
    // Events the hub already found this filter does not match are examined
    // (they count towards the next checkpoint) without reading them again.
    // What is left is the checkpoint, if one is due, and parking again
    // (Advance reads on instead if the head has moved meanwhile).
    examined_since_checkpoint_ += unmatched_through - (next_ - 1);
    next_ = unmatched_through + 1;
    page_end_ = true;
    after_page_ = AfterPage::kPeriodicCheckpoint;
    Advance();
  }

 private:
  // Reads, filters and records the next page, then delivers it. On a hub
  // worker (it may block on the log and on the access records' sync).
  void Step() {
    if (IsCancelled()) {
      EndWith(grpc::Status(grpc::StatusCode::CANCELLED,
                           "subscription cancelled"));
      return;
    }
    if (service_->shutting_down_) {
      EndWith(grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          absl::StrCat("server shutting down; resubscribe with from_position ",
                       next_)));
      return;
    }
    absl::StatusOr<std::shared_ptr<const eventstore::LogPage>> page =
        ReadPage();
    if (!page.ok()) {
      EndWith(ToGrpcStatus(page.status()));
      return;
    }
    const std::vector<eventstore::RecordedEvent>& events = (*page)->events;
    if (absl::Status s = filter_.Filter(events, &visible_); !s.ok()) {
      EndWith(ToGrpcStatus(s));
      return;
    }
    if (absl::Status s = filter_.RecordShown(kSubscribeOperation); !s.ok()) {
      EndWith(ToGrpcStatus(s));
      return;
    }
    page_ = *std::move(page);
    service_->hub_.CountBuffered(static_cast<int64_t>(page_->events.size()));
    index_ = 0;
    after_page_ = AfterPage::kBookkeeping;
    Advance();
  }

  // The page after next_: its matching events, where it ends, and whether
  // it reached the head. Near the head, all subscriptions at the same
  // position share one unfiltered read of it (SubscriptionHub::TailPage),
  // each keeping its matches: the same page a filtered read would give,
  // ending where the shared read stopped.
  absl::StatusOr<std::shared_ptr<const eventstore::LogPage>> ReadPage() {
    SubscriptionHub& hub = service_->hub_;
    if (service_->log_->HeadPosition() >= next_ + kSubscriptionPage) {
      read_.from_position = next_;
      ASSIGN_OR_RETURN(eventstore::LogPage page, service_->log_->ReadAll(read_));
      return std::make_shared<const eventstore::LogPage>(std::move(page));
    }
    std::shared_ptr<const eventstore::LogPage> tail = hub.TailPage(next_);
    if (tail == nullptr) {
      eventstore::ReadAllOptions all;
      all.from_position = next_;
      all.max_count = kSubscriptionPage;
      ASSIGN_OR_RETURN(eventstore::LogPage page, service_->log_->ReadAll(all));
      tail = std::make_shared<const eventstore::LogPage>(std::move(page));
      // Only a page that moves a subscription on: an empty one would keep
      // returning "nothing new" after the head moved.
      if (tail->next_position > next_) hub.SetTailPage(next_, tail);
    }
    const eventstore::EventFilter& filter = read_.filter;
    if (filter.event_type_prefix.empty() && filter.stream_id_prefix.empty()) {
      return tail;
    }
    auto mine = std::make_shared<eventstore::LogPage>();
    for (const eventstore::RecordedEvent& e : tail->events) {
      if (filter.Matches(e.stream_id, e.event_type)) mine->events.push_back(e);
    }
    mine->next_position = tail->next_position;
    mine->end_of_log = tail->end_of_log;
    mine->head_position = tail->head_position;
    return mine;
  }

  // Starts the next write of the page being delivered, or, once the page is
  // out, its checkpoints, then reads the next page or parks. Never blocks:
  // runs on a worker or on gRPC's callback threads. Touches nothing of
  // `this` after starting a write, scheduling or parking, since whoever
  // continues may end the call.
  void Advance() {
    const size_t size = page_ == nullptr ? 0 : page_->events.size();
    while (index_ < size && !visible_[index_]) ++index_;
    if (index_ < size) {
      message_.Clear();
      ToProto(page_->events[index_++], message_.mutable_event());
      HandOff();
      StartWrite(&message_);
      return;
    }
    if (after_page_ == AfterPage::kBookkeeping) {
      const uint64_t page_next = page_->next_position;
      page_end_ = page_->end_of_log;
      ReleaseEvents();
      examined_since_checkpoint_ += page_next - next_;
      next_ = page_next;
      after_page_ = AfterPage::kPeriodicCheckpoint;
      if (!caught_up_ && next_ > head_at_start_) {
        caught_up_ = true;
        StartCheckpoint(/*is_caught_up=*/true);
        return;
      }
    }
    if (after_page_ == AfterPage::kPeriodicCheckpoint) {
      after_page_ = AfterPage::kNone;
      if (examined_since_checkpoint_ >= checkpoint_events_ ||
          absl::Now() - last_checkpoint_ >= checkpoint_interval_) {
        StartCheckpoint(/*is_caught_up=*/false);
        return;
      }
    }
    if (!page_end_) {
      service_->hub_.Run([this] { Step(); });
      return;
    }
    // Caught up: hold nothing (not even the last message's buffers) while
    // waiting for a matching event after next_ - 1, or for the events to
    // examine before the next checkpoint (fewer than checkpoint_events_ are
    // examined yet: the periodic checkpoint above would have gone out).
    v1::SubscribeResponse().Swap(&message_);
    const uint64_t checkpoint_due_at =
        next_ - 1 + (examined_since_checkpoint_ < checkpoint_events_
                         ? checkpoint_events_ - examined_since_checkpoint_
                         : 1);
    MutexLock lock(&mu_);
    // Under mu_, so that OnCancel's Wake cannot come between the check and
    // the parking and be lost.
    if (cancelled_ ||
        !service_->hub_.Park(this, next_ - 1,
                             last_checkpoint_ + checkpoint_interval_,
                             read_.filter, checkpoint_due_at)) {
      service_->hub_.Run([this] { Step(); });
    }
  }

  void StartCheckpoint(bool is_caught_up) {
    message_.Clear();
    v1::Checkpoint* checkpoint = is_caught_up ? message_.mutable_caught_up()
                                              : message_.mutable_checkpoint();
    checkpoint->set_position(next_ - 1);
    if (v1::Withheld w = filter_.TakeWithheld(); w.count() > 0) {
      *checkpoint->mutable_withheld() = std::move(w);
    }
    examined_since_checkpoint_ = 0;
    last_checkpoint_ = absl::Now();
    if (is_caught_up) {
      // Subscriptions opened together (clients reconnecting after a
      // restart) would otherwise all fall due for their periodic checkpoint
      // at the same event and the same moment, and send them in one burst
      // that the appends of that moment wait behind. Starting each at a
      // random point of its period spreads them; every later checkpoint
      // comes a full period after the one before, so they stay spread.
      // Checkpoints only come earlier than promised, never later.
      thread_local absl::BitGen random;
      if (checkpoint_events_ > 1) {
        examined_since_checkpoint_ =
            absl::Uniform<uint64_t>(random, 0, checkpoint_events_);
      }
      last_checkpoint_ -=
          checkpoint_interval_ * absl::Uniform(random, 0.0, 1.0);
    }
    HandOff();
    StartWrite(&message_);
  }

  bool Capped() const { return !caller_.local_operator; }

  bool IsCancelled() {
    MutexLock lock(&mu_);
    return cancelled_;
  }

  void ReleaseEvents() {
    if (page_ != nullptr) {
      service_->hub_.CountBuffered(-static_cast<int64_t>(page_->events.size()));
      page_.reset();
    }
    std::vector<bool>().swap(visible_);
    index_ = 0;
  }

  // Ends the call. The last thing the holder of the subscription does.
  void EndWith(const grpc::Status& status) {
    ReleaseEvents();
    HandOff();
    Finish(status);
  }

  // gRPC runs OnWriteDone and OnDone on its own threads, after a write or
  // Finish started on a hub worker. That hand-over happens inside Debian's
  // uninstrumented gRPC, so ThreadSanitizer cannot see that what the worker
  // did (reading a page another subscription may free later) came first.
  // Passing through mu_ on both sides, HandOff() just before starting and
  // first thing in the callback, states the order in a lock TSan sees.
  // Uncontended, it costs two atomic operations per message.
  void HandOff() { MutexLock lock(&mu_); }

  enum class AfterPage { kNone, kBookkeeping, kPeriodicCheckpoint };

  EventLogService* const service_;
  Caller caller_;
  StreamFilter filter_;  // reads caller_
  bool admitted_ = false;
  eventstore::ReadAllOptions read_;
  uint64_t head_at_start_ = 0;
  uint64_t next_ = 1;
  uint64_t checkpoint_events_ = 0;
  absl::Duration checkpoint_interval_;
  bool caught_up_ = false;
  uint64_t examined_since_checkpoint_ = 0;
  absl::Time last_checkpoint_;
  // The page being delivered (perhaps shared with other subscriptions).
  std::shared_ptr<const eventstore::LogPage> page_;
  std::vector<bool> visible_;
  size_t index_ = 0;
  bool page_end_ = false;
  AfterPage after_page_ = AfterPage::kNone;
  v1::SubscribeResponse message_;  // the one in flight

  Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

grpc::ServerWriteReactor<v1::SubscribeResponse>* EventLogService::Subscribe(
    grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) {
  return new SubscribeReactor(this, context, *request);
}

// Anyone may verify the chain: it shows hashes, not care data.
grpc::Status EventLogService::VerifyChain(grpc::ServerContext* context,
                                          const v1::VerifyChainRequest* request,
                                          v1::VerifyChainResponse* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  // Verifications take turns (EventLogServiceOptions): each reads and hashes
  // its whole range on a snapshot.
  absl::StatusOr<AdmissionLimiter::Permit> permit =
      verifications_.Acquire(DeadlineOf(*context), CancelledOf(*context));
  if (!permit.ok()) return ToGrpcStatus(permit.status());
  absl::StatusOr<eventstore::ChainVerification> report;
  verifications_.RunAdmitted(*permit, [&] {
    report =
        log_->VerifyChain(request->from_position(), request->to_position());
  });
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
