// Quality measures of continuity (FUH, FUM, READMISSION-30,
// REFERRAL-LOOP-CLOSURE, the four HEDIS TRC rates): the index entries a
// client's record gives, and a measure computed over the entries chosen for
// it. Pure functions, by the rules stated in care/continuity.h; days are
// dates of config.time_zone.
//
// No I/O, no clock. Thread-compatible.
#ifndef CASELINE_CARE_MEASURES_H_
#define CASELINE_CARE_MEASURES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "care/client_record.h"
#include "care/organization_directory.h"
#include "care/views_config.h"
#include "caseline/v1/views.pb.h"

namespace caseline::care {

// Measure names, in the order GetMeasures answers them.
inline constexpr char kMeasureFuh7[] = "FUH-7";
inline constexpr char kMeasureFuh30[] = "FUH-30";
inline constexpr char kMeasureFum7[] = "FUM-7";
inline constexpr char kMeasureFum30[] = "FUM-30";
inline constexpr char kMeasureReadmission30[] = "READMISSION-30";
inline constexpr char kMeasureReferralLoopClosure[] = "REFERRAL-LOOP-CLOSURE";
// HEDIS Transitions of Care: notification of inpatient admission, receipt
// of discharge information, patient engagement after inpatient discharge,
// medication reconciliation post-discharge.
inline constexpr char kMeasureTrcNotification[] = "TRC-NOTIFICATION";
inline constexpr char kMeasureTrcReceipt[] = "TRC-RECEIPT";
inline constexpr char kMeasureTrcEngagement[] = "TRC-ENGAGEMENT";
inline constexpr char kMeasureTrcMedicationReconciliation[] =
    "TRC-MEDICATION-RECONCILIATION";
// All ten, in order.
const std::vector<std::string>& MeasureNames();
// The index kind a measure is computed from; UNSPECIFIED for an unknown name.
v1::MeasureIndexKind MeasureIndexKindOf(absl::string_view measure);

// FUH's mental-health provider rule: a follow-up by psychiatry, psychology or
// social work, or by an organisation of type BEHAVIORAL_HEALTH.
bool IsMentalHealthFollowUp(const v1::FollowUpCompleted& follow_up,
                            const OrganizationDirectory& directory);

// The client's measure index entries (see MeasureIndexEntry), ordered by
// kind, time, subject. The directory decides FUH's mental-health providers;
// FUH's follow-up is the first on a later date (of config.time_zone) than
// the discharge (stored).
std::vector<v1::MeasureIndexEntry> MeasureEntriesOf(
    const ClientRecord& record, const OrganizationDirectory& directory,
    const ViewsConfig& config);
// Its two parts, unordered: FUH, FUM, READMISSION and TRC entries
// (admissions, follow-ups and the TRC events), and REFERRAL entries
// (referrals).
std::vector<v1::MeasureIndexEntry> StayMeasureEntriesOf(
    const ClientRecord& record, const OrganizationDirectory& directory,
    const ViewsConfig& config);
std::vector<v1::MeasureIndexEntry> ReferralMeasureEntriesOf(
    const ClientRecord& record);
// The REFERRAL entry of one referral (none for an unknown id).
std::vector<v1::MeasureIndexEntry> ReferralMeasureEntriesOf(
    const ClientRecord& record, absl::string_view referral_id);

// One measure over index entries already chosen for it (the right kind, in
// the period, at the organisation), with the windows of `config`; "day N" is
// the date N days after the index event's date in config.time_zone:
//   FUH-N: denominator inpatient mental-health discharges, less exclusions
//     (client deceased; disposition TRANSFER; an inpatient admission within
//     fuh_exclusion_days, day 0 to that day inclusive); numerator those with a
//     mental-health follow-up on day 1..N (the discharge day does not count).
//   FUM-N: ED mental-health visits (client deceased excluded); numerator a
//     follow-up on day 0..N.
//   READMISSION-30: inpatient discharges (deceased excluded); numerator an
//     inpatient admission on day 0..readmission_days.
//   REFERRAL-LOOP-CLOSURE: referrals sent; numerator completed, with the
//     median days from sent to completed (fractional days).
//   TRC-*: inpatient discharges, less exclusions (client deceased;
//     disposition TRANSFER; an inpatient admission on day 0..
//     trc_readmission_days); numerator, by rate: an admission notification
//     naming the admission on day 0..trc_notification_days of the ADMISSION
//     date (TRC-NOTIFICATION); discharge information naming the admission
//     on day 0..trc_receipt_days (TRC-RECEIPT); any follow-up on day
//     1..trc_engagement_days (TRC-ENGAGEMENT; the discharge day does not
//     count); any medication reconciliation on day
//     0..trc_medication_reconciliation_days
//     (TRC-MEDICATION-RECONCILIATION).
// Members are listed unless counts_only. An unknown name yields a result
// with only the name set (GetMeasures refuses unknown names first).
v1::MeasureResult ComputeMeasure(
    absl::string_view measure,
    const std::vector<v1::MeasureIndexEntry>& entries,
    const ViewsConfig& config, bool counts_only);

}  // namespace caseline::care

#endif  // CASELINE_CARE_MEASURES_H_
