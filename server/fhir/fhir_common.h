// What every part of the FHIR R4 endpoint (docs/fhir.md) shares: who calls,
// the in-process gRPC calls made as them, FHIR's logical ids for Caseline's
// ids, OperationOutcome errors, and FHIR's date and time formats.
#ifndef CASELINE_SERVER_FHIR_FHIR_COMMON_H_
#define CASELINE_SERVER_FHIR_FHIR_COMMON_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "projections/client_record_store.h"
#include "services/access_control.h"

namespace caseline::server::fhir {

// Where the endpoint is served, under the console's listener.
inline constexpr char kBasePath[] = "/fhir/r4";
inline constexpr char kFhirJson[] = "application/fhir+json";

// Caseline's own code systems and identifier systems: one namespace, each
// documented in docs/fhir.md.
inline constexpr char kCaselineSystemPrefix[] = "urn:caseline:";

// Who calls, as identified from the HTTP request.
struct Requester {
  services::Caller caller;
  bool peer_is_loopback = false;
};

// What the endpoint's parts are given by the server. Not owned.
struct FhirServices {
  const services::Authenticator* authenticator = nullptr;
  // The server's log: Bulk export listens to its erasures.
  eventstore::EventLog* log = nullptr;
  projections::ClientRecordStore* records = nullptr;
  // The gRPC server's in-process channel.
  std::shared_ptr<grpc::Channel> channel;
  bool tls = false;
};

// The caller of `req` by the Authenticator's rules: with TLS the client
// certificate names the organisation and the x-caseline-user/-discipline/
// -purpose/-break-glass headers the person; without TLS (loopback only) the
// x-caseline-org header names the organisation too, exactly as gRPC
// metadata does.
absl::StatusOr<Requester> Identify(const FhirServices& services,
                                   const httplib::Request& req);

// A ClientContext for an in-process call made as `who`, with a deadline.
std::unique_ptr<grpc::ClientContext> ContextFor(const FhirServices& services,
                                               const Requester& who);

// --- Logical ids ----------------------------------------------------------------
// FHIR ids are [A-Za-z0-9-.]{1,64}; Caseline's are [A-Za-z0-9._-]. An id is its
// parts joined by ".." with each part's '.' written ".0" and '_' ".1", e.g.
// client "c_1" and referral "r.2" give "c.11..r.02". Reversible and
// unambiguous; ids longer than 64 characters are served but are not valid
// FHIR ids (docs/fhir.md).
std::string EncodeId(std::initializer_list<absl::string_view> parts);
// The parts of `id`; NOT_FOUND (the resource cannot exist) when `id` does not
// decode to exactly `count` non-empty parts.
absl::StatusOr<std::vector<std::string>> DecodeId(absl::string_view id,
                                                  size_t count);

// --- JSON ---------------------------------------------------------------------------

// The member `key` of `object`; nullptr when `object` is not an object or
// has no such member, or it is null (FHIR JSON has no meaningful nulls).
const nlohmann::json* Member(const nlohmann::json& object, absl::string_view key);
// Member `key` when it is a string; nullopt otherwise.
std::optional<std::string> StringAt(const nlohmann::json& object,
                                    absl::string_view key);

// --- Errors -----------------------------------------------------------------------

// The HTTP status FHIR's RESTful API gives for a refusal with `code`
// (docs/fhir.md "Errors"): 400 invalid, 401, 403, 404, 409 conflicts and
// duplicates, 412 failed If-Match, 422 business rules (FAILED_PRECONDITION),
// 429, 501, 503, 504.
int HttpStatusOf(absl::StatusCode code);
// An OperationOutcome for `status`: one issue, severity error, its code from
// `status`'s code, diagnostics = the message (the gRPC message, unchanged),
// and an extension naming the gRPC code.
nlohmann::json OperationOutcome(const absl::Status& status);
// `status` answered with HTTP status `http` instead of HttpStatusOf(code)
// (e.g. 415 for a body in an unsupported format), carried as a payload.
absl::Status WithHttpStatus(absl::Status status, int http);

// Sets `res` to OperationOutcome(status) with HttpStatusOf(code), or the
// status WithHttpStatus gave; `http` overrides both (e.g. 412).
void SetOutcome(httplib::Response& res, const absl::Status& status,
                std::optional<int> http = std::nullopt);
// Sets `res` to `resource` as application/fhir+json with `http`.
void SetResource(httplib::Response& res, int http, const nlohmann::json& resource);

// --- Times and references ----------------------------------------------------------

// FHIR instant / dateTime: RFC 3339 in UTC with milliseconds, e.g.
// "2026-03-01T10:00:00.000Z".
std::string Instant(const google::protobuf::Timestamp& t);
std::string Instant(absl::Time t);
// FHIR date "YYYY-MM-DD".
std::string DateOf(const v1::Date& d);
// Parses a FHIR dateTime / instant (a date alone means its start, UTC).
// INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<absl::Time> ParseDateTime(absl::string_view text,
                                         absl::string_view field);
absl::StatusOr<v1::Date> ParseDate(absl::string_view text,
                                   absl::string_view field);
// (Timestamps <-> absl::Time: care/proto_time.h.)

// {"reference": "<type>/<id>"}, with display when not empty.
nlohmann::json Reference(absl::string_view type, absl::string_view id,
                         absl::string_view display = "");
// The id of `reference` ("Type/id", or "<base>/Type/id"); INVALID_ARGUMENT
// naming `field` when it is not a reference to `type`.
absl::StatusOr<std::string> ReferencedId(const nlohmann::json& reference,
                                         absl::string_view type,
                                         absl::string_view field);

// The endpoint's absolute base URL for `req`, e.g. "http://127.0.0.1:8080/fhir/r4".
std::string BaseUrl(const httplib::Request& req, bool tls);

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_FHIR_COMMON_H_
