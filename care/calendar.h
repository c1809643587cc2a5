// Calendar: the days the continuity rules count, in one time zone.
//
// A follow-up window, a business-day answer window, a team meeting's review
// date and a measure's "day N after the discharge" are about the dates the
// network's staff see on their wall calendars, so they are counted in the
// network's zone (ViewsConfig::time_zone), not in seconds since an instant.
// With the default zone, UTC, a "day" is a UTC date.
//
// Pure and cheap to copy (absl::TimeZone is a handle to an immutable,
// process-wide zone). Thread-safe.
#ifndef CASELINE_CARE_CALENDAR_H_
#define CASELINE_CARE_CALENDAR_H_

#include <cstdint>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"

namespace caseline::care {

class Calendar {
 public:
  // Counts days in `zone`. Default: UTC.
  explicit Calendar(absl::TimeZone zone = absl::UTCTimeZone()) : zone_(zone) {}

  const absl::TimeZone& zone() const { return zone_; }

  // The local date of `t`.
  absl::CivilDay DayOf(absl::Time t) const {
    return absl::ToCivilDay(t, zone_);
  }

  // The first instant of `day` (its local midnight, or the first instant
  // after it when a daylight-saving change skips midnight).
  absl::Time StartOf(absl::CivilDay day) const {
    return absl::FromCivil(day, zone_);
  }

  // The first instant of the local day of `t`.
  absl::Time StartOfDay(absl::Time t) const { return StartOf(DayOf(t)); }

  // Whole calendar days from the date of `from` to the date of `to`
  // (negative when `to` is on an earlier date): 1 for 23:59 to 00:01.
  int64_t DaysBetween(absl::Time from, absl::Time to) const {
    return DayOf(to) - DayOf(from);
  }

  // `from` moved forward `days` calendar days, keeping the local time of day.
  absl::Time AddDays(absl::Time from, int days) const;

  // `from` moved forward `days` weekdays (Monday to Friday), keeping the
  // local time of day; from a Saturday or Sunday, counting starts at the
  // following Monday 00:00. REQUIRES: days >= 0.
  absl::Time AddBusinessDays(absl::Time from, int days) const;

  // "YYYY-MM-DD": the local date of `t`.
  std::string FormatDay(absl::Time t) const { return FormatDay(DayOf(t)); }
  static std::string FormatDay(absl::CivilDay day);

  // "YYYY-MM-DD HH:MM <zone abbreviation>", e.g. "2026-01-09 10:00 UTC" or
  // "2026-01-09 10:00 EST".
  std::string FormatDayAndTime(absl::Time t) const;

 private:
  absl::TimeZone zone_;
};

// The civil day of a calendar date of the API (e.g. a planned date).
// Out-of-range months and days normalise as absl::CivilDay does; the command
// rules accept only real dates.
inline absl::CivilDay CivilDayOf(const v1::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

}  // namespace caseline::care

#endif  // CASELINE_CARE_CALENDAR_H_
