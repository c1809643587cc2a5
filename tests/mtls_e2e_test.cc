// Mutual TLS end to end, with certificates made by deploy/make-dev-certs.sh:
// the organisation comes from the client certificate, never from what the
// caller claims; no certificate, one from an unknown CA, or an organisation
// the access config does not list is refused.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"
#include "tools/cli_command.h"

namespace caseline {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class MtlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScratchDir("mtls_certs");
    const std::string script =
        absl::StrCat(CASELINE_SOURCE_DIR, "/deploy/make-dev-certs.sh");
    // The network's CA: two agencies, an auditor, and one organisation the
    // access config will not list.
    ASSERT_EQ(std::system(absl::StrCat("bash ", script, " ", dir_->path(),
                                       "/ca org-a org-b auditor-office "
                                       "org-unlisted > /dev/null")
                              .c_str()),
              0);
    // Another CA, which the server does not trust, issuing "org-a" too.
    ASSERT_EQ(std::system(absl::StrCat("bash ", script, " ", dir_->path(),
                                       "/rogue org-a > /dev/null")
                              .c_str()),
              0);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    const std::string ca = absl::StrCat(dir_->path(), "/ca/");
    services::AccessConfig access;
    access.roles["org-a"] = services::kAgency;
    access.roles["org-b"] = services::kAgency;
    access.roles["auditor-office"] = services::kAuditor;
    auto started = testing::StartLoopbackServer(
        data_.path(), [&](server::ServerOptions& options) {
          options.tls_cert_pem = ReadFile(ca + "server.pem");
          options.tls_key_pem = ReadFile(ca + "server.key");
          options.client_ca_pem = ReadFile(ca + "ca.pem");
          options.access = access;
        });
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = *std::move(started);
  }

  // A channel to the server presenting `org`'s certificate from `issuer`
  // ("ca" or "rogue"); no certificate when org is empty.
  std::shared_ptr<grpc::Channel> Channel(const std::string& org,
                                         const std::string& issuer = "ca") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(absl::StrCat(dir_->path(), "/ca/ca.pem"));
    if (!org.empty()) {
      const std::string base = absl::StrCat(dir_->path(), "/", issuer, "/", org);
      ssl.pem_cert_chain = ReadFile(base + ".pem");
      ssl.pem_private_key = ReadFile(base + ".key");
    }
    // By IP: the server certificate names 127.0.0.1 too, and no DNS lookup
    // (c-ares) is needed.
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                               grpc::SslCredentials(ssl));
  }

  // Runs a command over `channel`, claiming `claimed_org` in metadata.
  absl::StatusOr<std::string> Command(std::shared_ptr<grpc::Channel> channel,
                                      const std::string& method,
                                      const std::string& json,
                                      const std::string& claimed_org = "") {
    absl::StatusOr<tools::PreparedCommand> command =
        tools::PrepareCommand(method, json);
    if (!command.ok()) return command.status();
    return tools::SendCommand(channel, *command, claimed_org, "tester",
                              absl::Seconds(30));
  }

  grpc::Status ReadOrganizations(std::shared_ptr<grpc::Channel> channel) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    v1::ReadStreamRequest request;
    request.set_stream_id("organizations");
    v1::ReadStreamResponse page;
    grpc::Status status =
        v1::EventLog::NewStub(channel)->ReadStream(&context, request, &page);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      return grpc::Status::OK;  // allowed; nothing registered yet
    }
    return status;
  }

  static testing::ScratchDir* dir_;
  testing::ScratchDir data_{"mtls_data"};
  std::unique_ptr<server::CaselineServer> server_;
};

testing::ScratchDir* MtlsTest::dir_ = nullptr;

TEST_F(MtlsTest, ValidCertificateWorksAndItsOrganisationIsTheActor) {
  auto org_a = Channel("org-a");
  ASSERT_TRUE(Command(org_a, "Organizations.RegisterOrganization",
                      R"({"command_id":"o1","organization_registered":{
                          "organization_id":"org-a","name":"A",
                          "type":"ORGANIZATION_TYPE_HOSPITAL"}})")
                  .ok());
  ASSERT_TRUE(Command(Channel("org-b"), "Organizations.RegisterOrganization",
                      R"({"command_id":"o1","organization_registered":{
                          "organization_id":"org-b","name":"B",
                          "type":"ORGANIZATION_TYPE_HOUSING"}})")
                  .ok());
  // org-a claims to be org-b in metadata: the certificate wins.
  absl::StatusOr<std::string> registered = Command(
      org_a, "Clients.RegisterClient",
      R"({"command_id":"c1","client_id":"m1","client_registered":{"name":{"family":"Ng"}}})",
      "org-b");
  ASSERT_TRUE(registered.ok()) << registered.status();

  grpc::ClientContext context;
  context.AddMetadata("x-caseline-org", "org-b");
  v1::ReadStreamRequest request;
  request.set_stream_id("client-m1");
  v1::ReadStreamResponse page;
  ASSERT_TRUE(v1::EventLog::NewStub(Channel("auditor-office"))
                  ->ReadStream(&context, request, &page)
                  .ok());
  ASSERT_EQ(page.events_size(), 1);
  EXPECT_EQ(page.events(0).actor().organization_id(), "org-a");
  EXPECT_EQ(page.events(0).actor().user_id(), "tester");

  // org-b, not involved, cannot read m1 however it dresses its metadata.
  grpc::ClientContext spoofed;
  spoofed.AddMetadata("x-caseline-org", "org-a");
  v1::ReadStreamResponse denied;
  EXPECT_EQ(v1::EventLog::NewStub(Channel("org-b"))
                ->ReadStream(&spoofed, request, &denied)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(MtlsTest, NoCertificateIsUnauthenticated) {
  const grpc::Status status = ReadOrganizations(Channel(""));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("no client certificate"));
}

TEST_F(MtlsTest, CertificateFromAnUnknownCaIsUnauthenticated) {
  const grpc::Status status = ReadOrganizations(Channel("org-a", "rogue"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("--client_ca"));
}

TEST_F(MtlsTest, OrganisationMissingFromTheAccessConfigIsPermissionDenied) {
  const grpc::Status status = ReadOrganizations(Channel("org-unlisted"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("org-unlisted"));
}

TEST(ServerSecurityOptionsTest, RefusesUnsafeOrIncompleteSetUps) {
  testing::ScratchDir data("mtls_options");
  auto start = [&](const std::function<void(server::ServerOptions&)>& f) {
    return testing::StartLoopbackServer(data.path(), f).status();
  };
  absl::Status s = start([](server::ServerOptions& o) {
    o.tls_cert_pem = "x";
    o.tls_key_pem = "y";
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--client_ca"));
  s = start([](server::ServerOptions& o) {
    o.tls_cert_pem = "x";
    o.tls_key_pem = "y";
    o.client_ca_pem = "z";
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--access_config"));
  s = start([](server::ServerOptions& o) { o.listen = "0.0.0.0:0"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--insecure_non_loopback"));
  auto allowed = testing::StartLoopbackServer(
      data.path(), [](server::ServerOptions& o) {
        o.listen = "0.0.0.0:0";
        o.insecure_non_loopback = true;
      });
  EXPECT_TRUE(allowed.ok()) << allowed.status();
}

}  // namespace
}  // namespace caseline
