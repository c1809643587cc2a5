// ProjectionEngine: runs projections continuously behind the log.
//
// Each projection has a serving generation: its state lives under the keys
// "g/<name>/<generation>/d<key>" of the ViewStore, and its checkpoint (the
// last log position applied) under "g/<name>/<generation>/c", written in the
// same atomic batch as the state changes of the events up to it. A runner
// thread per generation reads the log from checkpoint+1 in pages, applies each
// event, commits, and then waits for new commits. After a crash the runner
// resumes from the stored checkpoint: no event is applied twice or skipped.
//
// Rebuild starts a second runner on a fresh generation from position 0; the
// old generation keeps serving queries until the new one has caught up with
// the head, then "a/<name>" (the serving generation) switches in one write
// and the old generation's keys are deleted.
//
// Runners read the log through one shared page feed: a page read, decoded
// and decrypted for one runner is handed, immutable, to every other runner
// that asks for the same position while it is cached (a few pages), an
// empty page at the head excepted. Rebuilding runners that run at once keep
// within a few pages of each other (the faster wait for the slower, which
// then has the cores), so rebuilding every projection at once reads and
// decodes the log once, not once per projection; runners following the
// head share its new events the same way.
//
// Thread-safety: every method may be called concurrently.
#ifndef CASELINE_PROJECTIONS_PROJECTION_ENGINE_H_
#define CASELINE_PROJECTIONS_PROJECTION_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/views.pb.h"
#include "base/mutex.h"
#include "projections/projection.h"

namespace caseline::eventstore {
class EventLog;
class ViewStore;
}  // namespace caseline::eventstore

namespace caseline::projections {

struct ProjectionDef {
  // [a-z0-9_]+, unique.
  std::string name;
  // Makes an instance that resumes after init.checkpoint.
  std::function<std::unique_ptr<Projection>(const ProjectionInit&)> make;
};

struct ProjectionEngineOptions {
  // Events read and committed per batch.
  size_t batch_events = 1000;
  // How long a runner sleeps before retrying after an error; doubled while
  // the error repeats, up to 30 s.
  absl::Duration retry_delay = absl::Seconds(1);
};

class ProjectionEngine {
 public:
  // Starts a runner per projection from its stored checkpoint. `log` and
  // `store` are not owned and must outlive the engine.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ProjectionEngine>> Start(
      eventstore::EventLog* log, eventstore::ViewStore* store,
      std::vector<ProjectionDef> defs, ProjectionEngineOptions options = {});
  ~ProjectionEngine();  // Stop()
  ProjectionEngine(const ProjectionEngine&) = delete;
  ProjectionEngine& operator=(const ProjectionEngine&) = delete;

  // Stops every runner (the current batch is committed or dropped whole).
  void Stop();

  std::vector<std::string> names() const;

  // A consistent snapshot of the serving state of `name`; its position() is
  // the checkpoint stored with it. NOT_FOUND for an unknown projection.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<ViewReader>> Reader(
      absl::string_view name);

  // Waits until the serving state of `name` has applied `position`.
  // DEADLINE_EXCEEDED (naming the projection's position and lag) when the
  // deadline passes first; UNAVAILABLE when the engine stops.
  [[nodiscard]] absl::Status WaitForPosition(absl::string_view name,
                                             uint64_t position,
                                             absl::Time deadline);

  // The status of every projection, in definition order.
  std::vector<v1::ProjectionStatus> Status() const;

  // Rebuilds `name` online. Calls `progress` about every `interval` while the
  // new generation catches up, and once more with done set; stops reporting
  // (the rebuild goes on) when `progress` returns false. NOT_FOUND for an
  // unknown name, FAILED_PRECONDITION when it is already rebuilding,
  // UNAVAILABLE when the engine stops first.
  [[nodiscard]] absl::Status Rebuild(
      absl::string_view name,
      absl::FunctionRef<bool(const v1::RebuildProjectionResponse&)> progress,
      absl::Duration interval = absl::Seconds(1));

 private:
  class Runner;
  class PageFeed;
  struct Slot;

  ProjectionEngine(eventstore::EventLog* log, eventstore::ViewStore* store,
                   ProjectionEngineOptions options);
  Slot* FindSlot(absl::string_view name) const;
  // Called by a rebuilding runner once it has caught up with the head.
  absl::Status Promote(Slot& slot, Runner& runner);
  // Called by a rebuilding runner before it reads the page at `from`: waits
  // (briefly, while the others progress) until no other rebuilding runner
  // is more than a few pages behind it, so that rebuilds running at once
  // share each page the feed reads instead of each reading the log.
  void WaitForSlowerRebuilds(const Runner& runner, uint64_t from);
  void Notify();

  eventstore::EventLog* const log_;
  eventstore::ViewStore* const store_;
  const ProjectionEngineOptions options_;

  // Pages of the log, read and decoded once for every runner that asks for
  // them while they are cached.
  std::unique_ptr<PageFeed> feed_;

  mutable Mutex mu_;
  CondVar progressed_{&mu_};  // signalled after every commit and on Stop
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<Slot>> slots_;  // fixed after Start
};

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_PROJECTION_ENGINE_H_
