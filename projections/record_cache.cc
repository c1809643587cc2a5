#include "projections/record_cache.h"

#include "absl/strings/match.h"
#include "base/status_macros.h"
#include "projections/care_stream.h"
#include "care/care_event_context.h"

namespace caseline::projections {

std::optional<absl::string_view> ClientIdOf(
    const eventstore::RecordedEvent& event) {
  constexpr absl::string_view kPrefix = "client-";
  absl::string_view stream(event.stream_id.data(), event.stream_id.size());
  if (!absl::StartsWith(stream, kPrefix) || !care::IsCareEvent(event))
    return std::nullopt;
  return stream.substr(kPrefix.size());
}

absl::StatusOr<const care::ClientRecord*> ClientRecordCache::Apply(
    absl::string_view client_id, const v1::CareEvent& care_event,
    const eventstore::RecordedEvent& event) {
  auto it = records_.find(client_id);
  if (it == records_.end()) {
    if (records_.size() >= max_records_) records_.clear();
    care::ClientRecord record{std::string(client_id)};
    if (event.stream_version > 0) {
      const uint64_t before = event.global_position;
      RETURN_IF_ERROR(FoldCareStream(
          *log_, event.stream_id, 0,
          [before](const eventstore::RecordedEvent& e) {
            return e.global_position < before;
          },
          [&record](const v1::CareEvent& e, const care::CareEventContext& c) {
            record.Apply(e, c);
          }));
    }
    it = records_.emplace(std::string(client_id), std::move(record)).first;
  }
  it->second.Apply(care_event, care::ContextOf(event));
  return &it->second;
}

const care::ClientRecord* ClientRecordCache::Find(absl::string_view client_id) const {
  auto it = records_.find(client_id);
  return it == records_.end() ? nullptr : &it->second;
}

}  // namespace caseline::projections
