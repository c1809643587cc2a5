// FindGaps: the open gaps of a client (care/continuity.h states the rules).
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "care/calendar.h"
#include "care/continuity.h"
#include "care/continuity_rules.h"
#include "care/proto_time.h"

namespace caseline::care {
namespace {

using continuity_internal::AdmissionEntry;
using continuity_internal::AwaitsStart;
using continuity_internal::CalendarOf;
using continuity_internal::Category;
using continuity_internal::ConsentNeed;
using continuity_internal::ConsentNeeds;
using continuity_internal::Covered;
using continuity_internal::FirstLead;
using continuity_internal::HasLaterStay;
using continuity_internal::NeedsReceiver;
using continuity_internal::PendingFollowUp;
using continuity_internal::PendingFollowUps;
using continuity_internal::PendingReferralTo;
using continuity_internal::ReceiverAccepted;
using continuity_internal::ReferralAnswerDeadline;
using continuity_internal::ReferralEntry;
using continuity_internal::ReceiverGap;
using continuity_internal::ReceiverGapsOf;
using continuity_internal::ReferralStartDeadline;
using continuity_internal::ServiceGapsOf;
using continuity_internal::TransitionFor;
using continuity_internal::TypeOf;

std::string DataClassList(const std::vector<v1::DataClass>& classes) {
  return absl::StrJoin(classes, ", ", [](std::string* out, v1::DataClass dc) {
    absl::StrAppend(out, v1::DataClass_Name(dc));
  });
}

v1::Gap MakeGap(v1::GapReason reason, absl::string_view subject,
                absl::string_view org, absl::Time since,
                std::string description, std::vector<uint64_t> positions) {
  v1::Gap gap;
  gap.set_reason(reason);
  gap.set_description(std::move(description));
  gap.set_subject_id(std::string(subject));
  gap.set_organization_id(std::string(org));
  SetTimestamp(since, gap.mutable_since());
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()),
                  positions.end());
  for (uint64_t p : positions) {
    if (p != 0) gap.add_cause_positions(p);
  }
  return gap;
}

}  // namespace

namespace continuity_internal {

// care/continuity_rules.h
std::vector<ReceiverGap> ReceiverGapsOf(const ClientRecord& record,
                                        const Calendar& calendar) {
  std::vector<ReceiverGap> gaps;
  for (const auto& [id, t] : record.transitions) {
    if (t.completed_at.has_value()) continue;
    const std::string& to = t.planned.to_organization_id();
    if (ReceiverAccepted(record, to)) continue;
    const ReferralEntry* pending = PendingReferralTo(record, to);
    std::vector<uint64_t> causes = {t.planned_position};
    const std::string when =
        t.planned.has_planned_date()
            ? absl::StrCat(
                  " planned for ",
                  Calendar::FormatDay(CivilDayOf(t.planned.planned_date())))
            : std::string();
    std::string description;
    std::string actor;
    if (pending != nullptr) {
      causes.push_back(pending->second.sent_position);
      actor = to;
      description = absl::StrCat(
          "transition ", id, " to ", to, when, ": referral ", pending->first,
          " to ", to, " is not accepted yet; ", to,
          " should accept it, or the planner refers to another receiver");
    } else {
      actor = t.planned.from_organization_id().empty()
                  ? record.registered_by_organization_id
                  : t.planned.from_organization_id();
      description = absl::StrCat("transition ", id, " to ", to, when, ": ", to,
                                 " has no accepted referral for client ",
                                 record.client_id, "; send a referral to ", to,
                                 " and have it accepted");
    }
    auto admission = record.admissions.find(t.planned.admission_id());
    if (admission != record.admissions.end()) {
      causes.push_back(admission->second.discharged_position);
    }
    std::string discharging = t.planned.from_organization_id();
    if (discharging.empty()) {
      discharging = admission != record.admissions.end()
                        ? admission->second.admission.facility_organization_id()
                        : record.registered_by_organization_id;
    }
    gaps.push_back(
        {MakeGap(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER, id, actor,
                 t.planned_at, std::move(description), std::move(causes)),
         std::move(discharging)});
  }
  for (const AdmissionEntry& a : record.admissions) {
    if (!NeedsReceiver(a.second)) continue;
    if (TransitionFor(record, a) != nullptr || HasLaterStay(record, a))
      continue;
    const std::string& facility = a.second.admission.facility_organization_id();
    gaps.push_back({MakeGap(
        v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER, a.first, facility,
        *a.second.discharged_at,
        absl::StrCat("admission ", a.first, " at ", facility, " (",
                     v1::LevelOfCare_Name(a.second.admission.level_of_care()),
                     ") was discharged on ",
                     calendar.FormatDay(*a.second.discharged_at),
                     " with no transition to a receiving organisation; plan "
                     "one (TransitionPlanned) and have the receiver accept a "
                     "referral"),
        {a.second.admitted_position, a.second.discharged_position}),
        facility});
  }
  return gaps;
}

}  // namespace continuity_internal

namespace {

void FollowUpGaps(const ClientRecord& record, const ViewsConfig& config,
                  absl::Time now, std::vector<v1::Gap>* gaps) {
  const Calendar calendar = CalendarOf(config);
  for (const PendingFollowUp& p : PendingFollowUps(record, config)) {
    if (now < p.due) continue;
    const AdmissionState& a = p.admission->second;
    const std::string& facility = a.admission.facility_organization_id();
    const std::string actor =
        p.transition != nullptr
            ? p.transition->second.planned.to_organization_id()
            : facility;
    std::vector<uint64_t> causes = {a.admitted_position, a.discharged_position};
    if (p.transition != nullptr)
      causes.push_back(p.transition->second.planned_position);
    gaps->push_back(MakeGap(
        v1::GAP_REASON_DISCHARGE_WITHOUT_FOLLOW_UP, p.admission->first, actor,
        p.due,
        absl::StrCat(
            "admission ", p.admission->first, " at ", facility,
            " was discharged on ", calendar.FormatDay(*a.discharged_at),
            " and no follow-up contact followed within ",
            config.follow_up_window_days, " days (due by the end of ",
            Calendar::FormatDay(calendar.DayOf(p.due) - 1), "); ", actor,
            " should contact the client and record it "
            "(FollowUpCompleted)"),
        std::move(causes)));
  }
}

void ReferralGaps(const ClientRecord& record, const ViewsConfig& config,
                  absl::Time now, std::vector<v1::Gap>* gaps) {
  const Calendar calendar = CalendarOf(config);
  for (const auto& [id, r] : record.referrals) {
    const std::string& to = r.sent.to_organization_id();
    if (AwaitingAnswer(r.status)) {
      const absl::Time deadline = ReferralAnswerDeadline(r, config);
      if (now < deadline) continue;
      gaps->push_back(MakeGap(
          v1::GAP_REASON_REFERRAL_NOT_ANSWERED, id, to, deadline,
          absl::StrCat("referral ", id, " from ", r.sent_by_organization_id,
                       " to ", to, " (", Category(r.sent.service_category()),
                       ") sent on ", calendar.FormatDay(r.sent_at),
                       " was neither accepted nor declined within ",
                       config.referral_answer_business_days, " business days; ",
                       to, " should accept or decline it"),
          {r.sent_position}));
    } else if (AwaitsStart(r)) {
      const absl::Time deadline = ReferralStartDeadline(r, config);
      if (now < deadline) continue;
      gaps->push_back(MakeGap(
          v1::GAP_REASON_ACCEPTED_REFERRAL_NOT_STARTED, id, to, deadline,
          absl::StrCat("referral ", id, " to ", to, " (",
                       Category(r.sent.service_category()), ") accepted on ",
                       calendar.FormatDay(*r.accepted_at),
                       r.sent.has_start_by()
                           ? absl::StrCat(" was not started by ",
                                          Calendar::FormatDay(CivilDayOf(
                                              r.sent.start_by())),
                                          " as the sender asked")
                           : absl::StrCat(" was not started within ",
                                          config.referral_start_days, " days"),
                       "; ", to,
                       " should start it (ReferralStarted) or say why it "
                       "cannot (ReferralFailed)"),
          {r.sent_position, r.accepted_position, r.status_position}));
    }
  }
}

}  // namespace

namespace continuity_internal {

// care/continuity_rules.h
std::vector<v1::Gap> ServiceGapsOf(const ClientRecord& record,
                                   const Calendar& calendar) {
  std::vector<v1::Gap> gaps;
  struct Lapse {
    const std::string* service_id = nullptr;
    const ServiceState* service = nullptr;
    absl::Time at;
    bool interrupted = false;
  };
  std::map<v1::ServiceCategory, Lapse> lapses;  // latest per category
  std::set<v1::ServiceCategory> covered;
  for (const auto& [id, s] : record.services) {
    const v1::ServiceCategory category = s.started.category();
    Lapse lapse;
    if (s.ended_at.has_value()) {
      lapse = {&id, &s, *s.ended_at, false};
    } else if (s.interruption_notified_at.has_value()) {
      lapse = {&id, &s, *s.interruption_notified_at, true};
    } else {
      covered.insert(category);
      continue;
    }
    auto [it, inserted] = lapses.emplace(category, lapse);
    if (!inserted && lapse.at >= it->second.at) it->second = lapse;
  }
  for (const auto& [id, r] : record.referrals) {
    if (!IsTerminal(r.status)) covered.insert(r.sent.service_category());
  }
  for (const auto& [category, lapse] : lapses) {
    if (covered.count(category) > 0) continue;
    std::vector<uint64_t> causes = {lapse.service->started_position,
                                    lapse.interrupted
                                        ? lapse.service->interruption_position
                                        : lapse.service->ended_position};
    std::vector<std::string> why;
    for (const auto& [goal_id, goal] : record.goals) {
      if (goal.goal.domain() == category && goal.in_progress()) {
        why.push_back(absl::StrCat("goal ", goal_id));
        causes.push_back(goal.set_position);
      }
    }
    auto need = record.assessed_needs.find(category);
    if (need != record.assessed_needs.end() &&
        need->second.level >= v1::NEED_LEVEL_MODERATE) {
      why.push_back(
          absl::StrCat("assessed need ", v1::NeedLevel_Name(need->second.level),
                       " in assessment ", need->second.assessment_id));
      causes.push_back(need->second.position);
    }
    if (why.empty()) continue;
    const std::string& provider =
        lapse.service->started.provider_organization_id();
    std::string what =
        lapse.interrupted
            ? absl::StrCat(
                  "will be interrupted (notified ",
                  calendar.FormatDay(lapse.at),
                  lapse.service->interruption_expected_end.has_value()
                      ? absl::StrCat(
                            ", expected end ",
                            calendar.FormatDay(
                                *lapse.service->interruption_expected_end))
                      : std::string(),
                  ")")
            : absl::StrCat("ended on ", calendar.FormatDay(lapse.at));
    gaps.push_back(MakeGap(
        lapse.interrupted ? v1::GAP_REASON_SERVICE_INTERRUPTED_WITHOUT_SUCCESSOR
                          : v1::GAP_REASON_SERVICE_ENDED_WITHOUT_SUCCESSOR,
        *lapse.service_id, provider, lapse.at,
        absl::StrCat("service ", *lapse.service_id, " (", Category(category),
                     ") at ", provider, " ", what, " while the need persists (",
                     absl::StrJoin(why, ", "),
                     ") and no other active service or open referral of that "
                     "category exists; refer the client (ReferralSent) or "
                     "start a successor service"),
        std::move(causes)));
  }
  return gaps;
}

}  // namespace continuity_internal

namespace {

void ConsentGaps(const ClientRecord& record,
                 const OrganizationDirectory& directory, absl::Time now,
                 std::vector<v1::Gap>* gaps) {
  for (const ConsentNeed& need : ConsentNeeds(record)) {
    const v1::OrganizationType type = TypeOf(directory, need.receiver);
    std::vector<v1::DataClass> missing;
    for (v1::DataClass dc : need.classes) {
      if (!Covered(record, need.receiver, type, dc, need.purposes, now))
        missing.push_back(dc);
    }
    if (missing.empty()) continue;
    // Since: the subject, or the latest lapse of a consent that once covered
    // a missing class.
    absl::Time since = need.subject_at;
    std::vector<uint64_t> causes = {need.position};
    for (const auto& [id, consent] : record.consents) {
      absl::Time lapse = consent.end;
      if (consent.revocation_effective_at.has_value())
        lapse = std::min(lapse, *consent.revocation_effective_at);
      if (lapse > now || consent.start >= lapse) continue;
      bool relevant = false;
      for (v1::DataClass dc : missing) {
        for (v1::PurposeOfUse p : need.purposes) {
          relevant = relevant ||
                     consent.Covers(need.receiver, type, dc, p, consent.start);
        }
      }
      if (!relevant) continue;
      since = std::max(since, lapse);
      causes.push_back(consent.given_position);
      causes.push_back(consent.revoked_position);
    }
    const std::string purpose =
        need.transition ? "care coordination or treatment"
                        : v1::PurposeOfUse_Name(need.purposes.front());
    gaps->push_back(MakeGap(
        v1::GAP_REASON_RECEIVER_LACKS_CONSENT, need.subject_id, need.actor,
        since,
        absl::StrCat(need.receiver, " (", v1::OrganizationType_Name(type),
                     ") receives client data through ",
                     need.transition ? "transition " : "referral ",
                     need.subject_id, " but no consent in force covers ",
                     DataClassList(missing), " for ", purpose,
                     "; record the client's consent (ConsentGiven) for ",
                     need.receiver,
                     std::count(missing.begin(), missing.end(),
                                v1::DATA_CLASS_SUBSTANCE_USE_PART2) > 0
                         ? " by name (42 CFR Part 2)"
                         : "",
                     ", or stop sharing"),
        std::move(causes)));
  }
}

void LeadGap(const ClientRecord& record, std::vector<v1::Gap>* gaps) {
  if (record.case_status != CaseStatus::kOpen ||
      record.ActiveLeadCaseManagers() > 0) {
    return;
  }
  absl::Time since = record.case_status_changed_at;
  std::vector<uint64_t> causes = {record.case_status_position};
  for (const auto& [id, m] : record.care_team) {
    if (m.added.role() == v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER &&
        m.removed_at.has_value() && *m.removed_at > since) {
      since = *m.removed_at;
      causes.push_back(m.removed_position);
    }
  }
  const std::string& org = record.case_status_organization_id.empty()
                               ? record.registered_by_organization_id
                               : record.case_status_organization_id;
  gaps->push_back(MakeGap(
      v1::GAP_REASON_OPEN_CASE_WITHOUT_LEAD, record.client_id, org, since,
      absl::StrCat("the case of client ", record.client_id,
                   " is open with no active lead case manager; add one "
                   "(CareTeamMemberAdded with role "
                   "CARE_TEAM_ROLE_LEAD_CASE_MANAGER)"),
      std::move(causes)));
}

void MeetingGap(const ClientRecord& record, const Calendar& calendar,
                absl::Time now, std::vector<v1::Gap>* gaps) {
  const std::pair<const std::string, MeetingState>* latest = nullptr;
  for (const auto& entry : record.meetings) {
    if (latest == nullptr ||
        std::tie(entry.second.held_at, entry.second.position) >
            std::tie(latest->second.held_at, latest->second.position)) {
      latest = &entry;
    }
  }
  if (latest == nullptr || !latest->second.meeting.has_next_review_date())
    return;
  const absl::CivilDay review =
      CivilDayOf(latest->second.meeting.next_review_date());
  const absl::Time since = calendar.StartOf(review + 1);
  if (now < since) return;
  const CareTeamMemberState* lead = FirstLead(record, nullptr);
  const std::string& org = lead != nullptr
                               ? lead->added.organization_id()
                               : latest->second.recorded_by_organization_id;
  gaps->push_back(MakeGap(
      v1::GAP_REASON_TEAM_MEETING_OVERDUE, latest->first, org, since,
      absl::StrCat("team meeting ", latest->first, " of ",
                   calendar.FormatDay(latest->second.held_at),
                   " set the next review for ", Calendar::FormatDay(review),
                   " and no meeting has been held since; hold the review and "
                   "record it (TeamMeetingHeld)"),
      {latest->second.position}));
}

}  // namespace

std::vector<v1::Gap> FindGaps(const ClientRecord& record,
                              const OrganizationDirectory& directory,
                              const ViewsConfig& config, absl::Time now) {
  std::vector<v1::Gap> gaps;
  if (record.case_status == CaseStatus::kClosed) return gaps;
  const Calendar calendar = CalendarOf(config);
  for (ReceiverGap& receiver : ReceiverGapsOf(record, calendar)) {
    gaps.push_back(std::move(receiver.gap));
  }
  FollowUpGaps(record, config, now, &gaps);
  ReferralGaps(record, config, now, &gaps);
  for (v1::Gap& service : ServiceGapsOf(record, calendar)) {
    gaps.push_back(std::move(service));
  }
  ConsentGaps(record, directory, now, &gaps);
  LeadGap(record, &gaps);
  MeetingGap(record, calendar, now, &gaps);
  std::sort(gaps.begin(), gaps.end(), [](const v1::Gap& a, const v1::Gap& b) {
    const absl::Time ta = ToTime(a.since());
    const absl::Time tb = ToTime(b.since());
    return std::forward_as_tuple(ta, a.reason(), a.subject_id()) <
           std::forward_as_tuple(tb, b.reason(), b.subject_id());
  });
  return gaps;
}

}  // namespace caseline::care
