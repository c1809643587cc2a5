// Measures (care/measures.h; care/continuity.h states the rules).
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "care/calendar.h"
#include "care/continuity_rules.h"
#include "care/measures.h"
#include "care/proto_time.h"

namespace caseline::care {
namespace {

using continuity_internal::AdmissionEntry;
using continuity_internal::CalendarOf;
using continuity_internal::TypeOf;

v1::MeasureIndexEntry BaseEntry(v1::MeasureIndexKind kind,
                                const ClientRecord& record,
                                const std::string& subject, absl::Time at,
                                const std::string& org) {
  v1::MeasureIndexEntry entry;
  entry.set_kind(kind);
  entry.set_client_id(record.client_id);
  entry.set_subject_id(subject);
  SetTimestamp(at, entry.mutable_at());
  entry.set_organization_id(org);
  return entry;
}

void SetEvent(const std::string& id, absl::Time at, v1::MeasureEvent* event) {
  event->set_id(id);
  SetTimestamp(at, event->mutable_at());
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

// Calendar days from the index event's date to `event`'s.
int64_t DaysAfter(const Calendar& calendar, const v1::MeasureIndexEntry& entry,
                  const v1::MeasureEvent& event) {
  return calendar.DaysBetween(ToTime(entry.at()), ToTime(event.at()));
}

void SortEntries(std::vector<v1::MeasureIndexEntry>* entries) {
  std::sort(entries->begin(), entries->end(),
            [](const v1::MeasureIndexEntry& a, const v1::MeasureIndexEntry& b) {
              const absl::Time ta = ToTime(a.at());
              const absl::Time tb = ToTime(b.at());
              return std::forward_as_tuple(a.kind(), ta, a.subject_id()) <
                     std::forward_as_tuple(b.kind(), tb, b.subject_id());
            });
}

// Sets `out` to the earliest of `events` (TRC events by id) that `admission`
// names (any, when `admission` is null) on `from`'s calendar day or later.
void SetEarliestTrcEvent(
    const std::map<std::string, TransitionOfCareState>& events,
    const std::string* admission, const Calendar& calendar, absl::Time from,
    v1::MeasureEvent* out) {
  const std::string* best_id = nullptr;
  const TransitionOfCareState* best = nullptr;
  for (const auto& [id, e] : events) {
    if (admission != nullptr && e.admission_id != *admission) continue;
    if (calendar.DaysBetween(from, e.at) < 0) continue;
    if (best == nullptr || e.at < best->at) {
      best = &e;
      best_id = &id;
    }
  }
  if (best != nullptr) SetEvent(*best_id, best->at, out);
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

const std::vector<std::string>& MeasureNames() {
  static const std::vector<std::string>* const kNames =
      new std::vector<std::string>{
          kMeasureFuh7,
          kMeasureFuh30,
          kMeasureFum7,
          kMeasureFum30,
          kMeasureReadmission30,
          kMeasureReferralLoopClosure,
          kMeasureTrcNotification,
          kMeasureTrcReceipt,
          kMeasureTrcEngagement,
          kMeasureTrcMedicationReconciliation};
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
  if (measure == kMeasureTrcNotification || measure == kMeasureTrcReceipt ||
      measure == kMeasureTrcEngagement ||
      measure == kMeasureTrcMedicationReconciliation) {
    return v1::MEASURE_INDEX_KIND_TRC;
  }
  return v1::MEASURE_INDEX_KIND_UNSPECIFIED;
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

std::vector<v1::MeasureIndexEntry> StayMeasureEntriesOf(
    const ClientRecord& record, const OrganizationDirectory& directory,
    const ViewsConfig& config) {
  const Calendar calendar = CalendarOf(config);
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
      {
        v1::MeasureIndexEntry trc = entry;
        trc.set_kind(v1::MEASURE_INDEX_KIND_TRC);
        SetTimestamp(s.admitted_at, trc.mutable_admitted_at());
        SetEarliestTrcEvent(record.admission_notifications, &a.first, calendar,
                            s.admitted_at, trc.mutable_admission_notification());
        SetEarliestTrcEvent(record.discharge_information, &a.first, calendar,
                            *s.discharged_at,
                            trc.mutable_discharge_information());
        SetEarliestTrcEvent(record.medication_reconciliations, nullptr,
                            calendar, *s.discharged_at,
                            trc.mutable_medication_reconciliation());
        const FollowUpState* best = nullptr;
        const std::string* best_id = nullptr;
        for (const auto& [id, f] : record.follow_ups) {
          if (calendar.DaysBetween(*s.discharged_at, f.at) < 1) continue;
          if (best == nullptr || f.at < best->at) {
            best = &f;
            best_id = &id;
          }
        }
        if (best != nullptr)
          SetEvent(*best_id, best->at, trc.mutable_follow_up());
        entries.push_back(std::move(trc));
      }
      if (mental_health) {
        v1::MeasureIndexEntry fuh = entry;
        fuh.set_kind(v1::MEASURE_INDEX_KIND_FUH);
        const FollowUpState* best = nullptr;
        const std::string* best_id = nullptr;
        for (const auto& [id, f] : record.follow_ups) {
          if (calendar.DaysBetween(*s.discharged_at, f.at) < 1) continue;
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
    const ClientRecord& record, const OrganizationDirectory& directory,
    const ViewsConfig& config) {
  std::vector<v1::MeasureIndexEntry> entries =
      StayMeasureEntriesOf(record, directory, config);
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
  const Calendar calendar = CalendarOf(config);
  v1::MeasureResult result;
  result.set_measure(std::string(measure));
  const v1::MeasureIndexKind kind = MeasureIndexKindOf(measure);
  int window = 0;
  if (measure == kMeasureFuh7) window = config.fuh_short_days;
  if (measure == kMeasureFuh30) window = config.fuh_long_days;
  if (measure == kMeasureFum7) window = config.fum_short_days;
  if (measure == kMeasureFum30) window = config.fum_long_days;
  if (measure == kMeasureReadmission30) window = config.readmission_days;
  if (measure == kMeasureTrcNotification) window = config.trc_notification_days;
  if (measure == kMeasureTrcReceipt) window = config.trc_receipt_days;
  if (measure == kMeasureTrcEngagement) window = config.trc_engagement_days;
  if (measure == kMeasureTrcMedicationReconciliation)
    window = config.trc_medication_reconciliation_days;
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
    case v1::MEASURE_INDEX_KIND_TRC: {
      std::string numerator;
      if (measure == kMeasureTrcNotification) {
        numerator = absl::StrCat(
            "notification of the admission received on days 0 to ", window,
            " after the admission date");
      } else if (measure == kMeasureTrcReceipt) {
        numerator = absl::StrCat(
            "discharge information received on days 0 to ", window,
            " after the discharge date");
      } else if (measure == kMeasureTrcEngagement) {
        numerator = absl::StrCat("patient engagement (a follow-up) on days 1 "
                                 "to ",
                                 window,
                                 " after the discharge; the discharge day "
                                 "does not count");
      } else {
        numerator = absl::StrCat(
            "medication reconciliation on days 0 to ", window,
            " after the discharge; the discharge day counts");
      }
      result.set_description(absl::StrCat(
          "transitions of care: ", numerator,
          ", per inpatient discharge; a readmission within ",
          config.trc_readmission_days,
          " days or a direct transfer excludes the discharge"));
      break;
    }
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
                   DaysAfter(calendar, entry, entry.readmission()) <=
                       config.fuh_exclusion_days) {
          excluding = &entry.readmission();
          exclusion =
              absl::StrCat("readmitted on day ",
                           DaysAfter(calendar, entry, entry.readmission()));
        } else if (entry.has_follow_up()) {
          const int64_t day = DaysAfter(calendar, entry, entry.follow_up());
          if (day >= 1 && day <= window) qualifying = &entry.follow_up();
        }
        break;
      case v1::MEASURE_INDEX_KIND_FUM:
        if (entry.disposition() == v1::DISCHARGE_DISPOSITION_DECEASED) {
          exclusion = "deceased";
        } else if (entry.has_follow_up()) {
          const int64_t day = DaysAfter(calendar, entry, entry.follow_up());
          if (day >= 0 && day <= window) qualifying = &entry.follow_up();
        }
        break;
      case v1::MEASURE_INDEX_KIND_READMISSION:
        if (entry.disposition() == v1::DISCHARGE_DISPOSITION_DECEASED) {
          exclusion = "deceased";
        } else if (entry.has_readmission()) {
          const int64_t day = DaysAfter(calendar, entry, entry.readmission());
          if (day >= 0 && day <= window) qualifying = &entry.readmission();
        }
        break;
      case v1::MEASURE_INDEX_KIND_TRC: {
        if (entry.disposition() == v1::DISCHARGE_DISPOSITION_DECEASED) {
          exclusion = "deceased";
          break;
        }
        if (entry.disposition() == v1::DISCHARGE_DISPOSITION_TRANSFER) {
          exclusion = "direct transfer";
          break;
        }
        if (entry.has_readmission() &&
            DaysAfter(calendar, entry, entry.readmission()) <=
                config.trc_readmission_days) {
          excluding = &entry.readmission();
          exclusion =
              absl::StrCat("readmitted on day ",
                           DaysAfter(calendar, entry, entry.readmission()));
          break;
        }
        // The event that may qualify, the day its window starts, and the
        // date it counts from (the admission's for a notification).
        const v1::MeasureEvent* candidate = nullptr;
        int first_day = 0;
        absl::Time from = ToTime(entry.at());
        if (measure == kMeasureTrcNotification) {
          if (entry.has_admission_notification())
            candidate = &entry.admission_notification();
          from = ToTime(entry.admitted_at());
        } else if (measure == kMeasureTrcReceipt) {
          if (entry.has_discharge_information())
            candidate = &entry.discharge_information();
        } else if (measure == kMeasureTrcEngagement) {
          if (entry.has_follow_up()) candidate = &entry.follow_up();
          first_day = 1;
        } else if (entry.has_medication_reconciliation()) {
          candidate = &entry.medication_reconciliation();
        }
        if (candidate != nullptr) {
          const int64_t day =
              calendar.DaysBetween(from, ToTime(candidate->at()));
          if (day >= first_day && day <= window) qualifying = candidate;
        }
        break;
      }
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

}  // namespace caseline::care
