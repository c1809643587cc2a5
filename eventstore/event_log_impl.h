// RocksDB implementation of EventLog. Split by concern:
//   event_log_recovery.cc  Open, format check, head recovery, Close
//   event_log_append.cc    the writer thread: group commit, expected versions,
//                          idempotency, hash chain
//   event_log_read.cc      ReadStream, ReadAll, head waits
//   event_log_verify.cc    VerifyChain
#ifndef CASELINE_EVENTSTORE_EVENT_LOG_IMPL_H_
#define CASELINE_EVENTSTORE_EVENT_LOG_IMPL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "eventstore/event_log.h"
#include "eventstore/mutex.h"
#include "rocksdb/db.h"

namespace caseline::eventstore {

// A RocksDB slice as an absl::string_view (Debian's Abseil has its own).
inline absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

// The single place where rocksdb::Status becomes absl::Status.
absl::Status FromRocksDb(const rocksdb::Status& status,
                         absl::string_view context);

class EventLogImpl final : public EventLog {
 public:
  static absl::StatusOr<std::unique_ptr<EventLog>> Open(
      EventLogOptions options);
  ~EventLogImpl() override;

  void AppendAsync(AppendRequest request, AppendCallback done) override;
  absl::StatusOr<StreamPage> ReadStream(
      absl::string_view stream_id, const ReadStreamOptions& options) override;
  absl::StatusOr<LogPage> ReadAll(const ReadAllOptions& options) override;
  absl::StatusOr<std::optional<RecordedEvent>> FindEvent(
      const EventId& event_id) override;
  uint64_t HeadPosition() const override;
  uint64_t WaitForHeadAbove(uint64_t position,
                            absl::Duration timeout) const override;
  absl::StatusOr<ChainVerification> VerifyChain(uint64_t from_position,
                                                uint64_t to_position) override;

 private:
  struct PendingAppend {
    AppendRequest request;
    AppendCallback done;
  };

  // What the writer has decided for the requests of one group but not yet
  // written: consulted before the database, merged into the writer state only
  // when the group's batch is durable.
  struct GroupOverlay {
    uint64_t next_position;
    Hash chain_head;
    absl::Time last_recorded_at;
    absl::flat_hash_map<std::string, uint64_t> stream_heads;  // last version
    absl::flat_hash_set<EventId::Bytes> event_ids;
  };

  // Outcome of preparing one request inside a group.
  enum class Prepared { kAdded, kAnswered, kDeferred };

  EventLogImpl(EventLogOptions options, std::unique_ptr<rocksdb::DB> db,
               std::shared_ptr<rocksdb::Cache> cache, uint64_t head_position,
               const Hash& chain_head, absl::Time last_recorded_at);

  // A decided append: its callback and what to tell it.
  struct Completion {
    AppendCallback done;
    absl::StatusOr<AppendResult> result;
  };

  // event_log_append.cc
  void WriterLoop();
  // Runs callbacks on their own thread, so that a caller's work on completion
  // (gRPC sends the response) overlaps the writer's next group.
  void CompletionLoop();
  void Complete(std::vector<Completion> completions);
  void CommitGroup(std::vector<PendingAppend>& group);
  // Decides `pending`: appends its writes to `batch` and `overlay` (kAdded),
  // answers it now (kAnswered: an error or an identical retry), or leaves it
  // for the next group because it repeats an event id of this one (kDeferred).
  Prepared Prepare(PendingAppend& pending, GroupOverlay& overlay,
                   rocksdb::WriteBatch& batch, AppendResult& result,
                   std::vector<Completion>& answered);
  // The stream's last version, if it has events, as the writer sees it.
  absl::StatusOr<std::optional<uint64_t>> StreamHead(
      absl::string_view stream_id, const GroupOverlay& overlay);
  // OK and unset: no id was written before. OK and set: an identical retry.
  absl::StatusOr<std::optional<AppendResult>> CheckIdempotency(
      const AppendRequest& request);

  // event_log_read.cc
  absl::StatusOr<std::optional<uint64_t>> ReadStreamHead(
      const rocksdb::ReadOptions& read_options, absl::string_view stream_id);
  absl::StatusOr<RecordedEvent> ReadEventAt(
      const rocksdb::ReadOptions& read_options, uint64_t position);

  const EventLogOptions options_;
  const std::shared_ptr<rocksdb::Cache> block_cache_;
  const std::unique_ptr<rocksdb::DB> db_;

  mutable Mutex mu_;
  CondVar writer_cv_{&mu_};        // queue_ gained an entry, or closing_
  mutable CondVar head_cv_{&mu_};  // head_position_ advanced, or closing_
  std::deque<PendingAppend> queue_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t head_position_ ABSL_GUARDED_BY(mu_);

  // Owned by the writer thread (no lock): the state the next group builds on.
  uint64_t next_position_;
  Hash chain_head_;
  absl::Time last_recorded_at_;  // recorded_at never decreases along the log
  // Last version of recently written streams; cleared when it grows past
  // kMaxCachedStreamHeads so memory stays bounded.
  absl::flat_hash_map<std::string, uint64_t> stream_heads_;
  // Set after a failed write: the database may hold part of it, so the writer
  // state can no longer be trusted and every later append fails until restart.
  absl::Status write_failure_;

  Mutex completion_mu_;
  CondVar completion_cv_{&completion_mu_};
  std::vector<Completion> completions_ ABSL_GUARDED_BY(completion_mu_);
  bool writer_done_ ABSL_GUARDED_BY(completion_mu_) = false;

  std::thread completer_;  // started last in the constructor, with writer_
  std::thread writer_;
};

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_EVENT_LOG_IMPL_H_
