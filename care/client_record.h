// ClientRecord: one client's care record as folded from its stream
// (client-<client_id>): details, case status, consents, referrals, goals,
// services, care team, admissions and transitions. The command side decides
// against it; views replay it as of any position.
//
// A plain value with no I/O: fold events in stream order with Apply(). Apply
// never fails: events the log accepted are facts, and a reference to
// something unknown (impossible through the command services) is ignored.
#ifndef CASELINE_CARE_CLIENT_RECORD_H_
#define CASELINE_CARE_CLIENT_RECORD_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "care/care_event_context.h"

namespace caseline::care {

// The stream of a client's care record.
std::string ClientStreamId(absl::string_view client_id);

enum class CaseStatus { kNotOpened, kOpen, kClosed };

// The referral lifecycle (FHIR Task, Gravity SDOH): requested -> received
// (acknowledged) -> accepted | declined; accepted -> in progress -> completed
// | failed; on hold; cancelled.
enum class ReferralStatus {
  kRequested,
  kReceived,
  kAccepted,
  kDeclined,
  kOnHold,
  kInProgress,
  kCompleted,
  kFailed,
  kCancelled,
};
absl::string_view ReferralStatusName(ReferralStatus status);

// The referral a referral lifecycle event (ReferralSent through
// ReferralCancelled) is about; nullptr for any other event.
const std::string* ReferralIdOf(const v1::CareEvent& event);
bool IsTerminal(ReferralStatus status);
// Sent and neither answered (accepted or declined) nor withdrawn: the
// receiver owes an answer (docs/views.md, "referral not answered").
bool AwaitingAnswer(ReferralStatus status);

// The last event that changed a part of the record: its stream version and
// recorded time (views.proto's `version` / `updated_at`, FHIR
// meta.versionId / meta.lastUpdated).
struct LastChange {
  uint64_t version = 0;
  std::optional<absl::Time> recorded_at;  // nullopt: no event yet

  void Record(const CareEventContext& context) {
    version = context.stream_version;
    recorded_at = context.recorded_at;
  }
};

struct ConsentState {
  v1::ConsentGiven given;
  std::string granted_at_organization_id;  // who recorded it
  absl::Time start;
  absl::Time end = absl::InfiniteFuture();
  std::optional<absl::Time> revocation_received_at;
  std::optional<absl::Time> revocation_effective_at;
  uint64_t given_position = 0;
  uint64_t revoked_position = 0;  // 0: not revoked
  LastChange last_change;  // ConsentGiven, ConsentRevoked

  // In force at `at`: started, not ended, not revoked with effect by then.
  bool InForceAt(absl::Time at) const;
  // In force at `at` and covering `data_class` for the organisation and
  // `purpose`. Part 2 data needs the organisation named; other classes accept
  // a matching recipient organisation type too. A consent that lists purposes
  // covers only those.
  bool Covers(absl::string_view organization_id, v1::OrganizationType type,
              v1::DataClass data_class, v1::PurposeOfUse purpose,
              absl::Time at) const;
};

struct ReferralState {
  v1::ReferralSent sent;
  ReferralStatus status = ReferralStatus::kRequested;
  bool was_accepted = false;
  absl::Time sent_at;
  absl::Time status_changed_at;
  uint64_t sent_position = 0;
  uint64_t status_position = 0;  // the event that set the current status
  // Who sent it: sent.from_organization_id, or the acting organisation when
  // the event left it empty.
  std::string sent_by_organization_id;
  // The first acceptance and the first start (ReferralStarted), if any.
  std::optional<absl::Time> accepted_at;
  uint64_t accepted_position = 0;
  std::optional<absl::Time> started_at;
  // When the receiver acknowledged it (ReferralReceived), if it did.
  std::optional<absl::Time> received_at;
  // The reason of the event that set the current status (declined, on hold,
  // failed, cancelled); empty for the other statuses.
  std::string status_reason;
  // ReferralCompleted.delivered while completed; empty otherwise.
  std::string delivered;
  LastChange last_change;  // ReferralSent or any lifecycle event
};

struct GoalState {
  v1::GoalSet goal;
  v1::GoalStatus status = v1::GOAL_STATUS_PROPOSED;
  int32_t percent_achieved = 0;
  uint64_t set_position = 0;
  uint64_t status_position = 0;  // 0: status never changed since GoalSet
  LastChange last_change;  // GoalSet, GoalProgressRecorded, GoalStatusChanged
  // Not completed, cancelled, rejected or entered in error: the need it
  // names is still being worked on.
  bool in_progress() const;
};

struct ServiceState {
  v1::ServiceStarted started;
  absl::Time started_at;
  std::optional<absl::Time> ended_at;
  std::optional<absl::Time> interruption_expected_end;
  uint64_t started_position = 0;
  uint64_t ended_position = 0;         // 0: active
  uint64_t interruption_position = 0;  // 0: none notified
  std::optional<absl::Time> interruption_notified_at;
  // ServiceStarted, ServiceInterruptionNotified, ServiceEnded.
  LastChange last_change;
  bool active() const { return !ended_at.has_value(); }
};

struct CareTeamMemberState {
  v1::CareTeamMemberAdded added;
  absl::Time added_at;
  uint64_t added_position = 0;
  std::optional<absl::Time> removed_at;
  uint64_t removed_position = 0;
  // CareTeamMemberAdded only: a removed member is not shown
  // (ClientState.care_team lists active members).
  LastChange last_change;
  bool active() const { return !removed_at.has_value(); }
};

struct AdmissionState {
  v1::AdmissionRecorded admission;
  absl::Time admitted_at;
  std::optional<absl::Time> discharged_at;
  v1::DischargeDisposition disposition = v1::DISCHARGE_DISPOSITION_UNSPECIFIED;
  uint64_t admitted_position = 0;
  uint64_t discharged_position = 0;
  LastChange last_change;  // AdmissionRecorded, DischargeRecorded
  bool open() const { return !discharged_at.has_value(); }
};

struct TransitionState {
  v1::TransitionPlanned planned;
  absl::Time planned_at;
  std::optional<absl::Time> completed_at;
  uint64_t planned_position = 0;
  uint64_t completed_position = 0;
  LastChange last_change;  // TransitionPlanned, TransitionCompleted
};

// The latest assessed need level of one domain (AssessmentRecorded).
struct AssessedNeed {
  v1::NeedLevel level = v1::NEED_LEVEL_UNSPECIFIED;
  std::string assessment_id;
  absl::Time assessed_at;
  uint64_t position = 0;
};

struct MeetingState {
  v1::TeamMeetingHeld meeting;
  absl::Time held_at;
  std::string recorded_by_organization_id;
  uint64_t position = 0;
};

// A follow-up contact (FollowUpCompleted) at its business time.
struct FollowUpState {
  v1::FollowUpCompleted follow_up;
  absl::Time at;
  std::string recorded_by_organization_id;
  uint64_t position = 0;
};

// A Transitions of Care event (AdmissionNotificationReceived,
// DischargeInformationReceived, MedicationReconciliationRecorded) at its
// business time.
struct TransitionOfCareState {
  std::string admission_id;  // empty: the event named none
  absl::Time at;
  std::string recorded_by_organization_id;
  uint64_t position = 0;
  // MedicationReconciliationRecorded only: who reconciled.
  v1::Discipline performer_discipline = v1::DISCIPLINE_UNSPECIFIED;
  LastChange change;  // the event's stream version and recorded time
};

struct DisclosureState {
  v1::InformationDisclosed disclosed;
  absl::Time disclosed_at;
  std::string disclosed_by_organization_id;
  uint64_t position = 0;
};

// An event of the stream marked entered in error (EventEnteredInError).
struct EnteredInErrorState {
  v1::EventEnteredInError marked;  // as written, with the marked event's
                                   // type, position and version
  absl::Time at;                   // the correction's business time
  std::string organization_id;     // who marked it
  uint64_t position = 0;           // the correction's log position
};

// A worklist item of the client as its claims name it (views.proto
// WorklistItem): kind, subject and organisation. At most one item of the
// client has a key.
struct WorklistItemKey {
  v1::WorklistItemKind kind = v1::WORKLIST_ITEM_KIND_UNSPECIFIED;
  std::string subject_id;
  std::string organization_id;

  bool operator<(const WorklistItemKey& other) const {
    return std::tie(kind, subject_id, organization_id) <
           std::tie(other.kind, other.subject_id, other.organization_id);
  }
  bool operator==(const WorklistItemKey& other) const {
    return kind == other.kind && subject_id == other.subject_id &&
           organization_id == other.organization_id;
  }
};

// Who holds a worklist item (WorklistItemClaimed).
struct WorklistClaim {
  std::string user_id;  // the claim's actor
  absl::Time claimed_at;
  uint64_t position = 0;
  std::string note;
};

struct ClientRecord {
  explicit ClientRecord(std::string id) : client_id(std::move(id)) {}

  void Apply(const v1::CareEvent& event, const CareEventContext& context);

  // Active team members with the lead case manager role.
  int ActiveLeadCaseManagers() const;

  std::string client_id;
  // Version of the last event applied; nullopt for a stream with no events.
  std::optional<uint64_t> version;
  bool registered = false;
  v1::ClientRegistered details;  // with corrections applied
  std::string registered_by_organization_id;
  CaseStatus case_status = CaseStatus::kNotOpened;
  // The event that last set case_status (CaseOpened, CaseClosed,
  // CaseReopened) and its organisation.
  absl::Time case_status_changed_at;
  uint64_t case_status_position = 0;
  std::string case_status_organization_id;
  // The organisation that opened (or last reopened) the case; empty before
  // the first CaseOpened. It alone closes the case (docs/access.md).
  std::string case_opened_by_organization_id;
  std::set<std::string> linked_client_ids;
  // What a FHIR Patient shows: ClientRegistered, ClientDetailsCorrected,
  // ClientRecordsLinked, ClientRecordsUnlinked.
  LastChange details_change;
  // CaseOpened, CaseClosed, CaseReopened (the FHIR EpisodeOfCare).
  LastChange case_change;
  // CareTeamMemberAdded, CareTeamMemberRemoved (the FHIR CareTeam).
  LastChange care_team_change;
  std::map<std::string, ConsentState> consents;
  std::map<std::string, ReferralState> referrals;
  std::map<std::string, GoalState> goals;
  std::map<std::string, ServiceState> services;
  std::map<std::string, CareTeamMemberState> care_team;
  std::map<std::string, AdmissionState> admissions;
  std::map<std::string, TransitionState> transitions;
  std::set<std::string> assessment_ids;
  // The latest assessed need level per domain, in stream order.
  std::map<v1::ServiceCategory, AssessedNeed> assessed_needs;
  std::set<std::string> meeting_ids;
  std::map<std::string, MeetingState> meetings;
  std::set<std::string> follow_up_ids;
  std::map<std::string, FollowUpState> follow_ups;
  // TRC events by their ids (notification_id, receipt_id,
  // reconciliation_id).
  std::map<std::string, TransitionOfCareState> admission_notifications;
  std::map<std::string, TransitionOfCareState> discharge_information;
  std::map<std::string, TransitionOfCareState> medication_reconciliations;
  // Duplication findings a person dismissed (DuplicateDismissed).
  std::set<std::string> dismissed_finding_ids;
  std::map<std::string, DisclosureState> disclosures;
  // The stream's events marked entered in error, by the marked event's id
  // (lowercase 36-character form). The marked events themselves are not in
  // this record: whoever folds a stream leaves them out (they are known only
  // once their correction is read, so a fold that meets a correction starts
  // again from the stream's first event; projections/client_record_store.h).
  std::map<std::string, EnteredInErrorState> entered_in_error;
  // The claims in force: claimed and not released since. A claim lapses
  // when its item leaves the client's worklist (care/worklist.h,
  // DropLapsedClaims, run after every event), so an item that disappears and
  // reappears is unclaimed.
  std::map<WorklistItemKey, WorklistClaim> worklist_claims;
};

}  // namespace caseline::care

#endif  // CASELINE_CARE_CLIENT_RECORD_H_
