// The schema of each care event type, and the upcasters that read an event
// recorded in an older schema as today's (docs/log_format.md "Event schemas
// and upcasting").
//
// A care event's envelope carries the schema version its payload was written
// in. Writers stamp SchemaVersionOf(case); the record reader
// (ParseCareEvent, care/care_event_context.h) runs the chain of upcasters
// from the stored version to the current one, so every consumer (views,
// measures, exports, replay) sees one shape. The log itself is never
// rewritten: the chain hash covers the bytes as first written.
//
// Pure functions over the event and its envelope; thread-safe.
#ifndef CASELINE_CARE_UPCASTING_H_
#define CASELINE_CARE_UPCASTING_H_

#include <cstdint>

#include "absl/status/status.h"
#include "caseline/v1/care_events.pb.h"
#include "eventstore/event.h"

namespace caseline::care {

// The schema version writers stamp on events of `event_case` today: 1 for
// every type except those listed in the .cc's table (ReferralSent: 2).
uint32_t SchemaVersionOf(v1::CareEvent::EventCase event_case);

// Reads `event`, parsed from `recorded`'s payload, as the current schema of
// its type. A stored version of 0 (unset) is read as 1. FAILED_PRECONDITION
// when the stored version is newer than this server knows (written by a newer
// release: upgrade the server).
absl::Status Upcast(const eventstore::RecordedEvent& recorded,
                    v1::CareEvent* event);

}  // namespace caseline::care

#endif  // CASELINE_CARE_UPCASTING_H_
