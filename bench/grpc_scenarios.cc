#include "bench/grpc_scenarios.h"

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/mutex.h"

namespace caseline::bench {

namespace v1 = caseline::v1;

namespace {

constexpr char kProbeType[] = "FanoutProbe";
// No event has this type: an idle subscription's filter.
constexpr char kNeverType[] = "NoEventHasThisType.";

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             Clock::now().time_since_epoch())
      .count();
}

// A probe's payload: its send time, padded to the usual 200 bytes.
std::string ProbePayload(int64_t sent_ns) {
  std::string json = absl::StrCat(R"({"sent_ns":)", sent_ns, R"(,"note":")");
  json.append(200 - 2 - json.size(), 'x');
  return json + "\"}";
}

int64_t ProbeSentNanos(const std::string& payload) {
  constexpr absl::string_view kKey = R"({"sent_ns":)";
  const size_t end = payload.find(',');
  int64_t sent = 0;
  if (end == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(payload).substr(kKey.size(),
                                                          end - kKey.size()),
                        &sent)) {
    return 0;
  }
  return sent;
}

}  // namespace

std::string BenchPayload() {
  return std::string(R"({"client":"bench","note":")") + std::string(172, 'x') +
         "\"}";
}

GrpcScenarios::GrpcScenarios(std::shared_ptr<grpc::Channel> channel,
                             absl::Duration warmup, absl::Duration duration,
                             std::string stream_prefix)
    : stream_prefix_(std::move(stream_prefix)),
      channel_(channel),
      stub_(v1::EventLog::NewStub(channel)),
      generic_(channel),
      warmup_(warmup),
      duration_(duration),
      payload_(BenchPayload()) {}

Load GrpcScenarios::EmptyCalls(int callers) {
  grpc::Slice empty;
  const grpc::ByteBuffer request(&empty, 1);
  return RunAsyncClosedLoop(
      callers, 1, warmup_, duration_,
      [&](int, std::function<void(bool)> done) {
        struct Call {
          grpc::ClientContext context;
          grpc::ByteBuffer response;
        };
        auto* call = new Call;
        generic_.UnaryCall(&call->context, "/grpc.health.v1.Health/Check",
                           grpc::StubOptions(), &request, &call->response,
                           [call, done](grpc::Status s) {
                             delete call;
                             done(s.ok());
                           });
      });
}

void GrpcScenarios::StartAppend(const std::string& stream,
                                int events_per_call, int64_t* version,
                                std::function<void(bool)> done) {
  struct Call {
    grpc::ClientContext context;
    v1::AppendRequest request;
    v1::AppendResponse response;
  };
  auto* call = new Call;
  call->request.set_stream_id(stream);
  // What PostgreSQL's statement checks too: the stream's last version (or
  // that there is no stream yet).
  if (*version < 0) {
    call->request.mutable_no_stream();
  } else {
    call->request.set_exact(*version);
  }
  for (int i = 0; i < events_per_call; ++i) {
    v1::EventData* e = call->request.add_events();
    e->set_event_type("BenchmarkNoted");
    e->set_content_type("application/json");
    e->set_payload(payload_);
  }
  stub_->async()->Append(
      &call->context, &call->request, &call->response,
      [call, done, version](grpc::Status s) {
        if (s.ok()) {
          *version = call->response.last_stream_version();
        } else {
          std::fprintf(stderr, "append failed: %s\n",
                       s.error_message().c_str());
        }
        delete call;
        done(s.ok());
      });
}

Load GrpcScenarios::Append(int callers, int events_per_call) {
  const int run = runs_++;
  // The last version written to each caller's stream; -1: none yet.
  std::vector<int64_t> versions(callers, -1);
  return RunAsyncClosedLoop(
      callers, events_per_call, warmup_, duration_,
      [&, run](int caller, std::function<void(bool)> done) {
        StartAppend(absl::StrCat(stream_prefix_, "-", run, "-", caller), events_per_call,
                    &versions[caller], std::move(done));
      });
}

absl::Status GrpcScenarios::Populate(int streams, int events_each) {
  for (int s = 0; s < streams; ++s) {
    v1::AppendRequest request;
    request.set_stream_id(absl::StrCat("mixed-", s));
    for (int i = 0; i < events_each; ++i) {
      v1::EventData* e = request.add_events();
      e->set_event_type("BenchmarkNoted");
      e->set_content_type("application/json");
      e->set_payload(payload_);
    }
    grpc::ClientContext context;
    v1::AppendResponse response;
    const grpc::Status status = stub_->Append(&context, request, &response);
    if (!status.ok()) {
      return absl::InternalError(
          absl::StrCat("populate: ", status.error_message()));
    }
  }
  return absl::OkStatus();
}

Load GrpcScenarios::Mixed(int callers, int streams) {
  const int run = runs_++;
  // The last version written to each caller's stream; -1: none yet.
  std::vector<int64_t> versions(callers, -1);
  std::vector<std::mt19937_64> random;
  for (int c = 0; c < callers; ++c) random.emplace_back(c);
  return RunAsyncClosedLoop(
      callers, 1, warmup_, duration_,
      [&, run, streams](int caller, std::function<void(bool)> done) {
        std::mt19937_64& r = random[caller];
        if (r() % 5 == 0) {
          StartAppend(absl::StrCat("mixed-writer-", run, "-", caller), 1,
                      &versions[caller], std::move(done));
          return;
        }
        struct Call {
          grpc::ClientContext context;
          v1::ReadStreamRequest request;
          v1::ReadStreamResponse response;
        };
        auto* call = new Call;
        call->request.set_stream_id(absl::StrCat("mixed-", r() % streams));
        call->request.set_direction(v1::BACKWARD);
        call->request.set_max_count(20);
        stub_->async()->ReadStream(
            &call->context, &call->request, &call->response,
            [call, done](grpc::Status s) {
              const bool ok = s.ok() && call->response.events_size() > 0;
              delete call;
              done(ok);
            });
      });
}

FanOut GrpcScenarios::SubscriptionFanOut(int subscribers, int appenders) {
  struct Subscriber {
    grpc::ClientContext context;
    std::vector<double> delays_ms;
    std::atomic<uint64_t> received{0};
    std::atomic<bool> caught_up{false};
  };
  std::vector<std::unique_ptr<Subscriber>> subs;
  std::vector<std::thread> threads;
  // Only probes sent after the warm-up count toward the delays.
  const int64_t measure_from_ns =
      SteadyNanos() + absl::ToInt64Nanoseconds(warmup_) +
      absl::ToInt64Nanoseconds(absl::Seconds(1));
  for (int i = 0; i < subscribers; ++i) {
    subs.push_back(std::make_unique<Subscriber>());
    Subscriber* sub = subs.back().get();
    threads.emplace_back([this, sub, measure_from_ns] {
      v1::SubscribeRequest request;
      request.mutable_from_end();
      request.mutable_filter()->set_event_type_prefix(kProbeType);
      auto reader = stub_->Subscribe(&sub->context, request);
      v1::SubscribeResponse message;
      while (reader->Read(&message)) {
        if (message.has_caught_up()) sub->caught_up = true;
        if (!message.has_event()) continue;
        const int64_t now = SteadyNanos();
        const int64_t sent = ProbeSentNanos(message.event().payload());
        if (sent >= measure_from_ns) {
          sub->delays_ms.push_back((now - sent) / 1e6);
        }
        sub->received++;
      }
      (void)reader->Finish();
    });
  }
  for (const auto& sub : subs) {
    while (!sub->caught_up) absl::SleepFor(absl::Milliseconds(5));
  }
  // Wait out the one second added to measure_from_ns above.
  absl::SleepFor(absl::Seconds(1));

  const int run = runs_++;
  std::atomic<uint64_t> appended{0};
  FanOut result;
  result.appends = RunAsyncClosedLoop(
      appenders, 1, warmup_, duration_,
      [&, run](int caller, std::function<void(bool)> done) {
        struct Call {
          grpc::ClientContext context;
          v1::AppendRequest request;
          v1::AppendResponse response;
        };
        auto* call = new Call;
        call->request.set_stream_id(absl::StrCat("fanout-", run, "-", caller));
        v1::EventData* e = call->request.add_events();
        e->set_event_type(kProbeType);
        e->set_content_type("application/json");
        e->set_payload(ProbePayload(SteadyNanos()));
        stub_->async()->Append(&call->context, &call->request,
                               &call->response,
                               [call, done, &appended](grpc::Status s) {
                                 if (s.ok()) appended++;
                                 delete call;
                                 done(s.ok());
                               });
      });
  // Every subscriber must receive every acknowledged probe.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  for (const auto& sub : subs) {
    while (sub->received < appended && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  std::vector<double> all;
  for (const auto& sub : subs) {
    sub->context.TryCancel();
  }
  for (std::thread& t : threads) t.join();
  for (const auto& sub : subs) {
    all.insert(all.end(), sub->delays_ms.begin(), sub->delays_ms.end());
    result.deliveries += sub->received;
  }
  result.expected_deliveries = appended * subscribers;
  result.delay_p50_ms = Percentile(all, 0.5);
  result.delay_p99_ms = Percentile(std::move(all), 0.99);
  return result;
}

class IdleSubscriptions::Subscription
    : public grpc::ClientReadReactor<v1::SubscribeResponse> {
 public:
  Subscription(IdleSubscriptions* owner, const std::string& organization)
      : owner_(owner) {
    if (!organization.empty()) {
      context_.AddMetadata("x-caseline-org", organization);
    }
    request_.mutable_from_end();
    request_.mutable_filter()->set_event_type_prefix(kNeverType);
    owner_->stub_->async()->Subscribe(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }

  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    if (message_.has_caught_up()) {
      MutexLock lock(&owner_->mu_);
      owner_->caught_up_++;
      owner_->changed_.SignalAll();
    }
    StartRead(&message_);
  }

  void OnDone(const grpc::Status&) override {
    MutexLock lock(&owner_->mu_);
    owner_->ended_++;
    owner_->changed_.SignalAll();
  }

 private:
  IdleSubscriptions* const owner_;
  grpc::ClientContext context_;
  v1::SubscribeRequest request_;
  v1::SubscribeResponse message_;
};

IdleSubscriptions::IdleSubscriptions(
    std::shared_ptr<grpc::Channel> channel, int count,
    const std::vector<std::string>& organizations, absl::Duration timeout)
    : stub_(v1::EventLog::NewStub(channel)) {
  subscriptions_.reserve(count);
  for (int i = 0; i < count; ++i) {
    subscriptions_.push_back(std::make_unique<Subscription>(
        this, organizations.empty() ? std::string()
                                    : organizations[i % organizations.size()]));
  }
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(&mu_);
  while (caught_up_ + ended_ < count && absl::Now() < deadline) {
    changed_.WaitFor(absl::Milliseconds(100));
  }
}

IdleSubscriptions::~IdleSubscriptions() {
  for (const auto& s : subscriptions_) s->Cancel();
  MutexLock lock(&mu_);
  while (ended_ < static_cast<int>(subscriptions_.size())) changed_.Wait();
}

int IdleSubscriptions::caught_up() const {
  MutexLock lock(&mu_);
  return caught_up_;
}

Interference GrpcScenarios::AppendBeside(int appenders, Background background,
                                         int background_callers,
                                         std::shared_ptr<grpc::Channel> side,
                                         uint64_t log_head) {
  Interference result;
  if (background == Background::kNone || background_callers <= 0) {
    result.appends = Append(appenders, 1);
    return result;
  }
  auto stub = v1::EventLog::NewStub(side);
  std::vector<std::mt19937_64> random;
  for (int c = 0; c < background_callers; ++c) random.emplace_back(c);
  constexpr uint32_t kPage = 1000;
  const uint64_t last_start = log_head > kPage ? log_head - kPage + 1 : 1;
  const StartCall start_call = [&](int caller, std::function<void(bool)> done) {
    if (background == Background::kVerifyChain) {
      struct Call {
        grpc::ClientContext context;
        v1::VerifyChainRequest request;  // from 0 to 0: the whole log
        v1::VerifyChainResponse response;
      };
      auto* call = new Call;
      stub->async()->VerifyChain(&call->context, &call->request,
                                 &call->response, [call, done](grpc::Status s) {
                                   const bool ok =
                                       s.ok() && call->response.ok();
                                   delete call;
                                   done(ok);
                                 });
      return;
    }
    struct Call {
      grpc::ClientContext context;
      v1::ReadAllRequest request;
      v1::ReadAllResponse response;
    };
    auto* call = new Call;
    call->request.set_from_position(1 + random[caller]() % last_start);
    call->request.set_max_count(kPage);
    stub->async()->ReadAll(&call->context, &call->request, &call->response,
                           [call, done](grpc::Status s) {
                             const bool ok =
                                 s.ok() && call->response.events_size() > 0;
                             delete call;
                             done(ok);
                           });
  };
  // Closed loops until the appends' measurement has ended: each caller
  // issues its next call when the previous completes, until `stop`.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> errors{0};
  Mutex mu;
  CondVar all_stopped(&mu);
  int running = background_callers;
  std::function<void(int)> issue = [&](int c) {
    start_call(c, [&, c](bool ok) {
      calls++;
      if (!ok) errors++;
      if (stop) {
        MutexLock lock(&mu);
        if (--running == 0) all_stopped.SignalAll();
        return;
      }
      issue(c);
    });
  };
  for (int c = 0; c < background_callers; ++c) issue(c);
  absl::SleepFor(absl::Milliseconds(100));  // let the background ramp up
  result.appends = Append(appenders, 1);
  stop = true;
  {
    MutexLock lock(&mu);
    while (running > 0) all_stopped.Wait();
  }
  result.background_calls = calls;
  result.background_errors = errors;
  return result;
}

}  // namespace caseline::bench
