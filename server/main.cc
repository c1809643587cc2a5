// caselined: the Caseline server. See `caselined --help`.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <iostream>
#include <string>
#include <tuple>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "eventstore/event_log.h"
#include "eventstore/key_encryption.h"
#include "nlohmann/json.hpp"
#include "server/access_config_file.h"
#include "base/read_file.h"
#include "eventstore/signed_head.h"
#include "openssl/crypto.h"
#include "server/server.h"
#include "server/views_config_file.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace {

// Writes `address` to `path` via a temporary file and rename, so a reader
// never sees half of it.
bool WriteAddressFile(const std::string& path, const std::string& address) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << address << "\n";
    if (!out.good()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  caseline::server::ServerOptions options;
  std::string log_level = "info";
  std::string address_file;
  std::string http_address_file;
  std::string views_config;
  std::string access_config;
  std::string tls_cert, tls_key, client_ca;
  std::string restore_from;
  bool restore_only = false;
  std::string signing_key;
  std::string sign_head_interval = "1m";

  CLI::App app{
      "caselined: Caseline's event-sourced care coordination server.\n"
      "Serves the caseline.v1 event log, care-record command services and\n"
      "views (continuity, duplication, audit, projections),\n"
      "grpc.health.v1.Health and server reflection over gRPC, storing events\n"
      "durably in a RocksDB directory."};
  app.option_defaults()->always_capture_default();
  app.add_option("--data_dir", options.data_dir,
                 "RocksDB directory holding the log; created when missing");
  app.add_option("--listen", options.listen,
                 "host:port to serve gRPC on; port 0 picks a free port");
  app.add_option("--log_level", log_level,
                 "trace, debug, info, warn, error or off")
      ->check(
          CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--listen_address_file", address_file,
                 "after start-up, write the bound host:port to this file (for "
                 "scripts and tests that listen on port 0)");
  app.add_option("--http_listen", options.http_listen,
                 "host:port to serve the web console and its JSON API on "
                 "(docs/console.md), e.g. 127.0.0.1:8080; port 0 picks a free "
                 "port; empty: no console. HTTPS with --tls_cert");
  app.add_option("--http_address_file", http_address_file,
                 "after start-up, write the console's bound host:port to this "
                 "file");
  app.add_option("--fhir_dir", options.fhir.state_dir,
                 "where the FHIR endpoint keeps Bulk export files and "
                 "registered Subscriptions (docs/fhir.md); default "
                 "<data_dir>/fhir");
  app.add_flag("--fhir_insecure_hooks", options.fhir.allow_insecure_hooks,
               "let FHIR Subscriptions deliver to plain-http and loopback "
               "endpoints (development and tests only)");
  app.add_option("--max_payload_bytes", options.limits.max_payload_bytes,
                 "largest event payload accepted")
      ->check(CLI::Range(size_t{1}, size_t{64} << 20));
  app.add_option("--max_events_per_append",
                 options.limits.max_events_per_append,
                 "most events in one append")
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  app.add_option("--max_append_bytes", options.limits.max_append_bytes,
                 "largest sum of payload bytes in one append")
      ->check(CLI::Range(size_t{1}, size_t{512} << 20));
  app.add_option("--block_cache_bytes", options.block_cache_bytes,
                 "RocksDB block cache size");
  app.add_option("--max_subscriptions_per_organization",
                 options.max_subscriptions_per_organization,
                 "most EventLog.Subscribe calls one organisation may hold "
                 "open (beyond it: RESOURCE_EXHAUSTED); 0: no limit")
      ->check(CLI::Range(size_t{0}, size_t{1000000}));
  app.add_option("--views_config", views_config,
                 "JSON file of view windows and thresholds (docs/views.md); "
                 "unset: the defaults");
  app.add_option("--views_dir", options.views_dir,
                 "RocksDB directory of the projections' state; default "
                 "<data_dir>/views");
  app.add_option("--tls_cert", tls_cert,
                 "PEM certificate chain of the server (mutual TLS; with "
                 "--tls_key and --client_ca; deploy/make-dev-certs.sh)");
  app.add_option("--tls_key", tls_key, "PEM private key of the server");
  app.add_option("--client_ca", client_ca,
                 "PEM CA certificate that issues organisation certificates; "
                 "the organisation is the SAN URI caseline:org:<id>");
  app.add_option("--access_config", access_config,
                 "JSON file of the organisations allowed and their roles "
                 "(agency, auditor, admin; docs/access.md); required with "
                 "TLS. Unset without TLS: development mode");
  app.add_flag("--insecure_non_loopback", options.insecure_non_loopback,
               "allow listening without TLS on a non-loopback address "
               "(callers then name their own organisation)");
  std::string cluster_etcd;
  app.add_option("--cluster_etcd", cluster_etcd,
                 "etcd members host:port,host:port,...; turns on cluster mode "
                 "(docs/cluster.md). Unset: a single node, no etcd");
  app.add_option("--cluster_node_id", options.cluster.node_id,
                 "with --cluster_etcd: this node's id, unique in the cluster");
  app.add_option("--cluster_peer_listen", options.cluster.peer_listen,
                 "with --cluster_etcd: host:port of the peer channel the "
                 "other nodes forward writes to");
  app.add_option("--cluster_advertise", options.cluster.advertise,
                 "with --cluster_etcd: host:port the other nodes reach the "
                 "peer channel at (default: --cluster_peer_listen)");
  app.add_option("--cluster_max_lag", options.cluster.max_lag_events,
                 "with --cluster_etcd: health says NOT_SERVING while this "
                 "node has applied more than this many events fewer than "
                 "the cluster committed")
      ->capture_default_str();
  app.add_option("--cluster_groups_in_flight",
                 options.cluster.max_groups_in_flight,
                 "with --cluster_etcd: how many groups the sequencer may "
                 "have sent to etcd and not yet seen committed (1-64)")
      ->capture_default_str();
  app.add_option("--cluster_name", options.cluster.cluster_name,
                 "with --cluster_etcd: the etcd key prefix /caseline/<name>/")
      ->capture_default_str();
  app.add_option("--signing_key", signing_key,
                 "Ed25519 private key (PEM, from `openssl genpkey -algorithm "
                 "ed25519 -out FILE`) that signs the log's head "
                 "(docs/log_format.md \"Signed heads\"); without it no "
                 "head is signed");
  app.add_option("--sign_head_interval", sign_head_interval,
                 "with --signing_key: how often the head is signed if it "
                 "moved since the last signed head (also checked at "
                 "start-up), e.g. 30s, 5m, 1h; 0 signs only at start-up and "
                 "on request (Admin.SignHead)");
  std::string kek_file;
  bool encrypt_payloads = true;
  app.add_option("--kek_file", kek_file,
                 "key-encryption key file that wraps each client's data key "
                 "(docs/log_format.md \"Encrypted payloads\"); created (mode "
                 "0600, a fresh key) when missing; refused when group or "
                 "others may read it. Keep it beside the data directory, "
                 "never inside it, and back it up separately. Default: "
                 "<data_dir>.kek. With --cluster_etcd: required unless "
                 "--encrypt_payloads=false, never created (every node needs "
                 "a copy of the same file: docs/cluster.md \"Encryption\")");
  app.add_option(
      "--encrypt_payloads", encrypt_payloads,
      "encrypt the payloads of client-<id> streams, each client with its "
      "own data key, so that Admin.EraseClient can erase a client by "
      "destroying its key; events written encrypted stay readable whatever "
      "this says later. Default: true (with --cluster_etcd, a --kek_file "
      "that exists is then required)");
  CLI::Option* restore_option = app.add_option(
      "--restore_from", restore_from,
      "before starting, restore the backup in this directory (written by "
      "`caseline backup`) into --data_dir, which must not exist or be empty: "
      "copies it (the backup stays intact), verifies its table checksums and "
      "hash chain against the head the backup recorded, and prints the head "
      "position and hash as a JSON line on stdout. The projections are "
      "rebuilt from the restored log");
  app.add_flag("--restore_only", restore_only,
               "with --restore_from: exit (code 0) once the backup is "
               "restored and verified, without serving")
      ->needs(restore_option);
  CLI11_PARSE(app, argc, argv);

  // The log goes to stderr: stdout carries only what scripts read (the
  // restore report).
  spdlog::set_default_logger(spdlog::stderr_color_mt("caselined"));
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ caselined: %v",
                      spdlog::pattern_time_type::utc);

  // Handle SIGINT/SIGTERM on this thread only: block them before any other
  // thread exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (!cluster_etcd.empty()) {
    options.cluster.etcd_endpoints =
        absl::StrSplit(cluster_etcd, ',', absl::SkipEmpty());
  }
  for (auto [path, pem, flag] :
       {std::tuple{&tls_cert, &options.tls_cert_pem, "--tls_cert"},
        std::tuple{&tls_key, &options.tls_key_pem, "--tls_key"},
        std::tuple{&client_ca, &options.client_ca_pem, "--client_ca"}}) {
    if (path->empty()) continue;
    absl::StatusOr<std::string> text =
        caseline::ReadFileNamedBy(flag, *path);
    if (!text.ok()) {
      spdlog::error("cannot start: {}", text.status().ToString());
      return 2;
    }
    *pem = *std::move(text);
  }
  if (!access_config.empty()) {
    absl::StatusOr<caseline::services::AccessConfig> config =
        caseline::server::LoadAccessConfigFile(access_config);
    if (!config.ok()) {
      spdlog::error("cannot start: {}", config.status().ToString());
      return 2;
    }
    options.access = *std::move(config);
  }
  if (!views_config.empty()) {
    absl::StatusOr<caseline::care::ViewsConfig> config =
        caseline::server::LoadViewsConfigFile(views_config);
    if (!config.ok()) {
      spdlog::error("cannot start: {}", config.status().ToString());
      return 2;
    }
    options.views = *config;
  }

  if (!absl::ParseDuration(sign_head_interval, &options.sign_head_interval) ||
      options.sign_head_interval < absl::ZeroDuration()) {
    spdlog::error(
        "cannot start: --sign_head_interval \"{}\" is not a duration such "
        "as 30s, 5m or 1h (0: only at start-up and on request)",
        sign_head_interval);
    return 2;
  }
  if (!signing_key.empty()) {
    absl::StatusOr<std::string> pem =
        caseline::ReadFileNamedBy("--signing_key", signing_key);
    if (!pem.ok()) {
      spdlog::error("cannot start: {}", pem.status().ToString());
      return 2;
    }
    absl::StatusOr<std::unique_ptr<caseline::eventstore::HeadSigner>> signer =
        caseline::eventstore::HeadSigner::FromPem(*pem);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!signer.ok()) {
      spdlog::error("cannot start: --signing_key file {}: {}", signing_key,
                    signer.status().ToString());
      return 2;
    }
    options.head_signer = *std::move(signer);
    spdlog::info("signing the log's head with key {} from {}",
                 caseline::eventstore::KeyIdToHex(
                     options.head_signer->key_id()),
                 signing_key);
  }

  // In a cluster every node needs the same KEK (docs/cluster.md
  // "Encryption"): a node never makes its own, and never falls back to
  // <data_dir>.kek.
  if (!cluster_etcd.empty()) {
    std::error_code ec;
    if (kek_file.empty() && encrypt_payloads) {
      spdlog::error(
          "cannot start: with --cluster_etcd, payload encryption needs the "
          "same key-encryption key on every node, so a node does not create "
          "its own. Create one once (head -c 32 /dev/urandom > cluster.kek "
          "&& chmod 600 cluster.kek), copy it to every node (beside its "
          "data directory, owned by the user caselined runs as) and pass "
          "--kek_file; or pass --encrypt_payloads=false to run the cluster "
          "unencrypted (docs/cluster.md \"Encryption\")");
      return 2;
    }
    if (!kek_file.empty() && !std::filesystem::exists(kek_file, ec)) {
      spdlog::error(
          "cannot start: --kek_file {} does not exist. With --cluster_etcd "
          "a node does not create its KEK: every node needs a copy of the "
          "same file. Copy it from another node, or, for a new cluster, "
          "create it once (head -c 32 /dev/urandom > FILE && chmod 600 "
          "FILE) and copy it to every node (docs/cluster.md "
          "\"Encryption\")",
          kek_file);
      return 2;
    }
  }
  if (!restore_from.empty()) {
    absl::StatusOr<caseline::eventstore::BackupInfo> restored =
        caseline::eventstore::EventLog::Restore(restore_from,
                                                options.data_dir);
    if (!restored.ok()) {
      spdlog::error("cannot restore: {}", restored.status().ToString());
      return 1;
    }
    const std::string head_hash =
        caseline::eventstore::HashToHex(restored->head_hash);
    const std::string created_at = absl::FormatTime(
        "%Y-%m-%dT%H:%M:%SZ", restored->created_at, absl::UTCTimeZone());
    const std::string backup_dir =
        std::filesystem::absolute(restore_from).lexically_normal().string();
    spdlog::info(
        "restored the backup {} (made {}) into {}: head position {}, head "
        "hash {}, {} events verified",
        backup_dir, created_at, restored->dir, restored->head_position,
        head_hash, restored->events_verified);
    // For scripts; 64-bit numbers as strings, as the CLI prints them.
    nlohmann::ordered_json line = {
        {"restored_from", backup_dir},
        {"data_dir", restored->dir},
        {"head_position", std::to_string(restored->head_position)},
        {"head_hash", head_hash},
        {"events_verified", std::to_string(restored->events_verified)},
        {"backup_created_at", created_at}};
    std::cout << line.dump() << std::endl;
    if (restore_only) return 0;
  }

  // The key-encryption key (after a restore: --restore_only needs none).
  options.encrypt_payloads = encrypt_payloads;
  bool kek_created = false;
  // With --cluster_etcd and no --kek_file (--encrypt_payloads=false, as
  // checked above): no KEK at all.
  if (cluster_etcd.empty() || !kek_file.empty()) {
    const bool kek_named = !kek_file.empty();
    if (!kek_named) {
      std::string dir = options.data_dir;
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      kek_file = dir + ".kek";
    }
    std::error_code ec;
    const std::filesystem::path kek_path =
        std::filesystem::absolute(kek_file, ec).lexically_normal();
    const std::filesystem::path data_path =
        std::filesystem::absolute(options.data_dir, ec).lexically_normal();
    const auto [data_end, kek_at] = std::mismatch(
        data_path.begin(), data_path.end(), kek_path.begin(), kek_path.end());
    if (data_end == data_path.end() ||
        (std::next(data_end) == data_path.end() && data_end->empty())) {
      spdlog::error(
          "cannot start: --kek_file {} is inside --data_dir {}: a backup of "
          "the log would then hold the key that unlocks it. Keep the KEK "
          "beside the data directory (default <data_dir>.kek)",
          kek_file, options.data_dir);
      return 2;
    }
    // Loaded when encrypting, when named, or when one exists already (a
    // log written encrypted needs it to be read).
    if (encrypt_payloads || kek_named ||
        std::filesystem::exists(kek_path, ec)) {
      kek_created = !std::filesystem::exists(kek_path, ec);
      absl::StatusOr<std::unique_ptr<caseline::eventstore::FileKeyEncryptionKey>>
          kek = caseline::eventstore::FileKeyEncryptionKey::Open(kek_file);
      if (!kek.ok()) {
        spdlog::error("cannot start: {}", kek.status().ToString());
        return 2;
      }
      spdlog::info(
          "{} key-encryption key {} (current version {}, {} versions); "
          "payloads of new client events are {}",
          kek_created ? "created a new" : "using the", kek_file,
          (*kek)->current_id(), (*kek)->version_ids().size(),
          encrypt_payloads ? "encrypted" : "NOT encrypted");
      options.kek = *std::move(kek);
    }
  }

  spdlog::info(
      "starting: data_dir={} listen={} max_payload_bytes={} "
      "max_events_per_append={} max_append_bytes={} block_cache_bytes={} "
      "max_subscriptions_per_organization={}",
      options.data_dir, options.listen, options.limits.max_payload_bytes,
      options.limits.max_events_per_append, options.limits.max_append_bytes,
      options.block_cache_bytes, options.max_subscriptions_per_organization);
  absl::StatusOr<std::unique_ptr<caseline::server::CaselineServer>> server =
      caseline::server::CaselineServer::Start(options);
  if (!server.ok()) {
    spdlog::error("cannot start: {}", server.status().ToString());
    if (kek_created) {
      // It wrapped nothing yet (e.g. a restored log that needs the KEK it
      // was written with): leave no stray key behind.
      std::error_code ec;
      std::filesystem::remove(kek_file, ec);
    }
    return 1;
  }
  spdlog::info("serving on {} (log head at position {}; {})",
               (*server)->address(), (*server)->event_log().HeadPosition(),
               !options.tls_cert_pem.empty()
                   ? "mutual TLS, organisations from client certificates"
               : options.access.has_value()
                   ? "no TLS: organisations from x-caseline-org, roles from "
                     "--access_config"
                   : "DEVELOPMENT MODE: no TLS, no --access_config; every "
                     "named organisation is an agency");
  if (!(*server)->http_address().empty()) {
    spdlog::info("console on {}://{}/", options.tls_cert_pem.empty() ? "http" : "https",
                 (*server)->http_address());
  }
  if (!address_file.empty() &&
      !WriteAddressFile(address_file, (*server)->address())) {
    spdlog::error("cannot write --listen_address_file {}", address_file);
    (*server)->Shutdown(absl::Seconds(1));
    return 1;
  }
  if (!http_address_file.empty() &&
      !WriteAddressFile(http_address_file, (*server)->http_address())) {
    spdlog::error("cannot write --http_address_file {}", http_address_file);
    (*server)->Shutdown(absl::Seconds(1));
    return 1;
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("received {}; finishing in-flight calls and closing the log",
               signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  (*server)->Shutdown(absl::Seconds(10));
  spdlog::info("stopped cleanly");
  return 0;
}
