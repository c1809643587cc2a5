// Referral lists (care/referral_list.h).
#include "care/referral_list.h"

#include <string>

#include "absl/time/time.h"
#include "care/client_state.h"

namespace caseline::care {
namespace {

void AddEntries(const ClientRecord& record, const std::string& id,
                const ReferralState& referral,
                std::vector<v1::ReferralListEntry>* out) {
  // Ages are judged at query time; the stored entry is the same whenever it
  // is derived.
  const v1::ReferralView view =
      ReferralViewOf(id, referral, absl::InfinitePast());
  auto add = [&](const std::string& organization_id,
                 v1::ReferralDirection direction) {
    if (organization_id.empty()) return;
    v1::ReferralListEntry& entry = out->emplace_back();
    entry.set_client_id(record.client_id);
    *entry.mutable_referral() = view;
    entry.set_direction(direction);
    entry.set_organization_id(organization_id);
  };
  add(referral.sent.to_organization_id(), v1::REFERRAL_DIRECTION_RECEIVED);
  add(referral.sent_by_organization_id, v1::REFERRAL_DIRECTION_SENT);
}

}  // namespace

std::vector<v1::ReferralListEntry> ReferralListEntriesOf(
    const ClientRecord& record) {
  std::vector<v1::ReferralListEntry> entries;
  for (const auto& [id, referral] : record.referrals) {
    AddEntries(record, id, referral, &entries);
  }
  return entries;
}

std::vector<v1::ReferralListEntry> ReferralListEntriesOf(
    const ClientRecord& record, absl::string_view referral_id) {
  std::vector<v1::ReferralListEntry> entries;
  auto it = record.referrals.find(std::string(referral_id));
  if (it != record.referrals.end()) {
    AddEntries(record, it->first, it->second, &entries);
  }
  return entries;
}

std::vector<ReferralStatus> AllReferralStatuses() {
  // kRequested is ReferralStatus's first enumerator and kCancelled its last.
  std::vector<ReferralStatus> statuses;
  for (int s = static_cast<int>(ReferralStatus::kRequested);
       s <= static_cast<int>(ReferralStatus::kCancelled); ++s) {
    statuses.push_back(static_cast<ReferralStatus>(s));
  }
  return statuses;
}

std::optional<ReferralStatus> ReferralStatusNamed(absl::string_view name) {
  for (ReferralStatus status : AllReferralStatuses()) {
    if (ReferralStatusName(status) == name) return status;
  }
  return std::nullopt;
}

int UrgencyRank(v1::Urgency urgency) {
  switch (urgency) {
    case v1::URGENCY_EMERGENT:
      return 0;
    case v1::URGENCY_URGENT:
      return 1;
    case v1::URGENCY_ROUTINE:
      return 2;
    default:
      return 3;
  }
}

}  // namespace caseline::care
