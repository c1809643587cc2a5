#include "server/health.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::server {
namespace {

std::map<std::string, bool> StatusesUnder(const ServerCondition& condition) {
  std::map<std::string, bool> out;
  for (const auto& [service, serving] : ServingStatuses(condition)) {
    EXPECT_TRUE(out.emplace(service, serving).second) << "twice: " << service;
  }
  return out;
}

TEST(Health, EverythingServesWhileNothingFails) {
  const std::map<std::string, bool> statuses = StatusesUnder({});
  EXPECT_EQ(statuses.size(), ServedServices().size() + 1);
  for (const auto& [service, serving] : statuses) {
    EXPECT_TRUE(serving) << service;
  }
}

TEST(Health, StoppedAppendsStopTheServerAndTheServicesThatAppend) {
  ServerCondition condition;
  condition.appends_stopped = true;
  std::map<std::string, bool> statuses = StatusesUnder(condition);
  for (const char* stopped :
       {"", "caseline.v1.EventLog", "caseline.v1.Clients",
        "caseline.v1.Consents", "caseline.v1.Plans", "caseline.v1.Referrals",
        "caseline.v1.Services", "caseline.v1.CareTeams",
        "caseline.v1.Transitions", "caseline.v1.Worklists",
        "caseline.v1.Organizations", "caseline.v1.AccessAudit"}) {
    EXPECT_FALSE(statuses.at(stopped)) << stopped;
  }
  for (const char* serving :
       {"caseline.v1.Admin", "caseline.v1.ContinuityViews",
        "caseline.v1.DuplicationViews", "caseline.v1.AuditViews",
        "caseline.v1.Projections"}) {
    EXPECT_TRUE(statuses.at(serving)) << serving;
  }
}

TEST(Health, WithoutASequencerOnlyTheServicesThatAppendStop) {
  ServerCondition condition;
  condition.no_sequencer = true;
  std::map<std::string, bool> without = StatusesUnder(condition);
  condition = {};
  condition.appends_stopped = true;
  std::map<std::string, bool> stopped = StatusesUnder(condition);
  for (const auto& [service, serving] : without) {
    // The same services as stopped appends, except "": reads still serve.
    EXPECT_EQ(serving, service.empty() || stopped.at(service)) << service;
  }
}

TEST(Health, ANodeBehindTheClusterServesNothing) {
  ServerCondition condition;
  condition.behind = true;
  for (const auto& [service, serving] : StatusesUnder(condition)) {
    EXPECT_FALSE(serving) << service;
  }
}

TEST(Health, AFailingProjectionStopsTheViewsThatReadIt) {
  ServerCondition condition;
  condition.failing_projections = {"duplication"};
  std::map<std::string, bool> statuses = StatusesUnder(condition);
  for (const auto& [service, serving] : statuses) {
    EXPECT_EQ(serving, service != "caseline.v1.DuplicationViews") << service;
  }
  condition.failing_projections = {"continuity", "access"};
  statuses = StatusesUnder(condition);
  EXPECT_FALSE(statuses.at("caseline.v1.ContinuityViews"));
  EXPECT_FALSE(statuses.at("caseline.v1.AccessAudit"));
  EXPECT_TRUE(statuses.at("caseline.v1.DuplicationViews"));
  EXPECT_TRUE(statuses.at(""));
}

}  // namespace
}  // namespace caseline::server
