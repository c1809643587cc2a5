// Storage faults and damaged files, at the EventLog API, and the ViewStore
// on a full disk.
//
// Faults come from FaultInjectionEnv (a failed WAL fsync, a full disk). A
// "crash image" is a copy of the data directory taken while the log is open
// and idle: every acknowledged append is synced, nothing is flushed at close,
// so opening the copy is what a restart after a power cut at that moment
// would find.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eventstore/event_log.h"
#include "eventstore/fault_injection_env.h"
#include "base/mutex.h"
#include "eventstore/test_files.h"
#include "eventstore/view_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::eventstore {
namespace {

using ::caseline::testing::FlipByte;

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

ProposedEvent Event(std::string payload, size_t padding = 0) {
  ProposedEvent e;
  e.event_id = EventId::Generate();
  e.event_type = "Noted";
  e.content_type = "application/octet-stream";
  e.payload = std::move(payload);
  e.payload.append(padding, 'x');
  return e;
}

AppendRequest Append(std::string stream, std::vector<ProposedEvent> events,
                     ExpectedVersion expected = ExpectedVersion::Any()) {
  return AppendRequest{std::move(stream), expected, std::move(events)};
}

// Where each acknowledged event was put.
struct Acked {
  std::string stream_id;
  uint64_t position;
  uint64_t version;
};

// Reads the whole log and checks what must hold after any fault: positions
// 1..head without gaps, each event id once, each stream's versions 0, 1, ...
// in log order, the hash chain verifies, and every acknowledged event is
// where its append said. Returns the events by id.
std::map<std::string, RecordedEvent> CheckLog(
    EventLog& log, const std::map<std::string, Acked>& acked) {
  std::map<std::string, RecordedEvent> by_id;
  std::map<std::string, uint64_t> next_version;
  ReadAllOptions options;
  options.max_count = kMaxReadCount;
  uint64_t expected_position = 1;
  while (true) {
    absl::StatusOr<LogPage> page = log.ReadAll(options);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return by_id;
    for (RecordedEvent& e : page->events) {
      EXPECT_EQ(e.global_position, expected_position++) << "gap";
      EXPECT_EQ(e.stream_version, next_version[e.stream_id]++)
          << "stream " << e.stream_id;
      const std::string id = e.event_id.ToString();
      EXPECT_TRUE(by_id.emplace(id, std::move(e)).second)
          << "event " << id << " stored twice";
    }
    if (page->end_of_log) break;
    options.from_position = page->next_position;
  }
  EXPECT_EQ(log.HeadPosition(), expected_position - 1)
      << "the in-memory head disagrees with the disk";
  absl::StatusOr<ChainVerification> chain = log.VerifyChain(0, 0);
  EXPECT_TRUE(chain.ok()) << chain.status();
  if (chain.ok()) {
    EXPECT_TRUE(chain->ok) << chain->problem;
    EXPECT_EQ(chain->events_checked, by_id.size());
  }
  for (const auto& [id, where] : acked) {
    auto it = by_id.find(id);
    EXPECT_NE(it, by_id.end()) << "acknowledged event " << id << " was lost";
    if (it == by_id.end()) continue;
    EXPECT_EQ(it->second.stream_id, where.stream_id) << id;
    EXPECT_EQ(it->second.global_position, where.position) << id;
    EXPECT_EQ(it->second.stream_version, where.version) << id;
  }
  return by_id;
}

std::vector<fs::path> FilesWithExtension(const fs::path& dir,
                                         const std::string& extension) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == extension && entry.file_size() > 0) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            absl::StrCat(
                "eventlog_fault_",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                "_", getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
    dir_ = root_ / "data";
    Reopen();
  }
  void TearDown() override {
    log_.reset();
    fs::remove_all(root_);
  }

  // Closes the log if open and opens it again on a fresh environment (a
  // restart after the disk was fixed).
  void Reopen() {
    log_.reset();
    env_ = std::make_unique<FaultInjectionEnv>();
    absl::StatusOr<std::unique_ptr<EventLog>> log = Open(dir_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }
  absl::StatusOr<std::unique_ptr<EventLog>> Open(const fs::path& dir) {
    EventLogOptions options;
    options.data_dir = dir.string();
    options.env = env_->env();
    return EventLog::Open(std::move(options));
  }

  // A copy of the data directory as it is now, as a crash would leave it.
  // RocksDB may still delete obsolete files in the background (after a
  // flush), so the copy is retried until no file came or went while it ran.
  fs::path CrashImage(const std::string& name) {
    fs::path image = root_ / name;
    auto list = [this] {
      std::vector<std::string> names;
      for (const auto& entry : fs::directory_iterator(dir_)) {
        names.push_back(entry.path().filename().string());
      }
      std::sort(names.begin(), names.end());
      return names;
    };
    for (int attempt = 0; attempt < 100; ++attempt) {
      const std::vector<std::string> before = list();
      fs::remove_all(image);
      fs::create_directories(image);
      bool copied = true;
      for (const std::string& file : before) {
        std::error_code error;
        fs::copy_file(dir_ / file, image / file, error);
        copied = copied && !error;
      }
      if (copied && list() == before) return image;
      absl::SleepFor(absl::Milliseconds(10));
    }
    ADD_FAILURE() << "the data directory kept changing while copied";
    return image;
  }

  // Appends and records where the events went.
  absl::Status MustAppend(AppendRequest request) {
    const AppendRequest copy = request;
    absl::StatusOr<AppendResult> r = log_->Append(std::move(request));
    if (!r.ok()) return r.status();
    Record(copy, *r);
    return absl::OkStatus();
  }
  void Record(const AppendRequest& request, const AppendResult& result) {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < request.events.size(); ++i) {
      acked_[request.events[i].event_id->ToString()] = Acked{
          request.stream_id, result.first_position + i,
          result.first_version + i};
    }
  }
  std::map<std::string, Acked> acked() {
    MutexLock lock(&mu_);
    return acked_;
  }

  fs::path root_;
  fs::path dir_;
  std::unique_ptr<FaultInjectionEnv> env_;
  std::unique_ptr<EventLog> log_;
  Mutex mu_;
  std::map<std::string, Acked> acked_ ABSL_GUARDED_BY(mu_);
};

TEST_F(FaultInjectionTest, FailedWalSyncStopsAppendsButNotReads) {
  ASSERT_TRUE(MustAppend(Append("client-1", {Event("a"), Event("b")})).ok());
  ASSERT_TRUE(MustAppend(Append("client-2", {Event("c")})).ok());
  // Someone follows the log, as a subscription does.
  std::atomic<uint64_t> followed{0};
  std::thread follower([&] {
    uint64_t seen = 0;
    while (seen < 3) seen = log_->WaitForHeadAbove(seen, absl::Seconds(30));
    followed = seen;
  });

  EXPECT_TRUE(log_->WriteFailure().ok());
  env_->SetWalSyncFails(true);
  const AppendRequest failed =
      Append("client-1", {Event("lost?")}, ExpectedVersion::Exact(1));
  absl::StatusOr<AppendResult> r = log_->Append(failed);
  ASSERT_FALSE(r.ok()) << "an append whose WAL sync failed was acknowledged";
  // WriteFailure() says so from then on, with what later appends are told.
  EXPECT_EQ(log_->WriteFailure().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(log_->WriteFailure().message(),
              HasSubstr("restarted after the disk is fixed"));
  EXPECT_GT(env_->failed_wal_syncs(), 0u);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(),
              AllOf(HasSubstr("cannot write durably"),
                    HasSubstr("WAL fsync failed"),
                    HasSubstr("may or may not have been stored")));

  // The disk recovers, but the log cannot know what the failed sync kept:
  // appends stay refused until a restart.
  env_->SetWalSyncFails(false);
  for (int i = 0; i < 2; ++i) {
    r = log_->Append(Append("client-3", {Event("later")}));
    ASSERT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(r.status().message(),
                AllOf(HasSubstr("cannot write durably"),
                      HasSubstr("Reads still work"),
                      HasSubstr("restarted after the disk is fixed")));
  }
  EXPECT_EQ(log_->HeadPosition(), 3u);

  // Reads keep working: what was committed, and nothing else.
  follower.join();
  EXPECT_EQ(followed, 3u);
  absl::StatusOr<StreamPage> stream = log_->ReadStream("client-1", {});
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ(stream->events.size(), 2u);
  EXPECT_EQ(stream->last_stream_version, 1u);
  absl::StatusOr<std::optional<RecordedEvent>> found =
      log_->FindEvent(*failed.events[0].event_id);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->has_value());
  CheckLog(*log_, acked());

  // After a restart the failed append may or may not be there; a retry with
  // the same ids settles it, and it is stored exactly once.
  Reopen();
  EXPECT_TRUE(log_->WriteFailure().ok());
  r = log_->Append(failed);
  ASSERT_TRUE(r.ok()) << r.status();
  Record(failed, *r);
  EXPECT_EQ(r->first_position, 4u);
  EXPECT_EQ(r->first_version, 2u);
  ASSERT_TRUE(MustAppend(Append("client-3", {Event("later")})).ok());
  EXPECT_EQ(CheckLog(*log_, acked()).size(), 5u);
}

TEST_F(FaultInjectionTest, FullDiskRefusesAppendsUntilSpaceReturns) {
  ASSERT_TRUE(MustAppend(Append("client-1", {Event("a"), Event("b")})).ok());
  ASSERT_TRUE(MustAppend(Append("client-2", {Event("c")})).ok());

  env_->SetDiskFull(true);
  // Large enough to span several writes of the WAL file, so that the full
  // disk tears the record.
  const AppendRequest refused = Append(
      "client-1", {Event("big", 100 << 10), Event("big2", 100 << 10)},
      ExpectedVersion::Exact(1));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<AppendResult> r = log_->Append(refused);
    ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted)
        << r.status();
    EXPECT_THAT(r.status().message(),
                AllOf(HasSubstr("disk full"), HasSubstr(dir_.string()),
                      HasSubstr("Free space"), HasSubstr("retry")));
  }
  EXPECT_GT(env_->refused_writes(), 0u);
  EXPECT_EQ(log_->HeadPosition(), 3u);
  // Not a failure that stops appends: they resume by themselves.
  EXPECT_TRUE(log_->WriteFailure().ok()) << log_->WriteFailure();
  // Reads continue while the disk is full.
  CheckLog(*log_, acked());
  // What a power cut now would leave: the torn record is dropped on replay.
  const fs::path while_full = CrashImage("while_full");
  const std::map<std::string, Acked> acked_while_full = acked();

  // Space returns: appends work again in the same process, and the refused
  // batch left nothing behind, neither on disk nor in the writer's state
  // (head, stream versions, idempotency index).
  env_->SetDiskFull(false);
  absl::StatusOr<AppendResult> r = log_->Append(refused);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->already_written);
  EXPECT_EQ(r->first_position, 4u);
  EXPECT_EQ(r->first_version, 2u);
  Record(refused, *r);
  ASSERT_TRUE(MustAppend(Append("client-1", {Event("d")},
                                ExpectedVersion::Exact(3)))
                  .ok());
  ASSERT_TRUE(MustAppend(Append("client-2", {Event("e")},
                                ExpectedVersion::Exact(0)))
                  .ok());
  EXPECT_EQ(CheckLog(*log_, acked()).size(), 7u);

  // The same after a power cut now, and after a clean restart.
  const fs::path after = CrashImage("after_recovery");
  Reopen();
  EXPECT_EQ(CheckLog(*log_, acked()).size(), 7u);
  log_.reset();
  for (const auto& [image, expected, count] :
       {std::tuple(while_full, acked_while_full, 3u),
        std::tuple(after, acked(), 7u)}) {
    SCOPED_TRACE(image.string());
    absl::StatusOr<std::unique_ptr<EventLog>> copy = Open(image);
    ASSERT_TRUE(copy.ok()) << copy.status();
    EXPECT_EQ(CheckLog(**copy, expected).size(), count);
  }
}

// The first append after a start goes into a memtable that recovery left
// empty. RocksDB 7.8's DB::Resume() would keep the WAL writer that failed
// (and Debian's RocksDB would abort on its next write); the log recovers by
// reopening its database instead.
TEST_F(FaultInjectionTest, FullDiskOnTheFirstAppendAfterAStart) {
  ASSERT_TRUE(MustAppend(Append("client-1", {Event("a")})).ok());
  Reopen();
  env_->SetDiskFull(true);
  const AppendRequest refused = Append("client-1", {Event("b", 64 << 10)});
  const absl::Status full = log_->Append(refused).status();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  env_->SetDiskFull(false);
  const absl::Status retried = MustAppend(refused);
  ASSERT_TRUE(retried.ok()) << retried;
  ASSERT_TRUE(MustAppend(Append("client-1", {Event("c")})).ok());
  EXPECT_EQ(CheckLog(*log_, acked()).size(), 3u);
  const fs::path image = CrashImage("image");
  Reopen();
  EXPECT_EQ(CheckLog(*log_, acked()).size(), 3u);
  log_.reset();
  absl::StatusOr<std::unique_ptr<EventLog>> copy = Open(image);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(CheckLog(**copy, acked()).size(), 3u);
}

// A full disk while RocksDB flushes a full memtable: the flush fails too.
// (With RocksDB 7.8, a flush still queued when writes stop is orphaned, and
// DB::Resume() then waits for it forever; reopening does not depend on it.)
TEST_F(FaultInjectionTest, FullDiskWhileAFlushRuns) {
  // 66 events of a little more than 1 MiB each: RocksDB switched memtables
  // (at 64 MiB) during the last few, and is flushing the full one.
  for (int i = 0; i < 66; ++i) {
    ASSERT_TRUE(MustAppend(Append("bulk", {Event(absl::StrCat(i),
                                                 (1 << 20) - 16)}))
                    .ok());
  }
  env_->SetDiskFull(true);
  const AppendRequest refused = Append("client-1", {Event("b", 64 << 10)});
  const absl::Status full = log_->Append(refused).status();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  absl::SleepFor(absl::Milliseconds(100));  // let the flush fail as well
  env_->SetDiskFull(false);
  const absl::Status retried = MustAppend(refused);
  ASSERT_TRUE(retried.ok()) << retried;
  EXPECT_EQ(CheckLog(*log_, acked()).size(), 67u);
  Reopen();
  EXPECT_EQ(CheckLog(*log_, acked()).size(), 67u);
}

// A disk that claims free space it does not have: the reopen fails, the log
// serves reads from a read-only open meanwhile, and retries a second later.
TEST_F(FaultInjectionTest, FailedReopenKeepsReadsAndIsRetried) {
  ASSERT_TRUE(MustAppend(Append("client-1", {Event("a"), Event("b")})).ok());
  env_->SetDiskFull(true);
  env_->SetFullDiskReportsFreeSpace(true);
  const AppendRequest refused = Append("client-1", {Event("c", 10 << 10)});
  for (int i = 0; i < 3; ++i) {  // the write, the reopen, the wait
    const absl::Status s = log_->Append(refused).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_EQ(CheckLog(*log_, acked()).size(), 2u);
  }
  env_->SetDiskFull(false);
  env_->SetFullDiskReportsFreeSpace(false);
  // The next reopen waits for a second after the failed one.
  absl::Status s;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!(s = MustAppend(refused)).ok() && absl::Now() < deadline) {
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(CheckLog(*log_, acked()).size(), 3u);
  Reopen();
  EXPECT_EQ(CheckLog(*log_, acked()).size(), 3u);
}

// Group commit under a disk that fills and empties: appends are refused
// whole or acknowledged whole, and afterwards every acknowledged event is
// there exactly once.
TEST_F(FaultInjectionTest, ConcurrentAppendsWhileTheDiskFillsAndEmpties) {
  constexpr int kAppenders = 16;
  std::atomic<bool> stop{false};
  std::atomic<int> refusals{0};
  std::vector<std::thread> appenders;
  appenders.reserve(kAppenders);
  for (int t = 0; t < kAppenders; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        const AppendRequest request =
            Append(absl::StrCat("client-", t % 5),
                   {Event(absl::StrCat(t, "/", i), 2000),
                    Event(absl::StrCat(t, "/", i, "b"))});
        // Retry the same append until it is acknowledged.
        while (true) {
          absl::StatusOr<AppendResult> r = log_->Append(request);
          if (r.ok()) {
            Record(request, *r);
            break;
          }
          ASSERT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted)
              << r.status();
          refusals++;
          absl::SleepFor(absl::Milliseconds(2));
        }
      }
    });
  }
  // Readers meanwhile, including across the log reopening its database:
  // reads never fail and never go backwards.
  std::thread reader([&] {
    uint64_t seen = 0;
    while (!stop) {
      ReadAllOptions options;
      options.direction = Direction::kBackward;
      options.max_count = 10;
      absl::StatusOr<LogPage> page = log_->ReadAll(options);
      ASSERT_TRUE(page.ok()) << page.status();
      EXPECT_GE(page->head_position, seen);
      seen = page->head_position;
      if (!page->events.empty()) {
        absl::StatusOr<std::optional<RecordedEvent>> found =
            log_->FindEvent(page->events[0].event_id);
        ASSERT_TRUE(found.ok()) << found.status();
        EXPECT_TRUE(found->has_value());
      }
      log_->WaitForHeadAbove(seen, absl::Milliseconds(5));
    }
  });
  for (int round = 0; round < 5; ++round) {
    absl::SleepFor(absl::Milliseconds(60));
    env_->SetDiskFull(true);
    absl::SleepFor(absl::Milliseconds(40));
    env_->SetDiskFull(false);
  }
  absl::SleepFor(absl::Milliseconds(60));
  stop = true;
  for (std::thread& t : appenders) t.join();
  reader.join();
  EXPECT_GT(refusals, 0);
  EXPECT_GT(env_->refused_writes(), 0u);
  const size_t stored = CheckLog(*log_, acked()).size();
  EXPECT_EQ(stored, acked().size());
  const fs::path image = CrashImage("image");
  Reopen();
  EXPECT_EQ(CheckLog(*log_, acked()).size(), stored);
  log_.reset();
  absl::StatusOr<std::unique_ptr<EventLog>> copy = Open(image);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(CheckLog(**copy, acked()).size(), stored);
}

// --- The view store on a full disk ---------------------------------------

class ViewStoreFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat(
               "viewstore_fault_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name(),
               "_", getpid());
    fs::remove_all(dir_);
    Open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    env_ = std::make_unique<FaultInjectionEnv>();
    ViewStoreOptions options;
    options.dir = dir_.string();
    options.env = env_->env();
    absl::StatusOr<std::unique_ptr<ViewStore>> store =
        ViewStore::Open(std::move(options));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  absl::Status Put(const std::string& key, size_t bytes = 10) {
    ViewWriteBatch batch;
    batch.Put(key, std::string(bytes, 'v'));
    return store_->Write(batch);
  }
  std::optional<std::string> Get(const std::string& key) {
    absl::StatusOr<std::optional<std::string>> value =
        store_->Latest()->Get(key);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.value_or(std::nullopt);
  }
  // Writes `key` until it is accepted (the store reopened) or `timeout`
  // passes; every refusal meanwhile must be RESOURCE_EXHAUSTED.
  absl::Status PutUntilAccepted(const std::string& key,
                                absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::Status s;
    while (!(s = Put(key)).ok() && absl::Now() < deadline) {
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return s;
  }

  fs::path dir_;
  std::unique_ptr<FaultInjectionEnv> env_;
  std::unique_ptr<ViewStore> store_;
};

// A full disk with writes in the memtable: the store reopens its database
// once space is back, and nothing written before the full disk is lost.
TEST_F(ViewStoreFaultTest, ResumesByItselfOnceSpaceIsBack) {
  ASSERT_TRUE(Put("before").ok());
  env_->SetDiskFull(true);
  absl::Status s = Put("refused", 100 << 10);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  s = Put("refused-too");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_THAT(s.message(), AllOf(HasSubstr("disk full"),
                                 HasSubstr("without a restart")));
  EXPECT_TRUE(Get("before").has_value());  // reads continue
  env_->SetDiskFull(false);
  ASSERT_TRUE(PutUntilAccepted("after").ok());
  EXPECT_TRUE(Get("before").has_value());
  EXPECT_FALSE(Get("refused").has_value());
  Open();
  EXPECT_TRUE(Get("before").has_value());
  EXPECT_TRUE(Get("after").has_value());
  EXPECT_FALSE(Get("refused").has_value());
}

// A full disk on the first write after opening, into an empty memtable: the
// case RocksDB 7.8's DB::Resume() cannot handle (the resumed database would
// abort the process on its next write). The reopen handles it like any other.
TEST_F(ViewStoreFaultTest, FullDiskIntoAnEmptyMemtableResumesWithoutARestart) {
  ASSERT_TRUE(Put("before").ok());
  Open();  // a restart: the memtable starts empty
  env_->SetDiskFull(true);
  absl::Status s = Put("refused", 100 << 10);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  env_->SetDiskFull(false);
  ASSERT_TRUE(PutUntilAccepted("after").ok());
  ASSERT_TRUE(Put("after-2").ok());
  EXPECT_TRUE(Get("before").has_value());
  EXPECT_FALSE(Get("refused").has_value());
  Open();  // closing must not touch a failed WAL writer
  EXPECT_TRUE(Get("before").has_value());
  EXPECT_TRUE(Get("after-2").has_value());
}

// The reopen waits for the snapshots of the database it replaces: a
// snapshot taken before the full disk reads on, and writes resume once it
// is released.
TEST_F(ViewStoreFaultTest, ReopenWaitsForOpenSnapshots) {
  ASSERT_TRUE(Put("before").ok());
  std::unique_ptr<ViewSnapshot> snapshot = store_->NewSnapshot();
  env_->SetDiskFull(true);
  EXPECT_EQ(Put("refused", 100 << 10).code(),
            absl::StatusCode::kResourceExhausted);
  env_->SetDiskFull(false);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Put("while-held").code(), absl::StatusCode::kResourceExhausted);
  absl::StatusOr<std::optional<std::string>> held = snapshot->Get("before");
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_TRUE(held->has_value());
  snapshot.reset();
  ASSERT_TRUE(PutUntilAccepted("after").ok());
  EXPECT_TRUE(Get("before").has_value());
}

// Space that stays short: a reopen that fails for lack of space keeps reads
// working (read-only) and is retried until it succeeds.
TEST_F(ViewStoreFaultTest, FailedReopenKeepsReadsAndIsRetried) {
  ASSERT_TRUE(Put("before").ok());
  env_->SetDiskFull(true);
  EXPECT_EQ(Put("refused", 100 << 10).code(),
            absl::StatusCode::kResourceExhausted);
  // The disk reports free space it does not have: the reopen is tried, and
  // fails.
  const uint64_t refused = env_->refused_writes();
  env_->SetFullDiskReportsFreeSpace(true);
  absl::SleepFor(absl::Seconds(2));
  EXPECT_GT(env_->refused_writes(), refused) << "no reopen was tried";
  EXPECT_EQ(Put("still-full").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(Get("before").has_value());
  env_->SetDiskFull(false);
  ASSERT_TRUE(PutUntilAccepted("after").ok());
  EXPECT_TRUE(Get("before").has_value());
  EXPECT_TRUE(Get("after").has_value());
}

// --- Damaged files -------------------------------------------------------

TEST_F(FaultInjectionTest, DamagedTableBlockIsDataLossNamingTheFile) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(MustAppend(Append("client-1", {Event(absl::StrCat(i), 200)}))
                    .ok());
  }
  log_.reset();  // flushes the memtable into a table file
  const std::vector<fs::path> tables = FilesWithExtension(dir_, ".sst");
  ASSERT_FALSE(tables.empty());
  // Inside the first data block, which holds the first events.
  for (const fs::path& table : tables) FlipByte(table, 100);

  absl::StatusOr<std::unique_ptr<EventLog>> log = Open(dir_);
  if (!log.ok()) {
    // Also acceptable: refused at start-up, naming the file.
    EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(log.status().message(), HasSubstr(".sst"));
    return;
  }
  ReadAllOptions from_start;
  from_start.max_count = kMaxReadCount;
  absl::StatusOr<LogPage> page = (*log)->ReadAll(from_start);
  ASSERT_FALSE(page.ok()) << "damaged data was returned";
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(page.status().message(),
              AllOf(HasSubstr(tables[0].string()), HasSubstr("checksum"),
                    HasSubstr("restore the data directory")));
  absl::StatusOr<StreamPage> stream = (*log)->ReadStream("client-1", {});
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(stream.status().message(), HasSubstr(".sst"));
  absl::StatusOr<ChainVerification> chain = (*log)->VerifyChain(0, 0);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(chain.status().message(), HasSubstr(".sst"));
}

TEST_F(FaultInjectionTest, DamagedTableFooterIsRefusedAtStartNamingTheFile) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(MustAppend(Append("client-1", {Event(absl::StrCat(i))})).ok());
  }
  log_.reset();
  const std::vector<fs::path> tables = FilesWithExtension(dir_, ".sst");
  ASSERT_FALSE(tables.empty());
  const fs::path& table = tables.back();
  FlipByte(table, static_cast<std::streamoff>(fs::file_size(table)) - 4);
  absl::StatusOr<std::unique_ptr<EventLog>> log = Open(dir_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(log.status().message(), HasSubstr(table.string()));
}

TEST_F(FaultInjectionTest, DamagedWalRecordIsRefusedAtStartNamingTheFile) {
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(MustAppend(Append("client-1", {Event(absl::StrCat(i), 100)}))
                    .ok());
  }
  // The events are only in the WAL of the image (a restart after a crash
  // replays it).
  const fs::path image = CrashImage("image");
  const std::vector<fs::path> wals = FilesWithExtension(image, ".log");
  ASSERT_EQ(wals.size(), 1u);
  const fs::path& wal = wals[0];
  // A record in the middle: later records hold acknowledged events, so
  // skipping the damage would silently drop them.
  FlipByte(wal, static_cast<std::streamoff>(fs::file_size(wal) / 2));
  log_.reset();
  absl::StatusOr<std::unique_ptr<EventLog>> log = Open(image);
  ASSERT_FALSE(log.ok()) << "opened without the events past the damage";
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(log.status().message(),
              AllOf(HasSubstr(absl::StrCat("write-ahead log file ",
                                           wal.string(), " is damaged after "
                                                         "its record")),
                    HasSubstr("restore the data directory from a backup")));
}

TEST_F(FaultInjectionTest, DamagedFirstWalRecordIsRefusedNamingTheFile) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(MustAppend(Append("client-1", {Event(absl::StrCat(i))})).ok());
  }
  const fs::path image = CrashImage("image");
  const std::vector<fs::path> wals = FilesWithExtension(image, ".log");
  ASSERT_EQ(wals.size(), 1u);
  FlipByte(wals[0], 10);  // inside the first record's payload
  log_.reset();
  absl::StatusOr<std::unique_ptr<EventLog>> log = Open(image);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(log.status().message(),
              HasSubstr(absl::StrCat(wals[0].string(),
                                     " is damaged at its first record")));
}

// A record cut short at the end of the WAL is an append that never finished,
// so never acknowledged: recovery drops it and opens, as after any crash.
TEST_F(FaultInjectionTest, TornWalTailIsAnUnacknowledgedAppend) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(MustAppend(Append("client-1", {Event(absl::StrCat(i))})).ok());
  }
  env_->SetDiskFull(true);  // writes half of the record, then fails
  EXPECT_EQ(log_->Append(Append("client-1", {Event("torn", 50 << 10)}))
                .status()
                .code(),
            absl::StatusCode::kResourceExhausted);
  const fs::path image = CrashImage("image");
  env_->SetDiskFull(false);
  log_.reset();
  absl::StatusOr<std::unique_ptr<EventLog>> log = Open(image);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(CheckLog(**log, acked()).size(), 5u);
}

}  // namespace
}  // namespace caseline::eventstore
