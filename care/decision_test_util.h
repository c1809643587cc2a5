// Test support for the care-record rules (care_decision_test.cc and the
// care/*_rules_test.cc files): event builders, and a fixture that decides
// commands against a record built by deciding and folding earlier commands,
// exactly as the command handler does with the log.
//
// Rules are tested as tables of RuleCase: the accepted commands that set up
// the record, the command under test, the expected code and the fragments
// the refusal must contain.
#ifndef CASELINE_CARE_DECISION_TEST_UTIL_H_
#define CASELINE_CARE_DECISION_TEST_UTIL_H_

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "care/care_decision.h"
#include "care/client_record.h"
#include "care/organization_directory.h"
#include "care/proto_time.h"
#include "caseline/v1/care_events.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::test {

inline const absl::Time kT0 =
    absl::FromUnixSeconds(1'767'600'000);  // 2026-01-05
inline constexpr char kClient[] = "c1";

inline absl::Duration Days(int n) { return absl::Hours(24 * n); }

// --- Event builders ----------------------------------------------------------

inline v1::CareEvent Registered(const std::string& family = "Okafor") {
  v1::CareEvent e;
  e.mutable_client_registered()->mutable_name()->set_family(family);
  return e;
}
inline v1::CareEvent Opened() {
  v1::CareEvent e;
  e.mutable_case_opened();
  return e;
}
inline v1::CareEvent Closed(
    v1::CaseClosureReason reason = v1::CASE_CLOSURE_REASON_GOALS_MET) {
  v1::CareEvent e;
  e.mutable_case_closed()->set_reason(reason);
  return e;
}
inline v1::CareEvent Reopened() {
  v1::CareEvent e;
  e.mutable_case_reopened();
  return e;
}
inline v1::CareEvent Linked(const std::string& other_client_id) {
  v1::CareEvent e;
  e.mutable_client_records_linked()->set_other_client_id(other_client_id);
  return e;
}
inline v1::CareEvent Dismissal(const std::string& finding_id,
                               const std::string& reason) {
  v1::CareEvent e;
  e.mutable_duplicate_dismissed()->set_finding_id(finding_id);
  e.mutable_duplicate_dismissed()->set_reason(reason);
  return e;
}

// A consent recorded on a signed form; its period starts at kT0.
inline v1::CareEvent Consent(
    const std::string& id, const std::vector<std::string>& organizations,
    const std::vector<v1::DataClass>& classes,
    const std::vector<v1::PurposeOfUse>& purposes = {}) {
  v1::CareEvent e;
  v1::ConsentGiven* c = e.mutable_consent_given();
  c->set_consent_id(id);
  for (const std::string& o : organizations)
    c->add_recipient_organization_ids(o);
  for (v1::DataClass d : classes) c->add_data_classes(d);
  for (v1::PurposeOfUse p : purposes) c->add_purposes(p);
  SetTimestamp(kT0, c->mutable_period()->mutable_start());
  c->set_method(v1::CONSENT_METHOD_SIGNED_FORM);
  c->mutable_document()->set_document_id("form-" + id);
  c->mutable_document()->set_sha256(std::string(64, 'a'));
  return e;
}
// As Consent, but the period starts when the consent is recorded.
inline v1::CareEvent ConsentFromNow(
    const std::string& id, const std::vector<std::string>& organizations,
    const std::vector<v1::DataClass>& classes,
    const std::vector<v1::PurposeOfUse>& purposes = {}) {
  v1::CareEvent e = Consent(id, organizations, classes, purposes);
  e.mutable_consent_given()->clear_period();
  return e;
}
inline v1::CareEvent Revoked(const std::string& consent_id,
                             bool on_client_request = false) {
  v1::CareEvent e;
  e.mutable_consent_revoked()->set_consent_id(consent_id);
  e.mutable_consent_revoked()->set_on_client_request(on_client_request);
  return e;
}
inline v1::CareEvent Disclosure(const std::string& id, const std::string& to,
                                const std::vector<v1::DataClass>& classes,
                                const std::string& consent_id,
                                const std::string& legal_basis = "") {
  v1::CareEvent e;
  v1::InformationDisclosed* d = e.mutable_information_disclosed();
  d->set_disclosure_id(id);
  d->set_recipient_organization_id(to);
  for (v1::DataClass c : classes) d->add_data_classes(c);
  d->set_purpose(v1::PURPOSE_OF_USE_CARE_COORDINATION);
  d->set_description("discharge summary");
  d->set_consent_id(consent_id);
  d->set_legal_basis(legal_basis);
  return e;
}

inline v1::CareEvent Assessment(const std::string& id) {
  v1::CareEvent e;
  v1::AssessmentRecorded* a = e.mutable_assessment_recorded();
  a->set_assessment_id(id);
  v1::DomainAssessment* d = a->add_domains();
  d->set_domain(v1::SERVICE_CATEGORY_FOOD);
  d->set_need_level(v1::NEED_LEVEL_LOW);
  return e;
}

// A warm housing referral sent by org-hospital.
inline v1::CareEvent Referral(
    const std::string& id, const std::string& to,
    const std::vector<v1::DataClass>& shared = {},
    v1::PurposeOfUse purpose = v1::PURPOSE_OF_USE_UNSPECIFIED) {
  v1::CareEvent e;
  v1::ReferralSent* r = e.mutable_referral_sent();
  r->set_referral_id(id);
  r->set_from_organization_id("org-hospital");
  r->set_to_organization_id(to);
  r->set_service_category(v1::SERVICE_CATEGORY_HOUSING);
  r->set_kind(v1::REFERRAL_KIND_WARM);
  for (v1::DataClass c : shared) r->add_shared_data_classes(c);
  r->set_purpose(purpose);
  return e;
}
inline v1::CareEvent Received(const std::string& referral_id) {
  v1::CareEvent e;
  e.mutable_referral_received()->set_referral_id(referral_id);
  return e;
}

inline v1::CareEvent Accepted(const std::string& referral_id) {
  v1::CareEvent e;
  e.mutable_referral_accepted()->set_referral_id(referral_id);
  return e;
}
inline v1::CareEvent Declined(const std::string& referral_id) {
  v1::CareEvent e;
  e.mutable_referral_declined()->set_referral_id(referral_id);
  return e;
}
inline v1::CareEvent OnHold(const std::string& referral_id) {
  v1::CareEvent e;
  e.mutable_referral_on_hold()->set_referral_id(referral_id);
  return e;
}
inline v1::CareEvent Started(const std::string& referral_id) {
  v1::CareEvent e;
  e.mutable_referral_started()->set_referral_id(referral_id);
  return e;
}
inline v1::CareEvent Completed(const std::string& referral_id) {
  v1::CareEvent e;
  e.mutable_referral_completed()->set_referral_id(referral_id);
  return e;
}
inline v1::CareEvent Cancelled(const std::string& referral_id) {
  v1::CareEvent e;
  e.mutable_referral_cancelled()->set_referral_id(referral_id);
  return e;
}

inline v1::CareEvent Service(const std::string& id,
                             const std::string& provider) {
  v1::CareEvent e;
  v1::ServiceStarted* s = e.mutable_service_started();
  s->set_service_id(id);
  s->set_provider_organization_id(provider);
  s->set_category(v1::SERVICE_CATEGORY_SUBSTANCE_USE);
  return e;
}
inline v1::CareEvent Ended(const std::string& service_id) {
  v1::CareEvent e;
  e.mutable_service_ended()->set_service_id(service_id);
  return e;
}

inline v1::CareEvent Member(const std::string& id,
                            v1::CareTeamRole role = v1::CARE_TEAM_ROLE_MEMBER,
                            const std::string& organization = "org-hospital") {
  v1::CareEvent e;
  v1::CareTeamMemberAdded* m = e.mutable_care_team_member_added();
  m->set_member_id(id);
  m->set_organization_id(organization);
  m->set_discipline(v1::DISCIPLINE_SOCIAL_WORK);
  m->set_role(role);
  return e;
}
inline v1::CareEvent RemovedMember(const std::string& member_id) {
  v1::CareEvent e;
  e.mutable_care_team_member_removed()->set_member_id(member_id);
  return e;
}

inline v1::CareEvent Admission(const std::string& id,
                               const std::string& facility = "org-hospital") {
  v1::CareEvent e;
  v1::AdmissionRecorded* a = e.mutable_admission_recorded();
  a->set_admission_id(id);
  a->set_facility_organization_id(facility);
  a->set_level_of_care(v1::LEVEL_OF_CARE_INPATIENT);
  return e;
}
inline v1::CareEvent Discharge(const std::string& admission_id) {
  v1::CareEvent e;
  e.mutable_discharge_recorded()->set_admission_id(admission_id);
  return e;
}
inline v1::CareEvent Planned(const std::string& id, const std::string& to) {
  v1::CareEvent e;
  v1::TransitionPlanned* t = e.mutable_transition_planned();
  t->set_transition_id(id);
  t->set_to_organization_id(to);
  t->set_to_level_of_care(v1::LEVEL_OF_CARE_HOME);
  return e;
}
inline v1::CareEvent TransitionDone(const std::string& transition_id) {
  v1::CareEvent e;
  e.mutable_transition_completed()->set_transition_id(transition_id);
  return e;
}

inline v1::CareEvent Organization(const std::string& id,
                                  v1::OrganizationType type) {
  v1::CareEvent e;
  e.mutable_organization_registered()->set_organization_id(id);
  e.mutable_organization_registered()->set_name(id);
  e.mutable_organization_registered()->set_type(type);
  return e;
}

// --- Tables ------------------------------------------------------------------

// One command as an organisation sends it.
struct Command {
  std::string organization;
  v1::CareEvent event;
  absl::Duration at = absl::Hours(1);  // occurred_at - kT0
  std::string client_id = kClient;     // another id: a client with no events
  std::string command_id = "cmd-1";
  std::string user = "u-1";  // x-caseline-user; empty: none
};

struct RuleCase {
  std::string name;
  // Commands accepted first, in order (organisation commands included).
  std::vector<Command> given;
  Command command;
  absl::StatusCode code;
  // Each a substring of the refusal's message.
  std::vector<std::string> message = {};
};

// Organisations org-hospital (hospital), org-housing, org-bh and org-bh-2
// (behavioural health), org-sud (substance-use treatment); client c1 has no
// events until a test gives them. The server clock reads kNow.
class DecisionTest : public ::testing::Test {
 protected:
  static inline const absl::Time kNow = kT0 + Days(30);

  void SetUp() override {
    AddOrganization("org-hospital", v1::ORGANIZATION_TYPE_HOSPITAL);
    AddOrganization("org-housing", v1::ORGANIZATION_TYPE_HOUSING);
    AddOrganization("org-bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
    AddOrganization("org-sud", v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
    AddOrganization("org-bh-2", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  }

  void AddOrganization(const std::string& id, v1::OrganizationType type) {
    directory_.Apply(Organization(id, type), CareEventContext{});
  }

  // Folds `event` into c1's record as if `organization` recorded it at `at`,
  // as given (no rule is checked, no default filled in).
  void Given(const v1::CareEvent& event, absl::Time at = kT0,
             const std::string& organization = "org-hospital",
             const std::string& user = "") {
    CareEventContext context;
    context.user_id = user;
    context.stream_version =
        record_.version.has_value() ? *record_.version + 1 : 0;
    context.occurred_at = at;
    context.organization_id = organization;
    record_.Apply(event, context);
  }

  // c1 registered and its case opened by org-hospital at kT0.
  void GivenRegisteredOpenCase() {
    Given(Registered());
    Given(Opened());
  }

  // Validates and decides `command` against the record of its client (c1's,
  // or an empty one) or the directory.
  absl::StatusOr<std::vector<v1::CareEvent>> Decide(const Command& command) {
    CareCommand care_command;
    care_command.command_id = command.command_id;
    care_command.client_id = command.client_id;
    care_command.organization_id = command.organization;
    care_command.user_id = command.user;
    care_command.occurred_at = kT0 + command.at;
    care_command.event = command.event;
    if (absl::Status s = ValidateCareCommand(care_command, kNow); !s.ok()) {
      return s;
    }
    if (care_command.event.has_organization_registered() ||
        care_command.event.has_organization_updated()) {
      return DecideOrganizationCommand(directory_, care_command);
    }
    const ClientRecord other(command.client_id);
    return DecideClientCommand(
        command.client_id == record_.client_id ? record_ : other, directory_,
        [this](absl::string_view id) {
          return known_clients_.count(std::string(id)) > 0;
        },
        care_command);
  }
  absl::StatusOr<std::vector<v1::CareEvent>> Decide(
      const v1::CareEvent& event,
      const std::string& organization = "org-hospital",
      absl::Time at = kT0 + absl::Hours(1)) {
    return Decide(Command{organization, event, at - kT0});
  }

  // Decides `command` and folds what it appends, as the handler would.
  void Record(const Command& command) {
    absl::StatusOr<std::vector<v1::CareEvent>> events = Decide(command);
    ASSERT_TRUE(events.ok()) << events.status();
    for (const v1::CareEvent& event : *events) {
      if (event.has_organization_registered() ||
          event.has_organization_updated()) {
        directory_.Apply(event, CareEventContext{});
      } else {
        Given(event, kT0 + command.at, command.organization, command.user);
      }
    }
  }

  // The record every case of a table starts from; none by default.
  virtual void Background() {}

  // Runs each case from the fixture's directory and Background().
  void ExpectCases(absl::Span<const RuleCase> cases) {
    const OrganizationDirectory directory = directory_;
    for (const RuleCase& c : cases) {
      SCOPED_TRACE(c.name);
      directory_ = directory;
      record_ = ClientRecord(kClient);
      Background();
      for (const Command& given : c.given) {
        Record(given);
        if (HasFatalFailure()) return;
      }
      absl::StatusOr<std::vector<v1::CareEvent>> r = Decide(c.command);
      EXPECT_EQ(r.status().code(), c.code) << r.status();
      for (const std::string& fragment : c.message) {
        EXPECT_THAT(r.status().message(), ::testing::HasSubstr(fragment));
      }
    }
    directory_ = directory;
  }

  OrganizationDirectory directory_;
  ClientRecord record_{kClient};
  std::set<std::string> known_clients_;
};

inline absl::StatusCode CodeOf(
    const absl::StatusOr<std::vector<v1::CareEvent>>& r) {
  return r.status().code();
}

}  // namespace caseline::care::test

#endif  // CASELINE_CARE_DECISION_TEST_UTIL_H_
