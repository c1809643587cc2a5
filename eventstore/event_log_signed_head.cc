// Signed heads kept beside the log ('h' keys, docs/log_format.md "Signed
// heads"): signing the head after checking the chain since the last signed
// one, reading them back, and checking a log directory (a backup) against a
// signed head with the public key alone.
#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "eventstore/envelope.h"
#include "eventstore/event_log_impl.h"
#include "eventstore/key_format.h"
#include "eventstore/signed_head.h"

namespace caseline::eventstore {
namespace {

constexpr char kNoSignedHeads[] =
    "this log does not keep signed heads; sign on a caselined started with "
    "--signing_key";

}  // namespace

absl::StatusOr<SignedHead> EventLog::SignHead(const HeadSigner& /*signer*/) {
  return absl::FailedPreconditionError(kNoSignedHeads);
}

absl::StatusOr<std::optional<SignedHead>> EventLog::GetSignedHead(
    uint64_t /*position*/) {
  return absl::FailedPreconditionError(kNoSignedHeads);
}

absl::StatusOr<std::optional<SignedHead>> LatestSignedHeadIn(
    rocksdb::DB& db, const rocksdb::ReadOptions& read_options,
    uint64_t position) {
  const std::string target = position == 0
                                 ? SignedHeadKey(UINT64_MAX, -1)  // all ones
                                 : SignedHeadKey(position, -1);
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read_options));
  it->SeekForPrev(target);
  if (!it->Valid()) {
    RETURN_IF_ERROR(FromRocksDb(it->status(), "reading the signed heads"));
    return std::nullopt;
  }
  const absl::string_view key = View(it->key());
  if (key.size() != kSignedHeadKeySize || key[0] != kSignedHeadPrefix) {
    return std::nullopt;
  }
  const uint64_t key_position = DecodeFixed64BE(key.substr(1, 8));
  if (position != 0 && key_position != position) return std::nullopt;
  ASSIGN_OR_RETURN(SignedHead head, DecodeSignedHeadValue(View(it->value())));
  const int64_t key_micros =
      static_cast<int64_t>(DecodeFixed64BE(key.substr(9, 8)));
  if (head.position != key_position ||
      absl::ToUnixMicros(head.signed_at) != key_micros) {
    return absl::DataLossError(absl::StrCat(
        "the signed head stored under position ", key_position,
        " says position ", head.position, ": stored data is damaged"));
  }
  return head;
}

absl::StatusOr<SignedHead> EventLogImpl::SignHead(const HeadSigner& signer) {
  MutexLock sign_lock(&sign_mu_);
  ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(CheckOpen());
  const uint64_t head = HeadPosition();
  if (head == 0) {
    return absl::FailedPreconditionError(
        "the log is empty: there is no head to sign; sign once an event is "
        "appended");
  }
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions read_options;
  read_options.snapshot = snapshot.snapshot();
  read_options.fill_cache = false;
  ASSIGN_OR_RETURN(const std::optional<SignedHead> last,
                   LatestSignedHeadIn(*db_, read_options, 0));
  uint64_t from = 1;
  Hash head_hash{};
  if (last.has_value() && last->position <= head) {
    // What was signed must still be there: the chain since is anchored on
    // it.
    std::string value;
    RETURN_IF_ERROR(FromRocksDb(
        db_->Get(read_options, EventKey(last->position), &value),
        absl::StrCat("reading the event at the last signed position ",
                     last->position)));
    ASSIGN_OR_RETURN(const EnvelopeParts parts, SplitEnvelope(value));
    if (parts.hash != last->head_hash) {
      return absl::DataLossError(
          absl::StrCat("the event at position ", last->position, " has hash ",
                       HashToHex(parts.hash), ", but hash ",
                       HashToHex(last->head_hash), " was signed for it at ",
                       absl::FormatTime(absl::RFC3339_full, last->signed_at,
                                        absl::UTCTimeZone()),
                       "; nothing was signed", kDamagedDataAdvice));
    }
    // Recomputed again from there: its body must still hash to it.
    from = last->position;
  }
  {
    ASSIGN_OR_RETURN(const ChainVerification chain,
                     VerifyChainIn(*db_, read_options, head, from, head));
    if (!chain.ok) {
      return absl::DataLossError(
          absl::StrCat("the hash chain does not verify at position ",
                       chain.first_bad_position, ": ", chain.problem,
                       "; nothing was signed", kDamagedDataAdvice));
    }
    head_hash = chain.head_hash;
  }
  const absl::Time now = options_.clock ? options_.clock() : absl::Now();
  ASSIGN_OR_RETURN(SignedHead signed_head, signer.Sign(head, head_hash, now));
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  RETURN_IF_ERROR(FromRocksDb(
      db_->Put(write_options,
               SignedHeadKey(head, absl::ToUnixMicros(signed_head.signed_at)),
               EncodeSignedHeadValue(signed_head)),
      "keeping the signed head"));
  return signed_head;
}

absl::StatusOr<std::optional<SignedHead>> EventLogImpl::GetSignedHead(
    uint64_t position) {
  ReaderMutexLock db_lock(&db_mu_);
  RETURN_IF_ERROR(CheckOpen());
  return LatestSignedHeadIn(*db_, rocksdb::ReadOptions(), position);
}

absl::StatusOr<OfflineVerification> VerifyLogAgainstSignedHead(
    const std::string& dir, const SignedHead& head,
    const HeadVerifier& verifier) {
  OfflineVerification report;
  auto reject = [&](uint64_t position, std::string problem) {
    report.ok = false;
    report.first_bad_position = position;
    report.problem = std::move(problem);
    return report;
  };
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, " does not exist"));
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not a directory; name a backup directory"));
  }
  if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir,
        " holds no RocksDB database (no CURRENT file), so it is not a "
        "Caseline log; name a directory written by `caseline backup`"));
  }
  // The signature first: without it the head proves nothing.
  if (absl::Status signature = verifier.Verify(head); !signature.ok()) {
    return reject(0, std::string(signature.message()));
  }
  if (head.position == 0) {
    return reject(0,
                  "the signed head names position 0; a signed head names "
                  "an event, from position 1");
  }
  absl::StatusOr<ReadOnlyLog> log = OpenLogReadOnly(dir, nullptr);
  if (!log.ok()) {
    if (log.status().code() == absl::StatusCode::kDataLoss) {
      // A damaged WAL or MANIFEST is the directory's fault, not the input's.
      // A directory without a Caseline log is unusable input.
      if (absl::StrContains(log.status().message(), "not a Caseline log") ||
          absl::StrContains(log.status().message(), "no RocksDB database")) {
        return absl::FailedPreconditionError(
            absl::StrCat(log.status().message(),
                         "; name a directory written by `caseline "
                         "backup`"));
      }
      return reject(0, std::string(log.status().message()));
    }
    return log.status();
  }
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  read_options.verify_checksums = true;
  if (absl::Status checksums =
          FromRocksDb(log->db->VerifyChecksum(read_options),
                      "checking the table files' checksums");
      !checksums.ok()) {
    if (checksums.code() != absl::StatusCode::kDataLoss) return checksums;
    return reject(0, std::string(checksums.message()));
  }
  ASSIGN_OR_RETURN(const uint64_t log_head,
                   LastPosition(*log->db, read_options));
  report.log_head_position = log_head;
  // 1..signed position (or the head, if the log ends before it).
  const uint64_t signed_end = std::min(head.position, log_head);
  if (signed_end > 0) {
    ASSIGN_OR_RETURN(
        const ChainVerification chain,
        VerifyChainIn(*log->db, read_options, log_head, 1, signed_end));
    report.events_checked += chain.events_checked;
    if (!chain.ok) return reject(chain.first_bad_position, chain.problem);
    if (log_head >= head.position && chain.head_hash != head.head_hash) {
      return reject(
          head.position,
          absl::StrCat("the chain hash at the signed position is ",
                       HashToHex(chain.head_hash),
                       ", but the signed head says ", HashToHex(head.head_hash),
                       ": this log is not the one that was signed"));
    }
  }
  if (log_head < head.position) {
    return reject(log_head + 1,
                  absl::StrCat("the log ends at position ", log_head,
                               ", before the signed position ", head.position,
                               ": events are missing"));
  }
  if (log_head > head.position) {
    ASSIGN_OR_RETURN(const ChainVerification rest,
                     VerifyChainIn(*log->db, read_options, log_head,
                                   head.position + 1, log_head));
    report.events_checked += rest.events_checked;
    if (!rest.ok) return reject(rest.first_bad_position, rest.problem);
  }
  report.ok = true;
  return report;
}

}  // namespace caseline::eventstore
