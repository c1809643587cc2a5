#include "eventstore/replication.h"

#include "absl/strings/str_cat.h"
#include "eventstore/key_format.h"

namespace caseline::eventstore {
namespace {

constexpr uint8_t kGroupVersion = 1;

}  // namespace

std::string EncodeReplicatedGroup(const ReplicatedGroup& group) {
  size_t size = 1 + 8 + 4;
  for (const std::string& e : group.envelopes) size += 4 + e.size();
  std::string out;
  out.reserve(size);
  out.push_back(static_cast<char>(kGroupVersion));
  PutFixed64BE(&out, group.first_position);
  PutFixed32BE(&out, static_cast<uint32_t>(group.envelopes.size()));
  for (const std::string& e : group.envelopes) {
    PutFixed32BE(&out, static_cast<uint32_t>(e.size()));
    out.append(e);
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
  if (static_cast<uint8_t>(value[0]) != kGroupVersion) {
    return damaged(absl::StrCat("unknown version ",
                                static_cast<uint8_t>(value[0])));
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
    if (value.size() < 4) return damaged("truncated envelope length");
    const uint32_t size = DecodeFixed32BE(value);
    value.remove_prefix(4);
    if (value.size() < size) return damaged("truncated envelope");
    group.envelopes.emplace_back(value.substr(0, size));
    value.remove_prefix(size);
  }
  if (!value.empty()) return damaged("bytes after the last envelope");
  return group;
}

}  // namespace caseline::eventstore
