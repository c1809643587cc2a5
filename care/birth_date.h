// Birth dates as intake records them: whole, partial (a year, or a year and
// month), or written down in a form that is not a calendar date at all
// ("1972-95-18"). A registration is never refused for its birth date: the
// command rules keep what can be read (NormalizeBirthDate), the record keeps
// the rest as text (ClientRegistered.birth_date_recorded_as), matching
// compares what both sides know, and the duplication view reports the
// imperfection as a data-quality finding (BirthDateProblem).
//
// Pure functions: no I/O, no clock, thread-safe.
#ifndef CASELINE_CARE_BIRTH_DATE_H_
#define CASELINE_CARE_BIRTH_DATE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "caseline/v1/care_events.pb.h"

namespace caseline::care {

// How much of a stored birth date is known.
enum class DatePrecision { kNone, kYear, kMonth, kDay };

// kNone when the year is 0, kYear when the month is 0, kMonth when the day
// is 0, else kDay. For a date NormalizeBirthDate left as it is.
DatePrecision PrecisionOf(const v1::Date& date);

// Keeps the longest readable start of year, month and day and sets the rest
// to 0: the year when it is 1..9999, then the month when it is 1..12, then
// the day when it is a day of that month and year (absl::CivilDay). When it
// zeroes a part that was not 0 and `*recorded_as` is empty, it sets
// `*recorded_as` to the parts as sent, "%04d-%02d-%02d" ("1972-95-18").
// Returns whether it changed `*date`.
bool NormalizeBirthDate(v1::Date* date, std::string* recorded_as);

// The data-quality problem of a stored birth date that was recorded on the
// day `recorded_on`, in words that do not repeat the date (findings carry no
// values); empty when there is none:
//   "was recorded as text that is not a calendar date"   recorded_as is set
//   "is known only to the year" / "... to the year and month"
//   "is after the day it was recorded"
//   "is more than 125 years before the day it was recorded"
// The first that applies is returned. A client without a birth date and
// without recorded text has no problem here (nothing was recorded).
std::string BirthDateProblem(const v1::Date& date,
                             absl::string_view recorded_as,
                             absl::CivilDay recorded_on);

// "1972", "1972-05" or "1972-05-18" by precision; "" when the year is 0.
std::string FormatBirthDate(const v1::Date& date);

}  // namespace caseline::care

#endif  // CASELINE_CARE_BIRTH_DATE_H_
