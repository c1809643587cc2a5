// AccessProjection ("access"): the break-the-glass accesses and refused reads
// of every client (RecordAccessed with ACCESS_BASIS_BREAK_GLASS or
// ACCESS_OUTCOME_DENIED, in the access-<client> streams) and their review
// (BreakGlassReviewed), for the auditors' break_glass_review list
// (proto/caseline/v1/access.proto; refused reads with include_denied).
//
// Cost per event: events outside access streams are skipped on their stream
// id; other access records on their payload's basis and outcome.
//
// Stored keys (inside the engine's prefix for this projection; <p> is the
// access record's global position as 16 hex digits):
//   v             format version, "1"
//   b/<p>         v1::BreakGlassAccess
//   o/<p>         "" while awaiting review
//   e/<event_id>  <p>: the access record an event id names
#ifndef CASELINE_PROJECTIONS_ACCESS_PROJECTION_H_
#define CASELINE_PROJECTIONS_ACCESS_PROJECTION_H_

#include "absl/status/statusor.h"
#include "caseline/v1/access.pb.h"
#include "projections/projection.h"

namespace caseline::projections {

inline constexpr char kAccessProjectionName[] = "access";

class AccessProjection final : public Projection {
 public:
  absl::Status Apply(const eventstore::RecordedEvent& event,
                     ProjectionState& state) override;
};

// The break-the-glass accesses, oldest first: those awaiting review, or all
// with include_reviewed. INVALID_ARGUMENT for a bad page size or token.
absl::StatusOr<v1::ListBreakGlassResponse> ListBreakGlass(
    const ViewReader& reader, const v1::ListBreakGlassRequest& request);

// The access a BreakGlassReviewed names; NOT_FOUND (naming the id) when no
// break-the-glass access has that event id.
absl::StatusOr<v1::BreakGlassAccess> FindBreakGlass(
    const ViewReader& reader, absl::string_view access_event_id);

}  // namespace caseline::projections

#endif  // CASELINE_PROJECTIONS_ACCESS_PROJECTION_H_
