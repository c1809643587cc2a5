// Client matching: is this registration the same person as that one?
// Fellegi–Sunter record linkage as master patient indexes practise it (Splink,
// OpenEMPI, JeMPI, SanteMPI): compare given name, family name, birth date,
// sex, phone, address and identifiers field by field, add up the log2
// likelihood-ratio weights of a MatchModel (care/match_model.h: the default
// one, or one learned from the network's pairs), turn the sum into a match
// probability with the model's prior, and classify it with the two
// thresholds of ViewsConfig into match / review / non-match.
//
// Candidate pairs come from blocking (BlockingKeys): only records that share
// a cheap key are ever compared, never all pairs.
//
// Details are normalised once per client (MakeMatchProfile: ICU for names and
// addresses, libphonenumber for phones) and compared as MatchProfiles.
//
// Pure functions of their arguments: no I/O (ICU's and libphonenumber's data
// are compiled into their shared libraries), no clock, thread-safe.
#ifndef CASELINE_CARE_CLIENT_MATCHING_H_
#define CASELINE_CARE_CLIENT_MATCHING_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/views.pb.h"
#include "care/match_model.h"
#include "care/views_config.h"

namespace caseline::care {

// Jaro–Winkler similarity in [0, 1] over Unicode code points (1 = equal):
// both strings are decoded from UTF-8 (an invalid byte counts as one code
// point of its own), then Jaro's matching window max(|a|,|b|)/2 - 1 over code
// points, then Winkler's boost of 0.1 per common prefix code point (at most
// 4), applied when the Jaro similarity exceeds 0.7 (Winkler's boost
// threshold). Two empty strings are equal (1); one empty string matches
// nothing (0). "Zoë"/"Zoe" scores as "Zox"/"Zoe" does. Compare normalised
// strings (NormalizeName).
double JaroWinkler(absl::string_view a, absl::string_view b);

// A name reduced for comparison, in three steps:
//   1. ICU transliteration "Any-Latin; Latin-ASCII": other scripts to Latin,
//      then Latin to ASCII ("José" -> "Jose", "Nguyễn" -> "Nguyen",
//      "Владимир" -> "Vladimir", "Straße" -> "Strasse"); what has no ASCII
//      form stays as ICU leaves it (Han characters become pinyin with tone
//      marks, then plain letters; a script ICU cannot romanise stays as is).
//   2. Unicode full case folding ("STRASSE" -> "strasse").
//   3. Only letters and digits kept (Unicode general categories L* and Nd):
//      spaces, punctuation, apostrophes and hyphens dropped
//      ("O'Brien-Smith Jr." -> "obriensmithjr").
// UTF-8 in, UTF-8 out (ASCII for Latin-script input). Should ICU fail (it
// cannot load its transliteration data), the input is case-folded and
// filtered (steps 2 and 3 only): accents then stay and "José" != "Jose".
// Thread-safe.
std::string NormalizeName(absl::string_view name);

// True when two different normalised given names are known equivalents in
// the built-in list (NicknameTable::BuiltIn()): a short form or diminutive
// ("bob" and "robert", "liz" and "elizabeth"). Matching uses the configured
// list (ViewsConfig::nicknames) through MatchProfile.
bool IsNickname(absl::string_view a, absl::string_view b);

// American Soundex of the ASCII letters of `name` ("Robert" -> "R163"); empty
// when it has none. Give it a normalised (transliterated) name: other bytes
// are skipped.
std::string Soundex(absl::string_view name);

// A phone number in E.164 form ("+15550102345"), read by libphonenumber
// (PhoneNumberUtil::Parse) with `default_region` (ISO 3166-1 alpha-2, e.g.
// "US", "AU", "VN") as the dialling plan of a number written without "+" and
// a country code; a number written with them ("+61 2 9876 5432") is read as
// written whatever the region. Empty when it does not parse, or when its
// length is not that of a complete number of its country (libphonenumber's
// IsPossibleNumberWithReason is not IS_POSSIBLE): a local-only number such as
// US "555-0102" lacks its area code and is empty too, since the same seven
// digits name different lines in different areas. Validity (whether the
// number is assigned) is not checked: test numbers like 555-01xx are real
// input. Thread-safe.
std::string NormalizePhone(absl::string_view phone,
                           absl::string_view default_region);

// Whether libphonenumber knows `region` as a region code
// (PhoneNumberUtil::GetSupportedRegions; upper case, e.g. "US").
bool IsSupportedPhoneRegion(absl::string_view region);

// Address line 1 reduced for comparison: NormalizeName's transliteration and
// case folding, split into words at every character that is not a letter or
// digit, each word replaced by its abbreviation when
// `abbreviations` has it as a key, joined by one space
// ("12 North Elm Street, Apt 4" -> "12 n elm st apt 4" with the USPS table).
std::string NormalizeAddressLine(
    absl::string_view line,
    const absl::flat_hash_map<std::string, std::string>& abbreviations);

// A postal code reduced for comparison: NormalizeName's normalisation
// ("SW1A 1AA" -> "sw1a1aa"); a code written as a US ZIP+4 (five digits, a
// hyphen or space, four digits: "97401-1234") keeps its five-digit ZIP.
// Codes of other lengths are kept whole (six-digit Indian, Vietnamese or
// Russian codes are not cut).
std::string NormalizePostalCode(absl::string_view code);

// One client's details reduced for matching, computed once per registration
// or correction (MakeMatchProfile): normalisation (ICU transliteration,
// libphonenumber parsing) costs far more than a comparison, and a client is
// compared with many candidates. A plain value, copyable.
struct MatchProfile {
  std::string given;          // NormalizeName(name.given)
  std::string family;         // NormalizeName(name.family)
  std::string given_soundex;  // Soundex(given)
  std::string family_soundex;  // Soundex(family)
  // config.nicknames->GroupsOf(given): names sharing a group are nicknames
  // of each other.
  std::vector<uint32_t> given_nickname_groups;
  v1::Date birth_date;         // as registered
  std::string birth_date_recorded_as;  // as registered
  v1::Sex sex = v1::SEX_UNSPECIFIED;
  std::string phone;         // NormalizePhone(phone, config.phone_region)
  std::string address_line;  // NormalizeAddressLine(line1, abbreviations)
  std::string postal_code;   // NormalizePostalCode(postal_code)
  std::string locality;      // NormalizeName(city)
  std::vector<v1::ClientIdentifier> identifiers;  // as registered
};

// The profile of a client's current details (corrections applied), with
// config.phone_region and config.address_abbreviations.
MatchProfile MakeMatchProfile(const v1::ClientRegistered& details,
                              const ViewsConfig& config);

// Phone and address are household attributes: family members (twins), and
// residents of a shelter or group home, share them. Fellegi–Sunter assumes
// fields are independent given match status, which these are not: when a
// name part disagrees, agreement on phone or address is weighed against this
// u-probability (the chance that two different people in one household
// share it) instead of the model's, which keeps twins from matching.
inline constexpr double kHouseholdU = 0.5;

// Term-frequency adjustment (as Splink's): an agreeing name part is weighed
// by how common the name is among registered clients, in bits added to the
// field's agree weight: log2(sum of c^2 / (T * c_name)), where T clients have
// the part, c over the names counts how many have each, and c_name is the
// count of the compared name (the larger of the two sides' when they agree
// without being equal). sum c^2 / T^2 is the chance that two clients share
// the part, c_name / T the chance that a client has this name: rare names
// weigh more, common ones less. Clamped to +-kMaxTermFrequencyAdjustment,
// and 0 until kMinTermFrequencyClients clients have the part.
inline constexpr double kMaxTermFrequencyAdjustment = 6.0;
inline constexpr uint64_t kMinTermFrequencyClients = 100;

enum class NamePart { kGiven, kFamily };

// How many clients have each normalised given name and family name
// (MatchProfile::given, ::family): the counts the term-frequency adjustment
// reads. A plain value; not thread-safe for writes.
class NameFrequencies {
 public:
  // Adds `delta` (negative: removes) to the count of `name`. A count never
  // goes below 0. Empty names are not counted.
  void Add(NamePart part, absl::string_view name, int64_t delta);
  uint64_t Count(NamePart part, absl::string_view name) const;
  // The clients counted for the part (T), and the sum of squared counts.
  uint64_t Total(NamePart part) const;
  uint64_t SumOfSquares(NamePart part) const;
  // The adjustment (bits) of an agreeing comparison of names `a` and `b`.
  double Adjustment(NamePart part, absl::string_view a,
                    absl::string_view b) const;

 private:
  struct Counts {
    absl::flat_hash_map<std::string, uint64_t> by_name;
    uint64_t total = 0;
    uint64_t sum_of_squares = 0;
  };
  const Counts& Of(NamePart part) const {
    return part == NamePart::kGiven ? given_ : family_;
  }
  Counts given_;
  Counts family_;
};

// Name agreement bands on Jaro–Winkler similarity of normalised parts.
inline constexpr double kNameAgreeSimilarity = 0.92;
inline constexpr double kNamePartialSimilarity = 0.85;

struct ClientMatch {
  // Sum of the field weights (bits), term-frequency adjustments included.
  double weight = 0;
  // MatchProbability(weight, model.prior).
  double probability = 0;
  v1::MatchClass match_class = v1::MATCH_CLASS_NON_MATCH;
  // The comparison vector (the level of each field), as the model counts it.
  ComparisonCode comparison = 0;
  // One per field, in MatchField order (given_name, family_name, birth_date,
  // sex, phone, address, identifier); missing fields are listed with weight
  // 0. Each carries the m and u its weight came from.
  std::vector<v1::FieldComparison> comparisons;
};

// Scores two clients' current details (corrections applied) with `model`,
// adjusting agreeing name parts by `frequencies` (none when null). Symmetric
// in a and b. Fields:
//   given_name, family_name: Jaro–Winkler of the normalised parts; agree at
//     kNameAgreeSimilarity or above, partial at kNamePartialSimilarity or
//     above or (given name) when the two are nicknames of each other
//     (IsNickname), disagree below; missing when a side lacks the part.
//     When given and family are swapped on one side (each agrees with the
//     other side's opposite part, and the straight comparison does not agree
//     on both), both parts are partial. A side with only a given name and a
//     side with only a family name are compared crosswise: partial given
//     name when they agree, disagree when not; the family name is missing.
//   birth_date: exact agree; partial when day and month are transposed or
//     exactly one of year, month, day differs. When a side's date is partial
//     (care/birth_date.h): partial when a side recorded as text 8 digits in
//     year-month-day order at most one digit away from the other side's
//     date (or its 8 digits), else missing when a year is 0, else partial
//     when what both know (the year; the month when both have one) is
//     equal, disagree when not.
//   sex: equal values agree; SEX_UNSPECIFIED and SEX_UNKNOWN are missing.
//   phone: NormalizePhone equal (E.164, config.phone_region).
//   address: agree when normalised line 1 (NormalizeAddressLine with
//     config.address_abbreviations) agrees (equal, or Jaro–Winkler at
//     least kNameAgreeSimilarity) and so does the postal code where both have
//     one; partial when the postal code agrees and line 1 differs or is
//     missing on a side; missing when nothing is comparable.
//   identifier: agree when any identifier of a has the same system and value
//     as one of b (an "MRN" only from the same organisation: MRNs are
//     organisation-local numbers); partial when none agrees but two such
//     values are one typing error apart (same length and one character
//     differs, or two adjacent characters swapped); disagree when none
//     agrees but the same organisation holds identifiers of one system with
//     different values; missing otherwise.
// Weights: model.fields[field].Weight(level), except that an agreeing phone
// or address weighs log2(m_agree / kHouseholdU) when a name part disagrees,
// and an agreeing name part adds its term-frequency adjustment.
ClientMatch CompareClients(const MatchProfile& a, const MatchProfile& b,
                           const ViewsConfig& config, const MatchModel& model,
                           const NameFrequencies* frequencies);

// CompareClients(a, b, config, DefaultMatchModel(), nullptr).
ClientMatch CompareClients(const MatchProfile& a, const MatchProfile& b,
                           const ViewsConfig& config);

// CompareClients(MakeMatchProfile(a, config), MakeMatchProfile(b, config),
// config): for one-off comparisons; a caller comparing one client with many
// keeps the profiles.
ClientMatch CompareClients(const v1::ClientRegistered& a,
                           const v1::ClientRegistered& b,
                           const ViewsConfig& config);

// CompareClients' weight and comparison vector without the explanations:
// for scoring candidates, most of which turn out non-matches.
struct PairScore {
  double weight = 0;
  ComparisonCode comparison = 0;
};
PairScore ScorePair(const MatchProfile& a, const MatchProfile& b,
                    const MatchModel& model,
                    const NameFrequencies* frequencies);

// MATCH at or above config.match_threshold, REVIEW at or above
// config.review_threshold, NON_MATCH below.
v1::MatchClass ClassifyMatch(double probability, const ViewsConfig& config);

// Cheap keys that put likely duplicates into the same block. Two clients are
// compared only when they share at least one key. Keys (sorted, unique):
//   "d:YYYYMMDD"                   birth date, when whole
//   "p:<E.164>"                    the profile's phone ("p:+15550102345")
//   "i:<system>:<value>"           each identifier
//   "n:<soundex>:<birth year>"     given name and family name each, in one
//                                  namespace so swapped names share a key
//                                  (a partial birth date's year too)
//   "f:<soundex>:<soundex>"        both name parts, sorted (no birth date)
//   "a:<postal code>:<locality>"   the profile's postal code and locality,
//                                  when both are present ("a:2000:sydney")
// Soundex codes are of the normalised (transliterated) names.
std::vector<std::string> BlockingKeys(const MatchProfile& profile);

// BlockingKeys(MakeMatchProfile(details, config)).
std::vector<std::string> BlockingKeys(const v1::ClientRegistered& details,
                                      const ViewsConfig& config);

}  // namespace caseline::care

#endif  // CASELINE_CARE_CLIENT_MATCHING_H_
