// The informational LOG writer (info_log.h): lines, rolling, and a full disk.
#include "eventstore/info_log.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/fault_injection_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"

namespace caseline::eventstore {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

int OldLogs(const fs::path& dir) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (absl::StartsWith(entry.path().filename().string(), "LOG.old.")) ++n;
  }
  return n;
}

class InfoLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat(
               "info_log_",
               ::testing::UnitTest::GetInstance()->current_test_info()->name(),
               "_", getpid());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(InfoLogTest, WritesLinesAndRollsBySize) {
  InfoLogOptions options;
  options.dir = dir_.string();  // created by the logger
  options.max_file_bytes = 4096;
  options.keep_old_files = 2;
  {
    std::shared_ptr<rocksdb::Logger> log = NewInfoLog(options);
    for (int i = 0; i < 200; ++i) {
      rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "line %d of %s", i,
                   "the test");
    }
    rocksdb::Log(rocksdb::InfoLogLevel::DEBUG_LEVEL, log, "not at INFO");
    rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, log, "%s",
                 std::string(1000, 'w').c_str());  // longer than the buffer
  }
  const std::string text = ReadFile(dir_ / "LOG");
  EXPECT_THAT(text, HasSubstr("line 199 of the test\n"));
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("[WARN] ", std::string(1000, 'w'), "\n")));
  EXPECT_THAT(text, Not(HasSubstr("not at INFO")));
  EXPECT_LE(text.size(), 4096u + 2000u);
  EXPECT_EQ(OldLogs(dir_), 2);

  // A new logger (a restart) starts a new LOG and keeps the old one.
  NewInfoLog(options);
  EXPECT_THAT(ReadFile(dir_ / "LOG"), Not(HasSubstr("line 199")));
  EXPECT_EQ(OldLogs(dir_), 2);
}

// RocksDB's own LOG writer aborts the process on the first line after a
// write to a full disk failed; this one drops lines and says so once there
// is room again.
TEST_F(InfoLogTest, FullDiskDropsLinesAndSaysSoLater) {
  FaultInjectionEnv env;
  InfoLogOptions options;
  options.dir = dir_.string();
  options.env = env.env();
  std::shared_ptr<rocksdb::Logger> log = NewInfoLog(options);
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "before");
  env.SetDiskFull(true);
  for (int i = 0; i < 100; ++i) {
    rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "while full %d", i);
  }
  EXPECT_GE(env.refused_writes(), 100u);
  env.SetDiskFull(false);
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "after");
  log.reset();
  const std::string text = ReadFile(dir_ / "LOG");
  EXPECT_THAT(text, HasSubstr("before\n"));
  EXPECT_THAT(text,
              HasSubstr("\n100 earlier lines of this log were dropped: no "
                        "room on the disk\n"));
  EXPECT_THAT(text, HasSubstr(" after\n"));
}

}  // namespace
}  // namespace caseline::eventstore
