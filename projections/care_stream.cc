#include "projections/care_stream.h"

#include "base/status_macros.h"

namespace caseline::projections {

using care::ContextOf;
using care::IsCareEvent;
using care::ParseCareEvent;

absl::Status FoldCareStream(
    eventstore::EventLog& log, absl::string_view stream_id,
    uint64_t from_version,
    absl::FunctionRef<bool(const eventstore::RecordedEvent&)> keep,
    absl::FunctionRef<void(const v1::CareEvent&, const care::CareEventContext&)>
        fold) {
  eventstore::ReadStreamOptions read;
  read.from_version = from_version;
  read.max_count = eventstore::kMaxReadCount;
  while (true) {
    absl::StatusOr<eventstore::StreamPage> page =
        log.ReadStream(stream_id, read);
    if (absl::IsNotFound(page.status())) return absl::OkStatus();
    if (!page.ok()) return page.status();
    for (const eventstore::RecordedEvent& recorded : page->events) {
      if (!keep(recorded)) return absl::OkStatus();
      if (!IsCareEvent(recorded)) continue;
      ASSIGN_OR_RETURN(v1::CareEvent event, ParseCareEvent(recorded));
      fold(event, ContextOf(recorded));
    }
    if (page->end_of_stream) return absl::OkStatus();
    read.from_version = page->next_version;
  }
}

}  // namespace caseline::projections
