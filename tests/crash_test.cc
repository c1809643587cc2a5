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
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "eventstore/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"
#include "tests/views_util.h"
#include "tools/demo.h"

extern char** environ;

namespace caseline {
namespace {

constexpr int kAppenders = 16;
constexpr int kKills = 6;

// A caselined child process on a port-0 loopback listener.
class ServerProcess {
 public:
  explicit ServerProcess(std::string data_dir)
      : data_dir_(std::move(data_dir)) {}
  ~ServerProcess() { Kill(); }

  // Starts caselined and waits until it has written its address.
  std::string Start() {
    const std::string address_file = data_dir_ + ".addr";
    std::remove(address_file.c_str());
    std::vector<std::string> args = {
        CASELINED_PATH, "--data_dir=" + data_dir_, "--listen=127.0.0.1:0",
        "--listen_address_file=" + address_file, "--log_level=warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = data_dir_ + ".log";
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    EXPECT_EQ(posix_spawn(&pid_, CASELINED_PATH, &actions, nullptr, argv.data(),
                          environ),
              0);
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 400; ++i) {
      std::ifstream in(address_file);
      std::string address;
      if (in >> address) return address;
      absl::SleepFor(absl::Milliseconds(25));
    }
    ADD_FAILURE() << "caselined did not start; see " << log;
    return "";
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  const std::string data_dir_;
  pid_t pid_ = -1;
};

// The address appenders should use; changes on every restart.
class Endpoint {
 public:
  void Set(std::string address) {
    MutexLock lock(&mu_);
    address_ = std::move(address);
    generation_++;
  }
  std::string address() {
    MutexLock lock(&mu_);
    return address_;
  }
  // A stub for the current address, re-made when it changed.
  v1::EventLog::Stub* Get(std::unique_ptr<v1::EventLog::Stub>* stub,
                          int* seen) {
    MutexLock lock(&mu_);
    if (*seen != generation_ || *stub == nullptr) {
      *stub = v1::EventLog::NewStub(
          grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
      *seen = generation_;
    }
    return stub->get();
  }

 private:
  Mutex mu_;
  std::string address_ ABSL_GUARDED_BY(mu_);
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
};

struct Acknowledged {
  uint64_t position;
  std::string stream_id;
};

TEST(CrashTest, NothingAcknowledgedIsLostAcrossSigkills) {
  testing::ScratchDir dir("crash");
  const std::string data_dir = dir.path() + "/data";
  ServerProcess server(data_dir);
  Endpoint endpoint;
  endpoint.Set(server.Start());

  std::atomic<bool> stop{false};
  Mutex mu;
  absl::flat_hash_map<std::string, Acknowledged> acked;  // event id -> where
  std::atomic<int> retries{0};
  std::vector<std::thread> appenders;
  for (int t = 0; t < kAppenders; ++t) {
    appenders.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::unique_ptr<v1::EventLog::Stub> stub;
      int seen = -1;
      for (int i = 0; !stop; ++i) {
        v1::AppendRequest request;
        request.set_stream_id(absl::StrCat("client-", t % 4));
        const int n = 1 + static_cast<int>(rng() % 3);
        for (int j = 0; j < n; ++j) {
          v1::EventData* e = request.add_events();
          char id[37];
          std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012x", t,
                        i * 4 + j);
          e->set_event_id(id);
          e->set_event_type("CrashTested");
          e->set_content_type("application/json");
          e->set_payload(
              absl::StrCat("{\"t\":", t, ",\"i\":", i, ",\"j\":", j, "}"));
        }
        // Retry the same request until acknowledged (or the test ends).
        while (true) {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(2));
          context.set_wait_for_ready(true);
          v1::AppendResponse response;
          grpc::Status s =
              endpoint.Get(&stub, &seen)->Append(&context, request, &response);
          if (s.ok()) {
            MutexLock lock(&mu);
            for (int j = 0; j < n; ++j) {
              acked[request.events(j).event_id()] = {
                  response.first_global_position() + j, request.stream_id()};
            }
            break;
          }
          ASSERT_TRUE(s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
                      s.error_code() == grpc::StatusCode::CANCELLED)
              << s.error_code() << ": " << s.error_message();
          retries++;
          if (stop) return;
        }
      }
    });
  }

  std::mt19937 rng(12345);
  for (int k = 0; k < kKills; ++k) {
    absl::SleepFor(absl::Milliseconds(150 + rng() % 450));
    server.Kill();
    endpoint.Set(server.Start());
  }
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  for (auto& t : appenders) t.join();

  // A last crash and restart, then check the whole log.
  server.Kill();
  const std::string address = server.Start();
  auto stub = v1::EventLog::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  absl::flat_hash_map<std::string, uint64_t> found;  // event id -> position
  v1::ReadAllRequest read;
  read.set_max_count(1000);
  uint64_t expected_position = 1;
  while (true) {
    grpc::ClientContext context;
    v1::ReadAllResponse page;
    ASSERT_TRUE(stub->ReadAll(&context, read, &page).ok());
    for (const v1::Event& e : page.events()) {
      ASSERT_EQ(e.global_position(), expected_position++)
          << "gap or reordering";
      ASSERT_TRUE(found.emplace(e.event_id(), e.global_position()).second)
          << "event " << e.event_id() << " stored twice";
    }
    if (page.end_of_log()) break;
    read.set_from_position(page.next_position());
  }
  ASSERT_GT(acked.size(), 100u) << "too little load to mean anything";
  for (const auto& [id, where] : acked) {
    auto it = found.find(id);
    ASSERT_NE(it, found.end()) << "acknowledged event " << id << " was lost";
    EXPECT_EQ(it->second, where.position) << id;
  }
  grpc::ClientContext verify_context;
  v1::VerifyChainResponse verify;
  ASSERT_TRUE(
      stub->VerifyChain(&verify_context, v1::VerifyChainRequest(), &verify)
          .ok());
  EXPECT_TRUE(verify.ok()) << verify.problem();
  EXPECT_EQ(verify.events_checked(), found.size());
  std::printf(
      "crash test: %d kills, %zu acknowledged events, %zu stored, %d retried "
      "appends\n",
      kKills + 1, acked.size(), found.size(), retries.load());
}

TEST(CrashTest, ProjectionsNeitherSkipNorDoubleApplyAcrossSigkills) {
  testing::ScratchDir dir("projection_crash");
  const std::string data_dir = dir.path() + "/data";
  ServerProcess server(data_dir);
  Endpoint endpoint;
  endpoint.Set(server.Start());

  std::atomic<bool> loaded{false};
  std::atomic<int> attempts{0};
  std::thread loader([&] {
    while (!loaded) {
      tools::DemoOptions options;
      options.clients = 150;
      options.concurrency = 8;
      options.call_timeout = absl::Seconds(5);
      attempts++;
      auto summary = tools::RunDemo(
          grpc::CreateChannel(endpoint.address(),
                              grpc::InsecureChannelCredentials()),
          options);
      if (summary.ok()) {
        loaded = true;
      } else {
        absl::SleepFor(absl::Milliseconds(100));  // the server is restarting
      }
    }
  });
  std::mt19937 rng(777);
  for (int k = 0; k < 4 && !loaded; ++k) {
    absl::SleepFor(absl::Milliseconds(400 + rng() % 800));
    server.Kill();
    endpoint.Set(server.Start());
  }
  loader.join();
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
              attempts.load());
}

}  // namespace
}  // namespace caseline
