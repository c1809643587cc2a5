// EventLog: Caseline's durable, hash-chained, append-only log of events.
//
// Events live in streams (one per client care record, organisation, ...). Each
// event gets a stream version (0, 1, 2, ... within its stream) and a global
// position (1, 2, 3, ... across the log, gapless). The on-disk layout is
// docs/log_format.md.
//
// Thread-safety: every method may be called concurrently from any thread.
// Durability: an append's callback reports success only after the write-ahead
// log has been synced; concurrent appends share syncs (group commit).
#ifndef CASELINE_EVENTSTORE_EVENT_LOG_H_
#define CASELINE_EVENTSTORE_EVENT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "eventstore/event.h"
#include "eventstore/key_encryption.h"
#include "eventstore/replication.h"
#include "eventstore/log_observer.h"
#include "eventstore/signed_head.h"

namespace rocksdb {
class Env;
}

namespace caseline::eventstore {

// Largest max_count a read accepts.
inline constexpr size_t kMaxReadCount = 1000;

struct Limits {
  // Largest event payload in bytes. Default: 1 MiB.
  size_t max_payload_bytes = 1 << 20;
  // Most events in one append. Default: 1000.
  size_t max_events_per_append = 1000;
  // Largest sum of payload bytes in one append. Default: 16 MiB.
  size_t max_append_bytes = 16 << 20;
  // Longest stream id in bytes. Default: 200.
  size_t max_stream_id_bytes = 200;
};

// A snapshot of the log in a backup directory (EventLog::Backup), or a log
// restored from one (EventLog::Restore): where it is and what it holds. The
// whole hash chain was verified; publish head_position and head_hash.
struct BackupInfo {
  // Absolute path of the backup (Backup) or of the restored data directory
  // (Restore).
  std::string dir;
  // The snapshot's last event (0 and zeros for an empty log).
  uint64_t head_position = 0;
  Hash head_hash{};
  // Events whose hash and link were recomputed (all of them: 1..head).
  uint64_t events_verified = 0;
  // Total size of the directory's files.
  uint64_t bytes = 0;
  // When the backup was made.
  absl::Time created_at = absl::InfinitePast();
  // Backup only: the backup is on the data directory's filesystem, so its
  // table files are hard links sharing disk blocks with the live log. It
  // survives the log's files being deleted, not a table file damaged in
  // place or the disk failing: copy it to other storage for that.
  bool same_filesystem = false;
};

// The file a backup directory holds beside RocksDB's, recording what the
// backup was verified to hold (docs/log_format.md "Backups"). A directory
// without it is not a complete backup.
inline constexpr char kBackupInfoFileName[] = "CASELINE-BACKUP";

struct EventLogOptions {
  // RocksDB directory; created when missing. Required.
  std::string data_dir;
  Limits limits;
  // RocksDB block cache size. Default: 128 MiB.
  size_t block_cache_bytes = 128 << 20;
  // Source of recorded_at. Default: absl::Now.
  absl::AnyInvocable<absl::Time() const> clock;
  // RocksDB environment, for fault-injection tests. Default: the real one.
  // Not owned; must outlive the log.
  rocksdb::Env* env = nullptr;
  // Cluster mode (docs/cluster.md): each group commit is handed to the
  // replicator, on the writer thread, before it is written locally, and
  // written and acknowledged only if the replicator reports it committed.
  // Default: none (a single node). Not owned; must outlive the log.
  Replicator* replicator = nullptr;
  // Whether each group (appended or applied with ApplyReplicated) is synced
  // before it is acknowledged. Default: true. Cluster mode sets false: a
  // group is durable once an etcd quorum committed it, the local write only
  // needs to be readable, and what the node reports as applied (for etcd to
  // delete) comes from SyncedHead(), which syncs first (docs/cluster.md).
  bool sync_each_group = true;
  // Told about every group commit, on the writer thread (log_observer.h).
  // Not owned; must outlive the log. Default: none.
  LogObserver* observer = nullptr;
  // The key-encryption key that wraps the streams' data keys
  // (docs/log_format.md "Encrypted payloads"). Required to open a log that
  // holds data keys. Not owned; must outlive the log. Default: none (no
  // encryption; EraseStream and RewrapDataKeys answer FAILED_PRECONDITION).
  KeyEncryptionKey* kek = nullptr;
  // With `kek`: whether new events of streams whose id starts with
  // encrypted_stream_prefix are written with encrypted payloads. Events
  // written encrypted stay readable (with the kek) whatever this says
  // later. With a replicator (cluster mode), the data-key records travel in
  // the replicated groups, and every node needs the same KEK
  // (docs/cluster.md "Encryption"). Default: true.
  bool encrypt_payloads = true;
  // The streams whose payloads are encrypted, each with its own data key.
  // Default: "client-" (one client's care record per stream).
  std::string encrypted_stream_prefix = "client-";
};

// What EraseStream did.
struct ErasureResult {
  // Global position of the event that records the erasure.
  uint64_t position = 0;
  // The stream was erased before (by an earlier call): nothing was done and
  // `position` is that erasure's.
  bool already_erased = false;
  // The destroyed data key's id, 32 lowercase hex digits.
  std::string key_id;
};

// What RewrapDataKeys did.
struct RewrapResult {
  // The KEK version every live data key is now wrapped under.
  std::string kek_id;
  // Data keys rewrapped, and those already under kek_id.
  uint64_t rewrapped = 0;
  uint64_t unchanged = 0;
};

class EventLog {
 public:
  using AppendCallback =
      absl::AnyInvocable<void(absl::StatusOr<AppendResult>) &&>;

  // Opens (or creates) the log in options.data_dir and recovers its head
  // without scanning the log. Reads every data-key record ('k' keys, one per
  // encrypted stream): a wrapped key whose data key the KEK lists as erased
  // (e.g. in a log restored from a backup taken before an erasure) is
  // replaced by an erased-key record and compacted away; an erased-key
  // record whose key the KEK does not list is recorded in the KEK
  // (RecordErased). Returns
  // FAILED_PRECONDITION when another process
  // holds the directory or it was written by a newer format version, when
  // the log holds data keys and options.kek is null or does not hold the
  // KEK version one is wrapped under (the message names the versions), and
  // DATA_LOSS, naming the damaged file, when a table file, the MANIFEST or a
  // WAL record is damaged. A WAL record cut short at the end of the WAL (an
  // append a crash interrupted, never acknowledged) is dropped, as RocksDB
  // recovery does after any crash.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EventLog>> Open(
      EventLogOptions options);

  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;
  // Completes every queued append, flushes the memtable, closes the database.
  virtual ~EventLog() = default;

  // Appends request.events to request.stream_id atomically (all or none) and
  // durably, then calls `done` exactly once: on the calling thread for an
  // invalid request (or when the log is closing), otherwise on the log's
  // completion thread, where it must be quick and must not wait for another
  // append.
  // Errors: INVALID_ARGUMENT (a field or limit; the message names it), ABORTED
  // (expected version mismatch; the message states the actual version),
  // ALREADY_EXISTS (an event_id reused with other content), UNAVAILABLE
  // (closing; or appends stopped after a write failed other than for space,
  // e.g. a failed WAL sync: the failed append may or may not be stored, and
  // appends stay refused until a restart while reads continue),
  // RESOURCE_EXHAUSTED (disk full: the append was refused, and appends resume
  // by themselves once space is freed). An identical retry of an earlier
  // append returns its original result with already_written set, whatever the
  // expected version.
  virtual void AppendAsync(AppendRequest request, AppendCallback done) = 0;

  // AppendAsync for several requests at once: each is decided and answered
  // on its own (done[i] for requests[i]), but they are queued together, so
  // they share one group commit rather than one sync each. Same threading
  // contract as AppendAsync. `done` must have one callback per request.
  virtual void AppendEachAsync(std::vector<AppendRequest> requests,
                               std::vector<AppendCallback> done);

  // OK while appends are accepted, or refused only for lack of disk space
  // (they resume by themselves once there is room); otherwise the
  // UNAVAILABLE status every append is refused with until a restart, after a
  // write failed in a way that cannot be undone in place (e.g. a failed WAL
  // sync). Reads continue either way. Cheap (one lock); for health checks.
  [[nodiscard]] virtual absl::Status WriteFailure() const = 0;

  // Blocking form of AppendAsync.
  [[nodiscard]] absl::StatusOr<AppendResult> Append(AppendRequest request);

  // Reads return DATA_LOSS, naming the damaged file, when stored data fails
  // its checksum; they never return damaged data.

  // One page of a stream. NOT_FOUND when the stream has no events.
  [[nodiscard]] virtual absl::StatusOr<StreamPage> ReadStream(
      absl::string_view stream_id, const ReadStreamOptions& options) = 0;

  // One page of the whole log, optionally filtered. A filtered page examines at
  // most a bounded number of events, so it may be empty before the end.
  [[nodiscard]] virtual absl::StatusOr<LogPage> ReadAll(
      const ReadAllOptions& options) = 0;

  // The committed event with this id, or nullopt.
  [[nodiscard]] virtual absl::StatusOr<std::optional<RecordedEvent>> FindEvent(
      const EventId& event_id) = 0;

  // Position of the last committed (durable, readable) event; 0 when empty.
  virtual uint64_t HeadPosition() const = 0;

  // Waits until this log holds every append acknowledged anywhere before the
  // call, for a decision that must see them (a care command). A single log
  // holds them already: OK at once. A cluster node (docs/cluster.md) reads
  // the committed position from etcd and waits to apply it.
  // Errors: DEADLINE_EXCEEDED (not applied within `timeout`), UNAVAILABLE
  // (the committed position cannot be read).
  [[nodiscard]] virtual absl::Status AwaitAcknowledged(absl::Duration timeout);

  // Syncs the write-ahead log, then returns a head position every event up
  // to which is on disk: HeadPosition() as it was before the sync. Only
  // differs from HeadPosition() when options.sync_each_group is false.
  // Errors: UNAVAILABLE (the sync failed, or the log is closed).
  [[nodiscard]] virtual absl::StatusOr<uint64_t> SyncedHead();

  // Waits until HeadPosition() > position, the timeout passes, or the log
  // starts closing; returns HeadPosition().
  virtual uint64_t WaitForHeadAbove(uint64_t position,
                                    absl::Duration timeout) const = 0;

  // Recomputes the hash chain over [from_position, to_position] (0 = the head)
  // and reports the first event that does not match. A damaged chain is an OK
  // status with ok == false; errors are for bad ranges or unreadable storage.
  [[nodiscard]] virtual absl::StatusOr<ChainVerification> VerifyChain(
      uint64_t from_position, uint64_t to_position) = 0;

  // Writes a consistent snapshot of the log into `dir` while appends
  // continue: a RocksDB checkpoint (table files hard-linked when `dir` is on
  // the data directory's filesystem, copied otherwise), then opened
  // read-only, its table checksums and whole hash chain verified, and its
  // head recorded in kBackupInfoFileName. The snapshot holds a prefix of the
  // log ending at a group commit boundary (each group is one atomic
  // WriteBatch), including every append acknowledged before the call. `dir`
  // appears only once complete and verified; on error nothing is left
  // behind. A relative `dir` is resolved against the working directory.
  // Backups run one at a time.
  // Errors: INVALID_ARGUMENT (empty dir), FAILED_PRECONDITION (dir exists and
  // is not an empty directory, or its parent directory does not exist),
  // DATA_LOSS (the log's data or hash chain is damaged: no backup is
  // written), RESOURCE_EXHAUSTED (disk full), UNAVAILABLE (I/O errors, or the
  // log is closed after a failed reopen).
  [[nodiscard]] virtual absl::StatusOr<BackupInfo> Backup(
      const std::string& dir) = 0;

  // Restores the backup in `backup_dir` (made by Backup) into `data_dir`,
  // which must not exist or be an empty directory: copies its files (the
  // backup stays intact) into a staging directory beside `data_dir`,
  // verifies the copy's table checksums and whole hash chain and that its
  // head is the one the backup recorded, then renames it to `data_dir`. On
  // error `data_dir` is left as it was and no staging directory remains.
  // The log must not be open; call before EventLog::Open(data_dir).
  // Errors: INVALID_ARGUMENT (an empty path), NOT_FOUND (no backup_dir),
  // FAILED_PRECONDITION (data_dir is not empty, e.g. already holds a log;
  // backup_dir holds no kBackupInfoFileName, i.e. is not a complete backup,
  // or one of a newer format version), DATA_LOSS (the backup is damaged: the
  // message names the file or the first bad position), RESOURCE_EXHAUSTED
  // (disk full), UNAVAILABLE (other I/O errors).
  [[nodiscard]] static absl::StatusOr<BackupInfo> Restore(
      const std::string& backup_dir, const std::string& data_dir);

  // Cluster mode (docs/cluster.md "Followers"): writes a group another node's
  // writer sequenced, through this log's writer, and returns once it is
  // durable and readable. Every envelope is checked before anything is
  // written: it decodes, its position is the next one, its prev_hash is this
  // log's chain head and its hash is SHA-256(prev_hash || body). A group
  // wholly at or below the head is checked against what the log holds (the
  // same last envelope) and not written again.
  // The group's data-key records (group.data_keys) are written in the same
  // batch as its events, once checked: each decodes and belongs to a stream
  // with an event in the group; a wrapped key's KEK version is one
  // options.kek holds, and it unwraps. An erased-key record is first
  // recorded in the KEK (KeyEncryptionKey::RecordErased, durable) before
  // anything is written; after the batch, reads of the stream give
  // payload_erased, and the database is flushed and the key's range
  // compacted as EraseStream does.
  // Errors: FAILED_PRECONDITION (the group starts beyond head + 1: this log
  // is missing groups before it; the log does not apply replicated groups;
  // or the group carries data keys and options.kek is null or lacks the KEK
  // version one is wrapped under: every node needs the same --kek_file),
  // DATA_LOSS (an envelope or data-key record fails a check, or the log
  // holds something else at those positions: nothing is written),
  // UNAVAILABLE (closing, appends stopped after a failed write, or the KEK
  // could not record an erasure: nothing is written), RESOURCE_EXHAUSTED
  // (disk full). An error from the flush and compaction after an erasure's
  // batch comes back with the group written (the KEK already refuses the
  // key).
  [[nodiscard]] virtual absl::Status ApplyReplicated(
      const ReplicatedGroup& group);

  // Signs the log's head with `signer` and keeps the signed head in the log's
  // directory (docs/log_format.md "Signed heads"), so that backups hold it.
  // Before signing, the chain is recomputed from the position of the last
  // signed head kept (from position 1 when there is none) to the head, and
  // the hash at that last signed position must still be the one signed:
  // the log never signs a head whose history since its last signature it
  // cannot vouch for. signed_at comes from
  // options.clock, truncated to microseconds. Signings are serialised.
  // Errors: FAILED_PRECONDITION (the log is empty: there is no head to
  // sign; or the log does not keep signed heads), DATA_LOSS (the chain does
  // not verify: the message names the first bad position; nothing is
  // signed), RESOURCE_EXHAUSTED (disk full), UNAVAILABLE (I/O errors, or the
  // log is closed).
  [[nodiscard]] virtual absl::StatusOr<SignedHead> SignHead(
      const HeadSigner& signer);

  // The signed head kept at `position` that was signed last (0: the last
  // signed head kept at the highest position), or nullopt when there is
  // none. Signed heads of any key are kept; check key_id.
  // Errors: DATA_LOSS (a stored signed head is malformed), UNAVAILABLE (the
  // log is closed), FAILED_PRECONDITION (the log does not keep signed
  // heads).
  [[nodiscard]] virtual absl::StatusOr<std::optional<SignedHead>>
  GetSignedHead(uint64_t position);

  // Crypto-shredding (docs/log_format.md "Erasure"): destroys the data key
  // of `stream_id` everywhere it lives and appends `record` (the event that
  // records the erasure, e.g. a ClientErased care event; its payload is
  // stored in plaintext) as the stream's last event. In order: the KEK
  // records the key as erased (from then on it never unwraps it again, also
  // from a backup); reads stop decrypting it; `record` is appended together
  // with an erased-key record replacing the wrapped key; the database is
  // flushed and the key's range compacted, so no table or live write-ahead
  // log file holds the wrapped key any more. If the process stops between
  // the steps, the erasure is in effect from the first one on (Open
  // re-applies it), and a second call completes it. Afterwards every read
  // gives the stream's earlier events payload_erased, and appends to the
  // stream are refused with FAILED_PRECONDITION naming the erasure's
  // position.
  // Errors: INVALID_ARGUMENT (the stream is not one whose payloads are
  // encrypted, or `record` is invalid), NOT_FOUND (no such stream),
  // FAILED_PRECONDITION (the log has no KEK; or the stream's events were
  // written without encryption, so there is no key to destroy), and the
  // errors of an append. A stream erased before is answered OK with
  // already_erased.
  [[nodiscard]] virtual absl::StatusOr<ErasureResult> EraseStream(
      absl::string_view stream_id, ProposedEvent record);

  // After the KEK gained a new current version (KeyEncryptionKey::Rotate):
  // rewraps every live data key under it, so that older versions are no
  // longer needed by this log (backups taken before still need them).
  // Errors: FAILED_PRECONDITION (no KEK), DATA_LOSS (a wrapped key does not
  // unwrap), UNAVAILABLE.
  [[nodiscard]] virtual absl::StatusOr<RewrapResult> RewrapDataKeys();

  // Called once for each stream this log erases from the moment it is
  // registered (EraseStream, or an erasure applied from a replicated group),
  // as soon as reads stop decrypting the stream's payloads and before the
  // erasure is answered or the head moves past it. For what keeps copies of
  // payloads outside the log (e.g. FHIR Bulk export files) and must drop
  // them. Called on the erasing thread, which may be the log's writer: it
  // must be quick (no I/O, no waiting) and must not call the log.
  using ErasureListener = std::function<void(absl::string_view stream_id)>;
  // Returns the id RemoveErasureListener takes. A cluster's log registers it
  // with the node's local log, which does the erasing.
  virtual uint64_t AddErasureListener(ErasureListener listener);
  // Once it returns, the listener is not running and is never called again.
  // An unknown id is ignored.
  virtual void RemoveErasureListener(uint64_t id);

 protected:
  EventLog() = default;
  // Calls every registered listener with `stream_id`.
  void NotifyErased(absl::string_view stream_id);

 private:
  Mutex listeners_mu_;
  uint64_t next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 1;
  std::map<uint64_t, ErasureListener> listeners_
      ABSL_GUARDED_BY(listeners_mu_);
};

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_EVENT_LOG_H_
