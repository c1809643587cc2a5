#include "care/match_model.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace caseline::care {
namespace {

// The levels EM estimates, as indexes into per-field arrays.
constexpr int kAgree = 0;
constexpr int kPartial = 1;
constexpr int kDisagree = 2;
constexpr int kLevels = 3;

// The level index of `agreement`, or -1 for missing (and unspecified).
int LevelIndex(v1::FieldAgreement agreement) {
  switch (agreement) {
    case v1::FIELD_AGREEMENT_AGREE:
      return kAgree;
    case v1::FIELD_AGREEMENT_PARTIAL:
      return kPartial;
    case v1::FIELD_AGREEMENT_DISAGREE:
      return kDisagree;
    default:
      return -1;
  }
}

// A field's m (or u) per level.
using Levels = std::array<double, kLevels>;

Levels MOf(const FieldModel& f) {
  return {f.m_agree, f.m_partial, f.m_disagree()};
}
Levels UOf(const FieldModel& f) {
  return {f.u_agree, f.u_partial, f.u_disagree()};
}

// Keeps every level the start has at or above `floor` and the sum at 1;
// levels the start lacks stay 0.
void Normalise(Levels& p, const Levels& start, double floor) {
  double sum = 0;
  for (int l = 0; l < kLevels; ++l) {
    if (start[l] <= 0) {
      p[l] = 0;
      continue;
    }
    p[l] = std::max(p[l], floor);
    sum += p[l];
  }
  for (double& value : p) value /= sum;
}

}  // namespace

absl::string_view MatchFieldName(int field) {
  static constexpr absl::string_view kNames[kMatchFieldCount] = {
      "given_name", "family_name", "birth_date", "sex",
      "phone",      "address",     "identifier"};
  return field >= 0 && field < kMatchFieldCount ? kNames[field] : "";
}

double FieldModel::AgreeWeight() const { return std::log2(m_agree / u_agree); }

double FieldModel::PartialWeight() const {
  if (!has_partial()) return 0;
  return std::log2(m_partial / u_partial);
}

double FieldModel::DisagreeWeight() const {
  return std::log2(m_disagree() / u_disagree());
}

double FieldModel::Weight(v1::FieldAgreement agreement) const {
  switch (agreement) {
    case v1::FIELD_AGREEMENT_AGREE:
      return AgreeWeight();
    case v1::FIELD_AGREEMENT_PARTIAL:
      return PartialWeight();
    case v1::FIELD_AGREEMENT_DISAGREE:
      return DisagreeWeight();
    default:
      return 0;
  }
}

double FieldModel::M(v1::FieldAgreement agreement) const {
  const int level = LevelIndex(agreement);
  return level < 0 ? 0 : MOf(*this)[level];
}

double FieldModel::U(v1::FieldAgreement agreement) const {
  const int level = LevelIndex(agreement);
  return level < 0 ? 0 : UOf(*this)[level];
}

const MatchModel& DefaultMatchModel() {
  static const MatchModel* const kDefault = [] {
    auto* model = new MatchModel();
    // The u values are for candidate pairs, which share a blocking key (a
    // name's sound with the birth year, a birth date, a phone, an address
    // block): two different people among them share far more than two
    // random people do.
    // Given name: shared by about 1 candidate pair in 20 that is two
    // people; one person's records agree ~90% of the time, are a typo
    // (Jaro–Winkler 0.85-0.92) or a known nickname ~5%.
    model->fields[kGivenNameField] = {0.90, 0.05, 0.05, 0.01};
    // Family name: shared by about 1 in 50; changes with marriage, so one
    // person's records disagree more often.
    model->fields[kFamilyNameField] = {0.88, 0.02, 0.05, 0.01};
    // Birth date: about 1 in 300 (1/(365 x 80) for random people, times the
    // blocks on birth dates and years); partial = day and month transposed,
    // one of year, month, day differs, or only what a partial date knows
    // agrees (entry errors, ~3% of one person's records).
    model->fields[kBirthDateField] = {0.95, 0.003, 0.03, 0.005};
    // Sex: half of random pairs agree; recorded differently for ~3% of one
    // person's records.
    model->fields[kSexField] = {0.97, 0.5, 0, 0};
    // Phone (E.164): near-unique by chance; people change numbers, so one
    // person's records agree only ~75% of the time.
    model->fields[kPhoneField] = {0.75, 0.0001, 0, 0};
    // Address (normalised line 1 + postal code): agree ~70% (people move);
    // partial = same postal code, different line 1.
    model->fields[kAddressField] = {0.70, 0.0005, 0.10, 0.02};
    // Identifier (same system and value): a shared Medicaid id or MRN is
    // almost never chance; partial = one character apart (a typo);
    // disagree = the same issuer holds a different value.
    model->fields[kIdentifierField] = {0.90, 0.000001, 0.03, 0.00001};
    // About 1 in 1000 candidate pairs is one person (pairs share at least
    // one blocking key, so far likelier than two random records).
    model->prior = 0.001;
    return model;
  }();
  return *kDefault;
}

double MatchProbability(double weight, double prior) {
  const double prior_log_odds = std::log2(prior / (1 - prior));
  return 1.0 / (1.0 + std::exp2(-(weight + prior_log_odds)));
}

ComparisonCode EncodeComparison(const ComparisonLevels& levels) {
  ComparisonCode code = 0;
  for (int i = kMatchFieldCount - 1; i >= 0; --i) {
    int digit = static_cast<int>(levels[i]) - 1;
    if (digit < 0 || digit > 3) digit = v1::FIELD_AGREEMENT_MISSING - 1;
    code = code * 4 + static_cast<ComparisonCode>(digit);
  }
  return code;
}

ComparisonLevels DecodeComparison(ComparisonCode code) {
  ComparisonLevels levels;
  for (int i = 0; i < kMatchFieldCount; ++i) {
    levels[i] = static_cast<v1::FieldAgreement>(code % 4 + 1);
    code /= 4;
  }
  return levels;
}

Estimate EstimateMatchModel(const ComparisonCounts& counts,
                            const MatchModel& start,
                            const EstimateOptions& options) {
  Estimate estimate;
  estimate.model = start;
  struct Vector {
    std::array<int, kMatchFieldCount> level;  // -1: missing
    double count;
  };
  std::vector<Vector> vectors;
  vectors.reserve(counts.size());
  for (const auto& [code, count] : counts) {
    if (count == 0 || code >= kComparisonCodes) continue;
    const ComparisonLevels levels = DecodeComparison(code);
    Vector v;
    for (int f = 0; f < kMatchFieldCount; ++f) {
      v.level[f] = LevelIndex(levels[f]);
      // A level the start model lacks cannot be weighed: treat as missing.
      if (v.level[f] == kPartial && !start.fields[f].has_partial())
        v.level[f] = -1;
    }
    v.count = static_cast<double>(count);
    estimate.pairs += count;
    vectors.push_back(v);
  }
  if (estimate.pairs == 0) {
    estimate.converged = true;
    return estimate;
  }

  std::array<Levels, kMatchFieldCount> start_m, start_u, m, u;
  for (int f = 0; f < kMatchFieldCount; ++f) {
    start_m[f] = m[f] = MOf(start.fields[f]);
    start_u[f] = u[f] = UOf(start.fields[f]);
  }
  double prior = start.prior;
  const double w = options.start_weight;
  for (int iteration = 1; iteration <= options.max_iterations; ++iteration) {
    // E step, with the expected counts of the M step gathered alongside.
    std::array<Levels, kMatchFieldCount> match_level{}, other_level{};
    std::array<double, kMatchFieldCount> match_present{}, other_present{};
    double matches = 0;
    const double log_prior_odds = std::log(prior / (1 - prior));
    for (const Vector& v : vectors) {
      double log_odds = log_prior_odds;
      for (int f = 0; f < kMatchFieldCount; ++f) {
        const int l = v.level[f];
        if (l >= 0) log_odds += std::log(m[f][l] / u[f][l]);
      }
      const double p = 1.0 / (1.0 + std::exp(-log_odds));
      const double as_match = p * v.count;
      const double as_other = (1 - p) * v.count;
      matches += as_match;
      for (int f = 0; f < kMatchFieldCount; ++f) {
        const int l = v.level[f];
        if (l < 0) continue;
        match_level[f][l] += as_match;
        match_present[f] += as_match;
        other_level[f][l] += as_other;
        other_present[f] += as_other;
      }
    }
    // M step, smoothed towards the start.
    double change = 0;
    for (int f = 0; f < kMatchFieldCount; ++f) {
      Levels next_m, next_u;
      for (int l = 0; l < kLevels; ++l) {
        next_m[l] = (match_level[f][l] + w * start_m[f][l]) /
                    (match_present[f] + w);
        next_u[l] = (other_level[f][l] + w * start_u[f][l]) /
                    (other_present[f] + w);
      }
      Normalise(next_m, start_m[f], options.min_probability);
      Normalise(next_u, start_u[f], options.min_probability);
      for (int l = 0; l < kLevels; ++l) {
        change = std::max({change, std::abs(next_m[l] - m[f][l]),
                           std::abs(next_u[l] - u[f][l])});
      }
      m[f] = next_m;
      if (!options.fixed_u) u[f] = next_u;
    }
    const double pairs = static_cast<double>(estimate.pairs);
    double next_prior = (matches + w * start.prior) / (pairs + w);
    next_prior = std::clamp(next_prior, options.min_probability,
                            1 - options.min_probability);
    change = std::max(change, std::abs(next_prior - prior));
    prior = next_prior;
    estimate.iterations = iteration;
    if (change < options.tolerance) {
      estimate.converged = true;
      break;
    }
  }

  estimate.model.prior = prior;
  for (int f = 0; f < kMatchFieldCount; ++f) {
    if (m[f][kAgree] <= u[f][kAgree]) {
      estimate.kept_start[f] = true;
      continue;
    }
    FieldModel& field = estimate.model.fields[f];
    field.m_agree = m[f][kAgree];
    field.m_partial = m[f][kPartial];
    field.u_agree = u[f][kAgree];
    field.u_partial = u[f][kPartial];
  }
  return estimate;
}

}  // namespace caseline::care
