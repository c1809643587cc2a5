#include "eventstore/event.h"

#include <uuid/uuid.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace caseline::eventstore {

absl::StatusOr<EventId> EventId::Parse(absl::string_view text,
                                       absl::string_view field) {
  // uuid_parse wants exactly 36 characters, NUL-terminated.
  constexpr size_t kUuidTextSize = 36;
  if (text.size() == kUuidTextSize) {
    char buffer[kUuidTextSize + 1];
    std::memcpy(buffer, text.data(), kUuidTextSize);
    buffer[kUuidTextSize] = '\0';
    uuid_t uuid;
    if (uuid_parse(buffer, uuid) == 0) {
      Bytes bytes;
      std::memcpy(bytes.data(), uuid, bytes.size());
      return EventId(bytes);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": \"", absl::CHexEscape(text.substr(0, 64)),
      "\" is not a UUID; use the 36-character form "
      "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, or leave it empty to have one "
      "generated"));
}

EventId EventId::Generate() {
  uuid_t uuid;
  uuid_generate_random(uuid);
  Bytes bytes;
  std::memcpy(bytes.data(), uuid, bytes.size());
  return EventId(bytes);
}

std::string EventId::ToString() const {
  uuid_t uuid;
  std::memcpy(uuid, bytes_.data(), bytes_.size());
  char text[37];
  uuid_unparse_lower(uuid, text);
  return std::string(text, 36);
}

std::string HashToHex(const Hash& hash) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(hash.data()), hash.size()));
}

std::string ExpectedVersion::ToString() const {
  switch (kind_) {
    case Kind::kAny:
      return "any";
    case Kind::kNoStream:
      return "no stream";
    case Kind::kStreamExists:
      return "stream exists";
    case Kind::kExact:
      return absl::StrCat("version ", version_);
  }
  return "unknown";
}

bool EventFilter::Matches(absl::string_view stream_id,
                          absl::string_view event_type) const {
  return absl::StartsWith(stream_id, stream_id_prefix) &&
         absl::StartsWith(event_type, event_type_prefix);
}

}  // namespace caseline::eventstore
