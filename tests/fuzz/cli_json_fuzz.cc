// cli_json_fuzz: the `caseline` CLI's JSON input (tools/cli_json.h
// ParseEvents) on arbitrary text, and the CLI's JSON output of what it
// accepted (EventToJson, MessageToJson).
//
// Invariants (abort on violation):
//   - no exception leaves the module (nlohmann and protobuf errors become
//     absl::Status);
//   - a refusal is INVALID_ARGUMENT with a message;
//   - an accepted event printed with MessageToJson parses back to the same
//     EventData;
//   - EventToJson prints valid JSON, and a JSON payload is shown as "data"
//     equal to the payload.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "caseline/v1/event_log.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "nlohmann/json.hpp"
#include "tests/fuzz/fuzz_check.h"
#include "tools/cli_json.h"

namespace {

using Json = nlohmann::ordered_json;
using caseline::v1::EventData;

void CheckPrinted(const EventData& data) {
  // Printed and read again, as `caseline read-stream | caseline append`
  // would (payload as base64).
  const std::string printed = caseline::tools::MessageToJson(data);
  absl::StatusOr<std::vector<EventData>> again =
      caseline::tools::ParseEvents(printed);
  FUZZ_CHECK(again.ok(), absl::StrCat(again.status().ToString(), " for ",
                                      printed));
  FUZZ_CHECK(again->size() == 1, printed);
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(
                 again->front(), data),
             absl::StrCat(data.ShortDebugString(), " printed as ", printed,
                          " read back as ", again->front().ShortDebugString()));

  // Shown as the log would return it.
  caseline::v1::Event event;
  event.set_stream_id("client-1");
  event.set_event_type(data.event_type());
  *event.mutable_actor() = data.actor();
  event.set_content_type(data.content_type());
  event.set_payload(data.payload());
  event.mutable_metadata()->insert(data.metadata().begin(),
                                   data.metadata().end());
  const std::string shown = caseline::tools::EventToJson(event);
  Json out = Json::parse(shown, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!out.is_discarded() && out.is_object(), shown);
  if (out.contains("data") && data.content_type() == "application/json") {
    Json payload = Json::parse(data.payload(), nullptr, false);
    FUZZ_CHECK(!payload.is_discarded(), "a JSON payload shown as data");
    FUZZ_CHECK(out["data"] == payload,
               absl::StrCat(data.payload(), " shown as ", shown));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    absl::StatusOr<std::vector<EventData>> events =
        caseline::tools::ParseEvents(text);
    if (!events.ok()) {
      FUZZ_CHECK(absl::IsInvalidArgument(events.status()),
                 events.status().ToString());
      FUZZ_CHECK(!events.status().message().empty(), "no message");
      return 0;
    }
    FUZZ_CHECK(!events->empty(), "accepted no events");
    for (const EventData& event : *events) CheckPrinted(event);
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, absl::StrCat("exception crossed the module line: ",
                                   e.what()));
  }
  return 0;
}
