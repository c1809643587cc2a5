// Consent and disclosure: giving and revoking a consent to share
// (docs/access.md "Consent provenance"), and recording a release of
// information outside a referral (the accounting of disclosures).
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/status_macros.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "care/proto_time.h"
#include "care/rule_checks.h"

namespace caseline::care::rules {
namespace {

constexpr size_t kMaxDocumentIdBytes = 256;

// --- ConsentGiven ------------------------------------------------------------

// How a consent was obtained (docs/access.md "Consent provenance"), and the
// Part 2 rule that a consent to recipient types can never cover Part 2 data.
absl::Status CheckConsentProvenance(const v1::ConsentGiven& e) {
  const bool part2 =
      std::find(e.data_classes().begin(), e.data_classes().end(),
                v1::DATA_CLASS_SUBSTANCE_USE_PART2) != e.data_classes().end();
  if (part2 && !e.recipient_organization_types().empty()) {
    return Invalid(
        "consent_given.recipient_organization_types",
        "a consent that lists DATA_CLASS_SUBSTANCE_USE_PART2 must name its "
        "recipients by id (42 CFR 2.31): a consent to recipient types can "
        "never cover Part 2 data; record the other data classes in a "
        "separate consent to types");
  }
  RETURN_IF_ERROR(CheckEnum(e.method(), v1::ConsentMethod_IsValid,
                            "consent_given.method", true));
  if (e.method() == v1::CONSENT_METHOD_VERBAL_WITH_WITNESS) {
    if (!e.has_witness()) {
      return Invalid("consent_given.witness",
                     "a verbal consent needs the witness's name");
    }
    RETURN_IF_ERROR(CheckName(e.witness(), "consent_given.witness"));
  }
  if (e.has_obtained_at()) {
    RETURN_IF_ERROR(
        CheckTimestamp(e.obtained_at(), "consent_given.obtained_at"));
  }
  const v1::ConsentDocument& document = e.document();
  if (document.document_id().empty()) {
    return Invalid("consent_given.document.document_id",
                   "is required: the reference of the signed form, "
                   "electronic signature record or verbal-consent "
                   "attestation");
  }
  if (document.document_id().size() > kMaxDocumentIdBytes) {
    return Invalid("consent_given.document.document_id",
                   absl::StrCat("is ", document.document_id().size(),
                                " bytes; the limit is ", kMaxDocumentIdBytes));
  }
  bool hex = document.sha256().size() == 64;
  for (char c : document.sha256()) {
    hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  }
  if (!hex) {
    return Invalid("consent_given.document.sha256",
                   "must be the document's SHA-256: 64 lowercase hex digits "
                   "(e.g. the output of sha256sum)");
  }
  return absl::OkStatus();
}

absl::Status CheckGiven(const v1::CareEvent& event) {
  const auto& e = event.consent_given();
  RETURN_IF_ERROR(CheckId(e.consent_id(), "consent_given.consent_id"));
  if (e.has_representative()) {
    RETURN_IF_ERROR(CheckEnum(e.representative().authority(),
                              v1::RepresentativeAuthority_IsValid,
                              "consent_given.representative.authority", true));
    RETURN_IF_ERROR(CheckName(e.representative().name(),
                              "consent_given.representative.name"));
  }
  if (e.recipient_organization_ids().empty() &&
      e.recipient_organization_types().empty()) {
    return Invalid("consent_given.recipient_organization_ids",
                   "name at least one recipient organisation (or "
                   "recipient_organization_types)");
  }
  for (int i = 0; i < e.recipient_organization_ids_size(); ++i) {
    RETURN_IF_ERROR(CheckId(
        e.recipient_organization_ids(i),
        absl::StrCat("consent_given.recipient_organization_ids[", i, "]")));
  }
  for (int i = 0; i < e.recipient_organization_types_size(); ++i) {
    RETURN_IF_ERROR(CheckEnum(
        e.recipient_organization_types(i), v1::OrganizationType_IsValid,
        absl::StrCat("consent_given.recipient_organization_types[", i, "]"),
        true));
  }
  if (e.data_classes().empty()) {
    return Invalid("consent_given.data_classes",
                   "name at least one data class");
  }
  RETURN_IF_ERROR(
      CheckDataClasses(e.data_classes(), "consent_given.data_classes"));
  for (int i = 0; i < e.purposes_size(); ++i) {
    RETURN_IF_ERROR(CheckEnum(e.purposes(i), v1::PurposeOfUse_IsValid,
                              absl::StrCat("consent_given.purposes[", i, "]"),
                              true));
  }
  if (e.period().has_start()) {
    RETURN_IF_ERROR(
        CheckTimestamp(e.period().start(), "consent_given.period.start"));
  }
  if (e.period().has_end()) {
    RETURN_IF_ERROR(
        CheckTimestamp(e.period().end(), "consent_given.period.end"));
    if (e.period().has_start() &&
        ToTime(e.period().end()) <= ToTime(e.period().start())) {
      return Invalid("consent_given.period.end", "must be after period.start");
    }
  }
  return CheckConsentProvenance(e);
}

// A new consent id and registered recipients; the period starts and the
// consent counts as obtained at occurred_at unless the command says.
absl::Status DecideGiven(const RuleInput& input, v1::CareEvent* event) {
  const absl::Time at = input.command.occurred_at;
  v1::ConsentGiven* given = event->mutable_consent_given();
  RETURN_IF_ERROR(RequireNew(input.record.consents, given->consent_id(),
                             "consent", input.record.client_id));
  for (int i = 0; i < given->recipient_organization_ids_size(); ++i) {
    RETURN_IF_ERROR(RequireOrganization(
        input.directory, given->recipient_organization_ids(i),
        absl::StrCat("consent_given.recipient_organization_ids[", i, "]")));
  }
  if (!given->period().has_start()) {
    SetTimestamp(at, given->mutable_period()->mutable_start());
  }
  if (!given->has_obtained_at()) {
    SetTimestamp(at, given->mutable_obtained_at());
  } else if (ToTime(given->obtained_at()) > at) {
    return Invalid("consent_given.obtained_at",
                   absl::StrCat("is after occurred_at (", absl::FormatTime(at),
                                "): record a consent once it is given"));
  }
  if (given->period().has_end() &&
      ToTime(given->period().end()) <= ToTime(given->period().start())) {
    return Invalid("consent_given.period.end",
                   "must be after the period's start");
  }
  return absl::OkStatus();
}

std::string SummarizeGiven(const v1::CareEvent& event) {
  const auto& e = event.consent_given();
  std::vector<std::string> recipients(e.recipient_organization_ids().begin(),
                                      e.recipient_organization_ids().end());
  for (int type : e.recipient_organization_types()) {
    recipients.push_back(absl::StrCat(
        "any ", EnumWord(v1::OrganizationType_Name(
                             static_cast<v1::OrganizationType>(type)),
                         "ORGANIZATION_TYPE_")));
  }
  std::string text =
      absl::StrCat("consent ", e.consent_id(), " given to share ",
                   DataClassesWords(e.data_classes()), " with ",
                   absl::StrJoin(recipients, ", "));
  if (e.has_representative()) {
    absl::StrAppend(&text, " (by representative ",
                    NameWords(e.representative().name()), ")");
  }
  return text;
}

// --- ConsentRevoked ----------------------------------------------------------

absl::Status CheckRevoked(const v1::CareEvent& event) {
  const auto& e = event.consent_revoked();
  RETURN_IF_ERROR(CheckId(e.consent_id(), "consent_revoked.consent_id"));
  if (e.has_received_at()) {
    RETURN_IF_ERROR(
        CheckTimestamp(e.received_at(), "consent_revoked.received_at"));
  }
  if (e.has_effective_at()) {
    RETURN_IF_ERROR(
        CheckTimestamp(e.effective_at(), "consent_revoked.effective_at"));
  }
  if (e.has_received_at() && e.has_effective_at() &&
      ToTime(e.effective_at()) < ToTime(e.received_at())) {
    return Invalid("consent_revoked.effective_at",
                   "is before received_at; a revocation takes effect no "
                   "earlier than it is received");
  }
  return CheckText(e.reason(), "consent_revoked.reason", false);
}

// The organisation that recorded the consent revokes it, or any involved
// organisation on the client's request.
absl::Status AuthorizeRevoked(const RuleInput& input) {
  const v1::ConsentRevoked& revoked = input.command.event.consent_revoked();
  auto it = input.record.consents.find(revoked.consent_id());
  if (it == input.record.consents.end() ||
      it->second.granted_at_organization_id == input.command.organization_id ||
      revoked.on_client_request()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "consent ", revoked.consent_id(), " was recorded by ",
      it->second.granted_at_organization_id, "; only ",
      it->second.granted_at_organization_id,
      " revokes it, or an involved organisation on the client's request "
      "(set consent_revoked.on_client_request)"));
}

// An active consent, revoked no earlier than it starts; received_at defaults
// to occurred_at and effective_at to received_at.
absl::Status DecideRevoked(const RuleInput& input, v1::CareEvent* event) {
  v1::ConsentRevoked* revoked = event->mutable_consent_revoked();
  ASSIGN_OR_RETURN(const ConsentState* consent,
                   RequireKnown(input.record.consents, revoked->consent_id(),
                                "consent", input.record.client_id));
  if (!revoked->has_received_at()) {
    SetTimestamp(input.command.occurred_at, revoked->mutable_received_at());
  }
  if (!revoked->has_effective_at()) {
    *revoked->mutable_effective_at() = revoked->received_at();
  }
  const absl::Time effective = ToTime(revoked->effective_at());
  if (consent->revocation_effective_at.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("revocation needs an active consent: consent ",
                     revoked->consent_id(), " was already revoked effective ",
                     absl::FormatTime(*consent->revocation_effective_at)));
  }
  if (consent->end <= ToTime(revoked->received_at())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "revocation needs an active consent: consent ", revoked->consent_id(),
        " ended at ", absl::FormatTime(consent->end)));
  }
  if (effective < consent->start) {
    return absl::FailedPreconditionError(absl::StrCat(
        "consent_revoked.effective_at (", absl::FormatTime(effective),
        ") is before consent ", revoked->consent_id(), " starts (",
        absl::FormatTime(consent->start),
        "); a revocation cannot predate its consent"));
  }
  return absl::OkStatus();
}

std::string SummarizeRevoked(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("consent ", event.consent_revoked().consent_id(),
                   " revoked"),
      event.consent_revoked().reason());
}

// --- InformationDisclosed ----------------------------------------------------

absl::Status CheckDisclosed(const v1::CareEvent& event) {
  const auto& e = event.information_disclosed();
  RETURN_IF_ERROR(
      CheckId(e.disclosure_id(), "information_disclosed.disclosure_id"));
  RETURN_IF_ERROR(CheckId(e.recipient_organization_id(),
                          "information_disclosed.recipient_organization_id"));
  if (e.data_classes().empty()) {
    return Invalid("information_disclosed.data_classes",
                   "name at least one data class disclosed");
  }
  RETURN_IF_ERROR(
      CheckDataClasses(e.data_classes(), "information_disclosed.data_classes"));
  RETURN_IF_ERROR(CheckEnum(e.purpose(), v1::PurposeOfUse_IsValid,
                            "information_disclosed.purpose", true));
  RETURN_IF_ERROR(
      CheckText(e.description(), "information_disclosed.description", false));
  RETURN_IF_ERROR(
      CheckOptionalId(e.consent_id(), "information_disclosed.consent_id"));
  RETURN_IF_ERROR(
      CheckText(e.legal_basis(), "information_disclosed.legal_basis", false));
  if (e.consent_id().empty() && e.legal_basis().empty()) {
    return Invalid(
        "information_disclosed.consent_id, information_disclosed."
        "legal_basis",
        "a disclosure relies on a consent or on a legal basis (e.g. "
        "\"court order ...\"); give one of them");
  }
  return absl::OkStatus();
}

// A disclosure outside a referral: a new id, a registered recipient, and
// either a legal basis or a consent that covers, at occurred_at, every data
// class for the recipient and purpose (42 CFR Part 2: naming the recipient).
// FAILED_PRECONDITION as for referrals (see referral_rules.cc,
// CheckConsentForSharing).
absl::Status DecideDisclosed(const RuleInput& input, v1::CareEvent* event) {
  const v1::InformationDisclosed& disclosed = event->information_disclosed();
  const absl::Time at = input.command.occurred_at;
  const ClientRecord& record = input.record;
  const std::string& client = record.client_id;
  if (record.disclosures.count(disclosed.disclosure_id()) > 0) {
    return absl::AlreadyExistsError(absl::StrCat(
        "disclosure ", disclosed.disclosure_id(),
        " is already recorded for client ", client, "; choose a new id"));
  }
  const std::string& recipient = disclosed.recipient_organization_id();
  RETURN_IF_ERROR(
      RequireOrganization(input.directory, recipient,
                          "information_disclosed.recipient_organization_id"));
  if (disclosed.consent_id().empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      const ConsentState* consent,
      RequireKnown(record.consents, disclosed.consent_id(), "consent", client));
  const v1::OrganizationType type = input.directory.Find(recipient)->type();
  for (int data_class : disclosed.data_classes()) {
    const auto dc = static_cast<v1::DataClass>(data_class);
    if (consent->Covers(recipient, type, dc, disclosed.purpose(), at)) {
      continue;
    }
    const bool part2 = dc == v1::DATA_CLASS_SUBSTANCE_USE_PART2;
    return absl::FailedPreconditionError(absl::StrCat(
        "consent required: consent ", disclosed.consent_id(), " of client ",
        client,
        consent->InForceAt(at) ? "" : " is not in force at that time and",
        " does not cover disclosing ", v1::DataClass_Name(dc), " to ",
        recipient, " for ", v1::PurposeOfUse_Name(disclosed.purpose()), " at ",
        absl::FormatTime(at), "; name a consent that does",
        part2 ? " (42 CFR Part 2 requires the recipient by name)" : "",
        ", disclose fewer data classes, or give the legal_basis relied on"));
  }
  return absl::OkStatus();
}

std::string SummarizeDisclosed(const v1::CareEvent& event) {
  const auto& e = event.information_disclosed();
  return absl::StrCat(
      "disclosure ", e.disclosure_id(), ": ",
      DataClassesWords(e.data_classes()), " to ", e.recipient_organization_id(),
      " for ", PurposeWord(e.purpose()), " under ",
      e.consent_id().empty() ? e.legal_basis()
                             : absl::StrCat("consent ", e.consent_id()));
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kConsentGiven,
     .check_fields = CheckGiven,
     .decide = DecideGiven,
     .summarize = SummarizeGiven},
    {.event = v1::CareEvent::kConsentRevoked,
     .check_fields = CheckRevoked,
     .write_rule = AuthorizeRevoked,
     .decide = DecideRevoked,
     .summarize = SummarizeRevoked},
    // Records of a closed case are still subpoenaed, and the release must be
    // accounted for.
    {.event = v1::CareEvent::kInformationDisclosed,
     .check_fields = CheckDisclosed,
     .decide = DecideDisclosed,
     .summarize = SummarizeDisclosed,
     .accepted_on_closed_case = true},
};

}  // namespace

absl::Span<const EventRules> ConsentRules() { return kRules; }

}  // namespace caseline::care::rules
