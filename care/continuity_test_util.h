// Shared by the continuity tests (calendar_test.cc, continuity_*_test.cc):
// event builders and a fixture that applies them to one client's record at
// chosen times.
#ifndef CASELINE_CARE_CONTINUITY_TEST_UTIL_H_
#define CASELINE_CARE_CONTINUITY_TEST_UTIL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "care/client_record.h"
#include "care/continuity.h"
#include "care/organization_directory.h"
#include "care/proto_time.h"
#include "care/views_config.h"
#include "gtest/gtest.h"

namespace caseline::care::continuity_testing {

// Monday 2026-01-05 10:00 UTC.
inline const absl::Time kMonday = absl::FromCivil(
    absl::CivilSecond(2026, 1, 5, 10, 0, 0), absl::UTCTimeZone());

inline absl::Time Day(int n, int hour = 10) {
  return absl::FromCivil(absl::CivilSecond(2026, 1, 5 + n, hour, 0, 0),
                         absl::UTCTimeZone());
}

// The zone of the tests that count days in a network's zone rather than UTC.
inline absl::TimeZone NewYork() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("America/New_York", &zone))
      << "the IANA time zone database (Debian's tzdata) is not installed";
  return zone;
}

// 2026-month-day hour:minute in `zone`.
inline absl::Time Local(const absl::TimeZone& zone, int month, int day,
                        int hour, int minute = 0) {
  return absl::FromCivil(absl::CivilSecond(2026, month, day, hour, minute, 0),
                         zone);
}

inline v1::Date DateOf(int y, int m, int d) {
  v1::Date date;
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

// --- Event builders
// ---------------------------------------------------------------

inline v1::CareEvent CaseOpened() {
  v1::CareEvent e;
  e.mutable_case_opened();
  return e;
}
inline v1::CareEvent CaseClosed() {
  v1::CareEvent e;
  e.mutable_case_closed()->set_reason(v1::CASE_CLOSURE_REASON_GOALS_MET);
  return e;
}
inline v1::CareEvent Admission(
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
inline v1::CareEvent Discharge(
    const std::string& id,
    v1::DischargeDisposition disposition = v1::DISCHARGE_DISPOSITION_HOME) {
  v1::CareEvent e;
  e.mutable_discharge_recorded()->set_admission_id(id);
  e.mutable_discharge_recorded()->set_disposition(disposition);
  return e;
}
inline v1::CareEvent Transition(const std::string& id,
                                const std::string& admission,
                                const std::string& from, const std::string& to,
                                const v1::Date& planned) {
  v1::CareEvent e;
  auto* t = e.mutable_transition_planned();
  t->set_transition_id(id);
  t->set_admission_id(admission);
  t->set_from_organization_id(from);
  t->set_from_level_of_care(v1::LEVEL_OF_CARE_INPATIENT);
  t->set_to_organization_id(to);
  t->set_to_level_of_care(v1::LEVEL_OF_CARE_OUTPATIENT);
  *t->mutable_planned_date() = planned;
  return e;
}
inline v1::CareEvent TransitionDone(const std::string& id) {
  v1::CareEvent e;
  e.mutable_transition_completed()->set_transition_id(id);
  return e;
}
inline v1::CareEvent FollowUp(
    const std::string& id, const std::string& provider,
    v1::Discipline discipline = v1::DISCIPLINE_PSYCHIATRY) {
  v1::CareEvent e;
  auto* f = e.mutable_follow_up_completed();
  f->set_follow_up_id(id);
  f->set_provider_organization_id(provider);
  f->set_provider_discipline(discipline);
  f->set_contact_kind(v1::CONTACT_KIND_IN_PERSON);
  return e;
}
inline v1::CareEvent Notification(const std::string& id,
                                  const std::string& admission) {
  v1::CareEvent e;
  e.mutable_admission_notification_received()->set_notification_id(id);
  e.mutable_admission_notification_received()->set_admission_id(admission);
  return e;
}
inline v1::CareEvent Receipt(const std::string& id,
                             const std::string& admission) {
  v1::CareEvent e;
  e.mutable_discharge_information_received()->set_receipt_id(id);
  e.mutable_discharge_information_received()->set_admission_id(admission);
  return e;
}
inline v1::CareEvent Reconciliation(
    const std::string& id, const std::string& admission = "",
    v1::Discipline discipline = v1::DISCIPLINE_NURSING) {
  v1::CareEvent e;
  auto* r = e.mutable_medication_reconciliation_recorded();
  r->set_reconciliation_id(id);
  r->set_admission_id(admission);
  r->set_performer_discipline(discipline);
  return e;
}
inline v1::CareEvent Referral(const std::string& id, const std::string& from,
                              const std::string& to,
                              v1::ServiceCategory category,
                              std::vector<v1::DataClass> shared = {}) {
  v1::CareEvent e;
  auto* r = e.mutable_referral_sent();
  r->set_referral_id(id);
  r->set_from_organization_id(from);
  r->set_to_organization_id(to);
  r->set_service_category(category);
  r->set_kind(v1::REFERRAL_KIND_WARM);
  for (v1::DataClass dc : shared) r->add_shared_data_classes(dc);
  return e;
}
inline v1::CareEvent Accepted(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_accepted()->set_referral_id(id);
  return e;
}
inline v1::CareEvent Started(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_started()->set_referral_id(id);
  return e;
}
inline v1::CareEvent Completed(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_completed()->set_referral_id(id);
  return e;
}
inline v1::CareEvent OnHold(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_on_hold()->set_referral_id(id);
  return e;
}
inline v1::CareEvent Consent(const std::string& id,
                             std::vector<std::string> orgs,
                             std::vector<v1::DataClass> classes,
                             std::vector<v1::OrganizationType> types = {}) {
  v1::CareEvent e;
  auto* c = e.mutable_consent_given();
  c->set_consent_id(id);
  for (const auto& o : orgs) c->add_recipient_organization_ids(o);
  for (auto t : types) c->add_recipient_organization_types(t);
  for (auto dc : classes) c->add_data_classes(dc);
  return e;
}
inline v1::CareEvent Revoked(const std::string& id, absl::Time effective) {
  v1::CareEvent e;
  e.mutable_consent_revoked()->set_consent_id(id);
  SetTimestamp(effective, e.mutable_consent_revoked()->mutable_effective_at());
  return e;
}
inline v1::CareEvent Member(
    const std::string& id, const std::string& org,
    v1::CareTeamRole role = v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER) {
  v1::CareEvent e;
  auto* m = e.mutable_care_team_member_added();
  m->set_member_id(id);
  m->set_organization_id(org);
  m->set_role(role);
  m->set_discipline(v1::DISCIPLINE_SOCIAL_WORK);
  m->mutable_name()->set_family(id);
  return e;
}
inline v1::CareEvent MemberRemoved(const std::string& id) {
  v1::CareEvent e;
  e.mutable_care_team_member_removed()->set_member_id(id);
  return e;
}
inline v1::CareEvent Meeting(const std::string& id,
                             std::optional<v1::Date> next) {
  v1::CareEvent e;
  e.mutable_team_meeting_held()->set_meeting_id(id);
  if (next.has_value())
    *e.mutable_team_meeting_held()->mutable_next_review_date() = *next;
  return e;
}
inline v1::CareEvent Service(const std::string& id, const std::string& provider,
                             v1::ServiceCategory category) {
  v1::CareEvent e;
  auto* s = e.mutable_service_started();
  s->set_service_id(id);
  s->set_provider_organization_id(provider);
  s->set_category(category);
  s->set_level_of_care(v1::LEVEL_OF_CARE_COMMUNITY);
  return e;
}
inline v1::CareEvent ServiceEnd(const std::string& id) {
  v1::CareEvent e;
  e.mutable_service_ended()->set_service_id(id);
  return e;
}
inline v1::CareEvent Interruption(const std::string& id,
                                  absl::Time expected_end) {
  v1::CareEvent e;
  e.mutable_service_interruption_notified()->set_service_id(id);
  SetTimestamp(
      expected_end,
      e.mutable_service_interruption_notified()->mutable_expected_end());
  return e;
}
inline v1::CareEvent Goal(const std::string& id, v1::ServiceCategory domain) {
  v1::CareEvent e;
  e.mutable_goal_set()->set_goal_id(id);
  e.mutable_goal_set()->set_domain(domain);
  return e;
}
inline v1::CareEvent GoalDone(const std::string& id) {
  v1::CareEvent e;
  e.mutable_goal_status_changed()->set_goal_id(id);
  e.mutable_goal_status_changed()->set_status(v1::GOAL_STATUS_COMPLETED);
  return e;
}
inline v1::CareEvent Assessment(const std::string& id,
                                v1::ServiceCategory domain,
                                v1::NeedLevel level) {
  v1::CareEvent e;
  e.mutable_assessment_recorded()->set_assessment_id(id);
  auto* d = e.mutable_assessment_recorded()->add_domains();
  d->set_domain(domain);
  d->set_need_level(level);
  return e;
}

class ContinuityTest : public ::testing::Test {
 protected:
  ContinuityTest() {
    AddOrg("org-hosp", v1::ORGANIZATION_TYPE_HOSPITAL);
    AddOrg("org-bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
    AddOrg("org-housing", v1::ORGANIZATION_TYPE_HOUSING);
    AddOrg("org-pc", v1::ORGANIZATION_TYPE_PRIMARY_CARE);
    AddOrg("org-sud", v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
  }

  void AddOrg(const std::string& id, v1::OrganizationType type) {
    v1::CareEvent e;
    e.mutable_organization_registered()->set_organization_id(id);
    e.mutable_organization_registered()->set_name(id + " name");
    e.mutable_organization_registered()->set_type(type);
    directory_.Apply(e, CareEventContext{});
  }

  // Applies `e` to record_ at `at` as `org`; returns its global position.
  uint64_t Apply(const v1::CareEvent& e, absl::Time at,
                 const std::string& org = "org-hosp") {
    return ApplyTo(record_, e, at, org);
  }
  uint64_t ApplyTo(ClientRecord& record, const v1::CareEvent& e, absl::Time at,
                   const std::string& org = "org-hosp") {
    CareEventContext context;
    context.stream_version =
        record.version.has_value() ? *record.version + 1 : 0;
    context.global_position = ++position_;
    context.occurred_at = at;
    context.recorded_at = at;
    context.organization_id = org;
    record.Apply(e, context);
    return context.global_position;
  }

  std::vector<v1::Gap> Gaps(absl::Time now) {
    return FindGaps(record_, directory_, config_, now);
  }
  std::vector<v1::Gap> GapsOf(v1::GapReason reason, absl::Time now) {
    std::vector<v1::Gap> out;
    for (v1::Gap& g : Gaps(now)) {
      if (g.reason() == reason) out.push_back(std::move(g));
    }
    return out;
  }

  ClientRecord record_{"c1"};
  OrganizationDirectory directory_;
  ViewsConfig config_;
  uint64_t position_ = 0;
};

}  // namespace caseline::care::continuity_testing

#endif  // CASELINE_CARE_CONTINUITY_TEST_UTIL_H_
