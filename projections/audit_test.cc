// Audit trail tests (suites Audit*): ClientStateOf, and the audit queries
// over a real EventLog in a temporary directory with an injected clock.
#include "projections/audit.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eventstore/event_log.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "projections/care_stream.h"
#include "care/care_event_context.h"
#include "care/client_state.h"
#include "care/organization_directory.h"
#include "projections/test_log.h"

namespace caseline::projections {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'600'000);
const absl::Duration kDay = absl::Hours(24);

care::CareEventContext Context(const care::ClientRecord& record, absl::Time at,
                         uint64_t position) {
  care::CareEventContext context;
  context.stream_version = record.version.has_value() ? *record.version + 1 : 0;
  context.global_position = position;
  context.occurred_at = at;
  context.recorded_at = at;
  context.organization_id = "org-a";
  return context;
}

TEST(AuditClientStateTest, RendersRecordAtAMoment) {
  care::ClientRecord record("c1");
  v1::CareEvent e;
  e.mutable_client_registered()->mutable_name()->set_given("Ada");
  record.Apply(e, Context(record, kT0, 10));
  e.Clear();
  auto* consent = e.mutable_consent_given();
  consent->set_consent_id("k1");
  consent->add_recipient_organization_ids("org-b");
  consent->add_data_classes(v1::DATA_CLASS_GENERAL);
  record.Apply(e, Context(record, kT0, 11));
  e.Clear();
  e.mutable_consent_revoked()->set_consent_id("k1");
  record.Apply(e, Context(record, kT0 + 10 * kDay, 12));
  e.Clear();
  auto* referral = e.mutable_referral_sent();
  referral->set_referral_id("r1");
  referral->set_to_organization_id("org-b");
  referral->add_shared_data_classes(v1::DATA_CLASS_GENERAL);
  record.Apply(e, Context(record, kT0 + kDay, 13));
  e.Clear();
  e.mutable_referral_accepted()->set_referral_id("r1");
  record.Apply(e, Context(record, kT0 + 2 * kDay, 14));
  e.Clear();
  auto* member = e.mutable_care_team_member_added();
  member->set_member_id("m1");
  member->set_role(v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER);
  record.Apply(e, Context(record, kT0, 15));
  e.Clear();
  e.mutable_care_team_member_added()->set_member_id("m2");
  record.Apply(e, Context(record, kT0, 16));
  e.Clear();
  e.mutable_care_team_member_removed()->set_member_id("m2");
  record.Apply(e, Context(record, kT0, 17));
  e.Clear();
  e.mutable_goal_set()->set_goal_id("g1");
  record.Apply(e, Context(record, kT0, 18));

  // Before the revocation took effect the consent is in force.
  v1::ClientState before =
      care::ClientStateOf(record, kT0 + 5 * kDay + absl::Hours(3));
  EXPECT_EQ(before.client_id(), "c1");
  EXPECT_TRUE(before.registered());
  EXPECT_EQ(before.details().name().given(), "Ada");
  EXPECT_EQ(before.case_status(), "not-opened");
  ASSERT_EQ(before.consents_in_force_size(), 1);
  EXPECT_EQ(before.consents_in_force(0).consent_id(), "k1");
  EXPECT_TRUE(before.consents_in_force(0).has_revocation_effective_at());
  ASSERT_EQ(before.referrals_size(), 1);
  EXPECT_EQ(before.referrals(0).status(), "accepted");
  EXPECT_EQ(before.referrals(0).age_days(), 4);
  EXPECT_THAT(before.referrals(0).shared_data_classes(),
              ElementsAre(v1::DATA_CLASS_GENERAL));
  ASSERT_EQ(before.care_team_size(), 1);
  EXPECT_EQ(before.care_team(0).member_id(), "m1");
  ASSERT_EQ(before.goals_size(), 1);
  EXPECT_EQ(before.goals(0).status(), v1::GOAL_STATUS_ACTIVE);
  EXPECT_EQ(before.events_applied(), 9u);
  EXPECT_EQ(before.last_stream_version(), 8u);
  EXPECT_EQ(before.last_position(), 18u);  // the goal, the last event

  v1::ClientState after = care::ClientStateOf(record, kT0 + 10 * kDay);
  EXPECT_EQ(after.consents_in_force_size(), 0);
  EXPECT_EQ(after.referrals(0).age_days(), 9);
  // Before the referral was sent its age is 0, not negative.
  EXPECT_EQ(care::ClientStateOf(record, kT0).referrals(0).age_days(), 0);

  v1::ClientState empty = care::ClientStateOf(care::ClientRecord("c2"), kT0);
  EXPECT_FALSE(empty.registered());
  EXPECT_EQ(empty.events_applied(), 0u);
}

// --- A log to query ----------------------------------------------------------

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp out;
  out.set_seconds(absl::ToUnixSeconds(t));
  return out;
}

absl::Time FromTs(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_log_ = std::make_unique<TestLog>(
        "audit", [this] { return absl::FromUnixNanos(clock_nanos_.load()); });
    ASSERT_TRUE(test_log_->ok());
    log_ = test_log_->get();
    records_ = std::make_unique<ClientRecordStore>(log_);
  }
  void TearDown() override {
    records_.reset();
    test_log_.reset();
  }

  void SetClock(absl::Time t) { clock_nanos_ = absl::ToUnixNanos(t); }

  // Appends `event` to `stream`, recorded at `recorded` (the log's clock) and
  // occurred at `occurred`; returns its global position.
  uint64_t Append(const std::string& stream, const v1::CareEvent& event,
                  absl::Time occurred, absl::Time recorded,
                  const std::string& org = "org-hospital") {
    SetClock(recorded);
    return test_log_->AppendCare(stream, event, occurred, org,
                                 absl::StrCat("user-", org));
  }

  // A client event that happened when it was recorded.
  uint64_t Record(const v1::CareEvent& event, absl::Time at,
                  const std::string& org = "org-hospital") {
    return Append(care::ClientStreamId("c1"), event, at, at, org);
  }

  void RegisterOrganization(const std::string& id, const std::string& name,
                            v1::OrganizationType type) {
    v1::CareEvent e;
    e.mutable_organization_registered()->set_organization_id(id);
    e.mutable_organization_registered()->set_name(name);
    e.mutable_organization_registered()->set_type(type);
    Append(care::kOrganizationsStream, e, kT0 - kDay, kT0 - kDay, id);
  }

  static v1::CareEvent Registered() {
    v1::CareEvent e;
    e.mutable_client_registered()->mutable_name()->set_given("Ada");
    e.mutable_client_registered()->mutable_name()->set_family("Okafor");
    return e;
  }
  static v1::CareEvent Consent(const std::string& id, const std::string& org,
                               const std::vector<v1::DataClass>& classes) {
    v1::CareEvent e;
    e.mutable_consent_given()->set_consent_id(id);
    e.mutable_consent_given()->add_recipient_organization_ids(org);
    for (auto c : classes) e.mutable_consent_given()->add_data_classes(c);
    return e;
  }
  static v1::CareEvent Revoked(const std::string& id, absl::Time effective) {
    v1::CareEvent e;
    e.mutable_consent_revoked()->set_consent_id(id);
    *e.mutable_consent_revoked()->mutable_received_at() = Ts(effective);
    *e.mutable_consent_revoked()->mutable_effective_at() = Ts(effective);
    return e;
  }
  static v1::CareEvent Referral(const std::string& id, const std::string& to,
                                const std::vector<v1::DataClass>& shared = {}) {
    v1::CareEvent e;
    v1::ReferralSent* r = e.mutable_referral_sent();
    r->set_referral_id(id);
    r->set_from_organization_id("org-hospital");
    r->set_to_organization_id(to);
    r->set_service_category(v1::SERVICE_CATEGORY_HOUSING);
    r->set_kind(v1::REFERRAL_KIND_WARM);
    for (auto c : shared) r->add_shared_data_classes(c);
    return e;
  }
  static v1::CareEvent Accepted(const std::string& id) {
    v1::CareEvent e;
    e.mutable_referral_accepted()->set_referral_id(id);
    return e;
  }
  static v1::CareEvent Service(const std::string& id, const std::string& org) {
    v1::CareEvent e;
    e.mutable_service_started()->set_service_id(id);
    e.mutable_service_started()->set_provider_organization_id(org);
    e.mutable_service_started()->set_category(v1::SERVICE_CATEGORY_HOUSING);
    return e;
  }

  std::atomic<int64_t> clock_nanos_{absl::ToUnixNanos(kT0)};
  std::unique_ptr<TestLog> test_log_;
  eventstore::EventLog* log_ = nullptr;
  std::unique_ptr<ClientRecordStore> records_;
};

// --- Timeline ----------------------------------------------------------------

TEST_F(AuditLogTest, AuditTimelineFiltersAndPages) {
  Record(Registered(), kT0);
  Append("client-other", Registered(), kT0, kT0);  // another client
  v1::CareEvent by_guardian =
      Consent("k1", "org-housing", {v1::DATA_CLASS_GENERAL});
  auto* guardian =
      by_guardian.mutable_consent_given()->mutable_representative();
  guardian->mutable_name()->set_given("Ben");
  guardian->mutable_name()->set_family("Okafor");
  guardian->set_authority(v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
  Record(by_guardian, kT0 + kDay);
  Record(Referral("r1", "org-housing", {v1::DATA_CLASS_GENERAL}),
         kT0 + 2 * kDay);
  Record(Accepted("r1"), kT0 + 3 * kDay, "org-housing");
  // Happened on day 1, recorded on day 4.
  Append(care::ClientStreamId("c1"), Service("s1", "org-housing"), kT0 + kDay,
         kT0 + 4 * kDay, "org-housing");

  v1::GetTimelineRequest request;
  request.set_client_id("c1");
  absl::StatusOr<v1::GetTimelineResponse> all = GetTimeline(*records_, request);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->entries_size(), 5);
  EXPECT_TRUE(all->next_page_token().empty());
  EXPECT_EQ(all->view_position(), 6u);
  const v1::TimelineEntry& consent = all->entries(1);
  EXPECT_EQ(consent.event_type(), "ConsentGiven");
  EXPECT_EQ(consent.global_position(), 3u);
  EXPECT_EQ(consent.stream_version(), 1u);
  EXPECT_EQ(consent.organization_id(), "org-hospital");
  EXPECT_EQ(consent.user_id(), "user-org-hospital");
  EXPECT_EQ(consent.on_behalf_of(), "Ben Okafor (guardian)");
  EXPECT_TRUE(consent.event().has_consent_given());
  EXPECT_FALSE(consent.event_id().empty());
  EXPECT_THAT(all->entries(2).summary(),
              HasSubstr("referral r1 sent to org-housing"));
  EXPECT_EQ(all->entries(2).on_behalf_of(), "");
  const v1::TimelineEntry& late = all->entries(4);
  EXPECT_EQ(FromTs(late.occurred_at()), kT0 + kDay);
  EXPECT_EQ(FromTs(late.recorded_at()), kT0 + 4 * kDay);

  // By organisation and by type.
  request.add_organization_ids("org-housing");
  absl::StatusOr<v1::GetTimelineResponse> r = GetTimeline(*records_, request);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->entries_size(), 2);
  EXPECT_EQ(r->entries(0).event_type(), "ReferralAccepted");
  request.add_event_types("ServiceStarted");
  r = GetTimeline(*records_, request);
  ASSERT_EQ(r->entries_size(), 1);
  EXPECT_EQ(r->entries(0).event_type(), "ServiceStarted");
  request.clear_organization_ids();
  request.clear_event_types();

  // Business time [day 1, day 2) finds the late-recorded service; recorded
  // time [day 1, day 2) does not.
  *request.mutable_occurred()->mutable_start() = Ts(kT0 + kDay);
  *request.mutable_occurred()->mutable_end() = Ts(kT0 + 2 * kDay);
  r = GetTimeline(*records_, request);
  ASSERT_EQ(r->entries_size(), 2);
  EXPECT_EQ(r->entries(1).event_type(), "ServiceStarted");
  request.clear_occurred();
  *request.mutable_recorded()->mutable_start() = Ts(kT0 + kDay);
  *request.mutable_recorded()->mutable_end() = Ts(kT0 + 2 * kDay);
  r = GetTimeline(*records_, request);
  ASSERT_EQ(r->entries_size(), 1);
  EXPECT_EQ(r->entries(0).event_type(), "ConsentGiven");
  request.clear_recorded();

  // Pages of two.
  request.set_page_size(2);
  std::vector<std::string> types;
  int pages = 0;
  do {
    r = GetTimeline(*records_, request);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const auto& e : r->entries()) types.push_back(e.event_type());
    request.set_page_token(r->next_page_token());
    ++pages;
  } while (!r->next_page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(types,
              ElementsAre("ClientRegistered", "ConsentGiven", "ReferralSent",
                          "ReferralAccepted", "ServiceStarted"));
  // With a filter, the last page is the one holding the last match.
  request.clear_page_token();
  request.add_organization_ids("org-hospital");
  r = GetTimeline(*records_, request);
  ASSERT_EQ(r->entries_size(), 2);
  ASSERT_FALSE(r->next_page_token().empty());
  request.set_page_token(r->next_page_token());
  r = GetTimeline(*records_, request);
  ASSERT_EQ(r->entries_size(), 1);
  EXPECT_EQ(r->entries(0).event_type(), "ReferralSent");
  EXPECT_TRUE(r->next_page_token().empty());
  request.clear_organization_ids();

  // Errors name what is wrong.
  request.set_page_token("not-a-token");
  EXPECT_THAT(GetTimeline(*records_, request).status().message(),
              HasSubstr("page_token"));
  request.clear_page_token();
  request.set_page_size(-1);
  EXPECT_EQ(GetTimeline(*records_, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_page_size(0);
  *request.mutable_recorded()->mutable_start() = Ts(kT0 + kDay);
  *request.mutable_recorded()->mutable_end() = Ts(kT0);
  EXPECT_THAT(GetTimeline(*records_, request).status().message(),
              HasSubstr("recorded.end"));
  v1::GetTimelineRequest unknown;
  unknown.set_client_id("ghost");
  absl::Status missing = GetTimeline(*records_, unknown).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("ghost"));
  EXPECT_EQ(GetTimeline(*records_, v1::GetTimelineRequest()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Replay ------------------------------------------------------------------

class AuditReplayTest : public AuditLogTest {
 protected:
  // Day 0 registered; day 1 consent k1; day 2 referral r1; day 5 accepted;
  // a service that started on day 3 is recorded on day 10; day 12 k1 revoked.
  void SetUp() override {
    AuditLogTest::SetUp();
    if (HasFatalFailure()) return;
    Record(Registered(), kT0);
    Record(Consent("k1", "org-housing", {v1::DATA_CLASS_GENERAL}), kT0 + kDay);
    referral_position_ =
        Record(Referral("r1", "org-housing", {v1::DATA_CLASS_GENERAL}),
               kT0 + 2 * kDay);
    Record(Accepted("r1"), kT0 + 5 * kDay, "org-housing");
    Append(care::ClientStreamId("c1"), Service("s1", "org-housing"), kT0 + 3 * kDay,
           kT0 + 10 * kDay, "org-housing");
    Record(Revoked("k1", kT0 + 12 * kDay), kT0 + 12 * kDay);
  }

  v1::ReplayClientResponse Replay(v1::ReplayClientRequest request) {
    request.set_client_id("c1");
    absl::StatusOr<v1::ReplayClientResponse> r = ReplayClient(*records_, request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(v1::ReplayClientResponse());
  }

  uint64_t referral_position_ = 0;
};

TEST_F(AuditReplayTest, AuditReplayAsOfPositionRecordedAndBusinessTime) {
  // As of the referral's position: sent, not accepted, no service.
  v1::ReplayClientRequest at_position;
  at_position.set_position(referral_position_);
  v1::ReplayClientResponse r = Replay(at_position);
  ASSERT_EQ(r.state().referrals_size(), 1);
  EXPECT_EQ(r.state().referrals(0).status(), "requested");
  EXPECT_EQ(r.state().services_size(), 0);
  EXPECT_EQ(r.state().events_applied(), 3u);
  EXPECT_EQ(r.state().last_position(), referral_position_);
  EXPECT_EQ(r.state().last_stream_version(), 2u);
  EXPECT_EQ(FromTs(r.as_of_time()), kT0 + 2 * kDay);
  EXPECT_EQ(r.state().consents_in_force_size(), 1);

  // What the record said on day 6: accepted, and no service yet (it was
  // recorded on day 10).
  v1::ReplayClientRequest recorded;
  *recorded.mutable_recorded_at() = Ts(kT0 + 6 * kDay);
  r = Replay(recorded);
  EXPECT_EQ(r.state().referrals(0).status(), "accepted");
  EXPECT_EQ(r.state().referrals(0).age_days(), 4);
  EXPECT_EQ(r.state().services_size(), 0);
  EXPECT_EQ(r.state().events_applied(), 4u);
  EXPECT_EQ(FromTs(r.as_of_time()), kT0 + 6 * kDay);

  // What had happened by day 4 (business time): the service had started,
  // though nobody knew until day 10; the referral was not yet accepted.
  v1::ReplayClientRequest occurred;
  *occurred.mutable_occurred_at() = Ts(kT0 + 4 * kDay);
  r = Replay(occurred);
  EXPECT_EQ(r.state().referrals(0).status(), "requested");
  ASSERT_EQ(r.state().services_size(), 1);
  EXPECT_EQ(r.state().services(0).service_id(), "s1");
  EXPECT_EQ(r.state().events_applied(), 4u);
  EXPECT_EQ(r.state().last_stream_version(), 4u);
  EXPECT_EQ(r.state().consents_in_force_size(), 1);

  // Before the client's first event: an empty state.
  v1::ReplayClientRequest before;
  *before.mutable_recorded_at() = Ts(kT0 - kDay);
  r = Replay(before);
  EXPECT_FALSE(r.state().registered());
  EXPECT_EQ(r.state().events_applied(), 0u);

  v1::ReplayClientRequest none;
  none.set_client_id("c1");
  absl::Status s = ReplayClient(*records_, none).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("as_of"));
  none.set_client_id("ghost");
  none.set_position(3);
  EXPECT_EQ(ReplayClient(*records_, none).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AuditReplayTest, AuditReplayOfEverythingEqualsTheCurrentRecord) {
  // The current record, folded as the command side folds it.
  care::ClientRecord current("c1");
  ASSERT_TRUE(
      FoldCareStream(
          *log_, care::ClientStreamId("c1"), 0,
          [](const eventstore::RecordedEvent&) { return true; },
          [&current](const v1::CareEvent& e, const care::CareEventContext& c) {
            current.Apply(e, c);
          })
          .ok());
  const absl::Time now = kT0 + 20 * kDay;
  v1::ClientState expected = care::ClientStateOf(current, now);
  expected.set_last_position(log_->HeadPosition());

  v1::ReplayClientRequest request;
  *request.mutable_recorded_at() = Ts(now);
  v1::ReplayClientResponse r = Replay(request);
  std::string differences;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(expected, r.state())) << differences;
  // The revocation took effect on day 12: nothing in force now.
  EXPECT_EQ(r.state().consents_in_force_size(), 0);
  EXPECT_EQ(r.state().events_applied(), 6u);

  // As of the head position, consents are judged at the last event's
  // recorded time (the revocation's effective moment).
  v1::ReplayClientRequest head;
  head.set_position(log_->HeadPosition());
  r = Replay(head);
  EXPECT_EQ(FromTs(r.as_of_time()), kT0 + 12 * kDay);
  EXPECT_EQ(r.state().services_size(), 1);
  EXPECT_EQ(r.state().consents_in_force_size(), 0);
}

// --- Accounting of disclosures -----------------------------------------------

TEST_F(AuditLogTest, AuditDisclosuresKeepWhatARevokedConsentAllowed) {
  RegisterOrganization("org-hospital", "General Hospital",
                       v1::ORGANIZATION_TYPE_HOSPITAL);
  RegisterOrganization("org-housing", "Housing First",
                       v1::ORGANIZATION_TYPE_HOUSING);
  RegisterOrganization("org-court", "County Court",
                       v1::ORGANIZATION_TYPE_COURT_PAROLE);
  Record(Registered(), kT0);
  Record(Consent("k1", "org-housing",
                 {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HOUSING}),
         kT0 + kDay);
  const uint64_t referral =
      Record(Referral("r1", "org-housing",
                      {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HOUSING}),
             kT0 + 2 * kDay);
  Record(Referral("r2", "org-housing"), kT0 + 2 * kDay);  // shares nothing
  Record(Revoked("k1", kT0 + 3 * kDay), kT0 + 3 * kDay);
  v1::CareEvent released;
  v1::InformationDisclosed* d = released.mutable_information_disclosed();
  d->set_disclosure_id("d1");
  d->set_recipient_organization_id("org-court");
  d->add_data_classes(v1::DATA_CLASS_EDUCATION);
  d->set_purpose(v1::PURPOSE_OF_USE_LEGAL);
  d->set_description("school attendance 2025-26");
  d->set_legal_basis("court order 26-JV-0113");
  const uint64_t court = Record(released, kT0 + 4 * kDay);

  v1::ListDisclosuresRequest request;
  request.set_client_id("c1");
  const absl::Time now = kT0 + 30 * kDay;
  absl::StatusOr<v1::ListDisclosuresResponse> r =
      ListDisclosures(*records_, request, 6, now);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->disclosures_size(), 2);
  const v1::Disclosure& by_referral = r->disclosures(0);
  EXPECT_EQ(FromTs(by_referral.disclosed_at()), kT0 + 2 * kDay);
  EXPECT_EQ(by_referral.recipient_organization_id(), "org-housing");
  EXPECT_EQ(by_referral.recipient_organization_name(), "Housing First");
  EXPECT_THAT(by_referral.data_classes(),
              ElementsAre(v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HOUSING));
  EXPECT_EQ(by_referral.purpose(), v1::PURPOSE_OF_USE_CARE_COORDINATION);
  // Revoked since, but in force when the data went out.
  EXPECT_EQ(by_referral.consent_id(), "k1");
  EXPECT_EQ(by_referral.source(), "referral");
  EXPECT_EQ(by_referral.subject_id(), "r1");
  EXPECT_EQ(by_referral.disclosed_by_organization_id(), "org-hospital");
  EXPECT_EQ(by_referral.global_position(), referral);
  EXPECT_THAT(by_referral.description(), HasSubstr("general, housing"));
  const v1::Disclosure& by_order = r->disclosures(1);
  EXPECT_EQ(by_order.recipient_organization_name(), "County Court");
  EXPECT_EQ(by_order.consent_id(), "");
  EXPECT_EQ(by_order.legal_basis(), "court order 26-JV-0113");
  EXPECT_EQ(by_order.purpose(), v1::PURPOSE_OF_USE_LEGAL);
  EXPECT_EQ(by_order.source(), "information-disclosed");
  EXPECT_THAT(by_order.description(), HasSubstr("school attendance"));
  EXPECT_EQ(by_order.global_position(), court);

  // Pages of one.
  request.set_page_size(1);
  r = ListDisclosures(*records_, request, 6, now);
  ASSERT_EQ(r->disclosures_size(), 1);
  ASSERT_FALSE(r->next_page_token().empty());
  request.set_page_token(r->next_page_token());
  r = ListDisclosures(*records_, request, 6, now);
  ASSERT_EQ(r->disclosures_size(), 1);
  EXPECT_EQ(r->disclosures(0).subject_id(), "d1");
  EXPECT_TRUE(r->next_page_token().empty());
  request.clear_page_token();
  request.set_page_size(0);

  // The period: explicit, and by default the lookback years before now.
  *request.mutable_period()->mutable_start() = Ts(kT0 + 3 * kDay);
  r = ListDisclosures(*records_, request, 6, now);
  ASSERT_EQ(r->disclosures_size(), 1);
  EXPECT_EQ(r->disclosures(0).subject_id(), "d1");
  request.clear_period();
  // Six calendar years (2028 has a leap day) after day 2.5.
  const absl::Time later = kT0 + 6 * 365 * kDay + 4 * kDay + absl::Hours(12);
  r = ListDisclosures(*records_, request, 6, later);
  ASSERT_EQ(r->disclosures_size(), 1);
  EXPECT_EQ(r->disclosures(0).subject_id(), "d1");
  EXPECT_EQ(ListDisclosures(*records_, request, 7, later)->disclosures_size(), 2);

  request.set_client_id("ghost");
  EXPECT_EQ(ListDisclosures(*records_, request, 6, now).status().code(),
            absl::StatusCode::kNotFound);
}

// --- Chain verification ------------------------------------------------------

TEST_F(AuditLogTest, AuditChainOfAClientVerifiesAndNamesTheHead) {
  Record(Registered(), kT0);
  Append("client-other", Registered(), kT0, kT0);
  Record(Consent("k1", "org-housing", {v1::DATA_CLASS_GENERAL}), kT0 + kDay);
  Append("client-other", Consent("k9", "org-housing", {v1::DATA_CLASS_GENERAL}),
         kT0, kT0 + kDay);
  Record(Referral("r1", "org-housing"), kT0 + 2 * kDay);

  v1::VerifyClientChainRequest request;
  request.set_client_id("c1");
  absl::StatusOr<v1::VerifyClientChainResponse> r =
      VerifyClientChain(*log_, request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok()) << r->problem();
  EXPECT_EQ(r->events_checked(), 3u);
  EXPECT_EQ(r->head_position(), 5u);
  absl::StatusOr<eventstore::ChainVerification> whole = log_->VerifyChain(0, 0);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(r->head_hash(), eventstore::HashToHex(whole->head_hash));

  request.set_client_id("ghost");
  EXPECT_EQ(VerifyClientChain(*log_, request).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AuditLogTest, AuditChainLinkDetectsATamperedByteAndABrokenLink) {
  Record(Registered(), kT0);
  Record(Referral("r1", "org-housing"), kT0 + kDay);
  absl::StatusOr<eventstore::StreamPage> page =
      log_->ReadStream(care::ClientStreamId("c1"), {});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 2u);
  const eventstore::RecordedEvent& first = page->events[0];
  const eventstore::RecordedEvent& second = page->events[1];
  EXPECT_EQ(CheckChainLink(first, eventstore::Hash{}), "");  // genesis
  EXPECT_EQ(CheckChainLink(second, first.hash), "");

  eventstore::RecordedEvent tampered = second;
  tampered.payload[tampered.payload.size() / 2] ^= 0x20;
  EXPECT_THAT(CheckChainLink(tampered, first.hash), HasSubstr("hashes to"));
  tampered = second;
  tampered.actor.organization_id = "org-someone-else";
  EXPECT_THAT(CheckChainLink(tampered, first.hash), HasSubstr("hashes to"));
  EXPECT_THAT(CheckChainLink(second, eventstore::Hash{}),
              HasSubstr("prev_hash"));
}

}  // namespace
}  // namespace caseline::projections
