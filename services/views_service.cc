#include "services/views_service.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "care/upcasting.h"
#include "projections/access_projection.h"
#include "projections/audit.h"
#include "caseline/v1/wire_constants.h"
#include "eventstore/event.h"
#include "projections/continuity_projection.h"
#include "projections/duplication_projection.h"
#include "services/grpc_status.h"

namespace caseline::services {
namespace {

using projections::ViewReader;

#define RETURN_GRPC_IF_ERROR(expr)                 \
  do {                                             \
    if (absl::Status _s = (expr); !_s.ok()) {      \
      return ToGrpcStatus(_s);                     \
    }                                              \
  } while (0)

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

// Runs a view of one client's record for the caller: only what the caller
// may see is folded and shown, the access record is durable before the
// answer leaves, and the answer says what was withheld. The query gets the
// client as the access decision read it (nullptr for the local operator:
// the query opens it), so the client's stream is read once at most.
template <typename Response, typename Query>
grpc::Status ClientView(const ViewsContext& views,
                        const grpc::ServerContext& context,
                        const std::string& client_id,
                        absl::string_view operation, Response* response,
                        Query&& query) {
  absl::StatusOr<Caller> caller = views.access->Authenticate(context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<ClientRead> read =
      views.access->OpenClient(*caller, client_id, operation);
  if (!read.ok()) return ToGrpcStatus(read.status());
  care::EventVisibility visible =
      [&read](const eventstore::RecordedEvent& e) { return read->Show(e); };
  absl::StatusOr<Response> result = query(visible, read->opened());
  if (!result.ok()) return ToGrpcStatus(result.status());
  if (absl::Status s = views.access->Record(*caller, operation, {&*read});
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  *response = *std::move(result);
  if (v1::Withheld w = read->withheld(); w.count() > 0) {
    *response->mutable_withheld() = std::move(w);
  }
  return grpc::Status::OK;
}

// Decides, for a view listing entries about many clients (worklist items,
// measure members, findings), which entries the caller may see, and records
// what was shown.
class EntryFilter {
 public:
  EntryFilter(const ViewsContext& views, const Caller& caller)
      : views_(views), caller_(caller) {}

  // Whether an entry about `subject_id` of client `client_id` (empty: about
  // the client as such) may be shown; counts it.
  absl::StatusOr<bool> Show(const std::string& client_id,
                            absl::string_view subject_id) {
    if (caller_.local_operator) return true;
    auto it = reads_.find(client_id);
    if (it == reads_.end()) {
      absl::StatusOr<ClientRead> read =
          views_.access->OpenClient(caller_, client_id);
      if (absl::IsPermissionDenied(read.status()) ||
          absl::IsNotFound(read.status())) {
        it = reads_.emplace(client_id, std::nullopt).first;
      } else if (!read.ok()) {
        return read.status();
      } else {
        it = reads_.emplace(client_id, *std::move(read)).first;
      }
    }
    if (!it->second.has_value()) {
      ++withheld_;
      return false;
    }
    const bool shown = it->second->ShowSubject(subject_id);
    if (!shown) ++withheld_;
    return shown;
  }

  absl::Status Record(absl::string_view operation) {
    std::vector<const ClientRead*> reads;
    for (const auto& [client, read] : reads_) {
      if (read.has_value()) reads.push_back(&*read);
    }
    return views_.access->Record(caller_, operation, reads);
  }

  v1::Withheld withheld() const {
    v1::Withheld w;
    if (withheld_ == 0) return w;
    w.set_count(withheld_);
    care::DataClassMask classes = 0;
    for (const auto& [client, read] : reads_) {
      if (read.has_value()) classes |= read->withheld_classes();
    }
    for (v1::DataClass c : care::DataClassesIn(classes)) {
      w.add_data_classes(c);
    }
    w.set_reason(absl::StrCat(
        "entries about clients organisation ", caller_.organization_id,
        " is not involved with, or about data no consent in force covers "
        "for it (docs/access.md)"));
    return w;
  }

 private:
  const ViewsContext& views_;
  const Caller& caller_;
  absl::flat_hash_map<std::string, std::optional<ClientRead>> reads_;
  uint32_t withheld_ = 0;
};

// Keeps the entries of `list` that `filter` shows, in order.
template <typename Entry, typename Key>
absl::Status FilterEntries(google::protobuf::RepeatedPtrField<Entry>* list,
                           EntryFilter& filter, Key&& key) {
  google::protobuf::RepeatedPtrField<Entry> kept;
  for (Entry& entry : *list) {
    bool shown = true;
    for (const auto& [client, subject] : key(entry)) {
      ASSIGN_OR_RETURN(bool ok, filter.Show(client, subject));
      shown = shown && ok;
    }
    if (shown) *kept.Add() = std::move(entry);
  }
  list->Swap(&kept);
  return absl::OkStatus();
}

// An agency asks about its own organisation; auditors and admins about any.
absl::Status RequireOwnOrganization(const Caller& caller,
                                    const std::string& organization_id,
                                    absl::string_view field) {
  if (caller.ReadsEverything() || organization_id == caller.organization_id) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      field, ": organisation ", caller.organization_id,
      " may ask only about itself (", caller.organization_id,
      "), not about ",
      organization_id.empty() ? "the whole network" : organization_id,
      "; auditors may ask about any organisation"));
}

// The most entries a view answers per page (views.proto).
constexpr int32_t kMaxPageSize = 1000;

// A larger page_size is refused rather than quietly cut to the maximum.
absl::Status CheckPageSize(int32_t page_size) {
  if (page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: at most ", kMaxPageSize,
                     " (0 means the default, 100), not ", page_size,
                     "; page through the rest with next_page_token"));
  }
  return absl::OkStatus();
}

// An organisation a view is asked about must be registered (views.proto:
// NOT_FOUND), so that a mistyped id is not answered with an empty list.
// Empty ids (where the request allows them) are not checked.
absl::Status CheckOrganizationsRegistered(
    const ViewsContext& views, absl::string_view field,
    const std::vector<std::string>& organization_ids) {
  std::shared_ptr<const care::OrganizationDirectory> directory;
  for (const std::string& id : organization_ids) {
    if (id.empty()) continue;
    if (directory == nullptr) {
      ASSIGN_OR_RETURN(directory, views.access->Directory());
    }
    if (!directory->Contains(id)) {
      return absl::NotFoundError(
          absl::StrCat(field, ": organisation ", id,
                       " is not registered; check the id (Organizations."
                       "RegisterOrganization registers an organisation)"));
    }
  }
  return absl::OkStatus();
}

// Runs `query` and moves its result into *response.
template <typename Response, typename Query>
grpc::Status Answer(Response* response, Query&& query) {
  absl::StatusOr<Response> result = query();
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

// One organisation's list from the continuity projection (GetWorklist,
// ListReferrals): an agency asks about its own registered organisation;
// `query` reads the page at `request.min_position()`; the entries of
// `entries(response)` are kept when EntryFilter shows every (client,
// subject) `subjects(entry)` names, the rest counted as withheld, and the
// reads recorded under `method`.
template <typename Request, typename Response, typename Query,
          typename Entries, typename Subjects>
grpc::Status OrganizationList(const ViewsContext& views,
                              const grpc::ServerContext& context,
                              const Request& request, absl::string_view method,
                              Response* response, Query&& query,
                              Entries&& entries, Subjects&& subjects) {
  return Answer(response, [&]() -> absl::StatusOr<Response> {
    ASSIGN_OR_RETURN(Caller caller, views.access->Authenticate(context));
    RETURN_IF_ERROR(RequireOwnOrganization(caller, request.organization_id(),
                                           "organization_id"));
    RETURN_IF_ERROR(CheckOrganizationsRegistered(views, "organization_id",
                                                 {request.organization_id()}));
    RETURN_IF_ERROR(CheckPageSize(request.page_size()));
    ASSIGN_OR_RETURN(std::unique_ptr<ViewReader> reader,
                     ReaderAt(views, context,
                              projections::kContinuityProjectionName,
                              request.min_position()));
    ASSIGN_OR_RETURN(Response list, query(*reader));
    EntryFilter filter(views, caller);
    RETURN_IF_ERROR(FilterEntries(entries(list), filter, subjects));
    RETURN_IF_ERROR(filter.Record(method));
    if (v1::Withheld w = filter.withheld(); w.count() > 0) {
      *list.mutable_withheld() = std::move(w);
    }
    return list;
  });
}

}  // namespace

// --- ContinuityViews -------------------------------------------------------

grpc::Status ContinuityViewsService::GetClientSummary(
    grpc::ServerContext* context, const v1::GetClientSummaryRequest* request,
    v1::GetClientSummaryResponse* response) {
  RETURN_GRPC_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
  return ClientView(
      *views_, *context, request->client_id(),
      "caseline.v1.ContinuityViews/GetClientSummary", response,
      [&](const care::EventVisibility& visible,
          const projections::ClientAtHead* opened) {
        return projections::GetClientSummary(*views_->records, *request,
                                             views_->config, views_->Now(),
                                             visible, opened);
      });
}

grpc::Status ContinuityViewsService::ListGaps(
    grpc::ServerContext* context, const v1::ListGapsRequest* request,
    v1::ListGapsResponse* response) {
  RETURN_GRPC_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
  return ClientView(*views_, *context, request->client_id(),
                    "caseline.v1.ContinuityViews/ListGaps", response,
                    [&](const care::EventVisibility& visible,
                        const projections::ClientAtHead* opened) {
                      return projections::ListGaps(*views_->records, *request,
                                                   views_->config,
                                                   views_->Now(), visible,
                                                   opened);
                    });
}

grpc::Status ContinuityViewsService::GetWorklist(
    grpc::ServerContext* context, const v1::GetWorklistRequest* request,
    v1::GetWorklistResponse* response) {
  return OrganizationList(
      *views_, *context, *request, "caseline.v1.ContinuityViews/GetWorklist",
      response,
      [&](const ViewReader& reader) {
        return projections::GetWorklist(reader, *request, views_->config,
                                        views_->Now());
      },
      [](v1::GetWorklistResponse& worklist) {
        return worklist.mutable_items();
      },
      [](const v1::WorklistItem& item) {
        return std::vector<std::pair<std::string, std::string>>{
            {item.client_id(), item.subject_id()}};
      });
}

// The same rules as GetWorklist: an agency lists only its own organisation,
// and an entry is shown only when its referral is (EntryFilter).
grpc::Status ContinuityViewsService::ListReferrals(
    grpc::ServerContext* context, const v1::ListReferralsRequest* request,
    v1::ListReferralsResponse* response) {
  return OrganizationList(
      *views_, *context, *request, "caseline.v1.ContinuityViews/ListReferrals",
      response,
      [&](const ViewReader& reader) {
        return projections::ListReferrals(reader, *request, views_->Now());
      },
      [](v1::ListReferralsResponse& referrals) {
        return referrals.mutable_entries();
      },
      [](const v1::ReferralListEntry& entry) {
        return std::vector<std::pair<std::string, std::string>>{
            {entry.client_id(), entry.referral().referral_id()}};
      });
}

grpc::Status ContinuityViewsService::GetMeasures(
    grpc::ServerContext* context, const v1::GetMeasuresRequest* request,
    v1::GetMeasuresResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::GetMeasuresResponse> {
    ASSIGN_OR_RETURN(Caller caller, views_->access->Authenticate(*context));
    RETURN_IF_ERROR(CheckOrganizationsRegistered(*views_, "organization_id",
                                                 {request->organization_id()}));
    ASSIGN_OR_RETURN(
        std::unique_ptr<ViewReader> reader,
        ReaderAt(*views_, *context, projections::kContinuityProjectionName,
                 request->min_position()));
    ASSIGN_OR_RETURN(v1::GetMeasuresResponse measures,
                     projections::GetMeasures(*reader, *request,
                                              views_->config, views_->Now()));
    // Counts are aggregates; member lists name clients, so each member is
    // shown only to whom may see its index event.
    EntryFilter filter(*views_, caller);
    auto key = [](const v1::MeasureMember& m) {
      return std::vector<std::pair<std::string, std::string>>{
          {m.client_id(), m.subject_id()}};
    };
    for (v1::MeasureResult& result : *measures.mutable_results()) {
      RETURN_IF_ERROR(
          FilterEntries(result.mutable_numerator_members(), filter, key));
      RETURN_IF_ERROR(
          FilterEntries(result.mutable_denominator_members(), filter, key));
      RETURN_IF_ERROR(
          FilterEntries(result.mutable_excluded_members(), filter, key));
    }
    RETURN_IF_ERROR(filter.Record("caseline.v1.ContinuityViews/GetMeasures"));
    if (v1::Withheld w = filter.withheld(); w.count() > 0) {
      *measures.mutable_withheld() = std::move(w);
    }
    return measures;
  });
}

// Caseloads count clients per worker and name no client: every caller may
// see them.
grpc::Status ContinuityViewsService::GetCaseload(
    grpc::ServerContext* context, const v1::GetCaseloadRequest* request,
    v1::GetCaseloadResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::GetCaseloadResponse> {
    RETURN_IF_ERROR(views_->access->Authenticate(*context).status());
    RETURN_IF_ERROR(CheckOrganizationsRegistered(*views_, "organization_id",
                                                 {request->organization_id()}));
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
    ASSIGN_OR_RETURN(Caller caller, views_->access->Authenticate(*context));
    if (request->client_id().empty()) {
      RETURN_IF_ERROR(RequireOwnOrganization(
          caller, request->organization_id(), "organization_id"));
      RETURN_IF_ERROR(CheckOrganizationsRegistered(
          *views_, "organization_id", {request->organization_id()}));
    } else {
      // The same answer for an unknown client as for one the caller may
      // not read: findings must not tell which clients exist.
      RETURN_IF_ERROR(views_->access
                          ->OpenClient(caller, request->client_id(),
                                       "caseline.v1.DuplicationViews/"
                                       "ListFindings")
                          .status());
    }
    RETURN_IF_ERROR(CheckPageSize(request->page_size()));
    ASSIGN_OR_RETURN(
        std::unique_ptr<ViewReader> reader,
        ReaderAt(*views_, *context, projections::kDuplicationProjectionName,
                 request->min_position()));
    ASSIGN_OR_RETURN(v1::ListFindingsResponse findings,
                     projections::ListFindings(*reader, *request));
    // A finding shows each client it names, and each service or referral:
    // the caller must be allowed to see every one of them.
    EntryFilter filter(*views_, caller);
    RETURN_IF_ERROR(FilterEntries(
        findings.mutable_findings(), filter, [](const v1::Finding& f) {
          std::vector<std::pair<std::string, std::string>> keys;
          for (const std::string& client : f.client_ids()) {
            keys.emplace_back(client, "");
            if (f.client_ids_size() == 1) {
              for (const std::string& subject : f.subject_ids()) {
                keys.emplace_back(client, subject);
              }
            }
          }
          return keys;
        }));
    RETURN_IF_ERROR(filter.Record("caseline.v1.DuplicationViews/ListFindings"));
    if (v1::Withheld w = filter.withheld(); w.count() > 0) {
      *findings.mutable_withheld() = std::move(w);
    }
    return findings;
  });
}

// The model holds probabilities and counts, never a client's details: any
// authenticated caller may read it.
grpc::Status DuplicationViewsService::GetMatchModel(
    grpc::ServerContext* context, const v1::GetMatchModelRequest* request,
    v1::GetMatchModelResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::GetMatchModelResponse> {
    RETURN_IF_ERROR(views_->access->Authenticate(*context).status());
    ASSIGN_OR_RETURN(
        std::unique_ptr<ViewReader> reader,
        ReaderAt(*views_, *context, projections::kDuplicationProjectionName,
                 request->min_position()));
    return projections::GetMatchModel(*reader, views_->config);
  });
}

// --- AuditViews ------------------------------------------------------------

grpc::Status AuditViewsService::GetTimeline(
    grpc::ServerContext* context, const v1::GetTimelineRequest* request,
    v1::GetTimelineResponse* response) {
  RETURN_GRPC_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
  RETURN_GRPC_IF_ERROR(CheckPageSize(request->page_size()));
  return ClientView(*views_, *context, request->client_id(),
                    "caseline.v1.AuditViews/GetTimeline", response,
                    [&](const care::EventVisibility& visible,
                        const projections::ClientAtHead* opened)
                        -> absl::StatusOr<v1::GetTimelineResponse> {
                      RETURN_IF_ERROR(CheckOrganizationsRegistered(
                          *views_, "organization_ids",
                          {request->organization_ids().begin(),
                           request->organization_ids().end()}));
                      return projections::GetTimeline(
                          *views_->records, *request, visible, opened);
                    });
}

grpc::Status AuditViewsService::ReplayClient(
    grpc::ServerContext* context, const v1::ReplayClientRequest* request,
    v1::ReplayClientResponse* response) {
  RETURN_GRPC_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
  return ClientView(*views_, *context, request->client_id(),
                    "caseline.v1.AuditViews/ReplayClient", response,
                    [&](const care::EventVisibility& visible,
                        const projections::ClientAtHead* opened) {
                      return projections::ReplayClient(
                          *views_->records, *request, visible, opened);
                    });
}

grpc::Status AuditViewsService::ListDisclosures(
    grpc::ServerContext* context, const v1::ListDisclosuresRequest* request,
    v1::ListDisclosuresResponse* response) {
  RETURN_GRPC_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
  RETURN_GRPC_IF_ERROR(CheckPageSize(request->page_size()));
  return ClientView(
      *views_, *context, request->client_id(),
      "caseline.v1.AuditViews/ListDisclosures", response,
      [&](const care::EventVisibility& visible,
          const projections::ClientAtHead* opened) {
        return projections::ListDisclosures(
            *views_->records, *request,
            views_->config.disclosure_lookback_years, views_->Now(), visible,
            opened);
      });
}

// Verification shows hashes, not care data: any organisation involved with
// the client may verify its chain. Auditors' verifications are recorded.
grpc::Status AuditViewsService::VerifyClientChain(
    grpc::ServerContext* context, const v1::VerifyClientChainRequest* request,
    v1::VerifyClientChainResponse* response) {
  return Answer(
      response, [&]() -> absl::StatusOr<v1::VerifyClientChainResponse> {
        RETURN_IF_ERROR(CheckMinPosition(*views_, request->min_position()));
        ASSIGN_OR_RETURN(Caller caller, views_->access->Authenticate(*context));
        ASSIGN_OR_RETURN(
            ClientRead read,
            views_->access->OpenClient(
                caller, request->client_id(),
                "caseline.v1.AuditViews/VerifyClientChain"));
        ASSIGN_OR_RETURN(v1::VerifyClientChainResponse verified,
                         projections::VerifyClientChain(*views_->log, *request));
        if (caller.Has(kAuditor) || caller.Has(kAdmin)) {
          read.ShowSubject("");
          RETURN_IF_ERROR(views_->access->Record(
              caller, "caseline.v1.AuditViews/VerifyClientChain", {&read}));
        }
        return verified;
      });
}

// --- Projections -----------------------------------------------------------

grpc::Status ProjectionsService::GetStatus(
    grpc::ServerContext* context, const v1::GetProjectionStatusRequest*,
    v1::GetProjectionStatusResponse* response) {
  if (absl::Status s = views_->access->Authenticate(*context).status();
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  for (v1::ProjectionStatus& status : views_->engine->Status()) {
    *response->add_projections() = std::move(status);
  }
  return grpc::Status::OK;
}

grpc::Status ProjectionsService::Rebuild(
    grpc::ServerContext* context, const v1::RebuildProjectionRequest* request,
    grpc::ServerWriter<v1::RebuildProjectionResponse>* writer) {
  absl::StatusOr<Caller> caller = views_->access->Authenticate(*context);
  absl::Status allowed = caller.status();
  if (allowed.ok()) {
    allowed = RequireRole(*caller, kAdmin, "Projections.Rebuild");
  }
  if (!allowed.ok()) return ToGrpcStatus(allowed);
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

// --- AccessAudit -----------------------------------------------------------

grpc::Status AccessAuditService::ListBreakGlass(
    grpc::ServerContext* context, const v1::ListBreakGlassRequest* request,
    v1::ListBreakGlassResponse* response) {
  return Answer(response, [&]() -> absl::StatusOr<v1::ListBreakGlassResponse> {
    ASSIGN_OR_RETURN(Caller caller, views_->access->Authenticate(*context));
    RETURN_IF_ERROR(
        RequireRole(caller, kAuditor, "AccessAudit.ListBreakGlass"));
    RETURN_IF_ERROR(CheckPageSize(request->page_size()));
    ASSIGN_OR_RETURN(
        std::unique_ptr<ViewReader> reader,
        ReaderAt(*views_, *context, projections::kAccessProjectionName,
                 request->min_position()));
    ASSIGN_OR_RETURN(v1::ListBreakGlassResponse list,
                     projections::ListBreakGlass(*reader, *request));
    // The list names clients and what was shown of them: on the record too.
    EntryFilter filter(*views_, caller);
    for (const v1::BreakGlassAccess& access : list.accesses()) {
      RETURN_IF_ERROR(filter.Show(access.client_id(), "").status());
    }
    RETURN_IF_ERROR(filter.Record("caseline.v1.AccessAudit/ListBreakGlass"));
    return list;
  });
}

grpc::Status AccessAuditService::MarkBreakGlassReviewed(
    grpc::ServerContext* context,
    const v1::MarkBreakGlassReviewedRequest* request,
    v1::MarkBreakGlassReviewedResponse* response) {
  return Answer(
      response, [&]() -> absl::StatusOr<v1::MarkBreakGlassReviewedResponse> {
        ASSIGN_OR_RETURN(Caller caller,
                         views_->access->Authenticate(*context));
        RETURN_IF_ERROR(RequireRole(caller, kAuditor,
                                    "AccessAudit.MarkBreakGlassReviewed"));
        if (caller.organization_id.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              kOrganizationMetadataKey,
              ": a review is recorded under the reviewer's organisation; "
              "name it"));
        }
        if (request->access_event_id().empty()) {
          return absl::InvalidArgumentError(
              "access_event_id is required: the access_event_id of an entry "
              "of AccessAudit.ListBreakGlass");
        }
        if (request->note().empty() || request->note().size() > 2000) {
          return absl::InvalidArgumentError(
              "note: say in 1 to 2000 bytes what the review found (e.g. "
              "\"emergency confirmed with the ED attending\")");
        }
        // The access record must be in the projection: wait for it up to the
        // log's head (the caller saw it in a list, so it is at most there).
        RETURN_IF_ERROR(views_->engine->WaitForPosition(
            projections::kAccessProjectionName, views_->log->HeadPosition(),
            DeadlineOf(*context)));
        ASSIGN_OR_RETURN(std::unique_ptr<ViewReader> reader,
                         views_->engine->Reader(
                             projections::kAccessProjectionName));
        ASSIGN_OR_RETURN(v1::BreakGlassAccess access,
                         projections::FindBreakGlass(
                             *reader, request->access_event_id()));
        v1::MarkBreakGlassReviewedResponse result;
        if (access.reviewed()) {
          result.set_already_reviewed(true);
          return result;
        }
        v1::CareEvent event;
        v1::BreakGlassReviewed* review = event.mutable_break_glass_reviewed();
        review->set_client_id(access.client_id());
        review->set_access_event_id(access.access_event_id());
        review->set_note(request->note());
        eventstore::AppendRequest append;
        append.stream_id = care::AccessStreamId(access.client_id());
        eventstore::ProposedEvent& e = append.events.emplace_back();
        // One review per access: a second review of the same access is
        // refused by the log as a duplicate id.
        e.event_id = eventstore::EventId::FromName(
            absl::StrCat("break-glass-review\n", access.access_event_id()));
        e.event_type = care::CareEventName(event);
        e.actor = {caller.organization_id, caller.user_id, ""};
        e.schema_version = care::SchemaVersionOf(event.event_case());
        e.content_type = v1::kCareEventContentType;
        e.payload = event.SerializeAsString();
        absl::StatusOr<eventstore::AppendResult> appended =
            views_->log->Append(std::move(append));
        if (absl::IsAlreadyExists(appended.status())) {
          result.set_already_reviewed(true);
          return result;
        }
        RETURN_IF_ERROR(appended.status());
        result.set_global_position(appended->last_position);
        result.set_already_reviewed(appended->already_written);
        return result;
      });
}

}  // namespace caseline::services
