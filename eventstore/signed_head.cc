// Signed heads: the signed message and the stored value
// (docs/log_format.md "Signed heads"), and Ed25519 signing and checking
// through OpenSSL's EVP interface.
#include "eventstore/signed_head.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "eventstore/key_format.h"

namespace caseline::eventstore {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Refuses PEM pass phrases: an encrypted key is reported as unreadable
// rather than prompting on the terminal.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return -1;
}

// The name of a key's algorithm, for messages ("RSA", "EC", ...).
std::string AlgorithmName(const EVP_PKEY* key) {
  const char* name = EVP_PKEY_get0_type_name(key);
  return name != nullptr ? name : "of an unknown algorithm";
}

// SHA-256 of the key's raw 32-byte public key, or INTERNAL.
absl::StatusOr<Hash> KeyIdOf(EVP_PKEY* key) {
  unsigned char raw[32];
  size_t raw_size = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &raw_size) != 1 ||
      raw_size != sizeof(raw)) {
    ERR_clear_error();
    return absl::InternalError("OpenSSL could not export the public key");
  }
  Hash id;
  SHA256(raw, raw_size, id.data());
  return id;
}

void PutFixed64Signed(std::string* out, int64_t v) {
  PutFixed64BE(out, static_cast<uint64_t>(v));
}

}  // namespace

absl::Time TruncateToMicros(absl::Time t) {
  return absl::FromUnixMicros(absl::ToUnixMicros(t));
}

std::string SignedHeadMessage(uint64_t position, const Hash& head_hash,
                              absl::Time signed_at) {
  std::string message(kSignedHeadDomain);
  PutFixed64BE(&message, position);
  message.append(reinterpret_cast<const char*>(head_hash.data()),
                 head_hash.size());
  PutFixed64Signed(&message, absl::ToUnixMicros(signed_at));
  return message;
}

std::string EncodeSignedHeadValue(const SignedHead& head) {
  std::string value(1, static_cast<char>(kSignedHeadValueVersion));
  PutFixed64BE(&value, head.position);
  value.append(reinterpret_cast<const char*>(head.head_hash.data()),
               head.head_hash.size());
  PutFixed64Signed(&value, absl::ToUnixMicros(head.signed_at));
  value.append(reinterpret_cast<const char*>(head.key_id.data()),
               head.key_id.size());
  value.append(head.signature);
  return value;
}

absl::StatusOr<SignedHead> DecodeSignedHeadValue(absl::string_view value) {
  if (value.size() != kSignedHeadValueSize) {
    return absl::DataLossError(absl::StrCat("a stored signed head is ",
                                            value.size(), " bytes instead of ",
                                            kSignedHeadValueSize));
  }
  if (static_cast<uint8_t>(value[0]) != kSignedHeadValueVersion) {
    return absl::DataLossError(absl::StrCat(
        "a stored signed head has version ", static_cast<uint8_t>(value[0]),
        "; this build reads ", kSignedHeadValueVersion));
  }
  SignedHead head;
  size_t at = 1;
  head.position = DecodeFixed64BE(value.substr(at, 8));
  at += 8;
  std::memcpy(head.head_hash.data(), value.data() + at, 32);
  at += 32;
  head.signed_at = absl::FromUnixMicros(
      static_cast<int64_t>(DecodeFixed64BE(value.substr(at, 8))));
  at += 8;
  std::memcpy(head.key_id.data(), value.data() + at, 32);
  at += 32;
  head.signature = std::string(value.substr(at, kSignatureSize));
  return head;
}

std::string KeyIdToHex(const Hash& key_id) { return HashToHex(key_id); }

// --- HeadSigner ------------------------------------------------------------

struct HeadSigner::Key {
  PkeyPtr pkey;
};

HeadSigner::HeadSigner(std::unique_ptr<Key> key, Hash key_id,
                       std::string public_pem)
    : key_(std::move(key)),
      key_id_(key_id),
      public_key_pem_(std::move(public_pem)) {}
HeadSigner::~HeadSigner() = default;

absl::StatusOr<std::unique_ptr<HeadSigner>> HeadSigner::FromPem(
    absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("OpenSSL is out of memory");
  PkeyPtr pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  // OpenSSL's error queue may quote the input: never pass it on.
  ERR_clear_error();
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(
        "not an unencrypted PEM private key; write one with `openssl genpkey "
        "-algorithm ed25519 -out FILE`");
  }
  if (EVP_PKEY_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the private key is ", AlgorithmName(pkey.get()),
        ", not Ed25519; write one with `openssl genpkey -algorithm ed25519 "
        "-out FILE`"));
  }
  absl::StatusOr<Hash> key_id = KeyIdOf(pkey.get());
  if (!key_id.ok()) return key_id.status();
  BioPtr out(BIO_new(BIO_s_mem()));
  if (out == nullptr || PEM_write_bio_PUBKEY(out.get(), pkey.get()) != 1) {
    ERR_clear_error();
    return absl::InternalError("OpenSSL could not write the public key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(out.get(), &data);
  std::string public_pem(data, static_cast<size_t>(size));
  auto key = std::make_unique<Key>();
  key->pkey = std::move(pkey);
  return std::unique_ptr<HeadSigner>(
      new HeadSigner(std::move(key), *key_id, std::move(public_pem)));
}

absl::StatusOr<SignedHead> HeadSigner::Sign(uint64_t position,
                                            const Hash& head_hash,
                                            absl::Time signed_at) const {
  SignedHead head;
  head.position = position;
  head.head_hash = head_hash;
  head.signed_at = TruncateToMicros(signed_at);
  head.key_id = key_id_;
  const std::string message =
      SignedHeadMessage(position, head_hash, head.signed_at);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  head.signature.resize(kSignatureSize);
  size_t size = head.signature.size();
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr,
                         key_->pkey.get()) != 1 ||
      EVP_DigestSign(
          ctx.get(), reinterpret_cast<unsigned char*>(head.signature.data()),
          &size, reinterpret_cast<const unsigned char*>(message.data()),
          message.size()) != 1 ||
      size != kSignatureSize) {
    ERR_clear_error();
    return absl::InternalError("OpenSSL failed to sign the head");
  }
  return head;
}

// --- HeadVerifier ----------------------------------------------------------

struct HeadVerifier::Key {
  PkeyPtr pkey;
};

HeadVerifier::HeadVerifier(std::unique_ptr<Key> key, Hash key_id)
    : key_(std::move(key)), key_id_(key_id) {}
HeadVerifier::~HeadVerifier() = default;

absl::StatusOr<std::unique_ptr<HeadVerifier>> HeadVerifier::FromPublicKeyPem(
    absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("OpenSSL is out of memory");
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(
        "not a PEM public key (\"-----BEGIN PUBLIC KEY-----\"); get the "
        "server's with `caseline signing-key`");
  }
  if (EVP_PKEY_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the public key is ", AlgorithmName(pkey.get()), ", not Ed25519"));
  }
  absl::StatusOr<Hash> key_id = KeyIdOf(pkey.get());
  if (!key_id.ok()) return key_id.status();
  auto key = std::make_unique<Key>();
  key->pkey = std::move(pkey);
  return std::unique_ptr<HeadVerifier>(
      new HeadVerifier(std::move(key), *key_id));
}

absl::Status HeadVerifier::Verify(const SignedHead& head) const {
  if (head.key_id != key_id_) {
    return absl::FailedPreconditionError(
        absl::StrCat("the head was signed by key ", KeyIdToHex(head.key_id),
                     ", not by the given public key ", KeyIdToHex(key_id_)));
  }
  const std::string message =
      SignedHeadMessage(head.position, head.head_hash, head.signed_at);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) return absl::InternalError("OpenSSL is out of memory");
  const bool valid =
      head.signature.size() == kSignatureSize &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr,
                           key_->pkey.get()) == 1 &&
      EVP_DigestVerify(
          ctx.get(),
          reinterpret_cast<const unsigned char*>(head.signature.data()),
          head.signature.size(),
          reinterpret_cast<const unsigned char*>(message.data()),
          message.size()) == 1;
  ERR_clear_error();
  if (!valid) {
    return absl::DataLossError(
        "the signature does not verify: the signed head was altered, or was "
        "not signed by this key");
  }
  return absl::OkStatus();
}

}  // namespace caseline::eventstore
