#include "care/calendar.h"

#include "absl/strings/str_cat.h"

namespace caseline::care {
namespace {

// `day` at the local time of day of `local`.
absl::CivilSecond At(absl::CivilDay day, absl::CivilSecond local) {
  return absl::CivilSecond(day.year(), day.month(), day.day(), local.hour(),
                           local.minute(), local.second());
}

}  // namespace

absl::Time Calendar::AddDays(absl::Time from, int days) const {
  const absl::TimeZone::CivilInfo local = zone_.At(from);
  return absl::FromCivil(At(absl::CivilDay(local.cs) + days, local.cs), zone_) +
         local.subsecond;
}

absl::Time Calendar::AddBusinessDays(absl::Time from, int days) const {
  const absl::TimeZone::CivilInfo local = zone_.At(from);
  absl::CivilDay day(local.cs);
  absl::CivilSecond time_of_day = local.cs;
  absl::Duration subsecond = local.subsecond;
  const absl::Weekday weekday = absl::GetWeekday(day);
  if (weekday == absl::Weekday::saturday || weekday == absl::Weekday::sunday) {
    day = absl::NextWeekday(day, absl::Weekday::monday);  // from its 00:00
    time_of_day = absl::CivilSecond(day);
    subsecond = absl::ZeroDuration();
  }
  day += (days / 5) * 7;
  for (int i = 0; i < days % 5; ++i) {
    ++day;
    if (absl::GetWeekday(day) == absl::Weekday::saturday) day += 2;
  }
  return absl::FromCivil(At(day, time_of_day), zone_) + subsecond;
}

std::string Calendar::FormatDay(absl::CivilDay day) {
  return absl::StrCat(absl::Dec(day.year(), absl::kZeroPad4), "-",
                      absl::Dec(day.month(), absl::kZeroPad2), "-",
                      absl::Dec(day.day(), absl::kZeroPad2));
}

std::string Calendar::FormatDayAndTime(absl::Time t) const {
  const absl::TimeZone::CivilInfo local = zone_.At(t);
  return absl::StrCat(FormatDay(absl::CivilDay(local.cs)), " ",
                      absl::Dec(local.cs.hour(), absl::kZeroPad2), ":",
                      absl::Dec(local.cs.minute(), absl::kZeroPad2), " ",
                      local.zone_abbr);
}

}  // namespace caseline::care
