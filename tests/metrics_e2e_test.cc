// GET /metrics (docs/metrics.md) on the console's listener of an in-process
// caselined, over real HTTP and HTTPS on loopback: the Prometheus text
// format and its Content-Type, and every series moving as appends, reads,
// refusals and subscriptions happen. Who may scrape: anyone who reaches the
// loopback listener without TLS; with TLS any certificate the client CA
// issued, whatever organisation it names, and nobody else.
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "server/metrics.h"
#include "tests/access_util.h"
#include "tests/health_util.h"

namespace caseline {
namespace {

using testing::AccessNetwork;
using testing::AccessNetworkOptions;
using ::testing::HasSubstr;

using Samples = std::map<std::string, double>;

// "name{labels}" -> value, for every sample line of a text-format scrape.
Samples Parse(const std::string& text) {
  Samples samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

// One scrape of `client`; fails the test unless it is a 200 in the text
// format.
Samples Scrape(httplib::Client& client) {
  httplib::Result result = client.Get("/metrics");
  if (!result) {
    ADD_FAILURE() << "no HTTP response: " << httplib::to_string(result.error());
    return {};
  }
  EXPECT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"),
            server::kMetricsContentType);
  return Parse(result->body);
}

// Scrapes until `done` holds for a scrape (bounded: 10 s); returns the last.
template <typename F>
Samples ScrapeUntil(httplib::Client& client, F done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  Samples s = Scrape(client);
  while (!done(s) && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s = Scrape(client);
  }
  EXPECT_TRUE(done(s)) << "the scrapes never showed what was waited for";
  return s;
}

constexpr char kCommitted[] = "caseline_log_committed_position{node=\"single\"}";
constexpr char kApplied[] = "caseline_log_applied_position{node=\"single\"}";
constexpr char kDeniedSummary[] =
    "caseline_grpc_refusals_total{code=\"PERMISSION_DENIED\",method=\"/"
    "caseline.v1.ContinuityViews/GetClientSummary\"}";
constexpr char kRecordsSuccess[] =
    "caseline_access_records_written_total{outcome=\"success\"}";
constexpr char kRecordsDenied[] =
    "caseline_access_records_written_total{outcome=\"denied\"}";

TEST(MetricsE2eTest, SeriesMoveWithAppendsReadsRefusalsAndSubscriptions) {
  AccessNetworkOptions options;
  options.agencies = {{"home-care", v1::ORGANIZATION_TYPE_HOME_CARE},
                      {"outsider", v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY}};
  options.http_console = true;
  AccessNetwork network(std::move(options));
  ASSERT_TRUE(network.ok());
  httplib::Client client(
      absl::StrCat("http://", network.server().http_address()));
  client.set_read_timeout(10);

  // The two organisations registered themselves: two appends, two events.
  Samples before = Scrape(client);
  const uint64_t head_before = network.server().event_log().HeadPosition();
  ASSERT_GE(head_before, 2u);
  EXPECT_EQ(before[kCommitted], static_cast<double>(head_before));
  EXPECT_EQ(before[kApplied], static_cast<double>(head_before));
  EXPECT_EQ(before["caseline_node_leader{node=\"single\"}"], 1);
  EXPECT_GE(before["caseline_append_latency_seconds_count"], 2);
  EXPECT_GE(before["caseline_group_commit_events_sum"], 2);
  EXPECT_GE(before["caseline_log_sync_duration_seconds_count"], 1);
  for (const char* projection : {"continuity", "duplication", "access"}) {
    EXPECT_TRUE(before.contains(absl::StrCat(
        "caseline_projection_lag_events{projection=\"", projection, "\"}")))
        << projection;
  }
  EXPECT_EQ(before["caseline_subscriptions_open"], 0);
  EXPECT_EQ(before[kRecordsSuccess], 0);
  EXPECT_EQ(before[kRecordsDenied], 0);
  EXPECT_EQ(before[kDeniedSummary], 0);

  // Appends: the client's registration and an assessment.
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "home-care", "Clients.RegisterClient", "c1",
      {{"client_registered", {{"name", {{"family", "Okafor"}}}}}}));
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "home-care", "Plans.RecordAssessment", "c1",
      {{"assessment_recorded",
        {{"assessment_id", "a1"},
         {"domains",
          {{{"domain", "SERVICE_CATEGORY_HOUSING"},
            {"need_level", "NEED_LEVEL_LOW"}}}}}}}));
  // A refused read (recorded as denied) and an auditor's read (recorded).
  v1::GetClientSummaryResponse summary;
  EXPECT_EQ(network.Summary("outsider", "c1", &summary).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(network.Summary(testing::kAuditor, "c1", &summary).ok());

  // Every projection catches up with the head, which counts every append.
  const uint64_t head = network.server().event_log().HeadPosition();
  ASSERT_GE(head, head_before + 4);
  Samples after = ScrapeUntil(client, [head](Samples& s) {
    return s["caseline_projection_lag_events{projection=\"continuity\"}"] ==
               0 &&
           s["caseline_projection_lag_events{projection=\"duplication\"}"] ==
               0 &&
           s["caseline_projection_lag_events{projection=\"access\"}"] == 0 &&
           s["caseline_projection_applied_position{projection=\"access\"}"] ==
               static_cast<double>(head);
  });
  EXPECT_EQ(after[kCommitted], static_cast<double>(head));
  EXPECT_EQ(after[kApplied], static_cast<double>(head));
  EXPECT_EQ(after["caseline_append_latency_seconds_count"] -
                before["caseline_append_latency_seconds_count"],
            static_cast<double>(head - head_before))
      << "one append request per event here";
  EXPECT_EQ(after["caseline_group_commit_events_sum"] -
                before["caseline_group_commit_events_sum"],
            static_cast<double>(head - head_before));
  EXPECT_GT(after["caseline_log_sync_duration_seconds_count"],
            before["caseline_log_sync_duration_seconds_count"]);
  EXPECT_GT(after["caseline_log_sync_duration_seconds_sum"], 0);
  EXPECT_EQ(after["caseline_append_latency_seconds_bucket{le=\"+Inf\"}"],
            after["caseline_append_latency_seconds_count"]);
  EXPECT_EQ(after[kDeniedSummary], 1);
  EXPECT_EQ(after[kRecordsDenied], 1);
  EXPECT_EQ(after[kRecordsSuccess], 1);

  // A subscription is counted while open.
  grpc::ClientContext context;
  AccessNetwork::Act(&context, testing::kAuditor);
  v1::SubscribeRequest request;
  request.mutable_from_end();
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      network.log()->Subscribe(&context, request);
  ScrapeUntil(client,
              [](Samples& s) { return s["caseline_subscriptions_open"] == 1; });
  context.TryCancel();
  v1::SubscribeResponse message;
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ScrapeUntil(client,
              [](Samples& s) { return s["caseline_subscriptions_open"] == 0; });
}

TEST(MetricsE2eTest, RequestsThatDoNotParseAreCountedAsTheirAnswer) {
  AccessNetworkOptions options;
  options.http_console = true;
  AccessNetwork network(std::move(options));
  ASSERT_TRUE(network.ok());
  httplib::Client client(
      absl::StrCat("http://", network.server().http_address()));

  // Bytes that are not a ReadStreamRequest: INVALID_ARGUMENT, set by the
  // server's other interceptor before this one counts it.
  const grpc::Status status = testing::CallWithBytes(
      network.channel(testing::kAuditor), "/caseline.v1.EventLog/ReadStream",
      std::string("\xff\xff\xff\xff", 4));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  Samples s = Scrape(client);
  EXPECT_EQ(s["caseline_grpc_refusals_total{code=\"INVALID_ARGUMENT\",method="
              "\"/caseline.v1.EventLog/ReadStream\"}"],
            1);
  EXPECT_EQ(s["caseline_grpc_refusals_total{code=\"INTERNAL\",method="
              "\"/caseline.v1.EventLog/ReadStream\"}"],
            0);
}

// HTTPS: a certificate the client CA issued may scrape, whatever
// organisation it names (the access config lists no "scraper"); none, or
// another CA's, may not.
TEST(MetricsE2eTest, WithTlsAnyCertificateOfTheClientCaMayScrape) {
  testing::ScratchDir certs("metrics_certs");
  const std::string script =
      absl::StrCat(CASELINE_SOURCE_DIR, "/deploy/make-dev-certs.sh");
  ASSERT_EQ(std::system(absl::StrCat("bash ", script, " ", certs.path(),
                                     "/ca hospital scraper > /dev/null")
                            .c_str()),
            0);
  ASSERT_EQ(std::system(absl::StrCat("bash ", script, " ", certs.path(),
                                     "/rogue scraper > /dev/null")
                            .c_str()),
            0);
  AccessNetworkOptions options;
  options.agencies = {{"hospital", v1::ORGANIZATION_TYPE_HOSPITAL}};
  options.http_console = true;
  options.transport = testing::Transport::kMutualTls;
  options.certs_dir = absl::StrCat(certs.path(), "/ca");
  AccessNetwork network(std::move(options));
  ASSERT_TRUE(network.ok());

  auto as = [&](const std::string& ca, const std::string& org) {
    const std::string dir = absl::StrCat(certs.path(), "/", ca, "/");
    const std::string url =
        absl::StrCat("https://", network.server().http_address());
    std::unique_ptr<httplib::Client> client =
        org.empty() ? std::make_unique<httplib::Client>(url)
                    : std::make_unique<httplib::Client>(url, dir + org + ".pem",
                                                        dir + org + ".key");
    client->set_ca_cert_path(absl::StrCat(certs.path(), "/ca/ca.pem"));
    client->enable_server_certificate_verification(true);
    client->set_read_timeout(10);
    return client;
  };
  Samples s = Scrape(*as("ca", "scraper"));
  EXPECT_GE(s[kCommitted], 1);
  EXPECT_GE(Scrape(*as("ca", "hospital"))[kCommitted], 1);

  for (const auto& [ca, org, why] :
       {std::tuple{"ca", "", "no client certificate"},
        std::tuple{"rogue", "scraper",
                   "not issued by this server's client CA"}}) {
    httplib::Result result = as(ca, org)->Get("/metrics");
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    EXPECT_EQ(result->status, 401) << ca << " " << org;
    EXPECT_THAT(result->body, HasSubstr(why));
    EXPECT_THAT(result->body, ::testing::Not(HasSubstr("caseline_")));
  }
}

}  // namespace
}  // namespace caseline
