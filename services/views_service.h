// The views over gRPC: ContinuityViews, DuplicationViews, AuditViews and
// Projections (proto/caseline/v1/views.proto). Each handler turns the request
// into a call of the view's logic in projections/ and its status into a gRPC
// status; nothing else.
//
// Where each view reads from (docs/views.md):
//   - worklists, measures, caseload, referral lists: the "continuity"
//     projection;
//   - findings: the "duplication" projection;
//   - client summary, gaps, timeline, replay, disclosures: the client's
//     events as the ClientRecordStore holds them (the snapshot the access
//     decision read), folded at query time (one client's events are few),
//     so they are always as fresh as the log;
//   - chain verification: the client's stream as stored in the log.
// min_position: projection-backed queries wait for the projection to apply
// it (within the call's deadline, at most 30 s); stream-backed queries check
// only that the log has it.
//
// Access (docs/access.md): views of one client show an agency only the events
// it may see (folded views fold only those); worklists, referral lists,
// measure members and findings leave out entries about what it may not see; the
// response's `withheld` counts what was left out. Every view of client data by
// another organisation than its author is recorded (RecordAccessed) before it
// is answered. Rebuilds are for admins.
#ifndef CASELINE_SERVICES_VIEWS_SERVICE_H_
#define CASELINE_SERVICES_VIEWS_SERVICE_H_

#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "caseline/v1/access.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "eventstore/event_log.h"
#include "projections/client_record_store.h"
#include "projections/projection_engine.h"
#include "care/views_config.h"
#include "services/access_control.h"

namespace caseline::services {

// What every view handler needs. Not owned: must outlive the services.
struct ViewsContext {
  eventstore::EventLog* log = nullptr;
  // The one reader of client streams; views of one client show what it
  // holds.
  projections::ClientRecordStore* records = nullptr;
  projections::ProjectionEngine* engine = nullptr;
  care::ViewsConfig config;
  // Who may see what; every view of client data goes through it.
  AccessControl* access = nullptr;
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
  grpc::Status ListReferrals(grpc::ServerContext* context,
                             const v1::ListReferralsRequest* request,
                             v1::ListReferralsResponse* response) override;

 private:
  const ViewsContext* const views_;
};

class DuplicationViewsService final : public v1::DuplicationViews::Service {
 public:
  explicit DuplicationViewsService(const ViewsContext* views) : views_(views) {}
  grpc::Status ListFindings(grpc::ServerContext* context,
                            const v1::ListFindingsRequest* request,
                            v1::ListFindingsResponse* response) override;
  grpc::Status GetMatchModel(grpc::ServerContext* context,
                             const v1::GetMatchModelRequest* request,
                             v1::GetMatchModelResponse* response) override;

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

// The auditors' break_glass_review list (proto/caseline/v1/access.proto),
// backed by the "access" projection.
class AccessAuditService final : public v1::AccessAudit::Service {
 public:
  explicit AccessAuditService(const ViewsContext* views) : views_(views) {}
  grpc::Status ListBreakGlass(grpc::ServerContext* context,
                              const v1::ListBreakGlassRequest* request,
                              v1::ListBreakGlassResponse* response) override;
  grpc::Status MarkBreakGlassReviewed(
      grpc::ServerContext* context,
      const v1::MarkBreakGlassReviewedRequest* request,
      v1::MarkBreakGlassReviewedResponse* response) override;

 private:
  const ViewsContext* const views_;
};

// The five services, for registration.
class ViewServices {
 public:
  explicit ViewServices(const ViewsContext* views)
      : continuity_(views),
        duplication_(views),
        audit_(views),
        projections_(views),
        access_audit_(views) {}
  std::vector<grpc::Service*> services() {
    return {&continuity_, &duplication_, &audit_, &projections_,
            &access_audit_};
  }

 private:
  ContinuityViewsService continuity_;
  DuplicationViewsService duplication_;
  AuditViewsService audit_;
  ProjectionsService projections_;
  AccessAuditService access_audit_;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_VIEWS_SERVICE_H_
