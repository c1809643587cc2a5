// The log's side of cluster mode (docs/cluster.md): a sequencer's writer hands
// each group to its Replicator before writing it, and a follower's log applies
// the same groups with ApplyReplicated, ending up with the same log.
#include "eventstore/replication.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "base/mutex.h"
#include "eventstore/event_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::eventstore {
namespace {

using ::testing::HasSubstr;

ProposedEvent Noted(std::string payload, std::optional<EventId> id = {}) {
  ProposedEvent e;
  e.event_id = id;
  e.event_type = "Noted";
  e.content_type = "application/json";
  e.payload = std::move(payload);
  return e;
}

// Records every group, and refuses them while `refuse` is set.
class RecordingReplicator : public Replicator {
 public:
  absl::Status Replicate(const ReplicatedGroup& group) override {
    MutexLock lock(&mu_);
    if (!refuse_.ok()) return refuse_;
    groups_.push_back(group);
    return absl::OkStatus();
  }
  void Refuse(absl::Status status) {
    MutexLock lock(&mu_);
    refuse_ = std::move(status);
  }
  std::vector<ReplicatedGroup> groups() {
    MutexLock lock(&mu_);
    return groups_;
  }

 private:
  Mutex mu_;
  absl::Status refuse_ ABSL_GUARDED_BY(mu_);
  std::vector<ReplicatedGroup> groups_ ABSL_GUARDED_BY(mu_);
};

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            absl::StrCat(
                "replication_",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                "_", getpid());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    sequencer_ = Open("sequencer", &replicator_);
    follower_ = Open("follower", nullptr);
  }
  void TearDown() override {
    sequencer_.reset();
    follower_.reset();
    std::filesystem::remove_all(root_);
  }
  std::unique_ptr<EventLog> Open(const std::string& name,
                                 Replicator* replicator) {
    EventLogOptions options;
    options.data_dir = (root_ / name).string();
    options.replicator = replicator;
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        EventLog::Open(std::move(options));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }
  static std::vector<RecordedEvent> All(EventLog& log) {
    ReadAllOptions options;
    options.max_count = kMaxReadCount;
    absl::StatusOr<LogPage> page = log.ReadAll(options);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->events : std::vector<RecordedEvent>{};
  }
  void ApplyAll() {
    for (const ReplicatedGroup& g : replicator_.groups()) {
      ASSERT_TRUE(follower_->ApplyReplicated(g).ok());
    }
  }

  std::filesystem::path root_;
  RecordingReplicator replicator_;
  std::unique_ptr<EventLog> sequencer_;
  std::unique_ptr<EventLog> follower_;
};

TEST(ReplicatedGroupTest, EncodingRoundTripsAndRefusesMalformedValues) {
  ReplicatedGroup group{7, {"first", std::string(300, 'x'), ""}};
  const std::string value = EncodeReplicatedGroup(group);
  absl::StatusOr<ReplicatedGroup> decoded = DecodeReplicatedGroup(value);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->first_position, 7u);
  EXPECT_EQ(decoded->envelopes, group.envelopes);
  EXPECT_EQ(decoded->last_position(), 9u);

  for (size_t cut = 0; cut < value.size(); ++cut) {
    EXPECT_EQ(DecodeReplicatedGroup(value.substr(0, cut)).status().code(),
              absl::StatusCode::kDataLoss)
        << "cut at " << cut;
  }
  EXPECT_EQ(DecodeReplicatedGroup(value + "!").status().code(),
            absl::StatusCode::kDataLoss);
  std::string other_version = value;
  other_version[0] = 2;
  EXPECT_THAT(DecodeReplicatedGroup(other_version).status().message(),
              HasSubstr("unknown version 2"));
  EXPECT_EQ(DecodeReplicatedGroup(EncodeReplicatedGroup({1, {}})).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(ReplicationTest, AFollowerApplyingTheGroupsHoldsTheSameLog) {
  const EventId retried_a = EventId::Generate();
  const EventId retried_b = EventId::Generate();
  ASSERT_TRUE(sequencer_
                  ->Append({"client-1", ExpectedVersion::NoStream(),
                            {Noted("a", retried_a), Noted("b", retried_b)}})
                  .ok());
  // Several appends queued together share one group.
  std::vector<AppendRequest> requests;
  std::vector<EventLog::AppendCallback> done;
  std::vector<std::unique_ptr<absl::Notification>> answered;
  for (int i = 0; i < 5; ++i) {
    requests.push_back({absl::StrCat("client-", i % 2 + 1),
                        ExpectedVersion::Any(), {Noted(absl::StrCat(i))}});
    answered.push_back(std::make_unique<absl::Notification>());
    absl::Notification* n = answered.back().get();
    done.push_back([n](absl::StatusOr<AppendResult> r) {
      EXPECT_TRUE(r.ok()) << r.status();
      n->Notify();
    });
  }
  sequencer_->AppendEachAsync(std::move(requests), std::move(done));
  for (auto& n : answered) n->WaitForNotification();
  ASSERT_GE(replicator_.groups().size(), 2u);

  ApplyAll();
  const std::vector<RecordedEvent> expected = All(*sequencer_);
  const std::vector<RecordedEvent> got = All(*follower_);
  ASSERT_EQ(got.size(), 7u);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].global_position, expected[i].global_position);
    EXPECT_EQ(got[i].stream_id, expected[i].stream_id);
    EXPECT_EQ(got[i].stream_version, expected[i].stream_version);
    EXPECT_EQ(got[i].recorded_at, expected[i].recorded_at);
    EXPECT_EQ(got[i].hash, expected[i].hash);
  }
  EXPECT_EQ(follower_->HeadPosition(), 7u);
  absl::StatusOr<ChainVerification> chain = follower_->VerifyChain(0, 0);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok);

  // The follower holds the stream heads and event ids too: it decides the
  // next append exactly as the sequencer would.
  absl::StatusOr<StreamPage> stream =
      follower_->ReadStream("client-1", ReadStreamOptions{});
  ASSERT_TRUE(stream.ok());
  const uint64_t head = stream->events.back().stream_version;
  EXPECT_EQ(follower_
                ->Append({"client-1", ExpectedVersion::Exact(head - 1),
                          {Noted("late")}})
                .status()
                .code(),
            absl::StatusCode::kAborted);
  absl::StatusOr<AppendResult> retry = follower_->Append(
      {"client-1", ExpectedVersion::NoStream(),
       {Noted("a", retried_a), Noted("b", retried_b)}});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->already_written);
  EXPECT_EQ(retry->first_position, 1u);
}

TEST_F(ReplicationTest, ARefusedGroupIsNeitherWrittenNorAcknowledged) {
  ASSERT_TRUE(
      sequencer_->Append({"s", ExpectedVersion::Any(), {Noted("1")}}).ok());
  replicator_.Refuse(absl::UnavailableError("no quorum"));
  absl::StatusOr<AppendResult> refused =
      sequencer_->Append({"s", ExpectedVersion::Any(), {Noted("2")}});
  EXPECT_EQ(refused.status(), absl::UnavailableError("no quorum"));
  EXPECT_EQ(sequencer_->HeadPosition(), 1u);
  EXPECT_EQ(All(*sequencer_).size(), 1u);

  // The next group takes the positions the refused one would have had.
  replicator_.Refuse(absl::OkStatus());
  absl::StatusOr<AppendResult> next =
      sequencer_->Append({"s", ExpectedVersion::Exact(0), {Noted("3")}});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->first_position, 2u);
  EXPECT_EQ(next->first_version, 1u);
  ApplyAll();
  EXPECT_EQ(follower_->HeadPosition(), 2u);
}

TEST_F(ReplicationTest, AGroupAlreadyHeldIsCheckedAndNotWrittenAgain) {
  ASSERT_TRUE(
      sequencer_->Append({"s", ExpectedVersion::Any(), {Noted("1")}}).ok());
  ApplyAll();
  ApplyAll();  // again: a no-op
  EXPECT_EQ(follower_->HeadPosition(), 1u);
  EXPECT_EQ(All(*follower_).size(), 1u);

  // Something else at a held position: the logs have diverged.
  ReplicatedGroup other = replicator_.groups()[0];
  other.envelopes[0].back() ^= 1;
  absl::Status diverged = follower_->ApplyReplicated(other);
  EXPECT_EQ(diverged.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(diverged.message(), HasSubstr("diverged"));
}

TEST_F(ReplicationTest, AGapIsRefusedAndNothingIsWritten) {
  ASSERT_TRUE(
      sequencer_->Append({"s", ExpectedVersion::Any(), {Noted("1")}}).ok());
  ASSERT_TRUE(
      sequencer_->Append({"s", ExpectedVersion::Any(), {Noted("2")}}).ok());
  const std::vector<ReplicatedGroup> groups = replicator_.groups();
  ASSERT_EQ(groups.size(), 2u);
  absl::Status gap = follower_->ApplyReplicated(groups[1]);
  EXPECT_EQ(gap.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(gap.message(), HasSubstr("next position is 1"));
  EXPECT_EQ(follower_->HeadPosition(), 0u);
}

TEST_F(ReplicationTest, ADamagedEnvelopeIsRefusedBeforeAnythingIsWritten) {
  ASSERT_TRUE(sequencer_
                  ->Append({"s", ExpectedVersion::Any(),
                            {Noted("1"), Noted("2"), Noted("3")}})
                  .ok());
  const ReplicatedGroup group = replicator_.groups()[0];

  ReplicatedGroup tampered = group;
  // A payload byte of the last event: its hash no longer matches.
  std::string& last = tampered.envelopes[2];
  last[last.size() - 70] ^= 1;  // in the body, before the 64-byte trailer
  absl::Status s = follower_->ApplyReplicated(tampered);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("position 3"));
  EXPECT_EQ(follower_->HeadPosition(), 0u);
  EXPECT_TRUE(All(*follower_).empty());

  ReplicatedGroup reordered = group;
  std::swap(reordered.envelopes[0], reordered.envelopes[1]);
  EXPECT_EQ(follower_->ApplyReplicated(reordered).code(),
            absl::StatusCode::kDataLoss);
  ReplicatedGroup truncated = group;
  truncated.envelopes[1].resize(10);
  EXPECT_EQ(follower_->ApplyReplicated(truncated).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(follower_->HeadPosition(), 0u);

  EXPECT_TRUE(follower_->ApplyReplicated(group).ok());
  EXPECT_EQ(follower_->HeadPosition(), 3u);
}

TEST_F(ReplicationTest, AppliedGroupsSurviveARestart) {
  ASSERT_TRUE(
      sequencer_->Append({"s", ExpectedVersion::Any(), {Noted("1")}}).ok());
  ApplyAll();
  follower_.reset();
  follower_ = Open("follower", nullptr);
  ASSERT_NE(follower_, nullptr);
  EXPECT_EQ(follower_->HeadPosition(), 1u);
  ApplyAll();  // held: a no-op after the restart too
  ASSERT_TRUE(
      sequencer_->Append({"s", ExpectedVersion::Any(), {Noted("2")}}).ok());
  ApplyAll();
  EXPECT_EQ(follower_->HeadPosition(), 2u);
  absl::StatusOr<ChainVerification> chain = follower_->VerifyChain(0, 0);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok);
}

}  // namespace
}  // namespace caseline::eventstore
