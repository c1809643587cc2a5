#include "tools/cli_connection.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"

namespace caseline::tools {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& flag,
                                    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", flag, " ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

void AddConnectionFlags(CLI::App& app, ConnectionOptions* options) {
  app.add_option("--server", options->server, "caselined address, host:port");
  app.add_option("--timeout", options->timeout_seconds,
                 "seconds before a call gives up");
  app.add_option("--tls-ca", options->tls_ca_file,
                 "PEM CA certificate that signed the server's certificate "
                 "(mutual TLS; with --tls-cert and --tls-key)");
  app.add_option("--tls-cert", options->tls_cert_file,
                 "PEM certificate of your organisation (SAN URI "
                 "caseline:org:<id>)");
  app.add_option("--tls-key", options->tls_key_file,
                 "PEM private key of that certificate");
  app.add_option("--as-org", options->organization,
                 "the calling organisation, sent as x-caseline-org (servers "
                 "without TLS only; with TLS the certificate says it)");
  app.add_option("--as-user", options->user,
                 "the acting person, sent as x-caseline-user");
  app.add_option("--discipline", options->discipline,
                 "the acting person's discipline, e.g. SOCIAL_WORK "
                 "(x-caseline-discipline)");
  app.add_option("--purpose", options->purpose,
                 "purpose of use, e.g. TREATMENT; default CARE_COORDINATION "
                 "(x-caseline-purpose)");
  app.add_option("--break-glass", options->break_glass,
                 "EMERGENCY ONLY: the emergency that justifies reading without "
                 "consent; recorded and reviewed by auditors "
                 "(x-caseline-break-glass)");
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(
    const ConnectionOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  const bool any = !options.tls_ca_file.empty() ||
                   !options.tls_cert_file.empty() ||
                   !options.tls_key_file.empty();
  if (!any) {
    return grpc::CreateCustomChannel(
        options.server, grpc::InsecureChannelCredentials(), args);
  }
  if (options.tls_ca_file.empty() || options.tls_cert_file.empty() ||
      options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-ca, --tls-cert and --tls-key go together: pass all three "
        "(deploy/make-dev-certs.sh makes them)");
  }
  grpc::SslCredentialsOptions ssl;
  auto ca = ReadPem("--tls-ca", options.tls_ca_file);
  if (!ca.ok()) return ca.status();
  auto cert = ReadPem("--tls-cert", options.tls_cert_file);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("--tls-key", options.tls_key_file);
  if (!key.ok()) return key.status();
  ssl.pem_root_certs = *std::move(ca);
  ssl.pem_cert_chain = *std::move(cert);
  ssl.pem_private_key = *std::move(key);
  return grpc::CreateCustomChannel(options.server,
                                   grpc::SslCredentials(ssl), args);
}

void PrepareContext(const ConnectionOptions& options,
                    grpc::ClientContext* context, bool with_deadline) {
  if (with_deadline) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(
                              options.timeout_seconds * 1000)));
  }
  if (!options.organization.empty() && !options.tls()) {
    context->AddMetadata("x-caseline-org", options.organization);
  }
  if (!options.user.empty()) context->AddMetadata("x-caseline-user", options.user);
  if (!options.discipline.empty()) {
    context->AddMetadata("x-caseline-discipline", options.discipline);
  }
  if (!options.purpose.empty()) {
    context->AddMetadata("x-caseline-purpose", options.purpose);
  }
  if (!options.break_glass.empty()) {
    context->AddMetadata("x-caseline-break-glass", options.break_glass);
  }
}

}  // namespace caseline::tools
