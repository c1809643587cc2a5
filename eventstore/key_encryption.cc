#include "eventstore/key_encryption.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "eventstore/key_format.h"

namespace caseline::eventstore {
namespace {

constexpr char kMagic[8] = {'C', 'L', 'K', 'E', 'K', 0, 0, 1};
constexpr char kKekIdLabel[] = "caseline kek v1";

std::string ErrnoText() { return std::strerror(errno); }

// Wipes a string that held key material before it is freed.
struct WipeOnExit {
  std::string* s;
  ~WipeOnExit() { OPENSSL_cleanse(s->data(), s->size()); }
};

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == ENOSPC ? absl::ResourceExhaustedError(ErrnoText())
                             : absl::UnavailableError(ErrnoText());
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAllFrom(int fd) {
  std::string out;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(ErrnoText());
    }
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > (1 << 24)) {
      return absl::FailedPreconditionError("larger than 16 MiB");
    }
  }
  OPENSSL_cleanse(buffer, sizeof(buffer));
  return out;
}

}  // namespace

std::string KekVersionId(const SecretKey& key) {
  std::string input(kKekIdLabel, sizeof(kKekIdLabel));  // with the NUL
  absl::StrAppend(&input, key.view());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

absl::StatusOr<std::unique_ptr<FileKeyEncryptionKey>>
FileKeyEncryptionKey::Open(const std::string& path) {
  const std::string named = absl::StrCat("--kek_file ", path);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // A new KEK: one fresh version, no erasures.
    absl::StatusOr<SecretKey> key = SecretKey::Generate();
    if (!key.ok()) return key.status();
    std::vector<Version> versions;
    versions.push_back(Version{KekVersionId(*key), *key});
    std::unique_ptr<FileKeyEncryptionKey> kek(
        new FileKeyEncryptionKey(path, std::move(versions), {}));
    {
      MutexLock lock(&kek->mu_);
      if (absl::Status saved = kek->Save(kek->versions_, kek->erased_);
          !saved.ok()) {
        return absl::Status(saved.code(),
                            absl::StrCat("cannot create ", named, ": ",
                                         saved.message()));
      }
    }
    return kek;
  }
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", named, ": ", ErrnoText()));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const std::string why = ErrnoText();
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot stat ", named, ": ", why));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    const unsigned mode = st.st_mode & 0777;
    return absl::FailedPreconditionError(absl::StrCat(
        named, " is accessible to group or others (mode ", (mode >> 6) & 7,
        (mode >> 3) & 7, mode & 7,
        "): a key-encryption key must be readable by caselined's user only; "
        "run `chmod 600 ",
        path, "`"));
  }
  absl::StatusOr<std::string> contents = ReadAllFrom(fd);
  ::close(fd);
  if (!contents.ok()) {
    return absl::Status(contents.status().code(),
                        absl::StrCat("cannot read ", named, ": ",
                                     contents.status().message()));
  }
  WipeOnExit wipe{&*contents};
  const absl::string_view in = *contents;
  std::vector<Version> versions;
  std::vector<DataKeyId> erased;
  auto not_a_kek = [&](absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat(
        named, " is not a Caseline KEK file (", why, ", ", in.size(),
        " bytes): expected exactly 32 random bytes, or the format of "
        "docs/log_format.md \"The KEK file\". Point --kek_file at the KEK "
        "this log was written with"));
  };
  if (in.size() == kAesKeySize) {
    SecretKey key(in);
    versions.push_back(Version{KekVersionId(key), key});
  } else {
    if (in.size() < 16 || in.substr(0, 8) != absl::string_view(kMagic, 8)) {
      return not_a_kek("no KEK magic and not 32 bytes");
    }
    absl::string_view rest = in.substr(8);
    const uint32_t count = DecodeFixed32BE(rest);
    rest.remove_prefix(4);
    if (count == 0 || rest.size() < uint64_t{count} * kAesKeySize + 4) {
      return not_a_kek("truncated key versions");
    }
    for (uint32_t i = 0; i < count; ++i) {
      SecretKey key(rest.substr(0, kAesKeySize));
      versions.push_back(Version{KekVersionId(key), key});
      rest.remove_prefix(kAesKeySize);
    }
    const uint32_t erased_count = DecodeFixed32BE(rest);
    rest.remove_prefix(4);
    if (rest.size() != uint64_t{erased_count} * 16) {
      return not_a_kek("the erased data-key list has the wrong size");
    }
    for (uint32_t i = 0; i < erased_count; ++i) {
      DataKeyId id;
      std::memcpy(id.data(), rest.data() + 16 * i, 16);
      erased.push_back(id);
    }
  }
  return std::unique_ptr<FileKeyEncryptionKey>(new FileKeyEncryptionKey(
      path, std::move(versions), std::move(erased)));
}

FileKeyEncryptionKey::FileKeyEncryptionKey(std::string path,
                                           std::vector<Version> versions,
                                           std::vector<DataKeyId> erased)
    : path_(std::move(path)),
      versions_(std::move(versions)),
      erased_(std::move(erased)) {
  erased_set_.insert(erased_.begin(), erased_.end());
}

absl::Status FileKeyEncryptionKey::Save(
    const std::vector<Version>& versions,
    const std::vector<DataKeyId>& erased) const {
  std::string contents(kMagic, sizeof(kMagic));
  WipeOnExit wipe{&contents};
  PutFixed32BE(&contents, static_cast<uint32_t>(versions.size()));
  for (const Version& v : versions) absl::StrAppend(&contents, v.key.view());
  PutFixed32BE(&contents, static_cast<uint32_t>(erased.size()));
  for (const DataKeyId& id : erased) absl::StrAppend(&contents, DataKeyIdView(id));

  const std::string tmp = path_ + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", tmp, ": ", ErrnoText()));
  }
  absl::Status written = WriteAll(fd, contents);
  if (written.ok() && ::fsync(fd) != 0) {
    written = absl::UnavailableError(
        absl::StrCat("cannot sync ", tmp, ": ", ErrnoText()));
  }
  ::close(fd);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return absl::Status(written.code(),
                        absl::StrCat("writing ", tmp, ": ", written.message()));
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    const std::string why = ErrnoText();
    ::unlink(tmp.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot rename ", tmp, " to ", path_, ": ", why));
  }
  // The rename is durable once the directory is synced.
  const std::filesystem::path parent =
      std::filesystem::path(path_).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
    const std::string why = ErrnoText();
    if (dir_fd >= 0) ::close(dir_fd);
    return absl::UnavailableError(
        absl::StrCat("cannot sync directory ", dir, ": ", why));
  }
  ::close(dir_fd);
  return absl::OkStatus();
}

std::string FileKeyEncryptionKey::current_id() const {
  MutexLock lock(&mu_);
  return versions_.back().id;
}

bool FileKeyEncryptionKey::HasVersion(absl::string_view kek_id) const {
  MutexLock lock(&mu_);
  for (const Version& v : versions_) {
    if (v.id == kek_id) return true;
  }
  return false;
}

std::vector<std::string> FileKeyEncryptionKey::version_ids() const {
  MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const Version& v : versions_) ids.push_back(v.id);
  return ids;
}

std::string FileKeyEncryptionKey::Describe() const {
  return absl::StrCat("--kek_file ", path_);
}

absl::StatusOr<WrappedKey> FileKeyEncryptionKey::Wrap(
    const SecretKey& data_key, const DataKeyId& /*key_id*/,
    absl::string_view aad) {
  SecretKey kek;
  WrappedKey wrapped;
  {
    MutexLock lock(&mu_);
    kek = versions_.back().key;
    wrapped.kek_id = versions_.back().id;
  }
  absl::StatusOr<std::string> sealed = SealAesGcm(kek, data_key.view(), aad);
  if (!sealed.ok()) return sealed.status();
  wrapped.bytes = *std::move(sealed);
  return wrapped;
}

absl::StatusOr<SecretKey> FileKeyEncryptionKey::Unwrap(
    const WrappedKey& wrapped, const DataKeyId& key_id,
    absl::string_view aad) {
  SecretKey kek;
  {
    MutexLock lock(&mu_);
    if (erased_set_.contains(key_id)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data key ", DataKeyIdToHex(key_id),
          " was erased: the KEK refuses to unwrap it"));
    }
    bool found = false;
    for (const Version& v : versions_) {
      if (v.id == wrapped.kek_id) {
        kek = v.key;
        found = true;
        break;
      }
    }
    if (!found) {
      std::vector<std::string> ids;
      for (const Version& v : versions_) ids.push_back(v.id);
      return absl::FailedPreconditionError(absl::StrCat(
          "data key ", DataKeyIdToHex(key_id), " is wrapped under KEK ",
          wrapped.kek_id, ", which ", Describe(), " does not hold (it holds ",
          absl::StrJoin(ids, ", "), ")"));
    }
  }
  absl::StatusOr<std::string> opened = OpenAesGcm(kek, wrapped.bytes, aad);
  if (!opened.ok()) {
    return absl::DataLossError(absl::StrCat(
        "data key ", DataKeyIdToHex(key_id), " wrapped under KEK ",
        wrapped.kek_id, " does not unwrap: its wrapped bytes are damaged"));
  }
  WipeOnExit wipe{&*opened};
  if (opened->size() != kAesKeySize) {
    return absl::DataLossError(absl::StrCat(
        "data key ", DataKeyIdToHex(key_id), " unwraps to ", opened->size(),
        " bytes instead of 32"));
  }
  return SecretKey(*opened);
}

absl::Status FileKeyEncryptionKey::RecordErased(const DataKeyId& key_id) {
  MutexLock lock(&mu_);
  if (erased_set_.contains(key_id)) return absl::OkStatus();
  std::vector<DataKeyId> erased = erased_;
  erased.push_back(key_id);
  if (absl::Status saved = Save(versions_, erased); !saved.ok()) {
    return absl::Status(
        saved.code(), absl::StrCat("recording the erasure of data key ",
                                   DataKeyIdToHex(key_id), " in ", path_,
                                   ": ", saved.message(), "; retry"));
  }
  erased_ = std::move(erased);
  erased_set_.insert(key_id);
  return absl::OkStatus();
}

bool FileKeyEncryptionKey::IsErased(const DataKeyId& key_id) const {
  MutexLock lock(&mu_);
  return erased_set_.contains(key_id);
}

absl::StatusOr<std::string> FileKeyEncryptionKey::Rotate() {
  absl::StatusOr<SecretKey> key = SecretKey::Generate();
  if (!key.ok()) return key.status();
  MutexLock lock(&mu_);
  std::vector<Version> versions = versions_;
  versions.push_back(Version{KekVersionId(*key), *key});
  if (absl::Status saved = Save(versions, erased_); !saved.ok()) {
    return absl::Status(saved.code(),
                        absl::StrCat("adding a KEK version to ", path_, ": ",
                                     saved.message()));
  }
  versions_ = std::move(versions);
  return versions_.back().id;
}

}  // namespace caseline::eventstore
