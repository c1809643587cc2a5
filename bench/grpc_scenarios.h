// The scenarios measured over gRPC against a running caselined: empty calls
// (the transport ceiling), durable appends, mixed reads and appends,
// subscription fan-out, idle subscriptions held open, and appends beside
// expensive reads (VerifyChain, large ReadAll pages).
#ifndef CASELINE_BENCH_GRPC_SCENARIOS_H_
#define CASELINE_BENCH_GRPC_SCENARIOS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "bench/bench_util.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace caseline::bench {

// The payload of every benchmark event: a 200-byte JSON document.
std::string BenchPayload();

// End-to-end delay of subscription deliveries, with the appends' own
// acknowledgement latency measured in the same run as the baseline.
struct FanOut {
  double delay_p50_ms = 0;
  double delay_p99_ms = 0;
  uint64_t deliveries = 0;
  uint64_t expected_deliveries = 0;  // appended events x subscribers
  Load appends;
};

// What runs beside the appends in GrpcScenarios::AppendBeside.
enum class Background {
  kNone,
  // Closed loops of EventLog.VerifyChain over the whole log (from 0 to 0).
  kVerifyChain,
  // Closed loops of EventLog.ReadAll pages of 1000 events from random
  // positions.
  kReadAllPages,
};

// Appends measured beside a background load, and what that load completed.
struct Interference {
  Load appends;
  uint64_t background_calls = 0;
  uint64_t background_errors = 0;
};

// `count` idle subscriptions held open: from the end, filtered to an event
// type no event has, so they deliver nothing but checkpoints. Opened through
// gRPC's callback API, so the client spends no thread on them.
class IdleSubscriptions {
 public:
  // Opens them on `channel` (as the development-mode operator when
  // `organizations` is empty, else as organisation i % size for the i-th)
  // and waits up to `timeout` for each to report caught_up.
  IdleSubscriptions(std::shared_ptr<grpc::Channel> channel, int count,
                    const std::vector<std::string>& organizations,
                    absl::Duration timeout);
  // Cancels every subscription and waits for each to end.
  ~IdleSubscriptions();

  // How many reported caught_up (all of them unless the server refused or
  // was too slow).
  int caught_up() const;
  int count() const { return static_cast<int>(subscriptions_.size()); }

 private:
  class Subscription;
  friend class Subscription;

  std::unique_ptr<caseline::v1::EventLog::Stub> stub_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
  mutable Mutex mu_;
  CondVar changed_{&mu_};
  int caught_up_ ABSL_GUARDED_BY(mu_) = 0;
  int ended_ ABSL_GUARDED_BY(mu_) = 0;
};

class GrpcScenarios {
 public:
  // Append's streams are "<stream_prefix>-<run>-<caller>": scenarios that
  // share one log (a cluster's nodes) need different prefixes.
  GrpcScenarios(std::shared_ptr<grpc::Channel> channel, absl::Duration warmup,
                absl::Duration duration, std::string stream_prefix = "case");

  // grpc.health.v1.Health/Check with an empty request.
  Load EmptyCalls(int callers);
  // Each caller appends `events_per_call` events per call to its own stream,
  // with the exact expected version.
  Load Append(int callers, int events_per_call);
  // Fills `streams` streams ("mixed-<i>") with `events_each` events.
  absl::Status Populate(int streams, int events_each);
  // 80% ReadStream of the last 20 events of a random populated stream, 20%
  // 1-event appends to the caller's own stream.
  Load Mixed(int callers, int streams);
  // `subscribers` live subscriptions (from the end, filtered to the probe
  // events) while `appenders` callers append 1-event probes carrying their
  // send time; delay = receipt - send.
  FanOut SubscriptionFanOut(int subscribers, int appenders);
  // Append(appenders, 1) while `background_callers` closed loops run
  // `background` on `side` (another connection: other clients). The
  // background starts 100 ms before the appends' warm-up and runs until
  // their measurement has ended; `log_head` bounds the ReadAll positions.
  Interference AppendBeside(int appenders, Background background,
                            int background_callers,
                            std::shared_ptr<grpc::Channel> side,
                            uint64_t log_head);

 private:
  // Appends `events_per_call` events to `stream` expecting *version (-1: no
  // stream yet), sets *version to the new last version, then calls done(ok).
  void StartAppend(const std::string& stream, int events_per_call,
                   int64_t* version, std::function<void(bool)> done);

  const std::string stream_prefix_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<caseline::v1::EventLog::Stub> stub_;
  grpc::GenericStub generic_;
  const absl::Duration warmup_;
  const absl::Duration duration_;
  const std::string payload_;
  int runs_ = 0;
};

}  // namespace caseline::bench

#endif  // CASELINE_BENCH_GRPC_SCENARIOS_H_
