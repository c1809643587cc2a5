#include "server/fhir/writes.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "care/proto_time.h"
#include "openssl/rand.h"
#include "server/fhir/codes.h"
#include "server/fhir/fhir_common.h"
#include "server/fhir/resources.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;

absl::Status RequireType(const json& resource, absl::string_view type) {
  if (StringAt(resource, "resourceType") != std::string(type)) {
    return absl::InvalidArgumentError(
        absl::StrCat("resourceType: expected ", type));
  }
  return absl::OkStatus();
}

// The single id a reference to `type` names, decoded (DecodeId) into
// `count` parts; INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::vector<std::string>> ReferencedParts(
    const json& resource, absl::string_view key, absl::string_view type,
    size_t count, absl::string_view field) {
  const json* reference = Member(resource, key);
  if (reference == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": required, a reference to a ", type));
  }
  ASSIGN_OR_RETURN(std::string id, ReferencedId(*reference, type, field));
  absl::StatusOr<std::vector<std::string>> parts = DecodeId(id, count);
  if (!parts.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", parts.status().message()));
  }
  return parts;
}

// The first identifier's value, if any.
std::optional<std::string> FirstIdentifier(const json& resource) {
  const json* identifiers = Member(resource, "identifier");
  if (identifiers == nullptr || !identifiers->is_array() ||
      identifiers->empty()) {
    return std::nullopt;
  }
  return StringAt((*identifiers)[0], "value");
}

std::vector<const json*> Extensions(const json& element,
                                    absl::string_view name) {
  std::vector<const json*> out;
  const json* list = Member(element, "extension");
  if (list == nullptr || !list->is_array()) return out;
  const std::string url = absl::StrCat(kExtensionPrefix, name);
  for (const json& e : *list) {
    if (StringAt(e, "url") == url) out.push_back(&e);
  }
  return out;
}

absl::StatusOr<absl::Time> TimeAt(const json& object, absl::string_view key,
                                  absl::string_view field) {
  std::optional<std::string> text = StringAt(object, key);
  if (!text.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": a dateTime string"));
  }
  return ParseDateTime(*text, field);
}

v1::PersonName PersonNameOf(const json& name) {
  v1::PersonName out;
  if (std::optional<std::string> family = StringAt(name, "family")) {
    out.set_family(*family);
  }
  if (const json* given = Member(name, "given");
      given != nullptr && given->is_array()) {
    if (given->size() > 0 && (*given)[0].is_string()) {
      out.set_given((*given)[0].get<std::string>());
    }
    if (given->size() > 1 && (*given)[1].is_string()) {
      out.set_middle((*given)[1].get<std::string>());
    }
  }
  return out;
}

std::string TextOf(const json& resource, absl::string_view key) {
  const json* codeable = Member(resource, key);
  if (codeable == nullptr) return "";
  return StringAt(*codeable, "text").value_or("");
}

absl::StatusOr<v1::Urgency> UrgencyOf(const json& resource,
                                      absl::string_view field) {
  std::optional<std::string> priority = StringAt(resource, "priority");
  if (!priority.has_value()) return v1::URGENCY_UNSPECIFIED;
  if (*priority == "routine") return v1::URGENCY_ROUTINE;
  if (*priority == "urgent" || *priority == "asap") return v1::URGENCY_URGENT;
  if (*priority == "stat") return v1::URGENCY_EMERGENT;
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": \"", *priority, "\" is not routine, urgent, asap or stat"));
}

// A JSON Pointer's tokens (RFC 6901), unescaped.
absl::StatusOr<std::vector<std::string>> PointerTokens(absl::string_view path) {
  std::vector<std::string> tokens;
  if (path.empty()) return tokens;
  if (path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("path \"", path, "\" is not a JSON Pointer (starts with /)"));
  }
  for (absl::string_view token : absl::StrSplit(path.substr(1), '/')) {
    tokens.push_back(
        absl::StrReplaceAll(token, {{"~1", "/"}, {"~0", "~"}}));
  }
  return tokens;
}

// The parent of the pointer's last token and that token; nullptr parent when
// the path does not lead anywhere.
json* Parent(json& document, const std::vector<std::string>& tokens) {
  json* at = &document;
  for (size_t i = 0; i + 1 < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (at->is_object()) {
      auto it = at->find(token);
      if (it == at->end()) return nullptr;
      at = &*it;
    } else if (at->is_array()) {
      size_t index = 0;
      if (!absl::SimpleAtoi(token, &index) || index >= at->size()) {
        return nullptr;
      }
      at = &(*at)[index];
    } else {
      return nullptr;
    }
  }
  return at;
}

absl::StatusOr<json> Get(const json& document, absl::string_view path) {
  ASSIGN_OR_RETURN(std::vector<std::string> tokens, PointerTokens(path));
  if (tokens.empty()) return document;
  json copy = document;
  json* parent = Parent(copy, tokens);
  const std::string& last = tokens.back();
  if (parent != nullptr && parent->is_object() && parent->contains(last)) {
    return (*parent)[last];
  }
  size_t index = 0;
  if (parent != nullptr && parent->is_array() &&
      absl::SimpleAtoi(last, &index) && index < parent->size()) {
    return (*parent)[index];
  }
  return absl::InvalidArgumentError(
      absl::StrCat("path \"", path, "\" does not exist"));
}

absl::Status Remove(json& document, absl::string_view path) {
  ASSIGN_OR_RETURN(std::vector<std::string> tokens, PointerTokens(path));
  json* parent = tokens.empty() ? nullptr : Parent(document, tokens);
  const std::string& last = tokens.empty() ? "" : tokens.back();
  size_t index = 0;
  if (parent != nullptr && parent->is_object() && parent->contains(last)) {
    parent->erase(last);
    return absl::OkStatus();
  }
  if (parent != nullptr && parent->is_array() &&
      absl::SimpleAtoi(last, &index) && index < parent->size()) {
    parent->erase(parent->begin() + static_cast<std::ptrdiff_t>(index));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("path \"", path, "\" does not exist"));
}

absl::Status Add(json& document, absl::string_view path, json value,
                 bool replace) {
  ASSIGN_OR_RETURN(std::vector<std::string> tokens, PointerTokens(path));
  if (tokens.empty()) {
    document = std::move(value);
    return absl::OkStatus();
  }
  json* parent = Parent(document, tokens);
  const std::string& last = tokens.back();
  if (parent != nullptr && parent->is_object()) {
    if (replace && !parent->contains(last)) {
      return absl::InvalidArgumentError(
          absl::StrCat("path \"", path, "\" does not exist"));
    }
    (*parent)[last] = std::move(value);
    return absl::OkStatus();
  }
  if (parent != nullptr && parent->is_array()) {
    size_t index = 0;
    if (!replace && last == "-") {
      parent->push_back(std::move(value));
      return absl::OkStatus();
    }
    if (absl::SimpleAtoi(last, &index) &&
        index < parent->size() + (replace ? 0 : 1)) {
      if (replace) {
        (*parent)[index] = std::move(value);
      } else {
        parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(index),
                       std::move(value));
      }
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("path \"", path, "\" does not lead to an object or array"));
}

}  // namespace

std::string NewId(absl::string_view prefix) {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // Never expected; the time keeps ids distinct enough for one process.
    const int64_t now = absl::ToUnixNanos(absl::Now());
    memcpy(bytes, &now, sizeof(bytes));
  }
  return absl::StrCat(prefix, "-",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

std::optional<uint64_t> VersionOfETag(absl::string_view etag) {
  etag = absl::StripAsciiWhitespace(etag);
  absl::ConsumePrefix(&etag, "W/");
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  uint64_t version = 0;
  if (!absl::SimpleAtoi(etag, &version)) return std::nullopt;
  return version;
}

absl::StatusOr<care::CommandFields> ReferralCommandOf(
    const json& service_request, const json* task,
    absl::string_view default_id) {
  RETURN_IF_ERROR(RequireType(service_request, "ServiceRequest"));
  care::CommandFields fields;
  ASSIGN_OR_RETURN(std::vector<std::string> subject,
                   ReferencedParts(service_request, "subject", "Patient", 1,
                                   "ServiceRequest.subject"));
  fields.client_id = subject[0];
  v1::ReferralSent* sent = fields.event.mutable_referral_sent();
  sent->set_referral_id(
      FirstIdentifier(service_request).value_or(std::string(default_id)));
  fields.command_id = absl::StrCat("fhir:ServiceRequest:", sent->referral_id());
  if (Member(service_request, "requester") != nullptr) {
    ASSIGN_OR_RETURN(std::vector<std::string> requester,
                     ReferencedParts(service_request, "requester",
                                     "Organization", 1,
                                     "ServiceRequest.requester"));
    sent->set_from_organization_id(requester[0]);
  }
  const json* performers = Member(service_request, "performer");
  if (performers == nullptr || !performers->is_array() ||
      performers->size() != 1) {
    return absl::InvalidArgumentError(
        "ServiceRequest.performer: required, exactly one reference to the "
        "receiving Organization");
  }
  {
    ASSIGN_OR_RETURN(std::string to,
                     ReferencedId((*performers)[0], "Organization",
                                  "ServiceRequest.performer[0]"));
    ASSIGN_OR_RETURN(std::vector<std::string> parts, DecodeId(to, 1));
    sent->set_to_organization_id(parts[0]);
  }
  if (const json* code = Member(service_request, "code")) {
    ASSIGN_OR_RETURN(v1::ServiceCategory category,
                     ValueOf<v1::ServiceCategory>(*code, "ServiceRequest.code"));
    sent->set_service_category(category);
  } else if (const json* categories = Member(service_request, "category");
             categories != nullptr && categories->is_array() &&
             !categories->empty()) {
    ASSIGN_OR_RETURN(v1::ServiceCategory category,
                     ValueOf<v1::ServiceCategory>((*categories)[0],
                                                  "ServiceRequest.category[0]"));
    sent->set_service_category(category);
  } else {
    return absl::InvalidArgumentError(
        "ServiceRequest.code: required, the service asked for (a coding of "
        "urn:caseline:service-category or of the Gravity SDOH categories)");
  }
  ASSIGN_OR_RETURN(v1::Urgency urgency,
                   UrgencyOf(service_request, "ServiceRequest.priority"));
  sent->set_urgency(urgency);
  if (const json* reasons = Member(service_request, "reasonCode");
      reasons != nullptr && reasons->is_array() && !reasons->empty()) {
    sent->set_reason(StringAt((*reasons)[0], "text").value_or(""));
  }
  // A referral sent system to system reaches the provider on the client's
  // behalf: warm, unless the extension says cold.
  sent->set_kind(v1::REFERRAL_KIND_WARM);
  for (const json* e : Extensions(service_request, "referral-kind")) {
    if (const json* coding = Member(*e, "valueCoding")) {
      ASSIGN_OR_RETURN(v1::ReferralKind kind,
                       ValueOf<v1::ReferralKind>(
                           *coding, "ServiceRequest.extension[referral-kind]"));
      sent->set_kind(kind);
    }
  }
  for (const json* e : Extensions(service_request, "purpose-of-use")) {
    if (const json* coding = Member(*e, "valueCoding")) {
      ASSIGN_OR_RETURN(v1::PurposeOfUse purpose,
                       ValueOf<v1::PurposeOfUse>(
                           *coding, "ServiceRequest.extension[purpose-of-use]"));
      sent->set_purpose(purpose);
    }
  }
  for (const json* e : Extensions(service_request, "shared-data-class")) {
    if (const json* coding = Member(*e, "valueCoding")) {
      ASSIGN_OR_RETURN(
          v1::DataClass data_class,
          ValueOf<v1::DataClass>(*coding,
                                 "ServiceRequest.extension[shared-data-class]"));
      sent->add_shared_data_classes(data_class);
    }
  }
  if (const json* period = Member(service_request, "occurrencePeriod");
      period != nullptr) {
    std::optional<std::string> end = StringAt(*period, "end");
    if (!end.has_value()) {
      return absl::InvalidArgumentError(
          "ServiceRequest.occurrencePeriod.end: required when "
          "occurrencePeriod is given: the date by which the service should "
          "start (YYYY-MM-DD)");
    }
    ASSIGN_OR_RETURN(*sent->mutable_start_by(),
                     ParseDate(*end, "ServiceRequest.occurrencePeriod.end"));
  }
  if (std::optional<std::string> authored =
          StringAt(service_request, "authoredOn")) {
    ASSIGN_OR_RETURN(absl::Time t,
                     ParseDateTime(*authored, "ServiceRequest.authoredOn"));
    fields.occurred_at = t;
  }
  if (task != nullptr) {
    RETURN_IF_ERROR(RequireType(*task, "Task"));
    if (std::optional<std::string> status = StringAt(*task, "status");
        status != "requested") {
      return absl::InvalidArgumentError(
          "Task.status: a new referral's Task is \"requested\"; send the "
          "receiver's answers later as updates of the Task");
    }
    ASSIGN_OR_RETURN(std::vector<std::string> owner,
                     ReferencedParts(*task, "owner", "Organization", 1,
                                     "Task.owner"));
    if (owner[0] != sent->to_organization_id()) {
      return absl::InvalidArgumentError(
          "Task.owner: must be the ServiceRequest's performer (the receiving "
          "organisation)");
    }
    if (Member(*task, "for") != nullptr) {
      ASSIGN_OR_RETURN(std::vector<std::string> patient,
                       ReferencedParts(*task, "for", "Patient", 1, "Task.for"));
      if (patient[0] != fields.client_id) {
        return absl::InvalidArgumentError(
            "Task.for: must be the ServiceRequest's subject");
      }
    }
  }
  return fields;
}

absl::StatusOr<std::optional<care::CommandFields>> TaskCommandOf(
    absl::string_view client_id, const v1::ReferralView& current,
    const json& task) {
  RETURN_IF_ERROR(RequireType(task, "Task"));
  const json now = TaskOf(client_id, current);
  for (const char* element : {"for", "focus", "owner", "requester"}) {
    const json* given = Member(task, element);
    if (given == nullptr) continue;
    const std::string reference = now[element]["reference"].get<std::string>();
    const size_t slash = reference.find('/');
    ASSIGN_OR_RETURN(std::string given_id,
                     ReferencedId(*given, reference.substr(0, slash),
                                  absl::StrCat("Task.", element)));
    if (given_id != reference.substr(slash + 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Task.", element, ": cannot change (it is ", reference,
          "); only status, statusReason and output change a referral's Task"));
    }
  }
  std::optional<std::string> status = StringAt(task, "status");
  if (!status.has_value()) {
    return absl::InvalidArgumentError("Task.status: required");
  }
  const std::string current_status = TaskStatusOf(current.status());
  if (*status == current_status) return std::nullopt;
  care::CommandFields fields;
  fields.client_id = std::string(client_id);
  const std::string& id = current.referral_id();
  const std::string reason = TextOf(task, "statusReason");
  v1::CareEvent& event = fields.event;
  if (*status == "received") {
    event.mutable_referral_received()->set_referral_id(id);
  } else if (*status == "accepted") {
    event.mutable_referral_accepted()->set_referral_id(id);
  } else if (*status == "rejected") {
    event.mutable_referral_declined()->set_referral_id(id);
    event.mutable_referral_declined()->set_reason(reason);
  } else if (*status == "on-hold") {
    event.mutable_referral_on_hold()->set_referral_id(id);
    event.mutable_referral_on_hold()->set_reason(reason);
  } else if (*status == "in-progress") {
    event.mutable_referral_started()->set_referral_id(id);
  } else if (*status == "completed") {
    event.mutable_referral_completed()->set_referral_id(id);
    if (const json* outputs = Member(task, "output");
        outputs != nullptr && outputs->is_array() && !outputs->empty()) {
      event.mutable_referral_completed()->set_delivered(
          StringAt((*outputs)[0], "valueString").value_or(""));
    }
  } else if (*status == "failed") {
    event.mutable_referral_failed()->set_referral_id(id);
    event.mutable_referral_failed()->set_reason(reason);
  } else if (*status == "cancelled") {
    event.mutable_referral_cancelled()->set_referral_id(id);
    event.mutable_referral_cancelled()->set_reason(reason);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "Task.status: a referral cannot be moved to \"", *status,
        "\" (it is \"", current_status,
        "\"); use received, accepted, rejected, on-hold, in-progress, "
        "completed, failed or cancelled"));
  }
  fields.command_id = absl::StrCat("fhir:Task:", id, ":", *status, ":",
                                   current.version());
  return fields;
}

absl::StatusOr<care::CommandFields> ConsentCommandOf(
    const json& consent, absl::string_view default_id) {
  RETURN_IF_ERROR(RequireType(consent, "Consent"));
  if (StringAt(consent, "status") != "active") {
    return absl::InvalidArgumentError(
        "Consent.status: a new consent is \"active\" (record a revocation by "
        "updating the Consent to \"inactive\")");
  }
  care::CommandFields fields;
  ASSIGN_OR_RETURN(std::vector<std::string> patient,
                   ReferencedParts(consent, "patient", "Patient", 1,
                                   "Consent.patient"));
  fields.client_id = patient[0];
  v1::ConsentGiven* given = fields.event.mutable_consent_given();
  given->set_consent_id(FirstIdentifier(consent).value_or(std::string(default_id)));
  fields.command_id = absl::StrCat("fhir:Consent:", given->consent_id());
  if (StringAt(consent, "dateTime").has_value()) {
    ASSIGN_OR_RETURN(absl::Time obtained,
                     TimeAt(consent, "dateTime", "Consent.dateTime"));
    care::SetTimestamp(obtained, given->mutable_obtained_at());
  }
  // The representative: a contained RelatedPerson the performer points at.
  if (const json* performers = Member(consent, "performer");
      performers != nullptr && performers->is_array()) {
    for (const json& performer : *performers) {
      std::optional<std::string> ref = StringAt(performer, "reference");
      if (!ref.has_value() || ref->empty() || (*ref)[0] != '#') continue;
      const json* contained = Member(consent, "contained");
      if (contained == nullptr || !contained->is_array()) continue;
      for (const json& c : *contained) {
        if (StringAt(c, "id") != ref->substr(1) ||
            StringAt(c, "resourceType") != "RelatedPerson") {
          continue;
        }
        v1::Representative* representative = given->mutable_representative();
        if (const json* names = Member(c, "name");
            names != nullptr && names->is_array() && !names->empty()) {
          *representative->mutable_name() = PersonNameOf((*names)[0]);
        }
        if (const json* relationships = Member(c, "relationship");
            relationships != nullptr && relationships->is_array() &&
            !relationships->empty()) {
          ASSIGN_OR_RETURN(v1::RepresentativeAuthority authority,
                           ValueOf<v1::RepresentativeAuthority>(
                               (*relationships)[0],
                               "Consent.contained[RelatedPerson].relationship"));
          representative->set_authority(authority);
        }
      }
    }
  }
  for (const json* e : Extensions(consent, "consent-method")) {
    if (const json* coding = Member(*e, "valueCoding")) {
      ASSIGN_OR_RETURN(v1::ConsentMethod method,
                       ValueOf<v1::ConsentMethod>(
                           *coding, "Consent.extension[consent-method]"));
      given->set_method(method);
    }
  }
  for (const json* e : Extensions(consent, "consent-witness")) {
    if (const json* name = Member(*e, "valueHumanName")) {
      *given->mutable_witness() = PersonNameOf(*name);
    }
  }
  if (const json* attachment = Member(consent, "sourceAttachment")) {
    v1::ConsentDocument* document = given->mutable_document();
    document->set_document_id(StringAt(*attachment, "title").value_or(""));
    if (std::optional<std::string> hash = StringAt(*attachment, "hash")) {
      std::string digest;
      if (!absl::Base64Unescape(*hash, &digest) || digest.size() != 32) {
        return absl::InvalidArgumentError(
            "Consent.sourceAttachment.hash: the base64 of the document's "
            "SHA-256 (32 bytes)");
      }
      document->set_sha256(absl::BytesToHexString(digest));
    }
  }
  const json* provision = Member(consent, "provision");
  if (provision == nullptr) {
    return absl::InvalidArgumentError(
        "Consent.provision: required (type permit, actor, purpose, class, "
        "period)");
  }
  if (std::optional<std::string> type = StringAt(*provision, "type");
      type.has_value() && *type != "permit") {
    return absl::InvalidArgumentError(
        "Consent.provision.type: Caseline records permits (\"permit\")");
  }
  if (const json* period = Member(*provision, "period")) {
    if (StringAt(*period, "start").has_value()) {
      ASSIGN_OR_RETURN(absl::Time start,
                       TimeAt(*period, "start", "Consent.provision.period.start"));
      care::SetTimestamp(start, given->mutable_period()->mutable_start());
    }
    if (StringAt(*period, "end").has_value()) {
      ASSIGN_OR_RETURN(absl::Time end,
                       TimeAt(*period, "end", "Consent.provision.period.end"));
      care::SetTimestamp(end, given->mutable_period()->mutable_end());
    }
  }
  if (const json* actors = Member(*provision, "actor");
      actors != nullptr && actors->is_array()) {
    for (const json& actor : *actors) {
      const json* reference = Member(actor, "reference");
      if (reference == nullptr) {
        return absl::InvalidArgumentError(
            "Consent.provision.actor.reference: required");
      }
      if (const json* identifier = Member(*reference, "identifier")) {
        ASSIGN_OR_RETURN(
            v1::OrganizationType type,
            ValueOf<v1::OrganizationType>(
                {{"system", StringAt(*identifier, "system").value_or("")},
                 {"code", StringAt(*identifier, "value").value_or("")}},
                "Consent.provision.actor.reference.identifier"));
        given->add_recipient_organization_types(type);
        continue;
      }
      ASSIGN_OR_RETURN(std::string org,
                       ReferencedId(*reference, "Organization",
                                    "Consent.provision.actor.reference"));
      ASSIGN_OR_RETURN(std::vector<std::string> parts, DecodeId(org, 1));
      given->add_recipient_organization_ids(parts[0]);
    }
  }
  if (const json* purposes = Member(*provision, "purpose");
      purposes != nullptr && purposes->is_array()) {
    for (const json& purpose : *purposes) {
      ASSIGN_OR_RETURN(v1::PurposeOfUse value,
                       ValueOf<v1::PurposeOfUse>(purpose,
                                                 "Consent.provision.purpose"));
      given->add_purposes(value);
    }
  }
  const json* classes = Member(*provision, "class");
  if (classes == nullptr) classes = Member(*provision, "securityLabel");
  if (classes != nullptr && classes->is_array()) {
    for (const json& data_class : *classes) {
      ASSIGN_OR_RETURN(v1::DataClass value,
                       ValueOf<v1::DataClass>(data_class,
                                              "Consent.provision.class"));
      given->add_data_classes(value);
    }
  }
  return fields;
}

absl::StatusOr<care::CommandFields> RevocationCommandOf(
    absl::string_view client_id, absl::string_view consent_id,
    const json& consent, absl::Time now) {
  RETURN_IF_ERROR(RequireType(consent, "Consent"));
  care::CommandFields fields;
  fields.client_id = std::string(client_id);
  v1::ConsentRevoked* revoked = fields.event.mutable_consent_revoked();
  revoked->set_consent_id(std::string(consent_id));
  absl::Time received = now;
  absl::Time effective = now;
  for (const json* e : Extensions(consent, "revocation-received")) {
    ASSIGN_OR_RETURN(received,
                     TimeAt(*e, "valueDateTime",
                            "Consent.extension[revocation-received]"));
  }
  for (const json* e : Extensions(consent, "revocation-effective")) {
    ASSIGN_OR_RETURN(effective,
                     TimeAt(*e, "valueDateTime",
                            "Consent.extension[revocation-effective]"));
  }
  for (const json* e : Extensions(consent, "revocation-reason")) {
    revoked->set_reason(StringAt(*e, "valueString").value_or(""));
  }
  for (const json* e : Extensions(consent, "revocation-on-client-request")) {
    if (const json* value = Member(*e, "valueBoolean");
        value != nullptr && value->is_boolean()) {
      revoked->set_on_client_request(value->get<bool>());
    }
  }
  care::SetTimestamp(received, revoked->mutable_received_at());
  care::SetTimestamp(effective, revoked->mutable_effective_at());
  fields.command_id =
      absl::StrCat("fhir:Consent:", consent_id, ":revoke");
  return fields;
}

absl::StatusOr<json> ApplyJsonPatch(const json& document, const json& patch) {
  if (!patch.is_array()) {
    return absl::InvalidArgumentError(
        "body: a JSON Patch (RFC 6902) array of operations, e.g. "
        "[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"accepted\"}]");
  }
  json out = document;
  for (size_t i = 0; i < patch.size(); ++i) {
    const json& op = patch[i];
    const std::string where = absl::StrCat("patch[", i, "]");
    std::optional<std::string> name = StringAt(op, "op");
    std::optional<std::string> path = StringAt(op, "path");
    if (!name.has_value() || !path.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": needs \"op\" and \"path\" strings"));
    }
    absl::Status status;
    if (*name == "add" || *name == "replace" || *name == "test") {
      const json* value = Member(op, "value");
      if (value == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": \"", *name, "\" needs a \"value\""));
      }
      if (*name == "test") {
        absl::StatusOr<json> found = Get(out, *path);
        if (!found.ok() || *found != *value) {
          return absl::FailedPreconditionError(absl::StrCat(
              where, ": test failed: ", *path, " is not the given value"));
        }
        continue;
      }
      status = Add(out, *path, *value, *name == "replace");
    } else if (*name == "remove") {
      status = Remove(out, *path);
    } else if (*name == "move" || *name == "copy") {
      std::optional<std::string> from = StringAt(op, "from");
      if (!from.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": \"", *name, "\" needs \"from\""));
      }
      absl::StatusOr<json> value = Get(out, *from);
      status = value.status();
      if (status.ok() && *name == "move") status = Remove(out, *from);
      if (status.ok()) status = Add(out, *path, *std::move(value), false);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": op \"", *name,
          "\" is not add, remove, replace, move, copy or test"));
    }
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", status.message()));
    }
  }
  return out;
}

}  // namespace caseline::server::fhir
