// Worklist items (care/worklist.h; care/continuity.h states the rules).
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "care/calendar.h"
#include "care/continuity_rules.h"
#include "care/proto_time.h"
#include "care/worklist.h"

namespace caseline::care {
namespace {

using continuity_internal::AwaitsStart;
using continuity_internal::CalendarOf;
using continuity_internal::Category;
using continuity_internal::PendingFollowUp;
using continuity_internal::PendingFollowUps;
using continuity_internal::ReceiverGap;
using continuity_internal::ReceiverGapsOf;
using continuity_internal::ReferralAnswerDeadline;
using continuity_internal::ReferralStartDeadline;
using continuity_internal::ServiceGapsOf;

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
  SetTimestamp(due, item.mutable_due());
  item.set_description(description);
  std::sort(causes.begin(), causes.end());
  for (uint64_t p : causes) {
    if (p != 0) item.add_cause_positions(p);
  }
  if (!record.worklist_claims.empty()) {
    auto claim = record.worklist_claims.find(KeyOf(item));
    if (claim != record.worklist_claims.end()) {
      item.set_claimed_by_user_id(claim->second.user_id);
      SetTimestamp(claim->second.claimed_at, item.mutable_claimed_at());
      item.set_claim_position(claim->second.position);
      item.set_claim_note(claim->second.note);
    }
  }
  out->push_back(std::move(item));
}

// An item of `kind` for the gap's organisation and one for `also` when that
// is another, due when it became a gap, saying what the gap says.
void AddGapItems(v1::WorklistItemKind kind, const ClientRecord& record,
                 const v1::Gap& gap, const std::string& also,
                 std::vector<v1::WorklistItem>* out) {
  const std::vector<uint64_t> causes(gap.cause_positions().begin(),
                                     gap.cause_positions().end());
  AddItem(kind, gap.organization_id(), record, gap.subject_id(),
          ToTime(gap.since()), gap.description(), causes, out);
  if (also != gap.organization_id()) {
    AddItem(kind, also, record, gap.subject_id(), ToTime(gap.since()),
            gap.description(), causes, out);
  }
}

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

void AddReferralItems(const ClientRecord& record, const ViewsConfig& config,
                      const std::string& id, const ReferralState& r,
                      std::vector<v1::WorklistItem>* items) {
  const Calendar calendar = CalendarOf(config);
  const std::string& to = r.sent.to_organization_id();
  absl::Time due;
  std::string description;
  std::vector<uint64_t> causes = {r.sent_position};
  if (AwaitingAnswer(r.status)) {
    due = ReferralAnswerDeadline(r, config);
    description = absl::StrCat(
        "referral ", id, " of client ", record.client_id, " from ",
        r.sent_by_organization_id, " to ", to, " (",
        Category(r.sent.service_category()), ") sent on ",
        calendar.FormatDay(r.sent_at), " awaits an answer; ", to,
        " should accept or decline it by ", calendar.FormatDayAndTime(due));
  } else if (AwaitsStart(r)) {
    due = ReferralStartDeadline(r, config);
    causes.push_back(r.accepted_position);
    description =
        absl::StrCat("referral ", id, " of client ", record.client_id, " from ",
                     r.sent_by_organization_id, " to ", to, " (",
                     Category(r.sent.service_category()), ") accepted on ",
                     calendar.FormatDay(*r.accepted_at), " is not started; ",
                     to, " should start it by ",
                     r.sent.has_start_by()
                         ? absl::StrCat(Calendar::FormatDay(
                                            CivilDayOf(r.sent.start_by())),
                                        ", the date the sender asked for")
                         : calendar.FormatDay(due));
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

}  // namespace

std::vector<v1::WorklistItem> TransitionItemsOf(const ClientRecord& record,
                                                const ViewsConfig& config) {
  std::vector<v1::WorklistItem> items;
  if (record.case_status == CaseStatus::kClosed) return items;
  const Calendar calendar = CalendarOf(config);
  for (const auto& [id, t] : record.transitions) {
    if (t.completed_at.has_value()) continue;
    const absl::Time due =
        t.planned.has_planned_date()
            ? calendar.StartOf(CivilDayOf(t.planned.planned_date()))
            : t.planned_at;
    const std::string& from = t.planned.from_organization_id();
    const std::string& to = t.planned.to_organization_id();
    const std::string description = absl::StrCat(
        "transition ", id, " of client ", record.client_id, " from ",
        from.empty() ? std::string("?") : from, " (",
        v1::LevelOfCare_Name(t.planned.from_level_of_care()), ") to ", to, " (",
        v1::LevelOfCare_Name(t.planned.to_level_of_care()), ") planned for ",
        calendar.FormatDay(due),
        ": complete it (TransitionCompleted) or re-plan");
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
  const Calendar calendar = CalendarOf(config);
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
        " (admission ", p.admission->first, ") on ",
        calendar.FormatDay(*a.discharged_at),
        "; a follow-up contact is due by the end of ",
        Calendar::FormatDay(calendar.DayOf(p.due) - 1),
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

std::vector<v1::WorklistItem> ReceiverItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config) {
  std::vector<v1::WorklistItem> items;
  if (record.case_status == CaseStatus::kClosed) return items;
  for (const ReceiverGap& receiver :
       ReceiverGapsOf(record, CalendarOf(config))) {
    AddGapItems(v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER,
                record, receiver.gap, receiver.discharging_organization_id,
                &items);
  }
  return items;
}

std::vector<v1::WorklistItem> ServiceItemsOf(const ClientRecord& record,
                                             const ViewsConfig& config) {
  std::vector<v1::WorklistItem> items;
  if (record.case_status == CaseStatus::kClosed) return items;
  for (const v1::Gap& gap : ServiceGapsOf(record, CalendarOf(config))) {
    AddGapItems(v1::WORKLIST_ITEM_KIND_SERVICE_ENDED_WITHOUT_SUCCESSOR, record,
                gap, gap.organization_id(), &items);
  }
  return items;
}

WorklistItemKey KeyOf(const v1::WorklistItem& item) {
  return WorklistItemKey{item.kind(), item.subject_id(),
                         item.organization_id()};
}

bool OnWorklist(const ClientRecord& record, const WorklistItemKey& key) {
  // The default configuration: it sets due times and wording, never which
  // items exist (care/worklist.h).
  static const ViewsConfig* const kConfig = new ViewsConfig();
  std::vector<v1::WorklistItem> items;
  switch (key.kind) {
    case v1::WORKLIST_ITEM_KIND_TRANSITION_DUE:
      items = TransitionItemsOf(record, *kConfig);
      break;
    case v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE:
      items = FollowUpItemsOf(record, *kConfig);
      break;
    case v1::WORKLIST_ITEM_KIND_STALE_REFERRAL:
      items = ReferralItemsOf(record, *kConfig, key.subject_id);
      break;
    case v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER:
      items = ReceiverItemsOf(record, *kConfig);
      break;
    case v1::WORKLIST_ITEM_KIND_SERVICE_ENDED_WITHOUT_SUCCESSOR:
      items = ServiceItemsOf(record, *kConfig);
      break;
    default:
      return false;
  }
  return std::any_of(items.begin(), items.end(),
                     [&key](const v1::WorklistItem& item) {
                       return KeyOf(item) == key;
                     });
}

void DropLapsedClaims(ClientRecord& record) {
  for (auto it = record.worklist_claims.begin();
       it != record.worklist_claims.end();) {
    if (OnWorklist(record, it->first)) {
      ++it;
    } else {
      it = record.worklist_claims.erase(it);
    }
  }
}

std::vector<v1::WorklistItem> WorklistItemsOf(const ClientRecord& record,
                                              const ViewsConfig& config) {
  std::vector<v1::WorklistItem> items = TransitionItemsOf(record, config);
  for (std::vector<v1::WorklistItem> part :
       {FollowUpItemsOf(record, config), ReferralItemsOf(record, config),
        ReceiverItemsOf(record, config), ServiceItemsOf(record, config)}) {
    items.insert(items.end(), std::make_move_iterator(part.begin()),
                 std::make_move_iterator(part.end()));
  }
  SortItems(&items);
  return items;
}

}  // namespace caseline::care
