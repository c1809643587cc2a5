#include "projections/continuity_projection.h"

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "eventstore/event_log.h"
#include "eventstore/view_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/access_projection.h"
#include "projections/care_stream.h"
#include "projections/duplication_projection.h"
#include "projections/projection_engine.h"
#include "care/care_event_context.h"
#include "care/continuity.h"
#include "care/referral_list.h"
#include "projections/test_log.h"

namespace caseline::projections {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Monday 2026-01-05 plus n days, at `hour` UTC.
absl::Time Day(int n, int hour = 10) {
  return absl::FromCivil(absl::CivilSecond(2026, 1, 5 + n, hour, 0, 0),
                         absl::UTCTimeZone());
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

// --- Event builders
// ---------------------------------------------------------------

v1::CareEvent OrgRegistered(const std::string& id, v1::OrganizationType type) {
  v1::CareEvent e;
  e.mutable_organization_registered()->set_organization_id(id);
  e.mutable_organization_registered()->set_name(id);
  e.mutable_organization_registered()->set_type(type);
  return e;
}
v1::CareEvent OrgRetyped(const std::string& id, v1::OrganizationType type) {
  v1::CareEvent e;
  e.mutable_organization_updated()->set_organization_id(id);
  e.mutable_organization_updated()->set_type(type);
  return e;
}
v1::CareEvent Registered() {
  v1::CareEvent e;
  e.mutable_client_registered()->mutable_name()->set_given("Ada");
  return e;
}
v1::CareEvent CaseOpened() {
  v1::CareEvent e;
  e.mutable_case_opened();
  return e;
}
v1::CareEvent CaseClosed() {
  v1::CareEvent e;
  e.mutable_case_closed();
  return e;
}
v1::CareEvent CaseReopened() {
  v1::CareEvent e;
  e.mutable_case_reopened();
  return e;
}
v1::CareEvent Admission(
    const std::string& id, const std::string& facility, v1::LevelOfCare level,
    v1::ServiceCategory need = v1::SERVICE_CATEGORY_MENTAL_HEALTH) {
  v1::CareEvent e;
  auto* a = e.mutable_admission_recorded();
  a->set_admission_id(id);
  a->set_facility_organization_id(facility);
  a->set_level_of_care(level);
  a->set_primary_need(need);
  return e;
}
v1::CareEvent Discharge(
    const std::string& id,
    v1::DischargeDisposition disposition = v1::DISCHARGE_DISPOSITION_HOME) {
  v1::CareEvent e;
  e.mutable_discharge_recorded()->set_admission_id(id);
  e.mutable_discharge_recorded()->set_disposition(disposition);
  return e;
}
v1::CareEvent Transition(const std::string& id, const std::string& admission,
                         const std::string& from, const std::string& to,
                         int year, int month, int day) {
  v1::CareEvent e;
  auto* t = e.mutable_transition_planned();
  t->set_transition_id(id);
  t->set_admission_id(admission);
  t->set_from_organization_id(from);
  t->set_to_organization_id(to);
  t->mutable_planned_date()->set_year(year);
  t->mutable_planned_date()->set_month(month);
  t->mutable_planned_date()->set_day(day);
  return e;
}
v1::CareEvent TransitionDone(const std::string& id) {
  v1::CareEvent e;
  e.mutable_transition_completed()->set_transition_id(id);
  return e;
}
v1::CareEvent FollowUp(const std::string& id, const std::string& provider,
                       v1::Discipline discipline = v1::DISCIPLINE_UNSPECIFIED) {
  v1::CareEvent e;
  e.mutable_follow_up_completed()->set_follow_up_id(id);
  e.mutable_follow_up_completed()->set_provider_organization_id(provider);
  e.mutable_follow_up_completed()->set_provider_discipline(discipline);
  return e;
}
v1::CareEvent Reconciliation(const std::string& id) {
  v1::CareEvent e;
  e.mutable_medication_reconciliation_recorded()->set_reconciliation_id(id);
  e.mutable_medication_reconciliation_recorded()->set_performer_discipline(
      v1::DISCIPLINE_NURSING);
  return e;
}
v1::CareEvent Referral(const std::string& id, const std::string& from,
                       const std::string& to, v1::ServiceCategory category,
                       std::vector<v1::DataClass> shared = {}) {
  v1::CareEvent e;
  auto* r = e.mutable_referral_sent();
  r->set_referral_id(id);
  r->set_from_organization_id(from);
  r->set_to_organization_id(to);
  r->set_service_category(category);
  for (v1::DataClass dc : shared) r->add_shared_data_classes(dc);
  return e;
}
v1::CareEvent ReferralStep(const std::string& id, int step) {
  v1::CareEvent e;
  switch (step) {
    case 0:
      e.mutable_referral_accepted()->set_referral_id(id);
      break;
    case 1:
      e.mutable_referral_started()->set_referral_id(id);
      break;
    case 2:
      e.mutable_referral_completed()->set_referral_id(id);
      break;
    case 3:
      e.mutable_referral_declined()->set_referral_id(id);
      break;
    default:
      e.mutable_referral_on_hold()->set_referral_id(id);
      break;
  }
  return e;
}
v1::CareEvent Member(
    const std::string& id, const std::string& org,
    v1::CareTeamRole role = v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER) {
  v1::CareEvent e;
  auto* m = e.mutable_care_team_member_added();
  m->set_member_id(id);
  m->set_organization_id(org);
  m->set_role(role);
  m->mutable_name()->set_family(id);
  return e;
}
v1::CareEvent MemberRemoved(const std::string& id) {
  v1::CareEvent e;
  e.mutable_care_team_member_removed()->set_member_id(id);
  return e;
}
v1::CareEvent Consent(const std::string& id,
                      std::vector<v1::OrganizationType> types,
                      std::vector<v1::DataClass> classes) {
  v1::CareEvent e;
  auto* c = e.mutable_consent_given();
  c->set_consent_id(id);
  for (auto t : types) c->add_recipient_organization_types(t);
  for (auto dc : classes) c->add_data_classes(dc);
  return e;
}
v1::CareEvent Revoked(const std::string& id) {
  v1::CareEvent e;
  e.mutable_consent_revoked()->set_consent_id(id);
  return e;
}

v1::CareEvent Service(const std::string& id, const std::string& provider,
                      v1::ServiceCategory category) {
  v1::CareEvent e;
  e.mutable_service_started()->set_service_id(id);
  e.mutable_service_started()->set_provider_organization_id(provider);
  e.mutable_service_started()->set_category(category);
  return e;
}
v1::CareEvent ServiceEnd(const std::string& id) {
  v1::CareEvent e;
  e.mutable_service_ended()->set_service_id(id);
  return e;
}
v1::CareEvent Interruption(const std::string& id) {
  v1::CareEvent e;
  e.mutable_service_interruption_notified()->set_service_id(id);
  return e;
}
v1::CareEvent Goal(const std::string& id, v1::ServiceCategory domain) {
  v1::CareEvent e;
  e.mutable_goal_set()->set_goal_id(id);
  e.mutable_goal_set()->set_domain(domain);
  return e;
}
v1::CareEvent GoalDone(const std::string& id) {
  v1::CareEvent e;
  e.mutable_goal_status_changed()->set_goal_id(id);
  e.mutable_goal_status_changed()->set_status(v1::GOAL_STATUS_COMPLETED);
  return e;
}
v1::CareEvent Need(const std::string& id, v1::ServiceCategory domain,
                   v1::NeedLevel level) {
  v1::CareEvent e;
  e.mutable_assessment_recorded()->set_assessment_id(id);
  auto* d = e.mutable_assessment_recorded()->add_domains();
  d->set_domain(domain);
  d->set_need_level(level);
  return e;
}
v1::CareEvent Claim(v1::WorklistItemKind kind, const std::string& subject,
                    const std::string& note = "") {
  v1::CareEvent e;
  e.mutable_worklist_item_claimed()->set_kind(kind);
  e.mutable_worklist_item_claimed()->set_subject_id(subject);
  e.mutable_worklist_item_claimed()->set_note(note);
  return e;
}
v1::CareEvent Release(v1::WorklistItemKind kind, const std::string& subject) {
  v1::CareEvent e;
  e.mutable_worklist_item_released()->set_kind(kind);
  e.mutable_worklist_item_released()->set_subject_id(subject);
  return e;
}

// A ProjectionState that counts writes.
class CountingState : public ProjectionState {
 public:
  explicit CountingState(MemoryProjectionState* inner) : inner_(inner) {}
  uint64_t position() const override { return inner_->position(); }
  absl::StatusOr<std::optional<std::string>> Get(
      absl::string_view key) const override {
    return inner_->Get(key);
  }
  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn)
      const override {
    return inner_->Scan(prefix, start_after, fn);
  }
  void Put(absl::string_view key, absl::string_view value) override {
    ++puts;
    inner_->Put(key, value);
  }
  void Delete(absl::string_view key) override {
    ++deletes;
    inner_->Delete(key);
  }
  int puts = 0;
  int deletes = 0;

 private:
  MemoryProjectionState* inner_;
};

class ContinuityProjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_log_ = std::make_unique<TestLog>("continuity");
    ASSERT_TRUE(test_log_->ok());
    log_ = test_log_->get();
    records_ = std::make_unique<ClientRecordStore>(log_);
  }
  void TearDown() override {
    records_.reset();
    test_log_.reset();
  }

  uint64_t Append(const std::string& stream, const v1::CareEvent& event,
                  absl::Time at, const std::string& org) {
    return test_log_->AppendCare(stream, event, at, org);
  }

  uint64_t Client(const std::string& client, const v1::CareEvent& event,
                  absl::Time at, const std::string& org = "org-hosp") {
    return Append(care::ClientStreamId(client), event, at, org);
  }
  // As `user` of `org`.
  uint64_t ClientBy(const std::string& client, const v1::CareEvent& event,
                    absl::Time at, const std::string& org,
                    const std::string& user) {
    return test_log_->AppendCare(care::ClientStreamId(client), event, at, org,
                                 user);
  }
  void Org(const v1::CareEvent& event) {
    Append(care::kOrganizationsStream, event, Day(-30), "org-hosp");
  }
  void StandardOrgs() {
    Org(OrgRegistered("org-hosp", v1::ORGANIZATION_TYPE_HOSPITAL));
    Org(OrgRegistered("org-bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH));
    Org(OrgRegistered("org-pc", v1::ORGANIZATION_TYPE_PRIMARY_CARE));
    Org(OrgRegistered("org-housing", v1::ORGANIZATION_TYPE_HOUSING));
  }

  // Applies the log's events after state.position() up to `upto` (0: the
  // head) with a new projection instance resuming at state.position().
  void CatchUp(ProjectionState& state, MemoryProjectionState& memory,
               uint64_t upto = 0) {
    ProjectionInit init;
    init.log = log_;
    init.checkpoint = memory.position();
    ContinuityProjection projection(init, config_, records_.get());
    eventstore::ReadAllOptions read;
    read.from_position = memory.position() + 1;
    read.max_count = eventstore::kMaxReadCount;
    while (true) {
      absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const eventstore::RecordedEvent& event : page->events) {
        if (upto != 0 && event.global_position > upto) return;
        absl::Status applied = projection.Apply(event, state);
        ASSERT_TRUE(applied.ok()) << applied;
        memory.set_position(event.global_position);
      }
      if (page->end_of_log) return;
      read.from_position = page->next_position;
    }
  }
  void CatchUp(MemoryProjectionState& state, uint64_t upto = 0) {
    CatchUp(state, state, upto);
  }

  std::vector<std::string> Subjects(const v1::GetWorklistResponse& response) {
    std::vector<std::string> out;
    for (const v1::WorklistItem& item : response.items())
      out.push_back(item.subject_id());
    return out;
  }

  std::unique_ptr<TestLog> test_log_;
  eventstore::EventLog* log_ = nullptr;
  // Shared by every projection instance, as in the server.
  std::unique_ptr<ClientRecordStore> records_;
  care::ViewsConfig config_;
  MemoryProjectionState state_;
};

TEST_F(ContinuityProjectionTest, WorklistIsSortedByUrgencyFilteredAndPaged) {
  StandardOrgs();
  Client("c1", Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT),
         Day(-3));
  Client("c1", Transition("t1", "a1", "org-hosp", "org-bh", 2026, 1, 20),
         Day(1));
  Client("c1", Discharge("a1"), Day(2));  // follow-up due Day(10, 0)
  Client(
      "c2",
      Referral("r1", "org-hosp", "org-housing", v1::SERVICE_CATEGORY_HOUSING),
      Day(0));  // answer due Day(7)
  Client("c3", Transition("t3", "", "org-hosp", "org-bh", 2026, 1, 7), Day(0));
  CatchUp(state_);

  v1::GetWorklistRequest request;
  request.set_organization_id("org-hosp");
  SetTime(Day(9), request.mutable_at());
  absl::StatusOr<v1::GetWorklistResponse> response =
      GetWorklist(state_, request, config_, Day(100));
  ASSERT_TRUE(response.ok()) << response.status();
  // t3 and t1 have no accepted receiver: gaps since they were planned, the
  // most overdue.
  EXPECT_THAT(Subjects(*response),
              ElementsAre("t3", "t1", "t3", "r1", "a1", "t1"));
  EXPECT_TRUE(response->items(0).overdue());
  EXPECT_TRUE(response->items(3).overdue());
  EXPECT_FALSE(response->items(4).overdue());
  EXPECT_EQ(response->items(0).kind(),
            v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER);
  EXPECT_EQ(response->items(1).kind(),
            v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER);
  EXPECT_EQ(response->items(2).kind(), v1::WORKLIST_ITEM_KIND_TRANSITION_DUE);
  EXPECT_EQ(response->items(3).kind(), v1::WORKLIST_ITEM_KIND_STALE_REFERRAL);
  EXPECT_EQ(response->items(3).client_id(), "c2");
  EXPECT_EQ(response->items(4).kind(), v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE);
  EXPECT_EQ(response->view_position(), state_.position());
  EXPECT_TRUE(response->next_page_token().empty());

  request.set_horizon_days(3);  // up to Day(12): t1 is later
  response = GetWorklist(state_, request, config_, Day(100));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(Subjects(*response), ElementsAre("t3", "t1", "t3", "r1", "a1"));

  request.set_horizon_days(0);
  request.add_kinds(v1::WORKLIST_ITEM_KIND_STALE_REFERRAL);
  response = GetWorklist(state_, request, config_, Day(100));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(Subjects(*response), ElementsAre("r1"));

  request.clear_kinds();
  request.set_page_size(2);
  response = GetWorklist(state_, request, config_, Day(100));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(Subjects(*response), ElementsAre("t3", "t1"));
  ASSERT_FALSE(response->next_page_token().empty());
  request.set_page_token(response->next_page_token());
  response = GetWorklist(state_, request, config_, Day(100));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(Subjects(*response), ElementsAre("t3", "r1"));
  ASSERT_FALSE(response->next_page_token().empty());
  request.set_page_token(response->next_page_token());
  response = GetWorklist(state_, request, config_, Day(100));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(Subjects(*response), ElementsAre("a1", "t1"));
  EXPECT_TRUE(response->next_page_token().empty());

  // The receiver's list; and items go when the work is done.
  Client("c1", FollowUp("f1", "org-bh"), Day(4), "org-bh");
  Client("c3", TransitionDone("t3"), Day(2), "org-bh");
  CatchUp(state_);
  v1::GetWorklistRequest bh;
  bh.set_organization_id("org-bh");
  bh.set_horizon_days(30);
  SetTime(Day(9), bh.mutable_at());
  response = GetWorklist(state_, bh, config_, Day(100));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(Subjects(*response), ElementsAre("t1"));

  v1::GetWorklistRequest bad;
  absl::StatusOr<v1::GetWorklistResponse> refused =
      GetWorklist(state_, bad, config_, Day(9));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("organization_id"));
  bad.set_organization_id("org-hosp");
  bad.set_page_token("zz");
  refused = GetWorklist(state_, bad, config_, Day(9));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("page_token"));
  bad.set_page_token(request.page_token());  // org-hosp's token for org-bh
  bad.set_organization_id("org-bh");
  refused = GetWorklist(state_, bad, config_, Day(9));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContinuityProjectionTest, LateFollowUpChangesAPastMeasure) {
  StandardOrgs();
  Client("c1", Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT),
         Day(-5));
  Client("c1", Discharge("a1"), Day(0, 15));
  Client("c2",
         Admission("e1", "org-hosp", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
         Day(1));
  Client("c2", FollowUp("f1", "org-pc"), Day(1, 20), "org-pc");
  Client("c3",
         Referral("r1", "org-pc", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         Day(0), "org-pc");
  CatchUp(state_);

  v1::GetMeasuresRequest request;
  SetTime(Day(-1), request.mutable_period()->mutable_start());
  SetTime(Day(20), request.mutable_period()->mutable_end());
  absl::StatusOr<v1::GetMeasuresResponse> response =
      GetMeasures(state_, request, config_, Day(60));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 10);
  EXPECT_EQ(response->results(0).measure(), "FUH-7");
  EXPECT_EQ(response->results(0).denominator(), 1);
  EXPECT_EQ(response->results(0).numerator(), 0);
  EXPECT_EQ(response->results(2).measure(), "FUM-7");
  EXPECT_EQ(response->results(2).numerator(), 1);
  EXPECT_EQ(response->results(4).measure(), "READMISSION-30");
  EXPECT_EQ(response->results(4).denominator(), 1);
  EXPECT_EQ(response->results(5).measure(), "REFERRAL-LOOP-CLOSURE");
  EXPECT_EQ(response->results(5).denominator(), 1);
  for (int i = 6; i < 10; ++i) {  // the TRC rates: a1's discharge
    EXPECT_EQ(response->results(i).denominator(), 1);
    EXPECT_EQ(response->results(i).numerator(), 0);
  }
  EXPECT_EQ(response->results(6).measure(), "TRC-NOTIFICATION");
  EXPECT_EQ(response->results(9).measure(), "TRC-MEDICATION-RECONCILIATION");
  EXPECT_EQ(response->view_position(), state_.position());

  // A reconciliation on the discharge date, recorded weeks later, and the
  // late follow-up below change the past TRC rates.
  Client("c1", Reconciliation("m1"), Day(0, 9), "org-pc");
  CatchUp(state_);
  {
    v1::GetMeasuresRequest trc = request;
    trc.add_measures("TRC-MEDICATION-RECONCILIATION");
    trc.add_measures("TRC-ENGAGEMENT");
    absl::StatusOr<v1::GetMeasuresResponse> r =
        GetMeasures(state_, trc, config_, Day(60));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->results_size(), 2);  // in GetMeasures' order
    EXPECT_EQ(r->results(0).measure(), "TRC-ENGAGEMENT");
    EXPECT_EQ(r->results(0).numerator(), 0);
    EXPECT_EQ(r->results(1).numerator(), 1);
    EXPECT_EQ(r->results(1).numerator_members(0).qualifying_id(), "m1");
  }

  // Weeks later, a follow-up of day 3 (a behavioural-health organisation) is
  // recorded: the past FUH-7 changes.
  Client("c3", ReferralStep("r1", 2), Day(40), "org-bh");
  Client("c1", FollowUp("late", "org-bh"), Day(3), "org-bh");
  CatchUp(state_);
  request.add_measures("FUH-7");
  request.add_measures("REFERRAL-LOOP-CLOSURE");
  response = GetMeasures(state_, request, config_, Day(60));
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->results_size(), 2);
  EXPECT_EQ(response->results(0).numerator(), 1);
  EXPECT_EQ(response->results(0).numerator_members(0).qualifying_id(), "late");
  EXPECT_EQ(response->results(1).numerator(), 1);
  EXPECT_DOUBLE_EQ(response->results(1).median_days_to_close(), 40.0);
  {
    v1::GetMeasuresRequest trc = request;
    trc.clear_measures();
    trc.add_measures("TRC-ENGAGEMENT");
    absl::StatusOr<v1::GetMeasuresResponse> r =
        GetMeasures(state_, trc, config_, Day(60));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->results(0).numerator(), 1);
    EXPECT_EQ(r->results(0).numerator_members(0).qualifying_id(), "late");
  }

  // Filters.
  request.set_organization_id("org-pc");
  response = GetMeasures(state_, request, config_, Day(60));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->results(0).denominator(), 0);
  EXPECT_EQ(response->results(1).denominator(), 1);  // r1 was sent by org-pc
  request.clear_organization_id();
  request.set_counts_only(true);
  SetTime(Day(1), request.mutable_period()->mutable_start());  // after a1
  response = GetMeasures(state_, request, config_, Day(60));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->results(0).denominator(), 0);
  EXPECT_EQ(response->results(1).denominator(), 0);

  v1::GetMeasuresRequest bad;
  EXPECT_THAT(GetMeasures(state_, bad, config_, Day(60)).status().message(),
              HasSubstr("period.start"));
  SetTime(Day(0), bad.mutable_period()->mutable_start());
  bad.add_measures("HEDIS-XYZ");
  absl::StatusOr<v1::GetMeasuresResponse> refused =
      GetMeasures(state_, bad, config_, Day(60));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("HEDIS-XYZ"));
}

TEST_F(ContinuityProjectionTest, CaseloadThreshold) {
  StandardOrgs();
  for (const std::string c : {"c1", "c2", "c3"}) {
    Client(c, CaseOpened(), Day(0));
    Client(c, Member("sw-a", "org-pc"), Day(0));
  }
  Client("c4", CaseOpened(), Day(0));
  Client("c4", Member("sw-b", "org-pc"), Day(0));
  Client("c4", Member("nurse", "org-pc", v1::CARE_TEAM_ROLE_MEMBER), Day(0));
  Client("c5", Member("sw-c", "org-bh"), Day(0));  // case never opened
  CatchUp(state_);

  v1::GetCaseloadRequest request;
  request.set_threshold(2);
  absl::StatusOr<v1::GetCaseloadResponse> response =
      GetCaseload(state_, request, config_);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->threshold(), 2);
  ASSERT_EQ(response->workers_size(), 2);
  EXPECT_EQ(response->workers(0).member_id(), "sw-a");
  EXPECT_EQ(response->workers(0).active_clients(), 3);
  EXPECT_TRUE(response->workers(0).above_threshold());
  EXPECT_EQ(response->workers(0).name().family(), "sw-a");
  EXPECT_EQ(response->workers(1).member_id(), "sw-b");
  EXPECT_EQ(response->workers(1).active_clients(), 1);
  ASSERT_EQ(response->above_threshold_size(), 1);
  EXPECT_EQ(response->above_threshold(0).member_id(), "sw-a");
  ASSERT_EQ(response->organizations_size(), 1);
  EXPECT_EQ(response->organizations(0).organization_id(), "org-pc");
  EXPECT_EQ(response->organizations(0).active_clients(), 4);
  EXPECT_EQ(response->organizations(0).workers(), 2);
  EXPECT_EQ(response->organizations(0).workers_above_threshold(), 1);
  EXPECT_EQ(response->view_position(), state_.position());

  // Closing a case and removing a lead lower the counts.
  Client("c1", CaseClosed(), Day(1));
  Client("c4", MemberRemoved("sw-b"), Day(1));
  Client("c5", CaseOpened(), Day(1));
  CatchUp(state_);
  response = GetCaseload(state_, request, config_);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->workers_size(), 2);
  EXPECT_EQ(response->workers(0).member_id(), "sw-a");
  EXPECT_EQ(response->workers(0).active_clients(), 2);
  EXPECT_FALSE(response->workers(0).above_threshold());
  EXPECT_EQ(response->workers(1).member_id(), "sw-c");
  EXPECT_THAT(response->above_threshold(), IsEmpty());

  request.set_organization_id("org-bh");
  request.set_threshold(0);  // the default
  response = GetCaseload(state_, request, config_);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->threshold(), 50);
  ASSERT_EQ(response->workers_size(), 1);
  EXPECT_EQ(response->workers(0).member_id(), "sw-c");

  request.set_threshold(-1);
  EXPECT_EQ(GetCaseload(state_, request, config_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

v1::CareEvent UrgentReferral(const std::string& id, const std::string& from,
                             const std::string& to, v1::Urgency urgency) {
  v1::CareEvent e = Referral(id, from, to, v1::SERVICE_CATEGORY_MENTAL_HEALTH);
  e.mutable_referral_sent()->set_urgency(urgency);
  return e;
}

std::vector<std::string> ReferralIds(
    const v1::ListReferralsResponse& response) {
  std::vector<std::string> out;
  for (const v1::ReferralListEntry& entry : response.entries()) {
    out.push_back(entry.referral().referral_id());
  }
  return out;
}

TEST_F(ContinuityProjectionTest, ReferralListIsOrderedFilteredAndPaged) {
  StandardOrgs();
  // Received by org-bh: routine ones sent on days 0 and 1, an urgent one on
  // day 2, an emergent one on day 3, one to be declined; and one org-bh
  // sent.
  Client("c1",
         UrgentReferral("r-routine-old", "org-hosp", "org-bh",
                        v1::URGENCY_ROUTINE),
         Day(0));
  Client(
      "c2",
      UrgentReferral("r-routine-new", "org-pc", "org-bh", v1::URGENCY_ROUTINE),
      Day(1), "org-pc");
  Client("c1",
         UrgentReferral("r-urgent", "org-hosp", "org-bh", v1::URGENCY_URGENT),
         Day(2));
  Client(
      "c3",
      UrgentReferral("r-emergent", "org-hosp", "org-bh", v1::URGENCY_EMERGENT),
      Day(3));
  Client(
      "c3",
      UrgentReferral("r-declined", "org-hosp", "org-bh", v1::URGENCY_EMERGENT),
      Day(3));
  Client("c3", ReferralStep("r-declined", 3), Day(4), "org-bh");
  Client("c2",
         UrgentReferral("r-out", "org-bh", "org-housing", v1::URGENCY_URGENT),
         Day(0), "org-bh");
  CatchUp(state_);

  v1::ListReferralsRequest request;
  request.set_organization_id("org-bh");
  absl::StatusOr<v1::ListReferralsResponse> response =
      ListReferrals(state_, request, Day(10, 12));
  ASSERT_TRUE(response.ok()) << response.status();
  // Received (open, most urgent, then oldest), then sent; the declined one
  // is closed.
  EXPECT_THAT(ReferralIds(*response),
              ElementsAre("r-emergent", "r-urgent", "r-routine-old",
                          "r-routine-new", "r-out"));
  EXPECT_EQ(response->view_position(), state_.position());
  EXPECT_TRUE(response->next_page_token().empty());
  const v1::ReferralListEntry& emergent = response->entries(0);
  EXPECT_EQ(emergent.client_id(), "c3");
  EXPECT_EQ(emergent.organization_id(), "org-bh");
  EXPECT_EQ(emergent.direction(), v1::REFERRAL_DIRECTION_RECEIVED);
  EXPECT_EQ(emergent.referral().from_organization_id(), "org-hosp");
  EXPECT_EQ(emergent.referral().status(), "requested");
  EXPECT_EQ(emergent.referral().age_days(), 7);  // Day(3, 10) to Day(10, 12)
  EXPECT_EQ(response->entries(4).direction(), v1::REFERRAL_DIRECTION_SENT);
  EXPECT_EQ(response->entries(4).client_id(), "c2");

  request.set_direction(v1::REFERRAL_DIRECTION_SENT);
  response = ListReferrals(state_, request, Day(10));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(ReferralIds(*response), ElementsAre("r-out"));
  // The receiver lists it too.
  v1::ListReferralsRequest housing;
  housing.set_organization_id("org-housing");
  response = ListReferrals(state_, housing, Day(10));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(ReferralIds(*response), ElementsAre("r-out"));
  EXPECT_EQ(response->entries(0).direction(), v1::REFERRAL_DIRECTION_RECEIVED);

  // Status filters; closed ones come after the open ones.
  request.set_direction(v1::REFERRAL_DIRECTION_RECEIVED);
  request.add_statuses("declined");
  request.add_statuses("requested");
  response = ListReferrals(state_, request, Day(10));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(ReferralIds(*response),
              ElementsAre("r-emergent", "r-urgent", "r-routine-old",
                          "r-routine-new", "r-declined"));
  request.clear_statuses();
  request.add_statuses("declined");
  response = ListReferrals(state_, request, Day(10));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(ReferralIds(*response), ElementsAre("r-declined"));

  // An accepted referral leaves the requested ones and joins the accepted
  // ones; a completed one leaves the open ones.
  Client("c1", ReferralStep("r-urgent", 0), Day(5), "org-bh");
  Client("c1", ReferralStep("r-routine-old", 0), Day(5), "org-bh");
  Client("c1", ReferralStep("r-routine-old", 1), Day(6), "org-bh");
  Client("c1", ReferralStep("r-routine-old", 2), Day(7), "org-bh");
  CatchUp(state_);
  request.clear_statuses();
  request.add_statuses("requested");
  request.add_statuses("received");
  response = ListReferrals(state_, request, Day(10));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(ReferralIds(*response),
              ElementsAre("r-emergent", "r-routine-new"));
  request.clear_statuses();
  request.add_statuses("accepted");
  request.add_statuses("in-progress");
  response = ListReferrals(state_, request, Day(10));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(ReferralIds(*response), ElementsAre("r-urgent"));
  EXPECT_EQ(response->entries(0).referral().status(), "accepted");
  request.clear_statuses();
  response = ListReferrals(state_, request, Day(10));
  ASSERT_TRUE(response.ok());
  EXPECT_THAT(ReferralIds(*response),
              ElementsAre("r-emergent", "r-urgent", "r-routine-new"));

  // Pages, across the open and closed ranges and across directions.
  v1::ListReferralsRequest all;
  all.set_organization_id("org-bh");
  for (const char* status :
       {"requested", "accepted", "completed", "declined"}) {
    all.add_statuses(status);
  }
  all.set_page_size(2);
  std::vector<std::string> paged;
  int pages = 0;
  while (true) {
    response = ListReferrals(state_, all, Day(10));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_LE(response->entries_size(), 2);
    for (const std::string& id : ReferralIds(*response)) paged.push_back(id);
    ++pages;
    if (response->next_page_token().empty()) break;
    all.set_page_token(response->next_page_token());
  }
  EXPECT_THAT(paged, ElementsAre("r-emergent", "r-urgent", "r-routine-new",
                                 "r-declined", "r-routine-old", "r-out"));
  EXPECT_EQ(pages, 3);

  // Refusals name the field.
  v1::ListReferralsRequest bad;
  absl::StatusOr<v1::ListReferralsResponse> refused =
      ListReferrals(state_, bad, Day(10));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("organization_id"));
  bad.set_organization_id("org-bh");
  bad.add_statuses("rejected");
  refused = ListReferrals(state_, bad, Day(10));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("statuses: \"rejected\" is not a referral status; use "
                        "requested, received, accepted, declined, on-hold, "
                        "in-progress, completed, failed, cancelled"));
  bad.clear_statuses();
  bad.set_direction(static_cast<v1::ReferralDirection>(7));
  refused = ListReferrals(state_, bad, Day(10));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("direction"));
  bad.set_direction(v1::REFERRAL_DIRECTION_UNSPECIFIED);
  bad.set_page_size(-1);
  refused = ListReferrals(state_, bad, Day(10));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("page_size"));
  bad.set_page_size(0);
  bad.set_page_token("zz");
  refused = ListReferrals(state_, bad, Day(10));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("page_token"));
  bad.set_organization_id("org-housing");  // org-bh's token
  bad.set_page_token(all.page_token());
  refused = ListReferrals(state_, bad, Day(10));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("page_token"));
}

// A store written by a build whose format had no referral list is refused,
// naming the rebuild, rather than served without one.
TEST_F(ContinuityProjectionTest, AnOlderStoredFormatIsRefusedUntilRebuilt) {
  StandardOrgs();
  state_.Put("v", "1");
  ContinuityProjection projection(ProjectionInit{}, config_, records_.get());
  eventstore::ReadAllOptions read;
  read.from_position = 1;
  absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_FALSE(page->events.empty());
  const absl::Status applied = projection.Apply(page->events[0], state_);
  EXPECT_EQ(applied.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(applied.message(),
              HasSubstr("stored format is version 1 and this build reads "
                        "version 5; rebuild it"));
}

TEST_F(ContinuityProjectionTest, SummaryAndGapsComeFromTheLog) {
  StandardOrgs();
  v1::GetClientSummaryRequest request;
  request.set_client_id("c9");
  absl::StatusOr<v1::GetClientSummaryResponse> missing =
      GetClientSummary(*records_, request, config_, Day(0));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("client c9"));
  request.clear_client_id();
  EXPECT_EQ(GetClientSummary(*records_, request, config_, Day(0)).status().code(),
            absl::StatusCode::kInvalidArgument);

  Client("c1", Registered(), Day(0));
  Client("c1", CaseOpened(), Day(0));
  Client("c1", Member("sw-a", "org-pc"), Day(0));
  // Consent by organisation type: the directory from the log says org-bh is
  // a behavioural-health organisation.
  Client("c1",
         Consent("k1", {v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH},
                 {v1::DATA_CLASS_MENTAL_HEALTH}),
         Day(0));
  Client(
      "c1",
      Referral("r1", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
               {v1::DATA_CLASS_MENTAL_HEALTH}),
      Day(0));
  const uint64_t accepted =
      Client("c1", ReferralStep("r1", 0), Day(1), "org-bh");
  Client("c2", Registered(), Day(0));  // another stream moves the head

  request.set_client_id("c1");
  SetTime(Day(2), request.mutable_at());
  absl::StatusOr<v1::GetClientSummaryResponse> summary =
      GetClientSummary(*records_, request, config_, Day(50));
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->view_position(), log_->HeadPosition());
  EXPECT_EQ(summary->summary().state().last_position(), accepted);
  EXPECT_EQ(summary->summary().lead_case_manager().member_id(), "sw-a");
  EXPECT_THAT(summary->summary().gaps(), IsEmpty());
  ASSERT_EQ(summary->summary().open_referrals_size(), 1);
  EXPECT_EQ(summary->summary().open_referrals(0).status(), "accepted");

  // Revoked between the referral and the follow-up: the gap appears.
  const uint64_t revoked = Client("c1", Revoked("k1"), Day(3));
  Client("c1", FollowUp("f1", "org-bh"), Day(4), "org-bh");
  v1::ListGapsRequest gaps_request;
  gaps_request.set_client_id("c1");
  SetTime(Day(5), gaps_request.mutable_at());
  absl::StatusOr<v1::ListGapsResponse> gaps =
      ListGaps(*records_, gaps_request, config_, Day(50));
  ASSERT_TRUE(gaps.ok()) << gaps.status();
  ASSERT_EQ(gaps->gaps_size(), 1);
  EXPECT_EQ(gaps->gaps(0).reason(), v1::GAP_REASON_RECEIVER_LACKS_CONSENT);
  EXPECT_THAT(gaps->gaps(0).cause_positions(), ::testing::Contains(revoked));
  EXPECT_EQ(gaps->view_position(), log_->HeadPosition());
}

TEST_F(ContinuityProjectionTest, WritesOnlyTheDifference) {
  StandardOrgs();
  Client("c1", CaseOpened(), Day(0));
  Client("c1", Member("sw-a", "org-pc"), Day(0));
  Client(
      "c1",
      Referral("r1", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
      Day(0));
  CatchUp(state_);
  const size_t keys = state_.data().size();

  // Nothing the view stores changes: no writes.
  Client("c1", Consent("k1", {}, {v1::DATA_CLASS_GENERAL}), Day(1));
  Client("c1", Member("nurse", "org-pc", v1::CARE_TEAM_ROLE_MEMBER), Day(1));
  CountingState counting(&state_);
  CatchUp(counting, state_);
  EXPECT_EQ(counting.puts, 0);
  EXPECT_EQ(counting.deletes, 0);

  // Acceptance moves the referral's two worklist items (sender, receiver) to
  // a new due time and changes the status in its two referral list entries
  // (same keys: still open); its measure entry is unchanged.
  Client("c1", ReferralStep("r1", 0), Day(1), "org-bh");
  CatchUp(counting, state_);
  EXPECT_EQ(counting.deletes, 2);
  EXPECT_EQ(counting.puts, 5);  // two items, two entries, the key list
  EXPECT_EQ(state_.data().size(), keys);
}

constexpr v1::WorklistItemKind kReceiverKind =
    v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER;
constexpr v1::WorklistItemKind kServiceKind =
    v1::WORKLIST_ITEM_KIND_SERVICE_ENDED_WITHOUT_SUCCESSOR;

// The gaps that were per client only are on the worklists, sorted by
// urgency with the other items, and leave with the event that closes them.
TEST_F(ContinuityProjectionTest, GapItemsComeAndGoWithTheirEvents) {
  StandardOrgs();
  Client("c1", Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT),
         Day(-3));
  Client("c1", Discharge("a1"), Day(1));
  Client("c2", Goal("g1", v1::SERVICE_CATEGORY_HOUSING), Day(0));
  Client("c2", Service("s1", "org-housing", v1::SERVICE_CATEGORY_HOUSING),
         Day(0), "org-housing");
  Client("c2", Need("as1", v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                    v1::NEED_LEVEL_HIGH),
         Day(0));
  Client("c2", Service("s2", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         Day(0), "org-bh");
  Client("c2", ServiceEnd("s1"), Day(2), "org-housing");
  Client("c2", Interruption("s2"), Day(3), "org-bh");
  CatchUp(state_);

  auto worklist = [this](const std::string& org,
                         std::vector<v1::WorklistItemKind> kinds) {
    v1::GetWorklistRequest request;
    request.set_organization_id(org);
    for (v1::WorklistItemKind kind : kinds) request.add_kinds(kind);
    SetTime(Day(4), request.mutable_at());
    absl::StatusOr<v1::GetWorklistResponse> response =
        GetWorklist(state_, request, config_, Day(100));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::GetWorklistResponse();
  };
  // The hospital: the discharge without a receiver (since Day 1), before
  // its follow-up (due at the end of day 8).
  v1::GetWorklistResponse hospital = worklist("org-hosp", {});
  EXPECT_THAT(Subjects(hospital), ElementsAre("a1", "a1"));
  ASSERT_EQ(hospital.items_size(), 2);
  EXPECT_EQ(hospital.items(0).kind(), kReceiverKind);
  EXPECT_TRUE(hospital.items(0).overdue());
  EXPECT_EQ(hospital.items(1).kind(), v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE);
  EXPECT_THAT(hospital.items(0).description(),
              HasSubstr("with no transition to a receiving organisation"));
  // The providers: a service ended and one interrupted, the needs persisting.
  v1::GetWorklistResponse housing = worklist("org-housing", {kServiceKind});
  ASSERT_EQ(housing.items_size(), 1);
  EXPECT_EQ(housing.items(0).subject_id(), "s1");
  EXPECT_THAT(housing.items(0).description(), HasSubstr("ended on"));
  v1::GetWorklistResponse bh = worklist("org-bh", {kServiceKind});
  ASSERT_EQ(bh.items_size(), 1);
  EXPECT_EQ(bh.items(0).subject_id(), "s2");
  EXPECT_THAT(bh.items(0).description(), HasSubstr("will be interrupted"));

  // A transition to bh with an accepted referral closes the hospital's; a
  // met goal closes housing's; a successor service closes bh's.
  Client("c1", Referral("r1", "org-hosp", "org-bh",
                        v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         Day(2));
  Client("c1", Transition("t1", "a1", "org-hosp", "org-bh", 2026, 1, 7),
         Day(2));
  CatchUp(state_);
  hospital = worklist("org-hosp", {kReceiverKind});
  ASSERT_EQ(hospital.items_size(), 1);
  EXPECT_EQ(hospital.items(0).subject_id(), "t1");
  EXPECT_EQ(worklist("org-bh", {kReceiverKind}).items_size(), 1);
  Client("c1", ReferralStep("r1", 0), Day(3), "org-bh");
  Client("c2", GoalDone("g1"), Day(3));
  Client("c2", Service("s3", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         Day(3), "org-bh");
  CatchUp(state_);
  EXPECT_EQ(worklist("org-hosp", {kReceiverKind}).items_size(), 0);
  EXPECT_EQ(worklist("org-bh", {kReceiverKind, kServiceKind}).items_size(), 0);
  EXPECT_EQ(worklist("org-housing", {kServiceKind}).items_size(), 0);
}

// A claim shows on the stored item to every colleague; the worklist filters
// by claimant and by claim; a release, and the item leaving, unclaim it.
TEST_F(ContinuityProjectionTest, ClaimsShowOnTheStoredItems) {
  StandardOrgs();
  Client("c1", Admission("a1", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT),
         Day(-3));
  Client("c1", Discharge("a1"), Day(1));
  Client("c2",
         Referral("r1", "org-hosp", "org-housing",
                  v1::SERVICE_CATEGORY_HOUSING),
         Day(0));
  Client("c2",
         Referral("r2", "org-hosp", "org-housing",
                  v1::SERVICE_CATEGORY_HOUSING),
         Day(0));
  CatchUp(state_);
  const size_t keys = state_.data().size();

  CountingState counting(&state_);
  const uint64_t claimed =
      ClientBy("c1", Claim(kReceiverKind, "a1", "calling bh"), Day(2),
               "org-hosp", "ana");
  CatchUp(counting, state_);
  // The claimed item, rewritten in place, and the client's key list.
  EXPECT_EQ(counting.puts, 2);
  EXPECT_EQ(counting.deletes, 0);
  EXPECT_EQ(state_.data().size(), keys);
  ClientBy("c2", Claim(v1::WORKLIST_ITEM_KIND_STALE_REFERRAL, "r2"), Day(2),
           "org-hosp", "ben");
  ClientBy("c2", Claim(v1::WORKLIST_ITEM_KIND_STALE_REFERRAL, "r2"), Day(2),
           "org-housing", "hal");
  CatchUp(state_);

  auto worklist = [this](const std::string& org, const std::string& by,
                         v1::WorklistClaimFilter filter) {
    v1::GetWorklistRequest request;
    request.set_organization_id(org);
    request.set_claimed_by(by);
    request.set_claim_filter(filter);
    SetTime(Day(4), request.mutable_at());
    absl::StatusOr<v1::GetWorklistResponse> response =
        GetWorklist(state_, request, config_, Day(100));
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::GetWorklistResponse();
  };
  constexpr auto kAny = v1::WORKLIST_CLAIM_FILTER_UNSPECIFIED;
  v1::GetWorklistResponse all = worklist("org-hosp", "", kAny);
  // a1 (receiver), r1, r2 (answers due Day 7), a1 (follow-up, end of day 8).
  EXPECT_THAT(Subjects(all), ElementsAre("a1", "r1", "r2", "a1"));
  ASSERT_EQ(all.items_size(), 4);
  EXPECT_EQ(all.items(0).claimed_by_user_id(), "ana");
  EXPECT_EQ(all.items(0).claim_position(), claimed);
  EXPECT_EQ(all.items(0).claim_note(), "calling bh");
  EXPECT_EQ(all.items(0).claimed_at().seconds(), absl::ToUnixSeconds(Day(2)));
  EXPECT_TRUE(all.items(1).claimed_by_user_id().empty());
  EXPECT_EQ(all.items(2).claimed_by_user_id(), "ben");
  EXPECT_TRUE(all.items(3).claimed_by_user_id().empty());
  EXPECT_THAT(Subjects(worklist("org-hosp", "ana", kAny)), ElementsAre("a1"));
  EXPECT_THAT(Subjects(worklist("org-hosp", "hal", kAny)), IsEmpty());
  EXPECT_THAT(Subjects(worklist("org-housing", "hal", kAny)),
              ElementsAre("r2"));
  EXPECT_THAT(
      Subjects(worklist("org-hosp", "", v1::WORKLIST_CLAIM_FILTER_CLAIMED)),
      ElementsAre("a1", "r2"));
  EXPECT_THAT(
      Subjects(worklist("org-hosp", "", v1::WORKLIST_CLAIM_FILTER_UNCLAIMED)),
      ElementsAre("r1", "a1"));
  EXPECT_THAT(
      Subjects(worklist("org-hosp", "ben", v1::WORKLIST_CLAIM_FILTER_CLAIMED)),
      ElementsAre("r2"));

  // Released: unclaimed. r2 declined: its items go with both claims; sent
  // again under the same id, they come back unclaimed.
  ClientBy("c1", Release(kReceiverKind, "a1"), Day(3), "org-hosp", "ben");
  Client("c2", ReferralStep("r2", 3), Day(3), "org-housing");
  Client("c2",
         Referral("r2", "org-hosp", "org-housing",
                  v1::SERVICE_CATEGORY_HOUSING),
         Day(3));
  CatchUp(state_);
  EXPECT_THAT(
      Subjects(worklist("org-hosp", "", v1::WORKLIST_CLAIM_FILTER_CLAIMED)),
      IsEmpty());
  EXPECT_THAT(
      Subjects(worklist("org-housing", "", v1::WORKLIST_CLAIM_FILTER_CLAIMED)),
      IsEmpty());
  EXPECT_THAT(Subjects(worklist("org-housing", "", kAny)),
              ElementsAre("r1", "r2"));

  v1::GetWorklistRequest bad;
  bad.set_organization_id("org-hosp");
  bad.set_claimed_by("ana");
  bad.set_claim_filter(v1::WORKLIST_CLAIM_FILTER_UNCLAIMED);
  absl::StatusOr<v1::GetWorklistResponse> refused =
      GetWorklist(state_, bad, config_, Day(9));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("claimed_by"));
  bad.clear_claimed_by();
  bad.set_claim_filter(static_cast<v1::WorklistClaimFilter>(7));
  refused = GetWorklist(state_, bad, config_, Day(9));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("claim_filter"));
}

// A store of the second format (referral lists, but no gap items nor claims
// on worklists) or of the third (referral list entries without versions,
// reasons nor received_at) is refused until it is rebuilt, naming the command
// that rebuilds it.
TEST_F(ContinuityProjectionTest, AStoreOfTheSecondOrThirdFormatIsRefused) {
  StandardOrgs();
  eventstore::ReadAllOptions read;
  read.from_position = 1;
  absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_FALSE(page->events.empty());
  for (const char* version : {"2", "3", "4"}) {
    MemoryProjectionState old;
    old.Put("v", version);
    ContinuityProjection projection(ProjectionInit(), config_, records_.get());
    const absl::Status applied = projection.Apply(page->events[0], old);
    EXPECT_EQ(applied.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(applied.message(),
                HasSubstr(absl::StrCat(
                    "stored format is version ", version,
                    " and this build reads version 5; rebuild it (caseline "
                    "projections rebuild continuity)")));
  }
}

// --- Incremental equals rebuild
// --------------------------------------------------

// Appends a random but plausible care history: a few organisations (one
// changes type half-way), clients whose cases open and close, leads come and
// go, referrals move through their lifecycle, admissions are discharged,
// transitions planned and completed, follow-ups recorded (some late, with an
// occurred_at days back), services start, end and are interrupted while
// goals and assessed needs come and go, people claim and release worklist
// items (mostly ones the client's worklist holds), and events the view
// ignores.
class ContinuityRebuildTest : public ContinuityProjectionTest {
 protected:
  // With `retype`, org-pc becomes a behavioural-health organisation half-way.
  void AppendRandomHistory(int events, uint32_t seed, bool retype = true);
};

void ContinuityRebuildTest::AppendRandomHistory(int events, uint32_t seed,
                                                bool retype) {
  auto client = [this](const std::string& c, const v1::CareEvent& e,
                       absl::Time at,
                       const std::string& o) { Client(c, e, at, o); };
  auto org = [this](const v1::CareEvent& e) { Org(e); };
  std::mt19937 rng(seed);
  auto pick = [&rng](int n) {
    return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng));
  };
  const std::vector<std::string> orgs = {"org-hosp", "org-bh", "org-pc",
                                         "org-housing"};
  org(OrgRegistered("org-hosp", v1::ORGANIZATION_TYPE_HOSPITAL));
  org(OrgRegistered("org-bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH));
  org(OrgRegistered("org-pc", v1::ORGANIZATION_TYPE_PRIMARY_CARE));
  org(OrgRegistered("org-housing", v1::ORGANIZATION_TYPE_HOUSING));
  struct ClientIds {
    std::vector<std::string> referrals, open_admissions, transitions, members,
        services, goals;
  };
  // The client's worklist items now, as the projection will derive them.
  auto items_of = [this](const std::string& client_id) {
    care::ClientRecord record(client_id);
    EXPECT_TRUE(FoldCareStream(
                    *log_, care::ClientStreamId(client_id), 0,
                    [](const eventstore::RecordedEvent&) { return true; },
                    [&record](const v1::CareEvent& e,
                              const care::CareEventContext& context) {
                      record.Apply(e, context);
                    })
                    .ok());
    return care::WorklistItemsOf(record, config_);
  };
  const std::vector<std::string> users = {"ana", "ben", "cy"};
  std::vector<ClientIds> ids(8);
  int next = 0;
  for (int i = 0; i < events; ++i) {
    if (retype && i == events / 2) {
      org(OrgRetyped("org-pc", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH));
    }
    const int c = pick(8);
    const std::string cid = absl::StrCat("c", c);
    ClientIds& mine = ids[c];
    const absl::Time at = Day(0) + absl::Hours(i * 3 + pick(3));
    const std::string& o = orgs[pick(4)];
    const std::string id = absl::StrCat("x", ++next);
    switch (pick(19)) {
      case 0:
        client(cid,
               pick(3) == 0   ? CaseClosed()
               : pick(2) == 0 ? CaseOpened()
                              : CaseReopened(),
               at, o);
        break;
      case 1:
        mine.members.push_back(id);
        client(cid,
               Member(absl::StrCat("sw-", pick(3)), o,
                      pick(3) == 0 ? v1::CARE_TEAM_ROLE_MEMBER
                                   : v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER),
               at, o);
        break;
      case 2:
        client(cid, MemberRemoved(absl::StrCat("sw-", pick(3))), at, o);
        break;
      case 3:
      case 4:
        mine.referrals.push_back(id);
        client(cid,
               Referral(id, o, orgs[pick(4)], v1::SERVICE_CATEGORY_HOUSING,
                        {v1::DATA_CLASS_GENERAL}),
               at, o);
        break;
      case 5:
      case 6:
        if (mine.referrals.empty()) break;
        client(
            cid,
            ReferralStep(
                mine.referrals[pick(static_cast<int>(mine.referrals.size()))],
                pick(5)),
            at, o);
        break;
      case 7: {
        mine.open_admissions.push_back(id);
        const v1::LevelOfCare level =
            pick(2) == 0 ? v1::LEVEL_OF_CARE_INPATIENT
                         : v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT;
        client(cid,
               Admission(id, o, level,
                         pick(3) == 0 ? v1::SERVICE_CATEGORY_HEALTH_CARE
                                      : v1::SERVICE_CATEGORY_MENTAL_HEALTH),
               at, o);
        break;
      }
      case 8: {
        if (mine.open_admissions.empty()) break;
        const int k = pick(static_cast<int>(mine.open_admissions.size()));
        const std::string admission = mine.open_admissions[k];
        mine.open_admissions.erase(mine.open_admissions.begin() + k);
        client(cid,
               Discharge(admission,
                         static_cast<v1::DischargeDisposition>(1 + pick(7))),
               at + absl::Hours(1), o);
        break;
      }
      case 9:
        mine.transitions.push_back(id);
        client(cid,
               Transition(id, "", o, orgs[pick(4)], 2026, 1 + pick(2),
                          1 + pick(28)),
               at, o);
        break;
      case 10:
        if (mine.transitions.empty()) break;
        client(cid,
               TransitionDone(mine.transitions[pick(
                   static_cast<int>(mine.transitions.size()))]),
               at, o);
        break;
      case 11:
      case 12:
        // Some follow-ups are recorded late: they occurred days earlier.
        client(cid, FollowUp(id, o, static_cast<v1::Discipline>(pick(5))),
               at - absl::Hours(24 * pick(12)), o);
        break;
      case 14: {
        const v1::ServiceCategory category =
            pick(2) == 0 ? v1::SERVICE_CATEGORY_HOUSING
                         : v1::SERVICE_CATEGORY_MENTAL_HEALTH;
        if (mine.services.empty() || pick(3) == 0) {
          mine.services.push_back(id);
          client(cid, Service(id, o, category), at, o);
        } else {
          const std::string& service =
              mine.services[pick(static_cast<int>(mine.services.size()))];
          client(cid, pick(3) == 0 ? Interruption(service) : ServiceEnd(service),
                 at, o);
        }
        break;
      }
      case 15: {
        const v1::ServiceCategory category =
            pick(2) == 0 ? v1::SERVICE_CATEGORY_HOUSING
                         : v1::SERVICE_CATEGORY_MENTAL_HEALTH;
        switch (pick(3)) {
          case 0:
            mine.goals.push_back(id);
            client(cid, Goal(id, category), at, o);
            break;
          case 1:
            if (mine.goals.empty()) break;
            client(cid,
                   GoalDone(mine.goals[pick(
                       static_cast<int>(mine.goals.size()))]),
                   at, o);
            break;
          default:
            client(cid,
                   Need(id, category,
                        static_cast<v1::NeedLevel>(1 + pick(5))),
                   at, o);
            break;
        }
        break;
      }
      case 16:
      case 17: {
        // Mostly an item the worklist holds, by a person of its
        // organisation; sometimes one it does not hold (no claim).
        const std::vector<v1::WorklistItem> items = items_of(cid);
        const std::string& user = users[pick(3)];
        if (items.empty() || pick(6) == 0) {
          client(cid, Claim(kReceiverKind, absl::StrCat("x", pick(next + 1))),
                 at, o);
          break;
        }
        const v1::WorklistItem& item =
            items[pick(static_cast<int>(items.size()))];
        ClientBy(cid, Claim(item.kind(), item.subject_id(), user), at,
                 item.organization_id(), user);
        break;
      }
      case 18: {
        const std::vector<v1::WorklistItem> items = items_of(cid);
        if (items.empty()) break;
        const v1::WorklistItem& item =
            items[pick(static_cast<int>(items.size()))];
        ClientBy(cid, Release(item.kind(), item.subject_id()), at,
                 item.organization_id(), users[pick(3)]);
        break;
      }
      default:
        client(cid,
               pick(2) == 0 ? Consent(id, {v1::ORGANIZATION_TYPE_HOUSING},
                                      {v1::DATA_CLASS_GENERAL})
                            : Registered(),
               at, o);
        break;
    }
  }
}

TEST_F(ContinuityRebuildTest, IncrementalEqualsRebuild) {
  std::set<int> seen_kinds;  // worklist item kinds stored at the end
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    TearDown();
    SetUp();
    AppendRandomHistory(600, seed);
    const uint64_t head = log_->HeadPosition();

    MemoryProjectionState rebuilt;
    CatchUp(rebuilt);
    ASSERT_EQ(rebuilt.position(), head);

    // Random chunks, each with a new instance that reloads the records and
    // the directory from the log.
    std::mt19937 rng(seed * 7919);
    MemoryProjectionState incremental;
    while (incremental.position() < head) {
      const uint64_t upto = std::min<uint64_t>(
          head, incremental.position() +
                    std::uniform_int_distribution<uint64_t>(1, 60)(rng));
      CatchUp(incremental, upto);
    }
    EXPECT_EQ(incremental.position(), head);
    EXPECT_TRUE(incremental.data() == rebuilt.data());

    int worklist = 0, measures = 0, caseload = 0, referrals = 0, claimed = 0;
    std::set<int> kinds;
    for (const auto& [key, value] : rebuilt.data()) {
      worklist += key.rfind("w/", 0) == 0;
      measures += key.rfind("m/", 0) == 0;
      caseload += key.rfind("c/", 0) == 0;
      referrals += key.rfind("r/", 0) == 0;
      v1::WorklistItem item;
      if (key.rfind("w/", 0) == 0 && item.ParseFromString(value)) {
        kinds.insert(item.kind());
        claimed += !item.claimed_by_user_id().empty();
      }
    }
    EXPECT_GT(worklist, 10);
    EXPECT_GT(measures, 10);
    EXPECT_GT(caseload, 0);
    EXPECT_GT(referrals, 10);
    EXPECT_GT(claimed, 0);
    seen_kinds.insert(kinds.begin(), kinds.end());
  }
  EXPECT_EQ(seen_kinds.size(), 5u) << ::testing::PrintToString(seen_kinds);
}

// The engine with the server's three projections: live catch-up, each
// projection rebuilt alone, and all three rebuilt at once (sharing the log's
// pages and kept in step) store the same bytes, and continuity's equal a
// direct catch-up.
TEST_F(ContinuityRebuildTest, EngineRebuildAllAtOnceEqualsAloneAndLive) {
  AppendRandomHistory(600, 5);
  const uint64_t head = log_->HeadPosition();
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat("continuity_engine_views_", getpid());
  std::filesystem::remove_all(dir);
  eventstore::ViewStoreOptions store_options;
  store_options.dir = dir.string();
  auto store = eventstore::ViewStore::Open(store_options);
  ASSERT_TRUE(store.ok()) << store.status();
  std::vector<ProjectionDef> defs;
  ClientRecordStore* records = records_.get();
  const care::ViewsConfig config = config_;
  defs.push_back({kContinuityProjectionName,
                  [config, records](const ProjectionInit& init) {
                    return std::make_unique<ContinuityProjection>(init, config,
                                                                  records);
                  }});
  defs.push_back({kDuplicationProjectionName,
                  [config, records](const ProjectionInit& init) {
                    return std::make_unique<DuplicationProjection>(
                        init, config, records);
                  }});
  defs.push_back({kAccessProjectionName, [](const ProjectionInit&) {
                    return std::make_unique<AccessProjection>();
                  }});
  ProjectionEngineOptions options;
  options.batch_events = 50;  // 13 pages
  auto engine =
      ProjectionEngine::Start(log_, store->get(), std::move(defs), options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const std::vector<std::string> names = (*engine)->names();
  auto dump = [&](const std::string& name) {
    std::map<std::string, std::string> out;
    auto reader = (*engine)->Reader(name);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return out;
    EXPECT_TRUE((*reader)
                    ->Scan("", "",
                           [&](absl::string_view key, absl::string_view value) {
                             out.emplace(key, value);
                             return true;
                           })
                    .ok());
    return out;
  };
  auto rebuild = [&](const std::string& name) {
    return (*engine)->Rebuild(
        name, [](const v1::RebuildProjectionResponse&) { return true; });
  };
  std::map<std::string, std::map<std::string, std::string>> live;
  for (const std::string& name : names) {
    ASSERT_TRUE((*engine)
                    ->WaitForPosition(name, head,
                                      absl::Now() + absl::Seconds(30))
                    .ok());
    live[name] = dump(name);
    EXPECT_FALSE(live[name].empty()) << name;
  }
  MemoryProjectionState direct;
  CatchUp(direct);
  EXPECT_TRUE(live[kContinuityProjectionName] == direct.data());

  for (const std::string& name : names) {
    ASSERT_TRUE(rebuild(name).ok()) << name;
    EXPECT_TRUE(dump(name) == live[name]) << name << ", rebuilt alone";
  }
  std::vector<absl::Status> statuses(names.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] { statuses[i] = rebuild(names[i]); });
  }
  for (std::thread& t : threads) t.join();
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << names[i] << ": " << statuses[i];
    EXPECT_TRUE(dump(names[i]) == live[names[i]])
        << names[i] << ", rebuilt at once";
  }
  engine->reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

// The stored items equal what continuity.h derives from each client's final
// record: the per-family and per-referral diffs leave nothing behind.
TEST_F(ContinuityRebuildTest, StoredItemsEqualADerivationFromScratch) {
  AppendRandomHistory(600, 4, /*retype=*/false);
  const uint64_t head = log_->HeadPosition();
  std::mt19937 rng(4);
  while (state_.position() < head) {
    CatchUp(state_, std::min<uint64_t>(
                        head, state_.position() +
                                  std::uniform_int_distribution<uint64_t>(
                                      1, 100)(rng)));
  }

  care::OrganizationDirectory directory;
  ASSERT_TRUE(
      FoldCareStream(
          *log_, care::kOrganizationsStream, 0,
          [](const eventstore::RecordedEvent&) { return true; },
          [&directory](const v1::CareEvent& e, const care::CareEventContext& c) {
            directory.Apply(e, c);
          })
          .ok());
  // Worklist, measures, caseload, referral list.
  std::multiset<std::string> expected[4];
  for (int c = 0; c < 8; ++c) {
    care::ClientRecord record(absl::StrCat("c", c));
    ASSERT_TRUE(
        FoldCareStream(
            *log_, care::ClientStreamId(record.client_id), 0,
            [](const eventstore::RecordedEvent&) { return true; },
            [&record](const v1::CareEvent& e, const care::CareEventContext& context) {
              record.Apply(e, context);
            })
            .ok());
    for (const auto& item : care::WorklistItemsOf(record, config_))
      expected[0].insert(item.SerializeAsString());
    for (const auto& entry : care::MeasureEntriesOf(record, directory, config_))
      expected[1].insert(entry.SerializeAsString());
    for (const auto& entry : care::CaseloadEntriesOf(record))
      expected[2].insert(entry.SerializeAsString());
    for (const auto& entry : care::ReferralListEntriesOf(record))
      expected[3].insert(entry.SerializeAsString());
  }
  std::multiset<std::string> stored[4];
  for (const auto& [key, value] : state_.data()) {
    if (key.rfind("w/", 0) == 0) stored[0].insert(value);
    if (key.rfind("m/", 0) == 0) stored[1].insert(value);
    if (key.rfind("c/", 0) == 0) stored[2].insert(value);
    if (key.rfind("r/", 0) == 0) stored[3].insert(value);
  }
  EXPECT_GT(expected[0].size(), 10u);
  EXPECT_GT(expected[1].size(), 10u);
  EXPECT_GT(expected[3].size(), 10u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(stored[i] == expected[i]) << i;
}

}  // namespace
}  // namespace caseline::projections
