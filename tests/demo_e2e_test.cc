// End-to-end tests of the demo care network (tools/demo/demo.h): RunDemo against an
// in-process caselined over real gRPC on a loopback port, read back through
// caseline.v1.EventLog and through the views (ContinuityViews,
// DuplicationViews, AuditViews): a discharge planner's worklist, scenario
// clients' summaries and gaps, every kind of duplication finding, the
// measures against the demo's own events, a timeline, a replay as of a past
// date, and the foster teens' accounting of disclosures.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/care_record.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/test_util.h"
#include "tests/views_util.h"
#include "tools/demo/demo.h"

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
  EXPECT_EQ(summary_->example_clients, 2);          // the twins
  EXPECT_EQ(summary_->duplicate_registrations, 1);  // client 5 of 40
  EXPECT_EQ(summary_->clients, 10 + 2 + kClients + 1);
  EXPECT_EQ(summary_->already_applied, 0);
  EXPECT_EQ(summary_->events_written, summary_->commands);
  EXPECT_EQ(static_cast<int64_t>(server_->Head()), summary_->events_written);
  int64_t by_type = 0;
  for (const auto& [type, count] : summary_->events_by_type) by_type += count;
  EXPECT_EQ(by_type, summary_->events_written);
  EXPECT_EQ(summary_->events_by_type.at("ClientRegistered"), summary_->clients);
  // The foster teens' court-ordered releases; the twins' dismissal.
  EXPECT_EQ(summary_->events_by_type.at("InformationDisclosed"), 2);
  EXPECT_EQ(summary_->events_by_type.at("DuplicateDismissed"), 1);
  EXPECT_EQ(summary_->events_by_type.at("WorklistItemClaimed"), 1);

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

// ============================================================================
// The views over the demo (issue 4's "done means": after the demo, a
// planner's worklist, a client's summary with gaps, the duplicate findings,
// the measures, a client's timeline, its state as of a past date and its
// accounting of disclosures are all answered correctly). Gaps, worklists and
// summaries are judged at the demo's "today" (base_date), so the answers do
// not depend on the day the test runs.
// ============================================================================

constexpr char kMercy[] = "org-mercy-general";

absl::Time BaseTime() {
  return absl::FromCivil(SmallDemo().base_date, absl::UTCTimeZone());
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
  out->set_nanos(0);
}

// Whole UTC calendar days from the date of `from` to the date of `to`.
int64_t CalendarDays(absl::Time from, absl::Time to) {
  const absl::CivilDay a = absl::ToCivilDay(from, absl::UTCTimeZone());
  const absl::CivilDay b = absl::ToCivilDay(to, absl::UTCTimeZone());
  return b - a;
}

using GapKeys = std::set<std::pair<v1::GapReason, std::string>>;

GapKeys KeysOf(const google::protobuf::RepeatedPtrField<v1::Gap>& gaps) {
  GapKeys out;
  for (const v1::Gap& gap : gaps) out.emplace(gap.reason(), gap.subject_id());
  return out;
}

class DemoViewsTest : public DemoE2eTest {
 protected:
  void SetUp() override {
    DemoE2eTest::SetUp();
    continuity_ = v1::ContinuityViews::NewStub(server_->channel());
    duplication_ = v1::DuplicationViews::NewStub(server_->channel());
    audit_ = v1::AuditViews::NewStub(server_->channel());
  }

  v1::ClientSummary Summary(const std::string& client) {
    v1::GetClientSummaryRequest request;
    request.set_client_id(client);
    SetTime(BaseTime(), request.mutable_at());
    grpc::ClientContext context;
    testing::SetTestDeadline(&context);
    v1::GetClientSummaryResponse response;
    const grpc::Status status =
        continuity_->GetClientSummary(&context, request, &response);
    EXPECT_TRUE(status.ok()) << client << ": " << status.error_message();
    return response.summary();
  }

  GapKeys Gaps(const std::string& client) {
    v1::ListGapsRequest request;
    request.set_client_id(client);
    SetTime(BaseTime(), request.mutable_at());
    grpc::ClientContext context;
    testing::SetTestDeadline(&context);
    v1::ListGapsResponse response;
    const grpc::Status status =
        continuity_->ListGaps(&context, request, &response);
    EXPECT_TRUE(status.ok()) << client << ": " << status.error_message();
    return KeysOf(response.gaps());
  }

  // Every finding of every status, network-wide, after the whole demo.
  std::vector<v1::Finding> AllFindings() {
    std::vector<v1::Finding> out;
    v1::ListFindingsRequest request;
    request.set_min_position(server_->Head());
    request.set_page_size(1000);
    for (v1::FindingStatus s :
         {v1::FINDING_STATUS_OPEN, v1::FINDING_STATUS_RESOLVED,
          v1::FINDING_STATUS_DISMISSED}) {
      request.add_statuses(s);
    }
    while (true) {
      grpc::ClientContext context;
      testing::SetTestDeadline(&context);
      v1::ListFindingsResponse response;
      const grpc::Status status =
          duplication_->ListFindings(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      out.insert(out.end(), response.findings().begin(),
                 response.findings().end());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return out;
  }

  std::unique_ptr<v1::ContinuityViews::Stub> continuity_;
  std::unique_ptr<v1::DuplicationViews::Stub> duplication_;
  std::unique_ptr<v1::AuditViews::Stub> audit_;
};

// Mercy General's discharge planners: transitions due, follow-ups due, stale
// referrals, discharges without an accepted receiver and services ended
// without a successor, most overdue first, with who holds what.
TEST_F(DemoViewsTest, MercyDischargePlannersWorklistIsSortedByDue) {
  v1::GetWorklistRequest request;
  request.set_organization_id(kMercy);
  SetTime(BaseTime(), request.mutable_at());
  request.set_page_size(1000);
  request.set_min_position(server_->Head());
  grpc::ClientContext context;
  testing::SetTestDeadline(&context);
  v1::GetWorklistResponse response;
  const grpc::Status status =
      continuity_->GetWorklist(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(response.view_position(), server_->Head());
  EXPECT_TRUE(response.next_page_token().empty());
  ASSERT_FALSE(response.items().empty());

  std::set<v1::WorklistItemKind> kinds;
  std::map<std::tuple<std::string, std::string, v1::WorklistItemKind>,
           v1::WorklistItem>
      by_subject;
  absl::Time previous = absl::InfinitePast();
  const absl::Time horizon = BaseTime() + absl::Hours(24 * 7);
  for (const v1::WorklistItem& item : response.items()) {
    EXPECT_EQ(item.organization_id(), kMercy);
    const absl::Time due = ToTime(item.due());
    EXPECT_LE(previous, due) << item.ShortDebugString();
    EXPECT_LE(due, horizon) << item.ShortDebugString();
    EXPECT_EQ(item.overdue(), due <= BaseTime()) << item.ShortDebugString();
    EXPECT_FALSE(item.cause_positions().empty());
    previous = due;
    kinds.insert(item.kind());
    by_subject[{item.client_id(), item.subject_id(), item.kind()}] = item;
  }
  EXPECT_EQ(kinds,
            (std::set<v1::WorklistItemKind>{
                v1::WORKLIST_ITEM_KIND_TRANSITION_DUE,
                v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE,
                v1::WORKLIST_ITEM_KIND_STALE_REFERRAL,
                v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER,
                v1::WORKLIST_ITEM_KIND_SERVICE_ENDED_WITHOUT_SUCCESSOR}));
  // Discharges without an accepted receiver, overdue since they became
  // gaps, and nobody holds them yet.
  int receivers = 0;
  for (const auto& [key, item] : by_subject) {
    if (item.kind() !=
        v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER) {
      continue;
    }
    ++receivers;
    EXPECT_TRUE(item.overdue()) << item.ShortDebugString();
    EXPECT_TRUE(item.claimed_by_user_id().empty()) << item.ShortDebugString();
  }
  EXPECT_GT(receivers, 0);

  // Harold Bennett, admitted after a fall four days ago: his return home
  // is planned for two days from today.
  auto harold = by_subject.find({"scenario-older-couple-1", "tr-1",
                                 v1::WORKLIST_ITEM_KIND_TRANSITION_DUE});
  ASSERT_NE(harold, by_subject.end());
  EXPECT_FALSE(harold->second.overdue());
  EXPECT_EQ(ToTime(harold->second.due()), BaseTime() + absl::Hours(48));
  // Mercy's discharge planner has claimed it; her colleagues see that.
  EXPECT_EQ(harold->second.claimed_by_user_id(), "mercy.rivera");
  EXPECT_FALSE(harold->second.claim_note().empty());
  EXPECT_GT(harold->second.claim_position(), 0u);
  // The veteran's peer-group referral from the ED, never answered.
  auto veteran = by_subject.find(
      {"scenario-veteran", "ref-3", v1::WORKLIST_ITEM_KIND_STALE_REFERRAL});
  ASSERT_NE(veteran, by_subject.end());
  EXPECT_TRUE(veteran->second.overdue());
  // Client 23 of every 40: a psychiatric discharge with no follow-up and its
  // transition to Harbor never completed.
  EXPECT_TRUE(by_subject.count(
      {"s1-c00023", "adm-1", v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE}));
  EXPECT_TRUE(by_subject.count(
      {"s1-c00023", "tr-1", v1::WORKLIST_ITEM_KIND_TRANSITION_DUE}));
}

TEST_F(DemoViewsTest, ScenarioSummariesHaveTheirLeadAndGaps) {
  using P = std::pair<v1::GapReason, std::string>;
  struct Expected {
    std::string client;
    std::string lead;
    GapKeys gaps;
  };
  const std::vector<Expected> expected{
      {"scenario-reentry",
       "doc.morgan",
       {P{v1::GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR, "svc-4"},
        P{v1::GAP_REASON_TEAM_MEETING_OVERDUE, "mtg-2"}}},
      {"scenario-stroke",
       "eastside.lopez",  // handed over from the hospital's social worker
       {P{v1::GAP_REASON_REFERRAL_NOT_ANSWERED, "ref-4"},
        P{v1::GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR, "svc-2"},
        P{v1::GAP_REASON_TEAM_MEETING_OVERDUE, "mtg-2"}}},
      {"scenario-displaced-family-parent",
       "can.torres",
       {P{v1::GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR, "svc-1"},
        P{v1::GAP_REASON_SERVICE_INTERRUPTED_WITHOUT_SUCCESSOR, "svc-2"},
        P{v1::GAP_REASON_TEAM_MEETING_OVERDUE, "mtg-1"}}},
      {"scenario-older-couple-1",
       "dss.park",
       {P{v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED, "ref-2"}}},
      {"scenario-older-couple-2", "dss.park", {}},
      {"scenario-foster-teen-1",
       "dss.whitfield",
       {P{v1::GAP_REASON_TEAM_MEETING_OVERDUE, "mtg-1"}}},
      {"scenario-veteran",
       "harbor.adams",
       {P{v1::GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR, "svc-2"},
        P{v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED, "ref-2"},
        P{v1::GAP_REASON_REFERRAL_NOT_ANSWERED, "ref-3"},
        P{v1::GAP_REASON_TEAM_MEETING_OVERDUE, "mtg-2"}}},
      {"example-twins-1", "school.diaz", {}},
  };
  for (const Expected& e : expected) {
    const v1::ClientSummary summary = Summary(e.client);
    EXPECT_EQ(summary.state().case_status(), "open") << e.client;
    EXPECT_EQ(summary.lead_case_manager().member_id(), e.lead) << e.client;
    EXPECT_EQ(KeysOf(summary.gaps()), e.gaps) << e.client;
    EXPECT_EQ(Gaps(e.client), e.gaps) << e.client;
    for (const v1::Gap& gap : summary.gaps()) {
      EXPECT_FALSE(gap.description().empty());
      EXPECT_FALSE(gap.cause_positions().empty()) << gap.ShortDebugString();
      EXPECT_LE(ToTime(gap.since()), BaseTime()) << gap.ShortDebugString();
    }
  }

  // Harold is in hospital with his return home planned.
  const v1::ClientSummary harold = Summary("scenario-older-couple-1");
  EXPECT_EQ(harold.last_admission().facility_organization_id(), kMercy);
  EXPECT_FALSE(harold.last_admission().has_discharged_at());
  ASSERT_EQ(harold.planned_transitions_size(), 1);
  EXPECT_EQ(harold.planned_transitions(0).to_organization_id(),
            "org-homecare-partners");
  // The stroke patient: home, with home care and OT still active.
  const v1::ClientSummary stroke = Summary("scenario-stroke");
  EXPECT_TRUE(stroke.last_discharge().has_discharged_at());
  EXPECT_EQ(stroke.last_discharge().primary_need(),
            v1::SERVICE_CATEGORY_HEALTH_CARE);
  std::set<std::string> active;
  for (const v1::ServiceView& s : stroke.active_services())
    active.insert(s.service_id());
  EXPECT_EQ(active, (std::set<std::string>{"svc-1", "svc-3"}));

  // Client 23 of every 40: discharged from a psychiatric stay with no
  // follow-up.
  EXPECT_TRUE(
      Gaps("s1-c00023")
          .count({v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP, "adm-1"}));
}

// Across the network, the demo leaves gaps of most reasons open on its
// "today" (the scenarios and the measure-case clients guarantee these).
TEST_F(DemoViewsTest, GapsOfManyReasonsAreOpen) {
  std::map<v1::GapReason, int> reasons;
  for (const v1::Event& e : server_->ReadAll("ClientRegistered")) {
    for (const auto& [reason, subject] :
         Gaps(e.stream_id().substr(std::string("client-").size()))) {
      ++reasons[reason];
    }
  }
  for (v1::GapReason reason :
       {v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP,
        v1::GAP_REASON_REFERRAL_NOT_ANSWERED,
        v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED,
        v1::GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR,
        v1::GAP_REASON_SERVICE_INTERRUPTED_WITHOUT_SUCCESSOR,
        v1::GAP_REASON_TEAM_MEETING_OVERDUE}) {
    EXPECT_GT(reasons[reason], 0) << v1::GapReason_Name(reason);
  }
}

TEST_F(DemoViewsTest, FindingsIncludeEveryKindAndTheDismissedTwins) {
  const std::vector<v1::Finding> findings = AllFindings();
  std::map<std::string, v1::Finding> by_id;
  std::set<v1::FindingKind> kinds;
  for (const v1::Finding& f : findings) {
    by_id[f.finding_id()] = f;
    kinds.insert(f.kind());
  }
  EXPECT_EQ(kinds, (std::set<v1::FindingKind>{
                       v1::FINDING_KIND_OVERLAPPING_SERVICES,
                       v1::FINDING_KIND_SAME_DAY_SERVICES,
                       v1::FINDING_KIND_DUPLICATE_REFERRALS,
                       v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS}));

  auto status_of = [&](const std::string& id) {
    auto it = by_id.find(id);
    return it == by_id.end() ? v1::FINDING_STATUS_UNSPECIFIED
                             : it->second.status();
  };
  // The displaced family: two agencies' food services from the flood's
  // evening; the overlap ended when the county's closed, the same-day start
  // stays on record.
  EXPECT_EQ(status_of("same-day-services:scenario-displaced-family-parent:"
                      "FOOD:svc-2:svc-5"),
            v1::FINDING_STATUS_OPEN);
  EXPECT_EQ(status_of("overlapping-services:scenario-displaced-family-parent:"
                      "FOOD:svc-2:svc-5"),
            v1::FINDING_STATUS_RESOLVED);
  // The veteran's two open peer-group referrals.
  EXPECT_EQ(status_of("duplicate-referrals:scenario-veteran:SUPPORT_GROUP:"
                      "ref-2:ref-3"),
            v1::FINDING_STATUS_OPEN);
  // The second registration of client 5, open or (linked) resolved.
  EXPECT_NE(status_of("duplicate-clients:s1-c00005:s1-d00005"),
            v1::FINDING_STATUS_UNSPECIFIED);
  EXPECT_NE(status_of("duplicate-clients:s1-c00005:s1-d00005"),
            v1::FINDING_STATUS_DISMISSED);

  // The twins: in the review band, and dismissed with the reason given.
  const std::string twins = "duplicate-clients:example-twins-1:example-twins-2";
  ASSERT_TRUE(by_id.count(twins));
  const v1::Finding& pair = by_id[twins];
  EXPECT_EQ(pair.status(), v1::FINDING_STATUS_DISMISSED);
  EXPECT_EQ(pair.match_class(), v1::MATCH_CLASS_REVIEW);
  EXPECT_THAT(pair.status_reason(), HasSubstr("DuplicateDismissed"));
  EXPECT_THAT(pair.status_reason(), HasSubstr("Twins"));
  EXPECT_EQ(pair.comparisons_size(), 7);
  // Not among the client's open findings any more.
  v1::ListFindingsRequest open;
  open.set_client_id("example-twins-2");
  open.set_min_position(server_->Head());
  grpc::ClientContext context;
  testing::SetTestDeadline(&context);
  v1::ListFindingsResponse response;
  ASSERT_TRUE(duplication_->ListFindings(&context, open, &response).ok());
  for (const v1::Finding& f : response.findings()) {
    EXPECT_NE(f.finding_id(), twins);
  }
}

// The six measures over the whole demo, against the same rules applied here
// to the raw events (docs/views.md, care/continuity.h), and the
// measure cases the demo gives clients 3, 13, 17, 23, 33 and 37 of every 40.
TEST_F(DemoViewsTest, MeasuresAreWhatTheDemosEventsImply) {
  struct Stay {
    std::string client;
    std::string id;
    v1::LevelOfCare level = v1::LEVEL_OF_CARE_UNSPECIFIED;
    v1::ServiceCategory need = v1::SERVICE_CATEGORY_UNSPECIFIED;
    absl::Time admitted;
    std::optional<absl::Time> discharged;
    v1::DischargeDisposition disposition =
        v1::DISCHARGE_DISPOSITION_UNSPECIFIED;
  };
  struct FollowUp {
    absl::Time at;
    bool mental_health;
  };
  std::map<std::string, v1::OrganizationType> org_types;
  std::map<std::string, std::map<std::string, Stay>> stays;  // client, id
  std::map<std::string, std::vector<FollowUp>> follow_ups;
  std::map<std::pair<std::string, std::string>, bool> referrals;  // completed
  // TRC events by client and admission: their business times.
  std::map<std::pair<std::string, std::string>, std::vector<absl::Time>>
      notifications, receipts, reconciliations;
  // Events a correction marked entered in error count for nothing.
  const std::vector<v1::Event> all = server_->ReadAll();
  std::set<std::string> marked;
  for (const v1::Event& e : all) {
    const v1::CareEvent care = Care(e);
    if (care.has_event_entered_in_error()) {
      marked.insert(care.event_entered_in_error().event_id());
    }
  }
  // Every business time is before base_date, so every index event of the
  // demo is in the period asked for below.
  for (const v1::Event& e : all) {
    if (marked.count(e.event_id()) > 0) continue;
    const v1::CareEvent care = Care(e);
    const std::string client =
        e.stream_id().substr(std::string("client-").size());
    const absl::Time at = OccurredAt(e);
    if (care.has_organization_registered()) {
      org_types[care.organization_registered().organization_id()] =
          care.organization_registered().type();
    } else if (care.has_admission_recorded()) {
      const auto& a = care.admission_recorded();
      Stay& stay = stays[client][a.admission_id()];
      stay.client = client;
      stay.id = a.admission_id();
      stay.level = a.level_of_care();
      stay.need = a.primary_need();
      stay.admitted = at;
    } else if (care.has_discharge_recorded()) {
      Stay& stay = stays[client][care.discharge_recorded().admission_id()];
      stay.discharged = at;
      stay.disposition = care.discharge_recorded().disposition();
    } else if (care.has_follow_up_completed()) {
      const auto& f = care.follow_up_completed();
      const v1::Discipline d = f.provider_discipline();
      follow_ups[client].push_back(
          FollowUp{at, d == v1::DISCIPLINE_PSYCHIATRY ||
                           d == v1::DISCIPLINE_PSYCHOLOGY ||
                           d == v1::DISCIPLINE_SOCIAL_WORK ||
                           org_types[f.provider_organization_id()] ==
                               v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH});
    } else if (care.has_admission_notification_received()) {
      notifications[{client,
                     care.admission_notification_received().admission_id()}]
          .push_back(at);
    } else if (care.has_discharge_information_received()) {
      receipts[{client, care.discharge_information_received().admission_id()}]
          .push_back(at);
    } else if (care.has_medication_reconciliation_recorded()) {
      reconciliations[{client,
                       care.medication_reconciliation_recorded().admission_id()}]
          .push_back(at);
    } else if (care.has_referral_sent()) {
      referrals[{client, care.referral_sent().referral_id()}] = false;
    } else if (care.has_referral_completed()) {
      referrals[{client, care.referral_completed().referral_id()}] = true;
    }
  }
  // An inpatient admission of the client at or after the discharge of `s`,
  // within `days` calendar days of it.
  auto readmitted_within = [&](const Stay& s, int days) {
    for (const auto& [id, other] : stays[s.client]) {
      if (id != s.id && other.level == v1::LEVEL_OF_CARE_INPATIENT &&
          other.admitted >= *s.discharged &&
          CalendarDays(*s.discharged, other.admitted) <= days) {
        return true;
      }
    }
    return false;
  };
  struct Count {
    int64_t numerator = 0;
    int64_t denominator = 0;
    int64_t excluded = 0;
  };
  std::map<std::string, Count> expected;
  for (const auto& [client, by_id] : stays) {
    for (const auto& [id, s] : by_id) {
      const bool inpatient_discharge =
          s.level == v1::LEVEL_OF_CARE_INPATIENT && s.discharged.has_value();
      const bool deceased = s.disposition == v1::DISCHARGE_DISPOSITION_DECEASED;
      if (inpatient_discharge && s.need == v1::SERVICE_CATEGORY_MENTAL_HEALTH) {
        for (int window : {7, 30}) {
          Count& c = expected[absl::StrCat("FUH-", window)];
          if (deceased || s.disposition == v1::DISCHARGE_DISPOSITION_TRANSFER ||
              readmitted_within(s, 30)) {
            ++c.excluded;
            continue;
          }
          ++c.denominator;
          for (const FollowUp& f : follow_ups[client]) {
            const int64_t day = CalendarDays(*s.discharged, f.at);
            if (f.mental_health && day >= 1 && day <= window) {
              ++c.numerator;
              break;
            }
          }
        }
      }
      if (s.level == v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT &&
          s.need == v1::SERVICE_CATEGORY_MENTAL_HEALTH) {
        for (int window : {7, 30}) {
          Count& c = expected[absl::StrCat("FUM-", window)];
          if (deceased) {
            ++c.excluded;
            continue;
          }
          ++c.denominator;
          for (const FollowUp& f : follow_ups[client]) {
            if (f.at >= s.admitted &&
                CalendarDays(s.admitted, f.at) <= window) {
              ++c.numerator;
              break;
            }
          }
        }
      }
      if (inpatient_discharge) {
        // The TRC rates (docs/views.md): notification on day 0..2 of the
        // admission, discharge information on day 0..2 of the discharge,
        // engagement (any follow-up) on day 1..30, reconciliation on day
        // 0..30.
        auto within = [](const std::vector<absl::Time>& times, absl::Time from,
                         int first, int last) {
          for (absl::Time t : times) {
            const int64_t day = CalendarDays(from, t);
            if (day >= first && day <= last) return true;
          }
          return false;
        };
        std::vector<absl::Time> follow_up_times;
        for (const FollowUp& f : follow_ups[client])
          follow_up_times.push_back(f.at);
        const std::pair<std::string, std::string> key{client, s.id};
        const std::map<std::string, bool> met{
            {"TRC-NOTIFICATION", within(notifications[key], s.admitted, 0, 2)},
            {"TRC-RECEIPT", within(receipts[key], *s.discharged, 0, 2)},
            {"TRC-ENGAGEMENT", within(follow_up_times, *s.discharged, 1, 30)},
            {"TRC-MEDICATION-RECONCILIATION",
             within(reconciliations[key], *s.discharged, 0, 30)}};
        for (const auto& [trc, numerator] : met) {
          Count& c = expected[trc];
          if (deceased || s.disposition == v1::DISCHARGE_DISPOSITION_TRANSFER ||
              readmitted_within(s, 30)) {
            ++c.excluded;
            continue;
          }
          ++c.denominator;
          if (numerator) ++c.numerator;
        }
      }
      if (inpatient_discharge) {
        Count& c = expected["READMISSION-30"];
        if (deceased) {
          ++c.excluded;
        } else {
          ++c.denominator;
          if (readmitted_within(s, 30)) ++c.numerator;
        }
      }
    }
  }
  for (const auto& [referral, completed] : referrals) {
    Count& c = expected["REFERRAL-LOOP-CLOSURE"];
    ++c.denominator;
    if (completed) ++c.numerator;
  }

  v1::GetMeasuresRequest request;
  SetTime(BaseTime() - absl::Hours(24 * 365 * 6),
          request.mutable_period()->mutable_start());
  SetTime(BaseTime(), request.mutable_period()->mutable_end());
  request.set_min_position(server_->Head());
  grpc::ClientContext context;
  testing::SetTestDeadline(&context);
  v1::GetMeasuresResponse response;
  const grpc::Status status =
      continuity_->GetMeasures(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 10);
  std::map<std::string, v1::MeasureResult> results;
  for (const v1::MeasureResult& r : response.results()) {
    results[r.measure()] = r;
    const Count& c = expected[r.measure()];
    EXPECT_EQ(r.numerator(), c.numerator) << r.measure();
    EXPECT_EQ(r.denominator(), c.denominator) << r.measure();
    EXPECT_EQ(r.excluded_members_size(), c.excluded) << r.measure();
    EXPECT_EQ(r.numerator_members_size(), r.numerator()) << r.measure();
    EXPECT_EQ(r.denominator_members_size(), r.denominator()) << r.measure();
  }

  // Every measure has cases on both sides, and the 30-day windows catch
  // follow-ups the 7-day ones miss.
  for (const char* m : {"FUH-7", "FUM-7", "READMISSION-30"}) {
    EXPECT_GT(results[m].numerator(), 0) << m;
    EXPECT_LT(results[m].numerator(), results[m].denominator()) << m;
  }
  EXPECT_GT(results["FUH-30"].numerator(), results["FUH-7"].numerator());
  EXPECT_GT(results["FUM-30"].numerator(), results["FUM-7"].numerator());
  EXPECT_GT(results["FUH-7"].excluded_members_size(), 0);
  EXPECT_GT(results["REFERRAL-LOOP-CLOSURE"].numerator(), 0);
  EXPECT_GT(results["REFERRAL-LOOP-CLOSURE"].median_days_to_close(), 0);

  // The measure cases, client by client.
  auto clients_in =
      [](const google::protobuf::RepeatedPtrField<v1::MeasureMember>& list) {
        std::set<std::string> out;
        for (const v1::MeasureMember& m : list) out.insert(m.client_id());
        return out;
      };
  const std::set<std::string> fuh7 =
      clients_in(results["FUH-7"].numerator_members());
  const std::set<std::string> fuh30 =
      clients_in(results["FUH-30"].numerator_members());
  const std::set<std::string> fuh_denominator =
      clients_in(results["FUH-7"].denominator_members());
  const std::set<std::string> fuh_excluded =
      clients_in(results["FUH-7"].excluded_members());
  const std::set<std::string> fum7 =
      clients_in(results["FUM-7"].numerator_members());
  const std::set<std::string> fum30 =
      clients_in(results["FUM-30"].numerator_members());
  const std::set<std::string> readmitted =
      clients_in(results["READMISSION-30"].numerator_members());
  EXPECT_TRUE(fuh7.count("s1-c00003"));   // followed up on day 1..7
  EXPECT_FALSE(fuh7.count("s1-c00013"));  // discharge day, then 8..30
  EXPECT_TRUE(fuh30.count("s1-c00013"));
  EXPECT_TRUE(fuh_denominator.count("s1-c00023"));  // no follow-up
  EXPECT_FALSE(fuh30.count("s1-c00023"));
  EXPECT_TRUE(fuh_excluded.count("s1-c00033"));  // readmitted
  EXPECT_TRUE(readmitted.count("s1-c00033"));
  EXPECT_TRUE(fum7.count("s1-c00017"));         // followed up the same day
  EXPECT_TRUE(fum7.count("scenario-veteran"));  // on day 3
  EXPECT_FALSE(fum7.count("s1-c00037"));        // on day 8..28
  EXPECT_TRUE(fum30.count("s1-c00037"));
}

TEST_F(DemoViewsTest, TimelineListsTheClientsEvents) {
  const std::vector<v1::Event> events =
      server_->ReadStream("client-scenario-stroke");
  v1::GetTimelineRequest request;
  request.set_client_id("scenario-stroke");
  request.set_page_size(1000);
  grpc::ClientContext context;
  testing::SetTestDeadline(&context);
  v1::GetTimelineResponse response;
  ASSERT_TRUE(audit_->GetTimeline(&context, request, &response).ok());
  ASSERT_EQ(static_cast<size_t>(response.entries_size()), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const v1::TimelineEntry& entry = response.entries(static_cast<int>(i));
    EXPECT_EQ(entry.global_position(), events[i].global_position());
    EXPECT_EQ(entry.event_type(), events[i].event_type());
    EXPECT_EQ(entry.organization_id(), events[i].actor().organization_id());
    EXPECT_EQ(entry.user_id(), events[i].actor().user_id());
    EXPECT_EQ(ToTime(entry.occurred_at()), OccurredAt(events[i]));
    EXPECT_FALSE(entry.summary().empty());
  }
  EXPECT_EQ(response.entries(0).event_type(), "ClientRegistered");
  EXPECT_EQ(response.entries(0).organization_id(), kMercy);
  EXPECT_EQ(response.entries(0).user_id(), "mercy.okoro");

  // Filtered: the five referrals the hospital sent, and Eastside's part.
  v1::GetTimelineRequest referrals = request;
  referrals.add_event_types("ReferralSent");
  grpc::ClientContext context2;
  testing::SetTestDeadline(&context2);
  ASSERT_TRUE(audit_->GetTimeline(&context2, referrals, &response).ok());
  EXPECT_EQ(response.entries_size(), 5);
  v1::GetTimelineRequest eastside = request;
  eastside.add_organization_ids("org-eastside-health");
  grpc::ClientContext context3;
  testing::SetTestDeadline(&context3);
  ASSERT_TRUE(audit_->GetTimeline(&context3, eastside, &response).ok());
  ASSERT_GT(response.entries_size(), 0);
  for (const v1::TimelineEntry& entry : response.entries()) {
    EXPECT_EQ(entry.organization_id(), "org-eastside-health");
  }
}

// The stroke patient's record as of the evening of day 6 of her stay (the
// scenario's day 0 is her admission, 95 days before the demo's today),
// against now.
TEST_F(DemoViewsTest, ReplayAsOfAPastDateShowsTheRecordThen) {
  const absl::Time admitted_day = BaseTime() - absl::Hours(24 * 95);
  v1::ReplayClientRequest request;
  request.set_client_id("scenario-stroke");
  SetTime(admitted_day + absl::Hours(24 * 6 + 20),
          request.mutable_occurred_at());
  auto replay = [&](const v1::ReplayClientRequest& r) {
    grpc::ClientContext context;
    testing::SetTestDeadline(&context);
    v1::ReplayClientResponse response;
    const grpc::Status status = audit_->ReplayClient(&context, r, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.state();
  };
  const v1::ClientState then = replay(request);
  SetTime(BaseTime(), request.mutable_occurred_at());
  const v1::ClientState now = replay(request);

  auto lead_of = [](const v1::ClientState& s) {
    for (const v1::CareTeamMemberView& m : s.care_team()) {
      if (m.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER)
        return m.member_id();
    }
    return std::string();
  };
  auto statuses = [](const v1::ClientState& s) {
    std::map<std::string, std::string> out;
    for (const v1::ReferralView& r : s.referrals())
      out[r.referral_id()] = r.status();
    return out;
  };

  // Then: still in hospital, the hospital's social worker leads, the five
  // referrals are out and partly accepted, nothing has started.
  ASSERT_TRUE(then.registered());
  ASSERT_EQ(then.admissions_size(), 1);
  EXPECT_FALSE(then.admissions(0).has_discharged_at());
  EXPECT_EQ(lead_of(then), "mercy.rivera");
  EXPECT_EQ(statuses(then),
            (std::map<std::string, std::string>{{"ref-1", "accepted"},
                                                {"ref-2", "accepted"},
                                                {"ref-3", "accepted"},
                                                {"ref-4", "requested"},
                                                {"ref-5", "accepted"}}));
  EXPECT_EQ(then.services_size(), 0);
  EXPECT_LT(then.events_applied(), now.events_applied());

  // Now: home, Eastside leads, physical therapy done, services running.
  ASSERT_EQ(now.admissions_size(), 1);
  EXPECT_TRUE(now.admissions(0).has_discharged_at());
  EXPECT_EQ(lead_of(now), "eastside.lopez");
  EXPECT_EQ(statuses(now).at("ref-1"), "completed");
  EXPECT_EQ(statuses(now).at("ref-4"), "requested");
  EXPECT_EQ(now.services_size(), 3);

  // As recorded on the demo's today the record was empty: the demo
  // recorded all of it later (its business times are in the past).
  v1::ReplayClientRequest recorded;
  recorded.set_client_id("scenario-stroke");
  SetTime(BaseTime(), recorded.mutable_recorded_at());
  EXPECT_FALSE(replay(recorded).registered());
}

// Scenario 5: the court's subpoena is answered with school records only, and
// the release is in the accounting of disclosures beside the referrals that
// shared data.
TEST_F(DemoViewsTest, FosterTeenDisclosuresIncludeTheCourtOrderedRelease) {
  for (const std::string client :
       {"scenario-foster-teen-1", "scenario-foster-teen-2"}) {
    v1::ListDisclosuresRequest request;
    request.set_client_id(client);
    SetTime(BaseTime() - absl::Hours(24 * 365 * 2),
            request.mutable_period()->mutable_start());
    SetTime(BaseTime(), request.mutable_period()->mutable_end());
    grpc::ClientContext context;
    testing::SetTestDeadline(&context);
    v1::ListDisclosuresResponse response;
    ASSERT_TRUE(audit_->ListDisclosures(&context, request, &response).ok());
    std::map<std::string, v1::Disclosure> by_subject;
    for (const v1::Disclosure& d : response.disclosures())
      by_subject[d.subject_id()] = d;

    ASSERT_TRUE(by_subject.count("disc-1")) << client;
    const v1::Disclosure& court = by_subject["disc-1"];
    EXPECT_EQ(court.source(), "information-disclosed");
    EXPECT_EQ(court.recipient_organization_id(), "org-county-court-parole");
    EXPECT_EQ(court.disclosed_by_organization_id(),
              "org-county-social-services");
    ASSERT_EQ(court.data_classes_size(), 1);
    EXPECT_EQ(court.data_classes(0), v1::DATA_CLASS_EDUCATION);
    EXPECT_EQ(court.purpose(), v1::PURPOSE_OF_USE_LEGAL);
    EXPECT_TRUE(court.consent_id().empty());
    EXPECT_THAT(court.legal_basis(), HasSubstr("court order"));
    EXPECT_THAT(court.description(), HasSubstr("attendance"));

    // The therapy referral, under the county's consent as guardian.
    ASSERT_TRUE(by_subject.count("ref-1")) << client;
    const v1::Disclosure& therapy = by_subject["ref-1"];
    EXPECT_EQ(therapy.source(), "referral");
    EXPECT_EQ(therapy.recipient_organization_id(), "org-harbor-behavioral");
    EXPECT_EQ(therapy.consent_id(), "cons-1");
    // Nothing but school records ever went to the court.
    for (const v1::Disclosure& d : response.disclosures()) {
      if (d.recipient_organization_id() != "org-county-court-parole") continue;
      EXPECT_EQ(d.subject_id(), "disc-1");
    }
    // Tyler's re-referral to Eastside too.
    EXPECT_EQ(response.disclosures_size(),
              client == "scenario-foster-teen-1" ? 2 : 3);
  }
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
  EXPECT_EQ(ca.size(), 1u + 10 + 2 + kClients + 1);  // organizations + clients
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
