// Worklists: a person of an organisation claims an item of its worklist
// (care/worklist.h) and releases it; colleagues see who holds what. The item
// is named by its key (kind, subject, organisation) and must be on that
// organisation's worklist for the client when the command is decided.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "care/rule_checks.h"
#include "care/worklist.h"

namespace caseline::care::rules {
namespace {

// WorklistItemClaimed and WorklistItemReleased name their item alike.
template <typename ClaimEvent>
WorklistItemKey KeyNamedBy(const ClaimEvent& e, const CareCommand& command) {
  return WorklistItemKey{e.kind(), e.subject_id(),
                         e.organization_id().empty() ? command.organization_id
                                                     : e.organization_id()};
}

// "item WORKLIST_ITEM_KIND_TRANSITION_DUE tr-1 on the worklist of org-a".
std::string ItemWords(const WorklistItemKey& key) {
  return absl::StrCat("item ", v1::WorklistItemKind_Name(key.kind), " ",
                      key.subject_id, " on the worklist of ",
                      key.organization_id);
}

template <typename ClaimEvent>
absl::Status CheckItem(const ClaimEvent& e, absl::string_view event) {
  RETURN_IF_ERROR(CheckEnum(e.kind(), v1::WorklistItemKind_IsValid,
                            absl::StrCat(event, ".kind"), true));
  RETURN_IF_ERROR(CheckId(e.subject_id(), absl::StrCat(event, ".subject_id")));
  return CheckOptionalId(e.organization_id(),
                         absl::StrCat(event, ".organization_id"));
}

// Only the organisation whose worklist holds the item claims or releases it.
template <typename ClaimEvent>
absl::Status AuthorizeItem(const ClaimEvent& e, const RuleInput& input,
                           absl::string_view field) {
  const std::string& org = input.command.organization_id;
  if (e.organization_id().empty() || e.organization_id() == org) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "worklist claims: ", field, " names ", e.organization_id(),
      "; only a person of the organisation whose worklist holds an item "
      "claims or releases it, and ",
      org, " acts on its own worklist only (leave ", field,
      " empty or name ", org, ")"));
}

// NOT_FOUND unless the item is on the worklist now.
absl::Status RequireOnWorklist(const ClientRecord& record,
                               const WorklistItemKey& key) {
  if (OnWorklist(record, key)) return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat(
      "client ", record.client_id, " has no ", ItemWords(key),
      " now (it never was, or the work it asked for is done); list the "
      "worklist (ContinuityViews.GetWorklist) for the items it holds"));
}

std::string Since(const WorklistClaim& claim) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", claim.claimed_at,
                          absl::UTCTimeZone());
}

// --- WorklistItemClaimed -----------------------------------------------------

absl::Status CheckClaimed(const v1::CareEvent& event) {
  const auto& e = event.worklist_item_claimed();
  RETURN_IF_ERROR(CheckItem(e, "worklist_item_claimed"));
  return CheckText(e.note(), "worklist_item_claimed.note", false);
}

absl::Status AuthorizeClaimed(const RuleInput& input) {
  return AuthorizeItem(input.command.event.worklist_item_claimed(), input,
                       "worklist_item_claimed.organization_id");
}

// The item is on the worklist and nobody else holds it; a second claim by
// its holder is ALREADY_EXISTS (a retry of the same command_id answers
// already_applied before any rule runs).
absl::Status DecideClaimed(const RuleInput& input, v1::CareEvent* event) {
  const WorklistItemKey key =
      KeyNamedBy(event->worklist_item_claimed(), input.command);
  event->mutable_worklist_item_claimed()->set_organization_id(
      key.organization_id);
  RETURN_IF_ERROR(RequireOnWorklist(input.record, key));
  auto held = input.record.worklist_claims.find(key);
  if (held == input.record.worklist_claims.end()) return absl::OkStatus();
  const WorklistClaim& claim = held->second;
  if (claim.user_id == input.command.user_id) {
    return absl::AlreadyExistsError(
        absl::StrCat(ItemWords(key), " of client ", input.record.client_id,
                     " is already claimed by ", claim.user_id, " (since ",
                     Since(claim), ")"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      ItemWords(key), " of client ", input.record.client_id,
      " is claimed by ", claim.user_id, " (since ", Since(claim),
      "); one person holds an item at a time: ", claim.user_id,
      ", or a colleague at a hand-over, releases it (ReleaseWorklistItem) "
      "before another person claims it"));
}

std::string SummarizeClaimed(const v1::CareEvent& event) {
  const auto& e = event.worklist_item_claimed();
  return WithReason(
      absl::StrCat(
          "worklist item ",
          EnumWord(v1::WorklistItemKind_Name(e.kind()), "WORKLIST_ITEM_KIND_"),
          " about ", e.subject_id(), " claimed",
          e.organization_id().empty()
              ? std::string()
              : absl::StrCat(" for ", e.organization_id())),
      e.note());
}

// --- WorklistItemReleased ----------------------------------------------------

absl::Status CheckReleased(const v1::CareEvent& event) {
  const auto& e = event.worklist_item_released();
  RETURN_IF_ERROR(CheckItem(e, "worklist_item_released"));
  return CheckText(e.reason(), "worklist_item_released.reason", false);
}

absl::Status AuthorizeReleased(const RuleInput& input) {
  return AuthorizeItem(input.command.event.worklist_item_released(), input,
                       "worklist_item_released.organization_id");
}

// The item is on the worklist and somebody holds it: its holder or, at a
// shift hand-over, any other person of the organisation releases it.
absl::Status DecideReleased(const RuleInput& input, v1::CareEvent* event) {
  const WorklistItemKey key =
      KeyNamedBy(event->worklist_item_released(), input.command);
  event->mutable_worklist_item_released()->set_organization_id(
      key.organization_id);
  RETURN_IF_ERROR(RequireOnWorklist(input.record, key));
  if (input.record.worklist_claims.count(key) > 0) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(ItemWords(key), " of client ", input.record.client_id,
                   " is not claimed; there is no claim to release"));
}

std::string SummarizeReleased(const v1::CareEvent& event) {
  const auto& e = event.worklist_item_released();
  return WithReason(
      absl::StrCat(
          "worklist item ",
          EnumWord(v1::WorklistItemKind_Name(e.kind()), "WORKLIST_ITEM_KIND_"),
          " about ", e.subject_id(), " released",
          e.organization_id().empty()
              ? std::string()
              : absl::StrCat(" for ", e.organization_id())),
      e.reason());
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kWorklistItemClaimed,
     .check_fields = CheckClaimed,
     .write_rule = AuthorizeClaimed,
     .decide = DecideClaimed,
     .summarize = SummarizeClaimed,
     .needs_person = true},
    {.event = v1::CareEvent::kWorklistItemReleased,
     .check_fields = CheckReleased,
     .write_rule = AuthorizeReleased,
     .decide = DecideReleased,
     .summarize = SummarizeReleased,
     .needs_person = true},
};

}  // namespace

absl::Span<const EventRules> WorklistRules() { return kRules; }

}  // namespace caseline::care::rules
