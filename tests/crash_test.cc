// Crash test: 16 concurrent appenders against a real caselined process that is
// SIGKILLed at random moments and restarted. Appenders retry a failed append
// with the same event ids until it is acknowledged, so afterwards every event
// must be in the log exactly once, at the position it was acknowledged at,
// with gapless positions and a chain that verifies.
//
// Projection crash test: the demo care network is loaded through the command
// services while caselined (and its projections, which follow every commit)
// is SIGKILLed several times. The demo is idempotent, so it is simply run
// again after each crash until it completes. Afterwards every view must equal
// what a rebuild from position 0 gives: a crash never made a projection skip
// an event or apply one twice.
//
// Kill loop: both at once, many times. 16 raw appenders and the demo loader
// write while caselined is SIGKILLed kKillLoopKills times at random moments,
// and about one restart in three is killed again while still starting
// (replaying its WAL, catching its projections up). Afterwards the log holds
// every acknowledged event once, at its acknowledged position and stream
// version, gapless, with a chain that verifies, and every view equals a
// rebuild.
#include <atomic>
#include <random>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "base/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"
#include "tests/test_util.h"
#include "tests/views_util.h"
#include "tools/demo/demo.h"

namespace caseline {
namespace {

using testing::Acknowledged;
using testing::Appenders;
using testing::CheckLog;
using testing::Endpoint;
using testing::ServerProcess;

constexpr int kAppenders = 16;
// How long the demo may take to complete after the last restart. Under the
// sanitizers (tests/run_sanitizers.sh) the server is ten to fifty times
// slower, and the other tests share the CPUs.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr absl::Duration kDemoTimeout = absl::Seconds(240);
#else
constexpr absl::Duration kDemoTimeout = absl::Seconds(60);
#endif

// Waits until `loaded` or `timeout` passes; true if loaded.
template <typename Loader>
bool WaitUntilLoaded(const Loader& loader, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!loader.loaded() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  return loader.loaded();
}
constexpr int kKills = 6;
// At least 20 kills under load; about one in three is followed by a second
// kill while the restarted server is still starting.
constexpr int kKillLoopKills = 22;

// Loads the demo network into the server at `endpoint` on a thread of its
// own, running it again after each crash (it is idempotent) until it
// completes or Stop() is called.
class DemoLoader {
 public:
  DemoLoader(Endpoint* endpoint, int clients, int concurrency,
             absl::Duration retry_pause)
      : thread_([this, endpoint, clients, concurrency, retry_pause] {
          while (!loaded_ && !stop_) {
            tools::DemoOptions options;
            options.clients = clients;
            options.concurrency = concurrency;
            options.call_timeout = absl::Seconds(5);
            attempts_++;
            auto summary = tools::RunDemo(
                grpc::CreateChannel(endpoint->address(),
                                    grpc::InsecureChannelCredentials()),
                options);
            if (summary.ok()) {
              loaded_ = true;
            } else {
              absl::SleepFor(retry_pause);  // the server is restarting
            }
          }
        }) {}
  ~DemoLoader() { Stop(); }

  bool loaded() const { return loaded_; }
  int attempts() const { return attempts_; }
  // Waits for the loader to finish its current attempt and end.
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  void Stop() {
    stop_ = true;
    Join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> loaded_{false};
  std::atomic<int> attempts_{0};
  std::thread thread_;
};

TEST(CrashTest, NothingAcknowledgedIsLostAcrossSigkills) {
  testing::ScratchDir dir("crash");
  const std::string data_dir = dir.path() + "/data";
  ServerProcess server(data_dir);
  Endpoint endpoint;
  endpoint.Set(server.Start());
  Appenders appenders(&endpoint, "case-", kAppenders);

  std::mt19937 rng(12345);
  for (int k = 0; k < kKills; ++k) {
    absl::SleepFor(absl::Milliseconds(150 + rng() % 450));
    server.Kill();
    endpoint.Set(server.Start());
  }
  // Enough load to mean anything, however slow the machine (a sanitizer
  // build, a busy CI host): the appenders run on until 200 are acknowledged.
  const absl::Time enough_deadline = absl::Now() + kDemoTimeout;
  absl::SleepFor(absl::Milliseconds(300));
  while (appenders.acked_count() < 200 && absl::Now() < enough_deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  appenders.Stop();

  // A last crash and restart, then check the whole log.
  server.Kill();
  const std::string address = server.Start();
  auto stub = v1::EventLog::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  ASSERT_GT(appenders.acked().size(), 100u)
      << "too little load to mean anything";
  const size_t stored = CheckLog(stub.get(), appenders.acked());
  std::printf(
      "crash test: %d kills, %zu acknowledged events, %zu stored, %d retried "
      "appends\n",
      kKills + 1, appenders.acked().size(), stored, appenders.retries());
}

TEST(CrashTest, ProjectionsNeitherSkipNorDoubleApplyAcrossSigkills) {
  testing::ScratchDir dir("projection_crash");
  const std::string data_dir = dir.path() + "/data";
  ServerProcess server(data_dir);
  Endpoint endpoint;
  endpoint.Set(server.Start());

  DemoLoader loader(&endpoint, /*clients=*/150, /*concurrency=*/8,
                    absl::Milliseconds(100));
  std::mt19937 rng(777);
  for (int k = 0; k < 4 && !loader.loaded(); ++k) {
    absl::SleepFor(absl::Milliseconds(400 + rng() % 800));
    server.Kill();
    endpoint.Set(server.Start());
  }
  // Bounded: a server that keeps dying (a sanitizer report) fails the test
  // instead of leaving the loader retrying until ctest's timeout.
  ASSERT_TRUE(WaitUntilLoaded(loader, kDemoTimeout))
      << "the demo did not complete within " << kDemoTimeout
      << " of the last restart";
  loader.Join();
  // One more crash while the projections may still be catching up.
  server.Kill();
  auto channel =
      grpc::CreateChannel(server.Start(), grpc::InsecureChannelCredentials());
  testing::WaitForProjections(channel);
  const std::string followed = testing::ProjectedViews(channel, 0);
  ASSERT_NE(followed.find("FINDING_KIND_"), std::string::npos)
      << "the demo should produce findings";
  testing::RebuildAll(channel);
  EXPECT_EQ(testing::ProjectedViews(channel, 0), followed);
  std::printf("projection crash test: demo loaded in %d attempts\n",
              loader.attempts());
}

TEST(CrashTest, KillLoopKeepsEveryAcknowledgedEventAndView) {
  const absl::Time started = absl::Now();
  testing::ScratchDir dir("kill_loop");
  const std::string data_dir = dir.path() + "/data";
  ServerProcess server(data_dir);
  Endpoint endpoint;
  endpoint.Set(server.Start());

  // Care events for the projections: the demo network, run again after each
  // crash (it is idempotent) until it completes.
  DemoLoader loader(&endpoint, /*clients=*/60, /*concurrency=*/4,
                    absl::Milliseconds(50));
  // Raw events on streams of their own, beside the care records.
  Appenders appenders(&endpoint, "crash-", kAppenders);

  std::mt19937 rng(2024);
  int kills = 0;
  int kills_while_starting = 0;
  for (int k = 0; k < kKillLoopKills; ++k) {
    absl::SleepFor(absl::Milliseconds(50 + rng() % 400));
    server.Kill();
    kills++;
    if (rng() % 3 == 0) {
      // Crash the restart itself, before it serves: mid WAL replay, mid
      // recovery flush or mid projection catch-up.
      server.Spawn();
      absl::SleepFor(absl::Milliseconds(rng() % 40));
      server.Kill();
      kills_while_starting++;
    }
    endpoint.Set(server.Start());
  }
  // Let the demo complete, so that the views hold findings to compare; the
  // appenders keep writing meanwhile.
  EXPECT_TRUE(WaitUntilLoaded(loader, kDemoTimeout))
      << "the demo did not complete within " << kDemoTimeout
      << " of the last restart";
  absl::SleepFor(absl::Milliseconds(100 + rng() % 200));
  // A last crash under load; nothing writes after it.
  server.Kill();
  kills++;
  appenders.Stop();
  loader.Stop();

  const std::string address = server.Start();
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = v1::EventLog::NewStub(channel);
  ASSERT_GT(appenders.acked().size(), 200u)
      << "too little load to mean anything";
  const size_t stored = CheckLog(stub.get(), appenders.acked());

  testing::WaitForProjections(channel);
  const std::string followed = testing::ProjectedViews(channel, 0);
  ASSERT_NE(followed.find("FINDING_KIND_"), std::string::npos)
      << "the demo should produce findings";
  testing::RebuildAll(channel);
  EXPECT_EQ(testing::ProjectedViews(channel, 0), followed);
  std::printf(
      "kill loop: %d kills (%d of them while starting), %zu acknowledged raw "
      "events, %zu events stored, %d retried appends, demo loaded in %d "
      "attempts, %.1f s\n",
      kills + kills_while_starting, kills_while_starting,
      appenders.acked().size(), stored, appenders.retries(), loader.attempts(),
      absl::ToDoubleSeconds(absl::Now() - started));
}

}  // namespace
}  // namespace caseline
