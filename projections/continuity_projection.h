// The continuity-of-care view: the projection that stores what queries scan
// across clients (worklist items, measure index entries, caseload entries,
// referral list entries), and the queries. Per-client answers (summary, gaps)
// fold the client's events as the ClientRecordStore holds them instead: they
// are judged at a moment the caller chooses, and one stream is short.
//
// The projection keeps each client's record in ProjectionRecords (loaded
// from the ClientRecordStore on a miss) and the organisation directory in
// memory. For each care event of a client it
// re-derives, from the whole record, the families of items the event can
// change (continuity.h) and writes only the difference against what the
// client had. Re-deriving from the whole record is what makes a late-recorded
// event (an earlier occurred_at) change past measures and worklists.
//
// Families, and the events that re-derive them (by event_type, which the wire
// contract makes the payload's message name):
//   transition items   TransitionItemsOf        TransitionPlanned,
//                                               TransitionCompleted
//   follow-up items    FollowUpItemsOf          AdmissionRecorded,
//                                               DischargeRecorded,
//                                               FollowUpCompleted,
//                                               TransitionPlanned
//   referral items     ReferralItemsOf          Referral* (that referral's
//   referral entries   ReferralMeasureEntriesOf   items only)
//   referral list      ReferralListEntriesOf
//   receiver items     ReceiverItemsOf          AdmissionRecorded,
//                                               DischargeRecorded,
//                                               TransitionPlanned,
//                                               TransitionCompleted,
//                                               Referral*, ClientRegistered
//   service items      ServiceItemsOf           ServiceStarted, ServiceEnded,
//                                               ServiceInterruptionNotified,
//                                               GoalSet, GoalStatusChanged,
//                                               AssessmentRecorded, Referral*
//   stay entries       StayMeasureEntriesOf     AdmissionRecorded,
//                                               DischargeRecorded,
//                                               FollowUpCompleted,
//                                               AdmissionNotificationReceived,
//                                               DischargeInformationReceived,
//                                               MedicationReconciliation-
//                                                 Recorded
//   caseload           CaseloadEntriesOf        CareTeamMemberAdded/Removed
//   the claimed kind's WorklistItemClaimed,     (a referral's: that
//   items                WorklistItemReleased     referral's items only)
//   all of them                                 CaseOpened, CaseClosed,
//                                               CaseReopened, unknown types
// Items carry the claim in force on them (care/worklist.h); a claim lapses in
// the record when its item leaves the worklist, by an event that re-derives
// that item's family, so a stored item never shows a lapsed claim.
// Any other event re-derives nothing; it is not even parsed unless the
// client's record is held or the event starts the stream (a record loads
// from the store on a miss, so skipping never loses an event).
// Organisation events update the directory; they do not re-derive clients
// (FUH's behavioural-health provider rule uses the directory as it stood when
// the client's entries were last derived; a rebuild applies changes to the
// past). ViewsConfig values marked "stored" are read at derivation time.
//
// Storage layout (keys inside the projection's own key space; keys are bytes;
// ids never contain NUL, which separates them; T is a time as 8 bytes
// big-endian of its Unix microseconds with the sign bit flipped, so keys sort
// by time; K is one byte, the enum number of a WorklistItemKind or
// MeasureIndexKind; D is one byte, the enum number of a ReferralDirection; B
// is one byte, 0 for an open referral and 1 for a closed one (declined,
// completed, failed, cancelled); U is one byte, care::UrgencyRank of the
// referral's urgency, 0 the most urgent):
//   "v"                                 format version: "5" (version 4 had
//                                       no TRC measure entries; version 1 had no
//                                       referral list, version 2 no gap
//                                       items nor claims, version 3 no
//                                       versions, reasons nor received_at in
//                                       a referral list entry's ReferralView;
//                                       a store of another version is
//                                       refused until rebuilt)
//   "w/" org "\0" T(due) K client "\0" subject
//                                       -> v1::WorklistItem (overdue unset)
//   "m/" K T(at) client "\0" subject    -> v1::MeasureIndexEntry
//   "c/" org "\0" member "\0" client    -> v1::WorkerCaseload (member_id,
//                                          name, organization_id)
//   "r/" org "\0" D B U T(sent) client "\0" referral
//                                       -> v1::ReferralListEntry (age_days
//                                          unset)
//   "k/" client                         -> v1::ContinuityClientKeys (every
//                                          key above written for the client,
//                                          per family, sorted, with a 64-bit
//                                          FNV-1a fingerprint of its value)
// A worklist scans one organisation in due order; measures scan one kind from
// the period's start; a caseload scans one organisation (or all); a referral
// list scans one organisation's directions and bands in urgency, then sent
// order.
//
// Thread-safety: a ContinuityProjection is used by one engine thread. The
// query functions are pure over a ViewReader (or the log) and thread-safe.
#ifndef CASELINE_PROJECTIONS_CONTINUITY_PROJECTION_H_
#define CASELINE_PROJECTIONS_CONTINUITY_PROJECTION_H_

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "caseline/v1/views.pb.h"
#include "eventstore/event.h"
#include "care/organization_directory.h"
#include "projections/projection.h"
#include "projections/client_record_store.h"
#include "care/views_config.h"

namespace caseline::eventstore {
class EventLog;
}

namespace caseline::projections {

inline constexpr char kContinuityProjectionName[] = "continuity";

class ContinuityProjection : public Projection {
 public:
  // init.log (the directory as of init.checkpoint) and `records` (client
  // records to load; not owned) may be null only when nothing needs loading
  // (tests that start at position 0 and apply every event).
  ContinuityProjection(const ProjectionInit& init,
                       const care::ViewsConfig& config,
                       ClientRecordStore* records);

  // Errors: what reading the log returns (loading a record or the
  // directory), DATA_LOSS for a care event that does not parse.
  absl::Status Apply(const eventstore::RecordedEvent& event,
                     ProjectionState& state) override;

 private:
  absl::Status Start(ProjectionState& state);
  // Re-derives `families` of the record; with `subject` set, only the items
  // about that referral.
  absl::Status Rederive(const care::ClientRecord& record, uint16_t families,
                        absl::string_view subject, ProjectionState& state);
  absl::StatusOr<v1::ContinuityClientKeys*> KeysOf(
      const std::string& client_id, const ProjectionState& state);

  ProjectionInit init_;
  care::ViewsConfig config_;
  bool started_ = false;
  care::OrganizationDirectory directory_;
  ProjectionRecords records_;
  // Each client's stored bookkeeping ("k/" client), loaded on a miss.
  absl::flat_hash_map<std::string, v1::ContinuityClientKeys> keys_;
};

// The organisation's worklist: items due before at + horizon (every overdue
// one included), most overdue first, filtered by kind and claim (claimed_by,
// claim_filter), paged.
// INVALID_ARGUMENT naming the field: organization_id missing, horizon_days or
// page_size negative, an unknown kind or claim_filter, claimed_by with
// claim_filter UNCLAIMED, a page_token this query did not give.
// Defaults: at = now, horizon = config.worklist_horizon_days, page_size 100
// (at most 1000).
absl::StatusOr<v1::GetWorklistResponse> GetWorklist(
    const ViewReader& reader, const v1::GetWorklistRequest& request,
    const care::ViewsConfig& config, absl::Time now);

// The organisation's referrals (ListReferralsRequest): per direction
// (received, then sent; request.direction selects one), open before closed,
// most urgent first (care::UrgencyRank), then oldest sent, then client and
// referral id; filtered by status (empty: the open ones), paged, each with
// age_days judged at `now`.
// INVALID_ARGUMENT naming the field: organization_id missing, an unknown
// direction or status name, page_size negative, a page_token this query did
// not give for this organisation. Default page_size 100 (at most 1000).
absl::StatusOr<v1::ListReferralsResponse> ListReferrals(
    const ViewReader& reader, const v1::ListReferralsRequest& request,
    absl::Time now);

// Measures over index events in [period.start, period.end) (end default now),
// at organization_id when given (facility or referral sender), in the order
// of MeasureNames(). INVALID_ARGUMENT: period.start missing, end not after
// start, an unknown measure name.
absl::StatusOr<v1::GetMeasuresResponse> GetMeasures(
    const ViewReader& reader, const v1::GetMeasuresRequest& request,
    const care::ViewsConfig& config, absl::Time now);

// Active clients (open cases) per lead case manager and per organisation;
// workers sorted by active_clients descending (then organisation, member),
// above_threshold those with more than the threshold (default
// config.caseload_threshold). INVALID_ARGUMENT for a negative threshold.
absl::StatusOr<v1::GetCaseloadResponse> GetCaseload(
    const ViewReader& reader, const v1::GetCaseloadRequest& request,
    const care::ViewsConfig& config);

// The client's summary (continuity.h Summarize) at request.at (default now),
// folding the client's events up to a log head, with the organisation
// directory: those of `opened` (the client as the caller's access decision
// read it), or else of records.Open(request.client_id) once the request is
// checked. view_position is that head (the answer reflects every event up to
// it). INVALID_ARGUMENT without client_id; NOT_FOUND naming the client when
// its stream has no events up to the head. Only events `visible` lets
// through are folded (docs/access.md).
absl::StatusOr<v1::GetClientSummaryResponse> GetClientSummary(
    ClientRecordStore& records, const v1::GetClientSummaryRequest& request,
    const care::ViewsConfig& config, absl::Time now,
    const care::EventVisibility& visible = {},
    const ClientAtHead* opened = nullptr);

// The client's open gaps (continuity.h FindGaps), as GetClientSummary.
absl::StatusOr<v1::ListGapsResponse> ListGaps(
    ClientRecordStore& records, const v1::ListGapsRequest& request,
    const care::ViewsConfig& config, absl::Time now,
    const care::EventVisibility& visible = {},
    const ClientAtHead* opened = nullptr);

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_CONTINUITY_PROJECTION_H_
