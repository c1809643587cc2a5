// The audit trail: queries over one client's events (no stored view state):
//   - GetTimeline: every event of a client's stream, with who, which
//     organisation, on whose behalf, when it happened and when it was recorded;
//   - ReplayClient: the client's state as of a global position, a recorded
//     time ("what did the record say on March 3rd?") or a business time;
//   - ListDisclosures: the accounting of disclosures (HIPAA 45 CFR 164.528);
//   - VerifyClientChain: the hash chain checked event by event for one client.
//
// The client's events, and the organisation directory, come from `opened`
// (the client as the caller's access decision already read it) or else from
// records.Open(client_id) once the request is checked: the client's stream
// is read by the ClientRecordStore only. The access stream (access-<id>) is
// read from records.log(); VerifyClientChain reads the log itself, since it
// checks what is stored.
//
// Thread-safe (ClientRecordStore and EventLog are). Errors: INVALID_ARGUMENT
// naming the field; NOT_FOUND naming the client when its stream has no
// events; DATA_LOSS for a stored event that does not parse; others as the
// log returns them. view_position in each response is the log head when the
// client was read (every event up to it is reflected).
#ifndef CASELINE_PROJECTIONS_AUDIT_H_
#define CASELINE_PROJECTIONS_AUDIT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/views.pb.h"
#include "eventstore/event.h"
#include "care/care_event_context.h"
#include "projections/client_record_store.h"

namespace caseline::eventstore {
class EventLog;
}

namespace caseline::projections {

// Page sizes of the audit queries. Default: 100; larger requests are capped.
inline constexpr int kDefaultAuditPageSize = 100;
inline constexpr int kMaxAuditPageSize = 1000;

// The client's events in stream order, filtered by recorded range, occurred
// range ([start, end), either end optional), organisation ids and event types
// (empty: all), paged. page_token is opaque (the next stream version to
// read). INVALID_ARGUMENT for a bad client_id, page_size < 0, a bad token,
// or a range whose end is not after its start.
//
// The client's access records (stream access-<client_id>: RecordAccessed,
// BreakGlassReviewed) are merged in by global position. Only events
// `visible` lets through are shown (docs/access.md).
absl::StatusOr<v1::GetTimelineResponse> GetTimeline(
    ClientRecordStore& records, const v1::GetTimelineRequest& request,
    const care::EventVisibility& visible = {},
    const ClientAtHead* opened = nullptr);

// The client's state (ClientStateOf) folded from its stream:
//   position:    events with global_position <= position;
//   recorded_at: events recorded at or before the time (what the record said
//                then);
//   occurred_at: events whose business time is at or before the time, in
//                stream order, including ones recorded later.
// as_of_time is the moment consents are judged in force at: the given time,
// or for a position the recorded time of the last event folded.
// Before the client's first event the state is empty (registered false,
// events_applied 0; as_of_time unset for a position). INVALID_ARGUMENT when
// no as_of is set; NOT_FOUND when the client's stream has no events at all.
// Only events `visible` lets through are folded.
absl::StatusOr<v1::ReplayClientResponse> ReplayClient(
    ClientRecordStore& records, const v1::ReplayClientRequest& request,
    const care::EventVisibility& visible = {},
    const ClientAtHead* opened = nullptr);

// The accounting of disclosures of the client in request.period (default:
// the `lookback_years` years before `now`), oldest first, paged:
//   - each ReferralSent with shared_data_classes (recipient: the receiving
//     organisation; purpose: the referral's, default care coordination; the
//     consent relied on: the first consent, in id order, that covered every
//     shared class for the recipient and purpose when it was sent; empty if
//     none did);
//   - each InformationDisclosed, with the consent or legal basis it recorded;
//   - each read of the record by another organisation (RecordAccessed in
//     access-<client_id>, source "access"): the reader as recipient, the
//     classes shown, the consent relied on, or the break-the-glass reason or
//     auditor role as legal basis.
// Only entries whose event `visible` lets through are listed.
// A later revocation never removes a disclosure. Recipient names come from
// the organisation directory (stream "organizations").
absl::StatusOr<v1::ListDisclosuresResponse> ListDisclosures(
    ClientRecordStore& records, const v1::ListDisclosuresRequest& request,
    int lookback_years, absl::Time now,
    const care::EventVisibility& visible = {},
    const ClientAtHead* opened = nullptr);

// Checks every event of the client's stream: its stored hash is
// ChainHash(prev_hash, body), and its prev_hash is the hash of the event at
// global_position - 1 (all zeros at position 1). ok is false with
// first_bad_position and problem at the first failure. head_position /
// head_hash: the log's head, to publish.
absl::StatusOr<v1::VerifyClientChainResponse> VerifyClientChain(
    eventstore::EventLog& log, const v1::VerifyClientChainRequest& request);

// --- Pure parts, exposed for tests ------------------------------------------

// On whose behalf the event was recorded: for a consent given by a legally
// authorised representative, "<name> (<authority>)"; otherwise empty.
std::string OnBehalfOf(const v1::CareEvent& event);

// The per-event chain check: empty when `event` hashes to its stored hash and
// links to `previous_hash` (the hash of the event before it in the log; all
// zeros for position 1); otherwise what is wrong.
std::string CheckChainLink(const eventstore::RecordedEvent& event,
                           const eventstore::Hash& previous_hash);

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_AUDIT_H_
