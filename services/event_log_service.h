// caseline.v1.EventLog over gRPC: converts messages and statuses, and asks
// AccessControl who may append and what each caller may read.
// Append and ReadStream use the callback API: no gRPC thread waits for a sync
// (the log completes an append, and a read's access records, from its own
// callbacks). Subscribe uses it too: an open subscription holds no thread,
// and a caught-up one holds no events (SubscriptionHub runs the few threads
// all subscriptions share). ReadAll and VerifyChain are synchronous;
// whole-chain verifications and large ReadAll pages run at bounded
// concurrency (AdmissionLimiter), so that expensive reads cannot take the
// CPU the log's writer needs.
#ifndef CASELINE_SERVICES_EVENT_LOG_SERVICE_H_
#define CASELINE_SERVICES_EVENT_LOG_SERVICE_H_

#include <atomic>

#include "absl/time/time.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "eventstore/event_log.h"
#include "services/access_control.h"
#include "services/admission_limiter.h"
#include "services/subscription_hub.h"

namespace caseline::services {

struct EventLogServiceOptions {
  // Most subscriptions one organisation may hold open (development mode's
  // local operator is not limited); beyond it Subscribe answers
  // RESOURCE_EXHAUSTED.
  // 0: no limit. Default: 100 (caselined --max_subscriptions_per_organization).
  size_t max_subscriptions_per_organization = 100;
  // Threads that read, filter and record pages for all subscriptions
  // (SubscriptionHub). Default: 2.
  size_t subscription_workers = 2;
  // Chain verifications (VerifyChain) running at once; more wait their turn
  // until their deadline. 0: no limit. Default: 1.
  size_t max_concurrent_verifications = 1;
  // Large ReadAll pages (max_count above kDefaultReadCount, or any filter,
  // which may examine up to 10,000 events) running at once; more wait their
  // turn until their deadline. 0: no limit. Default: 1.
  size_t max_concurrent_large_reads = 1;
  // Subscribe's checkpoint cadence when the request leaves it at 0.
  // Defaults: 1000 events, 5 s.
  uint32_t default_checkpoint_events = 1000;
  absl::Duration default_checkpoint_interval = absl::Seconds(5);
};

class EventLogService final
    : public v1::EventLog::WithCallbackMethod_Append<
          v1::EventLog::WithCallbackMethod_ReadStream<
              v1::EventLog::WithCallbackMethod_Subscribe<
                  v1::EventLog::Service>>> {
 public:
  // `log` and `access` are not owned and must outlive the service.
  EventLogService(eventstore::EventLog* log, AccessControl* access,
                  EventLogServiceOptions options = {});

  // Stop()s.
  ~EventLogService() override;

  // Ends open subscriptions with UNAVAILABLE as soon as each has sent the
  // page it is sending, so a server shutdown does not wait for them.
  // Thread-safe.
  void BeginShutdown();
  // Joins the subscriptions' threads. REQUIRES: the gRPC server has stopped
  // (no call is open). Call before the log closes. Idempotent.
  void Stop();

  // The subscriptions' counters (open, parked, buffered events, threads).
  SubscriptionStats subscription_stats() const { return hub_.stats(); }

  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const v1::AppendRequest* request,
                                   v1::AppendResponse* response) override;
  grpc::ServerUnaryReactor* ReadStream(
      grpc::CallbackServerContext* context,
      const v1::ReadStreamRequest* request,
      v1::ReadStreamResponse* response) override;
  grpc::Status ReadAll(grpc::ServerContext* context,
                       const v1::ReadAllRequest* request,
                       v1::ReadAllResponse* response) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context,
      const v1::SubscribeRequest* request) override;
  grpc::Status VerifyChain(grpc::ServerContext* context,
                           const v1::VerifyChainRequest* request,
                           v1::VerifyChainResponse* response) override;

 private:
  class SubscribeReactor;

  eventstore::EventLog* const log_;
  AccessControl* const access_;
  const EventLogServiceOptions options_;
  std::atomic<bool> shutting_down_{false};
  SubscriptionHub hub_;
  AdmissionLimiter verifications_;
  AdmissionLimiter large_reads_;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_EVENT_LOG_SERVICE_H_
