#include "eventstore/event.h"

#include <openssl/evp.h>
#include <uuid/uuid.h>

#include <cstring>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

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

// UUID version 7 (RFC 9562 section 5.7): 48 bits of Unix milliseconds, the
// version, 12 bits of sub-millisecond time (section 6.2, method 3), the variant
// and 62 random bits. When the clock has not advanced since the thread's last
// id, the 12-bit field is incremented (carrying into the milliseconds), so one
// thread's ids strictly ascend. Time-ordered ids keep the event-id index's
// inserts local. Debian 12's libuuid (util-linux 2.38) predates version 7.
EventId EventId::Generate() {
  thread_local absl::BitGen random;
  thread_local uint64_t last_time = 0;  // millis << 12 | sub_millis
  const int64_t nanos = absl::GetCurrentTimeNanos();
  uint64_t time = (static_cast<uint64_t>(nanos / 1'000'000) << 12) |
                  (static_cast<uint64_t>(nanos % 1'000'000) * 4096 / 1'000'000);
  if (time <= last_time) time = last_time + 1;
  last_time = time;
  const uint64_t millis = time >> 12;
  const uint64_t sub_millis = time & 0xFFF;
  const uint64_t rand_b = absl::Uniform<uint64_t>(random);
  Bytes b;
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<uint8_t>(millis >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | (sub_millis >> 8));
  b[7] = static_cast<uint8_t>(sub_millis);
  b[8] = static_cast<uint8_t>(0x80 | (rand_b >> 58));
  for (int i = 9; i < 16; ++i)
    b[i] = static_cast<uint8_t>(rand_b >> (8 * (15 - i)));
  return EventId(b);
}

EventId EventId::FromName(absl::string_view name) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(name.data(), name.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    std::abort();  // only on allocation failure or a broken OpenSSL install
  }
  Bytes b;
  std::memcpy(b.data(), digest, b.size());
  b[6] = static_cast<uint8_t>(0x80 | (b[6] & 0x0F));  // version 8
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3F));  // RFC 9562 variant
  return EventId(b);
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

absl::Status ValidateEventTime(absl::Time t, absl::string_view field) {
  static const absl::Time kEarliest = absl::FromCivil(
      absl::CivilSecond(1678, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  static const absl::Time kLatest = absl::FromCivil(
      absl::CivilSecond(2261, 12, 31, 0, 0, 0), absl::UTCTimeZone());
  if (t < kEarliest || t > kLatest) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " (", absl::FormatTime(t),
                     ") is outside 1678-01-01..2261-12-31"));
  }
  return absl::OkStatus();
}

}  // namespace caseline::eventstore
