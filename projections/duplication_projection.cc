#include "projections/duplication_projection.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "care/birth_date.h"
#include "care/care_event_context.h"
#include "care/client_matching.h"
#include "care/match_model.h"
#include "care/client_record.h"

namespace caseline::projections {
namespace {

// --- Keys (the layout is documented in the header) ---------------------------

constexpr char kSep = '\0';
constexpr absl::string_view kFormatVersionKey = "v";
// 2: seven compared fields with m and u, and the match model's keys.
constexpr absl::string_view kFormatVersion = "2";
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
// First byte of a page token: its format.
constexpr char kPageTokenVersion = '1';

std::string Part(absl::string_view tag, absl::string_view id) {
  return absl::StrCat(tag, absl::string_view(&kSep, 1), id);
}

std::string BigEndian64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

// The value of an open-finding bookkeeping key: the finding's cause
// positions, which fix everything else a service or referral finding says.
// Re-deriving an open finding with the same fingerprint changes nothing.
std::string Fingerprint(uint64_t position_a, uint64_t position_b) {
  return absl::StrCat(BigEndian64(position_a), BigEndian64(position_b));
}
std::string Fingerprint(const v1::Finding& f) {
  std::string out;
  for (uint64_t position : f.cause_positions()) out += BigEndian64(position);
  return out;
}

char Digit(int value) { return static_cast<char>('0' + value); }

std::string FindingKey(absl::string_view finding_id) {
  return Part("f", finding_id);
}

// <s><p><finding_id>: the sorted tail of every index key.
std::string IndexTail(const v1::Finding& f) {
  return absl::StrCat(std::string(1, Digit(f.status())),
                      BigEndian64(f.first_detected_position()), f.finding_id());
}

std::string ClientIndexPrefix(absl::string_view client_id) {
  return absl::StrCat(Part("c", client_id), absl::string_view(&kSep, 1));
}
std::string OrganizationIndexPrefix(absl::string_view organization_id) {
  return absl::StrCat(Part("o", organization_id), absl::string_view(&kSep, 1));
}
std::string NetworkIndexPrefix() { return Part("n", ""); }

// The open service/referral findings of one client, kind and category.
std::string OpenPrefix(absl::string_view client_id, v1::FindingKind kind,
                       v1::ServiceCategory category) {
  return absl::StrCat(Part("a", client_id), absl::string_view(&kSep, 1),
                      static_cast<int>(kind), ":", static_cast<int>(category),
                      absl::string_view(&kSep, 1));
}

std::string PairPrefix(absl::string_view client_id) {
  return absl::StrCat(Part("p", client_id), absl::string_view(&kSep, 1));
}

std::string IdentityKey(absl::string_view client_id) {
  return Part("i", client_id);
}

std::string BlockPrefix(absl::string_view blocking_key) {
  return absl::StrCat(Part("b", blocking_key), absl::string_view(&kSep, 1));
}

std::string DismissalKey(absl::string_view finding_id,
                         absl::string_view client_id) {
  return absl::StrCat(Part("x", finding_id), absl::string_view(&kSep, 1),
                      client_id);
}

// A client's stored identity (the i| value) and the matching profile of its
// details (care::MakeMatchProfile), made when the identity enters the cache:
// normalising names, phones and addresses costs far more than comparing
// them, and a registration is compared with every client of its blocks.
struct CachedIdentity {
  v1::ClientState state;
  care::MatchProfile profile;
};

using IdentityCache = absl::node_hash_map<std::string, CachedIdentity>;

// The match model as this instance holds it (the e|, t| and m values, read
// once on the instance's first registration; this instance is their only
// writer while it runs).
struct LearnedModel {
  bool loaded = false;
  care::ComparisonCounts counts;  // the e| values
  uint64_t compared_pairs = 0;    // their sum
  care::NameFrequencies names;    // the t| values
  care::MatchModel model = care::DefaultMatchModel();
  v1::GetMatchModelResponse stored;  // the m value (defaults: none yet)
};

// What scoring clients needs besides the state: the parsed identities and
// the model.
struct Matching {
  IdentityCache identities;
  LearnedModel learned;
};

// --- Small helpers -----------------------------------------------------------

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) /
                                    absl::Nanoseconds(1)));
  return ts;
}

// The event being applied, as findings name it.
struct EventInfo {
  absl::string_view type;
  uint64_t position = 0;
  absl::Time recorded_at;

  std::string Name() const {
    return absl::StrCat(type, " at position ", position);
  }
};

// "HOUSING" for SERVICE_CATEGORY_HOUSING.
std::string CategoryName(v1::ServiceCategory category) {
  std::string name = v1::ServiceCategory_Name(category);
  constexpr absl::string_view kPrefix = "SERVICE_CATEGORY_";
  if (absl::StartsWith(name, kPrefix)) name.erase(0, kPrefix.size());
  if (name.empty()) name = absl::StrCat(static_cast<int>(category));
  return name;
}

// "mental health" for SERVICE_CATEGORY_MENTAL_HEALTH.
std::string CategoryWords(v1::ServiceCategory category) {
  std::string words = absl::AsciiStrToLower(CategoryName(category));
  std::replace(words.begin(), words.end(), '_', ' ');
  return words;
}

std::string Probability(double p) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", p);
  return buffer;
}

template <typename Container>
bool Contains(const Container& c, absl::string_view value) {
  return std::find(c.begin(), c.end(), value) != c.end();
}

absl::Status DataLoss(absl::string_view what, absl::string_view key) {
  return absl::DataLossError(absl::StrCat(
      "duplication projection: the stored ", what, " at key ",
      absl::CHexEscape(key), " does not parse; rebuild the projection"));
}

// --- Finding storage ---------------------------------------------------------

absl::StatusOr<std::optional<v1::Finding>> LoadFinding(
    const ViewReader& state, absl::string_view finding_id) {
  const std::string key = FindingKey(finding_id);
  ASSIGN_OR_RETURN(std::optional<std::string> value, state.Get(key));
  if (!value.has_value()) return std::nullopt;
  v1::Finding finding;
  if (!finding.ParseFromString(*value)) return DataLoss("finding", key);
  return finding;
}

std::vector<std::string> IndexKeys(const v1::Finding& f) {
  std::vector<std::string> keys;
  const std::string tail = IndexTail(f);
  for (const std::string& client : f.client_ids())
    keys.push_back(absl::StrCat(ClientIndexPrefix(client), tail));
  for (const std::string& org : f.organization_ids())
    keys.push_back(absl::StrCat(OrganizationIndexPrefix(org), tail));
  keys.push_back(absl::StrCat(NetworkIndexPrefix(), tail));
  return keys;
}

bool IsClientPairKind(v1::FindingKind kind) {
  return kind == v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS;
}

// Writes `now` over `old` (nullopt: new), keeping the indexes and the
// bookkeeping keys in step. Writes nothing when nothing changed.
void StoreFinding(ProjectionState& state, const std::optional<v1::Finding>& old,
                  const v1::Finding& now) {
  std::string value = now.SerializeAsString();
  if (old.has_value() && old->SerializeAsString() == value) return;
  const std::vector<std::string> old_keys =
      old.has_value() ? IndexKeys(*old) : std::vector<std::string>();
  const std::vector<std::string> new_keys = IndexKeys(now);
  for (const std::string& key : old_keys) {
    if (!Contains(new_keys, key)) state.Delete(key);
  }
  const std::string kind(1, Digit(now.kind()));
  for (const std::string& key : new_keys) {
    if (!Contains(old_keys, key)) state.Put(key, kind);
  }
  state.Put(FindingKey(now.finding_id()), value);

  if (IsClientPairKind(now.kind())) {
    if (!old.has_value() && now.client_ids_size() == 2) {
      state.Put(absl::StrCat(PairPrefix(now.client_ids(0)), now.client_ids(1)),
                "");
      state.Put(absl::StrCat(PairPrefix(now.client_ids(1)), now.client_ids(0)),
                "");
    }
  } else if (now.client_ids_size() == 1) {
    const std::string open_key = absl::StrCat(
        OpenPrefix(now.client_ids(0), now.kind(), now.service_category()),
        now.finding_id());
    const bool was_open =
        old.has_value() && old->status() == v1::FINDING_STATUS_OPEN;
    if (now.status() == v1::FINDING_STATUS_OPEN) {
      state.Put(open_key, Fingerprint(now));
    } else if (was_open) {
      state.Delete(open_key);
    }
  }
}

// A dismissal recorded for the finding on the stream of one of its clients.
absl::StatusOr<std::optional<v1::Finding>> FindDismissal(
    const ViewReader& state, const v1::Finding& finding) {
  for (const std::string& client : finding.client_ids()) {
    const std::string key = DismissalKey(finding.finding_id(), client);
    ASSIGN_OR_RETURN(std::optional<std::string> value, state.Get(key));
    if (!value.has_value()) continue;
    v1::Finding marker;
    if (!marker.ParseFromString(*value)) return DataLoss("dismissal", key);
    return marker;
  }
  return std::nullopt;
}

// The condition of `derived` holds (as of the event): opens it, reopens it,
// or refreshes its content. First detection is kept; a dismissed finding is
// left as it was dismissed.
absl::Status OpenFinding(ProjectionState& state, v1::Finding derived,
                         const EventInfo& event) {
  ASSIGN_OR_RETURN(std::optional<v1::Finding> old,
                   LoadFinding(state, derived.finding_id()));
  if (old.has_value() && old->status() == v1::FINDING_STATUS_DISMISSED)
    return absl::OkStatus();
  v1::Finding now = std::move(derived);
  now.set_status(v1::FINDING_STATUS_OPEN);
  if (old.has_value()) {
    *now.mutable_first_detected_at() = old->first_detected_at();
    now.set_first_detected_position(old->first_detected_position());
    if (old->status() == v1::FINDING_STATUS_OPEN) {
      *now.mutable_status_changed_at() = old->status_changed_at();
      now.set_status_reason(old->status_reason());
    } else {
      *now.mutable_status_changed_at() = ToProto(event.recorded_at);
      now.set_status_reason(absl::StrCat("reopened by ", event.Name()));
    }
  } else {
    *now.mutable_first_detected_at() = ToProto(event.recorded_at);
    now.set_first_detected_position(event.position);
    *now.mutable_status_changed_at() = ToProto(event.recorded_at);
    now.set_status_reason(absl::StrCat("detected by ", event.Name()));
    ASSIGN_OR_RETURN(std::optional<v1::Finding> dismissal,
                     FindDismissal(state, now));
    if (dismissal.has_value()) {
      now.set_status(v1::FINDING_STATUS_DISMISSED);
      *now.mutable_status_changed_at() = dismissal->status_changed_at();
      now.set_status_reason(dismissal->status_reason());
    }
  }
  StoreFinding(state, old, now);
  return absl::OkStatus();
}

// The condition of an open finding no longer holds: RESOLVED. `refreshed`,
// when given, replaces its content (e.g. the lower score that resolved it).
absl::Status ResolveFinding(ProjectionState& state,
                            absl::string_view finding_id,
                            const EventInfo& event, absl::string_view why,
                            const v1::Finding* refreshed = nullptr) {
  ASSIGN_OR_RETURN(std::optional<v1::Finding> old,
                   LoadFinding(state, finding_id));
  if (!old.has_value() || old->status() != v1::FINDING_STATUS_OPEN)
    return absl::OkStatus();
  v1::Finding now = refreshed != nullptr ? *refreshed : *old;
  *now.mutable_first_detected_at() = old->first_detected_at();
  now.set_first_detected_position(old->first_detected_position());
  now.set_status(v1::FINDING_STATUS_RESOLVED);
  *now.mutable_status_changed_at() = ToProto(event.recorded_at);
  now.set_status_reason(absl::StrCat("resolved by ", event.Name(), why));
  StoreFinding(state, old, now);
  return absl::OkStatus();
}

absl::Status DismissFinding(ProjectionState& state, absl::string_view client_id,
                            const v1::DuplicateDismissed& dismissed,
                            const EventInfo& event) {
  if (dismissed.finding_id().empty()) return absl::OkStatus();
  std::string reason = absl::StrCat("dismissed by ", event.Name());
  if (!dismissed.reason().empty())
    absl::StrAppend(&reason, ": ", dismissed.reason());

  const std::string marker_key =
      DismissalKey(dismissed.finding_id(), client_id);
  ASSIGN_OR_RETURN(std::optional<std::string> marker, state.Get(marker_key));
  if (!marker.has_value()) {
    v1::Finding record;
    *record.mutable_status_changed_at() = ToProto(event.recorded_at);
    record.set_status_reason(reason);
    state.Put(marker_key, record.SerializeAsString());
  }

  ASSIGN_OR_RETURN(std::optional<v1::Finding> old,
                   LoadFinding(state, dismissed.finding_id()));
  if (!old.has_value() || old->status() == v1::FINDING_STATUS_DISMISSED ||
      !Contains(old->client_ids(), client_id)) {
    return absl::OkStatus();
  }
  v1::Finding now = *old;
  now.set_status(v1::FINDING_STATUS_DISMISSED);
  *now.mutable_status_changed_at() = ToProto(event.recorded_at);
  now.set_status_reason(std::move(reason));
  StoreFinding(state, old, now);
  return absl::OkStatus();
}

// --- Services and referrals --------------------------------------------------

// Two services or referrals of one client that a finding is about.
struct SubjectPair {
  v1::FindingKind kind = v1::FINDING_KIND_UNSPECIFIED;
  const std::string* id_a = nullptr;
  const std::string* org_a = nullptr;
  uint64_t position_a = 0;
  const std::string* id_b = nullptr;
  const std::string* org_b = nullptr;
  uint64_t position_b = 0;
  absl::CivilDay day;  // SAME_DAY_SERVICES: the date both started
};

absl::string_view TagOf(v1::FindingKind kind) {
  switch (kind) {
    case v1::FINDING_KIND_OVERLAPPING_SERVICES:
      return "overlapping-services";
    case v1::FINDING_KIND_SAME_DAY_SERVICES:
      return "same-day-services";
    case v1::FINDING_KIND_DUPLICATE_REFERRALS:
      return "duplicate-referrals";
    default:
      return "duplicate-clients";
  }
}

v1::Finding SubjectPairFinding(const std::string& client_id,
                               v1::ServiceCategory category,
                               const SubjectPair& p) {
  const std::string& id_a = *p.id_a;
  const std::string& id_b = *p.id_b;
  const std::string& org_a = *p.org_a;
  const std::string& org_b = *p.org_b;
  v1::Finding f;
  f.set_finding_id(absl::StrCat(TagOf(p.kind), ":", client_id, ":",
                                CategoryName(category), ":", id_a, ":", id_b));
  f.set_kind(p.kind);
  f.add_client_ids(client_id);
  f.add_organization_ids(std::min(org_a, org_b));
  f.add_organization_ids(std::max(org_a, org_b));
  f.set_service_category(category);
  f.add_subject_ids(id_a);
  f.add_subject_ids(id_b);
  f.add_cause_positions(p.position_a);
  f.add_cause_positions(p.position_b);
  const std::string what = CategoryWords(category);
  switch (p.kind) {
    case v1::FINDING_KIND_OVERLAPPING_SERVICES:
      f.set_description(absl::StrCat(
          "Client ", client_id, " has active ", what, " services at ", org_a,
          " (", id_a, ") and ", org_b, " (", id_b, ") at the same time."));
      break;
    case v1::FINDING_KIND_SAME_DAY_SERVICES:
      f.set_description(absl::StrCat(
          "Client ", client_id, " had ", what, " services started on ",
          absl::FormatCivilTime(p.day), " by ", org_a, " (", id_a, ") and by ",
          org_b, " (", id_b, ")."));
      break;
    default:
      f.set_description(absl::StrCat("Client ", client_id, " has open ", what,
                                     " referrals to ", org_a, " (", id_a,
                                     ") and to ", org_b, " (", id_b, ")."));
      break;
  }
  return f;
}

std::string SubjectPairId(const std::string& client_id,
                          v1::ServiceCategory category, const SubjectPair& p) {
  return absl::StrCat(TagOf(p.kind), ":", client_id, ":",
                      CategoryName(category), ":", *p.id_a, ":", *p.id_b);
}

using Derived = std::map<std::string, SubjectPair>;

void DeriveServicePairs(const care::ClientRecord& record,
                        v1::ServiceCategory category, Derived& out) {
  std::vector<std::pair<const std::string*, const care::ServiceState*>> services;
  for (const auto& [id, service] : record.services) {
    if (service.started.category() == category &&
        !service.started.provider_organization_id().empty()) {
      services.emplace_back(&id, &service);
    }
  }
  const absl::TimeZone utc = absl::UTCTimeZone();
  for (size_t i = 0; i < services.size(); ++i) {
    const auto& [id_a, a] = services[i];
    const std::string& org_a = a->started.provider_organization_id();
    for (size_t j = i + 1; j < services.size(); ++j) {
      const auto& [id_b, b] = services[j];
      const std::string& org_b = b->started.provider_organization_id();
      if (org_a == org_b) continue;
      SubjectPair pair{v1::FINDING_KIND_OVERLAPPING_SERVICES,
                       id_a,
                       &org_a,
                       a->started_position,
                       id_b,
                       &org_b,
                       b->started_position,
                       absl::CivilDay()};
      if (a->active() && b->active())
        out.emplace(SubjectPairId(record.client_id, category, pair), pair);
      pair.day = absl::ToCivilDay(a->started_at, utc);
      if (pair.day == absl::ToCivilDay(b->started_at, utc)) {
        pair.kind = v1::FINDING_KIND_SAME_DAY_SERVICES;
        out.emplace(SubjectPairId(record.client_id, category, pair), pair);
      }
    }
  }
}

void DeriveReferralPairs(const care::ClientRecord& record,
                         v1::ServiceCategory category, Derived& out) {
  std::vector<std::pair<const std::string*, const care::ReferralState*>> open;
  for (const auto& [id, referral] : record.referrals) {
    if (referral.sent.service_category() == category &&
        !care::IsTerminal(referral.status) &&
        !referral.sent.to_organization_id().empty()) {
      open.emplace_back(&id, &referral);
    }
  }
  for (size_t i = 0; i < open.size(); ++i) {
    const auto& [id_a, a] = open[i];
    const std::string& org_a = a->sent.to_organization_id();
    for (size_t j = i + 1; j < open.size(); ++j) {
      const auto& [id_b, b] = open[j];
      const std::string& org_b = b->sent.to_organization_id();
      if (org_a == org_b) continue;
      const SubjectPair pair{v1::FINDING_KIND_DUPLICATE_REFERRALS,
                             id_a,
                             &org_a,
                             a->sent_position,
                             id_b,
                             &org_b,
                             b->sent_position,
                             absl::CivilDay()};
      out.emplace(SubjectPairId(record.client_id, category, pair), pair);
    }
  }
}

// Re-derives the client's service (or referral) findings in `category` from
// its record and brings the stored ones in line: derived ones open (or stay
// open), open ones no longer derived are resolved. An open finding derived
// again with the same fingerprint is not read or written.
absl::Status RederiveCategory(ProjectionState& state,
                              const care::ClientRecord& record,
                              v1::ServiceCategory category, bool services,
                              const EventInfo& event) {
  if (category == v1::SERVICE_CATEGORY_UNSPECIFIED) return absl::OkStatus();
  Derived derived;
  std::vector<v1::FindingKind> kinds;
  if (services) {
    DeriveServicePairs(record, category, derived);
    kinds = {v1::FINDING_KIND_OVERLAPPING_SERVICES,
             v1::FINDING_KIND_SAME_DAY_SERVICES};
  } else {
    DeriveReferralPairs(record, category, derived);
    kinds = {v1::FINDING_KIND_DUPLICATE_REFERRALS};
  }
  std::map<std::string, std::string> open;  // finding id -> fingerprint
  for (v1::FindingKind kind : kinds) {
    const std::string prefix = OpenPrefix(record.client_id, kind, category);
    RETURN_IF_ERROR(state.Scan(
        prefix, "", [&](absl::string_view key, absl::string_view value) {
          open.emplace(key.substr(prefix.size()), value);
          return true;
        }));
  }
  for (const auto& [id, pair] : derived) {
    auto it = open.find(id);
    if (it != open.end() &&
        it->second == Fingerprint(pair.position_a, pair.position_b)) {
      continue;
    }
    RETURN_IF_ERROR(OpenFinding(
        state, SubjectPairFinding(record.client_id, category, pair), event));
  }
  for (const auto& [id, fingerprint] : open) {
    if (derived.contains(id)) continue;
    RETURN_IF_ERROR(ResolveFinding(state, id, event, ""));
  }
  return absl::OkStatus();
}

// --- Possible duplicate clients ----------------------------------------------

// The stored identity of a client and its profile (nullptr: not
// registered), through the instance's cache: a profile is made once per
// cache entry, when a stored identity is first read. The pointer stays valid
// until the next StoreIdentity or cache miss.
absl::StatusOr<const CachedIdentity*> LoadIdentity(
    const ViewReader& state, Matching& matching, absl::string_view client_id,
    const care::ViewsConfig& config) {
  IdentityCache& cache = matching.identities;
  auto it = cache.find(client_id);
  if (it != cache.end()) return &it->second;
  const std::string key = IdentityKey(client_id);
  ASSIGN_OR_RETURN(std::optional<std::string> value, state.Get(key));
  if (!value.has_value()) return nullptr;
  CachedIdentity identity;
  if (!identity.state.ParseFromString(*value)) return DataLoss("identity", key);
  identity.profile = care::MakeMatchProfile(identity.state.details(), config);
  if (cache.size() >= kMaxCachedIdentities) cache.clear();
  return &cache.emplace(std::string(client_id), std::move(identity))
              .first->second;
}

// `profile` is the profile of identity.details().
void StoreIdentity(ProjectionState& state, Matching& matching,
                   v1::ClientState identity, care::MatchProfile profile) {
  state.Put(IdentityKey(identity.client_id()), identity.SerializeAsString());
  IdentityCache& cache = matching.identities;
  if (cache.size() >= kMaxCachedIdentities) cache.clear();
  std::string client_id = identity.client_id();
  cache.insert_or_assign(std::move(client_id),
                         CachedIdentity{std::move(identity), std::move(profile)});
}

// --- The match model -----------------------------------------------------------

constexpr absl::string_view kModelKey = "m";
constexpr absl::string_view kNameTotalsKey = "t";

// "e|" + the code as 4 bytes big-endian (the last 4 of BigEndian64).
std::string ComparisonKey(care::ComparisonCode code) {
  return Part("e", BigEndian64(code).substr(4));
}

std::string NameKey(care::NamePart part, absl::string_view name) {
  return absl::StrCat(Part("t", part == care::NamePart::kGiven ? "g" : "f"),
                      absl::string_view(&kSep, 1), name);
}

// The unsigned number `bytes` hold, big-endian (BigEndian64's inverse for
// 8 bytes). REQUIRES: bytes.size() <= 8.
uint64_t FromBigEndian(absl::string_view bytes) {
  uint64_t out = 0;
  for (char c : bytes) out = (out << 8) | static_cast<unsigned char>(c);
  return out;
}

absl::StatusOr<uint64_t> ReadBigEndian64(absl::string_view value,
                                         absl::string_view key) {
  if (value.size() != 8) return DataLoss("count", key);
  return FromBigEndian(value);
}

// The model `response` describes (a stored m value), as care::MatchModel.
care::MatchModel ModelOf(const v1::GetMatchModelResponse& response) {
  care::MatchModel model = care::DefaultMatchModel();
  if (response.estimated_at_pairs() == 0) return model;
  model.prior = response.prior();
  for (int f = 0; f < care::kMatchFieldCount && f < response.fields_size();
       ++f) {
    care::FieldModel& field = model.fields[f];
    for (const v1::MatchModelLevel& level : response.fields(f).levels()) {
      if (level.agreement() == v1::FIELD_AGREEMENT_AGREE) {
        field.m_agree = level.m_probability();
        field.u_agree = level.u_probability();
      } else if (level.agreement() == v1::FIELD_AGREEMENT_PARTIAL) {
        field.m_partial = level.m_probability();
        field.u_partial = level.u_probability();
      }
    }
  }
  return model;
}

// `model`'s fields and levels into `response`.
void DescribeModel(const care::MatchModel& model,
                   v1::GetMatchModelResponse& response) {
  response.clear_fields();
  response.set_prior(model.prior);
  for (int f = 0; f < care::kMatchFieldCount; ++f) {
    const care::FieldModel& field = model.fields[f];
    v1::MatchModelField* out = response.add_fields();
    out->set_field(std::string(care::MatchFieldName(f)));
    for (v1::FieldAgreement agreement :
         {v1::FIELD_AGREEMENT_AGREE, v1::FIELD_AGREEMENT_PARTIAL,
          v1::FIELD_AGREEMENT_DISAGREE}) {
      if (agreement == v1::FIELD_AGREEMENT_PARTIAL && !field.has_partial())
        continue;
      v1::MatchModelLevel* level = out->add_levels();
      level->set_agreement(agreement);
      level->set_m_probability(field.M(agreement));
      level->set_u_probability(field.U(agreement));
      level->set_weight(field.Weight(agreement));
    }
  }
}

// Reads the e|, t| and m values once per instance.
absl::Status LoadLearnedModel(const ViewReader& state, LearnedModel& learned) {
  if (learned.loaded) return absl::OkStatus();
  absl::Status error;
  const std::string comparisons = Part("e", "");
  RETURN_IF_ERROR(state.Scan(
      comparisons, "", [&](absl::string_view key, absl::string_view value) {
        absl::string_view code = key.substr(comparisons.size());
        absl::StatusOr<uint64_t> count = ReadBigEndian64(value, key);
        if (code.size() != 4 || !count.ok()) {
          error = DataLoss("comparison count", key);
          return false;
        }
        learned.counts[static_cast<care::ComparisonCode>(
            FromBigEndian(code))] = *count;
        learned.compared_pairs += *count;
        return true;
      }));
  RETURN_IF_ERROR(error);
  for (care::NamePart part : {care::NamePart::kGiven, care::NamePart::kFamily}) {
    const std::string prefix = NameKey(part, "");
    RETURN_IF_ERROR(state.Scan(
        prefix, "", [&](absl::string_view key, absl::string_view value) {
          absl::StatusOr<uint64_t> count = ReadBigEndian64(value, key);
          if (!count.ok()) {
            error = count.status();
            return false;
          }
          learned.names.Add(part, key.substr(prefix.size()),
                            static_cast<int64_t>(*count));
          return true;
        }));
    RETURN_IF_ERROR(error);
  }
  ASSIGN_OR_RETURN(std::optional<std::string> stored, state.Get(kModelKey));
  if (stored.has_value()) {
    if (!learned.stored.ParseFromString(*stored))
      return DataLoss("match model", kModelKey);
    learned.model = ModelOf(learned.stored);
  } else {
    learned.stored.set_next_estimate_at_pairs(kFirstMatchModelEstimatePairs);
  }
  learned.loaded = true;
  return absl::OkStatus();
}

// Counts a client's name parts in (delta 1) or out (-1) of the term
// frequencies, storing the changed counts and the totals.
void CountNames(ProjectionState& state, LearnedModel& learned,
                const care::MatchProfile& profile, int64_t delta) {
  for (auto [part, name] :
       {std::pair{care::NamePart::kGiven, &profile.given},
        std::pair{care::NamePart::kFamily, &profile.family}}) {
    if (name->empty()) continue;
    learned.names.Add(part, *name, delta);
    const uint64_t count = learned.names.Count(part, *name);
    if (count == 0) {
      state.Delete(NameKey(part, *name));
    } else {
      state.Put(NameKey(part, *name), BigEndian64(count));
    }
  }
  state.Put(kNameTotalsKey,
            absl::StrCat(BigEndian64(learned.names.Total(care::NamePart::kGiven)),
                         BigEndian64(learned.names.Total(care::NamePart::kFamily))));
}

// One more comparison of a registration or correction with a candidate.
void CountComparison(ProjectionState& state, LearnedModel& learned,
                     care::ComparisonCode code) {
  const uint64_t count = ++learned.counts[code];
  ++learned.compared_pairs;
  state.Put(ComparisonKey(code), BigEndian64(count));
}

void SetLinks(const care::ClientRecord& record, v1::ClientState& identity) {
  identity.clear_linked_client_ids();
  for (const std::string& id : record.linked_client_ids)
    identity.add_linked_client_ids(id);
}

// The id of the pair finding of two clients, in id order:
// "duplicate-clients:<lower>:<higher>".
std::string PairFindingId(absl::string_view a, absl::string_view b) {
  return a < b ? absl::StrCat("duplicate-clients:", a, ":", b)
               : absl::StrCat("duplicate-clients:", b, ":", a);
}

v1::Finding ClientPairFinding(const v1::ClientState& a,
                              const v1::ClientState& b,
                              const care::ClientMatch& match) {
  v1::Finding f;
  f.set_finding_id(PairFindingId(a.client_id(), b.client_id()));
  f.set_kind(v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS);
  f.add_client_ids(a.client_id());
  f.add_client_ids(b.client_id());
  std::set<std::string> orgs;
  for (const v1::ClientState* c : {&a, &b}) {
    if (!c->registered_by_organization_id().empty())
      orgs.insert(c->registered_by_organization_id());
  }
  for (const std::string& org : orgs) f.add_organization_ids(org);
  f.add_cause_positions(a.last_position());
  f.add_cause_positions(b.last_position());
  f.set_match_probability(match.probability);
  f.set_match_weight(match.weight);
  f.set_match_class(match.match_class);
  std::vector<std::string> agree;
  std::vector<std::string> partial;
  std::vector<std::string> disagree;
  for (const v1::FieldComparison& c : match.comparisons) {
    *f.add_comparisons() = c;
    if (c.agreement() == v1::FIELD_AGREEMENT_AGREE) agree.push_back(c.field());
    if (c.agreement() == v1::FIELD_AGREEMENT_PARTIAL)
      partial.push_back(c.field());
    if (c.agreement() == v1::FIELD_AGREEMENT_DISAGREE)
      disagree.push_back(c.field());
  }
  const absl::string_view match_class =
      match.match_class == v1::MATCH_CLASS_MATCH    ? "match"
      : match.match_class == v1::MATCH_CLASS_REVIEW ? "review"
                                                    : "non-match";
  std::string description =
      absl::StrCat("Clients ", a.client_id(), " and ", b.client_id(),
                   " may be the same person: match probability ",
                   Probability(match.probability), " (", match_class, ")");
  if (!agree.empty())
    absl::StrAppend(&description, "; agree: ", absl::StrJoin(agree, ", "));
  if (!partial.empty()) {
    absl::StrAppend(&description,
                    "; partly agree: ", absl::StrJoin(partial, ", "));
  }
  if (!disagree.empty()) {
    absl::StrAppend(&description,
                    "; disagree: ", absl::StrJoin(disagree, ", "));
  }
  absl::StrAppend(&description, ".");
  f.set_description(std::move(description));
  return f;
}

// --- Birth-date quality ---------------------------------------------------------

// "birth-date:<client id>".
std::string BirthDateFindingId(absl::string_view client_id) {
  return absl::StrCat("birth-date:", client_id);
}

// Opens the client's birth-date finding while its current birth date has a
// care::BirthDateProblem as of the event (the day it was recorded, in the
// views' zone), resolves it when not.
absl::Status UpdateBirthDateFinding(ProjectionState& state,
                                    const v1::ClientState& identity,
                                    const EventInfo& event,
                                    const care::ViewsConfig& config) {
  const v1::ClientRegistered& details = identity.details();
  const std::string problem = care::BirthDateProblem(
      details.birth_date(), details.birth_date_recorded_as(),
      absl::ToCivilDay(event.recorded_at, config.time_zone));
  const std::string finding_id = BirthDateFindingId(identity.client_id());
  if (problem.empty()) {
    return ResolveFinding(state, finding_id, event,
                          ": the birth date is a whole, plausible date");
  }
  v1::Finding f;
  f.set_finding_id(finding_id);
  f.set_kind(v1::FINDING_KIND_BIRTH_DATE_QUALITY);
  f.add_client_ids(identity.client_id());
  if (!identity.registered_by_organization_id().empty())
    f.add_organization_ids(identity.registered_by_organization_id());
  f.add_cause_positions(event.position);
  f.set_description(absl::StrCat("Client ", identity.client_id(),
                                 "'s birth date ", problem,
                                 "; correct it when a document shows it."));
  return OpenFinding(state, std::move(f), event);
}

// Scores `self` against client `other_id` (when registered) and brings their
// pair finding in line with the score and their links. `has_finding`: whether
// a pair finding exists (the p| bookkeeping), so that the many candidates
// that score below review and have none cost no further reads or writes.
// `self_profile` is the profile of self.details(); both are the caller's own
// copies (a cache miss here may empty the cache). `count`: the comparison
// is counted for the match model (a registration's or correction's
// candidates; not a rescoring).
absl::Status EvaluatePair(ProjectionState& state, Matching& matching,
                          const v1::ClientState& self,
                          const care::MatchProfile& self_profile,
                          absl::string_view other_id, bool has_finding,
                          bool count, const EventInfo& event,
                          const care::ViewsConfig& config) {
  if (other_id == self.client_id()) return absl::OkStatus();
  ASSIGN_OR_RETURN(const CachedIdentity* other,
                   LoadIdentity(state, matching, other_id, config));
  if (other == nullptr) return absl::OkStatus();
  const bool self_first = self.client_id() < other->state.client_id();
  const v1::ClientState& a = self_first ? self : other->state;
  const v1::ClientState& b = self_first ? other->state : self;
  const care::MatchProfile& profile_a =
      self_first ? self_profile : other->profile;
  const care::MatchProfile& profile_b =
      self_first ? other->profile : self_profile;
  const std::string finding_id = PairFindingId(a.client_id(), b.client_id());
  if (Contains(a.linked_client_ids(), b.client_id()) ||
      Contains(b.linked_client_ids(), a.client_id())) {
    if (!has_finding) return absl::OkStatus();
    return ResolveFinding(state, finding_id, event, ": the records are linked");
  }
  LearnedModel& learned = matching.learned;
  const care::PairScore score =
      care::ScorePair(profile_a, profile_b, learned.model, &learned.names);
  if (count) CountComparison(state, learned, score.comparison);
  const double probability =
      care::MatchProbability(score.weight, learned.model.prior);
  const bool holds = probability >= config.review_threshold;
  if (!holds && !has_finding) return absl::OkStatus();
  const care::ClientMatch match = care::CompareClients(
      profile_a, profile_b, config, learned.model, &learned.names);
  v1::Finding finding = ClientPairFinding(a, b, match);
  finding.set_match_model_pairs(learned.stored.estimated_at_pairs());
  if (!holds) {
    return ResolveFinding(
        state, finding_id, event,
        absl::StrCat(": match probability ", Probability(match.probability),
                     " is below the review threshold ",
                     Probability(config.review_threshold)),
        &finding);
  }
  return OpenFinding(state, std::move(finding), event);
}

// The clients to score `client_id` against: the first
// kMaxCandidatesPerBlock of each of its blocks (`keys`) and every client it
// has a pair finding with; each mapped to whether that finding exists.
absl::StatusOr<std::map<std::string, bool>> Candidates(
    const ViewReader& state, absl::string_view client_id,
    const std::vector<std::string>& keys) {
  std::map<std::string, bool> candidates;
  for (const std::string& key : keys) {
    const std::string prefix = BlockPrefix(key);
    size_t examined = 0;
    RETURN_IF_ERROR(
        state.Scan(prefix, "", [&](absl::string_view k, absl::string_view) {
          absl::string_view client = k.substr(prefix.size());
          if (client == client_id) return true;
          candidates.emplace(client, false);
          return ++examined < kMaxCandidatesPerBlock;
        }));
  }
  const std::string pairs = PairPrefix(client_id);
  RETURN_IF_ERROR(
      state.Scan(pairs, "", [&](absl::string_view k, absl::string_view) {
        candidates[std::string(k.substr(pairs.size()))] = true;
        return true;
      }));
  return candidates;
}

// Every candidate pair scored again with the model just estimated: each
// registered client against its candidates with a higher id (so each pair
// once), without counting the comparisons.
absl::Status RescoreAll(ProjectionState& state, Matching& matching,
                        const EventInfo& event,
                        const care::ViewsConfig& config) {
  const std::string type =
      absl::StrCat("the match model estimated after ", event.type);
  const EventInfo rescoring{type, event.position, event.recorded_at};
  std::vector<std::string> clients;
  const std::string identities = Part("i", "");
  RETURN_IF_ERROR(
      state.Scan(identities, "", [&](absl::string_view k, absl::string_view) {
        clients.emplace_back(k.substr(identities.size()));
        return true;
      }));
  for (const std::string& client : clients) {
    ASSIGN_OR_RETURN(const CachedIdentity* cached,
                     LoadIdentity(state, matching, client, config));
    if (cached == nullptr) continue;
    // Copies: scoring may empty the cache.
    const v1::ClientState identity = cached->state;
    const care::MatchProfile profile = cached->profile;
    ASSIGN_OR_RETURN(
        const auto candidates,
        Candidates(state, client, care::BlockingKeys(profile)));
    for (const auto& [candidate, has_finding] : candidates) {
      if (candidate <= client) continue;
      RETURN_IF_ERROR(EvaluatePair(state, matching, identity, profile,
                                   candidate, has_finding, /*count=*/false,
                                   rescoring, config));
    }
  }
  return absl::OkStatus();
}

// Once the comparisons counted reach the next estimate's count: the model
// is estimated again from all of them (care::EstimateMatchModel, from the
// default model), stored, and every candidate pair scored with it.
absl::Status MaybeEstimate(ProjectionState& state, Matching& matching,
                           const EventInfo& event,
                           const care::ViewsConfig& config) {
  LearnedModel& learned = matching.learned;
  if (learned.compared_pairs < learned.stored.next_estimate_at_pairs())
    return absl::OkStatus();
  const care::Estimate estimate =
      care::EstimateMatchModel(learned.counts, care::DefaultMatchModel());
  learned.model = estimate.model;
  v1::GetMatchModelResponse& stored = learned.stored;
  stored.Clear();
  DescribeModel(estimate.model, stored);
  for (const auto& [code, count] : learned.counts) {
    const care::ComparisonLevels levels = care::DecodeComparison(code);
    for (int f = 0; f < care::kMatchFieldCount; ++f) {
      if (levels[f] != v1::FIELD_AGREEMENT_MISSING) {
        stored.mutable_fields(f)->set_compared_pairs(
            stored.fields(f).compared_pairs() + count);
      }
    }
  }
  for (int f = 0; f < care::kMatchFieldCount; ++f) {
    if (estimate.kept_start[f])
      stored.add_fields_kept_default(std::string(care::MatchFieldName(f)));
  }
  stored.set_estimated_at_pairs(learned.compared_pairs);
  stored.set_estimated_at_position(event.position);
  *stored.mutable_estimated_at() = ToProto(event.recorded_at);
  stored.set_iterations(static_cast<uint32_t>(estimate.iterations));
  stored.set_converged(estimate.converged);
  stored.set_next_estimate_at_pairs(learned.compared_pairs *
                                    kMatchModelEstimateGrowth);
  state.Put(kModelKey, stored.SerializeAsString());
  return RescoreAll(state, matching, event, config);
}

// A registration or correction: re-index the client's identity, count its
// names, score it against its blocks and its existing pairs (counting each
// comparison), and estimate the model again when enough were counted.
absl::Status ScoreIdentity(ProjectionState& state, Matching& matching,
                           const care::ClientRecord& record, const EventInfo& event,
                           const care::ViewsConfig& config) {
  if (!record.registered) return absl::OkStatus();
  RETURN_IF_ERROR(LoadLearnedModel(state, matching.learned));
  ASSIGN_OR_RETURN(const CachedIdentity* old,
                   LoadIdentity(state, matching, record.client_id, config));
  v1::ClientState identity;
  identity.set_client_id(record.client_id);
  identity.set_registered(true);
  *identity.mutable_details() = record.details;
  identity.set_registered_by_organization_id(
      record.registered_by_organization_id);
  SetLinks(record, identity);
  identity.set_last_position(event.position);

  care::MatchProfile profile = care::MakeMatchProfile(record.details, config);
  const std::vector<std::string> keys = care::BlockingKeys(profile);
  std::vector<std::string> old_keys;
  if (old != nullptr) old_keys = care::BlockingKeys(old->profile);
  // The name counts change only when the names do (a correction of another
  // field leaves them).
  if (old == nullptr || old->profile.given != profile.given ||
      old->profile.family != profile.family) {
    if (old != nullptr) CountNames(state, matching.learned, old->profile, -1);
    CountNames(state, matching.learned, profile, 1);
  }
  for (const std::string& key : old_keys) {
    if (!std::binary_search(keys.begin(), keys.end(), key))
      state.Delete(absl::StrCat(BlockPrefix(key), record.client_id));
  }
  for (const std::string& key : keys) {
    if (!std::binary_search(old_keys.begin(), old_keys.end(), key))
      state.Put(absl::StrCat(BlockPrefix(key), record.client_id), "");
  }
  StoreIdentity(state, matching, identity, profile);
  RETURN_IF_ERROR(UpdateBirthDateFinding(state, identity, event, config));

  ASSIGN_OR_RETURN(const auto candidates,
                   Candidates(state, record.client_id, keys));
  for (const auto& [candidate, has_finding] : candidates) {
    RETURN_IF_ERROR(EvaluatePair(state, matching, identity, profile, candidate,
                                 has_finding, /*count=*/true, event, config));
  }
  return MaybeEstimate(state, matching, event, config);
}

// ClientRecordsLinked / ClientRecordsUnlinked on the client's stream.
absl::Status UpdateLink(ProjectionState& state, Matching& matching,
                        const care::ClientRecord& record, absl::string_view other_id,
                        const EventInfo& event, const care::ViewsConfig& config) {
  ASSIGN_OR_RETURN(const CachedIdentity* identity,
                   LoadIdentity(state, matching, record.client_id, config));
  // Not registered: no pair finding names it yet, and its registration will
  // pick up the links from the record.
  if (identity == nullptr) return absl::OkStatus();
  v1::ClientState updated = identity->state;
  const care::MatchProfile profile = identity->profile;
  SetLinks(record, updated);
  if (!std::equal(updated.linked_client_ids().begin(),
                  updated.linked_client_ids().end(),
                  identity->state.linked_client_ids().begin(),
                  identity->state.linked_client_ids().end())) {
    StoreIdentity(state, matching, updated, profile);
  }
  ASSIGN_OR_RETURN(
      std::optional<std::string> pair,
      state.Get(absl::StrCat(PairPrefix(record.client_id), other_id)));
  RETURN_IF_ERROR(LoadLearnedModel(state, matching.learned));
  return EvaluatePair(state, matching, updated, profile, other_id,
                      pair.has_value(), /*count=*/false, event, config);
}

// --- Corrections -------------------------------------------------------------

// The clients `client_id` has a pair finding with (the p| bookkeeping).
absl::StatusOr<std::vector<std::string>> PairedClients(
    const ViewReader& state, absl::string_view client_id) {
  const std::string pairs = PairPrefix(client_id);
  std::vector<std::string> others;
  RETURN_IF_ERROR(
      state.Scan(pairs, "", [&](absl::string_view k, absl::string_view) {
        others.emplace_back(k.substr(pairs.size()));
        return true;
      }));
  return others;
}

// The client leaves the blocks and the identities.
absl::Status DropIdentity(ProjectionState& state, Matching& matching,
                          absl::string_view client_id,
                          const care::ViewsConfig& config) {
  RETURN_IF_ERROR(LoadLearnedModel(state, matching.learned));
  ASSIGN_OR_RETURN(const CachedIdentity* identity,
                   LoadIdentity(state, matching, client_id, config));
  if (identity == nullptr) return absl::OkStatus();
  CountNames(state, matching.learned, identity->profile, -1);
  for (const std::string& key : care::BlockingKeys(identity->profile)) {
    state.Delete(absl::StrCat(BlockPrefix(key), client_id));
  }
  state.Delete(IdentityKey(client_id));
  matching.identities.erase(std::string(client_id));
  return absl::OkStatus();
}

// The registration of the client was marked entered in error: it is no
// longer a registered client, so it leaves the blocks and every pair finding
// naming it is resolved.
absl::Status ForgetIdentity(ProjectionState& state, Matching& matching,
                            absl::string_view client_id,
                            const EventInfo& event,
                            const care::ViewsConfig& config) {
  ASSIGN_OR_RETURN(const std::vector<std::string> others,
                   PairedClients(state, client_id));
  for (const std::string& other : others) {
    RETURN_IF_ERROR(ResolveFinding(
        state, PairFindingId(client_id, other), event,
        absl::StrCat(": client ", client_id,
                     "'s registration was entered in error")));
  }
  RETURN_IF_ERROR(ResolveFinding(
      state, BirthDateFindingId(client_id), event,
      absl::StrCat(": client ", client_id,
                   "'s registration was entered in error")));
  return DropIdentity(state, matching, client_id, config);
}

// A dismissal marked entered in error: the finding is open again unless
// another of its clients' streams dismissed it too (the re-derivation that
// follows resolves it if its condition no longer holds).
absl::Status UndoDismissal(ProjectionState& state, absl::string_view client_id,
                           const std::string& finding_id,
                           const EventInfo& event) {
  state.Delete(DismissalKey(finding_id, client_id));
  ASSIGN_OR_RETURN(std::optional<v1::Finding> old,
                   LoadFinding(state, finding_id));
  if (!old.has_value() || old->status() != v1::FINDING_STATUS_DISMISSED) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<v1::Finding> other, FindDismissal(state, *old));
  if (other.has_value()) return absl::OkStatus();
  v1::Finding now = *old;
  now.set_status(v1::FINDING_STATUS_OPEN);
  *now.mutable_status_changed_at() = ToProto(event.recorded_at);
  now.set_status_reason(absl::StrCat("reopened by ", event.Name(),
                                     ": its dismissal was entered in error"));
  StoreFinding(state, old, now);
  return absl::OkStatus();
}

// An EventEnteredInError: `record` is folded again without the marked event
// and `before` is the record as it was. Whatever the marked event fed is
// derived again: the identity and links, each service and referral category
// either record holds, and a dismissal it made.
absl::Status ApplyCorrection(ProjectionState& state, Matching& matching,
                             const std::optional<care::ClientRecord>& before,
                             const care::ClientRecord& record,
                             const EventInfo& event,
                             const care::ViewsConfig& config) {
  if (before.has_value()) {
    for (const std::string& finding : before->dismissed_finding_ids) {
      if (record.dismissed_finding_ids.count(finding) == 0) {
        RETURN_IF_ERROR(
            UndoDismissal(state, record.client_id, finding, event));
      }
    }
  }
  if (!record.registered) {
    RETURN_IF_ERROR(
        ForgetIdentity(state, matching, record.client_id, event, config));
  } else {
    RETURN_IF_ERROR(ScoreIdentity(state, matching, record, event, config));
    std::set<std::string> others = record.linked_client_ids;
    if (before.has_value()) {
      others.insert(before->linked_client_ids.begin(),
                    before->linked_client_ids.end());
    }
    for (const std::string& other : others) {
      RETURN_IF_ERROR(UpdateLink(state, matching, record, other, event, config));
    }
  }
  std::set<v1::ServiceCategory> services;
  std::set<v1::ServiceCategory> referrals;
  for (const care::ClientRecord* r :
       {&record, before.has_value() ? &*before : nullptr}) {
    if (r == nullptr) continue;
    for (const auto& [id, service] : r->services)
      services.insert(service.started.category());
    for (const auto& [id, referral] : r->referrals)
      referrals.insert(referral.sent.service_category());
  }
  for (v1::ServiceCategory category : services) {
    RETURN_IF_ERROR(RederiveCategory(state, record, category,
                                     /*services=*/true, event));
  }
  for (v1::ServiceCategory category : referrals) {
    RETURN_IF_ERROR(RederiveCategory(state, record, category,
                                     /*services=*/false, event));
  }
  return absl::OkStatus();
}

// --- Erasure -----------------------------------------------------------------

// ClientErased: nothing derived from the client's payloads stays. Its
// identity and blocking keys, the pair bookkeeping, every finding naming it
// (with its index entries, open marker and dismissal markers) and every
// dismissal its stream recorded are deleted. The engine then purges the
// store's files (ViewStore::Purge).
absl::Status ForgetClient(ProjectionState& state, Matching& matching,
                          absl::string_view client_id,
                          const care::ViewsConfig& config) {
  RETURN_IF_ERROR(DropIdentity(state, matching, client_id, config));
  ASSIGN_OR_RETURN(const std::vector<std::string> others,
                   PairedClients(state, client_id));
  for (const std::string& other : others) {
    state.Delete(absl::StrCat(PairPrefix(client_id), other));
    state.Delete(absl::StrCat(PairPrefix(other), client_id));
  }

  // Index keys end with <status><position(8)><finding_id>.
  const std::string index = ClientIndexPrefix(client_id);
  std::set<std::string> findings;
  RETURN_IF_ERROR(
      state.Scan(index, "", [&](absl::string_view k, absl::string_view) {
        if (k.size() > index.size() + 9) {
          findings.emplace(k.substr(index.size() + 9));
        }
        return true;
      }));
  for (const std::string& id : findings) {
    ASSIGN_OR_RETURN(std::optional<v1::Finding> f, LoadFinding(state, id));
    if (!f.has_value()) continue;
    for (const std::string& key : IndexKeys(*f)) state.Delete(key);
    for (const std::string& client : f->client_ids()) {
      state.Delete(DismissalKey(id, client));
    }
    if (!IsClientPairKind(f->kind()) && f->client_ids_size() == 1) {
      state.Delete(absl::StrCat(
          OpenPrefix(f->client_ids(0), f->kind(), f->service_category()), id));
    }
    state.Delete(FindingKey(id));
  }

  // Dismissals recorded before their finding was ever detected.
  const std::string dismissals = Part("x", "");
  const std::string suffix = absl::StrCat(absl::string_view(&kSep, 1), client_id);
  std::vector<std::string> markers;
  RETURN_IF_ERROR(
      state.Scan(dismissals, "", [&](absl::string_view k, absl::string_view) {
        if (absl::EndsWith(k, suffix)) markers.emplace_back(k);
        return true;
      }));
  for (const std::string& key : markers) state.Delete(key);
  return absl::OkStatus();
}

// --- Event dispatch ----------------------------------------------------------

enum class Handling {
  kSkip,
  kIdentity,
  kLink,
  kDismissal,
  kService,
  kReferral,
  kCorrection,
  kErasure
};

// Decided on the payload's case, peeked without parsing it, so that the many
// events that cannot change a finding are never parsed. Every referral
// lifecycle event (care::IsReferralEvent) may change its category's findings.
Handling HandlingOf(v1::CareEvent::EventCase event_case) {
  if (care::IsReferralEvent(event_case)) return Handling::kReferral;
  switch (event_case) {
    case v1::CareEvent::kServiceStarted:
    case v1::CareEvent::kServiceEnded:
      return Handling::kService;
    case v1::CareEvent::kClientRegistered:
    case v1::CareEvent::kClientDetailsCorrected:
      return Handling::kIdentity;
    case v1::CareEvent::kClientRecordsLinked:
    case v1::CareEvent::kClientRecordsUnlinked:
      return Handling::kLink;
    case v1::CareEvent::kDuplicateDismissed:
      return Handling::kDismissal;
    case v1::CareEvent::kEventEnteredInError:
      return Handling::kCorrection;
    case v1::CareEvent::kClientErased:
      return Handling::kErasure;
    default:
      return Handling::kSkip;
  }
}

// --- Query -------------------------------------------------------------------

std::string EncodePageToken(absl::string_view last_key) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(absl::string_view(&kPageTokenVersion, 1), last_key));
}

}  // namespace

struct DuplicationProjection::MatchingState {
  Matching matching;
};

DuplicationProjection::DuplicationProjection(const ProjectionInit&,
                                             const care::ViewsConfig& config,
                                             ClientRecordStore* records)
    : config_(config),
      records_(records),
      matching_(std::make_unique<MatchingState>()) {}

DuplicationProjection::~DuplicationProjection() = default;

absl::Status DuplicationProjection::Apply(
    const eventstore::RecordedEvent& event, ProjectionState& state) {
  if (!format_written_) {
    ASSIGN_OR_RETURN(std::optional<std::string> version,
                     state.Get(kFormatVersionKey));
    if (!version.has_value()) {
      state.Put(kFormatVersionKey, kFormatVersion);
    } else if (*version != kFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the duplication projection's stored format is version ", *version,
          " and this build reads version ", kFormatVersion,
          "; rebuild it (caseline projections rebuild duplication)"));
    }
    format_written_ = true;
  }
  const std::optional<absl::string_view> client_id = ClientIdOf(event);
  if (!client_id.has_value()) return absl::OkStatus();
  const Handling handling = HandlingOf(care::PeekCareEventCase(event));
  if (handling == Handling::kSkip) return absl::OkStatus();
  ASSIGN_OR_RETURN(v1::CareEvent care_event, care::ParseCareEvent(event));
  const EventInfo info{event.event_type, event.global_position,
                       event.recorded_at};

  if (care_event.event_case() == v1::CareEvent::kDuplicateDismissed) {
    return DismissFinding(state, *client_id, care_event.duplicate_dismissed(),
                          info);
  }
  if (handling == Handling::kErasure) {
    // The projection's record of the client goes too: the erasure folds it
    // again from payloads that now read as erased.
    RETURN_IF_ERROR(records_.Apply(*client_id, care_event, event).status());
    return ForgetClient(state, matching_->matching, *client_id, config_);
  }
  if (handling == Handling::kCorrection) {
    std::optional<care::ClientRecord> before;
    ASSIGN_OR_RETURN(const care::ClientRecord* record,
                     records_.Apply(*client_id, care_event, event, &before));
    return ApplyCorrection(state, matching_->matching, before, *record, info, config_);
  }
  // Everything else reads the client's record after the event. The records
  // see every event that changes what this projection reads (identity,
  // links, services, referrals); the fields it skips are never read here.
  ASSIGN_OR_RETURN(const care::ClientRecord* record,
                   records_.Apply(*client_id, care_event, event));
  switch (care_event.event_case()) {
    case v1::CareEvent::kClientRegistered:
    case v1::CareEvent::kClientDetailsCorrected:
      return ScoreIdentity(state, matching_->matching, *record, info, config_);
    case v1::CareEvent::kClientRecordsLinked:
      return UpdateLink(state, matching_->matching, *record,
                        care_event.client_records_linked().other_client_id(),
                        info, config_);
    case v1::CareEvent::kClientRecordsUnlinked:
      return UpdateLink(state, matching_->matching, *record,
                        care_event.client_records_unlinked().other_client_id(),
                        info, config_);
    case v1::CareEvent::kServiceStarted:
    case v1::CareEvent::kServiceEnded: {
      const std::string& service_id =
          care_event.has_service_started()
              ? care_event.service_started().service_id()
              : care_event.service_ended().service_id();
      auto it = record->services.find(service_id);
      if (it == record->services.end()) return absl::OkStatus();
      return RederiveCategory(state, *record, it->second.started.category(),
                              /*services=*/true, info);
    }
    default:
      break;
  }
  if (const std::string* referral_id = care::ReferralIdOf(care_event)) {
    auto it = record->referrals.find(*referral_id);
    if (it == record->referrals.end()) return absl::OkStatus();
    return RederiveCategory(state, *record, it->second.sent.service_category(),
                            /*services=*/false, info);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::ListFindingsResponse> ListFindings(
    const ViewReader& reader, const v1::ListFindingsRequest& request) {
  if (!request.client_id().empty() && !request.organization_id().empty()) {
    return absl::InvalidArgumentError(
        "client_id and organization_id: set at most one (neither lists "
        "findings network-wide)");
  }
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be 0 (default ", kDefaultPageSize,
                     ") to ", kMaxPageSize, ", got ", request.page_size()));
  }
  const int page_size =
      request.page_size() == 0 ? kDefaultPageSize : request.page_size();

  std::set<int> statuses;
  for (int status : request.statuses()) {
    if (status == v1::FINDING_STATUS_UNSPECIFIED ||
        !v1::FindingStatus_IsValid(status)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "statuses: ", status,
          " is not a finding status; use OPEN, RESOLVED or DISMISSED"));
    }
    statuses.insert(status);
  }
  if (statuses.empty()) statuses.insert(v1::FINDING_STATUS_OPEN);
  std::set<char> kinds;
  for (int kind : request.kinds()) {
    if (kind == v1::FINDING_KIND_UNSPECIFIED ||
        !v1::FindingKind_IsValid(kind)) {
      return absl::InvalidArgumentError(
          absl::StrCat("kinds: ", kind, " is not a finding kind"));
    }
    kinds.insert(Digit(kind));
  }

  const std::string scope =
      !request.client_id().empty() ? ClientIndexPrefix(request.client_id())
      : !request.organization_id().empty()
          ? OrganizationIndexPrefix(request.organization_id())
          : NetworkIndexPrefix();
  std::string after;
  if (!request.page_token().empty()) {
    std::string decoded;
    if (!absl::WebSafeBase64Unescape(request.page_token(), &decoded) ||
        decoded.empty() || decoded[0] != kPageTokenVersion ||
        !absl::StartsWith(absl::string_view(decoded).substr(1), scope) ||
        decoded.size() < 1 + scope.size() + 1 + 8 + 1) {
      return absl::InvalidArgumentError(
          "page_token: not a token this query returned; repeat the query "
          "without it, or with the same client_id and organization_id");
    }
    after = decoded.substr(1);
  }

  v1::ListFindingsResponse response;
  response.set_view_position(reader.position());
  std::string last_key;
  bool more = false;
  absl::Status error;
  for (int status : statuses) {
    const std::string prefix =
        absl::StrCat(scope, std::string(1, Digit(status)));
    std::string start;
    if (!after.empty()) {
      if (absl::StartsWith(after, prefix)) {
        start = after;
      } else if (after > prefix) {
        continue;  // the token is past this status
      }
    }
    RETURN_IF_ERROR(reader.Scan(
        prefix, start, [&](absl::string_view key, absl::string_view value) {
          if (!kinds.empty() && (value.empty() || !kinds.contains(value[0])))
            return true;
          if (response.findings_size() == page_size) {
            more = true;
            return false;
          }
          const absl::string_view finding_id = key.substr(prefix.size() + 8);
          absl::StatusOr<std::optional<v1::Finding>> finding =
              LoadFinding(reader, finding_id);
          if (!finding.ok()) {
            error = finding.status();
            return false;
          }
          if (!finding->has_value()) {
            error = DataLoss("index entry (no finding)", key);
            return false;
          }
          *response.add_findings() = **std::move(finding);
          last_key = std::string(key);
          return true;
        }));
    RETURN_IF_ERROR(error);
    if (more) break;
  }
  if (more) response.set_next_page_token(EncodePageToken(last_key));
  return response;
}

absl::StatusOr<v1::GetMatchModelResponse> GetMatchModel(
    const ViewReader& reader, const care::ViewsConfig& config) {
  v1::GetMatchModelResponse response;
  ASSIGN_OR_RETURN(std::optional<std::string> stored, reader.Get(kModelKey));
  if (stored.has_value()) {
    if (!response.ParseFromString(*stored))
      return DataLoss("match model", kModelKey);
  } else {
    DescribeModel(care::DefaultMatchModel(), response);
    response.set_next_estimate_at_pairs(kFirstMatchModelEstimatePairs);
  }
  uint64_t compared = 0;
  absl::Status error;
  RETURN_IF_ERROR(reader.Scan(
      Part("e", ""), "", [&](absl::string_view key, absl::string_view value) {
        absl::StatusOr<uint64_t> count = ReadBigEndian64(value, key);
        if (!count.ok()) {
          error = count.status();
          return false;
        }
        compared += *count;
        return true;
      }));
  RETURN_IF_ERROR(error);
  response.set_compared_pairs(compared);
  ASSIGN_OR_RETURN(std::optional<std::string> totals,
                   reader.Get(kNameTotalsKey));
  if (totals.has_value()) {
    if (totals->size() != 16) return DataLoss("name totals", kNameTotalsKey);
    ASSIGN_OR_RETURN(uint64_t given,
                     ReadBigEndian64(absl::string_view(*totals).substr(0, 8),
                                     kNameTotalsKey));
    ASSIGN_OR_RETURN(uint64_t family,
                     ReadBigEndian64(absl::string_view(*totals).substr(8),
                                     kNameTotalsKey));
    response.set_given_name_clients(given);
    response.set_family_name_clients(family);
  }
  response.set_match_threshold(config.match_threshold);
  response.set_review_threshold(config.review_threshold);
  response.set_view_position(reader.position());
  return response;
}

}  // namespace caseline::projections
