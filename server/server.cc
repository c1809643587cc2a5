#include "server/server.h"

#include <utility>

#include "absl/base/call_once.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "services/admin_service.h"
#include "services/care_command_handler.h"
#include "services/care_record_service.h"
#include "services/event_log_service.h"
#include "services/unparsed_request.h"
#include "services/views_service.h"
#include "eventstore/view_store.h"
#include "google/protobuf/stubs/logging.h"
#include "projections/access_projection.h"
#include "projections/client_record_store.h"
#include "projections/continuity_projection.h"
#include "projections/duplication_projection.h"
#include "cluster/cluster_log.h"
#include "server/head_signing.h"
#include "server/health.h"
#include "server/http_console.h"
#include "server/listen_address.h"
#include "server/metrics.h"
#include "spdlog/spdlog.h"

namespace caseline::server {
namespace {

// Every projection the server runs (docs/views.md).
// `records` (not owned) loads the client records a projection does not hold.
std::vector<projections::ProjectionDef> ProjectionDefs(
    const care::ViewsConfig& config, projections::ClientRecordStore* records) {
  std::vector<projections::ProjectionDef> defs;
  defs.push_back({std::string(projections::kContinuityProjectionName),
                  [config, records](const projections::ProjectionInit& init) {
                    return std::make_unique<projections::ContinuityProjection>(
                        init, config, records);
                  }});
  defs.push_back({std::string(projections::kDuplicationProjectionName),
                  [config, records](const projections::ProjectionInit& init) {
                    return std::make_unique<projections::DuplicationProjection>(
                        init, config, records);
                  }});
  defs.push_back({std::string(projections::kAccessProjectionName),
                  [](const projections::ProjectionInit&) {
                    return std::make_unique<projections::AccessProjection>();
                  }});
  return defs;
}

// The checks of ServerOptions made before anything is opened. Without TLS,
// resolves `host` (CheckLoopbackHost).
absl::Status CheckSecurityOptions(const ServerOptions& options,
                                  absl::string_view host) {
  const bool any_tls = !options.tls_cert_pem.empty() ||
                       !options.tls_key_pem.empty() ||
                       !options.client_ca_pem.empty();
  if (any_tls) {
    for (const auto& [value, flag] :
         {std::pair{&options.tls_cert_pem, "--tls_cert"},
          std::pair{&options.tls_key_pem, "--tls_key"},
          std::pair{&options.client_ca_pem, "--client_ca"}}) {
      if (value->empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            flag, " is missing: mutual TLS needs --tls_cert, --tls_key and "
            "--client_ca together (deploy/make-dev-certs.sh makes a set)"));
      }
    }
    if (!options.access.has_value()) {
      return absl::InvalidArgumentError(
          "--access_config is required with TLS: it lists the organisations "
          "allowed and their roles (docs/access.md)");
    }
    return absl::OkStatus();
  }
  if (absl::Status loopback = CheckLoopbackHost(host); !loopback.ok()) {
    if (!options.insecure_non_loopback) {
      return absl::InvalidArgumentError(absl::StrCat(
          loopback.message(),
          "; without TLS anyone who can reach it could act as any "
          "organisation: pass --tls_cert, --tls_key, --client_ca and "
          "--access_config, or listen on 127.0.0.1 (or, knowingly, "
          "--insecure_non_loopback)"));
    }
    spdlog::warn(
        "serving WITHOUT TLS on non-loopback {}: callers name their own "
        "organisation (x-caseline-org); use only on a trusted network",
        std::string(host));
  }
  return absl::OkStatus();
}

// libprotobuf's line for a request whose string field is not UTF-8 ("String
// field ... contains invalid UTF-8 data when parsing a protocol buffer"):
// logged at ERROR, once per such request and before authentication, so any
// caller could fill the log with it. The caller is answered INVALID_ARGUMENT
// (services/unparsed_request.h); the line goes to the debug log. Every other
// libprotobuf line goes where it went before.
google::protobuf::LogHandler* previous_protobuf_log_handler = nullptr;

void FilterProtobufLog(google::protobuf::LogLevel level, const char* filename,
                       int line, const std::string& message) {
  if (absl::StrContains(message, "invalid UTF-8 data when parsing")) {
    spdlog::debug("libprotobuf: {}", message);
    return;
  }
  if (previous_protobuf_log_handler != nullptr) {
    previous_protobuf_log_handler(level, filename, line, message);
  }
}

// Once per process, before the first server starts (SetLogHandler is not
// thread-safe).
void InstallProtobufLogFilter() {
  static absl::once_flag once;
  absl::call_once(once, [] {
    previous_protobuf_log_handler =
        google::protobuf::SetLogHandler(&FilterProtobufLog);
  });
}

// The EventLog service's options from the server's.
services::EventLogServiceOptions EventLogOptionsOf(
    const ServerOptions& options) {
  services::EventLogServiceOptions out;
  out.max_subscriptions_per_organization =
      options.max_subscriptions_per_organization;
  return out;
}

}  // namespace

absl::AnyInvocable<absl::Time() const> ClockOf(const ServerOptions& options) {
  if (!options.clock) return nullptr;
  return [clock = options.clock]() { return clock(); };
}

class CaselineServer::Impl {
 public:
  Impl(std::unique_ptr<Metrics> metrics,
       std::unique_ptr<eventstore::EventLog> log,
       std::unique_ptr<projections::ClientRecordStore> records,
       std::unique_ptr<eventstore::ViewStore> store,
       std::unique_ptr<projections::ProjectionEngine> engine,
       std::unique_ptr<services::Authenticator> authenticator,
       const ServerOptions& options, std::string host)
      : metrics_(std::move(metrics)),
        kek_(options.kek),
        log_(std::move(log)),
        records_(std::move(records)),
        store_(std::move(store)),
        engine_(std::move(engine)),
        authenticator_(std::move(authenticator)),
        access_(log_.get(), records_.get(), authenticator_.get(),
                ClockOf(options)),
        views_{log_.get(), records_.get(), engine_.get(), options.views,
               &access_, ClockOf(options)},
        service_(log_.get(), &access_, EventLogOptionsOf(options)),
        head_signer_(options.head_signer),
        admin_(log_.get(), &access_, head_signer_.get(), kek_.get(),
               options.cluster.enabled() ? cluster::kKeyRotationRefused
                                         : ""),
        care_handler_(log_.get(), records_.get(), ClockOf(options)),
        runner_{&care_handler_, &access_},
        care_services_(&runner_),
        view_services_(&views_),
        host_(std::move(host)) {}

  absl::Status Listen(const ServerOptions& options) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    std::shared_ptr<grpc::ServerCredentials> credentials;
    if (!options.tls_cert_pem.empty()) {
      grpc::SslServerCredentialsOptions ssl;
      ssl.pem_key_cert_pairs.push_back(
          {options.tls_key_pem, options.tls_cert_pem});
      ssl.pem_root_certs = options.client_ca_pem;
      // The certificate is checked in the services (Authenticator), so that
      // a missing or untrusted one gets UNAUTHENTICATED with a reason rather
      // than a failed handshake the caller cannot tell from a network error.
      // The handshake still proves the caller holds the certificate's key.
      ssl.client_certificate_request =
          GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY;
      credentials = grpc::SslServerCredentials(ssl);
    } else {
      credentials = grpc::InsecureServerCredentials();
    }
    builder.AddListeningPort(options.listen, credentials, &port_);
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(services::NewUnparsedRequestInterceptorFactory());
    // After it: counts the status it sets (send hooks run in this order).
    interceptors.push_back(metrics_->NewRefusalInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    builder.RegisterService(&service_);
    builder.RegisterService(&admin_);
    for (grpc::Service* service : care_services_.services()) {
      builder.RegisterService(service);
    }
    for (grpc::Service* service : view_services_.services()) {
      builder.RegisterService(service);
    }
    // An append of max_events_per_append events of max_payload_bytes, plus
    // envelopes, must fit in one message.
    const size_t max_message = std::min<size_t>(
        INT32_MAX, options.limits.max_append_bytes * 2 + (4 << 20));
    builder.SetMaxReceiveMessageSize(static_cast<int>(max_message));
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.listen,
                       ": the address is malformed, not local, or in use; pass "
                       "another --listen"));
    }
    metrics_->SetSources(MetricsSourcesOf());
    if (!options.http_listen.empty()) {
      HttpConsoleOptions console;
      console.metrics = metrics_.get();
      console.listen = options.http_listen;
      console.tls_cert_pem = options.tls_cert_pem;
      console.tls_key_pem = options.tls_key_pem;
      console.insecure_non_loopback = options.insecure_non_loopback;
      console.fhir = options.fhir;
      if (console.fhir.state_dir.empty()) {
        console.fhir.state_dir = absl::StrCat(options.data_dir, "/fhir");
      }
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(-1);
      absl::StatusOr<std::unique_ptr<HttpConsole>> started =
          HttpConsole::Start(std::move(console), authenticator_.get(),
                             log_.get(),
                             records_.get(), server_->InProcessChannel(args));
      if (!started.ok()) {
        server_->Shutdown();
        server_->Wait();
        return started.status();
      }
      console_ = *std::move(started);
    }
    if (grpc::HealthCheckServiceInterface* health =
            server_->GetHealthCheckService();
        health != nullptr) {
      health_ = std::make_unique<HealthReporter>(
          log_.get(), engine_.get(), health, options.health_interval);
    }
    if (head_signer_ != nullptr) {
      head_signing_ = std::make_unique<HeadSigningLoop>(
          log_.get(), head_signer_.get(), options.sign_head_interval);
    }
    return absl::OkStatus();
  }

  void Shutdown(absl::Duration grace) {
    MutexLock lock(&mu_);
    if (log_ == nullptr) return;
    health_.reset();  // before the server, whose health service it updates
    head_signing_.reset();  // signs in the log
    // Before the server: its calls go to the server's in-process channel.
    if (console_ != nullptr) console_->Stop();
    // They read what is closed below.
    metrics_->SetSources({});
    metrics_->SetNodeState(nullptr);
    service_.BeginShutdown();
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoSeconds(grace));
    server_->Wait();
    service_.Stop();  // its subscription threads follow the log's head
    engine_->Stop();
    store_.reset();
    records_.reset();  // no caller is left: the server and engine stopped
    log_.reset();  // completes queued appends, then closes RocksDB
  }

  std::string address() const { return absl::StrCat(host_, ":", port_); }
  int port() const { return port_; }
  std::string http_address() const {
    return console_ != nullptr ? console_->address() : "";
  }
  eventstore::EventLog& event_log() { return *log_; }
  projections::ProjectionEngine& projections() { return *engine_; }
  services::SubscriptionStats subscription_stats() const {
    return service_.subscription_stats();
  }
  Metrics& metrics() { return *metrics_; }

 private:
  // What /metrics reads at each scrape (server/metrics.h).
  MetricsSources MetricsSourcesOf() {
    MetricsSources sources;
    sources.head_position = [this] { return log_->HeadPosition(); };
    sources.projection_positions = [this] {
      std::vector<std::pair<std::string, uint64_t>> positions;
      for (const v1::ProjectionStatus& status : engine_->Status()) {
        positions.emplace_back(status.name(), status.position());
      }
      return positions;
    };
    sources.open_subscriptions = [this] {
      return static_cast<uint64_t>(service_.subscription_stats().open);
    };
    sources.access_records = [this] {
      const services::AccessControl::RecordsWritten written =
          access_.records_written();
      return std::vector<std::pair<std::string, uint64_t>>{
          {"success", written.success}, {"denied", written.denied}};
    };
    return sources;
  }

  Mutex mu_;
  // First, so that it outlives the log and the gRPC server, which report
  // to it.
  const std::unique_ptr<Metrics> metrics_;
  // The key-encryption key, shared with the caller of Start; before the
  // log, which uses it until it is closed.
  const std::shared_ptr<eventstore::KeyEncryptionKey> kek_;
  std::unique_ptr<eventstore::EventLog> log_;
  // The one reader of client streams and of the organisations stream, for
  // commands, access decisions, views and projections (before the engine,
  // whose threads use it, so that it is destroyed after).
  std::unique_ptr<projections::ClientRecordStore> records_;
  std::unique_ptr<eventstore::ViewStore> store_;
  std::unique_ptr<projections::ProjectionEngine> engine_;
  std::unique_ptr<services::Authenticator> authenticator_;
  services::AccessControl access_;
  services::ViewsContext views_;
  services::EventLogService service_;
  // The signing key, shared with the caller of Start (before admin_, which
  // uses it).
  const std::shared_ptr<const eventstore::HeadSigner> head_signer_;
  services::AdminService admin_;
  services::CareCommandHandler care_handler_;
  services::CommandRunner runner_;
  services::CareRecordServices care_services_;
  services::ViewServices view_services_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HealthReporter> health_;  // set once serving
  std::unique_ptr<HeadSigningLoop> head_signing_;  // set once serving
  std::unique_ptr<HttpConsole> console_;    // set once serving, if asked
  const std::string host_;
  int port_ = 0;
};

absl::StatusOr<std::unique_ptr<CaselineServer>> CaselineServer::Start(
    ServerOptions options) {
  const size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen: \"", options.listen,
                     "\" is not host:port, e.g. 127.0.0.1:50051"));
  }
  RETURN_IF_ERROR(
      CheckSecurityOptions(options, options.listen.substr(0, colon)));
  InstallProtobufLogFilter();
  services::AuthenticatorOptions auth_options;
  auth_options.client_ca_pem = options.client_ca_pem;
  auth_options.access = options.access;
  ASSIGN_OR_RETURN(std::unique_ptr<services::Authenticator> authenticator,
                   services::Authenticator::Create(std::move(auth_options)));
  auto metrics = std::make_unique<Metrics>();
  eventstore::EventLogOptions log_options;
  log_options.observer = metrics->log_observer();
  log_options.data_dir = options.data_dir;
  log_options.limits = options.limits;
  log_options.block_cache_bytes = options.block_cache_bytes;
  log_options.env = options.env;
  log_options.kek = options.kek.get();
  log_options.encrypt_payloads = options.encrypt_payloads;
  std::unique_ptr<eventstore::EventLog> log;
  if (options.cluster.enabled()) {
    cluster::ClusterOptions cluster = options.cluster;
    cluster.tls_cert_pem = options.tls_cert_pem;
    cluster.tls_key_pem = options.tls_key_pem;
    cluster.tls_ca_pem = options.client_ca_pem;
    cluster.insecure_non_loopback = options.insecure_non_loopback;
    ASSIGN_OR_RETURN(std::unique_ptr<cluster::ClusterLog> cluster_log,
                     cluster::ClusterLog::Open(std::move(cluster),
                                               std::move(log_options)));
    // /metrics' node series (docs/metrics.md) from the node's own status.
    metrics->SetNodeState([node = cluster_log.get()] {
      const cluster::ClusterStatus status = node->Status();
      return NodeState{status.node_id, status.committed_position,
                       status.applied_position, status.sequencing};
    });
    log = std::move(cluster_log);
  } else {
    ASSIGN_OR_RETURN(log, eventstore::EventLog::Open(std::move(log_options)));
  }
  eventstore::ViewStoreOptions store_options;
  store_options.dir = options.views_dir.empty()
                          ? absl::StrCat(options.data_dir, "/views")
                          : options.views_dir;
  ASSIGN_OR_RETURN(std::unique_ptr<eventstore::ViewStore> store,
                   eventstore::ViewStore::Open(store_options));
  auto records = std::make_unique<projections::ClientRecordStore>(log.get());
  ASSIGN_OR_RETURN(std::unique_ptr<projections::ProjectionEngine> engine,
                   projections::ProjectionEngine::Start(
                       log.get(), store.get(),
                       ProjectionDefs(options.views, records.get())));
  auto impl = std::make_unique<Impl>(
      std::move(metrics), std::move(log), std::move(records), std::move(store),
      std::move(engine), std::move(authenticator), options,
      options.listen.substr(0, colon));
  RETURN_IF_ERROR(impl->Listen(options));
  return std::unique_ptr<CaselineServer>(new CaselineServer(std::move(impl)));
}

CaselineServer::CaselineServer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
CaselineServer::~CaselineServer() { Shutdown(absl::Seconds(10)); }
std::string CaselineServer::address() const { return impl_->address(); }
int CaselineServer::port() const { return impl_->port(); }
std::string CaselineServer::http_address() const {
  return impl_->http_address();
}
eventstore::EventLog& CaselineServer::event_log() { return impl_->event_log(); }
projections::ProjectionEngine& CaselineServer::projections() {
  return impl_->projections();
}
services::SubscriptionStats CaselineServer::subscription_stats() const {
  return impl_->subscription_stats();
}
Metrics& CaselineServer::metrics() { return impl_->metrics(); }
void CaselineServer::Shutdown(absl::Duration grace) { impl_->Shutdown(grace); }

}  // namespace caseline::server
