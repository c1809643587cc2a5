#include "eventstore/envelope.h"

#include <openssl/evp.h>

#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "eventstore/key_format.h"

namespace caseline::eventstore {
namespace {

void PutString(std::string* out, absl::string_view s) {
  PutFixed32BE(out, static_cast<uint32_t>(s.size()));
  out->append(s.data(), s.size());
}

void PutTime(std::string* out, absl::Time t) {
  PutFixed64BE(out, static_cast<uint64_t>(absl::ToUnixNanos(t)));
}

std::string EncodeBody(const RecordedEvent& e) {
  std::string out;
  out.reserve(128 + e.stream_id.size() + e.event_type.size() +
              e.payload.size() + e.content_type.size());
  out.push_back(static_cast<char>(kEnvelopeVersion));
  PutFixed64BE(&out, e.global_position);
  PutString(&out, e.stream_id);
  PutFixed64BE(&out, e.stream_version);
  out.append(reinterpret_cast<const char*>(e.event_id.bytes().data()),
             e.event_id.bytes().size());
  PutString(&out, e.event_type);
  PutTime(&out, e.occurred_at);
  PutTime(&out, e.recorded_at);
  PutString(&out, e.actor.organization_id);
  PutString(&out, e.actor.user_id);
  PutString(&out, e.actor.role);
  PutString(&out, e.correlation_id);
  PutString(&out, e.causation_id);
  PutFixed32BE(&out, e.schema_version);
  PutString(&out, e.content_type);
  PutString(&out, e.payload);
  PutFixed32BE(&out, static_cast<uint32_t>(e.metadata.size()));
  for (const auto& [key, value] : e.metadata) {  // std::map: ascending keys
    PutString(&out, key);
    PutString(&out, value);
  }
  return out;
}

// Reads the body's fields in order; every method fails once the input is short.
class BodyReader {
 public:
  explicit BodyReader(absl::string_view in) : in_(in) {}

  bool Fixed32(uint32_t* v) {
    if (in_.size() < 4) return false;
    *v = DecodeFixed32BE(in_);
    in_.remove_prefix(4);
    return true;
  }
  bool Fixed64(uint64_t* v) {
    if (in_.size() < 8) return false;
    *v = DecodeFixed64BE(in_);
    in_.remove_prefix(8);
    return true;
  }
  bool Time(absl::Time* t) {
    uint64_t nanos;
    if (!Fixed64(&nanos)) return false;
    *t = absl::FromUnixNanos(static_cast<int64_t>(nanos));
    return true;
  }
  bool String(std::string* s) {
    absl::string_view view;
    if (!View(&view)) return false;
    s->assign(view.data(), view.size());
    return true;
  }
  // A string as a view into the input.
  bool View(absl::string_view* s) {
    uint32_t size;
    if (!Fixed32(&size) || in_.size() < size) return false;
    *s = in_.substr(0, size);
    in_.remove_prefix(size);
    return true;
  }
  bool Bytes(uint8_t* out, size_t n) {
    if (in_.size() < n) return false;
    std::memcpy(out, in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  absl::string_view in_;
};

absl::Status Malformed(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("malformed event envelope: ", what));
}

}  // namespace

Hash ChainHash(const Hash& prev_hash, absl::string_view body) {
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  Hash out;
  unsigned int size = 0;
  // These calls fail only on allocation failure or a broken OpenSSL install;
  // neither leaves a way to keep a verifiable chain, so treat as fatal.
  if (sha256 == nullptr || ctx == nullptr ||
      EVP_DigestInit_ex(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), prev_hash.data(), prev_hash.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), body.data(), body.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &size) != 1 ||
      size != out.size()) {
    std::abort();
  }
  return out;
}

std::string SealEnvelope(RecordedEvent* event) {
  std::string value = EncodeBody(*event);
  event->hash = ChainHash(event->prev_hash, value);
  value.append(reinterpret_cast<const char*>(event->prev_hash.data()),
               event->prev_hash.size());
  value.append(reinterpret_cast<const char*>(event->hash.data()),
               event->hash.size());
  return value;
}

absl::StatusOr<EnvelopeParts> SplitEnvelope(absl::string_view value) {
  if (value.size() < kHashTrailerSize + 1) {
    return Malformed(absl::StrCat("only ", value.size(), " bytes"));
  }
  EnvelopeParts parts;
  parts.body = value.substr(0, value.size() - kHashTrailerSize);
  std::memcpy(parts.prev_hash.data(), value.data() + parts.body.size(), 32);
  std::memcpy(parts.hash.data(), value.data() + parts.body.size() + 32, 32);
  return parts;
}

absl::StatusOr<RecordedEvent> DecodeEnvelope(absl::string_view value) {
  auto parts = SplitEnvelope(value);
  if (!parts.ok()) return parts.status();
  if (static_cast<uint8_t>(parts->body[0]) != kEnvelopeVersion) {
    return Malformed(absl::StrCat("unknown envelope version ",
                                  static_cast<uint8_t>(parts->body[0])));
  }
  RecordedEvent e;
  BodyReader r(parts->body.substr(1));
  EventId::Bytes id;
  uint32_t metadata_count = 0;
  if (!r.Fixed64(&e.global_position) || !r.String(&e.stream_id) ||
      !r.Fixed64(&e.stream_version) || !r.Bytes(id.data(), id.size()) ||
      !r.String(&e.event_type) || !r.Time(&e.occurred_at) ||
      !r.Time(&e.recorded_at) || !r.String(&e.actor.organization_id) ||
      !r.String(&e.actor.user_id) || !r.String(&e.actor.role) ||
      !r.String(&e.correlation_id) || !r.String(&e.causation_id) ||
      !r.Fixed32(&e.schema_version) || !r.String(&e.content_type) ||
      !r.String(&e.payload) || !r.Fixed32(&metadata_count)) {
    return Malformed("truncated");
  }
  e.event_id = EventId(id);
  // Keys and values are viewed in place and copied once, into the map.
  absl::string_view key, val, previous;
  for (uint32_t i = 0; i < metadata_count; ++i) {
    if (!r.View(&key) || !r.View(&val)) return Malformed("truncated metadata");
    if (i > 0 && !(previous < key)) {
      return Malformed("metadata keys not in ascending order");
    }
    previous = key;
    e.metadata.emplace_hint(e.metadata.end(), std::string(key),
                            std::string(val));
  }
  if (!r.done()) return Malformed("trailing bytes after metadata");
  e.prev_hash = parts->prev_hash;
  e.hash = parts->hash;
  return e;
}

}  // namespace caseline::eventstore
