// JSON in and out of the `caseline` CLI. Pure functions, no I/O.
//
// Input events are EventData in protobuf's JSON form (snake_case or
// lowerCamelCase field names) plus an optional "data" member: any JSON value,
// stored verbatim as the payload with content_type "application/json".
// Output events are Event in protobuf's JSON form (proto field names); a JSON
// payload, or a typed care event (kCareEventContentType), is shown as "data"
// instead of base64 "payload".
#ifndef CASELINE_TOOLS_CLI_JSON_H_
#define CASELINE_TOOLS_CLI_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "caseline/v1/event_log.pb.h"
#include "google/protobuf/message.h"

namespace caseline::tools {

// Accepts one event object, a JSON array of them, or JSON lines (one object
// per line). INVALID_ARGUMENT names the event (by index) and what is wrong.
absl::StatusOr<std::vector<v1::EventData>> ParseEvents(absl::string_view text);

// One line of JSON for an event.
std::string EventToJson(const v1::Event& event);

// One line of JSON for any message, with proto field names.
std::string MessageToJson(const google::protobuf::Message& message);

}  // namespace caseline::tools

#endif  // CASELINE_TOOLS_CLI_JSON_H_
