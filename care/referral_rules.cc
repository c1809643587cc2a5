// Referrals and their lifecycle (FHIR Task, Gravity SDOH): sending a
// referral, with the consent its shared data needs, and each later step —
// who may take it and from which states.
//
// A new lifecycle step is one ReferralStep constant, one summary and one
// entry in kRules below (its fold goes to care/client_record.cc, with
// ReferralIdOf).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "base/status_macros.h"
#include "care/calendar.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "care/rule_checks.h"
#include "google/protobuf/descriptor.h"

namespace caseline::care::rules {
namespace {

// --- ReferralSent ------------------------------------------------------------

absl::Status CheckSent(const v1::CareEvent& event) {
  const auto& e = event.referral_sent();
  RETURN_IF_ERROR(CheckId(e.referral_id(), "referral_sent.referral_id"));
  RETURN_IF_ERROR(CheckOptionalId(e.from_organization_id(),
                                  "referral_sent.from_organization_id"));
  RETURN_IF_ERROR(
      CheckId(e.to_organization_id(), "referral_sent.to_organization_id"));
  RETURN_IF_ERROR(CheckEnum(e.service_category(), v1::ServiceCategory_IsValid,
                            "referral_sent.service_category", true));
  RETURN_IF_ERROR(CheckEnum(e.kind(), v1::ReferralKind_IsValid,
                            "referral_sent.kind", true));
  RETURN_IF_ERROR(CheckEnum(e.urgency(), v1::Urgency_IsValid,
                            "referral_sent.urgency", false));
  RETURN_IF_ERROR(CheckEnum(e.purpose(), v1::PurposeOfUse_IsValid,
                            "referral_sent.purpose", false));
  RETURN_IF_ERROR(CheckText(e.reason(), "referral_sent.reason", false));
  if (e.has_start_by()) {
    RETURN_IF_ERROR(CheckDate(e.start_by(), "referral_sent.start_by"));
  }
  return CheckDataClasses(e.shared_data_classes(),
                          "referral_sent.shared_data_classes");
}

// An organisation sends referrals only in its own name.
absl::Status AuthorizeSent(const RuleInput& input) {
  const std::string& from =
      input.command.event.referral_sent().from_organization_id();
  const std::string& org = input.command.organization_id;
  if (from.empty() || from == org) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("referral_sent.from_organization_id is ", from,
                   " but the acting organisation is ", org,
                   "; an organisation sends referrals only in its own name"));
}

// A referral that shares data needs, at occurred_at, a consent covering the
// receiving organisation for every shared class (Part 2: naming it).
//
// The refusal is FAILED_PRECONDITION, not the PERMISSION_DENIED that
// ../shared/STYLE.md suggests for "no consent": on the write side a missing
// consent is a state of the client's record that a GiveConsent command
// repairs (the gRPC status guide's "fix the state, then retry"), while
// PERMISSION_DENIED is kept for who the caller is and what its standing
// allows (docs/access.md, "Who may write what").
absl::Status CheckConsentForSharing(const ClientRecord& record,
                                    const OrganizationDirectory& directory,
                                    const v1::ReferralSent& referral,
                                    absl::Time at) {
  const v1::OrganizationRegistered* receiver =
      directory.Find(referral.to_organization_id());
  const v1::OrganizationType type = receiver != nullptr
                                        ? receiver->type()
                                        : v1::ORGANIZATION_TYPE_UNSPECIFIED;
  for (int data_class : referral.shared_data_classes()) {
    const auto dc = static_cast<v1::DataClass>(data_class);
    bool covered = false;
    for (const auto& [id, consent] : record.consents) {
      if (consent.Covers(referral.to_organization_id(), type, dc,
                         referral.purpose(), at)) {
        covered = true;
        break;
      }
    }
    if (!covered) {
      const bool part2 = dc == v1::DATA_CLASS_SUBSTANCE_USE_PART2;
      return absl::FailedPreconditionError(absl::StrCat(
          "consent required: no consent of client ", record.client_id,
          " in force at ", absl::FormatTime(at), " covers sharing ",
          v1::DataClass_Name(dc), " with ", referral.to_organization_id(),
          " for ", v1::PurposeOfUse_Name(referral.purpose()),
          "; record ConsentGiven ",
          part2 ? "naming that organisation (42 CFR Part 2 requires the "
                  "recipient by name)"
                : "for that organisation (or its type)",
          " and that data class (and purpose, if it lists purposes) first, or "
          "share fewer "
          "data classes"));
    }
  }
  return absl::OkStatus();
}

// A new referral id and a registered receiver other than the sender; the
// sender defaults to the acting organisation, the urgency to routine and the
// purpose to care coordination.
absl::Status DecideSent(const RuleInput& input, v1::CareEvent* event) {
  v1::ReferralSent* sent = event->mutable_referral_sent();
  RETURN_IF_ERROR(RequireNew(input.record.referrals, sent->referral_id(),
                             "referral", input.record.client_id));
  if (sent->from_organization_id().empty()) {
    sent->set_from_organization_id(input.command.organization_id);
  }
  RETURN_IF_ERROR(RequireOrganization(input.directory,
                                      sent->to_organization_id(),
                                      "referral_sent.to_organization_id"));
  if (sent->to_organization_id() == sent->from_organization_id()) {
    return Invalid("referral_sent.to_organization_id",
                   "is the sending organisation itself");
  }
  if (sent->urgency() == v1::URGENCY_UNSPECIFIED)
    sent->set_urgency(v1::URGENCY_ROUTINE);
  // A start date the day before the sent date (UTC) is allowed: the sender's
  // own date may lag UTC's.
  if (sent->has_start_by()) {
    const absl::CivilDay sent_day =
        absl::ToCivilDay(input.command.occurred_at, absl::UTCTimeZone());
    if (CivilDayOf(sent->start_by()) < sent_day - 1) {
      return Invalid("referral_sent.start_by",
                     absl::StrCat("is before the referral was sent (",
                                  Calendar::FormatDay(sent_day),
                                  " UTC); give a date on or after it"));
    }
    sent->set_target_source(v1::REFERRAL_TARGET_SOURCE_REQUESTED);
  } else {
    sent->set_target_source(v1::REFERRAL_TARGET_SOURCE_NONE_REQUESTED);
  }
  // A referral is care coordination unless it says otherwise.
  if (sent->purpose() == v1::PURPOSE_OF_USE_UNSPECIFIED) {
    sent->set_purpose(v1::PURPOSE_OF_USE_CARE_COORDINATION);
  }
  return CheckConsentForSharing(input.record, input.directory, *sent,
                                input.command.occurred_at);
}

std::string SummarizeSent(const v1::CareEvent& event) {
  const auto& e = event.referral_sent();
  std::string text = absl::StrCat(
      "referral ", e.referral_id(), " sent to ", e.to_organization_id(), " (",
      CategoryWord(e.service_category()), ", ",
      EnumWord(v1::ReferralKind_Name(e.kind()), "REFERRAL_KIND_"), ")");
  if (!e.shared_data_classes().empty()) {
    absl::StrAppend(&text, " sharing ",
                    DataClassesWords(e.shared_data_classes()));
  }
  return text;
}

// --- The lifecycle steps after sending ---------------------------------------

// Which side of a referral may take a step.
enum class Side { kReceiver, kEither };

// A step: who may take it, and from which states.
struct ReferralStep {
  const char* verb;
  Side side;
  absl::Span<const ReferralStatus> from;
  // On hold counts as a state to step from only if the referral was accepted
  // before it was put on hold.
  bool from_on_hold_needs_acceptance;
};

using RS = ReferralStatus;
constexpr RS kAcknowledgeFrom[] = {RS::kRequested};
constexpr RS kAcceptFrom[] = {RS::kRequested, RS::kReceived, RS::kOnHold};
constexpr RS kDeclineFrom[] = {RS::kRequested, RS::kReceived};
constexpr RS kHoldFrom[] = {RS::kRequested, RS::kReceived, RS::kAccepted,
                            RS::kInProgress};
constexpr RS kStartFrom[] = {RS::kAccepted, RS::kOnHold};
constexpr RS kCompleteFrom[] = {RS::kAccepted, RS::kInProgress};
constexpr RS kFailFrom[] = {RS::kAccepted, RS::kInProgress, RS::kOnHold};
constexpr RS kCancelFrom[] = {RS::kRequested, RS::kReceived, RS::kAccepted,
                              RS::kOnHold, RS::kInProgress};

constexpr ReferralStep kAcknowledge{"acknowledge", Side::kReceiver,
                                    kAcknowledgeFrom, false};
constexpr ReferralStep kAccept{"accept", Side::kReceiver, kAcceptFrom, false};
constexpr ReferralStep kDecline{"decline", Side::kReceiver, kDeclineFrom,
                                false};
constexpr ReferralStep kHold{"put on hold", Side::kReceiver, kHoldFrom, false};
constexpr ReferralStep kStart{"start", Side::kReceiver, kStartFrom, true};
constexpr ReferralStep kComplete{"complete", Side::kReceiver, kCompleteFrom,
                                 false};
constexpr ReferralStep kFail{"fail", Side::kReceiver, kFailFrom, true};
constexpr ReferralStep kCancel{"cancel", Side::kEither, kCancelFrom, false};

// The step's referral_id, named "<event field>.referral_id".
absl::Status CheckStepFields(const v1::CareEvent& event) {
  const google::protobuf::FieldDescriptor* field =
      v1::CareEvent::descriptor()->FindFieldByNumber(event.event_case());
  return CheckId(*ReferralIdOf(event),
                 absl::StrCat(field->name(), ".referral_id"));
}

// Which side of the referral may take the step. An unknown referral passes:
// the state rule answers NOT_FOUND.
template <const ReferralStep& kStep>
absl::Status AuthorizeStep(const RuleInput& input) {
  const std::string& id = *ReferralIdOf(input.command.event);
  auto it = input.record.referrals.find(id);
  if (it == input.record.referrals.end()) return absl::OkStatus();
  const std::string& to = it->second.sent.to_organization_id();
  const std::string& from = it->second.sent_by_organization_id;
  const std::string& acting = input.command.organization_id;
  if (kStep.side == Side::kReceiver && acting != to) {
    return absl::PermissionDeniedError(
        absl::StrCat("only the receiving organisation (", to, ") may ",
                     kStep.verb, " referral ", id, "; ", acting, " is not it"));
  }
  if (kStep.side == Side::kEither && acting != to && acting != from) {
    return absl::PermissionDeniedError(
        absl::StrCat("only the sending (", from, ") or receiving (", to,
                     ") organisation may ", kStep.verb, " referral ", id));
  }
  return absl::OkStatus();
}

// From which states the step may be taken.
template <const ReferralStep& kStep>
absl::Status DecideStep(const RuleInput& input, v1::CareEvent* event) {
  const std::string& id = *ReferralIdOf(*event);
  ASSIGN_OR_RETURN(const ReferralState* referral,
                   RequireKnown(input.record.referrals, id, "referral",
                                input.record.client_id));
  bool allowed = false;
  std::vector<std::string> names;
  for (ReferralStatus s : kStep.from) {
    const bool needs_acceptance =
        s == ReferralStatus::kOnHold && kStep.from_on_hold_needs_acceptance;
    names.push_back(std::string(ReferralStatusName(s)) +
                    (needs_acceptance ? " (after acceptance)" : ""));
    if (referral->status == s &&
        (!needs_acceptance || referral->was_accepted)) {
      allowed = true;
    }
  }
  if (allowed) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("referral lifecycle: referral ", id, " is ",
                   ReferralStatusName(referral->status), "; to ", kStep.verb,
                   " it, it must be ", absl::StrJoin(names, " or ")));
}

std::string SummarizeReceived(const v1::CareEvent& event) {
  return absl::StrCat("referral ", event.referral_received().referral_id(),
                      " received (acknowledged)");
}

std::string SummarizeAccepted(const v1::CareEvent& event) {
  return absl::StrCat("referral ", event.referral_accepted().referral_id(),
                      " accepted");
}

std::string SummarizeDeclined(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("referral ", event.referral_declined().referral_id(),
                   " declined"),
      event.referral_declined().reason());
}

std::string SummarizeOnHold(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("referral ", event.referral_on_hold().referral_id(),
                   " on hold"),
      event.referral_on_hold().reason());
}

std::string SummarizeStarted(const v1::CareEvent& event) {
  return absl::StrCat("referral ", event.referral_started().referral_id(),
                      " in progress");
}

std::string SummarizeCompleted(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("referral ", event.referral_completed().referral_id(),
                   " completed (loop closed)"),
      event.referral_completed().delivered());
}

std::string SummarizeFailed(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("referral ", event.referral_failed().referral_id(),
                   " failed"),
      event.referral_failed().reason());
}

std::string SummarizeCancelled(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("referral ", event.referral_cancelled().referral_id(),
                   " cancelled"),
      event.referral_cancelled().reason());
}

// The entry of a lifecycle step.
template <const ReferralStep& kStep>
constexpr EventRules Step(v1::CareEvent::EventCase event,
                          Summarizer summarize) {
  return {.event = event,
          .check_fields = CheckStepFields,
          .write_rule = AuthorizeStep<kStep>,
          .decide = DecideStep<kStep>,
          .summarize = summarize};
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kReferralSent,
     .check_fields = CheckSent,
     .write_rule = AuthorizeSent,
     .decide = DecideSent,
     .summarize = SummarizeSent},
    Step<kAcknowledge>(v1::CareEvent::kReferralReceived, SummarizeReceived),
    Step<kAccept>(v1::CareEvent::kReferralAccepted, SummarizeAccepted),
    Step<kDecline>(v1::CareEvent::kReferralDeclined, SummarizeDeclined),
    Step<kHold>(v1::CareEvent::kReferralOnHold, SummarizeOnHold),
    Step<kStart>(v1::CareEvent::kReferralStarted, SummarizeStarted),
    Step<kComplete>(v1::CareEvent::kReferralCompleted, SummarizeCompleted),
    Step<kFail>(v1::CareEvent::kReferralFailed, SummarizeFailed),
    Step<kCancel>(v1::CareEvent::kReferralCancelled, SummarizeCancelled),
};

}  // namespace

absl::Span<const EventRules> ReferralRules() { return kRules; }

}  // namespace caseline::care::rules
