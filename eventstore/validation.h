// Field checks for requests to the event log. Pure functions; each error is
// INVALID_ARGUMENT naming the field as the API spells it (events[2].payload)
// and the limit or form that would be accepted.
#ifndef CASELINE_EVENTSTORE_VALIDATION_H_
#define CASELINE_EVENTSTORE_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "eventstore/event.h"
#include "eventstore/event_log.h"

namespace caseline::eventstore {

// Longest event type, actor field, id-like string, metadata key and value.
inline constexpr size_t kMaxEventTypeBytes = 128;
inline constexpr size_t kMaxShortFieldBytes = 256;
inline constexpr size_t kMaxMetadataEntries = 64;
inline constexpr size_t kMaxMetadataValueBytes = 4096;

// 1..limits.max_stream_id_bytes of [A-Za-z0-9._:@+=-], starting with a letter
// or digit.
[[nodiscard]] absl::Status ValidateStreamId(absl::string_view stream_id,
                                            const Limits& limits,
                                            absl::string_view field);

[[nodiscard]] absl::Status ValidateAppendRequest(const AppendRequest& request,
                                                 const Limits& limits);

// max_count in 1..kMaxReadCount.
[[nodiscard]] absl::Status ValidateMaxCount(size_t max_count);

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_VALIDATION_H_
