// EtcdClient against real etcd members on loopback (tests/etcd_cluster.h):
// one member for the API, three for a member lost under the client.
#include "cluster/etcd_client.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/etcd_cluster.h"

namespace caseline::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Keys(const RangeResult& result) {
  std::vector<std::string> keys;
  for (const KeyValue& kv : result.kvs) keys.push_back(kv.key);
  return keys;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = testing::EtcdCluster::Start({});
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    EtcdClientOptions options;
    options.endpoints = cluster_->ClientEndpoints();
    auto client = EtcdClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  std::unique_ptr<testing::EtcdCluster> cluster_;
  std::unique_ptr<EtcdClient> client_;
};

TEST(EtcdClientOptionsTest, CreateRefusesBadOptions) {
  EXPECT_TRUE(absl::IsInvalidArgument(EtcdClient::Create({}).status()));
  EtcdClientOptions options;
  options.endpoints = {"127.0.0.1"};
  EXPECT_TRUE(absl::IsInvalidArgument(EtcdClient::Create(options).status()));
  options.endpoints = {"127.0.0.1:2379"};
  options.rpc_timeout = absl::ZeroDuration();
  EXPECT_TRUE(absl::IsInvalidArgument(EtcdClient::Create(options).status()));
}

TEST(PrefixEndTest, IncrementsTheLastByteThatCan) {
  EXPECT_EQ(PrefixEnd("log/"), "log0");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(""), std::string(1, '\0'));
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST_F(EtcdClientTest, PutAndRangeWithLimitAndMore) {
  auto first = client_->Put("p/a", "1");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(client_->Put("p/b", "2").ok());
  ASSERT_TRUE(client_->Put("p/c", "3").ok());
  ASSERT_TRUE(client_->Put("q/x", "outside").ok());
  auto second = client_->Put("p/a", "1b");
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, *first);

  auto one = client_->Range("p/a", "", {});
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->kvs.size(), 1u);
  EXPECT_EQ(one->kvs[0].value, "1b");
  EXPECT_EQ(one->kvs[0].create_revision, *first);
  EXPECT_EQ(one->kvs[0].mod_revision, *second);
  EXPECT_EQ(one->kvs[0].version, 2);
  EXPECT_EQ(one->revision, *second);

  auto page = client_->Range("p/", PrefixEnd("p/"), {.limit = 2});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Keys(*page), ElementsAre("p/a", "p/b"));
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->count, 3);

  auto rest = client_->Range("p/b\x01", PrefixEnd("p/"), {.limit = 2});
  ASSERT_TRUE(rest.ok());
  EXPECT_THAT(Keys(*rest), ElementsAre("p/c"));
  EXPECT_FALSE(rest->more);

  // As of the first put's revision, p/a had its first value.
  auto old = client_->Range("p/a", "", {.revision = *first});
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->kvs.size(), 1u);
  EXPECT_EQ(old->kvs[0].value, "1");

  auto count = client_->Range("p/", PrefixEnd("p/"), {.count_only = true});
  ASSERT_TRUE(count.ok());
  EXPECT_TRUE(count->kvs.empty());
  EXPECT_EQ(count->count, 3);

  auto missing = client_->Range("nothing", "", {});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->kvs.empty());

  auto deleted = client_->DeleteRange("p/", PrefixEnd("p/"));
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->deleted, 3);
  EXPECT_GT(deleted->revision, *second);
}

TEST_F(EtcdClientTest, TxnCreateIfAbsentSucceedsOnce) {
  const std::vector<Compare> absent = {Compare::Absent("seq/1")};
  auto created = client_->Txn(absent, {TxnOp::Put("seq/1", "first")},
                              {TxnOp::Range("seq/1")});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->succeeded);
  ASSERT_EQ(created->results.size(), 1u);
  EXPECT_EQ(created->results[0].kind, TxnOp::Kind::kPut);

  auto again = client_->Txn(absent, {TxnOp::Put("seq/1", "second")},
                            {TxnOp::Range("seq/1")});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->succeeded);
  ASSERT_EQ(again->results.size(), 1u);
  EXPECT_EQ(again->results[0].kind, TxnOp::Kind::kRange);
  ASSERT_EQ(again->results[0].range.kvs.size(), 1u);
  EXPECT_EQ(again->results[0].range.kvs[0].value, "first");
  EXPECT_EQ(again->results[0].range.kvs[0].create_revision,
            created->revision);
}

TEST_F(EtcdClientTest, TxnFencedByAnotherKeysCreateRevision) {
  auto leader = client_->Put("leader", "node-a");
  ASSERT_TRUE(leader.ok());
  const std::vector<Compare> fence = {
      Compare::CreateRevision("leader", Compare::Result::kEqual, *leader)};
  auto write = client_->Txn(fence, {TxnOp::Put("log/1", "a")}, {});
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_TRUE(write->succeeded);

  // Another holder takes over: the key is re-created, the old fence fails
  // and writes nothing.
  ASSERT_TRUE(client_->DeleteRange("leader").ok());
  ASSERT_TRUE(client_->Put("leader", "node-b").ok());
  auto fenced = client_->Txn(fence, {TxnOp::Put("log/2", "a")}, {});
  ASSERT_TRUE(fenced.ok()) << fenced.status();
  EXPECT_FALSE(fenced->succeeded);
  auto log = client_->Range("log/", PrefixEnd("log/"), {});
  ASSERT_TRUE(log.ok());
  EXPECT_THAT(Keys(*log), ElementsAre("log/1"));

  // The other compare targets.
  auto by_value = client_->Txn(
      {Compare::Value("leader", Compare::Result::kEqual, "node-b"),
       Compare::Version("leader", Compare::Result::kEqual, 1),
       Compare::ModRevision("leader", Compare::Result::kGreater, *leader)},
      {TxnOp::DeleteRange("log/", PrefixEnd("log/"))}, {});
  ASSERT_TRUE(by_value.ok()) << by_value.status();
  EXPECT_TRUE(by_value->succeeded);
  ASSERT_EQ(by_value->results.size(), 1u);
  EXPECT_EQ(by_value->results[0].deleted, 1);
}

TEST_F(EtcdClientTest, LeaseKeepAliveThenExpiry) {
  auto lease = client_->LeaseGrant(absl::Seconds(1));
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_GE(lease->ttl_seconds, 1);
  ASSERT_TRUE(client_->Put("owned", "x", lease->id).ok());

  auto ttl = client_->LeaseKeepAliveOnce(lease->id);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_GE(*ttl, 1);
  auto kv = client_->Range("owned", "", {});
  ASSERT_TRUE(kv.ok());
  ASSERT_EQ(kv->kvs.size(), 1u);
  EXPECT_EQ(kv->kvs[0].lease, lease->id);

  // No more keep-alives: the lease expires and takes its key along.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (true) {
    auto now = client_->Range("owned", "", {});
    ASSERT_TRUE(now.ok()) << now.status();
    if (now->kvs.empty()) break;
    ASSERT_LT(absl::Now(), deadline) << "the lease's key outlived it";
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(absl::IsNotFound(client_->LeaseKeepAliveOnce(lease->id).status()));
  EXPECT_TRUE(absl::IsNotFound(client_->LeaseRevoke(lease->id)));
  EXPECT_TRUE(absl::IsNotFound(client_->Put("owned", "y", lease->id).status()));
}

TEST_F(EtcdClientTest, LeaseRevokeDeletesAttachedKeys) {
  auto lease = client_->LeaseGrant(absl::Seconds(60));
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(client_->Put("members/a", "1", lease->id).ok());
  ASSERT_TRUE(client_->Txn({}, {TxnOp::Put("members/b", "2", lease->id)}, {})
                  .ok());
  ASSERT_TRUE(client_->Put("members/c", "no lease").ok());

  ASSERT_TRUE(client_->LeaseRevoke(lease->id).ok());
  auto left = client_->Range("members/", PrefixEnd("members/"), {});
  ASSERT_TRUE(left.ok());
  EXPECT_THAT(Keys(*left), ElementsAre("members/c"));
}

TEST_F(EtcdClientTest, WatchFromARevisionSeesLaterPutsAndDeletesInOrder) {
  auto before = client_->Put("w/before", "0");
  ASSERT_TRUE(before.ok());
  auto start = client_->Put("w/a", "1");
  ASSERT_TRUE(start.ok());
  auto watch = client_->WatchPrefix("w/", *start);
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(client_->Put("w/b", "2").ok());
  ASSERT_TRUE(client_->Put("elsewhere", "x").ok());
  ASSERT_TRUE(client_->DeleteRange("w/a").ok());
  ASSERT_TRUE(client_->Txn({}, {TxnOp::Put("w/c", "3"), TxnOp::Put("w/d", "4")},
                           {})
                  .ok());

  std::vector<std::string> seen;
  std::vector<int64_t> revisions;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (seen.size() < 5) {
    auto batch = (*watch)->Next(deadline);
    ASSERT_TRUE(batch.ok()) << batch.status() << " after " << seen.size();
    ASSERT_FALSE(batch->events.empty());
    for (const WatchEvent& event : batch->events) {
      seen.push_back(absl::StrCat(
          event.type == WatchEvent::Type::kPut ? "put " : "delete ",
          event.kv.key));
      revisions.push_back(event.kv.mod_revision);
      EXPECT_GE(batch->revision, event.kv.mod_revision);
    }
  }
  EXPECT_THAT(seen, ElementsAre("put w/a", "put w/b", "delete w/a",
                                "put w/c", "put w/d"));
  EXPECT_EQ(revisions[0], *start);
  EXPECT_TRUE(std::is_sorted(revisions.begin(), revisions.end()));
  EXPECT_EQ(revisions[3], revisions[4]);  // One txn, one revision.

  // Nothing more: the deadline passes, the watch is still usable.
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      (*watch)->Next(absl::Now() + absl::Milliseconds(200)).status()));
  ASSERT_TRUE(client_->Put("w/e", "5").ok());
  auto late = (*watch)->Next(absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->events[0].kv.key, "w/e");
}

TEST_F(EtcdClientTest, CancelFromAnotherThreadEndsABlockedNext) {
  auto watch = client_->WatchPrefix("quiet/", 0);
  ASSERT_TRUE(watch.ok()) << watch.status();
  std::thread canceller([&watch] {
    absl::SleepFor(absl::Milliseconds(100));
    (*watch)->Cancel();
  });
  const absl::Status status =
      (*watch)->Next(absl::Now() + absl::Seconds(30)).status();
  canceller.join();
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  EXPECT_TRUE(absl::IsCancelled(
      (*watch)->Next(absl::Now() + absl::Seconds(1)).status()));
}

TEST_F(EtcdClientTest, WatchFromACompactedRevisionIsOutOfRange) {
  auto old = client_->Put("c/k", "1");
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(client_->Put("c/k", "2").ok());
  auto latest = client_->Put("c/k", "3");
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(client_->Compact(*latest, /*physical=*/true).ok());

  auto watch = client_->WatchPrefix("c/", *old);
  ASSERT_TRUE(watch.ok()) << watch.status();
  const absl::Status status =
      (*watch)->Next(absl::Now() + absl::Seconds(10)).status();
  EXPECT_TRUE(absl::IsOutOfRange(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat(*latest)));
  EXPECT_EQ((*watch)->compact_revision(), *latest);

  // The same revision is gone for reads and for a second compaction.
  EXPECT_TRUE(
      absl::IsOutOfRange(client_->Range("c/k", "", {.revision = *old}).status()));
  EXPECT_TRUE(absl::IsOutOfRange(client_->Compact(*old, false)));
  // From the compact revision on, it is fine.
  auto from_compact = client_->WatchPrefix("c/", *latest);
  ASSERT_TRUE(from_compact.ok());
  auto batch = (*from_compact)->Next(absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->events[0].kv.value, "3");
}

TEST_F(EtcdClientTest, MemberStatus) {
  auto status = client_->MemberStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->endpoint, cluster_->ClientEndpoint(0));
  EXPECT_NE(status->member_id, 0u);
  EXPECT_EQ(status->leader_id, status->member_id);  // One member: itself.
  EXPECT_GT(status->db_size_bytes, 0);
  EXPECT_GT(status->raft_index, 0u);
  EXPECT_THAT(status->version, ::testing::StartsWith("3."));
}

TEST(EtcdClientUnreachableTest, UnavailableAndMovesOn) {
  // Nothing listens on port 1 of loopback.
  EtcdClientOptions options;
  options.endpoints = {"127.0.0.1:1", "127.0.0.2:1"};
  options.rpc_timeout = absl::Seconds(2);
  auto client = EtcdClient::Create(options);
  ASSERT_TRUE(client.ok());
  const absl::Status status = (*client)->Put("k", "v").status();
  EXPECT_TRUE(absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status))
      << status;
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:1"));
  EXPECT_EQ((*client)->current_endpoint(), "127.0.0.2:1");
}

// Three members; the member the client talks to is killed. The next calls
// move on to the others and the cluster keeps every acknowledged write.
TEST(EtcdClientClusterTest, KeepsWorkingWhenItsMemberIsKilled) {
  auto cluster = testing::EtcdCluster::Start({.members = 3});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EtcdClientOptions options;
  options.endpoints = (*cluster)->ClientEndpoints();
  options.rpc_timeout = absl::Seconds(2);
  auto client_or = EtcdClient::Create(options);
  ASSERT_TRUE(client_or.ok());
  EtcdClient& client = **client_or;

  auto written = client.Put("k/0", "before");
  ASSERT_TRUE(written.ok()) << written.status();
  const std::string first = client.current_endpoint();
  const int victim = (*cluster)->MemberOf(first);
  ASSERT_GE(victim, 0);
  auto watch = client.WatchPrefix("k/", *written + 1);
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE((*cluster)->Kill(victim).ok());

  // The watch's stream broke with its member.
  const absl::Status broken =
      (*watch)->Next(absl::Now() + absl::Seconds(10)).status();
  EXPECT_TRUE(absl::IsUnavailable(broken)) << broken;

  // Calls fail (UNAVAILABLE: the member is gone, or there is no leader
  // while the others elect one) until one reaches a member with a leader.
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  int failures = 0;
  for (int i = 1; i <= 5; ++i) {
    while (true) {
      const absl::Status status =
          client.Put(absl::StrCat("k/", i), "after").status();
      if (status.ok()) break;
      EXPECT_TRUE(absl::IsUnavailable(status) ||
                  absl::IsDeadlineExceeded(status))
          << status;
      ++failures;
      ASSERT_LT(absl::Now(), deadline) << status;
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  EXPECT_NE(client.current_endpoint(), first);
  auto all = client.Range("k/", PrefixEnd("k/"), {});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->kvs.size(), 6u);
  auto status = client.MemberStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_NE(status->leader_id, 0u);

  // The killed member comes back and serves the writes it missed.
  ASSERT_TRUE((*cluster)->Restart(victim).ok());
  EtcdClientOptions only_victim;
  only_victim.endpoints = {first};
  auto victim_client = EtcdClient::Create(only_victim);
  ASSERT_TRUE(victim_client.ok());
  auto caught_up = (*victim_client)->Range("k/", PrefixEnd("k/"), {});
  ASSERT_TRUE(caught_up.ok()) << caught_up.status();
  EXPECT_EQ(caught_up->kvs.size(), 6u);
}

}  // namespace
}  // namespace caseline::cluster
