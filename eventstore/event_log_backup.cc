// Backup and restore: an online RocksDB checkpoint of the log, checked whole
// (table checksums and the hash chain) before it is published; and its copy
// back into an empty data directory, checked the same way before it is
// renamed into place. The backup directory's layout is docs/log_format.md
// "Backups".
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/key_format.h"
#include "base/status_macros.h"
#include "rocksdb/utilities/checkpoint.h"

namespace caseline::eventstore {
namespace {

namespace fs = std::filesystem;

// The version of the kBackupInfoFileName layout.
constexpr int kBackupInfoVersion = 1;

// An errno (or std::error_code value) from a file operation on `path`.
absl::Status FileError(int error, absl::string_view what,
                       const std::string& path) {
  const std::string message =
      absl::StrCat(what, " ", path, ": ", std::strerror(error));
  switch (error) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(
          absl::StrCat(message, "; free disk space and retry"));
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::FailedPreconditionError(absl::StrCat(
          message, "; give caselined's user write access there, or choose "
                   "another directory"));
    default:
      return absl::UnavailableError(message);
  }
}

// Makes `path` (a file or a directory) durable.
absl::Status SyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileError(errno, "opening", path);
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (synced != 0) return FileError(error, "syncing", path);
  return absl::OkStatus();
}

// Copies the regular file `from` to the new file `to` and syncs it.
absl::Status CopyFileSynced(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return FileError(errno, "opening", from);
  const int out =
      ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    const int error = errno;
    ::close(in);
    return FileError(error, "creating", to);
  }
  absl::Status status;
  std::vector<char> buffer(1 << 20);
  while (status.ok()) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      status = FileError(errno, "reading", from);
      break;
    }
    if (n == 0) break;
    for (ssize_t written = 0; written < n;) {
      const ssize_t w = ::write(out, buffer.data() + written,
                                static_cast<size_t>(n - written));
      if (w < 0) {
        if (errno == EINTR) continue;
        status = FileError(errno, "writing", to);
        break;
      }
      written += w;
    }
  }
  if (status.ok() && ::fsync(out) != 0) {
    status = FileError(errno, "syncing", to);
  }
  ::close(out);
  ::close(in);
  return status;
}

absl::Status WriteFileSynced(const std::string& path,
                             absl::string_view content) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return FileError(errno, "creating", path);
  absl::Status status;
  for (size_t written = 0; written < content.size();) {
    const ssize_t w =
        ::write(fd, content.data() + written, content.size() - written);
    if (w < 0) {
      if (errno == EINTR) continue;
      status = FileError(errno, "writing", path);
      break;
    }
    written += static_cast<size_t>(w);
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = FileError(errno, "syncing", path);
  }
  ::close(fd);
  return status;
}

// Total size of the regular files directly in `dir`.
uint64_t DirectoryBytes(const fs::path& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    std::error_code size_ec;
    if (entry.is_regular_file(size_ec)) {
      const uintmax_t size = entry.file_size(size_ec);
      if (!size_ec) bytes += size;
    }
  }
  return bytes;
}

// `path` made absolute (against the working directory) and normalised,
// without a trailing separator.
fs::path AbsolutePath(const std::string& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec).lexically_normal();
  if (!absolute.has_filename() && absolute.has_parent_path() &&
      absolute != absolute.root_path()) {
    absolute = absolute.parent_path();
  }
  return absolute;
}

// OK when `dir` does not exist or is an empty directory, and its parent
// directory exists. `what` names it ("backup directory").
absl::Status CheckNewDirectory(const fs::path& dir, absl::string_view what,
                               absl::string_view advice) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return absl::FailedPreconditionError(absl::StrCat(
          what, " ", dir.string(), " exists and is not a directory; ",
          advice));
    }
    fs::directory_iterator it(dir, ec);
    if (ec) return FileError(ec.value(), "listing", dir.string());
    if (it != fs::directory_iterator()) {
      const bool holds_backup = fs::exists(dir / kBackupInfoFileName, ec);
      const bool holds_log = fs::exists(dir / "CURRENT", ec);
      return absl::FailedPreconditionError(absl::StrCat(
          what, " ", dir.string(),
          holds_backup ? " already holds a backup"
          : holds_log  ? " already holds a log"
                       : " is not empty",
          " (it contains ", it->path().filename().string(),
          "), and nothing is overwritten; ", advice));
    }
  }
  return absl::OkStatus();
}

// Where a directory is built before it is renamed to `target`: beside it,
// so that the rename stays on one filesystem.
fs::path StagingPath(const fs::path& target, absl::string_view purpose) {
  return target.parent_path() /
         absl::StrCat(".", target.filename().string(), ".", purpose);
}

// `status` with `from` replaced by `to` in its message, and `prefix` before.
absl::Status Rewritten(const absl::Status& status, const std::string& from,
                       const std::string& to, absl::string_view prefix,
                       bool drop_live_advice) {
  std::string message = absl::StrReplaceAll(status.message(), {{from, to}});
  if (drop_live_advice) {
    message = absl::StrReplaceAll(message, {{kDamagedDataAdvice, ""}});
  }
  return absl::Status(status.code(), absl::StrCat(prefix, message));
}

bool SameFilesystem(const std::string& a, const std::string& b) {
  struct stat sa {};
  struct stat sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev;
}

// docs/log_format.md "Backups".
std::string EncodeBackupInfo(const BackupInfo& info) {
  return absl::StrCat(
      "caseline_backup ", kBackupInfoVersion, "\n",                //
      "log_format_version ", kFormatVersion, "\n",                 //
      "head_position ", info.head_position, "\n",                  //
      "head_hash ", HashToHex(info.head_hash), "\n",               //
      "events ", info.events_verified, "\n",                       //
      "created_at ",
      absl::FormatTime(absl::RFC3339_full, info.created_at, absl::UTCTimeZone()),
      "\n");
}

// What a backup recorded about itself when it was made.
struct RecordedBackup {
  uint32_t log_format_version = 0;
  uint64_t head_position = 0;
  std::string head_hash;  // hex
  absl::Time created_at = absl::InfinitePast();
};

absl::StatusOr<RecordedBackup> ParseBackupInfo(absl::string_view text,
                                               const std::string& path) {
  RecordedBackup recorded;
  bool has_version = false, has_format = false, has_head = false,
       has_hash = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(' ', 1));
    auto malformed = [&] {
      return absl::DataLossError(absl::StrCat(
          path, " line ", line_number, " is malformed: \"", line,
          "\"; the backup's record of itself is damaged: restore from "
          "another backup"));
    };
    if (fields.size() != 2) return malformed();
    const absl::string_view key = fields[0];
    const absl::string_view value = fields[1];
    if (key == "caseline_backup") {
      int version = 0;
      if (!absl::SimpleAtoi(value, &version)) return malformed();
      if (version > kBackupInfoVersion) {
        return absl::FailedPreconditionError(absl::StrCat(
            path, " is of backup layout version ", version,
            ", newer than the version ", kBackupInfoVersion,
            " this caselined reads; restore with a caselined that supports "
            "it"));
      }
      has_version = true;
    } else if (key == "log_format_version") {
      if (!absl::SimpleAtoi(value, &recorded.log_format_version))
        return malformed();
      has_format = true;
    } else if (key == "head_position") {
      if (!absl::SimpleAtoi(value, &recorded.head_position))
        return malformed();
      has_head = true;
    } else if (key == "head_hash") {
      if (value.size() != 64) return malformed();
      recorded.head_hash = std::string(value);
      has_hash = true;
    } else if (key == "created_at") {
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, value, &recorded.created_at,
                           &error)) {
        return malformed();
      }
    }
    // Other keys ("events") are informational.
  }
  if (!has_version || !has_format || !has_head || !has_hash) {
    return absl::DataLossError(absl::StrCat(
        path,
        " lacks caseline_backup, log_format_version, head_position or "
        "head_hash; the backup's record of itself is damaged: restore from "
        "another backup"));
  }
  if (recorded.log_format_version > kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": the backup is of log format version ",
        recorded.log_format_version, ", newer than the version ",
        kFormatVersion,
        " this caselined reads; restore with a caselined that supports it"));
  }
  return recorded;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileError(errno, "opening", path);
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return FileError(error, "reading", path);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > (64 << 10)) {
      ::close(fd);
      return absl::DataLossError(
          absl::StrCat(path, " is larger than a backup record can be"));
    }
  }
  ::close(fd);
  return text;
}

}  // namespace

absl::StatusOr<BackupInfo> EventLog::Restore(const std::string& backup_dir,
                                             const std::string& data_dir) {
  return EventLogImpl::Restore(backup_dir, data_dir);
}

absl::Status EventLogImpl::CheckSnapshot(const std::string& dir,
                                         rocksdb::Env* env, BackupInfo& info) {
  ASSIGN_OR_RETURN(ReadOnlyLog log, OpenLogReadOnly(dir, env));
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  read_options.verify_checksums = true;
  // Every block of every table file, including those the chain does not
  // read (the stream and event-id indexes).
  RETURN_IF_ERROR(FromRocksDb(log.db->VerifyChecksum(read_options),
                              "checking the table files' checksums"));
  ASSIGN_OR_RETURN(const Head head, RecoverHead(*log.db));
  ASSIGN_OR_RETURN(
      const ChainVerification chain,
      VerifyChainIn(*log.db, read_options, head.position, 0, 0));
  if (!chain.ok) {
    return absl::DataLossError(absl::StrCat(
        "the hash chain does not verify at position ",
        chain.first_bad_position, ": ", chain.problem));
  }
  info.head_position = head.position;
  info.head_hash = head.hash;
  info.events_verified = chain.events_checked;
  info.bytes = DirectoryBytes(dir);
  return absl::OkStatus();
}

absl::StatusOr<BackupInfo> EventLogImpl::Backup(const std::string& dir) {
  if (dir.empty()) {
    return absl::InvalidArgumentError(
        "the backup directory is empty; name a new directory on the server's "
        "machine");
  }
  const fs::path target = AbsolutePath(dir);
  const std::string target_name = target.string();
  MutexLock backup_lock(&backup_mu_);
  RETURN_IF_ERROR(CheckNewDirectory(
      target, "backup directory",
      "name a new or empty directory (a backup never overwrites one)"));
  std::error_code ec;
  if (!fs::is_directory(target.parent_path(), ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup directory's parent ", target.parent_path().string(),
        " does not exist on the server's machine; create it first"));
  }
  // Symbolic links resolved, so that a link cannot hide the nesting.
  const fs::path data_dir =
      fs::weakly_canonical(AbsolutePath(options_.data_dir), ec);
  const fs::path canonical_target = fs::weakly_canonical(target, ec);
  const auto [data_end, target_it] =
      std::mismatch(data_dir.begin(), data_dir.end(), canonical_target.begin(),
                    canonical_target.end());
  if (!data_dir.empty() && data_end == data_dir.end()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "backup directory ", target_name, " is inside the data directory ",
        options_.data_dir,
        "; choose a directory outside it, preferably on other storage"));
  }

  const fs::path staging = StagingPath(target, "backup-in-progress");
  const std::string staging_name = staging.string();
  // Leftovers of a backup interrupted by a crash.
  fs::remove_all(staging, ec);
  auto fail = [&](absl::Status status) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return status;
  };

  BackupInfo info;
  info.created_at = options_.clock ? options_.clock() : absl::Now();
  {
    ReaderMutexLock db_lock(&db_mu_);
    RETURN_IF_ERROR(CheckOpen());
    rocksdb::Checkpoint* raw_checkpoint = nullptr;
    rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw_checkpoint);
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
    // Flushes the memtable (log_size_for_flush 0), then links the table
    // files and copies the MANIFEST and the live WAL as far as it was
    // written. Each group commit is one WAL record, so the copy ends at a
    // group boundary or inside the record of a group still being written,
    // which the WAL recovery of a read drops as a torn tail: the snapshot
    // never holds part of a group.
    if (s.ok()) s = checkpoint->CreateCheckpoint(staging_name);
    if (!s.ok()) {
      return fail(FromRocksDb(
          s, absl::StrCat("writing a checkpoint of the log into ",
                          staging_name)));
    }
  }
  if (absl::Status checked = CheckSnapshot(staging_name, options_.env, info);
      !checked.ok()) {
    // The snapshot's files are the live log's (hard links or copies): name
    // those.
    return fail(Rewritten(
        checked, staging_name, options_.data_dir,
        absl::StrCat("no backup was written to ", target_name,
                     ": checking the snapshot of the log: "),
        /*drop_live_advice=*/false));
  }
  const std::string info_path =
      (staging / kBackupInfoFileName).string();
  if (absl::Status s = WriteFileSynced(info_path, EncodeBackupInfo(info));
      !s.ok()) {
    return fail(s);
  }
  if (absl::Status s = SyncPath(staging_name); !s.ok()) return fail(s);
  // rename(2) replaces an empty directory, so `target` appears complete or
  // not at all.
  if (::rename(staging_name.c_str(), target_name.c_str()) != 0) {
    return fail(FileError(errno, "renaming the finished backup to",
                          target_name));
  }
  RETURN_IF_ERROR(SyncPath(target.parent_path().string()));
  info.dir = target_name;
  info.bytes = DirectoryBytes(target);
  info.same_filesystem = SameFilesystem(options_.data_dir, target_name);
  return info;
}

absl::StatusOr<BackupInfo> EventLogImpl::Restore(
    const std::string& backup_dir, const std::string& data_dir) {
  if (backup_dir.empty()) {
    return absl::InvalidArgumentError(
        "the backup directory to restore from is empty; name a directory "
        "written by `caseline backup`");
  }
  if (data_dir.empty()) {
    return absl::InvalidArgumentError(
        "the data directory to restore into is empty; name a new directory");
  }
  const fs::path source = AbsolutePath(backup_dir);
  const fs::path target = AbsolutePath(data_dir);
  const std::string source_name = source.string();
  const std::string target_name = target.string();
  std::error_code ec;
  if (!fs::exists(source, ec)) {
    return absl::NotFoundError(absl::StrCat(
        "backup directory ", source_name,
        " does not exist; name a directory written by `caseline backup`"));
  }
  if (!fs::is_directory(source, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "backup directory ", source_name,
        " is not a directory; name a directory written by `caseline backup`"));
  }
  const std::string info_path = (source / kBackupInfoFileName).string();
  if (!fs::exists(info_path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        source_name, " holds no ", kBackupInfoFileName,
        " file, so it is not a complete backup: it was not written by "
        "`caseline backup`, or that backup did not finish. Restore from "
        "another backup"));
  }
  ASSIGN_OR_RETURN(const std::string info_text, ReadSmallFile(info_path));
  ASSIGN_OR_RETURN(const RecordedBackup recorded,
                   ParseBackupInfo(info_text, info_path));
  RETURN_IF_ERROR(CheckNewDirectory(
      target, "data directory",
      "restore into a new or empty directory, or move this one aside first"));
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    return FileError(ec.value(), "creating",
                     target.parent_path().string());
  }

  const fs::path staging = StagingPath(target, "restore-in-progress");
  const std::string staging_name = staging.string();
  fs::remove_all(staging, ec);  // an interrupted earlier restore's leftovers
  if (!fs::create_directory(staging, ec) || ec) {
    return FileError(ec.value(), "creating", staging_name);
  }
  auto fail = [&](absl::Status status) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return status;
  };
  // Copies, not links or moves: the backup stays intact, whatever the
  // restored log does to its files later.
  for (const fs::directory_entry& entry :
       fs::directory_iterator(source, ec)) {
    const std::string name = entry.path().filename().string();
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec) || name == kBackupInfoFileName ||
        absl::StartsWith(name, "LOG")) {
      continue;
    }
    if (absl::Status s =
            CopyFileSynced(entry.path().string(), (staging / name).string());
        !s.ok()) {
      return fail(s);
    }
  }
  if (ec) return fail(FileError(ec.value(), "listing", source_name));
  if (absl::Status s = SyncPath(staging_name); !s.ok()) return fail(s);

  BackupInfo info;
  const std::string nothing_restored =
      absl::StrCat("nothing was restored (", target_name, " is as it was)");
  if (absl::Status checked = CheckSnapshot(staging_name, nullptr, info);
      !checked.ok()) {
    // The copy's files are the backup's: name those.
    return fail(Rewritten(
        checked, staging_name, source_name,
        checked.code() == absl::StatusCode::kDataLoss
            ? absl::StrCat("backup ", source_name, " is damaged, so ",
                           nothing_restored, "; restore from another backup: ")
            : absl::StrCat(nothing_restored, ": "),
        /*drop_live_advice=*/true));
  }
  if (info.head_position != recorded.head_position ||
      HashToHex(info.head_hash) != recorded.head_hash) {
    return fail(absl::DataLossError(absl::StrCat(
        "backup ", source_name, " holds events up to position ",
        info.head_position, " (hash ", HashToHex(info.head_hash),
        "), but recorded head position ", recorded.head_position, " (hash ",
        recorded.head_hash,
        ") when it was made: a file is missing or altered, e.g. a "
        "write-ahead log file (*.log), so ",
        nothing_restored, "; restore from another backup")));
  }
  if (::rename(staging_name.c_str(), target_name.c_str()) != 0) {
    return fail(
        FileError(errno, "renaming the restored log to", target_name));
  }
  RETURN_IF_ERROR(SyncPath(target.parent_path().string()));
  info.dir = target_name;
  info.created_at = recorded.created_at;
  return info;
}

}  // namespace caseline::eventstore
