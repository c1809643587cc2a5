#include "care/client_matching.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::care {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

v1::ClientRegistered Person(std::string given, std::string family, int year,
                            int month, int day, v1::Sex sex = v1::SEX_FEMALE) {
  v1::ClientRegistered p;
  p.mutable_name()->set_given(std::move(given));
  p.mutable_name()->set_family(std::move(family));
  if (year != 0) {
    p.mutable_birth_date()->set_year(year);
    p.mutable_birth_date()->set_month(month);
    p.mutable_birth_date()->set_day(day);
  }
  p.set_sex(sex);
  return p;
}

void SetAddress(v1::ClientRegistered& p, std::string line1,
                std::string postal_code) {
  p.mutable_address()->set_line1(std::move(line1));
  p.mutable_address()->set_postal_code(std::move(postal_code));
}

void AddIdentifier(v1::ClientRegistered& p, std::string organization,
                   std::string system, std::string value) {
  v1::ClientIdentifier* id = p.add_identifiers();
  id->set_organization_id(std::move(organization));
  id->set_system(std::move(system));
  id->set_value(std::move(value));
}

const v1::FieldComparison& Field(const ClientMatch& match,
                                 absl::string_view field) {
  for (const v1::FieldComparison& c : match.comparisons) {
    if (c.field() == field) return c;
  }
  static const v1::FieldComparison* const kNone = new v1::FieldComparison();
  ADD_FAILURE() << "no comparison for " << field;
  return *kNone;
}

// Scores both ways and checks the result is symmetric.
ClientMatch Compare(const v1::ClientRegistered& a,
                    const v1::ClientRegistered& b) {
  ViewsConfig config;
  ClientMatch ab = CompareClients(a, b, config);
  ClientMatch ba = CompareClients(b, a, config);
  EXPECT_NEAR(ab.weight, ba.weight, 1e-9);
  EXPECT_EQ(ab.match_class, ba.match_class);
  return ab;
}

TEST(ClientMatchingJaroWinkler, KnownValues) {
  // Winkler (1990) and the standard textbook pairs.
  EXPECT_NEAR(JaroWinkler("MARTHA", "MARHTA"), 0.961, 0.0005);
  EXPECT_NEAR(JaroWinkler("DIXON", "DICKSONX"), 0.813, 0.0005);
  EXPECT_NEAR(JaroWinkler("DWAYNE", "DUANE"), 0.840, 0.0005);
  EXPECT_NEAR(JaroWinkler("JELLYFISH", "SMELLYFISH"), 0.896, 0.0005);
  EXPECT_NEAR(JaroWinkler("CRATE", "TRACE"), 0.733, 0.0005);
  EXPECT_DOUBLE_EQ(JaroWinkler("smith", "smith"), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("", ""), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", ""), 0.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", "xyz"), 0.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("MARTHA", "MARHTA"),
                   JaroWinkler("MARHTA", "MARTHA"));
}

// Jaro–Winkler counts code points, not bytes: a pair of names written in a
// two-byte-per-character script scores as its one-byte analogue does.
TEST(ClientMatchingJaroWinkler, CountsCodePoints) {
  // Cyrillic letters are 2 bytes each in UTF-8.
  EXPECT_DOUBLE_EQ(JaroWinkler("МАРТНА", "МАРНТА"),
                   JaroWinkler("MARTHA", "MARHTA"));
  EXPECT_DOUBLE_EQ(JaroWinkler("ДИКСОН", "ДИКСОНХ"),
                   JaroWinkler("DIXSON", "DIXSONX"));
  // One differing letter, whatever its width: "Zoë"/"Zoe" as "Zox"/"Zoe".
  EXPECT_DOUBLE_EQ(JaroWinkler("Zoë", "Zoe"), JaroWinkler("Zox", "Zoe"));
  // Han characters (3 bytes each) compare per character: 2 of 3 agree.
  EXPECT_DOUBLE_EQ(JaroWinkler("王小明", "王小红"),
                   JaroWinkler("abc", "abd"));
  // An ill-formed byte is one character of its own, equal only to itself.
  EXPECT_DOUBLE_EQ(JaroWinkler("ab\xff", "ab\xff"), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("ab\xff", "ab\xfe"), JaroWinkler("abc", "abd"));
}

TEST(ClientMatchingNormalize, NamesPhonesSoundex) {
  EXPECT_EQ(NormalizeName(" O'Brien-Smith  Jr. "), "obriensmithjr");
  EXPECT_EQ(NormalizePhone("+1 (555) 010-2345", "US"), "+15550102345");
  EXPECT_EQ(NormalizePhone("12-34", "US"), "");
  EXPECT_EQ(Soundex("Robert"), "R163");
  EXPECT_EQ(Soundex("Rupert"), "R163");
  EXPECT_EQ(Soundex("Rubin"), "R150");
  EXPECT_EQ(Soundex("Ashcraft"), "A261");
  EXPECT_EQ(Soundex("Tymczak"), "T522");
  EXPECT_EQ(Soundex("Pfister"), "P236");
  EXPECT_EQ(Soundex("Smith"), Soundex("Smtih"));
  EXPECT_EQ(Soundex("Lee"), "L000");
  EXPECT_EQ(Soundex("--"), "");
}

// Accents go: ICU's Latin-ASCII transliteration.
TEST(ClientMatchingNormalize, AccentsGo) {
  EXPECT_EQ(NormalizeName("José"), "jose");
  EXPECT_EQ(NormalizeName("José"), NormalizeName("Jose"));
  EXPECT_EQ(NormalizeName("Zoë"), "zoe");
  EXPECT_EQ(NormalizeName("Müller"), "muller");
  EXPECT_EQ(NormalizeName("Łukasz Øyvind"), "lukaszoyvind");
  // Written decomposed (e + U+0301 COMBINING ACUTE ACCENT) as well.
  EXPECT_EQ(NormalizeName("Jose\xcc\x81"), "jose");
  // Latin-ASCII writes ü as u, not as German's "ue": "Müller" and "Mueller"
  // stay apart. Jaro–Winkler puts "muller"/"mueller" at 0.917, just under
  // kNameAgreeSimilarity (0.92): a partial agreement of the family name.
  EXPECT_NE(NormalizeName("Müller"), NormalizeName("Mueller"));
  const double muller =
      JaroWinkler(NormalizeName("Müller"), NormalizeName("Mueller"));
  EXPECT_NEAR(muller, 0.917, 0.0005);
  EXPECT_GE(muller, kNamePartialSimilarity);
}

// Other scripts are romanised by ICU's Any-Latin (its standard
// transliterations, e.g. ISO 9-like for Cyrillic, with the soft sign as an
// apostrophe, then dropped), and Vietnamese loses its diacritics.
TEST(ClientMatchingNormalize, OtherScriptsAreTransliterated) {
  EXPECT_EQ(NormalizeName("Владимир"), "vladimir");
  EXPECT_EQ(NormalizeName("Ольга"), "olga");
  EXPECT_EQ(NormalizeName("Nguyễn Văn Thành"), "nguyenvanthanh");
  EXPECT_EQ(NormalizeName("Đặng"), "dang");
  EXPECT_EQ(NormalizeName("Αλέξανδρος"), "alexandros");
  // Han characters become pinyin, tone marks removed.
  EXPECT_EQ(NormalizeName("王小明"), "wangxiaoming");
}

// Full case folding, after the transliteration: "ß" is transliterated to
// "ss" (Latin-ASCII) before folding could make it "ss" too, so
// "STRASSE" and "straße" are one name; so are the Turkish dotted capital I
// and the "ǅ" digraph with their plain Latin forms.
TEST(ClientMatchingNormalize, CaseFolding) {
  EXPECT_EQ(NormalizeName("STRASSE"), "strasse");
  EXPECT_EQ(NormalizeName("straße"), "strasse");
  EXPECT_EQ(NormalizeName("STRASSE"), NormalizeName("Straße"));
  EXPECT_EQ(NormalizeName("İstanbul"), "istanbul");
  EXPECT_EQ(NormalizeName("ǅemal"), "dzemal");
  EXPECT_EQ(NormalizeName("MACDONALD"), NormalizeName("MacDonald"));
}

// Only letters and digits stay: punctuation, spaces, apostrophes (straight
// and typographic), hyphens (ASCII and Unicode) and symbols go.
TEST(ClientMatchingNormalize, PunctuationGoes) {
  EXPECT_EQ(NormalizeName("O’Brien–Smith"), "obriensmith");
  EXPECT_EQ(NormalizeName("d'Arcy  "), "darcy");
  EXPECT_EQ(NormalizeName("Mary-Jane (M.J.)"), "maryjanemj");
  EXPECT_EQ(NormalizeName("Henry VIII 2nd"), "henryviii2nd");
  EXPECT_EQ(NormalizeName("¿?¡!"), "");
  EXPECT_EQ(NormalizeName(""), "");
  // Soundex of a transliterated name: "José" codes as "Jose".
  EXPECT_EQ(Soundex(NormalizeName("José")), Soundex("Jose"));
}

// E.164 through libphonenumber: national formats read with the configured
// region, international ones whatever the region.
TEST(ClientMatchingNormalize, PhonesToE164) {
  // United States.
  EXPECT_EQ(NormalizePhone("(555) 010-2345", "US"), "+15550102345");
  EXPECT_EQ(NormalizePhone("555.010.2345", "US"), "+15550102345");
  EXPECT_EQ(NormalizePhone("1-555-010-2345", "US"), "+15550102345");
  EXPECT_EQ(NormalizePhone("+1 555 010 2345", "AU"), "+15550102345");
  // Australia: a landline and a mobile, national and international.
  EXPECT_EQ(NormalizePhone("(02) 9876 5432", "AU"), "+61298765432");
  EXPECT_EQ(NormalizePhone("0412 345 678", "AU"), "+61412345678");
  EXPECT_EQ(NormalizePhone("+61 412 345 678", "US"), "+61412345678");
  // Vietnam: a mobile and a Ho Chi Minh City landline.
  EXPECT_EQ(NormalizePhone("090 123 4567", "VN"), "+84901234567");
  EXPECT_EQ(NormalizePhone("+84 90 123 4567", "US"), "+84901234567");
  EXPECT_EQ(NormalizePhone("028 3823 4567", "VN"), "+842838234567");
  // The same national digits are a different number in another region.
  EXPECT_NE(NormalizePhone("0412 345 678", "AU"),
            NormalizePhone("0412 345 678", "VN"));
  // Garbage, too short, too long, and a local-only number without its area
  // code: empty.
  EXPECT_EQ(NormalizePhone("", "US"), "");
  EXPECT_EQ(NormalizePhone("hello", "US"), "");
  EXPECT_EQ(NormalizePhone("n/a", "AU"), "");
  EXPECT_EQ(NormalizePhone("12-34", "US"), "");
  EXPECT_EQ(NormalizePhone("555-0102", "US"), "");
  EXPECT_EQ(NormalizePhone("+1 555 010 2345 6789 0123", "US"), "");
  EXPECT_TRUE(IsSupportedPhoneRegion("VN"));
  EXPECT_FALSE(IsSupportedPhoneRegion("vn"));
  EXPECT_FALSE(IsSupportedPhoneRegion("XX"));
}

TEST(ClientMatchingNormalize, AddressLinesAndPostalCodes) {
  const ViewsConfig usps;
  EXPECT_EQ(NormalizeAddressLine("12 North Elm Street, Apt 4",
                                 usps.address_abbreviations),
            "12 n elm st apt 4");
  // Accents and case do not matter; words split at any non-letter.
  EXPECT_EQ(NormalizeAddressLine("12 Rue Général-Leclerc",
                                 usps.address_abbreviations),
            "12 rue general leclerc");
  EXPECT_EQ(NormalizeAddressLine("Hauptstraße 5", usps.address_abbreviations),
            "hauptstrasse 5");
  EXPECT_EQ(NormalizePostalCode("97401-1234"), "97401");
  EXPECT_EQ(NormalizePostalCode(" SW1A 1AA "), "sw1a1aa");
  // Six digits are a whole postcode (Vietnam, India), not a ZIP to cut.
  EXPECT_EQ(NormalizePostalCode("700000"), "700000");
  EXPECT_EQ(NormalizePostalCode("974011234"), "974011234");
}

// The abbreviation table is configuration: an Australian network's
// "parade" -> "pde" makes "Parade" and "Pde" agree, which the USPS default
// does not.
TEST(ClientMatchingCompare, ConfiguredAbbreviations) {
  v1::ClientRegistered a = Person("Ada", "Okafor", 1958, 3, 14);
  v1::ClientRegistered b = Person("Ada", "Okafor", 1958, 3, 14);
  SetAddress(a, "7 Marine Parade", "2034");
  SetAddress(b, "7 Marine Pde", "2034");
  ViewsConfig australia;
  australia.address_abbreviations = {{"street", "st"}, {"parade", "pde"}};
  EXPECT_EQ(MakeMatchProfile(a, australia).address_line, "7 marine pde");
  EXPECT_EQ(MakeMatchProfile(a, ViewsConfig()).address_line,
            "7 marine parade");
  ClientMatch match = CompareClients(a, b, australia);
  EXPECT_EQ(Field(match, "address").agreement(), v1::FIELD_AGREEMENT_AGREE);
  EXPECT_THAT(Field(match, "address").detail(),
              HasSubstr("line1 jaro_winkler 1.00"));
  match = CompareClients(a, b, ViewsConfig());
  EXPECT_THAT(Field(match, "address").detail(),
              Not(HasSubstr("line1 jaro_winkler 1.00")));
  // An empty table abbreviates nothing.
  ViewsConfig no_table;
  no_table.address_abbreviations.clear();
  SetAddress(a, "7 Marine Street", "2034");
  EXPECT_EQ(MakeMatchProfile(a, no_table).address_line, "7 marine street");
  EXPECT_EQ(MakeMatchProfile(a, australia).address_line, "7 marine st");
}

// The profile holds what the comparisons read, normalised once.
TEST(ClientMatchingProfile, NormalisesEveryFieldOnce) {
  v1::ClientRegistered c = Person("José", "Nguyễn", 1990, 1, 15);
  c.set_phone("0412 345 678");
  SetAddress(c, "7 Marine Parade", "2034");
  c.mutable_address()->set_city("Coogee Beach");
  AddIdentifier(c, "hospital-1", "MRN", "77");
  ViewsConfig config;
  config.phone_region = "AU";
  const MatchProfile p = MakeMatchProfile(c, config);
  EXPECT_EQ(p.given, "jose");
  EXPECT_EQ(p.family, "nguyen");
  EXPECT_EQ(p.given_soundex, "J200");
  EXPECT_EQ(p.family_soundex, "N250");
  EXPECT_EQ(p.birth_date.year(), 1990);
  EXPECT_EQ(p.sex, v1::SEX_FEMALE);
  EXPECT_EQ(p.phone, "+61412345678");
  EXPECT_EQ(p.address_line, "7 marine parade");
  EXPECT_EQ(p.postal_code, "2034");
  EXPECT_EQ(p.locality, "coogeebeach");
  ASSERT_EQ(p.identifiers.size(), 1u);
  EXPECT_EQ(p.identifiers[0].value(), "77");
  // The same person written without accents, in the US's dialling plan
  // with the country code: one person.
  v1::ClientRegistered d = Person("Jose", "NGUYEN", 1990, 1, 15);
  d.set_phone("+61 412 345 678");
  ClientMatch match = CompareClients(p, MakeMatchProfile(d, ViewsConfig()),
                                     config);
  EXPECT_EQ(Field(match, "given_name").detail(), "jaro_winkler 1.00");
  EXPECT_EQ(Field(match, "family_name").detail(), "jaro_winkler 1.00");
  EXPECT_EQ(Field(match, "phone").agreement(), v1::FIELD_AGREEMENT_AGREE);
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_MATCH);
}

TEST(ClientMatchingModel, WeightsAndThresholds) {
  const MatchModel& model = DefaultMatchModel();
  for (const FieldModel& m : model.fields) {
    EXPECT_GT(m.AgreeWeight(), 0);
    EXPECT_LT(m.DisagreeWeight(), 0);
    if (m.m_partial > 0) {
      EXPECT_LT(m.PartialWeight(), m.AgreeWeight());
      EXPECT_GT(m.PartialWeight(), m.DisagreeWeight());
    }
  }
  // The prior alone (weight 0) is the candidate-pair prior.
  EXPECT_NEAR(MatchProbability(0, model.prior), model.prior, 1e-12);
  ViewsConfig config;
  EXPECT_EQ(ClassifyMatch(0.8, config), v1::MATCH_CLASS_MATCH);
  EXPECT_EQ(ClassifyMatch(0.79, config), v1::MATCH_CLASS_REVIEW);
  EXPECT_EQ(ClassifyMatch(0.4, config), v1::MATCH_CLASS_REVIEW);
  EXPECT_EQ(ClassifyMatch(0.39, config), v1::MATCH_CLASS_NON_MATCH);
}

TEST(ClientMatchingCompare, IdenticalIsMatch) {
  v1::ClientRegistered a = Person("Ada", "Okafor", 1958, 3, 14);
  a.set_phone("555-010-2345");
  SetAddress(a, "12 Elm Street", "97401");
  ClientMatch match = Compare(a, a);
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_MATCH);
  EXPECT_GT(match.probability, 0.999);
  ASSERT_EQ(match.comparisons.size(), 7u);
  for (absl::string_view field : {"given_name", "family_name", "birth_date",
                                  "sex", "phone", "address"}) {
    EXPECT_EQ(Field(match, field).agreement(), v1::FIELD_AGREEMENT_AGREE)
        << field;
  }
  EXPECT_EQ(Field(match, "identifier").agreement(),
            v1::FIELD_AGREEMENT_MISSING);
  EXPECT_THAT(Field(match, "given_name").detail(),
              HasSubstr("jaro_winkler 1.00"));
  // Each comparison carries the model's m and u, and its weight is theirs.
  for (const v1::FieldComparison& c : match.comparisons) {
    if (c.agreement() == v1::FIELD_AGREEMENT_MISSING) {
      EXPECT_EQ(c.m_probability(), 0.0) << c.field();
      continue;
    }
    EXPECT_NEAR(c.weight(), std::log2(c.m_probability() / c.u_probability()),
                1e-9)
        << c.field();
  }
}

TEST(ClientMatchingCompare, TyposAreMatch) {
  v1::ClientRegistered a = Person("Jon", "Smtih", 1980, 7, 2, v1::SEX_MALE);
  v1::ClientRegistered b = Person("John", "Smith", 1980, 7, 2, v1::SEX_MALE);
  a.set_phone("(541) 555-0199");
  b.set_phone("+1 541 555 0199");
  ClientMatch match = Compare(a, b);
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_MATCH);
  // jon/john 0.93 and smtih/smith 0.95: both at or above 0.92.
  EXPECT_EQ(Field(match, "given_name").agreement(), v1::FIELD_AGREEMENT_AGREE);
  EXPECT_THAT(Field(match, "given_name").detail(),
              HasSubstr("jaro_winkler 0.93"));
  EXPECT_EQ(Field(match, "family_name").agreement(),
            v1::FIELD_AGREEMENT_AGREE);
  EXPECT_EQ(Field(match, "phone").agreement(), v1::FIELD_AGREEMENT_AGREE);
}

// Swapped given and family names with the same birth date and sex are a
// MATCH: the swap counts as partial agreement of both name parts (a common
// entry error, +2.3 bits each in the default model), and an exact birth date
// (+8.3) with agreeing sex carries the pair above the match threshold. With
// the birth date only partly agreeing the same pair falls below review.
TEST(ClientMatchingCompare, SwappedNamesAreMatch) {
  v1::ClientRegistered a = Person("Nguyen", "Thanh", 1990, 1, 15);
  v1::ClientRegistered b = Person("Thanh", "Nguyen", 1990, 1, 15);
  ClientMatch match = Compare(a, b);
  EXPECT_EQ(Field(match, "given_name").agreement(),
            v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_EQ(Field(match, "family_name").agreement(),
            v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_THAT(Field(match, "given_name").detail(), HasSubstr("swapped"));
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_MATCH);

  b.mutable_birth_date()->set_year(1991);
  match = Compare(a, b);
  EXPECT_EQ(Field(match, "birth_date").agreement(),
            v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_NON_MATCH);
}

// A nickname with the same family name is partial name agreement, so the
// other fields keep their full weight and one person registered as "Bob" and
// as "Robert" matches.
TEST(ClientMatchingCompare, NicknamesArePartialNameAgreement) {
  EXPECT_TRUE(IsNickname("bob", "robert"));
  EXPECT_TRUE(IsNickname("liz", "elizabeth"));
  EXPECT_FALSE(IsNickname("bob", "bill"));
  EXPECT_FALSE(IsNickname("robert", "robert"));
  v1::ClientRegistered a = Person("Robert", "Smith", 1980, 7, 2, v1::SEX_MALE);
  v1::ClientRegistered b = Person("Bob", "Smith", 1980, 7, 3, v1::SEX_MALE);
  for (v1::ClientRegistered* p : {&a, &b}) {
    p->set_phone("541-555-0111");
    SetAddress(*p, "400 West Oak Avenue", "97402");
  }
  ClientMatch match = Compare(a, b);
  EXPECT_EQ(Field(match, "given_name").agreement(),
            v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_THAT(Field(match, "given_name").detail(), HasSubstr("nickname"));
  EXPECT_EQ(Field(match, "family_name").agreement(),
            v1::FIELD_AGREEMENT_AGREE);
  // A given name that only partly agrees makes the shared phone household
  // evidence (twins often have alike names), yet the pair still matches.
  EXPECT_THAT(Field(match, "phone").detail(), HasSubstr("household"));
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_MATCH);
}

// Twins share family name, birth date, address and phone. Different given
// names make the name disagree, so phone and address count only as household
// evidence: same-sex twins land in REVIEW (indistinguishable from one person
// registered under a nickname), different-sex twins in NON_MATCH. Never MATCH.
TEST(ClientMatchingCompare, TwinsNeverMatch) {
  v1::ClientRegistered a = Person("James", "Carter", 2001, 5, 9, v1::SEX_MALE);
  v1::ClientRegistered b = Person("Oliver", "Carter", 2001, 5, 9, v1::SEX_MALE);
  for (v1::ClientRegistered* p : {&a, &b}) {
    p->set_phone("541-555-0111");
    SetAddress(*p, "400 West Oak Avenue", "97402-1234");
  }
  ClientMatch same_sex = Compare(a, b);
  EXPECT_EQ(Field(same_sex, "given_name").agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);
  EXPECT_THAT(Field(same_sex, "phone").detail(), HasSubstr("household"));
  EXPECT_THAT(Field(same_sex, "address").detail(), HasSubstr("household"));
  EXPECT_LT(Field(same_sex, "phone").weight(), 1.0);
  EXPECT_EQ(same_sex.match_class, v1::MATCH_CLASS_REVIEW);

  b.set_sex(v1::SEX_FEMALE);
  b.mutable_name()->set_given("Olivia");
  ClientMatch different_sex = Compare(a, b);
  EXPECT_EQ(Field(different_sex, "sex").agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);
  EXPECT_EQ(different_sex.match_class, v1::MATCH_CLASS_NON_MATCH);

  // Twins with different MRNs at the same hospital: further apart.
  AddIdentifier(a, "hospital-1", "MRN", "100");
  AddIdentifier(b, "hospital-1", "MRN", "101");
  b.set_sex(v1::SEX_MALE);
  ClientMatch with_mrn = Compare(a, b);
  EXPECT_EQ(Field(with_mrn, "identifier").agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);
  EXPECT_NE(with_mrn.match_class, v1::MATCH_CLASS_MATCH);
}

TEST(ClientMatchingCompare, UnrelatedPeopleWithSameBirthDateAreNonMatch) {
  v1::ClientRegistered a = Person("Maria", "Lopez", 1975, 12, 1);
  v1::ClientRegistered b = Person("Susan", "Whitfield", 1975, 12, 1);
  a.set_phone("541-555-0001");
  b.set_phone("541-555-0002");
  SetAddress(a, "1 First St", "97401");
  SetAddress(b, "77 Lake Rd", "97330");
  ClientMatch match = Compare(a, b);
  EXPECT_EQ(Field(match, "birth_date").agreement(), v1::FIELD_AGREEMENT_AGREE);
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_NON_MATCH);
  EXPECT_LT(match.probability, 0.05);

  // Even with nothing but name and birth date to go on.
  match = Compare(Person("Maria", "Lopez", 1975, 12, 1, v1::SEX_UNKNOWN),
                  Person("Susan", "Whitfield", 1975, 12, 1, v1::SEX_UNKNOWN));
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_NON_MATCH);
}

TEST(ClientMatchingCompare, SharedIdentifier) {
  v1::ClientRegistered a = Person("Robert", "Hale", 0, 0, 0, v1::SEX_UNKNOWN);
  v1::ClientRegistered b = Person("Bob", "Hale", 0, 0, 0, v1::SEX_UNKNOWN);
  AddIdentifier(a, "hospital-1", "MEDICAID", "OR1234567");
  AddIdentifier(b, "housing-1", "medicaid", "OR1234567");
  ClientMatch match = Compare(a, b);
  EXPECT_EQ(Field(match, "identifier").agreement(), v1::FIELD_AGREEMENT_AGREE);
  EXPECT_THAT(Field(match, "identifier").detail(),
              HasSubstr("OR1234567 shared"));
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_MATCH);

  // The same MRN number at two hospitals is two different local numbers.
  v1::ClientRegistered c = Person("Robert", "Hale", 0, 0, 0, v1::SEX_UNKNOWN);
  v1::ClientRegistered d = Person("Ann", "Ortiz", 0, 0, 0, v1::SEX_UNKNOWN);
  AddIdentifier(c, "hospital-1", "MRN", "1001");
  AddIdentifier(d, "hospital-2", "MRN", "1001");
  match = Compare(c, d);
  EXPECT_EQ(Field(match, "identifier").agreement(),
            v1::FIELD_AGREEMENT_MISSING);
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_NON_MATCH);

  // The same hospital's MRN with a different value disagrees.
  AddIdentifier(d, "hospital-1", "MRN", "2002");
  match = Compare(c, d);
  EXPECT_EQ(Field(match, "identifier").agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);
  EXPECT_DOUBLE_EQ(Field(match, "identifier").weight(),
                   DefaultMatchModel().fields[kIdentifierField].DisagreeWeight());
}

TEST(ClientMatchingCompare, MissingFieldsWeighZero) {
  v1::ClientRegistered sparse =
      Person("Ada", "Okafor", 0, 0, 0, v1::SEX_UNSPECIFIED);
  v1::ClientRegistered full = Person("Ada", "Okafor", 1958, 3, 14);
  full.set_phone("555-010-2345");
  SetAddress(full, "12 Elm Street", "97401");
  AddIdentifier(full, "hospital-1", "MRN", "77");
  ClientMatch match = Compare(sparse, full);
  for (absl::string_view field :
       {"birth_date", "sex", "phone", "address", "identifier"}) {
    EXPECT_EQ(Field(match, field).agreement(), v1::FIELD_AGREEMENT_MISSING)
        << field;
    EXPECT_EQ(Field(match, field).weight(), 0.0) << field;
  }
  EXPECT_DOUBLE_EQ(
      match.weight,
      DefaultMatchModel().fields[kGivenNameField].AgreeWeight() +
          DefaultMatchModel().fields[kFamilyNameField].AgreeWeight());
  // A full name alone is not enough for a match: a person reviews it.
  EXPECT_EQ(match.match_class, v1::MATCH_CLASS_REVIEW);

  // A side with no name at all: every field missing, weight 0, the prior.
  ClientMatch nothing = Compare(v1::ClientRegistered(), full);
  EXPECT_EQ(nothing.weight, 0.0);
  EXPECT_NEAR(nothing.probability, DefaultMatchModel().prior, 1e-12);
  EXPECT_EQ(nothing.match_class, v1::MATCH_CLASS_NON_MATCH);
}

TEST(ClientMatchingCompare, BirthDateLevels) {
  auto level = [](int y, int m, int d) {
    return Compare(Person("A", "B", 1980, 3, 4), Person("A", "B", y, m, d))
        .comparisons[kBirthDateField];
  };
  EXPECT_EQ(level(1980, 3, 4).agreement(), v1::FIELD_AGREEMENT_AGREE);
  EXPECT_EQ(level(1980, 4, 3).agreement(), v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_EQ(level(1980, 4, 3).detail(), "day and month transposed");
  EXPECT_EQ(level(1981, 3, 4).detail(), "year differs");
  EXPECT_EQ(level(1980, 3, 5).detail(), "day differs");
  EXPECT_EQ(level(1981, 3, 5).agreement(), v1::FIELD_AGREEMENT_DISAGREE);
}

// A partial birth date (care/birth_date.h) compares what both sides know; a
// date recorded as text compares by its digits when they read year-month-day.
TEST(ClientMatchingCompare, PartialAndRecordedBirthDates) {
  auto compare = [](v1::ClientRegistered b) {
    return Field(Compare(Person("A", "B", 1980, 3, 4), b), "birth_date");
  };
  v1::ClientRegistered year_only = Person("A", "B", 1980, 0, 0);
  EXPECT_EQ(compare(year_only).agreement(), v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_EQ(compare(year_only).detail(), "same year (a side is partial)");
  v1::ClientRegistered month = Person("A", "B", 1980, 3, 0);
  EXPECT_EQ(compare(month).detail(), "same year and month (a side is partial)");
  EXPECT_EQ(compare(Person("A", "B", 1980, 4, 0)).agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);
  EXPECT_EQ(compare(Person("A", "B", 1979, 0, 0)).agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);

  // Stored as the server keeps {1980, 93, 4}: the year, recorded as text.
  v1::ClientRegistered typo = Person("A", "B", 1980, 0, 0);
  typo.set_birth_date_recorded_as("1980-93-04");
  EXPECT_EQ(compare(typo).agreement(), v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_EQ(compare(typo).detail(), "recorded text one digit apart");
  // Two digits apart: only the year is compared.
  typo.set_birth_date_recorded_as("1980-93-05");
  EXPECT_EQ(compare(typo).detail(), "same year (a side is partial)");
  // Text that does not read year-month-day, without a year: missing.
  v1::ClientRegistered text = Person("A", "B", 0, 0, 0);
  text.set_birth_date_recorded_as("about 1980");
  EXPECT_EQ(compare(text).agreement(), v1::FIELD_AGREEMENT_MISSING);

  // A partial date blocks by its year, never by a whole-date key.
  EXPECT_THAT(BlockingKeys(Person("Ada", "Okafor", 1958, 0, 0), ViewsConfig()),
              ElementsAre("f:A300:O216", "n:A300:1958", "n:O216:1958"));
}

TEST(ClientMatchingCompare, AddressLevels) {
  v1::ClientRegistered a = Person("A", "B", 0, 0, 0);
  v1::ClientRegistered b = Person("A", "B", 0, 0, 0);
  SetAddress(a, "12 North Elm Street, Apt 4", "97401-1234");
  SetAddress(b, "12 N. Elm St Apartment 4", "97401");
  EXPECT_EQ(Field(Compare(a, b), "address").agreement(),
            v1::FIELD_AGREEMENT_AGREE);
  SetAddress(b, "980 Willamette Blvd", "97401");
  EXPECT_EQ(Field(Compare(a, b), "address").agreement(),
            v1::FIELD_AGREEMENT_PARTIAL);
  // The same line 1 under another postal code (a mistyped code, or the same
  // street name in another town) partly agrees.
  SetAddress(b, "12 North Elm Street, Apt 4", "10001");
  EXPECT_EQ(Field(Compare(a, b), "address").agreement(),
            v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_THAT(Field(Compare(a, b), "address").detail(),
              HasSubstr("postal code differs"));
  SetAddress(b, "980 Willamette Blvd", "10001");
  EXPECT_EQ(Field(Compare(a, b), "address").agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);
}

// An identifier one typing error away from the other side's (a digit
// changed, two adjacent digits swapped) partly agrees; consecutive numbers
// (twins' MRNs, issued one after the other) and values two errors apart
// disagree.
TEST(ClientMatchingCompare, IdentifierTypos) {
  auto level = [](absl::string_view x, absl::string_view y) {
    v1::ClientRegistered a = Person("A", "B", 0, 0, 0);
    v1::ClientRegistered b = Person("A", "B", 0, 0, 0);
    AddIdentifier(a, "state", "MEDICAID", std::string(x));
    AddIdentifier(b, "state", "MEDICAID", std::string(y));
    return Field(Compare(a, b), "identifier");
  };
  EXPECT_EQ(level("4086030", "4086030").agreement(), v1::FIELD_AGREEMENT_AGREE);
  EXPECT_EQ(level("4086030", "4086300").agreement(),
            v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_EQ(level("4086030", "4086300").detail(),
            "MEDICAID 4086030 vs 4086300: one typing error apart");
  EXPECT_EQ(level("8520720", "8529720").agreement(),
            v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_EQ(level("OR123456", "OR123457").agreement(),
            v1::FIELD_AGREEMENT_PARTIAL);
  EXPECT_EQ(level("1000234", "1000235").agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);
  EXPECT_EQ(level("1009", "1010").agreement(), v1::FIELD_AGREEMENT_DISAGREE);
  EXPECT_EQ(level("2439141", "2439451").agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);
  EXPECT_EQ(level("4086030", "408603").agreement(),
            v1::FIELD_AGREEMENT_DISAGREE);
}

// With name frequencies, an agreeing name part gains weight when the name is
// rare and loses it when common; the explanation says so.
TEST(ClientMatchingCompare, TermFrequencyAdjustment) {
  NameFrequencies names;
  names.Add(NamePart::kFamily, "smith", 300);
  names.Add(NamePart::kFamily, "okafor", 2);
  for (int i = 0; i < 200; ++i)
    names.Add(NamePart::kFamily, absl::StrCat("family", i), 1);
  const ViewsConfig config;
  auto family = [&](absl::string_view name) {
    v1::ClientRegistered a = Person("Ada", std::string(name), 1958, 3, 14);
    const MatchProfile p = MakeMatchProfile(a, config);
    return Field(CompareClients(p, p, config, DefaultMatchModel(), &names),
                 "family_name");
  };
  const double agree =
      DefaultMatchModel().fields[kFamilyNameField].AgreeWeight();
  const v1::FieldComparison smith = family("Smith");
  EXPECT_LT(smith.term_frequency_adjustment(), 0);
  EXPECT_NEAR(smith.weight(), agree + smith.term_frequency_adjustment(), 1e-9);
  EXPECT_THAT(smith.detail(), HasSubstr("common name"));
  const v1::FieldComparison okafor = family("Okafor");
  EXPECT_GT(okafor.term_frequency_adjustment(), 0);
  EXPECT_THAT(okafor.detail(), HasSubstr("rare name"));
  // The given name was never counted: no adjustment.
  v1::ClientRegistered a = Person("Ada", "Okafor", 1958, 3, 14);
  const MatchProfile p = MakeMatchProfile(a, config);
  EXPECT_EQ(Field(CompareClients(p, p, config, DefaultMatchModel(), &names),
                  "given_name")
                .term_frequency_adjustment(),
            0);
}

TEST(ClientMatchingBlocking, KeysCatchTyposSwapsAndTwins) {
  v1::ClientRegistered a = Person("John", "Smith", 1980, 7, 2);
  a.set_phone("541-555-0199");
  AddIdentifier(a, "hospital-1", "mrn", "42");
  EXPECT_THAT(BlockingKeys(a, ViewsConfig()),
              ElementsAre("d:19800702", "f:J500:S530", "i:MRN:42",
                          "n:J500:1980", "n:S530:1980", "p:+15415550199"));

  auto shares_key = [](const v1::ClientRegistered& x,
                       const v1::ClientRegistered& y) {
    std::vector<std::string> kx = BlockingKeys(x, ViewsConfig());
    std::vector<std::string> ky = BlockingKeys(y, ViewsConfig());
    return std::any_of(kx.begin(), kx.end(), [&](const std::string& k) {
      return std::find(ky.begin(), ky.end(), k) != ky.end();
    });
  };
  // A typo in the name and a wrong birth date still share the name key.
  EXPECT_TRUE(shares_key(Person("John", "Smith", 1980, 7, 2),
                         Person("Jon", "Smtih", 1981, 2, 7)));
  // Swapped names with no birth date share the sorted full-name key.
  EXPECT_TRUE(shares_key(Person("Thanh", "Nguyen", 0, 0, 0),
                         Person("Nguyen", "Thanh", 0, 0, 0)));
  EXPECT_FALSE(shares_key(Person("Thanh", "Nguyen", 1990, 1, 1),
                          Person("Ada", "Okafor", 1958, 3, 14)));
  EXPECT_THAT(BlockingKeys(v1::ClientRegistered(), ViewsConfig()),
              ElementsAre());
  EXPECT_THAT(BlockingKeys(Person("Ada", "", 0, 0, 0), ViewsConfig()),
              ElementsAre());
  EXPECT_THAT(BlockingKeys(Person("Ada", "Okafor", 1958, 3, 14), ViewsConfig()),
              IsSupersetOf({"n:A300:1958", "n:O216:1958"}));
  EXPECT_THAT(BlockingKeys(Person("Ada", "Okafor", 1958, 3, 14), ViewsConfig()),
              Contains("d:19580314"));
  // Soundex codes of the transliterated names: accents change nothing.
  EXPECT_EQ(BlockingKeys(Person("José", "Müller", 1958, 3, 14), ViewsConfig()),
            BlockingKeys(Person("Jose", "Muller", 1958, 3, 14), ViewsConfig()));
}

// Postcode plus locality, both normalised, when a side has both: people
// who moved within a suburb, or whose name and birth date were both mistyped,
// still meet.
TEST(ClientMatchingBlocking, PostcodeAndLocality) {
  v1::ClientRegistered a = Person("", "", 0, 0, 0);
  SetAddress(a, "7 Marine Parade", " 2034 ");
  a.mutable_address()->set_city("Coogee");
  EXPECT_THAT(BlockingKeys(a, ViewsConfig()), ElementsAre("a:2034:coogee"));
  v1::ClientRegistered b = Person("", "", 0, 0, 0);
  SetAddress(b, "12 Arden St", "2034");
  b.mutable_address()->set_city("COOGÉE");
  EXPECT_EQ(BlockingKeys(a, ViewsConfig()), BlockingKeys(b, ViewsConfig()));
  a.mutable_address()->set_city("St. Kilda East");
  a.mutable_address()->set_postal_code("3183");
  EXPECT_THAT(BlockingKeys(a, ViewsConfig()),
              ElementsAre("a:3183:stkildaeast"));
  // A postcode without a locality, or a locality without a postcode: no key.
  a.mutable_address()->set_city("");
  EXPECT_THAT(BlockingKeys(a, ViewsConfig()), ElementsAre());
  a.mutable_address()->set_city("Coogee");
  a.mutable_address()->set_postal_code("");
  EXPECT_THAT(BlockingKeys(a, ViewsConfig()), ElementsAre());
}

// Phones key on E.164 with the configured region: a national number in the
// configured region and the same number written internationally share it.
TEST(ClientMatchingBlocking, PhoneKeyIsE164) {
  v1::ClientRegistered a = Person("", "", 0, 0, 0);
  a.set_phone("0412 345 678");
  ViewsConfig australia;
  australia.phone_region = "AU";
  EXPECT_THAT(BlockingKeys(a, australia), ElementsAre("p:+61412345678"));
  a.set_phone("+61 412 345 678");
  EXPECT_THAT(BlockingKeys(a, ViewsConfig()), ElementsAre("p:+61412345678"));
  a.set_phone("n/a");
  EXPECT_THAT(BlockingKeys(a, australia), ElementsAre());
}

}  // namespace
}  // namespace caseline::care
