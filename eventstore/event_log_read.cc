// Reads. Each call reads one RocksDB snapshot, so a page never mixes states;
// only committed (synced) events are visible. Pages stop at max_count events,
// kMaxPageBytes of payload, or (filtered reads) kMaxExamined events examined.
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/envelope.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/key_format.h"
#include "base/status_macros.h"
#include "eventstore/validation.h"

namespace caseline::eventstore {
namespace {

constexpr size_t kMaxPageBytes = 2 << 20;
constexpr size_t kMaxExamined = 10000;
// Rough bytes of an envelope besides its payload, for the page budget.
constexpr size_t kEnvelopeOverhead = 256;

size_t PageBytes(const RecordedEvent& e) {
  return e.payload.size() + e.metadata.size() * 32 + kEnvelopeOverhead;
}

// A snapshot released when the reader is done.
class SnapshotReader {
 public:
  explicit SnapshotReader(rocksdb::DB* db) : snapshot_(db) {
    options_.snapshot = snapshot_.snapshot();
  }
  const rocksdb::ReadOptions& options() const { return options_; }

 private:
  rocksdb::ManagedSnapshot snapshot_;
  rocksdb::ReadOptions options_;
};

uint64_t EventKeyPosition(const rocksdb::Slice& key) {
  return DecodeFixed64BE(absl::string_view(key.data() + 1, 8));
}

bool IsEventKey(const rocksdb::Slice& key) {
  return key.size() == kEventKeySize && key[0] == kEventPrefix;
}

}  // namespace

absl::StatusOr<uint64_t> LastPosition(
    rocksdb::DB& db, const rocksdb::ReadOptions& read_options) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read_options));
  it->SeekForPrev(EventKey(UINT64_MAX));
  if (it->Valid() && IsEventKey(it->key())) return EventKeyPosition(it->key());
  RETURN_IF_ERROR(FromRocksDb(it->status(), "finding the log head"));
  return 0;
}

absl::Status EventLogImpl::CheckOpen() const {
  if (db_ != nullptr) return absl::OkStatus();
  return absl::UnavailableError(
      "the event log's database is closed: reopening it after the disk was "
      "full failed; free space on the disk and retry, or restart caselined");
}

absl::StatusOr<std::optional<uint64_t>> EventLogImpl::ReadStreamHead(
    const rocksdb::ReadOptions& read_options, absl::string_view stream_id) {
  const std::string prefix = StreamIndexPrefix(stream_id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options));
  it->SeekForPrev(StreamIndexKey(stream_id, UINT64_MAX));
  if (it->Valid() && it->key().size() == prefix.size() + 8 &&
      it->key().starts_with(prefix)) {
    return DecodeFixed64BE(
        absl::string_view(it->key().data() + prefix.size(), 8));
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading a stream head"));
  return std::nullopt;
}

absl::StatusOr<RecordedEvent> EventLogImpl::ReadEventAt(
    const rocksdb::ReadOptions& read_options, uint64_t position) {
  std::string value;
  rocksdb::Status s = db_->Get(read_options, EventKey(position), &value);
  if (s.IsNotFound()) {
    return absl::DataLossError(
        absl::StrCat("the index points at global position ", position,
                     " but no event is stored there; run `caseline verify`"));
  }
  RETURN_IF_ERROR(FromRocksDb(s, absl::StrCat("reading position ", position)));
  absl::StatusOr<RecordedEvent> event = DecodeEnvelope(value);
  if (!event.ok()) {
    return absl::DataLossError(absl::StrCat("global position ", position, ": ",
                                            event.status().message()));
  }
  RETURN_IF_ERROR(OpenPayload(read_options, *event));
  return event;
}

absl::StatusOr<StreamPage> EventLogImpl::ReadStream(
    absl::string_view stream_id, const ReadStreamOptions& options) {
  RETURN_IF_ERROR(ValidateStreamId(stream_id, options_.limits, "stream_id"));
  RETURN_IF_ERROR(ValidateMaxCount(options.max_count));
  ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(CheckOpen());
  SnapshotReader reader(db_.get());
  ASSIGN_OR_RETURN(std::optional<uint64_t> head,
                   ReadStreamHead(reader.options(), stream_id));
  if (!head.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("stream ", stream_id,
                     " has no events; check the id, or append with "
                     "expected version no_stream to start it"));
  }
  StreamPage page;
  page.last_stream_version = *head;
  const bool forward = options.direction == Direction::kForward;
  uint64_t from = options.from_version.value_or(forward ? 0 : *head);
  if (forward && from > *head) {
    page.next_version = from;
    page.end_of_stream = true;
    return page;
  }
  from = std::min(from, *head);

  const std::string prefix = StreamIndexPrefix(stream_id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(reader.options()));
  if (forward) {
    it->Seek(StreamIndexKey(stream_id, from));
  } else {
    it->SeekForPrev(StreamIndexKey(stream_id, from));
  }
  size_t bytes = 0;
  while (it->Valid() && it->key().starts_with(prefix) &&
         page.events.size() < options.max_count && bytes < kMaxPageBytes) {
    if (it->value().size() != 8) {
      return absl::DataLossError(absl::StrCat(
          "stream ", stream_id, ": an index entry is not 8 bytes"));
    }
    ASSIGN_OR_RETURN(
        RecordedEvent event,
        ReadEventAt(reader.options(), DecodeFixed64BE(View(it->value()))));
    bytes += PageBytes(event);
    page.events.push_back(std::move(event));
    if (forward) {
      it->Next();
    } else {
      it->Prev();
    }
  }
  RETURN_IF_ERROR(
      FromRocksDb(it->status(), absl::StrCat("reading stream ", stream_id)));
  if (page.events.empty()) {
    page.next_version = from;
    page.end_of_stream = true;
    return page;
  }
  const uint64_t last = page.events.back().stream_version;
  if (forward) {
    page.next_version = last + 1;
    page.end_of_stream = last == *head;
  } else {
    page.next_version = last == 0 ? 0 : last - 1;
    page.end_of_stream = last == 0;
  }
  return page;
}

absl::StatusOr<LogPage> EventLogImpl::ReadAll(const ReadAllOptions& options) {
  RETURN_IF_ERROR(ValidateMaxCount(options.max_count));
  ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(CheckOpen());
  SnapshotReader reader(db_.get());
  LogPage page;
  ASSIGN_OR_RETURN(page.head_position, LastPosition(*db_, reader.options()));
  const bool forward = options.direction == Direction::kForward;
  uint64_t from =
      options.from_position.value_or(forward ? 1 : page.head_position);
  if (forward) {
    from = std::max<uint64_t>(from, 1);
  } else {
    from = std::min(from, page.head_position);
  }
  if ((forward && from > page.head_position) || (!forward && from == 0)) {
    page.next_position = from;
    page.end_of_log = true;
    return page;
  }

  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(reader.options()));
  if (forward) {
    it->Seek(EventKey(from));
  } else {
    it->SeekForPrev(EventKey(from));
  }
  uint64_t last_examined = 0;
  size_t examined = 0;
  size_t bytes = 0;
  if (options.filter.event_type_prefix.empty() &&
      options.filter.stream_id_prefix.empty()) {
    page.events.reserve(std::min<uint64_t>(
        options.max_count, (forward ? page.head_position - from : from) + 1));
  }
  while (it->Valid() && IsEventKey(it->key()) &&
         page.events.size() < options.max_count && bytes < kMaxPageBytes &&
         examined < kMaxExamined) {
    last_examined = EventKeyPosition(it->key());
    ++examined;
    absl::StatusOr<RecordedEvent> event = DecodeEnvelope(View(it->value()));
    if (!event.ok()) {
      return absl::DataLossError(absl::StrCat("global position ", last_examined,
                                              ": ", event.status().message()));
    }
    if (options.filter.Matches(event->stream_id, event->event_type)) {
      RETURN_IF_ERROR(OpenPayload(reader.options(), *event));
      bytes += PageBytes(*event);
      page.events.push_back(*std::move(event));
    }
    if (forward) {
      it->Next();
    } else {
      it->Prev();
    }
  }
  RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the log"));
  if (forward) {
    page.next_position = examined == 0 ? from : last_examined + 1;
    page.end_of_log = page.next_position > page.head_position;
  } else {
    page.next_position = examined == 0 ? 0 : last_examined - 1;
    page.end_of_log = page.next_position == 0;
  }
  return page;
}

absl::StatusOr<std::optional<RecordedEvent>> EventLogImpl::FindEvent(
    const EventId& event_id) {
  ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(CheckOpen());
  SnapshotReader reader(db_.get());
  std::string position;
  rocksdb::Status s =
      db_->Get(reader.options(), EventIdKey(event_id), &position);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocksDb(s, "looking up an event id"));
  if (position.size() != 8) {
    return absl::DataLossError("an event-id index entry is not 8 bytes");
  }
  return ReadEventAt(reader.options(), DecodeFixed64BE(position));
}

uint64_t EventLogImpl::HeadPosition() const {
  MutexLock lock(&mu_);
  return head_position_;
}

uint64_t EventLogImpl::WaitForHeadAbove(uint64_t position,
                                        absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(&mu_);
  while (head_position_ <= position && !closing_) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration() || !head_cv_.WaitFor(left)) break;
  }
  return head_position_;
}

}  // namespace caseline::eventstore
