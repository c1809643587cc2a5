#include "eventstore/view_store.h"

#include <atomic>
#include <utility>

#include "absl/base/dynamic_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/info_log.h"
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

// Keeps a full disk from crashing the process through the view store.
//
// When a WAL write fails (say, for lack of space), RocksDB stops writes and,
// once space is back, resumes in place on its own; the resume switches to a
// new WAL only if the active memtable holds entries. With an empty one, the
// resumed database keeps the WAL writer that failed, and the next write to it
// (or a WAL sync) trips an assertion: Debian's RocksDB 7.8 is built with
// assertions on, so the process aborts (RocksDB issue #11643). This listener
// lets RocksDB recover by itself except in that case, where the store instead
// refuses writes until a restart, and it remembers a failed WAL write so that
// closing does not sync that WAL. (The event log avoids Resume() altogether
// and reopens its database instead; the view store is shared by readers that
// hold raw snapshots, and views can always be rebuilt from the log, so it
// keeps RocksDB's own recovery where that is safe.)
class WalFailureGuard : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "caseline.WalFailureGuard"; }

  // The database to inspect; set once it is open.
  void set_db(rocksdb::DB* db) { db_ = db; }
  // Whether writes are stopped until a restart.
  bool stuck() const { return stuck_; }
  // Whether the current WAL's writer failed and was not replaced.
  bool wal_failed() const { return wal_failed_; }

  void OnBackgroundError(rocksdb::BackgroundErrorReason reason,
                         rocksdb::Status* error) override {
    if (reason == rocksdb::BackgroundErrorReason::kWriteCallback &&
        !error->ok()) {
      wal_failed_ = true;
    }
  }
  // Called with RocksDB's mutex released, from the failing write.
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason reason,
                            rocksdb::Status error,
                            bool* auto_recovery) override {
    error.PermitUncheckedError();
    if (reason != rocksdb::BackgroundErrorReason::kWriteCallback) return;
    rocksdb::DB* db = db_;
    uint64_t entries = 0;
    if (db == nullptr ||
        !db->GetIntProperty(rocksdb::DB::Properties::kNumEntriesActiveMemTable,
                            &entries) ||
        entries == 0) {
      *auto_recovery = false;
      stuck_ = true;
    }
  }
  void OnErrorRecoveryEnd(
      const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (info.new_bg_error.ok()) wal_failed_ = false;  // on a new WAL
  }

 private:
  std::atomic<rocksdb::DB*> db_{nullptr};
  std::atomic<bool> stuck_{false};
  std::atomic<bool> wal_failed_{false};
};

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
  if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
}

absl::StatusOr<std::optional<std::string>> ViewSnapshot::Get(
    absl::string_view key) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  std::string value;
  rocksdb::Status s = db_->Get(options, ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "reading view state");
  return value;
}

absl::Status ViewSnapshot::Scan(
    absl::string_view begin, absl::string_view end,
    absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  const rocksdb::Slice upper = ToSlice(end);
  options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
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
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.paranoid_checks = true;
  db_options.info_log = NewInfoLog(InfoLogOptions{options.dir, options.env});
  db_options.allow_fallocate = false;
  db_options.IncreaseParallelism(2);
  if (options.env != nullptr) db_options.env = options.env;
  auto guard = std::make_shared<WalFailureGuard>();
  db_options.listeners.push_back(guard);
  // View state is rewritten often and compacted often; compressing it cost a
  // rebuild more CPU (snappy in flushes and compactions) than its size saves.
  db_options.compression = rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.dir, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
      return absl::FailedPreconditionError(
          absl::StrCat("view store ", options.dir,
                       " is in use by another process: ", s.ToString()));
    }
    return FromRocksDb(s, absl::StrCat("opening view store ", options.dir));
  }
  guard->set_db(raw);
  return std::unique_ptr<ViewStore>(
      new ViewStore(std::unique_ptr<rocksdb::DB>(raw), std::move(guard)));
}

ViewStore::ViewStore(std::unique_ptr<rocksdb::DB> db,
                     std::shared_ptr<WalFailureGuard> guard)
    : guard_(std::move(guard)), db_(std::move(db)) {}

ViewStore::~ViewStore() {
  if (db_ != nullptr) {
    // Syncing a WAL whose writer failed would abort (see WalFailureGuard);
    // views lose nothing they cannot re-apply from the log.
    if (!guard_->wal_failed()) {
      db_->FlushWAL(/*sync=*/true).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();
  }
}

absl::Status ViewStore::Write(ViewWriteBatch& batch) {
  if (guard_->stuck()) {
    return absl::UnavailableError(
        "the view store stopped writing after a failed write (the disk was "
        "full) and cannot resume in place; free space and restart caselined: "
        "the views then catch up from the log");
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
  const rocksdb::Status written = db_->Write(options, batch.batch_.get());
  ABSL_ANNOTATE_IGNORE_READS_AND_WRITES_END();
  return FromRocksDb(written, "writing view state");
}

std::unique_ptr<ViewSnapshot> ViewStore::NewSnapshot() {
  return std::unique_ptr<ViewSnapshot>(
      new ViewSnapshot(db_.get(), db_->GetSnapshot()));
}

std::unique_ptr<ViewSnapshot> ViewStore::Latest() {
  return std::unique_ptr<ViewSnapshot>(new ViewSnapshot(db_.get(), nullptr));
}

}  // namespace caseline::eventstore
