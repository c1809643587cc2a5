// The writer thread. Appends queue up while the previous group's WAL sync is in
// flight; the writer then decides the whole queue against the current heads,
// writes it as one synced WriteBatch (group commit), and answers every caller.
// One writer means positions and the hash chain are assigned in commit order
// with no further locking.
//
// Tried and measured (docs/performance.md): letting an append that finds the
// log idle commit its group on the caller's thread (RocksDB's leader/follower
// write group) saved 10-15% at 1 caller but cost 10-20% at 8 and 64: gRPC
// 1.51 runs callback-API handlers on two threads, and one blocked in a sync
// is half of them.
#include <openssl/crypto.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "eventstore/envelope.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/key_format.h"
#include "eventstore/payload_crypto.h"
#include "base/status_macros.h"
#include "eventstore/validation.h"

namespace caseline::eventstore {
namespace {

// Bounds one group's WriteBatch.
constexpr size_t kMaxGroupEvents = 4096;
// Bounds the writer's stream-head cache.
constexpr size_t kMaxCachedStreamHeads = 1 << 20;
// After a reopen failed, the writer waits this long before the next attempt
// (appends are refused meanwhile), so that clients retrying on a full disk do
// not make it replay the WAL over and over.
constexpr absl::Duration kReopenRetryInterval = absl::Seconds(1);

absl::Status DiskFullError(absl::string_view data_dir) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "disk full: the event log cannot write to ", data_dir,
      ", so this append was not acknowledged. Free space on that disk and "
      "retry it (with the same event ids): appends resume by themselves once "
      "there is room, without a restart, and reads continue meanwhile"));
}

// What a failed write that cannot be undone in place means for the appends
// of its group (`first`) and for every append after it.
std::string StoppedMessage(const rocksdb::Status& cause, bool first) {
  return absl::StrCat(
      "the event log cannot write durably (", cause.ToString(), ")",
      first ? ": this append may or may not have been stored"
            : " since an earlier append failed",
      ". Reads still work, but appends are refused until caselined is "
      "restarted after the disk is fixed; then retry with the same event ids "
      "(an append that was stored is answered with already_written)");
}

std::string PositionValue(uint64_t position) {
  std::string value;
  PutFixed64BE(&value, position);
  return value;
}

// Whether a retried event carries what the stored one does, in every field the
// caller supplies.
bool SameContent(const ProposedEvent& proposed, const RecordedEvent& stored) {
  return proposed.event_type == stored.event_type &&
         (!proposed.occurred_at.has_value() ||
          *proposed.occurred_at == stored.occurred_at) &&
         proposed.actor == stored.actor &&
         proposed.correlation_id == stored.correlation_id &&
         proposed.causation_id == stored.causation_id &&
         proposed.schema_version == stored.schema_version &&
         proposed.content_type == stored.content_type &&
         proposed.payload == stored.payload &&
         proposed.metadata == stored.metadata;
}

absl::Status CheckExpectedVersion(const AppendRequest& request,
                                  std::optional<uint64_t> head) {
  const ExpectedVersion& expected = request.expected_version;
  bool ok = true;
  switch (expected.kind()) {
    case ExpectedVersion::Kind::kAny:
      break;
    case ExpectedVersion::Kind::kNoStream:
      ok = !head.has_value();
      break;
    case ExpectedVersion::Kind::kStreamExists:
      ok = head.has_value();
      break;
    case ExpectedVersion::Kind::kExact:
      ok = head.has_value() && *head == expected.version();
      break;
  }
  if (ok) return absl::OkStatus();
  const std::string actual = head.has_value()
                                 ? absl::StrCat("is at version ", *head)
                                 : std::string("has no events");
  return absl::AbortedError(absl::StrCat(
      "stream ", request.stream_id, ": expected ", expected.ToString(),
      " but the stream ", actual,
      "; read the stream again and decide against its current state"));
}

}  // namespace

void EventLogImpl::AppendAsync(AppendRequest request, AppendCallback done) {
  if (absl::Status s = ValidateAppendRequest(request, options_.limits);
      !s.ok()) {
    std::move(done)(std::move(s));
    return;
  }
  {
    MutexLock lock(&mu_);
    if (!closing_) {
      queue_.push_back(PendingAppend{std::move(request), std::move(done),
                                     std::chrono::steady_clock::now()});
      writer_cv_.Signal();
      return;
    }
  }
  std::move(done)(absl::UnavailableError(
      "the event log is shutting down; retry once the server is back"));
}

void EventLogImpl::AppendEachAsync(std::vector<AppendRequest> requests,
                                   std::vector<AppendCallback> done) {
  std::vector<PendingAppend> pending;
  pending.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (absl::Status s = ValidateAppendRequest(requests[i], options_.limits);
        !s.ok()) {
      std::move(done[i])(std::move(s));
      continue;
    }
    pending.push_back(
        PendingAppend{std::move(requests[i]), std::move(done[i]),
                      std::chrono::steady_clock::now()});
  }
  if (pending.empty()) return;
  {
    MutexLock lock(&mu_);
    if (!closing_) {
      // Queued under one lock, so the writer takes them into one group.
      for (PendingAppend& p : pending) queue_.push_back(std::move(p));
      writer_cv_.Signal();
      return;
    }
  }
  for (PendingAppend& p : pending) {
    std::move(p.done)(absl::UnavailableError(
        "the event log is shutting down; retry once the server is back"));
  }
}

void EventLogImpl::WriterLoop() {
  const size_t max_in_flight =
      options_.replicator == nullptr
          ? 1
          : static_cast<size_t>(
                std::max(1, options_.replicator->max_groups_in_flight()));
  std::vector<PendingAppend> group;
  while (true) {
    PendingApply* apply = nullptr;
    bool finish = false;
    {
      MutexLock lock(&mu_);
      while (true) {
        if (in_flight_.empty()) {
          drain_in_flight_ = false;
          if (!applies_.empty() || !queue_.empty() || closing_) break;
        } else if (in_flight_.front()->status.has_value()) {
          finish = true;
          break;
        } else if (!drain_in_flight_ && in_flight_.size() < max_in_flight &&
                   !queue_.empty()) {
          break;
        }
        writer_cv_.Wait();
      }
      if (finish) {
        // The first group in flight is answered: finished below, unlocked.
      } else if (in_flight_.empty() && !applies_.empty()) {
        apply = applies_.front();
        applies_.pop_front();
      } else if (queue_.empty()) {
        // Closing, and every append and group answered; the replicator's
        // callbacks for groups given up on still need this log.
        while (!AllAnswered()) writer_cv_.Wait();
        return;
      } else {
        size_t events = 0;
        while (!queue_.empty() &&
               (group.empty() || events + queue_.front().request.events.size() <=
                                     kMaxGroupEvents)) {
          events += queue_.front().request.events.size();
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
    }
    if (finish) {
      FinishFirstInFlight();
      continue;
    }
    if (apply != nullptr) {
      absl::Status status = ApplyGroup(*apply->group);
      MutexLock lock(&mu_);
      apply->status = std::move(status);
      applied_cv_.SignalAll();
      continue;
    }
    CommitGroup(group);
    group.clear();
  }
}

bool EventLogImpl::AllAnswered() const {
  for (const auto& g : abandoned_) {
    if (!g->status.has_value()) return false;
  }
  return true;
}

void EventLogImpl::CommitGroup(std::vector<PendingAppend>& group) {
  if (absl::Status ready = ReadyToWrite(); !ready.ok()) {
    std::vector<Completion> refused;
    for (PendingAppend& pending : group) {
      refused.push_back(Completion{std::move(pending.done), ready});
    }
    Complete(std::move(refused));
    return;
  }
  ReaderMutexLock db_lock(&db_mu_);  // only this thread replaces db_
  // Decided on top of the last group in flight, if any.
  GroupOverlay overlay =
      in_flight_.empty()
          ? GroupOverlay{next_position_, chain_head_, last_recorded_at_, {}, {}, {}, {}, {}}
          : GroupOverlay{in_flight_.back()->overlay.next_position,
                         in_flight_.back()->overlay.chain_head,
                         in_flight_.back()->overlay.last_recorded_at,
                         {},
                         {},
                         {},
                         {},
                         {}};
  const uint64_t first_position = overlay.next_position;
  rocksdb::WriteBatch batch;
  std::vector<Completion> answered;  // decided without writing
  std::vector<Completion> added;     // wait for the batch
  std::vector<std::chrono::steady_clock::time_point> added_queued;
  size_t deferred_from = group.size();
  for (size_t i = 0; i < group.size(); ++i) {
    AppendResult result;
    const Prepared prepared =
        Prepare(group[i], overlay, batch, result, answered);
    if (prepared == Prepared::kDeferred) {
      deferred_from = i;
      break;
    }
    if (prepared == Prepared::kAdded) {
      if (options_.observer != nullptr) added_queued.push_back(group[i].queued);
      added.push_back(Completion{std::move(group[i].done), result});
    }
  }
  if (deferred_from < group.size()) {
    // With a replicator, the id it repeats is in a group in flight once this
    // one is sent: decide it once that group is written.
    if (options_.replicator != nullptr) drain_in_flight_ = true;
    MutexLock lock(&mu_);
    for (size_t j = group.size(); j-- > deferred_from;) {
      queue_.push_front(std::move(group[j]));
    }
  }
  if (added.empty()) {
    if (in_flight_.empty()) {
      Complete(std::move(answered));
    } else {
      // Decided against a group in flight: answered once it is written.
      std::vector<Completion>& later = in_flight_.back()->answered;
      for (Completion& c : answered) later.push_back(std::move(c));
    }
    return;
  }
  if (options_.replicator != nullptr) {
    // Committed elsewhere first (docs/cluster.md), written here once the
    // replicator answers; meanwhile the next group is decided on top of it.
    auto in_flight = std::make_shared<InFlightGroup>();
    in_flight->first_position = first_position;
    std::vector<std::string> envelopes = std::move(overlay.envelopes);
    std::vector<DataKeyUpdate> data_keys = std::move(overlay.data_keys);
    in_flight->overlay = std::move(overlay);
    in_flight->batch = std::move(batch);
    in_flight->answered = std::move(answered);
    in_flight->added = std::move(added);
    in_flight->added_queued = std::move(added_queued);
    SendGroup(std::move(in_flight), std::move(envelopes),
              std::move(data_keys));
    return;
  }
  WriteDecided(batch, overlay, answered, added, added_queued).IgnoreError();
}

void EventLogImpl::SendGroup(std::shared_ptr<InFlightGroup> group,
                             std::vector<std::string> envelopes,
                             std::vector<DataKeyUpdate> data_keys) {
  in_flight_.push_back(group);
  ReplicatedGroup replicated{group->first_position, std::move(envelopes),
                             std::move(data_keys)};
  options_.replicator->Replicate(
      std::move(replicated), [this, group](absl::Status status) {
        MutexLock lock(&mu_);
        group->status = std::move(status);
        writer_cv_.Signal();
      });
}

void EventLogImpl::FinishFirstInFlight() {
  std::shared_ptr<InFlightGroup> first = std::move(in_flight_.front());
  in_flight_.pop_front();
  absl::Status status;
  {
    MutexLock lock(&mu_);
    status = *first->status;
  }
  if (status.ok()) {
    ReaderMutexLock db_lock(&db_mu_);
    status = WriteDecided(first->batch, first->overlay, first->answered,
                          first->added, first->added_queued);
    if (status.ok()) return;
  } else {
    // A refused group leaves the writer state as it was, like a failed
    // write. Its refusals were decided against it and groups before it,
    // which are not written: the callers retry and are decided again.
    for (Completion& c : first->answered) c.result = status;
    for (Completion& c : first->added) c.result = status;
    Complete(std::move(first->answered));
    Complete(std::move(first->added));
  }
  // Every later group was decided on top of this one: none is written here.
  // One the replicator committed anyway comes back through ApplyReplicated.
  std::deque<std::shared_ptr<InFlightGroup>> later;
  later.swap(in_flight_);
  for (std::shared_ptr<InFlightGroup>& g : later) {
    for (Completion& c : g->answered) c.result = status;
    for (Completion& c : g->added) c.result = status;
    Complete(std::move(g->answered));
    Complete(std::move(g->added));
  }
  MutexLock lock(&mu_);
  std::erase_if(abandoned_, [](const std::shared_ptr<InFlightGroup>& g) {
    return g->status.has_value();
  });
  for (std::shared_ptr<InFlightGroup>& g : later) {
    if (!g->status.has_value()) abandoned_.push_back(std::move(g));
  }
}

absl::Status EventLogImpl::WriteDecided(
    rocksdb::WriteBatch& batch, const GroupOverlay& overlay,
    std::vector<Completion>& answered, std::vector<Completion>& added,
    const std::vector<std::chrono::steady_clock::time_point>& added_queued) {
  rocksdb::WriteOptions write_options;
  // Durable before acknowledged: synced here, or committed by the
  // replicator's quorum (cluster mode, sync_each_group false).
  write_options.sync = options_.sync_each_group;
  const auto write_started = std::chrono::steady_clock::now();
  const rocksdb::Status written = db_->Write(write_options, &batch);
  const auto write_ended = std::chrono::steady_clock::now();
  if (!written.ok()) {
    // Nothing of the overlay reaches the writer state, so the next group is
    // decided against the last acknowledged one. The refusals decided
    // against this group rest on writes that did not happen: they get the
    // same answer, and their callers retry.
    const absl::Status s = OnWriteFailure(written);
    for (Completion& c : answered) c.result = s;
    for (Completion& c : added) c.result = s;
    Complete(std::move(answered));
    Complete(std::move(added));
    return s;
  }
  const uint64_t first_position = next_position_;
  next_position_ = overlay.next_position;
  chain_head_ = overlay.chain_head;
  last_recorded_at_ = overlay.last_recorded_at;
  if (stream_heads_.size() + overlay.stream_heads.size() >
      kMaxCachedStreamHeads) {
    stream_heads_.clear();
  }
  for (const auto& [stream_id, version] : overlay.stream_heads) {
    stream_heads_[stream_id] = version;
  }
  for (const auto& [stream_id, key] : overlay.keys) {
    CacheStreamKey(stream_id, key);
    format_version_ = std::max(format_version_, kFirstFormatWithDataKeys);
  }
  PublishHead();
  if (options_.observer != nullptr) {
    ReportGroup(added_queued, overlay.next_position - first_position,
                write_ended - write_started, write_ended);
  }
  // Refusals decided against this group (e.g. a version conflict with an
  // append in it) are answered only now, so that a caller who re-reads on
  // ABORTED sees the write it conflicted with.
  Complete(std::move(answered));
  Complete(std::move(added));
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> EventLogImpl::SyncedHead() {
  const uint64_t head = HeadPosition();
  if (options_.sync_each_group) return head;
  ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(CheckOpen());
  // Every group up to `head` was written before this sync starts.
  const rocksdb::Status synced = db_->SyncWAL();
  if (!synced.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the event log could not sync its write-ahead log: ",
        synced.ToString()));
  }
  return head;
}

void EventLogImpl::PublishHead() {
  MutexLock lock(&mu_);
  head_position_ = next_position_ - 1;
  head_cv_.SignalAll();
}

absl::Status EventLogImpl::ApplyReplicated(const ReplicatedGroup& group) {
  if (group.envelopes.empty() || group.first_position == 0) {
    return absl::InvalidArgumentError(
        "a replicated group needs at least one event and a first position of "
        "at least 1");
  }
  PendingApply pending{&group, std::nullopt};
  MutexLock lock(&mu_);
  if (closing_) {
    return absl::UnavailableError(
        "the event log is shutting down; the group was not applied");
  }
  applies_.push_back(&pending);
  writer_cv_.Signal();
  while (!pending.status.has_value()) applied_cv_.Wait();
  return *std::move(pending.status);
}

absl::Status EventLogImpl::ApplyGroup(const ReplicatedGroup& group) {
  if (absl::Status ready = ReadyToWrite(); !ready.ok()) return ready;
  ReaderMutexLock db_lock(&db_mu_);  // only this thread replaces db_
  RETURN_IF_ERROR(CheckOpen());
  const uint64_t last = group.last_position();
  if (last < next_position_) {
    // Already here (this node sequenced it, or applied it before a restart):
    // the same last envelope means the same chain up to it.
    std::string stored;
    const rocksdb::Status read =
        db_->Get(rocksdb::ReadOptions(), EventKey(last), &stored);
    if (!read.ok()) return FromRocksDb(read, "reading an applied group back");
    if (stored != group.envelopes.back()) {
      return absl::DataLossError(absl::StrCat(
          "the replicated group ending at position ", last,
          " differs from the event this log holds there: this node's log has "
          "diverged from the cluster's. Stop it and rebuild its data "
          "directory from a peer's backup (docs/cluster.md)"));
    }
    return absl::OkStatus();
  }
  if (group.first_position != next_position_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the replicated group starts at position ", group.first_position,
        " but this log's next position is ", next_position_,
        ": the groups between are missing; catch up from a peer's backup "
        "(docs/cluster.md)"));
  }
  auto damaged = [&](uint64_t position, absl::string_view what) {
    return absl::DataLossError(absl::StrCat(
        "replicated event at position ", position, ": ", what,
        "; nothing of its group was written"));
  };
  rocksdb::WriteBatch batch;
  Hash chain = chain_head_;
  absl::Time last_recorded_at = last_recorded_at_;
  absl::flat_hash_map<std::string, uint64_t> heads;
  std::vector<std::string> stream_at;  // each envelope's stream
  stream_at.reserve(group.envelopes.size());
  for (size_t i = 0; i < group.envelopes.size(); ++i) {
    const std::string& value = group.envelopes[i];
    const uint64_t position = group.first_position + i;
    absl::StatusOr<EnvelopeParts> parts = SplitEnvelope(value);
    if (!parts.ok()) return damaged(position, parts.status().message());
    absl::StatusOr<RecordedEvent> event = DecodeEnvelope(value);
    if (!event.ok()) return damaged(position, event.status().message());
    if (event->global_position != position) {
      return damaged(position, absl::StrCat("its envelope says position ",
                                            event->global_position));
    }
    if (parts->prev_hash != chain) {
      return damaged(position, "its prev_hash is not this log's chain head");
    }
    if (ChainHash(chain, parts->body) != parts->hash) {
      return damaged(position, "its hash does not match its content");
    }
    if (event->recorded_at < last_recorded_at) {
      return damaged(position, "its recorded_at is before the previous event's");
    }
    const std::string position_value = PositionValue(position);
    rocksdb::Status s = batch.Put(EventKey(position), value);
    if (s.ok()) {
      s = batch.Put(StreamIndexKey(event->stream_id, event->stream_version),
                    position_value);
    }
    if (s.ok()) s = batch.Put(EventIdKey(event->event_id), position_value);
    if (!s.ok()) return FromRocksDb(s, "building a replicated group's batch");
    chain = parts->hash;
    last_recorded_at = event->recorded_at;
    heads[event->stream_id] = event->stream_version;
    stream_at.push_back(event->stream_id);
  }
  ASSIGN_OR_RETURN(std::vector<ReplicatedKey> keys,
                   CheckReplicatedKeys(group, stream_at));
  // An erasure is in effect on this node from its KEK's record on, as on
  // the sequencer (EraseStream): before the batch, so that a crash after it
  // leaves no wrapped key the KEK would still unwrap.
  for (const ReplicatedKey& k : keys) {
    if (k.record.state != DataKeyRecord::State::kErased) continue;
    if (absl::Status erased = options_.kek->RecordErased(k.record.key_id);
        !erased.ok()) {
      return absl::Status(
          erased.code(),
          absl::StrCat("the replicated group ending at position ", last,
                       " erases the data key of stream ", k.stream_id,
                       ", which this node's KEK could not record (",
                       erased.message(), "); nothing of the group was "
                       "written"));
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    rocksdb::Status s = batch.Put(DataKeyKey(keys[i].stream_id),
                                  group.data_keys[i].record);
    if (!s.ok()) return FromRocksDb(s, "building a replicated group's batch");
  }
  const bool first_data_key =
      !keys.empty() && format_version_ < kFirstFormatWithDataKeys;
  if (first_data_key) {
    // The directory now holds what a release before version 2 cannot read.
    std::string version;
    PutFixed32BE(&version, kFirstFormatWithDataKeys);
    RETURN_IF_ERROR(FromRocksDb(batch.Put(kFormatVersionKey, version),
                                "building a replicated group's batch"));
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync_each_group;
  const rocksdb::Status written = db_->Write(write_options, &batch);
  if (!written.ok()) return OnWriteFailure(written);
  next_position_ = last + 1;
  chain_head_ = chain;
  last_recorded_at_ = last_recorded_at;
  if (first_data_key) format_version_ = kFirstFormatWithDataKeys;
  if (stream_heads_.size() + heads.size() > kMaxCachedStreamHeads) {
    stream_heads_.clear();
  }
  for (auto& [stream_id, version] : heads) stream_heads_[stream_id] = version;
  // Reads see the keys as written: a new stream's key, or its erasure.
  absl::Status purged;
  for (ReplicatedKey& k : keys) {
    if (k.record.state == DataKeyRecord::State::kErased) {
      auto erased = std::make_shared<StreamKey>();
      erased->state = DataKeyRecord::State::kErased;
      erased->key_id = k.record.key_id;
      erased->erased_at_position = k.record.erased_at_position;
      CacheStreamKey(k.stream_id, std::move(erased));
      NotifyErased(k.stream_id);
    } else if (k.key != nullptr) {
      CacheStreamKey(k.stream_id, std::move(k.key));
    }
  }
  // No file keeps an erased key's earlier values, as after EraseStream;
  // done before the head moves, so that a caller waiting for it (a
  // forwarded erasure) is answered once this node holds no wrapped key.
  for (const ReplicatedKey& k : keys) {
    if (k.record.state != DataKeyRecord::State::kErased || !purged.ok()) {
      continue;
    }
    purged = PurgeOldKeyValues(k.stream_id);
  }
  PublishHead();
  return purged;
}

absl::StatusOr<std::vector<EventLogImpl::ReplicatedKey>>
EventLogImpl::CheckReplicatedKeys(
    const ReplicatedGroup& group,
    const std::vector<std::string>& stream_at) const {
  std::vector<ReplicatedKey> keys;
  if (group.data_keys.empty()) return keys;
  const uint64_t last = group.last_position();
  if (options_.kek == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the replicated group ending at position ", last,
        " carries data keys of encrypted payloads, but this node has no "
        "key-encryption key: every node of a cluster needs the same "
        "--kek_file (docs/cluster.md \"Encryption\"); nothing of the group "
        "was written"));
  }
  absl::flat_hash_set<absl::string_view> streams(stream_at.begin(),
                                                 stream_at.end());
  keys.reserve(group.data_keys.size());
  for (const DataKeyUpdate& update : group.data_keys) {
    auto damaged = [&](absl::string_view what) {
      return absl::DataLossError(absl::StrCat(
          "the replicated group ending at position ", last,
          ": the data key of stream ", update.stream_id, " ", what,
          "; nothing of the group was written"));
    };
    absl::StatusOr<DataKeyRecord> record =
        DecodeDataKeyRecord(update.record);
    if (!record.ok()) return damaged(record.status().message());
    if (!streams.contains(update.stream_id)) {
      return damaged("comes with no event of that stream");
    }
    ReplicatedKey key{update.stream_id, *std::move(record), nullptr};
    if (key.record.state == DataKeyRecord::State::kErased) {
      const uint64_t at = key.record.erased_at_position;
      if (at < group.first_position || at > last ||
          stream_at[at - group.first_position] != update.stream_id) {
        return damaged(absl::StrCat(
            "is erased at position ", at,
            ", which is not an event of that stream in the group"));
      }
    } else if (!options_.kek->HasVersion(key.record.kek_id)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the replicated group ending at position ", last,
          " holds the data key of stream ", update.stream_id,
          " wrapped under KEK version ", key.record.kek_id, ", which ",
          options_.kek->Describe(), " does not hold (it holds ",
          absl::StrJoin(options_.kek->version_ids(), ", "),
          "): every node of a cluster needs the same --kek_file, copied from "
          "one file (docs/cluster.md \"Encryption\"); nothing of the group "
          "was written"));
    } else if (!options_.kek->IsErased(key.record.key_id)) {
      absl::StatusOr<SecretKey> unwrapped = options_.kek->Unwrap(
          WrappedKey{key.record.kek_id, key.record.wrapped},
          key.record.key_id, DataKeyAad(key.record.key_id, update.stream_id));
      if (!unwrapped.ok()) {
        return absl::Status(
            unwrapped.status().code(),
            absl::StrCat("the replicated group ending at position ", last,
                         ": the data key of stream ", update.stream_id, ": ",
                         unwrapped.status().message(),
                         "; nothing of the group was written"));
      }
      auto active = std::make_shared<StreamKey>();
      active->key_id = key.record.key_id;
      active->key.emplace(*unwrapped);
      key.key = std::move(active);
    }
    // The record's copy of the wrapped key is no longer needed.
    OPENSSL_cleanse(key.record.wrapped.data(), key.record.wrapped.size());
    keys.push_back(std::move(key));
  }
  return keys;
}

void EventLogImpl::ReportGroup(
    const std::vector<std::chrono::steady_clock::time_point>& queued,
    uint64_t events, std::chrono::steady_clock::duration sync,
    std::chrono::steady_clock::time_point durable) {
  std::vector<absl::Duration> latencies;
  latencies.reserve(queued.size());
  for (const auto& t : queued) latencies.push_back(absl::FromChrono(durable - t));
  GroupCommit group;
  group.requests = queued.size();
  group.events = events;
  group.sync_duration = absl::FromChrono(sync);
  group.append_latencies = latencies;
  group.head_position = next_position_ - 1;
  options_.observer->OnGroupCommitted(group);
}

absl::Status EventLogImpl::ReadyToWrite() {
  if (!write_failure_.ok()) return write_failure_;
  if (!reopen_needed_) return absl::OkStatus();
  if (absl::Now() - last_failed_reopen_ < kReopenRetryInterval ||
      !RoomToReopen()) {
    return DiskFullError(options_.data_dir);
  }
  if (absl::Status reopened = ReopenAfterDiskFull(); !reopened.ok()) {
    last_failed_reopen_ = absl::Now();
    if (reopened.code() == absl::StatusCode::kResourceExhausted) {
      return DiskFullError(options_.data_dir);
    }
    StopAppends(absl::UnavailableError(absl::StrCat(
        "the event log could not reopen its database after the disk was "
        "full (",
        reopened.message(),
        "). Reads continue if it could be opened read-only; appends are "
        "refused until caselined is restarted after the disk is fixed")));
    return write_failure_;
  }
  reopen_needed_ = false;
  return absl::OkStatus();
}

absl::Status EventLogImpl::OnWriteFailure(const rocksdb::Status& status) {
  if (status.IsNoSpace()) {
    reopen_needed_ = true;
    return DiskFullError(options_.data_dir);
  }
  // Whether the batch is on disk is unknown (a failed fsync may or may not
  // have lost it); a restart finds out by recovering the head from disk.
  StopAppends(absl::UnavailableError(StoppedMessage(status, /*first=*/false)));
  return absl::UnavailableError(StoppedMessage(status, /*first=*/true));
}

void EventLogImpl::StopAppends(absl::Status failure) {
  write_failure_ = failure;
  MutexLock lock(&mu_);
  published_write_failure_ = std::move(failure);
}

absl::Status EventLogImpl::WriteFailure() const {
  MutexLock lock(&mu_);
  return published_write_failure_;
}

void EventLogImpl::Complete(std::vector<Completion> completions) {
  if (completions.empty()) return;
  MutexLock lock(&completion_mu_);
  completion_cv_.Signal();
  if (completions_.empty()) {
    completions_ = std::move(completions);
  } else {
    for (Completion& c : completions) completions_.push_back(std::move(c));
  }
}

void EventLogImpl::CompletionLoop() {
  std::vector<Completion> batch;
  while (true) {
    {
      MutexLock lock(&completion_mu_);
      while (completions_.empty() && !writer_done_) completion_cv_.Wait();
      if (completions_.empty()) return;  // the writer is done and all answered
      batch.swap(completions_);
    }
    for (Completion& c : batch) std::move(c.done)(std::move(c.result));
    batch.clear();
  }
}

EventLogImpl::Prepared EventLogImpl::Prepare(
    PendingAppend& pending, GroupOverlay& overlay, rocksdb::WriteBatch& batch,
    AppendResult& result, std::vector<Completion>& answered) {
  AppendRequest& request = pending.request;
  auto answer = [&](absl::StatusOr<AppendResult> r) {
    answered.push_back(Completion{std::move(pending.done), std::move(r)});
    return Prepared::kAnswered;
  };
  for (const ProposedEvent& e : request.events) {
    // Decided only once this group's write settles whether the id exists.
    if (e.event_id.has_value() && InFlightId(overlay, *e.event_id)) {
      return Prepared::kDeferred;
    }
  }
  // An erased stream refuses everything, retries included (their stored
  // payloads can no longer be compared).
  std::shared_ptr<const StreamKey> stream_key;
  if (KeyedStream(request.stream_id)) {
    absl::StatusOr<std::shared_ptr<const StreamKey>> key =
        WriterStreamKey(pending, overlay, batch, /*create=*/false);
    if (!key.ok()) return answer(key.status());
    stream_key = *std::move(key);
  }
  absl::StatusOr<std::optional<AppendResult>> retry = CheckIdempotency(request);
  if (!retry.ok()) return answer(retry.status());
  if (retry->has_value()) return answer(**retry);
  absl::StatusOr<std::optional<uint64_t>> head =
      StreamHead(request.stream_id, overlay);
  if (!head.ok()) return answer(head.status());
  if (absl::Status s = CheckExpectedVersion(request, *head); !s.ok()) {
    return answer(std::move(s));
  }

  // recorded_at never decreases along the log, even if the clock steps back.
  const absl::Time now =
      std::max(options_.clock ? options_.clock() : absl::Now(),
               overlay.last_recorded_at);
  uint64_t version = head->has_value() ? **head + 1 : 0;
  result.first_position = overlay.next_position;
  result.first_version = version;
  const Hash chain_head_before = overlay.chain_head;
  const size_t envelopes_before = overlay.envelopes.size();
  const size_t data_keys_before = overlay.data_keys.size();
  batch.SetSavePoint();
  bool created_key = false;
  if (stream_key == nullptr && KeyedStream(request.stream_id) &&
      !pending.erasure) {
    // The stream's first encrypted event: a new data key, put in the batch.
    absl::StatusOr<std::shared_ptr<const StreamKey>> key =
        WriterStreamKey(pending, overlay, batch, /*create=*/true);
    if (!key.ok()) {
      batch.RollbackToSavePoint().PermitUncheckedError();
      overlay.keys.erase(request.stream_id);
      overlay.data_keys.resize(data_keys_before);
      return answer(key.status());
    }
    stream_key = *std::move(key);
    created_key = stream_key != nullptr;
  }
  rocksdb::Status s;
  // Encrypted with the stream's data key, except the record of an erasure
  // (it holds no client data, and must stay readable).
  const StreamKey* encrypt_with =
      stream_key != nullptr && !pending.erasure &&
              stream_key->state == DataKeyRecord::State::kActive
          ? stream_key.get()
          : nullptr;
  absl::Status crypto_failure;
  std::shared_ptr<const StreamKey> erased_key;
  for (ProposedEvent& e : request.events) {
    RecordedEvent r;
    r.event_id = e.event_id.has_value() ? *e.event_id : EventId::Generate();
    r.stream_id = request.stream_id;
    r.stream_version = version++;
    r.global_position = overlay.next_position++;
    r.event_type = std::move(e.event_type);
    r.occurred_at = e.occurred_at.value_or(now);
    r.recorded_at = now;
    r.actor = std::move(e.actor);
    r.correlation_id = std::move(e.correlation_id);
    r.causation_id = std::move(e.causation_id);
    r.schema_version = e.schema_version;
    r.content_type = std::move(e.content_type);
    r.payload = std::move(e.payload);
    r.metadata = std::move(e.metadata);
    if (encrypt_with != nullptr) {
      absl::StatusOr<std::string> sealed =
          EncryptPayload(*encrypt_with->key, encrypt_with->key_id, r.stream_id,
                         r.event_id, r.payload);
      if (!sealed.ok()) {
        crypto_failure = sealed.status();
        break;
      }
      r.payload = *std::move(sealed);
      r.metadata[kPayloadEncryptionMetadataKey] = kPayloadEncryptionAes256Gcm;
    }
    r.prev_hash = overlay.chain_head;
    const std::string value = SealEnvelope(&r);
    if (options_.replicator != nullptr) overlay.envelopes.push_back(value);
    overlay.chain_head = r.hash;
    const std::string position = PositionValue(r.global_position);
    s = batch.Put(EventKey(r.global_position), value);
    if (s.ok())
      s = batch.Put(StreamIndexKey(r.stream_id, r.stream_version), position);
    if (s.ok()) s = batch.Put(EventIdKey(r.event_id), position);
    if (s.ok() && pending.erasure) {
      // The wrapped key gives way to the record that it was erased here.
      DataKeyRecord erased;
      erased.state = DataKeyRecord::State::kErased;
      erased.key_id = stream_key->key_id;
      erased.erased_at_position = r.global_position;
      std::string erased_value = EncodeDataKeyRecord(erased);
      s = batch.Put(DataKeyKey(r.stream_id), erased_value);
      if (options_.replicator != nullptr) {
        overlay.data_keys.push_back(
            DataKeyUpdate{r.stream_id, std::move(erased_value)});
      }
      auto key = std::make_shared<StreamKey>();
      key->state = DataKeyRecord::State::kErased;
      key->key_id = erased.key_id;
      key->erased_at_position = r.global_position;
      erased_key = std::move(key);
    }
    if (!s.ok()) break;
    overlay.event_ids.insert(r.event_id.bytes());
  }
  if (!s.ok() || !crypto_failure.ok()) {
    // Undo this request only; the events already added to the overlay's
    // id set are harmless (at worst they defer a later request a group).
    batch.RollbackToSavePoint().PermitUncheckedError();
    if (created_key) overlay.keys.erase(request.stream_id);
    overlay.next_position = result.first_position;
    overlay.chain_head = chain_head_before;
    overlay.envelopes.resize(envelopes_before);
    overlay.data_keys.resize(data_keys_before);
    return answer(!crypto_failure.ok()
                      ? crypto_failure
                      : FromRocksDb(s, "building the append batch"));
  }
  if (erased_key != nullptr) overlay.keys[request.stream_id] = erased_key;
  batch.PopSavePoint().PermitUncheckedError();
  overlay.stream_heads[request.stream_id] = version - 1;
  overlay.last_recorded_at = now;
  result.last_position = overlay.next_position - 1;
  result.last_version = version - 1;
  return Prepared::kAdded;
}

absl::StatusOr<std::optional<uint64_t>> EventLogImpl::StreamHead(
    absl::string_view stream_id, const GroupOverlay& overlay) {
  if (auto it = overlay.stream_heads.find(stream_id);
      it != overlay.stream_heads.end()) {
    return it->second;
  }
  for (auto g = in_flight_.rbegin(); g != in_flight_.rend(); ++g) {
    if (auto it = (*g)->overlay.stream_heads.find(stream_id);
        it != (*g)->overlay.stream_heads.end()) {
      return it->second;
    }
  }
  if (auto it = stream_heads_.find(stream_id); it != stream_heads_.end()) {
    return it->second;
  }
  return ReadStreamHead(rocksdb::ReadOptions(), stream_id);
}

bool EventLogImpl::InFlightId(const GroupOverlay& overlay,
                              const EventId& id) const {
  if (overlay.event_ids.contains(id.bytes())) return true;
  for (const auto& g : in_flight_) {
    if (g->overlay.event_ids.contains(id.bytes())) return true;
  }
  return false;
}

absl::StatusOr<std::optional<AppendResult>> EventLogImpl::CheckIdempotency(
    const AppendRequest& request) {
  std::vector<std::string> keys;
  std::vector<size_t>
      event_index;  // keys[k] is the id of events[event_index[k]]
  for (size_t i = 0; i < request.events.size(); ++i) {
    if (request.events[i].event_id.has_value()) {
      keys.push_back(EventIdKey(*request.events[i].event_id));
      event_index.push_back(i);
    }
  }
  if (keys.empty()) return std::nullopt;
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses =
      db_->MultiGet(rocksdb::ReadOptions(), slices, &values);
  std::optional<size_t> first_hit;  // index into keys
  size_t hits = 0;
  for (size_t k = 0; k < statuses.size(); ++k) {
    if (statuses[k].IsNotFound()) continue;
    RETURN_IF_ERROR(FromRocksDb(statuses[k], "looking up an event id"));
    if (values[k].size() != 8) {
      return absl::DataLossError("an event-id index entry is not 8 bytes");
    }
    if (!first_hit.has_value()) first_hit = k;
    ++hits;
  }
  if (hits == 0) return std::nullopt;
  if (hits < request.events.size()) {
    // Some events are new: this is not a repeat of one earlier append.
    const size_t i = event_index[*first_hit];
    return absl::AlreadyExistsError(absl::StrCat(
        "events[", i, "].event_id ", request.events[i].event_id->ToString(),
        " was already written at global position ",
        DecodeFixed64BE(values[*first_hit]),
        " by an earlier append that this one does not repeat exactly; resend "
        "the original append unchanged, or give new events new ids"));
  }

  // Every event has an id that exists (so keys[i] belongs to events[i]): it is
  // a retry if each repeats its stored event, in order, on the same stream.
  AppendResult result;
  result.already_written = true;
  for (size_t i = 0; i < request.events.size(); ++i) {
    const ProposedEvent& proposed = request.events[i];
    const std::string id = proposed.event_id->ToString();
    const uint64_t position = DecodeFixed64BE(values[i]);
    ASSIGN_OR_RETURN(RecordedEvent stored,
                     ReadEventAt(rocksdb::ReadOptions(), position));
    if (stored.stream_id != request.stream_id ||
        !SameContent(proposed, stored)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "events[", i, "].event_id ", id, " was already written to stream ",
          stored.stream_id, " at global position ", position,
          " with different content; a new event needs a new event_id"));
    }
    if (i == 0) {
      result.first_position = position;
      result.first_version = stored.stream_version;
    } else if (position != result.last_position + 1) {
      return absl::AlreadyExistsError(
          absl::StrCat("events[", i, "].event_id ", id,
                       " was already written at global "
                       "position ",
                       position, ", not next to events[", i - 1,
                       "]; resend the original append unchanged, or give new "
                       "events new ids"));
    }
    result.last_position = position;
    result.last_version = stored.stream_version;
  }
  return result;
}

}  // namespace caseline::eventstore
