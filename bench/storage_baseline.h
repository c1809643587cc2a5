// The storage ceiling: the same events written straight into RocksDB, outside
// the server, as synced WriteBatches from the same number of threads. No gRPC,
// no group commit of our own, no expected-version check: what the disk and
// RocksDB allow before Caseline adds anything.
#ifndef CASELINE_BENCH_STORAGE_BASELINE_H_
#define CASELINE_BENCH_STORAGE_BASELINE_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/bench_util.h"
#include "rocksdb/db.h"

namespace caseline::bench {

class StorageBaseline {
 public:
  // Opens (creating) a RocksDB database in `dir`, which must not exist.
  static absl::StatusOr<std::unique_ptr<StorageBaseline>> Open(
      const std::string& dir);
  ~StorageBaseline();

  // `callers` threads each write batches of `events_per_batch` events, each
  // event stored as the log stores it (sealed envelope under its position,
  // stream index and event-id keys), with WriteOptions::sync.
  Load Append(int callers, int events_per_batch, const std::string& payload,
              absl::Duration warmup, absl::Duration duration);

 private:
  explicit StorageBaseline(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
  std::atomic<uint64_t> next_position_{1};
  int runs_ = 0;
};

}  // namespace caseline::bench

#endif  // CASELINE_BENCH_STORAGE_BASELINE_H_
