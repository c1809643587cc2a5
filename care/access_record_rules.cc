// Access records (stream access-<client_id>): each read of a client's record
// (RecordAccessed) and the review of a break-the-glass read
// (BreakGlassReviewed); and the record of a client's erasure (ClientErased,
// the last event of client-<client_id>, written by Admin.EraseClient). The
// server writes them itself; no command carries them, so they have only a
// summary.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "care/event_rules.h"
#include "care/event_summary.h"

namespace caseline::care::rules {
namespace {

std::string SummarizeAccessed(const v1::CareEvent& event) {
  const auto& e = event.record_accessed();
  if (e.outcome() == v1::ACCESS_OUTCOME_DENIED) {
    return absl::StrCat("read REFUSED (", e.operation(),
                        "): not involved in the client's care; nothing "
                        "shown");
  }
  std::string basis;
  switch (e.basis()) {
    case v1::ACCESS_BASIS_CONSENT:
      basis = absl::StrCat("consent ", absl::StrJoin(e.consent_ids(), ","));
      break;
    case v1::ACCESS_BASIS_BREAK_GLASS:
      basis = absl::StrCat("BREAK-THE-GLASS: ", e.break_glass_reason());
      break;
    case v1::ACCESS_BASIS_AUDITOR:
      basis = "auditor";
      break;
    case v1::ACCESS_BASIS_ADMIN:
      basis = "admin";
      break;
    case v1::ACCESS_BASIS_REFERRAL_SENDER:
      basis = "its own referral's status";
      break;
    default:
      basis = "unspecified";
      break;
  }
  return absl::StrCat(
      "record read (", e.operation(), ", ", basis,
      "): ", e.positions_shown_size() + e.subject_ids_shown_size(), " shown",
      e.data_classes_shown().empty()
          ? ""
          : absl::StrCat(" (", DataClassesWords(e.data_classes_shown()), ")"),
      e.events_withheld() > 0
          ? absl::StrCat(", ", e.events_withheld(), " withheld")
          : "");
}

std::string SummarizeReviewed(const v1::CareEvent& event) {
  return absl::StrCat("break-the-glass access ",
                      event.break_glass_reviewed().access_event_id(),
                      " reviewed: ", event.break_glass_reviewed().note());
}

std::string SummarizeErased(const v1::CareEvent& event) {
  const auto& e = event.client_erased();
  return absl::StrCat("record ERASED (", e.legal_basis(), ")",
                      e.reason().empty() ? "" : ": ", e.reason(),
                      "; earlier events are unreadable");
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kRecordAccessed,
     .writer = Writer::kServer,
     .summarize = SummarizeAccessed},
    {.event = v1::CareEvent::kBreakGlassReviewed,
     .writer = Writer::kServer,
     .summarize = SummarizeReviewed},
    {.event = v1::CareEvent::kClientErased,
     .writer = Writer::kServer,
     .summarize = SummarizeErased},
};

}  // namespace

absl::Span<const EventRules> AccessRecordRules() { return kRules; }

}  // namespace caseline::care::rules
