// Encryption of event payloads with per-stream data keys (crypto-shredding),
// and the stored forms it adds to the log: the encrypted payload and the
// data-key record under a 'k' key. Byte layouts: docs/log_format.md
// "Encrypted payloads". Pure functions (randomness aside), no I/O.
//
// Key material (data keys, KEKs) never appears in a Status message; messages
// name key ids only.
#ifndef CASELINE_EVENTSTORE_PAYLOAD_CRYPTO_H_
#define CASELINE_EVENTSTORE_PAYLOAD_CRYPTO_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/mutex.h"
#include "eventstore/event.h"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace caseline::eventstore {

// AES-256-GCM sizes.
inline constexpr size_t kAesKeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

// Version byte that starts every encrypted payload.
inline constexpr uint8_t kEncryptedPayloadVersion = 1;
// The metadata key (and its value) that marks an envelope's payload as
// encrypted. Reserved: an append that proposes it is refused.
inline constexpr char kPayloadEncryptionMetadataKey[] = "payload_encryption";
inline constexpr char kPayloadEncryptionAes256Gcm[] = "aes-256-gcm-1";

// A data key's id: 16 random bytes, shown as 32 lowercase hex digits.
using DataKeyId = std::array<uint8_t, 16>;
std::string DataKeyIdToHex(const DataKeyId& id);
absl::string_view DataKeyIdView(const DataKeyId& id);

// A 256-bit secret key. Its bytes are wiped when it is destroyed; it is
// never printed.
class SecretKey {
 public:
  SecretKey() : bytes_{} {}
  explicit SecretKey(absl::string_view bytes);  // REQUIRES: 32 bytes
  SecretKey(const SecretKey& other) = default;
  SecretKey& operator=(const SecretKey& other) = default;
  ~SecretKey();
  // 32 fresh bytes from OpenSSL's RAND_bytes.
  static absl::StatusOr<SecretKey> Generate();
  const uint8_t* data() const { return bytes_.data(); }
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_.data()),
                             bytes_.size());
  }

 private:
  std::array<uint8_t, kAesKeySize> bytes_;
};

// `size` random bytes (OpenSSL RAND_bytes). INTERNAL if the generator fails.
absl::StatusOr<std::string> RandomBytes(size_t size);

// AES-256-GCM with a fresh random nonce: nonce || ciphertext || tag.
absl::StatusOr<std::string> SealAesGcm(const SecretKey& key,
                                       absl::string_view plaintext,
                                       absl::string_view aad);
// Opens what SealAesGcm made. DATA_LOSS when it is too short or fails
// authentication (tampered bytes, another key, another aad).
absl::StatusOr<std::string> OpenAesGcm(const SecretKey& key,
                                       absl::string_view sealed,
                                       absl::string_view aad);

// A data key ready for AES-256-GCM: OpenSSL contexts set up with the key
// once (the key schedule, the GCM tables and the cipher's dispatch) and
// reused, so that sealing or opening a small payload costs the AES-GCM pass
// and a nonce, not a context's set-up, which costs as much again. A few
// contexts are kept per key, and at most kMaxPooledCipherContexts across
// all keys (about 1.2 KiB each); beyond that a context is made for the call
// and freed after it. OpenSSL wipes a context's key schedule when it frees
// it, which the destructor does for every pooled one.
//
// Thread-safety: Seal and Open may be called concurrently.
class AesGcmKey {
 public:
  explicit AesGcmKey(const SecretKey& key) : key_(key) {}
  AesGcmKey(const AesGcmKey&) = delete;
  AesGcmKey& operator=(const AesGcmKey&) = delete;
  ~AesGcmKey();

  const SecretKey& secret() const { return key_; }
  // As SealAesGcm and OpenAesGcm with this key.
  absl::StatusOr<std::string> Seal(absl::string_view plaintext,
                                   absl::string_view aad) const;
  absl::StatusOr<std::string> Open(absl::string_view sealed,
                                   absl::string_view aad) const;

 private:
  static constexpr int kPooledPerKey = 2;
  // A context keyed for encryption or decryption; `owned`: it belongs to
  // this key's pool (else it is made for one call and freed after it).
  struct Lease {
    EVP_CIPHER_CTX* ctx = nullptr;  // nullptr when OpenSSL failed
    bool owned = false;
  };
  Lease Take(bool encrypt) const;
  // Back to the pool (`ok`: the call succeeded), or freed.
  void Give(bool encrypt, Lease lease, bool ok) const;

  const SecretKey key_;
  mutable Mutex mu_;
  // Free contexts of the pool, for decryption [0] and encryption [1].
  mutable EVP_CIPHER_CTX* pool_[2][kPooledPerKey] ABSL_GUARDED_BY(mu_) = {};
  mutable int pooled_[2] ABSL_GUARDED_BY(mu_) = {0, 0};
  // Contexts this key's pool owns, free or leased.
  mutable int owned_[2] ABSL_GUARDED_BY(mu_) = {0, 0};
};
// Contexts owned by all keys' pools together, at most (about).
inline constexpr int kMaxPooledCipherContexts = 8192;

// The additional authenticated data of an event's encrypted payload: binds
// the ciphertext to its stream, its event and its key.
std::string PayloadAad(absl::string_view stream_id, const EventId& event_id,
                       const DataKeyId& key_id);
// The additional authenticated data of a wrapped data key: binds it to its
// key id and stream.
std::string DataKeyAad(const DataKeyId& key_id, absl::string_view stream_id);

// The stored form of an encrypted payload:
//   u8 version (1) | key_id[16] | nonce[12] | ciphertext | tag[16]
absl::StatusOr<std::string> EncryptPayload(const AesGcmKey& key,
                                           const DataKeyId& key_id,
                                           absl::string_view stream_id,
                                           const EventId& event_id,
                                           absl::string_view plaintext);
// The key id an encrypted payload names. DATA_LOSS when it is too short or
// of an unknown version.
absl::StatusOr<DataKeyId> EncryptedPayloadKeyId(absl::string_view stored);
// DATA_LOSS when the payload fails authentication (see OpenAesGcm).
absl::StatusOr<std::string> DecryptPayload(const AesGcmKey& key,
                                           absl::string_view stream_id,
                                           const EventId& event_id,
                                           absl::string_view stored);

// The value of a 'k' key: a stream's data key, wrapped, or the record that
// it was erased.
struct DataKeyRecord {
  enum class State : uint8_t { kActive = 1, kErased = 2 };
  State state = State::kActive;
  DataKeyId key_id{};
  // kActive: the KEK it is wrapped under and the wrapped bytes.
  std::string kek_id;
  std::string wrapped;
  // kErased: the position of the event that recorded the erasure; 0 when
  // this log does not hold it (restored from a backup taken before the
  // erasure, or the server stopped between destroying the key and
  // recording the erasure).
  uint64_t erased_at_position = 0;
};
inline constexpr uint8_t kDataKeyRecordVersion = 1;
std::string EncodeDataKeyRecord(const DataKeyRecord& record);
// DATA_LOSS for a malformed value.
absl::StatusOr<DataKeyRecord> DecodeDataKeyRecord(absl::string_view value);

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_PAYLOAD_CRYPTO_H_
