#include "care/birth_date.h"

#include <string>

#include "gtest/gtest.h"

namespace caseline::care {
namespace {

v1::Date D(int year, int month, int day) {
  v1::Date d;
  d.set_year(year);
  d.set_month(month);
  d.set_day(day);
  return d;
}

struct Normalized {
  v1::Date date;
  std::string recorded_as;
  bool changed;
};

Normalized Normalize(v1::Date date, std::string recorded_as = "") {
  const bool changed = NormalizeBirthDate(&date, &recorded_as);
  return {date, recorded_as, changed};
}

TEST(NormalizeBirthDateTest, AWholeOrPartialDateStaysAsItIs) {
  for (const v1::Date& d : {D(1972, 5, 18), D(1972, 5, 0), D(1972, 0, 0),
                            D(2000, 2, 29), D(0, 0, 0)}) {
    const Normalized n = Normalize(d);
    EXPECT_FALSE(n.changed) << d.ShortDebugString();
    EXPECT_EQ(n.date.ShortDebugString(), d.ShortDebugString());
    EXPECT_EQ(n.recorded_as, "");
  }
}

TEST(NormalizeBirthDateTest, KeepsTheLongestReadableStartAndRecordsTheRest) {
  Normalized n = Normalize(D(1972, 95, 18));
  EXPECT_TRUE(n.changed);
  EXPECT_EQ(FormatBirthDate(n.date), "1972");
  EXPECT_EQ(n.recorded_as, "1972-95-18");

  n = Normalize(D(1972, 2, 30));
  EXPECT_EQ(FormatBirthDate(n.date), "1972-02");
  EXPECT_EQ(n.recorded_as, "1972-02-30");

  n = Normalize(D(1971, 2, 29));  // not a leap year
  EXPECT_EQ(FormatBirthDate(n.date), "1971-02");
  EXPECT_EQ(n.recorded_as, "1971-02-29");

  n = Normalize(D(1972, 0, 18));  // a day without its month
  EXPECT_EQ(FormatBirthDate(n.date), "1972");
  EXPECT_EQ(n.recorded_as, "1972-00-18");

  n = Normalize(D(0, 5, 18));  // no year: nothing can be kept
  EXPECT_EQ(PrecisionOf(n.date), DatePrecision::kNone);
  EXPECT_EQ(n.recorded_as, "0000-05-18");

  n = Normalize(D(12000, 1, 1));
  EXPECT_EQ(PrecisionOf(n.date), DatePrecision::kNone);
  EXPECT_EQ(n.recorded_as, "12000-01-01");
}

TEST(NormalizeBirthDateTest, TextTheCallerRecordedIsKept) {
  const Normalized n = Normalize(D(1950, 13, 1), "about 1950");
  EXPECT_EQ(FormatBirthDate(n.date), "1950");
  EXPECT_EQ(n.recorded_as, "about 1950");
}

TEST(BirthDateProblemTest, NamesEachImperfectionWithoutTheDate) {
  const absl::CivilDay on(2026, 12, 7);
  EXPECT_EQ(BirthDateProblem(D(1972, 5, 18), "", on), "");
  EXPECT_EQ(BirthDateProblem(D(0, 0, 0), "", on), "");
  EXPECT_EQ(BirthDateProblem(D(1972, 0, 0), "1972-95-18", on),
            "was recorded as text that is not a calendar date");
  EXPECT_EQ(BirthDateProblem(D(0, 0, 0), "unknown", on),
            "was recorded as text that is not a calendar date");
  EXPECT_EQ(BirthDateProblem(D(1972, 0, 0), "", on),
            "is known only to the year");
  EXPECT_EQ(BirthDateProblem(D(1972, 5, 0), "", on),
            "is known only to the year and month");
  // The day it was recorded is plausible (a newborn); the next is not.
  EXPECT_EQ(BirthDateProblem(D(2026, 12, 7), "", on), "");
  EXPECT_EQ(BirthDateProblem(D(2026, 12, 8), "", on),
            "is after the day it was recorded");
  // 125 years to the day is plausible; a day more is not.
  EXPECT_EQ(BirthDateProblem(D(1901, 12, 7), "", on), "");
  EXPECT_EQ(BirthDateProblem(D(1901, 12, 6), "", on),
            "is more than 125 years before the day it was recorded");
}

TEST(FormatBirthDateTest, ByPrecision) {
  EXPECT_EQ(FormatBirthDate(D(1972, 5, 18)), "1972-05-18");
  EXPECT_EQ(FormatBirthDate(D(1972, 5, 0)), "1972-05");
  EXPECT_EQ(FormatBirthDate(D(972, 0, 0)), "0972");
  EXPECT_EQ(FormatBirthDate(D(0, 0, 0)), "");
}

}  // namespace
}  // namespace caseline::care
