#include "care/match_model.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "care/client_matching.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care {
namespace {

TEST(MatchModel, ComparisonCodesRoundTrip) {
  ComparisonLevels levels = {
      v1::FIELD_AGREEMENT_AGREE,    v1::FIELD_AGREEMENT_PARTIAL,
      v1::FIELD_AGREEMENT_DISAGREE, v1::FIELD_AGREEMENT_MISSING,
      v1::FIELD_AGREEMENT_AGREE,    v1::FIELD_AGREEMENT_DISAGREE,
      v1::FIELD_AGREEMENT_PARTIAL};
  const ComparisonCode code = EncodeComparison(levels);
  EXPECT_LT(code, kComparisonCodes);
  EXPECT_EQ(DecodeComparison(code), levels);
  // Unspecified counts as missing.
  levels[0] = v1::FIELD_AGREEMENT_UNSPECIFIED;
  EXPECT_EQ(DecodeComparison(EncodeComparison(levels))[0],
            v1::FIELD_AGREEMENT_MISSING);
  EXPECT_EQ(MatchFieldName(kGivenNameField), "given_name");
  EXPECT_EQ(MatchFieldName(kIdentifierField), "identifier");
  EXPECT_EQ(MatchFieldName(kMatchFieldCount), "");
}

// A population drawn from a known model: every comparison vector counted
// exactly as often as the model expects among `pairs` pairs, with each field
// missing at its own rate.
ComparisonCounts Population(const MatchModel& truth, double pairs,
                            const std::array<double, kMatchFieldCount>& missing) {
  ComparisonCounts counts;
  for (ComparisonCode code = 0; code < kComparisonCodes; ++code) {
    const ComparisonLevels levels = DecodeComparison(code);
    double match = truth.prior;
    double other = 1 - truth.prior;
    for (int f = 0; f < kMatchFieldCount; ++f) {
      const FieldModel& field = truth.fields[f];
      if (levels[f] == v1::FIELD_AGREEMENT_MISSING) {
        match *= missing[f];
        other *= missing[f];
      } else {
        match *= (1 - missing[f]) * field.M(levels[f]);
        other *= (1 - missing[f]) * field.U(levels[f]);
      }
    }
    const uint64_t n = static_cast<uint64_t>(std::llround(pairs * (match + other)));
    if (n > 0) counts[code] = n;
  }
  return counts;
}

MatchModel Truth() {
  MatchModel truth;
  truth.fields[kGivenNameField] = {0.85, 0.20, 0.08, 0.05};
  truth.fields[kFamilyNameField] = {0.90, 0.25, 0.05, 0.03};
  truth.fields[kBirthDateField] = {0.90, 0.10, 0.05, 0.05};
  truth.fields[kSexField] = {0.95, 0.50, 0, 0};
  truth.fields[kPhoneField] = {0.70, 0.01, 0, 0};
  truth.fields[kAddressField] = {0.75, 0.02, 0.15, 0.05};
  truth.fields[kIdentifierField] = {0.92, 0.001, 0.03, 0.001};
  truth.prior = 0.3;
  return truth;
}

// EM from the default model (far from the truth) recovers a known model from
// a synthetic population of 10 million pairs.
TEST(EstimateMatchModel, RecoversAKnownModel) {
  const MatchModel truth = Truth();
  const ComparisonCounts counts =
      Population(truth, 1e7, {0.05, 0.05, 0.05, 0.2, 0.5, 0.1, 0.3});
  EstimateOptions options;
  options.start_weight = 1;
  const Estimate estimate =
      EstimateMatchModel(counts, DefaultMatchModel(), options);
  EXPECT_TRUE(estimate.converged);
  EXPECT_GT(estimate.pairs, 9'990'000u);
  EXPECT_NEAR(estimate.model.prior, truth.prior, 0.005);
  for (int f = 0; f < kMatchFieldCount; ++f) {
    SCOPED_TRACE(MatchFieldName(f));
    EXPECT_FALSE(estimate.kept_start[f]);
    const FieldModel& got = estimate.model.fields[f];
    const FieldModel& want = truth.fields[f];
    EXPECT_NEAR(got.m_agree, want.m_agree, 0.01);
    EXPECT_NEAR(got.m_partial, want.m_partial, 0.01);
    EXPECT_NEAR(got.u_agree, want.u_agree, 0.01);
    EXPECT_NEAR(got.u_partial, want.u_partial, 0.01);
    // The weights a reviewer sees, within a quarter of a bit.
    EXPECT_NEAR(got.AgreeWeight(), want.AgreeWeight(), 0.25);
    EXPECT_NEAR(got.DisagreeWeight(), want.DisagreeWeight(), 0.25);
  }
}

// With a few pairs the start model's weight keeps the estimate near it; a
// level no pair showed is not estimated at zero.
TEST(EstimateMatchModel, FewPairsStayNearTheStart) {
  const MatchModel& start = DefaultMatchModel();
  ComparisonLevels all_agree;
  all_agree.fill(v1::FIELD_AGREEMENT_AGREE);
  all_agree[kPhoneField] = v1::FIELD_AGREEMENT_MISSING;
  ComparisonCounts counts = {{EncodeComparison(all_agree), 5}};
  const Estimate estimate = EstimateMatchModel(counts, start);
  EXPECT_EQ(estimate.pairs, 5u);
  for (int f = 0; f < kMatchFieldCount; ++f) {
    SCOPED_TRACE(MatchFieldName(f));
    const FieldModel& got = estimate.model.fields[f];
    EXPECT_NEAR(got.m_agree, start.fields[f].m_agree, 0.05);
    EXPECT_GT(got.m_disagree(), 0);
    EXPECT_GT(got.u_disagree(), 0);
    EXPECT_TRUE(std::isfinite(got.DisagreeWeight()));
  }
  // Phone was missing everywhere: exactly the start.
  EXPECT_NEAR(estimate.model.fields[kPhoneField].m_agree,
              start.fields[kPhoneField].m_agree, 1e-12);
  EXPECT_NEAR(estimate.model.fields[kPhoneField].u_agree,
              start.fields[kPhoneField].u_agree, 1e-12);
}

TEST(EstimateMatchModel, NoPairsIsTheStart) {
  const Estimate estimate =
      EstimateMatchModel(ComparisonCounts(), DefaultMatchModel());
  EXPECT_TRUE(estimate.converged);
  EXPECT_EQ(estimate.pairs, 0u);
  EXPECT_EQ(estimate.model.prior, DefaultMatchModel().prior);
}

// A field whose agreement comes out commoner among the pairs EM calls
// different people than among the same person is kept at the start model.
TEST(EstimateMatchModel, AFieldAgreeingAgainstAMatchKeepsTheStart) {
  MatchModel truth = Truth();
  truth.fields[kSexField] = {0.30, 0.90, 0, 0};
  const ComparisonCounts counts =
      Population(truth, 1e6, {0.05, 0.05, 0.05, 0.0, 0.5, 0.1, 0.3});
  EstimateOptions options;
  options.start_weight = 1;
  const Estimate estimate =
      EstimateMatchModel(counts, DefaultMatchModel(), options);
  EXPECT_TRUE(estimate.kept_start[kSexField]);
  EXPECT_EQ(estimate.model.fields[kSexField].m_agree,
            DefaultMatchModel().fields[kSexField].m_agree);
  EXPECT_FALSE(estimate.kept_start[kBirthDateField]);
}

// A level the start model lacks (sex has no partial level) is never given
// one: such vectors count the field as missing.
TEST(EstimateMatchModel, NoLevelTheStartLacks) {
  ComparisonLevels levels;
  levels.fill(v1::FIELD_AGREEMENT_AGREE);
  levels[kSexField] = v1::FIELD_AGREEMENT_PARTIAL;
  const Estimate estimate = EstimateMatchModel(
      {{EncodeComparison(levels), 1000}}, DefaultMatchModel());
  EXPECT_EQ(estimate.model.fields[kSexField].m_partial, 0);
  EXPECT_EQ(estimate.model.fields[kSexField].u_partial, 0);
}

TEST(MatchModel, DefaultModelWeighsAgreementForAndDisagreementAgainst) {
  const MatchModel& model = DefaultMatchModel();
  for (int f = 0; f < kMatchFieldCount; ++f) {
    SCOPED_TRACE(MatchFieldName(f));
    const FieldModel& field = model.fields[f];
    EXPECT_GT(field.AgreeWeight(), 0);
    EXPECT_LT(field.DisagreeWeight(), 0);
    EXPECT_EQ(field.Weight(v1::FIELD_AGREEMENT_MISSING), 0);
    if (field.has_partial()) {
      EXPECT_LT(field.PartialWeight(), field.AgreeWeight());
      EXPECT_GT(field.PartialWeight(), field.DisagreeWeight());
    }
  }
  EXPECT_NEAR(MatchProbability(0, 0.25), 0.25, 1e-12);
  EXPECT_NEAR(MatchProbability(std::log2(3.0), 0.25), 0.5, 1e-12);
}

TEST(NameFrequencies, CountsAndAdjustments) {
  NameFrequencies names;
  // 200 clients: 100 named "smith", 1 "zyrkowski", 99 others one each.
  names.Add(NamePart::kFamily, "smith", 100);
  names.Add(NamePart::kFamily, "zyrkowski", 1);
  for (int i = 0; i < 99; ++i)
    names.Add(NamePart::kFamily, absl::StrCat("name", i), 1);
  EXPECT_EQ(names.Total(NamePart::kFamily), 200u);
  EXPECT_EQ(names.SumOfSquares(NamePart::kFamily), 100u * 100 + 100);
  EXPECT_EQ(names.Count(NamePart::kFamily, "smith"), 100u);
  EXPECT_EQ(names.Count(NamePart::kGiven, "smith"), 0u);
  // log2(10100 / (200 * 100)) < 0 for the common name; the rare name gains,
  // up to the clamp.
  EXPECT_NEAR(names.Adjustment(NamePart::kFamily, "smith", "smith"),
              std::log2(10100.0 / 20000.0), 1e-9);
  EXPECT_NEAR(names.Adjustment(NamePart::kFamily, "zyrkowski", "zyrkowski"),
              std::log2(10100.0 / 200.0), 1e-9);
  // Agreeing without being equal: the commoner side's count.
  EXPECT_NEAR(names.Adjustment(NamePart::kFamily, "smith", "smyth"),
              std::log2(10100.0 / 20000.0), 1e-9);
  // A name never counted: no adjustment.
  EXPECT_EQ(names.Adjustment(NamePart::kFamily, "nobody", "nobody"), 0);
  // Too few clients for the given name: no adjustment.
  names.Add(NamePart::kGiven, "ann", 5);
  EXPECT_EQ(names.Adjustment(NamePart::kGiven, "ann", "ann"), 0);
  // Removing keeps the sums exact and never goes below zero.
  names.Add(NamePart::kFamily, "smith", -99);
  EXPECT_EQ(names.Total(NamePart::kFamily), 101u);
  EXPECT_EQ(names.SumOfSquares(NamePart::kFamily), 1u + 100);
  names.Add(NamePart::kFamily, "smith", -5);
  EXPECT_EQ(names.Count(NamePart::kFamily, "smith"), 0u);
  EXPECT_EQ(names.Total(NamePart::kFamily), 100u);
  names.Add(NamePart::kFamily, "", 3);
  EXPECT_EQ(names.Total(NamePart::kFamily), 100u);
  // Clamped.
  NameFrequencies many;
  many.Add(NamePart::kGiven, "common", 1'000'000);
  many.Add(NamePart::kGiven, "unique", 1);
  EXPECT_EQ(many.Adjustment(NamePart::kGiven, "unique", "unique"),
            kMaxTermFrequencyAdjustment);
}

}  // namespace
}  // namespace caseline::care
