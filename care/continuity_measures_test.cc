// Measure index entries and ComputeMeasure (care/measures.h).
#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "care/continuity_test_util.h"
#include "care/measures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care::continuity_testing {
namespace {

using ::testing::ElementsAre;

class ContinuityMeasureTest : public ContinuityTest {
 protected:
  // A client with an index admission discharged (or visited) at Day(0).
  ClientRecord& NewClient(
      const std::string& id, v1::LevelOfCare level,
      v1::DischargeDisposition disposition = v1::DISCHARGE_DISPOSITION_HOME) {
    clients_.emplace_back(id);
    ClientRecord& r = clients_.back();
    ApplyTo(r, Admission("a-" + id, "org-hosp", level),
            level == v1::LEVEL_OF_CARE_INPATIENT ? Day(-3) : Day(0, 9));
    ApplyTo(r, Discharge("a-" + id, disposition), Day(0, 15));
    return r;
  }
  v1::MeasureResult Measure(absl::string_view name) {
    std::vector<v1::MeasureIndexEntry> entries;
    for (const ClientRecord& r : clients_) {
      for (v1::MeasureIndexEntry& e :
           MeasureEntriesOf(r, directory_, config_)) {
        if (e.kind() == MeasureIndexKindOf(name)) entries.push_back(e);
      }
    }
    return ComputeMeasure(name, entries, config_, false);
  }
  static std::vector<std::string> Clients(
      const google::protobuf::RepeatedPtrField<v1::MeasureMember>& members) {
    std::vector<std::string> out;
    for (const auto& m : members) out.push_back(m.client_id());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::deque<ClientRecord> clients_;
};

TEST_F(ContinuityMeasureTest, FuhCountsDays1To7WithAMentalHealthProvider) {
  ApplyTo(NewClient("same-day", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-bh"), Day(0, 18));
  ApplyTo(NewClient("day7", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_PSYCHOLOGY), Day(7, 23));
  ApplyTo(NewClient("day8", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_SOCIAL_WORK), Day(8, 0));
  // A nurse at a behavioural-health organisation counts; at primary care not.
  ApplyTo(NewClient("bh-org", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-bh", v1::DISCIPLINE_NURSING), Day(1));
  ApplyTo(NewClient("not-mh", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(1));
  // Exclusions: readmission on day 30 (day 31 is not excluded), transfer.
  ClientRecord& day30 = NewClient("readmit-30", v1::LEVEL_OF_CARE_INPATIENT);
  ApplyTo(day30,
          Admission("b", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(30, 23));
  ClientRecord& day31 = NewClient("readmit-31", v1::LEVEL_OF_CARE_INPATIENT);
  ApplyTo(day31,
          Admission("b", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(31, 0));
  NewClient("transfer", v1::LEVEL_OF_CARE_INPATIENT,
            v1::DISCHARGE_DISPOSITION_TRANSFER);

  const v1::MeasureResult fuh7 = Measure(kMeasureFuh7);
  EXPECT_EQ(fuh7.window_days(), 7);
  EXPECT_EQ(fuh7.denominator(), 6);
  EXPECT_EQ(fuh7.numerator(), 2);
  EXPECT_DOUBLE_EQ(fuh7.rate(), 2.0 / 6.0);
  EXPECT_THAT(Clients(fuh7.numerator_members()), ElementsAre("bh-org", "day7"));
  EXPECT_THAT(Clients(fuh7.denominator_members()),
              ElementsAre("bh-org", "day7", "day8", "not-mh", "readmit-31",
                          "same-day"));
  EXPECT_THAT(Clients(fuh7.excluded_members()),
              ElementsAre("readmit-30", "transfer"));
  for (const v1::MeasureMember& m : fuh7.excluded_members()) {
    if (m.client_id() == "readmit-30") {
      EXPECT_EQ(m.note(), "readmitted on day 30");
      EXPECT_EQ(m.qualifying_id(), "b");
    } else {
      EXPECT_EQ(m.note(), "direct transfer");
    }
  }
  for (const v1::MeasureMember& m : fuh7.numerator_members()) {
    EXPECT_EQ(m.qualifying_id(), "f");
    EXPECT_EQ(m.subject_id(), "a-" + m.client_id());
  }
  const v1::MeasureResult fuh30 = Measure(kMeasureFuh30);
  EXPECT_THAT(Clients(fuh30.numerator_members()),
              ElementsAre("bh-org", "day7", "day8"));
}

TEST_F(ContinuityMeasureTest, FumCountsTheVisitDay) {
  ApplyTo(NewClient("same-day", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(0, 18));
  ApplyTo(NewClient("day7", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(7, 23));
  ApplyTo(NewClient("day8", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(8, 0));
  NewClient("none", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT);
  // Not mental health: not in the measure.
  clients_.emplace_back("physical");
  ApplyTo(clients_.back(),
          Admission("a", "org-hosp", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(0));

  const v1::MeasureResult fum7 = Measure(kMeasureFum7);
  EXPECT_EQ(fum7.denominator(), 4);
  EXPECT_THAT(Clients(fum7.numerator_members()),
              ElementsAre("day7", "same-day"));
  const v1::MeasureResult fum30 = Measure(kMeasureFum30);
  EXPECT_THAT(Clients(fum30.numerator_members()),
              ElementsAre("day7", "day8", "same-day"));
  // FUH does not count the same-day visit after an inpatient stay.
  ApplyTo(NewClient("inpatient", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-bh"), Day(0, 18));
  EXPECT_EQ(Measure(kMeasureFuh30).numerator(), 0);
  EXPECT_EQ(Measure(kMeasureFuh30).denominator(), 1);
}

TEST_F(ContinuityMeasureTest, ReadmissionOnDay30CountsDay31DoesNot) {
  ApplyTo(NewClient("day30", v1::LEVEL_OF_CARE_INPATIENT),
          Admission("b", "org-pc", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(30, 23));
  ApplyTo(NewClient("day31", v1::LEVEL_OF_CARE_INPATIENT),
          Admission("b", "org-pc", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(31, 0));
  ApplyTo(NewClient("ed-only", v1::LEVEL_OF_CARE_INPATIENT),
          Admission("b", "org-pc", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
          Day(2));
  NewClient("died", v1::LEVEL_OF_CARE_INPATIENT,
            v1::DISCHARGE_DISPOSITION_DECEASED);

  const v1::MeasureResult r = Measure(kMeasureReadmission30);
  EXPECT_EQ(r.window_days(), 30);
  // The second stays are not discharged, so they are no index events.
  EXPECT_EQ(r.denominator(), 3);
  EXPECT_EQ(r.numerator(), 1);
  EXPECT_THAT(Clients(r.numerator_members()), ElementsAre("day30"));
  EXPECT_EQ(r.numerator_members(0).qualifying_id(), "b");
  EXPECT_THAT(Clients(r.excluded_members()), ElementsAre("died"));
  EXPECT_EQ(r.excluded_members(0).note(), "deceased");
}

TEST_F(ContinuityMeasureTest, ReferralLoopClosureWithMedianDays) {
  Apply(
      Referral("r1", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
      Day(0));
  Apply(
      Referral("r2", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
      Day(0));
  Apply(
      Referral("r3", "org-hosp", "org-bh", v1::SERVICE_CATEGORY_MENTAL_HEALTH),
      Day(0));
  Apply(Completed("r1"), Day(2), "org-bh");
  Apply(Completed("r2"), Day(4), "org-bh");
  const std::vector<v1::MeasureIndexEntry> entries =
      MeasureEntriesOf(record_, directory_, config_);
  const v1::MeasureResult r =
      ComputeMeasure(kMeasureReferralLoopClosure, entries, config_, false);
  EXPECT_EQ(r.denominator(), 3);
  EXPECT_EQ(r.numerator(), 2);
  EXPECT_DOUBLE_EQ(r.median_days_to_close(), 3.0);
  EXPECT_EQ(r.numerator_members_size(), 2);
  const v1::MeasureResult counts =
      ComputeMeasure(kMeasureReferralLoopClosure, entries, config_, true);
  EXPECT_EQ(counts.numerator(), 2);
  EXPECT_EQ(counts.numerator_members_size(), 0);
  EXPECT_EQ(counts.denominator_members_size(), 0);
}

TEST_F(ContinuityMeasureTest, WindowsComeFromConfig) {
  ApplyTo(NewClient("day8", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-bh"), Day(8));
  config_.fuh_short_days = 8;
  const v1::MeasureResult fuh = Measure(kMeasureFuh7);
  EXPECT_EQ(fuh.window_days(), 8);
  EXPECT_EQ(fuh.numerator(), 1);
}

// --- Transitions of Care (TRC) ---------------------------------------------
// NewClient's inpatient stays are admitted at Day(-3) 10:00 and discharged at
// Day(0) 15:00, so the admission date is day -3 of the discharge.

TEST_F(ContinuityMeasureTest, TrcNotificationCountsTheAdmissionDayThroughDay2) {
  // Days after the admission date (Day(-3)).
  ApplyTo(NewClient("day0", v1::LEVEL_OF_CARE_INPATIENT),
          Notification("n", "a-day0"), Day(-3, 8));  // before the admission
  ApplyTo(NewClient("day2", v1::LEVEL_OF_CARE_INPATIENT),
          Notification("n", "a-day2"), Day(-1, 23));
  ApplyTo(NewClient("day3", v1::LEVEL_OF_CARE_INPATIENT),
          Notification("n", "a-day3"), Day(0, 0));
  // A notification of another admission does not count.
  ClientRecord& other = NewClient("other", v1::LEVEL_OF_CARE_INPATIENT);
  ApplyTo(other,
          Admission("old", "org-hosp", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT),
          Day(-20));
  ApplyTo(other, Notification("n", "old"), Day(-2));
  NewClient("none", v1::LEVEL_OF_CARE_INPATIENT);

  const v1::MeasureResult r = Measure(kMeasureTrcNotification);
  EXPECT_EQ(r.window_days(), 2);
  EXPECT_EQ(r.denominator(), 5);
  EXPECT_EQ(r.numerator(), 2);
  EXPECT_THAT(Clients(r.numerator_members()), ElementsAre("day0", "day2"));
  for (const v1::MeasureMember& m : r.numerator_members()) {
    EXPECT_EQ(m.qualifying_id(), "n");
    EXPECT_EQ(m.subject_id(), "a-" + m.client_id());
    EXPECT_EQ(ToTime(m.at()), Day(0, 15));  // the index event: the discharge
  }
  // The window is configuration: day 3 counts with a window of 3.
  config_.trc_notification_days = 3;
  EXPECT_THAT(Clients(Measure(kMeasureTrcNotification).numerator_members()),
              ElementsAre("day0", "day2", "day3"));
}

TEST_F(ContinuityMeasureTest, TrcReceiptCountsTheDischargeDayThroughDay2) {
  ApplyTo(NewClient("day0", v1::LEVEL_OF_CARE_INPATIENT),
          Receipt("i", "a-day0"), Day(0, 9));  // before the discharge hour
  ApplyTo(NewClient("day2", v1::LEVEL_OF_CARE_INPATIENT),
          Receipt("i", "a-day2"), Day(2, 23));
  ApplyTo(NewClient("day3", v1::LEVEL_OF_CARE_INPATIENT),
          Receipt("i", "a-day3"), Day(3, 0));
  // Before the discharge date: not discharge information of this discharge.
  ApplyTo(NewClient("early", v1::LEVEL_OF_CARE_INPATIENT),
          Receipt("i", "a-early"), Day(-1));

  const v1::MeasureResult r = Measure(kMeasureTrcReceipt);
  EXPECT_EQ(r.window_days(), 2);
  EXPECT_EQ(r.denominator(), 4);
  EXPECT_THAT(Clients(r.numerator_members()), ElementsAre("day0", "day2"));
  config_.trc_receipt_days = 3;
  EXPECT_THAT(Clients(Measure(kMeasureTrcReceipt).numerator_members()),
              ElementsAre("day0", "day2", "day3"));
}

TEST_F(ContinuityMeasureTest, TrcEngagementCountsDays1To30NotTheDischargeDay) {
  // Any provider and discipline counts.
  ApplyTo(NewClient("day0", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(0, 18));
  ApplyTo(NewClient("day1", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(1, 0));
  ApplyTo(NewClient("day30", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-housing", v1::DISCIPLINE_CASE_MANAGEMENT),
          Day(30, 23));
  ApplyTo(NewClient("day31", v1::LEVEL_OF_CARE_INPATIENT),
          FollowUp("f", "org-pc", v1::DISCIPLINE_NURSING), Day(31, 0));
  // A same-day contact and a later one: the later one qualifies.
  ClientRecord& both = NewClient("both", v1::LEVEL_OF_CARE_INPATIENT);
  ApplyTo(both, FollowUp("same-day", "org-pc"), Day(0, 16));
  ApplyTo(both, FollowUp("later", "org-pc"), Day(5));

  const v1::MeasureResult r = Measure(kMeasureTrcEngagement);
  EXPECT_EQ(r.window_days(), 30);
  EXPECT_EQ(r.denominator(), 5);
  EXPECT_THAT(Clients(r.numerator_members()),
              ElementsAre("both", "day1", "day30"));
  for (const v1::MeasureMember& m : r.numerator_members()) {
    if (m.client_id() == "both") {
      EXPECT_EQ(m.qualifying_id(), "later");
    }
  }
}

TEST_F(ContinuityMeasureTest,
       TrcMedicationReconciliationCountsTheDischargeDayThroughDay30) {
  // On the discharge date, even before the discharge hour.
  ApplyTo(NewClient("day0", v1::LEVEL_OF_CARE_INPATIENT),
          Reconciliation("m", "a-day0"), Day(0, 9));
  ApplyTo(NewClient("day30", v1::LEVEL_OF_CARE_INPATIENT), Reconciliation("m"),
          Day(30, 23));
  ApplyTo(NewClient("day31", v1::LEVEL_OF_CARE_INPATIENT), Reconciliation("m"),
          Day(31, 0));
  ApplyTo(NewClient("before", v1::LEVEL_OF_CARE_INPATIENT),
          Reconciliation("m", "a-before"), Day(-1, 23));

  const v1::MeasureResult r = Measure(kMeasureTrcMedicationReconciliation);
  EXPECT_EQ(r.window_days(), 30);
  EXPECT_EQ(r.denominator(), 4);
  EXPECT_THAT(Clients(r.numerator_members()), ElementsAre("day0", "day30"));
  EXPECT_EQ(r.numerator_members(0).qualifying_id(), "m");
}

TEST_F(ContinuityMeasureTest, TrcCountsOnlyTheLastDischargeOfAReadmission) {
  // Every rate shares one denominator: inpatient discharges of any need,
  // less the deceased, direct transfers and readmissions on day 0..30.
  ClientRecord& day30 = NewClient("readmit-30", v1::LEVEL_OF_CARE_INPATIENT);
  ApplyTo(day30,
          Admission("b", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(30, 23));
  ApplyTo(day30, Discharge("b"), Day(33));
  ClientRecord& day31 = NewClient("readmit-31", v1::LEVEL_OF_CARE_INPATIENT);
  ApplyTo(day31,
          Admission("b", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(31, 0));
  NewClient("transfer", v1::LEVEL_OF_CARE_INPATIENT,
            v1::DISCHARGE_DISPOSITION_TRANSFER);
  NewClient("died", v1::LEVEL_OF_CARE_INPATIENT,
            v1::DISCHARGE_DISPOSITION_DECEASED);
  // An ED visit is no inpatient discharge.
  NewClient("ed", v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT);
  clients_.emplace_back("physical");
  ApplyTo(clients_.back(),
          Admission("a", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT,
                    v1::SERVICE_CATEGORY_HEALTH_CARE),
          Day(-2));
  ApplyTo(clients_.back(), Discharge("a"), Day(0));

  for (const char* name :
       {kMeasureTrcNotification, kMeasureTrcReceipt, kMeasureTrcEngagement,
        kMeasureTrcMedicationReconciliation}) {
    SCOPED_TRACE(name);
    const v1::MeasureResult r = Measure(name);
    EXPECT_EQ(r.measure(), name);
    EXPECT_EQ(r.denominator(), 3);
    EXPECT_EQ(r.numerator(), 0);
    // readmit-30's second stay, discharged on day 33, is in the denominator.
    EXPECT_THAT(Clients(r.denominator_members()),
                ElementsAre("physical", "readmit-30", "readmit-31"));
    EXPECT_THAT(Clients(r.excluded_members()),
                ElementsAre("died", "readmit-30", "transfer"));
    for (const v1::MeasureMember& m : r.excluded_members()) {
      if (m.client_id() == "readmit-30") {
        EXPECT_EQ(m.note(), "readmitted on day 30");
        EXPECT_EQ(m.qualifying_id(), "b");
        EXPECT_EQ(m.subject_id(), "a-readmit-30");
      } else if (m.client_id() == "died") {
        EXPECT_EQ(m.note(), "deceased");
      } else {
        EXPECT_EQ(m.note(), "direct transfer");
      }
    }
  }
  // The exclusion window is configuration.
  config_.trc_readmission_days = 29;
  EXPECT_EQ(Measure(kMeasureTrcReceipt).denominator(), 4);
}

// TRC's days are local dates too: a receipt at 20:00 in New York two local
// days after a discharge is at 01:00 UTC three UTC days after it.
TEST_F(ContinuityMeasureTest, TrcCountsLocalDaysInTheNetworksZone) {
  const absl::TimeZone zone = NewYork();
  clients_.emplace_back("ny");
  ClientRecord& r = clients_.back();
  ApplyTo(r, Admission("a", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT),
          Local(zone, 1, 5, 9));
  ApplyTo(r, Discharge("a"), Local(zone, 1, 7, 11));
  ApplyTo(r, Receipt("i", "a"), Local(zone, 1, 9, 20));
  config_.time_zone = zone;
  EXPECT_EQ(Measure(kMeasureTrcReceipt).numerator(), 1);
  config_.time_zone = absl::UTCTimeZone();
  EXPECT_EQ(Measure(kMeasureTrcReceipt).numerator(), 0);
}

TEST_F(ContinuityMeasureTest, MeasureNamesListTheTrcRatesLast) {
  EXPECT_THAT(MeasureNames(),
              ElementsAre("FUH-7", "FUH-30", "FUM-7", "FUM-30",
                          "READMISSION-30", "REFERRAL-LOOP-CLOSURE",
                          "TRC-NOTIFICATION", "TRC-RECEIPT", "TRC-ENGAGEMENT",
                          "TRC-MEDICATION-RECONCILIATION"));
  for (const std::string& name : MeasureNames()) {
    if (absl::StartsWith(name, "TRC-")) {
      EXPECT_EQ(MeasureIndexKindOf(name), v1::MEASURE_INDEX_KIND_TRC);
    }
  }
}

// FUH's days are local dates: a follow-up at 10:00 on the Saturday after a
// discharge at 23:30 on Friday is on day 1 in New York, though both fall on
// the same UTC date (day 0, which FUH does not count).
TEST_F(ContinuityMeasureTest, FuhCountsLocalDaysInTheNetworksZone) {
  const absl::TimeZone zone = NewYork();
  clients_.emplace_back("ny");
  ClientRecord& r = clients_.back();
  ApplyTo(r, Admission("a", "org-hosp", v1::LEVEL_OF_CARE_INPATIENT),
          Local(zone, 1, 5, 9));
  ApplyTo(r, Discharge("a"), Local(zone, 1, 9, 23, 30));
  ApplyTo(r, FollowUp("f", "org-bh"), Local(zone, 1, 10, 10));
  config_.time_zone = zone;
  EXPECT_EQ(Measure(kMeasureFuh7).numerator(), 1);
  config_.time_zone = absl::UTCTimeZone();
  EXPECT_EQ(Measure(kMeasureFuh7).numerator(), 0);
  EXPECT_EQ(Measure(kMeasureFuh7).denominator(), 1);
}

}  // namespace
}  // namespace caseline::care::continuity_testing
