#include "care/continuity.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "care/client_state.h"

namespace caseline::care {
namespace {

constexpr absl::Duration kDay = absl::Hours(24);

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

// UTC calendar arithmetic on day numbers (days since 1970-01-01), with
// H. Hinnant's civil-date algorithms: the views derive dates for every event
// they fold, and cctz's general time-zone path is needlessly slow for UTC.
constexpr int64_t kSecondsPerDay = 86400;

int64_t DayNumber(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);  // rounds toward the past
  return s >= 0 ? s / kSecondsPerDay
                : -((-s + kSecondsPerDay - 1) / kSecondsPerDay);
}

absl::Time DayStart(int64_t day) {
  return absl::FromUnixSeconds(day * kSecondsPerDay);
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Monday 0 ... Sunday 6.
int WeekdayOf(int64_t day) {
  return static_cast<int>(((day % 7) + 7 + 3) % 7);  // 1970-01-01: Thursday
}

absl::Time DateStart(const v1::Date& date) {
  return DayStart(DaysFromCivil(date.year(),
                                static_cast<unsigned>(date.month()),
                                static_cast<unsigned>(date.day())));
}

// "YYYY-MM-DD" of the UTC day of `t`.
std::string Day(absl::Time t) {
  const int64_t z = DayNumber(t) + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  return absl::StrCat(absl::Dec(y, absl::kZeroPad4), "-",
                      absl::Dec(m, absl::kZeroPad2), "-",
                      absl::Dec(d, absl::kZeroPad2));
}

std::string Category(v1::ServiceCategory category) {
  return v1::ServiceCategory_Name(category);
}

// "YYYY-MM-DD HH:MM UTC".
std::string DayAndTime(absl::Time t) {
  const int64_t seconds =
      absl::ToUnixSeconds(t) - DayNumber(t) * kSecondsPerDay;
  return absl::StrCat(Day(t), " ", absl::Dec(seconds / 3600, absl::kZeroPad2),
                      ":", absl::Dec(seconds % 3600 / 60, absl::kZeroPad2),
                      " UTC");
}

// --- Shared rules
// --------------------------------------------------------------

// Levels whose discharge needs a receiving organisation (and after which a new
// stay supersedes an earlier discharge).
bool IsInstitutional(v1::LevelOfCare level) {
  switch (level) {
    case v1::LEVEL_OF_CARE_INPATIENT:
    case v1::LEVEL_OF_CARE_RESIDENTIAL:
    case v1::LEVEL_OF_CARE_DETOX:
    case v1::LEVEL_OF_CARE_INCARCERATION:
    case v1::LEVEL_OF_CARE_SKILLED_NURSING:
      return true;
    default:
      return false;
  }
}

bool NeedsReceiver(const AdmissionState& a) {
  return a.discharged_at.has_value() &&
         IsInstitutional(a.admission.level_of_care()) &&
         a.disposition != v1::DISCHARGE_DISPOSITION_DECEASED;
}

bool NeedsFollowUp(const AdmissionState& a) {
  if (!a.discharged_at.has_value()) return false;
  if (a.disposition == v1::DISCHARGE_DISPOSITION_DECEASED ||
      a.disposition == v1::DISCHARGE_DISPOSITION_TRANSFER) {
    return false;
  }
  const v1::LevelOfCare level = a.admission.level_of_care();
  if (IsInstitutional(level) ||
      level == v1::LEVEL_OF_CARE_PARTIAL_HOSPITALIZATION) {
    return true;
  }
  const v1::ServiceCategory need = a.admission.primary_need();
  return level == v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT &&
         (need == v1::SERVICE_CATEGORY_MENTAL_HEALTH ||
          need == v1::SERVICE_CATEGORY_SUBSTANCE_USE);
}

using TransitionEntry = std::pair<const std::string, TransitionState>;
using AdmissionEntry = std::pair<const std::string, AdmissionState>;
using ReferralEntry = std::pair<const std::string, ReferralState>;

// The latest transition planned for the admission: one naming it, else one
// naming no admission, planned from the facility at or after the admission.
const TransitionEntry* TransitionFor(const ClientRecord& record,
                                     const AdmissionEntry& admission) {
  const TransitionEntry* linked = nullptr;
  const TransitionEntry* unlinked = nullptr;
  auto later = [](const TransitionEntry* best, const TransitionEntry& t) {
    return best == nullptr || t.second.planned_at >= best->second.planned_at;
  };
  for (const TransitionEntry& t : record.transitions) {
    const v1::TransitionPlanned& planned = t.second.planned;
    if (planned.admission_id() == admission.first) {
      if (later(linked, t)) linked = &t;
    } else if (planned.admission_id().empty() &&
               planned.from_organization_id() ==
                   admission.second.admission.facility_organization_id() &&
               t.second.planned_at >= admission.second.admitted_at) {
      if (later(unlinked, t)) unlinked = &t;
    }
  }
  return linked != nullptr ? linked : unlinked;
}

// An institutional stay that began at or after the admission's discharge.
bool HasLaterStay(const ClientRecord& record, const AdmissionEntry& admission) {
  for (const AdmissionEntry& other : record.admissions) {
    if (other.first == admission.first) continue;
    if (IsInstitutional(other.second.admission.level_of_care()) &&
        other.second.admitted_at >= *admission.second.discharged_at) {
      return true;
    }
  }
  return false;
}

bool HasFollowUpSince(const ClientRecord& record, absl::Time since) {
  for (const auto& [id, f] : record.follow_ups) {
    if (f.at >= since) return true;
  }
  return false;
}

absl::Time FollowUpDueAt(absl::Time discharged_at, const ViewsConfig& config) {
  return StartOfUtcDay(discharged_at) +
         (config.follow_up_window_days + 1) * kDay;
}

struct PendingFollowUp {
  const AdmissionEntry* admission;
  const TransitionEntry* transition;  // may be null
  absl::Time due;
};

// Discharges needing a follow-up that have none and no later stay.
std::vector<PendingFollowUp> PendingFollowUps(const ClientRecord& record,
                                              const ViewsConfig& config) {
  std::vector<PendingFollowUp> pending;
  for (const AdmissionEntry& a : record.admissions) {
    if (!NeedsFollowUp(a.second)) continue;
    if (HasFollowUpSince(record, *a.second.discharged_at)) continue;
    if (HasLaterStay(record, a)) continue;
    pending.push_back({&a, TransitionFor(record, a),
                       FollowUpDueAt(*a.second.discharged_at, config)});
  }
  return pending;
}

bool IsAcceptedReceiver(const ReferralState& r) {
  return r.was_accepted && r.status != ReferralStatus::kDeclined &&
         r.status != ReferralStatus::kFailed &&
         r.status != ReferralStatus::kCancelled;
}

bool ReceiverAccepted(const ClientRecord& record, absl::string_view org) {
  for (const auto& [id, r] : record.referrals) {
    if (r.sent.to_organization_id() == org && IsAcceptedReceiver(r))
      return true;
  }
  return false;
}

// An open referral to `org` still awaiting its acceptance.
const ReferralEntry* PendingReferralTo(const ClientRecord& record,
                                       absl::string_view org) {
  for (const ReferralEntry& r : record.referrals) {
    if (r.second.sent.to_organization_id() == org &&
        !IsTerminal(r.second.status) && !r.second.was_accepted) {
      return &r;
    }
  }
  return nullptr;
}

absl::Time ReferralAnswerDeadline(const ReferralState& r,
                                  const ViewsConfig& config) {
  return AddBusinessDays(r.sent_at, config.referral_answer_business_days);
}

bool AwaitsStart(const ReferralState& r) {
  return r.accepted_at.has_value() && !r.started_at.has_value() &&
         (r.status == ReferralStatus::kAccepted ||
          r.status == ReferralStatus::kOnHold);
}

absl::Time ReferralStartDeadline(const ReferralState& r,
                                 const ViewsConfig& config) {
  return *r.accepted_at + config.referral_start_days * kDay;
}

v1::OrganizationType TypeOf(const OrganizationDirectory& directory,
                            absl::string_view org) {
  const v1::OrganizationRegistered* found = directory.Find(org);
  return found == nullptr ? v1::ORGANIZATION_TYPE_UNSPECIFIED : found->type();
}

// What one organisation needs covered for one referral or transition.
struct ConsentNeed {
  std::string subject_id;
  bool transition = false;
  std::string receiver;
  std::string actor;  // who should obtain the consent
  absl::Time subject_at;
  uint64_t position = 0;
  std::vector<v1::DataClass> classes;
  std::vector<v1::PurposeOfUse> purposes;  // any one of them suffices
};

std::vector<ConsentNeed> ConsentNeeds(const ClientRecord& record) {
  std::vector<ConsentNeed> needs;
  for (const auto& [id, r] : record.referrals) {
    if (IsTerminal(r.status) || r.sent.shared_data_classes().empty()) continue;
    ConsentNeed need;
    need.subject_id = id;
    need.receiver = r.sent.to_organization_id();
    need.actor = r.sent_by_organization_id;
    need.subject_at = r.sent_at;
    need.position = r.sent_position;
    for (int dc : r.sent.shared_data_classes()) {
      need.classes.push_back(static_cast<v1::DataClass>(dc));
    }
    need.purposes.push_back(r.sent.purpose() == v1::PURPOSE_OF_USE_UNSPECIFIED
                                ? v1::PURPOSE_OF_USE_CARE_COORDINATION
                                : r.sent.purpose());
    needs.push_back(std::move(need));
  }
  for (const auto& [id, t] : record.transitions) {
    if (t.completed_at.has_value()) continue;
    ConsentNeed need;
    need.subject_id = id;
    need.transition = true;
    need.receiver = t.planned.to_organization_id();
    need.actor = t.planned.from_organization_id().empty()
                     ? record.registered_by_organization_id
                     : t.planned.from_organization_id();
    need.subject_at = t.planned_at;
    need.position = t.planned_position;
    need.classes.push_back(v1::DATA_CLASS_GENERAL);
    need.purposes = {v1::PURPOSE_OF_USE_CARE_COORDINATION,
                     v1::PURPOSE_OF_USE_TREATMENT};
    needs.push_back(std::move(need));
  }
  return needs;
}

bool Covered(const ClientRecord& record, absl::string_view org,
             v1::OrganizationType type, v1::DataClass dc,
             const std::vector<v1::PurposeOfUse>& purposes, absl::Time at) {
  for (const auto& [id, consent] : record.consents) {
    for (v1::PurposeOfUse purpose : purposes) {
      if (consent.Covers(org, type, dc, purpose, at)) return true;
    }
  }
  return false;
}

std::string DataClassList(const std::vector<v1::DataClass>& classes) {
  return absl::StrJoin(classes, ", ", [](std::string* out, v1::DataClass dc) {
    absl::StrAppend(out, v1::DataClass_Name(dc));
  });
}

// --- Gaps
// -----------------------------------------------------------------------

v1::Gap MakeGap(v1::GapReason reason, absl::string_view subject,
                absl::string_view org, absl::Time since,
                std::string description, std::vector<uint64_t> positions) {
  v1::Gap gap;
  gap.set_reason(reason);
  gap.set_description(std::move(description));
  gap.set_subject_id(std::string(subject));
  gap.set_organization_id(std::string(org));
  SetTime(since, gap.mutable_since());
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()),
                  positions.end());
  for (uint64_t p : positions) {
    if (p != 0) gap.add_cause_positions(p);
  }
  return gap;
}

void ReceiverGaps(const ClientRecord& record, std::vector<v1::Gap>* gaps) {
  for (const auto& [id, t] : record.transitions) {
    if (t.completed_at.has_value()) continue;
    const std::string& to = t.planned.to_organization_id();
    if (ReceiverAccepted(record, to)) continue;
    const ReferralEntry* pending = PendingReferralTo(record, to);
    std::vector<uint64_t> causes = {t.planned_position};
    const std::string when =
        t.planned.has_planned_date()
            ? absl::StrCat(" planned for ",
                           Day(DateStart(t.planned.planned_date())))
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
    gaps->push_back(MakeGap(v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER,
                            id, actor, t.planned_at, std::move(description),
                            std::move(causes)));
  }
  for (const AdmissionEntry& a : record.admissions) {
    if (!NeedsReceiver(a.second)) continue;
    if (TransitionFor(record, a) != nullptr || HasLaterStay(record, a))
      continue;
    const std::string& facility = a.second.admission.facility_organization_id();
    gaps->push_back(MakeGap(
        v1::GAP_REASON_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER, a.first, facility,
        *a.second.discharged_at,
        absl::StrCat("admission ", a.first, " at ", facility, " (",
                     v1::LevelOfCare_Name(a.second.admission.level_of_care()),
                     ") was discharged on ", Day(*a.second.discharged_at),
                     " with no transition to a receiving organisation; plan "
                     "one (TransitionPlanned) and have the receiver accept a "
                     "referral"),
        {a.second.admitted_position, a.second.discharged_position}));
  }
}

void FollowUpGaps(const ClientRecord& record, const ViewsConfig& config,
                  absl::Time now, std::vector<v1::Gap>* gaps) {
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
        absl::StrCat("admission ", p.admission->first, " at ", facility,
                     " was discharged on ", Day(*a.discharged_at),
                     " and no follow-up contact followed within ",
                     config.follow_up_window_days, " days (due by the end of ",
                     Day(p.due - kDay), "); ", actor,
                     " should contact the client and record it "
                     "(FollowUpCompleted)"),
        std::move(causes)));
  }
}

void ReferralGaps(const ClientRecord& record, const ViewsConfig& config,
                  absl::Time now, std::vector<v1::Gap>* gaps) {
  for (const auto& [id, r] : record.referrals) {
    const std::string& to = r.sent.to_organization_id();
    if (r.status == ReferralStatus::kRequested) {
      const absl::Time deadline = ReferralAnswerDeadline(r, config);
      if (now < deadline) continue;
      gaps->push_back(MakeGap(
          v1::GAP_REASON_REFERRAL_NOT_ANSWERED, id, to, deadline,
          absl::StrCat("referral ", id, " from ", r.sent_by_organization_id,
                       " to ", to, " (", Category(r.sent.service_category()),
                       ") sent on ", Day(r.sent_at),
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
                       Day(*r.accepted_at), " was not started within ",
                       config.referral_start_days, " days; ", to,
                       " should start it (ReferralStarted) or say why it "
                       "cannot (ReferralFailed)"),
          {r.sent_position, r.accepted_position, r.status_position}));
    }
  }
}

void ServiceGaps(const ClientRecord& record, std::vector<v1::Gap>* gaps) {
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
                  "will be interrupted (notified ", Day(lapse.at),
                  lapse.service->interruption_expected_end.has_value()
                      ? absl::StrCat(
                            ", expected end ",
                            Day(*lapse.service->interruption_expected_end))
                      : std::string(),
                  ")")
            : absl::StrCat("ended on ", Day(lapse.at));
    gaps->push_back(MakeGap(
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
}

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

const CareTeamMemberState* FirstLead(const ClientRecord& record,
                                     const std::string** id_out) {
  const CareTeamMemberState* lead = nullptr;
  for (const auto& [id, m] : record.care_team) {
    if (!m.active() || m.added.role() != v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER)
      continue;
    if (lead == nullptr || m.added_at < lead->added_at) {
      lead = &m;
      if (id_out != nullptr) *id_out = &id;
    }
  }
  return lead;
}

void MeetingGap(const ClientRecord& record, absl::Time now,
                std::vector<v1::Gap>* gaps) {
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
  const absl::Time review =
      DateStart(latest->second.meeting.next_review_date());
  const absl::Time since = review + kDay;
  if (now < since) return;
  const CareTeamMemberState* lead = FirstLead(record, nullptr);
  const std::string& org = lead != nullptr
                               ? lead->added.organization_id()
                               : latest->second.recorded_by_organization_id;
  gaps->push_back(MakeGap(
      v1::GAP_REASON_TEAM_MEETING_OVERDUE, latest->first, org, since,
      absl::StrCat("team meeting ", latest->first, " of ",
                   Day(latest->second.held_at), " set the next review for ",
                   Day(review),
                   " and no meeting has been held since; hold the review and "
                   "record it (TeamMeetingHeld)"),
      {latest->second.position}));
}

// --- Summary
// ----------------------------------------------------------------------

void AddCoverage(const ClientRecord& record,
                 const OrganizationDirectory& directory, absl::Time now,
                 v1::ClientSummary* summary) {
  // Involvement reasons in a fixed order.
  static const char* const kReasons[] = {
      "registered",        "care-team",        "referral-sender",
      "referral-receiver", "service-provider", "transition-receiver",
      "facility"};
  std::map<std::string, std::set<int>> involved;
  auto involve = [&involved](const std::string& org, int reason) {
    if (!org.empty()) involved[org].insert(reason);
  };
  involve(record.registered_by_organization_id, 0);
  for (const auto& [id, m] : record.care_team) {
    if (m.active()) involve(m.added.organization_id(), 1);
  }
  for (const auto& [id, r] : record.referrals) {
    if (r.status == ReferralStatus::kDeclined ||
        r.status == ReferralStatus::kCancelled ||
        r.status == ReferralStatus::kFailed) {
      continue;
    }
    involve(r.sent_by_organization_id, 2);
    involve(r.sent.to_organization_id(), 3);
  }
  for (const auto& [id, s] : record.services) {
    if (s.active()) involve(s.started.provider_organization_id(), 4);
  }
  for (const auto& [id, t] : record.transitions) {
    involve(t.planned.to_organization_id(), 5);
  }
  for (const auto& [id, a] : record.admissions) {
    involve(a.admission.facility_organization_id(), 6);
  }

  const std::vector<ConsentNeed> needs = ConsentNeeds(record);
  for (const auto& [org, reasons] : involved) {
    v1::ConsentCoverage* coverage = summary->add_consent_coverage();
    coverage->set_organization_id(org);
    const v1::OrganizationRegistered* registered = directory.Find(org);
    const v1::OrganizationType type = registered == nullptr
                                          ? v1::ORGANIZATION_TYPE_UNSPECIFIED
                                          : registered->type();
    if (registered != nullptr)
      coverage->set_organization_name(registered->name());
    coverage->set_organization_type(type);
    for (int reason : reasons) coverage->add_involvement(kReasons[reason]);
    std::set<std::string> consent_ids;
    for (int dc = v1::DataClass_MIN; dc <= v1::DataClass_MAX; ++dc) {
      if (!v1::DataClass_IsValid(dc) || dc == v1::DATA_CLASS_UNSPECIFIED)
        continue;
      bool covered = false;
      for (const auto& [id, consent] : record.consents) {
        for (v1::PurposeOfUse purpose : {v1::PURPOSE_OF_USE_CARE_COORDINATION,
                                         v1::PURPOSE_OF_USE_TREATMENT}) {
          if (consent.Covers(org, type, static_cast<v1::DataClass>(dc), purpose,
                             now)) {
            covered = true;
            consent_ids.insert(id);
          }
        }
      }
      if (covered)
        coverage->add_covered_data_classes(static_cast<v1::DataClass>(dc));
    }
    for (const std::string& id : consent_ids) coverage->add_consent_ids(id);
    std::set<int> missing;
    for (const ConsentNeed& need : needs) {
      if (need.receiver != org) continue;
      for (v1::DataClass dc : need.classes) {
        if (!Covered(record, org, type, dc, need.purposes, now))
          missing.insert(dc);
      }
    }
    for (int dc : missing)
      coverage->add_missing_data_classes(static_cast<v1::DataClass>(dc));
  }
}

// --- Worklist
// ---------------------------------------------------------------------

void AddItem(v1::WorklistItemKind kind, const std::string& org,
             const ClientRecord& record, const std::string& subject,
             absl::Time due, const std::string& description,
             std::vector<uint64_t> causes, std::vector<v1::WorklistItem>* out) {
  if (org.empty()) return;
  v1::WorklistItem item;
  item.set_kind(kind);
  item.set_organization_id(org);
  item.set_client_id(record.client_id);
  item.set_subject_id(subject);
  SetTime(due, item.mutable_due());
  item.set_description(description);
  std::sort(causes.begin(), causes.end());
  for (uint64_t p : causes) {
    if (p != 0) item.add_cause_positions(p);
  }
  out->push_back(std::move(item));
}

// --- Measures
// ---------------------------------------------------------------------

v1::MeasureIndexEntry BaseEntry(v1::MeasureIndexKind kind,
                                const ClientRecord& record,
                                const std::string& subject, absl::Time at,
                                const std::string& org) {
  v1::MeasureIndexEntry entry;
  entry.set_kind(kind);
  entry.set_client_id(record.client_id);
  entry.set_subject_id(subject);
  SetTime(at, entry.mutable_at());
  entry.set_organization_id(org);
  return entry;
}

void SetEvent(const std::string& id, absl::Time at, v1::MeasureEvent* event) {
  event->set_id(id);
  SetTime(at, event->mutable_at());
}

v1::MeasureMember Member(const v1::MeasureIndexEntry& entry,
                         const v1::MeasureEvent* qualifying,
                         std::string note = std::string()) {
  v1::MeasureMember member;
  member.set_client_id(entry.client_id());
  member.set_subject_id(entry.subject_id());
  *member.mutable_at() = entry.at();
  if (qualifying != nullptr) {
    member.set_qualifying_id(qualifying->id());
    *member.mutable_qualifying_at() = qualifying->at();
  }
  member.set_note(std::move(note));
  return member;
}

int64_t DaysAfter(const v1::MeasureIndexEntry& entry,
                  const v1::MeasureEvent& event) {
  return CalendarDaysBetween(ToTime(entry.at()), ToTime(event.at()));
}

}  // namespace

// --- Public
// ---------------------------------------------------------------------

const std::vector<std::string>& MeasureNames() {
  static const std::vector<std::string>* const kNames =
      new std::vector<std::string>{
          kMeasureFuh7,  kMeasureFuh30,         kMeasureFum7,
          kMeasureFum30, kMeasureReadmission30, kMeasureReferralLoopClosure};
  return *kNames;
}

v1::MeasureIndexKind MeasureIndexKindOf(absl::string_view measure) {
  if (measure == kMeasureFuh7 || measure == kMeasureFuh30)
    return v1::MEASURE_INDEX_KIND_FUH;
  if (measure == kMeasureFum7 || measure == kMeasureFum30)
    return v1::MEASURE_INDEX_KIND_FUM;
  if (measure == kMeasureReadmission30)
    return v1::MEASURE_INDEX_KIND_READMISSION;
  if (measure == kMeasureReferralLoopClosure)
    return v1::MEASURE_INDEX_KIND_REFERRAL;
  return v1::MEASURE_INDEX_KIND_UNSPECIFIED;
}

absl::Time StartOfUtcDay(absl::Time t) { return DayStart(DayNumber(t)); }

int64_t CalendarDaysBetween(absl::Time from, absl::Time to) {
  return DayNumber(to) - DayNumber(from);
}

absl::Time AddBusinessDays(absl::Time from, int days) {
  int64_t day = DayNumber(from);
  absl::Duration time_of_day = from - DayStart(day);
  const int weekday = WeekdayOf(day);
  if (weekday >= 5) {  // from the following Monday 00:00
    day += 7 - weekday;
    time_of_day = absl::ZeroDuration();
  }
  day += int64_t{days / 5} * 7;
  for (int i = 0; i < days % 5; ++i) {
    ++day;
    if (WeekdayOf(day) == 5) day += 2;
  }
  return DayStart(day) + time_of_day;
}

bool IsMentalHealthFollowUp(const v1::FollowUpCompleted& follow_up,
                            const OrganizationDirectory& directory) {
  switch (follow_up.provider_discipline()) {
    case v1::DISCIPLINE_PSYCHIATRY:
    case v1::DISCIPLINE_PSYCHOLOGY:
    case v1::DISCIPLINE_SOCIAL_WORK:
      return true;
    default:
      return TypeOf(directory, follow_up.provider_organization_id()) ==
             v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH;
  }
}

std::vector<v1::Gap> FindGaps(const ClientRecord& record,
                              const OrganizationDirectory& directory,
                              const ViewsConfig& config, absl::Time now) {
  std::vector<v1::Gap> gaps;
  if (record.case_status == CaseStatus::kClosed) return gaps;
  ReceiverGaps(record, &gaps);
  FollowUpGaps(record, config, now, &gaps);
  ReferralGaps(record, config, now, &gaps);
  ServiceGaps(record, &gaps);
  ConsentGaps(record, directory, now, &gaps);
  LeadGap(record, &gaps);
  MeetingGap(record, now, &gaps);
  std::sort(gaps.begin(), gaps.end(), [](const v1::Gap& a, const v1::Gap& b) {
    const absl::Time ta = ToTime(a.since());
    const absl::Time tb = ToTime(b.since());
    return std::forward_as_tuple(ta, a.reason(), a.subject_id()) <
           std::forward_as_tuple(tb, b.reason(), b.subject_id());
  });
  return gaps;
}

v1::ClientSummary Summarize(const ClientRecord& record,
                            const OrganizationDirectory& directory,
                            const ViewsConfig& config, absl::Time now) {
  v1::ClientSummary summary;
  *summary.mutable_state() = ClientStateOf(record, now);
  const v1::ClientState& state = summary.state();

  const std::string* lead_id = nullptr;
  if (FirstLead(record, &lead_id) != nullptr) {
    for (const v1::CareTeamMemberView& member : state.care_team()) {
      if (member.member_id() == *lead_id) {
        *summary.mutable_lead_case_manager() = member;
      }
    }
  }
  for (const v1::ServiceView& service : state.services()) {
    if (!service.has_ended_at()) *summary.add_active_services() = service;
  }
  for (const v1::ReferralView& referral : state.referrals()) {
    auto it = record.referrals.find(referral.referral_id());
    if (it != record.referrals.end() && !IsTerminal(it->second.status)) {
      *summary.add_open_referrals() = referral;
    }
  }
  const v1::AdmissionView* last_admission = nullptr;
  const v1::AdmissionView* last_discharge = nullptr;
  for (const v1::AdmissionView& admission : state.admissions()) {
    if (last_admission == nullptr || ToTime(admission.admitted_at()) >=
                                         ToTime(last_admission->admitted_at()))
      last_admission = &admission;
    if (admission.has_discharged_at() &&
        (last_discharge == nullptr ||
         ToTime(admission.discharged_at()) >=
             ToTime(last_discharge->discharged_at()))) {
      last_discharge = &admission;
    }
  }
  if (last_admission != nullptr)
    *summary.mutable_last_admission() = *last_admission;
  if (last_discharge != nullptr)
    *summary.mutable_last_discharge() = *last_discharge;
  for (const v1::TransitionView& transition : state.transitions()) {
    if (!transition.has_completed_at())
      *summary.add_planned_transitions() = transition;
  }
  if (record.case_status != CaseStatus::kClosed) {
    for (const PendingFollowUp& p : PendingFollowUps(record, config)) {
      v1::FollowUpDue* due = summary.add_follow_ups_due();
      due->set_admission_id(p.admission->first);
      if (p.transition != nullptr) due->set_transition_id(p.transition->first);
      SetTime(*p.admission->second.discharged_at, due->mutable_discharged_at());
      SetTime(p.due, due->mutable_due());
      due->set_overdue(now >= p.due);
    }
  }
  AddCoverage(record, directory, now, &summary);
  for (v1::Gap& gap : FindGaps(record, directory, config, now)) {
    *summary.add_gaps() = std::move(gap);
  }
  return summary;
}

namespace {

void SortItems(std::vector<v1::WorklistItem>* items) {
  std::sort(items->begin(), items->end(),
            [](const v1::WorklistItem& a, const v1::WorklistItem& b) {
              const absl::Time ta = ToTime(a.due());
              const absl::Time tb = ToTime(b.due());
              return std::forward_as_tuple(a.organization_id(), ta, a.kind(),
                                           a.subject_id()) <
                     std::forward_as_tuple(b.organization_id(), tb, b.kind(),
                                           b.subject_id());
            });
}

}  // namespace

std::vector<v1::WorklistItem> TransitionItemsOf(const ClientRecord& record) {
  std::vector<v1::WorklistItem> items;
  if (record.case_status == CaseStatus::kClosed) return items;
  for (const auto& [id, t] : record.transitions) {
    if (t.completed_at.has_value()) continue;
    const absl::Time due = t.planned.has_planned_date()
                               ? DateStart(t.planned.planned_date())
                               : t.planned_at;
    const std::string& from = t.planned.from_organization_id();
    const std::string& to = t.planned.to_organization_id();
    const std::string description = absl::StrCat(
        "transition ", id, " of client ", record.client_id, " from ",
        from.empty() ? std::string("?") : from, " (",
        v1::LevelOfCare_Name(t.planned.from_level_of_care()), ") to ", to, " (",
        v1::LevelOfCare_Name(t.planned.to_level_of_care()), ") planned for ",
        Day(due), ": complete it (TransitionCompleted) or re-plan");
    AddItem(v1::WORKLIST_ITEM_KIND_TRANSITION_DUE, from, record, id, due,
            description, {t.planned_position}, &items);
    if (to != from) {
      AddItem(v1::WORKLIST_ITEM_KIND_TRANSITION_DUE, to, record, id, due,
              description, {t.planned_position}, &items);
    }
  }
  return items;
}

std::vector<v1::WorklistItem> FollowUpItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config) {
  std::vector<v1::WorklistItem> items;
  if (record.case_status == CaseStatus::kClosed) return items;
  for (const PendingFollowUp& p : PendingFollowUps(record, config)) {
    const AdmissionState& a = p.admission->second;
    const std::string& facility = a.admission.facility_organization_id();
    std::vector<uint64_t> causes = {a.admitted_position, a.discharged_position};
    std::string receiver;
    if (p.transition != nullptr) {
      receiver = p.transition->second.planned.to_organization_id();
      causes.push_back(p.transition->second.planned_position);
    }
    const std::string description = absl::StrCat(
        "client ", record.client_id, " was discharged from ", facility,
        " (admission ", p.admission->first, ") on ", Day(*a.discharged_at),
        "; a follow-up contact is due by the end of ", Day(p.due - kDay),
        receiver.empty()
            ? std::string()
            : absl::StrCat(" (receiving organisation ", receiver, ")"),
        "; record it with FollowUpCompleted");
    AddItem(v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE, facility, record,
            p.admission->first, p.due, description, causes, &items);
    if (receiver != facility) {
      AddItem(v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE, receiver, record,
              p.admission->first, p.due, description, causes, &items);
    }
  }
  return items;
}

namespace {

void AddReferralItems(const ClientRecord& record, const ViewsConfig& config,
                      const std::string& id, const ReferralState& r,
                      std::vector<v1::WorklistItem>* items) {
  const std::string& to = r.sent.to_organization_id();
  absl::Time due;
  std::string description;
  std::vector<uint64_t> causes = {r.sent_position};
  if (r.status == ReferralStatus::kRequested) {
    due = ReferralAnswerDeadline(r, config);
    description =
        absl::StrCat("referral ", id, " of client ", record.client_id, " from ",
                     r.sent_by_organization_id, " to ", to, " (",
                     Category(r.sent.service_category()), ") sent on ",
                     Day(r.sent_at), " awaits an answer; ", to,
                     " should accept or decline it by ", DayAndTime(due));
  } else if (AwaitsStart(r)) {
    due = ReferralStartDeadline(r, config);
    causes.push_back(r.accepted_position);
    description =
        absl::StrCat("referral ", id, " of client ", record.client_id, " from ",
                     r.sent_by_organization_id, " to ", to, " (",
                     Category(r.sent.service_category()), ") accepted on ",
                     Day(*r.accepted_at), " is not started; ", to,
                     " should start it by ", Day(due));
  } else {
    return;
  }
  AddItem(v1::WORKLIST_ITEM_KIND_STALE_REFERRAL, r.sent_by_organization_id,
          record, id, due, description, causes, items);
  if (to != r.sent_by_organization_id) {
    AddItem(v1::WORKLIST_ITEM_KIND_STALE_REFERRAL, to, record, id, due,
            description, causes, items);
  }
}

v1::MeasureIndexEntry ReferralMeasureEntry(const ClientRecord& record,
                                           const std::string& id,
                                           const ReferralState& r) {
  v1::MeasureIndexEntry entry =
      BaseEntry(v1::MEASURE_INDEX_KIND_REFERRAL, record, id, r.sent_at,
                r.sent_by_organization_id);
  if (r.status == ReferralStatus::kCompleted) {
    SetEvent(id, r.status_changed_at, entry.mutable_completion());
  }
  return entry;
}

}  // namespace

std::vector<v1::WorklistItem> ReferralItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config) {
  std::vector<v1::WorklistItem> items;
  if (record.case_status == CaseStatus::kClosed) return items;
  for (const auto& [id, r] : record.referrals) {
    AddReferralItems(record, config, id, r, &items);
  }
  return items;
}

std::vector<v1::WorklistItem> ReferralItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config,
                                              absl::string_view referral_id) {
  std::vector<v1::WorklistItem> items;
  if (record.case_status == CaseStatus::kClosed) return items;
  auto it = record.referrals.find(std::string(referral_id));
  if (it != record.referrals.end()) {
    AddReferralItems(record, config, it->first, it->second, &items);
  }
  return items;
}

std::vector<v1::WorklistItem> WorklistItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config) {
  std::vector<v1::WorklistItem> items = TransitionItemsOf(record);
  for (std::vector<v1::WorklistItem> part :
       {FollowUpItemsOf(record, config), ReferralItemsOf(record, config)}) {
    items.insert(items.end(), std::make_move_iterator(part.begin()),
                 std::make_move_iterator(part.end()));
  }
  SortItems(&items);
  return items;
}

namespace {

void SortEntries(std::vector<v1::MeasureIndexEntry>* entries) {
  std::sort(entries->begin(), entries->end(),
            [](const v1::MeasureIndexEntry& a, const v1::MeasureIndexEntry& b) {
              const absl::Time ta = ToTime(a.at());
              const absl::Time tb = ToTime(b.at());
              return std::forward_as_tuple(a.kind(), ta, a.subject_id()) <
                     std::forward_as_tuple(b.kind(), tb, b.subject_id());
            });
}

}  // namespace

std::vector<v1::MeasureIndexEntry> StayMeasureEntriesOf(
    const ClientRecord& record, const OrganizationDirectory& directory) {
  std::vector<v1::MeasureIndexEntry> entries;
  // The earliest inpatient admission at or after `t`, other than `self`.
  auto readmission = [&record](const std::string& self, absl::Time t,
                               v1::MeasureIndexEntry* out) {
    const AdmissionEntry* best = nullptr;
    for (const AdmissionEntry& a : record.admissions) {
      if (a.first == self ||
          a.second.admission.level_of_care() != v1::LEVEL_OF_CARE_INPATIENT ||
          a.second.admitted_at < t) {
        continue;
      }
      if (best == nullptr || a.second.admitted_at < best->second.admitted_at)
        best = &a;
    }
    if (best != nullptr) {
      SetEvent(best->first, best->second.admitted_at,
               out->mutable_readmission());
    }
  };
  for (const AdmissionEntry& a : record.admissions) {
    const AdmissionState& s = a.second;
    const std::string& facility = s.admission.facility_organization_id();
    const bool mental_health =
        s.admission.primary_need() == v1::SERVICE_CATEGORY_MENTAL_HEALTH;
    if (s.admission.level_of_care() == v1::LEVEL_OF_CARE_INPATIENT &&
        s.discharged_at.has_value()) {
      v1::MeasureIndexEntry entry =
          BaseEntry(v1::MEASURE_INDEX_KIND_READMISSION, record, a.first,
                    *s.discharged_at, facility);
      entry.set_disposition(s.disposition);
      readmission(a.first, *s.discharged_at, &entry);
      if (mental_health) {
        v1::MeasureIndexEntry fuh = entry;
        fuh.set_kind(v1::MEASURE_INDEX_KIND_FUH);
        const FollowUpState* best = nullptr;
        const std::string* best_id = nullptr;
        for (const auto& [id, f] : record.follow_ups) {
          if (CalendarDaysBetween(*s.discharged_at, f.at) < 1) continue;
          if (!IsMentalHealthFollowUp(f.follow_up, directory)) continue;
          if (best == nullptr || f.at < best->at) {
            best = &f;
            best_id = &id;
          }
        }
        if (best != nullptr)
          SetEvent(*best_id, best->at, fuh.mutable_follow_up());
        entries.push_back(std::move(fuh));
      }
      entries.push_back(std::move(entry));
    }
    if (s.admission.level_of_care() == v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT &&
        mental_health) {
      v1::MeasureIndexEntry entry = BaseEntry(
          v1::MEASURE_INDEX_KIND_FUM, record, a.first, s.admitted_at, facility);
      entry.set_disposition(s.disposition);
      const FollowUpState* best = nullptr;
      const std::string* best_id = nullptr;
      for (const auto& [id, f] : record.follow_ups) {
        if (f.at < s.admitted_at) continue;
        if (best == nullptr || f.at < best->at) {
          best = &f;
          best_id = &id;
        }
      }
      if (best != nullptr)
        SetEvent(*best_id, best->at, entry.mutable_follow_up());
      entries.push_back(std::move(entry));
    }
  }
  return entries;
}

std::vector<v1::MeasureIndexEntry> ReferralMeasureEntriesOf(
    const ClientRecord& record) {
  std::vector<v1::MeasureIndexEntry> entries;
  for (const auto& [id, r] : record.referrals) {
    entries.push_back(ReferralMeasureEntry(record, id, r));
  }
  return entries;
}

std::vector<v1::MeasureIndexEntry> ReferralMeasureEntriesOf(
    const ClientRecord& record, absl::string_view referral_id) {
  std::vector<v1::MeasureIndexEntry> entries;
  auto it = record.referrals.find(std::string(referral_id));
  if (it != record.referrals.end()) {
    entries.push_back(ReferralMeasureEntry(record, it->first, it->second));
  }
  return entries;
}

std::vector<v1::MeasureIndexEntry> MeasureEntriesOf(
    const ClientRecord& record, const OrganizationDirectory& directory) {
  std::vector<v1::MeasureIndexEntry> entries =
      StayMeasureEntriesOf(record, directory);
  std::vector<v1::MeasureIndexEntry> referrals =
      ReferralMeasureEntriesOf(record);
  entries.insert(entries.end(), std::make_move_iterator(referrals.begin()),
                 std::make_move_iterator(referrals.end()));
  SortEntries(&entries);
  return entries;
}

v1::MeasureResult ComputeMeasure(
    absl::string_view measure,
    const std::vector<v1::MeasureIndexEntry>& entries,
    const ViewsConfig& config, bool counts_only) {
  v1::MeasureResult result;
  result.set_measure(std::string(measure));
  const v1::MeasureIndexKind kind = MeasureIndexKindOf(measure);
  int window = 0;
  if (measure == kMeasureFuh7) window = config.fuh_short_days;
  if (measure == kMeasureFuh30) window = config.fuh_long_days;
  if (measure == kMeasureFum7) window = config.fum_short_days;
  if (measure == kMeasureFum30) window = config.fum_long_days;
  if (measure == kMeasureReadmission30) window = config.readmission_days;
  result.set_window_days(window);
  switch (kind) {
    case v1::MEASURE_INDEX_KIND_FUH:
      result.set_description(absl::StrCat(
          "follow-up with a mental-health provider (psychiatry, psychology, "
          "social work or a behavioural-health organisation) on days 1 to ",
          window,
          " after an inpatient mental-health discharge; the discharge day "
          "does not count; a readmission within ",
          config.fuh_exclusion_days,
          " days or a direct transfer excludes the discharge"));
      break;
    case v1::MEASURE_INDEX_KIND_FUM:
      result.set_description(absl::StrCat(
          "follow-up contact on days 0 to ", window,
          " after an emergency-department visit for mental health; the visit "
          "day counts"));
      break;
    case v1::MEASURE_INDEX_KIND_READMISSION:
      result.set_description(absl::StrCat(
          "inpatient discharges followed by an inpatient admission within ",
          window, " days"));
      break;
    case v1::MEASURE_INDEX_KIND_REFERRAL:
      result.set_description(
          "referrals sent whose loop is closed (completed), with the median "
          "days from sent to completed");
      break;
    default:
      return result;
  }

  std::vector<double> days_to_close;
  for (const v1::MeasureIndexEntry& entry : entries) {
    if (entry.kind() != kind) continue;
    const v1::MeasureEvent* qualifying = nullptr;
    std::string exclusion;
    const v1::MeasureEvent* excluding = nullptr;
    switch (kind) {
      case v1::MEASURE_INDEX_KIND_FUH:
        if (entry.disposition() == v1::DISCHARGE_DISPOSITION_DECEASED) {
          exclusion = "deceased";
        } else if (entry.disposition() == v1::DISCHARGE_DISPOSITION_TRANSFER) {
          exclusion = "direct transfer";
        } else if (entry.has_readmission() &&
                   DaysAfter(entry, entry.readmission()) <=
                       config.fuh_exclusion_days) {
          excluding = &entry.readmission();
          exclusion = absl::StrCat("readmitted on day ",
                                   DaysAfter(entry, entry.readmission()));
        } else if (entry.has_follow_up()) {
          const int64_t day = DaysAfter(entry, entry.follow_up());
          if (day >= 1 && day <= window) qualifying = &entry.follow_up();
        }
        break;
      case v1::MEASURE_INDEX_KIND_FUM:
        if (entry.disposition() == v1::DISCHARGE_DISPOSITION_DECEASED) {
          exclusion = "deceased";
        } else if (entry.has_follow_up()) {
          const int64_t day = DaysAfter(entry, entry.follow_up());
          if (day >= 0 && day <= window) qualifying = &entry.follow_up();
        }
        break;
      case v1::MEASURE_INDEX_KIND_READMISSION:
        if (entry.disposition() == v1::DISCHARGE_DISPOSITION_DECEASED) {
          exclusion = "deceased";
        } else if (entry.has_readmission()) {
          const int64_t day = DaysAfter(entry, entry.readmission());
          if (day >= 0 && day <= window) qualifying = &entry.readmission();
        }
        break;
      case v1::MEASURE_INDEX_KIND_REFERRAL:
        if (entry.has_completion()) {
          qualifying = &entry.completion();
          days_to_close.push_back(
              absl::ToDoubleHours(ToTime(entry.completion().at()) -
                                  ToTime(entry.at())) /
              24.0);
        }
        break;
      default:
        break;
    }
    if (!exclusion.empty()) {
      if (!counts_only)
        *result.add_excluded_members() = Member(entry, excluding, exclusion);
      continue;
    }
    result.set_denominator(result.denominator() + 1);
    if (!counts_only)
      *result.add_denominator_members() = Member(entry, nullptr);
    if (qualifying != nullptr) {
      result.set_numerator(result.numerator() + 1);
      if (!counts_only)
        *result.add_numerator_members() = Member(entry, qualifying);
    }
  }
  if (result.denominator() > 0) {
    result.set_rate(static_cast<double>(result.numerator()) /
                    static_cast<double>(result.denominator()));
  }
  if (!days_to_close.empty()) {
    std::sort(days_to_close.begin(), days_to_close.end());
    const size_t n = days_to_close.size();
    result.set_median_days_to_close(
        n % 2 == 1 ? days_to_close[n / 2]
                   : (days_to_close[n / 2 - 1] + days_to_close[n / 2]) / 2.0);
  }
  return result;
}

std::vector<v1::WorkerCaseload> CaseloadEntriesOf(const ClientRecord& record) {
  std::vector<v1::WorkerCaseload> entries;
  if (record.case_status != CaseStatus::kOpen) return entries;
  for (const auto& [id, m] : record.care_team) {
    if (!m.active() || m.added.role() != v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER)
      continue;
    v1::WorkerCaseload entry;
    entry.set_member_id(id);
    *entry.mutable_name() = m.added.name();
    entry.set_organization_id(m.added.organization_id());
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace caseline::care
