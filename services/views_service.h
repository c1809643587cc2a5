// The views over gRPC: ContinuityViews, DuplicationViews, AuditViews and
// Projections (proto/caseline/v1/views.proto). Each handler turns the request
// into a call of the view's logic in projections/ and its status into a gRPC
// status; nothing else.
//
// Where each view reads from (docs/views.md):
//   - worklists, measures, caseload: the "continuity" projection;
//   - findings: the "duplication" projection;
//   - client summary, gaps, timeline, replay, disclosures, chain
//     verification: the client's stream, folded at query time (one client's
//     events are few), so they are always as fresh as the log.
// min_position: projection-backed queries wait for the projection to apply
// it (within the call's deadline, at most 30 s); stream-backed queries check
// only that the log has it.
#ifndef CASELINE_SERVICES_VIEWS_SERVICE_H_
#define CASELINE_SERVICES_VIEWS_SERVICE_H_

#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "caseline/v1/views.grpc.pb.h"
#include "eventstore/event_log.h"
#include "projections/projection_engine.h"
#include "projections/views_config.h"

namespace caseline::services {

// What every view handler needs. Not owned: must outlive the services.
struct ViewsContext {
  eventstore::EventLog* log = nullptr;
  projections::ProjectionEngine* engine = nullptr;
  projections::ViewsConfig config;
  // The time gaps, ages and due dates are judged at. Default: absl::Now.
  absl::AnyInvocable<absl::Time() const> clock;
  absl::Time Now() const { return clock ? clock() : absl::Now(); }
};

class ContinuityViewsService final : public v1::ContinuityViews::Service {
 public:
  explicit ContinuityViewsService(const ViewsContext* views) : views_(views) {}
  grpc::Status GetClientSummary(
      grpc::ServerContext* context, const v1::GetClientSummaryRequest* request,
      v1::GetClientSummaryResponse* response) override;
  grpc::Status ListGaps(grpc::ServerContext* context,
                        const v1::ListGapsRequest* request,
                        v1::ListGapsResponse* response) override;
  grpc::Status GetWorklist(grpc::ServerContext* context,
                           const v1::GetWorklistRequest* request,
                           v1::GetWorklistResponse* response) override;
  grpc::Status GetMeasures(grpc::ServerContext* context,
                           const v1::GetMeasuresRequest* request,
                           v1::GetMeasuresResponse* response) override;
  grpc::Status GetCaseload(grpc::ServerContext* context,
                           const v1::GetCaseloadRequest* request,
                           v1::GetCaseloadResponse* response) override;

 private:
  const ViewsContext* const views_;
};

class DuplicationViewsService final : public v1::DuplicationViews::Service {
 public:
  explicit DuplicationViewsService(const ViewsContext* views) : views_(views) {}
  grpc::Status ListFindings(grpc::ServerContext* context,
                            const v1::ListFindingsRequest* request,
                            v1::ListFindingsResponse* response) override;

 private:
  const ViewsContext* const views_;
};

class AuditViewsService final : public v1::AuditViews::Service {
 public:
  explicit AuditViewsService(const ViewsContext* views) : views_(views) {}
  grpc::Status GetTimeline(grpc::ServerContext* context,
                           const v1::GetTimelineRequest* request,
                           v1::GetTimelineResponse* response) override;
  grpc::Status ReplayClient(grpc::ServerContext* context,
                            const v1::ReplayClientRequest* request,
                            v1::ReplayClientResponse* response) override;
  grpc::Status ListDisclosures(grpc::ServerContext* context,
                               const v1::ListDisclosuresRequest* request,
                               v1::ListDisclosuresResponse* response) override;
  grpc::Status VerifyClientChain(
      grpc::ServerContext* context, const v1::VerifyClientChainRequest* request,
      v1::VerifyClientChainResponse* response) override;

 private:
  const ViewsContext* const views_;
};

class ProjectionsService final : public v1::Projections::Service {
 public:
  explicit ProjectionsService(const ViewsContext* views) : views_(views) {}
  grpc::Status GetStatus(grpc::ServerContext* context,
                         const v1::GetProjectionStatusRequest* request,
                         v1::GetProjectionStatusResponse* response) override;
  grpc::Status Rebuild(
      grpc::ServerContext* context, const v1::RebuildProjectionRequest* request,
      grpc::ServerWriter<v1::RebuildProjectionResponse>* writer) override;

 private:
  const ViewsContext* const views_;
};

// The four services, for registration.
class ViewServices {
 public:
  explicit ViewServices(const ViewsContext* views)
      : continuity_(views),
        duplication_(views),
        audit_(views),
        projections_(views) {}
  std::vector<grpc::Service*> services() {
    return {&continuity_, &duplication_, &audit_, &projections_};
  }

 private:
  ContinuityViewsService continuity_;
  DuplicationViewsService duplication_;
  AuditViewsService audit_;
  ProjectionsService projections_;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_VIEWS_SERVICE_H_
