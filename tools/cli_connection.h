// How the caseline CLI reaches caselined: the address, the deadline, mutual
// TLS with an organisation certificate, and the identity metadata
// (proto/caseline/v1/access.proto).
#ifndef CASELINE_TOOLS_CLI_CONNECTION_H_
#define CASELINE_TOOLS_CLI_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace CLI {
class App;
}

namespace caseline::tools {

struct ConnectionOptions {
  std::string server = "127.0.0.1:50051";
  double timeout_seconds = 30;
  // Mutual TLS: all three, or none (plaintext to a loopback server).
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // Metadata. The organisation is sent only without TLS (with TLS the
  // certificate names it).
  std::string organization;
  std::string user;
  std::string discipline;
  std::string purpose;
  std::string break_glass;

  bool tls() const { return !tls_ca_file.empty(); }
};

// --server, --timeout, --tls-ca, --tls-cert, --tls-key, --as-org, --as-user,
// --discipline, --purpose, --break-glass.
void AddConnectionFlags(CLI::App& app, ConnectionOptions* options);

// INVALID_ARGUMENT for half a TLS set-up; NOT_FOUND for an unreadable file.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(
    const ConnectionOptions& options);

// Sets the identity metadata on a call, and its deadline unless
// `with_deadline` is false (subscriptions).
void PrepareContext(const ConnectionOptions& options,
                    grpc::ClientContext* context, bool with_deadline = true);

}  // namespace caseline::tools

#endif  // CASELINE_TOOLS_CLI_CONNECTION_H_
