// grpc.health.v1.Health for caselined: a serving status per served service,
// and for the server as a whole (""), kept up to date from the event log and
// the projections.
//
//   ""                          NOT_SERVING while appends are stopped
//   services needing appends    NOT_SERVING while appends are stopped
//                               (EventLog, the care-record command services,
//                               AccessAudit, whose reviews are appended)
//   services reading a          NOT_SERVING while that projection fails to
//   projection                  apply events (ContinuityViews: continuity,
//                               DuplicationViews: duplication, AccessAudit:
//                               access)
//   everything else             SERVING
//
// In cluster mode (docs/cluster.md) also:
//   services needing appends    NOT_SERVING while the node knows no
//                               sequencer (an election is under way, or
//                               etcd is out of reach)
//   "" and every service        NOT_SERVING while the node has applied more
//                               than --cluster_max_lag events fewer than
//                               etcd holds, or stopped applying them (its
//                               reads would be stale)
//
// "Appends are stopped" is EventLog::WriteFailure(): a write failed in a way
// that needs a restart (e.g. a failed WAL sync). A full disk is not: appends
// resume by themselves on the next try once there is room, and NOT_SERVING
// would keep away the traffic that makes them try.
#ifndef CASELINE_SERVER_HEALTH_H_
#define CASELINE_SERVER_HEALTH_H_

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "eventstore/event_log.h"
#include "base/mutex.h"
#include "grpcpp/health_check_service_interface.h"
#include "projections/projection_engine.h"

namespace caseline::server {

// What one served service needs to serve.
struct ServiceNeeds {
  const char* service;               // full name, e.g. "caseline.v1.EventLog"
  bool appends;                      // the log accepting appends
  const char* projection = nullptr;  // a projection applying events
};

// Every caseline.v1 service CaselineServer registers. A test checks that
// every service of proto/caseline/v1 answers a health check.
const std::vector<ServiceNeeds>& ServedServices();

// What the health statuses are decided from.
struct ServerCondition {
  // EventLog::WriteFailure() is not OK.
  bool appends_stopped = false;
  // Projections whose last attempt to apply events failed.
  absl::flat_hash_set<std::string> failing_projections;
  // Cluster mode: no sequencer is known.
  bool no_sequencer = false;
  // Cluster mode: too far behind the committed head, or not applying.
  bool behind = false;
};

// The serving status of "" and of each of ServedServices() under
// `condition`. Pure.
std::vector<std::pair<std::string, bool>> ServingStatuses(
    const ServerCondition& condition);

// Sets the statuses in `health` now, then again every `interval` on its own
// thread, changing only those that changed (and logging each change), until
// destroyed. `log`, `engine` and `health` are not owned and must outlive it.
class HealthReporter {
 public:
  HealthReporter(const eventstore::EventLog* log,
                 const projections::ProjectionEngine* engine,
                 grpc::HealthCheckServiceInterface* health,
                 absl::Duration interval);
  // Stops the thread (within one wait, not one interval: it is woken).
  ~HealthReporter();
  HealthReporter(const HealthReporter&) = delete;
  HealthReporter& operator=(const HealthReporter&) = delete;

 private:
  ServerCondition Observe() const;
  void Update();
  void Loop();

  const eventstore::EventLog* const log_;
  const projections::ProjectionEngine* const engine_;
  grpc::HealthCheckServiceInterface* const health_;
  const absl::Duration interval_;
  // Owned by whichever thread runs Update(): the constructor, then Loop().
  absl::flat_hash_map<std::string, bool> reported_;

  Mutex mu_;
  CondVar stop_cv_{&mu_};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: started once the rest is set
};

}  // namespace caseline::server

#endif  // CASELINE_SERVER_HEALTH_H_
