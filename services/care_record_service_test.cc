// The command services as registered from care::CommandCatalog: every
// command's rpc is served, parses its own request type and reaches
// RunCommand and the handler, over an in-process gRPC server on a loopback
// port with a real event log.
#include "services/care_record_service.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "care/command_catalog.h"
#include "projections/client_record_store.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/unparsed_request.h"

namespace caseline::services {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

// Calls `path` with `request_bytes` as organisation `org` (none when empty);
// `response_bytes` gets the response on OK.
grpc::Status CallWithBytes(const std::shared_ptr<grpc::Channel>& channel,
                           const std::string& path, const std::string& org,
                           const std::string& request_bytes,
                           std::string* response_bytes = nullptr) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  if (!org.empty()) context.AddMetadata(kOrganizationMetadataKey, org);
  context.AddMetadata(kUserMetadataKey, "tester");
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, path, request, &queue);
  call->StartCall();
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  if (!queue.Next(&tag, &ok) || !ok) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "test: no completion");
  }
  if (status.ok() && response_bytes != nullptr) {
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(response.Dump(&slices).ok());
    response_bytes->clear();
    for (const grpc::Slice& s : slices) {
      response_bytes->append(reinterpret_cast<const char*>(s.begin()),
                             s.size());
    }
  }
  return status;
}

class CareRecordServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("care_record_service_test_", getpid(), "_", counter_++);
    std::filesystem::remove_all(dir_);
    eventstore::EventLogOptions options;
    options.data_dir = dir_.string();
    auto log = eventstore::EventLog::Open(std::move(options));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    // Development mode: any organisation named in metadata is an agency.
    auto authenticator = Authenticator::Create(AuthenticatorOptions());
    ASSERT_TRUE(authenticator.ok()) << authenticator.status();
    authenticator_ = *std::move(authenticator);
    records_ = std::make_unique<projections::ClientRecordStore>(log_.get());
    access_ = std::make_unique<AccessControl>(log_.get(), records_.get(),
                                              authenticator_.get());
    handler_ = std::make_unique<CareCommandHandler>(log_.get(), records_.get());
    runner_ = {handler_.get(), access_.get()};
    services_ = std::make_unique<CareRecordServices>(&runner_);

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    for (grpc::Service* service : services_->services()) {
      builder.RegisterService(service);
    }
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port, 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
    services_.reset();
    handler_.reset();
    access_.reset();
    records_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Sends the catalog's request for `event` as `org`; OK gives the result.
  absl::StatusOr<v1::CommandResult> Send(const std::string& org,
                                         const std::string& command_id,
                                         const std::string& client_id,
                                         const v1::CareEvent& event) {
    care::CommandFields fields;
    fields.command_id = command_id;
    fields.client_id = client_id;
    fields.event = event;
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
        care::NewCommandRequest(fields);
    if (!request.ok()) return request.status();
    const care::CommandSpec* spec =
        care::CommandCatalog::Get().ForEvent(event.event_case());
    std::string response;
    const grpc::Status status = CallWithBytes(
        channel_, spec->path, org, (*request)->SerializeAsString(), &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    v1::CommandResult result;
    if (!result.ParseFromString(response)) {
      return absl::DataLossError("the CommandResult does not parse");
    }
    return result;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<eventstore::EventLog> log_;
  std::unique_ptr<Authenticator> authenticator_;
  std::unique_ptr<projections::ClientRecordStore> records_;
  std::unique_ptr<AccessControl> access_;
  std::unique_ptr<CareCommandHandler> handler_;
  CommandRunner runner_;
  std::unique_ptr<CareRecordServices> services_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(CareRecordServicesTest, OneServicePerServiceOfTheCatalog) {
  EXPECT_EQ(services_->services().size(),
            care::CommandCatalog::Get().services().size());
  EXPECT_THAT(care::CommandCatalog::Get().commands(), Not(IsEmpty()));
}

// Each command's rpc parses the bytes as its own request type and runs it:
// without the proposed event, CommandFieldsOf names that request's field 4,
// which only the handler of that rpc, past authentication, can answer.
TEST_F(CareRecordServicesTest, EveryCatalogCommandReachesItsHandler) {
  int index = 0;
  for (const care::CommandSpec& spec : care::CommandCatalog::Get().commands()) {
    SCOPED_TRACE(spec.path);
    care::CommandFields fields;
    fields.command_id = absl::StrCat("cmd-", ++index);
    fields.client_id = "c1";
    fields.event.GetReflection()->MutableMessage(&fields.event,
                                                 spec.event_field);
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
        care::NewCommandRequest(fields);
    ASSERT_TRUE(request.ok()) << request.status();
    ASSERT_EQ((*request)->GetDescriptor(), spec.method->input_type());
    // Field 4 cleared: the request has no proposed event.
    (*request)->GetReflection()->ClearField(request->get(),
                                            spec.request_event_field);
    const grpc::Status status = CallWithBytes(channel_, spec.path, "org-a",
                                              (*request)->SerializeAsString());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
    EXPECT_EQ(status.error_message(),
              absl::StrCat(spec.request_event_field->name(),
                           " is required: it is the event the command "
                           "records"));
  }
}

// Commands of both kinds run through the handler into the log.
TEST_F(CareRecordServicesTest, CommandsAreAppliedThroughTheHandler) {
  v1::CareEvent org;
  org.mutable_organization_registered()->set_organization_id("org-a");
  org.mutable_organization_registered()->set_name("Agency A");
  org.mutable_organization_registered()->set_type(
      v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  absl::StatusOr<v1::CommandResult> registered =
      Send("org-a", "cmd-org", "", org);
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(registered->stream_id(), "organizations");
  EXPECT_THAT(registered->event_types(), ElementsAre("OrganizationRegistered"));

  v1::CareEvent client;
  client.mutable_client_registered()->mutable_name()->set_given("Ada");
  client.mutable_client_registered()->mutable_name()->set_family("Okafor");
  client.mutable_client_registered()->mutable_birth_date()->set_year(1958);
  client.mutable_client_registered()->mutable_birth_date()->set_month(3);
  client.mutable_client_registered()->mutable_birth_date()->set_day(14);
  absl::StatusOr<v1::CommandResult> client_result =
      Send("org-a", "cmd-client", "c1", client);
  ASSERT_TRUE(client_result.ok()) << client_result.status();
  EXPECT_EQ(client_result->stream_id(), "client-c1");
  EXPECT_THAT(client_result->event_types(), ElementsAre("ClientRegistered"));

  v1::CareEvent opened;
  opened.mutable_case_opened()->set_reason("intake");
  absl::StatusOr<v1::CommandResult> opened_result =
      Send("org-a", "cmd-open", "c1", opened);
  ASSERT_TRUE(opened_result.ok()) << opened_result.status();
  EXPECT_THAT(opened_result->event_types(), ElementsAre("CaseOpened"));
  EXPECT_EQ(opened_result->stream_version(), 1u);
  // A retry is the same command, answered from the log.
  absl::StatusOr<v1::CommandResult> retry =
      Send("org-a", "cmd-open", "c1", opened);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->already_applied());
}

// Bytes that do not parse as the rpc's request are refused naming its type,
// by the service itself (no interceptor here), before authentication.
TEST_F(CareRecordServicesTest,
       UnparsableRequestsAreInvalidArgumentNamingTheType) {
  const std::string kNotUtf8("\x0a\x03\xff\xfe\xfd", 5);  // command_id
  // libprotobuf logs a line per request whose string is not UTF-8 (the
  // server filters it: server/server.cc).
  ::testing::internal::CaptureStderr();
  for (const care::CommandSpec& spec : care::CommandCatalog::Get().commands()) {
    SCOPED_TRACE(spec.path);
    for (const std::string& garbage :
         {std::string("\xff\xff\xff\xff", 4), kNotUtf8}) {
      for (const char* org : {"org-a", ""}) {
        const grpc::Status status =
            CallWithBytes(channel_, spec.path, org, garbage);
        EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
        EXPECT_EQ(status.error_message(),
                  UnparsedRequestError(spec.path).message());
        EXPECT_EQ(status.error_message(),
                  absl::StrCat("request is not a valid ",
                               spec.method->input_type()->full_name(),
                               " message: its bytes do not parse as one "
                               "(build it with code generated from "
                               "caseline/v1/care_record.proto)"));
      }
    }
  }
  ::testing::internal::GetCapturedStderr();
  // A method the catalog does not have is not served.
  EXPECT_EQ(CallWithBytes(channel_, "/caseline.v1.Referrals/NoSuchMethod",
                          "org-a", "")
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

// Commands on one client sent at once take turns on its stream (none is
// refused for a record that kept moving), each answered with its own
// version; no thread waits for a sync meanwhile.
TEST_F(CareRecordServicesTest, ConcurrentCommandsOnOneClientTakeTurns) {
  v1::CareEvent org;
  org.mutable_organization_registered()->set_organization_id("org-a");
  org.mutable_organization_registered()->set_name("Agency A");
  org.mutable_organization_registered()->set_type(
      v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
  ASSERT_TRUE(Send("org-a", "cmd-org", "", org).ok());
  v1::CareEvent client;
  client.mutable_client_registered()->mutable_name()->set_given("Ada");
  client.mutable_client_registered()->mutable_name()->set_family("Okafor");
  client.mutable_client_registered()->mutable_birth_date()->set_year(1958);
  client.mutable_client_registered()->mutable_birth_date()->set_month(3);
  client.mutable_client_registered()->mutable_birth_date()->set_day(14);
  ASSERT_TRUE(Send("org-a", "cmd-client", "c1", client).ok());

  // More than kMaxDecideAttempts, so that racing re-decisions would refuse
  // some with ABORTED.
  constexpr int kCommands = 3 * kMaxDecideAttempts;
  std::vector<absl::StatusOr<v1::CommandResult>> results(kCommands);
  std::vector<std::thread> senders;
  for (int i = 0; i < kCommands; ++i) {
    senders.emplace_back([&, i] {
      v1::CareEvent follow_up;
      v1::FollowUpCompleted* done = follow_up.mutable_follow_up_completed();
      done->set_follow_up_id(absl::StrCat("f", i));
      done->set_contact_kind(v1::CONTACT_KIND_PHONE);
      done->set_provider_organization_id("org-a");
      done->set_provider_discipline(v1::DISCIPLINE_SOCIAL_WORK);
      results[i] = Send("org-a", absl::StrCat("cmd-f", i), "c1", follow_up);
    });
  }
  for (std::thread& t : senders) t.join();
  std::set<uint64_t> versions;
  for (const absl::StatusOr<v1::CommandResult>& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->already_applied());
    versions.insert(r->stream_version());
  }
  // Versions 1..kCommands, each once (0 is the registration).
  ASSERT_EQ(versions.size(), static_cast<size_t>(kCommands));
  EXPECT_EQ(*versions.begin(), 1u);
  EXPECT_EQ(*versions.rbegin(), static_cast<uint64_t>(kCommands));
}

// The sequencer behind it: tasks of one key run one at a time in arrival
// order, a task that ends inline does not nest the next on the stack, and
// keys are forgotten when idle.
TEST(KeyedSequencerTest, RunsEachKeysTasksInTurnWithoutNesting) {
  KeyedSequencer sequencer;
  std::vector<int> order;
  // Held: the first task does not release until the test says so.
  sequencer.Run("a", [&] { order.push_back(0); });
  for (int i = 1; i <= 3; ++i) {
    sequencer.Run("a", [&, i] {
      order.push_back(i);
      sequencer.Release("a");
    });
  }
  bool other_key_ran = false;
  sequencer.Run("b", [&] {
    other_key_ran = true;
    sequencer.Release("b");
  });
  EXPECT_TRUE(other_key_ran);
  EXPECT_THAT(order, ElementsAre(0));
  sequencer.Release("a");  // task 0 ends: 1, 2 and 3 follow in turn
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(sequencer.busy_keys(), 0u);

  // A long chain of tasks that each end inline would overflow the stack if
  // each ran inside the one before.
  constexpr int kChain = 200000;
  int ran = 0;
  sequencer.Run("c", [&] { ++ran; });
  for (int i = 1; i < kChain; ++i) {
    sequencer.Run("c", [&] {
      ++ran;
      sequencer.Release("c");
    });
  }
  sequencer.Release("c");
  EXPECT_EQ(ran, kChain);
  EXPECT_EQ(sequencer.busy_keys(), 0u);
}

}  // namespace
}  // namespace caseline::services
