// KeyEncryptionKey: the key that wraps the log's per-stream data keys
// (docs/log_format.md "Encrypted payloads"). The log keeps data keys only
// wrapped; whoever holds the KEK can unwrap them, and the KEK remembers which
// data keys were erased, so that a wrapped key that survives somewhere (an
// old backup) can never be unwrapped again.
//
// FileKeyEncryptionKey keeps it in a file (caselined --kek_file). A key
// management service could implement the same interface: Wrap/Unwrap as its
// encrypt/decrypt calls (with `aad` as the encryption context), the erased
// list in its own store, Rotate as a new key version. None ships with
// Caseline.
//
// Thread-safety: every method may be called concurrently.
// Key material never appears in a returned Status message.
#ifndef CASELINE_EVENTSTORE_KEY_ENCRYPTION_H_
#define CASELINE_EVENTSTORE_KEY_ENCRYPTION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/mutex.h"
#include "eventstore/payload_crypto.h"

namespace caseline::eventstore {

// A data key wrapped by one version of the KEK.
struct WrappedKey {
  // Which KEK version wrapped it (KeyEncryptionKey::current_id() then).
  std::string kek_id;
  std::string bytes;
};

class KeyEncryptionKey {
 public:
  virtual ~KeyEncryptionKey() = default;

  // The version new wraps use. Short printable text (at most 64 bytes).
  virtual std::string current_id() const = 0;
  // Whether this KEK holds the version `kek_id` (and can unwrap with it).
  virtual bool HasVersion(absl::string_view kek_id) const = 0;
  // Every version held, oldest first; the last is current_id().
  virtual std::vector<std::string> version_ids() const = 0;
  // Where it lives, for messages (e.g. "--kek_file /srv/caseline.kek").
  virtual std::string Describe() const = 0;

  // Wraps `data_key`, whose id is `key_id`, under the current version;
  // `aad` is authenticated with it. INTERNAL when the cipher fails.
  [[nodiscard]] virtual absl::StatusOr<WrappedKey> Wrap(
      const SecretKey& data_key, const DataKeyId& key_id,
      absl::string_view aad) = 0;
  // Unwraps what Wrap made with the same `key_id` and `aad`. Errors:
  // FAILED_PRECONDITION (`key_id` was erased: RecordErased; or the version
  // wrapped.kek_id is not held), DATA_LOSS (the wrapped bytes fail
  // authentication).
  [[nodiscard]] virtual absl::StatusOr<SecretKey> Unwrap(
      const WrappedKey& wrapped, const DataKeyId& key_id,
      absl::string_view aad) = 0;

  // Records durably that the data key `key_id` is erased: from the return
  // on, Unwrap refuses it, in this process and after a restart. Idempotent.
  // Errors: UNAVAILABLE / RESOURCE_EXHAUSTED when it could not be made
  // durable (then it may or may not be recorded; retry).
  [[nodiscard]] virtual absl::Status RecordErased(const DataKeyId& key_id) = 0;
  virtual bool IsErased(const DataKeyId& key_id) const = 0;

  // Adds a new version and makes it current; older versions stay, so that
  // keys wrapped under them (and backups) stay readable. Returns the new
  // current id. FAILED_PRECONDITION when this KEK cannot add versions.
  [[nodiscard]] virtual absl::StatusOr<std::string> Rotate() = 0;
};

// The KEK in a file (docs/log_format.md "The KEK file"):
//   magic "CLKEK" 0x00 0x00 0x01            8 bytes (format version 1)
//   u32 version_count (>= 1)
//   key[32] * version_count                 oldest first; the last is current
//   u32 erased_count
//   data_key_id[16] * erased_count          the erased data keys
// A file of exactly 32 bytes is read as a single version and no erasures
// (e.g. `head -c 32 /dev/urandom`); the first change rewrites it in the
// format above. A version's id is the first 8 bytes of
// SHA-256("caseline kek v1" 0x00 || key), as 16 lowercase hex digits.
// Changes (RecordErased, Rotate) rewrite the file through a temporary file,
// fsync and rename, so it is always whole.
class FileKeyEncryptionKey final : public KeyEncryptionKey {
 public:
  // Opens `path`, creating it (mode 0600, one fresh version) when missing.
  // Errors: FAILED_PRECONDITION (the file's mode gives any access to group
  // or others: chmod 600 it; or it is not a KEK file: the message says the
  // size found and the sizes expected), UNAVAILABLE (cannot be read or
  // created). Messages name the file, never its contents.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<FileKeyEncryptionKey>>
  Open(const std::string& path);

  std::string current_id() const override;
  bool HasVersion(absl::string_view kek_id) const override;
  std::vector<std::string> version_ids() const override;
  std::string Describe() const override;
  absl::StatusOr<WrappedKey> Wrap(const SecretKey& data_key,
                                  const DataKeyId& key_id,
                                  absl::string_view aad) override;
  absl::StatusOr<SecretKey> Unwrap(const WrappedKey& wrapped,
                                   const DataKeyId& key_id,
                                   absl::string_view aad) override;
  absl::Status RecordErased(const DataKeyId& key_id) override;
  bool IsErased(const DataKeyId& key_id) const override;
  absl::StatusOr<std::string> Rotate() override;

 private:
  struct Version {
    std::string id;
    SecretKey key;
  };
  FileKeyEncryptionKey(std::string path, std::vector<Version> versions,
                       std::vector<DataKeyId> erased);
  // Writes the file from `versions` and `erased` (tmp, fsync, rename).
  absl::Status Save(const std::vector<Version>& versions,
                    const std::vector<DataKeyId>& erased) const;

  const std::string path_;
  mutable Mutex mu_;
  std::vector<Version> versions_ ABSL_GUARDED_BY(mu_);
  std::vector<DataKeyId> erased_ ABSL_GUARDED_BY(mu_);  // in erasure order
  absl::flat_hash_set<DataKeyId> erased_set_ ABSL_GUARDED_BY(mu_);
};

// The id of a KEK version with these 32 bytes (see FileKeyEncryptionKey).
std::string KekVersionId(const SecretKey& key);

}  // namespace caseline::eventstore

#endif  // CASELINE_EVENTSTORE_KEY_ENCRYPTION_H_
