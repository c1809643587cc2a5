#include "server/metrics.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "caseline/v1/event_log.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The samples of a text-format scrape: "name{labels}" -> value. Fails the
// test on a line that is neither a comment nor "series value".
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    EXPECT_TRUE(space != absl::string_view::npos &&
                absl::SimpleAtod(line.substr(space + 1), &value))
        << line;
    if (space == absl::string_view::npos) continue;
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

TEST(MetricsTest, EveryCountedSeriesHasHelpAndTypeBeforeAnythingHappens) {
  Metrics metrics;
  const std::string text = metrics.Scrape();
  for (const char* name :
       {"caseline_append_latency_seconds", "caseline_group_commit_events",
        "caseline_group_commit_requests",
        "caseline_log_sync_duration_seconds"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# HELP ", name, " ")));
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# TYPE ", name, " histogram")));
    EXPECT_EQ(Samples(text)[absl::StrCat(name, "_count")], 0) << name;
  }
  // A counter by label appears with its first series.
  EXPECT_THAT(text, Not(HasSubstr("caseline_grpc_refusals_total")));
  // No sources yet: none of the series read at scrape time.
  EXPECT_THAT(text, Not(HasSubstr("caseline_log_committed_position")));
  EXPECT_THAT(text, Not(HasSubstr("caseline_subscriptions_open")));
}

TEST(MetricsTest, GroupCommitsFillTheHistograms) {
  Metrics metrics;
  const std::vector<absl::Duration> latencies = {
      absl::Microseconds(300), absl::Milliseconds(3), absl::Milliseconds(30)};
  eventstore::GroupCommit group;
  group.requests = 3;
  group.events = 7;
  group.sync_duration = absl::Milliseconds(2);
  group.append_latencies = latencies;
  group.head_position = 7;
  metrics.log_observer()->OnGroupCommitted(group);
  group.requests = 1;
  group.events = 1;
  group.append_latencies = absl::MakeConstSpan(latencies).subspan(0, 1);
  metrics.log_observer()->OnGroupCommitted(group);

  std::map<std::string, double> s = Samples(metrics.Scrape());
  EXPECT_EQ(s["caseline_append_latency_seconds_count"], 4);
  EXPECT_DOUBLE_EQ(s["caseline_append_latency_seconds_sum"],
                   0.0003 + 0.003 + 0.03 + 0.0003);
  EXPECT_EQ(s["caseline_append_latency_seconds_bucket{le=\"0.0005\"}"], 2);
  EXPECT_EQ(s["caseline_append_latency_seconds_bucket{le=\"0.005\"}"], 3);
  EXPECT_EQ(s["caseline_append_latency_seconds_bucket{le=\"+Inf\"}"], 4);
  EXPECT_EQ(s["caseline_group_commit_events_count"], 2);
  EXPECT_EQ(s["caseline_group_commit_events_sum"], 8);
  EXPECT_EQ(s["caseline_group_commit_events_bucket{le=\"4\"}"], 1);
  EXPECT_EQ(s["caseline_group_commit_events_bucket{le=\"8\"}"], 2);
  EXPECT_EQ(s["caseline_group_commit_requests_sum"], 4);
  EXPECT_EQ(s["caseline_log_sync_duration_seconds_count"], 2);
  EXPECT_DOUBLE_EQ(s["caseline_log_sync_duration_seconds_sum"], 0.004);
}

TEST(MetricsTest, RefusalsByCodeAndMethodNotOkAndNoMadeUpMethods) {
  // Links event_log.pb.cc, whose services the generated pool then knows (as
  // it knows every service caselined registers).
  ASSERT_NE(v1::ReadStreamRequest::descriptor(), nullptr);
  Metrics metrics;
  metrics.CountRefusal(grpc::StatusCode::OK, "/caseline.v1.EventLog/Append");
  metrics.CountRefusal(grpc::StatusCode::NOT_FOUND,
                       "/caseline.v1.EventLog/ReadStream");
  metrics.CountRefusal(grpc::StatusCode::NOT_FOUND,
                       "/caseline.v1.EventLog/ReadStream");
  metrics.CountRefusal(grpc::StatusCode::PERMISSION_DENIED,
                       "/caseline.v1.ContinuityViews/GetClientSummary");
  metrics.CountRefusal(grpc::StatusCode::INVALID_ARGUMENT, "/made.Up/Method");
  metrics.CountRefusal(grpc::StatusCode::INVALID_ARGUMENT, "no-slash");

  const std::string text = metrics.Scrape();
  std::map<std::string, double> s = Samples(text);
  EXPECT_EQ(s["caseline_grpc_refusals_total{code=\"NOT_FOUND\",method=\"/"
              "caseline.v1.EventLog/ReadStream\"}"],
            2);
  EXPECT_EQ(s["caseline_grpc_refusals_total{code=\"PERMISSION_DENIED\","
              "method=\"/caseline.v1.ContinuityViews/GetClientSummary\"}"],
            1);
  EXPECT_EQ(
      s["caseline_grpc_refusals_total{code=\"INVALID_ARGUMENT\",method=\"other\"}"],
      2);
  EXPECT_THAT(text, HasSubstr("# TYPE caseline_grpc_refusals_total counter"));
  EXPECT_THAT(text, Not(HasSubstr("code=\"OK\"")));
  EXPECT_THAT(text, Not(HasSubstr("made.Up")));
}

TEST(MetricsTest, ScrapeTimeSeriesComeFromTheSources) {
  Metrics metrics;
  uint64_t head = 10;
  MetricsSources sources;
  sources.head_position = [&head] { return head; };
  sources.projection_positions = [] {
    return std::vector<std::pair<std::string, uint64_t>>{{"continuity", 7},
                                                         {"access", 10}};
  };
  sources.open_subscriptions = [] { return uint64_t{3}; };
  sources.access_records = [] {
    return std::vector<std::pair<std::string, uint64_t>>{{"success", 5},
                                                         {"denied", 1}};
  };
  metrics.SetSources(std::move(sources));

  std::map<std::string, double> s = Samples(metrics.Scrape());
  // A single node: committed and applied are the head, and it leads.
  EXPECT_EQ(s["caseline_log_committed_position{node=\"single\"}"], 10);
  EXPECT_EQ(s["caseline_log_applied_position{node=\"single\"}"], 10);
  EXPECT_EQ(s["caseline_node_leader{node=\"single\"}"], 1);
  EXPECT_EQ(
      s["caseline_projection_applied_position{projection=\"continuity\"}"], 7);
  EXPECT_EQ(s["caseline_projection_lag_events{projection=\"continuity\"}"], 3);
  EXPECT_EQ(s["caseline_projection_lag_events{projection=\"access\"}"], 0);
  EXPECT_EQ(s["caseline_subscriptions_open"], 3);
  EXPECT_EQ(s["caseline_access_records_written_total{outcome=\"success\"}"], 5);
  EXPECT_EQ(s["caseline_access_records_written_total{outcome=\"denied\"}"], 1);

  head = 12;
  s = Samples(metrics.Scrape());
  EXPECT_EQ(s["caseline_log_committed_position{node=\"single\"}"], 12);
  EXPECT_EQ(s["caseline_projection_lag_events{projection=\"access\"}"], 2);

  // Cluster wiring replaces the node's state.
  metrics.SetNodeState(
      [] { return NodeState{"node-2", 40, 38, /*leader=*/false}; });
  const std::string text = metrics.Scrape();
  s = Samples(text);
  EXPECT_EQ(s["caseline_log_committed_position{node=\"node-2\"}"], 40);
  EXPECT_EQ(s["caseline_log_applied_position{node=\"node-2\"}"], 38);
  EXPECT_EQ(s["caseline_node_leader{node=\"node-2\"}"], 0);
  EXPECT_THAT(text, Not(HasSubstr("node=\"single\"")));

  // Cleared sources (the server shutting down): their series go.
  metrics.SetSources({});
  metrics.SetNodeState(nullptr);
  EXPECT_THAT(metrics.Scrape(), Not(HasSubstr("caseline_projection_lag")));
}

TEST(MetricsTest, TextFormatHasHelpAndTypeForScrapeTimeSeries) {
  Metrics metrics;
  MetricsSources sources;
  sources.head_position = [] { return uint64_t{1}; };
  sources.open_subscriptions = [] { return uint64_t{0}; };
  metrics.SetSources(std::move(sources));
  const std::string text = metrics.Scrape();
  EXPECT_THAT(text, HasSubstr("# TYPE caseline_log_committed_position gauge"));
  EXPECT_THAT(text, HasSubstr("# HELP caseline_node_leader "));
  EXPECT_THAT(text, HasSubstr("# TYPE caseline_subscriptions_open gauge"));
  EXPECT_EQ(std::string(kMetricsContentType),
            "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace caseline::server
