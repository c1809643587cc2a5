// ViewsConfig: the windows and thresholds the views judge by. Measure years
// and local practice differ, so every number is configuration
// (caselined --views_config FILE; docs/views.md), with these defaults.
//
// Values that shape stored projection state (marked "stored") take effect for
// new events at once and for the past after `caseline projections rebuild`.
#ifndef CASELINE_CARE_VIEWS_CONFIG_H_
#define CASELINE_CARE_VIEWS_CONFIG_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "care/nicknames.h"

namespace caseline::care {

// The default address abbreviations: the USPS forms (Publication 28) of the
// most common US street suffixes, directions and unit designators. Only a
// default: a network elsewhere configures its own table
// (address_abbreviations), e.g. Australia's "street" -> "st" is the same but
// "parade" -> "pde" and "circuit" -> "cct" are not in this one.
inline absl::flat_hash_map<std::string, std::string>
UspsAddressAbbreviations() {
  return {
      {"street", "st"},    {"avenue", "ave"},     {"road", "rd"},
      {"drive", "dr"},     {"boulevard", "blvd"}, {"lane", "ln"},
      {"court", "ct"},     {"place", "pl"},       {"terrace", "ter"},
      {"highway", "hwy"},  {"parkway", "pkwy"},   {"circle", "cir"},
      {"square", "sq"},    {"apartment", "apt"},  {"suite", "ste"},
      {"unit", "unit"},    {"north", "n"},        {"south", "s"},
      {"east", "e"},       {"west", "w"},         {"northeast", "ne"},
      {"northwest", "nw"}, {"southeast", "se"},   {"southwest", "sw"},
  };
}

struct ViewsConfig {
  // --- Calendar ---
  // The zone whose dates the continuity rules and measures count: a
  // follow-up window ends at local midnight, business days are local
  // weekdays, "day 7 after a discharge" is a local date (care/calendar.h).
  // The views config file names it by its IANA name ("America/New_York")
  // (stored). Default: UTC.
  absl::TimeZone time_zone = absl::UTCTimeZone();

  // --- Continuity gaps and worklists ---
  // A discharge needs a follow-up contact within this many days (stored).
  int32_t follow_up_window_days = 7;
  // A referral must be accepted or declined within this many business days
  // (Monday to Friday) (stored).
  int32_t referral_answer_business_days = 5;
  // An accepted referral must be started or completed within this many days
  // (stored).
  int32_t referral_start_days = 30;
  // Worklist horizon when a request gives none.
  int32_t worklist_horizon_days = 7;

  // --- Measures (computed at query time) ---
  int32_t fuh_short_days = 7;
  int32_t fuh_long_days = 30;
  int32_t fum_short_days = 7;
  int32_t fum_long_days = 30;
  int32_t readmission_days = 30;
  // A readmission or transfer within this many days of an inpatient
  // discharge excludes it from FUH.
  int32_t fuh_exclusion_days = 30;
  // HEDIS Transitions of Care (TRC), each the last day N of a window of
  // day 0 (day 1 for engagement) to day N, counted from the admission date
  // (notification) or the discharge date (the others).
  int32_t trc_notification_days = 2;
  int32_t trc_receipt_days = 2;
  int32_t trc_engagement_days = 30;
  int32_t trc_medication_reconciliation_days = 30;
  // An inpatient readmission on day 0 to this day after an inpatient
  // discharge excludes it from TRC (HEDIS counts the last discharge).
  int32_t trc_readmission_days = 30;

  // --- Caseload ---
  int32_t caseload_threshold = 50;

  // --- Duplicate clients (stored: the review threshold decides what is
  // kept; the match threshold only classifies) ---
  double match_threshold = 0.8;
  double review_threshold = 0.4;
  // The region (ISO 3166-1 alpha-2, as libphonenumber's supported regions
  // list it: "US", "AU", "VN") whose dialling plan reads a phone number
  // written without "+" and a country code; numbers written with them are
  // read as written (care::NormalizePhone) (stored: blocking keys).
  // Default: "US".
  std::string phone_region = "US";
  // Address line 1 words and their abbreviation: each word of a normalised
  // line 1 found here as a key is replaced by its value before line 1s are
  // compared (care::NormalizeAddressLine) (stored: scores). REQUIRES: keys
  // and values normalised as care::NormalizeName does (lowercase ASCII
  // letters and digits for Latin-script words); the views config file's
  // loader normalises what it reads. A table in the file replaces this one
  // entirely. Default: UspsAddressAbbreviations().
  absl::flat_hash_map<std::string, std::string> address_abbreviations =
      UspsAddressAbbreviations();
  // Given names that are one name (nicknames, diminutives): two given names
  // sharing a group partly agree. The views config file's nicknames_file
  // loads a maintained list (care/nicknames.h has the layout) (stored:
  // scores). Never null. Default: NicknameTable::BuiltIn().
  std::shared_ptr<const NicknameTable> nicknames = NicknameTable::BuiltIn();

  // --- Accounting of disclosures ---
  int32_t disclosure_lookback_years = 6;
};

}  // namespace caseline::care

#endif  // CASELINE_CARE_VIEWS_CONFIG_H_
