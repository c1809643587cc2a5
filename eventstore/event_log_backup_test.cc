// EventLog::Backup and EventLog::Restore: a backup taken while appends go on
// holds every acknowledged event up to its head and restores, verified, into a
// fresh directory; refusals leave everything as it was; a damaged or
// incomplete backup is refused with DATA_LOSS naming what is wrong.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "eventstore/event_log.h"
#include "eventstore/test_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::eventstore {
namespace {

using ::caseline::testing::FlipByte;
using ::caseline::testing::Listing;

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

ProposedEvent MakeEvent(std::string payload) {
  ProposedEvent e;
  e.event_type = "Noted";
  e.content_type = "application/json";
  e.payload = std::move(payload);
  return e;
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            absl::StrCat(
                "backup_",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                "_", getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
    log_ = MustOpen(root_ / "data");
  }
  void TearDown() override {
    log_.reset();
    fs::remove_all(root_);
  }

  static std::unique_ptr<EventLog> MustOpen(const fs::path& dir) {
    EventLogOptions options;
    options.data_dir = dir.string();
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        EventLog::Open(std::move(options));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }

  void AppendEvents(EventLog& log, const std::string& stream, int n) {
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<AppendResult> r = log.Append(
          {stream, ExpectedVersion::Any(), {MakeEvent(absl::StrCat(i))}});
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }

  // Events 1..up_to of `log`, in order.
  static std::vector<RecordedEvent> ReadUpTo(EventLog& log, uint64_t up_to) {
    std::vector<RecordedEvent> events;
    ReadAllOptions options;
    options.max_count = kMaxReadCount;
    options.from_position = 1;
    while (events.size() < up_to) {
      absl::StatusOr<LogPage> page = log.ReadAll(options);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (RecordedEvent& e : page->events) {
        if (e.global_position > up_to) break;
        events.push_back(std::move(e));
      }
      if (page->end_of_log) break;
      options.from_position = page->next_position;
    }
    return events;
  }

  fs::path root_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(BackupTest, BackupUnderLoadRestoresEveryEventUpToItsHead) {
  AppendEvents(*log_, "preload", 300);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> max_acked{0};
  std::atomic<int> appended{0};
  std::vector<std::thread> appenders;
  appenders.reserve(8);
  for (int t = 0; t < 8; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        std::vector<ProposedEvent> events;
        for (int j = 0; j <= (i % 3); ++j) {
          events.push_back(MakeEvent(absl::StrCat("{\"t\":", t, "}")));
        }
        absl::StatusOr<AppendResult> r = log_->Append(
            {absl::StrCat("s-", t), ExpectedVersion::Any(), std::move(events)});
        ASSERT_TRUE(r.ok()) << r.status();
        uint64_t seen = max_acked.load();
        while (seen < r->last_position &&
               !max_acked.compare_exchange_weak(seen, r->last_position)) {
        }
        appended++;
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(100));
  const uint64_t acked_before = max_acked.load();
  const fs::path backup_dir = root_ / "backup";
  absl::StatusOr<BackupInfo> backup = log_->Backup(backup_dir.string());
  const int appended_at_backup = appended.load();
  absl::SleepFor(absl::Milliseconds(50));
  stop = true;
  for (std::thread& t : appenders) t.join();
  ASSERT_TRUE(backup.ok()) << backup.status();
  ASSERT_GT(appended_at_backup, 10) << "too little load to mean anything";

  // Everything acknowledged before the backup started is in it.
  EXPECT_GE(backup->head_position, acked_before);
  EXPECT_GE(backup->head_position, 300u);
  EXPECT_EQ(backup->events_verified, backup->head_position);
  EXPECT_EQ(backup->dir, backup_dir.string());
  EXPECT_GT(backup->bytes, 0u);
  EXPECT_TRUE(backup->same_filesystem);
  EXPECT_TRUE(fs::exists(backup_dir / kBackupInfoFileName));
  EXPECT_FALSE(fs::exists(root_ / ".backup.backup-in-progress"));
  const std::vector<RecordedEvent> source =
      ReadUpTo(*log_, backup->head_position);
  ASSERT_EQ(source.size(), backup->head_position);
  EXPECT_EQ(source.back().hash, backup->head_hash);
  const uint64_t source_head = log_->HeadPosition();
  log_.reset();

  const fs::path restored_dir = root_ / "restored";
  absl::StatusOr<BackupInfo> restored =
      EventLog::Restore(backup_dir.string(), restored_dir.string());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->dir, restored_dir.string());
  EXPECT_EQ(restored->head_position, backup->head_position);
  EXPECT_EQ(restored->head_hash, backup->head_hash);
  EXPECT_EQ(restored->events_verified, backup->head_position);
  EXPECT_FALSE(fs::exists(restored_dir / kBackupInfoFileName));
  EXPECT_FALSE(fs::exists(root_ / ".restored.restore-in-progress"));

  std::unique_ptr<EventLog> copy = MustOpen(restored_dir);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->HeadPosition(), backup->head_position);
  EXPECT_LE(copy->HeadPosition(), source_head);
  absl::StatusOr<ChainVerification> chain = copy->VerifyChain(0, 0);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_TRUE(chain->ok) << chain->problem;
  EXPECT_EQ(chain->head_hash, backup->head_hash);
  const std::vector<RecordedEvent> copied =
      ReadUpTo(*copy, backup->head_position);
  ASSERT_EQ(copied.size(), source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    EXPECT_EQ(copied[i].global_position, i + 1);
    EXPECT_EQ(copied[i].event_id, source[i].event_id) << i + 1;
    EXPECT_EQ(copied[i].hash, source[i].hash) << i + 1;
    EXPECT_EQ(copied[i].stream_id, source[i].stream_id) << i + 1;
    EXPECT_EQ(copied[i].stream_version, source[i].stream_version) << i + 1;
  }
  // The restored log goes on from the backup's head, and its stream heads
  // and event ids are the backup's.
  absl::StatusOr<AppendResult> next = copy->Append(
      {"after-restore", ExpectedVersion::NoStream(), {MakeEvent("after")}});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->first_position, backup->head_position + 1);
  const std::vector<RecordedEvent> extended =
      ReadUpTo(*copy, backup->head_position + 1);
  ASSERT_EQ(extended.size(), backup->head_position + 1);
  EXPECT_EQ(extended.back().prev_hash, backup->head_hash);
  absl::StatusOr<AppendResult> retry = copy->Append(
      {copied[5].stream_id, ExpectedVersion::Any(),
       {[&] {
         ProposedEvent e = MakeEvent(copied[5].payload);
         e.event_id = copied[5].event_id;
         e.occurred_at = copied[5].occurred_at;
         return e;
       }()}});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->already_written);
  EXPECT_EQ(retry->first_position, 6u);
  copy.reset();

  // The backup is intact: it restores again, to the same head.
  absl::StatusOr<BackupInfo> again =
      EventLog::Restore(backup_dir.string(), (root_ / "again").string());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->head_hash, backup->head_hash);
}

TEST_F(BackupTest, EmptyLogBacksUpAndRestores) {
  absl::StatusOr<BackupInfo> backup = log_->Backup((root_ / "b").string());
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->head_position, 0u);
  EXPECT_EQ(backup->events_verified, 0u);
  absl::StatusOr<BackupInfo> restored =
      EventLog::Restore((root_ / "b").string(), (root_ / "r").string());
  ASSERT_TRUE(restored.ok()) << restored.status();
  std::unique_ptr<EventLog> copy = MustOpen(root_ / "r");
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->HeadPosition(), 0u);
}

TEST_F(BackupTest, BackupRefusesOccupiedOrUnreachableDirectories) {
  AppendEvents(*log_, "s", 5);
  const fs::path occupied = root_ / "occupied";
  fs::create_directories(occupied);
  std::ofstream(occupied / "notes.txt") << "keep me";
  absl::StatusOr<BackupInfo> refused = log_->Backup(occupied.string());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              AllOf(HasSubstr(occupied.string()), HasSubstr("not empty"),
                    HasSubstr("notes.txt"), HasSubstr("new or empty")));
  EXPECT_EQ(Listing(occupied), std::vector<std::string>{"notes.txt"});

  absl::StatusOr<BackupInfo> no_parent =
      log_->Backup((root_ / "missing" / "b").string());
  EXPECT_EQ(no_parent.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(no_parent.status().message(),
              AllOf(HasSubstr((root_ / "missing").string()),
                    HasSubstr("does not exist"), HasSubstr("create it")));
  EXPECT_FALSE(fs::exists(root_ / "missing"));

  absl::StatusOr<BackupInfo> inside = log_->Backup((root_ / "data" / "b").string());
  EXPECT_EQ(inside.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(inside.status().message(), HasSubstr("inside the data directory"));

  EXPECT_EQ(log_->Backup("").status().code(),
            absl::StatusCode::kInvalidArgument);

  // An existing empty directory is fine (e.g. a mount point), with or
  // without a trailing slash.
  const fs::path empty = root_ / "empty";
  fs::create_directories(empty);
  absl::StatusOr<BackupInfo> backup = log_->Backup(empty.string() + "/");
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->dir, empty.string());
  EXPECT_EQ(backup->head_position, 5u);
}

TEST_F(BackupTest, RestoreRefusesADataDirectoryThatIsNotEmpty) {
  AppendEvents(*log_, "s", 5);
  ASSERT_TRUE(log_->Backup((root_ / "b").string()).ok());
  log_.reset();
  const std::vector<std::string> before = Listing(root_ / "data");

  absl::StatusOr<BackupInfo> over_log =
      EventLog::Restore((root_ / "b").string(), (root_ / "data").string());
  ASSERT_FALSE(over_log.ok());
  EXPECT_EQ(over_log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(over_log.status().message(),
              AllOf(HasSubstr((root_ / "data").string()),
                    HasSubstr("already holds a log"),
                    HasSubstr("nothing is overwritten")));
  EXPECT_EQ(Listing(root_ / "data"), before);

  fs::create_directories(root_ / "other");
  std::ofstream(root_ / "other" / "x") << "x";
  EXPECT_EQ(
      EventLog::Restore((root_ / "b").string(), (root_ / "other").string())
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Listing(root_ / "other"), std::vector<std::string>{"x"});
  // The original log is untouched and still opens at its head.
  std::unique_ptr<EventLog> reopened = MustOpen(root_ / "data");
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->HeadPosition(), 5u);
}

TEST_F(BackupTest, RestoreRefusesWhatIsNotACompleteBackup) {
  absl::StatusOr<BackupInfo> missing = EventLog::Restore(
      (root_ / "nowhere").string(), (root_ / "r").string());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr((root_ / "nowhere").string()));

  // A live data directory is not a backup: no record of what it holds.
  AppendEvents(*log_, "s", 3);
  log_.reset();
  absl::StatusOr<BackupInfo> not_backup =
      EventLog::Restore((root_ / "data").string(), (root_ / "r").string());
  EXPECT_EQ(not_backup.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(not_backup.status().message(),
              AllOf(HasSubstr(kBackupInfoFileName),
                    HasSubstr("not a complete backup")));
  EXPECT_FALSE(fs::exists(root_ / "r"));
}

TEST_F(BackupTest, DamagedBackupIsDataLossNamingTheFileAndRestoresNothing) {
  AppendEvents(*log_, "client-1", 50);
  ASSERT_TRUE(log_->Backup((root_ / "b").string()).ok());
  // The backup's table files are hard links to the live log's: damage a
  // real copy of it instead.
  fs::copy(root_ / "b", root_ / "copy", fs::copy_options::recursive);
  std::vector<fs::path> tables;
  for (const auto& entry : fs::directory_iterator(root_ / "copy")) {
    if (entry.path().extension() == ".sst") tables.push_back(entry.path());
  }
  ASSERT_FALSE(tables.empty()) << "the checkpoint flushes into a table file";
  for (const fs::path& table : tables) FlipByte(table, 100);

  absl::StatusOr<BackupInfo> restored =
      EventLog::Restore((root_ / "copy").string(), (root_ / "r").string());
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(restored.status().message(),
              AllOf(HasSubstr((root_ / "copy").string()), HasSubstr(".sst"),
                    HasSubstr("nothing was restored"),
                    HasSubstr("another backup")));
  EXPECT_THAT(std::string(restored.status().message()),
              ::testing::Not(HasSubstr("restore-in-progress")));
  EXPECT_FALSE(fs::exists(root_ / "r"));
  EXPECT_FALSE(fs::exists(root_ / ".r.restore-in-progress"));

  // The live log was not touched by damaging the copy.
  absl::StatusOr<ChainVerification> chain = log_->VerifyChain(0, 0);
  ASSERT_TRUE(chain.ok()) << chain.status();
  EXPECT_TRUE(chain->ok);
}

TEST_F(BackupTest, DamagedLogIsDataLossAndWritesNoBackup) {
  AppendEvents(*log_, "client-1", 50);
  log_.reset();  // flushes the memtable into a table file
  std::vector<fs::path> tables;
  for (const auto& entry : fs::directory_iterator(root_ / "data")) {
    if (entry.path().extension() == ".sst") tables.push_back(entry.path());
  }
  ASSERT_FALSE(tables.empty());
  for (const fs::path& table : tables) FlipByte(table, 100);
  EventLogOptions options;
  options.data_dir = (root_ / "data").string();
  absl::StatusOr<std::unique_ptr<EventLog>> damaged =
      EventLog::Open(std::move(options));
  if (!damaged.ok()) {
    GTEST_SKIP() << "the damage was found at start-up already: "
                 << damaged.status();
  }
  absl::StatusOr<BackupInfo> backup =
      (*damaged)->Backup((root_ / "b").string());
  ASSERT_FALSE(backup.ok());
  EXPECT_EQ(backup.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(backup.status().message(),
              AllOf(HasSubstr("no backup was written"),
                    HasSubstr((root_ / "data").string() + "/"),
                    HasSubstr(".sst")));
  EXPECT_FALSE(fs::exists(root_ / "b"));
  EXPECT_FALSE(fs::exists(root_ / ".b.backup-in-progress"));
}

TEST_F(BackupTest, RelativeDirectoriesAreResolvedAgainstTheWorkingDirectory) {
  AppendEvents(*log_, "s", 3);
  const fs::path previous = fs::current_path();
  fs::current_path(root_);
  absl::StatusOr<BackupInfo> backup = log_->Backup("relative-backup");
  absl::StatusOr<BackupInfo> restored =
      EventLog::Restore("relative-backup", "relative-data");
  fs::current_path(previous);
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->dir, (root_ / "relative-backup").string());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->dir, (root_ / "relative-data").string());
  EXPECT_EQ(restored->head_position, 3u);
}

TEST_F(BackupTest, BackupThatDoesNotHoldItsRecordedHeadIsDataLoss) {
  AppendEvents(*log_, "s", 20);
  absl::StatusOr<BackupInfo> backup = log_->Backup((root_ / "b").string());
  ASSERT_TRUE(backup.ok()) << backup.status();
  const fs::path info = root_ / "b" / kBackupInfoFileName;
  std::string text;
  {
    std::ifstream in(info);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_THAT(text, AllOf(HasSubstr("head_position 20\n"),
                          HasSubstr(HashToHex(backup->head_hash))));
  // As if the backup had lost its last events (a WAL file, say).
  std::ofstream(info, std::ios::trunc)
      << absl::StrReplaceAll(text, {{"head_position 20", "head_position 25"}});
  absl::StatusOr<BackupInfo> restored =
      EventLog::Restore((root_ / "b").string(), (root_ / "r").string());
  ASSERT_FALSE(restored.ok());
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(restored.status().message(),
              AllOf(HasSubstr("holds events up to position 20"),
                    HasSubstr("recorded head position 25"),
                    HasSubstr("nothing was restored")));
  EXPECT_FALSE(fs::exists(root_ / "r"));
}

}  // namespace
}  // namespace caseline::eventstore
