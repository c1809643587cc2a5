// ClientRecordStore: the one reader of client streams ("client-<id>") and of
// the "organizations" stream. Commands (services/care_command_handler.h),
// access decisions (services/access_control.h), the per-client views
// (continuity summary and gaps, audit timeline, replay and disclosures) and
// the projections' client records all come from here.
//
// What it serves:
//   - Directory(): the organisation directory as a shared immutable snapshot,
//     caught up incrementally from "organizations" (its version counts every
//     event of the stream, care event or not: OrganizationDirectory::SkipTo);
//   - Client() / Open(): a ClientSnapshot, immutable, with the client's
//     stream events (each care-event payload parsed once), the record folded
//     from them (care::ClientRecord) and the access fold (care::
//     ClientAccessFold: per-event data classes and authors);
//   - Cached(): what is cached, without I/O.
// A stream is read once per version: a snapshot is caught up by reading only
// the events after its version, and not read at all while the log's head has
// not moved since it was last caught up.
//
// The access fold's data classes depend on which organisations are 42 CFR
// Part 2 programs (care::ClientAccessFold::Classify). The directory snapshots
// therefore carry a Part 2 epoch that changes only when an event of the
// organizations stream makes an organisation a Part 2 program or stops it
// being one; a client snapshot of an older epoch is folded again from its
// stream (rare: an organisation registered or retyped as a substance use
// treatment program), so classes are always those a fold from scratch with
// the current directory gives.
//
// Concurrency: thread-safe. No lock is held during log I/O: a catch-up reads
// outside the lock and publishes a new snapshot under a short lock only when
// it is newer than the published one (higher epoch, or same epoch and a
// higher stream version), so concurrent catch-ups of one stream are correct
// whatever their order. Snapshots are immutable while anyone but the store
// holds them; readers hold a shared_ptr and never a lock while using one. A
// catch-up copies the snapshot it extends (the cost of the client's whole
// record) only when someone else holds it: otherwise it takes it out of the
// cache, extends it in place and publishes it again (a reader asking for the
// client meanwhile folds it for itself).
//
// Memory: at most Options::max_clients client snapshots and, beyond the most
// recently used one, Options::max_events stored events, least recently used
// evicted first; an evicted client is read again from its stream when next
// asked for.
//
// Position-bound folds: a projection folds each client exactly as of the
// event it is applying, which may be far behind the log's head (a rebuild, a
// restart from a checkpoint), while the store serves clients as of the head.
// Those folds are ProjectionRecords (below): each projection keeps its own
// mutable record per client, advanced by the events the engine gives it, and
// loads a record it does not hold from this store's snapshot (the events
// before the one applied), never from the log. So the store is the one
// reader and folder of client streams; ProjectionRecords only holds each
// projection's position-bound copy, which no other reader could share.
#ifndef CASELINE_PROJECTIONS_CLIENT_RECORD_STORE_H_
#define CASELINE_PROJECTIONS_CLIENT_RECORD_STORE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/mutex.h"
#include "care/access_policy.h"
#include "care/client_record.h"
#include "care/organization_directory.h"
#include "caseline/v1/care_events.pb.h"
#include "eventstore/event.h"

namespace caseline::eventstore {
class EventLog;
}

namespace caseline::projections {

// The client a recorded event belongs to: the id in a "client-<id>" stream
// carrying a care event; nullopt for anything else.
std::optional<absl::string_view> ClientIdOf(
    const eventstore::RecordedEvent& event);

// One event of a client's stream as the store read it.
struct StoredEvent {
  eventstore::RecordedEvent recorded;
  // The payload of a care event that parses; nullopt for any other event.
  std::optional<v1::CareEvent> care;
  // For a care event whose payload does not parse: ParseCareEvent's
  // DATA_LOSS, which folds that need every care event return. OK otherwise.
  absl::Status parse_error;
};

// Events marked entered in error (care_events.proto EventEnteredInError), by
// the marked event's id in lowercase text form.
class EnteredInErrorIds {
 public:
  // The events the corrections among `events` mark, counting only the
  // corrections `counts` accepts (e.g. those up to a replay's position).
  static EnteredInErrorIds Of(
      const std::vector<std::shared_ptr<const StoredEvent>>& events,
      absl::FunctionRef<bool(const StoredEvent&)> counts);

  void Add(const v1::CareEvent& event);
  bool empty() const { return ids_.empty(); }
  // Whether `event` is marked. No work while none is.
  bool Contains(const eventstore::RecordedEvent& event) const {
    return !ids_.empty() && ids_.contains(event.event_id.ToString());
  }

 private:
  absl::flat_hash_set<std::string> ids_;
};

// A client's stream as of one version, folded. Immutable.
class ClientSnapshot {
 public:
  const std::string& client_id() const { return client_id_; }
  // Version of the stream's last event of any kind (what an append expects);
  // nullopt when the stream has no events.
  std::optional<uint64_t> version() const { return access_.version(); }
  // Every event of the stream, in stream order: events()[v] is the event at
  // stream version v.
  const std::vector<std::shared_ptr<const StoredEvent>>& events() const {
    return events_;
  }
  // The record folded from every care event that parses and is not marked
  // entered in error by a later event of the stream (its `version` is that
  // of the last care event folded; version() above counts every event).
  const care::ClientRecord& record() const { return access_.record(); }
  // The record with each event's data classes and author, classified with
  // the directory of the snapshot's Part 2 epoch.
  const care::ClientAccessFold& access() const { return access_; }
  // The first care event's parse_error that is not OK, or OK. The record and
  // the access fold leave such an event out (unclassified); commands refuse
  // with it, as folds over the whole stream do.
  const absl::Status& parse_error() const { return parse_error_; }

 private:
  friend class ClientRecordStore;
  explicit ClientSnapshot(std::string client_id)
      : client_id_(std::move(client_id)), access_(client_id_) {}

  std::string client_id_;
  std::vector<std::shared_ptr<const StoredEvent>> events_;
  care::ClientAccessFold access_;
  absl::Status parse_error_;
  uint64_t part2_epoch_ = 0;
};

// A client as one query sees it.
struct ClientAtHead {
  // The log's head observed before anything below was read: every event of
  // the client's stream and of the organizations stream at or before it is
  // in `client` and `directory` (later ones may be too).
  uint64_t head = 0;
  std::shared_ptr<const care::OrganizationDirectory> directory;
  // Classified with `directory`.
  std::shared_ptr<const ClientSnapshot> client;
};

class ClientRecordStore {
 public:
  struct Options {
    // Most clients cached (CareCommandHandler's kMaxCachedClients before).
    // Default: 100'000.
    size_t max_clients = 100'000;
    // Most stored events cached across clients (about 1 to 2 KiB each); the
    // most recently used client is kept whatever its size.
    // Default: 1'000'000.
    size_t max_events = 1'000'000;
  };

  // `log` is not owned and must outlive the store.
  explicit ClientRecordStore(eventstore::EventLog* log)
      : ClientRecordStore(log, Options()) {}
  ClientRecordStore(eventstore::EventLog* log, Options options);
  ClientRecordStore(const ClientRecordStore&) = delete;
  ClientRecordStore& operator=(const ClientRecordStore&) = delete;

  // The organisation directory with every event of "organizations" up to at
  // least the log's head at the call (an empty directory when the stream
  // has none). Errors: the log's read errors; DATA_LOSS for a care event of
  // the stream that does not parse.
  [[nodiscard]] absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>>
  Directory();

  // Client `client_id` with every event of its stream up to at least the
  // log's head at the call (no events: an empty snapshot, version nullopt),
  // classified with the latest directory snapshot already loaded (no I/O on
  // "organizations"; call Directory() or Open() for a fresh one). Errors:
  // the log's read errors (e.g. INVALID_ARGUMENT for a client id too long
  // for a stream id).
  [[nodiscard]] absl::StatusOr<std::shared_ptr<const ClientSnapshot>> Client(
      absl::string_view client_id);

  // The head, then a fresh Directory(), then the client classified with it:
  // what a decision about one client needs, each stream read at most once.
  [[nodiscard]] absl::StatusOr<ClientAtHead> Open(absl::string_view client_id);

  // The cached snapshot of the client (possibly behind its stream), or
  // nullptr. No I/O.
  std::shared_ptr<const ClientSnapshot> Cached(absl::string_view client_id);

  eventstore::EventLog* log() const { return log_; }

  // Whether a snapshot only the cache and the catching-up call hold is
  // extended in place rather than copied. Its safety rests on an acquire
  // fence after use_count(), which ThreadSanitizer does not model (GCC
  // rejects it under -fsanitize=thread), so TSan builds always copy.
#if defined(__SANITIZE_THREAD__)
  static constexpr bool kExtendsInPlace = false;
#else
  static constexpr bool kExtendsInPlace = true;
#endif

  size_t cached_clients_for_test() const;
  size_t cached_events_for_test() const;

 private:
  struct DirectoryState {
    std::shared_ptr<const care::OrganizationDirectory> directory;
    // Changes whenever an organisation becomes, or stops being, a Part 2
    // program: client snapshots are classified per epoch.
    uint64_t part2_epoch = 0;
  };
  struct Slot {
    std::shared_ptr<const ClientSnapshot> snapshot;
    // Every event of the stream at or before this log position is in
    // `snapshot`: while the head is still here, nothing needs reading.
    uint64_t checked_head = 0;
    std::list<std::string>::iterator lru;
  };

  absl::StatusOr<DirectoryState> CatchUpDirectory();
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> CatchUpClient(
      absl::string_view client_id, const DirectoryState& directory);
  // Inserts or replaces the client's slot when `snapshot` is newer than it.
  void Publish(const std::string& client_id,
               std::shared_ptr<const ClientSnapshot> snapshot,
               uint64_t checked_head) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictBeyondBounds(const std::string& keep)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(absl::flat_hash_map<std::string, Slot>::iterator it)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  eventstore::EventLog* const log_;
  const Options options_;

  mutable Mutex mu_;
  DirectoryState directory_ ABSL_GUARDED_BY(mu_);
  uint64_t directory_checked_head_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Slot> clients_ ABSL_GUARDED_BY(mu_);
  // Client ids, most recently used first.
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);
  size_t cached_events_ ABSL_GUARDED_BY(mu_) = 0;
};

// The client records one projection folds (ClientRecordCache before), each
// exactly as of the last event of its stream the projection applied, so a
// projection stores only its view state and never a copy of the records.
//
// Not thread-safe: one projection instance (one engine thread) owns it.
class ProjectionRecords {
 public:
  // `store` is not owned; it may be null only when no record needs loading
  // (every client's stream is applied from its first event). When more than
  // max_records are held the records are dropped (they reload from the store
  // on demand).
  explicit ProjectionRecords(ClientRecordStore* store,
                             size_t max_records = 200000)
      : store_(store), max_records_(max_records) {}

  // Applies `event` (a care event of client `client_id`'s stream, payload
  // `care_event`) to the client's record and returns it. A record not held
  // is first loaded from the store: the stream's care events before
  // event.global_position, so the result always reflects exactly the stream
  // up to and including `event`. Events marked entered in error by a
  // correction up to `event` are left out: a correction (EventEnteredInError)
  // or an erasure (ClientErased: every earlier payload now reads as erased,
  // so the record becomes empty and the held plaintext goes) folds the
  // record again from the stream's first event, and then, when
  // `before` is given, the record as of the event before the correction
  // (every care event, whichever this projection folds) is stored there: a
  // projection compares the two to undo what the marked event did. Errors: the store's; DATA_LOSS for an earlier care event
  // that does not parse; FAILED_PRECONDITION for a record to load without a
  // store.
  absl::StatusOr<const care::ClientRecord*> Apply(
      absl::string_view client_id, const v1::CareEvent& care_event,
      const eventstore::RecordedEvent& event,
      std::optional<care::ClientRecord>* before = nullptr);

  // The held record, or nullptr (no I/O).
  const care::ClientRecord* Find(absl::string_view client_id) const;

  size_t size() const { return records_.size(); }

 private:
  ClientRecordStore* const store_;
  const size_t max_records_;
  absl::flat_hash_map<std::string, care::ClientRecord> records_;
};

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_CLIENT_RECORD_STORE_H_
