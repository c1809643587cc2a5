// A care network for the access tests (docs/access.md): a server with an
// access config, its agencies registered by themselves, an auditor and an
// admin, reached over loopback (x-caseline-org) or mutual TLS (one client
// certificate per organisation), and the calls the tests make as one
// organisation or another. Used by access_e2e_test and the write-access tests.
#ifndef CASELINE_TESTS_ACCESS_UTIL_H_
#define CASELINE_TESTS_ACCESS_UTIL_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "absl/time/time.h"
#include "caseline/v1/access.grpc.pb.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/care_record.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "base/read_file.h"
#include "tests/test_util.h"
#include "tools/cli_command.h"

namespace caseline::testing {

// Every AccessNetwork has these two besides its agencies.
inline constexpr char kAuditor[] = "privacy-office";
inline constexpr char kAdmin[] = "network-ops";

// How callers reach the server.
enum class Transport {
  // No TLS, identity from x-caseline-org, roles from the access config.
  kLoopback,
  // Mutual TLS: each organisation presents its own certificate from
  // AccessNetworkOptions::certs_dir; x-caseline-org is still sent (and must
  // be ignored by the server).
  kMutualTls,
};

inline void PrintTo(Transport transport, std::ostream* os) {
  *os << (transport == Transport::kLoopback ? "loopback" : "mutual TLS");
}

struct AccessNetworkOptions {
  // Agencies: id -> type; each registers itself in the directory.
  std::map<std::string, v1::OrganizationType> agencies;
  // More organisations of the access config that are not registered (e.g.
  // an agency missing from the directory). kAuditor (auditor) and kAdmin
  // (admin) are always added.
  std::map<std::string, uint8_t> unregistered_roles;
  // The event log's rocksdb::Env (default: RocksDB's).
  rocksdb::Env* env = nullptr;
  Transport transport = Transport::kLoopback;
  // Also serve the HTTP console (server/http_console.h) on a free port.
  bool http_console = false;
  // kMutualTls: a directory made by deploy/make-dev-certs.sh (ca.pem,
  // server.pem, server.key, and <org>.pem, <org>.key for every organisation).
  std::string certs_dir;
  // Changes the server's options last, e.g. the FHIR endpoint's.
  std::function<void(server::ServerOptions&)> configure;
};

// The provenance every new consent needs (docs/access.md, "Consent
// provenance"): a signed form, with its document id and SHA-256.
inline void SetProvenance(v1::ConsentGiven* consent,
                          const std::string& document_id = "consent-form.pdf") {
  consent->set_method(v1::CONSENT_METHOD_SIGNED_FORM);
  consent->mutable_document()->set_document_id(document_id);
  consent->mutable_document()->set_sha256(
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

// The same as JSON fields of a ConsentGiven.
inline nlohmann::json WithProvenance(nlohmann::json consent) {
  consent["method"] = "CONSENT_METHOD_SIGNED_FORM";
  consent["document"] = {
      {"document_id", "consent-form.pdf"},
      {"sha256",
       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}};
  return consent;
}

class AccessNetwork {
 public:
  // Agencies `orgs` (id -> type) over loopback; `env`: the event log's
  // rocksdb::Env (default: RocksDB's).
  explicit AccessNetwork(
      const std::map<std::string, v1::OrganizationType>& orgs,
      rocksdb::Env* env = nullptr)
      : AccessNetwork([&] {
          AccessNetworkOptions options;
          options.agencies = orgs;
          options.env = env;
          return options;
        }()) {}

  explicit AccessNetwork(AccessNetworkOptions options)
      : dir_("access_e2e"), options_(std::move(options)) {
    services::AccessConfig config;
    for (const auto& [id, type] : options_.agencies) {
      config.roles[id] = services::kAgency;
    }
    for (const auto& [id, roles] : options_.unregistered_roles) {
      config.roles[id] = roles;
    }
    config.roles[kAuditor] = services::kAuditor;
    config.roles[kAdmin] = services::kAdmin;
    auto started = StartLoopbackServer(
        dir_.path(), [&](server::ServerOptions& server_options) {
          server_options.access = config;
          server_options.env = options_.env;
          if (options_.http_console) server_options.http_listen = "127.0.0.1:0";
          if (options_.transport == Transport::kMutualTls) {
            server_options.tls_cert_pem = Pem("server.pem");
            server_options.tls_key_pem = Pem("server.key");
            server_options.client_ca_pem = Pem("ca.pem");
          }
          if (options_.configure) options_.configure(server_options);
        });
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return;
    server_ = *std::move(started);
    if (options_.transport == Transport::kLoopback) {
      loopback_ = grpc::CreateChannel(server_->address(),
                                      grpc::InsecureChannelCredentials());
      log_ = v1::EventLog::NewStub(loopback_);
      continuity_ = v1::ContinuityViews::NewStub(loopback_);
      audit_ = v1::AuditViews::NewStub(loopback_);
      access_audit_ = v1::AccessAudit::NewStub(loopback_);
    }
    for (const auto& [id, type] : options_.agencies) {
      v1::CareEvent e;
      v1::OrganizationRegistered* registered =
          e.mutable_organization_registered();
      registered->set_organization_id(id);
      registered->set_name(absl::StrCat("Organisation ", id));
      registered->set_type(type);
      const grpc::Status status = Send(id, "", e);
      EXPECT_TRUE(status.ok()) << id << ": " << status.error_message();
    }
  }

  bool ok() const { return server_ != nullptr; }
  server::CaselineServer& server() { return *server_; }
  Transport transport() const { return options_.transport; }
  const std::map<std::string, v1::OrganizationType>& orgs() const {
    return options_.agencies;
  }

  // The channel `org` calls on: the shared loopback channel, or one
  // presenting `org`'s certificate.
  std::shared_ptr<grpc::Channel> channel(const std::string& org) {
    if (options_.transport == Transport::kLoopback) return loopback_;
    MutexLock lock(&mu_);
    std::shared_ptr<grpc::Channel>& channel = tls_channels_[org];
    if (channel == nullptr) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = Pem("ca.pem");
      ssl.pem_cert_chain = Pem(absl::StrCat(org, ".pem"));
      ssl.pem_private_key = Pem(absl::StrCat(org, ".key"));
      // By IP: the server certificate names 127.0.0.1, and no DNS lookup.
      channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                    grpc::SslCredentials(ssl));
    }
    return channel;
  }

  // Sends the care-record command for `event` about `client` as `org`, with
  // a new command id, at business time `occurred_at` (default: now);
  // `result` (optional) gets the CommandResult.
  grpc::Status Send(const std::string& org, const std::string& client,
                    const v1::CareEvent& event,
                    v1::CommandResult* result = nullptr,
                    std::optional<absl::Time> occurred_at = std::nullopt) {
    v1::CommandResult ignored;
    google::protobuf::Timestamp at;
    if (occurred_at.has_value()) {
      at.set_seconds(absl::ToUnixSeconds(*occurred_at));
    }
    return SendCareEvent(channel(org), org, absl::StrCat(org, "-worker"),
                         absl::StrCat("cmd-", next_command_++), client, event,
                         result != nullptr ? result : &ignored,
                         occurred_at.has_value() ? &at : nullptr);
  }

  // Runs a care-record command given as JSON ("Service.Method") as `org`;
  // fails the test when refused (check with ASSERT_NO_FATAL_FAILURE or
  // HasFatalFailure).
  void Command(const std::string& org, const std::string& method,
               const std::string& client_id, nlohmann::json body) {
    body["command_id"] = absl::StrCat("cmd-", next_command_++);
    if (!client_id.empty()) body["client_id"] = client_id;
    absl::StatusOr<tools::PreparedCommand> command =
        tools::PrepareCommand(method, body.dump());
    ASSERT_TRUE(command.ok()) << command.status() << " " << body.dump();
    absl::StatusOr<std::string> result = tools::SendCommand(
        channel(org), *command, org, "tester", absl::Seconds(30));
    ASSERT_TRUE(result.ok())
        << method << " as " << org << ": " << result.status() << "\n"
        << body.dump();
  }

  // A context acting as `org` for `purpose` (empty: the default), optionally
  // breaking the glass.
  static void Act(grpc::ClientContext* context, const std::string& org,
                  const std::string& purpose = "",
                  const std::string& break_glass = "") {
    context->AddMetadata("x-caseline-org", org);
    context->AddMetadata("x-caseline-user", absl::StrCat(org, "-worker"));
    if (!purpose.empty()) context->AddMetadata("x-caseline-purpose", purpose);
    if (!break_glass.empty()) {
      context->AddMetadata("x-caseline-break-glass", break_glass);
    }
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
  }

  grpc::Status ReadStream(const std::string& org, const std::string& stream,
                          v1::ReadStreamResponse* response,
                          const std::string& purpose = "",
                          const std::string& break_glass = "") {
    grpc::ClientContext context;
    Act(&context, org, purpose, break_glass);
    v1::ReadStreamRequest request;
    request.set_stream_id(stream);
    request.set_max_count(1000);
    return v1::EventLog::NewStub(channel(org))
        ->ReadStream(&context, request, response);
  }

  grpc::Status Summary(const std::string& org, const std::string& client,
                       v1::GetClientSummaryResponse* response) {
    grpc::ClientContext context;
    Act(&context, org);
    v1::GetClientSummaryRequest request;
    request.set_client_id(client);
    return v1::ContinuityViews::NewStub(channel(org))
        ->GetClientSummary(&context, request, response);
  }

  // Every timeline entry of the client, as `org`.
  grpc::Status Timeline(const std::string& org, const std::string& client,
                        std::vector<v1::TimelineEntry>* entries,
                        const std::string& purpose = "") {
    auto audit = v1::AuditViews::NewStub(channel(org));
    v1::GetTimelineRequest request;
    request.set_client_id(client);
    request.set_page_size(1000);
    while (true) {
      grpc::ClientContext context;
      Act(&context, org, purpose);
      v1::GetTimelineResponse page;
      grpc::Status status = audit->GetTimeline(&context, request, &page);
      if (!status.ok()) return status;
      for (auto& e : *page.mutable_entries()) entries->push_back(std::move(e));
      if (page.next_page_token().empty()) return status;
      request.set_page_token(page.next_page_token());
    }
  }

  // Loopback only: stubs on the shared channel (act with Act()).
  v1::EventLog::Stub* log() { return log_.get(); }
  v1::ContinuityViews::Stub* continuity() { return continuity_.get(); }
  v1::AuditViews::Stub* audit() { return audit_.get(); }
  v1::AccessAudit::Stub* access_audit() { return access_audit_.get(); }

 private:
  std::string Pem(const std::string& name) const {
    absl::StatusOr<std::string> pem = caseline::ReadFileNamedBy(
        "certificate", absl::StrCat(options_.certs_dir, "/", name));
    EXPECT_TRUE(pem.ok()) << pem.status();
    return pem.ok() ? *pem : "";
  }

  ScratchDir dir_;
  AccessNetworkOptions options_;
  std::unique_ptr<server::CaselineServer> server_;
  std::shared_ptr<grpc::Channel> loopback_;
  std::unique_ptr<v1::EventLog::Stub> log_;
  std::unique_ptr<v1::ContinuityViews::Stub> continuity_;
  std::unique_ptr<v1::AuditViews::Stub> audit_;
  std::unique_ptr<v1::AccessAudit::Stub> access_audit_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> tls_channels_
      ABSL_GUARDED_BY(mu_);
  std::atomic<int> next_command_{0};
};

}  // namespace caseline::testing

#endif  // CASELINE_TESTS_ACCESS_UTIL_H_
