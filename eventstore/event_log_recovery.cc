// Opening and closing the log: RocksDB options, the format version check, and
// recovery of the head from the last event key (no scan of the log).
#include <future>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/envelope.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/key_format.h"
#include "eventstore/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
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
      return absl::DataLossError(message);
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

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(
    EventLogOptions options) {
  return EventLogImpl::Open(std::move(options));
}

absl::StatusOr<AppendResult> EventLog::Append(AppendRequest request) {
  std::promise<absl::StatusOr<AppendResult>> result;
  AppendAsync(std::move(request), [&result](absl::StatusOr<AppendResult> r) {
    result.set_value(std::move(r));
  });
  return result.get_future().get();
}

namespace {

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

}  // namespace

absl::StatusOr<std::unique_ptr<EventLog>> EventLogImpl::Open(
    EventLogOptions options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("data_dir is empty; name a directory");
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.paranoid_checks = true;
  db_options.keep_log_file_num = 5;
  db_options.max_log_file_size = 16 << 20;
  // One thread writes (the log's writer), so memtable inserts need no
  // concurrency control and can use per-group insert hints.
  db_options.allow_concurrent_memtable_write = false;
  db_options.enable_write_thread_adaptive_yield = false;
  db_options.memtable_insert_with_hint_prefix_extractor =
      std::make_shared<AscendingKeyGroups>();
  if (options.env != nullptr) db_options.env = options.env;
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = cache;
  // Event-id and stream-head lookups are point reads that mostly miss.
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));

  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.data_dir, &raw_db);
  if (s.IsIOError() && absl::StrContains(s.ToString(), "lock")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", options.data_dir,
        " is in use by another process (its RocksDB LOCK is held): stop the "
        "other caselined or choose another --data_dir (",
        s.ToString(), ")"));
  }
  RETURN_IF_ERROR(FromRocksDb(s, absl::StrCat("opening ", options.data_dir)));
  std::unique_ptr<rocksdb::DB> db(raw_db);
  RETURN_IF_ERROR(CheckFormatVersion(*db, options.data_dir));

  // The head is the last event key: one seek, whatever the log's length.
  uint64_t head_position = 0;
  Hash chain_head{};
  absl::Time last_recorded_at = absl::InfinitePast();
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(EventKey(UINT64_MAX));
  if (it->Valid() && it->key().size() == kEventKeySize &&
      it->key()[0] == kEventPrefix) {
    head_position = DecodeFixed64BE(absl::string_view(it->key().data() + 1, 8));
    ASSIGN_OR_RETURN(RecordedEvent last, DecodeEnvelope(View(it->value())));
    if (last.global_position != head_position) {
      return absl::DataLossError(
          absl::StrCat("the event stored under position ", head_position,
                       " says position ", last.global_position,
                       "; run `caseline verify` to locate the damage"));
    }
    chain_head = last.hash;
    last_recorded_at = last.recorded_at;
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "recovering the log head"));
  it.reset();

  return std::unique_ptr<EventLog>(
      new EventLogImpl(std::move(options), std::move(db), std::move(cache),
                       head_position, chain_head, last_recorded_at));
}

EventLogImpl::EventLogImpl(EventLogOptions options,
                           std::unique_ptr<rocksdb::DB> db,
                           std::shared_ptr<rocksdb::Cache> cache,
                           uint64_t head_position, const Hash& chain_head,
                           absl::Time last_recorded_at)
    : options_(std::move(options)),
      block_cache_(std::move(cache)),
      db_(std::move(db)),
      head_position_(head_position),
      next_position_(head_position + 1),
      chain_head_(chain_head),
      last_recorded_at_(last_recorded_at) {
  completer_ = std::thread([this] { CompletionLoop(); });
  writer_ = std::thread([this] { WriterLoop(); });
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
  // Every append is already in the synced WAL; flushing the memtable only
  // spares the next start a WAL replay, so a failure here loses nothing.
  rocksdb::FlushOptions flush;
  flush.wait = true;
  db_->Flush(flush).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
}

}  // namespace caseline::eventstore
