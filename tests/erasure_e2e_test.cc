// Erasure by crypto-shredding end to end (docs/log_format.md "Erasure"): an
// in-process caselined with a KEK file, loaded with the demo network over
// real gRPC; a backup; Admin.EraseClient of a scenario client; then every
// read API that serves a client's record (EventLog.ReadStream, ReadAll and
// Subscribe; the continuity summary and gaps; the audit timeline, replay and
// disclosures) yields none of that client's payloads, the chain verifies,
// appends to the client are refused, the accounting of disclosures stays,
// and the backup taken before the erasure, restored with the same KEK, keeps
// the client erased.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "caseline/v1/admin.grpc.pb.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "eventstore/key_encryption.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "base/read_file.h"
#include "tests/test_util.h"
#include "tests/views_util.h"
#include "tools/demo/demo.h"

namespace caseline {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kClient[] = "scenario-stroke";
constexpr char kStream[] = "client-scenario-stroke";

class ErasureE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = dir_.path() + "/data";
    kek_path_ = dir_.path() + "/data.kek";
    Start(data_dir_);
    ASSERT_NE(server_, nullptr);
  }

  void Start(const std::string& data_dir, bool encrypt = true) {
    channel_.reset();
    server_.reset();
    absl::StatusOr<std::unique_ptr<eventstore::FileKeyEncryptionKey>> kek =
        eventstore::FileKeyEncryptionKey::Open(kek_path_);
    ASSERT_TRUE(kek.ok()) << kek.status();
    std::shared_ptr<eventstore::KeyEncryptionKey> shared = *std::move(kek);
    absl::StatusOr<std::unique_ptr<server::CaselineServer>> started =
        testing::StartLoopbackServer(
            data_dir, [&](server::ServerOptions& o) {
              o.kek = shared;
              o.encrypt_payloads = encrypt;
            });
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
  }

  std::vector<v1::Event> ReadStream() {
    auto log = v1::EventLog::NewStub(channel_);
    v1::ReadStreamRequest request;
    request.set_stream_id(kStream);
    request.set_max_count(1000);
    grpc::ClientContext context;
    v1::ReadStreamResponse page;
    const grpc::Status status = log->ReadStream(&context, request, &page);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {page.events().begin(), page.events().end()};
  }

  // Every serialized answer of the reads that show a client's record.
  std::vector<std::string> EveryReadOfTheClient() {
    std::vector<std::string> answers;
    auto log = v1::EventLog::NewStub(channel_);
    {
      v1::ReadAllRequest request;
      request.set_max_count(1000);
      while (true) {
        grpc::ClientContext context;
        v1::ReadAllResponse page;
        const grpc::Status status = log->ReadAll(&context, request, &page);
        EXPECT_TRUE(status.ok()) << status.error_message();
        if (!status.ok()) break;
        answers.push_back(page.SerializeAsString());
        if (page.end_of_log()) break;
        request.set_from_position(page.next_position());
      }
    }
    for (const v1::Event& e : ReadStream()) {
      answers.push_back(e.SerializeAsString());
    }
    {
      // Subscribe from the start until caught up.
      grpc::ClientContext context;
      v1::SubscribeRequest request;
      request.set_from_position(1);
      auto reader = log->Subscribe(&context, request);
      v1::SubscribeResponse message;
      while (reader->Read(&message)) {
        answers.push_back(message.SerializeAsString());
        if (message.has_caught_up()) break;
      }
      context.TryCancel();
      reader->Finish().IgnoreError();
    }
    auto continuity = v1::ContinuityViews::NewStub(channel_);
    auto audit = v1::AuditViews::NewStub(channel_);
    const uint64_t head = server_->event_log().HeadPosition();
    {
      grpc::ClientContext context;
      v1::GetClientSummaryRequest request;
      request.set_client_id(kClient);
      request.set_min_position(head);
      v1::GetClientSummaryResponse response;
      const grpc::Status status =
          continuity->GetClientSummary(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      answers.push_back(response.SerializeAsString());
    }
    {
      grpc::ClientContext context;
      v1::ListGapsRequest request;
      request.set_client_id(kClient);
      request.set_min_position(head);
      v1::ListGapsResponse response;
      const grpc::Status status =
          continuity->ListGaps(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      answers.push_back(response.SerializeAsString());
    }
    {
      grpc::ClientContext context;
      v1::GetTimelineRequest request;
      request.set_client_id(kClient);
      request.set_page_size(1000);
      request.set_min_position(head);
      v1::GetTimelineResponse response;
      const grpc::Status status =
          audit->GetTimeline(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      answers.push_back(response.SerializeAsString());
    }
    {
      grpc::ClientContext context;
      v1::ReplayClientRequest request;
      request.set_client_id(kClient);
      request.set_position(head);
      request.set_min_position(head);
      v1::ReplayClientResponse response;
      const grpc::Status status =
          audit->ReplayClient(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      answers.push_back(response.SerializeAsString());
    }
    {
      grpc::ClientContext context;
      v1::ListDisclosuresRequest request;
      request.set_client_id(kClient);
      request.set_min_position(head);
      v1::ListDisclosuresResponse response;
      const grpc::Status status =
          audit->ListDisclosures(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      answers.push_back(response.SerializeAsString());
    }
    return answers;
  }

  testing::ScratchDir dir_{"erasure_e2e"};
  std::string data_dir_;
  std::string kek_path_;
  std::unique_ptr<server::CaselineServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ErasureE2eTest, ErasedClientIsUnreadableEverywhereAndStaysErasedOnRestore) {
  tools::DemoOptions demo;
  demo.clients = 2;
  demo.seed = 1;
  absl::StatusOr<tools::DemoSummary> loaded = tools::RunDemo(channel_, demo);
  ASSERT_TRUE(loaded.ok()) << loaded.status();

  // What the client's record says before: the words to look for after.
  const std::vector<v1::Event> before = ReadStream();
  ASSERT_GE(before.size(), 10u);
  v1::CareEvent registered;
  ASSERT_TRUE(registered.ParseFromString(before[0].payload()));
  ASSERT_TRUE(registered.has_client_registered());
  const std::vector<std::string> phi = {
      registered.client_registered().name().given(),
      registered.client_registered().name().family(),
      registered.client_registered().phone(),
      registered.client_registered().address().line1()};
  for (const std::string& word : phi) ASSERT_GE(word.size(), 4u);
  bool seen = false;
  for (const std::string& answer : EveryReadOfTheClient()) {
    seen = seen || answer.find(phi[0]) != std::string::npos;
  }
  ASSERT_TRUE(seen) << "the reads showed the client before the erasure";
  {
    // A read by an organisation: recorded in access-<client> (the local
    // operator's reads are not).
    grpc::ClientContext context;
    context.AddMetadata("x-caseline-org",
                        before[0].actor().organization_id());
    v1::GetClientSummaryRequest request;
    request.set_client_id(kClient);
    v1::GetClientSummaryResponse response;
    ASSERT_TRUE(v1::ContinuityViews::NewStub(channel_)
                    ->GetClientSummary(&context, request, &response)
                    .ok());
  }

  auto admin = v1::Admin::NewStub(channel_);
  const std::string backup_dir = dir_.path() + "/before-erasure";
  {
    grpc::ClientContext context;
    v1::BackupRequest request;
    request.set_directory(backup_dir);
    v1::BackupResponse response;
    const grpc::Status status = admin->Backup(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Refusals first: each names the field.
  {
    grpc::ClientContext context;
    v1::EraseClientRequest request;
    request.set_client_id(kClient);
    v1::EraseClientResponse response;
    const grpc::Status status =
        admin->EraseClient(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("legal_basis"));
  }
  {
    grpc::ClientContext context;
    v1::EraseClientRequest request;
    request.set_client_id("nobody-here");
    request.set_legal_basis("GDPR Art. 17(1)(a)");
    v1::EraseClientResponse response;
    EXPECT_EQ(admin->EraseClient(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  uint64_t erased_at = 0;
  {
    grpc::ClientContext context;
    v1::EraseClientRequest request;
    request.set_client_id(kClient);
    request.set_legal_basis("GDPR Art. 17(1)(a)");
    request.set_reason("the client withdrew consent and asked to be erased");
    v1::EraseClientResponse response;
    const grpc::Status status =
        admin->EraseClient(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.already_erased());
    EXPECT_EQ(response.data_key_id().size(), 32u);
    // Every event was written encrypted: nothing stays readable.
    EXPECT_EQ(response.plaintext_events_kept(), 0u);
    erased_at = response.position();
    EXPECT_EQ(erased_at, server_->event_log().HeadPosition());
  }

  // The stream: every earlier event erased, the erasure recorded last.
  const std::vector<v1::Event> after = ReadStream();
  ASSERT_EQ(after.size(), before.size() + 1);
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(after[i].payload_erased()) << i;
    EXPECT_TRUE(after[i].payload().empty()) << i;
    EXPECT_EQ(after[i].hash(), before[i].hash()) << i;
  }
  EXPECT_EQ(after.back().event_type(), "ClientErased");
  EXPECT_EQ(after.back().global_position(), erased_at);
  v1::CareEvent erasure;
  ASSERT_TRUE(erasure.ParseFromString(after.back().payload()));
  EXPECT_EQ(erasure.client_erased().legal_basis(), "GDPR Art. 17(1)(a)");

  // No read yields what the record said.
  for (const std::string& answer : EveryReadOfTheClient()) {
    for (const std::string& word : phi) {
      EXPECT_THAT(answer, Not(HasSubstr(word)));
    }
  }
  // The accounting of disclosures stays (its own, plaintext stream).
  auto log = v1::EventLog::NewStub(channel_);
  {
    grpc::ClientContext context;
    v1::ReadStreamRequest request;
    request.set_stream_id(absl::StrCat("access-", kClient));
    v1::ReadStreamResponse page;
    ASSERT_TRUE(log->ReadStream(&context, request, &page).ok());
    ASSERT_GT(page.events_size(), 0);
    EXPECT_FALSE(page.events(0).payload_erased());
    EXPECT_FALSE(page.events(0).payload().empty());
  }
  // The chain verifies.
  {
    grpc::ClientContext context;
    v1::VerifyChainResponse response;
    ASSERT_TRUE(
        log->VerifyChain(&context, v1::VerifyChainRequest(), &response).ok());
    EXPECT_TRUE(response.ok()) << response.problem();
    EXPECT_EQ(response.head_position(), erased_at);
  }
  // Appends to the client are refused, naming the erasure's position.
  {
    grpc::ClientContext context;
    v1::AppendRequest append;
    append.set_stream_id(kStream);
    *append.add_events() = testing::JsonEvent("Noted", "{}");
    v1::AppendResponse appended;
    const grpc::Status status = log->Append(&context, append, &appended);
    EXPECT_FALSE(status.ok());
  }
  {
    eventstore::ProposedEvent more;
    more.event_type = "Noted";
    more.content_type = "application/json";
    more.payload = "{}";
    const absl::StatusOr<eventstore::AppendResult> refused =
        server_->event_log().Append(
            {kStream, eventstore::ExpectedVersion::Any(), {more}});
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(refused.status().message(),
                HasSubstr(absl::StrCat("position ", erased_at)));
  }
  // A second erasure: already done.
  {
    grpc::ClientContext context;
    v1::EraseClientRequest request;
    request.set_client_id(kClient);
    request.set_legal_basis("again");
    v1::EraseClientResponse response;
    ASSERT_TRUE(admin->EraseClient(&context, request, &response).ok());
    EXPECT_TRUE(response.already_erased());
    EXPECT_EQ(response.position(), erased_at);
  }

  // The backup from before the erasure, restored with the same KEK file.
  server_.reset();
  const std::string restored = dir_.path() + "/restored";
  absl::StatusOr<eventstore::BackupInfo> info =
      eventstore::EventLog::Restore(backup_dir, restored);
  ASSERT_TRUE(info.ok()) << info.status();
  Start(restored);
  ASSERT_NE(server_, nullptr);
  const std::vector<v1::Event> restored_events = ReadStream();
  ASSERT_EQ(restored_events.size(), before.size());
  for (const v1::Event& e : restored_events) {
    EXPECT_TRUE(e.payload_erased()) << e.global_position();
  }
  for (const std::string& answer : EveryReadOfTheClient()) {
    for (const std::string& word : phi) {
      EXPECT_THAT(answer, Not(HasSubstr(word)));
    }
  }
}

// Every file under `dir` (recursively) that holds `word`, as raw bytes.
std::vector<std::string> FilesHolding(const std::string& dir,
                                      const std::string& word) {
  std::vector<std::string> found;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    absl::StatusOr<std::string> bytes =
        ReadFileNamedBy("data", entry.path().string());
    if (bytes.ok() && bytes->find(word) != std::string::npos) {
      found.push_back(entry.path().string());
    }
  }
  return found;
}

// docs/log_format.md "Erasure": once the projections applied the erasure,
// no file of the data directory (the log's and the view store's: table
// files, write-ahead logs, manifests) holds the client's plaintext, and the
// views name the client nowhere.
TEST_F(ErasureE2eTest, ProjectionsForgetTheClientAndNoFileHoldsItsPlaintext) {
  tools::DemoOptions demo;
  demo.clients = 2;
  demo.seed = 1;
  ASSERT_TRUE(tools::RunDemo(channel_, demo).ok());
  testing::WaitForProjections(channel_);
  const std::vector<v1::Event> before = ReadStream();
  v1::CareEvent registered;
  ASSERT_TRUE(registered.ParseFromString(before[0].payload()));
  // The client's name, and a referral reason the continuity projection
  // keeps in the referral lists.
  const std::vector<std::string> words = {
      registered.client_registered().name().family(),
      registered.client_registered().phone(),
      "Home physical therapy after stroke"};
  const std::string views_dir = data_dir_ + "/views";
  ASSERT_FALSE(FilesHolding(views_dir, words[2]).empty())
      << "the view store did not hold the referral reason before the erasure";
  for (const std::string& word : words) {
    EXPECT_TRUE(FilesHolding(data_dir_ + "/", word).size() ==
                FilesHolding(views_dir, word).size())
        << "the log's own files hold plaintext of " << word;
  }

  auto admin = v1::Admin::NewStub(channel_);
  {
    grpc::ClientContext context;
    v1::EraseClientRequest request;
    request.set_client_id(kClient);
    request.set_legal_basis("GDPR Art. 17(1)(a)");
    v1::EraseClientResponse response;
    ASSERT_TRUE(admin->EraseClient(&context, request, &response).ok());
  }
  testing::WaitForProjections(channel_);
  for (const std::string& word : words) {
    EXPECT_THAT(FilesHolding(data_dir_, word), ::testing::IsEmpty()) << word;
  }
  // The timeline keeps the envelopes, saying what became of the content.
  {
    grpc::ClientContext context;
    v1::GetTimelineRequest request;
    request.set_client_id(kClient);
    request.set_page_size(1000);
    v1::GetTimelineResponse timeline;
    ASSERT_TRUE(v1::AuditViews::NewStub(channel_)
                    ->GetTimeline(&context, request, &timeline)
                    .ok());
    ASSERT_GE(timeline.entries_size(), 2);
    EXPECT_EQ(timeline.entries(0).summary(),
              "ClientRegistered: content erased with the client's data key");
    EXPECT_FALSE(timeline.entries(0).has_event());
  }
  // The views name the client nowhere: findings, worklists and referral
  // lists of every organisation.
  const std::string views = testing::ProjectedViews(
      channel_, server_->event_log().HeadPosition());
  ASSERT_FALSE(views.empty());
  EXPECT_THAT(views, Not(HasSubstr(kClient)));
}

TEST_F(ErasureE2eTest, TheAccountingOfDisclosuresOutlivesTheErasure) {
  tools::DemoOptions demo;
  demo.clients = 0;
  demo.seed = 1;
  absl::StatusOr<tools::DemoSummary> loaded = tools::RunDemo(channel_, demo);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  // A client with a recorded disclosure (the demo's foster teens).
  auto log = v1::EventLog::NewStub(channel_);
  v1::ReadAllRequest read;
  read.set_max_count(1000);
  read.mutable_filter()->set_event_type_prefix("InformationDisclosed");
  grpc::ClientContext read_context;
  v1::ReadAllResponse page;
  ASSERT_TRUE(log->ReadAll(&read_context, read, &page).ok());
  ASSERT_GT(page.events_size(), 0);
  const v1::Event disclosed = page.events(0);
  v1::CareEvent disclosure;
  ASSERT_TRUE(disclosure.ParseFromString(disclosed.payload()));
  const std::string client = disclosed.stream_id().substr(7);  // "client-"

  auto admin = v1::Admin::NewStub(channel_);
  grpc::ClientContext context;
  v1::EraseClientRequest request;
  request.set_client_id(client);
  request.set_legal_basis("GDPR Art. 17(1)(a)");
  v1::EraseClientResponse response;
  ASSERT_TRUE(admin->EraseClient(&context, request, &response).ok());

  // The ClientErased event holds what was disclosed to whom, not the text.
  v1::ReadStreamRequest stream;
  stream.set_stream_id(disclosed.stream_id());
  stream.set_direction(v1::BACKWARD);
  stream.set_max_count(1);
  grpc::ClientContext stream_context;
  v1::ReadStreamResponse last;
  ASSERT_TRUE(log->ReadStream(&stream_context, stream, &last).ok());
  ASSERT_EQ(last.events_size(), 1);
  v1::CareEvent erased;
  ASSERT_TRUE(erased.ParseFromString(last.events(0).payload()));
  ASSERT_TRUE(erased.has_client_erased());
  const v1::InformationDisclosed& original =
      disclosure.information_disclosed();
  const v1::ErasedDisclosure* found_kept = nullptr;
  for (const v1::ErasedDisclosure& d : erased.client_erased().disclosures()) {
    if (d.disclosure_id() == original.disclosure_id()) found_kept = &d;
  }
  ASSERT_NE(found_kept, nullptr) << erased.DebugString();
  const v1::ErasedDisclosure& kept = *found_kept;
  EXPECT_EQ(kept.disclosure_id(), original.disclosure_id());
  EXPECT_EQ(kept.recipient_organization_id(),
            original.recipient_organization_id());
  EXPECT_EQ(kept.legal_basis(), original.legal_basis());
  EXPECT_EQ(kept.global_position(), disclosed.global_position());
  EXPECT_EQ(kept.data_classes_size(), original.data_classes_size());
  EXPECT_EQ(kept.source(), "information-disclosed");
  ASSERT_FALSE(original.description().empty());
  EXPECT_THAT(last.events(0).payload(),
              Not(HasSubstr(original.description())));

  // The accounting of disclosures still lists it, without its content.
  auto audit = v1::AuditViews::NewStub(channel_);
  grpc::ClientContext list_context;
  v1::ListDisclosuresRequest list;
  list.set_client_id(client);
  list.set_min_position(server_->event_log().HeadPosition());
  v1::ListDisclosuresResponse listed;
  ASSERT_TRUE(audit->ListDisclosures(&list_context, list, &listed).ok());
  bool found = false;
  for (const v1::Disclosure& d : listed.disclosures()) {
    if (d.subject_id() != original.disclosure_id()) continue;
    found = true;
    EXPECT_EQ(d.source(), "information-disclosed");
    EXPECT_EQ(d.recipient_organization_id(),
              original.recipient_organization_id());
    EXPECT_EQ(d.global_position(), disclosed.global_position());
    EXPECT_THAT(d.description(), Not(HasSubstr(original.description())));
  }
  EXPECT_TRUE(found) << listed.DebugString();
}

// docs/access.md "Erasing a client": events written in plaintext, before
// encryption was on for the client, stay readable, and the answer counts
// them.
TEST_F(ErasureE2eTest, EventsWrittenInPlaintextAreCountedAsKept) {
  constexpr char kMixed[] = "client-mixed";
  auto noted = [](const std::string& text) {
    eventstore::ProposedEvent e;
    e.event_type = "Noted";
    e.content_type = "application/json";
    e.payload = absl::StrCat("{\"note\":\"", text, "\"}");
    return e;
  };
  Start(data_dir_, /*encrypt=*/false);
  ASSERT_NE(server_, nullptr);
  ASSERT_TRUE(server_->event_log()
                  .Append({kMixed,
                           eventstore::ExpectedVersion::Any(),
                           {noted("PLAIN-ONE"), noted("PLAIN-TWO")}})
                  .ok());
  Start(data_dir_, /*encrypt=*/true);
  ASSERT_NE(server_, nullptr);
  ASSERT_TRUE(server_->event_log()
                  .Append({kMixed, eventstore::ExpectedVersion::Any(),
                           {noted("SEALED-THREE")}})
                  .ok());

  auto admin = v1::Admin::NewStub(channel_);
  for (bool again : {false, true}) {
    grpc::ClientContext context;
    v1::EraseClientRequest request;
    request.set_client_id("mixed");
    request.set_legal_basis("GDPR Art. 17(1)(a)");
    v1::EraseClientResponse response;
    const grpc::Status status =
        admin->EraseClient(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.already_erased(), again);
    EXPECT_EQ(response.plaintext_events_kept(), 2u);
  }
  auto log = v1::EventLog::NewStub(channel_);
  grpc::ClientContext context;
  v1::ReadStreamRequest request;
  request.set_stream_id(kMixed);
  v1::ReadStreamResponse page;
  ASSERT_TRUE(log->ReadStream(&context, request, &page).ok());
  ASSERT_EQ(page.events_size(), 4);
  EXPECT_FALSE(page.events(0).payload_erased());
  EXPECT_THAT(page.events(0).payload(), HasSubstr("PLAIN-ONE"));
  EXPECT_FALSE(page.events(1).payload_erased());
  EXPECT_TRUE(page.events(2).payload_erased());
  EXPECT_EQ(page.events(3).event_type(), "ClientErased");
}

}  // namespace
}  // namespace caseline
