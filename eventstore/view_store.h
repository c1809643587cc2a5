// ViewStore: the RocksDB database that holds projections' state, beside the
// log (in <data_dir>/views). Projections live above eventstore and never see
// RocksDB; this is the narrow key/value surface they get: atomic batches,
// point reads, ordered range scans and consistent snapshots.
//
// Writes are not synced one by one: the write-ahead log still makes every
// acknowledged batch survive a process crash, and after a machine crash a
// suffix of batches may be lost together with the checkpoint stored in them,
// so a projection simply re-applies those events from the durable log.
//
// A full disk stops writes, not reads; once there is room again the store
// reopens its database in place, as the event log does (event_log_impl.h,
// reopen_needed_), and writes resume without a restart.
//
// Thread-safety: every method may be called concurrently.
#ifndef CASELINE_EVENTSTORE_VIEW_STORE_H_
#define CASELINE_EVENTSTORE_VIEW_STORE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/mutex.h"

namespace rocksdb {
class Cache;
class Env;
class Logger;
class Snapshot;
class WriteBatch;
}  // namespace rocksdb

namespace caseline::eventstore {

struct ViewStoreOptions {
  // RocksDB directory; created when missing. Required.
  std::string dir;
  // Block cache size. Default: 64 MiB.
  size_t block_cache_bytes = 64 << 20;
  // Not owned; for fault-injection tests. Default: the real environment.
  rocksdb::Env* env = nullptr;
};

// Writes applied together or not at all.
class ViewWriteBatch {
 public:
  ViewWriteBatch();
  ~ViewWriteBatch();
  ViewWriteBatch(const ViewWriteBatch&) = delete;
  ViewWriteBatch& operator=(const ViewWriteBatch&) = delete;

  void Put(absl::string_view key, absl::string_view value);
  void Delete(absl::string_view key);
  // Deletes every key in [begin, end).
  void DeleteRange(absl::string_view begin, absl::string_view end);
  size_t count() const;

 private:
  friend class ViewStore;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
};

// One open of the store's RocksDB database (view_store.cc), shared by the
// store and every snapshot read from it.
class ViewDatabase;

// Reads of one consistent point in time (or of the latest state). Keeps the
// database it reads open: while any snapshot lives, a full disk's reopen
// waits.
class ViewSnapshot {
 public:
  ~ViewSnapshot();
  ViewSnapshot(const ViewSnapshot&) = delete;
  ViewSnapshot& operator=(const ViewSnapshot&) = delete;

  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) const;
  // Calls fn(key, value) for keys in [begin, end) in order until it returns
  // false.
  absl::Status Scan(
      absl::string_view begin, absl::string_view end,
      absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn) const;

 private:
  friend class ViewStore;
  ViewSnapshot(std::shared_ptr<ViewDatabase> db,
               const rocksdb::Snapshot* snapshot)
      : db_(std::move(db)), snapshot_(snapshot) {}
  // Null only when the store could not reopen its database at all.
  std::shared_ptr<ViewDatabase> db_;
  const rocksdb::Snapshot* snapshot_;  // nullptr: the latest state
};

class ViewStore {
 public:
  // FAILED_PRECONDITION when another process holds the directory, DATA_LOSS
  // when it is damaged.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ViewStore>> Open(
      ViewStoreOptions options);
  // REQUIRES: every snapshot of the store was destroyed.
  ~ViewStore();
  ViewStore(const ViewStore&) = delete;
  ViewStore& operator=(const ViewStore&) = delete;

  // Applies the batch atomically. RESOURCE_EXHAUSTED while the disk is full:
  // the batch was not applied. Once there is room again (checked a few times
  // a second) and no snapshot or write is using the database, the store
  // closes and reopens it, as a restart would, and writes resume by
  // themselves. UNAVAILABLE when any other write failed (RocksDB then stops
  // writes) or a reopen failed for another reason than space: only a restart
  // helps.
  [[nodiscard]] absl::Status Write(ViewWriteBatch& batch);

  // Makes deleted and overwritten values physically gone: flushes the
  // memtable (so no live write-ahead log holds them) and compacts every
  // table file down to the bottommost level. Called after a projection
  // forgot an erased client (docs/log_format.md "Erasure"). Costs a rewrite
  // of the whole store; erasures are rare. Errors as Write.
  [[nodiscard]] absl::Status Purge();

  // A consistent snapshot of the current state.
  std::unique_ptr<ViewSnapshot> NewSnapshot();
  // Reads of the latest state, without a snapshot.
  std::unique_ptr<ViewSnapshot> Latest();

 private:
  ViewStore(ViewStoreOptions options, std::shared_ptr<rocksdb::Logger> info_log,
            std::shared_ptr<rocksdb::Cache> block_cache,
            std::shared_ptr<ViewDatabase> db);

  // The database for one read or write; null when none could be opened.
  std::shared_ptr<ViewDatabase> Current() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits for a full disk to have room again, then reopens the database.
  void ReopenLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Closes db_ and opens it again; when that fails, opens it read-only so
  // that reads continue, and returns the error.
  absl::Status ReopenLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ViewStoreOptions options_;
  // RocksDB's LOG (eventstore/info_log.h) and block cache, kept across
  // reopens.
  const std::shared_ptr<rocksdb::Logger> info_log_;
  const std::shared_ptr<rocksdb::Cache> block_cache_;

  Mutex mu_;
  CondVar reopen_cv_{&mu_};  // disk_full_ was set, or closing_
  std::shared_ptr<ViewDatabase> db_ ABSL_GUARDED_BY(mu_);
  // Set when a write failed for lack of space; cleared by a reopen.
  bool disk_full_ ABSL_GUARDED_BY(mu_) = false;
  // Set when a reopen failed for another reason: what every write returns.
  absl::Status reopen_failure_ ABSL_GUARDED_BY(mu_);
  absl::Time last_failed_reopen_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reopener_;
};

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_VIEW_STORE_H_
