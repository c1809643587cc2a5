// Data keys of encrypted streams ('k' keys, docs/log_format.md "Encrypted
// payloads"): the one place payloads are decrypted, the writer's keys,
// erasure (crypto-shredding), rewrapping after a KEK rotation, and the
// erasures the KEK re-applies at Open.
#include <openssl/crypto.h>

#include <cstring>
#include <future>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/key_format.h"
#include "eventstore/validation.h"

namespace caseline::eventstore {
namespace {

// Bounds the cache of unwrapped data keys.
constexpr size_t kMaxCachedKeys = 1 << 16;
// Data keys rewrapped per synced batch.
constexpr size_t kRewrapBatch = 1000;

constexpr char kNoKek[] =
    "this event log has no key-encryption key, so it encrypts no payloads "
    "and has no data keys to erase or rewrap; start caselined with "
    "--kek_file and --encrypt_payloads";

std::string ErasedMessage(absl::string_view stream_id, uint64_t position) {
  if (position != 0) {
    return absl::StrCat(
        "stream ", stream_id, " was erased at global position ", position,
        " (its data key was destroyed): it takes no more events");
  }
  return absl::StrCat(
      "stream ", stream_id,
      "'s data key was erased, but the event recording the erasure is not in "
      "this log (it was restored from a backup taken before the erasure, or "
      "the server stopped during it; erasing it again records it): it takes "
      "no more events");
}

absl::string_view StreamOfDataKey(const rocksdb::Slice& key) {
  return absl::string_view(key.data() + 1, key.size() - 1);
}

}  // namespace

absl::StatusOr<ErasureResult> EventLog::EraseStream(
    absl::string_view /*stream_id*/, ProposedEvent /*record*/) {
  return absl::FailedPreconditionError(kNoKek);
}

absl::StatusOr<RewrapResult> EventLog::RewrapDataKeys() {
  return absl::FailedPreconditionError(kNoKek);
}

uint64_t EventLog::AddErasureListener(ErasureListener listener) {
  MutexLock lock(&listeners_mu_);
  const uint64_t id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void EventLog::RemoveErasureListener(uint64_t id) {
  MutexLock lock(&listeners_mu_);
  listeners_.erase(id);
}

void EventLog::NotifyErased(absl::string_view stream_id) {
  // Held while calling, so that a listener removed is no longer running.
  MutexLock lock(&listeners_mu_);
  for (const auto& [id, listener] : listeners_) listener(stream_id);
}

bool EventLogImpl::KeyedStream(absl::string_view stream_id) const {
  return options_.kek != nullptr &&
         absl::StartsWith(stream_id, options_.encrypted_stream_prefix);
}

void EventLogImpl::CacheStreamKey(const std::string& stream_id,
                                  std::shared_ptr<const StreamKey> key) {
  WriterMutexLock lock(&keys_mu_);
  if (keys_.size() >= kMaxCachedKeys) keys_.clear();
  keys_[stream_id] = std::move(key);
}

absl::StatusOr<std::shared_ptr<const EventLogImpl::StreamKey>>
EventLogImpl::LoadStreamKey(const rocksdb::ReadOptions& read_options,
                            absl::string_view stream_id) {
  {
    ReaderMutexLock lock(&keys_mu_);
    if (auto it = keys_.find(stream_id); it != keys_.end()) return it->second;
  }
  std::string value;
  const rocksdb::Status s =
      db_->Get(read_options, DataKeyKey(stream_id), &value);
  if (s.IsNotFound()) return nullptr;
  RETURN_IF_ERROR(FromRocksDb(
      s, absl::StrCat("reading the data key of stream ", stream_id)));
  absl::StatusOr<DataKeyRecord> record = DecodeDataKeyRecord(value);
  if (!record.ok()) {
    return absl::DataLossError(absl::StrCat(
        "stream ", stream_id, ": ", record.status().message(),
        kDamagedDataAdvice));
  }
  auto key = std::make_shared<StreamKey>();
  key->key_id = record->key_id;
  if (record->state == DataKeyRecord::State::kErased ||
      options_.kek->IsErased(record->key_id)) {
    key->state = DataKeyRecord::State::kErased;
    key->erased_at_position = record->erased_at_position;
  } else {
    absl::StatusOr<SecretKey> unwrapped = options_.kek->Unwrap(
        WrappedKey{record->kek_id, record->wrapped}, record->key_id,
        DataKeyAad(record->key_id, stream_id));
    OPENSSL_cleanse(record->wrapped.data(), record->wrapped.size());
    if (!unwrapped.ok()) {
      return absl::Status(unwrapped.status().code(),
                          absl::StrCat("stream ", stream_id, ": ",
                                       unwrapped.status().message()));
    }
    key->key.emplace(*unwrapped);
  }
  std::shared_ptr<const StreamKey> result = std::move(key);
  WriterMutexLock lock(&keys_mu_);
  // An entry put meanwhile (by an erasure, or the writer) wins over what
  // was read before it.
  if (auto it = keys_.find(stream_id); it != keys_.end()) return it->second;
  // The KEK is asked again under the lock, so that a key unwrapped just
  // before an erasure is never cached after it.
  if (result->state == DataKeyRecord::State::kActive &&
      options_.kek->IsErased(result->key_id)) {
    auto erased = std::make_shared<StreamKey>();
    erased->state = DataKeyRecord::State::kErased;
    erased->key_id = result->key_id;
    result = std::move(erased);
  }
  if (keys_.size() >= kMaxCachedKeys) keys_.clear();
  keys_.emplace(std::string(stream_id), result);
  return result;
}

absl::Status EventLogImpl::OpenPayload(const rocksdb::ReadOptions& read_options,
                                       RecordedEvent& event) {
  auto marker = event.metadata.find(kPayloadEncryptionMetadataKey);
  if (marker == event.metadata.end()) return absl::OkStatus();
  if (marker->second != kPayloadEncryptionAes256Gcm) {
    return absl::DataLossError(absl::StrCat(
        "global position ", event.global_position,
        ": the payload is marked encrypted with an unknown scheme \"",
        marker->second, "\""));
  }
  event.metadata.erase(marker);
  if (options_.kek == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "global position ", event.global_position,
        " holds an encrypted payload but the log has no key-encryption key; "
        "start caselined with the --kek_file the log was written with"));
  }
  absl::StatusOr<DataKeyId> key_id = EncryptedPayloadKeyId(event.payload);
  if (!key_id.ok()) {
    return absl::DataLossError(absl::StrCat("global position ",
                                            event.global_position, ": ",
                                            key_id.status().message()));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const StreamKey> key,
                   LoadStreamKey(read_options, event.stream_id));
  if (key == nullptr || key->key_id != *key_id) {
    return absl::DataLossError(absl::StrCat(
        "global position ", event.global_position,
        ": the payload is encrypted with data key ", DataKeyIdToHex(*key_id),
        ", which is not stream ", event.stream_id, "'s data key",
        kDamagedDataAdvice));
  }
  if (key->state == DataKeyRecord::State::kErased) {
    event.payload.clear();
    event.payload.shrink_to_fit();
    event.payload_erased = true;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> plaintext = DecryptPayload(
      *key->key, event.stream_id, event.event_id, event.payload);
  if (!plaintext.ok()) {
    return absl::DataLossError(absl::StrCat(
        "global position ", event.global_position, ": ",
        plaintext.status().message(), kDamagedDataAdvice));
  }
  event.payload = *std::move(plaintext);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const EventLogImpl::StreamKey>>
EventLogImpl::WriterStreamKey(const PendingAppend& pending,
                              GroupOverlay& overlay,
                              rocksdb::WriteBatch& batch, bool create) {
  const std::string& stream_id = pending.request.stream_id;
  std::shared_ptr<const StreamKey> key;
  if (auto it = overlay.keys.find(stream_id); it != overlay.keys.end()) {
    key = it->second;
  } else {
    ASSIGN_OR_RETURN(key, LoadStreamKey(rocksdb::ReadOptions(), stream_id));
  }
  if (key != nullptr && key->state == DataKeyRecord::State::kErased) {
    // EraseStream's own append completes an erasure not yet recorded.
    if (pending.erasure && key->erased_at_position == 0) return key;
    return absl::FailedPreconditionError(
        ErasedMessage(stream_id, key->erased_at_position));
  }
  if (pending.erasure) {
    if (key == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "stream ", stream_id, " has no data key to erase"));
    }
    return key;
  }
  if (key != nullptr || !options_.encrypt_payloads || !create) return key;
  // The stream's first encrypted event: a new data key, stored wrapped in
  // the same batch as the event.
  auto created = std::make_shared<StreamKey>();
  ASSIGN_OR_RETURN(const SecretKey secret, SecretKey::Generate());
  created->key.emplace(secret);
  ASSIGN_OR_RETURN(const std::string id, RandomBytes(created->key_id.size()));
  std::memcpy(created->key_id.data(), id.data(), created->key_id.size());
  ASSIGN_OR_RETURN(WrappedKey wrapped,
                   options_.kek->Wrap(secret, created->key_id,
                                      DataKeyAad(created->key_id, stream_id)));
  DataKeyRecord record;
  record.key_id = created->key_id;
  record.kek_id = std::move(wrapped.kek_id);
  record.wrapped = std::move(wrapped.bytes);
  std::string value = EncodeDataKeyRecord(record);
  RETURN_IF_ERROR(FromRocksDb(batch.Put(DataKeyKey(stream_id), value),
                              "building the append batch"));
  if (options_.replicator != nullptr) {
    // Replicated with the group (docs/cluster.md "A group").
    overlay.data_keys.push_back(DataKeyUpdate{stream_id, std::move(value)});
  }
  if (format_version_ < kFirstFormatWithDataKeys) {
    // The directory now holds what a release before version 2 cannot read.
    std::string version;
    PutFixed32BE(&version, kFirstFormatWithDataKeys);
    RETURN_IF_ERROR(FromRocksDb(batch.Put(kFormatVersionKey, version),
                                "building the append batch"));
  }
  overlay.keys[stream_id] = created;
  return created;
}

absl::Status EventLogImpl::PurgeOldKeyValues(absl::string_view stream_id) {
  rocksdb::FlushOptions flush;
  flush.wait = true;
  RETURN_IF_ERROR(FromRocksDb(db_->Flush(flush), "flushing the memtable"));
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  const std::string key = DataKeyKey(stream_id);
  const rocksdb::Slice slice(key);
  return FromRocksDb(db_->CompactRange(compact, &slice, &slice),
                     "compacting the erased data key away");
}

absl::StatusOr<ErasureResult> EventLogImpl::EraseStream(
    absl::string_view stream_id, ProposedEvent record) {
  if (options_.kek == nullptr) return absl::FailedPreconditionError(kNoKek);
  RETURN_IF_ERROR(ValidateStreamId(stream_id, options_.limits, "stream_id"));
  if (!KeyedStream(stream_id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stream ", stream_id, " is not encrypted (only streams starting \"",
        options_.encrypted_stream_prefix, "\" are), so it cannot be erased"));
  }
  AppendRequest request;
  request.stream_id = std::string(stream_id);
  request.events.push_back(std::move(record));
  RETURN_IF_ERROR(ValidateAppendRequest(request, options_.limits));

  MutexLock admin_lock(&keys_admin_mu_);
  ErasureResult result;
  std::optional<DataKeyRecord> stored;
  {
    ReaderMutexLock db_lock(&db_mu_);
    RETURN_IF_ERROR(CheckOpen());
    std::string value;
    const rocksdb::Status s =
        db_->Get(rocksdb::ReadOptions(), DataKeyKey(stream_id), &value);
    if (!s.IsNotFound()) {
      RETURN_IF_ERROR(FromRocksDb(s, "reading the data key"));
      ASSIGN_OR_RETURN(stored, DecodeDataKeyRecord(value));
      OPENSSL_cleanse(value.data(), value.size());
    } else {
      ASSIGN_OR_RETURN(std::optional<uint64_t> head,
                       ReadStreamHead(rocksdb::ReadOptions(), stream_id));
      if (!head.has_value()) {
        return absl::NotFoundError(
            absl::StrCat("stream ", stream_id, " has no events"));
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "stream ", stream_id,
          " has no data key: its events were written without encryption "
          "(--encrypt_payloads off), so erasing a key cannot make them "
          "unreadable"));
    }
    result.key_id = DataKeyIdToHex(stored->key_id);
    if (stored->state == DataKeyRecord::State::kErased &&
        stored->erased_at_position != 0) {
      // Done before; the purge is repeated in case it did not finish.
      RETURN_IF_ERROR(PurgeOldKeyValues(stream_id));
      result.position = stored->erased_at_position;
      result.already_erased = true;
      return result;
    }
  }
  // 1. The KEK forgets the key: from here on the erasure is in effect, also
  // for a backup that still holds the wrapped key.
  RETURN_IF_ERROR(options_.kek->RecordErased(stored->key_id));
  // 2. Reads stop decrypting with it.
  auto erased = std::make_shared<StreamKey>();
  erased->state = DataKeyRecord::State::kErased;
  erased->key_id = stored->key_id;
  CacheStreamKey(std::string(stream_id), erased);
  NotifyErased(stream_id);
  // 3. The record of the erasure, with the erased-key record that replaces
  // the wrapped key (Prepare), through the writer.
  std::promise<absl::StatusOr<AppendResult>> appended;
  {
    MutexLock lock(&mu_);
    if (closing_) {
      return absl::UnavailableError(
          "the event log is shutting down; the data key is erased, but the "
          "erasure is not recorded yet: erase again once the server is back");
    }
    PendingAppend pending{std::move(request),
                          [&appended](absl::StatusOr<AppendResult> r) {
                            appended.set_value(std::move(r));
                          },
                          std::chrono::steady_clock::now(), /*erasure=*/true};
    queue_.push_back(std::move(pending));
    writer_cv_.Signal();
  }
  absl::StatusOr<AppendResult> written = appended.get_future().get();
  if (!written.ok()) {
    return absl::Status(
        written.status().code(),
        absl::StrCat("the data key of stream ", stream_id,
                     " is erased, but recording the erasure failed (",
                     written.status().message(),
                     "); erase again to record it"));
  }
  result.position = written->first_position;
  result.already_erased = false;
  // 4. No file keeps the old value.
  ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(CheckOpen());
  RETURN_IF_ERROR(PurgeOldKeyValues(stream_id));
  return result;
}

absl::StatusOr<RewrapResult> EventLogImpl::RewrapDataKeys() {
  if (options_.kek == nullptr) return absl::FailedPreconditionError(kNoKek);
  MutexLock admin_lock(&keys_admin_mu_);
  ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(CheckOpen());
  RewrapResult result;
  result.kek_id = options_.kek->current_id();
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot.snapshot();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
  rocksdb::WriteBatch batch;
  size_t in_batch = 0;
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  rocksdb::DB& db = *db_;  // db_mu_ is held for the whole call
  auto write = [&]() -> absl::Status {
    if (in_batch == 0) return absl::OkStatus();
    RETURN_IF_ERROR(FromRocksDb(db.Write(write_options, &batch),
                                "writing rewrapped data keys"));
    batch.Clear();
    in_batch = 0;
    return absl::OkStatus();
  };
  for (it->Seek(std::string(1, kDataKeyPrefix));
       it->Valid() && it->key()[0] == kDataKeyPrefix; it->Next()) {
    const absl::string_view stream_id = StreamOfDataKey(it->key());
    absl::StatusOr<DataKeyRecord> record = DecodeDataKeyRecord(View(it->value()));
    if (!record.ok()) {
      return absl::DataLossError(absl::StrCat(
          "stream ", stream_id, ": ", record.status().message()));
    }
    if (record->state != DataKeyRecord::State::kActive ||
        options_.kek->IsErased(record->key_id)) {
      continue;
    }
    if (record->kek_id == result.kek_id) {
      ++result.unchanged;
      continue;
    }
    const std::string aad = DataKeyAad(record->key_id, stream_id);
    ASSIGN_OR_RETURN(
        const SecretKey key,
        options_.kek->Unwrap(WrappedKey{record->kek_id, record->wrapped},
                             record->key_id, aad));
    ASSIGN_OR_RETURN(WrappedKey wrapped,
                     options_.kek->Wrap(key, record->key_id, aad));
    record->kek_id = std::move(wrapped.kek_id);
    record->wrapped = std::move(wrapped.bytes);
    RETURN_IF_ERROR(FromRocksDb(
        batch.Put(it->key(), EncodeDataKeyRecord(*record)),
        "building the rewrap batch"));
    ++result.rewrapped;
    if (++in_batch == kRewrapBatch) RETURN_IF_ERROR(write());
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the data keys"));
  RETURN_IF_ERROR(write());
  return result;
}

absl::Status EventLogImpl::CheckDataKeys(rocksdb::DB& db,
                                         KeyEncryptionKey* kek,
                                         const std::string& data_dir) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  rocksdb::WriteBatch tombstones;
  uint64_t erased = 0;
  for (it->Seek(std::string(1, kDataKeyPrefix));
       it->Valid() && it->key()[0] == kDataKeyPrefix; it->Next()) {
    const absl::string_view stream_id = StreamOfDataKey(it->key());
    if (kek == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", data_dir,
          " holds encrypted payloads (data keys of streams such as ",
          stream_id,
          "), but no key-encryption key was given: start caselined with the "
          "--kek_file this log was written with"));
    }
    absl::StatusOr<DataKeyRecord> record = DecodeDataKeyRecord(View(it->value()));
    if (!record.ok()) {
      return absl::DataLossError(absl::StrCat(
          "data directory ", data_dir, ", stream ", stream_id, ": ",
          record.status().message(), kDamagedDataAdvice));
    }
    if (record->state != DataKeyRecord::State::kActive) {
      // An erasure this KEK has not recorded: a cluster node that restored
      // a peer's backup holding it (docs/cluster.md "Encryption"). Recorded
      // now, so that an older copy of this node's log never unwraps the key.
      if (!kek->IsErased(record->key_id)) {
        RETURN_IF_ERROR(kek->RecordErased(record->key_id));
      }
      continue;
    }
    if (kek->IsErased(record->key_id)) {
      // Erased after this copy of the log was made (a restored backup), or
      // the server stopped during the erasure: the wrapped key goes.
      DataKeyRecord tombstone;
      tombstone.state = DataKeyRecord::State::kErased;
      tombstone.key_id = record->key_id;
      RETURN_IF_ERROR(FromRocksDb(
          tombstones.Put(it->key(), EncodeDataKeyRecord(tombstone)),
          "building the erased-key batch"));
      ++erased;
      continue;
    }
    if (!kek->HasVersion(record->kek_id)) {
      std::vector<std::string> held = kek->version_ids();
      return absl::FailedPreconditionError(absl::StrCat(
          "data directory ", data_dir, ": the data key of stream ", stream_id,
          " is wrapped under KEK version ", record->kek_id, ", which ",
          kek->Describe(), " does not hold (it holds ",
          absl::StrJoin(held, ", "),
          "): this is not the KEK the log was written with. Start caselined "
          "with that --kek_file (after a rotation, the file that holds both "
          "versions)"));
    }
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the data keys"));
  it.reset();
  if (erased == 0) return absl::OkStatus();
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  RETURN_IF_ERROR(FromRocksDb(db.Write(write_options, &tombstones),
                              "writing the erased-key records"));
  rocksdb::FlushOptions flush;
  flush.wait = true;
  RETURN_IF_ERROR(FromRocksDb(db.Flush(flush), "flushing the memtable"));
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForce;
  const std::string begin(1, kDataKeyPrefix);
  const std::string end(1, kDataKeyPrefix + 1);
  const rocksdb::Slice begin_slice(begin), end_slice(end);
  return FromRocksDb(db.CompactRange(compact, &begin_slice, &end_slice),
                     "compacting the erased data keys away");
}

}  // namespace caseline::eventstore
