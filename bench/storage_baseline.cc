#include "bench/storage_baseline.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "eventstore/envelope.h"
#include "eventstore/event.h"
#include "eventstore/key_format.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace caseline::bench {

namespace eventstore = caseline::eventstore;

absl::StatusOr<std::unique_ptr<StorageBaseline>> StorageBaseline::Open(
    const std::string& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  // The log's own settings (eventstore/event_log_recovery.cc
  // DatabaseOptions), so that both write the same files the same way; the
  // log's WAL filter and recovery listener do nothing on this path.
  options.keep_log_file_num = 5;
  options.max_log_file_size = 16 << 20;
  options.allow_concurrent_memtable_write = false;
  options.enable_write_thread_adaptive_yield = false;
  options.paranoid_checks = true;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    return absl::InternalError(
        absl::StrCat("storage baseline: cannot open ", dir, ": ", s.ToString()));
  }
  return std::unique_ptr<StorageBaseline>(
      new StorageBaseline(std::unique_ptr<rocksdb::DB>(raw)));
}

StorageBaseline::StorageBaseline(std::unique_ptr<rocksdb::DB> db)
    : db_(std::move(db)) {}

StorageBaseline::~StorageBaseline() {
  if (db_ != nullptr) db_->Close().PermitUncheckedError();
}

Load StorageBaseline::Append(int callers, int events_per_batch,
                             const std::string& payload,
                             absl::Duration warmup, absl::Duration duration) {
  const int run = runs_++;
  std::vector<uint64_t> versions(callers, 0);
  rocksdb::WriteOptions write;
  write.sync = true;
  return RunThreadClosedLoop(
      callers, events_per_batch, warmup, duration, [&](int caller) {
        rocksdb::WriteBatch batch;
        const std::string stream = absl::StrCat("case-", run, "-", caller);
        const uint64_t first =
            next_position_.fetch_add(events_per_batch);
        for (int i = 0; i < events_per_batch; ++i) {
          eventstore::RecordedEvent e;
          e.event_id = eventstore::EventId::Generate();
          e.stream_id = stream;
          e.stream_version = ++versions[caller];
          e.global_position = first + i;
          e.event_type = "BenchmarkNoted";
          e.occurred_at = e.recorded_at = absl::Now();
          e.content_type = "application/json";
          e.payload = payload;
          const std::string value = eventstore::SealEnvelope(&e);
          std::string position;
          eventstore::PutFixed64BE(&position, e.global_position);
          batch.Put(eventstore::EventKey(e.global_position), value)
              .PermitUncheckedError();
          batch.Put(eventstore::StreamIndexKey(stream, e.stream_version),
                    position)
              .PermitUncheckedError();
          batch.Put(eventstore::EventIdKey(e.event_id), position)
              .PermitUncheckedError();
        }
        return db_->Write(write, &batch).ok();
      });
}

}  // namespace caseline::bench
