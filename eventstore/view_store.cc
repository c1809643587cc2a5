#include "eventstore/view_store.h"

#include <atomic>
#include <utility>

#include "absl/base/dynamic_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/info_log.h"
#include "base/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace caseline::eventstore {
namespace {

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

}  // namespace

// A full disk and the view store.
//
// When a write-ahead log write fails (say, for lack of space), RocksDB stops
// writes. Its own way back, DB::Resume() (which its SstFileManager calls by
// itself once space is back), is not safe in RocksDB 7.8: it switches to a
// new WAL only if the active memtable holds entries, so with an empty one the
// resumed database keeps the WAL writer that failed, and the next write to it
// (or a WAL sync) trips an assertion; Debian's RocksDB is built with
// assertions on, so the process aborts (RocksDB issue #11643). And if a flush
// was queued but not started when writes stopped, Resume() waits for it
// forever. So, as the event log does, the store switches that recovery off
// and instead closes and reopens its database once there is room, which
// recovers exactly as a restart does. Snapshots hold the database they read
// (a shared ViewDatabase), so the reopen waits until none is in use: the
// projections drop theirs while they back off after a refused write, and a
// query's snapshot lasts one call.
class ViewDatabase {
 public:
  ViewDatabase(std::unique_ptr<rocksdb::DB> db, bool read_only)
      : db_(std::move(db)), read_only_(read_only) {}
  ~ViewDatabase() {
    // Syncing a WAL whose writer failed would abort (see above); views lose
    // nothing they cannot re-apply from the log.
    if (!read_only_ && !write_failed_.load()) {
      // Flushing the memtables to SST files first means the next open has no
      // write-ahead log to replay: after a rebuild that is hundreds of MB of
      // projection state, which replaying made the next start-up take over a
      // second. The flush moves that cost to the close, where it is a
      // sequential write; if it fails the WAL still holds every write.
      rocksdb::FlushOptions flush;
      flush.wait = true;
      flush.allow_write_stall = true;
      db_->Flush(flush).PermitUncheckedError();
      db_->FlushWAL(/*sync=*/true).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();
  }
  ViewDatabase(const ViewDatabase&) = delete;
  ViewDatabase& operator=(const ViewDatabase&) = delete;

  rocksdb::DB& db() { return *db_; }
  bool read_only() const { return read_only_; }
  void set_write_failed() { write_failed_.store(true); }

 private:
  const std::unique_ptr<rocksdb::DB> db_;
  const bool read_only_;
  std::atomic<bool> write_failed_{false};
};

namespace {

// How often the reopener checks for room while the disk is full, and how
// long it waits after a reopen that failed for lack of space.
constexpr absl::Duration kReopenPoll = absl::Milliseconds(200);
constexpr absl::Duration kReopenRetryInterval = absl::Seconds(1);

absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenDatabase(
    const ViewStoreOptions& options,
    const std::shared_ptr<rocksdb::Logger>& info_log,
    const std::shared_ptr<rocksdb::Cache>& block_cache, bool read_only) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.paranoid_checks = true;
  // Never RocksDB's own LOG writer, and no preallocation: see
  // eventstore/info_log.h and DatabaseOptions in event_log_recovery.cc.
  db_options.info_log = info_log;
  db_options.allow_fallocate = false;
  db_options.listeners.push_back(NewNoAutomaticRecovery());
  db_options.IncreaseParallelism(2);
  if (options.env != nullptr) db_options.env = options.env;
  // View state is rewritten often and compacted often; compressing it cost a
  // rebuild more CPU (snappy in flushes and compactions) than its size saves.
  db_options.compression = rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = block_cache;
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(db_options, options.dir, &raw)
                : rocksdb::DB::Open(db_options, options.dir, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
      return absl::FailedPreconditionError(
          absl::StrCat("view store ", options.dir,
                       " is in use by another process: ", s.ToString()));
    }
    return FromRocksDb(s, absl::StrCat("opening view store ", options.dir));
  }
  return std::unique_ptr<rocksdb::DB>(raw);
}

}  // namespace

ViewWriteBatch::ViewWriteBatch()
    : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
ViewWriteBatch::~ViewWriteBatch() = default;

void ViewWriteBatch::Put(absl::string_view key, absl::string_view value) {
  batch_->Put(ToSlice(key), ToSlice(value)).PermitUncheckedError();
}
void ViewWriteBatch::Delete(absl::string_view key) {
  batch_->Delete(ToSlice(key)).PermitUncheckedError();
}
void ViewWriteBatch::DeleteRange(absl::string_view begin,
                                 absl::string_view end) {
  batch_->DeleteRange(ToSlice(begin), ToSlice(end)).PermitUncheckedError();
}
size_t ViewWriteBatch::count() const {
  return static_cast<size_t>(batch_->Count());
}

ViewSnapshot::~ViewSnapshot() {
  if (snapshot_ != nullptr) db_->db().ReleaseSnapshot(snapshot_);
}

absl::StatusOr<std::optional<std::string>> ViewSnapshot::Get(
    absl::string_view key) const {
  if (db_ == nullptr) {
    return absl::UnavailableError(
        "the view store is closed after a failed reopen; restart caselined");
  }
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  std::string value;
  rocksdb::Status s = db_->db().Get(options, ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "reading view state");
  return value;
}

absl::Status ViewSnapshot::Scan(
    absl::string_view begin, absl::string_view end,
    absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn) const {
  if (db_ == nullptr) {
    return absl::UnavailableError(
        "the view store is closed after a failed reopen; restart caselined");
  }
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  const rocksdb::Slice upper = ToSlice(end);
  options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->db().NewIterator(options));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    if (!fn(View(it->key()), View(it->value()))) break;
  }
  return FromRocksDb(it->status(), "scanning view state");
}

absl::StatusOr<std::unique_ptr<ViewStore>> ViewStore::Open(
    ViewStoreOptions options) {
  if (options.dir.empty()) {
    return absl::InvalidArgumentError("the view store directory is empty");
  }
  std::shared_ptr<rocksdb::Logger> info_log =
      NewInfoLog(InfoLogOptions{options.dir, options.env});
  std::shared_ptr<rocksdb::Cache> block_cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);
  ASSIGN_OR_RETURN(
      std::unique_ptr<rocksdb::DB> db,
      OpenDatabase(options, info_log, block_cache, /*read_only=*/false));
  return std::unique_ptr<ViewStore>(new ViewStore(
      std::move(options), std::move(info_log), std::move(block_cache),
      std::make_shared<ViewDatabase>(std::move(db), /*read_only=*/false)));
}

ViewStore::ViewStore(ViewStoreOptions options,
                     std::shared_ptr<rocksdb::Logger> info_log,
                     std::shared_ptr<rocksdb::Cache> block_cache,
                     std::shared_ptr<ViewDatabase> db)
    : options_(std::move(options)),
      info_log_(std::move(info_log)),
      block_cache_(std::move(block_cache)),
      db_(std::move(db)) {
  reopener_ = std::thread([this] { ReopenLoop(); });
}

ViewStore::~ViewStore() {
  {
    MutexLock lock(&mu_);
    closing_ = true;
    reopen_cv_.Signal();
  }
  reopener_.join();
  MutexLock lock(&mu_);
  db_.reset();  // closes the database: no snapshot is left
}

std::shared_ptr<ViewDatabase> ViewStore::Current() {
  MutexLock lock(&mu_);
  return db_;
}

absl::Status ViewStore::Purge() {
  std::shared_ptr<ViewDatabase> db;
  {
    MutexLock lock(&mu_);
    if (!reopen_failure_.ok()) return reopen_failure_;
    if (disk_full_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "disk full: the view store cannot compact ", options_.dir,
          "; free space on that disk"));
    }
    db = db_;
  }
  rocksdb::FlushOptions flush;
  flush.wait = true;
  RETURN_IF_ERROR(FromRocksDb(db->db().Flush(flush), "flushing view state"));
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  return FromRocksDb(db->db().CompactRange(compact, nullptr, nullptr),
                     "compacting view state");
}

absl::Status ViewStore::Write(ViewWriteBatch& batch) {
  std::shared_ptr<ViewDatabase> db;
  {
    MutexLock lock(&mu_);
    if (!reopen_failure_.ok()) return reopen_failure_;
    if (disk_full_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "disk full: the view store cannot write to ", options_.dir,
          ", so the views wait. Free space on that disk: the store resumes "
          "by itself, without a restart, and the views catch up from the "
          "log; reads continue meanwhile"));
    }
    db = db_;
  }
  rocksdb::WriteOptions options;  // WAL on, not synced: see the header
  // Concurrent writers (the projection runners) form RocksDB write groups:
  // the group's leader copies the other writers' batches into one WAL record,
  // after a hand-off made with atomics inside the uninstrumented librocksdb.
  // ThreadSanitizer sees only the copy (libstdc++'s string append lands in an
  // instrumented instantiation) and reports it against the follower's writes
  // to its own batch, with no RocksDB frame that tests/tsan.supp could name.
  // So this thread's accesses inside the call are not checked; the batch
  // itself is built, and everything after the call is, as usual. A no-op
  // outside ThreadSanitizer builds.
  ABSL_ANNOTATE_IGNORE_READS_AND_WRITES_BEGIN();
  const rocksdb::Status written = db->db().Write(options, batch.batch_.get());
  ABSL_ANNOTATE_IGNORE_READS_AND_WRITES_END();
  if (written.ok()) return absl::OkStatus();
  db->set_write_failed();
  if (written.IsNoSpace()) {
    // Writes are stopped (this one failed, or an earlier write or a flush
    // did); the reopener takes over.
    MutexLock lock(&mu_);
    if (db_ == db) {
      disk_full_ = true;
      reopen_cv_.Signal();
    }
  }
  return FromRocksDb(written, "writing view state");
}

std::unique_ptr<ViewSnapshot> ViewStore::NewSnapshot() {
  std::shared_ptr<ViewDatabase> db = Current();
  const rocksdb::Snapshot* snapshot =
      db != nullptr ? db->db().GetSnapshot() : nullptr;
  return std::unique_ptr<ViewSnapshot>(
      new ViewSnapshot(std::move(db), snapshot));
}

std::unique_ptr<ViewSnapshot> ViewStore::Latest() {
  return std::unique_ptr<ViewSnapshot>(new ViewSnapshot(Current(), nullptr));
}

void ViewStore::ReopenLoop() {
  MutexLock lock(&mu_);
  while (!closing_) {
    if (!disk_full_) {
      reopen_cv_.Wait();
      continue;
    }
    reopen_cv_.WaitFor(kReopenPoll);
    if (closing_ || !disk_full_ ||
        absl::Now() - last_failed_reopen_ < kReopenRetryInterval ||
        !RoomToReopen(
            options_.env != nullptr ? *options_.env : *rocksdb::Env::Default(),
            options_.dir)) {
      continue;
    }
    // Only the store holds the database: no snapshot or write uses it, and
    // none can start while mu_ is held.
    if (db_ != nullptr && db_.use_count() > 1) continue;
    const absl::Status reopened = ReopenLocked();
    if (reopened.ok()) {
      disk_full_ = false;
    } else if (reopened.code() == absl::StatusCode::kResourceExhausted) {
      last_failed_reopen_ = absl::Now();
    } else {
      disk_full_ = false;
      reopen_failure_ = absl::UnavailableError(absl::StrCat(
          "the view store could not reopen its database after the disk was "
          "full (",
          reopened.message(),
          "); the views keep their last state until caselined is restarted "
          "once the disk is fixed"));
    }
  }
}

absl::Status ViewStore::ReopenLocked() {
  db_.reset();  // closes it: the WAL holds every write that succeeded
  absl::StatusOr<std::unique_ptr<rocksdb::DB>> db =
      OpenDatabase(options_, info_log_, block_cache_, /*read_only=*/false);
  if (db.ok()) {
    db_ = std::make_shared<ViewDatabase>(*std::move(db), /*read_only=*/false);
    return absl::OkStatus();
  }
  // Serve reads from a read-only open meanwhile; it writes nothing.
  absl::StatusOr<std::unique_ptr<rocksdb::DB>> read_only =
      OpenDatabase(options_, info_log_, block_cache_, /*read_only=*/true);
  if (read_only.ok()) {
    db_ = std::make_shared<ViewDatabase>(*std::move(read_only),
                                         /*read_only=*/true);
  }
  return db.status();
}

}  // namespace caseline::eventstore
