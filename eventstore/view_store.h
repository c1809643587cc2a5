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
// Thread-safety: every method may be called concurrently.
#ifndef CASELINE_EVENTSTORE_VIEW_STORE_H_
#define CASELINE_EVENTSTORE_VIEW_STORE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rocksdb {
class DB;
class Env;
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

// Reads of one consistent point in time (or of the latest state).
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
  ViewSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snapshot)
      : db_(db), snapshot_(snapshot) {}
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;  // nullptr: the latest state
};

class WalFailureGuard;  // view_store.cc

class ViewStore {
 public:
  // FAILED_PRECONDITION when another process holds the directory, DATA_LOSS
  // when it is damaged.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ViewStore>> Open(
      ViewStoreOptions options);
  ~ViewStore();
  ViewStore(const ViewStore&) = delete;
  ViewStore& operator=(const ViewStore&) = delete;

  // Applies the batch atomically. RESOURCE_EXHAUSTED while the disk is full:
  // RocksDB resumes writing by itself once there is space again (it polls
  // every few seconds). UNAVAILABLE when a full disk stopped writes in a way
  // RocksDB cannot resume in place: then only a restart helps.
  [[nodiscard]] absl::Status Write(ViewWriteBatch& batch);

  // A consistent snapshot of the current state.
  std::unique_ptr<ViewSnapshot> NewSnapshot();
  // Reads of the latest state, without a snapshot.
  std::unique_ptr<ViewSnapshot> Latest();

 private:
  ViewStore(std::unique_ptr<rocksdb::DB> db,
            std::shared_ptr<WalFailureGuard> guard);
  const std::shared_ptr<WalFailureGuard> guard_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_VIEW_STORE_H_
