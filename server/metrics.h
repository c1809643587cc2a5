// Metrics: caselined's Prometheus metrics (docs/metrics.md lists every
// series), served in the text exposition format 0.0.4 as GET /metrics on the
// console's listener (--http_listen).
//
// Two kinds of series:
//  - counted as things happen: append latency, group-commit sizes and sync
//    durations (the event log's writer, through log_observer()), and calls
//    answered with a non-OK gRPC code (the interceptor of
//    NewRefusalInterceptorFactory());
//  - read when scraped, from the MetricsSources and NodeState given once
//    serving: the log's committed and applied positions and leadership,
//    each projection's position and lag, open subscriptions, access records
//    written.
// The series hold counts, positions, durations, gRPC method names and
// projection names: nothing about a client.
//
// Prometheus (prometheus-cpp's core library: Registry, TextSerializer) stays
// in metrics.cc; the folders below server/ see only narrow interfaces
// (eventstore/log_observer.h).
//
// Thread-safe. Must outlive the event log and the gRPC server it is wired
// into.
#ifndef CASELINE_SERVER_METRICS_H_
#define CASELINE_SERVER_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "eventstore/log_observer.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"

namespace caseline::server {

// The Content-Type of Scrape()'s text.
inline constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";

// A node's place in the log: caseline_log_committed_position,
// caseline_log_applied_position and caseline_node_leader, each labelled
// node="<node_id>".
struct NodeState {
  std::string node_id;
  // The last position committed: durable on this node's disk (single node)
  // or by a quorum (cluster).
  uint64_t committed_position = 0;
  // The last position applied to this node's own log.
  uint64_t applied_position = 0;
  // Whether this node assigns positions (the sequencer).
  bool leader = false;
};

// The node id a single node reports.
inline constexpr char kSingleNodeId[] = "single";

// What is read at each scrape, on the scraping thread: each must be quick
// and thread-safe. An unset one leaves its series out.
struct MetricsSources {
  // The local log's head (EventLog::HeadPosition).
  std::function<uint64_t()> head_position;
  // Each projection's name and last applied position.
  std::function<std::vector<std::pair<std::string, uint64_t>>()>
      projection_positions;
  // EventLog.Subscribe calls open.
  std::function<uint64_t()> open_subscriptions;
  // Access records written, by outcome ("success", "denied").
  std::function<std::vector<std::pair<std::string, uint64_t>>()>
      access_records;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // For EventLogOptions::observer: records each group commit's append
  // latencies, sizes and sync duration. Owned by this object.
  eventstore::LogObserver* log_observer();

  // For grpc::ServerBuilder::experimental().SetInterceptorCreators(), after
  // any interceptor that changes the status sent: counts every call answered
  // with a code other than OK (CountRefusal). The factory keeps a pointer to
  // this object.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  NewRefusalInterceptorFactory();

  // Counts one call of `method` (a gRPC path, "/caseline.v1.EventLog/Append")
  // answered with `code`; OK is not counted. A method not in the generated
  // descriptor pool (an unknown path a caller made up) is counted as
  // "other", so callers cannot add series.
  void CountRefusal(grpc::StatusCode code, absl::string_view method);

  // Replaces the sources read at scrape time (empty ones: series left out).
  void SetSources(MetricsSources sources);

  // Replaces how the node's state is read at scrape time (on the scraping
  // thread; quick and thread-safe). Unset (the single-node default): node
  // kSingleNodeId, leader, committed and applied both the log's head
  // (MetricsSources::head_position). Cluster wiring in server/ sets it
  // from the cluster node's state.
  void SetNodeState(std::function<NodeState()> source);

  // Every series, in the Prometheus text format 0.0.4 (kMetricsContentType).
  std::string Scrape() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace caseline::server

#endif  // CASELINE_SERVER_METRICS_H_
