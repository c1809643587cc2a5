// The stored form of one event: envelope body, then the hash-chain trailer.
// Byte layout: docs/log_format.md "Envelope" and "Hash chain". Pure
// functions, no I/O.
#ifndef CASELINE_EVENTSTORE_ENVELOPE_H_
#define CASELINE_EVENTSTORE_ENVELOPE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "eventstore/event.h"

namespace caseline::eventstore {

// Version byte that starts every envelope body.
inline constexpr uint8_t kEnvelopeVersion = 1;
// prev_hash(32) + hash(32) after the body.
inline constexpr size_t kHashTrailerSize = 64;

// hash = SHA-256(prev_hash || body).
Hash ChainHash(const Hash& prev_hash, absl::string_view body);

// Computes event->hash from event->prev_hash and the other fields, and returns
// the stored value: body || prev_hash || hash.
std::string SealEnvelope(RecordedEvent* event);

// A stored value split into its parts; views into the value.
struct EnvelopeParts {
  absl::string_view body;
  Hash prev_hash;
  Hash hash;
};
// DATA_LOSS when the value is too short to hold a trailer.
absl::StatusOr<EnvelopeParts> SplitEnvelope(absl::string_view value);

// Decodes a stored value. DATA_LOSS on any malformation (truncation, trailing
// bytes, unknown envelope version, unsorted metadata). Does not check the hash.
absl::StatusOr<RecordedEvent> DecodeEnvelope(absl::string_view value);

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_ENVELOPE_H_
