// LogObserver: what the event log's writer reports about each group commit,
// for metrics. The log knows nothing of how it is reported (server/metrics.h
// implements it for Prometheus); without an observer (the default) the
// writer reports nothing.
#ifndef CASELINE_EVENTSTORE_LOG_OBSERVER_H_
#define CASELINE_EVENTSTORE_LOG_OBSERVER_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace caseline::eventstore {

// One group commit: the appends the writer made durable in one synced
// WriteBatch. Appends answered without writing (identical retries,
// refusals) are not in it.
struct GroupCommit {
  // Append requests written, and the events they held (>= 1 each).
  size_t requests = 0;
  size_t events = 0;
  // How long the synced write (RocksDB's Write with sync) took.
  absl::Duration sync_duration;
  // One per request written: from AppendAsync (or AppendEachAsync) queuing
  // it to the group being durable, on a monotonic clock.
  absl::Span<const absl::Duration> append_latencies;
  // The log's head (last committed position) once the group is durable.
  uint64_t head_position = 0;
};

class LogObserver {
 public:
  virtual ~LogObserver() = default;

  // Called on the log's writer thread once a group is durable, before its
  // appends are answered. It holds up every append behind it: it must be
  // quick (no I/O, no waiting) and must not call the log. `group` and its
  // span are valid only during the call.
  virtual void OnGroupCommitted(const GroupCommit& group) = 0;
};

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_LOG_OBSERVER_H_
