// Key layout of the event log in RocksDB. docs/log_format.md ("Keys") is the
// authoritative description; keep the two in step. All integers are big-endian
// so that keys sort numerically.
#ifndef CASELINE_EVENTSTORE_KEY_FORMAT_H_
#define CASELINE_EVENTSTORE_KEY_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "eventstore/event.h"

namespace caseline::eventstore {

// The data directory's format version, stored under kFormatVersionKey. A
// directory with a larger number is refused at start-up. Version 2 adds
// encrypted payloads and the 'k' keys: a new directory is created at 2, and
// a version-1 directory is moved to 2 in the write that stores its first
// data key, so that a release that cannot decrypt refuses it.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kFirstFormatWithDataKeys = 2;

// docs/log_format.md "Keys".
inline constexpr char kMetaPrefix = 'm';
inline constexpr char kEventPrefix = 'e';
inline constexpr char kStreamIndexPrefix = 's';
inline constexpr char kEventIdPrefix = 'i';
inline constexpr char kSignedHeadPrefix = 'h';
inline constexpr char kDataKeyPrefix = 'k';
inline constexpr char kFormatVersionKey[] = "mformat_version";

inline void PutFixed16BE(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}
inline void PutFixed32BE(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>(v >> shift));
  }
}
inline void PutFixed64BE(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>(v >> shift));
  }
}
// REQUIRES: in.size() >= 4 / 8.
inline uint32_t DecodeFixed32BE(absl::string_view in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}
inline uint64_t DecodeFixed64BE(absl::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

// 'e' + position(8): the envelope of the event at `position`.
inline std::string EventKey(uint64_t position) {
  std::string key(1, kEventPrefix);
  PutFixed64BE(&key, position);
  return key;
}
inline constexpr size_t kEventKeySize = 9;

// 's' + len(2) + stream_id + version(8): the global position (8) of a stream's
// event. REQUIRES: stream_id.size() < 65536 (validated far below that).
inline std::string StreamIndexPrefix(absl::string_view stream_id) {
  std::string key(1, kStreamIndexPrefix);
  PutFixed16BE(&key, static_cast<uint16_t>(stream_id.size()));
  key.append(stream_id.data(), stream_id.size());
  return key;
}
inline std::string StreamIndexKey(absl::string_view stream_id,
                                  uint64_t version) {
  std::string key = StreamIndexPrefix(stream_id);
  PutFixed64BE(&key, version);
  return key;
}

// 'i' + event id(16): the global position (8) of the event with that id.
inline std::string EventIdKey(const EventId& id) {
  std::string key(1, kEventIdPrefix);
  key.append(reinterpret_cast<const char*>(id.bytes().data()),
             id.bytes().size());
  return key;
}

// 'h' + position(8) + signed_at micros(8, two's complement): a signed head
// (eventstore/signed_head.h), kept beside the log so that backups hold it.
inline std::string SignedHeadKey(uint64_t position, int64_t signed_at_micros) {
  std::string key(1, kSignedHeadPrefix);
  PutFixed64BE(&key, position);
  PutFixed64BE(&key, static_cast<uint64_t>(signed_at_micros));
  return key;
}
inline constexpr size_t kSignedHeadKeySize = 17;

// 'k' + stream_id: the stream's data key, wrapped by the KEK, or the record
// that it was erased (eventstore/payload_crypto.h DataKeyRecord). Outside the
// hash chain, like 'h'.
inline std::string DataKeyKey(absl::string_view stream_id) {
  std::string key(1, kDataKeyPrefix);
  key.append(stream_id.data(), stream_id.size());
  return key;
}

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_KEY_FORMAT_H_
