// envelope_fuzz: eventstore::DecodeEnvelope on arbitrary stored values
// (docs/log_format.md "Envelope"), as recovery and every read meet them.
//
// Invariants (abort on violation):
//   - a refusal is DATA_LOSS with a message;
//   - a decoded value re-encodes to the same body and prev_hash (the format
//     is canonical), SealEnvelope's hash is ChainHash(prev_hash, body), and
//     the re-encoded value decodes to the same event.
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "eventstore/envelope.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace caseline::eventstore;  // NOLINT(google-build-using-namespace)
  const absl::string_view value(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<RecordedEvent> decoded = DecodeEnvelope(value);
  if (!decoded.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(decoded.status()),
               decoded.status().ToString());
    FUZZ_CHECK(!decoded.status().message().empty(), "no message");
    return 0;
  }
  absl::StatusOr<EnvelopeParts> parts = SplitEnvelope(value);
  FUZZ_CHECK(parts.ok(), "decoded but does not split");
  FUZZ_CHECK(decoded->prev_hash == parts->prev_hash, "prev_hash");
  FUZZ_CHECK(decoded->hash == parts->hash, "hash");

  RecordedEvent resealed = *decoded;
  const std::string again = SealEnvelope(&resealed);
  const size_t unhashed = size - kHashTrailerSize / 2;  // body + prev_hash
  FUZZ_CHECK(again.size() == size,
             absl::StrCat("re-encoded to ", again.size(), " bytes from ", size));
  FUZZ_CHECK(absl::string_view(again).substr(0, unhashed) ==
                 value.substr(0, unhashed),
             "re-encoding changed the body or prev_hash");
  FUZZ_CHECK(resealed.hash == ChainHash(parts->prev_hash, parts->body),
             "SealEnvelope's hash is not the chain hash of the body");

  absl::StatusOr<RecordedEvent> twice = DecodeEnvelope(again);
  FUZZ_CHECK(twice.ok(), twice.status().ToString());
  FUZZ_CHECK(*twice == resealed, "decode(seal(e)) != e");
  return 0;
}
