#include "projections/access_projection.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "care/access_policy.h"
#include "care/care_event_context.h"

namespace caseline::projections {
namespace {

constexpr char kVersionKey[] = "v";
constexpr char kFormatVersion[] = "1";
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

std::string PositionKey(uint64_t position) {
  return absl::StrFormat("%016x", position);
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(t);
  *out = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(nanos);
}

// The entry at position key `p` (16 hex digits).
absl::StatusOr<v1::BreakGlassAccess> LoadEntry(const ViewReader& reader,
                                               const std::string& p) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   reader.Get(absl::StrCat("b/", p)));
  v1::BreakGlassAccess access;
  if (!stored.has_value() || !access.ParseFromString(*stored)) {
    return absl::DataLossError(absl::StrCat(
        "access projection: break-the-glass entry ", p,
        " is unreadable; rebuild it (caseline projections rebuild access)"));
  }
  return access;
}

}  // namespace

absl::Status AccessProjection::Apply(const eventstore::RecordedEvent& event,
                                     ProjectionState& state) {
  if (event.global_position == 1) state.Put(kVersionKey, kFormatVersion);
  if (!care::ClientOfAccessStream(event.stream_id).has_value() ||
      !care::IsCareEvent(event)) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(v1::CareEvent care, care::ParseCareEvent(event));
  if (care.has_record_accessed() &&
      (care.record_accessed().basis() == v1::ACCESS_BASIS_BREAK_GLASS ||
       care.record_accessed().outcome() == v1::ACCESS_OUTCOME_DENIED)) {
    v1::BreakGlassAccess access;
    access.set_access_event_id(event.event_id.ToString());
    access.set_global_position(event.global_position);
    access.set_client_id(care.record_accessed().client_id());
    access.set_organization_id(event.actor.organization_id);
    access.set_user_id(event.actor.user_id);
    SetTime(event.recorded_at, access.mutable_accessed_at());
    access.set_reason(care.record_accessed().break_glass_reason());
    *access.mutable_access() = care.record_accessed();
    const std::string p = PositionKey(event.global_position);
    state.Put(absl::StrCat("b/", p), access.SerializeAsString());
    state.Put(absl::StrCat("o/", p), "");
    state.Put(absl::StrCat("e/", access.access_event_id()), p);
  } else if (care.has_break_glass_reviewed()) {
    const v1::BreakGlassReviewed& review = care.break_glass_reviewed();
    ASSIGN_OR_RETURN(std::optional<std::string> p,
                     state.Get(absl::StrCat("e/", review.access_event_id())));
    if (!p.has_value()) return absl::OkStatus();  // the command checks this
    ASSIGN_OR_RETURN(v1::BreakGlassAccess access, LoadEntry(state, *p));
    if (access.reviewed()) return absl::OkStatus();
    access.set_reviewed(true);
    access.set_reviewed_by_organization_id(event.actor.organization_id);
    access.set_reviewed_by_user_id(event.actor.user_id);
    SetTime(event.recorded_at, access.mutable_reviewed_at());
    access.set_review_note(review.note());
    state.Put(absl::StrCat("b/", *p), access.SerializeAsString());
    state.Delete(absl::StrCat("o/", *p));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ListBreakGlassResponse> ListBreakGlass(
    const ViewReader& reader, const v1::ListBreakGlassRequest& request) {
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: ", request.page_size(), " is outside 0..", kMaxPageSize,
        " (0 means ", kDefaultPageSize, ")"));
  }
  const size_t page_size =
      request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  uint64_t after = 0;
  if (!request.page_token().empty() &&
      !absl::SimpleHexAtoi(request.page_token(), &after)) {
    return absl::InvalidArgumentError(
        "page_token: not a token this list returned; pass next_page_token "
        "unchanged, or leave it empty for the first page");
  }
  const std::string prefix = request.include_reviewed() ? "b/" : "o/";
  const std::string start =
      request.page_token().empty()
          ? ""
          : absl::StrCat(prefix, PositionKey(after));
  v1::ListBreakGlassResponse response;
  response.set_view_position(reader.position());
  absl::Status status;
  RETURN_IF_ERROR(reader.Scan(
      prefix, start, [&](absl::string_view key, absl::string_view) {
        absl::StatusOr<v1::BreakGlassAccess> access =
            LoadEntry(reader, std::string(key.substr(prefix.size())));
        if (!access.ok()) {
          status = access.status();
          return false;
        }
        if (!request.include_denied() &&
            access->access().outcome() == v1::ACCESS_OUTCOME_DENIED) {
          return true;
        }
        if (static_cast<size_t>(response.accesses_size()) == page_size) {
          response.set_next_page_token(PositionKey(
              response.accesses(response.accesses_size() - 1)
                  .global_position()));
          return false;
        }
        *response.add_accesses() = *std::move(access);
        return true;
      }));
  RETURN_IF_ERROR(status);
  return response;
}

absl::StatusOr<v1::BreakGlassAccess> FindBreakGlass(
    const ViewReader& reader, absl::string_view access_event_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> p,
                   reader.Get(absl::StrCat("e/", access_event_id)));
  if (!p.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "access_event_id: no break-the-glass access or refused read has "
        "event id ",
        access_event_id, "; list them with AccessAudit.ListBreakGlass"));
  }
  return LoadEntry(reader, *p);
}

}  // namespace caseline::projections
