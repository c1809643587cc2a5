// ClientRecordCache: the client records a projection folds, kept in memory
// and loaded from the client's stream on a miss, so a projection stores only
// its view state and never a copy of the records.
//
// Not thread-safe: one projection instance (one engine thread) owns it.
#ifndef CASELINE_PROJECTIONS_RECORD_CACHE_H_
#define CASELINE_PROJECTIONS_RECORD_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "eventstore/event.h"
#include "care/client_record.h"

namespace caseline::eventstore {
class EventLog;
}

namespace caseline::projections {

// The client a recorded event belongs to: the id in a "client-<id>" stream
// carrying a care event; nullopt for anything else.
std::optional<absl::string_view> ClientIdOf(
    const eventstore::RecordedEvent& event);

class ClientRecordCache {
 public:
  // `log` is not owned. When more than max_records are cached the cache is
  // emptied (records reload from the log on demand).
  explicit ClientRecordCache(eventstore::EventLog* log,
                             size_t max_records = 200000)
      : log_(log), max_records_(max_records) {}

  // Applies `event` (a care event of client `client_id`'s stream) to the
  // client's record and returns it. On a miss the record is first folded
  // from the stream's events before event.global_position, so the result
  // always reflects exactly the stream up to and including `event`.
  absl::StatusOr<const care::ClientRecord*> Apply(
      absl::string_view client_id, const v1::CareEvent& care_event,
      const eventstore::RecordedEvent& event);

  // The cached record, or nullptr (no I/O).
  const care::ClientRecord* Find(absl::string_view client_id) const;

  size_t size() const { return records_.size(); }

 private:
  eventstore::EventLog* log_;
  size_t max_records_;
  absl::flat_hash_map<std::string, care::ClientRecord> records_;
};

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_RECORD_CACHE_H_
