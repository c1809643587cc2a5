// What the log's envelope says about a care event, beside its payload.
#ifndef CASELINE_PROJECTIONS_CARE_EVENT_CONTEXT_H_
#define CASELINE_PROJECTIONS_CARE_EVENT_CONTEXT_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace caseline::projections {

struct CareEventContext {
  uint64_t global_position = 0;
  uint64_t stream_version = 0;
  absl::Time occurred_at;
  absl::Time recorded_at;
  // The acting organisation and person (the envelope's actor).
  std::string organization_id;
  std::string user_id;
};

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_CARE_EVENT_CONTEXT_H_
