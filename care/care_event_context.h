// What the log's envelope says about a care event, beside its payload, and
// the helpers that turn recorded events into care events.
#ifndef CASELINE_CARE_CARE_EVENT_CONTEXT_H_
#define CASELINE_CARE_CARE_EVENT_CONTEXT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "eventstore/event.h"

namespace caseline::care {

struct CareEventContext {
  uint64_t global_position = 0;
  uint64_t stream_version = 0;
  absl::Time occurred_at;
  absl::Time recorded_at;
  // The acting organisation and person (the envelope's actor).
  std::string organization_id;
  std::string user_id;
};

// The name of the event set in `event`, e.g. "ReferralSent": the log's
// event_type of a care event. Empty when none is set.
std::string CareEventName(const v1::CareEvent& event);

// True when the recorded event carries a caseline.v1.CareEvent payload.
bool IsCareEvent(const eventstore::RecordedEvent& event);

// The case of the care event in `event`'s payload, read from the payload's
// first field tag without parsing it (a CareEvent holds nothing but its
// `event` oneof), so that a view can skip the events it has no use for
// unparsed. EVENT_NOT_SET when the payload is empty or does not start with a
// known case. It does not check that the payload parses.
// REQUIRES: IsCareEvent(event).
v1::CareEvent::EventCase PeekCareEventCase(
    const eventstore::RecordedEvent& event);

// Whether events of `event_case` are referral lifecycle events: those
// ReferralIdOf (care/client_record.h) names a referral for. Derived from
// ReferralIdOf, so a new lifecycle event is classified with no edit here.
bool IsReferralEvent(v1::CareEvent::EventCase event_case);

// The record reader: the payload of a care event in the current schema of its
// type (care/upcasting.h runs the upcasters from the stored schema_version);
// DATA_LOSS naming the position when it does not parse, FAILED_PRECONDITION
// when its schema is newer than this server reads. An erased payload
// (RecordedEvent::payload_erased) is an empty CareEvent (EVENT_NOT_SET).
absl::StatusOr<v1::CareEvent> ParseCareEvent(
    const eventstore::RecordedEvent& event);

CareEventContext ContextOf(const eventstore::RecordedEvent& event);

// Which events of a client a reader may see (docs/access.md). A view calls it
// once for each event it is about to show or fold into what it shows; false
// leaves the event out. Empty: every event.
using EventVisibility = std::function<bool(const eventstore::RecordedEvent&)>;

}  // namespace caseline::care

#endif  // CASELINE_CARE_CARE_EVENT_CONTEXT_H_
