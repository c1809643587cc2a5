#include "eventstore/event_log.h"

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "eventstore/key_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"

namespace caseline::eventstore {
namespace {

using ::testing::HasSubstr;

ProposedEvent MakeEvent(std::string type, std::string payload = "{}") {
  ProposedEvent e;
  e.event_type = std::move(type);
  e.content_type = "application/json";
  e.payload = std::move(payload);
  return e;
}

AppendRequest MakeAppend(std::string stream, ExpectedVersion expected,
                         std::vector<ProposedEvent> events) {
  return AppendRequest{std::move(stream), expected, std::move(events)};
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat(
               "eventlog_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name(),
               "_", getpid());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    log_.reset();
    EventLogOptions options;
    options.data_dir = dir_.string();
    options.limits.max_payload_bytes = 1024;
    options.limits.max_events_per_append = 10;
    options.observer = observer_;
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        EventLog::Open(std::move(options));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }
  AppendResult MustAppend(const std::string& stream, size_t n,
                          ExpectedVersion expected = ExpectedVersion::Any()) {
    std::vector<ProposedEvent> events;
    for (size_t i = 0; i < n; ++i)
      events.push_back(MakeEvent("Noted", absl::StrCat(i)));
    absl::StatusOr<AppendResult> r =
        log_->Append(MakeAppend(stream, expected, events));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(AppendResult{});
  }
  absl::StatusCode AppendCode(const std::string& stream,
                              ExpectedVersion expected) {
    return log_->Append(MakeAppend(stream, expected, {MakeEvent("Noted")}))
        .status()
        .code();
  }

  std::filesystem::path dir_;
  std::unique_ptr<EventLog> log_;
  LogObserver* observer_ = nullptr;  // for Reopen
};

TEST_F(EventLogTest, ExpectedVersionOnNewStream) {
  EXPECT_EQ(AppendCode("s-any", ExpectedVersion::Any()), absl::StatusCode::kOk);
  EXPECT_EQ(AppendCode("s-new", ExpectedVersion::NoStream()),
            absl::StatusCode::kOk);
  EXPECT_EQ(AppendCode("s-exists", ExpectedVersion::StreamExists()),
            absl::StatusCode::kAborted);
  EXPECT_EQ(AppendCode("s-exact", ExpectedVersion::Exact(0)),
            absl::StatusCode::kAborted);
  EXPECT_EQ(log_->HeadPosition(), 2u);
}

TEST_F(EventLogTest, ExpectedVersionOnExistingStream) {
  MustAppend("s", 2);  // versions 0 and 1
  EXPECT_EQ(AppendCode("s", ExpectedVersion::NoStream()),
            absl::StatusCode::kAborted);
  EXPECT_EQ(AppendCode("s", ExpectedVersion::Exact(0)),
            absl::StatusCode::kAborted);
  EXPECT_EQ(AppendCode("s", ExpectedVersion::Exact(1)), absl::StatusCode::kOk);
  EXPECT_EQ(AppendCode("s", ExpectedVersion::StreamExists()),
            absl::StatusCode::kOk);
  EXPECT_EQ(AppendCode("s", ExpectedVersion::Any()), absl::StatusCode::kOk);
  absl::StatusOr<AppendResult> stale = log_->Append(
      MakeAppend("s", ExpectedVersion::Exact(1), {MakeEvent("Noted")}));
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(stale.status().message(), HasSubstr("is at version 4"));
  EXPECT_THAT(stale.status().message(), HasSubstr("expected version 1"));
}

TEST_F(EventLogTest, VersionsAndPositionsAreContiguous) {
  AppendResult a = MustAppend("a", 3, ExpectedVersion::NoStream());
  AppendResult b = MustAppend("b", 2, ExpectedVersion::NoStream());
  AppendResult c = MustAppend("a", 1, ExpectedVersion::Exact(2));
  EXPECT_EQ(a.first_position, 1u);
  EXPECT_EQ(a.last_position, 3u);
  EXPECT_EQ(a.first_version, 0u);
  EXPECT_EQ(a.last_version, 2u);
  EXPECT_EQ(b.first_position, 4u);
  EXPECT_EQ(b.first_version, 0u);
  EXPECT_EQ(c.first_position, 6u);
  EXPECT_EQ(c.first_version, 3u);
  EXPECT_FALSE(c.already_written);
}

TEST_F(EventLogTest, IdenticalRetryReturnsOriginalPositions) {
  MustAppend("other", 1);
  ProposedEvent e1 = MakeEvent("ReferralSent", "one");
  ProposedEvent e2 = MakeEvent("ReferralSent", "two");
  e1.event_id = EventId::Generate();
  e2.event_id = EventId::Generate();
  e1.occurred_at = absl::FromUnixSeconds(1000);
  AppendRequest request =
      MakeAppend("s", ExpectedVersion::NoStream(), {e1, e2});
  absl::StatusOr<AppendResult> first = log_->Append(request);
  ASSERT_TRUE(first.ok()) << first.status();
  MustAppend("s",
             1);  // the stream moves on; the retry's expected version is stale
  absl::StatusOr<AppendResult> retry = log_->Append(request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->already_written);
  EXPECT_EQ(retry->first_position, first->first_position);
  EXPECT_EQ(retry->last_position, first->last_position);
  EXPECT_EQ(retry->first_version, 0u);
  EXPECT_EQ(retry->last_version, 1u);
  EXPECT_EQ(log_->HeadPosition(), 4u);  // nothing new written
}

TEST_F(EventLogTest, ReusedIdWithOtherContentOrStreamIsRefused) {
  ProposedEvent e = MakeEvent("ReferralSent", "original");
  e.event_id = EventId::Generate();
  ASSERT_TRUE(log_->Append(MakeAppend("s", ExpectedVersion::Any(), {e})).ok());

  ProposedEvent changed = e;
  changed.payload = "changed";
  absl::Status s =
      log_->Append(MakeAppend("s", ExpectedVersion::Any(), {changed})).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr(e.event_id->ToString()));

  s = log_->Append(MakeAppend("elsewhere", ExpectedVersion::Any(), {e}))
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr(e.event_id->ToString()));

  // Part repeat, part new: not a retry of one append.
  s = log_->Append(
              MakeAppend("s", ExpectedVersion::Any(), {e, MakeEvent("Noted")}))
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(log_->HeadPosition(), 1u);
}

TEST_F(EventLogTest, FindEventById) {
  ProposedEvent e = MakeEvent("Noted", "x");
  e.event_id = EventId::Generate();
  ASSERT_TRUE(log_->Append(MakeAppend("s", ExpectedVersion::Any(), {e})).ok());
  absl::StatusOr<std::optional<RecordedEvent>> found =
      log_->FindEvent(*e.event_id);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->payload, "x");
  EXPECT_EQ((*found)->global_position, 1u);
  found = log_->FindEvent(EventId::Generate());
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(EventLogTest, DuplicateIdInsideOneAppendIsInvalid) {
  ProposedEvent e = MakeEvent("Noted");
  e.event_id = EventId::Generate();
  absl::Status s =
      log_->Append(MakeAppend("s", ExpectedVersion::Any(), {e, e})).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("events[1].event_id"));
}

TEST_F(EventLogTest, MultiEventAppendIsAllOrNothing) {
  // A bad last event rejects the whole append.
  absl::Status s =
      log_->Append(MakeAppend("s", ExpectedVersion::Any(),
                              {MakeEvent("Noted"), MakeEvent("Noted"),
                               MakeEvent("not a type")}))
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("events[2].event_type"));
  EXPECT_EQ(log_->HeadPosition(), 0u);
  EXPECT_EQ(log_->ReadStream("s", {}).status().code(),
            absl::StatusCode::kNotFound);

  // Concurrent multi-event appends never interleave.
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) MustAppend(absl::StrCat("t", t), 5);
    });
  }
  for (auto& t : threads) t.join();
  ReadAllOptions all;
  all.max_count = 1000;
  absl::StatusOr<LogPage> page = log_->ReadAll(all);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 500u);
  for (size_t i = 0; i < 500; i += 5) {
    for (size_t j = 1; j < 5; ++j) {
      EXPECT_EQ(page->events[i + j].stream_id, page->events[i].stream_id);
      EXPECT_EQ(page->events[i + j].stream_version,
                page->events[i].stream_version + j);
    }
  }
}

TEST_F(EventLogTest, ReadStreamPagesBothWays) {
  for (int i = 0; i < 5; ++i) MustAppend("s", 5);
  MustAppend("s-other", 3);
  ReadStreamOptions forward;
  forward.max_count = 10;
  std::vector<uint64_t> seen;
  bool end = false;
  while (!end) {
    absl::StatusOr<StreamPage> page = log_->ReadStream("s", forward);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& e : page->events) seen.push_back(e.stream_version);
    EXPECT_EQ(page->last_stream_version, 24u);
    end = page->end_of_stream;
    forward.from_version = page->next_version;
  }
  ASSERT_EQ(seen.size(), 25u);
  for (uint64_t v = 0; v < 25; ++v) EXPECT_EQ(seen[v], v);

  ReadStreamOptions backward;
  backward.direction = Direction::kBackward;
  backward.max_count = 10;
  seen.clear();
  end = false;
  while (!end) {
    absl::StatusOr<StreamPage> page = log_->ReadStream("s", backward);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& e : page->events) seen.push_back(e.stream_version);
    end = page->end_of_stream;
    backward.from_version = page->next_version;
  }
  ASSERT_EQ(seen.size(), 25u);
  for (uint64_t i = 0; i < 25; ++i) EXPECT_EQ(seen[i], 24 - i);

  ReadStreamOptions past_end;
  past_end.from_version = 100;
  absl::StatusOr<StreamPage> empty = log_->ReadStream("s", past_end);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->events.empty());
  EXPECT_TRUE(empty->end_of_stream);
}

TEST_F(EventLogTest, ReadAllFiltersAndPagesBothWays) {
  MustAppend("client-1", 2);
  ASSERT_TRUE(log_->Append(MakeAppend("client-2", ExpectedVersion::Any(),
                                      {MakeEvent("ReferralSent"),
                                       MakeEvent("ConsentGiven")}))
                  .ok());
  MustAppend("org-1", 2);
  ASSERT_TRUE(log_->Append(MakeAppend("client-1", ExpectedVersion::Any(),
                                      {MakeEvent("ReferralAccepted")}))
                  .ok());

  ReadAllOptions by_type;
  by_type.filter.event_type_prefix = "Referral";
  absl::StatusOr<LogPage> page = log_->ReadAll(by_type);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].global_position, 3u);
  EXPECT_EQ(page->events[1].global_position, 7u);
  EXPECT_TRUE(page->end_of_log);
  EXPECT_EQ(page->head_position, 7u);

  ReadAllOptions by_stream;
  by_stream.filter.stream_id_prefix = "client-";
  by_stream.direction = Direction::kBackward;
  by_stream.max_count = 2;
  std::vector<uint64_t> seen;
  bool end = false;
  while (!end) {
    page = log_->ReadAll(by_stream);
    ASSERT_TRUE(page.ok());
    for (const auto& e : page->events) seen.push_back(e.global_position);
    end = page->end_of_log;
    by_stream.from_position = page->next_position;
  }
  EXPECT_EQ(seen, (std::vector<uint64_t>{7, 4, 3, 2, 1}));
}

TEST_F(EventLogTest, LimitsAreEnforcedWithTheFieldNamed) {
  auto code_and_message = [&](AppendRequest r) {
    return log_->Append(std::move(r)).status();
  };
  absl::Status s = code_and_message(
      MakeAppend("s", ExpectedVersion::Any(),
                 {MakeEvent("Noted", std::string(1025, 'x'))}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("events[0].payload"));
  EXPECT_THAT(s.message(), HasSubstr("1024"));

  s = code_and_message(
      MakeAppend("s", ExpectedVersion::Any(),
                 std::vector<ProposedEvent>(11, MakeEvent("Noted"))));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("1 to 10 events"));

  s = code_and_message(MakeAppend("s", ExpectedVersion::Any(), {}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);

  for (const std::string& bad : std::vector<std::string>{
           "", "has space", "-leading", "slash/no", std::string(201, 'a')}) {
    s = code_and_message(
        MakeAppend(bad, ExpectedVersion::Any(), {MakeEvent("Noted")}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("stream_id"));
  }
  for (const std::string& bad :
       std::vector<std::string>{"", "9Lives", "a..b", "a.", "with-dash"}) {
    s = code_and_message(
        MakeAppend("s", ExpectedVersion::Any(), {MakeEvent(bad)}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("events[0].event_type"));
  }
  ReadStreamOptions too_many;
  too_many.max_count = 1001;
  EXPECT_EQ(log_->ReadStream("s", too_many).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->HeadPosition(), 0u);
}

TEST_F(EventLogTest, RestartRecoversHeadsAndChain) {
  MustAppend("a", 3);
  MustAppend("b", 2);
  const ChainVerification before = *log_->VerifyChain(0, 0);
  Reopen();
  EXPECT_EQ(log_->HeadPosition(), 5u);
  AppendResult next = MustAppend("a", 1, ExpectedVersion::Exact(2));
  EXPECT_EQ(next.first_position, 6u);
  EXPECT_EQ(next.first_version, 3u);
  EXPECT_EQ(AppendCode("b", ExpectedVersion::Exact(1)), absl::StatusCode::kOk);
  absl::StatusOr<ChainVerification> after = log_->VerifyChain(0, 0);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->ok) << after->problem;
  EXPECT_EQ(after->events_checked, 7u);
  EXPECT_EQ(before.head_position, 5u);
  absl::StatusOr<ChainVerification> prefix = log_->VerifyChain(1, 5);
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(prefix->head_hash, before.head_hash);
}

TEST_F(EventLogTest, VerifyFindsAFlippedByte) {
  for (int i = 0; i < 5; ++i) MustAppend("s", 1);
  log_.reset();
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), EventKey(3), &value).ok());
    value[value.size() - 80] ^= 0x20;  // inside the payload area of the body
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(db->Put(sync, EventKey(3), value).ok());
  }
  Reopen();
  absl::StatusOr<ChainVerification> report = log_->VerifyChain(0, 0);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->ok);
  EXPECT_EQ(report->first_bad_position, 3u);
  EXPECT_EQ(report->events_checked, 2u);
  EXPECT_FALSE(report->problem.empty());
  // A range after the damage still verifies on its own anchor.
  report = log_->VerifyChain(4, 5);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST_F(EventLogTest, RefusesNewerFormatAndSecondOpener) {
  EventLogOptions second;
  second.data_dir = dir_.string();
  absl::StatusOr<std::unique_ptr<EventLog>> again =
      EventLog::Open(std::move(second));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(), HasSubstr("in use by another process"));

  log_.reset();
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string v;
    PutFixed32BE(&v, kFormatVersion + 1);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), kFormatVersionKey, v).ok());
  }
  EventLogOptions newer;
  newer.data_dir = dir_.string();
  again = EventLog::Open(std::move(newer));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.status().message(),
              HasSubstr(absl::StrCat("format version ", kFormatVersion + 1)));
}

TEST_F(EventLogTest, RecordedTimeNeverDecreases) {
  log_.reset();
  std::atomic<int64_t> clock_seconds{2000};
  EventLogOptions options;
  options.data_dir = dir_.string();
  options.clock = [&clock_seconds] {
    return absl::FromUnixSeconds(clock_seconds--);
  };
  log_ = *EventLog::Open(std::move(options));
  MustAppend("s", 1);
  MustAppend("s", 1);
  absl::StatusOr<StreamPage> page = log_->ReadStream("s", {});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->events[0].recorded_at, absl::FromUnixSeconds(2000));
  EXPECT_EQ(page->events[1].recorded_at, absl::FromUnixSeconds(2000));
  EXPECT_EQ(page->events[1].occurred_at, page->events[1].recorded_at);
}

TEST_F(EventLogTest, ConcurrentAppendsAreGaplessAndChained) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i)
        MustAppend(absl::StrCat("c", t % 3), 1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(log_->HeadPosition(), uint64_t{kThreads} * kPerThread);
  absl::StatusOr<ChainVerification> report = log_->VerifyChain(0, 0);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->events_checked, uint64_t{kThreads} * kPerThread);
}

TEST_F(EventLogTest, WaitForHeadAboveWakesOnCommit) {
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(50));
    MustAppend("s", 1);
  });
  EXPECT_EQ(log_->WaitForHeadAbove(0, absl::Seconds(30)), 1u);
  writer.join();
  EXPECT_EQ(log_->WaitForHeadAbove(1, absl::Milliseconds(10)), 1u);
}

TEST_F(EventLogTest, AppendEachAsyncDecidesEachAndSharesOneGroup) {
  MustAppend("taken", 1);
  std::vector<AppendRequest> requests;
  requests.push_back(MakeAppend("a", ExpectedVersion::NoStream(),
                                {MakeEvent("Noted")}));
  // Refused on its own: the others are still written.
  requests.push_back(MakeAppend("taken", ExpectedVersion::NoStream(),
                                {MakeEvent("Noted")}));
  requests.push_back(MakeAppend("b", ExpectedVersion::Any(),
                                {MakeEvent("Noted"), MakeEvent("Noted")}));
  // Invalid: answered at once, without reaching the log.
  requests.push_back(MakeAppend("c", ExpectedVersion::Any(), {}));
  std::vector<absl::StatusOr<AppendResult>> results(requests.size());
  std::vector<std::promise<void>> answered(requests.size());
  std::vector<EventLog::AppendCallback> done;
  for (size_t i = 0; i < requests.size(); ++i) {
    done.push_back([&, i](absl::StatusOr<AppendResult> r) {
      results[i] = std::move(r);
      answered[i].set_value();
    });
  }
  log_->AppendEachAsync(std::move(requests), std::move(done));
  for (std::promise<void>& a : answered) a.get_future().wait();
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_EQ(results[0]->first_position, 2u);
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(results[2].ok()) << results[2].status();
  EXPECT_EQ(results[2]->first_position, 3u);
  EXPECT_EQ(results[2]->last_position, 4u);
  EXPECT_EQ(results[3].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->HeadPosition(), 4u);
}

TEST_F(EventLogTest, ClosingAnswersEveryQueuedAppendExactlyOnce) {
  // Many threads append without waiting; closing the log right after
  // answers every queued append once, and each one answered as written is
  // there after a reopen.
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::atomic<int> answers{0};
  std::atomic<int> written{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        log_->AppendAsync(
            MakeAppend(absl::StrCat("s", t), ExpectedVersion::Any(),
                       {MakeEvent("Noted")}),
            [&](absl::StatusOr<AppendResult> r) {
              ++answers;
              if (r.ok()) {
                ++written;
              } else {
                EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable)
                    << r.status();
                ++refused;
              }
            });
      }
    });
  }
  for (auto& t : threads) t.join();
  log_.reset();
  EXPECT_EQ(answers.load(), kThreads * kPerThread);
  Reopen();
  EXPECT_EQ(log_->HeadPosition(), static_cast<uint64_t>(written.load()));
  EXPECT_EQ(written.load() + refused.load(), kThreads * kPerThread);
}

}  // namespace
}  // namespace caseline::eventstore

namespace caseline::eventstore {
namespace {

// What the writer reported of each group.
class RecordingObserver : public LogObserver {
 public:
  struct Group {
    size_t requests;
    size_t events;
    std::vector<absl::Duration> latencies;
    absl::Duration sync;
    uint64_t head;
  };
  void OnGroupCommitted(const GroupCommit& group) override {
    MutexLock lock(&mu_);
    groups_.push_back(Group{group.requests, group.events,
                            {group.append_latencies.begin(),
                             group.append_latencies.end()},
                            group.sync_duration, group.head_position});
  }
  std::vector<Group> groups() const {
    MutexLock lock(&mu_);
    return groups_;
  }

 private:
  mutable Mutex mu_;
  std::vector<Group> groups_ ABSL_GUARDED_BY(mu_);
};

TEST_F(EventLogTest, TheObserverHearsOfEachWrittenGroupAndNothingElse) {
  RecordingObserver observer;
  observer_ = &observer;
  Reopen();
  MustAppend("s", 2);
  // One group of two written requests (3 events); the refused one is not in
  // it.
  std::vector<AppendRequest> requests;
  requests.push_back(
      MakeAppend("a", ExpectedVersion::NoStream(), {MakeEvent("Noted")}));
  requests.push_back(
      MakeAppend("s", ExpectedVersion::NoStream(), {MakeEvent("Noted")}));
  requests.push_back(MakeAppend("b", ExpectedVersion::Any(),
                                {MakeEvent("Noted"), MakeEvent("Noted")}));
  std::vector<std::promise<absl::StatusOr<AppendResult>>> answered(3);
  std::vector<EventLog::AppendCallback> done;
  for (size_t i = 0; i < requests.size(); ++i) {
    done.push_back([&answered, i](absl::StatusOr<AppendResult> r) {
      answered[i].set_value(std::move(r));
    });
  }
  log_->AppendEachAsync(std::move(requests), std::move(done));
  EXPECT_TRUE(answered[0].get_future().get().ok());
  EXPECT_EQ(answered[1].get_future().get().status().code(),
            absl::StatusCode::kAborted);
  EXPECT_TRUE(answered[2].get_future().get().ok());
  // Answered without writing: a refusal and an identical retry.
  EXPECT_EQ(AppendCode("a", ExpectedVersion::NoStream()),
            absl::StatusCode::kAborted);
  ProposedEvent e = MakeEvent("Noted");
  e.event_id = EventId::Generate();
  ASSERT_TRUE(log_->Append(MakeAppend("c", ExpectedVersion::Any(), {e})).ok());
  absl::StatusOr<AppendResult> retry =
      log_->Append(MakeAppend("c", ExpectedVersion::Any(), {e}));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->already_written);

  const std::vector<RecordingObserver::Group> groups = observer.groups();
  ASSERT_EQ(groups.size(), 3u);
  const struct {
    size_t requests;
    size_t events;
    uint64_t head;
  } kExpected[] = {{1, 2, 2}, {2, 3, 5}, {1, 1, 6}};
  for (size_t i = 0; i < groups.size(); ++i) {
    EXPECT_EQ(groups[i].requests, kExpected[i].requests) << i;
    EXPECT_EQ(groups[i].events, kExpected[i].events) << i;
    EXPECT_EQ(groups[i].head, kExpected[i].head) << i;
    ASSERT_EQ(groups[i].latencies.size(), groups[i].requests) << i;
    for (absl::Duration latency : groups[i].latencies) {
      // Each append waited for the synced write, at least.
      EXPECT_GE(latency, groups[i].sync) << i;
    }
    EXPECT_GT(groups[i].sync, absl::ZeroDuration()) << i;
  }
  log_.reset();  // before the observer
}

}  // namespace
}  // namespace caseline::eventstore
