// Signed heads: the signed message and stored value byte by byte, Ed25519
// signing and checking (another key, a changed byte, a non-Ed25519 key
// refused), EventLog::SignHead / GetSignedHead, and the offline check of a
// backup against a signed head (accepted; a rewritten envelope, a removed
// event and a shorter log rejected at their position).
#include "eventstore/signed_head.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "eventstore/event_log.h"
#include "eventstore/log_tamper.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::eventstore {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh private key of `type` ("ED25519", or "EC" with P-256) as PEM.
std::string NewPrivateKeyPem(const char* type) {
  EVP_PKEY* key = std::string(type) == "EC"
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  EXPECT_NE(key, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr),
      1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

std::unique_ptr<HeadSigner> NewSigner() {
  absl::StatusOr<std::unique_ptr<HeadSigner>> signer =
      HeadSigner::FromPem(NewPrivateKeyPem("ED25519"));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

std::unique_ptr<HeadVerifier> VerifierOf(const HeadSigner& signer) {
  absl::StatusOr<std::unique_ptr<HeadVerifier>> verifier =
      HeadVerifier::FromPublicKeyPem(signer.public_key_pem());
  EXPECT_TRUE(verifier.ok()) << verifier.status();
  return *std::move(verifier);
}

Hash HashOf(uint8_t fill) {
  Hash h;
  h.fill(fill);
  return h;
}

TEST(SignedHeadTest, MessageIsDomainPositionHashAndMicrosBigEndian) {
  const absl::Time at = absl::FromUnixMicros(0x0102030405060708);
  const std::string message =
      SignedHeadMessage(0x1122334455667788, HashOf(0xab), at);
  ASSERT_EQ(message.size(), kSignedHeadMessageSize);
  EXPECT_EQ(message.substr(0, 24),
            std::string("caseline signed head v1\0", 24));
  EXPECT_EQ(absl::BytesToHexString(message.substr(24, 8)), "1122334455667788");
  EXPECT_EQ(message.substr(32, 32), std::string(32, '\xab'));
  EXPECT_EQ(absl::BytesToHexString(message.substr(64, 8)), "0102030405060708");
  // Nanoseconds below a microsecond are not signed.
  EXPECT_EQ(SignedHeadMessage(1, HashOf(0), at + absl::Nanoseconds(999)),
            SignedHeadMessage(1, HashOf(0), at));
}

TEST(SignedHeadTest, StoredValueRoundTripsAndRefusesOtherSizes) {
  std::unique_ptr<HeadSigner> signer = NewSigner();
  absl::StatusOr<SignedHead> head =
      signer->Sign(42, HashOf(7), absl::FromUnixMicros(1767600000123456));
  ASSERT_TRUE(head.ok()) << head.status();
  const std::string value = EncodeSignedHeadValue(*head);
  ASSERT_EQ(value.size(), kSignedHeadValueSize);
  EXPECT_EQ(value[0], 1);
  absl::StatusOr<SignedHead> decoded = DecodeSignedHeadValue(value);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->position, 42u);
  EXPECT_EQ(decoded->head_hash, HashOf(7));
  EXPECT_EQ(decoded->signed_at, absl::FromUnixMicros(1767600000123456));
  EXPECT_EQ(decoded->key_id, signer->key_id());
  EXPECT_EQ(decoded->signature, head->signature);
  EXPECT_EQ(DecodeSignedHeadValue(value.substr(1)).status().code(),
            absl::StatusCode::kDataLoss);
  std::string other_version = value;
  other_version[0] = 2;
  EXPECT_EQ(DecodeSignedHeadValue(other_version).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(SignedHeadTest, VerifiesOnlyTheSignedBytesWithTheSigningKey) {
  std::unique_ptr<HeadSigner> signer = NewSigner();
  std::unique_ptr<HeadVerifier> verifier = VerifierOf(*signer);
  EXPECT_EQ(verifier->key_id(), signer->key_id());
  absl::StatusOr<SignedHead> head =
      signer->Sign(9, HashOf(3), absl::FromUnixSeconds(1767600000));
  ASSERT_TRUE(head.ok()) << head.status();
  ASSERT_EQ(head->signature.size(), kSignatureSize);
  EXPECT_TRUE(verifier->Verify(*head).ok());

  SignedHead moved = *head;
  moved.position = 10;
  EXPECT_EQ(verifier->Verify(moved).code(), absl::StatusCode::kDataLoss);
  SignedHead rehashed = *head;
  rehashed.head_hash[31] ^= 1;
  EXPECT_EQ(verifier->Verify(rehashed).code(), absl::StatusCode::kDataLoss);
  SignedHead later = *head;
  later.signed_at += absl::Microseconds(1);
  EXPECT_EQ(verifier->Verify(later).code(), absl::StatusCode::kDataLoss);
  SignedHead forged = *head;
  forged.signature[0] ^= 1;
  EXPECT_THAT(verifier->Verify(forged).message(),
              HasSubstr("signature does not verify"));

  // Another key: refused by its id, and by the signature if the id is
  // copied.
  std::unique_ptr<HeadSigner> other = NewSigner();
  std::unique_ptr<HeadVerifier> other_verifier = VerifierOf(*other);
  EXPECT_NE(other->key_id(), signer->key_id());
  const absl::Status wrong_key = other_verifier->Verify(*head);
  EXPECT_EQ(wrong_key.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong_key.message(), HasSubstr(KeyIdToHex(signer->key_id())));
  SignedHead relabelled = *head;
  relabelled.key_id = other->key_id();
  EXPECT_EQ(other_verifier->Verify(relabelled).code(),
            absl::StatusCode::kDataLoss);
}

TEST(SignedHeadTest, RefusesKeysThatAreNotEd25519WithoutQuotingThem) {
  const std::string ec = NewPrivateKeyPem("EC");
  absl::StatusOr<std::unique_ptr<HeadSigner>> refused = HeadSigner::FromPem(ec);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("EC, not Ed25519"));
  const std::string garbage = "-----BEGIN PRIVATE KEY-----\nsecretstuff\n";
  refused = HeadSigner::FromPem(garbage);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              ::testing::Not(HasSubstr("secretstuff")));
  // A private key is not a public key.
  EXPECT_EQ(HeadVerifier::FromPublicKeyPem(NewPrivateKeyPem("ED25519"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

class SignedHeadLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            absl::StrCat(
                "signed_head_",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                "_", getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
    ASSERT_NO_FATAL_FAILURE(OpenLog());
    signer_ = NewSigner();
    verifier_ = VerifierOf(*signer_);
  }
  // Opens the log in root_/data (again, after log_.reset()).
  void OpenLog() {
    EventLogOptions options;
    options.data_dir = (root_ / "data").string();
    options.clock = [this] { return now_; };
    absl::StatusOr<std::unique_ptr<EventLog>> log =
        EventLog::Open(std::move(options));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }
  void TearDown() override {
    log_.reset();
    fs::remove_all(root_);
  }

  void AppendEvents(int n) {
    for (int i = 0; i < n; ++i) {
      ProposedEvent e;
      e.event_type = "Noted";
      e.content_type = "application/json";
      e.payload = absl::StrCat("{\"note\":\"note-", i, "\"}");
      absl::StatusOr<AppendResult> r =
          log_->Append({"case-1", ExpectedVersion::Any(), {std::move(e)}});
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }

  // A copy of `backup` named `name`.
  std::string CopyOf(const std::string& backup, const std::string& name) {
    const std::string copy = (root_ / name).string();
    fs::copy(backup, copy, fs::copy_options::recursive);
    return copy;
  }

  fs::path root_;
  absl::Time now_ =
      absl::FromUnixMicros(1767600000123456) + absl::Nanoseconds(789);
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<HeadSigner> signer_;
  std::unique_ptr<HeadVerifier> verifier_;
};

TEST_F(SignedHeadLogTest, SignsKeepsAndReturnsTheHead) {
  const absl::StatusOr<SignedHead> empty = log_->SignHead(*signer_);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(empty.status().message(), HasSubstr("the log is empty"));
  absl::StatusOr<std::optional<SignedHead>> none = log_->GetSignedHead(0);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());

  AppendEvents(5);
  absl::StatusOr<SignedHead> first = log_->SignHead(*signer_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->position, 5u);
  EXPECT_EQ(first->signed_at, absl::FromUnixMicros(1767600000123456));
  absl::StatusOr<ChainVerification> chain = log_->VerifyChain(0, 0);
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(first->head_hash, chain->head_hash);
  EXPECT_TRUE(verifier_->Verify(*first).ok());

  AppendEvents(3);
  now_ += absl::Seconds(1);
  absl::StatusOr<SignedHead> second = log_->SignHead(*signer_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->position, 8u);
  now_ += absl::Seconds(1);
  absl::StatusOr<SignedHead> again = log_->SignHead(*signer_);
  ASSERT_TRUE(again.ok()) << again.status();

  absl::StatusOr<std::optional<SignedHead>> latest = log_->GetSignedHead(0);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->position, 8u);
  EXPECT_EQ((*latest)->signed_at, again->signed_at);
  EXPECT_EQ((*latest)->signature, again->signature);
  absl::StatusOr<std::optional<SignedHead>> at5 = log_->GetSignedHead(5);
  ASSERT_TRUE(at5.ok() && at5->has_value());
  EXPECT_EQ((*at5)->signature, first->signature);
  absl::StatusOr<std::optional<SignedHead>> at6 = log_->GetSignedHead(6);
  ASSERT_TRUE(at6.ok());
  EXPECT_FALSE(at6->has_value());

  // Kept in the log's directory: a reopen still has them.
  const std::string data_dir = (root_ / "data").string();
  log_.reset();
  EventLogOptions options;
  options.data_dir = data_dir;
  absl::StatusOr<std::unique_ptr<EventLog>> reopened =
      EventLog::Open(std::move(options));
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  log_ = *std::move(reopened);
  EXPECT_EQ(log_->HeadPosition(), 8u);
  latest = log_->GetSignedHead(0);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->signature, again->signature);
}

TEST_F(SignedHeadLogTest, OfflineCheckAcceptsTheBackupAndRejectsChanges) {
  AppendEvents(20);
  absl::StatusOr<SignedHead> head = log_->SignHead(*signer_);
  ASSERT_TRUE(head.ok()) << head.status();
  AppendEvents(5);  // the backup goes beyond the signed head
  const std::string backup = (root_ / "backup").string();
  absl::StatusOr<BackupInfo> info = log_->Backup(backup);
  ASSERT_TRUE(info.ok()) << info.status();

  absl::StatusOr<OfflineVerification> honest =
      VerifyLogAgainstSignedHead(backup, *head, *verifier_);
  ASSERT_TRUE(honest.ok()) << honest.status();
  EXPECT_TRUE(honest->ok) << honest->problem;
  EXPECT_EQ(honest->log_head_position, 25u);
  EXPECT_EQ(honest->events_checked, 25u);

  // Another key's public key.
  std::unique_ptr<HeadVerifier> other = VerifierOf(*NewSigner());
  absl::StatusOr<OfflineVerification> wrong_key =
      VerifyLogAgainstSignedHead(backup, *head, *other);
  ASSERT_TRUE(wrong_key.ok());
  EXPECT_FALSE(wrong_key->ok);
  EXPECT_EQ(wrong_key->first_bad_position, 0u);
  EXPECT_THAT(wrong_key->problem, HasSubstr("not by the given public key"));

  // One byte of one envelope changed, through RocksDB: only the chain tells.
  const std::string changed = CopyOf(backup, "changed");
  ASSERT_TRUE(caseline::testing::RewriteEventForTest(
                  changed, 7,
                  [](std::string& value) {
                    const size_t at = value.find("note-6");
                    ASSERT_NE(at, std::string::npos);
                    value[at + 5] = '9';
                  })
                  .ok());
  absl::StatusOr<OfflineVerification> rejected =
      VerifyLogAgainstSignedHead(changed, *head, *verifier_);
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_FALSE(rejected->ok);
  EXPECT_EQ(rejected->first_bad_position, 7u);
  EXPECT_THAT(rejected->problem, HasSubstr("hashes to"));

  // An event removed.
  const std::string removed = CopyOf(backup, "removed");
  ASSERT_TRUE(caseline::testing::DeleteEventForTest(removed, 12).ok());
  rejected = VerifyLogAgainstSignedHead(removed, *head, *verifier_);
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_FALSE(rejected->ok);
  EXPECT_EQ(rejected->first_bad_position, 12u);
  EXPECT_THAT(rejected->problem, HasSubstr("gap"));

  // A log that ends before the signed position (events 20..25 removed).
  const std::string shorter = CopyOf(backup, "shorter");
  for (uint64_t p = 20; p <= 25; ++p) {
    ASSERT_TRUE(caseline::testing::DeleteEventForTest(shorter, p).ok());
  }
  rejected = VerifyLogAgainstSignedHead(shorter, *head, *verifier_);
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_FALSE(rejected->ok);
  EXPECT_EQ(rejected->first_bad_position, 20u);
  EXPECT_THAT(rejected->problem, HasSubstr("before the signed position 20"));

  // Not a log at all; no such directory.
  fs::create_directories(root_ / "empty");
  EXPECT_EQ(
      VerifyLogAgainstSignedHead((root_ / "empty").string(), *head, *verifier_)
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(VerifyLogAgainstSignedHead((root_ / "nowhere").string(), *head,
                                       *verifier_)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SignedHeadLogTest, RefusesToSignWhenTheSignedHistoryChanged) {
  AppendEvents(6);
  ASSERT_TRUE(log_->SignHead(*signer_).ok());
  AppendEvents(2);
  const std::string data_dir = (root_ / "data").string();
  log_.reset();
  ASSERT_TRUE(
      caseline::testing::RewriteEventForTest(
          data_dir, 3,
          [](std::string& value) { value[value.find("note-2") + 5] = '8'; })
          .ok());
  ASSERT_NO_FATAL_FAILURE(OpenLog());
  // The stored hash at 6 still matches what was signed; the chain 7..8 is
  // intact: signing succeeds, since the damage is before the last signed
  // head (a full VerifyChain finds it).
  EXPECT_TRUE(log_->SignHead(*signer_).ok());
  log_.reset();
  ASSERT_TRUE(
      caseline::testing::RewriteEventForTest(
          data_dir, 8,
          [](std::string& value) { value[value.find("note-1") + 5] = '4'; })
          .ok());
  ASSERT_NO_FATAL_FAILURE(OpenLog());
  AppendEvents(1);
  const absl::StatusOr<SignedHead> refused = log_->SignHead(*signer_);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("does not verify at position 8"));
}

}  // namespace
}  // namespace caseline::eventstore
