// DuplicationProjection: duplication findings (views.proto Finding) folded
// from the log, and the ListFindings query over them.
//
// Findings (finding_id is stable: the kind plus what the finding is about;
// categories are ServiceCategory names without their prefix, e.g. HOUSING):
//   OVERLAPPING_SERVICES   "overlapping-services:<client>:<CAT>:<svc>:<svc>"
//       two active services of one category at different providers (HUD HMIS
//       overlapping enrollments). RESOLVED when either ends.
//   SAME_DAY_SERVICES      "same-day-services:<client>:<CAT>:<svc>:<svc>"
//       two services of one category started (occurred_at) on the same UTC
//       date by different providers (NCCI-style). A fact about the past: it
//       stays OPEN until a person dismisses it.
//   DUPLICATE_REFERRALS    "duplicate-referrals:<client>:<CAT>:<ref>:<ref>"
//       two open (non-terminal) referrals of one category to different
//       organisations. RESOLVED when either reaches a terminal state.
//   POSSIBLE_DUPLICATE_CLIENTS  "duplicate-clients:<a>:<b>" (a < b)
//       two registered clients whose details score (client_matching.h) at or
//       above ViewsConfig::review_threshold. RESOLVED when the pair is linked
//       (ClientRecordsLinked on either stream) or a correction drops the
//       score below review; ClientRecordsUnlinked rescores and may reopen.
// Pairs are ordered by id (services, referrals, clients), so a client with
// three overlapping services has three pairwise findings.
// A DuplicateDismissed naming the finding, on the stream of a client the
// finding is about, makes it DISMISSED for good: nothing reopens it, and a
// dismissal that arrives before its finding exists dismisses it on arrival.
// cause_positions: the events that started the services / sent the referrals
// / set each client's current details (registration or latest correction).
// first_detected_at/_position: the recorded time and position of the event
// whose application first produced the finding; kept ever after.
// status_changed_at: the recorded time of the event that last changed the
// status; status_reason names it: "detected by ServiceStarted at position 7",
// "resolved by ReferralCompleted at position 9", "reopened by ...",
// "dismissed by DuplicateDismissed at position 12: <its reason>".
//
// Candidate generation (possible duplicate clients): on ClientRegistered and
// ClientDetailsCorrected the client's identity and BlockingKeys are stored
// (keys a correction made stale are removed); the clients sharing a block are
// scored, at most kMaxCandidatesPerBlock per block (the first in client-id
// order: a block that large, e.g. a shelter's phone number, says little about
// identity, and the cap bounds an event's work), together with every client
// the client already has a pair finding with.
//
// Cost per event: events of other streams and care events that cannot change
// a finding are skipped on their event_type without parsing the payload.
// Service and referral events re-derive only the findings of their category
// for that client; registrations and corrections score only the client's
// blocks; links, unlinks and dismissals touch one finding.
//
// Stored keys (inside the engine's prefix for this projection; "|" below is
// a NUL byte, <s> the status as one ASCII digit (FindingStatus), <p> the
// finding's first_detected_position as 8 bytes big-endian, <k> the kind as
// one ASCII digit (FindingKind), <c> the ServiceCategory number in decimal):
//   v                           format version, "2" (a state of another
//                               version stops the projection with
//                               FAILED_PRECONDITION: rebuild it)
//   f|<finding_id>              v1::Finding
//   c|<client>|<s><p><finding_id>   index by client      value: <k>
//   o|<org>|<s><p><finding_id>      index by organisation value: <k>
//   n|<s><p><finding_id>            network-wide index    value: <k>
//   a|<client>|<k>:<c>|<finding_id> the open service/referral findings of a
//                               client, by kind and category (re-deriving
//                               resolves those no longer derived); value:
//                               the cause positions, 8 bytes big-endian
//                               each, so an unchanged finding is not re-read
//   p|<client>|<other client>   "" a pair finding exists (any status)
//   i|<client>                  v1::ClientState: the identity last scored
//                               (client_id, details, registered_by_
//                               organization_id, linked_client_ids;
//                               last_position = the event that set details)
//   b|<blocking key>|<client>   "" block membership
//   x|<finding_id>|<client>     v1::Finding (status_changed_at, status_reason
//                               only): a dismissal from that client's stream
//   e|<code>                    how many comparisons had the comparison vector
//                               <code> (care::ComparisonCode, 4 bytes
//                               big-endian); value: 8 bytes big-endian
//   t|g|<name>, t|f|<name>      how many registered clients have this
//                               normalised given / family name; 8 bytes
//                               big-endian (absent at 0)
//   t                           the clients counted for each part: given, then
//                               family, 8 bytes big-endian each
//   m                           v1::GetMatchModelResponse: the model last
//                               estimated (fields, prior, when, from how many
//                               comparisons, the next estimate's count); absent
//                               until the first estimate
//
// The match model (docs/views.md "The match model"): every comparison a
// registration or correction makes with a candidate is counted under e|; once
// the count reaches the m value's next_estimate_at_pairs
// (kFirstMatchModelEstimatePairs before the first) the model is estimated
// from all counts (care::EstimateMatchModel, from care::DefaultMatchModel()),
// stored under m, and every candidate pair is scored again with it; the next
// estimate is due at kMatchModelEstimateGrowth times the count. Name counts
// follow registrations, corrections, registrations entered in error and
// erasures, and feed the term-frequency adjustment.
// Index keys sort by status, then first detection (oldest first), then id;
// none of these change while the status holds, so paging after the last key
// returned is stable.
//
// Thread-safety: an instance is used by one engine thread; ListFindings is a
// pure function of its reader.
#ifndef CASELINE_PROJECTIONS_DUPLICATION_PROJECTION_H_
#define CASELINE_PROJECTIONS_DUPLICATION_PROJECTION_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "caseline/v1/views.pb.h"
#include "eventstore/event.h"
#include "projections/projection.h"
#include "projections/client_record_store.h"
#include "care/views_config.h"

namespace caseline::projections {

inline constexpr char kDuplicationProjectionName[] = "duplication";

// Most clients of one block scored against a new or corrected registration.
inline constexpr size_t kMaxCandidatesPerBlock = 1000;

// The match model is first estimated once this many comparisons were
// counted, then again each time the count has grown by this factor.
inline constexpr uint64_t kFirstMatchModelEstimatePairs = 1000;
inline constexpr uint64_t kMatchModelEstimateGrowth = 4;

// Most client identities an instance keeps parsed in memory, each with its
// matching profile (the cache is emptied when full and refills from the
// stored i| values, making the profiles again).
inline constexpr size_t kMaxCachedIdentities = 200000;

class DuplicationProjection : public Projection {
 public:
  // REQUIRES: `records` is not null (client records load from it when not
  // held) and outlives the projection.
  DuplicationProjection(const ProjectionInit& init,
                        const care::ViewsConfig& config,
                        ClientRecordStore* records);
  ~DuplicationProjection() override;

  // Errors: DATA_LOSS for an unparsable care event or stored value, and what
  // reading a client's stream returns.
  absl::Status Apply(const eventstore::RecordedEvent& event,
                     ProjectionState& state) override;

 private:
  care::ViewsConfig config_;
  ProjectionRecords records_;
  // The stored identities this instance has read or written, parsed, each
  // with its care::MatchProfile (so that scoring a registration's candidates
  // neither re-reads them nor normalises their details again; at most
  // kMaxCachedIdentities), and the match model with its counts. Both mirror
  // the stored values: this instance is their only writer while it runs.
  struct MatchingState;
  std::unique_ptr<MatchingState> matching_;
  bool format_written_ = false;
};

// Findings by client (request.client_id), by organisation (organization_id:
// findings naming it as provider, referral recipient or registering
// organisation) or network-wide (neither), filtered by kinds (empty: all) and
// statuses (empty: OPEN only), ordered by status, then first detection, then
// id. A client or organisation with no findings gives an empty page.
// Errors: INVALID_ARGUMENT naming the field for client_id together with
// organization_id, page_size outside 0..1000 (0: 100), an unspecified or
// unknown kind or status, or a page_token this query did not return;
// DATA_LOSS for a stored value that does not parse.
absl::StatusOr<v1::ListFindingsResponse> ListFindings(
    const ViewReader& reader, const v1::ListFindingsRequest& request);

// The match model possible duplicate clients are scored with now
// (views.proto GetMatchModelResponse): the stored estimate, or the default
// model (care::DefaultMatchModel) with estimated_at_pairs 0 before the first;
// the comparisons and clients counted; the thresholds of `config`.
// Errors: DATA_LOSS for a stored value that does not parse.
absl::StatusOr<v1::GetMatchModelResponse> GetMatchModel(
    const ViewReader& reader, const care::ViewsConfig& config);

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_DUPLICATION_PROJECTION_H_
