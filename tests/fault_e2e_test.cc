// Storage faults seen by a gRPC client: a failed WAL sync (also as
// grpc.health.v1.Health reports it), a full disk and a damaged table file.
// The whole server (CaselineServer, as caselined runs it) serves on a port-0
// loopback listener, its event log opened over a FaultInjectionEnv
// (ServerOptions::env). Callers name no organisation, so
// they are development mode's local operator, who may append raw events and
// read everything.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "eventstore/event_log.h"
#include "eventstore/fault_injection_env.h"
#include "grpcpp/grpcpp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/health_util.h"
#include "tests/test_util.h"

namespace caseline {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

// caselined over one data directory and fault-injecting Env.
class FaultyServer {
 public:
  FaultyServer(const std::string& data_dir, eventstore::FaultInjectionEnv* env)
      : data_dir_(data_dir), env_(env) {}
  ~FaultyServer() { Stop(); }

  // Opens the log and starts serving; false if that fails (open_status()).
  bool Start() {
    absl::StatusOr<std::unique_ptr<server::CaselineServer>> started =
        testing::StartLoopbackServer(
            data_dir_, [&](server::ServerOptions& options) {
              options.env = env_->env();
              options.health_interval = absl::Milliseconds(20);
            });
    open_status_ = started.status();
    if (!started.ok()) return false;
    server_ = *std::move(started);
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::EventLog::NewStub(channel_);
    return true;
  }

  // Stops serving and closes the log, as caselined's shutdown does.
  void Stop() {
    if (server_ == nullptr) return;
    server_->Shutdown(absl::Seconds(5));
    server_.reset();
  }

  const absl::Status& open_status() const { return open_status_; }
  v1::EventLog::Stub* stub() { return stub_.get(); }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  const std::string data_dir_;
  eventstore::FaultInjectionEnv* const env_;
  absl::Status open_status_;
  std::unique_ptr<server::CaselineServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventLog::Stub> stub_;
};

v1::AppendRequest MakeAppend(const std::string& stream, int first, int n,
                             size_t payload_bytes = 16) {
  v1::AppendRequest request;
  request.set_stream_id(stream);
  for (int i = first; i < first + n; ++i) {
    v1::EventData* e = request.add_events();
    char id[37];
    std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012x", i);
    e->set_event_id(id);
    e->set_event_type("FaultTested");
    e->set_content_type("application/octet-stream");
    e->set_payload(std::string(payload_bytes, static_cast<char>('a' + i % 26)));
  }
  return request;
}

grpc::Status Append(v1::EventLog::Stub* stub, const v1::AppendRequest& request,
                    v1::AppendResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  return stub->Append(&context, request, response);
}

// Every event in the log over ReadAll; checks positions are 1, 2, ...
std::vector<v1::Event> ReadAll(v1::EventLog::Stub* stub) {
  std::vector<v1::Event> events = testing::ReadWholeLog(stub);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].global_position(), i + 1) << "gap";
  }
  return events;
}

void ExpectChainVerifies(v1::EventLog::Stub* stub, uint64_t events) {
  grpc::ClientContext context;
  v1::VerifyChainResponse report;
  const grpc::Status s =
      stub->VerifyChain(&context, v1::VerifyChainRequest(), &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(report.ok()) << report.problem();
  EXPECT_EQ(report.events_checked(), events);
}

// Reads a subscription from position 1 until `count` events arrived.
std::vector<uint64_t> Subscribe(v1::EventLog::Stub* stub, size_t count) {
  v1::SubscribeRequest request;
  request.set_from_position(1);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  auto reader = stub->Subscribe(&context, request);
  std::vector<uint64_t> positions;
  v1::SubscribeResponse message;
  while (positions.size() < count && reader->Read(&message)) {
    if (message.has_event()) {
      positions.push_back(message.event().global_position());
    }
  }
  context.TryCancel();
  reader->Finish().error_code();
  return positions;
}

class FaultE2eTest : public ::testing::Test {
 protected:
  FaultE2eTest()
      : dir_("fault_e2e"),
        data_dir_(dir_.path() + "/data"),
        env_(std::make_unique<eventstore::FaultInjectionEnv>()),
        server_(std::make_unique<FaultyServer>(data_dir_, env_.get())) {}

  void SetUp() override { ASSERT_TRUE(server_->Start()) << server_->open_status(); }

  // A restart of the server on a fresh environment (the disk was fixed).
  void Restart() {
    server_.reset();
    env_ = std::make_unique<eventstore::FaultInjectionEnv>();
    server_ = std::make_unique<FaultyServer>(data_dir_, env_.get());
  }

  v1::EventLog::Stub* stub() { return server_->stub(); }

  testing::ScratchDir dir_;
  const std::string data_dir_;
  std::unique_ptr<eventstore::FaultInjectionEnv> env_;
  std::unique_ptr<FaultyServer> server_;
};

TEST_F(FaultE2eTest, FailedWalSyncIsUnavailableAndReadsContinue) {
  v1::AppendResponse response;
  ASSERT_TRUE(Append(stub(), MakeAppend("case-1", 0, 2), &response).ok());
  ASSERT_TRUE(Append(stub(), MakeAppend("case-2", 2, 1), &response).ok());

  env_->SetWalSyncFails(true);
  const v1::AppendRequest failed = MakeAppend("case-1", 3, 2);
  grpc::Status s = Append(stub(), failed, &response);
  ASSERT_FALSE(s.ok()) << "acknowledged although the WAL sync failed";
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(),
              AllOf(HasSubstr("cannot write durably"),
                    HasSubstr("may or may not have been stored")));

  env_->SetWalSyncFails(false);
  s = Append(stub(), MakeAppend("case-3", 5, 1), &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(),
              AllOf(HasSubstr("Reads still work"),
                    HasSubstr("restarted after the disk is fixed")));

  // Reads, subscriptions and verification keep working on what was
  // committed.
  EXPECT_EQ(ReadAll(stub()).size(), 3u);
  EXPECT_EQ(Subscribe(stub(), 3), (std::vector<uint64_t>{1, 2, 3}));
  grpc::ClientContext read_context;
  v1::ReadStreamRequest read_stream;
  read_stream.set_stream_id("case-1");
  v1::ReadStreamResponse stream;
  ASSERT_TRUE(stub()->ReadStream(&read_context, read_stream, &stream).ok());
  EXPECT_EQ(stream.events_size(), 2);
  ExpectChainVerifies(stub(), 3);

  // After a restart, the client's retry with the same ids is stored once.
  Restart();
  ASSERT_TRUE(server_->Start()) << server_->open_status();
  s = Append(stub(), failed, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.first_global_position(), 4u);
  ASSERT_TRUE(Append(stub(), MakeAppend("case-3", 5, 1), &response).ok());
  const std::vector<v1::Event> events = ReadAll(stub());
  ASSERT_EQ(events.size(), 6u);
  std::set<std::string> ids;
  for (const v1::Event& e : events) ids.insert(e.event_id());
  EXPECT_EQ(ids.size(), 6u);
  ExpectChainVerifies(stub(), 6);
}

// grpc.health.v1.Health after a failed WAL sync: the server ("") and the
// services that append are NOT_SERVING until a restart; the others serve on.
TEST_F(FaultE2eTest, FailedWalSyncMakesTheWritingServicesNotServing) {
  const std::vector<std::string> writing = {"", "caseline.v1.EventLog",
                                            "caseline.v1.Clients",
                                            "caseline.v1.Organizations"};
  const std::vector<std::string> reading = {"caseline.v1.AuditViews",
                                            "caseline.v1.ContinuityViews",
                                            "caseline.v1.Projections"};
  // The status of `service` once it is `want`, or after 10 s.
  auto health = [&](const std::string& service, testing::Serving want) {
    testing::Serving serving = testing::Serving::kUnknown;
    for (int i = 0; i < 500; ++i) {
      const grpc::Status s =
          testing::CheckHealth(server_->channel(), service, &serving);
      EXPECT_TRUE(s.ok()) << service << ": " << s.error_message();
      if (!s.ok() || serving == want) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return serving;
  };
  for (const auto* services : {&writing, &reading}) {
    for (const std::string& service : *services) {
      EXPECT_EQ(health(service, testing::Serving::kServing),
                testing::Serving::kServing)
          << service;
    }
  }

  env_->SetWalSyncFails(true);
  v1::AppendResponse response;
  ASSERT_EQ(
      Append(stub(), MakeAppend("case-1", 0, 1), &response).error_code(),
      grpc::StatusCode::UNAVAILABLE);
  env_->SetWalSyncFails(false);
  for (const std::string& service : writing) {
    EXPECT_EQ(health(service, testing::Serving::kNotServing),
              testing::Serving::kNotServing)
        << service;
  }
  for (const std::string& service : reading) {
    EXPECT_EQ(health(service, testing::Serving::kServing),
              testing::Serving::kServing)
        << service;
  }

  // A restart (the disk fixed) serves again.
  Restart();
  ASSERT_TRUE(server_->Start()) << server_->open_status();
  for (const std::string& service : writing) {
    EXPECT_EQ(health(service, testing::Serving::kServing),
              testing::Serving::kServing)
        << service;
  }
}

TEST_F(FaultE2eTest, FullDiskIsResourceExhaustedUntilSpaceReturns) {
  v1::AppendResponse response;
  ASSERT_TRUE(Append(stub(), MakeAppend("case-1", 0, 3), &response).ok());
  // A subscriber follows the log throughout.
  std::vector<uint64_t> followed;
  std::thread subscriber([&] { followed = Subscribe(stub(), 6); });

  env_->SetDiskFull(true);
  v1::AppendRequest refused = MakeAppend("case-1", 3, 2, 100 << 10);
  refused.set_exact(2);
  for (int i = 0; i < 2; ++i) {
    grpc::Status s = Append(stub(), refused, &response);
    ASSERT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << s.error_message();
    EXPECT_THAT(s.error_message(),
                AllOf(HasSubstr("disk full"), HasSubstr("Free space"),
                      HasSubstr("retry")));
  }
  EXPECT_EQ(ReadAll(stub()).size(), 3u);

  // Space returns: the client's retry goes through on the same server, at
  // the next position and stream version, as if the refusals never happened.
  env_->SetDiskFull(false);
  grpc::Status s = Append(stub(), refused, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(response.already_written());
  EXPECT_EQ(response.first_global_position(), 4u);
  EXPECT_EQ(response.first_stream_version(), 3u);
  v1::AppendRequest next = MakeAppend("case-1", 5, 1);
  next.set_exact(4);
  ASSERT_TRUE(Append(stub(), next, &response).ok());
  subscriber.join();
  EXPECT_EQ(followed, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(ReadAll(stub()).size(), 6u);
  ExpectChainVerifies(stub(), 6);
}

TEST_F(FaultE2eTest, DamagedTableFileIsDataLossNamingTheFile) {
  v1::AppendResponse response;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        Append(stub(), MakeAppend("case-1", i, 1, 300), &response).ok());
  }
  server_->Stop();  // closing flushes the events into a table file
  std::string table;
  for (const auto& entry : fs::directory_iterator(data_dir_)) {
    if (entry.path().extension() == ".sst") table = entry.path().string();
  }
  ASSERT_FALSE(table.empty());
  {
    std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
    char c = 0;
    f.seekg(100);  // inside the first data block
    f.get(c);
    f.seekp(100);
    f.put(static_cast<char>(c ^ 0x5a));
    ASSERT_TRUE(f.good());
  }
  Restart();
  if (!server_->Start()) {
    EXPECT_EQ(server_->open_status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(server_->open_status().message(), HasSubstr(table));
    return;
  }
  grpc::ClientContext context;
  v1::ReadAllRequest request;
  v1::ReadAllResponse page;
  const grpc::Status s = stub()->ReadAll(&context, request, &page);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(s.error_message(), HasSubstr(table));
  EXPECT_EQ(page.events_size(), 0);
}

}  // namespace
}  // namespace caseline
