// ViewsConfig: the windows and thresholds the views judge by. Measure years
// and local practice differ, so every number is configuration
// (caselined --views_config FILE; docs/views.md), with these defaults.
//
// Values that shape stored projection state (marked "stored") take effect for
// new events at once and for the past after `caseline projections rebuild`.
#ifndef CASELINE_CARE_VIEWS_CONFIG_H_
#define CASELINE_CARE_VIEWS_CONFIG_H_

#include <cstdint>

#include "absl/time/time.h"

namespace caseline::care {

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

  // --- Accounting of disclosures ---
  int32_t disclosure_lookback_years = 6;
};

}  // namespace caseline::care

#endif  // CASELINE_CARE_VIEWS_CONFIG_H_
