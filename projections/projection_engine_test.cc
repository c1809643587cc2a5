#include "projections/projection_engine.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "eventstore/event_log.h"
#include "eventstore/view_store.h"
#include "gtest/gtest.h"

namespace caseline::projections {
namespace {

using eventstore::EventLog;
using eventstore::ViewStore;

// Counts events per stream ("n/<stream>") and in total ("total"), and keeps
// "seen/<position>" for every event, so a double apply or a skip shows.
class CountingProjection : public Projection {
 public:
  // `instances` counts constructions; runners construct on their own
  // threads, some at once.
  explicit CountingProjection(std::atomic<int>* instances) { ++*instances; }
  absl::Status Apply(const eventstore::RecordedEvent& event,
                     ProjectionState& state) override {
    auto bump = [&](const std::string& key) -> absl::Status {
      absl::StatusOr<std::optional<std::string>> value = state.Get(key);
      if (!value.ok()) return value.status();
      int64_t n = 0;
      if (value->has_value()) (void)absl::SimpleAtoi(**value, &n);
      state.Put(key, absl::StrCat(n + 1));
      return absl::OkStatus();
    };
    if (absl::Status s = bump("total"); !s.ok()) return s;
    if (absl::Status s = bump("n/" + event.stream_id); !s.ok()) return s;
    const std::string seen = absl::StrCat("seen/", event.global_position);
    absl::StatusOr<std::optional<std::string>> before = state.Get(seen);
    if (!before.ok()) return before.status();
    if (before->has_value()) {
      return absl::InternalError(
          absl::StrCat("position ", event.global_position, " applied twice"));
    }
    state.Put(seen, "1");
    return absl::OkStatus();
  }
};

class ProjectionEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat(
               "engine_test_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    OpenAll();
  }
  void TearDown() override {
    CloseAll();
    std::filesystem::remove_all(dir_);
  }

  void OpenAll() {
    std::filesystem::create_directories(dir_);
    eventstore::EventLogOptions options;
    options.data_dir = (dir_ / "log").string();
    auto log = EventLog::Open(std::move(options));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    eventstore::ViewStoreOptions store_options;
    store_options.dir = (dir_ / "views").string();
    auto store = ViewStore::Open(store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    StartEngine();
  }
  void StartEngine() {
    std::vector<ProjectionDef> defs;
    defs.push_back({"counting", [this](const ProjectionInit&) {
                      return std::make_unique<CountingProjection>(&instances_);
                    }});
    ProjectionEngineOptions options;
    options.batch_events = 7;  // many batches
    auto engine = ProjectionEngine::Start(log_.get(), store_.get(),
                                          std::move(defs), options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  // Restarts the engine with `defs` instead of the one counting projection.
  void RestartEngineWith(std::vector<ProjectionDef> defs) {
    engine_.reset();
    ProjectionEngineOptions options;
    options.batch_events = 7;  // many batches, so runners share pages
    auto engine = ProjectionEngine::Start(log_.get(), store_.get(),
                                          std::move(defs), options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }
  // Every key and value of `name`'s serving state.
  std::map<std::string, std::string> Dump(const std::string& name) {
    std::map<std::string, std::string> out;
    auto reader = engine_->Reader(name);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return out;
    EXPECT_TRUE((*reader)
                    ->Scan("", "",
                           [&](absl::string_view key, absl::string_view value) {
                             out.emplace(key, value);
                             return true;
                           })
                    .ok());
    return out;
  }
  void CloseAll() {
    engine_.reset();
    store_.reset();
    log_.reset();
  }

  uint64_t AppendEvents(int n, const std::string& stream = "s") {
    uint64_t last = 0;
    for (int i = 0; i < n; ++i) {
      eventstore::AppendRequest request;
      request.stream_id = stream;
      eventstore::ProposedEvent& event = request.events.emplace_back();
      event.event_type = "Tick";
      event.payload = absl::StrCat(i);
      auto result = log_->Append(std::move(request));
      EXPECT_TRUE(result.ok()) << result.status();
      last = result->last_position;
    }
    return last;
  }

  int64_t Count(const std::string& key) { return Count("counting", key); }
  int64_t Count(const std::string& name, const std::string& key) {
    auto reader = engine_->Reader(name);
    EXPECT_TRUE(reader.ok()) << reader.status();
    auto value = (*reader)->Get(key);
    EXPECT_TRUE(value.ok());
    int64_t n = 0;
    if (value->has_value()) {
      EXPECT_TRUE(absl::SimpleAtoi(**value, &n));
    }
    return n;
  }

  std::filesystem::path dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<ViewStore> store_;
  std::unique_ptr<ProjectionEngine> engine_;
  std::atomic<int> instances_{0};
};

TEST_F(ProjectionEngineTest, CatchesUpAndFollowsLiveCommits) {
  const uint64_t first = AppendEvents(20, "a");
  ASSERT_TRUE(
      engine_
          ->WaitForPosition("counting", first, absl::Now() + absl::Seconds(10))
          .ok());
  EXPECT_EQ(Count("total"), 20);
  const uint64_t second = AppendEvents(15, "b");
  ASSERT_TRUE(
      engine_
          ->WaitForPosition("counting", second, absl::Now() + absl::Seconds(10))
          .ok());
  auto reader = engine_->Reader("counting");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->position(), 35u);
  EXPECT_EQ(Count("n/a"), 20);
  EXPECT_EQ(Count("n/b"), 15);
}

TEST_F(ProjectionEngineTest, RestartResumesFromCheckpointWithoutReapplying) {
  const uint64_t head = AppendEvents(30);
  ASSERT_TRUE(
      engine_
          ->WaitForPosition("counting", head, absl::Now() + absl::Seconds(10))
          .ok());
  engine_.reset();
  AppendEvents(12);  // while the engine is down
  StartEngine();
  ASSERT_TRUE(
      engine_->WaitForPosition("counting", 42, absl::Now() + absl::Seconds(10))
          .ok());
  EXPECT_EQ(Count("total"), 42);
  for (const auto& status : engine_->Status()) {
    EXPECT_EQ(status.last_error(), "");
    EXPECT_EQ(status.state(), "running");
  }
}

TEST_F(ProjectionEngineTest, WaitForPositionTimesOutWithTheProjectionNamed) {
  absl::Status status = engine_->WaitForPosition(
      "counting", 5, absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(status.message().find("counting"), std::string::npos);
  EXPECT_EQ(engine_->WaitForPosition("nope", 1, absl::Now()).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ProjectionEngineTest, RebuildReplaysIntoANewGenerationAndSwitches) {
  const uint64_t head = AppendEvents(200);
  ASSERT_TRUE(
      engine_
          ->WaitForPosition("counting", head, absl::Now() + absl::Seconds(10))
          .ok());
  auto old_reader = engine_->Reader("counting");
  ASSERT_TRUE(old_reader.ok());
  int updates = 0;
  bool done = false;
  absl::Status status = engine_->Rebuild(
      "counting",
      [&](const v1::RebuildProjectionResponse& update) {
        ++updates;
        done = update.done();
        EXPECT_EQ(update.generation(), 2u);
        return true;
      },
      absl::Milliseconds(10));
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(done);
  EXPECT_GE(updates, 1);
  EXPECT_EQ(Count("total"), 200);
  // A snapshot taken before the switch still reads the old generation.
  auto old_total = (*old_reader)->Get("total");
  ASSERT_TRUE(old_total.ok());
  EXPECT_EQ(old_total->value_or(""), "200");
  auto statuses = engine_->Status();
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].generation(), 2u);
  EXPECT_EQ(statuses[0].state(), "running");

  // Live commits keep flowing into the new generation, and it survives a
  // restart.
  AppendEvents(5);
  engine_.reset();
  StartEngine();
  ASSERT_TRUE(
      engine_->WaitForPosition("counting", 205, absl::Now() + absl::Seconds(10))
          .ok());
  EXPECT_EQ(Count("total"), 205);
  EXPECT_EQ(engine_->Status()[0].generation(), 2u);
}

TEST_F(ProjectionEngineTest, RebuildOfAnUnknownProjectionIsNotFound) {
  absl::Status status = engine_->Rebuild(
      "nope", [](const v1::RebuildProjectionResponse&) { return true; });
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
}

TEST_F(ProjectionEngineTest, StateFromAnotherLogIsRebuilt) {
  const uint64_t head = AppendEvents(10);
  ASSERT_TRUE(
      engine_
          ->WaitForPosition("counting", head, absl::Now() + absl::Seconds(10))
          .ok());
  CloseAll();
  // A new, different log beside the old view store.
  std::filesystem::remove_all(dir_ / "log");
  OpenAll();
  const uint64_t new_head = AppendEvents(12);
  ASSERT_TRUE(engine_
                  ->WaitForPosition("counting", new_head,
                                    absl::Now() + absl::Seconds(10))
                  .ok());
  EXPECT_EQ(Count("total"), 12);
}

// Reads within a batch see the batch's own writes, merged in key order.
class ScanningProjection : public Projection {
 public:
  absl::Status Apply(const eventstore::RecordedEvent& event,
                     ProjectionState& state) override {
    state.Put(absl::StrCat("k/", event.payload), "x");
    if (event.payload == "3") state.Delete("k/1");
    std::string keys;
    absl::Status s =
        state.Scan("k/", "", [&](absl::string_view key, absl::string_view) {
          absl::StrAppend(&keys, key, ",");
          return true;
        });
    if (!s.ok()) return s;
    state.Put(absl::StrCat("after/", event.global_position), keys);
    return absl::OkStatus();
  }
};

TEST_F(ProjectionEngineTest, BatchReadsSeeEarlierWritesOfTheBatch) {
  engine_.reset();
  std::vector<ProjectionDef> defs;
  defs.push_back({"scanning", [](const ProjectionInit&) {
                    return std::make_unique<ScanningProjection>();
                  }});
  ProjectionEngineOptions options;
  options.batch_events = 2;  // batches straddle stored and pending keys
  auto engine = ProjectionEngine::Start(log_.get(), store_.get(),
                                        std::move(defs), options);
  ASSERT_TRUE(engine.ok());
  engine_ = std::move(*engine);
  for (int i = 0; i < 5; ++i) {
    eventstore::AppendRequest request;
    request.stream_id = "s";
    request.events.emplace_back().event_type = "T";
    request.events.back().payload = absl::StrCat(i);
    ASSERT_TRUE(log_->Append(std::move(request)).ok());
  }
  ASSERT_TRUE(
      engine_->WaitForPosition("scanning", 5, absl::Now() + absl::Seconds(10))
          .ok());
  auto reader = engine_->Reader("scanning");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->Get("after/4")->value_or(""), "k/0,k/2,k/3,");
  EXPECT_EQ((*reader)->Get("after/5")->value_or(""), "k/0,k/2,k/3,k/4,");
  std::string after_k2;
  ASSERT_TRUE((*reader)
                  ->Scan("k/", "k/2",
                         [&](absl::string_view key, absl::string_view) {
                           absl::StrAppend(&after_k2, key, ",");
                           return true;
                         })
                  .ok());
  EXPECT_EQ(after_k2, "k/3,k/4,");
}

// Fails on every event at or after position 3 while `failing` is set.
class FlakyProjection : public CountingProjection {
 public:
  FlakyProjection(std::atomic<int>* instances,
                  const std::atomic<bool>* failing)
      : CountingProjection(instances), failing_(failing) {}
  absl::Status Apply(const eventstore::RecordedEvent& event,
                     ProjectionState& state) override {
    if (event.global_position >= 3 && failing_->load()) {
      return absl::InternalError("cannot apply this one yet");
    }
    return CountingProjection::Apply(event, state);
  }

 private:
  const std::atomic<bool>* failing_;
};

TEST_F(ProjectionEngineTest, AFailingProjectionReportsItAndRecovers) {
  engine_.reset();
  std::atomic<bool> failing{true};
  std::vector<ProjectionDef> defs;
  defs.push_back({"flaky", [this, &failing](const ProjectionInit&) {
                    return std::make_unique<FlakyProjection>(&instances_,
                                                             &failing);
                  }});
  ProjectionEngineOptions options;
  options.batch_events = 1;
  options.retry_delay = absl::Milliseconds(10);
  auto engine = ProjectionEngine::Start(log_.get(), store_.get(),
                                        std::move(defs), options);
  ASSERT_TRUE(engine.ok());
  engine_ = std::move(*engine);
  const uint64_t head = AppendEvents(5);
  // It applies 1 and 2, then stops at 3 and says why.
  ASSERT_TRUE(
      engine_->WaitForPosition("flaky", 2, absl::Now() + absl::Seconds(10))
          .ok());
  absl::Status waited = engine_->WaitForPosition(
      "flaky", head, absl::Now() + absl::Milliseconds(300));
  EXPECT_EQ(waited.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(waited.message().find("cannot apply this one yet"),
            std::string::npos)
      << waited;
  auto status = engine_->Status();
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].state(), "failed");
  EXPECT_EQ(status[0].position(), 2u);
  EXPECT_NE(status[0].last_error().find("position 3"), std::string::npos)
      << status[0].last_error();

  failing = false;
  ASSERT_TRUE(
      engine_->WaitForPosition("flaky", head, absl::Now() + absl::Seconds(10))
          .ok());
  auto reader = engine_->Reader("flaky");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->Get("total")->value_or(""), "5");
  EXPECT_EQ(engine_->Status()[0].state(), "running");
}

}  // namespace
}  // namespace caseline::projections

namespace caseline::projections {
namespace {

// Keeps, per event, what it saw: its stream, version and the running count
// of its stream, so that any event applied out of order, twice or not at all
// changes the state.
class OrderProjection : public Projection {
 public:
  absl::Status Apply(const eventstore::RecordedEvent& event,
                     ProjectionState& state) override {
    absl::StatusOr<std::optional<std::string>> last =
        state.Get("last/" + event.stream_id);
    if (!last.ok()) return last.status();
    state.Put(absl::StrCat("e/", absl::Dec(event.global_position, absl::kZeroPad8)),
              absl::StrCat(event.stream_id, "@", event.stream_version, " after ",
                           last->value_or("-"), " ",
                           eventstore::HashToHex(event.hash)));
    state.Put("last/" + event.stream_id, absl::StrCat(event.global_position));
    return absl::OkStatus();
  }
};

TEST_F(ProjectionEngineTest,
       RebuildingAllAtOnceGivesTheStateOfSeparateRebuildsAndOfLiveCatchUp) {
  std::vector<ProjectionDef> defs;
  for (const char* name : {"one", "two"}) {
    defs.push_back({name, [this](const ProjectionInit&) {
                      return std::make_unique<CountingProjection>(&instances_);
                    }});
  }
  defs.push_back({"order", [](const ProjectionInit&) {
                    return std::make_unique<OrderProjection>();
                  }});
  const std::vector<std::string> names = {"one", "two", "order"};
  RestartEngineWith(std::move(defs));
  uint64_t head = 0;
  for (int i = 0; i < 6; ++i) head = AppendEvents(40, absl::StrCat("s", i % 4));
  for (const std::string& name : names) {
    ASSERT_TRUE(
        engine_->WaitForPosition(name, head, absl::Now() + absl::Seconds(10))
            .ok());
  }
  std::map<std::string, std::map<std::string, std::string>> live;
  for (const std::string& name : names) live[name] = Dump(name);
  EXPECT_EQ(live["one"].at("total"), "240");
  EXPECT_EQ(live["order"].size(), 240u + 4u);

  for (const std::string& name : names) {
    ASSERT_TRUE(engine_
                    ->Rebuild(name, [](const v1::RebuildProjectionResponse&) {
                      return true;
                    })
                    .ok());
    EXPECT_EQ(Dump(name), live[name]) << name << ", rebuilt alone";
  }

  // All at once, as `caseline projections rebuild` of each in parallel does:
  // the runners share the feed's pages and keep in step.
  std::vector<std::thread> threads;
  std::vector<absl::Status> statuses(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = engine_->Rebuild(
          names[i], [](const v1::RebuildProjectionResponse&) { return true; });
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << names[i] << ": " << statuses[i];
    EXPECT_EQ(Dump(names[i]), live[names[i]]) << names[i] << ", rebuilt at once";
  }
  for (const auto& status : engine_->Status()) {
    EXPECT_EQ(status.generation(), 3u) << status.name();
  }

  // And live commits still reach every projection after the rebuilds.
  head = AppendEvents(3, "s9");
  for (const std::string& name : names) {
    ASSERT_TRUE(
        engine_->WaitForPosition(name, head, absl::Now() + absl::Seconds(10))
            .ok());
  }
  EXPECT_EQ(Dump("two").at("total"), "243");
}

// The log, counting the ReadAll pages asked for from each position.
class CountingLog : public eventstore::EventLog {
 public:
  explicit CountingLog(EventLog* log) : log_(log) {}
  void AppendAsync(eventstore::AppendRequest request,
                   AppendCallback done) override {
    log_->AppendAsync(std::move(request), std::move(done));
  }
  absl::Status WriteFailure() const override { return log_->WriteFailure(); }
  absl::StatusOr<eventstore::StreamPage> ReadStream(
      absl::string_view stream_id,
      const eventstore::ReadStreamOptions& options) override {
    return log_->ReadStream(stream_id, options);
  }
  absl::StatusOr<eventstore::LogPage> ReadAll(
      const eventstore::ReadAllOptions& options) override {
    {
      MutexLock lock(&mu_);
      ++reads_[options.from_position.value_or(0)];
    }
    return log_->ReadAll(options);
  }
  absl::StatusOr<std::optional<eventstore::RecordedEvent>> FindEvent(
      const eventstore::EventId& event_id) override {
    return log_->FindEvent(event_id);
  }
  uint64_t HeadPosition() const override { return log_->HeadPosition(); }
  uint64_t WaitForHeadAbove(uint64_t position,
                            absl::Duration timeout) const override {
    return log_->WaitForHeadAbove(position, timeout);
  }
  absl::StatusOr<eventstore::ChainVerification> VerifyChain(
      uint64_t from_position, uint64_t to_position) override {
    return log_->VerifyChain(from_position, to_position);
  }
  absl::StatusOr<eventstore::BackupInfo> Backup(
      const std::string& dir) override {
    return log_->Backup(dir);
  }

  std::map<uint64_t, int> reads() const {
    MutexLock lock(&mu_);
    return reads_;
  }
  void Reset() {
    MutexLock lock(&mu_);
    reads_.clear();
  }

 private:
  EventLog* const log_;
  mutable Mutex mu_;
  std::map<uint64_t, int> reads_ ABSL_GUARDED_BY(mu_);
};

TEST_F(ProjectionEngineTest, RebuildingAllAtOnceReadsTheLogOnce) {
  CountingLog counting(log_.get());
  engine_.reset();
  std::vector<ProjectionDef> defs;
  const std::vector<std::string> names = {"one", "two", "three"};
  for (const std::string& name : names) {
    defs.push_back({name, [this](const ProjectionInit&) {
                      return std::make_unique<CountingProjection>(&instances_);
                    }});
  }
  ProjectionEngineOptions options;
  options.batch_events = 7;
  auto engine = ProjectionEngine::Start(&counting, store_.get(),
                                        std::move(defs), options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  engine_ = std::move(*engine);
  const uint64_t head = AppendEvents(490);  // 70 pages
  for (const std::string& name : names) {
    ASSERT_TRUE(
        engine_->WaitForPosition(name, head, absl::Now() + absl::Seconds(10))
            .ok());
  }
  counting.Reset();
  std::vector<std::thread> threads;
  for (const std::string& name : names) {
    threads.emplace_back([&, name] {
      EXPECT_TRUE(engine_
                      ->Rebuild(name, [](const v1::RebuildProjectionResponse&) {
                        return true;
                      })
                      .ok());
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& name : names) EXPECT_EQ(Count(name, "total"), 490);
  // The 69 pages short of the head (of 70) are read once and shared (a
  // runner that stalls may read a few again; a few may still be cached from
  // the live catch-up); each runner reads the page at the head itself.
  const int pages = 69;
  int read_pages = 0;
  int reads = 0;
  for (const auto& [from, n] : counting.reads()) {
    if (from == 0 || from + options.batch_events > head) continue;
    ++read_pages;
    reads += n;
  }
  EXPECT_GE(read_pages, pages - 8);  // the feed caches 8 pages
  EXPECT_LE(read_pages, pages);
  EXPECT_LT(reads, 2 * pages)  // three runners each reading: 3 * pages
      << "pages short of the head were read " << reads << " times";
  engine_.reset();  // before `counting` goes
}

TEST_F(ProjectionEngineTest, ACleanCloseLeavesTheViewStoreNoLogToReplay) {
  const uint64_t head = AppendEvents(50);
  ASSERT_TRUE(
      engine_
          ->WaitForPosition("counting", head, absl::Now() + absl::Seconds(10))
          .ok());
  CloseAll();
  // Every write is in a table file: the write-ahead logs left are empty, so
  // the next open replays nothing.
  int logs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "views")) {
    if (entry.path().extension() != ".log") continue;
    ++logs;
    EXPECT_EQ(entry.file_size(), 0u) << entry.path();
  }
  EXPECT_GE(logs, 1);
  OpenAll();
  EXPECT_EQ(Count("total"), 50);
}

}  // namespace
}  // namespace caseline::projections
