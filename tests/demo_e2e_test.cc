// End-to-end tests of the demo care network (tools/demo.h): RunDemo against an
// in-process caselined over real gRPC on a loopback port, read back through
// caseline.v1.EventLog.
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/care_record.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/test_util.h"
#include "tools/demo.h"

namespace caseline {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

constexpr int kClients = 40;

tools::DemoOptions SmallDemo() {
  tools::DemoOptions options;
  options.clients = kClients;
  options.seed = 1;
  return options;
}

v1::CareEvent Care(const v1::Event& event) {
  v1::CareEvent care;
  EXPECT_TRUE(care.ParseFromString(event.payload())) << event.event_type();
  return care;
}

absl::Time OccurredAt(const v1::Event& event) {
  return absl::FromUnixSeconds(event.occurred_at().seconds()) +
         absl::Nanoseconds(event.occurred_at().nanos());
}

// One server loaded once with the small demo, shared by the read-only tests.
class DemoE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new testing::LoopbackServer("demo_e2e");
    ASSERT_TRUE(server_->ok());
    absl::StatusOr<tools::DemoSummary> summary =
        tools::RunDemo(server_->channel(), SmallDemo());
    ASSERT_TRUE(summary.ok()) << summary.status();
    summary_ = new tools::DemoSummary(*summary);
  }
  static void TearDownTestSuite() {
    delete summary_;
    summary_ = nullptr;
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(summary_, nullptr);
  }

  static testing::LoopbackServer* server_;
  static tools::DemoSummary* summary_;
};

testing::LoopbackServer* DemoE2eTest::server_ = nullptr;
tools::DemoSummary* DemoE2eTest::summary_ = nullptr;

TEST_F(DemoE2eTest, SummaryCountsWhatWasWritten) {
  EXPECT_EQ(summary_->organizations, 13);
  EXPECT_EQ(summary_->scenario_clients, 10);
  EXPECT_EQ(summary_->duplicate_registrations, 1);  // client 5 of 40
  EXPECT_EQ(summary_->clients, 10 + kClients + 1);
  EXPECT_EQ(summary_->already_applied, 0);
  EXPECT_EQ(summary_->events_written, summary_->commands);
  EXPECT_EQ(static_cast<int64_t>(server_->Head()), summary_->events_written);
  int64_t by_type = 0;
  for (const auto& [type, count] : summary_->events_by_type) by_type += count;
  EXPECT_EQ(by_type, summary_->events_written);
  EXPECT_EQ(summary_->events_by_type.at("ClientRegistered"), summary_->clients);

  const std::string json = tools::DemoSummaryToJson(*summary_);
  EXPECT_THAT(json, HasSubstr("\"organizations\":13,"));
  EXPECT_THAT(json, HasSubstr("\"events_by_type\":{\"AdmissionRecorded\":"));
}

TEST_F(DemoE2eTest, EveryBusinessTimeIsBeforeTheBaseDate) {
  const absl::Time base =
      absl::FromCivil(SmallDemo().base_date, absl::UTCTimeZone());
  absl::Time earliest_client_event = absl::InfiniteFuture();
  for (const v1::Event& e : server_->ReadAll()) {
    EXPECT_LT(OccurredAt(e), base) << e.stream_id() << " " << e.event_type();
    if (e.stream_id() != "organizations") {
      earliest_client_event = std::min(earliest_client_event, OccurredAt(e));
    }
  }
  // Spread over months (a reentry booking goes back years).
  EXPECT_LT(earliest_client_event, base - absl::Hours(24 * 300));
}

TEST_F(DemoE2eTest, TheSixScenariosAreNamedClients) {
  for (const std::string& id : tools::ScenarioClientIds()) {
    const std::vector<v1::Event> events = server_->ReadStream("client-" + id);
    ASSERT_GE(events.size(), 10u) << id;
    EXPECT_EQ(events[0].event_type(), "ClientRegistered") << id;
    std::set<std::string> types;
    for (const v1::Event& e : events) types.insert(e.event_type());
    EXPECT_THAT(types, IsSupersetOf({"CaseOpened", "ConsentGiven",
                                     "AssessmentRecorded", "ReferralSent",
                                     "CareTeamMemberAdded", "TeamMeetingHeld"}))
        << id;
  }
}

// Scenario 1: consent to share with parole, county social services, job
// placement and behavioural health; a month later a team meeting with all of
// them and the client.
TEST_F(DemoE2eTest, ReentryScenarioFollowsTheStory) {
  const std::vector<v1::Event> events =
      server_->ReadStream("client-scenario-reentry");
  const std::set<std::string> partners{
      "org-county-court-parole", "org-county-social-services",
      "org-community-action", "org-harbor-behavioral"};
  std::optional<absl::Time> consent_at;
  std::map<std::string, std::string> member_org;
  int leads = 0;
  bool met = false;
  for (const v1::Event& e : events) {
    const v1::CareEvent care = Care(e);
    if (care.has_consent_given() && !consent_at.has_value()) {
      const auto& ids = care.consent_given().recipient_organization_ids();
      EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), partners);
      EXPECT_FALSE(care.consent_given().has_representative());
      consent_at = OccurredAt(e);
    }
    if (care.has_care_team_member_added()) {
      const auto& added = care.care_team_member_added();
      member_org[added.member_id()] = added.organization_id();
      if (added.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER) ++leads;
    }
    if (care.has_team_meeting_held() && !met) {
      met = true;
      ASSERT_TRUE(consent_at.has_value());
      const absl::Duration after = OccurredAt(e) - *consent_at;
      EXPECT_GE(after, absl::Hours(24 * 28));
      EXPECT_LE(after, absl::Hours(24 * 32));
      EXPECT_TRUE(care.team_meeting_held().client_attended());
      std::set<std::string> orgs;
      for (const std::string& member :
           care.team_meeting_held().attendee_member_ids()) {
        orgs.insert(member_org[member]);
      }
      EXPECT_THAT(orgs, IsSupersetOf(partners));
    }
  }
  EXPECT_TRUE(met);
  EXPECT_EQ(leads, 1);
}

// Every referral's last step, over the whole log: all eight lifecycle states
// are present, and both warm and cold referrals.
TEST_F(DemoE2eTest, ReferralsReachEveryLifecycleState) {
  std::map<std::pair<std::string, std::string>, std::string> last_step;
  std::set<v1::ReferralKind> kinds;
  std::map<std::string, int> counts;
  for (const v1::Event& e : server_->ReadAll("Referral")) {
    const v1::CareEvent care = Care(e);
    std::string id;
    switch (care.event_case()) {
      case v1::CareEvent::kReferralSent:
        id = care.referral_sent().referral_id();
        kinds.insert(care.referral_sent().kind());
        break;
      case v1::CareEvent::kReferralAccepted:
        id = care.referral_accepted().referral_id();
        break;
      case v1::CareEvent::kReferralDeclined:
        id = care.referral_declined().referral_id();
        break;
      case v1::CareEvent::kReferralOnHold:
        id = care.referral_on_hold().referral_id();
        break;
      case v1::CareEvent::kReferralStarted:
        id = care.referral_started().referral_id();
        break;
      case v1::CareEvent::kReferralCompleted:
        id = care.referral_completed().referral_id();
        break;
      case v1::CareEvent::kReferralFailed:
        id = care.referral_failed().referral_id();
        break;
      case v1::CareEvent::kReferralCancelled:
        id = care.referral_cancelled().referral_id();
        break;
      default:
        ADD_FAILURE() << "unexpected " << e.event_type();
    }
    ++counts[e.event_type()];
    last_step[{e.stream_id(), id}] = e.event_type();
  }
  std::set<std::string> states;
  for (const auto& [referral, step] : last_step) states.insert(step);
  // requested, accepted, declined, on hold, in progress, completed, failed,
  // cancelled.
  EXPECT_EQ(states,
            (std::set<std::string>{"ReferralSent", "ReferralAccepted",
                                   "ReferralDeclined", "ReferralOnHold",
                                   "ReferralStarted", "ReferralCompleted",
                                   "ReferralFailed", "ReferralCancelled"}));
  EXPECT_EQ(counts.size(), 8u);
  EXPECT_EQ(kinds, (std::set<v1::ReferralKind>{v1::REFERRAL_KIND_WARM,
                                               v1::REFERRAL_KIND_COLD}));
}

TEST_F(DemoE2eTest, DuplicateRegistrationIsANearMatchUnderAnotherId) {
  const std::vector<v1::Event> original =
      server_->ReadStream("client-s1-c00005");
  const std::vector<v1::Event> twin = server_->ReadStream("client-s1-d00005");
  ASSERT_FALSE(original.empty());
  ASSERT_FALSE(twin.empty());
  const v1::ClientRegistered a = Care(original[0]).client_registered();
  const v1::ClientRegistered b = Care(twin[0]).client_registered();
  EXPECT_NE(original[0].actor().organization_id(),
            twin[0].actor().organization_id());
  // Not identical, but close.
  int differing = 0;
  differing += a.name().given() != b.name().given();
  differing += a.name().family() != b.name().family();
  differing +=
      a.birth_date().SerializeAsString() != b.birth_date().SerializeAsString();
  differing += a.phone() != b.phone();
  EXPECT_GE(differing, 1);
  EXPECT_EQ(a.birth_date().year(), b.birth_date().year());
}

TEST_F(DemoE2eTest, ARerunWithTheSameSeedWritesNothing) {
  const uint64_t head = server_->Head();
  absl::StatusOr<tools::DemoSummary> again =
      tools::RunDemo(server_->channel(), SmallDemo());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->events_written, 0);
  EXPECT_EQ(again->commands, summary_->commands);
  EXPECT_EQ(again->already_applied, summary_->commands);
  EXPECT_EQ(again->events_by_type, summary_->events_by_type);
  EXPECT_EQ(server_->Head(), head);
}

// Per stream: event types, payload bytes, event ids and business times.
using StreamContents = std::map<
    std::string,
    std::vector<std::tuple<std::string, std::string, std::string, int64_t>>>;

StreamContents Contents(testing::LoopbackServer& server) {
  StreamContents out;
  for (const v1::Event& e : server.ReadAll()) {
    out[e.stream_id()].emplace_back(e.event_type(), e.payload(), e.event_id(),
                                    e.occurred_at().seconds());
  }
  return out;
}

TEST(DemoDeterminismTest, SameSeedGivesTheSameStreamsOnTwoServers) {
  testing::LoopbackServer first{"demo_e2e"};
  testing::LoopbackServer second{"demo_e2e"};
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  tools::DemoOptions options = SmallDemo();
  options.concurrency = 8;
  absl::StatusOr<tools::DemoSummary> a =
      tools::RunDemo(first.channel(), options);
  options.concurrency = 2;  // other interleavings, same streams
  absl::StatusOr<tools::DemoSummary> b =
      tools::RunDemo(second.channel(), options);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->events_by_type, b->events_by_type);
  const StreamContents ca = Contents(first);
  const StreamContents cb = Contents(second);
  EXPECT_EQ(ca.size(), 1u + 10 + kClients + 1);  // organizations + clients
  ASSERT_EQ(ca.size(), cb.size());
  for (const auto& [stream, events] : ca) {
    auto it = cb.find(stream);
    ASSERT_NE(it, cb.end()) << stream;
    EXPECT_TRUE(events == it->second) << "stream " << stream << " differs";
  }
}

TEST(DemoDeterminismTest, AnotherSeedGivesAnotherPopulation) {
  testing::LoopbackServer server{"demo_e2e"};
  ASSERT_TRUE(server.ok());
  tools::DemoOptions options = SmallDemo();
  options.clients = 3;
  ASSERT_TRUE(tools::RunDemo(server.channel(), options).ok());
  options.seed = 2;
  absl::StatusOr<tools::DemoSummary> other =
      tools::RunDemo(server.channel(), options);
  ASSERT_TRUE(other.ok()) << other.status();
  // The organisations and scenario clients are shared; the synthetic
  // clients are new.
  EXPECT_GT(other->already_applied, 0);
  EXPECT_GT(other->events_written, 0);
  EXPECT_FALSE(server.ReadStream("client-s2-c00001").empty());
  EXPECT_FALSE(server.ReadStream("client-s1-c00001").empty());
}

TEST(DemoFailureTest, StopsAtTheFirstRefusedCommandAndNamesIt) {
  testing::LoopbackServer server{"demo_e2e"};
  ASSERT_TRUE(server.ok());
  // Someone else already registered a client under a scenario's id.
  {
    auto organizations = v1::Organizations::NewStub(server.channel());
    v1::RegisterOrganizationRequest request;
    request.set_command_id("other-org");
    request.mutable_organization_registered()->set_organization_id("org-other");
    request.mutable_organization_registered()->set_name("Other");
    request.mutable_organization_registered()->set_type(
        v1::ORGANIZATION_TYPE_HOSPITAL);
    grpc::ClientContext context;
    context.AddMetadata("x-caseline-org", "org-other");
    v1::CommandResult result;
    ASSERT_TRUE(
        organizations->RegisterOrganization(&context, request, &result).ok());
  }
  {
    auto clients = v1::Clients::NewStub(server.channel());
    v1::RegisterClientRequest request;
    request.set_command_id("other-client");
    request.set_client_id("scenario-stroke");
    request.mutable_client_registered()->mutable_name()->set_family("Somebody");
    grpc::ClientContext context;
    context.AddMetadata("x-caseline-org", "org-other");
    v1::CommandResult result;
    ASSERT_TRUE(clients->RegisterClient(&context, request, &result).ok());
  }
  tools::DemoOptions options = SmallDemo();
  options.clients = 0;
  options.concurrency = 1;
  absl::StatusOr<tools::DemoSummary> summary =
      tools::RunDemo(server.channel(), options);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(summary.status().message(), HasSubstr("client scenario-stroke"));
  EXPECT_THAT(summary.status().message(), HasSubstr("demo-scenario-stroke-0"));
  EXPECT_THAT(summary.status().message(), HasSubstr("Clients.RegisterClient"));
  EXPECT_THAT(summary.status().message(), HasSubstr("already registered"));
}

TEST(DemoOptionsTest, RefusesOptionsOutOfRange) {
  const absl::Time now =
      absl::FromCivil(absl::CivilDay(2026, 3, 1), absl::UTCTimeZone());
  tools::DemoOptions options;
  EXPECT_TRUE(tools::ValidateDemoOptions(options, now).ok());
  options.base_date = absl::CivilDay(2026, 3, 2);
  EXPECT_THAT(tools::ValidateDemoOptions(options, now).message(),
              HasSubstr("future"));
  options = tools::DemoOptions();
  options.clients = -1;
  EXPECT_THAT(tools::ValidateDemoOptions(options, now).message(),
              HasSubstr("--clients"));
  options = tools::DemoOptions();
  options.concurrency = 0;
  EXPECT_THAT(tools::ValidateDemoOptions(options, now).message(),
              HasSubstr("--concurrency"));
}

}  // namespace
}  // namespace caseline
