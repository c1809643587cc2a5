// The log's side of cluster mode (docs/cluster.md): a sequencer's writer hands
// each group to its Replicator before writing it, and a follower's log applies
// the same groups with ApplyReplicated, ending up with the same log.
#include "eventstore/replication.h"

#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "base/mutex.h"
#include "eventstore/event_log.h"
#include "eventstore/key_encryption.h"
#include "eventstore/payload_crypto.h"
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
  void Replicate(ReplicatedGroup group, Done done) override {
    absl::Status status;
    {
      MutexLock lock(&mu_);
      status = refuse_;
      if (status.ok()) groups_.push_back(std::move(group));
    }
    done(std::move(status));
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

// One append's answer, waited for with base/mutex.h, which TSan sees
// (Debian's absl::Notification it does not).
class Outcome {
 public:
  EventLog::AppendCallback Callback() {
    return [this](absl::StatusOr<AppendResult> r) {
      MutexLock lock(&mu_);
      result_ = std::move(r);
      cv_.SignalAll();
    };
  }
  absl::StatusOr<AppendResult> Wait() {
    MutexLock lock(&mu_);
    while (!result_.has_value()) cv_.Wait();
    return *result_;
  }
  bool done() {
    MutexLock lock(&mu_);
    return result_.has_value();
  }

 private:
  Mutex mu_;
  CondVar cv_{&mu_};
  std::optional<absl::StatusOr<AppendResult>> result_ ABSL_GUARDED_BY(mu_);
};

// Keeps up to 4 groups in flight and answers each only when the test says.
class HeldReplicator : public Replicator {
 public:
  int max_groups_in_flight() const override { return 4; }
  void Replicate(ReplicatedGroup group, Done done) override {
    MutexLock lock(&mu_);
    held_.push_back({std::move(group), std::move(done)});
    changed_.SignalAll();
  }
  // Waits until `n` groups have been handed over and not answered.
  bool AwaitHeld(size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    MutexLock lock(&mu_);
    while (held_.size() < n) {
      if (!changed_.WaitFor(deadline - absl::Now())) return held_.size() >= n;
    }
    return true;
  }
  // Answers the oldest group held; returns it.
  ReplicatedGroup Answer(absl::Status status) {
    Held h;
    {
      MutexLock lock(&mu_);
      h = std::move(held_.front());
      held_.pop_front();
    }
    h.done(std::move(status));
    return std::move(h.group);
  }
  size_t held() {
    MutexLock lock(&mu_);
    return held_.size();
  }

 private:
  struct Held {
    ReplicatedGroup group;
    Done done;
  };
  Mutex mu_;
  CondVar changed_{&mu_};
  std::deque<Held> held_ ABSL_GUARDED_BY(mu_);
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
  ReplicatedGroup group{7, {"first", std::string(300, 'x'), ""}, {}};
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
  other_version[0] = 3;
  EXPECT_THAT(DecodeReplicatedGroup(other_version).status().message(),
              HasSubstr("unknown version 3"));
  EXPECT_EQ(DecodeReplicatedGroup(EncodeReplicatedGroup({1, {}, {}})).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(ReplicatedGroupTest, DataKeysTravelInVersion2AndOnlyThere) {
  // No data keys: version 1, byte for byte what a release before version 2
  // wrote and reads.
  const ReplicatedGroup plain{7, {"ab"}, {}};
  const std::string v1 = EncodeReplicatedGroup(plain);
  EXPECT_EQ(v1, std::string("\x01\0\0\0\0\0\0\0\x07\0\0\0\x01\0\0\0\x02" "ab",
                            19));

  const ReplicatedGroup keyed{
      7,
      {"ab", "c"},
      {DataKeyUpdate{"client-1", "rec1"}, DataKeyUpdate{"client-2", ""}}};
  const std::string v2 = EncodeReplicatedGroup(keyed);
  EXPECT_EQ(v2[0], 2);
  // The envelopes as in version 1, then u32 2 and each (stream, record).
  EXPECT_EQ(v2.substr(13, 4 + 2 + 4 + 1), std::string("\0\0\0\x02" "ab" "\0\0\0\x01" "c", 11));
  EXPECT_EQ(v2.substr(24),
            std::string("\0\0\0\x02"
                        "\0\0\0\x08" "client-1" "\0\0\0\x04" "rec1"
                        "\0\0\0\x08" "client-2" "\0\0\0\0",
                        4 + 4 + 8 + 4 + 4 + 4 + 8 + 4));
  absl::StatusOr<ReplicatedGroup> decoded = DecodeReplicatedGroup(v2);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->first_position, 7u);
  EXPECT_EQ(decoded->envelopes, keyed.envelopes);
  EXPECT_EQ(decoded->data_keys, keyed.data_keys);

  for (size_t cut = 0; cut < v2.size(); ++cut) {
    EXPECT_EQ(DecodeReplicatedGroup(v2.substr(0, cut)).status().code(),
              absl::StatusCode::kDataLoss)
        << "cut at " << cut;
  }
  EXPECT_EQ(DecodeReplicatedGroup(v2 + "!").status().code(),
            absl::StatusCode::kDataLoss);
  // A data-key count the value cannot hold, and a data key with no stream.
  std::string huge = v2;
  huge[24] = '\x7f';
  EXPECT_THAT(DecodeReplicatedGroup(huge).status().message(),
              HasSubstr("data-key count larger than the value"));
  const std::string nameless =
      EncodeReplicatedGroup({7, {"ab"}, {DataKeyUpdate{"", "rec"}}});
  EXPECT_THAT(DecodeReplicatedGroup(nameless).status().message(),
              HasSubstr("no stream id"));
  // Version 1 with bytes after the envelopes is still refused.
  std::string v1_extra = v1 + std::string("\0\0\0\0", 4);
  EXPECT_EQ(DecodeReplicatedGroup(v1_extra).status().code(),
            absl::StatusCode::kDataLoss);
  // A version 2 value with no data keys (never written) reads as it says.
  std::string v2_empty = v1 + std::string("\0\0\0\0", 4);
  v2_empty[0] = 2;
  decoded = DecodeReplicatedGroup(v2_empty);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->data_keys.empty());
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

// Found by tests/cluster/jepsen.py: a refusal decided against an append of
// the same group must not be answered when that group is not committed.
TEST_F(ReplicationTest, ARefusalDecidedAgainstARefusedGroupIsNotAnswered) {
  replicator_.Refuse(absl::UnavailableError("no quorum"));
  std::vector<AppendRequest> requests;
  requests.push_back({"s", ExpectedVersion::NoStream(), {Noted("first")}});
  // Conflicts with the first, in the same group.
  requests.push_back({"s", ExpectedVersion::NoStream(), {Noted("second")}});
  Outcome results[2];
  std::vector<EventLog::AppendCallback> callbacks;
  for (Outcome& o : results) callbacks.push_back(o.Callback());
  sequencer_->AppendEachAsync(std::move(requests), std::move(callbacks));
  EXPECT_EQ(results[0].Wait().status(), absl::UnavailableError("no quorum"));
  // Not ABORTED: the write it conflicted with never happened.
  EXPECT_EQ(results[1].Wait().status(), absl::UnavailableError("no quorum"));
  replicator_.Refuse(absl::OkStatus());
  absl::StatusOr<AppendResult> retried =
      sequencer_->Append({"s", ExpectedVersion::NoStream(), {Noted("second")}});
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->first_position, 1u);
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

TEST_F(ReplicationTest, UnsyncedGroupsAreReportedOnlyOnceSynced) {
  EventLogOptions options;
  options.data_dir = (root_ / "unsynced").string();
  options.sync_each_group = false;
  absl::StatusOr<std::unique_ptr<EventLog>> log =
      EventLog::Open(std::move(options));
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(sequencer_->Append({"s", ExpectedVersion::Any(),
                                  {Noted("1"), Noted("2")}})
                  .ok());
  for (const ReplicatedGroup& g : replicator_.groups()) {
    ASSERT_TRUE((*log)->ApplyReplicated(g).ok());
  }
  EXPECT_EQ((*log)->HeadPosition(), 2u);
  absl::StatusOr<uint64_t> synced = (*log)->SyncedHead();
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_EQ(*synced, 2u);
  // Readable after a restart too (the process ended, the OS kept the WAL).
  log->reset();
  EventLogOptions again;
  again.data_dir = (root_ / "unsynced").string();
  log = EventLog::Open(std::move(again));
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->HeadPosition(), 2u);
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

// Groups in flight (docs/cluster.md): the writer decides the next group on
// top of one the replicator has not answered yet.
class PipelineTest : public ReplicationTest {
 protected:
  void SetUp() override {
    ReplicationTest::SetUp();
    held_log_ = Open("held", &held_);
  }
  void TearDown() override {
    while (held_.held() > 0) held_.Answer(absl::UnavailableError("ending"));
    held_log_.reset();
    ReplicationTest::TearDown();
  }
  // Appends without waiting; the answer arrives in `*out`.
  void Start(AppendRequest request, Outcome* out) {
    held_log_->AppendAsync(std::move(request), out->Callback());
  }

  HeldReplicator held_;
  std::unique_ptr<EventLog> held_log_;
};

TEST_F(PipelineTest, GroupsInFlightAreDecidedInOrderAndWrittenAsAnswered) {
  Outcome a, b, c;
  Start({"s", ExpectedVersion::NoStream(), {Noted("a")}}, &a);
  ASSERT_TRUE(held_.AwaitHeld(1));
  // Decided on top of `a`, still in flight: version 1, position 2.
  Start({"s", ExpectedVersion::Exact(0), {Noted("b")}}, &b);
  ASSERT_TRUE(held_.AwaitHeld(2));
  // A conflict with `b` is answered only once `b` is written.
  Start({"s", ExpectedVersion::Exact(0), {Noted("c")}}, &c);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(a.done());
  EXPECT_FALSE(c.done());
  EXPECT_EQ(held_log_->HeadPosition(), 0u);

  const ReplicatedGroup first = held_.Answer(absl::OkStatus());
  const absl::StatusOr<AppendResult> ra = a.Wait();
  ASSERT_TRUE(ra.ok()) << ra.status();
  EXPECT_EQ(ra->first_position, 1u);
  EXPECT_EQ(held_log_->HeadPosition(), 1u);
  EXPECT_FALSE(c.done());

  const ReplicatedGroup second = held_.Answer(absl::OkStatus());
  const absl::StatusOr<AppendResult> rb = b.Wait();
  ASSERT_TRUE(rb.ok()) << rb.status();
  EXPECT_EQ(rb->first_position, 2u);
  EXPECT_EQ(rb->first_version, 1u);
  EXPECT_EQ(c.Wait().status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(second.first_position, 2u);

  // The groups chain: a follower applies them in order.
  ASSERT_TRUE(follower_->ApplyReplicated(first).ok());
  ASSERT_TRUE(follower_->ApplyReplicated(second).ok());
  EXPECT_EQ(All(*follower_).back().hash, All(*held_log_).back().hash);
}

TEST_F(PipelineTest, ARefusedGroupRefusesEveryGroupDecidedOnTopOfIt) {
  Outcome a, b, c;
  Start({"s", ExpectedVersion::NoStream(), {Noted("a")}}, &a);
  ASSERT_TRUE(held_.AwaitHeld(1));
  Start({"s", ExpectedVersion::Exact(0), {Noted("b")}}, &b);
  ASSERT_TRUE(held_.AwaitHeld(2));
  Start({"t", ExpectedVersion::Any(), {Noted("c")}}, &c);
  ASSERT_TRUE(held_.AwaitHeld(3));

  held_.Answer(absl::UnavailableError("lost the election"));
  for (Outcome* o : {&a, &b, &c}) {
    EXPECT_EQ(o->Wait().status(),
              absl::UnavailableError("lost the election"));
  }
  EXPECT_EQ(held_log_->HeadPosition(), 0u);
  // The later groups' own answers arrive after and change nothing.
  held_.Answer(absl::OkStatus());
  held_.Answer(absl::OkStatus());

  // Decided again from the written state: position 1, a new stream.
  Outcome again;
  Start({"s", ExpectedVersion::NoStream(), {Noted("a2")}}, &again);
  ASSERT_TRUE(held_.AwaitHeld(1));
  held_.Answer(absl::OkStatus());
  const absl::StatusOr<AppendResult> r = again.Wait();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->first_position, 1u);
  EXPECT_EQ(r->first_version, 0u);
}

TEST_F(PipelineTest, ARetryOfAGroupInFlightIsDecidedOnceItIsWritten) {
  const EventId id = EventId::Generate();
  Outcome a, retry;
  Start({"s", ExpectedVersion::Any(), {Noted("a", id)}}, &a);
  ASSERT_TRUE(held_.AwaitHeld(1));
  Start({"s", ExpectedVersion::Any(), {Noted("a", id)}}, &retry);
  absl::SleepFor(absl::Milliseconds(50));
  // Nothing new is decided while the id is in flight.
  EXPECT_EQ(held_.held(), 1u);
  held_.Answer(absl::OkStatus());
  const absl::StatusOr<AppendResult> ra = a.Wait();
  const absl::StatusOr<AppendResult> rr = retry.Wait();
  ASSERT_TRUE(ra.ok()) << ra.status();
  ASSERT_TRUE(rr.ok()) << rr.status();
  EXPECT_TRUE(rr->already_written);
  EXPECT_EQ(rr->first_position, 1u);
  EXPECT_EQ(held_.held(), 0u);
}

TEST_F(PipelineTest, ClosingWaitsForTheGroupsInFlight) {
  Outcome a;
  Start({"s", ExpectedVersion::Any(), {Noted("a")}}, &a);
  ASSERT_TRUE(held_.AwaitHeld(1));
  std::thread closer([this] { held_log_.reset(); });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(a.done());
  held_.Answer(absl::OkStatus());
  closer.join();
  const absl::StatusOr<AppendResult> ra = a.Wait();
  ASSERT_TRUE(ra.ok()) << ra.status();
  held_log_ = Open("held", &held_);
  ASSERT_NE(held_log_, nullptr);
  EXPECT_EQ(held_log_->HeadPosition(), 1u);
}

// Encrypted payloads in a cluster (docs/cluster.md "Encryption"): the
// sequencer's data-key records travel in its groups, and each node's own
// copy of the one KEK file unwraps them and records their erasure.
class EncryptedReplicationTest : public ReplicationTest {
 protected:
  void SetUp() override {
    ReplicationTest::SetUp();
    sequencer_.reset();
    follower_.reset();
    // One KEK, copied to each node.
    const std::string shared = (root_ / "shared.kek").string();
    ASSERT_TRUE(FileKeyEncryptionKey::Open(shared).ok());
    for (const char* node : {"sequencer", "follower"}) {
      std::filesystem::copy_file(shared, root_ / absl::StrCat(node, ".kek"));
    }
    sequencer_kek_ = OpenKek("sequencer.kek");
    follower_kek_ = OpenKek("follower.kek");
    sequencer_ = OpenEncrypted("sequencer-enc", &replicator_,
                               sequencer_kek_.get());
    follower_ = OpenEncrypted("follower-enc", nullptr, follower_kek_.get());
  }
  void TearDown() override {
    sequencer_.reset();
    follower_.reset();
    ReplicationTest::TearDown();
  }
  std::unique_ptr<FileKeyEncryptionKey> OpenKek(const std::string& name) {
    absl::StatusOr<std::unique_ptr<FileKeyEncryptionKey>> kek =
        FileKeyEncryptionKey::Open((root_ / name).string());
    EXPECT_TRUE(kek.ok()) << kek.status();
    return kek.ok() ? *std::move(kek) : nullptr;
  }
  std::unique_ptr<EventLog> OpenEncrypted(const std::string& name,
                                          Replicator* replicator,
                                          KeyEncryptionKey* kek) {
    EventLogOptions options;
    options.data_dir = (root_ / name).string();
    options.replicator = replicator;
    options.kek = kek;
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        EventLog::Open(std::move(options));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }
  static std::vector<RecordedEvent> Stream(EventLog& log,
                                           const std::string& stream) {
    absl::StatusOr<StreamPage> page = log.ReadStream(stream, {});
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->events : std::vector<RecordedEvent>{};
  }
  static ProposedEvent Erasure() {
    ProposedEvent e = Noted(R"({"erased":true})");
    e.event_type = "ClientErased";
    return e;
  }

  std::unique_ptr<FileKeyEncryptionKey> sequencer_kek_;
  std::unique_ptr<FileKeyEncryptionKey> follower_kek_;
};

TEST_F(EncryptedReplicationTest, KeysAndTheirErasureReachTheFollower) {
  ASSERT_TRUE(sequencer_
                  ->Append({"client-1", ExpectedVersion::Any(),
                            {Noted(R"({"n":"secret"})")}})
                  .ok());
  ASSERT_TRUE(
      sequencer_->Append({"case-1", ExpectedVersion::Any(), {Noted("{}")}})
          .ok());
  std::vector<ReplicatedGroup> groups = replicator_.groups();
  ASSERT_EQ(groups.size(), 2u);
  // The new stream's wrapped key travels with its first event; a stream
  // that is not encrypted adds nothing (version 1 on the wire).
  ASSERT_EQ(groups[0].data_keys.size(), 1u);
  EXPECT_EQ(groups[0].data_keys[0].stream_id, "client-1");
  EXPECT_EQ(EncodeReplicatedGroup(groups[0])[0], 2);
  EXPECT_TRUE(groups[1].data_keys.empty());
  EXPECT_EQ(EncodeReplicatedGroup(groups[1])[0], 1);
  absl::StatusOr<DataKeyRecord> record =
      DecodeDataKeyRecord(groups[0].data_keys[0].record);
  ASSERT_TRUE(record.ok());
  const DataKeyId key_id = record->key_id;

  ApplyAll();
  std::vector<RecordedEvent> read = Stream(*follower_, "client-1");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].payload, R"({"n":"secret"})");

  absl::StatusOr<ErasureResult> erased =
      sequencer_->EraseStream("client-1", Erasure());
  ASSERT_TRUE(erased.ok()) << erased.status();
  groups = replicator_.groups();
  ASSERT_EQ(groups.size(), 3u);
  ASSERT_EQ(groups[2].data_keys.size(), 1u);
  record = DecodeDataKeyRecord(groups[2].data_keys[0].record);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->state, DataKeyRecord::State::kErased);
  EXPECT_EQ(record->erased_at_position, erased->position);

  EXPECT_FALSE(follower_kek_->IsErased(key_id));
  std::vector<std::string> heard;
  const uint64_t listener = follower_->AddErasureListener(
      [&heard](absl::string_view stream) { heard.emplace_back(stream); });
  ASSERT_TRUE(follower_->ApplyReplicated(groups[2]).ok());
  EXPECT_TRUE(follower_kek_->IsErased(key_id));
  // The follower's erasure listeners hear it as the sequencer's would.
  EXPECT_EQ(heard, std::vector<std::string>{"client-1"});
  read = Stream(*follower_, "client-1");
  ASSERT_EQ(read.size(), 2u);
  EXPECT_TRUE(read[0].payload_erased);
  EXPECT_TRUE(read[0].payload.empty());
  EXPECT_EQ(read[1].event_type, "ClientErased");
  EXPECT_FALSE(read[1].payload_erased);
  absl::StatusOr<ChainVerification> chain = follower_->VerifyChain(0, 0);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok);
  EXPECT_EQ(All(*follower_).back().hash, All(*sequencer_).back().hash);
  // The follower decides as the sequencer would: the stream takes no more.
  absl::StatusOr<AppendResult> refused = follower_->Append(
      {"client-1", ExpectedVersion::Any(), {Noted("{}")}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat("erased at global position ",
                                     erased->position)));

  // Applied again (a restart's catch-up): a no-op, not heard again. After
  // a restart too.
  ASSERT_TRUE(follower_->ApplyReplicated(groups[2]).ok());
  EXPECT_EQ(heard.size(), 1u);
  follower_->RemoveErasureListener(listener);
  follower_.reset();
  follower_kek_ = OpenKek("follower.kek");
  EXPECT_TRUE(follower_kek_->IsErased(key_id));
  follower_ = OpenEncrypted("follower-enc", nullptr, follower_kek_.get());
  ASSERT_NE(follower_, nullptr);
  read = Stream(*follower_, "client-1");
  ASSERT_EQ(read.size(), 2u);
  EXPECT_TRUE(read[0].payload_erased);
}

// docs/cluster.md "Erasure": the sequencer loses the role after its KEK
// recorded the erasure, before the group is committed.
TEST_F(EncryptedReplicationTest, AnErasureNotCommittedIsCompletedByARetry) {
  ASSERT_TRUE(sequencer_
                  ->Append({"client-1", ExpectedVersion::Any(),
                            {Noted(R"({"n":"secret"})")}})
                  .ok());
  ApplyAll();
  replicator_.Refuse(absl::UnavailableError("not the sequencer"));
  absl::StatusOr<ErasureResult> failed =
      sequencer_->EraseStream("client-1", Erasure());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("erase again"));
  // In effect here, not on the follower, and nothing was replicated.
  ASSERT_EQ(replicator_.groups().size(), 1u);
  EXPECT_TRUE(Stream(*sequencer_, "client-1")[0].payload_erased);
  EXPECT_FALSE(Stream(*follower_, "client-1")[0].payload_erased);

  replicator_.Refuse(absl::OkStatus());
  absl::StatusOr<ErasureResult> retried =
      sequencer_->EraseStream("client-1", Erasure());
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_FALSE(retried->already_erased);
  const std::vector<ReplicatedGroup> groups = replicator_.groups();
  ASSERT_EQ(groups.size(), 2u);
  ASSERT_EQ(groups[1].data_keys.size(), 1u);
  ApplyAll();
  EXPECT_TRUE(Stream(*follower_, "client-1")[0].payload_erased);
  EXPECT_EQ(All(*follower_).back().hash, All(*sequencer_).back().hash);
}

// docs/cluster.md "Erasure": a follower stops between its KEK's record of
// the erasure and the group's batch.
TEST_F(EncryptedReplicationTest, AFollowerStoppedMidErasureCompletesIt) {
  ASSERT_TRUE(sequencer_
                  ->Append({"client-1", ExpectedVersion::Any(),
                            {Noted(R"({"n":"secret"})")}})
                  .ok());
  ApplyAll();
  absl::StatusOr<ErasureResult> erased =
      sequencer_->EraseStream("client-1", Erasure());
  ASSERT_TRUE(erased.ok()) << erased.status();
  const ReplicatedGroup erasure = replicator_.groups().back();
  absl::StatusOr<DataKeyRecord> record =
      DecodeDataKeyRecord(erasure.data_keys[0].record);
  ASSERT_TRUE(record.ok());
  // The KEK step only, then the process ends.
  ASSERT_TRUE(follower_kek_->RecordErased(record->key_id).ok());
  follower_.reset();
  follower_ = OpenEncrypted("follower-enc", nullptr, follower_kek_.get());
  ASSERT_NE(follower_, nullptr);
  EXPECT_TRUE(Stream(*follower_, "client-1")[0].payload_erased);
  // Catching up writes the group, and the record gets its position.
  ASSERT_TRUE(follower_->ApplyReplicated(erasure).ok());
  EXPECT_EQ(All(*follower_).back().hash, All(*sequencer_).back().hash);
  absl::StatusOr<AppendResult> refused = follower_->Append(
      {"client-1", ExpectedVersion::Any(), {Noted("{}")}});
  EXPECT_THAT(refused.status().message(),
              HasSubstr(absl::StrCat("erased at global position ",
                                     erased->position)));
}

TEST_F(EncryptedReplicationTest, AFollowerWithAnotherKekRefusesTheGroup) {
  ASSERT_TRUE(sequencer_
                  ->Append({"client-1", ExpectedVersion::Any(),
                            {Noted(R"({"n":"secret"})")}})
                  .ok());
  const ReplicatedGroup group = replicator_.groups()[0];

  // Its own KEK (what a node creating one would have).
  std::unique_ptr<FileKeyEncryptionKey> other = OpenKek("other.kek");
  std::unique_ptr<EventLog> stranger =
      OpenEncrypted("stranger", nullptr, other.get());
  ASSERT_NE(stranger, nullptr);
  absl::Status refused = stranger->ApplyReplicated(group);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr(sequencer_kek_->current_id()));
  EXPECT_THAT(refused.message(), HasSubstr("same --kek_file"));
  EXPECT_EQ(stranger->HeadPosition(), 0u);

  // No KEK at all.
  std::unique_ptr<EventLog> bare = Open("bare", nullptr);
  refused = bare->ApplyReplicated(group);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("no key-encryption key"));
  EXPECT_EQ(bare->HeadPosition(), 0u);

  // A record that belongs to no event of the group: damaged.
  ReplicatedGroup misplaced = group;
  misplaced.data_keys[0].stream_id = "client-2";
  EXPECT_EQ(follower_->ApplyReplicated(misplaced).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(follower_->HeadPosition(), 0u);
  // Nothing was written: the real group still applies.
  ASSERT_TRUE(follower_->ApplyReplicated(group).ok());
  EXPECT_EQ(Stream(*follower_, "client-1")[0].payload, R"({"n":"secret"})");
}

}  // namespace
}  // namespace caseline::eventstore
