#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "care/proto_time.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/views.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/fhir/resources.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::SizeIs;

google::protobuf::Timestamp At(int day, int hour) {
  google::protobuf::Timestamp t;
  care::SetTimestamp(
      absl::FromCivil(absl::CivilSecond(2026, 3, day, hour, 0, 0),
                      absl::UTCTimeZone()),
      &t);
  return t;
}

v1::PersonName Name(const char* given, const char* family) {
  v1::PersonName name;
  name.set_given(given);
  name.set_family(family);
  return name;
}

// A client discharged from a mental-health stay at a hospital to a
// community agency, with an open case, a care team and goals.
v1::ClientState Record() {
  v1::ClientState state;
  state.set_client_id("c_1");
  state.set_registered(true);
  state.set_registered_by_organization_id("mercy-hospital");
  state.set_case_status("open");
  state.set_case_version(4);
  *state.mutable_case_updated_at() = At(2, 9);
  state.set_care_team_version(6);
  *state.mutable_care_team_updated_at() = At(2, 11);

  v1::CareTeamMemberView* lead = state.add_care_team();
  lead->set_member_id("m1");
  *lead->mutable_name() = Name("Dana", "Reyes");
  lead->set_organization_id("harbor-cm");
  lead->set_discipline(v1::DISCIPLINE_SOCIAL_WORK);
  lead->set_role(v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER);
  *lead->mutable_added_at() = At(2, 10);
  v1::CareTeamMemberView* nurse = state.add_care_team();
  nurse->set_member_id("m2");
  *nurse->mutable_name() = Name("Ari", "Cole");
  nurse->set_organization_id("mercy-hospital");
  nurse->set_discipline(v1::DISCIPLINE_NURSING);
  nurse->set_role(v1::CARE_TEAM_ROLE_MEMBER);
  *nurse->mutable_added_at() = At(2, 11);

  v1::AdmissionView* stay = state.add_admissions();
  stay->set_admission_id("a.1");
  stay->set_facility_organization_id("mercy-hospital");
  stay->set_level_of_care(v1::LEVEL_OF_CARE_INPATIENT);
  stay->set_primary_need(v1::SERVICE_CATEGORY_MENTAL_HEALTH);
  *stay->mutable_admitted_at() = At(1, 8);
  *stay->mutable_discharged_at() = At(5, 14);
  stay->set_disposition(v1::DISCHARGE_DISPOSITION_HOME_WITH_SERVICES);
  stay->set_version(9);
  *stay->mutable_updated_at() = At(5, 15);
  v1::AdmissionView* ed = state.add_admissions();
  ed->set_admission_id("a2");
  ed->set_facility_organization_id("mercy-hospital");
  ed->set_level_of_care(v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT);
  *ed->mutable_admitted_at() = At(20, 23);
  ed->set_version(12);
  *ed->mutable_updated_at() = At(20, 23);

  v1::TransitionView* out = state.add_transitions();
  out->set_transition_id("t1");
  out->set_admission_id("a.1");
  out->set_from_organization_id("mercy-hospital");
  out->set_to_organization_id("harbor-cm");
  out->set_to_level_of_care(v1::LEVEL_OF_CARE_COMMUNITY);
  *out->mutable_planned_at() = At(4, 9);

  v1::GoalView* housing = state.add_goals();
  housing->set_goal_id("g1");
  housing->set_domain(v1::SERVICE_CATEGORY_HOUSING);
  housing->set_description("Move into stable housing");
  housing->set_measure("signed lease");
  housing->mutable_target_date()->set_year(2026);
  housing->mutable_target_date()->set_month(6);
  housing->mutable_target_date()->set_day(30);
  housing->set_status(v1::GOAL_STATUS_ACTIVE);
  housing->set_percent_achieved(40);
  housing->set_version(7);
  *housing->mutable_updated_at() = At(3, 10);
  v1::GoalView* meds = state.add_goals();
  meds->set_goal_id("g2");
  meds->set_domain(v1::SERVICE_CATEGORY_MENTAL_HEALTH);
  meds->set_description("Keep psychiatric follow-up appointments");
  meds->set_status(v1::GOAL_STATUS_COMPLETED);
  meds->set_percent_achieved(100);
  meds->set_version(8);
  *meds->mutable_updated_at() = At(4, 10);
  return state;
}

// The coding of `system` in a CodeableConcept, or null.
json CodingOf(const json& codeable, const std::string& system) {
  for (const json& coding : codeable.value("coding", json::array())) {
    if (coding.value("system", "") == system) return coding;
  }
  return nullptr;
}

// FHIR's id grammar, [A-Za-z0-9\-.]{1,64} (no std::regex: GCC 12 warns
// inside it under the sanitizer builds' -O1).
bool IsFhirId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

TEST(EncounterOfTest, DischargedStay) {
  const v1::ClientState state = Record();
  const json e = (EncounterOf("c_1", state.admissions(0), state));
  EXPECT_EQ(e["resourceType"], "Encounter");
  EXPECT_EQ(e["id"], "c.11..a.01");
  EXPECT_TRUE(IsFhirId(e["id"]));
  EXPECT_EQ(e["meta"]["versionId"], "9");
  EXPECT_EQ(e["meta"]["lastUpdated"], "2026-03-05T15:00:00.000Z");
  EXPECT_EQ(e["status"], "finished");
  EXPECT_EQ(e["class"]["system"],
            "http://terminology.hl7.org/CodeSystem/v3-ActCode");
  EXPECT_EQ(e["class"]["code"], "IMP");
  EXPECT_EQ(CodingOf(e["type"][0], "urn:caseline:level-of-care")["code"],
            "inpatient");
  EXPECT_EQ(e["identifier"][0]["system"], "urn:caseline:admission-id");
  EXPECT_EQ(e["identifier"][0]["value"], "a.1");
  EXPECT_EQ(e["subject"]["reference"], "Patient/c.11");
  EXPECT_EQ(e["serviceProvider"]["reference"], "Organization/mercy-hospital");
  EXPECT_EQ(e["period"]["start"], "2026-03-01T08:00:00.000Z");
  EXPECT_EQ(e["period"]["end"], "2026-03-05T14:00:00.000Z");
  EXPECT_EQ(
      CodingOf(e["reasonCode"][0], "urn:caseline:service-category")["code"],
      "mental-health");
  EXPECT_EQ(e["episodeOfCare"][0]["reference"], "EpisodeOfCare/c.11");
  const json& disposition = e["hospitalization"]["dischargeDisposition"];
  EXPECT_EQ(CodingOf(disposition,
                     "http://terminology.hl7.org/CodeSystem/"
                     "discharge-disposition")["code"],
            "home");
  EXPECT_EQ(CodingOf(disposition, "urn:caseline:discharge-disposition")["code"],
            "home-with-services");
  const json& destination = e["hospitalization"]["destination"];
  EXPECT_EQ(destination["identifier"]["system"],
            "urn:caseline:organization-id");
  EXPECT_EQ(destination["identifier"]["value"], "harbor-cm");
  EXPECT_FALSE(destination.contains("reference"));
}

TEST(EncounterOfTest, EmergencyVisitInProgress) {
  const v1::ClientState state = Record();
  const json e = (EncounterOf("c_1", state.admissions(1), state));
  EXPECT_EQ(e["status"], "in-progress");
  EXPECT_EQ(e["class"]["code"], "EMER");
  EXPECT_FALSE(e["period"].contains("end"));
  EXPECT_FALSE(e.contains("hospitalization"));
  EXPECT_FALSE(e.contains("reasonCode"));
}

TEST(EncounterOfTest, UnspecifiedLevelHasAnUnknownClass) {
  v1::ClientState state = Record();
  state.set_case_status("not-opened");
  v1::AdmissionView admission;
  admission.set_admission_id("a3");
  const json e = EncounterOf("c_1", admission, state);
  EXPECT_EQ(e["class"]["code"], "UNK");
  EXPECT_EQ(e["status"], "in-progress");
  EXPECT_FALSE(e.contains("type"));
  EXPECT_FALSE(e.contains("episodeOfCare"));
  EXPECT_FALSE(e.contains("serviceProvider"));
  EXPECT_EQ(e["meta"]["versionId"], "0");
}

TEST(EpisodeOfCareOfTest, OpenCase) {
  const json e = (EpisodeOfCareOf(Record()));
  EXPECT_EQ(e["resourceType"], "EpisodeOfCare");
  EXPECT_EQ(e["id"], "c.11");
  EXPECT_EQ(e["status"], "active");
  EXPECT_EQ(e["meta"]["versionId"], "4");
  EXPECT_EQ(e["meta"]["lastUpdated"], "2026-03-02T09:00:00.000Z");
  EXPECT_EQ(e["patient"]["reference"], "Patient/c.11");
  EXPECT_EQ(e["managingOrganization"]["reference"],
            "Organization/mercy-hospital");
  EXPECT_EQ(e["careManager"], json({{"display", "Dana Reyes"}}));
  EXPECT_EQ(e["team"][0]["reference"], "CareTeam/c.11");
}

TEST(EpisodeOfCareOfTest, ClosedAndNeverOpened) {
  v1::ClientState state = Record();
  state.set_case_status("closed");
  state.clear_care_team();
  const json closed = EpisodeOfCareOf(state);
  EXPECT_EQ(closed["status"], "finished");
  EXPECT_FALSE(closed.contains("careManager"));
  EXPECT_FALSE(closed.contains("team"));
  state.set_case_status("not-opened");
  EXPECT_TRUE(EpisodeOfCareOf(state).is_null());
  EXPECT_THAT(CareResources(state, "EpisodeOfCare"), SizeIs(0));
}

TEST(CareTeamOfTest, ActiveMembers) {
  const json team = (CareTeamOf(Record()));
  EXPECT_EQ(team["resourceType"], "CareTeam");
  EXPECT_EQ(team["id"], "c.11");
  EXPECT_EQ(team["status"], "active");
  EXPECT_EQ(team["subject"]["reference"], "Patient/c.11");
  EXPECT_EQ(team["meta"]["versionId"], "6");
  ASSERT_THAT(team["participant"], SizeIs(2));
  const json& lead = team["participant"][0];
  EXPECT_EQ(lead["member"]["identifier"]["system"],
            "urn:caseline:care-team-member-id");
  EXPECT_EQ(lead["member"]["identifier"]["value"], "m1");
  EXPECT_EQ(lead["member"]["display"], "Dana Reyes");
  EXPECT_EQ(lead["onBehalfOf"]["reference"], "Organization/harbor-cm");
  EXPECT_EQ(CodingOf(lead["role"][0], "urn:caseline:care-team-role")["code"],
            "lead-case-manager");
  EXPECT_EQ(CodingOf(lead["role"][1], "urn:caseline:discipline")["code"],
            "social-work");
  EXPECT_EQ(lead["period"]["start"], "2026-03-02T10:00:00.000Z");
}

TEST(CareTeamOfTest, NoMembersNoTeam) {
  v1::ClientState state = Record();
  state.clear_care_team();
  EXPECT_TRUE(CareTeamOf(state).is_null());
  EXPECT_THAT(CareResources(state, "CareTeam"), SizeIs(0));
}

TEST(GoalOfTest, ActiveGoal) {
  const v1::ClientState state = Record();
  const json goal = (GoalOf("c_1", state.goals(0)));
  EXPECT_EQ(goal["resourceType"], "Goal");
  EXPECT_EQ(goal["id"], "c.11..g1");
  EXPECT_EQ(goal["meta"]["versionId"], "7");
  EXPECT_EQ(goal["identifier"][0]["system"], "urn:caseline:goal-id");
  EXPECT_EQ(goal["lifecycleStatus"], "active");
  EXPECT_EQ(goal["achievementStatus"]["coding"][0]["code"], "in-progress");
  EXPECT_EQ(goal["achievementStatus"]["text"], "40% achieved");
  EXPECT_EQ(goal["description"]["text"], "Move into stable housing");
  EXPECT_EQ(goal["subject"]["reference"], "Patient/c.11");
  EXPECT_EQ(CodingOf(goal["category"][0],
                     "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/"
                     "SDOHCC-CodeSystemTemporaryCodes")["code"],
            "housing-instability");
  EXPECT_EQ(goal["target"][0]["measure"]["text"], "signed lease");
  EXPECT_EQ(goal["target"][0]["dueDate"], "2026-06-30");
}

TEST(GoalOfTest, CompletedAndProposed) {
  const v1::ClientState state = Record();
  const json done = (GoalOf("c_1", state.goals(1)));
  EXPECT_EQ(done["lifecycleStatus"], "completed");
  EXPECT_EQ(done["achievementStatus"]["coding"][0]["code"], "achieved");
  EXPECT_FALSE(done.contains("target"));

  v1::GoalView proposed = state.goals(0);
  proposed.set_status(v1::GOAL_STATUS_PROPOSED);
  proposed.set_percent_achieved(0);
  const json p = GoalOf("c_1", proposed);
  EXPECT_EQ(p["lifecycleStatus"], "proposed");
  EXPECT_FALSE(p.contains("achievementStatus"));
}

TEST(CareResourcesTest, EachTypeFromTheState) {
  const v1::ClientState state = Record();
  EXPECT_THAT(CareResources(state, "Encounter"), SizeIs(2));
  EXPECT_THAT(CareResources(state, "Goal"), SizeIs(2));
  EXPECT_THAT(CareResources(state, "EpisodeOfCare"), SizeIs(1));
  EXPECT_THAT(CareResources(state, "CareTeam"), SizeIs(1));
  EXPECT_THAT(CareResources(state, "Patient"), SizeIs(0));
  for (const json& goal : CareResources(state, "Goal")) {
    EXPECT_EQ(goal["resourceType"], "Goal");
  }
}

// --- AuditEvent -------------------------------------------------------------

v1::TimelineEntry Entry(const char* event_id, const char* organization,
                        const char* user) {
  v1::TimelineEntry entry;
  entry.set_global_position(42);
  entry.set_stream_version(3);
  entry.set_event_id(event_id);
  entry.set_organization_id(organization);
  entry.set_user_id(user);
  *entry.mutable_occurred_at() = At(6, 9);
  *entry.mutable_recorded_at() = At(6, 10);
  return entry;
}

v1::TimelineEntry Access(v1::AccessOutcome outcome, v1::AccessBasis basis,
                         const char* operation) {
  v1::TimelineEntry entry =
      Entry("0190f3b2-7c1d-7a00-8000-00000000000a", "harbor-cm", "dana");
  entry.set_event_type("RecordAccessed");
  v1::RecordAccessed* r = entry.mutable_event()->mutable_record_accessed();
  r->set_client_id("c_1");
  r->set_operation(operation);
  r->set_purpose(v1::PURPOSE_OF_USE_CARE_COORDINATION);
  r->set_basis(basis);
  r->set_discipline(v1::DISCIPLINE_SOCIAL_WORK);
  r->set_outcome(outcome);
  if (basis == v1::ACCESS_BASIS_CONSENT) {
    r->add_consent_ids("k1");
    r->add_data_classes_shown(v1::DATA_CLASS_GENERAL);
    r->add_data_classes_shown(v1::DATA_CLASS_MENTAL_HEALTH);
    r->add_positions_shown(17);
    r->add_positions_shown(18);
  }
  return entry;
}

// The agent whose type has `code` (DICOM or v3-ParticipationType).
json AgentOf(const json& audit, const std::string& code) {
  for (const json& agent : audit["agent"]) {
    for (const json& coding : agent["type"]["coding"]) {
      if (coding["code"] == code) return agent;
    }
  }
  return nullptr;
}

// Required by R4: type, recorded, agent (each with requestor), source with
// observer; and BALP's patient entity.
void ExpectAuditBasics(const json& audit) {
  EXPECT_EQ(audit["resourceType"], "AuditEvent");
  EXPECT_TRUE(IsFhirId(audit["id"]));
  EXPECT_TRUE(audit["type"].contains("code"));
  EXPECT_EQ(audit["recorded"], "2026-03-06T10:00:00.000Z");
  EXPECT_EQ(audit["period"]["start"], "2026-03-06T09:00:00.000Z");
  ASSERT_TRUE(audit["agent"].is_array());
  ASSERT_FALSE(audit["agent"].empty());
  int requestors = 0;
  for (const json& agent : audit["agent"]) {
    ASSERT_TRUE(agent.contains("requestor"));
    ASSERT_TRUE(agent.contains("who"));
    requestors += agent["requestor"].get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(requestors, 1);
  EXPECT_TRUE(audit["source"].contains("observer"));
  const json& patient = audit["entity"][0];
  EXPECT_EQ(patient["what"]["reference"], "Patient/c.11");
  EXPECT_EQ(patient["role"]["code"], "1");
  EXPECT_EQ(patient["type"]["code"], "1");
}

TEST(AuditEventOfTest, ReadUnderConsent) {
  const json audit = (AuditEventOf(
      "c_1", Access(v1::ACCESS_OUTCOME_SUCCESS, v1::ACCESS_BASIS_CONSENT,
                    "caseline.v1.ContinuityViews/GetClientSummary")));
  ExpectAuditBasics(audit);
  EXPECT_EQ(audit["id"], "0190f3b2-7c1d-7a00-8000-00000000000a");
  EXPECT_EQ(audit["type"]["system"],
            "http://terminology.hl7.org/CodeSystem/audit-event-type");
  EXPECT_EQ(audit["type"]["code"], "rest");
  EXPECT_EQ(audit["subtype"][0]["code"], "read");
  EXPECT_EQ(audit["action"], "R");
  EXPECT_EQ(audit["outcome"], "0");
  const json reader = AgentOf(audit, "110152");
  EXPECT_EQ(reader["who"]["reference"], "Organization/harbor-cm");
  EXPECT_EQ(reader["requestor"], false);
  const json user = AgentOf(audit, "IRCP");
  EXPECT_EQ(user["who"]["identifier"]["value"], "dana");
  EXPECT_EQ(user["requestor"], true);
  EXPECT_EQ(
      CodingOf(user["purposeOfUse"][0],
               "http://terminology.hl7.org/CodeSystem/v3-ActReason")["code"],
      "CAREMGT");
  EXPECT_EQ(CodingOf(user["role"][0], "urn:caseline:discipline")["code"],
            "social-work");
  EXPECT_EQ(AgentOf(audit, "110153")["who"]["display"], "Caseline");
  EXPECT_THAT(audit["entity"][0]["detail"],
              Contains(json({{"type", "consent"}, {"valueString", "k1"}})));
  EXPECT_THAT(audit["entity"][0]["detail"],
              Contains(json({{"type", "basis"}, {"valueString", "consent"}})));
  const json& data = audit["entity"][1];
  EXPECT_EQ(data["what"]["identifier"]["value"],
            "caseline.v1.ContinuityViews/GetClientSummary");
  EXPECT_THAT(data["securityLabel"], SizeIs(2));
}

TEST(AuditEventOfTest, QueryAcrossClients) {
  const json audit = (AuditEventOf(
      "c_1", Access(v1::ACCESS_OUTCOME_SUCCESS, v1::ACCESS_BASIS_CONSENT,
                    "caseline.v1.ContinuityViews/ListReferrals")));
  ExpectAuditBasics(audit);
  EXPECT_EQ(audit["subtype"][0]["code"], "search-type");
  EXPECT_EQ(audit["action"], "E");
  EXPECT_EQ(AgentOf(audit, "110153")["who"]["reference"],
            "Organization/harbor-cm");
  const json& query = audit["entity"][1];
  EXPECT_EQ(query["role"]["code"], "24");
  std::string decoded;
  ASSERT_TRUE(
      absl::Base64Unescape(query["query"].get<std::string>(), &decoded));
  EXPECT_EQ(decoded, "caseline.v1.ContinuityViews/ListReferrals");
  EXPECT_FALSE(query.contains("what"));
}

TEST(AuditEventOfTest, RefusedRead) {
  const json audit = (AuditEventOf(
      "c_1", Access(v1::ACCESS_OUTCOME_DENIED, v1::ACCESS_BASIS_UNSPECIFIED,
                    "caseline.v1.AuditViews/GetTimeline")));
  ExpectAuditBasics(audit);
  EXPECT_EQ(audit["outcome"], "4");
  EXPECT_TRUE(audit.contains("outcomeDesc"));
  EXPECT_FALSE(audit["entity"][1].contains("securityLabel"));
}

TEST(AuditEventOfTest, BreakTheGlass) {
  v1::TimelineEntry entry =
      Access(v1::ACCESS_OUTCOME_SUCCESS, v1::ACCESS_BASIS_BREAK_GLASS,
             "caseline.v1.EventLog/ReadStream");
  v1::RecordAccessed* r = entry.mutable_event()->mutable_record_accessed();
  r->set_purpose(v1::PURPOSE_OF_USE_EMERGENCY_TREATMENT);
  r->set_break_glass_reason("unconscious in the ED");
  const json audit = (AuditEventOf("c_1", entry));
  ExpectAuditBasics(audit);
  EXPECT_THAT(
      audit["subtype"],
      Contains(json({{"system", "http://dicom.nema.org/resources/ontology/DCM"},
                     {"code", "110127"},
                     {"display", "Emergency Override Started"}})));
  const json purpose = AgentOf(audit, "IRCP")["purposeOfUse"][0];
  std::vector<std::string> codes;
  for (const json& coding : purpose["coding"]) codes.push_back(coding["code"]);
  EXPECT_THAT(codes, Contains("ETREAT"));
  EXPECT_THAT(codes, Contains("BTG"));
  EXPECT_THAT(audit["entity"][0]["detail"],
              Contains(json({{"type", "break-glass-reason"},
                             {"valueString", "unconscious in the ED"}})));
}

TEST(AuditEventOfTest, CareEventIsACreate) {
  v1::TimelineEntry entry =
      Entry("0190f3b2-7c1d-7a00-8000-00000000000b", "mercy-hospital", "ari");
  entry.set_event_type("AdmissionRecorded");
  entry.set_summary("admitted (inpatient) to mercy-hospital, admission a.1");
  v1::AdmissionRecorded* a =
      entry.mutable_event()->mutable_admission_recorded();
  a->set_admission_id("a.1");
  a->set_facility_organization_id("mercy-hospital");
  const json audit = (AuditEventOf("c_1", entry));
  ExpectAuditBasics(audit);
  EXPECT_EQ(audit["type"]["code"], "rest");
  EXPECT_EQ(audit["subtype"][0]["code"], "create");
  EXPECT_EQ(audit["action"], "C");
  EXPECT_EQ(audit["outcome"], "0");
  EXPECT_EQ(AgentOf(audit, "AUT")["requestor"], true);
  EXPECT_EQ(AgentOf(audit, "110153")["who"]["reference"],
            "Organization/mercy-hospital");
  const json& data = audit["entity"][1];
  EXPECT_EQ(data["what"]["reference"], "Encounter/c.11..a.01");
  EXPECT_EQ(data["what"]["identifier"]["value"],
            "0190f3b2-7c1d-7a00-8000-00000000000b");
  EXPECT_EQ(data["name"], "AdmissionRecorded");
}

TEST(AuditEventOfTest, WithoutAUserTheOrganisationAsks) {
  v1::TimelineEntry entry =
      Entry("0190f3b2-7c1d-7a00-8000-00000000000c", "harbor-cm", "");
  entry.set_event_type("CaseOpened");
  entry.mutable_event()->mutable_case_opened()->set_reason("referral");
  const json audit = AuditEventOf("c_1", entry);
  ExpectAuditBasics(audit);
  EXPECT_EQ(AgentOf(audit, "110153")["requestor"], true);
  EXPECT_EQ(audit["entity"][1]["what"]["reference"], "EpisodeOfCare/c.11");
}

TEST(AuditEventOfTest, InformationDisclosed) {
  v1::TimelineEntry entry =
      Entry("0190f3b2-7c1d-7a00-8000-00000000000d", "mercy-hospital", "ari");
  entry.set_event_type("InformationDisclosed");
  v1::InformationDisclosed* d =
      entry.mutable_event()->mutable_information_disclosed();
  d->set_disclosure_id("d1");
  d->set_recipient_organization_id("county-court");
  d->add_data_classes(v1::DATA_CLASS_LEGAL);
  d->set_purpose(v1::PURPOSE_OF_USE_LEGAL);
  d->set_description("court-ordered release of the discharge summary");
  d->set_legal_basis("court order 2026-117");
  const json audit = (AuditEventOf("c_1", entry));
  ExpectAuditBasics(audit);
  EXPECT_EQ(audit["type"]["code"], "110106");
  EXPECT_EQ(audit["subtype"][0]["system"],
            "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle");
  EXPECT_EQ(audit["subtype"][0]["code"], "disclose");
  EXPECT_EQ(audit["action"], "R");
  EXPECT_EQ(AgentOf(audit, "110152")["who"]["reference"],
            "Organization/county-court");
  EXPECT_EQ(AgentOf(audit, "110153")["who"]["reference"],
            "Organization/mercy-hospital");
  const json& data = audit["entity"][1];
  EXPECT_EQ(data["what"]["identifier"]["value"], "d1");
  EXPECT_THAT(data["detail"],
              Contains(json({{"type", "legal-basis"},
                             {"valueString", "court order 2026-117"}})));
  EXPECT_EQ(
      CodingOf(audit["purposeOfEvent"][0],
               "http://terminology.hl7.org/CodeSystem/v3-ActReason")["code"],
      "HLEGAL");
}

TEST(AuditEventOfTest, ReferralSharingDataIsADisclosure) {
  v1::TimelineEntry entry =
      Entry("0190f3b2-7c1d-7a00-8000-00000000000e", "mercy-hospital", "ari");
  entry.set_event_type("ReferralSent");
  v1::ReferralSent* r = entry.mutable_event()->mutable_referral_sent();
  r->set_referral_id("r1");
  r->set_from_organization_id("mercy-hospital");
  r->set_to_organization_id("harbor-cm");
  r->add_shared_data_classes(v1::DATA_CLASS_GENERAL);
  const json shared = (AuditEventOf("c_1", entry));
  ExpectAuditBasics(shared);
  EXPECT_EQ(shared["type"]["code"], "110106");
  EXPECT_EQ(AgentOf(shared, "110152")["who"]["reference"],
            "Organization/harbor-cm");
  EXPECT_EQ(shared["entity"][1]["what"]["reference"],
            "ServiceRequest/c.11..r1");

  r->clear_shared_data_classes();
  const json plain = AuditEventOf("c_1", entry);
  EXPECT_EQ(plain["type"]["code"], "rest");
  EXPECT_EQ(plain["action"], "C");
}

// One of each kind of resource this file and transition_resources.cc map,
// written to the file
// CASELINE_FHIR_SAMPLES names (when set): ctest fhir_samples_schema validates
// them against the FHIR R4 JSON schema (tests/CMakeLists.txt).
TEST(SamplesTest, WritesSamplesForSchemaValidation) {
  const char* path = std::getenv("CASELINE_FHIR_SAMPLES");
  const v1::ClientState state = Record();
  json samples = json::array();
  for (const char* type : {"Encounter", "EpisodeOfCare", "CareTeam", "Goal"}) {
    for (json& r : CareResources(state, type)) samples.push_back(std::move(r));
  }
  // The Transitions of Care events (transition_resources.cc).
  v1::TransitionOfCareView trc;
  trc.set_id("n1");
  trc.set_admission_id("a.1");
  *trc.mutable_occurred_at() = At(2, 10);
  trc.set_recorded_by_organization_id("harbor-cm");
  trc.set_version(13);
  *trc.mutable_updated_at() = At(2, 11);
  samples.push_back(AdmissionNotificationOf("c_1", trc));
  samples.push_back(DischargeInformationOf("c_1", trc));
  trc.set_performer_discipline(v1::DISCIPLINE_NURSING);
  samples.push_back(MedicationReconciliationOf("c_1", trc));
  trc.clear_admission_id();
  trc.clear_performer_discipline();
  samples.push_back(MedicationReconciliationOf("c_1", trc));
  v1::TimelineEntry denied =
      Access(v1::ACCESS_OUTCOME_DENIED, v1::ACCESS_BASIS_UNSPECIFIED,
             "caseline.v1.AuditViews/GetTimeline");
  v1::TimelineEntry glass =
      Access(v1::ACCESS_OUTCOME_SUCCESS, v1::ACCESS_BASIS_BREAK_GLASS,
             "caseline.v1.EventLog/ReadStream");
  glass.mutable_event()->mutable_record_accessed()->set_break_glass_reason(
      "unconscious in the ED");
  v1::TimelineEntry admitted =
      Entry("0190f3b2-7c1d-7a00-8000-00000000000b", "mercy-hospital", "ari");
  admitted.set_event_type("AdmissionRecorded");
  admitted.mutable_event()->mutable_admission_recorded()->set_admission_id(
      "a.1");
  v1::TimelineEntry disclosed =
      Entry("0190f3b2-7c1d-7a00-8000-00000000000d", "mercy-hospital", "");
  disclosed.set_event_type("InformationDisclosed");
  v1::InformationDisclosed* d =
      disclosed.mutable_event()->mutable_information_disclosed();
  d->set_disclosure_id("d1");
  d->set_recipient_organization_id("county-court");
  d->add_data_classes(v1::DATA_CLASS_LEGAL);
  d->set_purpose(v1::PURPOSE_OF_USE_LEGAL);
  d->set_legal_basis("court order 2026-117");
  for (const v1::TimelineEntry& entry :
       {Access(v1::ACCESS_OUTCOME_SUCCESS, v1::ACCESS_BASIS_CONSENT,
               "caseline.v1.ContinuityViews/GetClientSummary"),
        Access(v1::ACCESS_OUTCOME_SUCCESS, v1::ACCESS_BASIS_CONSENT,
               "caseline.v1.ContinuityViews/ListReferrals"),
        denied, glass, admitted, disclosed}) {
    samples.push_back(AuditEventOf("c_1", entry));
  }
  for (const json& sample : samples) {
    EXPECT_TRUE(sample.is_object() && sample.contains("resourceType"))
        << sample.dump();
  }
  if (path == nullptr || *path == '\0') return;
  std::ofstream out(path);
  ASSERT_TRUE(out.good()) << path;
  for (const json& sample : samples) out << sample.dump() << "\n";  // NDJSON
  ASSERT_TRUE(out.good());
}

}  // namespace
}  // namespace caseline::server::fhir

namespace caseline::server::fhir {
namespace {

// Patient.birthDate carries what is known (FHIR's date allows a year or a
// year and month); text recorded instead of a date rides along as the core
// originalText extension on _birthDate.
TEST(PatientOfTest, PartialAndRecordedBirthDates) {
  v1::ClientState state;
  state.set_client_id("c1");
  state.set_registered(true);
  v1::ClientRegistered* details = state.mutable_details();
  details->mutable_name()->set_family("Okafor");
  details->mutable_birth_date()->set_year(1972);
  details->set_birth_date_recorded_as("1972-95-18");
  json patient = PatientOf(state);
  EXPECT_EQ(patient["birthDate"], "1972");
  EXPECT_EQ(patient["_birthDate"]["extension"][0]["url"],
            "http://hl7.org/fhir/StructureDefinition/originalText");
  EXPECT_EQ(patient["_birthDate"]["extension"][0]["valueString"],
            "1972-95-18");

  details->mutable_birth_date()->set_month(5);
  details->clear_birth_date_recorded_as();
  patient = PatientOf(state);
  EXPECT_EQ(patient["birthDate"], "1972-05");
  EXPECT_FALSE(patient.contains("_birthDate"));

  details->clear_birth_date();
  details->set_birth_date_recorded_as("about 1950");
  patient = PatientOf(state);
  EXPECT_FALSE(patient.contains("birthDate"));
  EXPECT_EQ(patient["_birthDate"]["extension"][0]["valueString"],
            "about 1950");
}

}  // namespace
}  // namespace caseline::server::fhir
