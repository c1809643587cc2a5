// VerifyChain: recompute each event's hash from its stored bytes and its
// predecessor's hash, streaming through the range with constant memory.
#include "absl/strings/str_cat.h"
#include "eventstore/envelope.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/key_format.h"
#include "base/status_macros.h"

namespace caseline::eventstore {

absl::StatusOr<ChainVerification> EventLogImpl::VerifyChain(
    uint64_t from_position, uint64_t to_position) {
  ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(CheckOpen());
  // The head first: every event up to it is readable by the time it is
  // published, so the snapshot taken next holds them all. (Taken the other
  // way round, a group committed in between would look like a gap.)
  const uint64_t head = HeadPosition();
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot.snapshot();
  read_options.fill_cache = false;  // a full scan would evict the working set
  return VerifyChainIn(*db_, read_options, head, from_position, to_position);
}

absl::StatusOr<ChainVerification> VerifyChainIn(
    rocksdb::DB& db, const rocksdb::ReadOptions& read_options, uint64_t head,
    uint64_t from_position, uint64_t to_position) {
  ChainVerification report;
  const uint64_t from = from_position == 0 ? 1 : from_position;
  const uint64_t to = to_position == 0 ? head : to_position;
  if (head == 0 && to_position == 0)
    return report;  // empty log: nothing to check
  if (from > to) {
    return absl::InvalidArgumentError(
        absl::StrCat("from_position ", from, " is after to_position ", to,
                     "; give a range within 1..", head));
  }
  if (to > head) {
    return absl::OutOfRangeError(absl::StrCat("to_position ", to,
                                              " is beyond the log's head ",
                                              head, "; use 0 for the head"));
  }

  auto fail = [&](uint64_t position, std::string problem) {
    report.ok = false;
    report.first_bad_position = position;
    report.problem = std::move(problem);
    return report;
  };

  // The chain is anchored on the stored hash of the event before the range.
  Hash prev{};
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read_options));
  if (from > 1) {
    it->Seek(EventKey(from - 1));
    if (!it->Valid() || it->key() != EventKey(from - 1)) {
      RETURN_IF_ERROR(FromRocksDb(it->status(), "verifying the chain"));
      return fail(from - 1, "no event stored at this position");
    }
    absl::StatusOr<EnvelopeParts> parts = SplitEnvelope(View(it->value()));
    if (!parts.ok())
      return fail(from - 1, std::string(parts.status().message()));
    prev = parts->hash;
    it->Next();
  } else {
    it->Seek(EventKey(1));
  }

  for (uint64_t expected = from; expected <= to; ++expected, it->Next()) {
    if (!it->Valid() || it->key() != EventKey(expected)) {
      RETURN_IF_ERROR(FromRocksDb(it->status(), "verifying the chain"));
      return fail(expected,
                  "no event stored at this position (gap in the log)");
    }
    const absl::string_view value = View(it->value());
    absl::StatusOr<RecordedEvent> event = DecodeEnvelope(value);
    if (!event.ok())
      return fail(expected, std::string(event.status().message()));
    if (event->global_position != expected) {
      return fail(expected, absl::StrCat("the envelope says position ",
                                         event->global_position));
    }
    if (event->prev_hash != prev) {
      return fail(expected,
                  absl::StrCat("prev_hash ", HashToHex(event->prev_hash),
                               " does not match the previous event's "
                               "hash ",
                               HashToHex(prev)));
    }
    const Hash computed =
        ChainHash(prev, value.substr(0, value.size() - kHashTrailerSize));
    if (computed != event->hash) {
      return fail(expected, absl::StrCat("stored hash ", HashToHex(event->hash),
                                         " but the content hashes to ",
                                         HashToHex(computed)));
    }
    prev = computed;
    report.events_checked++;
    report.head_position = expected;
    report.head_hash = computed;
  }
  return report;
}

}  // namespace caseline::eventstore
