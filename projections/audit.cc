#include "projections/audit.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "eventstore/envelope.h"
#include "eventstore/event_log.h"
#include "base/status_macros.h"
#include "projections/care_stream.h"
#include "projections/client_record_store.h"
#include "care/access_policy.h"
#include "care/client_record.h"
#include "care/client_state.h"
#include "care/event_summary.h"
#include "care/organization_directory.h"

namespace caseline::projections {
namespace {

constexpr size_t kMaxClientIdBytes = 64;

// --- Small conversions -------------------------------------------------------

void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

absl::StatusOr<absl::Time> TimeOf(const google::protobuf::Timestamp& t,
                                  absl::string_view field) {
  if (t.nanos() < 0 || t.nanos() > 999'999'999) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": nanos must be 0..999999999"));
  }
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::Status CheckClientId(absl::string_view client_id) {
  if (client_id.empty()) {
    return absl::InvalidArgumentError("client_id: is required");
  }
  if (client_id.size() > kMaxClientIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("client_id: is ", client_id.size(),
                     " bytes; client ids are 1 to 64 characters"));
  }
  return absl::OkStatus();
}

absl::Status ClientNotFound(absl::string_view client_id) {
  return absl::NotFoundError(absl::StrCat(
      "client ", client_id, " has no events (stream ",
      care::ClientStreamId(client_id), " is empty); check the client_id"));
}

// A half-open range [start, end); either end may be open.
struct TimeRange {
  absl::Time start = absl::InfinitePast();
  absl::Time end = absl::InfiniteFuture();
  bool Contains(absl::Time t) const { return t >= start && t < end; }
};

absl::StatusOr<TimeRange> RangeOf(const v1::Period& period, bool given,
                                  absl::string_view field) {
  TimeRange range;
  if (!given) return range;
  if (period.has_start()) {
    ASSIGN_OR_RETURN(range.start,
                     TimeOf(period.start(), absl::StrCat(field, ".start")));
  }
  if (period.has_end()) {
    ASSIGN_OR_RETURN(range.end,
                     TimeOf(period.end(), absl::StrCat(field, ".end")));
  }
  if (range.end <= range.start) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".end: must be after ", field, ".start"));
  }
  return range;
}

absl::StatusOr<size_t> PageSizeOf(int32_t page_size) {
  if (page_size < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: ", page_size, " is negative; use 0 for the default (",
        kDefaultAuditPageSize, ") or up to ", kMaxAuditPageSize));
  }
  if (page_size == 0) return kDefaultAuditPageSize;
  return static_cast<size_t>(std::min(page_size, kMaxAuditPageSize));
}

absl::Status BadPageToken() {
  return absl::InvalidArgumentError(
      "page_token: not a token this query gave; pass the previous response's "
      "next_page_token, or none for the first page");
}

// The timeline's words (care/event_summary.h).
using care::CategoryWord;
using care::DataClassesWords;
using care::EnumWord;
using care::NameWords;

// Reads the whole stream (all pages) in version order from `from_version`;
// NOT_FOUND when the stream has no events.
absl::Status ForEachInStream(
    eventstore::EventLog& log, absl::string_view stream_id,
    uint64_t from_version,
    absl::FunctionRef<bool(const eventstore::RecordedEvent&)> fn) {
  eventstore::ReadStreamOptions read;
  read.from_version = from_version;
  read.max_count = eventstore::kMaxReadCount;
  while (true) {
    ASSIGN_OR_RETURN(eventstore::StreamPage page,
                     log.ReadStream(stream_id, read));
    for (const eventstore::RecordedEvent& event : page.events) {
      if (!fn(event)) return absl::OkStatus();
    }
    if (page.end_of_stream || page.events.empty()) return absl::OkStatus();
    read.from_version = page.next_version;
  }
}

// The client as `opened` holds it (the caller's access decision read it),
// or else as the store opens it now.
absl::StatusOr<ClientAtHead> OpenClient(ClientRecordStore& records,
                                        absl::string_view client_id,
                                        const ClientAtHead* opened) {
  if (opened != nullptr) return *opened;
  return records.Open(client_id);
}

}  // namespace

// --- On whose behalf ---------------------------------------------------------

std::string OnBehalfOf(const v1::CareEvent& event) {
  if (!event.has_consent_given() ||
      !event.consent_given().has_representative()) {
    return "";
  }
  const v1::Representative& r = event.consent_given().representative();
  return absl::StrCat(NameWords(r.name()), " (",
                      EnumWord(v1::RepresentativeAuthority_Name(r.authority()),
                               "REPRESENTATIVE_AUTHORITY_"),
                      ")");
}

// --- Timeline ----------------------------------------------------------------

// Marks `entry` when a correction up to `head` marked its event entered in
// error.
void MarkEnteredInError(const ClientSnapshot& client, uint64_t head,
                        v1::TimelineEntry* entry) {
  const auto& marked = client.record().entered_in_error;
  if (marked.empty()) return;
  auto it = marked.find(entry->event_id());
  if (it == marked.end() || it->second.position > head) return;
  v1::EnteredInErrorMark& mark = *entry->mutable_entered_in_error();
  mark.set_global_position(it->second.position);
  for (const std::shared_ptr<const StoredEvent>& stored : client.events()) {
    if (stored->recorded.global_position == it->second.position) {
      mark.set_event_id(stored->recorded.event_id.ToString());
      break;
    }
  }
  mark.set_organization_id(it->second.organization_id);
  mark.set_reason(it->second.marked.reason());
  SetTime(it->second.at, mark.mutable_occurred_at());
}

absl::StatusOr<v1::GetTimelineResponse> GetTimeline(
    ClientRecordStore& records, const v1::GetTimelineRequest& request,
    const care::EventVisibility& visible, const ClientAtHead* opened) {
  RETURN_IF_ERROR(CheckClientId(request.client_id()));
  ASSIGN_OR_RETURN(
      const TimeRange recorded,
      RangeOf(request.recorded(), request.has_recorded(), "recorded"));
  ASSIGN_OR_RETURN(
      const TimeRange occurred,
      RangeOf(request.occurred(), request.has_occurred(), "occurred"));
  ASSIGN_OR_RETURN(const size_t page_size, PageSizeOf(request.page_size()));
  // The token is the global position of the next entry to return.
  uint64_t from_position = 0;
  if (!request.page_token().empty() &&
      !absl::SimpleAtoi(request.page_token(), &from_position)) {
    return BadPageToken();
  }
  const auto& organizations = request.organization_ids();
  const auto& types = request.event_types();

  ASSIGN_OR_RETURN(const ClientAtHead at,
                   OpenClient(records, request.client_id(), opened));
  v1::GetTimelineResponse response;
  response.set_view_position(at.head);
  if (at.client->events().empty()) return ClientNotFound(request.client_id());
  // The accesses to the record (their own stream, read here), merged by
  // position with the record's events (as the store holds them, parsed).
  std::vector<eventstore::RecordedEvent> accesses;
  const absl::Status accesses_read = ForEachInStream(
      *records.log(), care::AccessStreamId(request.client_id()), 0,
      [&](const eventstore::RecordedEvent& e) {
        if (e.global_position >= from_position) accesses.push_back(e);
        return true;
      });
  if (!accesses_read.ok() && !absl::IsNotFound(accesses_read)) {
    return accesses_read;
  }
  struct Merged {
    const eventstore::RecordedEvent* event;
    const StoredEvent* stored;  // nullptr for an access record
  };
  std::vector<Merged> events;
  for (const std::shared_ptr<const StoredEvent>& stored : at.client->events()) {
    if (stored->recorded.global_position >= from_position) {
      events.push_back({&stored->recorded, stored.get()});
    }
  }
  for (const eventstore::RecordedEvent& e : accesses) {
    events.push_back({&e, nullptr});
  }
  std::sort(events.begin(), events.end(), [](const Merged& a, const Merged& b) {
    return a.event->global_position < b.event->global_position;
  });

  bool full = false;
  for (const Merged& merged : events) {
    const eventstore::RecordedEvent& e = *merged.event;
    if (!recorded.Contains(e.recorded_at) ||
        !occurred.Contains(e.occurred_at)) {
      continue;
    }
    if (!organizations.empty() &&
        std::find(organizations.begin(), organizations.end(),
                  e.actor.organization_id) == organizations.end()) {
      continue;
    }
    if (!types.empty() &&
        std::find(types.begin(), types.end(), e.event_type) == types.end()) {
      continue;
    }
    if (full) {
      // Another matching event: the next page starts with it.
      response.set_next_page_token(absl::StrCat(e.global_position));
      break;
    }
    if (visible && !visible(e)) continue;
    v1::TimelineEntry* entry = response.add_entries();
    entry->set_global_position(e.global_position);
    entry->set_stream_version(e.stream_version);
    entry->set_event_id(e.event_id.ToString());
    entry->set_event_type(e.event_type);
    SetTime(e.occurred_at, entry->mutable_occurred_at());
    SetTime(e.recorded_at, entry->mutable_recorded_at());
    entry->set_organization_id(e.actor.organization_id);
    entry->set_user_id(e.actor.user_id);
    if (merged.stored != nullptr) MarkEnteredInError(*at.client, at.head, entry);
    if (e.payload_erased) {
      // Crypto-shredded (docs/log_format.md "Erasure"): the envelope is all
      // that is left.
      entry->set_summary(absl::StrCat(
          e.event_type, ": content erased with the client's data key"));
    } else if (merged.stored != nullptr && merged.stored->care.has_value()) {
      const v1::CareEvent& care = *merged.stored->care;
      entry->set_summary(care::SummarizeCareEvent(care));
      entry->set_on_behalf_of(OnBehalfOf(care));
      *entry->mutable_event() = care;
    } else if (merged.stored != nullptr &&
               !merged.stored->parse_error.ok()) {
      return merged.stored->parse_error;
    } else if (merged.stored == nullptr && care::IsCareEvent(e)) {
      ASSIGN_OR_RETURN(v1::CareEvent care, care::ParseCareEvent(e));
      entry->set_summary(care::SummarizeCareEvent(care));
      entry->set_on_behalf_of(OnBehalfOf(care));
      *entry->mutable_event() = std::move(care);
    } else {
      entry->set_summary(absl::StrCat(e.event_type, " (", e.content_type,
                                      ", not a care event)"));
    }
    if (auto it = e.metadata.find("on_behalf_of");
        it != e.metadata.end() && entry->on_behalf_of().empty()) {
      entry->set_on_behalf_of(it->second);
    }
    full = static_cast<size_t>(response.entries_size()) >= page_size;
  }
  return response;
}

// --- Replay ------------------------------------------------------------------

absl::StatusOr<v1::ReplayClientResponse> ReplayClient(
    ClientRecordStore& records, const v1::ReplayClientRequest& request,
    const care::EventVisibility& visible, const ClientAtHead* opened) {
  RETURN_IF_ERROR(CheckClientId(request.client_id()));
  std::optional<absl::Time> as_of_time;
  switch (request.as_of_case()) {
    case v1::ReplayClientRequest::kPosition:
      break;
    case v1::ReplayClientRequest::kRecordedAt: {
      ASSIGN_OR_RETURN(as_of_time,
                       TimeOf(request.recorded_at(), "recorded_at"));
      break;
    }
    case v1::ReplayClientRequest::kOccurredAt: {
      ASSIGN_OR_RETURN(as_of_time,
                       TimeOf(request.occurred_at(), "occurred_at"));
      break;
    }
    case v1::ReplayClientRequest::AS_OF_NOT_SET:
      return absl::InvalidArgumentError(
          "as_of: set one of position (a global position), recorded_at (what "
          "the record said then) or occurred_at (business time)");
  }

  ASSIGN_OR_RETURN(const ClientAtHead at,
                   OpenClient(records, request.client_id(), opened));
  v1::ReplayClientResponse response;
  response.set_view_position(at.head);
  if (at.client->events().empty()) return ClientNotFound(request.client_id());
  care::ClientRecord record(request.client_id());
  uint64_t applied = 0;
  // The last event folded.
  std::optional<care::CareEventContext> last;
  // What the record said then: only the events, and the corrections, known
  // as of the request's moment.
  auto in_view = [&](const eventstore::RecordedEvent& e) {
    switch (request.as_of_case()) {
      case v1::ReplayClientRequest::kPosition:
        return e.global_position <= request.position();
      case v1::ReplayClientRequest::kRecordedAt:
        return e.recorded_at <= *as_of_time;
      default:
        return e.occurred_at <= *as_of_time;
    }
  };
  const EnteredInErrorIds marked = EnteredInErrorIds::Of(
      at.client->events(),
      [&](const StoredEvent& stored) { return in_view(stored.recorded); });
  for (const std::shared_ptr<const StoredEvent>& stored : at.client->events()) {
    const eventstore::RecordedEvent& e = stored->recorded;
    if (request.as_of_case() == v1::ReplayClientRequest::kPosition &&
        !in_view(e)) {
      break;  // stream order is position order: nothing later qualifies
    }
    if (!in_view(e)) continue;
    if (visible && !visible(e)) continue;
    RETURN_IF_ERROR(stored->parse_error);
    if (marked.Contains(e)) continue;
    if (stored->care.has_value()) record.Apply(*stored->care, care::ContextOf(e));
    ++applied;
    last = care::ContextOf(e);
  }
  if (request.as_of_case() == v1::ReplayClientRequest::kPosition &&
      last.has_value()) {
    as_of_time = last->recorded_at;
  }
  *response.mutable_state() =
      care::ClientStateOf(record, as_of_time.value_or(absl::InfinitePast()));
  v1::ClientState& state = *response.mutable_state();
  state.set_events_applied(applied);
  state.set_last_position(last.has_value() ? last->global_position : 0);
  state.set_last_stream_version(last.has_value() ? last->stream_version : 0);
  if (as_of_time.has_value()) {
    SetTime(*as_of_time, response.mutable_as_of_time());
  }
  return response;
}

// --- Accounting of disclosures
// ------------------------------------------------

namespace {

// The consent(s) the referral relied on: one consent covering every shared
// class if there is one (first in id order), otherwise, per class, the first
// covering consent, joined by ","; empty when a class was not covered.
std::string ConsentReliedOn(const care::ClientRecord& record,
                            const v1::ReferralSent& referral,
                            v1::PurposeOfUse purpose, v1::OrganizationType type,
                            absl::Time at) {
  const std::string& to = referral.to_organization_id();
  auto covers = [&](const care::ConsentState& consent, int c) {
    return consent.Covers(to, type, static_cast<v1::DataClass>(c), purpose, at);
  };
  for (const auto& [id, consent] : record.consents) {
    bool all = true;
    for (int c : referral.shared_data_classes())
      all = all && covers(consent, c);
    if (all) return id;
  }
  std::vector<std::string> ids;
  for (int c : referral.shared_data_classes()) {
    std::string found;
    for (const auto& [id, consent] : record.consents) {
      if (covers(consent, c)) {
        found = id;
        break;
      }
    }
    if (found.empty()) return "";
    if (std::find(ids.begin(), ids.end(), found) == ids.end()) {
      ids.push_back(found);
    }
  }
  return absl::StrJoin(ids, ",");
}

// Page tokens: "<disclosed_at unix nanos>/<global position>" of the last
// disclosure returned.
std::string DisclosureToken(const v1::Disclosure& d) {
  return absl::StrCat(
      absl::ToUnixNanos(absl::FromUnixSeconds(d.disclosed_at().seconds()) +
                        absl::Nanoseconds(d.disclosed_at().nanos())),
      "/", d.global_position());
}

}  // namespace

absl::StatusOr<v1::ListDisclosuresResponse> ListDisclosures(
    ClientRecordStore& records, const v1::ListDisclosuresRequest& request,
    int lookback_years, absl::Time now, const care::EventVisibility& visible,
    const ClientAtHead* opened) {
  RETURN_IF_ERROR(CheckClientId(request.client_id()));
  TimeRange period;
  {
    const absl::CivilSecond today =
        absl::ToCivilSecond(now, absl::UTCTimeZone());
    period.start = absl::FromCivil(
        absl::CivilSecond(today.year() - lookback_years, today.month(),
                          today.day(), today.hour(), today.minute(),
                          today.second()),
        absl::UTCTimeZone());
    period.end = now;
  }
  if (request.has_period()) {
    if (request.period().has_start()) {
      ASSIGN_OR_RETURN(period.start,
                       TimeOf(request.period().start(), "period.start"));
    }
    if (request.period().has_end()) {
      ASSIGN_OR_RETURN(period.end,
                       TimeOf(request.period().end(), "period.end"));
    }
    if (period.end <= period.start) {
      return absl::InvalidArgumentError(
          "period.end: must be after period.start");
    }
  }
  ASSIGN_OR_RETURN(const size_t page_size, PageSizeOf(request.page_size()));
  std::optional<std::pair<int64_t, uint64_t>> after;
  if (!request.page_token().empty()) {
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(request.page_token(), absl::MaxSplits('/', 1));
    int64_t nanos = 0;
    uint64_t position = 0;
    if (!absl::SimpleAtoi(parts.first, &nanos) ||
        !absl::SimpleAtoi(parts.second, &position)) {
      return BadPageToken();
    }
    after = std::make_pair(nanos, position);
  }

  ASSIGN_OR_RETURN(const ClientAtHead at,
                   OpenClient(records, request.client_id(), opened));
  v1::ListDisclosuresResponse response;
  response.set_view_position(at.head);
  const care::OrganizationDirectory& directory = *at.directory;
  auto type_of = [&directory](const std::string& organization_id) {
    const v1::OrganizationRegistered* o = directory.Find(organization_id);
    return o == nullptr ? v1::ORGANIZATION_TYPE_UNSPECIFIED : o->type();
  };

  std::vector<v1::Disclosure> found;
  care::ClientRecord record(request.client_id());
  // Every event is folded (the consent relied on depends on the whole
  // record); only the entries of visible events are listed.
  const eventstore::RecordedEvent* current = nullptr;
  auto shown = [&]() { return !visible || visible(*current); };
  // A referral or disclosure marked entered in error was not one.
  const EnteredInErrorIds marked = EnteredInErrorIds::Of(
      at.client->events(), [](const StoredEvent&) { return true; });
  for (const std::shared_ptr<const StoredEvent>& stored : at.client->events()) {
    current = &stored->recorded;
    RETURN_IF_ERROR(stored->parse_error);
    if (!stored->care.has_value() || marked.Contains(*current)) continue;
    const v1::CareEvent& event = *stored->care;
    const care::CareEventContext context = care::ContextOf(stored->recorded);
    // Judged against the record as it stood before this event.
    if (event.has_referral_sent() &&
        !event.referral_sent().shared_data_classes().empty() &&
        period.Contains(context.occurred_at) && shown()) {
      const v1::ReferralSent& sent = event.referral_sent();
      const v1::PurposeOfUse purpose =
          sent.purpose() == v1::PURPOSE_OF_USE_UNSPECIFIED
              ? v1::PURPOSE_OF_USE_CARE_COORDINATION
              : sent.purpose();
      v1::Disclosure& d = found.emplace_back();
      SetTime(context.occurred_at, d.mutable_disclosed_at());
      d.set_recipient_organization_id(sent.to_organization_id());
      *d.mutable_data_classes() = sent.shared_data_classes();
      d.set_description(
          absl::StrCat(DataClassesWords(sent.shared_data_classes()),
                       " shared with referral ", sent.referral_id(), " (",
                       CategoryWord(sent.service_category()), ")"));
      d.set_purpose(purpose);
      d.set_consent_id(ConsentReliedOn(record, sent, purpose,
                                       type_of(sent.to_organization_id()),
                                       context.occurred_at));
      d.set_source("referral");
      d.set_subject_id(sent.referral_id());
      d.set_disclosed_by_organization_id(sent.from_organization_id().empty()
                                             ? context.organization_id
                                             : sent.from_organization_id());
      d.set_global_position(context.global_position);
    } else if (event.has_information_disclosed() &&
               period.Contains(context.occurred_at) && shown()) {
      const v1::InformationDisclosed& e = event.information_disclosed();
      v1::Disclosure& d = found.emplace_back();
      SetTime(context.occurred_at, d.mutable_disclosed_at());
      d.set_recipient_organization_id(e.recipient_organization_id());
      *d.mutable_data_classes() = e.data_classes();
      d.set_description(e.description().empty()
                            ? DataClassesWords(e.data_classes())
                            : absl::StrCat(e.description(), " (",
                                           DataClassesWords(e.data_classes()),
                                           ")"));
      d.set_purpose(e.purpose());
      d.set_consent_id(e.consent_id());
      d.set_legal_basis(e.legal_basis());
      d.set_source("information-disclosed");
      d.set_subject_id(e.disclosure_id());
      d.set_disclosed_by_organization_id(context.organization_id);
      d.set_global_position(context.global_position);
    } else if (event.has_client_erased() && shown()) {
      // The client was erased: its disclosing events read as
      // payload_erased, and the erasure kept what they disclosed.
      for (const v1::ErasedDisclosure& kept :
           event.client_erased().disclosures()) {
        const absl::Time disclosed_at =
            absl::FromUnixSeconds(kept.occurred_at().seconds()) +
            absl::Nanoseconds(kept.occurred_at().nanos());
        if (!period.Contains(disclosed_at)) continue;
        v1::Disclosure& d = found.emplace_back();
        *d.mutable_disclosed_at() = kept.occurred_at();
        d.set_recipient_organization_id(kept.recipient_organization_id());
        *d.mutable_data_classes() = kept.data_classes();
        d.set_description(absl::StrCat(DataClassesWords(kept.data_classes()),
                                       " (the record was erased)"));
        d.set_purpose(kept.purpose());
        d.set_consent_id(kept.consent_id());
        d.set_legal_basis(kept.legal_basis());
        d.set_source(kept.source());
        d.set_subject_id(kept.disclosure_id());
        d.set_disclosed_by_organization_id(
            kept.disclosed_by_organization_id());
        d.set_global_position(kept.global_position());
      }
    }
    record.Apply(event, context);
  }
  if (at.client->events().empty()) return ClientNotFound(request.client_id());
  // Reads of the record by other organisations (docs/access.md).
  const absl::Status accesses = FoldCareStream(
      *records.log(), care::AccessStreamId(request.client_id()), 0,
      [&current](const eventstore::RecordedEvent& e) {
        current = &e;
        return true;
      },
      [&](const v1::CareEvent& event, const care::CareEventContext& context) {
        // A refused read disclosed nothing.
        if (!event.has_record_accessed() ||
            event.record_accessed().outcome() == v1::ACCESS_OUTCOME_DENIED ||
            !period.Contains(context.recorded_at) || !shown()) {
          return;
        }
        const v1::RecordAccessed& e = event.record_accessed();
        v1::Disclosure& d = found.emplace_back();
        SetTime(context.recorded_at, d.mutable_disclosed_at());
        d.set_recipient_organization_id(context.organization_id);
        *d.mutable_data_classes() = e.data_classes_shown();
        d.set_description(absl::StrCat(
            "read through ", e.operation(), ": ",
            e.positions_shown_size() + e.subject_ids_shown_size(),
            " shown (", DataClassesWords(e.data_classes_shown()), ")",
            context.user_id.empty() ? ""
                                    : absl::StrCat(", by ", context.user_id)));
        d.set_purpose(e.purpose());
        d.set_consent_id(absl::StrJoin(e.consent_ids(), ","));
        switch (e.basis()) {
          case v1::ACCESS_BASIS_BREAK_GLASS:
            d.set_legal_basis(absl::StrCat("break-the-glass emergency: ",
                                           e.break_glass_reason()));
            break;
          case v1::ACCESS_BASIS_AUDITOR:
            d.set_legal_basis("auditor (health oversight)");
            break;
          case v1::ACCESS_BASIS_ADMIN:
            d.set_legal_basis("administrator");
            break;
          default:
            break;
        }
        d.set_source("access");
        d.set_subject_id(current->event_id.ToString());
        d.set_disclosed_by_organization_id("");
        d.set_global_position(context.global_position);
      });
  if (!accesses.ok() && !absl::IsNotFound(accesses)) return accesses;

  auto key = [](const v1::Disclosure& d) {
    return std::make_pair(
        absl::ToUnixNanos(absl::FromUnixSeconds(d.disclosed_at().seconds()) +
                          absl::Nanoseconds(d.disclosed_at().nanos())),
        d.global_position());
  };
  std::sort(found.begin(), found.end(),
            [&key](const v1::Disclosure& a, const v1::Disclosure& b) {
              return key(a) < key(b);
            });
  for (v1::Disclosure& d : found) {
    if (after.has_value() && !(key(d) > *after)) continue;
    if (static_cast<size_t>(response.disclosures_size()) == page_size) {
      response.set_next_page_token(DisclosureToken(
          response.disclosures(response.disclosures_size() - 1)));
      break;
    }
    if (const v1::OrganizationRegistered* o =
            directory.Find(d.recipient_organization_id())) {
      d.set_recipient_organization_name(o->name());
    }
    *response.add_disclosures() = std::move(d);
  }
  return response;
}

// --- Chain verification ------------------------------------------------------

std::string CheckChainLink(const eventstore::RecordedEvent& event,
                           const eventstore::Hash& previous_hash) {
  if (event.prev_hash != previous_hash) {
    return absl::StrCat("prev_hash ", eventstore::HashToHex(event.prev_hash),
                        " does not match the hash of the event at position ",
                        event.global_position - 1, " (",
                        eventstore::HashToHex(previous_hash), ")");
  }
  eventstore::RecordedEvent resealed = event;
  eventstore::SealEnvelope(&resealed);
  if (resealed.hash != event.hash) {
    return absl::StrCat("stored hash ", eventstore::HashToHex(event.hash),
                        " but the content hashes to ",
                        eventstore::HashToHex(resealed.hash));
  }
  return "";
}

absl::StatusOr<v1::VerifyClientChainResponse> VerifyClientChain(
    eventstore::EventLog& log, const v1::VerifyClientChainRequest& request) {
  RETURN_IF_ERROR(CheckClientId(request.client_id()));
  v1::VerifyClientChainResponse response;
  const uint64_t head = log.HeadPosition();
  response.set_view_position(head);
  response.set_ok(true);

  // The hash of the event at `position` (all zeros before position 1).
  auto hash_at = [&log](uint64_t position) -> absl::StatusOr<eventstore::Hash> {
    if (position == 0) return eventstore::Hash{};
    eventstore::ReadAllOptions read;
    read.from_position = position;
    read.max_count = 1;
    ASSIGN_OR_RETURN(eventstore::LogPage page, log.ReadAll(read));
    if (page.events.empty() || page.events[0].global_position != position) {
      return absl::DataLossError(
          absl::StrCat("no event stored at position ", position));
    }
    return page.events[0].hash;
  };

  // Each event is checked as stored, by the log: the events it hands out
  // carry decrypted payloads (docs/log_format.md "Encrypted payloads"), whose
  // re-encoding is not what the chain covers.
  absl::Status status = absl::OkStatus();
  const absl::Status read = ForEachInStream(
      log, care::ClientStreamId(request.client_id()), 0,
      [&](const eventstore::RecordedEvent& e) {
        absl::StatusOr<eventstore::ChainVerification> link =
            log.VerifyChain(e.global_position, e.global_position);
        if (!link.ok()) {
          status = link.status();
          return false;
        }
        if (!link->ok) {
          response.set_ok(false);
          response.set_first_bad_position(link->first_bad_position);
          response.set_problem(link->problem);
          return false;
        }
        response.set_events_checked(response.events_checked() + 1);
        return true;
      });
  if (absl::IsNotFound(read)) return ClientNotFound(request.client_id());
  if (absl::IsDataLoss(read)) {
    // A stored event that no longer decodes: damage the log check locates.
    response.set_ok(false);
    ASSIGN_OR_RETURN(const eventstore::ChainVerification whole,
                     log.VerifyChain(0, head));
    response.set_first_bad_position(whole.first_bad_position);
    response.set_problem(
        absl::StrCat("the client's stream does not read back (", read.message(),
                     ")", whole.ok ? "" : absl::StrCat("; ", whole.problem)));
  } else {
    RETURN_IF_ERROR(read);
  }
  RETURN_IF_ERROR(status);

  response.set_head_position(head);
  if (head > 0) {
    absl::StatusOr<eventstore::Hash> h = hash_at(head);
    if (h.ok()) {
      response.set_head_hash(eventstore::HashToHex(*h));
    } else if (!absl::IsDataLoss(h.status())) {
      return h.status();
    }
  }
  return response;
}

}  // namespace caseline::projections
