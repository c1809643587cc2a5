#include "projections/continuity_projection.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "eventstore/event_log.h"
#include "base/status_macros.h"
#include "projections/care_stream.h"
#include "care/care_event_context.h"
#include "care/client_state.h"
#include "care/continuity.h"
#include "care/referral_list.h"

namespace caseline::projections {
namespace {

constexpr char kVersionKey[] = "v";
// "5": TRC measure index entries (MEASURE_INDEX_KIND_TRC); a version 4
// store has none for past discharges, so it is refused until rebuilt.
// "4": a referral list entry's ReferralView carries the referral's version,
// updated_at, reason, status_reason, delivered and received_at; a version 3
// store's entries lack them (and an entry is rewritten only when its
// referral changes), so it is refused until rebuilt. ("3": worklist items may
// be claimed, and discharges without an accepted receiver and services ended
// without a successor are items; "2": the referral lists.)
constexpr char kFormatVersion[] = "5";
constexpr char kWorklistPrefix[] = "w/";
constexpr char kMeasurePrefix[] = "m/";
constexpr char kCaseloadPrefix[] = "c/";
constexpr char kKeysPrefix[] = "k/";
constexpr char kReferralListPrefix[] = "r/";
constexpr char kSeparator = '\0';

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// Families of derived items, each re-derived as a whole.
enum Family : uint16_t {
  kTransitionItems = 1,
  kFollowUpItems = 2,
  kReferralItems = 4,
  kStayEntries = 8,
  kReferralEntries = 16,
  kCaseload = 32,
  kReferralList = 64,
  kReceiverItems = 128,
  kServiceItems = 256,
  kAllFamilies = 511,
};
constexpr uint16_t kReferralFamilies =
    kReferralItems | kReferralEntries | kReferralList;
constexpr uint16_t kStayFamilies = kFollowUpItems | kStayEntries;
constexpr uint16_t kItemFamilies = kTransitionItems | kFollowUpItems |
                                   kReferralItems | kReceiverItems |
                                   kServiceItems;

// The family holding the items of `kind` (a claim re-derives it).
uint16_t FamilyOfKind(v1::WorklistItemKind kind) {
  switch (kind) {
    case v1::WORKLIST_ITEM_KIND_TRANSITION_DUE:
      return kTransitionItems;
    case v1::WORKLIST_ITEM_KIND_FOLLOW_UP_DUE:
      return kFollowUpItems;
    case v1::WORKLIST_ITEM_KIND_STALE_REFERRAL:
      return kReferralItems;
    case v1::WORKLIST_ITEM_KIND_DISCHARGE_WITHOUT_ACCEPTED_RECEIVER:
      return kReceiverItems;
    case v1::WORKLIST_ITEM_KIND_SERVICE_ENDED_WITHOUT_SUCCESSOR:
      return kServiceItems;
    default:
      return 0;
  }
}

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// --- Keys
// ---------------------------------------------------------------------

void AppendTime(absl::Time t, std::string* out) {
  const uint64_t v =
      static_cast<uint64_t>(absl::ToUnixMicros(t)) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

absl::Time ReadTime(absl::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return absl::FromUnixMicros(static_cast<int64_t>(v ^ (uint64_t{1} << 63)));
}

std::string WorklistPrefix(absl::string_view org) {
  return absl::StrCat(kWorklistPrefix, org, absl::string_view(&kSeparator, 1));
}

std::string WorklistKey(const v1::WorklistItem& item) {
  std::string key = WorklistPrefix(item.organization_id());
  AppendTime(ToTime(item.due()), &key);
  key.push_back(static_cast<char>(item.kind()));
  absl::StrAppend(&key, item.client_id(), absl::string_view(&kSeparator, 1),
                  item.subject_id());
  return key;
}

std::string MeasurePrefix(v1::MeasureIndexKind kind) {
  std::string key = kMeasurePrefix;
  key.push_back(static_cast<char>(kind));
  return key;
}

std::string MeasureKey(const v1::MeasureIndexEntry& entry) {
  std::string key = MeasurePrefix(entry.kind());
  AppendTime(ToTime(entry.at()), &key);
  absl::StrAppend(&key, entry.client_id(), absl::string_view(&kSeparator, 1),
                  entry.subject_id());
  return key;
}

std::string CaseloadKey(const v1::WorkerCaseload& entry,
                        absl::string_view client) {
  const absl::string_view sep(&kSeparator, 1);
  return absl::StrCat(kCaseloadPrefix, entry.organization_id(), sep,
                      entry.member_id(), sep, client);
}

std::string ReferralListPrefix(absl::string_view org) {
  return absl::StrCat(kReferralListPrefix, org,
                      absl::string_view(&kSeparator, 1));
}

// Open referrals sort before closed (terminal) ones.
bool ClosedReferral(const v1::ReferralView& referral) {
  const std::optional<care::ReferralStatus> status =
      care::ReferralStatusNamed(referral.status());
  return status.has_value() && care::IsTerminal(*status);
}

std::string ReferralListKey(const v1::ReferralListEntry& entry) {
  std::string key = ReferralListPrefix(entry.organization_id());
  key.push_back(static_cast<char>(entry.direction()));
  key.push_back(ClosedReferral(entry.referral()) ? 1 : 0);
  key.push_back(
      static_cast<char>(care::UrgencyRank(entry.referral().urgency())));
  AppendTime(ToTime(entry.referral().sent_at()), &key);
  absl::StrAppend(&key, entry.client_id(), absl::string_view(&kSeparator, 1),
                  entry.referral().referral_id());
  return key;
}

// FNV-1a, 64 bits: stable across processes and builds, unlike absl::Hash.
uint64_t Fingerprint(absl::string_view value) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : value) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// Which families an event of `event_case` can change: the referral families
// and the receiver and service items for a referral lifecycle event
// (care::IsReferralEvent, so a new one needs no edit here); all for a case
// not listed (a new event is rederived in full until it is placed here).
uint16_t FamiliesOf(v1::CareEvent::EventCase event_case) {
  // A referral opens or closes a receiver's acceptance and a category's
  // successor, for every transition and service of the client.
  if (care::IsReferralEvent(event_case)) {
    return kReferralFamilies | kReceiverItems | kServiceItems;
  }
  switch (event_case) {
    case v1::CareEvent::kClientRegistered:
      // The registering organisation acts on a transition from nobody.
      return kReceiverItems;
    // An erased payload (docs/log_format.md "Erasure") changes nothing.
    case v1::CareEvent::EVENT_NOT_SET:
    case v1::CareEvent::kClientDetailsCorrected:
    case v1::CareEvent::kClientRecordsLinked:
    case v1::CareEvent::kClientRecordsUnlinked:
    case v1::CareEvent::kDuplicateDismissed:
    case v1::CareEvent::kConsentGiven:
    case v1::CareEvent::kConsentRevoked:
    case v1::CareEvent::kInformationDisclosed:
    case v1::CareEvent::kGoalProgressRecorded:
    case v1::CareEvent::kTeamMeetingHeld:
      return 0;
    // Needs (goals, assessments) and services decide a successor gap.
    case v1::CareEvent::kAssessmentRecorded:
    case v1::CareEvent::kGoalSet:
    case v1::CareEvent::kGoalStatusChanged:
    case v1::CareEvent::kServiceStarted:
    case v1::CareEvent::kServiceEnded:
    case v1::CareEvent::kServiceInterruptionNotified:
      return kServiceItems;
    // Narrowed to the claimed kind's family once parsed (Apply).
    case v1::CareEvent::kWorklistItemClaimed:
    case v1::CareEvent::kWorklistItemReleased:
      return kItemFamilies;
    case v1::CareEvent::kCaseOpened:
    case v1::CareEvent::kCaseClosed:
    case v1::CareEvent::kCaseReopened:
    // The record is folded again without the marked event, whatever it was;
    // after an erasure it is empty, so every item and entry of the client
    // goes.
    case v1::CareEvent::kEventEnteredInError:
    case v1::CareEvent::kClientErased:
      return kAllFamilies;
    case v1::CareEvent::kCareTeamMemberAdded:
    case v1::CareEvent::kCareTeamMemberRemoved:
      return kCaseload;
    case v1::CareEvent::kAdmissionRecorded:
    case v1::CareEvent::kDischargeRecorded:
      return kStayFamilies | kReceiverItems;
    case v1::CareEvent::kFollowUpCompleted:
    case v1::CareEvent::kAdmissionNotificationReceived:
    case v1::CareEvent::kDischargeInformationReceived:
    case v1::CareEvent::kMedicationReconciliationRecorded:
      return kStayFamilies;
    case v1::CareEvent::kTransitionPlanned:
      return kTransitionItems | kFollowUpItems | kReceiverItems;
    case v1::CareEvent::kTransitionCompleted:
      return kTransitionItems | kReceiverItems;
    default:
      return kAllFamilies;
  }
}

using Fresh = std::vector<std::pair<std::string, std::string>>;  // key, value

// The subject id a derived item's key ends with: keys end in
// client "\0" subject, and ids hold no NUL.
absl::string_view SubjectOfKey(absl::string_view key) {
  const size_t at = key.rfind(kSeparator);
  return at == absl::string_view::npos ? absl::string_view()
                                       : key.substr(at + 1);
}

using Held =
    google::protobuf::RepeatedPtrField<v1::ContinuityClientKeys::Entry>;

// Writes the difference between what a family held (`held`, sorted by key)
// and `fresh`, and makes `held` describe the result. With `subject` set,
// `fresh` replaces only the held items about that subject. Returns whether
// anything was written.
bool WriteDiff(Held* held, Fresh fresh, ProjectionState& state,
               absl::string_view subject) {
  std::sort(fresh.begin(), fresh.end());
  fresh.erase(std::unique(fresh.begin(), fresh.end(),
                          [](const auto& a, const auto& b) {
                            return a.first == b.first;
                          }),
              fresh.end());
  std::vector<const v1::ContinuityClientKeys::Entry*> old;  // sorted
  old.reserve(held->size());
  for (const v1::ContinuityClientKeys::Entry& entry : *held) {
    if (subject.empty() || SubjectOfKey(entry.key()) == subject)
      old.push_back(&entry);
  }
  bool changed = false;
  std::vector<v1::ContinuityClientKeys::Entry> updated;
  updated.reserve(fresh.size());
  auto old_it = old.begin();
  auto new_it = fresh.begin();
  while (old_it != old.end() || new_it != fresh.end()) {
    if (new_it == fresh.end() ||
        (old_it != old.end() && (*old_it)->key() < new_it->first)) {
      state.Delete((*old_it)->key());
      changed = true;
      ++old_it;
      continue;
    }
    const uint64_t fingerprint = Fingerprint(new_it->second);
    if (old_it != old.end() && (*old_it)->key() == new_it->first) {
      if ((*old_it)->fingerprint() != fingerprint) {
        state.Put(new_it->first, new_it->second);
        changed = true;
      }
      ++old_it;
    } else {
      state.Put(new_it->first, new_it->second);
      changed = true;
    }
    updated.emplace_back();
    updated.back().set_key(std::move(new_it->first));
    updated.back().set_fingerprint(fingerprint);
    ++new_it;
  }
  if (!changed) return false;
  // The new list: the held items of other subjects merged with `updated`.
  Held next;
  next.Reserve(held->size() - static_cast<int>(old.size()) +
               static_cast<int>(updated.size()));
  auto u = updated.begin();
  for (v1::ContinuityClientKeys::Entry& entry : *held) {
    if (!subject.empty() && SubjectOfKey(entry.key()) != subject) {
      for (; u != updated.end() && u->key() < entry.key(); ++u)
        *next.Add() = std::move(*u);
      *next.Add() = std::move(entry);
    }
  }
  for (; u != updated.end(); ++u) *next.Add() = std::move(*u);
  held->Swap(&next);
  return true;
}

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// A client's record up to a log head, as a caller may see it, and the
// directory.
struct LoadedClient {
  ClientAtHead at;
  // Folded when some event up to the head is hidden from the caller or the
  // snapshot holds events after the head; otherwise the snapshot's record is
  // exactly the fold.
  std::optional<care::ClientRecord> folded;
  uint64_t last_client_position = 0;

  const care::ClientRecord& record() const {
    return folded.has_value() ? *folded : at.client->record();
  }
};

absl::StatusOr<LoadedClient> LoadClient(ClientRecordStore& records,
                                        const std::string& client_id,
                                        const care::EventVisibility& visible,
                                        const ClientAtHead* opened) {
  if (client_id.empty()) {
    return Invalid("client_id", "is required; name the client to summarise");
  }
  LoadedClient loaded;
  if (opened != nullptr) {
    loaded.at = *opened;
  } else {
    ASSIGN_OR_RETURN(loaded.at, records.Open(client_id));
  }
  const uint64_t head = loaded.at.head;
  const std::vector<std::shared_ptr<const StoredEvent>>& events =
      loaded.at.client->events();
  // Which events up to the head the caller sees (each asked once, in order).
  std::vector<bool> shown;
  shown.reserve(events.size());
  bool all_shown = true;
  for (const std::shared_ptr<const StoredEvent>& stored : events) {
    const eventstore::RecordedEvent& e = stored->recorded;
    if (e.global_position > head) break;
    shown.push_back(!visible || visible(e));
    all_shown = all_shown && shown.back();
    RETURN_IF_ERROR(stored->parse_error);
    if (shown.back() && stored->care.has_value()) {
      loaded.last_client_position = e.global_position;
    }
  }
  if (shown.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "client ", client_id, " has no events (stream ",
        care::ClientStreamId(client_id),
        "); check the id, or register the client with RegisterClient"));
  }
  if (!all_shown || shown.size() < events.size()) {
    care::ClientRecord& record = loaded.folded.emplace(client_id);
    const EnteredInErrorIds marked = EnteredInErrorIds::Of(
        events, [head](const StoredEvent& stored) {
          return stored.recorded.global_position <= head;
        });
    for (size_t i = 0; i < shown.size(); ++i) {
      if (shown[i] && events[i]->care.has_value() &&
          !marked.Contains(events[i]->recorded)) {
        record.Apply(*events[i]->care, care::ContextOf(events[i]->recorded));
      }
    }
  }
  return loaded;
}

}  // namespace

// --- ContinuityProjection
// ---------------------------------------------------------

ContinuityProjection::ContinuityProjection(const ProjectionInit& init,
                                           const care::ViewsConfig& config,
                                           ClientRecordStore* records)
    : init_(init), config_(config), records_(records) {}

absl::Status ContinuityProjection::Start(ProjectionState& state) {
  ASSIGN_OR_RETURN(std::optional<std::string> version, state.Get(kVersionKey));
  if (!version.has_value()) {
    state.Put(kVersionKey, kFormatVersion);
  } else if (*version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the continuity projection's stored format is version ",
                     *version, " and this build reads version ", kFormatVersion,
                     "; rebuild it (caseline projections rebuild continuity)"));
  }
  if (init_.log != nullptr && init_.checkpoint > 0) {
    const uint64_t checkpoint = init_.checkpoint;
    RETURN_IF_ERROR(FoldCareStream(
        *init_.log, care::kOrganizationsStream, 0,
        [checkpoint](const eventstore::RecordedEvent& e) {
          return e.global_position <= checkpoint;
        },
        [this](const v1::CareEvent& e, const care::CareEventContext& c) {
          directory_.Apply(e, c);
        }));
  }
  started_ = true;
  return absl::OkStatus();
}

absl::Status ContinuityProjection::Apply(const eventstore::RecordedEvent& event,
                                         ProjectionState& state) {
  if (!started_) RETURN_IF_ERROR(Start(state));
  if (event.stream_id == care::kOrganizationsStream) {
    if (!care::IsCareEvent(event)) return absl::OkStatus();
    ASSIGN_OR_RETURN(v1::CareEvent care_event, care::ParseCareEvent(event));
    directory_.Apply(care_event, care::ContextOf(event));
    return absl::OkStatus();
  }
  const std::optional<absl::string_view> client = ClientIdOf(event);
  if (!client.has_value()) return absl::OkStatus();
  uint16_t families = FamiliesOf(care::PeekCareEventCase(event));
  if (families == 0 && event.stream_version > 0 &&
      records_.Find(*client) == nullptr) {
    return absl::OkStatus();  // loads from the log when next needed
  }
  ASSIGN_OR_RETURN(v1::CareEvent care_event, care::ParseCareEvent(event));
  ASSIGN_OR_RETURN(const care::ClientRecord* record,
                   records_.Apply(*client, care_event, event));
  if (families == 0) return absl::OkStatus();
  // A referral event changes only that referral's referral items and
  // entries (the other families it re-derives whole).
  const std::string* referral_id = care::ReferralIdOf(care_event);
  absl::string_view subject = referral_id != nullptr
                                  ? absl::string_view(*referral_id)
                                  : absl::string_view();
  // A claim or release changes only the claimed item: its kind's family (a
  // referral's: that referral's items). A claim whose item left the
  // worklist lapses with the event that removed the item, which re-derives
  // the item's family anyway.
  const std::string* claimed = nullptr;
  if (care_event.has_worklist_item_claimed()) {
    families = FamilyOfKind(care_event.worklist_item_claimed().kind());
    claimed = &care_event.worklist_item_claimed().subject_id();
  } else if (care_event.has_worklist_item_released()) {
    families = FamilyOfKind(care_event.worklist_item_released().kind());
    claimed = &care_event.worklist_item_released().subject_id();
  }
  if (claimed != nullptr) {
    subject = families == kReferralItems ? absl::string_view(*claimed)
                                         : absl::string_view();
  }
  return Rederive(*record, families, subject, state);
}

absl::StatusOr<v1::ContinuityClientKeys*> ContinuityProjection::KeysOf(
    const std::string& client_id, const ProjectionState& state) {
  auto it = keys_.find(client_id);
  if (it != keys_.end()) return &it->second;
  if (keys_.size() >= 200000) keys_.clear();
  v1::ContinuityClientKeys keys;
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   state.Get(absl::StrCat(kKeysPrefix, client_id)));
  if (stored.has_value() && !keys.ParseFromString(*stored)) {
    return absl::DataLossError(
        absl::StrCat("the continuity projection's key list of client ",
                     client_id, " does not parse; rebuild the projection"));
  }
  return &keys_.emplace(client_id, std::move(keys)).first->second;
}

absl::Status ContinuityProjection::Rederive(const care::ClientRecord& record,
                                            uint16_t families,
                                            absl::string_view subject,
                                            ProjectionState& state) {
  ASSIGN_OR_RETURN(v1::ContinuityClientKeys * keys,
                   KeysOf(record.client_id, state));
  bool changed = false;
  auto items = [&](const std::vector<v1::WorklistItem>& derived, Held* held,
                   absl::string_view only = absl::string_view()) {
    Fresh fresh;
    fresh.reserve(derived.size());
    for (const v1::WorklistItem& item : derived) {
      fresh.emplace_back(WorklistKey(item), item.SerializeAsString());
    }
    changed |= WriteDiff(held, std::move(fresh), state, only);
  };
  auto entries = [&](const std::vector<v1::MeasureIndexEntry>& derived,
                     Held* held,
                     absl::string_view only = absl::string_view()) {
    Fresh fresh;
    fresh.reserve(derived.size());
    for (const v1::MeasureIndexEntry& entry : derived) {
      fresh.emplace_back(MeasureKey(entry), entry.SerializeAsString());
    }
    changed |= WriteDiff(held, std::move(fresh), state, only);
  };
  if (families & kTransitionItems) {
    items(care::TransitionItemsOf(record, config_), keys->mutable_transition_items());
  }
  if (families & kFollowUpItems) {
    items(care::FollowUpItemsOf(record, config_), keys->mutable_follow_up_items());
  }
  if (families & kReferralItems) {
    items(subject.empty() ? care::ReferralItemsOf(record, config_)
                          : care::ReferralItemsOf(record, config_, subject),
          keys->mutable_referral_items(), subject);
  }
  if (families & kReceiverItems) {
    items(care::ReceiverItemsOf(record, config_),
          keys->mutable_receiver_items());
  }
  if (families & kServiceItems) {
    items(care::ServiceItemsOf(record, config_), keys->mutable_service_items());
  }
  if (families & kStayEntries) {
    entries(care::StayMeasureEntriesOf(record, directory_, config_),
            keys->mutable_stay_entries());
  }
  if (families & kReferralEntries) {
    entries(subject.empty() ? care::ReferralMeasureEntriesOf(record)
                            : care::ReferralMeasureEntriesOf(record, subject),
            keys->mutable_referral_entries(), subject);
  }
  if (families & kCaseload) {
    Fresh fresh;
    for (const v1::WorkerCaseload& entry : care::CaseloadEntriesOf(record)) {
      fresh.emplace_back(CaseloadKey(entry, record.client_id),
                         entry.SerializeAsString());
    }
    changed |= WriteDiff(keys->mutable_caseload(), std::move(fresh), state,
                         absl::string_view());
  }
  if (families & kReferralList) {
    Fresh fresh;
    for (const v1::ReferralListEntry& entry :
         subject.empty() ? care::ReferralListEntriesOf(record)
                         : care::ReferralListEntriesOf(record, subject)) {
      fresh.emplace_back(ReferralListKey(entry), entry.SerializeAsString());
    }
    changed |= WriteDiff(keys->mutable_referral_index(), std::move(fresh),
                         state, subject);
  }
  if (changed) {
    const std::string key = absl::StrCat(kKeysPrefix, record.client_id);
    if (keys->transition_items().empty() && keys->follow_up_items().empty() &&
        keys->referral_items().empty() && keys->stay_entries().empty() &&
        keys->referral_entries().empty() && keys->caseload().empty() &&
        keys->referral_index().empty() && keys->receiver_items().empty() &&
        keys->service_items().empty()) {
      state.Delete(key);
    } else {
      state.Put(key, keys->SerializeAsString());
    }
  }
  return absl::OkStatus();
}

// --- Queries
// --------------------------------------------------------------------

absl::StatusOr<v1::GetWorklistResponse> GetWorklist(
    const ViewReader& reader, const v1::GetWorklistRequest& request,
    const care::ViewsConfig& config, absl::Time now) {
  if (request.organization_id().empty()) {
    return Invalid("organization_id",
                   "is required; a worklist belongs to one organisation");
  }
  if (request.horizon_days() < 0) {
    return Invalid("horizon_days", "must be 0 (the default) or more");
  }
  if (request.page_size() < 0) {
    return Invalid("page_size", "must be 0 (the default, 100) or more");
  }
  std::set<int> kinds;
  for (int kind : request.kinds()) {
    if (!v1::WorklistItemKind_IsValid(kind) ||
        kind == v1::WORKLIST_ITEM_KIND_UNSPECIFIED) {
      return Invalid("kinds",
                     absl::StrCat(kind, " is not a worklist item kind"));
    }
    kinds.insert(kind);
  }
  if (!v1::WorklistClaimFilter_IsValid(request.claim_filter())) {
    return Invalid("claim_filter",
                   absl::StrCat(request.claim_filter(),
                                " is not a WorklistClaimFilter"));
  }
  if (!request.claimed_by().empty() &&
      request.claim_filter() == v1::WORKLIST_CLAIM_FILTER_UNCLAIMED) {
    return Invalid("claimed_by",
                   "lists the items a person holds, and claim_filter "
                   "WORKLIST_CLAIM_FILTER_UNCLAIMED those nobody holds; give "
                   "one of them");
  }
  // Whether an item passes the claim filters.
  auto claim_wanted = [&request](const v1::WorklistItem& item) {
    const bool claimed = !item.claimed_by_user_id().empty();
    switch (request.claim_filter()) {
      case v1::WORKLIST_CLAIM_FILTER_UNCLAIMED:
        if (claimed) return false;
        break;
      case v1::WORKLIST_CLAIM_FILTER_CLAIMED:
        if (!claimed) return false;
        break;
      default:
        break;
    }
    return request.claimed_by().empty() ||
           item.claimed_by_user_id() == request.claimed_by();
  };
  const bool claim_filtered =
      !request.claimed_by().empty() ||
      request.claim_filter() != v1::WORKLIST_CLAIM_FILTER_UNSPECIFIED;
  const absl::Time at = request.has_at() ? ToTime(request.at()) : now;
  const int horizon = request.horizon_days() > 0 ? request.horizon_days()
                                                 : config.worklist_horizon_days;
  const absl::Time limit = at + horizon * absl::Hours(24);
  const int page_size = request.page_size() == 0
                            ? kDefaultPageSize
                            : std::min(request.page_size(), kMaxPageSize);
  const std::string prefix = WorklistPrefix(request.organization_id());
  std::string start_after;
  if (!request.page_token().empty()) {
    const std::string& token = request.page_token();
    const bool hex =
        token.size() % 2 == 0 &&
        std::all_of(token.begin(), token.end(), [](char c) {
          return absl::ascii_isxdigit(static_cast<unsigned char>(c));
        });
    if (hex) start_after = absl::HexStringToBytes(token);
    if (!hex || !absl::StartsWith(start_after, prefix)) {
      return Invalid("page_token",
                     "is not a token this query returned for this "
                     "organisation; start again without it");
    }
  }

  v1::GetWorklistResponse response;
  std::string last_key;
  absl::Status parse_status;
  RETURN_IF_ERROR(reader.Scan(
      prefix, start_after, [&](absl::string_view key, absl::string_view value) {
        if (key.size() < prefix.size() + 9) return true;
        const absl::Time due = ReadTime(key.substr(prefix.size(), 8));
        if (due >= limit) return false;
        const int kind = static_cast<uint8_t>(key[prefix.size() + 8]);
        if (!kinds.empty() && kinds.count(kind) == 0) return true;
        v1::WorklistItem item;
        if (!item.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
          parse_status = absl::DataLossError(
              "a stored worklist item does not parse; rebuild the continuity "
              "projection");
          return false;
        }
        if (claim_filtered && !claim_wanted(item)) return true;
        if (response.items_size() == page_size) {
          response.set_next_page_token(absl::BytesToHexString(last_key));
          return false;
        }
        item.set_overdue(due <= at);
        *response.add_items() = std::move(item);
        last_key = std::string(key);
        return true;
      }));
  RETURN_IF_ERROR(parse_status);
  response.set_view_position(reader.position());
  return response;
}

absl::StatusOr<v1::GetMeasuresResponse> GetMeasures(
    const ViewReader& reader, const v1::GetMeasuresRequest& request,
    const care::ViewsConfig& config, absl::Time now) {
  if (!request.period().has_start()) {
    return Invalid("period.start",
                   "is required: measures count index events in [start, end)");
  }
  const absl::Time start = ToTime(request.period().start());
  const absl::Time end =
      request.period().has_end() ? ToTime(request.period().end()) : now;
  if (end <= start) {
    return Invalid("period.end", "must be after period.start");
  }
  std::set<std::string> wanted;
  for (const std::string& name : request.measures()) {
    if (care::MeasureIndexKindOf(name) == v1::MEASURE_INDEX_KIND_UNSPECIFIED) {
      return Invalid("measures",
                     absl::StrCat("\"", name, "\" is not a measure; use ",
                                  absl::StrJoin(care::MeasureNames(), ", ")));
    }
    wanted.insert(name);
  }
  std::map<v1::MeasureIndexKind, std::vector<v1::MeasureIndexEntry>> entries;
  for (const std::string& name : care::MeasureNames()) {
    if (!wanted.empty() && wanted.count(name) == 0) continue;
    entries[care::MeasureIndexKindOf(name)];
  }
  absl::Status parse_status;
  // Not a structured binding: the lambda below captures `list`, which
  // clang before 16 (the fuzz build's clang-14) refuses for bindings.
  for (auto& kind_and_list : entries) {
    auto& list = kind_and_list.second;
    const std::string prefix = MeasurePrefix(kind_and_list.first);
    // Keys at `start` extend this one, so they sort after it.
    std::string start_after = prefix;
    AppendTime(start, &start_after);
    RETURN_IF_ERROR(reader.Scan(
        prefix, start_after,
        [&](absl::string_view key, absl::string_view value) {
          if (key.size() < prefix.size() + 8) return true;
          if (ReadTime(key.substr(prefix.size(), 8)) >= end) return false;
          v1::MeasureIndexEntry entry;
          if (!entry.ParseFromArray(value.data(),
                                    static_cast<int>(value.size()))) {
            parse_status = absl::DataLossError(
                "a stored measure entry does not parse; rebuild the "
                "continuity projection");
            return false;
          }
          if (!request.organization_id().empty() &&
              entry.organization_id() != request.organization_id()) {
            return true;
          }
          list.push_back(std::move(entry));
          return true;
        }));
    RETURN_IF_ERROR(parse_status);
  }
  v1::GetMeasuresResponse response;
  for (const std::string& name : care::MeasureNames()) {
    if (!wanted.empty() && wanted.count(name) == 0) continue;
    *response.add_results() = care::ComputeMeasure(
        name, entries[care::MeasureIndexKindOf(name)], config, request.counts_only());
  }
  response.set_view_position(reader.position());
  return response;
}

absl::StatusOr<v1::GetCaseloadResponse> GetCaseload(
    const ViewReader& reader, const v1::GetCaseloadRequest& request,
    const care::ViewsConfig& config) {
  if (request.threshold() < 0) {
    return Invalid("threshold", "must be 0 (the server's default) or more");
  }
  const int threshold =
      request.threshold() > 0 ? request.threshold() : config.caseload_threshold;
  const std::string prefix =
      request.organization_id().empty()
          ? std::string(kCaseloadPrefix)
          : absl::StrCat(kCaseloadPrefix, request.organization_id(),
                         absl::string_view(&kSeparator, 1));
  std::map<std::pair<std::string, std::string>, v1::WorkerCaseload> workers;
  std::map<std::string, std::set<std::string>> org_clients;
  absl::Status parse_status;
  RETURN_IF_ERROR(reader.Scan(
      prefix, "", [&](absl::string_view key, absl::string_view value) {
        absl::string_view rest = key.substr(strlen(kCaseloadPrefix));
        const size_t a = rest.find(kSeparator);
        const size_t b =
            a == absl::string_view::npos ? a : rest.find(kSeparator, a + 1);
        if (b == absl::string_view::npos) return true;
        std::string org(rest.substr(0, a));
        std::string member(rest.substr(a + 1, b - a - 1));
        org_clients[org].insert(std::string(rest.substr(b + 1)));
        auto [it, inserted] =
            workers.try_emplace(std::make_pair(org, std::move(member)));
        if (inserted && !it->second.ParseFromArray(
                            value.data(), static_cast<int>(value.size()))) {
          parse_status = absl::DataLossError(
              "a stored caseload entry does not parse; rebuild the "
              "continuity projection");
          return false;
        }
        it->second.set_active_clients(it->second.active_clients() + 1);
        return true;
      }));
  RETURN_IF_ERROR(parse_status);

  v1::GetCaseloadResponse response;
  response.set_threshold(threshold);
  std::vector<v1::WorkerCaseload> sorted;
  std::map<std::string, v1::OrganizationCaseload> orgs;
  for (auto& [id, worker] : workers) {
    worker.set_above_threshold(worker.active_clients() > threshold);
    v1::OrganizationCaseload& org = orgs[id.first];
    org.set_organization_id(id.first);
    org.set_workers(org.workers() + 1);
    if (worker.above_threshold())
      org.set_workers_above_threshold(org.workers_above_threshold() + 1);
    sorted.push_back(worker);
  }
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const v1::WorkerCaseload& x, const v1::WorkerCaseload& y) {
        return x.active_clients() > y.active_clients();
      });
  for (const v1::WorkerCaseload& worker : sorted) {
    *response.add_workers() = worker;
    if (worker.above_threshold()) *response.add_above_threshold() = worker;
  }
  for (auto& [id, org] : orgs) {
    org.set_active_clients(static_cast<int32_t>(org_clients[id].size()));
    *response.add_organizations() = org;
  }
  response.set_view_position(reader.position());
  return response;
}

absl::StatusOr<v1::ListReferralsResponse> ListReferrals(
    const ViewReader& reader, const v1::ListReferralsRequest& request,
    absl::Time now) {
  if (request.organization_id().empty()) {
    return Invalid("organization_id",
                   "is required; a referral list belongs to one organisation");
  }
  if (!v1::ReferralDirection_IsValid(request.direction())) {
    return Invalid("direction",
                   absl::StrCat(request.direction(),
                                " is not a referral direction; use RECEIVED, "
                                "SENT, or UNSPECIFIED for both"));
  }
  if (request.page_size() < 0) {
    return Invalid("page_size", "must be 0 (the default, 100) or more");
  }
  std::set<std::string> statuses;
  bool open = false;
  bool closed = false;
  for (const std::string& name : request.statuses()) {
    const std::optional<care::ReferralStatus> status =
        care::ReferralStatusNamed(name);
    if (!status.has_value()) {
      std::vector<std::string> names;
      for (care::ReferralStatus s : care::AllReferralStatuses()) {
        names.emplace_back(care::ReferralStatusName(s));
      }
      return Invalid(
          "statuses",
          absl::StrCat("\"", name, "\" is not a referral status; use ",
                       absl::StrJoin(names, ", ")));
    }
    statuses.insert(name);
    (care::IsTerminal(*status) ? closed : open) = true;
  }
  if (statuses.empty()) {
    for (care::ReferralStatus s : care::AllReferralStatuses()) {
      if (!care::IsTerminal(s)) {
        statuses.emplace(care::ReferralStatusName(s));
      }
    }
    open = true;
  }
  const int page_size = request.page_size() == 0
                            ? kDefaultPageSize
                            : std::min(request.page_size(), kMaxPageSize);
  const std::string prefix = ReferralListPrefix(request.organization_id());
  std::string token;
  if (!request.page_token().empty()) {
    const std::string& hex_token = request.page_token();
    const bool hex =
        hex_token.size() % 2 == 0 &&
        std::all_of(hex_token.begin(), hex_token.end(), [](char c) {
          return absl::ascii_isxdigit(static_cast<unsigned char>(c));
        });
    if (hex) token = absl::HexStringToBytes(hex_token);
    if (!hex || !absl::StartsWith(token, prefix)) {
      return Invalid("page_token",
                     "is not a token this query returned for this "
                     "organisation; start again without it");
    }
  }
  // The key ranges to read, in key order: direction, then open before
  // closed.
  std::vector<std::string> ranges;
  for (v1::ReferralDirection direction :
       {v1::REFERRAL_DIRECTION_RECEIVED, v1::REFERRAL_DIRECTION_SENT}) {
    if (request.direction() != v1::REFERRAL_DIRECTION_UNSPECIFIED &&
        request.direction() != direction) {
      continue;
    }
    for (const bool band_closed : {false, true}) {
      if (band_closed ? !closed : !open) continue;
      std::string range = prefix;
      range.push_back(static_cast<char>(direction));
      range.push_back(band_closed ? 1 : 0);
      ranges.push_back(std::move(range));
    }
  }

  v1::ListReferralsResponse response;
  std::string last_key;
  absl::Status parse_status;
  bool full = false;
  for (const std::string& range : ranges) {
    if (full) break;
    // A token inside this range resumes after it; one past it skips it.
    std::string start_after;
    if (!token.empty()) {
      if (absl::StartsWith(token, range)) {
        start_after = token;
      } else if (token > range) {
        continue;
      }
    }
    RETURN_IF_ERROR(reader.Scan(
        range, start_after,
        [&](absl::string_view key, absl::string_view value) {
          v1::ReferralListEntry entry;
          if (!entry.ParseFromArray(value.data(),
                                    static_cast<int>(value.size()))) {
            parse_status = absl::DataLossError(
                "a stored referral list entry does not parse; rebuild the "
                "continuity projection");
            return false;
          }
          if (statuses.count(entry.referral().status()) == 0) return true;
          if (response.entries_size() == page_size) {
            response.set_next_page_token(absl::BytesToHexString(last_key));
            full = true;
            return false;
          }
          entry.mutable_referral()->set_age_days(
              care::ReferralAgeDays(ToTime(entry.referral().sent_at()), now));
          *response.add_entries() = std::move(entry);
          last_key = std::string(key);
          return true;
        }));
    RETURN_IF_ERROR(parse_status);
  }
  response.set_view_position(reader.position());
  return response;
}

absl::StatusOr<v1::GetClientSummaryResponse> GetClientSummary(
    ClientRecordStore& records, const v1::GetClientSummaryRequest& request,
    const care::ViewsConfig& config, absl::Time now,
    const care::EventVisibility& visible, const ClientAtHead* opened) {
  ASSIGN_OR_RETURN(LoadedClient loaded,
                   LoadClient(records, request.client_id(), visible, opened));
  const absl::Time at = request.has_at() ? ToTime(request.at()) : now;
  v1::GetClientSummaryResponse response;
  *response.mutable_summary() =
      care::Summarize(loaded.record(), *loaded.at.directory, config, at);
  response.mutable_summary()->mutable_state()->set_last_position(
      loaded.last_client_position);
  response.set_view_position(loaded.at.head);
  return response;
}

absl::StatusOr<v1::ListGapsResponse> ListGaps(
    ClientRecordStore& records, const v1::ListGapsRequest& request,
    const care::ViewsConfig& config, absl::Time now,
    const care::EventVisibility& visible, const ClientAtHead* opened) {
  ASSIGN_OR_RETURN(LoadedClient loaded,
                   LoadClient(records, request.client_id(), visible, opened));
  const absl::Time at = request.has_at() ? ToTime(request.at()) : now;
  v1::ListGapsResponse response;
  for (v1::Gap& gap :
       care::FindGaps(loaded.record(), *loaded.at.directory, config, at)) {
    *response.add_gaps() = std::move(gap);
  }
  response.set_view_position(loaded.at.head);
  return response;
}

}  // namespace caseline::projections
