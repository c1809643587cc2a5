// The care record's Encounter, EpisodeOfCare, CareTeam and Goal resources,
// and the audit timeline as AuditEvents (resources.h).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/views.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/fhir/care_codes.h"
#include "server/fhir/codes.h"
#include "server/fhir/fhir_common.h"
#include "server/fhir/resources.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;

constexpr char kGoalAchievement[] =
    "http://terminology.hl7.org/CodeSystem/goal-achievement";
constexpr char kAuditEventType[] =
    "http://terminology.hl7.org/CodeSystem/audit-event-type";
constexpr char kRestfulInteraction[] =
    "http://hl7.org/fhir/restful-interaction";
constexpr char kDicom[] = "http://dicom.nema.org/resources/ontology/DCM";
constexpr char kLifecycle[] =
    "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle";
constexpr char kParticipationType[] =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
constexpr char kActReason[] =
    "http://terminology.hl7.org/CodeSystem/v3-ActReason";
constexpr char kEntityType[] =
    "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr char kObjectRole[] =
    "http://terminology.hl7.org/CodeSystem/object-role";
constexpr char kSourceType[] =
    "http://terminology.hl7.org/CodeSystem/security-source-type";

// Who records every AuditEvent: this server.
constexpr char kServerName[] = "Caseline";

json Coding(absl::string_view system, absl::string_view code,
            absl::string_view display) {
  return {{"system", std::string(system)},
          {"code", std::string(code)},
          {"display", std::string(display)}};
}

json Identifier(absl::string_view system, absl::string_view value) {
  return {{"system", std::string(system)}, {"value", std::string(value)}};
}

// A logical reference: an identifier, not a resource this server serves.
json LogicalReference(absl::string_view system, absl::string_view value,
                      absl::string_view display) {
  json ref = {{"identifier", Identifier(system, value)}};
  if (!display.empty()) ref["display"] = std::string(display);
  return ref;
}

// meta.versionId / meta.lastUpdated of an item (the client stream's version
// and recorded time of the last event that changed it).
json MetaOf(uint64_t version, bool has_updated_at,
            const google::protobuf::Timestamp& updated_at) {
  json meta = {{"versionId", absl::StrCat(version)}};
  if (has_updated_at) meta["lastUpdated"] = Instant(updated_at);
  return meta;
}

std::string NameOf(const v1::PersonName& name) {
  std::vector<std::string> parts;
  for (const std::string* part :
       {&name.given(), &name.middle(), &name.family()}) {
    if (!part->empty()) parts.push_back(*part);
  }
  return absl::StrJoin(parts, " ");
}

json PatientReference(absl::string_view client_id) {
  return Reference("Patient", EncodeId({client_id}));
}

json OrganizationReference(absl::string_view organization_id) {
  return Reference("Organization", EncodeId({organization_id}));
}

// --- Encounter ------------------------------------------------------------

// The transition planned out of the admission: the latest planned one that
// names it.
const v1::TransitionView* TransitionOutOf(const v1::ClientState& state,
                                          absl::string_view admission_id) {
  const v1::TransitionView* found = nullptr;
  for (const v1::TransitionView& t : state.transitions()) {
    if (t.admission_id() != admission_id || t.to_organization_id().empty()) {
      continue;
    }
    if (found == nullptr ||
        t.planned_at().seconds() > found->planned_at().seconds() ||
        (t.planned_at().seconds() == found->planned_at().seconds() &&
         t.planned_at().nanos() >= found->planned_at().nanos())) {
      found = &t;
    }
  }
  return found;
}

// --- Goal -----------------------------------------------------------------

// Goal.achievementStatus: achieved once completed or fully achieved; in
// progress while the goal is pursued; absent before it is (proposed,
// planned) and after it was dropped (cancelled, rejected, entered in error).
json AchievementOf(const v1::GoalView& goal) {
  const std::string text = absl::StrCat(goal.percent_achieved(), "% achieved");
  if (goal.status() == v1::GOAL_STATUS_COMPLETED ||
      goal.percent_achieved() >= 100) {
    return {{"coding",
             json::array({Coding(kGoalAchievement, "achieved", "Achieved")})},
            {"text", text}};
  }
  switch (goal.status()) {
    case v1::GOAL_STATUS_ACCEPTED:
    case v1::GOAL_STATUS_ACTIVE:
    case v1::GOAL_STATUS_ON_HOLD:
      return {{"coding", json::array({Coding(kGoalAchievement, "in-progress",
                                             "In Progress")})},
              {"text", text}};
    default:
      return nullptr;
  }
}

// --- AuditEvent -----------------------------------------------------------

// The operations that list across clients (a query); every other operation
// reads one client's record.
bool IsQuery(absl::string_view operation) {
  for (absl::string_view query :
       {"caseline.v1.EventLog/ReadAll", "caseline.v1.EventLog/Subscribe",
        "caseline.v1.ContinuityViews/GetWorklist",
        "caseline.v1.ContinuityViews/GetMeasures",
        "caseline.v1.ContinuityViews/GetCaseload",
        "caseline.v1.ContinuityViews/ListReferrals",
        "caseline.v1.DuplicationViews/ListFindings",
        "caseline.v1.AccessAudit/ListBreakGlass"}) {
    if (operation == query) return true;
  }
  return false;
}

// The resource a care event created or changed, as "Type/id"; empty when
// it has none.
json ResourceOfEvent(absl::string_view client_id, const v1::CareEvent& event) {
  switch (event.event_case()) {
    case v1::CareEvent::kClientRegistered:
    case v1::CareEvent::kClientDetailsCorrected:
    case v1::CareEvent::kClientRecordsLinked:
    case v1::CareEvent::kClientRecordsUnlinked:
      return PatientReference(client_id);
    case v1::CareEvent::kCaseOpened:
    case v1::CareEvent::kCaseClosed:
    case v1::CareEvent::kCaseReopened:
      return Reference("EpisodeOfCare", EncodeId({client_id}));
    case v1::CareEvent::kCareTeamMemberAdded:
    case v1::CareEvent::kCareTeamMemberRemoved:
      return Reference("CareTeam", EncodeId({client_id}));
    case v1::CareEvent::kConsentGiven:
      return Reference(
          "Consent", EncodeId({client_id, event.consent_given().consent_id()}));
    case v1::CareEvent::kConsentRevoked:
      return Reference(
          "Consent",
          EncodeId({client_id, event.consent_revoked().consent_id()}));
    case v1::CareEvent::kGoalSet:
      return Reference("Goal",
                       EncodeId({client_id, event.goal_set().goal_id()}));
    case v1::CareEvent::kGoalProgressRecorded:
      return Reference(
          "Goal",
          EncodeId({client_id, event.goal_progress_recorded().goal_id()}));
    case v1::CareEvent::kGoalStatusChanged:
      return Reference(
          "Goal", EncodeId({client_id, event.goal_status_changed().goal_id()}));
    case v1::CareEvent::kReferralSent:
      return Reference(
          "ServiceRequest",
          EncodeId({client_id, event.referral_sent().referral_id()}));
    case v1::CareEvent::kReferralReceived:
      return Reference(
          "Task",
          EncodeId({client_id, event.referral_received().referral_id()}));
    case v1::CareEvent::kReferralAccepted:
      return Reference(
          "Task",
          EncodeId({client_id, event.referral_accepted().referral_id()}));
    case v1::CareEvent::kReferralDeclined:
      return Reference(
          "Task",
          EncodeId({client_id, event.referral_declined().referral_id()}));
    case v1::CareEvent::kReferralOnHold:
      return Reference(
          "Task",
          EncodeId({client_id, event.referral_on_hold().referral_id()}));
    case v1::CareEvent::kReferralStarted:
      return Reference(
          "Task",
          EncodeId({client_id, event.referral_started().referral_id()}));
    case v1::CareEvent::kReferralCompleted:
      return Reference(
          "Task",
          EncodeId({client_id, event.referral_completed().referral_id()}));
    case v1::CareEvent::kReferralFailed:
      return Reference(
          "Task", EncodeId({client_id, event.referral_failed().referral_id()}));
    case v1::CareEvent::kReferralCancelled:
      return Reference(
          "Task",
          EncodeId({client_id, event.referral_cancelled().referral_id()}));
    case v1::CareEvent::kAdmissionRecorded:
      return Reference(
          "Encounter",
          EncodeId({client_id, event.admission_recorded().admission_id()}));
    case v1::CareEvent::kDischargeRecorded:
      return Reference(
          "Encounter",
          EncodeId({client_id, event.discharge_recorded().admission_id()}));
    case v1::CareEvent::kAdmissionNotificationReceived:
      return Reference(
          "Communication",
          EncodeId(
              {client_id, kNotificationIdPart,
               event.admission_notification_received().notification_id()}));
    case v1::CareEvent::kDischargeInformationReceived:
      return Reference(
          "Communication",
          EncodeId({client_id, kReceiptIdPart,
                    event.discharge_information_received().receipt_id()}));
    case v1::CareEvent::kMedicationReconciliationRecorded:
      return Reference(
          "Procedure",
          EncodeId({client_id, event.medication_reconciliation_recorded()
                                   .reconciliation_id()}));
    case v1::CareEvent::kBreakGlassReviewed:
      return Reference("AuditEvent",
                       event.break_glass_reviewed().access_event_id());
    default:
      return nullptr;
  }
}

json DataClassLabels(const google::protobuf::RepeatedField<int>& classes) {
  json labels = json::array();
  for (int c : classes) {
    labels.push_back(StandardCoding(v1::DataClass_descriptor(), c));
  }
  return labels;
}

std::string DataClassCodes(
    const google::protobuf::RepeatedField<int>& classes) {
  std::vector<std::string> codes;
  for (int c : classes) codes.push_back(CodeOf(v1::DataClass_descriptor(), c));
  return absl::StrJoin(codes, ",");
}

json Detail(absl::string_view type, absl::string_view value) {
  return {{"type", std::string(type)}, {"valueString", std::string(value)}};
}

json Role(absl::string_view code, absl::string_view display) {
  return {{"coding", json::array({Coding(kDicom, code, display)})}};
}

// The user agent (the person of the organisation), or null when the entry
// names none.
json UserAgent(const v1::TimelineEntry& entry, const json& type) {
  if (entry.user_id().empty()) return nullptr;
  return {{"type", type},
          {"who",
           LogicalReference(kUserIdSystem, entry.user_id(), entry.user_id())},
          {"name", entry.user_id()},
          {"requestor", true}};
}

// The Patient entity every AuditEvent has.
json PatientEntity(absl::string_view client_id) {
  return {{"what", PatientReference(client_id)},
          {"type", Coding(kEntityType, "1", "Person")},
          {"role", Coding(kObjectRole, "1", "Patient")}};
}

json ServerAgent(absl::string_view code, absl::string_view display) {
  return {{"type", Role(code, display)},
          {"who", {{"display", kServerName}}},
          {"requestor", false}};
}

json AuditSkeleton(const v1::TimelineEntry& entry) {
  std::string id = entry.event_id();
  bool valid = !id.empty() && id.size() <= 64;
  for (char c : id)
    valid = valid && (absl::ascii_isalnum(c) || c == '-' || c == '.');
  if (!valid) id = absl::StrCat("position-", entry.global_position());
  json audit = {
      {"resourceType", "AuditEvent"},
      {"id", id},
      // An audit record never changes.
      {"meta",
       {{"versionId", "1"}, {"lastUpdated", Instant(entry.recorded_at())}}},
      {"recorded", Instant(entry.recorded_at())},
      {"period",
       {{"start", Instant(entry.occurred_at())},
        {"end", Instant(entry.occurred_at())}}},
      {"outcome", "0"},
      {"source",
       {{"site", kServerName},
        {"observer", {{"display", kServerName}}},
        {"type",
         json::array({Coding(kSourceType, "4", "Application Server")})}}},
  };
  return audit;
}

json AccessAuditEvent(absl::string_view client_id,
                      const v1::TimelineEntry& entry) {
  const v1::RecordAccessed& r = entry.event().record_accessed();
  const bool query = IsQuery(r.operation());
  const bool denied = r.outcome() == v1::ACCESS_OUTCOME_DENIED;
  const bool break_glass = r.basis() == v1::ACCESS_BASIS_BREAK_GLASS;
  json audit = AuditSkeleton(entry);
  audit["type"] = Coding(kAuditEventType, "rest", "Restful Operation");
  audit["subtype"] = json::array(
      {query ? Coding(kRestfulInteraction, "search-type", "search type")
             : Coding(kRestfulInteraction, "read", "read")});
  if (break_glass) {
    audit["subtype"].push_back(
        Coding(kDicom, "110127", "Emergency Override Started"));
  }
  audit["action"] = query ? "E" : "R";
  if (denied) {
    audit["outcome"] = "4";
    audit["outcomeDesc"] = absl::StrCat(
        "refused (PERMISSION_DENIED): nothing of the record was shown by ",
        r.operation());
  }
  json purpose = nullptr;
  if (r.purpose() != v1::PURPOSE_OF_USE_UNSPECIFIED) {
    purpose = Concept(r.purpose());
  }
  if (break_glass) {
    if (purpose.is_null()) purpose = {{"coding", json::array()}};
    purpose["coding"].push_back(Coding(kActReason, "BTG", "break the glass"));
  }
  if (!purpose.is_null()) audit["purposeOfEvent"] = json::array({purpose});

  // BALP: for a read the reader is the Destination Role ID and the server
  // the Source Role ID; for a query the other way round.
  json organization = {{"type", query ? Role("110153", "Source Role ID")
                                      : Role("110152", "Destination Role ID")},
                       {"who", OrganizationReference(entry.organization_id())},
                       {"requestor", entry.user_id().empty()}};
  json user = UserAgent(
      entry, {{"coding", json::array({Coding(kParticipationType, "IRCP",
                                             "information recipient")})}});
  json& asker = user.is_null() ? organization : user;
  if (!purpose.is_null()) asker["purposeOfUse"] = json::array({purpose});
  if (!user.is_null() && r.discipline() != v1::DISCIPLINE_UNSPECIFIED) {
    user["role"] = json::array({Concept(r.discipline())});
  }
  audit["agent"] = json::array({organization});
  if (!user.is_null()) audit["agent"].push_back(user);
  audit["agent"].push_back(query ? ServerAgent("110152", "Destination Role ID")
                                 : ServerAgent("110153", "Source Role ID"));

  json patient = PatientEntity(client_id);
  json details = json::array();
  if (r.basis() != v1::ACCESS_BASIS_UNSPECIFIED) {
    details.push_back(
        Detail("basis", CodeOf(v1::AccessBasis_descriptor(), r.basis())));
  }
  for (const std::string& consent : r.consent_ids()) {
    details.push_back(Detail("consent", consent));
  }
  if (!r.break_glass_reason().empty()) {
    details.push_back(Detail("break-glass-reason", r.break_glass_reason()));
  }
  if (r.events_withheld() > 0) {
    details.push_back(
        Detail("events-withheld", absl::StrCat(r.events_withheld())));
  }
  if (!r.data_classes_withheld().empty()) {
    details.push_back(Detail("data-classes-withheld",
                             DataClassCodes(r.data_classes_withheld())));
  }
  if (!r.positions_shown().empty()) {
    details.push_back(
        Detail("positions-shown", absl::StrJoin(r.positions_shown(), ",")));
  }
  if (!r.subject_ids_shown().empty()) {
    details.push_back(
        Detail("subjects-shown", absl::StrJoin(r.subject_ids_shown(), ",")));
  }
  if (!details.empty()) patient["detail"] = details;

  // What was asked for: the operation (Caseline records the RPC, not the
  // raw request, so the query is the operation's name).
  json data = {{"type", Coding(kEntityType, "2", "System Object")}};
  if (query) {
    data["role"] = Coding(kObjectRole, "24", "Query");
    data["query"] = absl::Base64Escape(r.operation());
    data["description"] = r.operation();
  } else {
    data["role"] = Coding(kObjectRole, "4", "Domain Resource");
    data["what"] =
        LogicalReference(kOperationSystem, r.operation(), r.operation());
  }
  if (!r.data_classes_shown().empty()) {
    data["securityLabel"] = DataClassLabels(r.data_classes_shown());
  }
  audit["entity"] = json::array({patient, data});
  return audit;
}

// A disclosure's recipient, purpose, data and basis.
struct Disclosure {
  std::string recipient;
  v1::PurposeOfUse purpose = v1::PURPOSE_OF_USE_UNSPECIFIED;
  const google::protobuf::RepeatedField<int>* classes = nullptr;
  std::string description;
  std::string consent_id;
  std::string legal_basis;
};

json DisclosureAuditEvent(absl::string_view client_id,
                          const v1::TimelineEntry& entry,
                          const Disclosure& disclosure, const json& what) {
  json audit = AuditSkeleton(entry);
  audit["type"] = Coding(kDicom, "110106", "Export");
  audit["subtype"] = json::array(
      {Coding(kLifecycle, "disclose", "Disclose Record Lifecycle Event")});
  audit["action"] = "R";
  json purpose = nullptr;
  if (disclosure.purpose != v1::PURPOSE_OF_USE_UNSPECIFIED) {
    purpose = Concept(disclosure.purpose);
    audit["purposeOfEvent"] = json::array({purpose});
  }
  json user = UserAgent(
      entry,
      {{"coding", json::array({Coding(kParticipationType, "AUT", "author")})}});
  json source = {{"type", Role("110153", "Source Role ID")},
                 {"who", OrganizationReference(entry.organization_id())},
                 {"requestor", user.is_null()}};
  json recipient = {{"type", Role("110152", "Destination Role ID")},
                    {"who", OrganizationReference(disclosure.recipient)},
                    {"requestor", false}};
  if (!purpose.is_null()) {
    (user.is_null() ? source : user)["purposeOfUse"] = json::array({purpose});
  }
  audit["agent"] = json::array({source, recipient});
  if (!user.is_null()) audit["agent"].push_back(user);

  json data = {{"what", what},
               {"type", Coding(kEntityType, "2", "System Object")},
               {"role", Coding(kObjectRole, "4", "Domain Resource")},
               {"name", entry.event_type()}};
  if (!disclosure.description.empty()) {
    data["description"] = disclosure.description;
  }
  if (disclosure.classes != nullptr && !disclosure.classes->empty()) {
    data["securityLabel"] = DataClassLabels(*disclosure.classes);
  }
  json details = json::array();
  if (!disclosure.consent_id.empty()) {
    details.push_back(Detail("consent", disclosure.consent_id));
  }
  if (!disclosure.legal_basis.empty()) {
    details.push_back(Detail("legal-basis", disclosure.legal_basis));
  }
  if (!details.empty()) data["detail"] = details;
  audit["entity"] = json::array({PatientEntity(client_id), data});
  return audit;
}

json CreateAuditEvent(absl::string_view client_id,
                      const v1::TimelineEntry& entry) {
  json audit = AuditSkeleton(entry);
  audit["type"] = Coding(kAuditEventType, "rest", "Restful Operation");
  audit["subtype"] =
      json::array({Coding(kRestfulInteraction, "create", "create")});
  audit["action"] = "C";
  json user = UserAgent(
      entry,
      {{"coding", json::array({Coding(kParticipationType, "AUT", "author")})}});
  audit["agent"] =
      json::array({{{"type", Role("110153", "Source Role ID")},
                    {"who", OrganizationReference(entry.organization_id())},
                    {"requestor", user.is_null()}}});
  if (!user.is_null()) audit["agent"].push_back(user);
  audit["agent"].push_back(ServerAgent("110152", "Destination Role ID"));

  json what = entry.has_event() ? ResourceOfEvent(client_id, entry.event())
                                : json(nullptr);
  if (what.is_null()) what = json::object();
  what["identifier"] = Identifier(kEventIdSystem, entry.event_id());
  json data = {{"what", what},
               {"type", Coding(kEntityType, "2", "System Object")},
               {"role", Coding(kObjectRole, "4", "Domain Resource")},
               {"name", entry.event_type()}};
  if (!entry.summary().empty()) data["description"] = entry.summary();
  if (!entry.on_behalf_of().empty()) {
    data["detail"] =
        json::array({Detail("on-behalf-of", entry.on_behalf_of())});
  }
  audit["entity"] = json::array({PatientEntity(client_id), data});
  return audit;
}

}  // namespace

// --- Encounter ------------------------------------------------------------

json EncounterOf(absl::string_view client_id,
                 const v1::AdmissionView& admission,
                 const v1::ClientState& state) {
  const bool discharged = admission.has_discharged_at();
  json encounter = {
      {"resourceType", "Encounter"},
      {"id", EncodeId({client_id, admission.admission_id()})},
      {"meta", MetaOf(admission.version(), admission.has_updated_at(),
                      admission.updated_at())},
      {"identifier",
       json::array({Identifier(kAdmissionIdSystem, admission.admission_id())})},
      {"status", discharged ? "finished" : "in-progress"},
      {"class", EncounterClassOf(admission.level_of_care())},
      {"subject", PatientReference(client_id)},
  };
  if (admission.level_of_care() != v1::LEVEL_OF_CARE_UNSPECIFIED) {
    encounter["type"] = json::array({Concept(admission.level_of_care())});
  }
  if (state.case_status() == "open" || state.case_status() == "closed") {
    encounter["episodeOfCare"] =
        json::array({Reference("EpisodeOfCare", EncodeId({client_id}))});
  }
  json period = json::object();
  if (admission.has_admitted_at()) {
    period["start"] = Instant(admission.admitted_at());
  }
  if (discharged) period["end"] = Instant(admission.discharged_at());
  if (!period.empty()) encounter["period"] = period;
  if (admission.primary_need() != v1::SERVICE_CATEGORY_UNSPECIFIED) {
    encounter["reasonCode"] = json::array({Concept(admission.primary_need())});
  }
  json hospitalization = json::object();
  if (discharged &&
      admission.disposition() != v1::DISCHARGE_DISPOSITION_UNSPECIFIED) {
    hospitalization["dischargeDisposition"] =
        DischargeDispositionOf(admission.disposition());
  }
  // R4's destination is a Location; Caseline knows the receiving
  // organisation, so the reference is logical.
  if (const v1::TransitionView* out =
          TransitionOutOf(state, admission.admission_id())) {
    hospitalization["destination"] =
        LogicalReference(kOrganizationIdSystem, out->to_organization_id(),
                         out->to_organization_id());
  }
  if (!hospitalization.empty()) encounter["hospitalization"] = hospitalization;
  if (!admission.facility_organization_id().empty()) {
    encounter["serviceProvider"] =
        OrganizationReference(admission.facility_organization_id());
  }
  return encounter;
}

// --- EpisodeOfCare --------------------------------------------------------

json EpisodeOfCareOf(const v1::ClientState& state) {
  std::string status;
  if (state.case_status() == "open") {
    status = "active";
  } else if (state.case_status() == "closed") {
    status = "finished";
  } else {
    return nullptr;
  }
  const std::string& client_id = state.client_id();
  json episode = {
      {"resourceType", "EpisodeOfCare"},
      {"id", EncodeId({client_id})},
      {"meta", MetaOf(state.case_version(), state.has_case_updated_at(),
                      state.case_updated_at())},
      {"identifier", json::array({Identifier(kClientIdSystem, client_id)})},
      {"status", status},
      {"patient", PatientReference(client_id)},
  };
  // The state does not name the organisation that opened the case; the
  // registering organisation manages the record.
  if (!state.registered_by_organization_id().empty()) {
    episode["managingOrganization"] =
        OrganizationReference(state.registered_by_organization_id());
  }
  for (const v1::CareTeamMemberView& member : state.care_team()) {
    if (member.role() != v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER) continue;
    // R4's careManager is a Practitioner; a team member is not one this
    // server serves, so the reference is its display only.
    std::string name = NameOf(member.name());
    if (name.empty()) name = member.member_id();
    episode["careManager"] = {{"display", name}};
    break;
  }
  if (!state.care_team().empty()) {
    episode["team"] =
        json::array({Reference("CareTeam", EncodeId({client_id}))});
  }
  return episode;
}

// --- CareTeam -------------------------------------------------------------

json CareTeamOf(const v1::ClientState& state) {
  if (state.care_team().empty()) return nullptr;
  const std::string& client_id = state.client_id();
  json participants = json::array();
  for (const v1::CareTeamMemberView& member : state.care_team()) {
    json roles = json::array();
    if (member.role() != v1::CARE_TEAM_ROLE_UNSPECIFIED) {
      roles.push_back(Concept(member.role()));
    }
    if (member.discipline() != v1::DISCIPLINE_UNSPECIFIED) {
      roles.push_back(Concept(member.discipline()));
    }
    std::string name = NameOf(member.name());
    if (name.empty()) name = member.member_id();
    json participant = {{"member", LogicalReference(kCareTeamMemberIdSystem,
                                                    member.member_id(), name)}};
    if (!roles.empty()) participant["role"] = roles;
    if (!member.organization_id().empty()) {
      participant["onBehalfOf"] =
          OrganizationReference(member.organization_id());
    }
    if (member.has_added_at()) {
      participant["period"] = {{"start", Instant(member.added_at())}};
    }
    participants.push_back(participant);
  }
  return {
      {"resourceType", "CareTeam"},
      {"id", EncodeId({client_id})},
      {"meta",
       MetaOf(state.care_team_version(), state.has_care_team_updated_at(),
              state.care_team_updated_at())},
      {"identifier", json::array({Identifier(kClientIdSystem, client_id)})},
      {"status", "active"},
      {"subject", PatientReference(client_id)},
      {"participant", participants},
  };
}

// --- Goal -------------------------------------------------------------------

json GoalOf(absl::string_view client_id, const v1::GoalView& goal) {
  std::string status = CodeOf(v1::GoalStatus_descriptor(), goal.status());
  // Goals are active from GoalSet (care/client_record.cc); unspecified is
  // never stored, but FHIR requires a status.
  if (status.empty()) status = "active";
  json resource = {
      {"resourceType", "Goal"},
      {"id", EncodeId({client_id, goal.goal_id()})},
      {"meta",
       MetaOf(goal.version(), goal.has_updated_at(), goal.updated_at())},
      {"identifier", json::array({Identifier(kGoalIdSystem, goal.goal_id())})},
      {"lifecycleStatus", status},
      {"description",
       {{"text",
         goal.description().empty() ? goal.goal_id() : goal.description()}}},
      {"subject", PatientReference(client_id)},
  };
  if (json achievement = AchievementOf(goal); !achievement.is_null()) {
    resource["achievementStatus"] = achievement;
  }
  if (goal.domain() != v1::SERVICE_CATEGORY_UNSPECIFIED) {
    resource["category"] = json::array({Concept(goal.domain())});
  }
  json target = json::object();
  if (!goal.measure().empty()) target["measure"] = {{"text", goal.measure()}};
  if (goal.has_target_date()) target["dueDate"] = DateOf(goal.target_date());
  if (!target.empty()) resource["target"] = json::array({target});
  return resource;
}

// --- All of a type ----------------------------------------------------------

std::vector<json> CareResources(const v1::ClientState& state,
                                absl::string_view type) {
  std::vector<json> resources;
  if (type == "Encounter") {
    for (const v1::AdmissionView& admission : state.admissions()) {
      resources.push_back(EncounterOf(state.client_id(), admission, state));
    }
  } else if (type == "EpisodeOfCare") {
    if (json episode = EpisodeOfCareOf(state); !episode.is_null()) {
      resources.push_back(std::move(episode));
    }
  } else if (type == "CareTeam") {
    if (json team = CareTeamOf(state); !team.is_null()) {
      resources.push_back(std::move(team));
    }
  } else if (type == "Goal") {
    for (const v1::GoalView& goal : state.goals()) {
      resources.push_back(GoalOf(state.client_id(), goal));
    }
  }
  return resources;
}

// --- AuditEvent -------------------------------------------------------------

json AuditEventOf(absl::string_view client_id, const v1::TimelineEntry& entry) {
  const v1::CareEvent& event = entry.event();
  if (event.has_record_accessed()) return AccessAuditEvent(client_id, entry);
  if (event.has_information_disclosed()) {
    const v1::InformationDisclosed& d = event.information_disclosed();
    Disclosure disclosure;
    disclosure.recipient = d.recipient_organization_id();
    disclosure.purpose = d.purpose();
    disclosure.classes = &d.data_classes();
    disclosure.description = d.description();
    disclosure.consent_id = d.consent_id();
    disclosure.legal_basis = d.legal_basis();
    return DisclosureAuditEvent(
        client_id, entry, disclosure,
        LogicalReference(kDisclosureIdSystem, d.disclosure_id(), ""));
  }
  // A referral that shares data classes is in the accounting of disclosures
  // (projections/audit.h ListDisclosures); one that shares none is not.
  if (event.has_referral_sent() &&
      !event.referral_sent().shared_data_classes().empty()) {
    const v1::ReferralSent& r = event.referral_sent();
    Disclosure disclosure;
    disclosure.recipient = r.to_organization_id();
    disclosure.purpose = r.purpose() == v1::PURPOSE_OF_USE_UNSPECIFIED
                             ? v1::PURPOSE_OF_USE_CARE_COORDINATION
                             : r.purpose();
    disclosure.classes = &r.shared_data_classes();
    disclosure.description = entry.summary();
    json what = ResourceOfEvent(client_id, event);
    what["identifier"] = Identifier(kReferralIdSystem, r.referral_id());
    return DisclosureAuditEvent(client_id, entry, disclosure, what);
  }
  return CreateAuditEvent(client_id, entry);
}

}  // namespace caseline::server::fhir
