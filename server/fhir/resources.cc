#include "server/fhir/resources.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "care/birth_date.h"
#include "care/proto_time.h"
#include "server/fhir/codes.h"
#include "server/fhir/fhir_common.h"

namespace caseline::server::fhir {
namespace {

// FHIR R4's core extension for the text an element was recorded as.
constexpr char kOriginalTextExtension[] =
    "http://hl7.org/fhir/StructureDefinition/originalText";

using nlohmann::json;

json Meta(uint64_t version, const google::protobuf::Timestamp& updated_at) {
  json meta = json::object();
  if (version > 0 || updated_at.seconds() != 0) {
    meta["versionId"] = absl::StrCat(version);
  }
  if (updated_at.seconds() != 0 || updated_at.nanos() != 0) {
    meta["lastUpdated"] = Instant(updated_at);
  }
  return meta;
}

json Identifier(absl::string_view system, absl::string_view value) {
  return {{"system", std::string(system)}, {"value", std::string(value)}};
}

json Extension(absl::string_view name, absl::string_view value_type,
               json value) {
  return {{"url", absl::StrCat(kExtensionPrefix, name)},
          {absl::StrCat("value", value_type), std::move(value)}};
}

json HumanName(const v1::PersonName& name) {
  json out = json::object();
  if (!name.family().empty()) out["family"] = name.family();
  json given = json::array();
  if (!name.given().empty()) given.push_back(name.given());
  if (!name.middle().empty()) given.push_back(name.middle());
  if (!given.empty()) out["given"] = given;
  return out;
}

bool Empty(const v1::PersonName& name) {
  return name.given().empty() && name.middle().empty() && name.family().empty();
}

const char* PriorityOf(v1::Urgency urgency) {
  switch (urgency) {
    case v1::URGENCY_URGENT:
      return "urgent";
    case v1::URGENCY_EMERGENT:
      return "stat";
    default:
      return "routine";
  }
}

// ServiceRequest.status for a referral's status.
const char* RequestStatusOf(absl::string_view status) {
  if (status == "on-hold") return "on-hold";
  if (status == "completed") return "completed";
  if (status == "declined" || status == "failed" || status == "cancelled") {
    return "revoked";
  }
  return "active";
}

}  // namespace

nlohmann::json PatientOf(const v1::ClientState& state) {
  const v1::ClientRegistered& details = state.details();
  json patient = {{"resourceType", "Patient"},
                  {"id", EncodeId({state.client_id()})},
                  {"meta", Meta(state.details_version(),
                                state.details_updated_at())},
                  {"active", true}};
  json identifiers =
      json::array({Identifier(kClientIdSystem, state.client_id())});
  for (const v1::ClientIdentifier& id : details.identifiers()) {
    json identifier = {
        {"type", {{"text", id.system()}}},
        {"system", absl::StrCat("urn:caseline:client-identifier:",
                                absl::AsciiStrToLower(id.system()))},
        {"value", id.value()}};
    if (!id.organization_id().empty()) {
      identifier["assigner"] =
          Reference("Organization", EncodeId({id.organization_id()}));
    }
    identifiers.push_back(std::move(identifier));
  }
  patient["identifier"] = identifiers;
  if (!Empty(details.name())) {
    json name = HumanName(details.name());
    name["use"] = "official";
    patient["name"] = json::array({name});
  }
  switch (details.sex()) {
    case v1::SEX_FEMALE:
      patient["gender"] = "female";
      break;
    case v1::SEX_MALE:
      patient["gender"] = "male";
      break;
    case v1::SEX_OTHER:
      patient["gender"] = "other";
      break;
    case v1::SEX_UNKNOWN:
      patient["gender"] = "unknown";
      break;
    default:
      break;
  }
  if (std::string born = care::FormatBirthDate(details.birth_date());
      !born.empty()) {
    patient["birthDate"] = std::move(born);
  }
  if (!details.birth_date_recorded_as().empty()) {
    patient["_birthDate"] = {
        {"extension",
         json::array({{{"url", kOriginalTextExtension},
                       {"valueString", details.birth_date_recorded_as()}}})}};
  }
  if (!details.phone().empty()) {
    patient["telecom"] =
        json::array({{{"system", "phone"}, {"value", details.phone()}}});
  }
  if (details.has_address()) {
    const v1::PostalAddress& a = details.address();
    json address = json::object();
    json lines = json::array();
    if (!a.line1().empty()) lines.push_back(a.line1());
    if (!a.line2().empty()) lines.push_back(a.line2());
    if (!lines.empty()) address["line"] = lines;
    if (!a.city().empty()) address["city"] = a.city();
    if (!a.region().empty()) address["state"] = a.region();
    if (!a.postal_code().empty()) address["postalCode"] = a.postal_code();
    if (!a.country().empty()) address["country"] = a.country();
    if (!address.empty()) patient["address"] = json::array({address});
  }
  if (!details.preferred_language().empty()) {
    patient["communication"] = json::array(
        {{{"language",
           {{"coding", json::array({{{"system", "urn:ietf:bcp:47"},
                                     {"code", details.preferred_language()}}})}}},
          {"preferred", true}}});
  }
  if (details.interpreter_needed()) {
    patient["extension"] = json::array(
        {{{"url",
           "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"},
          {"valueBoolean", true}}});
  }
  if (!state.registered_by_organization_id().empty()) {
    patient["managingOrganization"] =
        Reference("Organization",
                  EncodeId({state.registered_by_organization_id()}));
  }
  if (state.linked_client_ids_size() > 0) {
    json links = json::array();
    for (const std::string& other : state.linked_client_ids()) {
      links.push_back({{"other", Reference("Patient", EncodeId({other}))},
                       {"type", "seealso"}});
    }
    patient["link"] = links;
  }
  return patient;
}

nlohmann::json OrganizationOf(const v1::OrganizationRegistered& organization) {
  json out = {{"resourceType", "Organization"},
              {"id", EncodeId({organization.organization_id()})},
              {"identifier", json::array({Identifier(
                                 kOrganizationIdSystem,
                                 organization.organization_id())})},
              {"active", true},
              {"name", organization.name()}};
  if (organization.type() != v1::ORGANIZATION_TYPE_UNSPECIFIED) {
    out["type"] = json::array({Concept(organization.type())});
  }
  if (organization.service_categories_size() > 0) {
    json extensions = json::array();
    for (int category : organization.service_categories()) {
      extensions.push_back(Extension(
          "service-category", "CodeableConcept",
          Concept(static_cast<v1::ServiceCategory>(category))));
    }
    out["extension"] = extensions;
  }
  return out;
}

nlohmann::json ConsentOf(absl::string_view client_id,
                         const v1::ConsentView& view, bool in_force) {
  const v1::ConsentGiven& given = view.consent();
  json consent = {
      {"resourceType", "Consent"},
      {"id", EncodeId({client_id, view.consent_id()})},
      {"meta", Meta(view.version(), view.updated_at())},
      {"identifier",
       json::array({Identifier(kConsentIdSystem, view.consent_id())})},
      {"status", in_force ? "active" : "inactive"},
      {"scope",
       {{"coding",
         json::array(
             {{{"system",
                "http://terminology.hl7.org/CodeSystem/consentscope"},
               {"code", "patient-privacy"}}})}}},
      {"category",
       json::array({{{"coding", json::array({{{"system", "http://loinc.org"},
                                              {"code", "59284-0"},
                                              {"display", "Patient Consent"}}})}}})},
      {"patient", Reference("Patient", EncodeId({client_id}))},
      {"policyRule",
       {{"coding",
         json::array(
             {{{"system", "http://terminology.hl7.org/CodeSystem/v3-ActCode"},
               {"code", "OPTIN"}}})}}}};
  if (given.has_obtained_at()) {
    consent["dateTime"] = Instant(given.obtained_at());
  }
  if (!view.recorded_by_organization_id().empty()) {
    consent["organization"] = json::array(
        {Reference("Organization",
                   EncodeId({view.recorded_by_organization_id()}))});
  }
  // Who gave it: the client, or a legally authorised representative (a
  // contained RelatedPerson with the authority as its relationship).
  if (given.has_representative()) {
    json person = {
        {"resourceType", "RelatedPerson"},
        {"id", "representative"},
        {"patient", Reference("Patient", EncodeId({client_id}))}};
    if (given.representative().authority() !=
        v1::REPRESENTATIVE_AUTHORITY_UNSPECIFIED) {
      person["relationship"] =
          json::array({Concept(given.representative().authority())});
    }
    if (!Empty(given.representative().name())) {
      person["name"] = json::array({HumanName(given.representative().name())});
    }
    consent["contained"] = json::array({person});
    consent["performer"] = json::array({{{"reference", "#representative"}}});
  } else {
    consent["performer"] =
        json::array({Reference("Patient", EncodeId({client_id}))});
  }
  json extensions = json::array();
  if (given.method() != v1::CONSENT_METHOD_UNSPECIFIED) {
    extensions.push_back(
        Extension("consent-method", "Coding",
                  CaselineCoding(v1::ConsentMethod_descriptor(),
                                 given.method())));
  }
  if (!Empty(given.witness())) {
    extensions.push_back(
        Extension("consent-witness", "HumanName", HumanName(given.witness())));
  }
  if (view.has_revocation_received_at()) {
    extensions.push_back(Extension("revocation-received", "DateTime",
                                   Instant(view.revocation_received_at())));
  }
  if (view.has_revocation_effective_at()) {
    extensions.push_back(Extension("revocation-effective", "DateTime",
                                   Instant(view.revocation_effective_at())));
  }
  if (!extensions.empty()) consent["extension"] = extensions;
  if (given.has_document()) {
    json attachment = {{"title", given.document().document_id()},
                       {"url", absl::StrCat("urn:caseline:consent-document:",
                                            given.document().document_id())}};
    const std::string& hex = given.document().sha256();
    if (hex.size() == 64) {
      attachment["hash"] = absl::Base64Escape(absl::HexStringToBytes(hex));
    }
    consent["sourceAttachment"] = attachment;
  }
  // The provision: permit, for the period, to the recipients, for the
  // purposes and data classes.
  json provision = {{"type", "permit"}};
  json period = json::object();
  if (view.has_start()) period["start"] = Instant(view.start());
  if (view.has_end()) period["end"] = Instant(view.end());
  if (view.has_revocation_effective_at() &&
      (!view.has_end() || care::ToTime(view.revocation_effective_at()) <
                              care::ToTime(view.end()))) {
    period["end"] = Instant(view.revocation_effective_at());
  }
  if (!period.empty()) provision["period"] = period;
  json actors = json::array();
  const json recipient_role = {
      {"coding",
       json::array({{{"system",
                      "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"},
                     {"code", "IRCP"},
                     {"display", "information recipient"}}})}};
  for (const std::string& org : given.recipient_organization_ids()) {
    actors.push_back({{"role", recipient_role},
                      {"reference", Reference("Organization", EncodeId({org}))}});
  }
  for (int type : given.recipient_organization_types()) {
    const auto* descriptor = v1::OrganizationType_descriptor();
    json identifier = {{"system", SystemOf(descriptor)},
                       {"value", CodeOf(descriptor, type)}};
    json reference = {{"identifier", identifier},
                      {"display", absl::StrCat("any organisation of type ",
                                               CodeOf(descriptor, type))}};
    actors.push_back({{"role", recipient_role}, {"reference", reference}});
  }
  if (!actors.empty()) provision["actor"] = actors;
  json purposes = json::array();
  for (int purpose : given.purposes()) {
    purposes.push_back(StandardCoding(static_cast<v1::PurposeOfUse>(purpose)));
  }
  if (!purposes.empty()) provision["purpose"] = purposes;
  json classes = json::array();
  json labels = json::array();
  for (int data_class : given.data_classes()) {
    classes.push_back(
        CaselineCoding(v1::DataClass_descriptor(), data_class));
    json standard = StandardCoding(static_cast<v1::DataClass>(data_class));
    if (standard["system"] != SystemOf(v1::DataClass_descriptor())) {
      labels.push_back(standard);
    }
  }
  if (!classes.empty()) provision["class"] = classes;
  if (!labels.empty()) provision["securityLabel"] = labels;
  consent["provision"] = provision;
  return consent;
}

std::string TaskStatusOf(absl::string_view referral_status) {
  if (referral_status == "declined") return "rejected";
  return std::string(referral_status);
}

nlohmann::json ServiceRequestOf(absl::string_view client_id,
                                const v1::ReferralView& referral) {
  const std::string id = EncodeId({client_id, referral.referral_id()});
  json request = {
      {"resourceType", "ServiceRequest"},
      {"id", id},
      {"meta", Meta(referral.version(), referral.updated_at())},
      {"identifier",
       json::array({Identifier(kReferralIdSystem, referral.referral_id())})},
      {"status", RequestStatusOf(referral.status())},
      {"intent", "order"},
      {"category", json::array({Concept(referral.service_category())})},
      {"code", Concept(referral.service_category())},
      {"priority", PriorityOf(referral.urgency())},
      {"subject", Reference("Patient", EncodeId({client_id}))},
      {"requester",
       Reference("Organization", EncodeId({referral.from_organization_id()}))},
      {"performer", json::array({Reference(
                        "Organization",
                        EncodeId({referral.to_organization_id()}))})}};
  if (referral.has_sent_at()) request["authoredOn"] = Instant(referral.sent_at());
  if (referral.has_start_by()) {
    request["occurrencePeriod"] = {{"end", DateOf(referral.start_by())}};
  }
  if (!referral.reason().empty()) {
    request["reasonCode"] = json::array({{{"text", referral.reason()}}});
  }
  json extensions = json::array();
  if (referral.kind() != v1::REFERRAL_KIND_UNSPECIFIED) {
    extensions.push_back(Extension(
        "referral-kind", "Coding",
        CaselineCoding(v1::ReferralKind_descriptor(), referral.kind())));
  }
  if (referral.purpose() != v1::PURPOSE_OF_USE_UNSPECIFIED) {
    extensions.push_back(
        Extension("purpose-of-use", "Coding", StandardCoding(referral.purpose())));
  }
  for (int data_class : referral.shared_data_classes()) {
    extensions.push_back(Extension(
        "shared-data-class", "Coding",
        CaselineCoding(v1::DataClass_descriptor(), data_class)));
  }
  if (!extensions.empty()) request["extension"] = extensions;
  return request;
}

nlohmann::json TaskOf(absl::string_view client_id,
                      const v1::ReferralView& referral) {
  const std::string id = EncodeId({client_id, referral.referral_id()});
  json task = {
      {"resourceType", "Task"},
      {"id", id},
      {"meta", Meta(referral.version(), referral.updated_at())},
      {"identifier",
       json::array({Identifier(kReferralIdSystem, referral.referral_id())})},
      {"status", TaskStatusOf(referral.status())},
      {"businessStatus",
       {{"coding", json::array({{{"system", "urn:caseline:referral-status"},
                                 {"code", referral.status()}}})},
        {"text", referral.status()}}},
      {"intent", "order"},
      {"priority", PriorityOf(referral.urgency())},
      {"code",
       {{"coding",
         json::array({{{"system", "http://hl7.org/fhir/CodeSystem/task-code"},
                       {"code", "fulfill"}}})}}},
      {"focus", Reference("ServiceRequest", id)},
      {"for", Reference("Patient", EncodeId({client_id}))},
      {"requester",
       Reference("Organization", EncodeId({referral.from_organization_id()}))},
      {"owner",
       Reference("Organization", EncodeId({referral.to_organization_id()}))}};
  if (referral.has_sent_at()) task["authoredOn"] = Instant(referral.sent_at());
  if (referral.has_start_by()) {
    task["restriction"] = {{"period", {{"end", DateOf(referral.start_by())}}}};
  }
  if (referral.has_status_changed_at()) {
    task["lastModified"] = Instant(referral.status_changed_at());
  }
  if (!referral.status_reason().empty()) {
    task["statusReason"] = {{"text", referral.status_reason()}};
  }
  if (referral.status() == "completed" && !referral.delivered().empty()) {
    task["output"] = json::array(
        {{{"type",
           {{"coding",
             json::array(
                 {{{"system",
                    "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/"
                    "SDOHCC-CodeSystemTemporaryCodes"},
                   {"code", "resulting-activity"}}})}}},
          {"valueString", referral.delivered()}}});
  }
  return task;
}

const std::vector<std::string>& ClientResourceTypes() {
  static const auto* const types = new std::vector<std::string>{
      "Patient",       "Consent",       "ServiceRequest", "Task",
      "Encounter",     "EpisodeOfCare", "CareTeam",       "Goal",
      "Communication", "Procedure"};
  return *types;
}

std::vector<nlohmann::json> ClientResources(const v1::ClientState& state,
                                            absl::string_view type) {
  std::vector<json> out;
  if (!state.registered()) return out;
  const std::string& client = state.client_id();
  if (type == "Patient") {
    out.push_back(PatientOf(state));
  } else if (type == "Consent") {
    for (const v1::ConsentView& consent : state.consents()) {
      bool in_force = false;
      for (const v1::ConsentView& f : state.consents_in_force()) {
        in_force = in_force || f.consent_id() == consent.consent_id();
      }
      out.push_back(ConsentOf(client, consent, in_force));
    }
  } else if (type == "ServiceRequest") {
    for (const v1::ReferralView& r : state.referrals()) {
      out.push_back(ServiceRequestOf(client, r));
    }
  } else if (type == "Task") {
    for (const v1::ReferralView& r : state.referrals()) {
      out.push_back(TaskOf(client, r));
    }
  } else if (type == "Communication" || type == "Procedure") {
    out = TransitionResources(state, type);
  } else {
    out = CareResources(state, type);
  }
  return out;
}

}  // namespace caseline::server::fhir
