#include "server/metrics.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/interceptor.h"
#include "prometheus/client_metric.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace caseline::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

// From half a millisecond (a sync on fast storage) to seconds (a stalled
// disk); appends wait for at least one sync.
const prometheus::Histogram::BucketBoundaries& SecondsBuckets() {
  static const auto* const buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
      0.1,    0.2,   0.5,   1,     2,    5};
  return *buckets;
}

// Powers of two up to the writer's largest group (4096 events).
const prometheus::Histogram::BucketBoundaries& SizeBuckets() {
  static const auto* const buckets = [] {
    auto* b = new prometheus::Histogram::BucketBoundaries;
    for (double size = 1; size <= 4096; size *= 2) b->push_back(size);
    return b;
  }();
  return *buckets;
}

prometheus::MetricFamily NewFamily(std::string name, std::string help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddValue(prometheus::MetricFamily& family,
              std::vector<prometheus::ClientMetric::Label> labels,
              double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

// The method label of `method` ("/caseline.v1.EventLog/Append"): itself
// when the generated descriptor pool knows it (every service this binary
// registers), otherwise "other".
std::string MethodLabel(absl::string_view method) {
  absl::string_view name = method;
  if (absl::ConsumePrefix(&name, "/") &&
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
          absl::StrReplaceAll(name, {{"/", "."}})) != nullptr) {
    return std::string(method);
  }
  return "other";
}

// Counts the status a call is answered with.
class RefusalInterceptor final : public grpc::experimental::Interceptor {
 public:
  RefusalInterceptor(Metrics* metrics, grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics), info_(info) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->CountRefusal(methods->GetSendStatus().error_code(),
                             info_->method());
    }
    methods->Proceed();
  }

 private:
  Metrics* const metrics_;
  grpc::experimental::ServerRpcInfo* const info_;
};

class RefusalInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RefusalInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RefusalInterceptor(metrics_, info);
  }

 private:
  Metrics* const metrics_;
};

}  // namespace

class Metrics::Impl : public eventstore::LogObserver {
 public:
  Impl()
      : append_latency_(
            prometheus::BuildHistogram()
                .Name("caseline_append_latency_seconds")
                .Help("Time from an append request being queued by the event "
                      "log to its group being durable, per request written")
                .Register(registry_)
                .Add({}, SecondsBuckets())),
        group_events_(
            prometheus::BuildHistogram()
                .Name("caseline_group_commit_events")
                .Help("Events written per group commit (one synced batch)")
                .Register(registry_)
                .Add({}, SizeBuckets())),
        group_requests_(
            prometheus::BuildHistogram()
                .Name("caseline_group_commit_requests")
                .Help("Append requests written per group commit")
                .Register(registry_)
                .Add({}, SizeBuckets())),
        sync_duration_(
            prometheus::BuildHistogram()
                .Name("caseline_log_sync_duration_seconds")
                .Help("Duration of each group commit's synced write (RocksDB "
                      "Write with sync: WAL append and fsync)")
                .Register(registry_)
                .Add({}, SecondsBuckets())),
        refusals_(prometheus::BuildCounter()
                      .Name("caseline_grpc_refusals_total")
                      .Help("gRPC calls answered with a status other than OK, "
                            "by code and method")
                      .Register(registry_)) {}

  void OnGroupCommitted(const eventstore::GroupCommit& group) override {
    for (absl::Duration latency : group.append_latencies) {
      append_latency_.Observe(absl::ToDoubleSeconds(latency));
    }
    group_events_.Observe(static_cast<double>(group.events));
    group_requests_.Observe(static_cast<double>(group.requests));
    sync_duration_.Observe(absl::ToDoubleSeconds(group.sync_duration));
  }

  void CountRefusal(grpc::StatusCode code, absl::string_view method) {
    if (code == grpc::StatusCode::OK) return;
    // gRPC's codes are google.rpc's, which absl::StatusCode names the same
    // way ("NOT_FOUND"); an unknown number gets absl's own spelling.
    refusals_
        .Add({{"code", absl::StatusCodeToString(
                           static_cast<absl::StatusCode>(code))},
              {"method", MethodLabel(method)}})
        .Increment();
  }

  void SetSources(MetricsSources sources) {
    MutexLock lock(&mu_);
    sources_ = std::move(sources);
  }
  void SetNodeState(std::function<NodeState()> source) {
    MutexLock lock(&mu_);
    node_state_ = std::move(source);
  }

  std::string Scrape() const {
    std::vector<prometheus::MetricFamily> families = registry_.Collect();
    MetricsSources sources;
    std::function<NodeState()> node_state;
    {
      MutexLock lock(&mu_);
      sources = sources_;
      node_state = node_state_;
    }
    CollectSources(sources, node_state, families);
    return prometheus::TextSerializer().Serialize(families);
  }

 private:
  static void CollectSources(const MetricsSources& sources,
                             const std::function<NodeState()>& node_state,
                             std::vector<prometheus::MetricFamily>& out) {
    // Projections before the head, so that no lag comes out negative.
    std::vector<std::pair<std::string, uint64_t>> projections;
    if (sources.projection_positions) {
      projections = sources.projection_positions();
    }
    std::optional<uint64_t> head;
    if (sources.head_position) head = sources.head_position();

    std::optional<NodeState> node;
    if (node_state) {
      node = node_state();
    } else if (head.has_value()) {
      node = NodeState{kSingleNodeId, *head, *head, true};
    }
    if (node.has_value()) {
      const std::vector<prometheus::ClientMetric::Label> labels = {
          {"node", node->node_id}};
      auto committed = NewFamily(
          "caseline_log_committed_position",
          "Last log position committed (durable on this node's disk, or by "
          "a quorum in a cluster)",
          prometheus::MetricType::Gauge);
      AddValue(committed, labels,
               static_cast<double>(node->committed_position));
      out.push_back(std::move(committed));
      auto applied = NewFamily(
          "caseline_log_applied_position",
          "Last log position applied to this node's own log",
          prometheus::MetricType::Gauge);
      AddValue(applied, labels, static_cast<double>(node->applied_position));
      out.push_back(std::move(applied));
      auto leader = NewFamily("caseline_node_leader",
                           "1 while this node is the sequencer (assigns log "
                           "positions), else 0",
                           prometheus::MetricType::Gauge);
      AddValue(leader, labels, node->leader ? 1 : 0);
      out.push_back(std::move(leader));
    }

    if (sources.projection_positions) {
      auto position = NewFamily("caseline_projection_applied_position",
                             "Last log position a projection's serving state "
                             "has applied",
                             prometheus::MetricType::Gauge);
      auto lag = NewFamily("caseline_projection_lag_events",
                        "Events a projection's serving state is behind the "
                        "log's head (head minus applied position)",
                        prometheus::MetricType::Gauge);
      for (const auto& [name, applied] : projections) {
        AddValue(position, {{"projection", name}},
                 static_cast<double>(applied));
        if (head.has_value()) {
          AddValue(lag, {{"projection", name}},
                   static_cast<double>(*head - std::min(*head, applied)));
        }
      }
      out.push_back(std::move(position));
      if (head.has_value()) out.push_back(std::move(lag));
    }

    if (sources.open_subscriptions) {
      auto open = NewFamily("caseline_subscriptions_open",
                         "EventLog.Subscribe calls open",
                         prometheus::MetricType::Gauge);
      AddValue(open, {}, static_cast<double>(sources.open_subscriptions()));
      out.push_back(std::move(open));
    }

    if (sources.access_records) {
      auto written = NewFamily(
          "caseline_access_records_written_total",
          "Access records (RecordAccessed) durably written since start, by "
          "outcome: success (a read showed something) or denied (a refused "
          "read)",
          prometheus::MetricType::Counter);
      for (const auto& [outcome, count] : sources.access_records()) {
        AddValue(written, {{"outcome", outcome}}, static_cast<double>(count));
      }
      out.push_back(std::move(written));
    }
  }

  prometheus::Registry registry_;
  prometheus::Histogram& append_latency_;
  prometheus::Histogram& group_events_;
  prometheus::Histogram& group_requests_;
  prometheus::Histogram& sync_duration_;
  prometheus::Family<prometheus::Counter>& refusals_;

  mutable Mutex mu_;
  MetricsSources sources_ ABSL_GUARDED_BY(mu_);
  std::function<NodeState()> node_state_ ABSL_GUARDED_BY(mu_);
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

eventstore::LogObserver* Metrics::log_observer() { return impl_.get(); }

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::NewRefusalInterceptorFactory() {
  return std::make_unique<RefusalInterceptorFactory>(this);
}

void Metrics::CountRefusal(grpc::StatusCode code, absl::string_view method) {
  impl_->CountRefusal(code, method);
}

void Metrics::SetSources(MetricsSources sources) {
  impl_->SetSources(std::move(sources));
}

void Metrics::SetNodeState(std::function<NodeState()> source) {
  impl_->SetNodeState(std::move(source));
}

std::string Metrics::Scrape() const { return impl_->Scrape(); }

}  // namespace caseline::server
