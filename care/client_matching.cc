#include "care/client_matching.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/mutex.h"
#include "care/birth_date.h"
#include "phonenumbers/logger.h"
#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"
#include "unicode/translit.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"
#include "unicode/utf8.h"

namespace caseline::care {
namespace {

// Winkler's constants.
constexpr double kPrefixScale = 0.1;
constexpr size_t kMaxPrefix = 4;
constexpr double kBoostThreshold = 0.7;

// Jaro similarity of two sequences of characters (bytes of ASCII strings, or
// decoded code points).
template <typename Char>
double Jaro(const Char* a, size_t a_size, const Char* b, size_t b_size) {
  if (a_size == 0 && b_size == 0) return 1.0;
  if (a_size == 0 || b_size == 0) return 0.0;
  const size_t longer = std::max(a_size, b_size);
  const size_t window = longer / 2 == 0 ? 0 : longer / 2 - 1;
  // Names are short: keep the match flags on the stack when they fit.
  constexpr size_t kInline = 64;
  std::array<bool, 2 * kInline> inline_flags{};
  bool* a_matched = inline_flags.data();
  bool* b_matched = inline_flags.data() + kInline;
  std::unique_ptr<bool[]> heap;
  if (longer > kInline) {
    heap = std::make_unique<bool[]>(a_size + b_size);
    a_matched = heap.get();
    b_matched = heap.get() + a_size;
  }
  size_t matches = 0;
  for (size_t i = 0; i < a_size; ++i) {
    const size_t lo = i > window ? i - window : 0;
    const size_t hi = std::min(b_size, i + window + 1);
    for (size_t j = lo; j < hi; ++j) {
      if (b_matched[j] || a[i] != b[j]) continue;
      a_matched[i] = b_matched[j] = true;
      ++matches;
      break;
    }
  }
  if (matches == 0) return 0.0;
  size_t half_transpositions = 0;
  size_t j = 0;
  for (size_t i = 0; i < a_size; ++i) {
    if (!a_matched[i]) continue;
    while (!b_matched[j]) ++j;
    if (a[i] != b[j]) ++half_transpositions;
    ++j;
  }
  const double m = static_cast<double>(matches);
  const double t = static_cast<double>(half_transpositions / 2);
  return (m / a_size + m / b_size + (m - t) / m) / 3.0;
}

template <typename Char>
double JaroWinklerOf(const Char* a, size_t a_size, const Char* b,
                     size_t b_size) {
  const double jaro = Jaro(a, a_size, b, b_size);
  if (jaro <= kBoostThreshold) return jaro;
  size_t prefix = 0;
  const size_t limit = std::min({a_size, b_size, kMaxPrefix});
  while (prefix < limit && a[prefix] == b[prefix]) ++prefix;
  return jaro + static_cast<double>(prefix) * kPrefixScale * (1.0 - jaro);
}

bool IsAscii(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x80;
  });
}

// The code points of UTF-8 `s`; an ill-formed byte sequence decodes to one
// negative value per ill-formed sequence (ICU's U8_NEXT), which equals only
// itself.
std::u32string CodePoints(absl::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t length = static_cast<int32_t>(s.size());
  int32_t i = 0;
  while (i < length) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    // Ill-formed: a value no code point has, distinct per offending byte.
    out.push_back(c >= 0 ? static_cast<char32_t>(c)
                         : static_cast<char32_t>(0x110000 + bytes[start]));
  }
  return out;
}

// The transliterator NormalizeName uses. ICU's Transliterator may not be
// used by two threads at once (transliterate() keeps state in the object), so
// one prototype is created once (a function-local static: creating it parses
// ICU's rules and takes milliseconds) and every thread clones its own
// (thread_local) on first use; clones are made under a mutex, the prototype
// being shared. nullptr when ICU fails to create it (U_FAILURE: its data is
// missing or damaged).
icu::Transliterator* ThreadTransliterator() {
  static Mutex* const prototype_mu = new Mutex();
  static const icu::Transliterator* const kPrototype =
      []() -> const icu::Transliterator* {
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::Transliterator> created(
        icu::Transliterator::createInstance(
            icu::UnicodeString::fromUTF8("Any-Latin; Latin-ASCII"),
            UTRANS_FORWARD, status));
    if (U_FAILURE(status)) return nullptr;
    return created.release();
  }();
  thread_local const std::unique_ptr<icu::Transliterator> kClone =
      []() -> std::unique_ptr<icu::Transliterator> {
    if (kPrototype == nullptr) return nullptr;
    MutexLock lock(prototype_mu);
    return std::unique_ptr<icu::Transliterator>(kPrototype->clone());
  }();
  return kClone.get();
}

// libphonenumber's PhoneNumberUtil: a process-wide singleton whose const
// methods may be called from any thread (its regular-expression cache locks
// itself). Its log (parse failures are routine here) is silenced once.
const ::i18n::phonenumbers::PhoneNumberUtil& PhoneNumbers() {
  static ::i18n::phonenumbers::PhoneNumberUtil* const kUtil = [] {
    auto* util = ::i18n::phonenumbers::PhoneNumberUtil::GetInstance();
    util->SetLogger(new ::i18n::phonenumbers::NullLogger());
    return util;
  }();
  return *kUtil;
}

std::string Similarity(double value) { return absl::StrFormat("%.2f", value); }

// What every comparison of one pair shares.
struct Scoring {
  const MatchModel& model;
  const NameFrequencies* frequencies;  // null: no term-frequency adjustment
  bool explain;  // build the details (scoring a candidate needs none)
};

// One field's outcome.
struct Field {
  int index = 0;  // MatchField
  v1::FieldAgreement agreement = v1::FIELD_AGREEMENT_MISSING;
  double weight = 0;
  double m = 0;
  double u = 0;
  double term_frequency = 0;  // included in weight
  std::string detail;
};

template <typename DetailFn>
Field Level(int index, const Scoring& s, v1::FieldAgreement agreement,
            DetailFn&& detail) {
  const FieldModel& model = s.model.fields[index];
  Field f;
  f.index = index;
  f.agreement = agreement;
  f.weight = model.Weight(agreement);
  f.m = model.M(agreement);
  f.u = model.U(agreement);
  if (s.explain) f.detail = detail();
  return f;
}

Field Missing(int index, absl::string_view what, const Scoring& s) {
  Field f;
  f.index = index;
  if (s.explain) f.detail = absl::StrCat("missing: ", what);
  return f;
}

// A household attribute (phone, address) that agrees while a name part
// disagrees: weighed with kHouseholdU.
template <typename DetailFn>
Field HouseholdAgreement(int index, const Scoring& s, DetailFn&& detail) {
  Field f;
  f.index = index;
  f.agreement = v1::FIELD_AGREEMENT_AGREE;
  f.m = s.model.fields[index].m_agree;
  f.u = kHouseholdU;
  f.weight = std::log2(f.m / f.u);
  if (s.explain) {
    f.detail =
        absl::StrCat(detail(), "; household weight, a name part disagrees");
  }
  return f;
}

// Adds the term-frequency adjustment to an agreeing name part.
void AdjustForFrequency(Field& f, NamePart part, absl::string_view a,
                        absl::string_view b, const Scoring& s) {
  if (f.agreement != v1::FIELD_AGREEMENT_AGREE || s.frequencies == nullptr)
    return;
  f.term_frequency = s.frequencies->Adjustment(part, a, b);
  f.weight += f.term_frequency;
  if (s.explain && f.term_frequency != 0) {
    absl::StrAppend(&f.detail, absl::StrFormat(
                                   "; %s name, %+.1f bits",
                                   f.term_frequency < 0 ? "common" : "rare",
                                   f.term_frequency));
  }
}

// Whether two ascending lists share a value.
bool SharesAGroup(const std::vector<uint32_t>& a,
                  const std::vector<uint32_t>& b) {
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i == *j) return true;
    if (*i < *j) {
      ++i;
    } else {
      ++j;
    }
  }
  return false;
}

// One name part compared straight: agree, partial (close, or for given
// names a nickname), disagree.
Field NamePartLevel(int index, double similarity, bool nickname,
                    const Scoring& s) {
  v1::FieldAgreement agreement = v1::FIELD_AGREEMENT_DISAGREE;
  if (similarity >= kNameAgreeSimilarity) {
    agreement = v1::FIELD_AGREEMENT_AGREE;
  } else if (nickname || similarity >= kNamePartialSimilarity) {
    agreement = v1::FIELD_AGREEMENT_PARTIAL;
  }
  return Level(index, s, agreement, [&] {
    return agreement == v1::FIELD_AGREEMENT_PARTIAL && nickname &&
                   similarity < kNamePartialSimilarity
               ? absl::StrCat("jaro_winkler ", Similarity(similarity),
                              " (nickname)")
               : absl::StrCat("jaro_winkler ", Similarity(similarity));
  });
}

std::pair<Field, Field> CompareNames(const MatchProfile& a,
                                     const MatchProfile& b, const Scoring& s) {
  const std::string& ga = a.given;
  const std::string& fa = a.family;
  const std::string& gb = b.given;
  const std::string& fb = b.family;
  if ((ga.empty() && fa.empty()) || (gb.empty() && fb.empty())) {
    return {Missing(kGivenNameField, "a side has no name", s),
            Missing(kFamilyNameField, "a side has no name", s)};
  }
  const bool givens = !ga.empty() && !gb.empty();
  const bool families = !fa.empty() && !fb.empty();
  if (!givens && !families) {
    // One side has only a given name, the other only a family name.
    const std::string& pa = ga.empty() ? fa : ga;
    const std::string& pb = gb.empty() ? fb : gb;
    const double similarity = JaroWinkler(pa, pb);
    return {Level(kGivenNameField, s,
                  similarity >= kNameAgreeSimilarity
                      ? v1::FIELD_AGREEMENT_PARTIAL
                      : v1::FIELD_AGREEMENT_DISAGREE,
                  [&] {
                    return absl::StrCat("jaro_winkler ",
                                        Similarity(similarity),
                                        " (given/family swapped)");
                  }),
            Missing(kFamilyNameField, "each side has a different part", s)};
  }
  const double given = givens ? JaroWinkler(ga, gb) : 0;
  const double family = families ? JaroWinkler(fa, fb) : 0;
  if (givens && families &&
      (given < kNameAgreeSimilarity || family < kNameAgreeSimilarity)) {
    // Given and family swapped (a common entry error).
    const double swapped = std::min(JaroWinkler(ga, fb), JaroWinkler(fa, gb));
    if (swapped >= kNameAgreeSimilarity) {
      auto detail = [&] {
        return absl::StrCat("jaro_winkler ", Similarity(swapped),
                            " (given/family swapped)");
      };
      return {Level(kGivenNameField, s, v1::FIELD_AGREEMENT_PARTIAL, detail),
              Level(kFamilyNameField, s, v1::FIELD_AGREEMENT_PARTIAL, detail)};
    }
  }
  Field given_field =
      givens ? NamePartLevel(kGivenNameField, given,
                             ga != gb && SharesAGroup(a.given_nickname_groups,
                                                      b.given_nickname_groups),
                             s)
             : Missing(kGivenNameField, "a side has no given name", s);
  Field family_field =
      families ? NamePartLevel(kFamilyNameField, family, false, s)
               : Missing(kFamilyNameField, "a side has no family name", s);
  AdjustForFrequency(given_field, NamePart::kGiven, ga, gb, s);
  AdjustForFrequency(family_field, NamePart::kFamily, fa, fb, s);
  return {std::move(given_field), std::move(family_field)};
}

// The 8 digits of a birth date recorded as text in year-month-day order
// ("1972-95-18" -> "19729518"), or of a whole date; empty otherwise.
std::string DateDigits(const v1::Date& date, absl::string_view recorded_as) {
  if (!recorded_as.empty()) {
    std::string digits;
    for (char c : recorded_as) {
      if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        digits.push_back(c);
      } else if (!absl::ascii_isspace(static_cast<unsigned char>(c)) &&
                 c != '-' && c != '/' && c != '.') {
        return "";
      }
    }
    return digits.size() == 8 ? digits : "";
  }
  if (PrecisionOf(date) != DatePrecision::kDay) return "";
  return absl::StrFormat("%04d%02d%02d", date.year(), date.month(),
                         date.day());
}

Field CompareBirthDates(const MatchProfile& pa_profile,
                        const MatchProfile& pb_profile, const Scoring& s) {
  constexpr int kField = kBirthDateField;
  const v1::Date& a = pa_profile.birth_date;
  const v1::Date& b = pb_profile.birth_date;
  absl::string_view recorded_a = pa_profile.birth_date_recorded_as;
  absl::string_view recorded_b = pb_profile.birth_date_recorded_as;
  const DatePrecision pa = PrecisionOf(a);
  const DatePrecision pb = PrecisionOf(b);
  if (pa != DatePrecision::kDay || pb != DatePrecision::kDay) {
    // A date recorded as text that reads year-month-day one keystroke away
    // from the other side's date ("1972-95-18" and 1972-05-18).
    if (!recorded_a.empty() || !recorded_b.empty()) {
      const std::string da = DateDigits(a, recorded_a);
      const std::string db = DateDigits(b, recorded_b);
      if (!da.empty() && !db.empty()) {
        int differing = 0;
        for (size_t i = 0; i < da.size(); ++i) differing += da[i] != db[i];
        if (differing <= 1) {
          return Level(kField, s, v1::FIELD_AGREEMENT_PARTIAL, [&] {
            return std::string(differing == 0
                                   ? "recorded text has the same digits"
                                   : "recorded text one digit apart");
          });
        }
      }
    }
    if (pa == DatePrecision::kNone || pb == DatePrecision::kNone)
      return Missing(kField, "a side has no birth date", s);
    // Compare what both sides know: the year, and the month when both have
    // one.
    const bool month_known =
        pa != DatePrecision::kYear && pb != DatePrecision::kYear;
    const bool same = a.year() == b.year() &&
                      (!month_known || a.month() == b.month());
    return Level(kField, s,
                 same ? v1::FIELD_AGREEMENT_PARTIAL
                      : v1::FIELD_AGREEMENT_DISAGREE,
                 [&] {
                   return absl::StrCat(
                       same ? "same " : "differs in the ",
                       month_known ? "year and month" : "year",
                       " (a side is partial)");
                 });
  }
  const bool year = a.year() == b.year();
  const bool month = a.month() == b.month();
  const bool day = a.day() == b.day();
  absl::string_view detail;
  v1::FieldAgreement agreement = v1::FIELD_AGREEMENT_PARTIAL;
  if (year && month && day) {
    agreement = v1::FIELD_AGREEMENT_AGREE;
    detail = "exact";
  } else if (year && a.month() == b.day() && a.day() == b.month()) {
    detail = "day and month transposed";
  } else if (!year + !month + !day == 1) {
    detail = !year ? "year differs" : !month ? "month differs" : "day differs";
  } else {
    agreement = v1::FIELD_AGREEMENT_DISAGREE;
    detail = "differs";
  }
  return Level(kField, s, agreement, [&] { return std::string(detail); });
}

absl::string_view SexName(v1::Sex sex) {
  switch (sex) {
    case v1::SEX_FEMALE:
      return "female";
    case v1::SEX_MALE:
      return "male";
    case v1::SEX_OTHER:
      return "other";
    default:
      return "unknown";
  }
}

Field CompareSex(v1::Sex a, v1::Sex b, const Scoring& s) {
  auto known = [](v1::Sex x) {
    return x == v1::SEX_FEMALE || x == v1::SEX_MALE || x == v1::SEX_OTHER;
  };
  if (!known(a) || !known(b)) return Missing(kSexField, "a side has no sex", s);
  if (a == b) {
    return Level(kSexField, s, v1::FIELD_AGREEMENT_AGREE,
                 [&] { return absl::StrCat("both ", SexName(a)); });
  }
  return Level(kSexField, s, v1::FIELD_AGREEMENT_DISAGREE,
               [&] { return absl::StrCat(SexName(a), " vs ", SexName(b)); });
}

// `pa` and `pb` are E.164 numbers (NormalizePhone), empty when unusable.
Field ComparePhones(const std::string& pa, const std::string& pb,
                    bool names_disagree, const Scoring& s) {
  if (pa.empty() || pb.empty())
    return Missing(kPhoneField, "a side has no phone", s);
  if (pa != pb) {
    return Level(kPhoneField, s, v1::FIELD_AGREEMENT_DISAGREE,
                 [] { return std::string("digits differ"); });
  }
  auto detail = [] { return std::string("same digits"); };
  if (names_disagree) return HouseholdAgreement(kPhoneField, s, detail);
  return Level(kPhoneField, s, v1::FIELD_AGREEMENT_AGREE, detail);
}

Field CompareAddresses(const MatchProfile& a, const MatchProfile& b,
                       bool names_disagree, const Scoring& s) {
  constexpr int kField = kAddressField;
  const std::string& la = a.address_line;
  const std::string& lb = b.address_line;
  const std::string& za = a.postal_code;
  const std::string& zb = b.postal_code;
  const bool lines = !la.empty() && !lb.empty();
  const bool codes = !za.empty() && !zb.empty();
  if (!lines && !codes)
    return Missing(kField, "no line 1 or postal code on both sides", s);
  const double line_similarity = lines ? JaroWinkler(la, lb) : 0.0;
  const bool line_agrees = lines && line_similarity >= kNameAgreeSimilarity;
  const bool code_agrees = codes && za == zb;
  if (line_agrees && (!codes || code_agrees)) {
    auto detail = [&] {
      return absl::StrCat("line1 jaro_winkler ", Similarity(line_similarity),
                          codes ? ", postal code equal" : ", no postal code");
    };
    if (names_disagree) return HouseholdAgreement(kField, s, detail);
    return Level(kField, s, v1::FIELD_AGREEMENT_AGREE, detail);
  }
  if (code_agrees) {
    return Level(kField, s, v1::FIELD_AGREEMENT_PARTIAL, [&] {
      return lines ? absl::StrCat("postal code equal, line1 jaro_winkler ",
                                  Similarity(line_similarity))
                   : std::string("postal code equal, no line1");
    });
  }
  if (line_agrees) {
    return Level(kField, s, v1::FIELD_AGREEMENT_PARTIAL, [&] {
      return absl::StrCat("line1 jaro_winkler ", Similarity(line_similarity),
                          ", postal code differs");
    });
  }
  return Level(kField, s, v1::FIELD_AGREEMENT_DISAGREE, [&] {
    return lines ? absl::StrCat("line1 jaro_winkler ",
                                Similarity(line_similarity),
                                codes ? ", postal code differs" : "")
                 : std::string("postal code differs");
  });
}

// MRNs are numbers a facility assigns: the same value at two organisations
// says nothing.
bool OrganizationLocal(absl::string_view system) {
  return absl::EqualsIgnoreCase(system, "MRN");
}

// Both all digits and one apart as numbers (consecutive numbers: a family's
// or twins' records, issued one after the other).
bool Consecutive(absl::string_view x, absl::string_view y) {
  uint64_t a = 0;
  uint64_t b = 0;
  if (x.size() > 18 || y.size() > 18 || !absl::SimpleAtoi(x, &a) ||
      !absl::SimpleAtoi(y, &b) ||
      !std::all_of(x.begin(), x.end(), absl::ascii_isdigit) ||
      !std::all_of(y.begin(), y.end(), absl::ascii_isdigit)) {
    return false;
  }
  return a + 1 == b || b + 1 == a;
}

// One typing error apart: the same length and one character different, or
// two adjacent characters swapped; consecutive numbers are not.
bool OneTypoApart(absl::string_view x, absl::string_view y) {
  if (x.size() != y.size() || x == y || Consecutive(x, y)) return false;
  size_t first = 0;
  while (x[first] == y[first]) ++first;
  const size_t rest = first + 1;
  if (x.substr(rest) == y.substr(rest)) return true;
  return rest < x.size() && x[first] == y[rest] && x[rest] == y[first] &&
         x.substr(rest + 1) == y.substr(rest + 1);
}

Field CompareIdentifiers(const MatchProfile& a, const MatchProfile& b,
                         const Scoring& s) {
  constexpr int kField = kIdentifierField;
  const v1::ClientIdentifier* conflict_a = nullptr;
  const v1::ClientIdentifier* conflict_b = nullptr;
  const v1::ClientIdentifier* typo_a = nullptr;
  const v1::ClientIdentifier* typo_b = nullptr;
  for (const v1::ClientIdentifier& x : a.identifiers) {
    if (x.value().empty()) continue;
    for (const v1::ClientIdentifier& y : b.identifiers) {
      if (y.value().empty() || !absl::EqualsIgnoreCase(x.system(), y.system()))
        continue;
      const bool same_issuer = !x.organization_id().empty() &&
                               x.organization_id() == y.organization_id();
      const bool comparable = same_issuer || !OrganizationLocal(x.system());
      if (x.value() == y.value() && comparable) {
        return Level(kField, s, v1::FIELD_AGREEMENT_AGREE, [&] {
          return absl::StrCat(x.system(), " ", x.value(), " shared");
        });
      }
      if (comparable && typo_a == nullptr && OneTypoApart(x.value(), y.value())) {
        typo_a = &x;
        typo_b = &y;
      }
      if (same_issuer && x.value() != y.value() && conflict_a == nullptr) {
        conflict_a = &x;
        conflict_b = &y;
      }
    }
  }
  if (typo_a != nullptr) {
    return Level(kField, s, v1::FIELD_AGREEMENT_PARTIAL, [&] {
      return absl::StrCat(typo_a->system(), " ", typo_a->value(), " vs ",
                          typo_b->value(), ": one typing error apart");
    });
  }
  if (conflict_a != nullptr) {
    return Level(kField, s, v1::FIELD_AGREEMENT_DISAGREE, [&] {
      return absl::StrCat(conflict_a->system(), " from ",
                          conflict_a->organization_id(), ": ",
                          conflict_a->value(), " vs ", conflict_b->value());
    });
  }
  return Missing(kField, "no comparable identifiers", s);
}

// Every field, in MatchField order.
std::array<Field, kMatchFieldCount> CompareFields(const MatchProfile& a,
                                                  const MatchProfile& b,
                                                  const Scoring& s) {
  auto [given, family] = CompareNames(a, b, s);
  // Twins and siblings: given names that differ or only look alike ("Mara"
  // and "Maya"), or different family names under one roof.
  const bool names_disagree =
      given.agreement == v1::FIELD_AGREEMENT_DISAGREE ||
      given.agreement == v1::FIELD_AGREEMENT_PARTIAL ||
      family.agreement == v1::FIELD_AGREEMENT_DISAGREE;
  return {std::move(given),
          std::move(family),
          CompareBirthDates(a, b, s),
          CompareSex(a.sex, b.sex, s),
          ComparePhones(a.phone, b.phone, names_disagree, s),
          CompareAddresses(a, b, names_disagree, s),
          CompareIdentifiers(a, b, s)};
}

ComparisonCode CodeOf(const std::array<Field, kMatchFieldCount>& fields) {
  ComparisonLevels levels;
  for (int i = 0; i < kMatchFieldCount; ++i) levels[i] = fields[i].agreement;
  return EncodeComparison(levels);
}

}  // namespace

void NameFrequencies::Add(NamePart part, absl::string_view name,
                          int64_t delta) {
  if (name.empty() || delta == 0) return;
  Counts& counts = part == NamePart::kGiven ? given_ : family_;
  auto [it, inserted] = counts.by_name.try_emplace(name, 0);
  const uint64_t before = it->second;
  uint64_t after = before;
  if (delta > 0) {
    after = before + static_cast<uint64_t>(delta);
  } else {
    const uint64_t removed = static_cast<uint64_t>(-delta);
    after = removed >= before ? 0 : before - removed;
  }
  counts.total = counts.total - before + after;
  counts.sum_of_squares = counts.sum_of_squares - before * before +
                          after * after;
  if (after == 0) {
    counts.by_name.erase(it);
  } else {
    it->second = after;
  }
}

uint64_t NameFrequencies::Count(NamePart part, absl::string_view name) const {
  const Counts& counts = Of(part);
  auto it = counts.by_name.find(name);
  return it == counts.by_name.end() ? 0 : it->second;
}

uint64_t NameFrequencies::Total(NamePart part) const { return Of(part).total; }

uint64_t NameFrequencies::SumOfSquares(NamePart part) const {
  return Of(part).sum_of_squares;
}

double NameFrequencies::Adjustment(NamePart part, absl::string_view a,
                                   absl::string_view b) const {
  const Counts& counts = Of(part);
  if (counts.total < kMinTermFrequencyClients) return 0;
  const uint64_t count = std::max(Count(part, a), Count(part, b));
  if (count == 0) return 0;
  const double adjustment =
      std::log2(static_cast<double>(counts.sum_of_squares) /
                (static_cast<double>(counts.total) * static_cast<double>(count)));
  return std::clamp(adjustment, -kMaxTermFrequencyAdjustment,
                    kMaxTermFrequencyAdjustment);
}

double JaroWinkler(absl::string_view a, absl::string_view b) {
  // ASCII (nearly every normalised name): one byte is one code point.
  if (IsAscii(a) && IsAscii(b))
    return JaroWinklerOf(a.data(), a.size(), b.data(), b.size());
  const std::u32string ca = CodePoints(a);
  const std::u32string cb = CodePoints(b);
  return JaroWinklerOf(ca.data(), ca.size(), cb.data(), cb.size());
}

bool IsNickname(absl::string_view a, absl::string_view b) {
  return NicknameTable::BuiltIn()->AreNicknames(a, b);
}

std::string NormalizeName(absl::string_view name) {
  // ASCII input: "Any-Latin; Latin-ASCII" leaves it as it is and full case
  // folding is ASCII lowercasing, so the three steps reduce to this (the
  // same result, without ICU's cost).
  if (IsAscii(name)) {
    std::string out;
    out.reserve(name.size());
    for (char c : name) {
      if (absl::ascii_isalnum(static_cast<unsigned char>(c)))
        out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    }
    return out;
  }
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(name.data(), static_cast<int32_t>(name.size())));
  // Without a transliterator (ICU failed to create it: U_FAILURE) the input
  // is only case-folded and filtered below, accents and all: matching
  // degrades to comparing the letters as written instead of failing.
  if (icu::Transliterator* transliterator = ThreadTransliterator();
      transliterator != nullptr) {
    transliterator->transliterate(text);
  }
  text.foldCase(U_FOLD_CASE_DEFAULT);
  std::string out;
  out.reserve(static_cast<size_t>(text.length()));
  for (int32_t i = 0; i < text.length(); i = text.moveIndex32(i, 1)) {
    const UChar32 c = text.char32At(i);
    if (!u_isalnum(c)) continue;
    char buffer[U8_MAX_LENGTH];
    int32_t length = 0;
    U8_APPEND_UNSAFE(buffer, length, c);
    out.append(buffer, static_cast<size_t>(length));
  }
  return out;
}

std::string Soundex(absl::string_view name) {
  // Codes for a..z; '0' for vowels and y, '-' for h and w (which do not
  // separate equal codes).
  static constexpr char kCodes[] = "01230120022455012623010202";
  std::string out;
  char last = 0;
  for (char raw : name) {
    const unsigned char c = static_cast<unsigned char>(raw);
    if (!absl::ascii_isalpha(c)) continue;
    const char lower = absl::ascii_tolower(c);
    char code = kCodes[lower - 'a'];
    if (lower == 'h' || lower == 'w') code = '-';
    if (out.empty()) {
      out.push_back(absl::ascii_toupper(c));
      last = code;
      continue;
    }
    if (code == '-') continue;
    if (code != '0' && code != last) out.push_back(code);
    last = code;
    if (out.size() == 4) break;
  }
  if (!out.empty()) out.resize(4, '0');
  return out;
}

std::string NormalizePhone(absl::string_view phone,
                           absl::string_view default_region) {
  using ::i18n::phonenumbers::PhoneNumber;
  using ::i18n::phonenumbers::PhoneNumberUtil;
  if (phone.empty()) return "";
  const PhoneNumberUtil& util = PhoneNumbers();
  PhoneNumber number;
  if (util.Parse(std::string(phone), std::string(default_region), &number) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return "";
  }
  if (util.IsPossibleNumberWithReason(number) != PhoneNumberUtil::IS_POSSIBLE)
    return "";
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

bool IsSupportedPhoneRegion(absl::string_view region) {
  static const auto* const kRegions = [] {
    auto* regions = new std::set<std::string>();
    PhoneNumbers().GetSupportedRegions(regions);
    return regions;
  }();
  return kRegions->count(std::string(region)) > 0;
}

std::string NormalizeAddressLine(
    absl::string_view line,
    const absl::flat_hash_map<std::string, std::string>& abbreviations) {
  // NormalizeName keeps letters and digits only: mark the word boundaries
  // first (any character that is neither), then normalise word by word.
  std::string out;
  auto add = [&](absl::string_view raw) {
    std::string word = NormalizeName(raw);
    if (word.empty()) return;
    if (auto it = abbreviations.find(word); it != abbreviations.end())
      word = it->second;
    if (word.empty()) return;
    if (!out.empty()) out.push_back(' ');
    out += word;
  };
  const auto* bytes = reinterpret_cast<const uint8_t*>(line.data());
  const int32_t length = static_cast<int32_t>(line.size());
  int32_t word_start = 0;
  int32_t i = 0;
  while (i < length) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    // A letter's combining accent (written decomposed, "e" + U+0301) belongs
    // to its word.
    const bool in_word =
        c >= 0 && (u_isalnum(c) || u_charType(c) == U_NON_SPACING_MARK ||
                   u_charType(c) == U_COMBINING_SPACING_MARK ||
                   u_charType(c) == U_ENCLOSING_MARK);
    if (!in_word) {
      add(line.substr(word_start, start - word_start));
      word_start = i;
    }
  }
  add(line.substr(word_start));
  return out;
}

std::string NormalizePostalCode(absl::string_view code) {
  code = absl::StripAsciiWhitespace(code);
  // A US ZIP+4 as written ("97401-1234", "97401 1234"): the ZIP alone.
  if (code.size() == 10 && (code[5] == '-' || code[5] == ' ') &&
      std::all_of(code.begin(), code.begin() + 5,
                  [](char c) { return absl::ascii_isdigit(c); }) &&
      std::all_of(code.begin() + 6, code.end(),
                  [](char c) { return absl::ascii_isdigit(c); })) {
    return std::string(code.substr(0, 5));
  }
  return NormalizeName(code);
}

MatchProfile MakeMatchProfile(const v1::ClientRegistered& details,
                              const ViewsConfig& config) {
  MatchProfile p;
  p.given = NormalizeName(details.name().given());
  p.family = NormalizeName(details.name().family());
  p.given_soundex = Soundex(p.given);
  p.family_soundex = Soundex(p.family);
  if (config.nicknames != nullptr)
    p.given_nickname_groups = config.nicknames->GroupsOf(p.given);
  p.birth_date = details.birth_date();
  p.birth_date_recorded_as = details.birth_date_recorded_as();
  p.sex = details.sex();
  p.phone = NormalizePhone(details.phone(), config.phone_region);
  p.address_line = NormalizeAddressLine(details.address().line1(),
                                        config.address_abbreviations);
  p.postal_code = NormalizePostalCode(details.address().postal_code());
  p.locality = NormalizeName(details.address().city());
  p.identifiers.assign(details.identifiers().begin(),
                       details.identifiers().end());
  return p;
}

v1::MatchClass ClassifyMatch(double probability, const ViewsConfig& config) {
  if (probability >= config.match_threshold) return v1::MATCH_CLASS_MATCH;
  if (probability >= config.review_threshold) return v1::MATCH_CLASS_REVIEW;
  return v1::MATCH_CLASS_NON_MATCH;
}

ClientMatch CompareClients(const MatchProfile& a, const MatchProfile& b,
                           const ViewsConfig& config, const MatchModel& model,
                           const NameFrequencies* frequencies) {
  const Scoring scoring{model, frequencies, /*explain=*/true};
  std::array<Field, kMatchFieldCount> fields = CompareFields(a, b, scoring);
  ClientMatch match;
  match.comparison = CodeOf(fields);
  for (Field& field : fields) {
    v1::FieldComparison& c = match.comparisons.emplace_back();
    c.set_field(std::string(MatchFieldName(field.index)));
    c.set_agreement(field.agreement);
    c.set_weight(field.weight);
    c.set_detail(std::move(field.detail));
    c.set_m_probability(field.m);
    c.set_u_probability(field.u);
    c.set_term_frequency_adjustment(field.term_frequency);
    match.weight += field.weight;
  }
  match.probability = MatchProbability(match.weight, model.prior);
  match.match_class = ClassifyMatch(match.probability, config);
  return match;
}

ClientMatch CompareClients(const MatchProfile& a, const MatchProfile& b,
                           const ViewsConfig& config) {
  return CompareClients(a, b, config, DefaultMatchModel(), nullptr);
}

ClientMatch CompareClients(const v1::ClientRegistered& a,
                           const v1::ClientRegistered& b,
                           const ViewsConfig& config) {
  return CompareClients(MakeMatchProfile(a, config),
                        MakeMatchProfile(b, config), config);
}

PairScore ScorePair(const MatchProfile& a, const MatchProfile& b,
                    const MatchModel& model,
                    const NameFrequencies* frequencies) {
  const Scoring scoring{model, frequencies, /*explain=*/false};
  const std::array<Field, kMatchFieldCount> fields =
      CompareFields(a, b, scoring);
  PairScore score;
  score.comparison = CodeOf(fields);
  for (const Field& field : fields) score.weight += field.weight;
  return score;
}

std::vector<std::string> BlockingKeys(const MatchProfile& profile) {
  std::vector<std::string> keys;
  const v1::Date& birth = profile.birth_date;
  const bool has_birth = birth.year() != 0;
  if (PrecisionOf(birth) == DatePrecision::kDay) {
    keys.push_back(absl::StrFormat("d:%04d%02d%02d", birth.year(),
                                   birth.month(), birth.day()));
  }
  if (!profile.phone.empty()) keys.push_back(absl::StrCat("p:", profile.phone));
  for (const v1::ClientIdentifier& id : profile.identifiers) {
    if (id.value().empty()) continue;
    keys.push_back(absl::StrCat("i:", absl::AsciiStrToUpper(id.system()), ":",
                                id.value()));
  }
  const std::string& given = profile.given_soundex;
  const std::string& family = profile.family_soundex;
  if (has_birth) {
    for (const std::string* part : {&given, &family}) {
      if (!part->empty())
        keys.push_back(absl::StrCat("n:", *part, ":", birth.year()));
    }
  }
  if (!given.empty() && !family.empty()) {
    keys.push_back(absl::StrCat("f:", std::min(given, family), ":",
                                std::max(given, family)));
  }
  if (!profile.postal_code.empty() && !profile.locality.empty()) {
    keys.push_back(
        absl::StrCat("a:", profile.postal_code, ":", profile.locality));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

std::vector<std::string> BlockingKeys(const v1::ClientRegistered& details,
                                      const ViewsConfig& config) {
  return BlockingKeys(MakeMatchProfile(details, config));
}

}  // namespace caseline::care
