// Three caselined nodes (in-process servers, each with its own data
// directory) on a real 3-member etcd (docs/cluster.md): writes sent to any
// node are sequenced once, every node holds the same log, and the cluster
// keeps taking writes when the sequencer goes away.
#include <sys/wait.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "caseline/v1/admin.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "cluster/cluster_log.h"
#include "cluster/etcd_client.h"
#include "eventstore/event.h"
#include "eventstore/key_encryption.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "services/access_control.h"
#include "tools/cli_command.h"
#include "tests/etcd_cluster.h"
#include "tests/test_util.h"

namespace caseline {
namespace {

using ::testing::HasSubstr;

constexpr int kNodes = 3;

class ClusterE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::EtcdClusterOptions etcd_options;
    etcd_options.members = 3;
    absl::StatusOr<std::unique_ptr<testing::EtcdCluster>> etcd =
        testing::EtcdCluster::Start(etcd_options);
    ASSERT_TRUE(etcd.ok()) << etcd.status();
    etcd_ = *std::move(etcd);
    for (int i = 0; i < kNodes; ++i) {
      dirs_.push_back(std::make_unique<testing::ScratchDir>(
          absl::StrCat("cluster_node_", i)));
      nodes_.emplace_back();
      clients_.emplace_back();
      StartNode(i);
    }
  }

  void StartNode(int i) {
    absl::StatusOr<std::unique_ptr<server::CaselineServer>> started =
        testing::StartLoopbackServer(
            dirs_[i]->path(), [&](server::ServerOptions& options) {
              options.cluster.etcd_endpoints = etcd_->ClientEndpoints();
              options.cluster.node_id = absl::StrCat("node-", i);
              options.cluster.peer_listen = "127.0.0.1:0";
              options.cluster.cluster_name = "e2e";
              options.cluster.compaction_interval = compaction_interval_;
              options.cluster.retain_events = retain_events_;
              options.cluster.max_groups_in_flight = groups_in_flight_;
              if (!kek_paths_.empty()) {
                absl::StatusOr<std::unique_ptr<eventstore::FileKeyEncryptionKey>>
                    kek = eventstore::FileKeyEncryptionKey::Open(kek_paths_[i]);
                ASSERT_TRUE(kek.ok()) << kek.status();
                keks_[i] = *std::move(kek);
                options.kek = keks_[i];
              }
              if (!certs_.empty()) {
                options.tls_cert_pem = ReadFile(certs_ + "/server.pem");
                options.tls_key_pem = ReadFile(certs_ + "/server.key");
                options.client_ca_pem = ReadFile(certs_ + "/ca.pem");
                services::AccessConfig access;
                access.roles["ops"] = services::kAdmin;
                options.access = access;
              }
            });
    ASSERT_TRUE(started.ok()) << started.status();
    nodes_[i] = *std::move(started);
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        grpc::InsecureChannelCredentials();
    if (!certs_.empty()) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = ReadFile(certs_ + "/ca.pem");
      ssl.pem_cert_chain = ReadFile(certs_ + "/ops.pem");
      ssl.pem_private_key = ReadFile(certs_ + "/ops.key");
      credentials = grpc::SslCredentials(ssl);
    }
    clients_[i] = v1::EventLog::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", nodes_[i]->port()), credentials));
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  cluster::ClusterStatus StatusOf(int i) {
    auto* log = dynamic_cast<cluster::ClusterLog*>(&nodes_[i]->event_log());
    EXPECT_NE(log, nullptr);
    return log != nullptr ? log->Status() : cluster::ClusterStatus{};
  }

  int Sequencer() {
    for (int i = 0; i < kNodes; ++i) {
      if (nodes_[i] != nullptr && StatusOf(i).sequencing) return i;
    }
    return -1;
  }

  int WaitForSequencer(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (int s = Sequencer(); s >= 0) return s;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return -1;
  }

  grpc::Status Append(int node, const std::string& stream,
                      std::optional<uint64_t> exact, const std::string& id,
                      v1::AppendResponse* out) {
    v1::AppendRequest request;
    request.set_stream_id(stream);
    if (exact.has_value()) request.set_exact(*exact);
    v1::EventData* e = request.add_events();
    *e = testing::JsonEvent("Noted", absl::StrCat(R"({"n":")", id, R"("})"));
    if (!id.empty()) e->set_event_id(id);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(15));
    return clients_[node]->Append(&context, request, out);
  }

  // Every node's events (position, hash), once all have applied `head`.
  std::vector<std::string> LogOf(int node, uint64_t head) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (nodes_[node]->event_log().HeadPosition() < head &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    std::vector<std::string> out;
    v1::ReadAllRequest request;
    request.set_max_count(1000);
    grpc::ClientContext context;
    v1::ReadAllResponse page;
    EXPECT_TRUE(clients_[node]->ReadAll(&context, request, &page).ok());
    for (const v1::Event& e : page.events()) {
      out.push_back(absl::StrCat(e.global_position(), " ", e.stream_id(), " ",
                                 e.stream_version(), " ", e.hash()));
    }
    return out;
  }

  // Count etcd's log/ keys.
  int64_t GroupsInEtcd() {
    cluster::EtcdClientOptions options;
    options.endpoints = etcd_->ClientEndpoints();
    absl::StatusOr<std::unique_ptr<cluster::EtcdClient>> etcd =
        cluster::EtcdClient::Create(options);
    EXPECT_TRUE(etcd.ok());
    const std::string prefix = "/caseline/e2e/log/";
    absl::StatusOr<cluster::RangeResult> range = (*etcd)->Range(
        prefix, cluster::PrefixEnd(prefix),
        cluster::RangeOptions{.count_only = true});
    EXPECT_TRUE(range.ok()) << range.status();
    return range.ok() ? range->count : -1;
  }

  // With payload encryption: each node's copy of the KEK file, and the KEK
  // each node was started with.
  std::vector<std::string> kek_paths_;
  std::vector<std::shared_ptr<eventstore::FileKeyEncryptionKey>> keks_{kNodes};
  // With TLS: the directory of deploy/make-dev-certs.sh's certificates.
  std::string certs_;
  absl::Duration compaction_interval_ = absl::Seconds(10);
  uint64_t retain_events_ = 1000000;
  int groups_in_flight_ = 1;
  std::unique_ptr<testing::EtcdCluster> etcd_;
  std::vector<std::unique_ptr<testing::ScratchDir>> dirs_;
  std::vector<std::unique_ptr<server::CaselineServer>> nodes_;
  std::vector<std::unique_ptr<v1::EventLog::Stub>> clients_;
};

TEST_F(ClusterE2eTest, WritesToAnyNodeMakeOneLogOnEveryNode) {
  ASSERT_GE(WaitForSequencer(absl::Seconds(10)), 0);
  uint64_t head = 0;
  for (int round = 0; round < 4; ++round) {
    for (int node = 0; node < kNodes; ++node) {
      v1::AppendResponse response;
      const grpc::Status s =
          Append(node, absl::StrCat("case-", node), std::nullopt, "", &response);
      ASSERT_TRUE(s.ok()) << s.error_message();
      head = std::max(head, response.last_global_position());
      // Read-your-writes on the node written to.
      EXPECT_GE(nodes_[node]->event_log().HeadPosition(),
                response.last_global_position());
    }
  }
  EXPECT_EQ(head, 12u);
  const std::vector<std::string> expected = LogOf(0, head);
  ASSERT_EQ(expected.size(), 12u);
  for (int node = 1; node < kNodes; ++node) {
    EXPECT_EQ(LogOf(node, head), expected) << "node " << node;
  }
  for (int node = 0; node < kNodes; ++node) {
    absl::StatusOr<eventstore::ChainVerification> chain =
        nodes_[node]->event_log().VerifyChain(0, 0);
    ASSERT_TRUE(chain.ok());
    EXPECT_TRUE(chain->ok);
    EXPECT_EQ(chain->head_position, 12u);
  }
}

TEST_F(ClusterE2eTest, ExpectedVersionsAndRetriesKeepSingleNodeMeaning) {
  ASSERT_GE(WaitForSequencer(absl::Seconds(10)), 0);
  const std::string id = "6f1c1b2e-8d3a-4c55-9e0f-2b7a1c9d4e01";
  v1::AppendResponse first;
  ASSERT_TRUE(Append(0, "case-x", std::nullopt, id, &first).ok());
  // The same append sent to another node is an identical retry.
  v1::AppendResponse retry;
  ASSERT_TRUE(Append(1, "case-x", std::nullopt, id, &retry).ok());
  EXPECT_TRUE(retry.already_written());
  EXPECT_EQ(retry.first_global_position(), first.first_global_position());
  // A decision made against version 0 from another node still holds...
  v1::AppendResponse second;
  ASSERT_TRUE(Append(2, "case-x", 0, "", &second).ok());
  // ... and a stale one is refused wherever it is sent.
  v1::AppendResponse stale;
  const grpc::Status refused = Append(1, "case-x", 0, "", &stale);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("is at version 1"));
}

TEST_F(ClusterE2eTest, WritesContinueWhenTheSequencerStopsAndItCatchesUp) {
  const int old = WaitForSequencer(absl::Seconds(10));
  ASSERT_GE(old, 0);
  v1::AppendResponse response;
  ASSERT_TRUE(Append(old, "case-a", std::nullopt, "", &response).ok());
  nodes_[old]->Shutdown(absl::Seconds(2));
  nodes_[old].reset();
  const int other = (old + 1) % kNodes;
  const absl::Time stopped = absl::Now();
  // Accepted by the other nodes once one of them is sequencing.
  ASSERT_TRUE(Append(other, "case-a", 0, "", &response).ok());
  EXPECT_LT(absl::Now() - stopped, absl::Seconds(5));
  const int now = Sequencer();
  EXPECT_NE(now, old);
  EXPECT_GE(now, 0);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        Append((old + 2) % kNodes, "case-b", std::nullopt, "", &response).ok());
  }
  const uint64_t head = response.last_global_position();
  EXPECT_EQ(head, 7u);

  // The old sequencer comes back as a follower and catches up.
  StartNode(old);
  const std::vector<std::string> expected = LogOf(other, head);
  EXPECT_EQ(LogOf(old, head), expected);
  ASSERT_TRUE(Append(old, "case-a", 1, "", &response).ok());
  EXPECT_EQ(response.last_global_position(), head + 1);
}

// Groups in flight (docs/cluster.md): etcd may take a group before the one
// it is fenced on, and the sequencer may stop with several in flight.
class ClusterInFlightTest : public ClusterE2eTest {
 protected:
  ClusterInFlightTest() { groups_in_flight_ = 8; }
};

TEST_F(ClusterInFlightTest, ConcurrentWritesAcrossAFailoverMakeOneLog) {
  const int old = WaitForSequencer(absl::Seconds(10));
  ASSERT_GE(old, 0);
  const int writer_node = (old + 1) % kNodes;
  constexpr int kWriters = 8;
  // Under the sanitizers (TSan: about 40 times slower) a quarter of them.
  const int kAppends = testing::kUnderSanitizer ? 25 : 100;
  Mutex mu;
  std::vector<uint64_t> acknowledged;  // positions
  std::vector<std::thread> writers;
  std::atomic<int> failed{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kAppends; ++i) {
        // A fresh id each append, retried identically until answered.
        const std::string id = eventstore::EventId::Generate().ToString();
        for (int attempt = 0; attempt < 20; ++attempt) {
          v1::AppendResponse response;
          const int node = (writer_node + attempt) % kNodes;
          if (node == old) continue;
          const grpc::Status s =
              Append(node, absl::StrCat("in-flight-", w), std::nullopt, id,
                     &response);
          if (s.ok()) {
            MutexLock lock(&mu);
            acknowledged.push_back(response.last_global_position());
            break;
          }
          if (attempt == 19) ++failed;
        }
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  nodes_[old]->Shutdown(absl::Seconds(2));
  nodes_[old].reset();
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failed.load(), 0);
  uint64_t head = 0;
  {
    MutexLock lock(&mu);
    EXPECT_EQ(acknowledged.size(), static_cast<size_t>(kWriters * kAppends));
    for (uint64_t p : acknowledged) head = std::max(head, p);
  }
  StartNode(old);
  const std::vector<std::string> expected = LogOf(writer_node, head);
  // Every append once: no retry was stored twice.
  EXPECT_EQ(expected.size(), static_cast<size_t>(kWriters * kAppends));
  for (int node = 0; node < kNodes; ++node) {
    EXPECT_EQ(LogOf(node, head), expected) << "node " << node;
    absl::StatusOr<eventstore::ChainVerification> chain =
        nodes_[node]->event_log().VerifyChain(0, 0);
    ASSERT_TRUE(chain.ok());
    EXPECT_TRUE(chain->ok);
  }
}

// Care commands sent to different nodes: every node's views answer alike.
TEST_F(ClusterE2eTest, EveryNodeServesTheSameViews) {
  ASSERT_GE(WaitForSequencer(absl::Seconds(10)), 0);
  const auto command = [&](int node, const std::string& org,
                           const std::string& method, const std::string& json) {
    absl::StatusOr<tools::PreparedCommand> prepared =
        tools::PrepareCommand(method, json);
    ASSERT_TRUE(prepared.ok()) << prepared.status();
    absl::StatusOr<std::string> sent = tools::SendCommand(
        grpc::CreateChannel(nodes_[node]->address(),
                            grpc::InsecureChannelCredentials()),
        *prepared, org, "tester", absl::Seconds(15));
    ASSERT_TRUE(sent.ok()) << method << " at node " << node << ": "
                           << sent.status();
  };
  command(0, "org-a", "Organizations.RegisterOrganization",
          R"({"command_id":"o1","organization_registered":{
              "organization_id":"org-a","name":"A",
              "type":"ORGANIZATION_TYPE_HOSPITAL"}})");
  command(1, "org-b", "Organizations.RegisterOrganization",
          R"({"command_id":"o2","organization_registered":{
              "organization_id":"org-b","name":"B",
              "type":"ORGANIZATION_TYPE_HOUSING"}})");
  command(2, "org-a", "Clients.RegisterClient",
          R"({"command_id":"c1","client_id":"m1","client_registered":{
              "name":{"family":"Ng","given":"Lan"},"birth_date":{"year":1970,"month":3,"day":2}}})");
  command(1, "org-b", "Clients.RegisterClient",
          R"({"command_id":"c2","client_id":"m2","client_registered":{
              "name":{"family":"Ng","given":"Lan"},"birth_date":{"year":1970,"month":3,"day":2}}})");
  const uint64_t head = nodes_[0]->event_log().HeadPosition();
  ASSERT_GE(head, 4u);

  std::vector<std::string> answers;
  for (int node = 0; node < kNodes; ++node) {
    auto channel = grpc::CreateChannel(nodes_[node]->address(),
                                       grpc::InsecureChannelCredentials());
    std::string answer;
    for (const char* client : {"m1", "m2"}) {
      v1::GetClientSummaryRequest request;
      request.set_client_id(client);
      request.set_min_position(head);
      request.mutable_at()->set_seconds(1790000000);
      v1::GetClientSummaryResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(15));
      const grpc::Status s = v1::ContinuityViews::NewStub(channel)
                                 ->GetClientSummary(&context, request, &response);
      ASSERT_TRUE(s.ok()) << "node " << node << ": " << s.error_message();
      response.clear_view_position();
      answer += response.SerializeAsString();
    }
    v1::ListFindingsRequest findings;
    findings.set_min_position(head);
    v1::ListFindingsResponse found;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(15));
    const grpc::Status s = v1::DuplicationViews::NewStub(channel)->ListFindings(
        &context, findings, &found);
    ASSERT_TRUE(s.ok()) << "node " << node << ": " << s.error_message();
    EXPECT_GE(found.findings_size(), 1) << "the two Lan Ngs, at node " << node;
    found.clear_view_position();
    answer += found.SerializeAsString();
    answers.push_back(answer);
  }
  EXPECT_EQ(answers[1], answers[0]);
  EXPECT_EQ(answers[2], answers[0]);
}

// etcd keeps only the tail; a node that missed what was deleted restores a
// peer's verified backup, then follows etcd again.
class ClusterCompactionTest : public ClusterE2eTest {
 protected:
  void SetUp() override {
    compaction_interval_ = absl::Milliseconds(100);
    retain_events_ = 10;
    ClusterE2eTest::SetUp();
  }
};

TEST_F(ClusterCompactionTest, ANodeBehindTheTailCatchesUpFromAPeersBackup) {
  ASSERT_GE(WaitForSequencer(absl::Seconds(10)), 0);
  v1::AppendResponse response;
  ASSERT_TRUE(Append(0, "case-c", std::nullopt, "", &response).ok());
  // Node 2 stops; the others move 40 events on, one group each.
  const int away = 2;
  ASSERT_TRUE(LogOf(away, 1).size() == 1);
  nodes_[away]->Shutdown(absl::Seconds(2));
  nodes_[away].reset();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(Append(i % 2, "case-c", std::nullopt, "", &response).ok());
  }
  const uint64_t head = response.last_global_position();
  ASSERT_EQ(head, 41u);
  // etcd keeps at most the groups of the last retain_events events (and
  // those the two running nodes have not applied).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (GroupsInEtcd() > 10 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_LE(GroupsInEtcd(), 10);

  StartNode(away);
  const std::vector<std::string> expected = LogOf(0, head);
  ASSERT_EQ(expected.size(), head);
  EXPECT_EQ(LogOf(away, head), expected);
  absl::StatusOr<eventstore::ChainVerification> chain =
      nodes_[away]->event_log().VerifyChain(0, 0);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok);
  // And it follows etcd from there.
  ASSERT_TRUE(Append(away, "case-c", head - 1, "", &response).ok());
  EXPECT_EQ(LogOf(1, head + 1).size(), head + 1);
  // The replaced data directory is kept beside the new one.
  bool kept = false;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(dirs_[away]->path()).parent_path())) {
    if (absl::StrContains(
            entry.path().filename().string(),
            std::filesystem::path(dirs_[away]->path()).filename().string() +
                ".replaced-")) {
      kept = true;
      std::filesystem::remove_all(entry.path());
    }
  }
  EXPECT_TRUE(kept);
}

// With TLS, the peer channel is mutual TLS with the server's certificate:
// writes to a follower are forwarded over it.
class ClusterTlsTest : public ClusterE2eTest {
 protected:
  void SetUp() override {
    certs_dir_ = std::make_unique<testing::ScratchDir>("cluster_certs");
    certs_ = certs_dir_->path();
    ASSERT_EQ(std::system(absl::StrCat("bash ", CASELINE_SOURCE_DIR,
                                       "/deploy/make-dev-certs.sh ", certs_,
                                       " ops > /dev/null")
                              .c_str()),
              0);
    ClusterE2eTest::SetUp();
  }
  std::unique_ptr<testing::ScratchDir> certs_dir_;
};

TEST_F(ClusterTlsTest, WritesAreForwardedOverMutualTls) {
  const int sequencer = WaitForSequencer(absl::Seconds(10));
  ASSERT_GE(sequencer, 0);
  v1::AppendResponse response;
  for (int node = 0; node < kNodes; ++node) {
    const grpc::Status s = Append(node, "case-tls", std::nullopt, "", &response);
    ASSERT_TRUE(s.ok()) << "node " << node << ": " << s.error_message();
  }
  EXPECT_EQ(response.last_global_position(), 3u);
  const std::vector<std::string> expected = LogOf(sequencer, 3);
  for (int node = 0; node < kNodes; ++node) {
    EXPECT_EQ(LogOf(node, 3), expected) << "node " << node;
  }
}

TEST_F(ClusterE2eTest, AQuorumOfEtcdIsNeededToAcknowledge) {
  const int sequencer = WaitForSequencer(absl::Seconds(10));
  ASSERT_GE(sequencer, 0);
  v1::AppendResponse response;
  ASSERT_TRUE(Append(sequencer, "case-q", std::nullopt, "", &response).ok());
  // Two of three etcd members gone: no quorum, no acknowledgement.
  ASSERT_TRUE(etcd_->Kill(1).ok());
  ASSERT_TRUE(etcd_->Kill(2).ok());
  v1::AppendRequest request;
  request.set_stream_id("case-q");
  *request.add_events() = testing::JsonEvent("Noted", "{}");
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(4));
  const grpc::Status s = clients_[sequencer]->Append(&context, request, &response);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.error_code(),
              ::testing::AnyOf(grpc::StatusCode::UNAVAILABLE,
                               grpc::StatusCode::DEADLINE_EXCEEDED));
  // Quorum back: writes resume.
  ASSERT_TRUE(etcd_->Restart(1).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  grpc::Status resumed;
  do {
    resumed = Append((sequencer + 1) % kNodes, "case-q", std::nullopt, "",
                     &response);
  } while (!resumed.ok() && absl::Now() < deadline);
  EXPECT_TRUE(resumed.ok()) << resumed.error_message();
}

// caselined's flags in cluster mode (docs/cluster.md "Encryption"): a node
// never makes its own KEK. It exits (code 2) before it reaches etcd.
TEST(ClusterKekFlagsTest, ANodeWithoutTheSharedKekDoesNotStart) {
  testing::ScratchDir dir("cluster_kek_flags");
  const auto run = [&](const std::string& flags) {
    const std::string err = dir.path() + "/stderr";
    const int status = std::system(
        absl::StrCat(CASELINED_PATH, " --data_dir ", dir.path(), "/data",
                     " --listen 127.0.0.1:0 --cluster_etcd 127.0.0.1:1",
                     " --cluster_node_id n1 --cluster_peer_listen 127.0.0.1:0 ",
                     flags, " > /dev/null 2> ", err)
            .c_str());
    std::ifstream in(err);
    std::stringstream text;
    text << in.rdbuf();
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                          text.str());
  };
  auto [code, err] = run("");
  EXPECT_EQ(code, 2) << err;
  EXPECT_THAT(err, HasSubstr("head -c 32 /dev/urandom"));
  EXPECT_THAT(err, HasSubstr("--encrypt_payloads=false"));
  std::tie(code, err) = run(absl::StrCat("--kek_file ", dir.path(), "/none.kek"));
  EXPECT_EQ(code, 2) << err;
  EXPECT_THAT(err, HasSubstr("does not exist"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/none.kek"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data.kek"));
}

// Payload encryption in a cluster (docs/cluster.md "Encryption"): one KEK
// file copied to every node; the clients' data keys and their erasure
// travel in the replicated groups.
class ClusterEncryptionTest : public ClusterE2eTest {
 protected:
  void SetUp() override {
    kek_dir_ = std::make_unique<testing::ScratchDir>("cluster_keks");
    const std::string shared = kek_dir_->path() + "/cluster.kek";
    ASSERT_TRUE(eventstore::FileKeyEncryptionKey::Open(shared).ok());
    for (int i = 0; i < kNodes; ++i) {
      kek_paths_.push_back(absl::StrCat(kek_dir_->path(), "/node-", i, ".kek"));
      std::filesystem::copy_file(shared, kek_paths_.back());
    }
    ClusterE2eTest::SetUp();
  }

  // A care command sent to `node` (the care streams take events only
  // through them).
  absl::StatusOr<std::string> Command(int node, const std::string& method,
                                      const std::string& json) {
    absl::StatusOr<tools::PreparedCommand> prepared =
        tools::PrepareCommand(method, json);
    if (!prepared.ok()) return prepared.status();
    return tools::SendCommand(
        grpc::CreateChannel(nodes_[node]->address(),
                            grpc::InsecureChannelCredentials()),
        *prepared, "org-a", "tester", absl::Seconds(15));
  }

  // Registers client `id` (its family name `secret`) at `node`; the
  // organisation first, once.
  absl::Status RegisterClient(int node, const std::string& id,
                              const std::string& secret) {
    if (!org_registered_) {
      absl::StatusOr<std::string> org = Command(
          node, "Organizations.RegisterOrganization",
          R"({"command_id":"org-a","organization_registered":{
              "organization_id":"org-a","name":"A",
              "type":"ORGANIZATION_TYPE_HOSPITAL"}})");
      if (!org.ok()) return org.status();
      org_registered_ = true;
    }
    return Command(node, "Clients.RegisterClient",
                   absl::StrCat(R"({"command_id":"register-)", id,
                                R"(-)", eventstore::EventId::Generate().ToString(),
                                R"(","client_id":")", id,
                                R"(","client_registered":{"name":{"family":")",
                                secret, R"(","given":"Lan"},)",
                                R"("birth_date":{"year":1970,"month":3,"day":2}}})"))
        .status();
  }

  // The stream's events as `node` serves them, once it holds `head`.
  std::vector<v1::Event> StreamAt(int node, const std::string& stream,
                                  uint64_t head) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (nodes_[node]->event_log().HeadPosition() < head &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    v1::ReadStreamRequest request;
    request.set_stream_id(stream);
    request.set_max_count(100);
    grpc::ClientContext context;
    v1::ReadStreamResponse page;
    const grpc::Status s = clients_[node]->ReadStream(&context, request, &page);
    EXPECT_TRUE(s.ok()) << "node " << node << ": " << s.error_message();
    return {page.events().begin(), page.events().end()};
  }

  // An Admin client of `node`.
  auto AdminAt(int node) {
    return v1::Admin::NewStub(grpc::CreateChannel(
        nodes_[node]->address(), grpc::InsecureChannelCredentials()));
  }

  grpc::Status Erase(int node, const std::string& client,
                     v1::EraseClientResponse* out) {
    v1::EraseClientRequest request;
    request.set_client_id(client);
    request.set_legal_basis("GDPR Art. 17(1)(a)");
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    return AdminAt(node)->EraseClient(&context, request, out);
  }

  static eventstore::DataKeyId KeyId(const std::string& hex) {
    const std::string bytes = absl::HexStringToBytes(hex);
    eventstore::DataKeyId id{};
    EXPECT_EQ(bytes.size(), id.size());
    std::copy_n(bytes.begin(), std::min(bytes.size(), id.size()), id.begin());
    return id;
  }

  std::unique_ptr<testing::ScratchDir> kek_dir_;
  bool org_registered_ = false;
};

TEST_F(ClusterEncryptionTest, AnErasureOnTheSequencerReachesEveryNode) {
  const int sequencer = WaitForSequencer(absl::Seconds(10));
  ASSERT_GE(sequencer, 0);
  const int follower = (sequencer + 1) % kNodes;
  // Sent to a follower: forwarded, and the key made by the sequencer.
  const absl::Status registered = RegisterClient(follower, "c1", "Secretc");
  ASSERT_TRUE(registered.ok()) << registered;
  uint64_t head = nodes_[follower]->event_log().HeadPosition();
  for (int node = 0; node < kNodes; ++node) {
    const std::vector<v1::Event> events = StreamAt(node, "client-c1", head);
    ASSERT_EQ(events.size(), 1u) << "node " << node;
    EXPECT_THAT(events[0].payload(), HasSubstr("Secretc")) << "node " << node;
    EXPECT_FALSE(events[0].payload_erased());
  }

  v1::EraseClientResponse erased;
  const grpc::Status s = Erase(sequencer, "c1", &erased);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(erased.already_erased());
  head = erased.position();
  const eventstore::DataKeyId key_id = KeyId(erased.data_key_id());
  for (int node = 0; node < kNodes; ++node) {
    const std::vector<v1::Event> events = StreamAt(node, "client-c1", head);
    ASSERT_EQ(events.size(), 2u) << "node " << node;
    EXPECT_TRUE(events[0].payload_erased()) << "node " << node;
    EXPECT_TRUE(events[0].payload().empty()) << "node " << node;
    EXPECT_EQ(events[1].event_type(), "ClientErased");
    EXPECT_EQ(events[1].global_position(), head);
    EXPECT_TRUE(keks_[node]->IsErased(key_id)) << "node " << node;
    absl::StatusOr<eventstore::ChainVerification> chain =
        nodes_[node]->event_log().VerifyChain(0, 0);
    ASSERT_TRUE(chain.ok()) << chain.status();
    EXPECT_TRUE(chain->ok) << "node " << node;
    EXPECT_EQ(chain->head_position, head);
  }
  // The stream takes no more events, wherever the command is sent.
  for (int node : {sequencer, follower}) {
    const absl::Status refused = RegisterClient(node, "c1", "Again");
    EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition)
        << "node " << node << ": " << refused;
    EXPECT_THAT(refused.message(),
                HasSubstr(absl::StrCat("erased at global position ", head)));
  }
  // Again: already erased.
  ASSERT_TRUE(Erase(follower, "c1", &erased).ok());
  EXPECT_TRUE(erased.already_erased());
  EXPECT_EQ(erased.position(), head);

  // An erasure sent to a follower is forwarded to the sequencer, and
  // answered once the follower holds it.
  ASSERT_TRUE(RegisterClient(sequencer, "c2", "Secretd").ok());
  ASSERT_TRUE(Erase(follower, "c2", &erased).ok());
  EXPECT_FALSE(erased.already_erased());
  EXPECT_GE(nodes_[follower]->event_log().HeadPosition(), erased.position());
  std::vector<v1::Event> events = StreamAt(follower, "client-c2", 0);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].payload_erased());
  head = erased.position();

  // Key rotation would make this node's KEK differ from the others'.
  {
    grpc::ClientContext context;
    v1::RotateKeysResponse rotated;
    const grpc::Status refused = AdminAt(sequencer)->RotateKeys(
        &context, v1::RotateKeysRequest(), &rotated);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(refused.error_message(), HasSubstr("single-node only"));
    EXPECT_EQ(keks_[sequencer]->version_ids().size(), 1u);
  }

  // A follower restarted after the erasure keeps it.
  nodes_[follower]->Shutdown(absl::Seconds(2));
  nodes_[follower].reset();
  keks_[follower].reset();
  StartNode(follower);
  EXPECT_TRUE(keks_[follower]->IsErased(key_id));
  events = StreamAt(follower, "client-c1", head);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].payload_erased());
  events = StreamAt(follower, "client-c2", head);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].payload_erased());
}

TEST_F(ClusterEncryptionTest, AFollowerWithAnotherKekRefusesTheGroups) {
  const int sequencer = WaitForSequencer(absl::Seconds(10));
  ASSERT_GE(sequencer, 0);
  const int away = (sequencer + 1) % kNodes;
  nodes_[away]->Shutdown(absl::Seconds(2));
  nodes_[away].reset();
  ASSERT_TRUE(RegisterClient(sequencer, "k1", "Secretk").ok());
  // The node comes back with a KEK of its own.
  std::filesystem::remove(kek_paths_[away]);
  StartNode(away);
  absl::Status refused;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (refused.ok() && absl::Now() < deadline) {
    refused = StatusOf(away).apply_error;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("same --kek_file"));
  // It applied the organisation's group, not the client's.
  EXPECT_LT(nodes_[away]->event_log().HeadPosition(),
            nodes_[sequencer]->event_log().HeadPosition());
  EXPECT_EQ(nodes_[away]
                ->event_log()
                .ReadStream("client-k1", eventstore::ReadStreamOptions{})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace caseline
