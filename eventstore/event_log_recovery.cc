// Opening and closing the log: RocksDB options, the format version check, and
// recovery of the head from the last event key (no scan of the log).
#include <algorithm>
#include <future>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_join.h"
#include "eventstore/envelope.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/info_log.h"
#include "eventstore/key_format.h"
#include "base/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace caseline::eventstore {

absl::Status FromRocksDb(const rocksdb::Status& status,
                         absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", status.ToString());
  switch (status.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(message);
    case rocksdb::Status::kCorruption:
      // RocksDB's checksum errors name the damaged file ("... in
      // <data_dir>/000012.sst offset 0 size 4015"); Open names a damaged WAL
      // itself (DescribeOpenFailure).
      return absl::DataLossError(absl::StrCat(message, kDamagedDataAdvice));
    case rocksdb::Status::kIOError:
      if (status.IsNoSpace()) {
        return absl::ResourceExhaustedError(
            absl::StrCat(message, "; free disk space and retry"));
      }
      return absl::UnavailableError(message);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kShutdownInProgress:
      return absl::UnavailableError(message);
    case rocksdb::Status::kAborted:
      return absl::AbortedError(message);
    default:
      return absl::InternalError(message);
  }
}

namespace {

class NoAutomaticRecovery : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "caseline.NoAutomaticRecovery"; }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/,
                            rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    *auto_recovery = false;
  }
};

}  // namespace

std::shared_ptr<rocksdb::EventListener> NewNoAutomaticRecovery() {
  return std::make_shared<NoAutomaticRecovery>();
}

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(
    EventLogOptions options) {
  return EventLogImpl::Open(std::move(options));
}

void EventLog::AppendEachAsync(std::vector<AppendRequest> requests,
                               std::vector<AppendCallback> done) {
  for (size_t i = 0; i < requests.size(); ++i) {
    AppendAsync(std::move(requests[i]), std::move(done[i]));
  }
}

absl::StatusOr<uint64_t> EventLog::SyncedHead() { return HeadPosition(); }

absl::Status EventLog::AwaitAcknowledged(absl::Duration /*timeout*/) {
  return absl::OkStatus();
}

absl::Status EventLog::ApplyReplicated(const ReplicatedGroup& /*group*/) {
  return absl::FailedPreconditionError(
      "this event log does not apply replicated groups");
}

absl::StatusOr<AppendResult> EventLog::Append(AppendRequest request) {
  std::promise<absl::StatusOr<AppendResult>> result;
  AppendAsync(std::move(request), [&result](absl::StatusOr<AppendResult> r) {
    result.set_value(std::move(r));
  });
  return result.get_future().get();
}

namespace {

// Follows the WAL replay of DB::Open, so that a damaged WAL record can be
// pinned to its file: RocksDB reports it as a bare "Corruption: checksum
// mismatch" (the file name goes only to RocksDB's own LOG). Replay reads the
// WAL files in ascending number and stops at the first damaged record, so the
// damage lies after the last record seen: later in that file, or at the start
// of a later one.
class WalReplayTracker : public rocksdb::WalFilter {
 public:
  const char* Name() const override { return "caseline.WalReplayTracker"; }

  void ColumnFamilyLogNumberMap(
      const std::map<uint32_t, uint64_t>& log_numbers,
      const std::map<std::string, uint32_t>& /*names*/) override {
    replay_started_ = true;
    for (const auto& [column_family, number] : log_numbers) {
      first_wal_ = std::min(first_wal_, number);
    }
  }

  WalProcessingOption LogRecordFound(unsigned long long log_number,
                                     const std::string& /*log_file_name*/,
                                     const rocksdb::WriteBatch& /*batch*/,
                                     rocksdb::WriteBatch* /*new_batch*/,
                                     bool* /*batch_changed*/) override {
    if (records_in_last_ == 0 || log_number != last_wal_) {
      last_wal_ = log_number;
      records_in_last_ = 0;
    }
    ++records_in_last_;
    return WalProcessingOption::kContinueProcessing;
  }

  bool replay_started() const { return replay_started_; }

  // Where the damage that stopped replay can be, for an error message: the
  // last WAL file replay read from, or failing that the WAL files it had not
  // reached (empty ones cannot hold a damaged record).
  std::string DescribeDamage(rocksdb::Env& env,
                             const std::string& data_dir) const {
    const uint64_t from = records_in_last_ > 0 ? last_wal_ : first_wal_;
    std::vector<std::pair<uint64_t, std::string>> candidates;
    std::vector<std::string> children;
    env.GetChildren(data_dir, &children).PermitUncheckedError();
    for (const std::string& name : children) {
      absl::string_view stem = name;
      uint64_t number = 0;
      if (!absl::ConsumeSuffix(&stem, ".log") ||
          !absl::SimpleAtoi(stem, &number) || number < from) {
        continue;
      }
      const std::string path = absl::StrCat(data_dir, "/", name);
      uint64_t size = 0;
      if ((number == last_wal_ && records_in_last_ > 0) ||
          (env.GetFileSize(path, &size).ok() && size > 0)) {
        candidates.emplace_back(number, path);
      }
    }
    std::sort(candidates.begin(), candidates.end());
    if (candidates.empty()) {
      return absl::StrCat("a write-ahead log file (*.log) in ", data_dir,
                          " is damaged");
    }
    if (candidates.size() == 1) {
      const std::string& path = candidates[0].second;
      if (records_in_last_ > 0 && candidates[0].first == last_wal_) {
        return absl::StrCat("the write-ahead log file ", path,
                            " is damaged after its record ", records_in_last_);
      }
      return absl::StrCat("the write-ahead log file ", path,
                          " is damaged at its first record");
    }
    std::vector<std::string> paths;
    for (const auto& [number, path] : candidates) paths.push_back(path);
    return absl::StrCat(
        "one of the write-ahead log files ", absl::StrJoin(paths, ", "),
        " is damaged (replay read ", records_in_last_, " records of the first)");
  }

 private:
  bool replay_started_ = false;
  uint64_t first_wal_ = UINT64_MAX;
  uint64_t last_wal_ = 0;
  uint64_t records_in_last_ = 0;
};

// The error for a failed DB::Open. RocksDB names the file in its corruption
// messages for table files and the MANIFEST, but not for a WAL record.
absl::Status DescribeOpenFailure(const rocksdb::Status& status,
                                 const std::string& data_dir,
                                 rocksdb::Env& env,
                                 const WalReplayTracker& wal) {
  const std::string context = absl::StrCat("opening ", data_dir);
  if (!status.IsCorruption() ||
      absl::StrContains(status.ToString(), data_dir) ||
      !wal.replay_started()) {
    return FromRocksDb(status, context);
  }
  return absl::DataLossError(absl::StrCat(
      context, ": ", wal.DescribeDamage(env, data_dir), " (",
      status.ToString(),
      "). It may hold acknowledged events, so the log does not start "
      "without them: restore the data directory from a backup, or, only if "
      "losing the events past the damage is acceptable, move that file out "
      "of the directory"));
}

// Groups keys that are inserted in ascending order, so that the memtable can
// insert each next to the previous one of its group instead of searching the
// skip list: all event keys ('e', ascending positions), and each stream's index
// keys ('s' + stream, ascending versions). Other keys form one-byte groups.
class AscendingKeyGroups : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "caseline.AscendingKeyGroups"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    if (key.size() >= 3 && key[0] == kStreamIndexPrefix) {
      const size_t length =
          (static_cast<uint8_t>(key[1]) << 8) | static_cast<uint8_t>(key[2]);
      if (key.size() >= 3 + length)
        return rocksdb::Slice(key.data(), 3 + length);
    }
    return rocksdb::Slice(key.data(), 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return !key.empty();
  }
};

// Writes the format version into a new directory, or checks an existing one.
absl::Status CheckFormatVersion(rocksdb::DB& db, absl::string_view data_dir) {
  std::string value;
  rocksdb::Status s = db.Get(rocksdb::ReadOptions(), kFormatVersionKey, &value);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(
        db.NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) {
      return absl::DataLossError(absl::StrCat(
          "data directory ", data_dir,
          " holds data but no Caseline format version: it is not a Caseline "
          "log, or it is damaged; point --data_dir at a Caseline directory"));
    }
    RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the data directory"));
    std::string encoded;
    PutFixed32BE(&encoded, kFormatVersion);
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    return FromRocksDb(db.Put(write_options, kFormatVersionKey, encoded),
                       "writing the format version");
  }
  RETURN_IF_ERROR(FromRocksDb(s, "reading the format version"));
  if (value.size() != 4) {
    return absl::DataLossError(absl::StrCat(
        "data directory ", data_dir, ": the format version record is ",
        value.size(), " bytes instead of 4"));
  }
  const uint32_t version = DecodeFixed32BE(value);
  if (version > kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", data_dir, " was written in log format version ",
        version, ", newer than the version ", kFormatVersion,
        " this caselined reads; run a caselined that supports it"));
  }
  return absl::OkStatus();
}

// The RocksDB options of the log's database (docs/log_format.md).
// `wal_tracker` must outlive the database opened with them. `info_log` is
// RocksDB's informational log (eventstore/info_log.h).
rocksdb::Options DatabaseOptions(const EventLogOptions& options,
                                 const std::shared_ptr<rocksdb::Cache>& cache,
                                 WalReplayTracker* wal_tracker,
                                 std::shared_ptr<rocksdb::Logger> info_log) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  // Never RocksDB's own LOG writer: on a full disk it aborts the process
  // (eventstore/info_log.h).
  db_options.info_log = std::move(info_log);
  // No preallocation: RocksDB would fallocate each new WAL file
  // write_buffer_size + 10% ahead (70 MiB by default), each MANIFEST 4 MiB
  // and each compaction output its target size + 10%. On ext4 a
  // preallocation that does not fit fails with ENOSPC but keeps the blocks
  // it got, so on a small or nearly full disk one WAL file holds all the
  // free space while the MANIFEST, the flushes and the view store find none
  // (on a 64 MB filesystem, before the first append). Files then take space
  // only as they are written, free space is what it says, and the WAL size
  // that RoomToReopen() counts is what recovery really needs.
  db_options.allow_fallocate = false;
  // Paranoid checks make any failed write a background error that stops
  // further writes until recovery. Without them RocksDB shrugs off a failed
  // WAL write and appends the next records after the torn one, which the
  // next start would read as damage in the middle of the WAL. They also make
  // Open check every table file it lists.
  db_options.paranoid_checks = true;
  // WAL recovery: kTolerateCorruptedTailRecords. An append is acknowledged
  // only after its WAL record is synced, so a record cut short at the very end
  // of a WAL is an append that was never acknowledged (the process or the
  // machine died while writing it, or the disk filled up): replay drops it,
  // as after any crash. A damaged record anywhere else (a checksum mismatch)
  // fails Open with DATA_LOSS naming the file. RocksDB's default,
  // kPointInTimeRecovery, would instead stop replay at the damage and open
  // without every later record, so acknowledged events would silently
  // vanish; kAbsoluteConsistency would also refuse the torn tail that any
  // crash may leave, so a SIGKILL could stop the log from starting.
  db_options.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_options.wal_filter = wal_tracker;
  db_options.listeners.push_back(NewNoAutomaticRecovery());
  // One thread writes (the log's writer), so memtable inserts need no
  // concurrency control and can use per-group insert hints.
  db_options.allow_concurrent_memtable_write = false;
  db_options.enable_write_thread_adaptive_yield = false;
  db_options.memtable_insert_with_hint_prefix_extractor =
      std::make_shared<AscendingKeyGroups>();
  if (options.env != nullptr) db_options.env = options.env;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = cache;
  // Event-id and stream-head lookups are point reads that mostly miss.
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  return db_options;
}

rocksdb::Env& EnvOf(const EventLogOptions& options) {
  return options.env != nullptr ? *options.env : *rocksdb::Env::Default();
}

// Opens the log's database, for writing or read-only.
absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenDatabase(
    const EventLogOptions& options,
    const std::shared_ptr<rocksdb::Cache>& cache,
    const std::shared_ptr<rocksdb::Logger>& info_log,
    WalReplayTracker* wal_tracker, bool read_only) {
  const rocksdb::Options db_options =
      DatabaseOptions(options, cache, wal_tracker, info_log);
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(db_options, options.data_dir,
                                               &raw_db)
                : rocksdb::DB::Open(db_options, options.data_dir, &raw_db);
  if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", options.data_dir,
        " is in use by another process (its RocksDB LOCK is held): stop the "
        "other caselined or choose another --data_dir (",
        s.ToString(), ")"));
  }
  if (!s.ok()) {
    return DescribeOpenFailure(s, options.data_dir, EnvOf(options),
                               *wal_tracker);
  }
  return std::unique_ptr<rocksdb::DB>(raw_db);
}

// Discards RocksDB's informational log, so that a read-only check writes no
// LOG file into the directory it checks.
class DiscardingLogger : public rocksdb::Logger {
 public:
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
  void Logv(const rocksdb::InfoLogLevel /*level*/, const char* /*format*/,
            va_list /*ap*/) override {}
};

}  // namespace

absl::StatusOr<ReadOnlyLog> OpenLogReadOnly(const std::string& dir,
                                            rocksdb::Env* env) {
  EventLogOptions options;
  options.data_dir = dir;
  options.env = env;
  // Each block is read once: a small cache, and no lasting memory.
  auto cache = rocksdb::NewLRUCache(8 << 20);
  auto wal_tracker = std::make_unique<WalReplayTracker>();
  rocksdb::Options db_options = DatabaseOptions(
      options, cache, wal_tracker.get(), std::make_shared<DiscardingLogger>());
  db_options.create_if_missing = false;
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(db_options, dir, &raw_db);
  if (!s.ok()) {
    if (s.IsInvalidArgument() && absl::StrContains(s.ToString(), "exist")) {
      return absl::DataLossError(absl::StrCat(
          dir, " holds no RocksDB database (no CURRENT file): ",
          s.ToString()));
    }
    return DescribeOpenFailure(s, dir, EnvOf(options), *wal_tracker);
  }
  ReadOnlyLog log;
  log.wal_filter = std::move(wal_tracker);
  log.db.reset(raw_db);
  std::string value;
  const rocksdb::Status version =
      log.db->Get(rocksdb::ReadOptions(), kFormatVersionKey, &value);
  if (version.IsNotFound()) {
    return absl::DataLossError(absl::StrCat(
        dir, " holds no Caseline format version: it is not a Caseline log"));
  }
  RETURN_IF_ERROR(FromRocksDb(version, "reading the format version"));
  if (value.size() != 4) {
    return absl::DataLossError(
        absl::StrCat(dir, ": the format version record is ", value.size(),
                     " bytes instead of 4"));
  }
  if (DecodeFixed32BE(value) > kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " was written in log format version ", DecodeFixed32BE(value),
        ", newer than the version ", kFormatVersion,
        " this caselined reads; use a caselined that supports it"));
  }
  return log;
}

absl::StatusOr<EventLogImpl::Head> EventLogImpl::RecoverHead(rocksdb::DB& db) {
  // The head is the last event key: one seek, whatever the log's length.
  Head head;
  std::unique_ptr<rocksdb::Iterator> it(
      db.NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(EventKey(UINT64_MAX));
  if (it->Valid() && it->key().size() == kEventKeySize &&
      it->key()[0] == kEventPrefix) {
    head.position = DecodeFixed64BE(absl::string_view(it->key().data() + 1, 8));
    ASSIGN_OR_RETURN(RecordedEvent last, DecodeEnvelope(View(it->value())));
    if (last.global_position != head.position) {
      return absl::DataLossError(
          absl::StrCat("the event stored under position ", head.position,
                       " says position ", last.global_position,
                       "; run `caseline verify` to locate the damage"));
    }
    head.hash = last.hash;
    head.recorded_at = last.recorded_at;
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "recovering the log head"));
  std::string version;
  RETURN_IF_ERROR(FromRocksDb(
      db.Get(rocksdb::ReadOptions(), kFormatVersionKey, &version),
      "reading the format version"));
  if (version.size() == 4) head.format_version = DecodeFixed32BE(version);
  return head;
}

absl::StatusOr<std::unique_ptr<EventLog>> EventLogImpl::Open(
    EventLogOptions options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("data_dir is empty; name a directory");
  }
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::shared_ptr<rocksdb::Logger> info_log =
      NewInfoLog(InfoLogOptions{options.data_dir, options.env});
  auto wal_tracker = std::make_unique<WalReplayTracker>();
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db,
                   OpenDatabase(options, cache, info_log, wal_tracker.get(),
                                /*read_only=*/false));
  RETURN_IF_ERROR(CheckFormatVersion(*db, options.data_dir));
  RETURN_IF_ERROR(CheckDataKeys(*db, options.kek, options.data_dir));
  ASSIGN_OR_RETURN(const Head head, RecoverHead(*db));
  return std::unique_ptr<EventLog>(new EventLogImpl(
      std::move(options), std::move(wal_tracker), std::move(db),
      std::move(cache), std::move(info_log), head));
}

EventLogImpl::EventLogImpl(EventLogOptions options,
                           std::unique_ptr<rocksdb::WalFilter> wal_filter,
                           std::unique_ptr<rocksdb::DB> db,
                           std::shared_ptr<rocksdb::Cache> cache,
                           std::shared_ptr<rocksdb::Logger> info_log,
                           const Head& head)
    : options_(std::move(options)),
      block_cache_(std::move(cache)),
      info_log_(std::move(info_log)),
      wal_filter_(std::move(wal_filter)),
      db_(std::move(db)),
      head_position_(head.position),
      next_position_(head.position + 1),
      chain_head_(head.hash),
      format_version_(head.format_version),
      last_recorded_at_(head.recorded_at) {
  completer_ = std::thread([this] { CompletionLoop(); });
  writer_ = std::thread([this] { WriterLoop(); });
}

bool RoomToReopen(rocksdb::Env& env, const std::string& dir) {
  uint64_t free_bytes = 0;
  if (!env.GetFreeSpace(dir, &free_bytes).ok()) return true;
  uint64_t wal_bytes = 0;
  std::vector<std::string> children;
  env.GetChildren(dir, &children).PermitUncheckedError();
  for (const std::string& name : children) {
    uint64_t size = 0;
    if (absl::EndsWith(name, ".log") &&
        env.GetFileSize(absl::StrCat(dir, "/", name), &size).ok()) {
      wal_bytes += size;
    }
  }
  // The new table file, MANIFEST and OPTIONS files, and a little headroom.
  return free_bytes >= wal_bytes + (16 << 20);
}

bool EventLogImpl::RoomToReopen() {
  return eventstore::RoomToReopen(EnvOf(options_), options_.data_dir);
}

absl::Status EventLogImpl::ReopenAfterDiskFull() {
  WriterMutexLock db_lock(&db_mu_);
  if (db_ != nullptr) {
    // Nothing to flush: writes are stopped, and the WAL holds every
    // acknowledged append. Closing leaves a torn last record where it is.
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
  auto wal_tracker = std::make_unique<WalReplayTracker>();
  absl::StatusOr<std::unique_ptr<rocksdb::DB>> db =
      OpenDatabase(options_, block_cache_, info_log_, wal_tracker.get(),
                   /*read_only=*/false);
  absl::Status reopened = db.status();
  if (db.ok()) {
    absl::StatusOr<Head> head = RecoverHead(**db);
    reopened = head.status();
    if (head.ok()) {
      wal_filter_ = std::move(wal_tracker);
      db_ = *std::move(db);
      // The writer state, as Open recovers it. A failed append whose record
      // did reach the WAL intact (a sync that failed for lack of space) was
      // just replayed: it is now part of the log.
      next_position_ = head->position + 1;
      chain_head_ = head->hash;
      format_version_ = head->format_version;
      last_recorded_at_ = std::max(last_recorded_at_, head->recorded_at);
      stream_heads_.clear();
      MutexLock lock(&mu_);
      if (head->position != head_position_) {
        head_position_ = head->position;
        head_cv_.SignalAll();
      }
      return absl::OkStatus();
    }
    (*db)->Close().PermitUncheckedError();
  }
  // Serve reads from a read-only open meanwhile; it writes nothing.
  auto read_only_tracker = std::make_unique<WalReplayTracker>();
  absl::StatusOr<std::unique_ptr<rocksdb::DB>> read_only =
      OpenDatabase(options_, block_cache_, info_log_, read_only_tracker.get(),
                   /*read_only=*/true);
  if (read_only.ok()) {
    wal_filter_ = std::move(read_only_tracker);
    db_ = *std::move(read_only);
  }
  return reopened;
}

EventLogImpl::~EventLogImpl() {
  {
    MutexLock lock(&mu_);
    closing_ = true;
    writer_cv_.Signal();
    head_cv_.SignalAll();
  }
  writer_.join();  // decides every queued append first
  {
    MutexLock lock(&completion_mu_);
    writer_done_ = true;
    completion_cv_.Signal();
  }
  completer_.join();  // then answers them
  WriterMutexLock db_lock(&db_mu_);
  if (db_ == nullptr) return;
  // Every append is already in the synced WAL; flushing the memtable only
  // spares the next start a WAL replay, so a failure here loses nothing.
  // After a failed write, writes are stopped and the flush fails harmlessly.
  rocksdb::FlushOptions flush;
  flush.wait = true;
  db_->Flush(flush).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

}  // namespace caseline::eventstore
