#include "care/calendar.h"

#include <cstdint>
#include <random>

#include "care/continuity_test_util.h"
#include "gtest/gtest.h"

namespace caseline::care::continuity_testing {
namespace {

TEST(ContinuityCalendarTest, BusinessDaysSkipWeekends) {
  const Calendar utc;
  EXPECT_EQ(utc.AddBusinessDays(kMonday, 5), Day(7));  // Monday -> Monday
  EXPECT_EQ(utc.AddBusinessDays(Day(4), 1), Day(7));   // Friday -> Monday
  EXPECT_EQ(utc.AddBusinessDays(Day(4), 5), Day(11));  // Friday -> Friday
  // Saturday 10:00 counts from Monday 00:00.
  EXPECT_EQ(utc.AddBusinessDays(Day(5), 1), Day(8, 0));
  EXPECT_EQ(utc.AddBusinessDays(Day(5), 0), Day(7, 0));
  EXPECT_EQ(utc.DaysBetween(Day(0, 23), Day(1, 1)), 1);
  EXPECT_EQ(utc.DaysBetween(Day(0, 1), Day(0, 23)), 0);
  EXPECT_EQ(utc.StartOfDay(Day(3, 17)), Day(3, 0));
}

TEST(ContinuityCalendarTest, FormatsTheLocalDateAndTime) {
  const Calendar utc;
  EXPECT_EQ(utc.FormatDay(kMonday), "2026-01-05");
  EXPECT_EQ(utc.FormatDayAndTime(kMonday + absl::Minutes(7)),
            "2026-01-05 10:07 UTC");
  EXPECT_EQ(Calendar::FormatDay(absl::CivilDay(987, 3, 4)), "0987-03-04");
  const Calendar new_york(NewYork());
  EXPECT_EQ(new_york.FormatDay(Day(0, 3)), "2026-01-04");  // 22:00 EST
  EXPECT_EQ(new_york.FormatDayAndTime(Day(0, 3)), "2026-01-04 22:00 EST");
  EXPECT_EQ(new_york.FormatDayAndTime(Local(NewYork(), 7, 1, 9, 30)),
            "2026-07-01 09:30 EDT");
}

TEST(ContinuityCalendarTest, DaysAreLocalDates) {
  const absl::TimeZone zone = NewYork();
  const Calendar new_york(zone);
  // Friday 2026-01-09 23:30 EST is Saturday 04:30 UTC.
  const absl::Time friday_night = Local(zone, 1, 9, 23, 30);
  EXPECT_EQ(new_york.DayOf(friday_night), absl::CivilDay(2026, 1, 9));
  EXPECT_EQ(Calendar().DayOf(friday_night), absl::CivilDay(2026, 1, 10));
  EXPECT_EQ(new_york.StartOfDay(friday_night), Local(zone, 1, 9, 0));
  EXPECT_EQ(new_york.DaysBetween(friday_night, Local(zone, 1, 10, 0, 30)), 1);
  EXPECT_EQ(Calendar().DaysBetween(friday_night, Local(zone, 1, 10, 0, 30)), 0);
  // A Friday is a weekday in New York: five business days later is the next
  // Friday at 23:30 local. In UTC it was a Saturday: Monday 00:00 + 5.
  EXPECT_EQ(new_york.AddBusinessDays(friday_night, 5),
            Local(zone, 1, 16, 23, 30));
  EXPECT_EQ(Calendar().AddBusinessDays(friday_night, 5), Day(14, 0));
}

TEST(ContinuityCalendarTest, DaylightSavingChangesKeepTheLocalTimeOfDay) {
  const absl::TimeZone zone = NewYork();
  const Calendar new_york(zone);
  // Clocks go forward on Sunday 2026-03-08: Friday 10:00 EST plus one
  // business day is Monday 10:00 EDT, 71 hours later, not 72.
  const absl::Time friday = Local(zone, 3, 6, 10);
  EXPECT_EQ(new_york.AddBusinessDays(friday, 1), Local(zone, 3, 9, 10));
  EXPECT_EQ(new_york.AddBusinessDays(friday, 1) - friday, absl::Hours(71));
  EXPECT_EQ(new_york.AddDays(friday, 30), Local(zone, 4, 5, 10));
  // The day of the change has 23 hours; it still is one day.
  EXPECT_EQ(new_york.StartOf(absl::CivilDay(2026, 3, 9)) -
                new_york.StartOf(absl::CivilDay(2026, 3, 8)),
            absl::Hours(23));
  EXPECT_EQ(new_york.DaysBetween(Local(zone, 3, 8, 0), Local(zone, 3, 9, 0)),
            1);
}

// The UTC day-number arithmetic Calendar replaced (days since 1970-01-01,
// Monday 0 ... Sunday 6), kept here to show that with the default zone no
// answer changed.
int64_t OldDayNumber(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);
  return s >= 0 ? s / 86400 : -((-s + 86400 - 1) / 86400);
}
absl::Time OldDayStart(int64_t day) {
  return absl::FromUnixSeconds(day * 86400);
}
int OldWeekday(int64_t day) {
  return static_cast<int>(((day % 7) + 7 + 3) % 7);
}
absl::Time OldAddBusinessDays(absl::Time from, int days) {
  int64_t day = OldDayNumber(from);
  absl::Duration time_of_day = from - OldDayStart(day);
  const int weekday = OldWeekday(day);
  if (weekday >= 5) {
    day += 7 - weekday;
    time_of_day = absl::ZeroDuration();
  }
  day += (days / 5) * 7;
  for (int i = 0; i < days % 5; ++i) {
    ++day;
    if (OldWeekday(day) == 5) day += 2;
  }
  return OldDayStart(day) + time_of_day;
}

TEST(ContinuityCalendarTest, UtcAnswersWhatTheDayNumberArithmeticDid) {
  const Calendar utc;
  std::mt19937_64 rng(13);
  // 1900 to 2100, to the nanosecond.
  std::uniform_int_distribution<int64_t> seconds(-2'208'988'800LL,
                                                 4'102'444'800LL);
  std::uniform_int_distribution<int64_t> nanos(0, 999'999'999);
  for (int i = 0; i < 20000; ++i) {
    const absl::Time a =
        absl::FromUnixSeconds(seconds(rng)) + absl::Nanoseconds(nanos(rng));
    const absl::Time b = a + absl::Seconds(seconds(rng) % 5'000'000);
    const int days = static_cast<int>(i % 300);
    ASSERT_EQ(utc.StartOfDay(a), OldDayStart(OldDayNumber(a))) << a;
    ASSERT_EQ(utc.DaysBetween(a, b), OldDayNumber(b) - OldDayNumber(a)) << a;
    ASSERT_EQ(utc.AddBusinessDays(a, days), OldAddBusinessDays(a, days)) << a;
    ASSERT_EQ(utc.AddDays(a, days), a + absl::Hours(24) * days) << a;
  }
}

}  // namespace
}  // namespace caseline::care::continuity_testing
