#include "projections/client_record_store.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/care_event_context.h"
#include "eventstore/event_log.h"

namespace caseline::projections {
namespace {

// Whether version `a` is after `b` (nullopt: before the stream's first
// event).
bool Newer(std::optional<uint64_t> a, std::optional<uint64_t> b) {
  return a.has_value() && (!b.has_value() || *a > *b);
}

// The organisation an event of the organizations stream registers or
// updates, or nullptr.
const std::string* OrganizationOf(const v1::CareEvent& event) {
  if (event.has_organization_registered())
    return &event.organization_registered().organization_id();
  if (event.has_organization_updated())
    return &event.organization_updated().organization_id();
  return nullptr;
}

// What ClientAccessFold::Classify asks of the directory.
bool IsPart2Program(const care::OrganizationDirectory& directory,
                    const std::string& organization_id) {
  const v1::OrganizationRegistered* o = directory.Find(organization_id);
  return o != nullptr &&
         o->type() == v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT;
}

// Calls `fn` for each event of `stream_id` from `from_version` to the
// stream's end, in order. A stream with no events reads nothing.
absl::Status ReadStreamFrom(
    eventstore::EventLog& log, absl::string_view stream_id,
    uint64_t from_version,
    absl::FunctionRef<absl::Status(eventstore::RecordedEvent)> fn) {
  eventstore::ReadStreamOptions read;
  read.from_version = from_version;
  read.max_count = eventstore::kMaxReadCount;
  while (true) {
    absl::StatusOr<eventstore::StreamPage> page =
        log.ReadStream(stream_id, read);
    if (absl::IsNotFound(page.status())) return absl::OkStatus();
    if (!page.ok()) return page.status();
    for (eventstore::RecordedEvent& event : page->events) {
      RETURN_IF_ERROR(fn(std::move(event)));
    }
    if (page->end_of_stream || page->events.empty()) return absl::OkStatus();
    read.from_version = page->next_version;
  }
}

}  // namespace

std::optional<absl::string_view> ClientIdOf(
    const eventstore::RecordedEvent& event) {
  constexpr absl::string_view kPrefix = "client-";
  absl::string_view stream(event.stream_id.data(), event.stream_id.size());
  if (!absl::StartsWith(stream, kPrefix) || !care::IsCareEvent(event))
    return std::nullopt;
  return stream.substr(kPrefix.size());
}

// --- ClientRecordStore ----------------------------------------------------

ClientRecordStore::ClientRecordStore(eventstore::EventLog* log,
                                     Options options)
    : log_(log), options_(options) {
  directory_.directory = std::make_shared<const care::OrganizationDirectory>();
}

absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>>
ClientRecordStore::Directory() {
  ASSIGN_OR_RETURN(DirectoryState state, CatchUpDirectory());
  return std::move(state.directory);
}

absl::StatusOr<ClientRecordStore::DirectoryState>
ClientRecordStore::CatchUpDirectory() {
  // Observed before reading: the read then sees every event up to it.
  const uint64_t head = log_->HeadPosition();
  DirectoryState base;
  {
    MutexLock lock(&mu_);
    if (directory_checked_head_ == head) return directory_;
    base = directory_;
  }
  // Copied on the first new event; the published snapshot never changes.
  std::shared_ptr<care::OrganizationDirectory> next;
  uint64_t epoch = base.part2_epoch;
  const std::optional<uint64_t> from = base.directory->version();
  RETURN_IF_ERROR(ReadStreamFrom(
      *log_, care::kOrganizationsStream, from.has_value() ? *from + 1 : 0,
      [&](eventstore::RecordedEvent event) -> absl::Status {
        if (next == nullptr) {
          next = std::make_shared<care::OrganizationDirectory>(*base.directory);
        }
        if (care::IsCareEvent(event)) {
          ASSIGN_OR_RETURN(v1::CareEvent care, care::ParseCareEvent(event));
          const std::string* organization = OrganizationOf(care);
          const bool was_part2 =
              organization != nullptr && IsPart2Program(*next, *organization);
          next->Apply(care, care::ContextOf(event));
          if (organization != nullptr &&
              IsPart2Program(*next, *organization) != was_part2) {
            ++epoch;
          }
        }
        // A raw event on the stream still counts for the version a command
        // on it expects.
        next->SkipTo(event.stream_version);
        return absl::OkStatus();
      }));
  const std::optional<uint64_t> read_version =
      next != nullptr ? next->version() : base.directory->version();
  MutexLock lock(&mu_);
  const std::optional<uint64_t> published = directory_.directory->version();
  if (Newer(read_version, published)) {
    directory_ = {std::move(next), epoch};
    directory_checked_head_ = head;
  } else if (read_version == published) {
    directory_checked_head_ = std::max(directory_checked_head_, head);
  }
  // Ours, or a newer one a concurrent catch-up published.
  return directory_;
}

absl::StatusOr<std::shared_ptr<const ClientSnapshot>>
ClientRecordStore::Client(absl::string_view client_id) {
  DirectoryState directory;
  {
    MutexLock lock(&mu_);
    directory = directory_;
  }
  return CatchUpClient(client_id, directory);
}

absl::StatusOr<ClientAtHead> ClientRecordStore::Open(
    absl::string_view client_id) {
  ClientAtHead at;
  at.head = log_->HeadPosition();
  ASSIGN_OR_RETURN(DirectoryState directory, CatchUpDirectory());
  ASSIGN_OR_RETURN(at.client, CatchUpClient(client_id, directory));
  at.directory = std::move(directory.directory);
  return at;
}

std::shared_ptr<const ClientSnapshot> ClientRecordStore::Cached(
    absl::string_view client_id) {
  MutexLock lock(&mu_);
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.snapshot;
}

absl::StatusOr<std::shared_ptr<const ClientSnapshot>>
ClientRecordStore::CatchUpClient(absl::string_view client_id,
                                 const DirectoryState& directory) {
  const uint64_t head = log_->HeadPosition();
  // The snapshot to extend; none when the client is not cached or was
  // classified in another Part 2 epoch (then it is folded again).
  std::shared_ptr<const ClientSnapshot> base;
  {
    MutexLock lock(&mu_);
    auto it = clients_.find(client_id);
    if (it != clients_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      if (it->second.snapshot->part2_epoch_ == directory.part2_epoch) {
        base = it->second.snapshot;
        if (it->second.checked_head == head) return base;
      }
    }
  }

  std::vector<StoredEvent> read;
  const std::optional<uint64_t> from =
      base != nullptr ? base->version() : std::nullopt;
  auto read_from = [&](uint64_t from_version) {
    return ReadStreamFrom(
      *log_, care::ClientStreamId(client_id), from_version,
      [&read](eventstore::RecordedEvent event) {
        StoredEvent& stored = read.emplace_back();
        stored.recorded = std::move(event);
        if (care::IsCareEvent(stored.recorded)) {
          absl::StatusOr<v1::CareEvent> care =
              care::ParseCareEvent(stored.recorded);
          if (care.ok()) {
            stored.care = *std::move(care);
          } else {
            stored.parse_error = care.status();
          }
        }
        return absl::OkStatus();
      });
  };
  RETURN_IF_ERROR(read_from(from.has_value() ? *from + 1 : 0));
  if (base != nullptr &&
      std::any_of(read.begin(), read.end(), [](const StoredEvent& e) {
        return e.care.has_value() && e.care->has_client_erased();
      })) {
    // The client was erased since `base` was read: its earlier payloads now
    // read as payload_erased, so the record is folded again from them and
    // the cached plaintext goes.
    base.reset();
    read.clear();
    RETURN_IF_ERROR(read_from(0));
  }

  if (base != nullptr && read.empty()) {
    MutexLock lock(&mu_);
    Publish(std::string(client_id), base, head);
    return base;
  }
  std::shared_ptr<ClientSnapshot> next;
  if (kExtendsInPlace && base != nullptr) {
    // Copying the snapshot costs as much as the client's whole record, on
    // every command. When no one but the cache and this call holds it, and
    // no one can take it while it is out of the cache, extend it in place;
    // anyone looking for the client meanwhile folds it for themselves.
    MutexLock lock(&mu_);
    auto it = clients_.find(client_id);
    if (it != clients_.end() && it->second.snapshot == base &&
        base.use_count() == 2) {
      // use_count() is a relaxed load: order the last other holder's reads
      // (before its release of the count) before our writes.
#if !defined(__SANITIZE_THREAD__)
      std::atomic_thread_fence(std::memory_order_acquire);
#endif
      EraseLocked(it);
      next = std::const_pointer_cast<ClientSnapshot>(base);
      base.reset();
    }
  }
  if (next == nullptr) {
    // Copy-on-write: readers of `base` keep it unchanged.
    next.reset(base != nullptr ? new ClientSnapshot(*base)
                               : new ClientSnapshot(std::string(client_id)));
    base.reset();
  }
  {
    next->part2_epoch_ = directory.part2_epoch;
    size_t fold_from = next->events_.size();
    next->events_.reserve(next->events_.size() + read.size());
    bool corrected = false;
    for (StoredEvent& event : read) {
      if (event.recorded.stream_version != next->events_.size()) {
        return absl::DataLossError(absl::StrCat(
            "stream ", event.recorded.stream_id, " read version ",
            event.recorded.stream_version, " where version ",
            next->events_.size(), " was due; run `caseline verify`"));
      }
      corrected = corrected || (event.care.has_value() &&
                                event.care->has_event_entered_in_error());
      next->events_.push_back(
          std::make_shared<const StoredEvent>(std::move(event)));
    }
    // A correction changes what came before it: fold again from the first
    // event, leaving out what the stream's corrections mark.
    EnteredInErrorIds marked;
    if (corrected) {
      fold_from = 0;
      next->access_ = care::ClientAccessFold(next->client_id_);
      next->parse_error_ = absl::OkStatus();
      marked = EnteredInErrorIds::Of(next->events_,
                                     [](const StoredEvent&) { return true; });
    }
    for (size_t i = fold_from; i < next->events_.size(); ++i) {
      const StoredEvent& stored = *next->events_[i];
      next->access_.Apply(stored.recorded,
                          stored.care.has_value() ? &*stored.care : nullptr,
                          *directory.directory,
                          marked.Contains(stored.recorded));
      if (!stored.parse_error.ok() && next->parse_error_.ok()) {
        next->parse_error_ = stored.parse_error;
      }
    }
  }
  std::shared_ptr<const ClientSnapshot> result = std::move(next);
  MutexLock lock(&mu_);
  Publish(std::string(client_id), result, head);
  return result;
}

void ClientRecordStore::Publish(const std::string& client_id,
                                std::shared_ptr<const ClientSnapshot> snapshot,
                                uint64_t checked_head) {
  auto it = clients_.find(client_id);
  if (it == clients_.end()) {
    lru_.push_front(client_id);
    cached_events_ += snapshot->events().size();
    clients_.emplace(client_id,
                     Slot{std::move(snapshot), checked_head, lru_.begin()});
  } else {
    Slot& slot = it->second;
    const ClientSnapshot& published = *slot.snapshot;
    const bool same_epoch = snapshot->part2_epoch_ == published.part2_epoch_;
    if (snapshot->part2_epoch_ > published.part2_epoch_ ||
        (same_epoch && Newer(snapshot->version(), published.version()))) {
      cached_events_ -= published.events().size();
      cached_events_ += snapshot->events().size();
      slot.snapshot = std::move(snapshot);
      slot.checked_head = checked_head;
    } else if (same_epoch && snapshot->version() == published.version()) {
      slot.checked_head = std::max(slot.checked_head, checked_head);
    }
    lru_.splice(lru_.begin(), lru_, slot.lru);
  }
  EvictBeyondBounds(client_id);
}

void ClientRecordStore::EraseLocked(
    absl::flat_hash_map<std::string, Slot>::iterator it) {
  cached_events_ -= it->second.snapshot->events().size();
  lru_.erase(it->second.lru);
  clients_.erase(it);
}

void ClientRecordStore::EvictBeyondBounds(const std::string& keep) {
  while ((clients_.size() > options_.max_clients ||
          cached_events_ > options_.max_events) &&
         !lru_.empty() && lru_.back() != keep) {
    EraseLocked(clients_.find(lru_.back()));
  }
}

size_t ClientRecordStore::cached_clients_for_test() const {
  MutexLock lock(&mu_);
  return clients_.size();
}

size_t ClientRecordStore::cached_events_for_test() const {
  MutexLock lock(&mu_);
  return cached_events_;
}

// --- EnteredInErrorIds -----------------------------------------------------

EnteredInErrorIds EnteredInErrorIds::Of(
    const std::vector<std::shared_ptr<const StoredEvent>>& events,
    absl::FunctionRef<bool(const StoredEvent&)> counts) {
  EnteredInErrorIds ids;
  for (const std::shared_ptr<const StoredEvent>& stored : events) {
    if (stored->care.has_value() &&
        stored->care->has_event_entered_in_error() && counts(*stored)) {
      ids.Add(*stored->care);
    }
  }
  return ids;
}

void EnteredInErrorIds::Add(const v1::CareEvent& event) {
  // Stored in lowercase by the decision; lowered again for events appended
  // some other way.
  ids_.insert(absl::AsciiStrToLower(event.event_entered_in_error().event_id()));
}

// --- ProjectionRecords ----------------------------------------------------

absl::StatusOr<const care::ClientRecord*> ProjectionRecords::Apply(
    absl::string_view client_id, const v1::CareEvent& care_event,
    const eventstore::RecordedEvent& event,
    std::optional<care::ClientRecord>* before) {
  // A correction, or an erasure (after which every earlier payload of the
  // stream reads as erased): fold again from the store.
  const bool correction = care_event.has_event_entered_in_error() ||
                          care_event.has_client_erased();
  auto it = records_.find(client_id);
  if (it != records_.end() && !correction) {
    it->second.Apply(care_event, care::ContextOf(event));
    return &it->second;
  }
  if (it != records_.end()) records_.erase(it);
  if (records_.size() >= max_records_) records_.clear();
  care::ClientRecord record{std::string(client_id)};
  if (event.stream_version > 0) {
    if (store_ == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "client ", client_id, "'s record is needed from version ",
          event.stream_version,
          " on, and this projection has no store to load it from"));
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const ClientSnapshot> snapshot,
                     store_->Client(client_id));
    const std::vector<std::shared_ptr<const StoredEvent>>& events =
        snapshot->events();
    const uint64_t position = event.global_position;
    if (correction && before != nullptr) {
      // The record just before the correction, for the caller to compare:
      // folded from the store, since a held record may lack the events its
      // projection does not fold.
      EnteredInErrorIds earlier = EnteredInErrorIds::Of(
          events, [position](const StoredEvent& stored) {
            return stored.recorded.global_position < position;
          });
      care::ClientRecord& was = before->emplace(std::string(client_id));
      for (const std::shared_ptr<const StoredEvent>& stored : events) {
        if (stored->recorded.global_position >= position) break;
        RETURN_IF_ERROR(stored->parse_error);
        if (stored->care.has_value() && !earlier.Contains(stored->recorded)) {
          was.Apply(*stored->care, care::ContextOf(stored->recorded));
        }
      }
    }
    if (snapshot->parse_error().ok() && !events.empty() &&
        events.back()->recorded.global_position == position) {
      // The projection is at the stream's head (live following): the
      // store's record already is the fold up to and including `event`.
      return &records_.emplace(std::string(client_id), snapshot->record())
                  .first->second;
    }
    // The corrections up to and including `event` (which may be one).
    EnteredInErrorIds marked = EnteredInErrorIds::Of(
        events, [position](const StoredEvent& stored) {
          return stored.recorded.global_position <= position;
        });
    for (const std::shared_ptr<const StoredEvent>& stored : events) {
      if (stored->recorded.global_position >= position) break;
      RETURN_IF_ERROR(stored->parse_error);
      if (stored->care.has_value() && !marked.Contains(stored->recorded)) {
        record.Apply(*stored->care, care::ContextOf(stored->recorded));
      }
    }
  }
  it = records_.emplace(std::string(client_id), std::move(record)).first;
  it->second.Apply(care_event, care::ContextOf(event));
  return &it->second;
}

const care::ClientRecord* ProjectionRecords::Find(
    absl::string_view client_id) const {
  auto it = records_.find(client_id);
  return it == records_.end() ? nullptr : &it->second;
}

}  // namespace caseline::projections
