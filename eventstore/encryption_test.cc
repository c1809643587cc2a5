// Payload encryption and crypto-shredding (docs/log_format.md "Encrypted
// payloads", "Erasure"): the AES-256-GCM primitives and stored forms, the
// KEK file, and the log's behaviour: encrypted at rest and plaintext to every
// reader, erased keys, the chain verifying after an erasure, KEK rotation,
// a wrong KEK refused at Open, and erasures re-applied to a restored backup.
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "eventstore/envelope.h"
#include "eventstore/event_log.h"
#include "eventstore/key_encryption.h"
#include "eventstore/key_format.h"
#include "eventstore/payload_crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"

namespace caseline::eventstore {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

EventId TestId(uint8_t b) {
  EventId::Bytes bytes{};
  bytes.fill(b);
  return EventId(bytes);
}

TEST(PayloadCryptoTest, RoundTripAndBoundToStreamEventAndKey) {
  absl::StatusOr<SecretKey> secret = SecretKey::Generate();
  ASSERT_TRUE(secret.ok());
  const AesGcmKey key_holder(*secret);
  const AesGcmKey* key = &key_holder;
  const DataKeyId key_id{1, 2, 3};
  absl::StatusOr<std::string> stored =
      EncryptPayload(*key, key_id, "client-1", TestId(7), "secret plaintext");
  ASSERT_TRUE(stored.ok()) << stored.status();
  // version, key id, nonce, ciphertext, tag
  EXPECT_EQ(stored->size(), 1 + 16 + 12 + 16 + 16u);
  EXPECT_EQ((*stored)[0], 1);
  EXPECT_THAT(*stored, Not(HasSubstr("secret")));
  absl::StatusOr<DataKeyId> named = EncryptedPayloadKeyId(*stored);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(*named, key_id);
  absl::StatusOr<std::string> plain =
      DecryptPayload(*key, "client-1", TestId(7), *stored);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, "secret plaintext");

  // Another stream, event or key: refused.
  EXPECT_EQ(DecryptPayload(*key, "client-2", TestId(7), *stored).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecryptPayload(*key, "client-1", TestId(8), *stored).status().code(),
            absl::StatusCode::kDataLoss);
  absl::StatusOr<SecretKey> other_secret = SecretKey::Generate();
  const AesGcmKey other(*other_secret);
  EXPECT_EQ(DecryptPayload(other, "client-1", TestId(7), *stored).status().code(),
            absl::StatusCode::kDataLoss);
  // Any byte changed: refused.
  for (size_t i = 17; i < stored->size(); i += 7) {
    std::string tampered = *stored;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_EQ(
        DecryptPayload(*key, "client-1", TestId(7), tampered).status().code(),
        absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  // Two encryptions of the same payload differ (fresh nonce).
  absl::StatusOr<std::string> again =
      EncryptPayload(*key, key_id, "client-1", TestId(7), "secret plaintext");
  EXPECT_NE(*again, *stored);
}

// AesGcmKey reuses its OpenSSL contexts: every seal and open after the
// first runs on a context set up before, with a fresh nonce each time, and a
// failed open (which drops its context) leaves the key working. Threads
// share the pool.
TEST(PayloadCryptoTest, ReusedContextsSealAndOpenLikeFreshOnes) {
  absl::StatusOr<SecretKey> secret = SecretKey::Generate();
  ASSERT_TRUE(secret.ok());
  const AesGcmKey key(*secret);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string text = absl::StrCat("payload ", t, "-", i);
        const std::string aad = absl::StrCat("aad ", i);
        absl::StatusOr<std::string> sealed = key.Seal(text, aad);
        // What a context made for one call (the free function) opens.
        absl::StatusOr<std::string> fresh = OpenAesGcm(*secret, *sealed, aad);
        absl::StatusOr<std::string> reused = key.Open(*sealed, aad);
        std::string tampered = *sealed;
        tampered.back() = static_cast<char>(tampered.back() ^ 0x01);
        const bool refused =
            key.Open(tampered, aad).status().code() ==
            absl::StatusCode::kDataLoss;
        absl::StatusOr<std::string> wrong_aad = key.Open(*sealed, "other");
        if (!fresh.ok() || *fresh != text || !reused.ok() ||
            *reused != text || !refused || wrong_aad.ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  // A seal by the free function opens with the pooled contexts too.
  absl::StatusOr<std::string> sealed = SealAesGcm(*secret, "x", "a");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*key.Open(*sealed, "a"), "x");
  // Two seals of one plaintext differ (each takes a fresh nonce).
  EXPECT_NE(*key.Seal("same", "a"), *key.Seal("same", "a"));
}

TEST(PayloadCryptoTest, DataKeyRecordRoundTrip) {
  DataKeyRecord active;
  active.key_id = DataKeyId{9};
  active.kek_id = "0123456789abcdef";
  active.wrapped = std::string(60, 'w');
  absl::StatusOr<DataKeyRecord> back =
      DecodeDataKeyRecord(EncodeDataKeyRecord(active));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->state, DataKeyRecord::State::kActive);
  EXPECT_EQ(back->kek_id, active.kek_id);
  EXPECT_EQ(back->wrapped, active.wrapped);

  DataKeyRecord erased;
  erased.state = DataKeyRecord::State::kErased;
  erased.key_id = DataKeyId{9};
  erased.erased_at_position = 42;
  const std::string encoded = EncodeDataKeyRecord(erased);
  EXPECT_EQ(encoded.size(), 1 + 1 + 16 + 8u);
  back = DecodeDataKeyRecord(encoded);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->erased_at_position, 42u);
  EXPECT_EQ(DecodeDataKeyRecord(encoded.substr(0, 20)).status().code(),
            absl::StatusCode::kDataLoss);
}

class EncryptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            absl::StrCat(
                "encryption_",
                ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                "_", getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
    kek_path_ = (root_ / "data.kek").string();
    kek_ = OpenKek(kek_path_);
    log_ = MustOpen(root_ / "data", kek_.get());
  }
  void TearDown() override {
    log_.reset();
    fs::remove_all(root_);
  }

  static std::unique_ptr<FileKeyEncryptionKey> OpenKek(const std::string& p) {
    absl::StatusOr<std::unique_ptr<FileKeyEncryptionKey>> kek =
        FileKeyEncryptionKey::Open(p);
    EXPECT_TRUE(kek.ok()) << kek.status();
    return kek.ok() ? *std::move(kek) : nullptr;
  }

  static absl::StatusOr<std::unique_ptr<EventLog>> OpenLog(
      const fs::path& dir, KeyEncryptionKey* kek, bool encrypt = true) {
    EventLogOptions options;
    options.data_dir = dir.string();
    options.kek = kek;
    options.encrypt_payloads = encrypt;
    return EventLog::Open(std::move(options));
  }
  static std::unique_ptr<EventLog> MustOpen(const fs::path& dir,
                                            KeyEncryptionKey* kek,
                                            bool encrypt = true) {
    absl::StatusOr<std::unique_ptr<EventLog>> log = OpenLog(dir, kek, encrypt);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *std::move(log) : nullptr;
  }

  static ProposedEvent Event(std::string payload) {
    ProposedEvent e;
    e.event_type = "Noted";
    e.content_type = "application/json";
    e.payload = std::move(payload);
    e.metadata["note"] = "kept";
    return e;
  }
  static ProposedEvent ErasureRecord() {
    ProposedEvent e;
    e.event_type = "ClientErased";
    e.content_type = "application/json";
    e.payload = "{\"legal_basis\":\"GDPR art. 17\"}";
    return e;
  }

  AppendResult MustAppend(const std::string& stream, std::string payload) {
    absl::StatusOr<AppendResult> r = log_->Append(
        {stream, ExpectedVersion::Any(), {Event(std::move(payload))}});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : AppendResult{};
  }

  std::vector<RecordedEvent> ReadAllEvents(EventLog& log) {
    ReadAllOptions options;
    options.max_count = kMaxReadCount;
    absl::StatusOr<LogPage> page = log.ReadAll(options);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->events : std::vector<RecordedEvent>{};
  }

  // Every byte of every file under `dir`, concatenated.
  static std::string AllBytes(const fs::path& dir) {
    std::string all;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), {});
    }
    return all;
  }

  fs::path root_;
  std::string kek_path_;
  std::unique_ptr<FileKeyEncryptionKey> kek_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(EncryptionTest, ClientPayloadsEncryptedAtRestAndPlainToReaders) {
  MustAppend("client-1", "PLAINTEXT-CLIENT-ONE");
  // The tail that follows the checked text is unique, so Snappy (the
  // tables' compression) cannot encode the checked text's last bytes as a
  // copy of earlier bytes: a copy needs a 4-byte match.
  MustAppend("access-1", "PLAINTEXT-ACCESS-ONE-q7zj");
  const AppendResult second = MustAppend("client-1", "PLAINTEXT-CLIENT-TWO");

  std::vector<RecordedEvent> all = ReadAllEvents(*log_);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].payload, "PLAINTEXT-CLIENT-ONE");
  EXPECT_EQ(all[1].payload, "PLAINTEXT-ACCESS-ONE-q7zj");
  EXPECT_EQ(all[2].payload, "PLAINTEXT-CLIENT-TWO");
  // The marker is not shown; the caller's metadata is.
  EXPECT_EQ(all[0].metadata, (std::map<std::string, std::string>{
                                 {"note", "kept"}}));
  EXPECT_FALSE(all[0].payload_erased);

  absl::StatusOr<StreamPage> stream =
      log_->ReadStream("client-1", ReadStreamOptions{});
  ASSERT_TRUE(stream.ok());
  EXPECT_EQ(stream->events[1].payload, "PLAINTEXT-CLIENT-TWO");
  absl::StatusOr<std::optional<RecordedEvent>> found =
      log_->FindEvent(all[2].event_id);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->payload, "PLAINTEXT-CLIENT-TWO");

  // An identical retry is recognised against the decrypted payload.
  ProposedEvent retry = Event("PLAINTEXT-CLIENT-TWO");
  retry.event_id = all[2].event_id;
  absl::StatusOr<AppendResult> again =
      log_->Append({"client-1", ExpectedVersion::Any(), {retry}});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->already_written);
  EXPECT_EQ(again->first_position, second.first_position);

  // The marker key is reserved.
  ProposedEvent marked = Event("x");
  marked.metadata[kPayloadEncryptionMetadataKey] = "mine";
  EXPECT_EQ(log_->Append({"other", ExpectedVersion::Any(), {marked}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  log_.reset();  // flushed: the tables hold what is at rest
  const std::string at_rest = AllBytes(root_ / "data");
  EXPECT_THAT(at_rest, Not(HasSubstr("PLAINTEXT-CLIENT")));
  EXPECT_THAT(at_rest, HasSubstr("PLAINTEXT-ACCESS-ONE"));
}

TEST_F(EncryptionTest, ErasedKeyGivesPayloadErasedAndChainStillVerifies) {
  MustAppend("client-1", "PHI-ONE");
  MustAppend("client-2", "PHI-OF-ANOTHER");
  MustAppend("client-1", "PHI-TWO");
  absl::StatusOr<ErasureResult> erased =
      log_->EraseStream("client-1", ErasureRecord());
  ASSERT_TRUE(erased.ok()) << erased.status();
  EXPECT_EQ(erased->position, 4u);
  EXPECT_FALSE(erased->already_erased);
  EXPECT_EQ(erased->key_id.size(), 32u);

  std::vector<RecordedEvent> all = ReadAllEvents(*log_);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_TRUE(all[0].payload_erased);
  EXPECT_EQ(all[0].payload, "");
  EXPECT_EQ(all[0].metadata.count(kPayloadEncryptionMetadataKey), 0u);
  EXPECT_FALSE(all[1].payload_erased);
  EXPECT_EQ(all[1].payload, "PHI-OF-ANOTHER");
  EXPECT_TRUE(all[2].payload_erased);
  // The record of the erasure is plaintext.
  EXPECT_FALSE(all[3].payload_erased);
  EXPECT_EQ(all[3].event_type, "ClientErased");
  EXPECT_THAT(all[3].payload, HasSubstr("GDPR"));

  absl::StatusOr<ChainVerification> chain = log_->VerifyChain(1, 0);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok) << chain->problem;
  EXPECT_EQ(chain->events_checked, 4u);

  // Appends are refused, naming the erasure's position.
  absl::StatusOr<AppendResult> refused = log_->Append(
      {"client-1", ExpectedVersion::Any(), {Event("more")}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("position 4"));

  // A second erasure: already done.
  absl::StatusOr<ErasureResult> twice =
      log_->EraseStream("client-1", ErasureRecord());
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_TRUE(twice->already_erased);
  EXPECT_EQ(twice->position, 4u);

  // Unknown stream, non-encrypted stream.
  EXPECT_EQ(log_->EraseStream("client-9", ErasureRecord()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(log_->EraseStream("access-1", ErasureRecord()).status().code(),
            absl::StatusCode::kInvalidArgument);

  // After a restart: still erased, still verifies, and no file of the
  // database holds the wrapped key any more.
  log_.reset();
  log_ = MustOpen(root_ / "data", kek_.get());
  all = ReadAllEvents(*log_);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_TRUE(all[0].payload_erased);
  EXPECT_EQ(all[1].payload, "PHI-OF-ANOTHER");
  chain = log_->VerifyChain(1, 0);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok);
  // A backup verifies its whole chain too (as `verify --offline` does).
  absl::StatusOr<BackupInfo> backup = log_->Backup((root_ / "b").string());
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->events_verified, 4u);
}

TEST_F(EncryptionTest, ErasureListenersHearEachErasureOnceWhenReadsStop) {
  MustAppend("client-1", "PHI-ONE");
  MustAppend("client-2", "PHI-TWO");
  std::vector<std::string> heard;
  std::vector<bool> unreadable_when_heard;
  const uint64_t id = log_->AddErasureListener([&](absl::string_view stream) {
    heard.emplace_back(stream);
    // Reads no longer decrypt the stream when the listener is called. (A
    // test may read here; a listener in the server must not call the log.)
    absl::StatusOr<StreamPage> page =
        log_->ReadStream(stream, ReadStreamOptions());
    unreadable_when_heard.push_back(page.ok() && !page->events.empty() &&
                                    page->events[0].payload_erased);
  });
  ASSERT_TRUE(log_->EraseStream("client-1", ErasureRecord()).ok());
  EXPECT_EQ(heard, std::vector<std::string>{"client-1"});
  EXPECT_EQ(unreadable_when_heard, std::vector<bool>{true});
  // Done before: not heard again; a refusal is not heard.
  ASSERT_TRUE(log_->EraseStream("client-1", ErasureRecord()).ok());
  EXPECT_FALSE(log_->EraseStream("client-9", ErasureRecord()).ok());
  EXPECT_EQ(heard.size(), 1u);
  // Removed: not called any more.
  log_->RemoveErasureListener(id);
  log_->RemoveErasureListener(id + 100);  // unknown: ignored
  ASSERT_TRUE(log_->EraseStream("client-2", ErasureRecord()).ok());
  EXPECT_EQ(heard.size(), 1u);
}

TEST_F(EncryptionTest, ErasureRemovesTheWrappedKeyFromEveryFile) {
  MustAppend("client-1", "PHI-ONE");
  // The wrapped key's bytes, as stored.
  log_.reset();
  std::string wrapped;
  {
    rocksdb::DB* db = nullptr;
    rocksdb::Options options;
    ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(options, (root_ / "data").string(),
                                             &db)
                    .ok());
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), DataKeyKey("client-1"), &value)
                    .ok());
    absl::StatusOr<DataKeyRecord> record = DecodeDataKeyRecord(value);
    ASSERT_TRUE(record.ok());
    wrapped = record->wrapped;
    delete db;
  }
  ASSERT_EQ(wrapped.size(), 60u);
  log_ = MustOpen(root_ / "data", kek_.get());
  MustAppend("client-2", "PHI-TWO");  // the live WAL has something
  EXPECT_THAT(AllBytes(root_ / "data"), HasSubstr(wrapped));
  ASSERT_TRUE(log_->EraseStream("client-1", ErasureRecord()).ok());
  // Without closing the log: tables and the live WAL no longer hold it.
  EXPECT_THAT(AllBytes(root_ / "data"), Not(HasSubstr(wrapped)));
}

TEST_F(EncryptionTest, KekRotationKeepsEverythingReadable) {
  MustAppend("client-1", "PHI-ONE");
  MustAppend("client-2", "PHI-TWO");
  const std::string first = kek_->current_id();
  absl::StatusOr<std::string> second = kek_->Rotate();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(*second, first);
  MustAppend("client-3", "PHI-THREE");  // wrapped under the new version
  absl::StatusOr<RewrapResult> rewrapped = log_->RewrapDataKeys();
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(rewrapped->kek_id, *second);
  EXPECT_EQ(rewrapped->rewrapped, 2u);
  EXPECT_EQ(rewrapped->unchanged, 1u);

  // Reopened with the KEK file read again: everything decrypts.
  log_.reset();
  kek_ = OpenKek(kek_path_);
  EXPECT_EQ(kek_->version_ids(), (std::vector<std::string>{first, *second}));
  log_ = MustOpen(root_ / "data", kek_.get());
  std::vector<RecordedEvent> all = ReadAllEvents(*log_);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].payload, "PHI-ONE");
  EXPECT_EQ(all[1].payload, "PHI-TWO");
  EXPECT_EQ(all[2].payload, "PHI-THREE");
}

TEST_F(EncryptionTest, WrongOrMissingKekRefusedAtOpen) {
  MustAppend("client-1", "PHI-ONE");
  log_.reset();
  std::unique_ptr<FileKeyEncryptionKey> other =
      OpenKek((root_ / "other.kek").string());
  absl::StatusOr<std::unique_ptr<EventLog>> wrong =
      OpenLog(root_ / "data", other.get());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong.status().message(), HasSubstr(kek_->current_id()));
  EXPECT_THAT(wrong.status().message(), HasSubstr("does not hold"));
  absl::StatusOr<std::unique_ptr<EventLog>> none =
      OpenLog(root_ / "data", nullptr);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(none.status().message(), HasSubstr("--kek_file"));
  // With encryption off later, written payloads stay readable and new ones
  // are plaintext.
  log_ = MustOpen(root_ / "data", kek_.get(), /*encrypt=*/false);
  MustAppend("client-1", "LATER-PLAINTEXT");
  std::vector<RecordedEvent> all = ReadAllEvents(*log_);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].payload, "PHI-ONE");
  EXPECT_EQ(all[1].payload, "LATER-PLAINTEXT");
}

TEST_F(EncryptionTest, TamperedCiphertextIsDataLoss) {
  MustAppend("client-1", "PHI-ONE");
  log_.reset();
  {
    rocksdb::DB* db = nullptr;
    rocksdb::Options options;
    ASSERT_TRUE(rocksdb::DB::Open(options, (root_ / "data").string(), &db).ok());
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), EventKey(1), &value).ok());
    // One byte of the stored (encrypted) payload changed.
    absl::StatusOr<RecordedEvent> stored = DecodeEnvelope(value);
    ASSERT_TRUE(stored.ok());
    const size_t at = value.find(stored->payload);
    ASSERT_NE(at, std::string::npos);
    value[at + stored->payload.size() / 2] ^= 0x01;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EventKey(1), value).ok());
    delete db;
  }
  log_ = MustOpen(root_ / "data", kek_.get());
  ReadAllOptions options;
  absl::StatusOr<LogPage> page = log_->ReadAll(options);
  EXPECT_EQ(page.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(page.status().message(), HasSubstr("global position 1"));
}

TEST_F(EncryptionTest, RestoredBackupKeepsTheErasure) {
  MustAppend("client-1", "PHI-ONE");
  MustAppend("client-2", "PHI-TWO");
  absl::StatusOr<BackupInfo> backup = log_->Backup((root_ / "before").string());
  ASSERT_TRUE(backup.ok()) << backup.status();
  ASSERT_TRUE(log_->EraseStream("client-1", ErasureRecord()).ok());
  log_.reset();

  absl::StatusOr<BackupInfo> restored = EventLog::Restore(
      (root_ / "before").string(), (root_ / "restored").string());
  ASSERT_TRUE(restored.ok()) << restored.status();
  // The same KEK file, read again as a new process would.
  kek_ = OpenKek(kek_path_);
  log_ = MustOpen(root_ / "restored", kek_.get());
  std::vector<RecordedEvent> all = ReadAllEvents(*log_);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].payload_erased);
  EXPECT_EQ(all[1].payload, "PHI-TWO");
  absl::StatusOr<AppendResult> refused = log_->Append(
      {"client-1", ExpectedVersion::Any(), {Event("more")}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("restored from a backup"));
  // Erasing again records the erasure in the restored log.
  absl::StatusOr<ErasureResult> again =
      log_->EraseStream("client-1", ErasureRecord());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->already_erased);
  EXPECT_EQ(again->position, 3u);
}

TEST_F(EncryptionTest, FirstDataKeyMovesAVersionOneDirectoryToVersionTwo) {
  MustAppend("other-1", "PLAIN");
  log_.reset();
  auto stored_version = [&]() -> uint32_t {
    rocksdb::DB* db = nullptr;
    rocksdb::Options options;
    EXPECT_TRUE(
        rocksdb::DB::Open(options, (root_ / "data").string(), &db).ok());
    std::string value;
    EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), kFormatVersionKey, &value).ok());
    delete db;
    return value.size() == 4 ? DecodeFixed32BE(value) : 0;
  };
  EXPECT_EQ(stored_version(), kFormatVersion);
  {
    // As a release before encryption left it.
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::Options(), (root_ / "data").string(), &db)
            .ok());
    std::string v;
    PutFixed32BE(&v, 1);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), kFormatVersionKey, v).ok());
    delete db;
  }
  log_ = MustOpen(root_ / "data", kek_.get());
  MustAppend("other-2", "PLAIN");  // no data key yet
  log_.reset();
  EXPECT_EQ(stored_version(), 1u);
  log_ = MustOpen(root_ / "data", kek_.get());
  MustAppend("client-1", "PHI");  // the first data key
  log_.reset();
  EXPECT_EQ(stored_version(), kFirstFormatWithDataKeys);
}

TEST_F(EncryptionTest, ErasureStoppedAfterTheKekStepIsInEffectAndCompletes) {
  MustAppend("client-1", "PHI-ONE");
  log_.reset();
  // The state a crash right after step 1 leaves: the KEK lists the key as
  // erased, the log still holds it wrapped and no ClientErased event.
  DataKeyId key_id{};
  {
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(),
                                             (root_ / "data").string(), &db)
                    .ok());
    std::string value;
    ASSERT_TRUE(
        db->Get(rocksdb::ReadOptions(), DataKeyKey("client-1"), &value).ok());
    delete db;
    absl::StatusOr<DataKeyRecord> record = DecodeDataKeyRecord(value);
    ASSERT_TRUE(record.ok());
    key_id = record->key_id;
  }
  ASSERT_TRUE(kek_->RecordErased(key_id).ok());
  kek_ = OpenKek(kek_path_);  // a new process reads the file
  log_ = MustOpen(root_ / "data", kek_.get());
  std::vector<RecordedEvent> all = ReadAllEvents(*log_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].payload_erased);
  EXPECT_EQ(log_->Append({"client-1", ExpectedVersion::Any(), {Event("x")}})
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // Erasing again records it.
  absl::StatusOr<ErasureResult> completed =
      log_->EraseStream("client-1", ErasureRecord());
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->position, 2u);
  EXPECT_EQ(completed->key_id, DataKeyIdToHex(key_id));
}

TEST_F(EncryptionTest, KekFileChecks) {
  struct stat st;
  ASSERT_EQ(::stat(kek_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A file made with `head -c 32 /dev/urandom` is accepted.
  const std::string raw = (root_ / "raw.kek").string();
  {
    std::ofstream out(raw, std::ios::binary);
    out << std::string(32, 'k');
  }
  ::chmod(raw.c_str(), 0600);
  EXPECT_TRUE(FileKeyEncryptionKey::Open(raw).ok());
  // Group-readable: refused, naming the file.
  ::chmod(raw.c_str(), 0640);
  absl::StatusOr<std::unique_ptr<FileKeyEncryptionKey>> readable =
      FileKeyEncryptionKey::Open(raw);
  EXPECT_EQ(readable.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(readable.status().message(), HasSubstr("chmod 600"));
  // The wrong size: refused, and the message holds none of its bytes.
  {
    std::ofstream out(raw, std::ios::binary | std::ios::trunc);
    out << std::string(31, 'k');
  }
  ::chmod(raw.c_str(), 0600);
  absl::StatusOr<std::unique_ptr<FileKeyEncryptionKey>> short_file =
      FileKeyEncryptionKey::Open(raw);
  EXPECT_EQ(short_file.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(short_file.status().message(), HasSubstr("31 bytes"));
  EXPECT_THAT(short_file.status().message(), Not(HasSubstr("kkkk")));
}

TEST_F(EncryptionTest, KeyMaterialNeverInMessages) {
  MustAppend("client-1", "PHI-ONE");
  log_.reset();
  std::string file;
  {
    std::ifstream in(kek_path_, std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GE(file.size(), 8u + 4 + 32);
  const std::string kek_bytes = file.substr(12, 32);
  std::vector<std::string> messages;
  std::unique_ptr<FileKeyEncryptionKey> other =
      OpenKek((root_ / "other.kek").string());
  messages.emplace_back(
      OpenLog(root_ / "data", other.get()).status().message());
  log_ = MustOpen(root_ / "data", kek_.get());
  ASSERT_TRUE(log_->EraseStream("client-1", ErasureRecord()).ok());
  messages.emplace_back(log_->Append({"client-1", ExpectedVersion::Any(),
                                      {Event("x")}})
                            .status()
                            .message());
  messages.emplace_back(
      kek_->Unwrap(WrappedKey{"nope", std::string(60, 'x')}, DataKeyId{},
                   "aad")
          .status()
          .message());
  for (const std::string& m : messages) {
    EXPECT_FALSE(m.empty());
    EXPECT_THAT(m, Not(HasSubstr(kek_bytes)));
    EXPECT_THAT(m, Not(HasSubstr(absl::BytesToHexString(kek_bytes))));
    EXPECT_THAT(m, Not(HasSubstr(absl::Base64Escape(kek_bytes))));
  }
}

}  // namespace
}  // namespace caseline::eventstore
