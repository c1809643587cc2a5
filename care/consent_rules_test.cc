// The consent rules (consent_rules.cc): a consent's fields and provenance,
// revoking it, and disclosures that rely on a consent or a legal basis.
#include <functional>

#include "care/care_decision.h"
#include "care/decision_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using ::testing::HasSubstr;
using C = absl::StatusCode;

// c1 registered and its case opened by org-hospital.
class ConsentRulesTest : public DecisionTest {
 protected:
  void Background() override { GivenRegisteredOpenCase(); }
};

// A consent by electronic signature naming org-housing, changed by `change`.
v1::CareEvent ConsentWith(
    const std::function<void(v1::ConsentGiven*)>& change) {
  v1::CareEvent e =
      ConsentFromNow("k-self", {"org-housing"}, {v1::DATA_CLASS_GENERAL});
  e.mutable_consent_given()->set_method(
      v1::CONSENT_METHOD_ELECTRONIC_SIGNATURE);
  change(e.mutable_consent_given());
  return e;
}

TEST_F(ConsentRulesTest, AConsentCarriesItsFieldsAndProvenance) {
  const auto invalid = [](const char* name,
                          std::function<void(v1::ConsentGiven*)> change,
                          std::string message) {
    return RuleCase{name,
                    {},
                    {"org-hospital", ConsentWith(change)},
                    C::kInvalidArgument,
                    {std::move(message)}};
  };
  const RuleCase cases[] = {
      invalid(
          "a DataClass no version of the enum has",
          [](v1::ConsentGiven* c) {
            c->add_data_classes(static_cast<v1::DataClass>(999));
          },
          "consent_given.data_classes[1]: 999 is not a known value"),
      invalid(
          "no recipient",
          [](v1::ConsentGiven* c) { c->clear_recipient_organization_ids(); },
          "consent_given.recipient_organization_ids: name at least one "
          "recipient organisation (or recipient_organization_types)"),
      invalid(
          "a representative without authority",
          [](v1::ConsentGiven* c) {
            c->mutable_representative()->mutable_name()->set_family("Doe");
          },
          "consent_given.representative.authority: is required"),
      invalid(
          "no method", [](v1::ConsentGiven* c) { c->clear_method(); },
          "consent_given.method"),
      invalid(
          "no document id",
          [](v1::ConsentGiven* c) {
            c->mutable_document()->clear_document_id();
          },
          "consent_given.document.document_id"),
      invalid(
          "digest not hex",
          [](v1::ConsentGiven* c) {
            c->mutable_document()->set_sha256(std::string(64, 'G'));
          },
          "consent_given.document.sha256"),
      invalid(
          "digest upper case",
          [](v1::ConsentGiven* c) {
            c->mutable_document()->set_sha256(std::string(64, 'A'));
          },
          "consent_given.document.sha256"),
      invalid(
          "digest short",
          [](v1::ConsentGiven* c) {
            c->mutable_document()->set_sha256(std::string(63, 'a'));
          },
          "consent_given.document.sha256: must be the document's SHA-256"),
      invalid(
          "verbal without witness",
          [](v1::ConsentGiven* c) {
            c->set_method(v1::CONSENT_METHOD_VERBAL_WITH_WITNESS);
          },
          "consent_given.witness: a verbal consent needs the witness's "
          "name"),
      invalid(
          "obtained after it was recorded",
          [](v1::ConsentGiven* c) {
            SetTimestamp(kT0 + absl::Hours(1) + absl::Seconds(1),
                         c->mutable_obtained_at());
          },
          "consent_given.obtained_at: is after occurred_at ("),
      invalid(
          "Part 2 to recipient types",
          [](v1::ConsentGiven* c) {
            c->add_data_classes(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
            c->add_recipient_organization_types(
                v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
          },
          "consent_given.recipient_organization_types: a consent that "
          "lists DATA_CLASS_SUBSTANCE_USE_PART2 must name its recipients "
          "by id (42 CFR 2.31)"),
      {"an unregistered recipient",
       {},
       {"org-hospital", ConsentFromNow("c-1", {"org-bh", "nowhere-org"},
                                       {v1::DATA_CLASS_GENERAL})},
       C::kNotFound,
       {"consent_given.recipient_organization_ids[1]: organisation "
        "nowhere-org is not registered"}},
      {"a consent id already used",
       {{"org-hospital", Consent("k1", {"org-bh"}, {v1::DATA_CLASS_GENERAL})}},
       {"org-hospital", Consent("k1", {"org-bh"}, {v1::DATA_CLASS_GENERAL})},
       C::kAlreadyExists,
       {"consent k1 already exists for client c1; choose a new id"}},
      {"a representative with authority",
       {},
       {"org-hospital", ConsentWith([](v1::ConsentGiven* c) {
          c->mutable_representative()->set_authority(
              v1::REPRESENTATIVE_AUTHORITY_HEALTH_CARE_AGENT);
          c->mutable_representative()->mutable_name()->set_family("Doe");
        })},
       C::kOk},
  };
  ExpectCases(cases);
}

TEST_F(ConsentRulesTest, AVerbalConsentIsObtainedWhenRecorded) {
  GivenRegisteredOpenCase();
  v1::CareEvent verbal = ConsentWith([](v1::ConsentGiven* c) {
    c->set_method(v1::CONSENT_METHOD_VERBAL_WITH_WITNESS);
    c->mutable_witness()->set_family("Tan");
    c->mutable_representative()->set_authority(
        v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
    c->mutable_representative()->mutable_name()->set_family("Okafor");
  });
  auto accepted = Decide(verbal);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  // obtained_at and the period's start default to occurred_at.
  const v1::ConsentGiven& given = accepted->front().consent_given();
  EXPECT_EQ(given.obtained_at().seconds(),
            absl::ToUnixSeconds(kT0 + absl::Hours(1)));
  EXPECT_EQ(given.period().start().seconds(),
            absl::ToUnixSeconds(kT0 + absl::Hours(1)));
}

v1::CareEvent RevokedAt(const std::string& consent_id, absl::Time received,
                        absl::Time effective) {
  v1::CareEvent e = Revoked(consent_id);
  SetTimestamp(received, e.mutable_consent_revoked()->mutable_received_at());
  SetTimestamp(effective, e.mutable_consent_revoked()->mutable_effective_at());
  return e;
}

TEST_F(ConsentRulesTest, RevocationNeedsAnActiveConsentAndCannotPredateIt) {
  const Command k1 = {"org-hospital",
                      Consent("k1", {"org-bh"}, {v1::DATA_CLASS_GENERAL})};
  const RuleCase cases[] = {
      {"an unknown consent",
       {},
       {"org-hospital", Revoked("c-missing")},
       C::kNotFound,
       {"client c1 has no consent c-missing"}},
      {"effective before received",
       {k1},
       {"org-hospital",
        RevokedAt("k1", kT0 + absl::Hours(1), kT0 + absl::Minutes(1))},
       C::kInvalidArgument,
       {"consent_revoked.effective_at: is before received_at; a revocation "
        "takes effect no earlier than it is received"}},
      {"before the consent starts",
       {k1},
       {"org-hospital",
        RevokedAt("k1", kT0 - absl::Hours(1), kT0 - absl::Hours(1))},
       C::kFailedPrecondition,
       {"consent_revoked.effective_at (", ") is before consent k1 starts (",
        "); a revocation cannot predate its consent"}},
      {"revoked now", {k1}, {"org-hospital", Revoked("k1")}, C::kOk},
      {"already revoked",
       {k1, {"org-hospital", Revoked("k1")}},
       {"org-hospital", Revoked("k1")},
       C::kFailedPrecondition,
       {"revocation needs an active consent: consent k1 was already revoked "
        "effective "}},
  };
  ExpectCases(cases);

  // received_at defaults to occurred_at, effective_at to received_at.
  record_ = ClientRecord(kClient);
  GivenRegisteredOpenCase();
  Record(k1);
  auto revoked = Decide(Revoked("k1"), "org-hospital", kT0 + absl::Hours(2));
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  const v1::ConsentRevoked& e = revoked->front().consent_revoked();
  EXPECT_EQ(e.received_at().seconds(), absl::ToUnixSeconds(kT0) + 7200);
  EXPECT_EQ(e.effective_at().seconds(), e.received_at().seconds());
}

// c1 registered and its case opened by org-hospital, with consent k1 to share
// general and mental-health information with org-bh from kT0.
class DisclosureRulesTest : public DecisionTest {
 protected:
  void Background() override {
    GivenRegisteredOpenCase();
    Given(Consent("k1", {"org-bh"},
                  {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH}));
  }
};

TEST_F(DisclosureRulesTest, ADisclosureReliesOnACoveringConsentOrALegalBasis) {
  const std::vector<v1::DataClass> kGeneral = {v1::DATA_CLASS_GENERAL};
  v1::CareEvent no_purpose = Disclosure("d2", "org-bh", kGeneral, "k1");
  no_purpose.mutable_information_disclosed()->clear_purpose();
  const RuleCase cases[] = {
      {"covered by the consent",
       {},
       {"org-hospital",
        Disclosure("d1", "org-bh",
                   {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH},
                   "k1")},
       C::kOk},
      {"neither a consent nor a legal basis",
       {},
       {"org-hospital", Disclosure("d1", "org-bh", kGeneral, "")},
       C::kInvalidArgument,
       {"information_disclosed.consent_id, information_disclosed.legal_basis: "
        "a disclosure relies on a consent or on a legal basis (e.g. \"court "
        "order ...\"); give one of them"}},
      {"a court order needs no consent",
       {},
       {"org-hospital", Disclosure("d1", "org-bh", {v1::DATA_CLASS_HIV}, "",
                                   "court order 2026-CV-0042")},
       C::kOk},
      {"a class the consent does not cover",
       {},
       {"org-hospital",
        Disclosure("d1", "org-bh", {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_HIV},
                   "k1")},
       C::kFailedPrecondition,
       {"consent required: consent k1 of client c1 does not cover disclosing "
        "DATA_CLASS_HIV to org-bh for PURPOSE_OF_USE_CARE_COORDINATION at ",
        "; name a consent that does, disclose fewer data classes, or give the "
        "legal_basis relied on"}},
      {"Part 2 data",
       {},
       {"org-hospital",
        Disclosure("d2", "org-bh",
                   {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_SUBSTANCE_USE_PART2},
                   "k1")},
       C::kFailedPrecondition,
       {"DATA_CLASS_SUBSTANCE_USE_PART2", "k1", "org-bh",
        "(42 CFR Part 2 requires the recipient by name)"}},
      {"another recipient",
       {},
       {"org-hospital", Disclosure("d1", "org-bh-2", kGeneral, "k1")},
       C::kFailedPrecondition,
       {"to org-bh-2"}},
      {"a purpose the consent does not list",
       {{"org-hospital",
         Consent("k-legal", {"org-bh"}, kGeneral, {v1::PURPOSE_OF_USE_LEGAL})}},
       {"org-hospital", Disclosure("d1", "org-bh", kGeneral, "k-legal")},
       C::kFailedPrecondition,
       {"for PURPOSE_OF_USE_CARE_COORDINATION"}},
      {"judged at occurred_at: before the consent started",
       {},
       {"org-hospital", Disclosure("d1", "org-bh", kGeneral, "k1"),
        -absl::Hours(1)},
       C::kFailedPrecondition,
       {"consent k1 of client c1 is not in force at that time and does not "
        "cover disclosing DATA_CLASS_GENERAL"}},
      {"an unknown consent",
       {},
       {"org-hospital", Disclosure("d1", "org-bh", kGeneral, "k-none")},
       C::kNotFound,
       {"client c1 has no consent k-none"}},
      {"an unregistered recipient",
       {},
       {"org-hospital", Disclosure("d1", "county-court", {v1::DATA_CLASS_LEGAL},
                                   "", "court order 26-JV-0113")},
       C::kNotFound,
       {"information_disclosed.recipient_organization_id: organisation "
        "county-court is not registered"}},
      {"a disclosure id already used",
       {{"org-hospital", Disclosure("d1", "org-bh", kGeneral, "k1")}},
       {"org-hospital", Disclosure("d1", "org-bh", kGeneral, "k1")},
       C::kAlreadyExists,
       {"disclosure d1 is already recorded for client c1; choose a new id"}},
      {"no data class",
       {},
       {"org-hospital", Disclosure("d2", "org-bh", {}, "k1")},
       C::kInvalidArgument,
       {"information_disclosed.data_classes: name at least one data class "
        "disclosed"}},
      {"no purpose",
       {},
       {"org-hospital", no_purpose},
       C::kInvalidArgument,
       {"information_disclosed.purpose: is required (not UNSPECIFIED)"}},
      // Records of a closed case are still released, and accounted for.
      {"after the case closed",
       {{"org-hospital",
         Organization("county-court", v1::ORGANIZATION_TYPE_COURT_PAROLE)},
        {"org-hospital", Closed()}},
       {"org-hospital",
        Disclosure("d-court", "county-court", {v1::DATA_CLASS_EDUCATION}, "",
                   "court order 26-JV-0113")},
       C::kOk},
  };
  ExpectCases(cases);

  // A consent to types that lists Part 2 (refused today; a record may hold
  // one from before that rule) covers the other classes, never Part 2.
  v1::CareEvent by_type =
      Consent("k-type", {},
              {v1::DATA_CLASS_SUBSTANCE_USE_PART2, v1::DATA_CLASS_GENERAL});
  by_type.mutable_consent_given()->add_recipient_organization_types(
      v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  record_ = ClientRecord(kClient);
  Background();
  Given(by_type);
  EXPECT_TRUE(Decide(Disclosure("d1", "org-bh", kGeneral, "k-type")).ok());
  auto r = Decide(Disclosure("d1", "org-bh",
                             {v1::DATA_CLASS_SUBSTANCE_USE_PART2}, "k-type"));
  EXPECT_EQ(CodeOf(r), C::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("Part 2"));
}

}  // namespace
}  // namespace caseline::care::test
