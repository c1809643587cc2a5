// Signed tree heads: a statement "the log's event at `position` has chain
// hash `head_hash`", made at `signed_at` and signed with an Ed25519 key, so
// that anyone holding only the public key can check a copy of the log (a
// backup) against it, with no server involved. Byte layouts:
// docs/log_format.md "Signed heads". Ed25519 through OpenSSL's EVP
// (EVP_DigestSign / EVP_DigestVerify, RFC 8032 pure Ed25519).
//
// Thread-safety: HeadSigner and HeadVerifier are immutable after creation;
// their const methods may be called from any thread.
#ifndef CASELINE_EVENTSTORE_SIGNED_HEAD_H_
#define CASELINE_EVENTSTORE_SIGNED_HEAD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "eventstore/event.h"

namespace caseline::eventstore {

// The first 24 bytes of every signed message: this text and a NUL byte. A
// signature over it can never be mistaken for one over anything else
// Caseline signs, and a future layout gets a new text.
inline constexpr absl::string_view kSignedHeadDomain(
    "caseline signed head v1\0", 24);
// Size of the signed message: domain, u64 position, head hash, i64 signed_at.
inline constexpr size_t kSignedHeadMessageSize = 24 + 8 + 32 + 8;
// The version byte that starts a stored signed head (the value of an 'h'
// key).
inline constexpr uint8_t kSignedHeadValueVersion = 1;
inline constexpr size_t kSignedHeadValueSize = 1 + 8 + 32 + 8 + 32 + 64;
// An Ed25519 signature's size.
inline constexpr size_t kSignatureSize = 64;

struct SignedHead {
  // The signed event's global position (>= 1) and chain hash.
  uint64_t position = 0;
  Hash head_hash{};
  // When it was signed, in whole microseconds since the Unix epoch.
  absl::Time signed_at = absl::UnixEpoch();
  // SHA-256 of the signing key's raw 32-byte Ed25519 public key.
  Hash key_id{};
  // Ed25519 signature of SignedHeadMessage(position, head_hash, signed_at):
  // kSignatureSize bytes.
  std::string signature;
};

// The exact bytes that are signed: kSignedHeadDomain, position (u64
// big-endian), head_hash (32 bytes), signed_at as microseconds since the
// Unix epoch (i64 big-endian, two's complement). `signed_at` is truncated
// to whole microseconds (towards the past).
std::string SignedHeadMessage(uint64_t position, const Hash& head_hash,
                              absl::Time signed_at);

// `t` truncated to whole microseconds, as signed heads hold it.
absl::Time TruncateToMicros(absl::Time t);

// The stored form (the value of an 'h' key): version byte, position, head
// hash, signed_at micros, key id, signature.
std::string EncodeSignedHeadValue(const SignedHead& head);
// DATA_LOSS when the value is not exactly kSignedHeadValueSize bytes or of
// another version.
absl::StatusOr<SignedHead> DecodeSignedHeadValue(absl::string_view value);

// Lowercase hex of a key id (64 digits), as files and responses show it.
std::string KeyIdToHex(const Hash& key_id);

// An Ed25519 private key that signs heads. The key material stays inside
// OpenSSL; no method returns it and no error message contains it.
class HeadSigner {
 public:
  // Parses a PEM private key as `openssl genpkey -algorithm ed25519` writes
  // it (PKCS#8, "-----BEGIN PRIVATE KEY-----"). INVALID_ARGUMENT when it is
  // not a PEM private key, or is one of another algorithm (the message names
  // the algorithm, never the key). Encrypted PEM is refused.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HeadSigner>> FromPem(
      absl::string_view pem);

  ~HeadSigner();
  HeadSigner(const HeadSigner&) = delete;
  HeadSigner& operator=(const HeadSigner&) = delete;

  // A signed head for (position, head_hash, signed_at truncated to micros).
  // INTERNAL if OpenSSL fails to sign.
  [[nodiscard]] absl::StatusOr<SignedHead> Sign(uint64_t position,
                                                const Hash& head_hash,
                                                absl::Time signed_at) const;

  const Hash& key_id() const { return key_id_; }
  // The public half as PEM (SubjectPublicKeyInfo, "-----BEGIN PUBLIC
  // KEY-----"), as `openssl pkey -pubout` writes it.
  const std::string& public_key_pem() const { return public_key_pem_; }

 private:
  struct Key;
  HeadSigner(std::unique_ptr<Key> key, Hash key_id, std::string public_pem);
  std::unique_ptr<Key> key_;
  Hash key_id_;
  std::string public_key_pem_;
};

// An Ed25519 public key that checks signed heads.
class HeadVerifier {
 public:
  // Parses a PEM public key ("-----BEGIN PUBLIC KEY-----"). INVALID_ARGUMENT
  // when it is not one, or not Ed25519.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HeadVerifier>>
  FromPublicKeyPem(absl::string_view pem);

  ~HeadVerifier();
  HeadVerifier(const HeadVerifier&) = delete;
  HeadVerifier& operator=(const HeadVerifier&) = delete;

  // OK when `head.signature` is this key's Ed25519 signature of
  // SignedHeadMessage(head.position, head.head_hash, head.signed_at).
  // FAILED_PRECONDITION when head.key_id names another key (the message
  // gives both ids); DATA_LOSS when the signature does not verify (the
  // head was altered, or not signed by this key).
  [[nodiscard]] absl::Status Verify(const SignedHead& head) const;

  const Hash& key_id() const { return key_id_; }

 private:
  struct Key;
  HeadVerifier(std::unique_ptr<Key> key, Hash key_id);
  std::unique_ptr<Key> key_;
  Hash key_id_;
};

// What VerifyLogAgainstSignedHead found.
struct OfflineVerification {
  // True when the signature verifies, every event 1..log_head_position is
  // stored, decodes, sits at its position, links to its predecessor and
  // hashes to its stored hash, and the hash at the signed position is the
  // signed head hash.
  bool ok = false;
  // When !ok: the first position that failed (0 when the fault is not at a
  // position: the signature, or a log that ends before the signed position
  // is reported at log_head_position + 1), and why.
  uint64_t first_bad_position = 0;
  std::string problem;
  // The directory's last event and the events whose hashes were recomputed.
  uint64_t log_head_position = 0;
  uint64_t events_checked = 0;
};

// Checks the log in `dir` (a backup written by EventLog::Backup, or any
// directory in the log's layout that no process has open) against `head`
// with `verifier`'s public key alone: opens it read-only (writing nothing
// into it), checks every table block's checksum, recomputes the hash chain
// from position 1 to the directory's head, and compares the hash at
// head.position with head.head_hash. Events after head.position are checked
// as a chain but are not covered by the signature.
// A rejection is an OK status with ok == false. Errors: NOT_FOUND (no such
// directory), FAILED_PRECONDITION (not a directory, not a Caseline log, or
// one of a newer format), UNAVAILABLE (I/O errors). A table file that fails
// its checksum is a rejection (first_bad_position 0, the file named).
[[nodiscard]] absl::StatusOr<OfflineVerification> VerifyLogAgainstSignedHead(
    const std::string& dir, const SignedHead& head,
    const HeadVerifier& verifier);

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_SIGNED_HEAD_H_
