// EventLog.Subscribe's bounds (issue 14) over real gRPC on loopback: idle
// subscriptions cost no thread and hold no events, each organisation may
// hold only so many, live events reach every subscriber in order, a filtered
// subscription wakes only for what it matches (and its checkpoints), and
// shutdown ends them all. Also the admission limits of VerifyChain and large
// ReadAll pages. Behaviour only: counts, codes and messages, never times.
#include <dirent.h>

#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "eventstore/event_log.h"
#include "projections/client_record_store.h"
#include "services/access_control.h"
#include "services/event_log_service.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace caseline {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

using Reader = grpc::ClientReader<v1::SubscribeResponse>;

// Threads of this process (the server runs in it).
size_t ThreadCount() {
  size_t n = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

// Waits (bounded) until `done` holds; false if it never did.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 2000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// An open subscription: its context and reader.
struct Subscription {
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<Reader> reader;

  void Cancel() {
    context->TryCancel();
    v1::SubscribeResponse message;
    while (reader->Read(&message)) {
    }
    reader->Finish();
  }
};

// `timeout`: the call's deadline from now (none by default).
Subscription Open(v1::EventLog::Stub* stub, const v1::SubscribeRequest& request,
                  const std::string& org = "",
                  absl::Duration timeout = absl::InfiniteDuration()) {
  Subscription s;
  s.context = std::make_unique<grpc::ClientContext>();
  if (!org.empty()) s.context->AddMetadata("x-caseline-org", org);
  if (timeout != absl::InfiniteDuration()) {
    s.context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  s.reader = stub->Subscribe(s.context.get(), request);
  return s;
}

// Reads until the caught_up checkpoint; false if the stream ended first.
bool ReadUntilCaughtUp(Reader* reader) {
  v1::SubscribeResponse message;
  while (reader->Read(&message)) {
    if (message.has_caught_up()) return true;
  }
  return false;
}

v1::SubscribeRequest FromEnd() {
  v1::SubscribeRequest request;
  request.mutable_from_end();
  return request;
}

// From the end, only events whose type starts with "Wanted", a periodic
// checkpoint after `checkpoint_every_events` and never for time (the first
// may come at a random point of its period: make that one long).
v1::SubscribeRequest WantedFromEnd(uint32_t checkpoint_every_events) {
  v1::SubscribeRequest request = FromEnd();
  request.mutable_filter()->set_event_type_prefix("Wanted");
  request.set_checkpoint_every_events(checkpoint_every_events);
  request.set_checkpoint_interval_ms(std::numeric_limits<uint32_t>::max());
  return request;
}

class SubscriptionE2eTest : public ::testing::Test {
 protected:
  void Start(size_t max_per_organization) {
    auto started = testing::StartLoopbackServer(
        dir_.path(), [&](server::ServerOptions& options) {
          options.max_subscriptions_per_organization = max_per_organization;
        });
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    log_client_ = v1::EventLog::NewStub(channel_);
  }

  // One append of `events` to `stream`, any expected version.
  void Append(const std::string& stream, std::vector<v1::EventData> events) {
    v1::AppendRequest request;
    request.set_stream_id(stream);
    for (v1::EventData& event : events) {
      *request.add_events() = std::move(event);
    }
    grpc::ClientContext context;
    v1::AppendResponse response;
    const grpc::Status status =
        log_client_->Append(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // One append of `count` "Noted" events.
  void AppendEvents(const std::string& stream, int count) {
    Append(stream, std::vector<v1::EventData>(
                       count, testing::JsonEvent("Noted", "{}")));
  }

  // Waits (bounded) until the one subscription open is parked with its
  // filter.
  bool ParkedWithItsFilter() {
    return Eventually([&] {
      const services::SubscriptionStats now = server_->subscription_stats();
      return now.parked == 1 && now.filters == 1;
    });
  }

  testing::ScratchDir dir_{"subscription_e2e"};
  std::unique_ptr<server::CaselineServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventLog::Stub> log_client_;
};

TEST_F(SubscriptionE2eTest, IdleSubscriptionsHoldNoThreadAndNoEvents) {
  // As development mode's local operator, which is no organisation and is
  // not limited: more than the limit may be open.
  Start(/*max_per_organization=*/100);
  AppendEvents("s-1", 20);
  // The first subscription starts the hub's shared threads, and gRPC's.
  v1::SubscribeRequest from_start;
  from_start.set_from_position(1);
  std::vector<Subscription> subs;
  subs.push_back(Open(log_client_.get(), from_start));
  ASSERT_TRUE(ReadUntilCaughtUp(subs.back().reader.get()));
  const size_t threads_before = ThreadCount();
  ASSERT_GT(threads_before, 0u);

  // Fewer under sanitizers, which run ten to fifty times slower.
  constexpr size_t kIdle = testing::kUnderSanitizer ? 100 : 300;
  for (size_t i = 0; i < kIdle; ++i) {
    // Half replay the log first, half start at its end.
    subs.push_back(
        Open(log_client_.get(), i % 2 == 0 ? from_start : FromEnd()));
    ASSERT_TRUE(ReadUntilCaughtUp(subs.back().reader.get())) << i;
  }
  ASSERT_TRUE(Eventually([&] {
    return server_->subscription_stats().parked == kIdle + 1;
  })) << server_->subscription_stats().parked;
  const services::SubscriptionStats stats = server_->subscription_stats();
  EXPECT_EQ(stats.open, kIdle + 1);
  EXPECT_EQ(stats.buffered_events, 0u);
  EXPECT_EQ(stats.threads, 4u);  // 2 workers, the dispatcher, the watcher
  // A thread per subscription would add kIdle.
  EXPECT_LT(ThreadCount(), threads_before + 16);

  // They are live: an append reaches each, then they are idle again.
  AppendEvents("s-2", 1);
  for (Subscription& s : subs) {
    v1::SubscribeResponse message;
    do {
      ASSERT_TRUE(s.reader->Read(&message));
    } while (!message.has_event());
    EXPECT_EQ(message.event().global_position(), 21u);
  }
  ASSERT_TRUE(Eventually([&] {
    const services::SubscriptionStats now = server_->subscription_stats();
    return now.parked == kIdle + 1 && now.tail_events == 0;
  }));
  EXPECT_EQ(server_->subscription_stats().buffered_events, 0u);
  for (Subscription& s : subs) s.Cancel();
  EXPECT_TRUE(
      Eventually([&] { return server_->subscription_stats().open == 0; }));
}

TEST_F(SubscriptionE2eTest, EachOrganisationHoldsAtMostItsLimit) {
  Start(/*max_per_organization=*/3);
  std::vector<Subscription> agency;
  for (int i = 0; i < 3; ++i) {
    agency.push_back(Open(log_client_.get(), FromEnd(), "org-a"));
    ASSERT_TRUE(ReadUntilCaughtUp(agency.back().reader.get())) << i;
  }
  Subscription refused = Open(log_client_.get(), FromEnd(), "org-a");
  v1::SubscribeResponse message;
  EXPECT_FALSE(refused.reader->Read(&message));
  const grpc::Status status = refused.reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("organisation org-a has 3 subscriptions open"),
                    HasSubstr("--max_subscriptions_per_organization=3"),
                    HasSubstr("close one of them"),
                    HasSubstr("ask the server's operator to raise")));

  // Another organisation is not affected.
  Subscription other = Open(log_client_.get(), FromEnd(), "org-b");
  ASSERT_TRUE(ReadUntilCaughtUp(other.reader.get()));

  // Closing one frees its place once the server has seen the cancellation.
  agency.front().Cancel();
  agency.erase(agency.begin());
  ASSERT_TRUE(
      Eventually([&] { return server_->subscription_stats().open == 3; }));
  agency.push_back(Open(log_client_.get(), FromEnd(), "org-a"));
  EXPECT_TRUE(ReadUntilCaughtUp(agency.back().reader.get()));

  for (Subscription& s : agency) s.Cancel();
  other.Cancel();
}

TEST_F(SubscriptionE2eTest, EveryLiveEventReachesEverySubscriberInOrder) {
  Start(/*max_per_organization=*/100);
  AppendEvents("before", 5);
  // Fewer under sanitizers, which run ten to fifty times slower.
  constexpr int kSubscribers = testing::kUnderSanitizer ? 6 : 24;
  std::vector<Subscription> subs;
  for (int i = 0; i < kSubscribers; ++i) {
    v1::SubscribeRequest request;
    if (i % 3 == 0) {
      request.set_from_position(1);
    } else {
      request.mutable_from_end();
    }
    // Every fourth follows only the second writer's stream.
    if (i % 4 == 1) request.mutable_filter()->set_stream_id_prefix("w-1");
    request.set_checkpoint_every_events(7);
    subs.push_back(Open(log_client_.get(), request));
    ASSERT_TRUE(ReadUntilCaughtUp(subs.back().reader.get()));
  }
  // Two writers, appends of 1..4 events each.
  constexpr int kAppendsPerWriter = testing::kUnderSanitizer ? 10 : 30;
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      auto stub = v1::EventLog::NewStub(channel_);
      for (int i = 0; i < kAppendsPerWriter; ++i) {
        v1::AppendRequest request;
        request.set_stream_id(absl::StrCat("w-", w));
        for (int e = 0; e <= i % 4; ++e) {
          *request.add_events() = testing::JsonEvent("Live", "{}");
        }
        grpc::ClientContext context;
        v1::AppendResponse response;
        EXPECT_TRUE(stub->Append(&context, request, &response).ok());
      }
    });
  }
  for (std::thread& t : writers) t.join();
  uint64_t appended = 0;
  for (int i = 0; i < kAppendsPerWriter; ++i) appended += 2 * (i % 4 + 1);
  const uint64_t head = server_->event_log().HeadPosition();
  ASSERT_EQ(head, 5 + appended);
  const uint64_t second_writers = appended / 2;
  for (int i = 0; i < kSubscribers; ++i) {
    Subscription& s = subs[i];
    v1::SubscribeResponse message;
    if (i % 4 == 1) {
      uint64_t last = 5;
      uint64_t received = 0;
      while (received < second_writers && s.reader->Read(&message)) {
        if (!message.has_event()) continue;
        EXPECT_EQ(message.event().stream_id(), "w-1");
        EXPECT_GT(message.event().global_position(), last);
        last = message.event().global_position();
        ++received;
      }
      EXPECT_EQ(received, second_writers);
      continue;
    }
    uint64_t expected = 6;
    uint64_t last_checkpoint = 0;
    while (expected <= head && s.reader->Read(&message)) {
      if (message.has_event()) {
        ASSERT_EQ(message.event().global_position(), expected);
        ++expected;
      } else if (message.has_checkpoint()) {
        EXPECT_GE(message.checkpoint().position(), last_checkpoint);
        EXPECT_LT(message.checkpoint().position(), expected);
        last_checkpoint = message.checkpoint().position();
      }
    }
    EXPECT_EQ(expected, head + 1);
  }
  for (Subscription& s : subs) s.Cancel();
}

// A subscription parked with a filter is woken by an event its filter
// matches, not by every append (the hub matches new events against it).
TEST_F(SubscriptionE2eTest, AFilteredSubscriptionWakesOnlyForWhatItMatches) {
  Start(/*max_per_organization=*/100);
  AppendEvents("s", 3);
  // No checkpoint falls due while the test runs.
  Subscription sub = Open(log_client_.get(),
                          WantedFromEnd(std::numeric_limits<uint32_t>::max()));
  ASSERT_TRUE(ReadUntilCaughtUp(sub.reader.get()));
  ASSERT_TRUE(ParkedWithItsFilter());
  const uint64_t resumes_before = server_->subscription_stats().resumes;

  // Thirty appends of events it does not match, one at a time: the head
  // moves thirty times.
  for (int i = 0; i < 30; ++i) AppendEvents(absl::StrCat("other-", i), 1);
  Append("s", {testing::JsonEvent("WantedThing", "{}")});

  v1::SubscribeResponse message;
  ASSERT_TRUE(sub.reader->Read(&message));
  ASSERT_TRUE(message.has_event()) << message.DebugString();
  EXPECT_EQ(message.event().event_type(), "WantedThing");
  EXPECT_EQ(message.event().global_position(), 34u);
  ASSERT_TRUE(
      Eventually([&] { return server_->subscription_stats().parked == 1; }));
  // Woken once, for the matching event.
  EXPECT_EQ(server_->subscription_stats().resumes - resumes_before, 1u);
  sub.Cancel();
  EXPECT_TRUE(
      Eventually([&] { return server_->subscription_stats().filters == 0; }));
}

// The hub matches new events in one read of at most a page's bytes; when
// the head jumps by more than that, what it could not match still wakes
// the subscription.
TEST_F(SubscriptionE2eTest, AMatchBeyondTheHubsReadStillWakesTheSubscription) {
  Start(/*max_per_organization=*/100);
  AppendEvents("s", 1);
  // Were the match missed, nothing else would wake it: the deadline ends
  // the wait.
  Subscription sub = Open(log_client_.get(),
                          WantedFromEnd(std::numeric_limits<uint32_t>::max()),
                          /*org=*/"", absl::Seconds(60));
  ASSERT_TRUE(ReadUntilCaughtUp(sub.reader.get()));
  ASSERT_TRUE(ParkedWithItsFilter());

  // One append, so one move of the head: three events of almost 1 MB (more
  // than a page's 2 MiB together), then the one it waits for.
  const std::string big =
      absl::StrCat(R"({"note":")", std::string(1000000, 'x'), R"("})");
  std::vector<v1::EventData> events(3, testing::JsonEvent("Noted", big));
  events.push_back(testing::JsonEvent("WantedThing", "{}"));
  Append("big", std::move(events));

  v1::SubscribeResponse message;
  ASSERT_TRUE(sub.reader->Read(&message));
  ASSERT_TRUE(message.has_event()) << message.DebugString();
  EXPECT_EQ(message.event().event_type(), "WantedThing");
  EXPECT_EQ(message.event().global_position(), 5u);
  sub.Cancel();
}

// Checkpoints still come after checkpoint_every_events examined events,
// even when none of them matches the filter.
TEST_F(SubscriptionE2eTest,
       AFilteredSubscriptionCheckpointsWhileNothingMatches) {
  Start(/*max_per_organization=*/100);
  AppendEvents("s", 3);
  Subscription sub = Open(log_client_.get(), WantedFromEnd(10));
  ASSERT_TRUE(ReadUntilCaughtUp(sub.reader.get()));
  ASSERT_TRUE(ParkedWithItsFilter());

  for (int i = 0; i < 25; ++i) AppendEvents(absl::StrCat("other-", i), 1);
  // 25 events after position 3, up to 28: a checkpoint at most every 10
  // examined events (the first may come sooner), so at least two, the
  // last at 19 or later.
  std::vector<uint64_t> checkpoints;
  v1::SubscribeResponse message;
  while ((checkpoints.empty() || checkpoints.back() < 19) &&
         sub.reader->Read(&message)) {
    ASSERT_FALSE(message.has_event()) << message.DebugString();
    if (message.has_checkpoint()) {
      checkpoints.push_back(message.checkpoint().position());
    }
  }
  ASSERT_GE(checkpoints.size(), 2u);
  EXPECT_LE(checkpoints.front(), 13u);
  EXPECT_GE(checkpoints.back(), 19u);
  EXPECT_LE(checkpoints.back(), 28u);
  sub.Cancel();
}

// Subscriptions that caught up together start their first checkpoint
// period at random points, so they do not all send it at the same event.
// Without that, none of these would send one before examining 200 events.
TEST_F(SubscriptionE2eTest, TheFirstCheckpointComesAtARandomPointOfItsPeriod) {
  Start(/*max_per_organization=*/100);
  AppendEvents("s", 1);
  v1::SubscribeRequest request = FromEnd();
  request.set_checkpoint_every_events(200);
  request.set_checkpoint_interval_ms(std::numeric_limits<uint32_t>::max());
  // Each sends its first periodic checkpoint within the first 100 events
  // with probability one half: all 16 fail to with probability 2^-16.
  constexpr int kSubscribers = 16;
  std::vector<Subscription> subs;
  for (int i = 0; i < kSubscribers; ++i) {
    subs.push_back(Open(log_client_.get(), request));
    ASSERT_TRUE(ReadUntilCaughtUp(subs.back().reader.get()));
  }
  // 100 events (positions 2 to 101), read by every subscription as one page
  // before the marker at 102 is appended: the marker comes after that
  // page's checkpoint, if one was due.
  AppendEvents("s", 100);
  auto read_until = [](Subscription& s, uint64_t position) {
    v1::SubscribeResponse message;
    uint64_t checkpoint = 0;
    while (s.reader->Read(&message) &&
           !(message.has_event() &&
             message.event().global_position() == position)) {
      if (message.has_checkpoint()) {
        checkpoint = message.checkpoint().position();
      }
    }
    return checkpoint;
  };
  for (Subscription& s : subs) EXPECT_EQ(read_until(s, 101), 0u);
  Append("s", {testing::JsonEvent("Marker", "{}")});
  int early = 0;
  for (Subscription& s : subs) {
    if (read_until(s, 102) != 0) ++early;
  }
  EXPECT_GT(early, 0);
  for (Subscription& s : subs) s.Cancel();
}

TEST_F(SubscriptionE2eTest,
       ShutdownEndsEveryIdleSubscriptionWithWhereToResume) {
  Start(/*max_per_organization=*/100);
  AppendEvents("s", 3);
  std::vector<Subscription> subs;
  for (int i = 0; i < 40; ++i) {
    subs.push_back(Open(log_client_.get(), FromEnd()));
    ASSERT_TRUE(ReadUntilCaughtUp(subs.back().reader.get()));
  }
  server_->Shutdown(absl::Seconds(30));
  for (Subscription& s : subs) {
    v1::SubscribeResponse message;
    while (s.reader->Read(&message)) {
    }
    const grpc::Status status = s.reader->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(status.error_message(),
              "server shutting down; resubscribe with from_position 4");
  }
}

TEST_F(SubscriptionE2eTest, ConcurrentChainVerificationsAllSucceed) {
  Start(/*max_per_organization=*/100);
  for (int i = 0; i < 5; ++i) AppendEvents(absl::StrCat("s-", i), 50);
  std::vector<std::thread> verifiers;
  for (int t = 0; t < 4; ++t) {
    verifiers.emplace_back([&] {
      auto stub = v1::EventLog::NewStub(channel_);
      for (int i = 0; i < 3; ++i) {
        grpc::ClientContext context;
        v1::VerifyChainRequest request;
        v1::VerifyChainResponse response;
        const grpc::Status status =
            stub->VerifyChain(&context, request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        EXPECT_TRUE(response.ok());
        EXPECT_EQ(response.events_checked(), 250u);
      }
    });
  }
  for (int t = 0; t < 4; ++t) {
    verifiers.emplace_back([&] {
      auto stub = v1::EventLog::NewStub(channel_);
      for (int i = 0; i < 3; ++i) {
        grpc::ClientContext context;
        v1::ReadAllRequest request;
        request.set_max_count(1000);
        v1::ReadAllResponse response;
        const grpc::Status status = stub->ReadAll(&context, request, &response);
        EXPECT_TRUE(status.ok()) << status.error_message();
        EXPECT_EQ(response.events_size(), 250);
      }
    });
  }
  for (std::thread& t : verifiers) t.join();
}

// A real log whose VerifyChain, once armed, waits at a gate: a verification
// that takes as long as the test wants.
class GatedLog final : public eventstore::EventLog {
 public:
  explicit GatedLog(std::unique_ptr<eventstore::EventLog> log)
      : log_(std::move(log)) {}

  void Arm() {
    MutexLock lock(&mu_);
    armed_ = true;
  }
  // Waits until a verification is at the gate.
  void AwaitEntered() {
    MutexLock lock(&mu_);
    while (entered_ == 0) cv_.Wait();
  }
  void Open() {
    MutexLock lock(&mu_);
    armed_ = false;
    cv_.SignalAll();
  }

  void AppendAsync(eventstore::AppendRequest request,
                   AppendCallback done) override {
    log_->AppendAsync(std::move(request), std::move(done));
  }
  absl::Status WriteFailure() const override { return log_->WriteFailure(); }
  absl::StatusOr<eventstore::StreamPage> ReadStream(
      absl::string_view stream_id,
      const eventstore::ReadStreamOptions& options) override {
    return log_->ReadStream(stream_id, options);
  }
  absl::StatusOr<eventstore::LogPage> ReadAll(
      const eventstore::ReadAllOptions& options) override {
    return log_->ReadAll(options);
  }
  absl::StatusOr<std::optional<eventstore::RecordedEvent>> FindEvent(
      const eventstore::EventId& event_id) override {
    return log_->FindEvent(event_id);
  }
  uint64_t HeadPosition() const override { return log_->HeadPosition(); }
  uint64_t WaitForHeadAbove(uint64_t position,
                            absl::Duration timeout) const override {
    return log_->WaitForHeadAbove(position, timeout);
  }
  absl::StatusOr<eventstore::ChainVerification> VerifyChain(
      uint64_t from_position, uint64_t to_position) override {
    {
      MutexLock lock(&mu_);
      ++entered_;
      cv_.SignalAll();
      while (armed_) cv_.Wait();
    }
    return log_->VerifyChain(from_position, to_position);
  }
  absl::StatusOr<eventstore::BackupInfo> Backup(
      const std::string& dir) override {
    return log_->Backup(dir);
  }

 private:
  std::unique_ptr<eventstore::EventLog> log_;
  Mutex mu_;
  CondVar cv_{&mu_};
  bool armed_ ABSL_GUARDED_BY(mu_) = false;
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
};

// With one verification at a time, a second one waits its turn, and gives
// up with DEADLINE_EXCEEDED when its deadline passes first; the place it
// waited for is not lost.
TEST(ReadLimitsE2eTest, AVerificationWaitingPastItsDeadlineIsDeadlineExceeded) {
  testing::ScratchDir dir("read_limits_e2e");
  eventstore::EventLogOptions log_options;
  log_options.data_dir = dir.path();
  auto opened = eventstore::EventLog::Open(std::move(log_options));
  ASSERT_TRUE(opened.ok()) << opened.status();
  GatedLog log(*std::move(opened));
  auto authenticator = services::Authenticator::Create({});
  ASSERT_TRUE(authenticator.ok());
  projections::ClientRecordStore records(&log);
  services::AccessControl access(&log, &records, authenticator->get());
  services::EventLogServiceOptions options;
  options.max_concurrent_verifications = 1;
  services::EventLogService service(&log, &access, options);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = v1::EventLog::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                          grpc::InsecureChannelCredentials()));

  log.Arm();
  grpc::Status first;
  std::thread holder([&] {
    grpc::ClientContext context;
    v1::VerifyChainResponse response;
    first = stub->VerifyChain(&context, v1::VerifyChainRequest(), &response);
  });
  log.AwaitEntered();
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(200));
    v1::VerifyChainResponse response;
    const grpc::Status late =
        stub->VerifyChain(&context, v1::VerifyChainRequest(), &response);
    EXPECT_EQ(late.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  log.Open();
  holder.join();
  EXPECT_TRUE(first.ok()) << first.error_message();
  grpc::ClientContext context;
  v1::VerifyChainResponse response;
  EXPECT_TRUE(
      stub->VerifyChain(&context, v1::VerifyChainRequest(), &response).ok());
  EXPECT_TRUE(response.ok());
  server->Shutdown();
  service.Stop();
}

}  // namespace
}  // namespace caseline
