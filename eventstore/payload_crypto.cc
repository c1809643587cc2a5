#include "eventstore/payload_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/key_format.h"

namespace caseline::eventstore {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

// One cipher context per thread, reset for each use: allocating one per
// event costs more than the encryption of a small payload.
EVP_CIPHER_CTX* ThreadCipherContext() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(
      EVP_CIPHER_CTX_new());
  EVP_CIPHER_CTX_reset(ctx.get());
  return ctx.get();
}

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* const cipher =
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

void PutString(std::string* out, absl::string_view s) {
  PutFixed32BE(out, static_cast<uint32_t>(s.size()));
  out->append(s.data(), s.size());
}

constexpr char kPayloadAadLabel[] = "caseline payload v1";
constexpr char kDataKeyAadLabel[] = "caseline data key v1";
constexpr size_t kPayloadHeaderSize = 1 + 16;  // version, key id

}  // namespace

std::string DataKeyIdToHex(const DataKeyId& id) {
  return absl::BytesToHexString(DataKeyIdView(id));
}

absl::string_view DataKeyIdView(const DataKeyId& id) {
  return absl::string_view(reinterpret_cast<const char*>(id.data()),
                           id.size());
}

SecretKey::SecretKey(absl::string_view bytes) : bytes_{} {
  if (bytes.size() == bytes_.size()) {
    std::memcpy(bytes_.data(), bytes.data(), bytes_.size());
  }
}

SecretKey::~SecretKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

absl::StatusOr<SecretKey> SecretKey::Generate() {
  SecretKey key;
  if (RAND_bytes(key.bytes_.data(), static_cast<int>(key.bytes_.size())) !=
      1) {
    return absl::InternalError("OpenSSL's RAND_bytes failed to make a key");
  }
  return key;
}

absl::StatusOr<std::string> RandomBytes(size_t size) {
  std::string out(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(size)) != 1) {
    return absl::InternalError("OpenSSL's RAND_bytes failed");
  }
  return out;
}

namespace {

// Seals with `ctx`, either already set up for encryption with the key
// (`key` nullptr: only the nonce is set) or reset (`key`: set up now).
absl::StatusOr<std::string> SealWith(EVP_CIPHER_CTX* ctx, const uint8_t* key,
                                     absl::string_view plaintext,
                                     absl::string_view aad) {
  std::string out(kGcmNonceSize + plaintext.size() + kGcmTagSize, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(bytes, kGcmNonceSize) != 1) {
    return absl::InternalError("OpenSSL's RAND_bytes failed to make a nonce");
  }
  int length = 0;
  int final_length = 0;
  if (ctx == nullptr || Aes256Gcm() == nullptr ||
      EVP_EncryptInit_ex2(ctx, key != nullptr ? Aes256Gcm() : nullptr, key,
                          bytes, nullptr) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx, nullptr, &length,
                         reinterpret_cast<const unsigned char*>(aad.data()),
                         static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(
          ctx, bytes + kGcmNonceSize, &length,
          reinterpret_cast<const unsigned char*>(plaintext.data()),
          static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, bytes + kGcmNonceSize + length,
                          &final_length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
                          bytes + kGcmNonceSize + plaintext.size()) != 1) {
    return absl::InternalError("OpenSSL's AES-256-GCM encryption failed");
  }
  return out;
}

// Opens with `ctx`, as SealWith seals.
absl::StatusOr<std::string> OpenWith(EVP_CIPHER_CTX* ctx, const uint8_t* key,
                                     absl::string_view sealed,
                                     absl::string_view aad) {
  if (sealed.size() < kGcmNonceSize + kGcmTagSize) {
    return absl::DataLossError(absl::StrCat(
        "an AES-256-GCM ciphertext is ", sealed.size(),
        " bytes, shorter than its nonce and tag"));
  }
  const size_t text_size = sealed.size() - kGcmNonceSize - kGcmTagSize;
  const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string out(text_size, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  int length = 0;
  int final_length = 0;
  if (ctx == nullptr || Aes256Gcm() == nullptr ||
      EVP_DecryptInit_ex2(ctx, key != nullptr ? Aes256Gcm() : nullptr, key,
                          in, nullptr) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx, nullptr, &length,
                         reinterpret_cast<const unsigned char*>(aad.data()),
                         static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx, bytes, &length, in + kGcmNonceSize,
                        static_cast<int>(text_size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(
          ctx, EVP_CTRL_GCM_SET_TAG, kGcmTagSize,
          const_cast<unsigned char*>(in + kGcmNonceSize + text_size)) != 1) {
    return absl::InternalError("OpenSSL's AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx, bytes + length, &final_length) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return absl::DataLossError(
        "an AES-256-GCM ciphertext failed authentication: its bytes were "
        "changed, or it belongs to another key or place");
  }
  return out;
}

// Contexts held in every AesGcmKey's pool together.
std::atomic<int> pooled_cipher_contexts{0};

}  // namespace

absl::StatusOr<std::string> SealAesGcm(const SecretKey& key,
                                       absl::string_view plaintext,
                                       absl::string_view aad) {
  return SealWith(ThreadCipherContext(), key.data(), plaintext, aad);
}

absl::StatusOr<std::string> OpenAesGcm(const SecretKey& key,
                                       absl::string_view sealed,
                                       absl::string_view aad) {
  return OpenWith(ThreadCipherContext(), key.data(), sealed, aad);
}

AesGcmKey::~AesGcmKey() {
  MutexLock lock(&mu_);
  for (int e = 0; e < 2; ++e) {
    for (int i = 0; i < pooled_[e]; ++i) EVP_CIPHER_CTX_free(pool_[e][i]);
    pooled_cipher_contexts.fetch_sub(owned_[e], std::memory_order_relaxed);
    pooled_[e] = 0;
    owned_[e] = 0;
  }
}

AesGcmKey::Lease AesGcmKey::Take(bool encrypt) const {
  Lease lease;
  {
    MutexLock lock(&mu_);
    if (int& n = pooled_[encrypt]; n > 0) {
      return Lease{pool_[encrypt][--n], /*owned=*/true};
    }
    // The pool grows while this key and all keys together are below their
    // bounds; the global count is approximate under races.
    if (owned_[encrypt] < kPooledPerKey &&
        pooled_cipher_contexts.load(std::memory_order_relaxed) <
            kMaxPooledCipherContexts) {
      ++owned_[encrypt];
      pooled_cipher_contexts.fetch_add(1, std::memory_order_relaxed);
      lease.owned = true;
    }
  }
  lease.ctx = EVP_CIPHER_CTX_new();
  if (lease.ctx != nullptr &&
      (Aes256Gcm() == nullptr ||
       (encrypt ? EVP_EncryptInit_ex2(lease.ctx, Aes256Gcm(), key_.data(),
                                      nullptr, nullptr)
                : EVP_DecryptInit_ex2(lease.ctx, Aes256Gcm(), key_.data(),
                                      nullptr, nullptr)) != 1)) {
    EVP_CIPHER_CTX_free(lease.ctx);
    lease.ctx = nullptr;
  }
  if (lease.ctx == nullptr && lease.owned) Give(encrypt, lease, false);
  return lease;
}

void AesGcmKey::Give(bool encrypt, Lease lease, bool ok) const {
  if (lease.owned) {
    MutexLock lock(&mu_);
    // A context whose call failed is not trusted again: the pool gives up
    // its place.
    if (ok && lease.ctx != nullptr) {
      pool_[encrypt][pooled_[encrypt]++] = lease.ctx;
      return;
    }
    --owned_[encrypt];
    pooled_cipher_contexts.fetch_sub(1, std::memory_order_relaxed);
  }
  EVP_CIPHER_CTX_free(lease.ctx);
}

absl::StatusOr<std::string> AesGcmKey::Seal(absl::string_view plaintext,
                                            absl::string_view aad) const {
  const Lease lease = Take(/*encrypt=*/true);
  if (lease.ctx == nullptr) {
    return absl::InternalError("OpenSSL's AES-256-GCM encryption failed");
  }
  absl::StatusOr<std::string> sealed =
      SealWith(lease.ctx, nullptr, plaintext, aad);
  Give(/*encrypt=*/true, lease, sealed.ok());
  return sealed;
}

absl::StatusOr<std::string> AesGcmKey::Open(absl::string_view sealed,
                                            absl::string_view aad) const {
  const Lease lease = Take(/*encrypt=*/false);
  if (lease.ctx == nullptr) {
    return absl::InternalError("OpenSSL's AES-256-GCM decryption failed");
  }
  absl::StatusOr<std::string> opened = OpenWith(lease.ctx, nullptr, sealed, aad);
  Give(/*encrypt=*/false, lease, opened.ok());
  return opened;
}

std::string PayloadAad(absl::string_view stream_id, const EventId& event_id,
                       const DataKeyId& key_id) {
  std::string aad(kPayloadAadLabel, sizeof(kPayloadAadLabel));  // with NUL
  PutString(&aad, stream_id);
  aad.append(reinterpret_cast<const char*>(event_id.bytes().data()),
             event_id.bytes().size());
  absl::StrAppend(&aad, DataKeyIdView(key_id));
  return aad;
}

std::string DataKeyAad(const DataKeyId& key_id, absl::string_view stream_id) {
  std::string aad(kDataKeyAadLabel, sizeof(kDataKeyAadLabel));  // with NUL
  absl::StrAppend(&aad, DataKeyIdView(key_id));
  PutString(&aad, stream_id);
  return aad;
}

absl::StatusOr<std::string> EncryptPayload(const AesGcmKey& key,
                                           const DataKeyId& key_id,
                                           absl::string_view stream_id,
                                           const EventId& event_id,
                                           absl::string_view plaintext) {
  absl::StatusOr<std::string> sealed =
      key.Seal(plaintext, PayloadAad(stream_id, event_id, key_id));
  if (!sealed.ok()) return sealed.status();
  std::string out;
  out.reserve(kPayloadHeaderSize + sealed->size());
  out.push_back(static_cast<char>(kEncryptedPayloadVersion));
  absl::StrAppend(&out, DataKeyIdView(key_id));
  out.append(*sealed);
  return out;
}

absl::StatusOr<DataKeyId> EncryptedPayloadKeyId(absl::string_view stored) {
  if (stored.size() < kPayloadHeaderSize + kGcmNonceSize + kGcmTagSize) {
    return absl::DataLossError(absl::StrCat(
        "an encrypted payload is ", stored.size(),
        " bytes, shorter than its header, nonce and tag"));
  }
  if (static_cast<uint8_t>(stored[0]) != kEncryptedPayloadVersion) {
    return absl::DataLossError(
        absl::StrCat("an encrypted payload has version ",
                     static_cast<int>(static_cast<uint8_t>(stored[0])),
                     "; this caselined reads version ",
                     static_cast<int>(kEncryptedPayloadVersion)));
  }
  DataKeyId id;
  std::memcpy(id.data(), stored.data() + 1, id.size());
  return id;
}

absl::StatusOr<std::string> DecryptPayload(const AesGcmKey& key,
                                           absl::string_view stream_id,
                                           const EventId& event_id,
                                           absl::string_view stored) {
  absl::StatusOr<DataKeyId> key_id = EncryptedPayloadKeyId(stored);
  if (!key_id.ok()) return key_id.status();
  return key.Open(stored.substr(kPayloadHeaderSize),
                  PayloadAad(stream_id, event_id, *key_id));
}

std::string EncodeDataKeyRecord(const DataKeyRecord& record) {
  std::string out;
  out.push_back(static_cast<char>(kDataKeyRecordVersion));
  out.push_back(static_cast<char>(record.state));
  absl::StrAppend(&out, DataKeyIdView(record.key_id));
  if (record.state == DataKeyRecord::State::kActive) {
    PutString(&out, record.kek_id);
    PutString(&out, record.wrapped);
  } else {
    PutFixed64BE(&out, record.erased_at_position);
  }
  return out;
}

absl::StatusOr<DataKeyRecord> DecodeDataKeyRecord(absl::string_view value) {
  auto malformed = [&](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat("a data-key record ('k' key) is malformed: ", why));
  };
  if (value.size() < 2 + 16) return malformed("too short");
  if (static_cast<uint8_t>(value[0]) != kDataKeyRecordVersion) {
    return malformed(absl::StrCat(
        "version ", static_cast<int>(static_cast<uint8_t>(value[0]))));
  }
  DataKeyRecord record;
  const uint8_t state = static_cast<uint8_t>(value[1]);
  std::memcpy(record.key_id.data(), value.data() + 2, 16);
  absl::string_view rest = value.substr(2 + 16);
  auto take_string = [&](std::string* out) {
    if (rest.size() < 4) return false;
    const uint32_t size = DecodeFixed32BE(rest);
    if (rest.size() - 4 < size) return false;
    out->assign(rest.data() + 4, size);
    rest.remove_prefix(4 + size);
    return true;
  };
  if (state == static_cast<uint8_t>(DataKeyRecord::State::kActive)) {
    record.state = DataKeyRecord::State::kActive;
    if (!take_string(&record.kek_id) || !take_string(&record.wrapped) ||
        !rest.empty()) {
      return malformed("truncated or trailing bytes");
    }
  } else if (state == static_cast<uint8_t>(DataKeyRecord::State::kErased)) {
    record.state = DataKeyRecord::State::kErased;
    if (rest.size() != 8) return malformed("truncated or trailing bytes");
    record.erased_at_position = DecodeFixed64BE(rest);
  } else {
    return malformed(absl::StrCat("state ", static_cast<int>(state)));
  }
  return record;
}

}  // namespace caseline::eventstore
