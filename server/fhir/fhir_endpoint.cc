#include "server/fhir/fhir_endpoint.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "care/client_record.h"
#include "care/command_catalog.h"
#include "care/proto_time.h"
#include "caseline/v1/care_record.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "caseline/v1/wire_constants.h"
#include "google/protobuf/message.h"
#include "grpcpp/generic/generic_stub.h"
#include "server/fhir/bulk_export.h"
#include "server/fhir/codes.h"
#include "server/fhir/encounter_writes.h"
#include "server/fhir/resources.h"
#include "server/fhir/subscriptions.h"
#include "server/fhir/transition_writes.h"
#include "server/fhir/writes.h"
#include "server/http_identity.h"
#include "services/care_record_service.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;

constexpr int kDefaultCount = 50;
constexpr int kMaxCount = 1000;
// Times a write guarded by If-Match is re-read and retried when another
// change to the client's record (not to the resource) got in between.
constexpr int kIfMatchAttempts = 8;

// The resource types this endpoint serves (docs/fhir.md).
const std::vector<std::string>& ServedTypes() {
  static const auto* const types = [] {
    auto* t = new std::vector<std::string>(ClientResourceTypes());
    t->push_back("Organization");
    t->push_back("AuditEvent");
    return t;
  }();
  return *types;
}

bool Served(absl::string_view type) {
  const auto& types = ServedTypes();
  return std::find(types.begin(), types.end(), type) != types.end();
}

// How many parts a type's logical id has (EncodeId): 1 for the client's own
// resources and organisations, 2 for items of a client's record, 3 for a
// Communication (client, kind, id: resources.h kNotificationIdPart).
size_t IdParts(absl::string_view type) {
  if (type == "Communication") return 3;
  return (type == "Patient" || type == "EpisodeOfCare" || type == "CareTeam" ||
          type == "Organization")
             ? 1
             : 2;
}

std::string ETagOf(const json& resource) {
  if (resource.contains("meta") && resource["meta"].contains("versionId")) {
    return absl::StrCat("W/\"", resource["meta"]["versionId"].get<std::string>(),
                        "\"");
  }
  return "";
}

void SetVersioned(httplib::Response& res, int http, const json& resource) {
  const std::string etag = ETagOf(resource);
  if (!etag.empty()) res.set_header("ETag", etag);
  if (resource.contains("meta") && resource["meta"].contains("lastUpdated")) {
    absl::Time t;
    std::string error;
    if (absl::ParseTime(absl::RFC3339_full,
                        resource["meta"]["lastUpdated"].get<std::string>(), &t,
                        &error)) {
      res.set_header("Last-Modified",
                     absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", t,
                                      absl::UTCTimeZone()));
    }
  }
  SetResource(res, http, resource);
}

// The version of `resource` (meta.versionId), 0 when it has none.
uint64_t VersionOf(const json& resource) {
  uint64_t version = 0;
  if (resource.contains("meta") && resource["meta"].contains("versionId")) {
    (void)absl::SimpleAtoi(resource["meta"]["versionId"].get<std::string>(),
                           &version);
  }
  return version;
}

// A search's comparison of meta.lastUpdated: _lastUpdated=gt2026-01-01.
struct TimeBound {
  std::string prefix;
  absl::Time at;
  bool Matches(const json& resource) const {
    if (!resource.contains("meta") || !resource["meta"].contains("lastUpdated")) {
      return false;
    }
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full,
                         resource["meta"]["lastUpdated"].get<std::string>(), &t,
                         &error)) {
      return false;
    }
    if (prefix == "gt") return t > at;
    if (prefix == "ge") return t >= at;
    if (prefix == "lt") return t < at;
    if (prefix == "le") return t <= at;
    return t == at;
  }
};

absl::StatusOr<TimeBound> ParseTimeBound(absl::string_view value) {
  TimeBound bound;
  bound.prefix = "eq";
  for (const char* prefix : {"gt", "ge", "lt", "le", "eq"}) {
    if (absl::ConsumePrefix(&value, prefix)) {
      bound.prefix = prefix;
      break;
    }
  }
  ASSIGN_OR_RETURN(bound.at, ParseDateTime(value, "_lastUpdated"));
  return bound;
}

// The Caseline id a search reference parameter names: "Organization/<id>"
// or "<id>", the id as EncodeId writes it.
absl::StatusOr<std::string> SearchReference(absl::string_view key,
                                            absl::string_view value,
                                            absl::string_view type) {
  absl::string_view id = value;
  const size_t at = value.rfind(absl::StrCat(type, "/"));
  if (at != absl::string_view::npos) id = value.substr(at + type.size() + 1);
  absl::StatusOr<std::vector<std::string>> parts = DecodeId(id, 1);
  if (!parts.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        key, ": \"", value, "\" is not a reference to a ", type,
        " (", type, "/<id>)"));
  }
  return (*parts)[0];
}

// The Encounter an `encounter` search parameter names ("Encounter/<id>",
// "<id>" or a URL ending in "Encounter/<id>"): its client and admission ids.
absl::StatusOr<std::vector<std::string>> SearchEncounter(
    absl::string_view value) {
  absl::string_view id = value;
  const size_t at = value.rfind("Encounter/");
  if (at != absl::string_view::npos) id = value.substr(at + 10);
  absl::StatusOr<std::vector<std::string>> parts = DecodeId(id, 2);
  if (!parts.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("encounter: \"", value,
                     "\" is not a reference to an Encounter "
                     "(Encounter/<client>..<admission>)"));
  }
  return *std::move(parts);
}

}  // namespace

class FhirEndpoint::Impl {
 public:
  Impl(FhirServices services, FhirOptions options)
      : services_(std::move(services)),
        options_(std::move(options)),
        generic_(services_.channel),
        continuity_(v1::ContinuityViews::NewStub(services_.channel)),
        audit_(v1::AuditViews::NewStub(services_.channel)),
        event_log_(v1::EventLog::NewStub(services_.channel)) {}

  absl::Status Start() {
    ASSIGN_OR_RETURN(subscriptions_, Subscriptions::Create(services_, options_));
    bulk_ = std::make_unique<BulkExport>(services_, options_);
    return absl::OkStatus();
  }

  void Register(httplib::Server& http) {
    const std::string base = kBasePath;
    // Before the generic routes, which would take /Subscription/<id>.
    subscriptions_->Register(http);
    bulk_->Register(http);
    http.Get(base + "/metadata", Handler([this](const Call& call) {
               SetResource(call.res, 200, Capability(call));
               return absl::OkStatus();
             }, /*identify=*/false));
    http.Get(base + R"(/([A-Za-z]+)/([A-Za-z0-9\-\.]+)/_history/([0-9]+))",
             Handler([this](const Call& call) { return VersionRead(call); }));
    http.Get(base + R"(/([A-Za-z]+)/([A-Za-z0-9\-\.]+)/_history)",
             Handler([this](const Call& call) { return History(call); }));
    http.Get(base + R"(/([A-Za-z]+)/([A-Za-z0-9\-\.]+))",
             Handler([this](const Call& call) { return Read(call); }));
    http.Get(base + R"(/([A-Za-z]+))",
             Handler([this](const Call& call) { return Search(call); }));
    http.Post(base, Handler([this](const Call& call) { return Transaction(call); }));
    http.Post(base + "/", Handler([this](const Call& call) {
                return Transaction(call);
              }));
    http.Post(base + R"(/([A-Za-z]+))",
              Handler([this](const Call& call) { return Create(call); }));
    http.Put(base + R"(/([A-Za-z]+)/([A-Za-z0-9\-\.]+))",
             Handler([this](const Call& call) { return Update(call, false); }));
    http.Patch(base + R"(/([A-Za-z]+)/([A-Za-z0-9\-\.]+))",
               Handler([this](const Call& call) { return Update(call, true); }));
  }

  void Stop() {
    if (bulk_ != nullptr) bulk_->Stop();
    if (subscriptions_ != nullptr) subscriptions_->Stop();
  }

 private:
  // One request being answered.
  struct Call {
    const httplib::Request& req;
    httplib::Response& res;
    Requester who;
  };

  // Wraps `body`: identifies the caller (unless `identify` is false),
  // refuses cross-site browser requests, and answers a refusal as an
  // OperationOutcome.
  httplib::Server::Handler Handler(
      std::function<absl::Status(const Call&)> body, bool identify = true) {
    return [this, body = std::move(body), identify](const httplib::Request& req,
                                                   httplib::Response& res) {
      absl::Status status = [&]() -> absl::Status {
        const std::string site = req.get_header_value("Sec-Fetch-Site");
        if (!site.empty() && site != "same-origin" && site != "none") {
          return absl::PermissionDeniedError(absl::StrCat(
              "cross-site request refused (Sec-Fetch-Site: ", site,
              "): the FHIR endpoint serves systems, not other sites' pages"));
        }
        Call call{req, res, Requester{}};
        if (identify) {
          ASSIGN_OR_RETURN(call.who, Identify(services_, req));
        }
        return body(call);
      }();
      if (!status.ok()) SetOutcome(res, status);
    };
  }

  // --- Calls on the in-process channel --------------------------------------

  // `method` of the service client `service`, called as `who`.
  template <typename Request, typename Response, typename Client>
  absl::Status Rpc(grpc::Status (Client::*method)(grpc::ClientContext*,
                                                  const Request&, Response*),
                   Client& service, const Requester& who,
                   const Request& request, Response* response) {
    std::unique_ptr<grpc::ClientContext> context = ContextFor(services_, who);
    return StatusOf((service.*method)(context.get(), request, response));
  }

  // Runs the command `fields` asks for as `who`; with `expected`, only if
  // the client's stream is at that version (ABORTED otherwise).
  absl::StatusOr<v1::CommandResult> Command(const Requester& who,
                                            const care::CommandFields& fields,
                                            std::optional<uint64_t> expected) {
    ASSIGN_OR_RETURN(std::unique_ptr<google::protobuf::Message> request,
                     care::NewCommandRequest(fields));
    const care::CommandSpec* spec =
        care::CommandCatalog::Get().ForEvent(fields.event.event_case());
    if (spec == nullptr) {
      return absl::InternalError("no command records the event");
    }
    std::unique_ptr<grpc::ClientContext> context = ContextFor(services_, who);
    if (expected.has_value()) {
      context->AddMetadata(services::kExpectedVersionMetadataKey,
                           absl::StrCat(*expected));
    }
    v1::CommandResult result;
    Mutex mu;
    CondVar cv(&mu);
    bool done = false;
    grpc::Status status;
    generic_.UnaryCall(context.get(), spec->path, grpc::StubOptions(),
                       request.get(), &result, [&](grpc::Status s) {
                         MutexLock lock(&mu);
                         status = std::move(s);
                         done = true;
                         cv.SignalAll();
                       });
    {
      MutexLock lock(&mu);
      while (!done) cv.Wait();
    }
    RETURN_IF_ERROR(StatusOf(status));
    return result;
  }

  // The client's record as `who` may see it, having applied `min_position`.
  absl::StatusOr<v1::ClientState> State(const Requester& who,
                                        const std::string& client_id,
                                        uint64_t min_position = 0) {
    v1::GetClientSummaryRequest request;
    request.set_client_id(client_id);
    request.set_min_position(min_position);
    v1::GetClientSummaryResponse response;
    RETURN_IF_ERROR(Rpc(&v1::ContinuityViews::Stub::GetClientSummary,
                        *continuity_, who, request, &response));
    if (!response.summary().state().registered()) {
      return absl::NotFoundError(absl::StrCat(
          "client ", client_id,
          " is not registered, or no event of its registration is visible "
          "to you (docs/access.md)"));
    }
    return response.summary().state();
  }

  // The client's record just after the event at `position`.
  absl::StatusOr<v1::ClientState> StateAt(const Requester& who,
                                          const std::string& client_id,
                                          uint64_t position) {
    v1::ReplayClientRequest request;
    request.set_client_id(client_id);
    request.set_position(position);
    v1::ReplayClientResponse response;
    RETURN_IF_ERROR(Rpc(&v1::AuditViews::Stub::ReplayClient, *audit_, who,
                        request, &response));
    return response.state();
  }

  // --- Reads ----------------------------------------------------------------

  absl::StatusOr<std::vector<std::string>> ParseId(absl::string_view type,
                                                   absl::string_view id) {
    if (!Served(type)) {
      return absl::NotFoundError(absl::StrCat(
          "resource type ", type, " is not served; see GET ", kBasePath,
          "/metadata"));
    }
    return DecodeId(id, IdParts(type));
  }

  // `id` of `type` in `state`; NOT_FOUND when the record holds none.
  absl::StatusOr<json> Find(const v1::ClientState& state, absl::string_view type,
                            absl::string_view id) {
    for (json& resource : ClientResources(state, type)) {
      if (!resource.is_null() && resource["id"] == std::string(id)) {
        return std::move(resource);
      }
    }
    return absl::NotFoundError(absl::StrCat(type, "/", id, " does not exist"));
  }

  absl::StatusOr<json> ReadResource(const Requester& who, absl::string_view type,
                                    absl::string_view id,
                                    uint64_t min_position = 0) {
    if (type == "AuditEvent") {
      return absl::UnimplementedError(
          "AuditEvents are searched, not read: GET AuditEvent?patient=Patient/<id>");
    }
    ASSIGN_OR_RETURN(std::vector<std::string> parts, ParseId(type, id));
    if (type == "Organization") {
      ASSIGN_OR_RETURN(std::shared_ptr<const care::OrganizationDirectory> directory,
                       services_.records->Directory());
      for (const v1::OrganizationRegistered* organization : directory->All()) {
        if (organization->organization_id() == parts[0]) {
          return OrganizationOf(*organization);
        }
      }
      return absl::NotFoundError(
          absl::StrCat("organisation ", parts[0], " is not registered"));
    }
    ASSIGN_OR_RETURN(v1::ClientState state, State(who, parts[0], min_position));
    return Find(state, type, id);
  }

  absl::Status Read(const Call& call) {
    ASSIGN_OR_RETURN(json resource,
                     ReadResource(call.who, call.req.matches[1].str(),
                                  call.req.matches[2].str()));
    if (call.req.has_header("If-None-Match") &&
        call.req.get_header_value("If-None-Match") == ETagOf(resource)) {
      call.res.set_header("ETag", ETagOf(resource));
      call.res.status = 304;
      return absl::OkStatus();
    }
    SetVersioned(call.res, 200, resource);
    return absl::OkStatus();
  }

  // Whether `event` changed the resource `type`/`parts`.
  static bool Touches(const v1::CareEvent& event, absl::string_view type,
                      const std::vector<std::string>& parts) {
    using E = v1::CareEvent;
    const E::EventCase c = event.event_case();
    if (type == "Patient") {
      return c == E::kClientRegistered || c == E::kClientDetailsCorrected ||
             c == E::kClientRecordsLinked || c == E::kClientRecordsUnlinked;
    }
    if (type == "EpisodeOfCare") {
      return c == E::kCaseOpened || c == E::kCaseClosed || c == E::kCaseReopened;
    }
    if (type == "CareTeam") {
      return c == E::kCareTeamMemberAdded || c == E::kCareTeamMemberRemoved;
    }
    const std::string& item = parts.back();
    if (type == "Task" || type == "ServiceRequest") {
      if (event.has_referral_sent()) {
        return event.referral_sent().referral_id() == item;
      }
      const std::string* id = care::ReferralIdOf(event);
      return id != nullptr && *id == item;
    }
    if (type == "Consent") {
      return (event.has_consent_given() &&
              event.consent_given().consent_id() == item) ||
             (event.has_consent_revoked() &&
              event.consent_revoked().consent_id() == item);
    }
    if (type == "Encounter") {
      return (event.has_admission_recorded() &&
              event.admission_recorded().admission_id() == item) ||
             (event.has_discharge_recorded() &&
              event.discharge_recorded().admission_id() == item);
    }
    if (type == "Communication") {
      const std::string& kind = parts[1];
      return (kind == kNotificationIdPart &&
              event.has_admission_notification_received() &&
              event.admission_notification_received().notification_id() ==
                  item) ||
             (kind == kReceiptIdPart &&
              event.has_discharge_information_received() &&
              event.discharge_information_received().receipt_id() == item);
    }
    if (type == "Procedure") {
      return event.has_medication_reconciliation_recorded() &&
             event.medication_reconciliation_recorded().reconciliation_id() ==
                 item;
    }
    if (type == "Goal") {
      return (event.has_goal_set() && event.goal_set().goal_id() == item) ||
             (event.has_goal_progress_recorded() &&
              event.goal_progress_recorded().goal_id() == item) ||
             (event.has_goal_status_changed() &&
              event.goal_status_changed().goal_id() == item);
    }
    return false;
  }

  // Every version of the resource, newest first, as history entries.
  absl::StatusOr<std::vector<json>> Versions(const Call& call,
                                             absl::string_view type,
                                             absl::string_view id) {
    ASSIGN_OR_RETURN(std::vector<std::string> parts, ParseId(type, id));
    if (type == "Organization" || type == "AuditEvent") {
      return absl::UnimplementedError(absl::StrCat(
          "_history of an ", type, " is not kept; ",
          type == "Organization" ? "read it" : "AuditEvents do not change"));
    }
    // The events of the client's stream the caller may see that touch the
    // resource, and the corrections marking one of them entered in error
    // (after which the resource may be gone, or as it was before).
    std::vector<v1::Event> touching;
    std::set<std::string> touching_ids;
    v1::ReadStreamRequest request;
    request.set_stream_id(absl::StrCat("client-", parts[0]));
    request.set_max_count(1000);
    for (;;) {
      v1::ReadStreamResponse page;
      RETURN_IF_ERROR(Rpc(&v1::EventLog::Stub::ReadStream, *event_log_,
                          call.who, request, &page));
      for (const v1::Event& event : page.events()) {
        v1::CareEvent care;
        if (event.content_type() != v1::kCareEventContentType ||
            !care.ParseFromString(event.payload())) {
          continue;
        }
        if (Touches(care, type, parts) ||
            (care.has_event_entered_in_error() &&
             touching_ids.count(care.event_entered_in_error().event_id()))) {
          touching.push_back(event);
          touching_ids.insert(event.event_id());
        }
      }
      if (page.end_of_stream() || page.events().empty()) break;
      request.set_from_version(page.next_version());
    }
    if (touching.empty()) {
      return absl::NotFoundError(absl::StrCat(type, "/", id, " does not exist"));
    }
    std::vector<json> entries;
    const std::string base = BaseUrl(call.req, services_.tls);
    for (size_t i = 0; i < touching.size(); ++i) {
      const v1::Event& event = touching[i];
      ASSIGN_OR_RETURN(v1::ClientState state,
                       StateAt(call.who, parts[0], event.global_position()));
      absl::StatusOr<json> resource = Find(state, type, id);
      if (!resource.ok() && i > 0 && absl::IsNotFound(resource.status())) {
        // The event that created it was entered in error: deleted.
        entries.push_back(
            {{"fullUrl", absl::StrCat(base, "/", type, "/", id)},
             {"request",
              {{"method", "DELETE"},
               {"url", absl::StrCat(type, "/", id)}}},
             {"response", {{"status", "410 Gone"}}},
             {"extension",
              json::array(
                  {{{"url", absl::StrCat(kExtensionPrefix, "log-position")},
                    {"valueString", absl::StrCat(event.global_position())}},
                   {{"url", absl::StrCat(kExtensionPrefix, "event-hash")},
                    {"valueString", event.hash()}}})}});
        continue;
      }
      if (!resource.ok()) continue;
      json entry = {
          {"fullUrl", absl::StrCat(base, "/", type, "/", id)},
          {"resource", *resource},
          {"request",
           {{"method", i == 0 ? "POST" : "PUT"},
            {"url", i == 0 ? std::string(type) : absl::StrCat(type, "/", id)}}},
          {"response",
           {{"status", i == 0 ? "201 Created" : "200 OK"},
            {"etag", ETagOf(*resource)}}},
          {"extension",
           json::array(
               {{{"url", absl::StrCat(kExtensionPrefix, "log-position")},
                 {"valueString", absl::StrCat(event.global_position())}},
                {{"url", absl::StrCat(kExtensionPrefix, "event-hash")},
                 {"valueString", event.hash()}}})}};
      if (resource->contains("meta") &&
          (*resource)["meta"].contains("lastUpdated")) {
        entry["response"]["lastModified"] = (*resource)["meta"]["lastUpdated"];
      }
      entries.push_back(std::move(entry));
    }
    std::reverse(entries.begin(), entries.end());
    return entries;
  }

  absl::Status History(const Call& call) {
    ASSIGN_OR_RETURN(std::vector<json> entries,
                     Versions(call, call.req.matches[1].str(),
                              call.req.matches[2].str()));
    json bundle = {{"resourceType", "Bundle"},
                   {"type", "history"},
                   {"total", entries.size()},
                   {"link", json::array({{{"relation", "self"},
                                          {"url", SelfUrl(call.req)}}})},
                   {"entry", entries}};
    SetResource(call.res, 200, bundle);
    return absl::OkStatus();
  }

  absl::Status VersionRead(const Call& call) {
    const std::string type = call.req.matches[1].str();
    const std::string id = call.req.matches[2].str();
    uint64_t version = 0;
    if (!absl::SimpleAtoi(call.req.matches[3].str(), &version)) {
      return absl::NotFoundError(absl::StrCat(type, "/", id, " has no version ",
                                              call.req.matches[3].str()));
    }
    ASSIGN_OR_RETURN(std::vector<json> entries, Versions(call, type, id));
    for (const json& entry : entries) {
      if (VersionOf(entry["resource"]) == version) {
        SetVersioned(call.res, 200, entry["resource"]);
        return absl::OkStatus();
      }
    }
    return absl::NotFoundError(absl::StrCat(type, "/", id, " has no version ",
                                            call.req.matches[3].str()));
  }

  // --- Search ---------------------------------------------------------------

  std::string SelfUrl(const httplib::Request& req) const {
    std::string url = absl::StrCat(BaseUrl(req, services_.tls),
                                   req.path.substr(sizeof(kBasePath) - 1));
    std::vector<std::string> params;
    for (const auto& [key, value] : req.params) {
      params.push_back(absl::StrCat(httplib::detail::encode_query_param(key), "=",
                                    httplib::detail::encode_query_param(value)));
    }
    if (!params.empty()) absl::StrAppend(&url, "?", absl::StrJoin(params, "&"));
    return url;
  }

  // The search's parameters, each checked to be one `type` supports.
  struct SearchParams {
    std::string patient;    // patient / subject / for
    // Communication/Procedure.encounter: "Encounter/<EncodeId(client,
    // admission)>"; its client is the patient searched.
    std::string encounter;
    std::string encounter_client;
    std::string owner;      // Task.owner, ServiceRequest.performer
    std::string requester;  // Task/ServiceRequest.requester
    std::vector<std::string> statuses;
    std::optional<TimeBound> last_updated;
    std::string id;
    std::string name;
    bool include_focus = false;
    int count = kDefaultCount;
    std::string page_token;
  };

  absl::StatusOr<SearchParams> ParseSearch(const httplib::Request& req,
                                           absl::string_view type) {
    SearchParams p;
    for (const auto& param : req.params) {
      const std::string& key = param.first;
      const std::string& value = param.second;
      auto unsupported = [&]() {
        return absl::InvalidArgumentError(absl::StrCat(
            "search parameter \"", key, "\" is not supported for ", type,
            "; see the CapabilityStatement (GET ", kBasePath, "/metadata)"));
      };
      if (key == "_count") {
        if (!absl::SimpleAtoi(value, &p.count) || p.count < 1 ||
            p.count > kMaxCount) {
          return absl::InvalidArgumentError(absl::StrCat(
              "_count: \"", value, "\" is not a whole number from 1 to ",
              kMaxCount));
        }
      } else if (key == "_page_token") {
        p.page_token = value;
      } else if (key == "_format") {
        if (!absl::StrContains(value, "json")) {
          return absl::InvalidArgumentError(
              "_format: only JSON (application/fhir+json) is served");
        }
      } else if (key == "_lastUpdated") {
        ASSIGN_OR_RETURN(p.last_updated, ParseTimeBound(value));
      } else if (key == "_id") {
        p.id = value;
      } else if (key == "_include") {
        if (type != "Task" || (value != "Task:focus" &&
                               value != "Task:focus:ServiceRequest")) {
          return absl::InvalidArgumentError(absl::StrCat(
              "_include: \"", value, "\" is not supported; Task?_include=Task:focus "
              "is"));
        }
        p.include_focus = true;
      } else if (key == "patient" || (key == "subject" && type != "Task") ||
                 (key == "for" && type == "Task")) {
        if (type == "Patient" || type == "Organization") return unsupported();
        ASSIGN_OR_RETURN(p.patient, SearchReference(key, value, "Patient"));
      } else if (key == "encounter" &&
                 (type == "Communication" || type == "Procedure")) {
        ASSIGN_OR_RETURN(std::vector<std::string> parts,
                         SearchEncounter(value));
        p.encounter =
            absl::StrCat("Encounter/", EncodeId({parts[0], parts[1]}));
        p.encounter_client = parts[0];
      } else if ((key == "owner" && type == "Task") ||
                 (key == "performer" && type == "ServiceRequest")) {
        ASSIGN_OR_RETURN(p.owner, SearchReference(key, value, "Organization"));
      } else if (key == "requester" &&
                 (type == "Task" || type == "ServiceRequest")) {
        ASSIGN_OR_RETURN(p.requester,
                         SearchReference(key, value, "Organization"));
      } else if (key == "status" && type != "Patient" &&
                 type != "Organization" && type != "Goal" &&
                 type != "AuditEvent") {
        for (absl::string_view s : absl::StrSplit(value, ',')) {
          p.statuses.emplace_back(s);
        }
      } else if (key == "identifier" && type == "Patient") {
        absl::string_view v = value;
        if (!absl::ConsumePrefix(&v, absl::StrCat(kClientIdSystem, "|")) &&
            absl::StrContains(v, '|')) {
          return absl::InvalidArgumentError(absl::StrCat(
              "identifier: search patients by ", kClientIdSystem, "|<client id>"));
        }
        p.id = EncodeId({v});
      } else if (key == "name" && type == "Organization") {
        p.name = absl::AsciiStrToLower(value);
      } else {
        return unsupported();
      }
    }
    return p;
  }

  bool StatusMatches(const SearchParams& p, const json& resource) const {
    if (p.statuses.empty()) return true;
    const std::string status =
        resource.contains("status") ? resource["status"].get<std::string>() : "";
    return std::find(p.statuses.begin(), p.statuses.end(), status) !=
           p.statuses.end();
  }

  absl::Status Search(const Call& call) {
    const std::string type = call.req.matches[1].str();
    if (!Served(type)) {
      return absl::NotFoundError(absl::StrCat(
          "resource type ", type, " is not served; see GET ", kBasePath,
          "/metadata"));
    }
    ASSIGN_OR_RETURN(SearchParams p, ParseSearch(call.req, type));
    std::vector<json> matches;
    std::vector<json> included;
    std::string next_token;
    auto keep = [&](json resource) {
      if (resource.is_null() || !StatusMatches(p, resource)) return;
      if (p.last_updated.has_value() && !p.last_updated->Matches(resource)) {
        return;
      }
      if (!p.id.empty() && resource["id"] != p.id) return;
      matches.push_back(std::move(resource));
    };
    if (type == "Organization") {
      ASSIGN_OR_RETURN(std::shared_ptr<const care::OrganizationDirectory> directory,
                       services_.records->Directory());
      for (const v1::OrganizationRegistered* organization : directory->All()) {
        if (!p.name.empty() &&
            !absl::StrContains(absl::AsciiStrToLower(organization->name()),
                               p.name)) {
          continue;
        }
        keep(OrganizationOf(*organization));
      }
    } else if ((type == "Task" || type == "ServiceRequest") &&
               p.patient.empty()) {
      // Referrals by organisation: the continuity view's lists.
      v1::ListReferralsRequest request;
      if (!p.owner.empty()) {
        request.set_organization_id(p.owner);
        request.set_direction(v1::REFERRAL_DIRECTION_RECEIVED);
      } else if (!p.requester.empty()) {
        request.set_organization_id(p.requester);
        request.set_direction(v1::REFERRAL_DIRECTION_SENT);
      } else {
        request.set_organization_id(call.who.caller.organization_id);
      }
      for (const char* status :
           {"requested", "received", "accepted", "declined", "on-hold",
            "in-progress", "completed", "failed", "cancelled"}) {
        request.add_statuses(status);
      }
      request.set_page_size(p.count);
      request.set_page_token(p.page_token);
      v1::ListReferralsResponse response;
      RETURN_IF_ERROR(Rpc(&v1::ContinuityViews::Stub::ListReferrals,
                          *continuity_, call.who, request, &response));
      for (const v1::ReferralListEntry& entry : response.entries()) {
        const v1::ReferralView& referral = entry.referral();
        if (!p.owner.empty() && !p.requester.empty() &&
            referral.from_organization_id() != p.requester) {
          continue;
        }
        json resource = type == "Task"
                            ? TaskOf(entry.client_id(), referral)
                            : ServiceRequestOf(entry.client_id(), referral);
        const size_t before = matches.size();
        keep(std::move(resource));
        if (p.include_focus && matches.size() > before) {
          included.push_back(ServiceRequestOf(entry.client_id(), referral));
        }
      }
      next_token = response.next_page_token();
    } else if (type == "AuditEvent") {
      if (p.patient.empty()) {
        return absl::InvalidArgumentError(
            "AuditEvent: search with patient=Patient/<id>");
      }
      v1::GetTimelineRequest request;
      request.set_client_id(p.patient);
      request.set_page_size(p.count);
      request.set_page_token(p.page_token);
      v1::GetTimelineResponse response;
      RETURN_IF_ERROR(Rpc(&v1::AuditViews::Stub::GetTimeline, *audit_, call.who,
                          request, &response));
      for (const v1::TimelineEntry& entry : response.entries()) {
        keep(AuditEventOf(p.patient, entry));
      }
      next_token = response.next_page_token();
    } else if (type == "Patient") {
      if (p.id.empty()) {
        return absl::InvalidArgumentError(
            "Patient: search by _id or identifier (urn:caseline:client-id|<id>); "
            "Caseline finds possible duplicates through DuplicationViews");
      }
      ASSIGN_OR_RETURN(std::vector<std::string> parts, DecodeId(p.id, 1));
      absl::StatusOr<v1::ClientState> state = State(call.who, parts[0]);
      if (state.ok()) {
        keep(PatientOf(*state));
      } else if (!absl::IsNotFound(state.status())) {
        return state.status();
      }
    } else if (!p.encounter.empty() && !p.patient.empty() &&
               p.patient != p.encounter_client) {
      // The Encounter is another client's: nothing of this patient is in it.
    } else {
      if (p.patient.empty()) p.patient = p.encounter_client;
      if (p.patient.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            type, ": search with patient=Patient/<id>",
            type == "Task" || type == "ServiceRequest"
                ? " or by organisation (owner/performer, requester)"
            : type == "Communication" || type == "Procedure"
                ? " or encounter=Encounter/<id>"
                : ""));
      }
      ASSIGN_OR_RETURN(v1::ClientState state, State(call.who, p.patient));
      for (json& resource : ClientResources(state, type)) {
        if (!p.encounter.empty() &&
            (!resource.contains("encounter") ||
             resource["encounter"]["reference"] != p.encounter)) {
          continue;
        }
        if (type == "Task" || type == "ServiceRequest") {
          const std::string owner_field = type == "Task" ? "owner" : "performer";
          const json& owner = type == "Task" ? resource["owner"]
                                             : resource["performer"][0];
          if (!p.owner.empty() &&
              owner["reference"] != absl::StrCat("Organization/",
                                                 EncodeId({p.owner}))) {
            continue;
          }
          if (!p.requester.empty() &&
              resource["requester"]["reference"] !=
                  absl::StrCat("Organization/", EncodeId({p.requester}))) {
            continue;
          }
        }
        const size_t before = matches.size();
        const std::string focus_id = resource["id"];
        keep(std::move(resource));
        if (p.include_focus && matches.size() > before) {
          absl::StatusOr<json> focus = Find(state, "ServiceRequest", focus_id);
          if (focus.ok()) included.push_back(*std::move(focus));
        }
      }
    }
    const std::string base = BaseUrl(call.req, services_.tls);
    json bundle = {{"resourceType", "Bundle"}, {"type", "searchset"}};
    json links = json::array({{{"relation", "self"}, {"url", SelfUrl(call.req)}}});
    if (!next_token.empty()) {
      httplib::Request next = call.req;
      next.params.erase("_page_token");
      next.params.emplace("_page_token", next_token);
      links.push_back({{"relation", "next"}, {"url", SelfUrl(next)}});
    } else if (p.page_token.empty()) {
      bundle["total"] = matches.size();
    }
    bundle["link"] = links;
    json entries = json::array();
    for (json& resource : matches) {
      const std::string url =
          absl::StrCat(base, "/", resource["resourceType"].get<std::string>(),
                       "/", resource["id"].get<std::string>());
      entries.push_back({{"fullUrl", url},
                         {"resource", std::move(resource)},
                         {"search", {{"mode", "match"}}}});
    }
    for (json& resource : included) {
      const std::string url =
          absl::StrCat(base, "/ServiceRequest/", resource["id"].get<std::string>());
      entries.push_back({{"fullUrl", url},
                         {"resource", std::move(resource)},
                         {"search", {{"mode", "include"}}}});
    }
    bundle["entry"] = entries;
    SetResource(call.res, 200, bundle);
    return absl::OkStatus();
  }

  // --- Writes -----------------------------------------------------------------

  static absl::StatusOr<json> Body(const httplib::Request& req,
                                   bool patch = false) {
    // The media type, without parameters such as charset.
    const std::string type(absl::StripAsciiWhitespace(absl::AsciiStrToLower(
        std::string(absl::string_view(req.get_header_value("Content-Type"))
                        .substr(0, req.get_header_value("Content-Type")
                                       .find(';'))))));
    const bool ok = patch ? type == "application/json-patch+json"
                          : (type == "application/fhir+json" ||
                             type == "application/json");
    if (!ok) {
      return WithHttpStatus(
          absl::InvalidArgumentError(absl::StrCat(
              "Content-Type: send ",
              patch ? "application/json-patch+json (RFC 6902)"
                    : "application/fhir+json",
              " (FHIR JSON is the only format served)")),
          415);
    }
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
      return absl::InvalidArgumentError("body: not valid JSON");
    }
    return body;
  }

  // The referral `fields` sends, sent as `who`; returns the ServiceRequest
  // and Task, and whether it was new (false: a retry, nothing written).
  struct Written {
    json service_request;
    json task;
    bool created = false;
  };

  // `conditional`: the create was conditional (If-None-Exist): a referral
  // that already exists with the id is answered, not refused.
  absl::StatusOr<Written> SendReferral(const Call& call,
                                       const care::CommandFields& fields,
                                       bool conditional) {
    absl::StatusOr<v1::CommandResult> result =
        Command(call.who, fields, std::nullopt);
    const std::string& referral_id = fields.event.referral_sent().referral_id();
    const std::string id = EncodeId({fields.client_id, referral_id});
    uint64_t min_position = 0;
    bool created = false;
    if (result.ok()) {
      min_position = result->last_global_position();
      created = !result->already_applied();
    } else if (!(absl::IsAlreadyExists(result.status()) && conditional)) {
      return result.status();
    }
    ASSIGN_OR_RETURN(v1::ClientState state,
                     State(call.who, fields.client_id, min_position));
    Written written;
    ASSIGN_OR_RETURN(written.service_request, Find(state, "ServiceRequest", id));
    ASSIGN_OR_RETURN(written.task, Find(state, "Task", id));
    written.created = created;
    return written;
  }

  // The referral id a conditional create names (If-None-Exist:
  // identifier=[system|]value), if any.
  static absl::StatusOr<std::optional<std::string>> IfNoneExist(
      const httplib::Request& req, absl::string_view header_value = "") {
    std::string value = header_value.empty()
                            ? req.get_header_value("If-None-Exist")
                            : std::string(header_value);
    if (value.empty()) return std::nullopt;
    absl::string_view v = value;
    if (!absl::ConsumePrefix(&v, "identifier=")) {
      return absl::InvalidArgumentError(
          "If-None-Exist: only identifier=[system|]value is supported");
    }
    const size_t bar = v.find('|');
    if (bar != absl::string_view::npos) v = v.substr(bar + 1);
    return std::string(v);
  }

  absl::Status Transaction(const Call& call) {
    ASSIGN_OR_RETURN(json bundle, Body(call.req));
    if (!bundle.is_object() || bundle.value("resourceType", "") != "Bundle") {
      return absl::InvalidArgumentError(
          "body: a Bundle of type transaction (POST to the base URL)");
    }
    if (bundle.value("type", "") != "transaction") {
      return absl::InvalidArgumentError(
          "Bundle.type: \"transaction\" (batches are not served)");
    }
    const json* service_request = nullptr;
    const json* task = nullptr;
    std::string condition;
    if (!bundle.contains("entry") || !bundle["entry"].is_array()) {
      return absl::InvalidArgumentError("Bundle.entry: required");
    }
    for (const json& entry : bundle["entry"]) {
      const json* resource =
          entry.is_object() && entry.contains("resource") ? &entry["resource"]
                                                          : nullptr;
      const std::string rtype =
          resource != nullptr && resource->is_object()
              ? resource->value("resourceType", "")
              : "";
      const std::string method =
          entry.contains("request") && entry["request"].is_object()
              ? entry["request"].value("method", "")
              : "";
      if (method != "POST") {
        return absl::InvalidArgumentError(
            "Bundle.entry.request.method: a transaction here creates a "
            "referral: POST its ServiceRequest and Task");
      }
      if (rtype == "ServiceRequest" && service_request == nullptr) {
        service_request = resource;
        if (entry["request"].contains("ifNoneExist") &&
            entry["request"]["ifNoneExist"].is_string()) {
          condition = entry["request"]["ifNoneExist"].get<std::string>();
        }
      } else if (rtype == "Task" && task == nullptr) {
        task = resource;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "Bundle.entry: a transaction holds one ServiceRequest and its "
            "Task (one referral, one command); got ",
            rtype.empty() ? "an entry without a resource" : rtype));
      }
    }
    if (service_request == nullptr) {
      return absl::InvalidArgumentError(
          "Bundle.entry: the referral's ServiceRequest is missing");
    }
    ASSIGN_OR_RETURN(std::optional<std::string> named,
                     IfNoneExist(call.req, condition));
    ASSIGN_OR_RETURN(care::CommandFields fields,
                     ReferralCommandOf(*service_request, task,
                                       named.value_or(NewId("r"))));
    ASSIGN_OR_RETURN(Written written,
                     SendReferral(call, fields, named.has_value()));
    const std::string status = written.created ? "201 Created" : "200 OK";
    const std::string base = BaseUrl(call.req, services_.tls);
    json entries = json::array();
    for (const json* resource : {&written.service_request, &written.task}) {
      const std::string type = (*resource)["resourceType"];
      const std::string id = (*resource)["id"];
      entries.push_back(
          {{"fullUrl", absl::StrCat(base, "/", type, "/", id)},
           {"resource", *resource},
           {"response",
            {{"status", status},
             {"location",
              absl::StrCat(type, "/", id, "/_history/", VersionOf(*resource))},
             {"etag", ETagOf(*resource)}}}});
      if ((*resource)["meta"].contains("lastUpdated")) {
        entries.back()["response"]["lastModified"] =
            (*resource)["meta"]["lastUpdated"];
      }
    }
    SetResource(call.res, 200,
                {{"resourceType", "Bundle"},
                 {"type", "transaction-response"},
                 {"entry", entries}});
    return absl::OkStatus();
  }

  void Created(const Call& call, const json& resource, bool created) {
    call.res.set_header(
        "Location",
        absl::StrCat(BaseUrl(call.req, services_.tls), "/",
                     resource["resourceType"].get<std::string>(), "/",
                     resource["id"].get<std::string>(), "/_history/",
                     VersionOf(resource)));
    SetVersioned(call.res, created ? 201 : 200, resource);
  }

  absl::Status Create(const Call& call) {
    const std::string type = call.req.matches[1].str();
    ASSIGN_OR_RETURN(json body, Body(call.req));
    if (!body.is_object() || body.value("resourceType", "") != type) {
      return absl::InvalidArgumentError(
          absl::StrCat("resourceType: the body must be a ", type));
    }
    ASSIGN_OR_RETURN(std::optional<std::string> named, IfNoneExist(call.req));
    if (type == "ServiceRequest") {
      ASSIGN_OR_RETURN(care::CommandFields fields,
                       ReferralCommandOf(body, nullptr,
                                         named.value_or(NewId("r"))));
      ASSIGN_OR_RETURN(Written written,
                       SendReferral(call, fields, named.has_value()));
      Created(call, written.service_request, written.created);
      return absl::OkStatus();
    }
    if (type == "Consent") {
      ASSIGN_OR_RETURN(care::CommandFields fields,
                       ConsentCommandOf(body, named.value_or(NewId("consent"))));
      absl::StatusOr<v1::CommandResult> result =
          Command(call.who, fields, std::nullopt);
      bool created = result.ok() && !result->already_applied();
      if (!result.ok() && !(absl::IsAlreadyExists(result.status()) &&
                            named.has_value())) {
        return result.status();
      }
      ASSIGN_OR_RETURN(
          v1::ClientState state,
          State(call.who, fields.client_id,
                result.ok() ? result->last_global_position() : 0));
      ASSIGN_OR_RETURN(
          json consent,
          Find(state, "Consent",
               EncodeId({fields.client_id,
                         fields.event.consent_given().consent_id()})));
      Created(call, consent, created);
      return absl::OkStatus();
    }
    if (type == "Encounter") {
      ASSIGN_OR_RETURN(EncounterWrite write, EncounterPost(body));
      return WriteEncounter(call, write);
    }
    if (type == "Communication" || type == "Procedure") {
      ASSIGN_OR_RETURN(TransitionWrite write,
                       type == "Communication"
                           ? CommunicationCommandOf(
                                 body, call.who.caller.organization_id, named)
                           : ProcedureCommandOf(
                                 body, call.who.caller.organization_id, named));
      absl::StatusOr<v1::CommandResult> result =
          Command(call.who, write.fields, std::nullopt);
      if (!result.ok() &&
          !(absl::IsAlreadyExists(result.status()) && named.has_value())) {
        return result.status();
      }
      ASSIGN_OR_RETURN(
          json resource,
          ReadResource(call.who, type, write.logical_id,
                       result.ok() ? result->last_global_position() : 0));
      Created(call, resource, result.ok() && !result->already_applied());
      return absl::OkStatus();
    }
    if (type == "Task") {
      // The Task of a referral exists as soon as its ServiceRequest does:
      // posting it again is answered with the one the record holds.
      ASSIGN_OR_RETURN(std::string focus,
                       ReferencedId(body.value("focus", json::object()),
                                    "ServiceRequest", "Task.focus"));
      ASSIGN_OR_RETURN(json task, ReadResource(call.who, "Task", focus));
      Created(call, task, false);
      return absl::OkStatus();
    }
    return absl::Status(
        absl::StatusCode::kUnimplemented,
        absl::StrCat("creating a ", type,
                     " is not supported; POST a ServiceRequest (or a "
                     "transaction Bundle with its Task), a Consent, an "
                     "Encounter, a Communication or a Procedure"));
  }

  absl::Status WriteEncounter(const Call& call, const EncounterWrite& write) {
    const google::protobuf::Message& request =
        write.kind == EncounterWrite::Kind::kAdmission
            ? static_cast<const google::protobuf::Message&>(write.admission)
            : write.discharge;
    ASSIGN_OR_RETURN(care::CommandFields fields, care::CommandFieldsOf(request));
    ASSIGN_OR_RETURN(v1::CommandResult result,
                     Command(call.who, fields, std::nullopt));
    ASSIGN_OR_RETURN(json encounter,
                     ReadResource(call.who, "Encounter",
                                  EncodeId({write.client_id, write.admission_id}),
                                  result.last_global_position()));
    Created(call, encounter,
            !result.already_applied() &&
                write.kind == EncounterWrite::Kind::kAdmission);
    return absl::OkStatus();
  }

  absl::Status Update(const Call& call, bool patch) {
    const std::string type = call.req.matches[1].str();
    const std::string id = call.req.matches[2].str();
    ASSIGN_OR_RETURN(std::vector<std::string> parts, ParseId(type, id));
    ASSIGN_OR_RETURN(json body, Body(call.req, patch));
    std::optional<uint64_t> if_match;
    if (call.req.has_header("If-Match")) {
      if_match = VersionOfETag(call.req.get_header_value("If-Match"));
      if (!if_match.has_value()) {
        return absl::InvalidArgumentError(
            "If-Match: an ETag as the server sent it, e.g. W/\"3\"");
      }
    }
    if (type == "Encounter" && !patch) {
      ASSIGN_OR_RETURN(EncounterWrite write, EncounterPut(id, body));
      return WriteEncounter(call, write);
    }
    if (type != "Task" && type != "Consent") {
      return absl::Status(
          absl::StatusCode::kUnimplemented,
          absl::StrCat("updating a ", type,
                       " is not supported; Task (status) and Consent "
                       "(revocation) are updated"));
    }
    for (int attempt = 0; attempt < kIfMatchAttempts; ++attempt) {
      ASSIGN_OR_RETURN(v1::ClientState state, State(call.who, parts[0]));
      ASSIGN_OR_RETURN(json current, Find(state, type, id));
      if (if_match.has_value() && *if_match != VersionOf(current)) {
        SetOutcome(call.res,
                   absl::FailedPreconditionError(absl::StrCat(
                       "If-Match: ", type, "/", id, " is at version ",
                       VersionOf(current), ", not ", *if_match,
                       "; read it again")),
                   412);
        return absl::OkStatus();
      }
      json wanted = body;
      if (patch) {
        ASSIGN_OR_RETURN(wanted, ApplyJsonPatch(current, body));
      }
      if (!wanted.is_object() || wanted.value("resourceType", "") != type ||
          (wanted.contains("id") && wanted["id"] != id)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "body: the ", type, " ", id, " (resourceType ", type, ", id ", id,
            ")"));
      }
      std::optional<care::CommandFields> fields;
      if (type == "Task") {
        const v1::ReferralView* referral = nullptr;
        for (const v1::ReferralView& r : state.referrals()) {
          if (r.referral_id() == parts[1]) referral = &r;
        }
        if (referral == nullptr) {
          return absl::NotFoundError(absl::StrCat(type, "/", id, " does not exist"));
        }
        ASSIGN_OR_RETURN(fields, TaskCommandOf(parts[0], *referral, wanted));
      } else {
        const std::string status = wanted.value("status", "");
        if (status == "inactive" && current["status"] == "active") {
          ASSIGN_OR_RETURN(fields, RevocationCommandOf(parts[0], parts[1],
                                                       wanted, absl::Now()));
        } else if (status != current["status"]) {
          return absl::InvalidArgumentError(absl::StrCat(
              "Consent.status: a consent in force can be made \"inactive\" "
              "(revoked); it is \"", current["status"].get<std::string>(),
              "\""));
        }
      }
      if (!fields.has_value()) {
        SetVersioned(call.res, 200, current);
        return absl::OkStatus();
      }
      std::optional<uint64_t> expected;
      if (if_match.has_value()) expected = state.last_stream_version();
      absl::StatusOr<v1::CommandResult> result =
          Command(call.who, *fields, expected);
      if (absl::IsAborted(result.status()) && if_match.has_value()) continue;
      RETURN_IF_ERROR(result.status());
      ASSIGN_OR_RETURN(json updated,
                       ReadResource(call.who, type, id,
                                    result->last_global_position()));
      SetVersioned(call.res, 200, updated);
      return absl::OkStatus();
    }
    return absl::AbortedError(absl::StrCat(
        "the record of ", type, "/", id,
        " kept changing while the update was decided; retry"));
  }

  // --- CapabilityStatement ------------------------------------------------------

  json Capability(const Call& call) const {
    auto search = [](std::initializer_list<std::pair<const char*, const char*>>
                         params) {
      json out = json::array();
      for (auto [name, type] : params) {
        out.push_back({{"name", name}, {"type", type}});
      }
      return out;
    };
    json resources = json::array();
    for (const std::string& type : ServedTypes()) {
      json resource = {{"type", type},
                       {"versioning", type == "Organization" || type == "AuditEvent"
                                          ? "no-version"
                                          : "versioned"},
                       {"readHistory", type != "Organization" && type != "AuditEvent"},
                       {"updateCreate", false},
                       {"conditionalCreate",
                        type == "ServiceRequest" || type == "Consent" ||
                            type == "Communication" || type == "Procedure"},
                       {"conditionalUpdate", false},
                       {"conditionalDelete", "not-supported"}};
      std::vector<const char*> codes = {"search-type"};
      if (type != "AuditEvent") codes.push_back("read");
      if (type != "Organization" && type != "AuditEvent") {
        codes.push_back("vread");
        codes.push_back("history-instance");
      }
      if (type == "ServiceRequest" || type == "Consent" || type == "Task" ||
          type == "Encounter" || type == "Communication" ||
          type == "Procedure") {
        codes.push_back("create");
      }
      if (type == "Task" || type == "Consent" || type == "Encounter") {
        codes.push_back("update");
      }
      if (type == "Task" || type == "Consent") codes.push_back("patch");
      json list = json::array();
      for (const char* code : codes) list.push_back({{"code", code}});
      resource["interaction"] = list;
      if (type == "Task") {
        resource["searchParam"] =
            search({{"owner", "reference"}, {"requester", "reference"},
                    {"patient", "reference"}, {"for", "reference"},
                    {"status", "token"}, {"_lastUpdated", "date"},
                    {"_count", "number"}});
        resource["searchInclude"] = json::array({"Task:focus"});
      } else if (type == "ServiceRequest") {
        resource["searchParam"] =
            search({{"subject", "reference"}, {"patient", "reference"},
                    {"performer", "reference"}, {"requester", "reference"},
                    {"status", "token"}, {"_lastUpdated", "date"},
                    {"_count", "number"}});
      } else if (type == "Patient") {
        resource["searchParam"] =
            search({{"_id", "token"}, {"identifier", "token"}});
      } else if (type == "Organization") {
        resource["searchParam"] = search({{"name", "string"}});
      } else if (type == "AuditEvent") {
        resource["searchParam"] =
            search({{"patient", "reference"}, {"_count", "number"}});
      } else if (type == "Goal") {
        resource["searchParam"] =
            search({{"patient", "reference"}, {"_lastUpdated", "date"}});
      } else if (type == "Communication" || type == "Procedure") {
        resource["searchParam"] = search({{"patient", "reference"},
                                          {"subject", "reference"},
                                          {"encounter", "reference"},
                                          {"status", "token"},
                                          {"_lastUpdated", "date"}});
      } else {
        resource["searchParam"] =
            search({{"patient", "reference"}, {"status", "token"},
                    {"_lastUpdated", "date"}});
      }
      resources.push_back(resource);
    }
    resources.push_back(
        {{"type", "Subscription"},
         {"profile",
          "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
          "backport-subscription"},
         {"interaction", json::array({{{"code", "create"}},
                                      {{"code", "read"}},
                                      {{"code", "update"}},
                                      {{"code", "delete"}},
                                      {{"code", "search-type"}}})},
         {"operation",
          json::array({{{"name", "status"},
                        {"definition",
                         "http://hl7.org/fhir/uv/subscriptions-backport/"
                         "OperationDefinition/backport-subscription-status"}}})}});
    return {
        {"resourceType", "CapabilityStatement"},
        {"status", "active"},
        {"date", Instant(started_)},
        {"publisher", "Caseline"},
        {"kind", "instance"},
        {"software", {{"name", "Caseline"}}},
        {"implementation",
         {{"description", "Caseline care coordination server"},
          {"url", BaseUrl(call.req, services_.tls)}}},
        {"fhirVersion", "4.0.1"},
        {"format", json::array({"application/fhir+json"})},
        {"patchFormat", json::array({"application/json-patch+json"})},
        {"rest",
         json::array(
             {{{"mode", "server"},
               {"documentation",
                "Identity as for gRPC (docs/access.md): a client certificate "
                "with TLS; x-caseline-org on loopback without. See "
                "docs/fhir.md."},
               {"security",
                {{"cors", false},
                 {"description",
                  "Mutual TLS names the organisation; x-caseline-user the "
                  "person."}}},
               {"resource", resources},
               {"operation",
                json::array({{{"name", "export"},
                              {"definition",
                               "http://hl7.org/fhir/uv/bulkdata/"
                               "OperationDefinition/export"}}})},
               {"interaction", json::array({{{"code", "transaction"}}})}}})}};
  }

  const FhirServices services_;
  const FhirOptions options_;
  const absl::Time started_ = absl::Now();
  grpc::TemplatedGenericStub<google::protobuf::Message, google::protobuf::Message>
      generic_;
  std::unique_ptr<v1::ContinuityViews::Stub> continuity_;
  std::unique_ptr<v1::AuditViews::Stub> audit_;
  std::unique_ptr<v1::EventLog::Stub> event_log_;
  std::unique_ptr<Subscriptions> subscriptions_;
  std::unique_ptr<BulkExport> bulk_;
};

absl::StatusOr<std::unique_ptr<FhirEndpoint>> FhirEndpoint::Create(
    FhirServices services, FhirOptions options) {
  auto impl = std::make_unique<Impl>(std::move(services), std::move(options));
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<FhirEndpoint>(new FhirEndpoint(std::move(impl)));
}

FhirEndpoint::FhirEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FhirEndpoint::~FhirEndpoint() { Stop(); }
void FhirEndpoint::Register(httplib::Server& http) { impl_->Register(http); }
void FhirEndpoint::Stop() { impl_->Stop(); }

}  // namespace caseline::server::fhir
