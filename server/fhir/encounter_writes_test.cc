#include "server/fhir/encounter_writes.h"

#include <string>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "care/proto_time.h"
#include "caseline/v1/views.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/fhir/resources.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using Kind = EncounterWrite::Kind;

absl::Time Utc(int day, int hour) {
  return absl::FromCivil(absl::CivilSecond(2026, 3, day, hour, 0, 0),
                         absl::UTCTimeZone());
}

// A hospital's admission as an EHR would post it.
json Admitted() {
  return json::parse(R"({
    "resourceType": "Encounter",
    "identifier": [
      {"system": "urn:mrn:mercy", "value": "V-0091"},
      {"system": "urn:caseline:admission-id", "value": "a.1"}
    ],
    "status": "in-progress",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
              "code": "IMP"},
    "subject": {"reference": "Patient/c.11"},
    "serviceProvider": {"reference": "Organization/mercy-hospital"},
    "reasonCode": [
      {"coding": [{"system": "http://snomed.info/sct", "code": "35489007"}]},
      {"coding": [{"system": "urn:caseline:service-category",
                   "code": "mental-health"}]}
    ],
    "period": {"start": "2026-03-01T08:00:00Z"}
  })");
}

json Finished() {
  return json::parse(R"({
    "resourceType": "Encounter",
    "identifier": [{"system": "urn:caseline:admission-id", "value": "a.1"}],
    "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
              "code": "IMP"},
    "subject": {"reference": "Patient/c.11"},
    "period": {"start": "2026-03-01T08:00:00Z", "end": "2026-03-05T14:00:00Z"},
    "hospitalization": {"dischargeDisposition": {"coding": [
      {"system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
       "code": "aadvice"}]}}
  })");
}

void ExpectInvalid(const absl::StatusOr<EncounterWrite>& write,
                   const std::string& element) {
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(write.status().message()), StartsWith(element + ":"));
}

TEST(EncounterPostTest, AdmissionWithIdentifier) {
  absl::StatusOr<EncounterWrite> write = EncounterPost(Admitted());
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->kind, Kind::kAdmission);
  EXPECT_EQ(write->client_id, "c_1");
  EXPECT_EQ(write->admission_id, "a.1");
  EXPECT_TRUE(write->admission_id_given);
  const v1::RecordAdmissionRequest& request = write->admission;
  EXPECT_EQ(request.command_id(), "fhir:Encounter:a.1:admit");
  EXPECT_EQ(request.client_id(), "c_1");
  EXPECT_EQ(care::ToTime(request.occurred_at()), Utc(1, 8));
  EXPECT_EQ(request.admission_recorded().admission_id(), "a.1");
  EXPECT_EQ(request.admission_recorded().facility_organization_id(),
            "mercy-hospital");
  EXPECT_EQ(request.admission_recorded().level_of_care(),
            v1::LEVEL_OF_CARE_INPATIENT);
  EXPECT_EQ(request.admission_recorded().primary_need(),
            v1::SERVICE_CATEGORY_MENTAL_HEALTH);
  EXPECT_FALSE(write->discharge.has_discharge_recorded());
}

TEST(EncounterPostTest, RetryGivesTheSameCommand) {
  absl::StatusOr<EncounterWrite> first = EncounterPost(Admitted());
  absl::StatusOr<EncounterWrite> again = EncounterPost(Admitted());
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first->admission.SerializeAsString(),
            again->admission.SerializeAsString());
}

TEST(EncounterPostTest, FirstIdentifierWithoutCaselineSystem) {
  json encounter = Admitted();
  encounter["identifier"] =
      json::array({{{"system", "urn:mrn:mercy"}, {"value", "V-0091"}}});
  absl::StatusOr<EncounterWrite> write = EncounterPost(encounter);
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->admission_id, "V-0091");
  EXPECT_EQ(write->admission.command_id(), "fhir:Encounter:V-0091:admit");
}

TEST(EncounterPostTest, NoIdentifierGeneratesAnAdmissionId) {
  json encounter = Admitted();
  encounter.erase("identifier");
  absl::StatusOr<EncounterWrite> one = EncounterPost(encounter);
  absl::StatusOr<EncounterWrite> two = EncounterPost(encounter);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_THAT(one->admission_id, MatchesRegex("adm-[0-9a-f]{16}"));
  EXPECT_FALSE(one->admission_id_given);
  EXPECT_NE(one->admission_id, two->admission_id);
  EXPECT_EQ(one->admission.admission_recorded().admission_id(),
            one->admission_id);
}

TEST(EncounterPostTest, ArrivedEmergencyVisitWithSdohReason) {
  json encounter = Admitted();
  encounter["status"] = "arrived";
  encounter["class"]["code"] = "EMER";
  encounter["reasonCode"] = json::array(
      {{{"coding",
         json::array({{{"system",
                        "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/"
                        "SDOHCC-CodeSystemTemporaryCodes"},
                       {"code", "food-insecurity"}}})}}});
  encounter.erase("period");
  absl::StatusOr<EncounterWrite> write = EncounterPost(encounter);
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->admission.admission_recorded().level_of_care(),
            v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT);
  EXPECT_EQ(write->admission.admission_recorded().primary_need(),
            v1::SERVICE_CATEGORY_FOOD);
  EXPECT_FALSE(write->admission.has_occurred_at());
}

TEST(EncounterPostTest, CaselineLevelInTypeIsPreciser) {
  json encounter = Admitted();
  encounter["class"]["code"] = "NONAC";
  encounter["type"] = json::array(
      {{{"coding", json::array({{{"system", "urn:caseline:level-of-care"},
                                 {"code", "skilled-nursing"}}})}}});
  absl::StatusOr<EncounterWrite> write = EncounterPost(encounter);
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->admission.admission_recorded().level_of_care(),
            v1::LEVEL_OF_CARE_SKILLED_NURSING);
}

TEST(EncounterPostTest, Discharge) {
  absl::StatusOr<EncounterWrite> write = EncounterPost(Finished());
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->kind, Kind::kDischarge);
  const v1::RecordDischargeRequest& request = write->discharge;
  EXPECT_EQ(request.command_id(), "fhir:Encounter:a.1:discharge");
  EXPECT_EQ(request.client_id(), "c_1");
  EXPECT_EQ(care::ToTime(request.occurred_at()), Utc(5, 14));
  EXPECT_EQ(request.discharge_recorded().admission_id(), "a.1");
  EXPECT_EQ(request.discharge_recorded().disposition(),
            v1::DISCHARGE_DISPOSITION_AGAINST_MEDICAL_ADVICE);
  EXPECT_FALSE(write->admission.has_admission_recorded());
}

TEST(EncounterPostTest, DischargeDispositions) {
  json encounter = Finished();
  json& disposition = encounter["hospitalization"]["dischargeDisposition"];
  disposition["coding"][0]["code"] = "snf";
  absl::StatusOr<EncounterWrite> write = EncounterPost(encounter);
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->discharge.discharge_recorded().disposition(),
            v1::DISCHARGE_DISPOSITION_TRANSFER);
  // Caseline's own coding is exact, wherever it is.
  disposition["coding"].push_back(
      {{"system", "urn:caseline:discharge-disposition"}, {"code", "shelter"}});
  write = EncounterPost(encounter);
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->discharge.discharge_recorded().disposition(),
            v1::DISCHARGE_DISPOSITION_SHELTER);
  encounter["hospitalization"].erase("dischargeDisposition");
  write = EncounterPost(encounter);
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->discharge.discharge_recorded().disposition(),
            v1::DISCHARGE_DISPOSITION_UNSPECIFIED);
  encounter["hospitalization"]["dischargeDisposition"] = {
      {"coding", json::array({{{"system", "urn:other"}, {"code", "x"}}})}};
  ExpectInvalid(EncounterPost(encounter),
                "Encounter.hospitalization.dischargeDisposition");
}

TEST(EncounterPostTest, RefusalsNameTheElement) {
  json encounter = Admitted();
  encounter["resourceType"] = "Patient";
  ExpectInvalid(EncounterPost(encounter), "Encounter.resourceType");
  ExpectInvalid(EncounterPost(json::array()), "Encounter.resourceType");

  encounter = Admitted();
  encounter["status"] = "planned";
  ExpectInvalid(EncounterPost(encounter), "Encounter.status");
  encounter.erase("status");
  ExpectInvalid(EncounterPost(encounter), "Encounter.status");

  encounter = Admitted();
  encounter.erase("subject");
  ExpectInvalid(EncounterPost(encounter), "Encounter.subject");
  encounter["subject"] = {{"reference", "Group/c.11"}};
  ExpectInvalid(EncounterPost(encounter), "Encounter.subject");
  encounter["subject"] = {{"reference", "Patient/c..x"}};
  ExpectInvalid(EncounterPost(encounter), "Encounter.subject");

  encounter = Admitted();
  encounter.erase("serviceProvider");
  ExpectInvalid(EncounterPost(encounter), "Encounter.serviceProvider");

  encounter = Admitted();
  encounter.erase("class");
  ExpectInvalid(EncounterPost(encounter), "Encounter.class");
  encounter["class"] = {{"system",
                         "http://terminology.hl7.org/CodeSystem/"
                         "v3-ActCode"},
                        {"code", "VR"}};
  ExpectInvalid(EncounterPost(encounter), "Encounter.class");

  encounter = Admitted();
  encounter["period"]["start"] = "yesterday";
  ExpectInvalid(EncounterPost(encounter), "Encounter.period.start");

  encounter = Admitted();
  encounter["reasonCode"] = json::array(
      {{{"coding", json::array({{{"system", "urn:caseline:service-category"},
                                 {"code", "housing-first"}}})}}});
  ExpectInvalid(EncounterPost(encounter), "Encounter.reasonCode");

  encounter = Admitted();
  encounter["identifier"] = json::array(
      {{{"system", "urn:caseline:admission-id"}, {"value", "a/1"}}});
  ExpectInvalid(EncounterPost(encounter), "Encounter.identifier");

  encounter = Finished();
  encounter.erase("identifier");
  ExpectInvalid(EncounterPost(encounter), "Encounter.identifier");
}

TEST(EncounterPutTest, DischargeByLogicalId) {
  json encounter = Finished();
  encounter.erase("identifier");
  encounter["id"] = "c.11..a.01";
  absl::StatusOr<EncounterWrite> write = EncounterPut("c.11..a.01", encounter);
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->kind, Kind::kDischarge);
  EXPECT_EQ(write->client_id, "c_1");
  EXPECT_EQ(write->admission_id, "a.1");
  EXPECT_EQ(write->discharge.command_id(), "fhir:Encounter:a.1:discharge");
  EXPECT_EQ(write->discharge.client_id(), "c_1");
}

TEST(EncounterPutTest, AdmissionByLogicalId) {
  json encounter = Admitted();
  encounter.erase("identifier");
  absl::StatusOr<EncounterWrite> write = EncounterPut("c.11..a.01", encounter);
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_EQ(write->kind, Kind::kAdmission);
  EXPECT_TRUE(write->admission_id_given);
  EXPECT_EQ(write->admission.admission_recorded().admission_id(), "a.1");
}

TEST(EncounterPutTest, BodyMustAgreeWithTheUrl) {
  EXPECT_EQ(EncounterPut("c.11", Finished()).status().code(),
            absl::StatusCode::kNotFound);
  json encounter = Finished();
  encounter["id"] = "c.11..a2";
  ExpectInvalid(EncounterPut("c.11..a.01", encounter), "Encounter.id");
  encounter = Finished();
  encounter["subject"]["reference"] = "Patient/c2";
  ExpectInvalid(EncounterPut("c.11..a.01", encounter), "Encounter.subject");
  encounter = Finished();
  ExpectInvalid(EncounterPut("c.11..a2", encounter), "Encounter.identifier");
  encounter.erase("subject");
  encounter.erase("identifier");
  EXPECT_TRUE(EncounterPut("c.11..a2", encounter).ok());
}

// What the server serves reads back as the same admission and discharge.
TEST(EncounterRoundTripTest, ServedEncounterWritesTheSame) {
  v1::ClientState state;
  state.set_client_id("c_1");
  v1::AdmissionView admission;
  admission.set_admission_id("a.1");
  admission.set_facility_organization_id("mercy-hospital");
  admission.set_level_of_care(v1::LEVEL_OF_CARE_DETOX);
  admission.set_primary_need(v1::SERVICE_CATEGORY_SUBSTANCE_USE);
  care::SetTimestamp(Utc(1, 8), admission.mutable_admitted_at());
  json served = EncounterOf("c_1", admission, state);
  absl::StatusOr<EncounterWrite> admit =
      EncounterPut(served["id"].get<std::string>(), served);
  ASSERT_TRUE(admit.ok()) << admit.status();
  const v1::AdmissionRecorded& a = admit->admission.admission_recorded();
  EXPECT_EQ(a.admission_id(), "a.1");
  EXPECT_EQ(a.facility_organization_id(), "mercy-hospital");
  EXPECT_EQ(a.level_of_care(), v1::LEVEL_OF_CARE_DETOX);
  EXPECT_EQ(a.primary_need(), v1::SERVICE_CATEGORY_SUBSTANCE_USE);
  EXPECT_EQ(care::ToTime(admit->admission.occurred_at()), Utc(1, 8));
  // And posted with its identifier.
  absl::StatusOr<EncounterWrite> posted = EncounterPost(served);
  ASSERT_TRUE(posted.ok()) << posted.status();
  EXPECT_EQ(posted->admission.SerializeAsString(),
            admit->admission.SerializeAsString());

  care::SetTimestamp(Utc(3, 12), admission.mutable_discharged_at());
  admission.set_disposition(v1::DISCHARGE_DISPOSITION_SHELTER);
  served = EncounterOf("c_1", admission, state);
  absl::StatusOr<EncounterWrite> discharge = EncounterPost(served);
  ASSERT_TRUE(discharge.ok()) << discharge.status();
  EXPECT_EQ(discharge->kind, Kind::kDischarge);
  EXPECT_EQ(discharge->discharge.discharge_recorded().disposition(),
            v1::DISCHARGE_DISPOSITION_SHELTER);
  EXPECT_EQ(care::ToTime(discharge->discharge.occurred_at()), Utc(3, 12));
}

}  // namespace
}  // namespace caseline::server::fhir
