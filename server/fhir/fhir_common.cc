#include "server/fhir/fhir_common.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "care/proto_time.h"
#include "server/http_identity.h"

namespace caseline::server::fhir {
namespace {

// The longest an in-process call may take before DEADLINE_EXCEEDED.
constexpr absl::Duration kCallDeadline = absl::Seconds(60);

// FHIR's issue-type code (http://hl7.org/fhir/issue-type) for a gRPC code.
const char* IssueTypeOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return "invalid";
    case absl::StatusCode::kUnauthenticated:
      return "login";
    case absl::StatusCode::kPermissionDenied:
      return "forbidden";
    case absl::StatusCode::kNotFound:
      return "not-found";
    case absl::StatusCode::kAlreadyExists:
      return "duplicate";
    case absl::StatusCode::kAborted:
      return "conflict";
    case absl::StatusCode::kFailedPrecondition:
      return "business-rule";
    case absl::StatusCode::kResourceExhausted:
      return "throttled";
    case absl::StatusCode::kUnimplemented:
      return "not-supported";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kUnavailable:
      return "transient";
    default:
      return "exception";
  }
}

bool IdChar(char c) { return absl::ascii_isalnum(c) || c == '-'; }

}  // namespace

absl::StatusOr<Requester> Identify(const FhirServices& services,
                                   const httplib::Request& req) {
  Requester who;
  who.peer_is_loopback = PeerIsLoopback(req);
  services::CallCredentials call = HeaderCall(req, /*person_only=*/services.tls);
  absl::StatusOr<services::Caller> caller =
      services.authenticator->Authenticate(call);
  if (!caller.ok()) return caller.status();
  who.caller = *std::move(caller);
  return who;
}

std::unique_ptr<grpc::ClientContext> ContextFor(const FhirServices& services,
                                               const Requester& who) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  AttachCaller(*services.authenticator, who.caller, who.peer_is_loopback,
               *context);
  return context;
}

std::string EncodeId(std::initializer_list<absl::string_view> parts) {
  std::string id;
  bool first = true;
  for (absl::string_view part : parts) {
    if (!first) id += "..";
    first = false;
    for (char c : part) {
      if (c == '.') {
        id += ".0";
      } else if (c == '_') {
        id += ".1";
      } else {
        id += c;
      }
    }
  }
  return id;
}

absl::StatusOr<std::vector<std::string>> DecodeId(absl::string_view id,
                                                  size_t count) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (c != '.') {
      if (!IdChar(c)) break;
      parts.back() += c;
      continue;
    }
    if (i + 1 >= id.size()) {
      parts.clear();
      break;
    }
    const char next = id[++i];
    if (next == '.') {
      parts.emplace_back();
    } else if (next == '0') {
      parts.back() += '.';
    } else if (next == '1') {
      parts.back() += '_';
    } else {
      parts.clear();
      break;
    }
  }
  bool ok = parts.size() == count;
  for (const std::string& part : parts) ok = ok && !part.empty();
  for (char c : id) ok = ok && (IdChar(c) || c == '.');
  if (!ok) {
    return absl::NotFoundError(absl::StrCat(
        "no resource has the id \"", id,
        "\": ids are Caseline's ids as docs/fhir.md \"Logical ids\" writes "
        "them"));
  }
  return parts;
}

const nlohmann::json* Member(const nlohmann::json& object,
                             absl::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> StringAt(const nlohmann::json& object,
                                    absl::string_view key) {
  const nlohmann::json* value = Member(object, key);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return value->get<std::string>();
}

int HttpStatusOf(absl::StatusCode code) {
  // FHIR's RESTful API answers a business rule with 422 and a cancelled
  // request as a server error; the rest is the gateway mapping.
  if (code == absl::StatusCode::kFailedPrecondition) return 422;
  if (code == absl::StatusCode::kCancelled) return 500;
  return GatewayHttpStatus(code);
}

nlohmann::json OperationOutcome(const absl::Status& status) {
  const std::string code_name = absl::StatusCodeToString(status.code());
  return {
      {"resourceType", "OperationOutcome"},
      {"issue",
       nlohmann::json::array(
           {{{"severity", "error"},
             {"code", IssueTypeOf(status.code())},
             {"details",
              {{"coding",
                nlohmann::json::array(
                    {{{"system", absl::StrCat(kCaselineSystemPrefix, "grpc-code")},
                      {"code", code_name}}})},
               {"text", code_name}}},
             {"diagnostics", std::string(status.message())}}})}};
}

constexpr char kHttpStatusPayload[] = "urn:caseline:http-status";

absl::Status WithHttpStatus(absl::Status status, int http) {
  status.SetPayload(kHttpStatusPayload, absl::Cord(absl::StrCat(http)));
  return status;
}

void SetOutcome(httplib::Response& res, const absl::Status& status,
                std::optional<int> http) {
  int code = HttpStatusOf(status.code());
  if (absl::optional<absl::Cord> given = status.GetPayload(kHttpStatusPayload)) {
    (void)absl::SimpleAtoi(std::string(*given), &code);
  }
  SetResource(res, http.value_or(code), OperationOutcome(status));
}

void SetResource(httplib::Response& res, int http,
                 const nlohmann::json& resource) {
  res.status = http;
  res.set_content(resource.dump(), kFhirJson);
}

std::string Instant(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string Instant(const google::protobuf::Timestamp& t) {
  return Instant(care::ToTime(t));
}

std::string DateOf(const v1::Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

absl::StatusOr<absl::Time> ParseDateTime(absl::string_view text,
                                         absl::string_view field) {
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return t;
  absl::CivilDay day;
  if (text.size() == 10 && absl::ParseCivilTime(text, &day)) {
    return absl::FromCivil(day, absl::UTCTimeZone());
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": \"", text,
      "\" is not a FHIR dateTime (YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with a "
      "time zone, e.g. 2026-03-01T10:00:00Z)"));
}

absl::StatusOr<v1::Date> ParseDate(absl::string_view text,
                                   absl::string_view field) {
  absl::CivilDay day;
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day) ||
      absl::FormatCivilTime(day) != text) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": \"", text, "\" is not a FHIR date (YYYY-MM-DD, a real day)"));
  }
  v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

nlohmann::json Reference(absl::string_view type, absl::string_view id,
                         absl::string_view display) {
  nlohmann::json ref = {{"reference", absl::StrCat(type, "/", id)}};
  if (!display.empty()) ref["display"] = std::string(display);
  return ref;
}

absl::StatusOr<std::string> ReferencedId(const nlohmann::json& reference,
                                         absl::string_view type,
                                         absl::string_view field) {
  if (reference.is_object() && reference.contains("reference") &&
      reference["reference"].is_string()) {
    const std::string text = reference["reference"].get<std::string>();
    const std::string marker = absl::StrCat(type, "/");
    const size_t at = text.rfind(marker);
    if (at != std::string::npos && (at == 0 || text[at - 1] == '/')) {
      std::string id = text.substr(at + marker.size());
      if (!id.empty() && !absl::StrContains(id, '/')) return id;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": a reference to a ", type, ", e.g. {\"reference\": \"", type,
      "/<id>\"}"));
}

std::string BaseUrl(const httplib::Request& req, bool tls) {
  return absl::StrCat(tls ? "https://" : "http://", req.get_header_value("Host"),
                      kBasePath);
}

}  // namespace caseline::server::fhir
