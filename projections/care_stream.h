// Reading care events from the log: the I/O beside care/'s pure folds, for
// streams read as of a position or read whole once (the organizations stream
// up to a projection's checkpoint, a client's access records). Client streams
// and the current directory come from ClientRecordStore
// (projections/client_record_store.h), their one reader.
#ifndef CASELINE_PROJECTIONS_CARE_STREAM_H_
#define CASELINE_PROJECTIONS_CARE_STREAM_H_

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "care/care_event_context.h"
#include "eventstore/event_log.h"

namespace caseline::projections {

// Reads `stream_id` forward from `from_version` and calls `fold` for each care
// event (others are skipped) until `keep` returns false for a recorded event
// or the stream ends. A stream with no events is OK (nothing folded).
absl::Status FoldCareStream(
    eventstore::EventLog& log, absl::string_view stream_id,
    uint64_t from_version,
    absl::FunctionRef<bool(const eventstore::RecordedEvent&)> keep,
    absl::FunctionRef<void(const v1::CareEvent&, const care::CareEventContext&)>
        fold);

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_CARE_STREAM_H_
