#include "eventstore/replication.h"

#include "absl/strings/str_cat.h"
#include "eventstore/key_format.h"

namespace caseline::eventstore {
namespace {

// docs/cluster.md "A group". Version 2 adds the data keys after the
// envelopes; a group without any is still written as version 1, so that a
// node of a release before version 2 keeps applying it.
constexpr uint8_t kGroupVersion = 1;
constexpr uint8_t kGroupVersionWithDataKeys = 2;

void PutLengthPrefixed(std::string* out, absl::string_view value) {
  PutFixed32BE(out, static_cast<uint32_t>(value.size()));
  out->append(value.data(), value.size());
}

// Takes a u32-length-prefixed string off the front of `value`; false when
// it is truncated.
bool GetLengthPrefixed(absl::string_view& value, absl::string_view& out) {
  if (value.size() < 4) return false;
  const uint32_t size = DecodeFixed32BE(value);
  value.remove_prefix(4);
  if (value.size() < size) return false;
  out = value.substr(0, size);
  value.remove_prefix(size);
  return true;
}

}  // namespace

std::string EncodeReplicatedGroup(const ReplicatedGroup& group) {
  const bool with_keys = !group.data_keys.empty();
  size_t size = 1 + 8 + 4;
  for (const std::string& e : group.envelopes) size += 4 + e.size();
  if (with_keys) {
    size += 4;
    for (const DataKeyUpdate& k : group.data_keys) {
      size += 4 + k.stream_id.size() + 4 + k.record.size();
    }
  }
  std::string out;
  out.reserve(size);
  out.push_back(static_cast<char>(with_keys ? kGroupVersionWithDataKeys
                                            : kGroupVersion));
  PutFixed64BE(&out, group.first_position);
  PutFixed32BE(&out, static_cast<uint32_t>(group.envelopes.size()));
  for (const std::string& e : group.envelopes) PutLengthPrefixed(&out, e);
  if (with_keys) {
    PutFixed32BE(&out, static_cast<uint32_t>(group.data_keys.size()));
    for (const DataKeyUpdate& k : group.data_keys) {
      PutLengthPrefixed(&out, k.stream_id);
      PutLengthPrefixed(&out, k.record);
    }
  }
  return out;
}

absl::StatusOr<ReplicatedGroup> DecodeReplicatedGroup(absl::string_view value) {
  auto damaged = [](absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat("replicated group: ", what,
                     " (docs/cluster.md \"A group\")"));
  };
  if (value.size() < 13) return damaged("shorter than its 13-byte header");
  const uint8_t version = static_cast<uint8_t>(value[0]);
  if (version != kGroupVersion && version != kGroupVersionWithDataKeys) {
    return damaged(absl::StrCat("unknown version ", version));
  }
  ReplicatedGroup group;
  group.first_position = DecodeFixed64BE(value.substr(1));
  const uint32_t count = DecodeFixed32BE(value.substr(9));
  if (count == 0) return damaged("no events");
  if (group.first_position == 0) return damaged("first position 0");
  value.remove_prefix(13);
  // Each envelope takes at least its 4-byte length: a count the value cannot
  // hold is refused before anything is reserved for it.
  if (count > value.size() / 4) return damaged("count larger than the value");
  group.envelopes.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    absl::string_view envelope;
    if (!GetLengthPrefixed(value, envelope)) {
      return damaged("truncated envelope");
    }
    group.envelopes.emplace_back(envelope);
  }
  if (version == kGroupVersionWithDataKeys) {
    if (value.size() < 4) return damaged("truncated data-key count");
    const uint32_t keys = DecodeFixed32BE(value);
    value.remove_prefix(4);
    // Each data key takes at least its two 4-byte lengths.
    if (keys > value.size() / 8) {
      return damaged("data-key count larger than the value");
    }
    group.data_keys.reserve(keys);
    for (uint32_t i = 0; i < keys; ++i) {
      absl::string_view stream_id, record;
      if (!GetLengthPrefixed(value, stream_id)) {
        return damaged("truncated data-key stream id");
      }
      if (stream_id.empty()) return damaged("a data key with no stream id");
      if (!GetLengthPrefixed(value, record)) {
        return damaged("truncated data-key record");
      }
      group.data_keys.push_back(
          DataKeyUpdate{std::string(stream_id), std::string(record)});
    }
  }
  if (!value.empty()) return damaged("bytes after the group's last field");
  return group;
}

}  // namespace caseline::eventstore
