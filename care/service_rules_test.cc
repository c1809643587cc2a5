// The service rules (service_rules.cc): starting a service, notifying its
// interruption and ending it.
#include <string>

#include "care/care_decision.h"
#include "care/decision_test_util.h"
#include "gtest/gtest.h"

namespace caseline::care::test {
namespace {

using C = absl::StatusCode;

// c1 registered and its case opened by org-hospital.
class ServiceRulesTest : public DecisionTest {
 protected:
  void Background() override { GivenRegisteredOpenCase(); }
};

TEST_F(ServiceRulesTest, AServiceStartsOnceAndEndsOnce) {
  const Command started = {"org-hospital", Service("s1", "org-hospital")};
  const Command ended = {"org-hospital", Ended("s1")};
  v1::CareEvent for_unknown_referral = Service("s1", "org-hospital");
  for_unknown_referral.mutable_service_started()->set_referral_id("r9");
  v1::CareEvent interruption;
  interruption.mutable_service_interruption_notified()->set_service_id("s1");
  interruption.mutable_service_interruption_notified()
      ->mutable_expected_end()
      ->set_nanos(-1);
  const RuleCase cases[] = {
      {"a provider that is not registered",
       {},
       {"org-hospital", Service("s1", "nowhere-org")},
       C::kNotFound,
       {"service_started.provider_organization_id: organisation nowhere-org "
        "is not registered"}},
      {"for an unknown referral",
       {},
       {"org-hospital", for_unknown_referral},
       C::kNotFound,
       {"client c1 has no referral r9"}},
      {"a service id already used",
       {started},
       started,
       C::kAlreadyExists,
       {"service s1 already exists for client c1; choose a new id"}},
      {"ended", {started}, ended, C::kOk},
      {"ended twice",
       {started, ended},
       ended,
       C::kFailedPrecondition,
       {"service s1 of client c1 has already ended"}},
      {"an interruption's expected end",
       {started},
       {"org-hospital", interruption},
       C::kInvalidArgument,
       {"service_interruption_notified.expected_end: nanos must be "
        "0..999999999"}},
  };
  ExpectCases(cases);
}

}  // namespace
}  // namespace caseline::care::test
