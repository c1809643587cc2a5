#include "server/health.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "caseline/v1/access.grpc.pb.h"
#include "caseline/v1/admin.grpc.pb.h"
#include "caseline/v1/care_record.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "cluster/cluster_log.h"
#include "projections/access_projection.h"
#include "projections/continuity_projection.h"
#include "projections/duplication_projection.h"
#include "spdlog/spdlog.h"

namespace caseline::server {

const std::vector<ServiceNeeds>& ServedServices() {
  static const auto* const kServices = new std::vector<ServiceNeeds>{
      {v1::EventLog::service_full_name(), /*appends=*/true},
      {v1::Admin::service_full_name(), /*appends=*/false},
      {v1::Clients::service_full_name(), /*appends=*/true},
      {v1::Consents::service_full_name(), /*appends=*/true},
      {v1::Plans::service_full_name(), /*appends=*/true},
      {v1::Referrals::service_full_name(), /*appends=*/true},
      {v1::Services::service_full_name(), /*appends=*/true},
      {v1::CareTeams::service_full_name(), /*appends=*/true},
      {v1::Transitions::service_full_name(), /*appends=*/true},
      {v1::Worklists::service_full_name(), /*appends=*/true},
      {v1::Organizations::service_full_name(), /*appends=*/true},
      {v1::ContinuityViews::service_full_name(), /*appends=*/false,
       projections::kContinuityProjectionName},
      {v1::DuplicationViews::service_full_name(), /*appends=*/false,
       projections::kDuplicationProjectionName},
      {v1::AuditViews::service_full_name(), /*appends=*/false},
      {v1::Projections::service_full_name(), /*appends=*/false},
      {v1::AccessAudit::service_full_name(), /*appends=*/true,
       projections::kAccessProjectionName},
  };
  return *kServices;
}

std::vector<std::pair<std::string, bool>> ServingStatuses(
    const ServerCondition& condition) {
  std::vector<std::pair<std::string, bool>> statuses;
  statuses.emplace_back("", !condition.appends_stopped && !condition.behind);
  for (const ServiceNeeds& needs : ServedServices()) {
    bool serving =
        !(needs.appends && (condition.appends_stopped || condition.no_sequencer));
    if (condition.behind) serving = false;
    if (needs.projection != nullptr &&
        condition.failing_projections.contains(needs.projection)) {
      serving = false;
    }
    statuses.emplace_back(needs.service, serving);
  }
  return statuses;
}

HealthReporter::HealthReporter(const eventstore::EventLog* log,
                               const projections::ProjectionEngine* engine,
                               grpc::HealthCheckServiceInterface* health,
                               absl::Duration interval)
    : log_(log),
      engine_(engine),
      health_(health),
      interval_(
          std::clamp(interval, absl::Milliseconds(10), absl::Minutes(1))) {
  Update();
  thread_ = std::thread([this] { Loop(); });
}

HealthReporter::~HealthReporter() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    stop_cv_.SignalAll();
  }
  thread_.join();
}

ServerCondition HealthReporter::Observe() const {
  ServerCondition condition;
  condition.appends_stopped = !log_->WriteFailure().ok();
  if (const auto* cluster = dynamic_cast<const cluster::ClusterLog*>(log_);
      cluster != nullptr) {
    const cluster::ClusterStatus status = cluster->Status();
    condition.no_sequencer = status.sequencer_id.empty();
    condition.behind = status.lagging || !status.apply_error.ok();
  }
  for (const v1::ProjectionStatus& status : engine_->Status()) {
    if (!status.last_error().empty()) {
      condition.failing_projections.insert(status.name());
    }
  }
  return condition;
}

void HealthReporter::Update() {
  const ServerCondition condition = Observe();
  std::vector<std::string> causes;
  if (condition.appends_stopped) causes.emplace_back("appends are stopped");
  if (condition.no_sequencer) causes.emplace_back("no cluster sequencer");
  if (condition.behind) {
    causes.emplace_back("behind the cluster's committed log");
  }
  if (!condition.failing_projections.empty()) {
    std::vector<std::string> names(condition.failing_projections.begin(),
                                   condition.failing_projections.end());
    std::sort(names.begin(), names.end());
    causes.push_back(
        absl::StrCat("failing projections: ", absl::StrJoin(names, ", ")));
  }
  std::vector<std::string> stopped, resumed;
  for (const auto& [service, serving] : ServingStatuses(condition)) {
    auto [it, added] = reported_.try_emplace(service, serving);
    if (!added && it->second == serving) continue;
    it->second = serving;
    health_->SetServingStatus(service, serving);
    if (added && serving) continue;
    (serving ? resumed : stopped)
        .push_back(service.empty() ? "the server" : service);
  }
  if (!stopped.empty()) {
    spdlog::warn("health: NOT_SERVING: {} ({})", absl::StrJoin(stopped, ", "),
                 absl::StrJoin(causes, "; "));
  }
  if (!resumed.empty()) {
    spdlog::info("health: SERVING again: {}", absl::StrJoin(resumed, ", "));
  }
}

void HealthReporter::Loop() {
  while (true) {
    {
      MutexLock lock(&mu_);
      if (!stopping_) stop_cv_.WaitFor(interval_);
      if (stopping_) return;
    }
    Update();
  }
}

}  // namespace caseline::server
