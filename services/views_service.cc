#include "services/views_service.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "eventstore/status_macros.h"
#include "projections/audit.h"
#include "projections/continuity_projection.h"
#include "projections/duplication_projection.h"
#include "services/grpc_status.h"

namespace caseline::services {
namespace {

using projections::ViewReader;

// Longest a query waits for min_position, whatever its deadline.
constexpr absl::Duration kMaxWait = absl::Seconds(30);

absl::Time DeadlineOf(const grpc::ServerContext& context) {
  const absl::Time deadline = absl::FromChrono(context.deadline());
  return std::min(deadline, absl::Now() + kMaxWait);
}

// A position beyond the head was not returned by an append on this log.
absl::Status CheckMinPosition(const ViewsContext& views,
                              uint64_t min_position) {
  const uint64_t head = views.log->HeadPosition();
  if (min_position > head) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_position ", min_position, " is beyond the log's head ", head,
        ": pass a position that an append or command on this server "
        "returned"));
  }
  return absl::OkStatus();
}

// A snapshot of projection `name` that has applied min_position.
absl::StatusOr<std::unique_ptr<ViewReader>> ReaderAt(
    const ViewsContext& views, const grpc::ServerContext& context,
    absl::string_view name, uint64_t min_position) {
  RETURN_IF_ERROR(CheckMinPosition(views, min_position));
  if (min_position > 0) {
    RETURN_IF_ERROR(
        views.engine->WaitForPosition(name, min_position, DeadlineOf(context)));
  }
  return views.engine->Reader(name);
}

// Runs `query` and moves its result into *response.
template <typename Response, typename Query>
grpc::Status Answer(Response* response, Query&& query) {
  absl::StatusOr<Response> result = query();
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace

// --- ContinuityViews -------------------------------------------------------

grpc::Status ContinuityViewsService::GetClientSummary(
    grpc::ServerContext*, const v1::GetClientSummaryRequest* request,
    v1::GetClientSummaryResponse* response) {
  return Answer(
      response, [&]() -> absl::StatusOr<v1::GetClientSummaryResponse> {
        RETURN_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
        return projections::GetClientSummary(*views_->log, *request,
                                             views_->config, views_->Now());
      });
}

grpc::Status ContinuityViewsService::ListGaps(
    grpc::ServerContext*, const v1::ListGapsRequest* request,
    v1::ListGapsResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::ListGapsResponse> {
    RETURN_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
    return projections::ListGaps(*views_->log, *request, views_->config,
                                 views_->Now());
  });
}

grpc::Status ContinuityViewsService::GetWorklist(
    grpc::ServerContext* context, const v1::GetWorklistRequest* request,
    v1::GetWorklistResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::GetWorklistResponse> {
    ASSIGN_OR_RETURN(
        std::unique_ptr<ViewReader> reader,
        ReaderAt(*views_, *context, projections::kContinuityProjectionName,
                 request->min_position()));
    return projections::GetWorklist(*reader, *request, views_->config,
                                    views_->Now());
  });
}

grpc::Status ContinuityViewsService::GetMeasures(
    grpc::ServerContext* context, const v1::GetMeasuresRequest* request,
    v1::GetMeasuresResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::GetMeasuresResponse> {
    ASSIGN_OR_RETURN(
        std::unique_ptr<ViewReader> reader,
        ReaderAt(*views_, *context, projections::kContinuityProjectionName,
                 request->min_position()));
    return projections::GetMeasures(*reader, *request, views_->config,
                                    views_->Now());
  });
}

grpc::Status ContinuityViewsService::GetCaseload(
    grpc::ServerContext* context, const v1::GetCaseloadRequest* request,
    v1::GetCaseloadResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::GetCaseloadResponse> {
    ASSIGN_OR_RETURN(
        std::unique_ptr<ViewReader> reader,
        ReaderAt(*views_, *context, projections::kContinuityProjectionName,
                 request->min_position()));
    return projections::GetCaseload(*reader, *request, views_->config);
  });
}

// --- DuplicationViews ------------------------------------------------------

grpc::Status DuplicationViewsService::ListFindings(
    grpc::ServerContext* context, const v1::ListFindingsRequest* request,
    v1::ListFindingsResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::ListFindingsResponse> {
    ASSIGN_OR_RETURN(
        std::unique_ptr<ViewReader> reader,
        ReaderAt(*views_, *context, projections::kDuplicationProjectionName,
                 request->min_position()));
    return projections::ListFindings(*reader, *request);
  });
}

// --- AuditViews ------------------------------------------------------------

grpc::Status AuditViewsService::GetTimeline(
    grpc::ServerContext*, const v1::GetTimelineRequest* request,
    v1::GetTimelineResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::GetTimelineResponse> {
    RETURN_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
    return projections::GetTimeline(*views_->log, *request);
  });
}

grpc::Status AuditViewsService::ReplayClient(
    grpc::ServerContext*, const v1::ReplayClientRequest* request,
    v1::ReplayClientResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::ReplayClientResponse> {
    RETURN_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
    return projections::ReplayClient(*views_->log, *request);
  });
}

grpc::Status AuditViewsService::ListDisclosures(
    grpc::ServerContext*, const v1::ListDisclosuresRequest* request,
    v1::ListDisclosuresResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::ListDisclosuresResponse> {
    RETURN_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
    return projections::ListDisclosures(
        *views_->log, *request, views_->config.disclosure_lookback_years,
        views_->Now());
  });
}

grpc::Status AuditViewsService::VerifyClientChain(
    grpc::ServerContext*, const v1::VerifyClientChainRequest* request,
    v1::VerifyClientChainResponse* response) {
  return Answer(
      response, [&]() -> absl::StatusOr<v1::VerifyClientChainResponse> {
        RETURN_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
        return projections::VerifyClientChain(*views_->log, *request);
      });
}

// --- Projections -----------------------------------------------------------

grpc::Status ProjectionsService::GetStatus(
    grpc::ServerContext*, const v1::GetProjectionStatusRequest*,
    v1::GetProjectionStatusResponse* response) {
  for (v1::ProjectionStatus& status : views_->engine->Status()) {
    *response->add_projections() = std::move(status);
  }
  return grpc::Status::OK;
}

grpc::Status ProjectionsService::Rebuild(
    grpc::ServerContext* context, const v1::RebuildProjectionRequest* request,
    grpc::ServerWriter<v1::RebuildProjectionResponse>* writer) {
  std::vector<std::string> names;
  if (request->name() == "all") {
    names = views_->engine->names();
  } else if (request->name().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "name is empty: name a projection (see GetStatus) or \"all\""));
  } else {
    names.push_back(request->name());
  }
  for (const std::string& name : names) {
    absl::Status status = views_->engine->Rebuild(
        name, [&](const v1::RebuildProjectionResponse& update) {
          return !context->IsCancelled() && writer->Write(update);
        });
    if (!status.ok()) return ToGrpcStatus(status);
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "the caller went away; the rebuild goes on");
    }
  }
  return grpc::Status::OK;
}

}  // namespace caseline::services
