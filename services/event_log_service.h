// caseline.v1.EventLog over gRPC: converts messages and statuses, and asks
// AccessControl who may append and what each caller may read.
// Append and ReadStream use the callback API (no gRPC thread waits for a
// sync: the log completes an append, and a read's access records, from its
// own callbacks); ReadAll, Subscribe and VerifyChain are synchronous.
#ifndef CASELINE_SERVICES_EVENT_LOG_SERVICE_H_
#define CASELINE_SERVICES_EVENT_LOG_SERVICE_H_

#include <atomic>

#include "absl/time/time.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "eventstore/event_log.h"
#include "services/access_control.h"

namespace caseline::services {

struct EventLogServiceOptions {
  // Longest a waiting subscription sleeps before re-checking for cancellation
  // and shutdown. Default: 250 ms.
  absl::Duration subscription_poll = absl::Milliseconds(250);
  // Subscribe's checkpoint cadence when the request leaves it at 0.
  // Defaults: 1000 events, 5 s.
  uint32_t default_checkpoint_events = 1000;
  absl::Duration default_checkpoint_interval = absl::Seconds(5);
};

class EventLogService final
    : public v1::EventLog::WithCallbackMethod_Append<
          v1::EventLog::WithCallbackMethod_ReadStream<v1::EventLog::Service>> {
 public:
  // `log` and `access` are not owned and must outlive the service.
  EventLogService(eventstore::EventLog* log, AccessControl* access,
                  EventLogServiceOptions options = {});

  // Ends open subscriptions with UNAVAILABLE (within subscription_poll), so a
  // server shutdown does not wait for them. Thread-safe.
  void BeginShutdown();

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
  grpc::Status Subscribe(
      grpc::ServerContext* context, const v1::SubscribeRequest* request,
      grpc::ServerWriter<v1::SubscribeResponse>* writer) override;
  grpc::Status VerifyChain(grpc::ServerContext* context,
                           const v1::VerifyChainRequest* request,
                           v1::VerifyChainResponse* response) override;

 private:
  eventstore::EventLog* const log_;
  AccessControl* const access_;
  const EventLogServiceOptions options_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_EVENT_LOG_SERVICE_H_
