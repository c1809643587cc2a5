#include "eventstore/info_log.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "rocksdb/env.h"

namespace caseline::eventstore {
namespace {

constexpr char kLogName[] = "LOG";
constexpr char kOldLogPrefix[] = "LOG.old.";
// After a failed open of the file, the next attempt waits this long, so that
// a full disk does not cost a failed create per line.
constexpr absl::Duration kReopenInterval = absl::Seconds(1);

class InfoLog final : public rocksdb::Logger {
 public:
  explicit InfoLog(const InfoLogOptions& options)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
        options_(options),
        env_(options.env != nullptr ? options.env : rocksdb::Env::Default()),
        path_(absl::StrCat(options.dir, "/", kLogName)) {
    env_->CreateDirIfMissing(options_.dir).PermitUncheckedError();
    MutexLock lock(&mu_);
    // As RocksDB's own logger does, each start begins a new LOG.
    uint64_t size = 0;
    if (env_->GetFileSize(path_, &size).ok() && size > 0) RollLocked();
    OpenLocked();
  }

  ~InfoLog() override {
    MutexLock lock(&mu_);
    if (file_ != nullptr) file_->Close().PermitUncheckedError();
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char buffer[512];
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(buffer, sizeof(buffer), format, copy);
    va_end(copy);
    std::string message;
    if (n < 0) {
      message = format;
    } else if (static_cast<size_t>(n) < sizeof(buffer)) {
      message.assign(buffer, n);
    } else {
      message.resize(static_cast<size_t>(n) + 1);
      std::vsnprintf(message.data(), message.size(), format, ap);
      message.resize(static_cast<size_t>(n));
    }
    if (message.empty() || message.back() != '\n') message.push_back('\n');
    const std::string line =
        absl::StrCat(absl::FormatTime("%Y/%m/%d-%H:%M:%E6S ", absl::Now(),
                                      absl::LocalTimeZone()),
                     env_->GetThreadID(), " ", message);
    MutexLock lock(&mu_);
    WriteLocked(line);
  }

 protected:
  rocksdb::Status CloseImpl() override {
    MutexLock lock(&mu_);
    closed_by_caller_ = true;
    if (file_ == nullptr) return rocksdb::Status::OK();
    rocksdb::Status s = file_->Close();
    file_.reset();
    return s;
  }

 private:
  void WriteLocked(const std::string& line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (closed_by_caller_) return;
    if (file_ != nullptr && size_ >= options_.max_file_bytes) {
      file_->Close().PermitUncheckedError();
      file_.reset();
      RollLocked();
      OpenLocked();
    }
    if (file_ == nullptr) {
      if (absl::Now() - last_failed_open_ < kReopenInterval || !OpenLocked()) {
        ++dropped_lines_;
        return;
      }
    }
    std::string text;
    if (dropped_lines_ > 0) {
      // The line a failed write may have left unfinished ends here.
      text = absl::StrCat("\n", dropped_lines_,
                          " earlier lines of this log were dropped: no room "
                          "on the disk\n");
    }
    text.append(line);
    if (file_->Append(text).ok()) {
      size_ += text.size();
      dropped_lines_ = 0;
    } else {
      ++dropped_lines_;
    }
  }

  // Opens LOG for appending, creating it when missing; false (and file_
  // null) when it cannot.
  bool OpenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    rocksdb::EnvOptions env_options;
    env_options.allow_fallocate = false;
    if (!env_->ReopenWritableFile(path_, &file_, env_options).ok()) {
      file_.reset();
      last_failed_open_ = absl::Now();
      return false;
    }
    uint64_t size = 0;
    size_ = env_->GetFileSize(path_, &size).ok() ? size : 0;
    return true;
  }

  // Renames LOG to LOG.old.<microseconds> and deletes the oldest of those
  // past options_.keep_old_files. Errors leave the files as they are.
  void RollLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Distinct names even for two rolls within a microsecond.
    last_roll_micros_ =
        std::max(last_roll_micros_ + 1, absl::ToUnixMicros(absl::Now()));
    const std::string old_path =
        absl::StrCat(options_.dir, "/", kOldLogPrefix, last_roll_micros_);
    env_->RenameFile(path_, old_path).PermitUncheckedError();
    std::vector<std::string> children;
    env_->GetChildren(options_.dir, &children).PermitUncheckedError();
    std::vector<std::pair<uint64_t, std::string>> old_logs;
    for (const std::string& name : children) {
      absl::string_view stem = name;
      uint64_t micros = 0;
      if (absl::ConsumePrefix(&stem, kOldLogPrefix) &&
          absl::SimpleAtoi(stem, &micros)) {
        old_logs.emplace_back(micros, name);
      }
    }
    if (old_logs.size() <= options_.keep_old_files) return;
    std::sort(old_logs.begin(), old_logs.end());
    for (size_t i = 0; i + options_.keep_old_files < old_logs.size(); ++i) {
      env_->DeleteFile(absl::StrCat(options_.dir, "/", old_logs[i].second))
          .PermitUncheckedError();
    }
  }

  const InfoLogOptions options_;
  rocksdb::Env* const env_;
  const std::string path_;
  Mutex mu_;
  std::unique_ptr<rocksdb::WritableFile> file_ ABSL_GUARDED_BY(mu_);
  uint64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  // Lines not written since the last line that was.
  uint64_t dropped_lines_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_failed_open_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t last_roll_micros_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_by_caller_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewInfoLog(const InfoLogOptions& options) {
  return std::make_shared<InfoLog>(options);
}

}  // namespace caseline::eventstore
