// google.protobuf.Timestamp <-> absl::Time for the care domain and the
// services above it.
#ifndef CASELINE_CARE_PROTO_TIME_H_
#define CASELINE_CARE_PROTO_TIME_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace caseline::care {

// Unchecked: for timestamps the log already accepted.
inline absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// A caller's timestamp; INVALID_ARGUMENT naming `field` when its nanos are
// outside 0..999999999.
inline absl::StatusOr<absl::Time> CheckedTime(
    const google::protobuf::Timestamp& t, absl::string_view field) {
  if (t.nanos() < 0 || t.nanos() > 999'999'999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".nanos is ", t.nanos(), "; use 0..999999999"));
  }
  return ToTime(t);
}

inline void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(time);  // rounds down
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

}  // namespace caseline::care

#endif  // CASELINE_CARE_PROTO_TIME_H_
