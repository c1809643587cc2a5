// Projection: a pure fold of the log's events into view state, stored as
// key/value pairs. The engine (projection_engine.h) feeds every event in
// position order and commits each batch's writes together with the
// projection's checkpoint in one atomic write, so after a crash a projection
// resumes exactly after the last event whose effects were stored.
//
// Keys are the projection's own: the engine prefixes them with the
// projection's name and generation, so a projection never sees another's keys
// and a rebuild writes into a fresh key space.
#ifndef CASELINE_PROJECTIONS_PROJECTION_H_
#define CASELINE_PROJECTIONS_PROJECTION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "eventstore/event.h"

namespace caseline::eventstore {
class EventLog;
}

namespace caseline::projections {

// Read access to one projection's state. Query readers are consistent
// snapshots.
class ViewReader {
 public:
  virtual ~ViewReader() = default;
  // The last log position applied to this state (0: none).
  virtual uint64_t position() const = 0;
  virtual absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) const = 0;
  // Calls fn(key, value) for each key that starts with `prefix` and sorts
  // after `start_after` (all of them when start_after is empty), in key
  // order, until fn returns false.
  virtual absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      absl::FunctionRef<bool(absl::string_view key, absl::string_view value)>
          fn) const = 0;
};

// What Apply reads and writes. Reads see the writes made earlier in the same
// batch; nothing is stored until the engine commits the batch.
class ProjectionState : public ViewReader {
 public:
  virtual void Put(absl::string_view key, absl::string_view value) = 0;
  virtual void Delete(absl::string_view key) = 0;
};

class Projection {
 public:
  virtual ~Projection() = default;
  // Applies one event (every event of the log, in position order, each once).
  // An error stops the projection; the engine retries from its checkpoint
  // with a new instance.
  virtual absl::Status Apply(const eventstore::RecordedEvent& event,
                             ProjectionState& state) = 0;
};

// What a projection instance starts from.
struct ProjectionInit {
  // The log, for loading a client's record from its stream on a cache miss.
  // Not owned.
  eventstore::EventLog* log = nullptr;
  // The position the instance resumes after: every event at or before it is
  // already reflected in the stored state; the next Apply gets position+1.
  uint64_t checkpoint = 0;
};

// An in-memory ProjectionState for tests and tools: a sorted map.
class MemoryProjectionState : public ProjectionState {
 public:
  uint64_t position() const override { return position_; }
  void set_position(uint64_t position) { position_ = position; }

  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) const override {
    auto it = data_.find(std::string(key));
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn)
      const override {
    auto it = start_after.empty() || start_after < prefix
                  ? data_.lower_bound(std::string(prefix))
                  : data_.upper_bound(std::string(start_after));
    for (; it != data_.end(); ++it) {
      if (absl::string_view(it->first).substr(0, prefix.size()) != prefix)
        break;
      if (!fn(it->first, it->second)) break;
    }
    return absl::OkStatus();
  }
  void Put(absl::string_view key, absl::string_view value) override {
    data_[std::string(key)] = std::string(value);
  }
  void Delete(absl::string_view key) override { data_.erase(std::string(key)); }

  const std::map<std::string, std::string>& data() const { return data_; }

 private:
  uint64_t position_ = 0;
  std::map<std::string, std::string> data_;
};

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_PROJECTION_H_
