#include "server/fhir/subscription_model.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "care/client_record.h"
#include "server/fhir/fhir_common.h"

namespace caseline::server::fhir {
namespace {

using json = nlohmann::json;

absl::Status Invalid(absl::string_view element, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(element, ": ", message));
}

// The extensions of `node` with `url` (node.extension[]).
std::vector<const json*> Extensions(const json& node, absl::string_view url) {
  std::vector<const json*> found;
  if (!node.is_object() || !node.contains("extension") ||
      !node["extension"].is_array()) {
    return found;
  }
  for (const json& extension : node["extension"]) {
    if (extension.is_object() && extension.contains("url") &&
        extension["url"].is_string() &&
        extension["url"].get<std::string>() == url) {
      found.push_back(&extension);
    }
  }
  return found;
}

// A positive integer extension value (valueInteger, valueUnsignedInt or
// valuePositiveInt) no greater than `max`.
absl::StatusOr<int> IntegerExtension(const json& extension,
                                     absl::string_view element, int min,
                                     int max) {
  for (const char* key : {"valueInteger", "valueUnsignedInt", "valuePositiveInt"}) {
    const json* value = Member(extension, key);
    if (value == nullptr) continue;
    if (value->is_number_integer()) {
      const int64_t n = value->get<int64_t>();
      if (n >= min && n <= max) return static_cast<int>(n);
    }
    break;
  }
  return Invalid(element, absl::StrCat("an integer from ", min, " to ", max,
                                       " (valueInteger)"));
}

// The id of an organisation or client reference in a filter value:
// "Organization/x", "x", or "<base>/Organization/x".
std::string ReferenceValue(absl::string_view value, absl::string_view type) {
  const std::string marker = absl::StrCat(type, "/");
  const size_t at = value.rfind(marker);
  if (at != absl::string_view::npos && (at == 0 || value[at - 1] == '/')) {
    return std::string(value.substr(at + marker.size()));
  }
  return std::string(value);
}

bool IsTaskStatus(absl::string_view status) {
  for (const char* known :
       {"requested", "received", "accepted", "rejected", "on-hold",
        "in-progress", "completed", "failed", "cancelled"}) {
    if (status == known) return true;
  }
  return false;
}

absl::StatusOr<ReferralFilter> ParseFilter(absl::string_view text,
                                           absl::string_view focus_type) {
  constexpr char kElement[] = "Subscription.criteria.extension(backport-filter-criteria)";
  const std::string prefix = absl::StrCat(focus_type, "?");
  if (!absl::ConsumePrefix(&text, prefix)) {
    return Invalid(kElement,
                   absl::StrCat("\"", text, "\" must start with \"", prefix,
                                "\", the topic's resource type"));
  }
  const bool task = focus_type == "Task";
  const std::string owner_name = task ? "owner" : "performer";
  const std::string supported =
      task ? "owner, requester, patient, subject, status"
           : "performer, requester, patient, subject";
  ReferralFilter filter;
  if (text.empty()) return filter;
  for (absl::string_view pair : absl::StrSplit(text, '&')) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
      return Invalid(kElement, absl::StrCat("\"", pair,
                                            "\" is not name=value"));
    }
    const absl::string_view name = parts[0];
    std::vector<std::string>* target = nullptr;
    absl::string_view type;
    if (name == owner_name) {
      target = &filter.owner;
      type = "Organization";
    } else if (name == "requester") {
      target = &filter.requester;
      type = "Organization";
    } else if (name == "patient" || name == "subject") {
      target = &filter.client;
      type = "Patient";
    } else if (task && name == "status") {
      target = &filter.status;
    } else {
      return Invalid(kElement,
                     absl::StrCat("the search parameter \"", name,
                                  "\" is not supported for ", focus_type,
                                  " subscriptions; supported: ", supported));
    }
    for (absl::string_view value : absl::StrSplit(parts[1], ',')) {
      if (value.empty()) {
        return Invalid(kElement, absl::StrCat("\"", pair, "\" has an empty value"));
      }
      if (target == &filter.status) {
        if (!IsTaskStatus(value)) {
          return Invalid(kElement,
                         absl::StrCat("\"", value,
                                      "\" is not a Task.status Caseline uses "
                                      "(requested, received, accepted, "
                                      "rejected, on-hold, in-progress, "
                                      "completed, failed, cancelled)"));
        }
        target->emplace_back(value);
      } else {
        // Logical ids (fhir_common.h EncodeId), as the resources write them.
        absl::StatusOr<std::vector<std::string>> id =
            DecodeId(ReferenceValue(value, type), 1);
        if (!id.ok()) {
          return Invalid(kElement, absl::StrCat("\"", value, "\" is not a ",
                                                type, " id"));
        }
        target->push_back((*id)[0]);
      }
    }
  }
  return filter;
}

bool AnyOf(const std::vector<std::string>& wanted, absl::string_view value) {
  return wanted.empty() ||
         std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

bool IsLoopbackHost(absl::string_view host) {
  const std::string lower = absl::AsciiStrToLower(host);
  return lower == "localhost" || absl::EndsWith(lower, ".localhost") ||
         absl::StartsWith(lower, "127.") || lower == "::1" || lower == "[::1]" ||
         lower == "0.0.0.0" || lower == "::" || lower == "[::]" ||
         absl::StartsWith(lower, "[::ffff:127.");
}

absl::Status CheckEndpoint(absl::string_view url, bool allow_insecure) {
  constexpr char kElement[] = "Subscription.channel.endpoint";
  absl::string_view rest = url;
  const bool https = absl::ConsumePrefix(&rest, "https://");
  if (!https && !absl::ConsumePrefix(&rest, "http://")) {
    return Invalid(kElement, "an absolute https:// URL");
  }
  if (!https && !allow_insecure) {
    return Invalid(kElement,
                   "must be https:// (plain http only when the server runs "
                   "with --fhir_insecure_hooks)");
  }
  const absl::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  absl::string_view host = authority;
  if (absl::StrContains(authority, '@')) {
    return Invalid(kElement, "credentials in the URL are not allowed; send "
                             "them in Subscription.channel.header");
  }
  if (absl::StartsWith(host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) return Invalid(kElement, "a bad host");
    absl::string_view port = host.substr(close + 1);
    host = host.substr(0, close + 1);
    if (!port.empty()) {
      int n = 0;
      if (!absl::ConsumePrefix(&port, ":") || !absl::SimpleAtoi(port, &n) ||
          n <= 0 || n > 65535) {
        return Invalid(kElement, "a bad port");
      }
    }
  } else if (const size_t colon = host.rfind(':');
             colon != absl::string_view::npos) {
    int n = 0;
    if (!absl::SimpleAtoi(host.substr(colon + 1), &n) || n <= 0 || n > 65535) {
      return Invalid(kElement, "a bad port");
    }
    host = host.substr(0, colon);
  }
  if (host.empty() || host == "[]") return Invalid(kElement, "no host");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Invalid(kElement, "spaces and control characters are not allowed");
    }
  }
  if (!allow_insecure && IsLoopbackHost(host)) {
    return Invalid(kElement,
                   "loopback endpoints are allowed only when the server runs "
                   "with --fhir_insecure_hooks");
  }
  return absl::OkStatus();
}

bool IsToken(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && !absl::StrContains("!#$%&'*+-.^_`|~", c)) {
      return false;
    }
  }
  return true;
}

json Parameter(absl::string_view name, absl::string_view value_key,
               json value) {
  return {{"name", std::string(name)}, {std::string(value_key), std::move(value)}};
}

const char* TypeCode(NotificationType type) {
  switch (type) {
    case NotificationType::kHandshake:
      return "handshake";
    case NotificationType::kHeartbeat:
      return "heartbeat";
    case NotificationType::kEventNotification:
      return "event-notification";
  }
  return "event-notification";
}

std::string SubscriptionUrl(const Registration& registration) {
  return absl::StrCat(registration.base_url, "/Subscription/", registration.id);
}

json StatusParameters(const Registration& registration,
                      const SubscriptionSpec& spec, const char* type,
                      absl::string_view status_id) {
  json parameters = json::array();
  parameters.push_back(Parameter("subscription", "valueReference",
                                 {{"reference", SubscriptionUrl(registration)}}));
  parameters.push_back(Parameter("topic", "valueCanonical", spec.topic));
  parameters.push_back(Parameter("status", "valueCode", registration.status));
  parameters.push_back(Parameter("type", "valueCode", type));
  parameters.push_back(Parameter("events-since-subscription-start", "valueString",
                                 absl::StrCat(registration.events_since_start)));
  if (registration.status == "error" && !registration.error.empty()) {
    parameters.push_back(Parameter("error", "valueCodeableConcept",
                                   {{"text", registration.error}}));
  }
  return {{"resourceType", "Parameters"},
          {"id", std::string(status_id)},
          {"meta", {{"profile", json::array({kStatusProfile})}}},
          {"parameter", std::move(parameters)}};
}

}  // namespace

absl::StatusOr<SubscriptionSpec> ParseSubscription(const json& resource,
                                                   bool allow_insecure_hooks) {
  if (!resource.is_object() || StringAt(resource, "resourceType") !=
                                   std::optional<std::string>("Subscription")) {
    return Invalid("Subscription.resourceType",
                   "the body must be a Subscription resource");
  }
  SubscriptionSpec spec;
  const std::optional<std::string> criteria = StringAt(resource, "criteria");
  if (!criteria.has_value()) {
    return Invalid("Subscription.criteria",
                   absl::StrCat("required: the topic's canonical URL, ",
                                kTaskTopic, " or ", kServiceRequestTopic));
  }
  if (*criteria == kTaskTopic) {
    spec.focus_type = "Task";
  } else if (*criteria == kServiceRequestTopic) {
    spec.focus_type = "ServiceRequest";
  } else {
    return Invalid("Subscription.criteria",
                   absl::StrCat("\"", *criteria, "\" is not a topic of this "
                                "server; topics: ", kTaskTopic, ", ",
                                kServiceRequestTopic,
                                " (filters go in the backport-filter-criteria "
                                "extension on _criteria)"));
  }
  spec.topic = *criteria;
  if (const json* criteria_ext = Member(resource, "_criteria");
      criteria_ext != nullptr) {
    for (const json* extension : Extensions(*criteria_ext, kFilterCriteriaUrl)) {
      const std::optional<std::string> text =
          StringAt(*extension, "valueString");
      if (!text.has_value()) {
        return Invalid("Subscription.criteria.extension(backport-filter-criteria)",
                       "a valueString, e.g. \"Task?owner=Organization/<id>\"");
      }
      absl::StatusOr<ReferralFilter> filter = ParseFilter(*text, spec.focus_type);
      if (!filter.ok()) return filter.status();
      spec.filters.push_back(*std::move(filter));
    }
  }
  if (const json* end = Member(resource, "end"); end != nullptr) {
    if (!end->is_string()) return Invalid("Subscription.end", "an instant");
    absl::StatusOr<absl::Time> t =
        ParseDateTime(end->get<std::string>(), "Subscription.end");
    if (!t.ok()) return t.status();
    spec.end = *t;
  }
  const json* channel = Member(resource, "channel");
  if (channel == nullptr || !channel->is_object()) {
    return Invalid("Subscription.channel",
                   "required: {\"type\": \"rest-hook\", \"endpoint\", "
                   "\"payload\": \"application/fhir+json\"}");
  }
  if (StringAt(*channel, "type") != std::optional<std::string>("rest-hook")) {
    return Invalid("Subscription.channel.type",
                   "\"rest-hook\" is the only channel this server supports");
  }
  const std::optional<std::string> endpoint = StringAt(*channel, "endpoint");
  if (!endpoint.has_value()) {
    return Invalid("Subscription.channel.endpoint", "required: the hook's URL");
  }
  if (absl::Status ok = CheckEndpoint(*endpoint, allow_insecure_hooks);
      !ok.ok()) {
    return ok;
  }
  spec.endpoint = *endpoint;
  const std::optional<std::string> payload = StringAt(*channel, "payload");
  if (payload != std::optional<std::string>(kFhirJson)) {
    return Invalid("Subscription.channel.payload",
                   "\"application/fhir+json\" is the only payload this server "
                   "sends");
  }
  if (const json* payload_ext = Member(*channel, "_payload");
      payload_ext != nullptr) {
    std::vector<const json*> content =
        Extensions(*payload_ext, kPayloadContentUrl);
    if (content.size() > 1) {
      return Invalid("Subscription.channel.payload.extension(backport-payload-content)",
                     "at most one");
    }
    if (content.size() == 1) {
      const std::optional<std::string> code =
          StringAt(*content[0], "valueCode");
      if (code != std::optional<std::string>("id-only") &&
          code != std::optional<std::string>("empty")) {
        return Invalid(
            "Subscription.channel.payload.extension(backport-payload-content)",
            "valueCode \"id-only\" or \"empty\" (full-resource is not "
            "supported: read the focus with the caller's own access)");
      }
      spec.content = *code;
    }
  }
  if (const json* headers = Member(*channel, "header"); headers != nullptr) {
    if (!headers->is_array()) {
      return Invalid("Subscription.channel.header", "an array of \"Name: value\"");
    }
    for (const json& header : *headers) {
      if (!header.is_string()) {
        return Invalid("Subscription.channel.header",
                       "each a string \"Name: value\"");
      }
      const std::string text = header.get<std::string>();
      const size_t colon = text.find(':');
      const std::string name(
          absl::StripAsciiWhitespace(absl::string_view(text).substr(0, colon)));
      const std::string value(
          colon == std::string::npos
              ? ""
              : absl::StripAsciiWhitespace(
                    absl::string_view(text).substr(colon + 1)));
      if (colon == std::string::npos || !IsToken(name) ||
          absl::StrContains(value, '\r') || absl::StrContains(value, '\n')) {
        return Invalid("Subscription.channel.header",
                       absl::StrCat("\"", text, "\" is not \"Name: value\""));
      }
      const std::string lower = absl::AsciiStrToLower(name);
      for (const char* reserved :
           {"host", "content-type", "content-length", "transfer-encoding",
            "connection"}) {
        if (lower == reserved) {
          return Invalid("Subscription.channel.header",
                         absl::StrCat("the server sets ", name, " itself"));
        }
      }
      spec.headers.emplace_back(name, value);
    }
  }
  for (const json* extension : Extensions(*channel, kHeartbeatPeriodUrl)) {
    absl::StatusOr<int> seconds = IntegerExtension(
        *extension, "Subscription.channel.extension(backport-heartbeat-period)",
        1, 86400);
    if (!seconds.ok()) return seconds.status();
    spec.heartbeat_seconds = *seconds;
  }
  for (const json* extension : Extensions(*channel, kTimeoutUrl)) {
    absl::StatusOr<int> seconds = IntegerExtension(
        *extension, "Subscription.channel.extension(backport-timeout)", 1, 120);
    if (!seconds.ok()) return seconds.status();
    spec.timeout_seconds = *seconds;
  }
  for (const json* extension : Extensions(*channel, kMaxCountUrl)) {
    absl::StatusOr<int> count = IntegerExtension(
        *extension, "Subscription.channel.extension(backport-max-count)", 1,
        1000000);
    if (!count.ok()) return count.status();
  }
  return spec;
}

std::optional<ReferralChange> ChangeOf(absl::string_view stream_id,
                                       const v1::CareEvent& event,
                                       uint64_t position,
                                       absl::Time recorded_at) {
  if (!absl::ConsumePrefix(&stream_id, "client-") || stream_id.empty()) {
    return std::nullopt;
  }
  const std::string* referral_id = care::ReferralIdOf(event);
  if (referral_id == nullptr) return std::nullopt;
  ReferralChange change;
  change.client_id = std::string(stream_id);
  change.referral_id = *referral_id;
  change.event_case = event.event_case();
  change.position = position;
  change.recorded_at = recorded_at;
  if (event.has_referral_sent()) {
    change.from_organization_id = event.referral_sent().from_organization_id();
    change.to_organization_id = event.referral_sent().to_organization_id();
  }
  return change;
}

std::string TaskStatusAfter(v1::CareEvent::EventCase event_case) {
  switch (event_case) {
    case v1::CareEvent::kReferralSent:
      return "requested";
    case v1::CareEvent::kReferralReceived:
      return "received";
    case v1::CareEvent::kReferralAccepted:
      return "accepted";
    case v1::CareEvent::kReferralDeclined:
      return "rejected";
    case v1::CareEvent::kReferralOnHold:
      return "on-hold";
    case v1::CareEvent::kReferralStarted:
      return "in-progress";
    case v1::CareEvent::kReferralCompleted:
      return "completed";
    case v1::CareEvent::kReferralFailed:
      return "failed";
    case v1::CareEvent::kReferralCancelled:
      return "cancelled";
    default:
      return "";
  }
}

bool NeedsOrganizations(const SubscriptionSpec& spec) {
  for (const ReferralFilter& filter : spec.filters) {
    if (!filter.owner.empty() || !filter.requester.empty()) return true;
  }
  return false;
}

bool Matches(const SubscriptionSpec& spec, const ReferralChange& change) {
  const std::string status = TaskStatusAfter(change.event_case);
  for (const ReferralFilter& filter : spec.filters) {
    if (!AnyOf(filter.owner, change.to_organization_id) ||
        !AnyOf(filter.requester, change.from_organization_id) ||
        !AnyOf(filter.client, change.client_id) ||
        !AnyOf(filter.status, status)) {
      return false;
    }
  }
  return true;
}

std::string FocusOf(const SubscriptionSpec& spec, const ReferralChange& change) {
  return absl::StrCat(spec.focus_type, "/",
                      EncodeId({change.client_id, change.referral_id}));
}

json RegistrationJson(const Registration& r) {
  return {{"id", r.id},
          {"resource", r.resource},
          {"owner",
           {{"organization_id", r.owner.organization_id},
            {"user_id", r.owner.user_id},
            {"discipline", v1::Discipline_Name(r.owner.discipline)},
            {"purpose", v1::PurposeOfUse_Name(r.owner.purpose)},
            {"peer_is_loopback", r.owner.peer_is_loopback}}},
          {"base_url", r.base_url},
          {"status", r.status},
          {"error", r.error},
          {"handshake_done", r.handshake_done},
          // Strings: JSON readers elsewhere may hold numbers as doubles.
          {"cursor", absl::StrCat(r.cursor)},
          {"events_since_start", absl::StrCat(r.events_since_start)},
          {"created", Instant(r.created)}};
}

absl::StatusOr<Registration> RegistrationFromJson(const json& stored) {
  auto bad = [](absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat("a stored Subscription's ", what, " is missing or malformed"));
  };
  if (!stored.is_object()) return bad("JSON object");
  Registration r;
  std::optional<std::string> text;
  if (!(text = StringAt(stored, "id")).has_value()) return bad("id");
  r.id = *text;
  if (const json* resource = Member(stored, "resource");
      resource != nullptr && resource->is_object()) {
    r.resource = *resource;
  } else {
    return bad("resource");
  }
  const json* owner = Member(stored, "owner");
  if (owner == nullptr || !owner->is_object()) return bad("owner");
  r.owner.organization_id = StringAt(*owner, "organization_id").value_or("");
  r.owner.user_id = StringAt(*owner, "user_id").value_or("");
  if (!v1::Discipline_Parse(StringAt(*owner, "discipline").value_or(""),
                            &r.owner.discipline)) {
    return bad("owner.discipline");
  }
  if (!v1::PurposeOfUse_Parse(StringAt(*owner, "purpose").value_or(""),
                              &r.owner.purpose)) {
    return bad("owner.purpose");
  }
  if (const json* loopback = Member(*owner, "peer_is_loopback");
      loopback != nullptr && loopback->is_boolean()) {
    r.owner.peer_is_loopback = loopback->get<bool>();
  }
  if (!(text = StringAt(stored, "base_url")).has_value()) return bad("base_url");
  r.base_url = *text;
  if (!(text = StringAt(stored, "status")).has_value()) return bad("status");
  r.status = *text;
  r.error = StringAt(stored, "error").value_or("");
  if (const json* done = Member(stored, "handshake_done");
      done != nullptr && done->is_boolean()) {
    r.handshake_done = done->get<bool>();
  } else {
    return bad("handshake_done");
  }
  if (!absl::SimpleAtoi(StringAt(stored, "cursor").value_or("x"), &r.cursor)) {
    return bad("cursor");
  }
  if (!absl::SimpleAtoi(StringAt(stored, "events_since_start").value_or("x"),
                        &r.events_since_start)) {
    return bad("events_since_start");
  }
  absl::StatusOr<absl::Time> created =
      ParseDateTime(StringAt(stored, "created").value_or(""), "created");
  if (!created.ok()) return bad("created");
  r.created = *created;
  return r;
}

json SubscriptionResource(const Registration& registration) {
  json resource = registration.resource;
  resource["resourceType"] = "Subscription";
  resource["id"] = registration.id;
  json profiles = json::array({kBackportSubscriptionProfile});
  resource["meta"] = {{"profile", profiles}};
  resource["status"] = registration.status;
  if (registration.status == "error" && !registration.error.empty()) {
    resource["error"] = registration.error;
  } else {
    resource.erase("error");
  }
  return resource;
}

json NotificationBundle(const Registration& registration,
                        const SubscriptionSpec& spec, NotificationType type,
                        const ReferralChange* change, uint64_t event_number,
                        absl::Time now, absl::string_view bundle_id,
                        absl::string_view status_id) {
  json status = StatusParameters(registration, spec, TypeCode(type), status_id);
  const bool event = type == NotificationType::kEventNotification &&
                     change != nullptr;
  std::string focus_url;
  if (event) {
    // events-since-subscription-start counts this event too.
    for (json& parameter : status["parameter"]) {
      if (parameter["name"] == "events-since-subscription-start") {
        parameter["valueString"] = absl::StrCat(event_number);
      }
    }
    json part = json::array();
    part.push_back(Parameter("event-number", "valueString",
                             absl::StrCat(event_number)));
    part.push_back(Parameter("timestamp", "valueInstant",
                             Instant(change->recorded_at)));
    focus_url = absl::StrCat(registration.base_url, "/", FocusOf(spec, *change));
    if (spec.content == "id-only") {
      part.push_back(Parameter("focus", "valueReference",
                               {{"reference", focus_url}}));
    }
    status["parameter"].push_back(
        {{"name", "notification-event"}, {"part", std::move(part)}});
  }
  json entries = json::array();
  entries.push_back(
      {{"fullUrl", absl::StrCat("urn:uuid:", status_id)},
       {"resource", std::move(status)},
       {"request",
        {{"method", "GET"},
         {"url", absl::StrCat(SubscriptionUrl(registration), "/$status")}}},
       {"response", {{"status", "200"}}}});
  if (event && spec.content == "id-only") {
    const bool created = change->event_case == v1::CareEvent::kReferralSent;
    entries.push_back(
        {{"fullUrl", focus_url},
         {"request",
          {{"method", created ? "POST" : "PUT"},
           {"url", created ? spec.focus_type : FocusOf(spec, *change)}}},
         {"response", {{"status", created ? "201" : "200"}}}});
  }
  return {{"resourceType", "Bundle"},
          {"id", std::string(bundle_id)},
          {"meta", {{"profile", json::array({kNotificationProfile})}}},
          {"type", "history"},
          {"timestamp", Instant(now)},
          {"entry", std::move(entries)}};
}

json StatusBundle(const Registration& registration,
                  const SubscriptionSpec& spec, absl::string_view status_id) {
  json entry = {{"fullUrl", absl::StrCat("urn:uuid:", status_id)},
                {"resource", StatusParameters(registration, spec,
                                              "query-status", status_id)},
                {"search", {{"mode", "match"}}}};
  return {{"resourceType", "Bundle"},
          {"type", "searchset"},
          {"total", 1},
          {"entry", json::array({std::move(entry)})}};
}

}  // namespace caseline::server::fhir
