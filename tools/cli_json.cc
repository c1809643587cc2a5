#include "tools/cli_json.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/wire_constants.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace caseline::tools {
namespace {

using Json = nlohmann::ordered_json;

absl::StatusOr<v1::EventData> EventFromJson(Json object, size_t index) {
  const std::string where = absl::StrCat("event ", index);
  if (!object.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": expected a JSON object, got ", object.type_name()));
  }
  std::string payload;
  const bool has_data = object.contains("data");
  if (has_data) {
    if (object.contains("payload")) {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ": give either \"data\" (JSON) or \"payload\" (base64), not both"));
    }
    payload = object["data"].dump();
    object.erase("data");
  }
  v1::EventData event;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      object.dump(), &event, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", std::string(status.message())));
  }
  if (has_data) {
    event.set_payload(payload);
    if (event.content_type().empty())
      event.set_content_type("application/json");
  }
  return event;
}

absl::StatusOr<std::vector<v1::EventData>> EventsFromValue(Json value) {
  std::vector<v1::EventData> events;
  if (value.is_array()) {
    // As for empty JSON lines: an append needs at least one event.
    if (value.empty()) {
      return absl::InvalidArgumentError(
          "no events in the input: the JSON array is empty");
    }
    for (size_t i = 0; i < value.size(); ++i) {
      absl::StatusOr<v1::EventData> e = EventFromJson(std::move(value[i]), i);
      if (!e.ok()) return e.status();
      events.push_back(*std::move(e));
    }
    return events;
  }
  absl::StatusOr<v1::EventData> e = EventFromJson(std::move(value), 0);
  if (!e.ok()) return e.status();
  events.push_back(*std::move(e));
  return events;
}

bool IsJsonContentType(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  type = absl::StripAsciiWhitespace(type);
  return type == "application/json" || absl::EndsWith(type, "+json");
}

}  // namespace

absl::StatusOr<std::vector<v1::EventData>> ParseEvents(absl::string_view text) {
  Json whole = Json::parse(text.begin(), text.end(), nullptr,
                           /*allow_exceptions=*/false);
  if (!whole.is_discarded()) return EventsFromValue(std::move(whole));

  // Not one JSON value: read it as JSON lines.
  std::vector<v1::EventData> events;
  size_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    Json value = Json::parse(line.begin(), line.end(), nullptr,
                             /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number,
          ": not valid JSON; give one event object, a JSON array of events, or "
          "one event object per line"));
    }
    absl::StatusOr<v1::EventData> e =
        EventFromJson(std::move(value), events.size());
    if (!e.ok()) return e.status();
    events.push_back(*std::move(e));
  }
  if (events.empty()) {
    return absl::InvalidArgumentError("no events in the input");
  }
  return events;
}

std::string MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;  // stream_version 0 is a fact
  std::string out;
  // Printing fails only for messages with unresolvable Any fields; the CLI
  // prints none.
  if (!google::protobuf::util::MessageToJsonString(message, &out, options)
           .ok()) {
    return "{}";
  }
  return out;
}

std::string EventToJson(const v1::Event& event) {
  Json data;
  if (event.content_type() == v1::kCareEventContentType) {
    v1::CareEvent care_event;
    if (!care_event.ParseFromString(event.payload()))
      return MessageToJson(event);
    data = Json::parse(MessageToJson(care_event));
  } else if (IsJsonContentType(event.content_type())) {
    data = Json::parse(event.payload(), nullptr, /*allow_exceptions=*/false);
    if (data.is_discarded()) return MessageToJson(event);  // shown as base64
  } else {
    return MessageToJson(event);
  }
  v1::Event without_payload = event;
  without_payload.clear_payload();
  Json out = Json::parse(MessageToJson(without_payload));
  out.erase("payload");
  out["data"] = std::move(data);
  return out.dump();
}

}  // namespace caseline::tools
