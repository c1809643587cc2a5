// The care record as FHIR R4 resources (docs/fhir.md "Resources"): pure
// functions from the views' messages to FHIR JSON. Every resource gets its
// logical id (fhir_common.h EncodeId), meta.versionId (the client stream's
// version at the last event that changed it) and meta.lastUpdated (that
// event's recorded time).
#ifndef CASELINE_SERVER_FHIR_RESOURCES_H_
#define CASELINE_SERVER_FHIR_RESOURCES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/views.pb.h"
#include "nlohmann/json.hpp"

namespace caseline::server::fhir {

// Caseline's extensions: kExtensionPrefix + name (docs/fhir.md).
inline constexpr char kExtensionPrefix[] = "urn:caseline:fhir:extension:";

// Identifier systems (docs/fhir.md "Identifiers").
inline constexpr char kClientIdSystem[] = "urn:caseline:client-id";
inline constexpr char kReferralIdSystem[] = "urn:caseline:referral-id";
inline constexpr char kConsentIdSystem[] = "urn:caseline:consent-id";
inline constexpr char kAdmissionIdSystem[] = "urn:caseline:admission-id";
inline constexpr char kOrganizationIdSystem[] = "urn:caseline:organization-id";
inline constexpr char kGoalIdSystem[] = "urn:caseline:goal-id";
inline constexpr char kCareTeamMemberIdSystem[] =
    "urn:caseline:care-team-member-id";
inline constexpr char kUserIdSystem[] = "urn:caseline:user-id";
inline constexpr char kEventIdSystem[] = "urn:caseline:event-id";
inline constexpr char kDisclosureIdSystem[] = "urn:caseline:disclosure-id";
inline constexpr char kOperationSystem[] = "urn:caseline:operation";
inline constexpr char kAdmissionNotificationIdSystem[] =
    "urn:caseline:admission-notification-id";
inline constexpr char kDischargeInformationIdSystem[] =
    "urn:caseline:discharge-information-id";
inline constexpr char kMedicationReconciliationIdSystem[] =
    "urn:caseline:medication-reconciliation-id";
// Caseline's event types as codes (e.g. "AdmissionNotificationReceived"):
// the category of the Transitions of Care Communications and Procedure.
inline constexpr char kEventTypeSystem[] = "urn:caseline:event-type";
inline constexpr char kCommunicationCategorySystem[] =
    "http://terminology.hl7.org/CodeSystem/communication-category";
inline constexpr char kSnomedSystem[] = "http://snomed.info/sct";
// SNOMED CT 430193006 "Medication reconciliation (procedure)".
inline constexpr char kMedicationReconciliationCode[] = "430193006";
// The middle part of a Communication's logical id: which TRC event it is
// (<client>..notification..<notification id>, <client>..receipt..<receipt
// id>), since notification and receipt ids are separate per client.
inline constexpr char kNotificationIdPart[] = "notification";
inline constexpr char kReceiptIdPart[] = "receipt";

// Patient/<client>: name, birth date, gender, telecom, address, language,
// identifiers (Caseline's and the organisations'), links to records linked
// as the same person (link.type "seealso").
nlohmann::json PatientOf(const v1::ClientState& state);
// Organization/<organization>.
nlohmann::json OrganizationOf(const v1::OrganizationRegistered& organization);
// Consent/<client>..<consent>: status "active" when `in_force`, else
// "inactive" (revoked with effect, or its period over or not yet begun).
nlohmann::json ConsentOf(absl::string_view client_id,
                         const v1::ConsentView& consent, bool in_force);
// ServiceRequest/<client>..<referral> and Task/<client>..<referral>: the
// referral as the Gravity SDOH IG's ServiceRequest and its fulfilment Task.
nlohmann::json ServiceRequestOf(absl::string_view client_id,
                                const v1::ReferralView& referral);
nlohmann::json TaskOf(absl::string_view client_id,
                      const v1::ReferralView& referral);
// FHIR Task.status for a ReferralView.status ("declined" -> "rejected").
std::string TaskStatusOf(absl::string_view referral_status);

// server/fhir/care_resources.cc:
// Encounter/<client>..<admission>: an admission, ED visit or stay, with its
// discharge.
nlohmann::json EncounterOf(absl::string_view client_id,
                           const v1::AdmissionView& admission,
                           const v1::ClientState& state);
// EpisodeOfCare/<client>: the client's case (absent when never opened).
nlohmann::json EpisodeOfCareOf(const v1::ClientState& state);
// CareTeam/<client>: the active care team (absent when there is none).
nlohmann::json CareTeamOf(const v1::ClientState& state);
// Goal/<client>..<goal>.
nlohmann::json GoalOf(absl::string_view client_id, const v1::GoalView& goal);
// AuditEvent/<event id>: one entry of the client's audit timeline
// (AuditViews.GetTimeline, which merges the client's access records in) in
// the patterns of IHE BALP (https://profiles.ihe.net/ITI/BALP/):
//   - a RecordAccessed: a read ("rest"/"read", action R) or, for the
//     operations that list across clients, a query ("rest"/"search-type",
//     action E); outcome 0, or 4 for a refused read (ACCESS_OUTCOME_DENIED);
//     the reader organisation and person with purpose of use, the basis,
//     consents and break-the-glass reason (with v3-ActReason BTG and DICOM
//     110127 "Emergency Override Started");
//   - an InformationDisclosed, and a ReferralSent that shares data classes
//     (both in the accounting of disclosures): a privacy disclosure at the
//     source (DICOM 110106 "Export", iso-21089-lifecycle "disclose", action
//     R) from the acting organisation to the recipient;
//   - any other entry: a create ("rest"/"create", action C) of the event,
//     whose entity refers to the resource it changed where there is one.
// Every AuditEvent has the Patient entity (role 1 patient), the recording
// server as source, recorded = recorded_at and period = occurred_at.
// Caseline does not record the network address of the reader, so the
// events follow BALP's patterns without claiming its profiles.
nlohmann::json AuditEventOf(absl::string_view client_id,
                            const v1::TimelineEntry& entry);

// server/fhir/transition_resources.cc: the Transitions of Care (HEDIS TRC)
// events.
// Communication/<client>..notification..<id>: an AdmissionNotificationReceived
// (status completed, category event type + communication-category
// "notification", subject, encounter the admission, received, recipient the
// recording organisation).
nlohmann::json AdmissionNotificationOf(absl::string_view client_id,
                                       const v1::TransitionOfCareView& view);
// Communication/<client>..receipt..<id>: a DischargeInformationReceived (as
// above without the communication-category coding).
nlohmann::json DischargeInformationOf(absl::string_view client_id,
                                      const v1::TransitionOfCareView& view);
// Procedure/<client>..<id>: a MedicationReconciliationRecorded (status
// completed, code SNOMED CT 430193006, performer the recording organisation
// with the discipline as function, encounter the admission when named,
// performedDateTime).
nlohmann::json MedicationReconciliationOf(absl::string_view client_id,
                                          const v1::TransitionOfCareView& view);
// The Communication ("Communication": notifications, then receipts) or
// Procedure ("Procedure") resources the state holds; empty for other types.
std::vector<nlohmann::json> TransitionResources(const v1::ClientState& state,
                                                absl::string_view type);

// The Encounter, EpisodeOfCare, CareTeam and Goal resources the state holds
// for `type` (one of those four names; care_resources.cc); empty for other
// types, and for an EpisodeOfCare or CareTeam the state does not have.
std::vector<nlohmann::json> CareResources(const v1::ClientState& state,
                                          absl::string_view type);

// Every resource of `type` the state holds ("Patient", "Consent",
// "ServiceRequest", "Task", "Encounter", "EpisodeOfCare", "CareTeam",
// "Goal", "Communication", "Procedure"); empty for other types. Consents
// include those no longer in force (status inactive).
std::vector<nlohmann::json> ClientResources(const v1::ClientState& state,
                                            absl::string_view type);

// The per-client resource types ClientResources knows, in export order.
const std::vector<std::string>& ClientResourceTypes();

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_RESOURCES_H_
