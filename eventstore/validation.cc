#include "eventstore/validation.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/payload_crypto.h"

namespace caseline::eventstore {
namespace {

// Quoted, escaped and shortened for an error message.
std::string Quote(absl::string_view s) {
  constexpr size_t kShown = 80;
  std::string out = absl::StrCat("\"", absl::CHexEscape(s.substr(0, kShown)));
  if (s.size() > kShown) out.append("...");
  out.append("\"");
  return out;
}

bool IsStreamIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == ':' || c == '@' || c == '+' || c == '=' || c == '-';
}

// Letters, digits and '_' in dot-separated words, each starting with a letter
// or '_'.
bool IsEventType(absl::string_view type) {
  bool word_start = true;
  for (char c : type) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '.') {
      if (word_start) return false;
      word_start = true;
    } else if (word_start) {
      if (!absl::ascii_isalpha(u) && c != '_') return false;
      word_start = false;
    } else if (!absl::ascii_isalnum(u) && c != '_') {
      return false;
    }
  }
  return !type.empty() && !word_start;
}

absl::Status CheckShort(absl::string_view value, absl::string_view field) {
  if (value.size() > kMaxShortFieldBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is ", value.size(),
                                                   " bytes; the limit is ",
                                                   kMaxShortFieldBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateEvent(const ProposedEvent& e, const Limits& limits,
                           absl::string_view field) {
  if (!IsEventType(e.event_type) || e.event_type.size() > kMaxEventTypeBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".event_type: ", Quote(e.event_type),
        " is not an event type; use letters, digits and '_' in dot-separated "
        "words, such as ReferralSent or caseline.v1.ReferralSent, at most ",
        kMaxEventTypeBytes, " bytes"));
  }
  if (e.payload.size() > limits.max_payload_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".payload is ", e.payload.size(), " bytes; the limit is ",
        limits.max_payload_bytes, " (server flag --max_payload_bytes)"));
  }
  if (e.occurred_at.has_value()) {
    if (auto s = ValidateEventTime(*e.occurred_at,
                                   absl::StrCat(field, ".occurred_at"));
        !s.ok()) {
      return s;
    }
  }
  const std::pair<absl::string_view, absl::string_view> short_fields[] = {
      {"actor.organization_id", e.actor.organization_id},
      {"actor.user_id", e.actor.user_id},
      {"actor.role", e.actor.role},
      {"correlation_id", e.correlation_id},
      {"causation_id", e.causation_id},
      {"content_type", e.content_type},
  };
  for (const auto& [name, value] : short_fields) {
    if (auto s = CheckShort(value, absl::StrCat(field, ".", name)); !s.ok()) {
      return s;
    }
  }
  if (e.metadata.size() > kMaxMetadataEntries) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".metadata has ", e.metadata.size(),
                     " entries; the limit is ", kMaxMetadataEntries));
  }
  for (const auto& [key, value] : e.metadata) {
    if (key.empty() || key.size() > kMaxShortFieldBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".metadata: key ", Quote(key), " must be 1..",
                       kMaxShortFieldBytes, " bytes"));
    }
    if (key == kPayloadEncryptionMetadataKey) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".metadata: key ", Quote(key),
          " is reserved: the log sets it on payloads it encrypts; use "
          "another key"));
    }
    if (value.size() > kMaxMetadataValueBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".metadata[", Quote(key), "] is ", value.size(),
                       " bytes; the limit is ", kMaxMetadataValueBytes));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateStreamId(absl::string_view stream_id, const Limits& limits,
                              absl::string_view field) {
  bool ok = !stream_id.empty() &&
            stream_id.size() <= limits.max_stream_id_bytes &&
            absl::ascii_isalnum(static_cast<unsigned char>(stream_id[0]));
  for (size_t i = 0; ok && i < stream_id.size(); ++i) {
    ok = IsStreamIdChar(stream_id[i]);
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": ", Quote(stream_id), " is not a stream id; use 1 to ",
      limits.max_stream_id_bytes,
      " characters from A-Z a-z 0-9 . _ : @ + = -, starting with a letter or "
      "digit, such as client-4711"));
}

absl::Status ValidateAppendRequest(const AppendRequest& request,
                                   const Limits& limits) {
  if (auto s = ValidateStreamId(request.stream_id, limits, "stream_id");
      !s.ok()) {
    return s;
  }
  if (request.events.empty() ||
      request.events.size() > limits.max_events_per_append) {
    return absl::InvalidArgumentError(absl::StrCat(
        "events: an append carries 1 to ", limits.max_events_per_append,
        " events, this one has ", request.events.size(),
        "; split larger batches (server flag --max_events_per_append)"));
  }
  size_t total_bytes = 0;
  absl::flat_hash_set<EventId::Bytes> ids;
  for (size_t i = 0; i < request.events.size(); ++i) {
    const ProposedEvent& e = request.events[i];
    const std::string field = absl::StrCat("events[", i, "]");
    if (auto s = ValidateEvent(e, limits, field); !s.ok()) return s;
    total_bytes += e.payload.size();
    if (e.event_id.has_value() && !ids.insert(e.event_id->bytes()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".event_id ", e.event_id->ToString(),
          " appears twice in this append; every event needs its own id"));
    }
  }
  if (total_bytes > limits.max_append_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("events: payloads add up to ", total_bytes,
                     " bytes; the limit for one "
                     "append is ",
                     limits.max_append_bytes,
                     " (server flag --max_append_bytes); split the append"));
  }
  return absl::OkStatus();
}

absl::Status ValidateMaxCount(size_t max_count) {
  if (max_count == 0 || max_count > kMaxReadCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_count is ", max_count, "; use 1 to ", kMaxReadCount));
  }
  return absl::OkStatus();
}

}  // namespace caseline::eventstore
