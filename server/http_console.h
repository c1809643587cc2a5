// HttpConsole: the planners' and auditors' web console and the JSON API
// behind it (docs/console.md), served by caselined beside gRPC
// (--http_listen).
//
// It holds no rules of its own. It learns who calls (the client certificate
// and the headers an organisation vouches for, with TLS; a signed-in
// session from the organisation/person picker, without), asks the one
// services::Authenticator whether that identity may call, and makes every
// API call as a gRPC call on the server's in-process channel, carrying that
// identity, so the services apply the same access rules, consent gating and
// access records as for any gRPC caller. Errors are JSON:
// {"code": "<gRPC code name>", "message": "..."}.
//
// Pages and assets are embedded in the binary at build time (server/console/
// and Debian's libjs-bootstrap5 and libjs-chart.js); nothing is fetched from
// another origin, and a strict Content-Security-Policy says so to the
// browser. Every POST needs the session's CSRF token (X-CSRF-Token) and a
// JSON body.
//
// Thread-safe.
#ifndef CASELINE_SERVER_HTTP_CONSOLE_H_
#define CASELINE_SERVER_HTTP_CONSOLE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "projections/client_record_store.h"
#include "server/fhir/fhir_endpoint.h"
#include "services/access_control.h"

namespace caseline::server {

class Metrics;  // server/metrics.h

struct HttpConsoleOptions {
  // host:port; port 0 picks a free port.
  std::string listen;
  // The server's certificate chain and key (PEM): HTTPS, with client
  // certificates checked by the Authenticator's client CA. Both or neither.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Without TLS the console listens only on a loopback host unless set.
  bool insecure_non_loopback = false;
  // A signed-in session (without TLS) ends after this long unused.
  // Default: 12 hours, a shift.
  absl::Duration session_idle = absl::Hours(12);
  // Most open live-update streams (GET /api/v1/events) at once; beyond it
  // the answer is 429 RESOURCE_EXHAUSTED. Each holds one of the console's
  // threads. Default: 32.
  size_t max_event_streams = 32;
  // How often an open event stream sends a checkpoint (and so notices a
  // browser that went away). Default: 15 s.
  absl::Duration event_checkpoint_interval = absl::Seconds(15);
  // The FHIR R4 endpoint served under /fhir/r4 (docs/fhir.md).
  fhir::FhirOptions fhir;
  // Served as GET /metrics when set (docs/metrics.md): to anyone who can
  // reach the listener without TLS (loopback unless insecure_non_loopback),
  // to a client certificate the client CA issued with TLS. Not owned; must
  // outlive the console. Default: none.
  Metrics* metrics = nullptr;
};

class HttpConsole {
 public:
  // Starts serving. `authenticator`, `log` and `records` are not owned and
  // must outlive the console; `channel` is the gRPC server's in-process
  // channel. The log's erasures withdraw the FHIR Bulk exports that hold
  // the erased client (docs/fhir.md "Bulk export").
  // INVALID_ARGUMENT for a malformed listen address, half a TLS set-up, TLS
  // without the Authenticator's client CA, or a non-loopback host without
  // TLS; UNAVAILABLE when the address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpConsole>> Start(
      HttpConsoleOptions options, const services::Authenticator* authenticator,
      eventstore::EventLog* log, projections::ClientRecordStore* records,
      std::shared_ptr<grpc::Channel> channel);

  // Calls Stop().
  ~HttpConsole();

  // The bound address, e.g. "127.0.0.1:40123".
  std::string address() const;

  // Ends the open event streams, then stops serving (waits for the
  // requests in flight). Idempotent; thread-safe.
  void Stop();

 private:
  class Impl;
  explicit HttpConsole(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace caseline::server

#endif  // CASELINE_SERVER_HTTP_CONSOLE_H_
