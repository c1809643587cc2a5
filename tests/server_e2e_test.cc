// The server as a whole, over loopback gRPC: where it agrees to listen
// without TLS, grpc.health.v1.Health per served service, requests whose
// bytes do not parse, malformed break-the-glass metadata, and the
// break-the-glass list's page size.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "caseline/v1/access.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/health.h"
#include "server/server.h"
#include "tests/health_util.h"
#include "tests/test_util.h"

namespace caseline {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Serving;

// A name that merely starts with "127." is judged by what it resolves to
// (".example" names never resolve): refused, naming --listen.
TEST(ListenE2eTest, WithoutTlsNeedsAHostThatResolvesToLoopbackOnly) {
  testing::ScratchDir dir("server_e2e_listen");
  for (const char* listen : {"127.attacker.example:0", "0.0.0.0:0"}) {
    auto refused = testing::StartLoopbackServer(
        dir.path(),
        [&](server::ServerOptions& options) { options.listen = listen; });
    ASSERT_FALSE(refused.ok()) << listen << " was served without TLS";
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(refused.status().message(),
                AllOf(HasSubstr("--listen"), HasSubstr("--tls_cert"),
                      HasSubstr("--insecure_non_loopback")))
        << listen;
  }
  auto local = testing::StartLoopbackServer(
      dir.path(),
      [](server::ServerOptions& options) { options.listen = "localhost:0"; });
  EXPECT_TRUE(local.ok()) << local.status();
}

class ServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }
  testing::LoopbackServer server_{"server_e2e"};
};

TEST_F(ServerE2eTest, HealthAnswersServingForEveryServedService) {
  const std::vector<std::string> listed =
      testing::ListedServices(server_.channel());
  std::vector<std::string> caseline;
  for (const std::string& name : listed) {
    if (absl::StartsWith(name, "caseline.")) caseline.push_back(name);
  }
  EXPECT_GE(caseline.size(), 15u) << "reflection listed too few services";
  caseline.push_back("");
  for (const std::string& service : caseline) {
    Serving serving;
    const grpc::Status status =
        testing::CheckHealth(server_.channel(), service, &serving);
    ASSERT_TRUE(status.ok()) << "\"" << service << "\": " << status.error_code()
                             << " " << status.error_message();
    EXPECT_EQ(serving, Serving::kServing) << service;
  }
  // The table health is reported from names exactly the services served.
  std::vector<std::string> table;
  for (const server::ServiceNeeds& needs : server::ServedServices()) {
    table.emplace_back(needs.service);
  }
  caseline.pop_back();
  EXPECT_THAT(table, ::testing::UnorderedElementsAreArray(caseline));
}

// Bytes that are no protobuf message, and ones with a string field that is
// not UTF-8, sent to methods of each kind: synchronous unary ones, the
// callback one (EventLog.Append), server-streaming ones, a command and a view.
TEST_F(ServerE2eTest, UnparsableRequestsAreInvalidArgumentNamingTheType) {
  // Field 1, length-delimited, 3 bytes that are not UTF-8: a string field
  // (stream_id, command_id, organization_id, name) in most requests.
  const std::string kNotUtf8("\x0a\x03\xff\xfe\xfd", 5);
  const struct {
    const char* method;
    const char* type;
    std::string not_utf8;  // the request with a string field not UTF-8
  } kCalls[] = {
      {"/caseline.v1.EventLog/Append", "caseline.v1.AppendRequest", kNotUtf8},
      {"/caseline.v1.EventLog/ReadStream", "caseline.v1.ReadStreamRequest",
       kNotUtf8},
      // filter (3) { event_type_prefix (1) }
      {"/caseline.v1.EventLog/Subscribe", "caseline.v1.SubscribeRequest",
       std::string("\x1a\x05", 2) + kNotUtf8},
      {"/caseline.v1.Clients/RegisterClient",
       "caseline.v1.RegisterClientRequest", kNotUtf8},
      {"/caseline.v1.ContinuityViews/GetWorklist",
       "caseline.v1.GetWorklistRequest", kNotUtf8},
      {"/caseline.v1.Projections/Rebuild",
       "caseline.v1.RebuildProjectionRequest", kNotUtf8},
  };
  ::testing::internal::CaptureStderr();
  for (const auto& call : kCalls) {
    // A bad tag (no protobuf message at all), and the string not UTF-8.
    for (const std::string& garbage :
         {std::string("\xff\xff\xff\xff", 4), call.not_utf8}) {
      const grpc::Status status =
          testing::CallWithBytes(server_.channel(), call.method, garbage);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << call.method << ": " << status.error_code() << " "
          << status.error_message();
      EXPECT_THAT(status.error_message(),
                  HasSubstr(absl::StrCat("request is not a valid ", call.type,
                                         " message")))
          << call.method;
    }
  }
  // libprotobuf's line about the UTF-8 field is not logged per request.
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              Not(HasSubstr("invalid UTF-8")));

  // A valid request still reaches the handler.
  v1::ReadStreamRequest read;
  read.set_stream_id("no-such-stream");
  const grpc::Status missing = testing::CallWithBytes(
      server_.channel(), "/caseline.v1.EventLog/ReadStream",
      read.SerializeAsString());
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND)
      << missing.error_message();
  // An unknown method is still UNIMPLEMENTED.
  EXPECT_EQ(testing::CallWithBytes(server_.channel(),
                                   "/caseline.v1.EventLog/NoSuchMethod", "")
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

// Sending x-caseline-break-glass means breaking the glass: without a reason
// (empty or blank) it is refused, not read as "no override".
TEST_F(ServerE2eTest, BreakGlassWithoutAReasonIsInvalidArgument) {
  for (const char* reason : {"", "   "}) {
    grpc::ClientContext context;
    context.AddMetadata("x-caseline-org", "hospital");
    context.AddMetadata("x-caseline-break-glass", reason);
    v1::ReadStreamRequest read;
    read.set_stream_id("client-1");
    v1::ReadStreamResponse page;
    const grpc::Status status =
        server_.log()->ReadStream(&context, read, &page);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "\"" << reason << "\": " << status.error_message();
    EXPECT_EQ(status.error_message(),
              "x-caseline-break-glass: a reason is required (state the "
              "emergency)");
  }
  // Without the key the read goes on (the client has no stream).
  grpc::ClientContext context;
  context.AddMetadata("x-caseline-org", "hospital");
  v1::ReadStreamRequest read;
  read.set_stream_id("client-1");
  v1::ReadStreamResponse page;
  EXPECT_NE(server_.log()->ReadStream(&context, read, &page).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// AccessAudit's list pages like the views (at most 1000), refused beyond
// (the views' own cases are in views_e2e_test).
TEST_F(ServerE2eTest, BreakGlassListPageSizeAboveTheMaximumIsInvalidArgument) {
  auto audit = v1::AccessAudit::NewStub(server_.channel());
  v1::ListBreakGlassRequest request;
  request.set_page_size(5000);
  grpc::ClientContext context;
  v1::ListBreakGlassResponse response;
  const grpc::Status status =
      audit->ListBreakGlass(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_size: at most 1000"));
}

}  // namespace
}  // namespace caseline
