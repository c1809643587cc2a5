#include "projections/client_record_store.h"
#include "care/access_policy.h"

#include "caseline/v1/wire_constants.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/access_projection.h"
#include "projections/test_log.h"

namespace caseline::projections {
namespace {

using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromCivil(absl::CivilDay(2026, 3, 2), absl::UTCTimeZone());

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

class AccessPolicyTest : public ::testing::Test {
 protected:
  void Org(const std::string& id, v1::OrganizationType type) {
    v1::CareEvent e;
    e.mutable_organization_registered()->set_organization_id(id);
    e.mutable_organization_registered()->set_type(type);
    log_.AppendCare(care::kOrganizationsStream, e, kT0, id);
    care::CareEventContext context;
    directory_.Apply(e, context);
  }
  void Client(const v1::CareEvent& e, const std::string& org,
              absl::Duration after = absl::ZeroDuration()) {
    log_.AppendCare(care::ClientStreamId("c1"), e, kT0 + after, org);
  }
  // The client's access fold as the store serves it, classified with the
  // directory in the log (the same as directory_).
  care::ClientAccessFold Fold() {
    absl::StatusOr<ClientAtHead> opened = records_.Open("c1");
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return care::ClientAccessFold("c1");
    return opened->client->access();
  }
  static v1::CareEvent Registered() {
    v1::CareEvent e;
    e.mutable_client_registered()->mutable_name()->set_family("Okafor");
    return e;
  }
  static v1::CareEvent Referral(const std::string& id, const std::string& from,
                                const std::string& to,
                                v1::ServiceCategory category) {
    v1::CareEvent e;
    v1::ReferralSent* r = e.mutable_referral_sent();
    r->set_referral_id(id);
    r->set_from_organization_id(from);
    r->set_to_organization_id(to);
    r->set_service_category(category);
    return e;
  }
  static v1::CareEvent Consent(const std::string& id,
                               std::vector<std::string> orgs,
                               std::vector<v1::DataClass> classes) {
    v1::CareEvent e;
    v1::ConsentGiven* c = e.mutable_consent_given();
    c->set_consent_id(id);
    for (const auto& o : orgs) c->add_recipient_organization_ids(o);
    for (auto d : classes) c->add_data_classes(d);
    return e;
  }

  TestLog log_{"access_policy"};
  ClientRecordStore records_{log_.get()};
  care::OrganizationDirectory directory_;
};

TEST_F(AccessPolicyTest, ClassesFollowCategoriesSubjectsAndPart2Programs) {
  Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL);
  Org("sud", v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT);
  Org("bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  Client(Registered(), "hospital");                                        // 0
  Client(Referral("r1", "hospital", "bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         "hospital");                                                      // 1
  v1::CareEvent accepted;
  accepted.mutable_referral_accepted()->set_referral_id("r1");
  Client(accepted, "bh");                                                  // 2
  Client(Referral("r2", "hospital", "sud", v1::SERVICE_CATEGORY_HOUSING),
         "hospital");                                                      // 3
  v1::CareEvent note;
  note.mutable_case_opened()->set_reason("intake");
  Client(note, "sud");                                                     // 4
  const care::ClientAccessFold fold = Fold();
  constexpr auto kGeneral = care::ClassBit(v1::DATA_CLASS_GENERAL);
  constexpr auto kMh = care::ClassBit(v1::DATA_CLASS_MENTAL_HEALTH);
  constexpr auto kPart2 = care::ClassBit(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
  constexpr auto kHousing = care::ClassBit(v1::DATA_CLASS_HOUSING);
  EXPECT_EQ(fold.ClassesAt(0), kGeneral);
  EXPECT_EQ(fold.ClassesAt(1), kMh);
  EXPECT_EQ(fold.ClassesAt(2), kMh) << "a referral's lifecycle inherits it";
  EXPECT_EQ(fold.ClassesAt(3), kHousing | kPart2)
      << "naming a Part 2 program identifies a Part 2 patient";
  EXPECT_EQ(fold.ClassesAt(4), kGeneral | kPart2)
      << "a Part 2 program's own records";
  EXPECT_EQ(fold.AuthorAt(2), "bh");
  ASSERT_NE(fold.FindSubject("r1"), nullptr);
  EXPECT_EQ(fold.FindSubject("r1")->classes, kMh);
  EXPECT_EQ(fold.FindSubject("nope"), nullptr);
}

TEST_F(AccessPolicyTest, InvolvementAndConsentDecideTogether) {
  Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL);
  Org("bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  Org("school", v1::ORGANIZATION_TYPE_SCHOOL);
  Client(Registered(), "hospital");
  Client(Referral("r1", "hospital", "bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         "hospital");
  Client(Consent("k1", {"bh", "school"}, {v1::DATA_CLASS_GENERAL}),
         "hospital");
  const care::ClientAccessFold fold = Fold();
  const care::AccessReader bh{"bh", v1::PURPOSE_OF_USE_CARE_COORDINATION,
                        kT0 + absl::Hours(1)};
  care::ClientAccessDecision d = care::Decide(fold, bh, directory_);
  EXPECT_TRUE(d.involved);
  EXPECT_EQ(d.covered, care::ClassBit(v1::DATA_CLASS_GENERAL));
  EXPECT_TRUE(d.Visible(fold.ClassesAt(0), fold.AuthorAt(0)));
  EXPECT_FALSE(d.Visible(fold.ClassesAt(1), fold.AuthorAt(1)))
      << "mental health is not covered";
  EXPECT_THAT(d.ConsentsFor(care::ClassBit(v1::DATA_CLASS_GENERAL)),
              ElementsAre("k1"));

  // Consent without involvement shows nothing.
  const care::AccessReader school{"school", v1::PURPOSE_OF_USE_CARE_COORDINATION,
                            kT0 + absl::Hours(1)};
  d = care::Decide(fold, school, directory_);
  EXPECT_FALSE(d.involved);
  EXPECT_FALSE(d.Visible(fold.ClassesAt(0), fold.AuthorAt(0)));
  // The author always sees its own.
  const care::AccessReader hospital{"hospital", v1::PURPOSE_OF_USE_TREATMENT,
                              kT0 + absl::Hours(1)};
  d = care::Decide(fold, hospital, directory_);
  EXPECT_TRUE(d.Visible(fold.ClassesAt(1), fold.AuthorAt(1)));
}

TEST_F(AccessPolicyTest, RevocationTakesEffectAtItsEffectiveTime) {
  Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL);
  Org("bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  Client(Registered(), "hospital");
  Client(Referral("r1", "hospital", "bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         "hospital");
  Client(Consent("k1", {"bh"},
                 {v1::DATA_CLASS_GENERAL, v1::DATA_CLASS_MENTAL_HEALTH}),
         "hospital");
  v1::CareEvent revoked;
  revoked.mutable_consent_revoked()->set_consent_id("k1");
  *revoked.mutable_consent_revoked()->mutable_effective_at() =
      Ts(kT0 + absl::Hours(10));
  Client(revoked, "hospital", absl::Hours(2));
  const care::ClientAccessFold fold = Fold();
  auto covered_at = [&](absl::Time at) {
    return care::Decide(fold, {"bh", v1::PURPOSE_OF_USE_CARE_COORDINATION, at},
                  directory_)
        .covered;
  };
  EXPECT_NE(covered_at(kT0 + absl::Hours(9)), 0u);
  EXPECT_EQ(covered_at(kT0 + absl::Hours(10)), 0u);
}

TEST_F(AccessPolicyTest, Part2NeedsTheOrganisationNamedNotItsType) {
  Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL);
  Org("bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  Client(Registered(), "hospital");
  Client(Referral("r1", "hospital", "bh", v1::SERVICE_CATEGORY_SUBSTANCE_USE),
         "hospital");
  v1::CareEvent by_type;
  v1::ConsentGiven* c = by_type.mutable_consent_given();
  c->set_consent_id("k-type");
  c->add_recipient_organization_types(v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  c->add_data_classes(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
  c->add_data_classes(v1::DATA_CLASS_GENERAL);
  Client(by_type, "hospital");
  care::ClientAccessFold fold = Fold();
  care::ClientAccessDecision d = care::Decide(
      fold, {"bh", v1::PURPOSE_OF_USE_TREATMENT, kT0 + absl::Hours(1)},
      directory_);
  EXPECT_EQ(d.covered, care::ClassBit(v1::DATA_CLASS_GENERAL));
  EXPECT_FALSE(d.Visible(fold.ClassesAt(1), ""));

  Client(Consent("k-named", {"bh"}, {v1::DATA_CLASS_SUBSTANCE_USE_PART2}),
         "hospital");
  fold = Fold();
  d = care::Decide(fold, {"bh", v1::PURPOSE_OF_USE_TREATMENT, kT0 + absl::Hours(1)},
             directory_);
  EXPECT_TRUE(d.Visible(fold.ClassesAt(1), ""));
  EXPECT_THAT(d.ConsentsFor(fold.ClassesAt(1)), ElementsAre("k-named"));
}

TEST_F(AccessPolicyTest, PurposeMustBeAmongTheConsentsPurposes) {
  Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL);
  Org("bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  Client(Registered(), "hospital");
  Client(Referral("r1", "hospital", "bh", v1::SERVICE_CATEGORY_HOUSING),
         "hospital");
  v1::CareEvent consent = Consent("k1", {"bh"}, {v1::DATA_CLASS_GENERAL});
  consent.mutable_consent_given()->add_purposes(v1::PURPOSE_OF_USE_TREATMENT);
  Client(consent, "hospital");
  const care::ClientAccessFold fold = Fold();
  EXPECT_NE(care::Decide(fold, {"bh", v1::PURPOSE_OF_USE_TREATMENT, kT0 + absl::Hours(1)},
                   directory_)
                .covered,
            0u);
  EXPECT_EQ(care::Decide(fold, {"bh", v1::PURPOSE_OF_USE_RESEARCH, kT0 + absl::Hours(1)},
                   directory_)
                .covered,
            0u);
}

TEST(AccessStreamTest, NamesAndParses) {
  EXPECT_EQ(care::AccessStreamId("c1"), "access-c1");
  EXPECT_EQ(care::ClientOfAccessStream("access-c1"), "c1");
  EXPECT_FALSE(care::ClientOfAccessStream("access-").has_value());
  EXPECT_FALSE(care::ClientOfAccessStream("client-c1").has_value());
  EXPECT_EQ(care::DataClassNames(care::ClassBit(v1::DATA_CLASS_GENERAL) |
                           care::ClassBit(v1::DATA_CLASS_SUBSTANCE_USE_PART2)),
            "GENERAL, SUBSTANCE_USE_PART2");
}

}  // namespace
}  // namespace caseline::projections

namespace caseline::projections {
namespace {

eventstore::RecordedEvent AccessEvent(uint64_t position, const std::string& id,
                                      const v1::CareEvent& event,
                                      const std::string& org) {
  eventstore::RecordedEvent e;
  e.event_id = eventstore::EventId::FromName(id);
  e.stream_id = care::AccessStreamId("c1");
  e.global_position = position;
  e.event_type = care::CareEventName(event);
  e.content_type = v1::kCareEventContentType;
  e.payload = event.SerializeAsString();
  e.actor.organization_id = org;
  e.recorded_at = absl::FromUnixSeconds(1700000000 + position);
  return e;
}

v1::CareEvent Accessed(v1::AccessBasis basis) {
  v1::CareEvent e;
  e.mutable_record_accessed()->set_client_id("c1");
  e.mutable_record_accessed()->set_basis(basis);
  e.mutable_record_accessed()->set_break_glass_reason("overdose");
  return e;
}

TEST(AccessProjectionTest, ListsOverridesUntilReviewedAndPages) {
  AccessProjection projection;
  MemoryProjectionState state;
  ASSERT_TRUE(projection
                  .Apply(AccessEvent(1, "a1", Accessed(v1::ACCESS_BASIS_CONSENT),
                                     "org-a"),
                         state)
                  .ok());
  for (uint64_t p = 2; p <= 4; ++p) {
    ASSERT_TRUE(projection
                    .Apply(AccessEvent(p, absl::StrCat("a", p),
                                       Accessed(v1::ACCESS_BASIS_BREAK_GLASS),
                                       "org-er"),
                           state)
                    .ok());
  }
  v1::ListBreakGlassRequest request;
  request.set_page_size(2);
  absl::StatusOr<v1::ListBreakGlassResponse> page =
      ListBreakGlass(state, request);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->accesses_size(), 2);  // the consent-based read is not listed
  EXPECT_EQ(page->accesses(0).global_position(), 2u);
  EXPECT_EQ(page->accesses(0).organization_id(), "org-er");
  EXPECT_EQ(page->accesses(0).reason(), "overdose");
  request.set_page_token(page->next_page_token());
  page = ListBreakGlass(state, request);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->accesses_size(), 1);
  EXPECT_EQ(page->accesses(0).global_position(), 4u);
  EXPECT_TRUE(page->next_page_token().empty());

  v1::CareEvent review;
  review.mutable_break_glass_reviewed()->set_access_event_id(
      eventstore::EventId::FromName("a3").ToString());
  review.mutable_break_glass_reviewed()->set_note("confirmed");
  ASSERT_TRUE(
      projection.Apply(AccessEvent(5, "r1", review, "auditor"), state).ok());
  page = ListBreakGlass(state, v1::ListBreakGlassRequest());
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->accesses_size(), 2);
  EXPECT_EQ(page->accesses(1).global_position(), 4u);
  v1::ListBreakGlassRequest all;
  all.set_include_reviewed(true);
  page = ListBreakGlass(state, all);
  ASSERT_EQ(page->accesses_size(), 3);
  EXPECT_TRUE(page->accesses(1).reviewed());
  EXPECT_EQ(page->accesses(1).reviewed_by_organization_id(), "auditor");
  EXPECT_EQ(page->accesses(1).review_note(), "confirmed");

  EXPECT_EQ(FindBreakGlass(state, "nope").status().code(),
            absl::StatusCode::kNotFound);
  request.set_page_token("zz");
  EXPECT_EQ(ListBreakGlass(state, request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace caseline::projections
