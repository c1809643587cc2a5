// RocksDB implementation of EventLog. Split by concern:
//   event_log_recovery.cc  Open, format check, head recovery, reopening after
//                          a full disk, Close
//   event_log_append.cc    the writer thread: group commit, expected versions,
//                          idempotency, hash chain
//   event_log_read.cc      ReadStream, ReadAll, head waits
//   event_log_verify.cc    VerifyChain
//   event_log_backup.cc    Backup, Restore
//   event_log_signed_head.cc  SignHead, GetSignedHead, and the offline
//                          check of a backup against a signed head
//   event_log_keys.cc      data keys ('k' keys): payload decryption (the one
//                          place), erasure, rewrapping, erasures re-applied
//                          at Open
#ifndef CASELINE_EVENTSTORE_EVENT_LOG_IMPL_H_
#define CASELINE_EVENTSTORE_EVENT_LOG_IMPL_H_

#include <chrono>
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
#include "eventstore/key_format.h"
#include "eventstore/payload_crypto.h"
#include "base/mutex.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/wal_filter.h"

namespace caseline::eventstore {

// A RocksDB slice as an absl::string_view (Debian's Abseil has its own).
inline absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

// The single place where rocksdb::Status becomes absl::Status.
absl::Status FromRocksDb(const rocksdb::Status& status,
                         absl::string_view context);

// What FromRocksDb appends to a DATA_LOSS message about the live log.
inline constexpr char kDamagedDataAdvice[] =
    "; stored data is damaged: stop caselined and restore the data directory "
    "from a backup";

// Switches off RocksDB's automatic recovery from background errors, for the
// event log's database and the view store's. For a full disk, its
// SstFileManager would poll the free space and call DB::Resume() on its own
// thread, which in RocksDB 7.8 can abort the process or hang (see
// EventLogImpl::reopen_needed_). Both reopen their database themselves
// instead, once there is room.
std::shared_ptr<rocksdb::EventListener> NewNoAutomaticRecovery();

// Whether the disk of the database in `dir` seems to have room to reopen it
// after a full disk: recovery writes about its write-ahead log's size again,
// plus new MANIFEST and OPTIONS files. True when the free space is unknown.
bool RoomToReopen(rocksdb::Env& env, const std::string& dir);

// Recomputes the hash chain over [from_position, to_position] (0 = `head`)
// of the log in `db`, read with `read_options` (give a snapshot when the log
// is live). EventLog::VerifyChain's contract.
absl::StatusOr<ChainVerification> VerifyChainIn(
    rocksdb::DB& db, const rocksdb::ReadOptions& read_options, uint64_t head,
    uint64_t from_position, uint64_t to_position);

// The signed head kept at `position` signed last (0: at the highest
// position), or nullopt. DATA_LOSS for a malformed one.
absl::StatusOr<std::optional<SignedHead>> LatestSignedHeadIn(
    rocksdb::DB& db, const rocksdb::ReadOptions& read_options,
    uint64_t position);

// A log directory opened read-only to check it (a backup, a restore in
// progress). Nothing is written into the directory, not even RocksDB's LOG.
struct ReadOnlyLog {
  // Named in the database's options; declared first so it outlives `db`.
  std::unique_ptr<rocksdb::WalFilter> wal_filter;
  std::unique_ptr<rocksdb::DB> db;
};
// DATA_LOSS, naming the file, for a damaged table file, MANIFEST or WAL
// record, or a directory without a Caseline format version;
// FAILED_PRECONDITION for a newer format version. `env` may be null (the
// default Env).
absl::StatusOr<ReadOnlyLog> OpenLogReadOnly(const std::string& dir,
                                            rocksdb::Env* env);
// Position of the last event visible to `read_options` (0 when none): one
// seek to the last event key.
absl::StatusOr<uint64_t> LastPosition(rocksdb::DB& db,
                                      const rocksdb::ReadOptions& read_options);

class EventLogImpl final : public EventLog {
 public:
  static absl::StatusOr<std::unique_ptr<EventLog>> Open(
      EventLogOptions options);
  ~EventLogImpl() override;

  void AppendAsync(AppendRequest request, AppendCallback done) override;
  void AppendEachAsync(std::vector<AppendRequest> requests,
                       std::vector<AppendCallback> done) override;
  absl::Status WriteFailure() const override;
  absl::StatusOr<StreamPage> ReadStream(
      absl::string_view stream_id, const ReadStreamOptions& options) override;
  absl::StatusOr<LogPage> ReadAll(const ReadAllOptions& options) override;
  absl::StatusOr<std::optional<RecordedEvent>> FindEvent(
      const EventId& event_id) override;
  uint64_t HeadPosition() const override;
  absl::StatusOr<uint64_t> SyncedHead() override;
  uint64_t WaitForHeadAbove(uint64_t position,
                            absl::Duration timeout) const override;
  absl::StatusOr<ChainVerification> VerifyChain(uint64_t from_position,
                                                uint64_t to_position) override;
  absl::StatusOr<BackupInfo> Backup(const std::string& dir) override;
  absl::Status ApplyReplicated(const ReplicatedGroup& group) override;
  absl::StatusOr<SignedHead> SignHead(const HeadSigner& signer) override;
  absl::StatusOr<std::optional<SignedHead>> GetSignedHead(
      uint64_t position) override;
  absl::StatusOr<ErasureResult> EraseStream(absl::string_view stream_id,
                                            ProposedEvent record) override;
  absl::StatusOr<RewrapResult> RewrapDataKeys() override;
  static absl::StatusOr<BackupInfo> Restore(const std::string& backup_dir,
                                            const std::string& data_dir);

 private:
  struct PendingAppend {
    AppendRequest request;
    AppendCallback done;
    // When it was queued, for LogObserver's append latency.
    std::chrono::steady_clock::time_point queued;
    // EraseStream's append: its one event records the erasure of the
    // stream's data key, which is replaced by an erased-key record in the
    // same batch.
    bool erasure = false;
  };

  // A stream's data key as the log knows it (its 'k' record), unwrapped.
  struct StreamKey {
    DataKeyRecord::State state = DataKeyRecord::State::kActive;
    DataKeyId key_id{};
    std::optional<AesGcmKey> key;     // kActive only
    uint64_t erased_at_position = 0;  // kErased only
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
    // The group's envelopes in position order, for options_.replicator only.
    std::vector<std::string> envelopes;
    // Data keys created or erased by the group, by stream.
    absl::flat_hash_map<std::string, std::shared_ptr<const StreamKey>> keys;
    // The 'k' records put in the group's batch, in order, for
    // options_.replicator only (ReplicatedGroup::data_keys).
    std::vector<DataKeyUpdate> data_keys;
  };

  // A decided append: its callback and what to tell it.
  struct Completion {
    AppendCallback done;
    absl::StatusOr<AppendResult> result;
  };

  // A replicated group waiting for the writer (ApplyReplicated), and its
  // answer.
  struct PendingApply {
    const ReplicatedGroup* group;
    std::optional<absl::Status> status;  // guarded by mu_
  };

  // A decided group handed to options_.replicator and not yet written here
  // (docs/cluster.md "Groups in flight"). Shared with the replicator's
  // callback, which may outlive the writer's interest in it.
  struct InFlightGroup {
    GroupOverlay overlay;
    rocksdb::WriteBatch batch;
    uint64_t first_position = 0;
    // Refusals decided against it (or against a group before it), answered
    // once it is written, so that a caller who re-reads sees the write it
    // conflicted with.
    std::vector<Completion> answered;
    std::vector<Completion> added;
    std::vector<std::chrono::steady_clock::time_point> added_queued;
    std::optional<absl::Status> status;  // the replicator's; guarded by mu_
  };

  // Outcome of preparing one request inside a group.
  enum class Prepared { kAdded, kAnswered, kDeferred };

  // What Open recovers from the database: the last event's position (0 for
  // an empty log), hash and recorded time.
  struct Head {
    uint64_t position = 0;
    Hash hash{};
    absl::Time recorded_at = absl::InfinitePast();
    // The directory's stored format version.
    uint32_t format_version = kFormatVersion;
  };

  EventLogImpl(EventLogOptions options,
               std::unique_ptr<rocksdb::WalFilter> wal_filter,
               std::unique_ptr<rocksdb::DB> db,
               std::shared_ptr<rocksdb::Cache> cache,
               std::shared_ptr<rocksdb::Logger> info_log, const Head& head);

  // event_log_append.cc
  void WriterLoop();
  // Whether the writer may write a group now: OK, or the status every request
  // of the group is refused with. After a full disk, reopens the database
  // once there seems to be room.
  absl::Status ReadyToWrite() ABSL_LOCKS_EXCLUDED(db_mu_);
  // Decides what a failed group write means for later appends and returns
  // what its callers are told.
  absl::Status OnWriteFailure(const rocksdb::Status& status);
  // Sets write_failure_ (appends stop until a restart) and publishes it for
  // WriteFailure().
  void StopAppends(absl::Status failure) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs callbacks on their own thread, so that a caller's work on completion
  // (gRPC sends the response) overlaps the writer's next group.
  void CompletionLoop();
  void Complete(std::vector<Completion> completions);
  void CommitGroup(std::vector<PendingAppend>& group)
      ABSL_LOCKS_EXCLUDED(db_mu_);
  // Hands a decided group to options_.replicator and keeps it in in_flight_.
  void SendGroup(std::shared_ptr<InFlightGroup> group,
                 std::vector<std::string> envelopes,
                 std::vector<DataKeyUpdate> data_keys);
  // Takes the first group of in_flight_, now answered: writes it locally and
  // acknowledges it, or refuses it and every group after it.
  void FinishFirstInFlight() ABSL_LOCKS_EXCLUDED(db_mu_, mu_);
  // Writes a decided group's batch (synced unless a replicator made it
  // durable), moves the writer state on to `overlay` and answers the group.
  // On a failed write answers `added` with what it means instead and returns
  // that status.
  absl::Status WriteDecided(rocksdb::WriteBatch& batch,
                            const GroupOverlay& overlay,
                            std::vector<Completion>& answered,
                            std::vector<Completion>& added,
                            const std::vector<std::chrono::steady_clock::time_point>&
                                added_queued)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // Whether every group in abandoned_ has its replicator's answer.
  bool AllAnswered() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `id` is one of the events of `overlay` or of a group in flight.
  bool InFlightId(const GroupOverlay& overlay, const EventId& id) const;
  // Writes one replicated group (ApplyReplicated's contract) on the writer
  // thread.
  absl::Status ApplyGroup(const ReplicatedGroup& group)
      ABSL_LOCKS_EXCLUDED(db_mu_);
  // A data-key record of a replicated group, checked against this log's KEK.
  struct ReplicatedKey {
    std::string stream_id;
    DataKeyRecord record;
    // kActive: the unwrapped key (cached once written); null when the KEK
    // lists the key as erased.
    std::shared_ptr<const StreamKey> key;
  };
  // ApplyGroup's checks of group.data_keys, before anything is written:
  // each record decodes (DATA_LOSS), belongs to a stream with an event in
  // the group (`stream_at`: each envelope's stream id) and, when erased,
  // names a position of the group holding an event of that stream
  // (DATA_LOSS); the log has a KEK holding the version each wrapped key is
  // wrapped under (FAILED_PRECONDITION: every node needs the same
  // --kek_file), and the key unwraps.
  absl::StatusOr<std::vector<ReplicatedKey>> CheckReplicatedKeys(
      const ReplicatedGroup& group,
      const std::vector<std::string>& stream_at) const;
  // Publishes next_position_ - 1 as the head and wakes its waiters.
  void PublishHead() ABSL_LOCKS_EXCLUDED(mu_);
  // Tells options_.observer about a durable group: the queue times of its
  // requests, its events, its synced write's duration, when it was durable.
  void ReportGroup(
      const std::vector<std::chrono::steady_clock::time_point>& queued,
      uint64_t events, std::chrono::steady_clock::duration sync,
      std::chrono::steady_clock::time_point durable);
  // Decides `pending`: appends its writes to `batch` and `overlay` (kAdded),
  // answers it now (kAnswered: an error or an identical retry), or leaves it
  // for the next group because it repeats an event id of this one (kDeferred).
  Prepared Prepare(PendingAppend& pending, GroupOverlay& overlay,
                   rocksdb::WriteBatch& batch, AppendResult& result,
                   std::vector<Completion>& answered)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // The stream's last version, if it has events, as the writer sees it.
  absl::StatusOr<std::optional<uint64_t>> StreamHead(
      absl::string_view stream_id, const GroupOverlay& overlay)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // OK and unset: no id was written before. OK and set: an identical retry.
  absl::StatusOr<std::optional<AppendResult>> CheckIdempotency(
      const AppendRequest& request) ABSL_SHARED_LOCKS_REQUIRED(db_mu_);

  // event_log_keys.cc
  // Whether new events of `stream_id` are encrypted, or at least checked
  // against the stream's key record (an erased stream takes no events).
  bool KeyedStream(absl::string_view stream_id) const;
  // The stream's data key: from the cache, else its 'k' record read with
  // `read_options` and unwrapped (and then cached). Null when the stream
  // has no record. An active record whose key the KEK lists as erased is
  // returned as erased (position 0).
  absl::StatusOr<std::shared_ptr<const StreamKey>> LoadStreamKey(
      const rocksdb::ReadOptions& read_options, absl::string_view stream_id)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // The single place where a stored payload becomes what readers see: an
  // encrypted one is decrypted (its marker dropped from the metadata), or
  // emptied with payload_erased when its key was erased. DATA_LOSS naming
  // the position when it fails authentication.
  absl::Status OpenPayload(const rocksdb::ReadOptions& read_options,
                           RecordedEvent& event)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // The writer's part of Prepare for a keyed stream: refuses an erased
  // stream (FAILED_PRECONDITION naming the erasure's position), and returns
  // the stream's key; with `create`, creates one for an encrypted stream
  // that has none (its 'k' record put into `batch`, the key into
  // overlay.keys). Null: write the payloads in plaintext.
  absl::StatusOr<std::shared_ptr<const StreamKey>> WriterStreamKey(
      const PendingAppend& pending, GroupOverlay& overlay,
      rocksdb::WriteBatch& batch, bool create)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // Puts `key` in the cache for `stream_id` (replacing what was there).
  void CacheStreamKey(const std::string& stream_id,
                      std::shared_ptr<const StreamKey> key);
  // Flushes the memtable (a new write-ahead log starts and the old ones are
  // deleted) and compacts the 'k' key of `stream_id` at every level, so
  // that no file of the database holds its earlier values.
  absl::Status PurgeOldKeyValues(absl::string_view stream_id)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  // At Open: checks every 'k' record against `kek` and replaces the wrapped
  // keys the KEK lists as erased by erased-key records.
  static absl::Status CheckDataKeys(rocksdb::DB& db, KeyEncryptionKey* kek,
                                    const std::string& data_dir);

  // event_log_read.cc
  // UNAVAILABLE when the database is closed because a reopen after a full
  // disk failed; OK otherwise.
  absl::Status CheckOpen() const ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  absl::StatusOr<std::optional<uint64_t>> ReadStreamHead(
      const rocksdb::ReadOptions& read_options, absl::string_view stream_id)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);
  absl::StatusOr<RecordedEvent> ReadEventAt(
      const rocksdb::ReadOptions& read_options, uint64_t position)
      ABSL_SHARED_LOCKS_REQUIRED(db_mu_);

  // event_log_backup.cc
  // Opens the log in `dir` read-only and checks it whole: every table
  // block's checksum, then the hash chain from 1 to its head. Fills
  // `info`'s head, events_verified and bytes. DATA_LOSS when anything is
  // damaged or the chain does not verify; messages name paths in `dir`.
  static absl::Status CheckSnapshot(const std::string& dir, rocksdb::Env* env,
                                    BackupInfo& info);

  // event_log_recovery.cc
  static absl::StatusOr<Head> RecoverHead(rocksdb::DB& db);
  // Closes the database and opens it again, as a restart would: recovery
  // replays the WAL (dropping a record the full disk cut short), flushes it
  // to a table file and starts a new WAL; the writer state is then recovered
  // from disk. When the database cannot be opened for writing, it is opened
  // read-only so that reads continue, and the error is returned.
  absl::Status ReopenAfterDiskFull() ABSL_LOCKS_EXCLUDED(db_mu_);
  // Whether the disk seems to have room for ReopenAfterDiskFull()
  // (eventstore::RoomToReopen for the data directory).
  bool RoomToReopen();

  const EventLogOptions options_;
  const std::shared_ptr<rocksdb::Cache> block_cache_;
  // RocksDB's informational log (eventstore/info_log.h), one for every open
  // of the database, so that a reopen appends to the same LOG.
  const std::shared_ptr<rocksdb::Logger> info_log_;

  // Guards db_ against a reopen by the writer after a full disk: every read,
  // and the writer's group, hold it shared; a reopen holds it exclusively.
  // Acquired before mu_ when both are held.
  mutable SharedMutex db_mu_;
  // Named in db_'s options (read during recovery); outlives it.
  std::unique_ptr<rocksdb::WalFilter> wal_filter_ ABSL_GUARDED_BY(db_mu_);
  // Null only after a reopen that could open neither for writing nor
  // read-only.
  std::unique_ptr<rocksdb::DB> db_ ABSL_GUARDED_BY(db_mu_);

  // Held for the whole of a Backup, so that backups run one at a time.
  // Acquired before db_mu_.
  Mutex backup_mu_;
  // Held for the whole of a SignHead, so that signings run one at a time.
  // Acquired before db_mu_.
  Mutex sign_mu_;
  // Held for the whole of an EraseStream or RewrapDataKeys, so that a
  // rewrap never writes back a key an erasure just replaced. Acquired
  // before db_mu_.
  Mutex keys_admin_mu_;
  // Unwrapped data keys by stream id (a bounded cache; the 'k' records are
  // the truth). Acquired after db_mu_ and mu_ when held with them.
  mutable SharedMutex keys_mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const StreamKey>> keys_
      ABSL_GUARDED_BY(keys_mu_);

  mutable Mutex mu_;
  CondVar writer_cv_{&mu_};  // queue_ or applies_ gained an entry, a group in
                            // flight was answered, or closing_
  mutable CondVar head_cv_{&mu_};  // head_position_ advanced, or closing_
  CondVar applied_cv_{&mu_};       // a PendingApply got its status
  std::deque<PendingAppend> queue_ ABSL_GUARDED_BY(mu_);
  // Replicated groups to write, taken before queue_; owned by the callers of
  // ApplyReplicated, who wait for their status.
  std::deque<PendingApply*> applies_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // Groups after a refused one, given up on before their replicator
  // answered; the writer waits for those answers before it ends, since the
  // callbacks use this log.
  std::vector<std::shared_ptr<InFlightGroup>> abandoned_ ABSL_GUARDED_BY(mu_);
  uint64_t head_position_ ABSL_GUARDED_BY(mu_);
  // A copy of write_failure_ for other threads (WriteFailure()).
  absl::Status published_write_failure_ ABSL_GUARDED_BY(mu_);

  // Owned by the writer thread (no lock). Groups handed to the replicator
  // and not yet written, in position order; the next group is decided on top
  // of the last one's overlay.
  std::deque<std::shared_ptr<InFlightGroup>> in_flight_;
  // Set when an append repeats an event id of a group in flight: nothing new
  // is decided until in_flight_ is empty, so that the append is decided
  // against the written group (an identical retry, or ALREADY_EXISTS).
  bool drain_in_flight_ = false;
  // Owned by the writer thread (no lock): the state the next group builds on
  // once in_flight_ is empty.
  uint64_t next_position_;
  Hash chain_head_;
  // The directory's stored format version; a data key's first write moves
  // it to kFirstFormatWithDataKeys.
  uint32_t format_version_;
  absl::Time last_recorded_at_;  // recorded_at never decreases along the log
  // Last version of recently written streams; cleared when it grows past
  // kMaxCachedStreamHeads so memory stays bounded.
  absl::flat_hash_map<std::string, uint64_t> stream_heads_;
  // Set after a write failed in a way that cannot be undone in place (a failed
  // WAL sync, any I/O error but a full disk): whether the group is on disk is
  // unknown, so positions assigned from here on could collide with it. Every
  // later append is refused with this UNAVAILABLE status until a restart
  // recovers the head from disk. Reads are unaffected.
  absl::Status write_failure_;
  // Set after a write failed for lack of disk space (RocksDB stops writes with
  // a NoSpace background error, e.g. a WAL append cut short). RocksDB inserts
  // nothing into the memtable when the WAL write fails, and the writer state
  // above advances only on success, so nothing needs undoing in memory. Once
  // there is room again, the next group first reopens the database
  // (ReopenAfterDiskFull), which recovers exactly as a restart does.
  //
  // Why not DB::Resume(), RocksDB's way out of a full disk in place: in 7.8
  // it is not safe. If the active memtable was empty when the WAL append
  // failed, the resumed database keeps appending to the WAL writer that
  // failed (RocksDB issue #11643; Debian's RocksDB is built with assertions
  // and aborts), and if a flush was queued but not started when writes
  // stopped, its job gives up without dequeuing it and Resume() then waits
  // for it forever (both reproduced with FaultInjectionEnv).
  // RocksDB's automatic recovery, which calls the same code, is switched off
  // for the same reason (NewNoAutomaticRecovery).
  bool reopen_needed_ = false;
  // When ReopenAfterDiskFull() last failed; the next attempt waits
  // kReopenRetryInterval.
  absl::Time last_failed_reopen_ = absl::InfinitePast();

  Mutex completion_mu_;
  CondVar completion_cv_{&completion_mu_};
  std::vector<Completion> completions_ ABSL_GUARDED_BY(completion_mu_);
  bool writer_done_ ABSL_GUARDED_BY(completion_mu_) = false;

  std::thread completer_;  // started last in the constructor, with writer_
  std::thread writer_;
};

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_EVENT_LOG_IMPL_H_
