// The Transitions of Care (HEDIS TRC) events as Communication and Procedure
// resources, from the record's fold to FHIR JSON, and the writes that record
// them (transition_resources.cc, transition_writes.cc).
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "care/client_record.h"
#include "care/client_state.h"
#include "care/proto_time.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/views.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/fhir/resources.h"
#include "server/fhir/transition_writes.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

absl::Time Utc(int day, int hour) {
  return absl::FromCivil(absl::CivilSecond(2026, 3, day, hour, 0, 0),
                         absl::UTCTimeZone());
}

// A client admitted (a.1) at a hospital; a primary care practice is told of
// the admission, gets the discharge information and reconciles the
// medications; the record is folded as the projection folds it.
class TransitionResourcesTest : public ::testing::Test {
 protected:
  void Apply(const v1::CareEvent& e, absl::Time at, const char* org) {
    care::CareEventContext context;
    context.stream_version =
        record_.version.has_value() ? *record_.version + 1 : 0;
    context.global_position = 500 + context.stream_version;
    context.occurred_at = at;
    context.recorded_at = at + absl::Hours(1);
    context.organization_id = org;
    record_.Apply(e, context);
  }

  v1::ClientState Fold() {
    v1::CareEvent e;
    e.mutable_client_registered()->mutable_name()->set_given("Ada");
    Apply(e, Utc(1, 8), "mercy-hospital");
    e.Clear();
    e.mutable_admission_recorded()->set_admission_id("a.1");
    e.mutable_admission_recorded()->set_facility_organization_id(
        "mercy-hospital");
    e.mutable_admission_recorded()->set_level_of_care(
        v1::LEVEL_OF_CARE_INPATIENT);
    Apply(e, Utc(1, 9), "mercy-hospital");
    e.Clear();
    e.mutable_admission_notification_received()->set_notification_id("n_1");
    e.mutable_admission_notification_received()->set_admission_id("a.1");
    Apply(e, Utc(2, 10), "harbor_pc");  // version 2
    e.Clear();
    e.mutable_discharge_information_received()->set_receipt_id("r1");
    e.mutable_discharge_information_received()->set_admission_id("a.1");
    Apply(e, Utc(6, 11), "harbor_pc");  // version 3
    e.Clear();
    auto* rec = e.mutable_medication_reconciliation_recorded();
    rec->set_reconciliation_id("m1");
    rec->set_admission_id("a.1");
    rec->set_performer_discipline(v1::DISCIPLINE_NURSING);
    Apply(e, Utc(8, 12), "harbor_pc");  // version 4
    e.Clear();
    rec = e.mutable_medication_reconciliation_recorded();
    rec->set_reconciliation_id("m2");
    rec->set_performer_discipline(v1::DISCIPLINE_MEDICINE);
    Apply(e, Utc(9, 12), "harbor_pc");  // version 5, no admission named
    return care::ClientStateOf(record_, Utc(10, 0));
  }

  care::ClientRecord record_{"c_1"};
};

TEST_F(TransitionResourcesTest, TheStateListsEachEventWithItsVersion) {
  const v1::ClientState state = Fold();
  ASSERT_THAT(state.admission_notifications(), SizeIs(1));
  ASSERT_THAT(state.discharge_information(), SizeIs(1));
  ASSERT_THAT(state.medication_reconciliations(), SizeIs(2));
  const v1::TransitionOfCareView& n = state.admission_notifications(0);
  EXPECT_EQ(n.id(), "n_1");
  EXPECT_EQ(n.admission_id(), "a.1");
  EXPECT_EQ(n.recorded_by_organization_id(), "harbor_pc");
  EXPECT_EQ(care::ToTime(n.occurred_at()), Utc(2, 10));
  EXPECT_EQ(n.version(), 2u);
  EXPECT_EQ(care::ToTime(n.updated_at()), Utc(2, 11));
  EXPECT_EQ(n.performer_discipline(), v1::DISCIPLINE_UNSPECIFIED);
  EXPECT_EQ(state.discharge_information(0).version(), 3u);
  const v1::TransitionOfCareView& m = state.medication_reconciliations(0);
  EXPECT_EQ(m.id(), "m1");
  EXPECT_EQ(m.performer_discipline(), v1::DISCIPLINE_NURSING);
  EXPECT_EQ(m.version(), 4u);
  EXPECT_EQ(state.medication_reconciliations(1).admission_id(), "");
}

TEST_F(TransitionResourcesTest, AdmissionNotificationIsACommunication) {
  const v1::ClientState state = Fold();
  const json c =
      AdmissionNotificationOf("c_1", state.admission_notifications(0));
  EXPECT_EQ(c["resourceType"], "Communication");
  EXPECT_EQ(c["id"], "c.11..notification..n.11");
  EXPECT_EQ(c["meta"]["versionId"], "2");
  EXPECT_EQ(c["meta"]["lastUpdated"], "2026-03-02T11:00:00.000Z");
  EXPECT_EQ(c["identifier"][0]["system"],
            "urn:caseline:admission-notification-id");
  EXPECT_EQ(c["identifier"][0]["value"], "n_1");
  EXPECT_EQ(c["status"], "completed");
  const json& coding = c["category"][0]["coding"];
  EXPECT_EQ(coding[0]["system"], "urn:caseline:event-type");
  EXPECT_EQ(coding[0]["code"], "AdmissionNotificationReceived");
  EXPECT_EQ(coding[1]["system"],
            "http://terminology.hl7.org/CodeSystem/communication-category");
  EXPECT_EQ(coding[1]["code"], "notification");
  EXPECT_EQ(c["subject"]["reference"], "Patient/c.11");
  EXPECT_EQ(c["encounter"]["reference"], "Encounter/c.11..a.01");
  EXPECT_EQ(c["received"], "2026-03-02T10:00:00.000Z");
  EXPECT_EQ(c["recipient"][0]["reference"], "Organization/harbor.1pc");
  EXPECT_EQ(c["topic"]["text"], "Notification of inpatient admission");
}

TEST_F(TransitionResourcesTest, DischargeInformationIsACommunication) {
  const v1::ClientState state = Fold();
  const json c = DischargeInformationOf("c_1", state.discharge_information(0));
  EXPECT_EQ(c["id"], "c.11..receipt..r1");
  EXPECT_EQ(c["identifier"][0]["system"],
            "urn:caseline:discharge-information-id");
  EXPECT_EQ(c["category"][0]["coding"][0]["code"],
            "DischargeInformationReceived");
  EXPECT_THAT(c["category"][0]["coding"], SizeIs(1));
  EXPECT_EQ(c["received"], "2026-03-06T11:00:00.000Z");
  EXPECT_EQ(c["topic"]["text"], "Receipt of discharge information");
}

TEST_F(TransitionResourcesTest, MedicationReconciliationIsAProcedure) {
  const v1::ClientState state = Fold();
  const json p =
      MedicationReconciliationOf("c_1", state.medication_reconciliations(0));
  EXPECT_EQ(p["resourceType"], "Procedure");
  EXPECT_EQ(p["id"], "c.11..m1");
  EXPECT_EQ(p["meta"]["versionId"], "4");
  EXPECT_EQ(p["status"], "completed");
  EXPECT_EQ(p["code"]["coding"][0]["system"], "http://snomed.info/sct");
  EXPECT_EQ(p["code"]["coding"][0]["code"], "430193006");
  EXPECT_EQ(p["code"]["coding"][0]["display"],
            "Medication reconciliation (procedure)");
  EXPECT_EQ(p["subject"]["reference"], "Patient/c.11");
  EXPECT_EQ(p["encounter"]["reference"], "Encounter/c.11..a.01");
  EXPECT_EQ(p["performedDateTime"], "2026-03-08T12:00:00.000Z");
  EXPECT_EQ(p["performer"][0]["actor"]["reference"], "Organization/harbor.1pc");
  EXPECT_EQ(p["performer"][0]["function"]["coding"][0]["system"],
            "urn:caseline:discipline");
  EXPECT_EQ(p["performer"][0]["function"]["coding"][0]["code"], "nursing");
  const json without =
      MedicationReconciliationOf("c_1", state.medication_reconciliations(1));
  EXPECT_FALSE(without.contains("encounter"));
}

TEST_F(TransitionResourcesTest, ClientResourcesServeBothTypes) {
  const v1::ClientState state = Fold();
  EXPECT_THAT(ClientResources(state, "Communication"), SizeIs(2));
  EXPECT_THAT(ClientResources(state, "Procedure"), SizeIs(2));
  const std::vector<std::string>& types = ClientResourceTypes();
  EXPECT_EQ(types[types.size() - 2], "Communication");
  EXPECT_EQ(types.back(), "Procedure");
}

// --- Writes -----------------------------------------------------------------

json Notification() {
  return json::parse(R"({
    "resourceType": "Communication",
    "identifier": [{"system": "urn:ehr:msg", "value": "ignored"},
                   {"system": "urn:caseline:admission-notification-id",
                    "value": "n_1"}],
    "status": "completed",
    "category": [{"coding": [{"system": "urn:caseline:event-type",
                              "code": "AdmissionNotificationReceived"}]}],
    "subject": {"reference": "Patient/c.11"},
    "encounter": {"reference": "Encounter/c.11..a.01"},
    "received": "2026-03-02T10:00:00Z",
    "recipient": [{"reference": "Organization/harbor.1pc"}]
  })");
}

TEST(CommunicationCommandOfTest, AnAdmissionNotification) {
  absl::StatusOr<TransitionWrite> w =
      CommunicationCommandOf(Notification(), "harbor_pc", std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->resource_type, "Communication");
  EXPECT_EQ(w->logical_id, "c.11..notification..n.11");
  EXPECT_EQ(w->fields.client_id, "c_1");
  EXPECT_EQ(w->fields.command_id, "fhir:Communication:notification:n_1");
  ASSERT_TRUE(w->fields.occurred_at.has_value());
  EXPECT_EQ(*w->fields.occurred_at, Utc(2, 10));
  const auto& e = w->fields.event.admission_notification_received();
  EXPECT_EQ(e.notification_id(), "n_1");
  EXPECT_EQ(e.admission_id(), "a.1");
}

TEST(CommunicationCommandOfTest, DischargeInformationWithAGeneratedId) {
  json c = Notification();
  c.erase("identifier");
  c.erase("recipient");
  c.erase("received");
  c["category"][0]["coding"][0]["code"] = "DischargeInformationReceived";
  absl::StatusOr<TransitionWrite> w =
      CommunicationCommandOf(c, "harbor_pc", std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status();
  const auto& e = w->fields.event.discharge_information_received();
  EXPECT_THAT(e.receipt_id(), StartsWith("receipt-"));
  EXPECT_EQ(e.admission_id(), "a.1");
  EXPECT_FALSE(w->fields.occurred_at.has_value());
  EXPECT_EQ(w->fields.command_id,
            "fhir:Communication:receipt:" + e.receipt_id());
  // If-None-Exist names the id when the body has no identifier.
  w = CommunicationCommandOf(c, "harbor_pc", std::string("r9"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->fields.event.discharge_information_received().receipt_id(),
            "r9");
}

TEST(CommunicationCommandOfTest, Refusals) {
  auto refusal = [](json c, const char* caller = "harbor_pc") {
    return CommunicationCommandOf(c, caller, std::nullopt).status();
  };
  json c = Notification();
  c["status"] = "in-progress";
  EXPECT_THAT(std::string(refusal(c).message()),
              StartsWith("Communication.status: "));
  c = Notification();
  c.erase("category");
  EXPECT_THAT(std::string(refusal(c).message()),
              StartsWith("Communication.category: "));
  c = Notification();
  c["category"][0]["coding"].push_back(
      {{"system", "urn:caseline:event-type"},
       {"code", "DischargeInformationReceived"}});
  EXPECT_THAT(std::string(refusal(c).message()),
              StartsWith("Communication.category: "));
  c = Notification();
  c.erase("subject");
  EXPECT_THAT(std::string(refusal(c).message()),
              StartsWith("Communication.subject: "));
  c = Notification();
  c.erase("encounter");
  EXPECT_THAT(std::string(refusal(c).message()),
              StartsWith("Communication.encounter: is required"));
  c = Notification();
  c["encounter"]["reference"] = "Encounter/c2..a.01";
  EXPECT_THAT(std::string(refusal(c).message()), HasSubstr("another client's"));
  c = Notification();
  c["received"] = "yesterday";
  EXPECT_THAT(std::string(refusal(c).message()),
              StartsWith("Communication.received: "));
  const absl::Status other = refusal(Notification(), "mercy-hospital");
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(other.message()),
              StartsWith("Communication.recipient: "));
}

json Reconciliation() {
  return json::parse(R"({
    "resourceType": "Procedure",
    "identifier": [{"value": "m1"}],
    "status": "completed",
    "code": {"coding": [{"system": "http://snomed.info/sct",
                         "code": "430193006"}]},
    "subject": {"reference": "Patient/c.11"},
    "encounter": {"reference": "Encounter/c.11..a.01"},
    "performedDateTime": "2026-03-08T12:00:00Z",
    "performer": [{"function": {"coding": [{"system": "urn:caseline:discipline",
                                            "code": "nursing"}]},
                   "actor": {"reference": "Organization/harbor.1pc"}}]
  })");
}

TEST(ProcedureCommandOfTest, AMedicationReconciliation) {
  absl::StatusOr<TransitionWrite> w =
      ProcedureCommandOf(Reconciliation(), "harbor_pc", std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->resource_type, "Procedure");
  EXPECT_EQ(w->logical_id, "c.11..m1");
  EXPECT_EQ(w->fields.command_id, "fhir:Procedure:m1");
  EXPECT_EQ(*w->fields.occurred_at, Utc(8, 12));
  const auto& e = w->fields.event.medication_reconciliation_recorded();
  EXPECT_EQ(e.reconciliation_id(), "m1");
  EXPECT_EQ(e.admission_id(), "a.1");
  EXPECT_EQ(e.performer_discipline(), v1::DISCIPLINE_NURSING);
  // Without an encounter it names no admission.
  json p = Reconciliation();
  p.erase("encounter");
  w = ProcedureCommandOf(p, "harbor_pc", std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->fields.event.medication_reconciliation_recorded().admission_id(),
            "");
}

TEST(ProcedureCommandOfTest, Refusals) {
  auto refusal = [](json p, const char* caller = "harbor_pc") {
    return ProcedureCommandOf(p, caller, std::nullopt).status();
  };
  json p = Reconciliation();
  p["code"]["coding"][0]["code"] = "182836005";
  EXPECT_THAT(std::string(refusal(p).message()),
              StartsWith("Procedure.code: "));
  p = Reconciliation();
  p["status"] = "preparation";
  EXPECT_THAT(std::string(refusal(p).message()),
              StartsWith("Procedure.status: "));
  p = Reconciliation();
  p.erase("performedDateTime");
  p["performedPeriod"] = {{"start", "2026-03-08"}};
  EXPECT_THAT(std::string(refusal(p).message()),
              StartsWith("Procedure.performed[x]: "));
  p = Reconciliation();
  p["performer"].push_back(p["performer"][0]);
  EXPECT_THAT(std::string(refusal(p).message()),
              StartsWith("Procedure.performer: "));
  p = Reconciliation();
  p["performer"][0]["function"]["coding"][0]["code"] = "wizardry";
  EXPECT_THAT(std::string(refusal(p).message()),
              StartsWith("Procedure.performer.function"));
  const absl::Status other = refusal(Reconciliation(), "mercy-hospital");
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(other.message()),
              StartsWith("Procedure.performer.actor: "));
}

}  // namespace
}  // namespace caseline::server::fhir
