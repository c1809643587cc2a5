#include "projections/duplication_projection.h"

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "eventstore/event_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "care/match_model.h"
#include "care/care_event_context.h"
#include "projections/test_log.h"

namespace caseline::projections {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace std::string_literals;

const absl::Time kDay1 = absl::FromCivil(absl::CivilSecond(2025, 3, 3, 9, 0, 0),
                                         absl::UTCTimeZone());

absl::Time Day(int n, int hour = 9) {
  return kDay1 + absl::Hours(24 * (n - 1)) + absl::Hours(hour - 9);
}

v1::CareEvent Registered(const std::string& given, const std::string& family,
                         int year, int month, int day,
                         const std::string& phone = "",
                         v1::Sex sex = v1::SEX_MALE) {
  v1::CareEvent e;
  v1::ClientRegistered* r = e.mutable_client_registered();
  r->mutable_name()->set_given(given);
  r->mutable_name()->set_family(family);
  r->mutable_birth_date()->set_year(year);
  r->mutable_birth_date()->set_month(month);
  r->mutable_birth_date()->set_day(day);
  r->set_sex(sex);
  r->set_phone(phone);
  return e;
}

v1::CareEvent Corrected(const std::string& given, const std::string& family,
                        int year, int month, int day,
                        const std::string& phone) {
  v1::CareEvent e;
  v1::ClientDetailsCorrected* c = e.mutable_client_details_corrected();
  c->mutable_name()->set_given(given);
  c->mutable_name()->set_family(family);
  c->mutable_birth_date()->set_year(year);
  c->mutable_birth_date()->set_month(month);
  c->mutable_birth_date()->set_day(day);
  c->set_phone(phone);
  c->set_reason("corrected at intake");
  return e;
}

v1::CareEvent ServiceStarted(const std::string& id, const std::string& provider,
                             v1::ServiceCategory category) {
  v1::CareEvent e;
  e.mutable_service_started()->set_service_id(id);
  e.mutable_service_started()->set_provider_organization_id(provider);
  e.mutable_service_started()->set_category(category);
  return e;
}

v1::CareEvent ServiceEnded(const std::string& id) {
  v1::CareEvent e;
  e.mutable_service_ended()->set_service_id(id);
  return e;
}

v1::CareEvent ReferralSent(const std::string& id, const std::string& to,
                           v1::ServiceCategory category) {
  v1::CareEvent e;
  e.mutable_referral_sent()->set_referral_id(id);
  e.mutable_referral_sent()->set_from_organization_id("org-hospital");
  e.mutable_referral_sent()->set_to_organization_id(to);
  e.mutable_referral_sent()->set_service_category(category);
  return e;
}

v1::CareEvent ReferralAccepted(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_accepted()->set_referral_id(id);
  return e;
}

v1::CareEvent ReferralCancelled(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_cancelled()->set_referral_id(id);
  return e;
}

v1::CareEvent ReferralCompleted(const std::string& id) {
  v1::CareEvent e;
  e.mutable_referral_completed()->set_referral_id(id);
  return e;
}

v1::CareEvent Linked(const std::string& other) {
  v1::CareEvent e;
  e.mutable_client_records_linked()->set_other_client_id(other);
  return e;
}

v1::CareEvent Unlinked(const std::string& other) {
  v1::CareEvent e;
  e.mutable_client_records_unlinked()->set_other_client_id(other);
  return e;
}

v1::CareEvent Dismissed(const std::string& finding_id) {
  v1::CareEvent e;
  e.mutable_duplicate_dismissed()->set_finding_id(finding_id);
  e.mutable_duplicate_dismissed()->set_reason("reviewed: not a duplicate");
  return e;
}

v1::CareEvent CaseOpened() {
  v1::CareEvent e;
  e.mutable_case_opened()->set_reason("intake");
  return e;
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// A real EventLog in a temp dir (the record cache loads streams from it) and
// one projection fed from ReadAll pages.
class DuplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Recorded times: one minute apart, from 2025-03-10.
    auto ticks = std::make_shared<std::atomic<int64_t>>(0);
    test_log_ = std::make_unique<TestLog>("duplication", [ticks]() {
      return absl::FromCivil(absl::CivilMinute(2025, 3, 10, 0, 0),
                             absl::UTCTimeZone()) +
             absl::Minutes(ticks->fetch_add(1));
    });
    ASSERT_TRUE(test_log_->ok());
    log_ = test_log_->get();
    records_ = std::make_unique<ClientRecordStore>(log_);
    projection_ = std::make_unique<DuplicationProjection>(
        ProjectionInit{log_, 0}, config_, records_.get());
  }
  void TearDown() override {
    projection_.reset();
    records_.reset();
    test_log_.reset();
  }

  // Appends one care event to client-<client> as `org`; returns its position.
  uint64_t Append(const std::string& client, const std::string& org,
                  const v1::CareEvent& event,
                  std::optional<absl::Time> occurred_at = std::nullopt) {
    return test_log_->AppendCare(absl::StrCat("client-", client), event,
                                 occurred_at, org, "worker-1");
  }

  // Appends a non-care event (another stream's) that the projection skips.
  void AppendOther() {
    eventstore::ProposedEvent proposed;
    proposed.event_type = "Noted";
    proposed.content_type = "application/json";
    proposed.payload = "{}";
    ASSERT_TRUE(log_->Append(eventstore::AppendRequest{
                                 "notes",
                                 eventstore::ExpectedVersion::Any(),
                                 {std::move(proposed)}})
                    .ok());
  }

  // Applies every event after the last one applied.
  void CatchUp() {
    eventstore::ReadAllOptions read;
    read.from_position = state_.position() + 1;
    read.max_count = eventstore::kMaxReadCount;
    while (true) {
      absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const eventstore::RecordedEvent& event : page->events) {
        ASSERT_TRUE(projection_->Apply(event, state_).ok());
        state_.set_position(event.global_position);
        recorded_at_[event.global_position] = event.recorded_at;
      }
      if (page->end_of_log || page->events.empty()) break;
      read.from_position = page->next_position;
    }
  }

  std::vector<v1::Finding> List(const v1::ListFindingsRequest& request) {
    absl::StatusOr<v1::ListFindingsResponse> response =
        ListFindings(state_, request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok()) return {};
    EXPECT_EQ(response->view_position(), state_.position());
    return {response->findings().begin(), response->findings().end()};
  }

  std::vector<v1::Finding> ListAll() {
    v1::ListFindingsRequest request;
    request.add_statuses(v1::FINDING_STATUS_OPEN);
    request.add_statuses(v1::FINDING_STATUS_RESOLVED);
    request.add_statuses(v1::FINDING_STATUS_DISMISSED);
    request.set_page_size(1000);
    return List(request);
  }

  std::optional<v1::Finding> FindById(const std::string& id) {
    for (v1::Finding& f : ListAll()) {
      if (f.finding_id() == id) return f;
    }
    return std::nullopt;
  }

  std::vector<std::string> Ids(const std::vector<v1::Finding>& findings) {
    std::vector<std::string> ids;
    ids.reserve(findings.size());
    for (const v1::Finding& f : findings) ids.push_back(f.finding_id());
    return ids;
  }

  care::ViewsConfig config_;
  std::unique_ptr<TestLog> test_log_;
  eventstore::EventLog* log_ = nullptr;
  std::unique_ptr<ClientRecordStore> records_;
  std::unique_ptr<DuplicationProjection> projection_;
  MemoryProjectionState state_;
  std::map<uint64_t, absl::Time> recorded_at_;
};

TEST_F(DuplicationTest, OverlappingServicesOpenUntilOneEnds) {
  Append("c1", "org-hospital", Registered("Ada", "Okafor", 1958, 3, 14));
  const uint64_t s1 = Append(
      "c1", "org-a",
      ServiceStarted("s1", "org-a", v1::SERVICE_CATEGORY_HOUSING), Day(1));
  AppendOther();
  const uint64_t s2 = Append(
      "c1", "org-b",
      ServiceStarted("s2", "org-b", v1::SERVICE_CATEGORY_HOUSING), Day(3));
  Append("c1", "org-c",
         ServiceStarted("s3", "org-c", v1::SERVICE_CATEGORY_FOOD), Day(3));
  Append("c1", "org-a", CaseOpened());
  CatchUp();

  v1::ListFindingsRequest by_client;
  by_client.set_client_id("c1");
  std::vector<v1::Finding> open = List(by_client);
  ASSERT_THAT(open, SizeIs(1));
  const v1::Finding& f = open[0];
  EXPECT_EQ(f.finding_id(), "overlapping-services:c1:HOUSING:s1:s2");
  EXPECT_EQ(f.kind(), v1::FINDING_KIND_OVERLAPPING_SERVICES);
  EXPECT_EQ(f.status(), v1::FINDING_STATUS_OPEN);
  EXPECT_THAT(f.client_ids(), ElementsAre("c1"));
  EXPECT_THAT(f.organization_ids(), ElementsAre("org-a", "org-b"));
  EXPECT_EQ(f.service_category(), v1::SERVICE_CATEGORY_HOUSING);
  EXPECT_THAT(f.subject_ids(), ElementsAre("s1", "s2"));
  EXPECT_THAT(f.cause_positions(), ElementsAre(s1, s2));
  EXPECT_EQ(f.first_detected_position(), s2);
  EXPECT_EQ(FromProto(f.first_detected_at()), recorded_at_[s2]);
  EXPECT_EQ(f.description(),
            "Client c1 has active housing services at org-a (s1) and org-b "
            "(s2) at the same time.");

  const uint64_t ended = Append("c1", "org-a", ServiceEnded("s1"), Day(5));
  CatchUp();
  EXPECT_THAT(List(by_client), IsEmpty());
  std::optional<v1::Finding> resolved =
      FindById("overlapping-services:c1:HOUSING:s1:s2");
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ(resolved->status(), v1::FINDING_STATUS_RESOLVED);
  EXPECT_EQ(FromProto(resolved->status_changed_at()), recorded_at_[ended]);
  EXPECT_THAT(resolved->status_reason(),
              HasSubstr(absl::StrCat("ServiceEnded at position ", ended)));
  EXPECT_EQ(resolved->first_detected_position(), s2);
}

TEST_F(DuplicationTest, SameDayServicesFromTwoProviders) {
  Append("c1", "org-a",
         ServiceStarted("s1", "org-a", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         Day(2, 9));
  Append("c1", "org-a",
         ServiceStarted("s2", "org-a", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         Day(2, 11));  // same provider: not a duplicate
  const uint64_t s3 =
      Append("c1", "org-b",
             ServiceStarted("s3", "org-b", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
             Day(2, 23));
  Append("c1", "org-c",
         ServiceStarted("s4", "org-c", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
         Day(3, 1));  // the next UTC day
  CatchUp();

  v1::ListFindingsRequest request;
  request.add_kinds(v1::FINDING_KIND_SAME_DAY_SERVICES);
  std::vector<v1::Finding> same_day = List(request);
  EXPECT_THAT(Ids(same_day),
              ElementsAre("same-day-services:c1:MENTAL_HEALTH:s1:s3",
                          "same-day-services:c1:MENTAL_HEALTH:s2:s3"));
  ASSERT_THAT(same_day, SizeIs(2));
  EXPECT_EQ(same_day[0].first_detected_position(), s3);
  EXPECT_EQ(same_day[0].description(),
            "Client c1 had mental health services started on 2025-03-04 by "
            "org-a (s1) and by org-b (s3).");

  // Ending the services resolves the overlaps but not the same-day fact.
  Append("c1", "org-b", ServiceEnded("s3"), Day(4));
  CatchUp();
  EXPECT_THAT(List(request), SizeIs(2));
  EXPECT_EQ(FindById("overlapping-services:c1:MENTAL_HEALTH:s1:s3")->status(),
            v1::FINDING_STATUS_RESOLVED);
  EXPECT_EQ(FindById("overlapping-services:c1:MENTAL_HEALTH:s1:s4")->status(),
            v1::FINDING_STATUS_OPEN);
}

TEST_F(DuplicationTest, DuplicateReferralsOpenUntilOneCloses) {
  const uint64_t r1 =
      Append("c1", "org-hospital",
             ReferralSent("r1", "org-a", v1::SERVICE_CATEGORY_HOUSING));
  const uint64_t r2 =
      Append("c1", "org-hospital",
             ReferralSent("r2", "org-b", v1::SERVICE_CATEGORY_HOUSING));
  Append("c1", "org-hospital",
         ReferralSent("r3", "org-a", v1::SERVICE_CATEGORY_FOOD));
  Append("c1", "org-hospital",
         ReferralSent("r4", "org-a", v1::SERVICE_CATEGORY_HOUSING));
  CatchUp();

  v1::ListFindingsRequest request;
  request.set_client_id("c1");
  std::vector<v1::Finding> open = List(request);
  // r1 and r4 go to the same organisation: not a duplicate of each other.
  EXPECT_THAT(Ids(open), ElementsAre("duplicate-referrals:c1:HOUSING:r1:r2",
                                     "duplicate-referrals:c1:HOUSING:r2:r4"));
  ASSERT_THAT(open, SizeIs(2));
  EXPECT_EQ(open[0].kind(), v1::FINDING_KIND_DUPLICATE_REFERRALS);
  EXPECT_THAT(open[0].cause_positions(), ElementsAre(r1, r2));
  EXPECT_THAT(open[0].organization_ids(), ElementsAre("org-a", "org-b"));
  EXPECT_EQ(open[0].description(),
            "Client c1 has open housing referrals to org-a (r1) and to org-b "
            "(r2).");

  // Accepting is not closing; completing r2 closes the loop.
  Append("c1", "org-b", ReferralAccepted("r2"));
  CatchUp();
  EXPECT_THAT(List(request), SizeIs(2));
  const uint64_t completed = Append("c1", "org-b", ReferralCompleted("r2"));
  CatchUp();
  EXPECT_THAT(List(request), IsEmpty());
  std::optional<v1::Finding> f =
      FindById("duplicate-referrals:c1:HOUSING:r1:r2");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_RESOLVED);
  EXPECT_THAT(
      f->status_reason(),
      HasSubstr(absl::StrCat("ReferralCompleted at position ", completed)));
  EXPECT_EQ(FromProto(f->status_changed_at()), recorded_at_[completed]);
}

TEST_F(DuplicationTest, FirstDetectedKeptOnLaterUpdates) {
  Append("c1", "org-hospital",
         ReferralSent("r1", "org-a", v1::SERVICE_CATEGORY_LEGAL));
  const uint64_t detected =
      Append("c1", "org-hospital",
             ReferralSent("r2", "org-b", v1::SERVICE_CATEGORY_LEGAL));
  CatchUp();
  const std::string id = "duplicate-referrals:c1:LEGAL:r1:r2";
  const v1::Finding before = *FindById(id);
  EXPECT_EQ(before.first_detected_position(), detected);

  // Events in the same category re-derive it: nothing about it changes.
  Append("c1", "org-a", ReferralAccepted("r1"));
  Append("c1", "org-hospital",
         ReferralSent("r3", "org-c", v1::SERVICE_CATEGORY_LEGAL));
  CatchUp();
  v1::Finding after = *FindById(id);
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());

  // Resolved and reopened (a referral re-sent under the same id): first
  // detection stays, the status change is the reopening event.
  Append("c1", "org-b", ReferralCancelled("r2"));
  const uint64_t resent =
      Append("c1", "org-hospital",
             ReferralSent("r2", "org-b", v1::SERVICE_CATEGORY_LEGAL));
  CatchUp();
  after = *FindById(id);
  EXPECT_EQ(after.status(), v1::FINDING_STATUS_OPEN);
  EXPECT_EQ(after.first_detected_position(), detected);
  EXPECT_EQ(FromProto(after.first_detected_at()), recorded_at_[detected]);
  EXPECT_THAT(
      after.status_reason(),
      HasSubstr(absl::StrCat("reopened by ReferralSent at position ", resent)));
  EXPECT_THAT(after.cause_positions(),
              ElementsAre(before.cause_positions(0), resent));
}

TEST_F(DuplicationTest, PossibleDuplicateClientsFoundByBlocking) {
  const uint64_t c1 =
      Append("c1", "org-hospital",
             Registered("John", "Smith", 1980, 7, 2, "(541) 555-0199"));
  const uint64_t c2 =
      Append("c2", "org-housing",
             Registered("Jon", "Smtih", 1980, 7, 2, "+1 541 555 0199"));
  // Same birth date, another person.
  Append(
      "c3", "org-housing",
      Registered("Maria", "Lopez", 1980, 7, 2, "541-555-0001", v1::SEX_FEMALE));
  // No shared blocking key with anyone.
  Append("c4", "org-hospital", Registered("Ada", "Okafor", 1958, 3, 14));
  CatchUp();

  v1::ListFindingsRequest request;
  request.add_kinds(v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS);
  std::vector<v1::Finding> findings = List(request);
  ASSERT_THAT(findings, SizeIs(1));
  const v1::Finding& f = findings[0];
  EXPECT_EQ(f.finding_id(), "duplicate-clients:c1:c2");
  EXPECT_THAT(f.client_ids(), ElementsAre("c1", "c2"));
  EXPECT_THAT(f.organization_ids(), ElementsAre("org-hospital", "org-housing"));
  EXPECT_THAT(f.cause_positions(), ElementsAre(c1, c2));
  EXPECT_EQ(f.first_detected_position(), c2);
  EXPECT_EQ(f.match_class(), v1::MATCH_CLASS_MATCH);
  EXPECT_GT(f.match_probability(), 0.99);
  EXPECT_GT(f.match_weight(), 20);
  ASSERT_THAT(f.comparisons(), SizeIs(7));
  EXPECT_EQ(f.comparisons(0).field(), "given_name");
  EXPECT_EQ(f.comparisons(0).agreement(), v1::FIELD_AGREEMENT_AGREE);
  EXPECT_GT(f.comparisons(0).m_probability(), 0);
  EXPECT_GT(f.comparisons(0).u_probability(), 0);
  EXPECT_EQ(f.comparisons(1).field(), "family_name");
  // Scored with the default model: too few pairs for an estimate.
  EXPECT_EQ(f.match_model_pairs(), 0u);
  EXPECT_THAT(f.description(),
              HasSubstr("agree: given_name, family_name, birth_date, sex, "
                        "phone"));

  // Listed for both registering organisations and both clients.
  request.set_organization_id("org-housing");
  EXPECT_THAT(List(request), SizeIs(1));
  request.clear_organization_id();
  request.set_client_id("c2");
  EXPECT_THAT(List(request), SizeIs(1));
  request.set_client_id("c3");
  EXPECT_THAT(List(request), IsEmpty());
}

TEST_F(DuplicationTest, LinkingResolvesAndUnlinkingReopens) {
  Append("c1", "org-hospital",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  const uint64_t detected =
      Append("c2", "org-housing",
             Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  CatchUp();
  const std::string id = "duplicate-clients:c1:c2";
  EXPECT_EQ(FindById(id)->status(), v1::FINDING_STATUS_OPEN);

  // Linked on the second client's stream.
  const uint64_t linked = Append("c2", "org-housing", Linked("c1"));
  CatchUp();
  std::optional<v1::Finding> f = FindById(id);
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_RESOLVED);
  EXPECT_THAT(
      f->status_reason(),
      HasSubstr(absl::StrCat("ClientRecordsLinked at position ", linked)));

  // A correction while linked does not reopen it.
  Append("c1", "org-hospital",
         Corrected("John", "Smith", 1980, 7, 2, "541-555-0198"));
  CatchUp();
  EXPECT_EQ(FindById(id)->status(), v1::FINDING_STATUS_RESOLVED);

  const uint64_t unlinked = Append("c2", "org-housing", Unlinked("c1"));
  CatchUp();
  f = FindById(id);
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_OPEN);
  EXPECT_EQ(f->first_detected_position(), detected);
  EXPECT_THAT(f->status_reason(),
              HasSubstr(absl::StrCat("reopened by ClientRecordsUnlinked at "
                                     "position ",
                                     unlinked)));

  // A client registered after being linked (on its own stream) never opens.
  Append("c5", "org-school", Linked("c1"));
  Append("c5", "org-school",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  CatchUp();
  EXPECT_FALSE(FindById("duplicate-clients:c1:c5").has_value());
  EXPECT_EQ(FindById("duplicate-clients:c2:c5")->status(),
            v1::FINDING_STATUS_OPEN);
}

// An imperfect birth date is a data-quality finding of its client, open
// until a correction gives a whole, plausible date; it names no date.
TEST_F(DuplicationTest, BirthDateQualityFindingsOpenAndResolve) {
  v1::CareEvent recorded = Registered("Ada", "Okafor", 1972, 0, 0);
  recorded.mutable_client_registered()->set_birth_date_recorded_as(
      "1972-95-18");
  const uint64_t registered = Append("c1", "org-hospital", recorded);
  Append("c2", "org-housing", Registered("Ben", "Ode", 1990, 6, 0));
  Append("c3", "org-school", Registered("Cy", "Park", 2031, 1, 1));
  Append("c4", "org-school", Registered("Di", "Quinn", 2001, 1, 1));
  CatchUp();
  std::optional<v1::Finding> f = FindById("birth-date:c1");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind(), v1::FINDING_KIND_BIRTH_DATE_QUALITY);
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_OPEN);
  EXPECT_THAT(f->client_ids(), ElementsAre("c1"));
  EXPECT_THAT(f->organization_ids(), ElementsAre("org-hospital"));
  EXPECT_THAT(f->cause_positions(), ElementsAre(registered));
  EXPECT_EQ(f->description(),
            "Client c1's birth date was recorded as text that is not a "
            "calendar date; correct it when a document shows it.");
  EXPECT_THAT(FindById("birth-date:c2")->description(),
              HasSubstr("is known only to the year and month"));
  EXPECT_THAT(FindById("birth-date:c3")->description(),
              HasSubstr("is after the day it was recorded"));
  EXPECT_FALSE(FindById("birth-date:c4").has_value());
  v1::ListFindingsRequest by_kind;
  by_kind.add_kinds(v1::FINDING_KIND_BIRTH_DATE_QUALITY);
  EXPECT_EQ(List(by_kind).size(), 3u);

  // A correction to a whole date resolves it; the recorded text goes too.
  Append("c1", "org-hospital", Corrected("Ada", "Okafor", 1972, 5, 18, ""));
  CatchUp();
  f = FindById("birth-date:c1");
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_RESOLVED);
  EXPECT_THAT(f->status_reason(),
              HasSubstr("the birth date is a whole, plausible date"));
}

TEST_F(DuplicationTest, CorrectionBelowReviewResolvesAndMovesBlocks) {
  Append("c1", "org-hospital",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  Append("c2", "org-housing",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  CatchUp();
  const std::string id = "duplicate-clients:c1:c2";
  EXPECT_EQ(FindById(id)->status(), v1::FINDING_STATUS_OPEN);
  const std::string old_block = "b\0d:19800702\0c2"s;
  EXPECT_TRUE(state_.data().contains(old_block));

  const uint64_t corrected =
      Append("c2", "org-housing",
             Corrected("Priya", "Raman", 1999, 11, 30, "541-555-0777"));
  CatchUp();
  std::optional<v1::Finding> f = FindById(id);
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_RESOLVED);
  EXPECT_THAT(f->status_reason(),
              HasSubstr(absl::StrCat("ClientDetailsCorrected at position ",
                                     corrected)));
  EXPECT_THAT(f->status_reason(), HasSubstr("below the review threshold 0.40"));
  EXPECT_EQ(f->match_class(), v1::MATCH_CLASS_NON_MATCH);
  // The stale blocking keys are gone; the new ones are there.
  EXPECT_FALSE(state_.data().contains(old_block));
  EXPECT_TRUE(state_.data().contains("b\0d:19991130\0c2"s));

  // A third registration like c2's old details finds c1 only.
  Append("c3", "org-school",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  CatchUp();
  EXPECT_EQ(FindById("duplicate-clients:c1:c3")->status(),
            v1::FINDING_STATUS_OPEN);
  EXPECT_FALSE(FindById("duplicate-clients:c2:c3").has_value());

  // Correcting back reopens the pair (found through the pair bookkeeping
  // and the blocks again).
  Append("c2", "org-housing",
         Corrected("John", "Smith", 1980, 7, 2, "541-555-0199"));
  CatchUp();
  EXPECT_EQ(FindById(id)->status(), v1::FINDING_STATUS_OPEN);
  EXPECT_EQ(FindById("duplicate-clients:c2:c3")->status(),
            v1::FINDING_STATUS_OPEN);
}

TEST_F(DuplicationTest, DismissalIsSticky) {
  Append("c1", "org-hospital",
         ReferralSent("r1", "org-a", v1::SERVICE_CATEGORY_FOOD));
  Append("c1", "org-hospital",
         ReferralSent("r2", "org-b", v1::SERVICE_CATEGORY_FOOD));
  Append("c2", "org-hospital",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  Append("c3", "org-housing",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  CatchUp();
  const std::string referrals = "duplicate-referrals:c1:FOOD:r1:r2";
  const std::string clients = "duplicate-clients:c2:c3";
  ASSERT_EQ(FindById(referrals)->status(), v1::FINDING_STATUS_OPEN);
  ASSERT_EQ(FindById(clients)->status(), v1::FINDING_STATUS_OPEN);

  // A dismissal on the stream of a client the finding is not about is
  // ignored.
  Append("c9", "org-a", Dismissed(referrals));
  CatchUp();
  EXPECT_EQ(FindById(referrals)->status(), v1::FINDING_STATUS_OPEN);

  const uint64_t dismissed = Append("c1", "org-a", Dismissed(referrals));
  const uint64_t dismissed_pair =
      Append("c3", "org-housing", Dismissed(clients));
  CatchUp();
  std::optional<v1::Finding> f = FindById(referrals);
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_DISMISSED);
  EXPECT_EQ(FromProto(f->status_changed_at()), recorded_at_[dismissed]);
  EXPECT_THAT(f->status_reason(), HasSubstr("DuplicateDismissed at position"));
  EXPECT_THAT(f->status_reason(), HasSubstr("reviewed: not a duplicate"));
  EXPECT_EQ(FindById(clients)->status(), v1::FINDING_STATUS_DISMISSED);

  // Re-triggers: the referral closes and is re-sent, the client pair is
  // rescored by a correction and by link/unlink. Both stay dismissed, and
  // keep the dismissal as their last status change.
  Append("c1", "org-b", ReferralCancelled("r2"));
  Append("c1", "org-hospital",
         ReferralSent("r2", "org-b", v1::SERVICE_CATEGORY_FOOD));
  Append("c2", "org-hospital",
         Corrected("John", "Smith", 1980, 7, 2, "541-555-0100"));
  Append("c2", "org-hospital", Linked("c3"));
  Append("c2", "org-hospital", Unlinked("c3"));
  CatchUp();
  EXPECT_EQ(FindById(referrals)->status(), v1::FINDING_STATUS_DISMISSED);
  f = FindById(clients);
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_DISMISSED);
  EXPECT_EQ(FromProto(f->status_changed_at()), recorded_at_[dismissed_pair]);
  // A new referral makes a new pair, which is a new finding.
  Append("c1", "org-hospital",
         ReferralSent("r3", "org-c", v1::SERVICE_CATEGORY_FOOD));
  CatchUp();
  EXPECT_EQ(FindById("duplicate-referrals:c1:FOOD:r1:r3")->status(),
            v1::FINDING_STATUS_OPEN);

  // Dismissed before it was ever detected: born dismissed.
  Append("c4", "org-a", Dismissed("overlapping-services:c4:HOUSING:s1:s2"));
  Append("c4", "org-a",
         ServiceStarted("s1", "org-a", v1::SERVICE_CATEGORY_HOUSING), Day(1));
  Append("c4", "org-b",
         ServiceStarted("s2", "org-b", v1::SERVICE_CATEGORY_HOUSING), Day(2));
  CatchUp();
  EXPECT_EQ(FindById("overlapping-services:c4:HOUSING:s1:s2")->status(),
            v1::FINDING_STATUS_DISMISSED);
  v1::ListFindingsRequest open_for_c4;
  open_for_c4.set_client_id("c4");
  EXPECT_THAT(List(open_for_c4), IsEmpty());
}

// EventEnteredInError naming the event at `position`.
v1::CareEvent MarkedAt(eventstore::EventLog* log, uint64_t position) {
  eventstore::ReadAllOptions read;
  read.from_position = position;
  read.max_count = 1;
  absl::StatusOr<eventstore::LogPage> page = log->ReadAll(read);
  EXPECT_TRUE(page.ok() && page->events.size() == 1);
  v1::CareEvent e;
  e.mutable_event_entered_in_error()->set_event_id(
      page->events[0].event_id.ToString());
  e.mutable_event_entered_in_error()->set_reason("recorded in error");
  e.mutable_event_entered_in_error()->set_stream_version(
      page->events[0].stream_version);
  return e;
}

// docs/views.md "Entered in error": a marked dismissal reopens its finding,
// a marked link lets the pair be scored again, a marked registration takes
// the client out of every pair, and a marked referral resolves the
// duplicate referrals it made.
TEST_F(DuplicationTest, EnteredInErrorUndoesWhatTheEventDid) {
  Append("c2", "org-hospital",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  Append("c3", "org-housing",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  Append("c1", "org-hospital",
         ReferralSent("r1", "org-a", v1::SERVICE_CATEGORY_FOOD));
  const uint64_t r2 = Append("c1", "org-hospital",
                             ReferralSent("r2", "org-b", v1::SERVICE_CATEGORY_FOOD));
  const std::string clients = "duplicate-clients:c2:c3";
  const std::string referrals = "duplicate-referrals:c1:FOOD:r1:r2";
  const uint64_t dismissed = Append("c3", "org-housing", Dismissed(clients));
  CatchUp();
  ASSERT_EQ(FindById(clients)->status(), v1::FINDING_STATUS_DISMISSED);
  ASSERT_EQ(FindById(referrals)->status(), v1::FINDING_STATUS_OPEN);

  Append("c3", "org-housing", MarkedAt(log_, dismissed));
  CatchUp();
  std::optional<v1::Finding> f = FindById(clients);
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_OPEN);
  EXPECT_THAT(f->status_reason(), HasSubstr("its dismissal was entered in error"));

  const uint64_t linked = Append("c2", "org-hospital", Linked("c3"));
  CatchUp();
  ASSERT_EQ(FindById(clients)->status(), v1::FINDING_STATUS_RESOLVED);
  Append("c2", "org-hospital", MarkedAt(log_, linked));
  CatchUp();
  EXPECT_EQ(FindById(clients)->status(), v1::FINDING_STATUS_OPEN);

  Append("c1", "org-hospital", MarkedAt(log_, r2));
  CatchUp();
  f = FindById(referrals);
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_RESOLVED);
  EXPECT_THAT(f->status_reason(), HasSubstr("EventEnteredInError"));

  // c3's registration: the pair resolves, and a new look-alike pairs with
  // c2 only.
  Append("c3", "org-housing", MarkedAt(log_, 2));
  CatchUp();
  f = FindById(clients);
  EXPECT_EQ(f->status(), v1::FINDING_STATUS_RESOLVED);
  EXPECT_THAT(f->status_reason(), HasSubstr("c3's registration was entered in error"));
  Append("c5", "org-housing",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  CatchUp();
  EXPECT_EQ(FindById("duplicate-clients:c2:c5")->status(), v1::FINDING_STATUS_OPEN);
  EXPECT_FALSE(FindById("duplicate-clients:c3:c5").has_value());
}

TEST_F(DuplicationTest, PagingAndFilters) {
  // Five clients with overlapping housing services at org-a and org-b.
  for (int i = 1; i <= 5; ++i) {
    const std::string client = absl::StrCat("k", i);
    Append(client, "org-a",
           ServiceStarted("s1", "org-a", v1::SERVICE_CATEGORY_HOUSING), Day(1));
    Append(client, "org-b",
           ServiceStarted("s2", "org-b", v1::SERVICE_CATEGORY_HOUSING), Day(2));
  }
  Append("c1", "org-hospital",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  Append("c2", "org-housing",
         Registered("John", "Smith", 1980, 7, 2, "541-555-0199"));
  Append("k3", "org-b", ServiceEnded("s2"), Day(3));
  CatchUp();

  const std::vector<v1::Finding> all = ListAll();
  ASSERT_THAT(all, SizeIs(6));
  v1::ListFindingsRequest request;
  // Default: open only, oldest detection first.
  EXPECT_THAT(Ids(List(request)),
              ElementsAre("overlapping-services:k1:HOUSING:s1:s2",
                          "overlapping-services:k2:HOUSING:s1:s2",
                          "overlapping-services:k4:HOUSING:s1:s2",
                          "overlapping-services:k5:HOUSING:s1:s2",
                          "duplicate-clients:c1:c2"));

  // Pages of 2 over every status give the one-page list, in order.
  request.add_statuses(v1::FINDING_STATUS_RESOLVED);
  request.add_statuses(v1::FINDING_STATUS_OPEN);
  for (int page_size : {1, 2, 4, 5, 6}) {
    request.set_page_size(page_size);
    request.clear_page_token();
    std::vector<std::string> paged;
    int pages = 0;
    while (true) {
      absl::StatusOr<v1::ListFindingsResponse> response =
          ListFindings(state_, request);
      ASSERT_TRUE(response.ok()) << response.status();
      ASSERT_LE(response->findings_size(), page_size);
      for (const v1::Finding& f : response->findings())
        paged.push_back(f.finding_id());
      ++pages;
      if (response->next_page_token().empty()) break;
      request.set_page_token(response->next_page_token());
    }
    EXPECT_EQ(paged, Ids(all)) << "page_size " << page_size;
    EXPECT_EQ(pages, (6 + page_size - 1) / page_size) << page_size;
  }

  v1::ListFindingsRequest filtered;
  filtered.add_statuses(v1::FINDING_STATUS_RESOLVED);
  EXPECT_THAT(Ids(List(filtered)),
              ElementsAre("overlapping-services:k3:HOUSING:s1:s2"));
  filtered.clear_statuses();
  filtered.add_kinds(v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS);
  EXPECT_THAT(Ids(List(filtered)), ElementsAre("duplicate-clients:c1:c2"));
  filtered.add_kinds(v1::FINDING_KIND_OVERLAPPING_SERVICES);
  EXPECT_THAT(List(filtered), SizeIs(5));
  filtered.clear_kinds();
  filtered.set_client_id("k2");
  EXPECT_THAT(Ids(List(filtered)),
              ElementsAre("overlapping-services:k2:HOUSING:s1:s2"));
  filtered.clear_client_id();
  filtered.set_organization_id("org-b");
  EXPECT_THAT(List(filtered), SizeIs(4));
  filtered.set_organization_id("org-hospital");
  EXPECT_THAT(Ids(List(filtered)), ElementsAre("duplicate-clients:c1:c2"));
  filtered.set_organization_id("org-nobody");
  EXPECT_THAT(List(filtered), IsEmpty());

  // Errors name the field.
  auto error = [this](const v1::ListFindingsRequest& r) {
    absl::StatusOr<v1::ListFindingsResponse> response = ListFindings(state_, r);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(response.status().message());
  };
  v1::ListFindingsRequest bad;
  bad.set_client_id("k1");
  bad.set_organization_id("org-a");
  EXPECT_THAT(error(bad), HasSubstr("client_id and organization_id"));
  bad.clear_organization_id();
  bad.set_page_size(1001);
  EXPECT_THAT(error(bad), HasSubstr("page_size"));
  bad.set_page_size(-1);
  EXPECT_THAT(error(bad), HasSubstr("page_size"));
  bad.set_page_size(1000);
  EXPECT_TRUE(ListFindings(state_, bad).ok());
  bad.set_page_token("not a token!");
  EXPECT_THAT(error(bad), HasSubstr("page_token"));
  // A token from another query's scope.
  v1::ListFindingsRequest network;
  network.set_page_size(1);
  absl::StatusOr<v1::ListFindingsResponse> first =
      ListFindings(state_, network);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->next_page_token().empty());
  bad.set_page_token(first->next_page_token());
  EXPECT_THAT(error(bad), HasSubstr("page_token"));
  bad.clear_page_token();
  bad.add_statuses(v1::FINDING_STATUS_UNSPECIFIED);
  EXPECT_THAT(error(bad), HasSubstr("statuses"));
  bad.clear_statuses();
  bad.add_kinds(static_cast<v1::FindingKind>(99));
  EXPECT_THAT(error(bad), HasSubstr("kinds"));
}

// A random but valid event sequence folded in one pass and in random chunks,
// each chunk by a new projection instance (fresh record cache, so records
// reload from the log), must store exactly the same state.
// 60 clients born the same day share a block: 1,770 compared pairs, past
// kFirstMatchModelEstimatePairs. The model is estimated from them, stored,
// read back through GetMatchModel, and every pair finding is rescored with
// it. A new instance resuming from the stored state ends where one instance
// applying everything does.
TEST_F(DuplicationTest, TheMatchModelIsLearnedStoredAndResumed) {
  const std::vector<std::string> given = {"Ana",  "Ben",  "Cleo", "Dev",
                                          "Eli",  "Fay",  "Gus",  "Hana",
                                          "Ivo",  "Jude", "Kai",  "Lia"};
  const std::vector<std::string> family = {"Okafor", "Nguyen", "Silva",
                                           "Kowalski", "Haddad"};
  uint64_t half = 0;
  for (int i = 0; i < 60; ++i) {
    // Every tenth client is registered twice, the second time with a typo.
    const std::string g = given[i % given.size()];
    const std::string f = family[(i / given.size()) % family.size()];
    Append(absl::StrCat("m", i), "org-hospital",
           Registered(g, f, 1980, 7, 2, absl::StrCat("541-555-", 1000 + i)));
    if (i % 10 == 0) {
      Append(absl::StrCat("m", i, "b"), "org-housing",
             Registered(g, f + "e", 1980, 7, 2,
                        absl::StrCat("541-555-", 1000 + i)));
    }
    if (i == 30) half = log_->HeadPosition();
  }
  // One instance, everything.
  CatchUp();
  absl::StatusOr<v1::GetMatchModelResponse> model =
      GetMatchModel(state_, config_);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_GE(model->estimated_at_pairs(), kFirstMatchModelEstimatePairs);
  EXPECT_GT(model->estimated_at_position(), 0u);
  EXPECT_TRUE(model->has_estimated_at());
  EXPECT_EQ(model->next_estimate_at_pairs(),
            model->estimated_at_pairs() * kMatchModelEstimateGrowth);
  EXPECT_GE(model->compared_pairs(), model->estimated_at_pairs());
  EXPECT_GT(model->iterations(), 0u);
  EXPECT_EQ(model->given_name_clients(), 66u);
  EXPECT_EQ(model->family_name_clients(), 66u);
  EXPECT_EQ(model->match_threshold(), config_.match_threshold);
  EXPECT_EQ(model->view_position(), state_.position());
  ASSERT_EQ(model->fields_size(), care::kMatchFieldCount);
  EXPECT_EQ(model->fields(0).field(), "given_name");
  EXPECT_EQ(model->fields(0).levels(0).agreement(), v1::FIELD_AGREEMENT_AGREE);
  EXPECT_NEAR(model->fields(0).levels(0).weight(),
              std::log2(model->fields(0).levels(0).m_probability() /
                        model->fields(0).levels(0).u_probability()),
              1e-9);
  // Sex has no partial level.
  EXPECT_EQ(model->fields(care::kSexField).levels_size(), 2);
  EXPECT_GT(model->prior(), 0);
  EXPECT_NE(model->prior(), care::DefaultMatchModel().prior);

  // The duplicates found, scored with the learned model.
  int scored = 0;
  for (const v1::Finding& f : ListAll()) {
    if (f.kind() != v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS) continue;
    EXPECT_EQ(f.match_model_pairs(), model->estimated_at_pairs())
        << f.finding_id();
    ++scored;
  }
  EXPECT_GE(scored, 6);

  // A correction of the phone alone leaves the name counts; one of the
  // family name moves one client from a name to another.
  Append("m1", "org-hospital", Corrected("Ben", "Okafor", 1980, 7, 2,
                                         "541-555-9999"));
  Append("m2", "org-hospital", Corrected("Cleo", "Quill", 1980, 7, 2,
                                         "541-555-1002"));
  CatchUp();
  model = GetMatchModel(state_, config_);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->given_name_clients(), 66u);
  EXPECT_EQ(model->family_name_clients(), 66u);
  EXPECT_TRUE(state_.data().count(absl::StrCat(
      std::string("t\0f\0", 4), "quill")));

  // Two instances: the second resumes from the first's stored state.
  MemoryProjectionState resumed;
  {
    ClientRecordStore records(log_);
    DuplicationProjection first(ProjectionInit{log_, 0}, config_, &records);
    eventstore::ReadAllOptions read;
    read.from_position = 1;
    read.max_count = eventstore::kMaxReadCount;
    absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
    ASSERT_TRUE(page.ok());
    for (const eventstore::RecordedEvent& event : page->events) {
      if (event.global_position > half) break;
      ASSERT_TRUE(first.Apply(event, resumed).ok());
      resumed.set_position(event.global_position);
    }
  }
  {
    ClientRecordStore records(log_);
    DuplicationProjection second(ProjectionInit{log_, half}, config_,
                                 &records);
    eventstore::ReadAllOptions read;
    read.from_position = half + 1;
    read.max_count = eventstore::kMaxReadCount;
    absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
    ASSERT_TRUE(page.ok());
    for (const eventstore::RecordedEvent& event : page->events) {
      ASSERT_TRUE(second.Apply(event, resumed).ok());
      resumed.set_position(event.global_position);
    }
  }
  EXPECT_EQ(resumed.data(), state_.data());
}

// A state written by a build of another format version is refused at the
// first event, telling the operator to rebuild.
TEST_F(DuplicationTest, AnotherFormatVersionIsRefused) {
  state_.Put("v", "1");
  Append("c1", "org-hospital", Registered("Ann", "Lee", 1970, 1, 2));
  eventstore::ReadAllOptions read;
  read.from_position = 1;
  absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->events.empty());
  const absl::Status status = projection_->Apply(page->events[0], state_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "the duplication projection's stored format is version 1 and this "
            "build reads version 2; rebuild it (caseline projections rebuild "
            "duplication)");
}

TEST_F(DuplicationTest, IncrementalEqualsRebuild) {
  std::mt19937 rng(20250310);
  auto pick = [&rng](auto n) {
    return static_cast<int>(
        std::uniform_int_distribution<int>(0, static_cast<int>(n) - 1)(rng));
  };
  const std::vector<std::string> orgs = {"org-a", "org-b", "org-c", "org-d"};
  const std::vector<v1::ServiceCategory> categories = {
      v1::SERVICE_CATEGORY_HOUSING, v1::SERVICE_CATEGORY_FOOD,
      v1::SERVICE_CATEGORY_MENTAL_HEALTH};
  const std::vector<std::string> given = {"John", "Jon", "Maria", "Ana"};
  const std::vector<std::string> family = {"Smith", "Smyth", "Lopez"};
  constexpr int kClients = 14;
  struct Sim {
    bool registered = false;
    std::vector<std::string> services;   // started
    std::vector<std::string> referrals;  // sent
    std::vector<std::string> dismissable;
  };
  std::vector<Sim> sims(kClients);
  int next_id = 0;
  auto client_name = [](int i) { return absl::StrCat("c", i); };
  for (int step = 0; step < 600; ++step) {
    const int c = pick(kClients);
    Sim& sim = sims[c];
    const std::string client = client_name(c);
    const std::string& org = orgs[pick(orgs.size())];
    const v1::ServiceCategory category = categories[pick(categories.size())];
    const absl::Time at = Day(1 + pick(4), 8 + pick(10));
    if (!sim.registered) {
      sim.registered = true;
      Append(client, org,
             Registered(given[pick(given.size())], family[pick(family.size())],
                        1980, 7, 1 + pick(2),
                        "541-555-01" + std::to_string(10 + pick(3))),
             at);
      continue;
    }
    switch (pick(10)) {
      case 0:
        Append(client, org,
               Corrected(given[pick(given.size())], family[pick(family.size())],
                         1980, 7, 1 + pick(2),
                         "541-555-01" + std::to_string(10 + pick(3))),
               at);
        break;
      case 1:
      case 2: {
        const std::string id = absl::StrCat("s", next_id++);
        sim.services.push_back(id);
        Append(client, org, ServiceStarted(id, org, category), at);
        break;
      }
      case 3:
        if (!sim.services.empty())
          Append(client, org,
                 ServiceEnded(sim.services[pick(sim.services.size())]), at);
        break;
      case 4:
      case 5: {
        const std::string id = absl::StrCat("r", next_id++);
        sim.referrals.push_back(id);
        Append(client, "org-hospital", ReferralSent(id, org, category), at);
        break;
      }
      case 6:
        if (!sim.referrals.empty()) {
          const std::string& id = sim.referrals[pick(sim.referrals.size())];
          Append(client, org,
                 pick(2) == 0 ? ReferralCancelled(id) : ReferralAccepted(id),
                 at);
        }
        break;
      case 7: {
        const std::string other = client_name(pick(kClients));
        Append(client, org, pick(2) == 0 ? Linked(other) : Unlinked(other), at);
        break;
      }
      case 8: {
        // Dismiss a finding that may exist: a client pair or a referral pair.
        std::string id;
        if (pick(2) == 0 || sim.referrals.size() < 2) {
          std::string a = client, b = client_name(pick(kClients));
          if (b < a) std::swap(a, b);
          id = absl::StrCat("duplicate-clients:", a, ":", b);
        } else {
          std::string a = sim.referrals[pick(sim.referrals.size())];
          std::string b = sim.referrals[pick(sim.referrals.size())];
          if (b < a) std::swap(a, b);
          id = absl::StrCat("duplicate-referrals:", client, ":",
                            v1::ServiceCategory_Name(category).substr(17), ":",
                            a, ":", b);
        }
        Append(client, org, Dismissed(id), at);
        break;
      }
      default:
        Append(client, org, CaseOpened(), at);
        if (pick(3) == 0) AppendOther();
        break;
    }
  }

  std::vector<eventstore::RecordedEvent> events;
  {
    eventstore::ReadAllOptions read;
    read.max_count = eventstore::kMaxReadCount;
    while (true) {
      absl::StatusOr<eventstore::LogPage> page = log_->ReadAll(read);
      ASSERT_TRUE(page.ok()) << page.status();
      events.insert(events.end(), page->events.begin(), page->events.end());
      if (page->end_of_log || page->events.empty()) break;
      read.from_position = page->next_position;
    }
  }
  ASSERT_GT(events.size(), 500u);

  MemoryProjectionState single;
  {
    DuplicationProjection projection(ProjectionInit{log_, 0}, config_,
                                     records_.get());
    for (const eventstore::RecordedEvent& event : events) {
      ASSERT_TRUE(projection.Apply(event, single).ok());
      single.set_position(event.global_position);
    }
  }

  MemoryProjectionState chunked;
  size_t next = 0;
  int instances = 0;
  while (next < events.size()) {
    const size_t chunk = 1 + pick(60);
    DuplicationProjection projection(ProjectionInit{log_, chunked.position()},
                                     config_, records_.get());
    ++instances;
    for (size_t i = 0; i < chunk && next < events.size(); ++i, ++next) {
      ASSERT_TRUE(projection.Apply(events[next], chunked).ok());
      chunked.set_position(events[next].global_position);
    }
  }
  EXPECT_GT(instances, 5);
  EXPECT_EQ(single.position(), chunked.position());
  EXPECT_TRUE(single.data() == chunked.data());

  // The sequence exercised every kind and status.
  std::map<v1::FindingKind, int> kinds;
  std::map<v1::FindingStatus, int> statuses;
  v1::ListFindingsRequest request;
  request.set_page_size(1000);
  request.add_statuses(v1::FINDING_STATUS_OPEN);
  request.add_statuses(v1::FINDING_STATUS_RESOLVED);
  request.add_statuses(v1::FINDING_STATUS_DISMISSED);
  absl::StatusOr<v1::ListFindingsResponse> response =
      ListFindings(single, request);
  ASSERT_TRUE(response.ok()) << response.status();
  for (const v1::Finding& f : response->findings()) {
    ++kinds[f.kind()];
    ++statuses[f.status()];
  }
  EXPECT_EQ(kinds.size(), 4u);
  EXPECT_EQ(statuses.size(), 3u);
}

}  // namespace
}  // namespace caseline::projections
