// Duplicate-client matching measured on ground truth (issue 19): FEBRL
// synthetic person records with known duplicates are registered as clients
// through the real command path, and the duplication view's findings are
// scored against the truth, beside an exact-match baseline computed here.
//
// FEBRL files (CSV, header line first): rec_id, given_name, surname,
// street_number, address_1, address_2, suburb, postcode, state,
// date_of_birth (YYYYMMDD), soc_sec_id. "rec-N-org" and "rec-N-dup-K" are
// one person exactly when N is equal; several files are one population.
//
// Each record becomes a ClientRegistered:
//   name.given / name.family      given_name / surname
//   birth_date                    date_of_birth cut into year, month, day
//                                 as written when it is 8 digits (the server
//                                 keeps what makes a date and records the
//                                 rest, e.g. 19729518 as 1972 recorded as
//                                 "1972-95-18": ClientRegistered.birth_date)
//   birth_date_recorded_as        date_of_birth when it is not blank and not
//                                 8 digits
//   address.line1                 street_number and address_1, one space
//   address.line2 / city / region / postal_code   address_2 / suburb /
//                                 state / postcode; country "AU"
//   identifiers                   {system "SOC_SEC_ID", value soc_sec_id,
//                                 organization_id kMatchingIssuer}: one
//                                 number system with one issuer, so two
//                                 different values disagree
// Sex and phone are not in the files and stay unset. Client ids are
// "m<run>-<6 digits>" assigned in a shuffled order (fixed seed), so neither
// the id nor the registration order tells the ground truth; the mapping
// stays in the bench.
#ifndef CASELINE_BENCH_MATCHING_SCENARIOS_H_
#define CASELINE_BENCH_MATCHING_SCENARIOS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/server.h"

namespace caseline::bench {

// The organisation that issues the SOC_SEC_ID identifiers (registered by the
// bench, type SOCIAL_SERVICES).
inline constexpr char kMatchingIssuer[] = "febrl-social-security";

// One FEBRL record as read.
struct FebrlRecord {
  std::string rec_id;
  std::string person;  // the N of rec-N-...: the ground truth
  std::string given_name;
  std::string surname;
  std::string street_number;
  std::string address_1;
  std::string address_2;
  std::string suburb;
  std::string postcode;
  std::string state;
  std::string date_of_birth;
  std::string soc_sec_id;
};

// Reads FEBRL CSV files (fields trimmed of spaces) as one population.
// Errors: NOT_FOUND for a file that cannot be opened, INVALID_ARGUMENT
// naming the file and line for a row without 11 fields or a rec_id not of
// the form rec-N-...
absl::StatusOr<std::vector<FebrlRecord>> ReadFebrl(
    const std::vector<std::string>& files);

// Precision, recall and F1 of `found` pairs of which `true_found` are true,
// against `true_pairs` (0 where undefined: nothing found, no truth).
struct Quality {
  uint64_t found = 0;
  uint64_t true_found = 0;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
};
Quality QualityOf(uint64_t found, uint64_t true_found, uint64_t true_pairs);

struct MatchingResult {
  uint64_t records = 0;
  uint64_t true_pairs = 0;  // pairs of records of one person, in the files
  // Registrations through Clients.RegisterClient.
  uint64_t registered = 0;
  uint64_t refused = 0;
  // "<gRPC code>: <message with digit runs as N>" -> count.
  std::map<std::string, uint64_t> refusals;
  uint64_t true_pairs_lost = 0;  // a side refused: no finding can name it
  int callers = 0;
  double registrations_per_second = 0;
  double register_p50_ms = 0;
  double register_p99_ms = 0;
  // Open POSSIBLE_DUPLICATE_CLIENTS findings, read through
  // DuplicationViews.ListFindings (all pages).
  double match_threshold = 0;
  double review_threshold = 0;
  Quality at_match;          // match_class MATCH (p >= match_threshold)
  Quality at_review;         // MATCH or REVIEW (p >= review_threshold)
  uint64_t review_band = 0;  // REVIEW only
  uint64_t review_band_true = 0;
  // care::BlockingKeys over the registered records: pairs sharing a key.
  uint64_t candidate_pairs = 0;
  uint64_t registered_true_pairs = 0;  // both sides registered
  uint64_t true_candidate_pairs = 0;
  double pair_completeness = 0;  // true_candidate / registered_true_pairs
  double reduction_ratio = 0;    // 1 - candidate / (n (n - 1) / 2)
  uint64_t largest_block = 0;
  // ProjectionEngine::Rebuild of "duplication" alone over the whole log.
  uint64_t log_events = 0;
  double rebuild_seconds = 0;
  // Exact match on (surname, given name, date of birth), each lowercased and
  // trimmed, all three non-empty, over every record of the files.
  Quality exact;
};

struct MatchingOptions {
  int callers = 8;
  uint64_t seed = 19;
};

// Starts an in-process server in `data_dir` (development mode, default
// views config), registers the issuer and one agency per caller, registers
// every record (caller c acting as agency c), waits for the duplication
// projection, reads the findings, rebuilds the projection, and shuts the
// server down. Errors: what reading the files, starting the server,
// registering the organisations, waiting, reading the findings or the
// rebuild return (a refused client registration is counted, not an error).
absl::StatusOr<MatchingResult> MeasureMatching(
    const std::vector<std::string>& files, const std::string& data_dir,
    const MatchingOptions& options);

}  // namespace caseline::bench

#endif  // CASELINE_BENCH_MATCHING_SCENARIOS_H_
