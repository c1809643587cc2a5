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

// Common English given-name equivalents (short forms and diminutives), as
// MPI nickname tables list them. A name may be in several groups ("pat").
const std::vector<std::vector<absl::string_view>>& NicknameGroups() {
  static const auto* const groups =
      new std::vector<std::vector<absl::string_view>>{
          {"william", "bill", "billy", "will", "willy", "liam"},
          {"robert", "bob", "bobby", "rob", "robbie", "bert"},
          {"michael", "mike", "mikey", "mick", "mickey"},
          {"james", "jim", "jimmy", "jamie"},
          {"richard", "rick", "ricky", "rich", "richie", "dick"},
          {"joseph", "joe", "joey"},
          {"thomas", "tom", "tommy"},
          {"christopher", "chris", "kit"},
          {"christine", "christina", "chris", "tina", "chrissy"},
          {"daniel", "dan", "danny"},
          {"anthony", "tony"},
          {"elizabeth", "liz", "lizzie", "beth", "betty", "eliza", "lisa"},
          {"patricia", "pat", "patty", "trish", "tricia"},
          {"patrick", "pat", "paddy"},
          {"jennifer", "jen", "jenny"},
          {"katherine", "catherine", "kathryn", "kathy", "kate", "katie",
           "cathy", "kat"},
          {"margaret", "peggy", "maggie", "meg", "marge"},
          {"jessica", "jess", "jessie"},
          {"susan", "sue", "susie", "suzy"},
          {"samuel", "sam", "sammy"},
          {"samantha", "sam", "sammy"},
          {"dorothy", "dot", "dottie", "dolly"},
          {"natalia", "natasha", "natalie", "nata"},
          {"david", "dave", "davey"},
          {"steven", "stephen", "steve"},
          {"edward", "ed", "eddie", "ted", "teddy"},
          {"andrew", "andy", "drew"},
          {"alexander", "alex", "sasha"},
          {"alexandra", "alex", "sasha", "sandra"},
          {"benjamin", "ben", "benny"},
          {"matthew", "matt"},
          {"nicholas", "nick", "nicky"},
          {"gregory", "greg"},
          {"lawrence", "larry"},
          {"john", "jon", "johnny", "jack"},
          {"charles", "charlie", "chuck"},
          {"henry", "harry", "hank"},
          {"kenneth", "ken", "kenny"},
          {"ronald", "ron", "ronnie"},
          {"donald", "don", "donnie"},
          {"jeffrey", "jeff"},
          {"joshua", "josh"},
          {"abigail", "abby"},
          {"rebecca", "becky", "becca"},
          {"deborah", "debbie", "deb"},
          {"victoria", "vicky", "tori"},
          {"amanda", "mandy"},
          {"cynthia", "cindy"},
          {"pamela", "pam"},
          {"judith", "judy"},
          {"theresa", "teresa", "terry", "tess"},
          {"jose", "pepe"},
          {"francisco", "paco", "pancho"},
          {"guadalupe", "lupe"},
      };
  return *groups;
}

std::string Similarity(double value) { return absl::StrFormat("%.2f", value); }

// One field's outcome. The detail is built only when explaining: scoring a
// candidate that turns out a non-match needs the weight alone.
struct Field {
  absl::string_view name;
  v1::FieldAgreement agreement = v1::FIELD_AGREEMENT_MISSING;
  double weight = 0;
  std::string detail;
};

double WeightOf(const FieldModel& model, v1::FieldAgreement agreement) {
  switch (agreement) {
    case v1::FIELD_AGREEMENT_AGREE:
      return model.AgreeWeight();
    case v1::FIELD_AGREEMENT_PARTIAL:
      return model.PartialWeight();
    case v1::FIELD_AGREEMENT_DISAGREE:
      return model.DisagreeWeight();
    default:
      return 0;
  }
}

template <typename DetailFn>
Field Level(absl::string_view name, const FieldModel& model,
            v1::FieldAgreement agreement, bool explain, DetailFn&& detail) {
  Field f{name, agreement, WeightOf(model, agreement), ""};
  if (explain) f.detail = detail();
  return f;
}

Field Missing(absl::string_view name, absl::string_view what, bool explain) {
  Field f{name, v1::FIELD_AGREEMENT_MISSING, 0.0, ""};
  if (explain) f.detail = absl::StrCat("missing: ", what);
  return f;
}

// A household attribute (phone, address) that agrees while the names
// disagree: weighed with kHouseholdU.
template <typename DetailFn>
Field HouseholdAgreement(absl::string_view name, const FieldModel& model,
                         bool explain, DetailFn&& detail) {
  Field f{name, v1::FIELD_AGREEMENT_AGREE,
          std::log2(model.m_agree / kHouseholdU), ""};
  if (explain)
    f.detail = absl::StrCat(detail(), "; household weight, the names disagree");
  return f;
}

Field CompareNames(const MatchProfile& a, const MatchProfile& b,
                   bool explain) {
  constexpr absl::string_view kName = "name";
  const std::string& ga = a.given;
  const std::string& fa = a.family;
  const std::string& gb = b.given;
  const std::string& fb = b.family;
  if ((ga.empty() && fa.empty()) || (gb.empty() && fb.empty()))
    return Missing(kName, "a side has no name", explain);

  // Straight comparison of the parts both sides have.
  std::optional<double> given;
  std::optional<double> family;
  if (!ga.empty() && !gb.empty()) given = JaroWinkler(ga, gb);
  if (!fa.empty() && !fb.empty()) family = JaroWinkler(fa, fb);
  if (given.has_value() && family.has_value()) {
    const double low = std::min(*given, *family);
    auto detail = [&] {
      return absl::StrCat("jaro_winkler ", Similarity(low), " (given ",
                          Similarity(*given), ", family ", Similarity(*family),
                          ")");
    };
    if (low >= kNameAgreeSimilarity) {
      return Level(kName, kNameModel, v1::FIELD_AGREEMENT_AGREE, explain,
                   detail);
    }
    // A known short form of the given name ("Bob" for "Robert").
    if (*family >= kNameAgreeSimilarity && IsNickname(ga, gb)) {
      return Level(kName, kNameModel, v1::FIELD_AGREEMENT_PARTIAL, explain,
                   [&] {
                     return absl::StrCat("jaro_winkler ", Similarity(*family),
                                         " (family ", Similarity(*family),
                                         ", given: nickname)");
                   });
    }
    // Given and family swapped (a common entry error).
    const double swapped = std::min(JaroWinkler(ga, fb), JaroWinkler(fa, gb));
    if (swapped >= kNameAgreeSimilarity) {
      return Level(kName, kNameModel, v1::FIELD_AGREEMENT_PARTIAL, explain,
                   [&] {
                     return absl::StrCat("jaro_winkler ", Similarity(swapped),
                                         " (given/family swapped)");
                   });
    }
    return Level(kName, kNameModel,
                 low >= kNamePartialSimilarity ? v1::FIELD_AGREEMENT_PARTIAL
                                               : v1::FIELD_AGREEMENT_DISAGREE,
                 explain, detail);
  }
  // One part on one side only: the part both have (or, when they have
  // different parts, the crosswise pair) can give at most partial agreement.
  double similarity = 0;
  absl::string_view which;
  if (given.has_value()) {
    similarity = *given;
    which = "given only";
  } else if (family.has_value()) {
    similarity = *family;
    which = "family only";
  } else {
    // a has only one part and b only the other: compare them crosswise.
    const std::string& pa = ga.empty() ? fa : ga;
    const std::string& pb = gb.empty() ? fb : gb;
    similarity = JaroWinkler(pa, pb);
    which = "given/family swapped";
  }
  return Level(kName, kNameModel,
               similarity >= kNameAgreeSimilarity
                   ? v1::FIELD_AGREEMENT_PARTIAL
                   : v1::FIELD_AGREEMENT_DISAGREE,
               explain, [&] {
                 return absl::StrCat("jaro_winkler ", Similarity(similarity),
                                     " (", which, ")");
               });
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

Field CompareBirthDates(const v1::Date& a, absl::string_view recorded_a,
                        const v1::Date& b, absl::string_view recorded_b,
                        bool explain) {
  constexpr absl::string_view kName = "birth_date";
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
          return Level(kName, kBirthDateModel, v1::FIELD_AGREEMENT_PARTIAL,
                       explain, [&] {
                         return std::string(
                             differing == 0
                                 ? "recorded text has the same digits"
                                 : "recorded text one digit apart");
                       });
        }
      }
    }
    if (pa == DatePrecision::kNone || pb == DatePrecision::kNone)
      return Missing(kName, "a side has no birth date", explain);
    // Compare what both sides know: the year, and the month when both have
    // one.
    const bool month_known =
        pa != DatePrecision::kYear && pb != DatePrecision::kYear;
    const bool same = a.year() == b.year() &&
                      (!month_known || a.month() == b.month());
    return Level(kName, kBirthDateModel,
                 same ? v1::FIELD_AGREEMENT_PARTIAL
                      : v1::FIELD_AGREEMENT_DISAGREE,
                 explain, [&] {
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
  return Level(kName, kBirthDateModel, agreement, explain,
               [&] { return std::string(detail); });
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

Field CompareSex(v1::Sex a, v1::Sex b, bool explain) {
  constexpr absl::string_view kName = "sex";
  auto known = [](v1::Sex s) {
    return s == v1::SEX_FEMALE || s == v1::SEX_MALE || s == v1::SEX_OTHER;
  };
  if (!known(a) || !known(b))
    return Missing(kName, "a side has no sex", explain);
  if (a == b) {
    return Level(kName, kSexModel, v1::FIELD_AGREEMENT_AGREE, explain,
                 [&] { return absl::StrCat("both ", SexName(a)); });
  }
  return Level(kName, kSexModel, v1::FIELD_AGREEMENT_DISAGREE, explain,
               [&] { return absl::StrCat(SexName(a), " vs ", SexName(b)); });
}

// `a` and `b` are E.164 numbers (NormalizePhone), empty when unusable.
Field ComparePhones(const std::string& pa, const std::string& pb,
                    bool names_disagree, bool explain) {
  constexpr absl::string_view kName = "phone";
  if (pa.empty() || pb.empty())
    return Missing(kName, "a side has no phone", explain);
  if (pa != pb) {
    return Level(kName, kPhoneModel, v1::FIELD_AGREEMENT_DISAGREE, explain,
                 [] { return std::string("digits differ"); });
  }
  auto detail = [] { return std::string("same digits"); };
  if (names_disagree)
    return HouseholdAgreement(kName, kPhoneModel, explain, detail);
  return Level(kName, kPhoneModel, v1::FIELD_AGREEMENT_AGREE, explain, detail);
}

Field CompareAddresses(const MatchProfile& a, const MatchProfile& b,
                       bool names_disagree, bool explain) {
  constexpr absl::string_view kName = "address";
  const std::string& la = a.address_line;
  const std::string& lb = b.address_line;
  const std::string& za = a.postal_code;
  const std::string& zb = b.postal_code;
  const bool lines = !la.empty() && !lb.empty();
  const bool codes = !za.empty() && !zb.empty();
  if (!lines && !codes)
    return Missing(kName, "no line 1 or postal code on both sides", explain);
  const double line_similarity = lines ? JaroWinkler(la, lb) : 0.0;
  const bool line_agrees = lines && line_similarity >= kNameAgreeSimilarity;
  const bool code_agrees = codes && za == zb;
  if (line_agrees && (!codes || code_agrees)) {
    auto detail = [&] {
      return absl::StrCat("line1 jaro_winkler ", Similarity(line_similarity),
                          codes ? ", postal code equal" : ", no postal code");
    };
    if (names_disagree)
      return HouseholdAgreement(kName, kAddressModel, explain, detail);
    return Level(kName, kAddressModel, v1::FIELD_AGREEMENT_AGREE, explain,
                 detail);
  }
  if (code_agrees) {
    return Level(
        kName, kAddressModel, v1::FIELD_AGREEMENT_PARTIAL, explain, [&] {
          return lines ? absl::StrCat("postal code equal, line1 jaro_winkler ",
                                      Similarity(line_similarity))
                       : std::string("postal code equal, no line1");
        });
  }
  return Level(
      kName, kAddressModel, v1::FIELD_AGREEMENT_DISAGREE, explain, [&] {
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

Field CompareIdentifiers(const MatchProfile& a, const MatchProfile& b,
                         bool explain) {
  constexpr absl::string_view kName = "identifier";
  const v1::ClientIdentifier* conflict_a = nullptr;
  const v1::ClientIdentifier* conflict_b = nullptr;
  for (const v1::ClientIdentifier& x : a.identifiers) {
    if (x.value().empty()) continue;
    for (const v1::ClientIdentifier& y : b.identifiers) {
      if (y.value().empty() || !absl::EqualsIgnoreCase(x.system(), y.system()))
        continue;
      const bool same_issuer = !x.organization_id().empty() &&
                               x.organization_id() == y.organization_id();
      if (x.value() == y.value() &&
          (same_issuer || !OrganizationLocal(x.system()))) {
        return Level(
            kName, kIdentifierModel, v1::FIELD_AGREEMENT_AGREE, explain, [&] {
              return absl::StrCat(x.system(), " ", x.value(), " shared");
            });
      }
      if (same_issuer && x.value() != y.value() && conflict_a == nullptr) {
        conflict_a = &x;
        conflict_b = &y;
      }
    }
  }
  if (conflict_a != nullptr) {
    return Level(
        kName, kIdentifierModel, v1::FIELD_AGREEMENT_DISAGREE, explain, [&] {
          return absl::StrCat(conflict_a->system(), " from ",
                              conflict_a->organization_id(), ": ",
                              conflict_a->value(), " vs ", conflict_b->value());
        });
  }
  return Missing(kName, "no comparable identifiers", explain);
}

// Every field, in the documented order.
std::array<Field, 6> CompareFields(const MatchProfile& a, const MatchProfile& b,
                                   bool explain) {
  Field name = CompareNames(a, b, explain);
  const bool names_disagree = name.agreement == v1::FIELD_AGREEMENT_DISAGREE;
  return {std::move(name),
          CompareBirthDates(a.birth_date, a.birth_date_recorded_as,
                            b.birth_date, b.birth_date_recorded_as, explain),
          CompareSex(a.sex, b.sex, explain),
          ComparePhones(a.phone, b.phone, names_disagree, explain),
          CompareAddresses(a, b, names_disagree, explain),
          CompareIdentifiers(a, b, explain)};
}

}  // namespace

double FieldModel::AgreeWeight() const { return std::log2(m_agree / u_agree); }

double FieldModel::PartialWeight() const {
  if (m_partial <= 0 || u_partial <= 0) return 0;
  return std::log2(m_partial / u_partial);
}

double FieldModel::DisagreeWeight() const {
  return std::log2((1 - m_agree - m_partial) / (1 - u_agree - u_partial));
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
  // Name -> the indexes of the groups it is in.
  static const auto* const kGroupsOf = [] {
    auto* index =
        new absl::flat_hash_map<absl::string_view, std::vector<size_t>>();
    const auto& groups = NicknameGroups();
    for (size_t i = 0; i < groups.size(); ++i) {
      for (absl::string_view name : groups[i]) (*index)[name].push_back(i);
    }
    return index;
  }();
  if (a == b) return false;
  auto ga = kGroupsOf->find(a);
  if (ga == kGroupsOf->end()) return false;
  auto gb = kGroupsOf->find(b);
  if (gb == kGroupsOf->end()) return false;
  for (size_t group : ga->second) {
    if (std::find(gb->second.begin(), gb->second.end(), group) !=
        gb->second.end()) {
      return true;
    }
  }
  return false;
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

double MatchProbability(double weight) {
  const double prior_log_odds =
      std::log2(kCandidatePairPrior / (1 - kCandidatePairPrior));
  return 1.0 / (1.0 + std::exp2(-(weight + prior_log_odds)));
}

v1::MatchClass ClassifyMatch(double probability, const ViewsConfig& config) {
  if (probability >= config.match_threshold) return v1::MATCH_CLASS_MATCH;
  if (probability >= config.review_threshold) return v1::MATCH_CLASS_REVIEW;
  return v1::MATCH_CLASS_NON_MATCH;
}

ClientMatch CompareClients(const MatchProfile& a, const MatchProfile& b,
                           const ViewsConfig& config) {
  ClientMatch match;
  for (Field& field : CompareFields(a, b, /*explain=*/true)) {
    v1::FieldComparison& c = match.comparisons.emplace_back();
    c.set_field(std::string(field.name));
    c.set_agreement(field.agreement);
    c.set_weight(field.weight);
    c.set_detail(std::move(field.detail));
    match.weight += field.weight;
  }
  match.probability = MatchProbability(match.weight);
  match.match_class = ClassifyMatch(match.probability, config);
  return match;
}

ClientMatch CompareClients(const v1::ClientRegistered& a,
                           const v1::ClientRegistered& b,
                           const ViewsConfig& config) {
  return CompareClients(MakeMatchProfile(a, config),
                        MakeMatchProfile(b, config), config);
}

double MatchWeight(const MatchProfile& a, const MatchProfile& b) {
  double weight = 0;
  for (const Field& field : CompareFields(a, b, /*explain=*/false))
    weight += field.weight;
  return weight;
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
