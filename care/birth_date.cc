#include "care/birth_date.h"

#include "absl/strings/str_format.h"

namespace caseline::care {
namespace {

// Older than any living person: a birth date further back than this from
// the day it was recorded is a data-entry error.
constexpr int kMaxAgeYears = 125;

bool IsDayOf(int year, int month, int day) {
  const absl::CivilDay civil(year, month, day);
  return civil.year() == year && civil.month() == month && civil.day() == day;
}

}  // namespace

DatePrecision PrecisionOf(const v1::Date& date) {
  if (date.year() == 0) return DatePrecision::kNone;
  if (date.month() == 0) return DatePrecision::kYear;
  if (date.day() == 0) return DatePrecision::kMonth;
  return DatePrecision::kDay;
}

bool NormalizeBirthDate(v1::Date* date, std::string* recorded_as) {
  const int year = date->year();
  const int month = date->month();
  const int day = date->day();
  int keep_year = 0;
  int keep_month = 0;
  int keep_day = 0;
  if (year >= 1 && year <= 9999) {
    keep_year = year;
    if (month >= 1 && month <= 12) {
      keep_month = month;
      if (day >= 1 && IsDayOf(year, month, day)) keep_day = day;
    }
  }
  if (keep_year == year && keep_month == month && keep_day == day) {
    return false;
  }
  if (recorded_as->empty()) {
    *recorded_as = absl::StrFormat("%04d-%02d-%02d", year, month, day);
  }
  date->set_year(keep_year);
  date->set_month(keep_month);
  date->set_day(keep_day);
  return true;
}

std::string BirthDateProblem(const v1::Date& date,
                             absl::string_view recorded_as,
                             absl::CivilDay recorded_on) {
  if (!recorded_as.empty())
    return "was recorded as text that is not a calendar date";
  const DatePrecision precision = PrecisionOf(date);
  if (precision == DatePrecision::kNone) return "";
  if (precision == DatePrecision::kYear) return "is known only to the year";
  if (precision == DatePrecision::kMonth)
    return "is known only to the year and month";
  const absl::CivilDay born(date.year(), date.month(), date.day());
  if (born > recorded_on) return "is after the day it was recorded";
  const absl::CivilDay oldest(recorded_on.year() - kMaxAgeYears,
                              recorded_on.month(), recorded_on.day());
  if (born < oldest) {
    return absl::StrFormat(
        "is more than %d years before the day it was recorded", kMaxAgeYears);
  }
  return "";
}

std::string FormatBirthDate(const v1::Date& date) {
  switch (PrecisionOf(date)) {
    case DatePrecision::kNone:
      return "";
    case DatePrecision::kYear:
      return absl::StrFormat("%04d", date.year());
    case DatePrecision::kMonth:
      return absl::StrFormat("%04d-%02d", date.year(), date.month());
    case DatePrecision::kDay:
      break;
  }
  return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(),
                         date.day());
}

}  // namespace caseline::care
