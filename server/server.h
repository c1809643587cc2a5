// CaselineServer: the event log, its gRPC services, health checking and
// reflection, wired together on one listening port. Used by caselined's main,
// by end-to-end tests (port 0) and by the benchmark.
#ifndef CASELINE_SERVER_SERVER_H_
#define CASELINE_SERVER_SERVER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "eventstore/event_log.h"
#include "cluster/cluster_options.h"
#include "server/fhir/fhir_options.h"
#include "projections/projection_engine.h"
#include "care/views_config.h"
#include "services/access_control.h"
#include "services/event_log_service.h"  // services::SubscriptionStats

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace caseline::server {

class Metrics;  // server/metrics.h

struct ServerOptions {
  // RocksDB directory. Default: ./data.
  std::string data_dir = "./data";
  // host:port to listen on; port 0 picks a free port. Default: 127.0.0.1:50051.
  std::string listen = "127.0.0.1:50051";
  eventstore::Limits limits;
  // RocksDB block cache. Default: 128 MiB.
  size_t block_cache_bytes = 128 << 20;
  // Windows and thresholds of the views (caselined --views_config).
  care::ViewsConfig views;
  // The projections' RocksDB directory. Default: <data_dir>/views.
  std::string views_dir;

  // Mutual TLS (docs/access.md): the server's certificate chain and key, and
  // the CA that issues organisation certificates, as PEM. All three or none.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  std::string client_ca_pem;
  // The organisations allowed and their roles (--access_config). Required
  // with TLS. Without TLS and without it: development mode.
  std::optional<services::AccessConfig> access;
  // Without TLS the server listens only on a host every address of which is
  // loopback (server/listen_address.h) unless this is set.
  bool insecure_non_loopback = false;
  // The time consents and views are judged at. Default: absl::Now.
  std::function<absl::Time()> clock;
  // Most EventLog.Subscribe calls one organisation may hold open; beyond it
  // Subscribe answers RESOURCE_EXHAUSTED. 0: no limit. Default: 100.
  size_t max_subscriptions_per_organization = 100;
  // host:port for the web console and its JSON API (server/http_console.h,
  // docs/console.md); port 0 picks a free port. Empty: no console. With TLS
  // (above) the console is HTTPS with the same certificate and client CA.
  std::string http_listen;
  // The FHIR R4 endpoint served with the console (docs/fhir.md). An empty
  // fhir.state_dir means <data_dir>/fhir.
  fhir::FhirOptions fhir;
  // Cluster mode (docs/cluster.md) when cluster.etcd_endpoints is set; the
  // peer channel then uses tls_cert_pem, tls_key_pem and client_ca_pem.
  cluster::ClusterOptions cluster;
  // How often grpc.health.v1.Health statuses are brought up to date
  // (server/health.h); clamped to 10 ms .. 1 min. Default: 1 s.
  absl::Duration health_interval = absl::Seconds(1);
  // The key that signs the log's head (caselined --signing_key;
  // docs/log_format.md "Signed heads"). Null: no signing; Admin.SignHead
  // and Admin.GetSigningKey answer FAILED_PRECONDITION. Default: null.
  std::shared_ptr<const eventstore::HeadSigner> head_signer;
  // With head_signer: how often the head is signed if it moved since the
  // last signed head kept (it is also checked once at start-up). Zero or
  // less: only at start-up and on request (Admin.SignHead). Default: 1 min.
  absl::Duration sign_head_interval = absl::Minutes(1);
  // The key-encryption key that wraps the clients' data keys (caselined
  // --kek_file; docs/log_format.md "Encrypted payloads"). Required to open a
  // log that holds data keys. Null: no encryption, and Admin.EraseClient
  // and Admin.RotateKeys answer FAILED_PRECONDITION. Default: null.
  std::shared_ptr<eventstore::KeyEncryptionKey> kek;
  // With kek: whether new events of client-<id> streams are encrypted
  // (caselined --encrypt_payloads). Events written encrypted stay readable
  // either way. In cluster mode every node needs the same KEK
  // (docs/cluster.md "Encryption"), and Admin.RotateKeys is refused.
  // Default: true.
  bool encrypt_payloads = true;
  // The rocksdb::Env of the event log's database (not owned; must outlive
  // the server). Default: RocksDB's. Tests pass a fault-injecting one.
  rocksdb::Env* env = nullptr;
};

class CaselineServer {
 public:
  // Opens the log and starts serving. INVALID_ARGUMENT for an incomplete TLS
  // set-up, TLS without an access config, or, without TLS and without
  // insecure_non_loopback, a listen host that does not resolve or resolves to
  // an address that is not loopback; FAILED_PRECONDITION when the data
  // directory is locked or too new, UNAVAILABLE when the
  // address cannot be bound, and the log's errors otherwise.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CaselineServer>> Start(
      ServerOptions options);

  // Calls Shutdown(absl::Seconds(10)) if it has not run.
  ~CaselineServer();

  // The bound address, e.g. "127.0.0.1:40123".
  std::string address() const;
  int port() const;
  // The console's bound address, e.g. "127.0.0.1:40124"; empty without one.
  std::string http_address() const;
  eventstore::EventLog& event_log();
  projections::ProjectionEngine& projections();
  // EventLog.Subscribe's counters: open and parked subscriptions, the events
  // they hold, the threads they share (services/subscription_hub.h).
  services::SubscriptionStats subscription_stats() const;
  // The Prometheus metrics served as GET /metrics with the console
  // (server/metrics.h, docs/metrics.md); there whether or not a console is.
  Metrics& metrics();

  // Stops accepting calls, ends subscriptions, lets in-flight calls (appends
  // included) finish for up to `grace`, cancels the rest, then stops the
  // projections and closes the view store and the log.
  // Idempotent; thread-safe.
  void Shutdown(absl::Duration grace);

 private:
  class Impl;
  explicit CaselineServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace caseline::server

#endif  // CASELINE_SERVER_SERVER_H_
