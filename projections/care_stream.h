// Reading care events from the log: the I/O beside care/'s pure folds.
#ifndef CASELINE_PROJECTIONS_CARE_STREAM_H_
#define CASELINE_PROJECTIONS_CARE_STREAM_H_

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "care/access_policy.h"
#include "care/care_event_context.h"
#include "care/organization_directory.h"
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

// Folds client `client_id`'s whole stream (an unknown client gives an empty
// fold).
absl::StatusOr<care::ClientAccessFold> LoadClientAccess(
    eventstore::EventLog& log, absl::string_view client_id,
    const care::OrganizationDirectory& directory);

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_CARE_STREAM_H_
