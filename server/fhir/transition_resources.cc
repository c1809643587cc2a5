// The Transitions of Care (HEDIS TRC) events as FHIR R4 resources
// (resources.h; docs/fhir.md "Communication" and "Procedure"):
// AdmissionNotificationReceived and DischargeInformationReceived are
// Communications received by the recording organisation;
// MedicationReconciliationRecorded is a Procedure (SNOMED CT 430193006).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/views.pb.h"
#include "server/fhir/codes.h"
#include "server/fhir/fhir_common.h"
#include "server/fhir/resources.h"

namespace caseline::server::fhir {
namespace {

using nlohmann::json;

json Coding(absl::string_view system, absl::string_view code,
            absl::string_view display) {
  return {{"system", std::string(system)},
          {"code", std::string(code)},
          {"display", std::string(display)}};
}

json MetaOf(const v1::TransitionOfCareView& view) {
  json meta = {{"versionId", absl::StrCat(view.version())}};
  if (view.has_updated_at()) meta["lastUpdated"] = Instant(view.updated_at());
  return meta;
}

// The kind's word in the Communication's logical id, its identifier system,
// its event type and the HEDIS TRC rate it counts for.
struct CommunicationKind {
  const char* id_part;
  const char* identifier_system;
  const char* event_type;
  const char* event_display;
  const char* topic;
};

constexpr CommunicationKind kNotification = {
    kNotificationIdPart, kAdmissionNotificationIdSystem,
    "AdmissionNotificationReceived", "Admission notification received",
    "Notification of inpatient admission"};
constexpr CommunicationKind kReceipt = {
    kReceiptIdPart, kDischargeInformationIdSystem,
    "DischargeInformationReceived", "Discharge information received",
    "Receipt of discharge information"};

json CommunicationOf(absl::string_view client_id, const CommunicationKind& kind,
                     const v1::TransitionOfCareView& view) {
  json category = {
      {"coding", json::array({Coding(kEventTypeSystem, kind.event_type,
                                     kind.event_display)})},
      {"text", kind.event_display}};
  if (&kind == &kNotification) {
    category["coding"].push_back(
        Coding(kCommunicationCategorySystem, "notification", "Notification"));
  }
  json communication = {
      {"resourceType", "Communication"},
      {"id", EncodeId({client_id, kind.id_part, view.id()})},
      {"meta", MetaOf(view)},
      {"identifier", json::array({{{"system", kind.identifier_system},
                                   {"value", view.id()}}})},
      {"status", "completed"},
      {"category", json::array({category})},
      {"subject", Reference("Patient", EncodeId({client_id}))},
      {"topic", {{"text", kind.topic}}},
  };
  if (!view.admission_id().empty()) {
    communication["encounter"] =
        Reference("Encounter", EncodeId({client_id, view.admission_id()}));
  }
  if (view.has_occurred_at()) {
    communication["received"] = Instant(view.occurred_at());
  }
  if (!view.recorded_by_organization_id().empty()) {
    communication["recipient"] = json::array({Reference(
        "Organization", EncodeId({view.recorded_by_organization_id()}))});
  }
  return communication;
}

}  // namespace

json AdmissionNotificationOf(absl::string_view client_id,
                             const v1::TransitionOfCareView& view) {
  return CommunicationOf(client_id, kNotification, view);
}

json DischargeInformationOf(absl::string_view client_id,
                            const v1::TransitionOfCareView& view) {
  return CommunicationOf(client_id, kReceipt, view);
}

json MedicationReconciliationOf(absl::string_view client_id,
                                const v1::TransitionOfCareView& view) {
  json performer = json::object();
  if (view.performer_discipline() != v1::DISCIPLINE_UNSPECIFIED) {
    performer["function"] = Concept(view.performer_discipline());
  }
  performer["actor"] =
      Reference("Organization", EncodeId({view.recorded_by_organization_id()}));
  json procedure = {
      {"resourceType", "Procedure"},
      {"id", EncodeId({client_id, view.id()})},
      {"meta", MetaOf(view)},
      {"identifier",
       json::array({{{"system", kMedicationReconciliationIdSystem},
                     {"value", view.id()}}})},
      {"status", "completed"},
      {"category",
       {{"coding", json::array({Coding(kEventTypeSystem,
                                       "MedicationReconciliationRecorded",
                                       "Medication reconciliation recorded")})},
        {"text", "Medication reconciliation recorded"}}},
      {"code",
       {{"coding",
         json::array({Coding(kSnomedSystem, kMedicationReconciliationCode,
                             "Medication reconciliation (procedure)")})},
        {"text", "Medication reconciliation"}}},
      {"subject", Reference("Patient", EncodeId({client_id}))},
      {"performer", json::array({performer})},
  };
  if (!view.admission_id().empty()) {
    procedure["encounter"] =
        Reference("Encounter", EncodeId({client_id, view.admission_id()}));
  }
  if (view.has_occurred_at()) {
    procedure["performedDateTime"] = Instant(view.occurred_at());
  }
  return procedure;
}

std::vector<json> TransitionResources(const v1::ClientState& state,
                                      absl::string_view type) {
  std::vector<json> out;
  const std::string& client = state.client_id();
  if (type == "Communication") {
    for (const v1::TransitionOfCareView& v : state.admission_notifications()) {
      out.push_back(AdmissionNotificationOf(client, v));
    }
    for (const v1::TransitionOfCareView& v : state.discharge_information()) {
      out.push_back(DischargeInformationOf(client, v));
    }
  } else if (type == "Procedure") {
    for (const v1::TransitionOfCareView& v :
         state.medication_reconciliations()) {
      out.push_back(MedicationReconciliationOf(client, v));
    }
  }
  return out;
}

}  // namespace caseline::server::fhir
