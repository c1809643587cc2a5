// The Fellegi–Sunter model client matching scores with, and its estimation
// from the data by expectation–maximisation (EM), as Splink trains its
// models: unsupervised, from the comparison vectors of candidate pairs.
//
// A comparison of two clients gives one agreement level per field (agree,
// partial, disagree, missing): its comparison vector. The model holds, per
// field and level, m (the probability of that level when the two records are
// one person) and u (when they are two people), and the prior: the share of
// candidate pairs (pairs that share a blocking key) that are one person.
// A field's weight at a level is log2(m / u) bits; missing weighs 0.
//
// Estimation works on counts of comparison vectors (ComparisonCounts), not
// on pairs: a network's pairs have at most 4^7 distinct vectors, so an
// estimate costs the same however many pairs were compared.
//
// Pure functions of their arguments; thread-safe.
#ifndef CASELINE_CARE_MATCH_MODEL_H_
#define CASELINE_CARE_MATCH_MODEL_H_

#include <array>
#include <cstdint>

#include "absl/container/btree_map.h"
#include "absl/strings/string_view.h"
#include "caseline/v1/views.pb.h"

namespace caseline::care {

// The fields compared, in the order of every comparison vector and of
// ClientMatch::comparisons.
enum MatchField : int {
  kGivenNameField = 0,
  kFamilyNameField = 1,
  kBirthDateField = 2,
  kSexField = 3,
  kPhoneField = 4,
  kAddressField = 5,
  kIdentifierField = 6,
};
inline constexpr int kMatchFieldCount = 7;

// "given_name", "family_name", "birth_date", "sex", "phone", "address",
// "identifier" (FieldComparison.field).
absl::string_view MatchFieldName(int field);

// One field of the model: the probability of each agreement level among
// pairs that are one person (m) and among pairs that are two (u). The
// disagree probabilities are what agree and partial leave. Weights in bits:
//   agree     log2(m_agree / u_agree)
//   partial   log2(m_partial / u_partial); 0 when the field has no partial
//             level (m_partial and u_partial 0)
//   disagree  log2((1 - m_agree - m_partial) / (1 - u_agree - u_partial))
//   missing   0 (a side lacks the field: no evidence either way).
struct FieldModel {
  double m_agree = 0;
  double u_agree = 0;
  double m_partial = 0;
  double u_partial = 0;

  double m_disagree() const { return 1 - m_agree - m_partial; }
  double u_disagree() const { return 1 - u_agree - u_partial; }
  bool has_partial() const { return m_partial > 0 && u_partial > 0; }
  double AgreeWeight() const;
  double PartialWeight() const;
  double DisagreeWeight() const;
  // The weight of `agreement` (0 for missing or unspecified).
  double Weight(v1::FieldAgreement agreement) const;
  // m and u of `agreement` (0 and 0 for missing or unspecified).
  double M(v1::FieldAgreement agreement) const;
  double U(v1::FieldAgreement agreement) const;
};

struct MatchModel {
  std::array<FieldModel, kMatchFieldCount> fields;
  // The probability that a candidate pair is one person, before its
  // comparison is seen.
  double prior = 0;
};

// The model before any estimate, in the range master patient indexes use
// and Splink estimates on person data (values in match_model.cc, each with
// its reasoning; docs/views.md lists them). A network's own estimate
// replaces it once enough pairs were compared
// (projections/duplication_projection.h).
const MatchModel& DefaultMatchModel();

// The posterior probability that a pair of total weight `weight` (bits) is
// one person under `prior`: 1 / (1 + 2^-(weight + log2(prior / (1 - prior)))).
double MatchProbability(double weight, double prior);

// A comparison vector as one number: field i's level (FieldAgreement 1..4,
// minus 1) in base-4 digit i. Unspecified counts as missing.
using ComparisonCode = uint32_t;
inline constexpr ComparisonCode kComparisonCodes = 1u << (2 * kMatchFieldCount);
using ComparisonLevels = std::array<v1::FieldAgreement, kMatchFieldCount>;
ComparisonCode EncodeComparison(const ComparisonLevels& levels);
// REQUIRES: code < kComparisonCodes.
ComparisonLevels DecodeComparison(ComparisonCode code);

// How many compared pairs had each comparison vector.
using ComparisonCounts = absl::btree_map<ComparisonCode, uint64_t>;

struct EstimateOptions {
  // EM stops after this many iterations, or earlier once no m, u or the
  // prior moved by more than `tolerance`. Default: 500, 1e-7.
  int max_iterations = 500;
  double tolerance = 1e-7;
  // The starting model counts as this many pairs of evidence (a Dirichlet
  // prior on each field's levels and a Beta prior on the prior): with few
  // pairs, or a field few pairs have on both sides, the estimate stays near
  // the start; with many it is the data's. Default: 100.
  double start_weight = 100;
  // No m or u of a level the start model has is estimated below this (a
  // level no pair showed would otherwise weigh minus infinity or infinity).
  // Default: 1e-6.
  double min_probability = 1e-6;
  // Keep every u at the start model's (estimated elsewhere, e.g. from
  // random pairs): EM then estimates m and the prior only. Default: false.
  bool fixed_u = false;
};

struct Estimate {
  MatchModel model;
  uint64_t pairs = 0;  // the pairs counted
  int iterations = 0;
  bool converged = false;
  // Fields kept at the start model because their estimate made agreement
  // evidence against a match (m_agree <= u_agree: the two classes EM found
  // are not "same person" and "different people" for that field).
  std::array<bool, kMatchFieldCount> kept_start{};
};

// Estimates m and u of every field's levels and the prior from `counts` by
// EM, starting from `start`: the E step gives each comparison vector its
// posterior probability of being one person under the current model
// (fields independent given the class, missing fields skipped); the M step
// sets each field level's m to its share among the expected matches that
// have the field on both sides (u likewise among the expected non-matches)
// and the prior to the expected share of matches, each smoothed towards
// `start` by options.start_weight pairs. A field level the start model lacks
// (a zero m_partial) is never given one. With no pairs the result is
// `start`.
Estimate EstimateMatchModel(const ComparisonCounts& counts,
                            const MatchModel& start,
                            const EstimateOptions& options = {});

}  // namespace caseline::care

#endif  // CASELINE_CARE_MATCH_MODEL_H_
