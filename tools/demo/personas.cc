#include "tools/demo/personas.h"

#include <map>

namespace caseline::tools::demo {

const std::vector<std::string>& MaleNames() {
  static const auto* const names = new std::vector<std::string>{
      "James",   "Robert",  "Michael",     "William", "David",   "Richard",
      "Joseph",  "Thomas",  "Christopher", "Daniel",  "Anthony", "Jose",
      "Luis",    "Carlos",  "Juan",        "Miguel",  "Ahmed",   "Omar",
      "Wei",     "Minh",    "Tuan",        "Dmitri",  "Ivan",    "Kwame",
      "Tyrone",  "DeShawn", "Marcus",      "Kevin",   "Brian",   "Jason",
      "Eric",    "Samuel",  "Patrick",     "Sean",    "Raj",     "Arjun",
      "Hiroshi", "Kenji",   "Abdi",        "Mohamed"};
  return *names;
}

const std::vector<std::string>& FemaleNames() {
  static const auto* const names = new std::vector<std::string>{
      "Mary",      "Patricia",  "Jennifer", "Linda",  "Elizabeth", "Barbara",
      "Susan",     "Jessica",   "Sarah",    "Karen",  "Maria",     "Ana",
      "Carmen",    "Guadalupe", "Sofia",    "Fatima", "Aisha",     "Amina",
      "Mei",       "Linh",      "Thu",      "Olga",   "Natalia",   "Keisha",
      "Latoya",    "Jasmine",   "Ashley",   "Emily",  "Megan",     "Rachel",
      "Katherine", "Margaret",  "Dorothy",  "Helen",  "Priya",     "Sunita",
      "Yuki",      "Hana",      "Hodan",    "Ayaan"};
  return *names;
}

const std::vector<std::string>& FamilyNames() {
  static const auto* const names = new std::vector<std::string>{
      "Smith",    "Johnson", "Williams",  "Brown",    "Jones",     "Garcia",
      "Miller",   "Davis",   "Rodriguez", "Martinez", "Hernandez", "Lopez",
      "Gonzalez", "Wilson",  "Anderson",  "Thomas",   "Taylor",    "Moore",
      "Jackson",  "Martin",  "Lee",       "Perez",    "Thompson",  "White",
      "Harris",   "Sanchez", "Clark",     "Ramirez",  "Lewis",     "Robinson",
      "Walker",   "Young",   "Allen",     "King",     "Wright",    "Scott",
      "Torres",   "Nguyen",  "Hill",      "Flores",   "Green",     "Adams",
      "Nelson",   "Baker",   "Hall",      "Rivera",   "Campbell",  "Mitchell",
      "Carter",   "Roberts", "Kowalski",  "Novak",    "Haddad",    "Mohamed",
      "Ali",      "Tran",    "Pham",      "Kim",      "Okonkwo",   "Mensah"};
  return *names;
}

const std::vector<std::string>& Streets() {
  static const auto* const streets = new std::vector<std::string>{
      "Maple St",     "Oak Ave",      "Cedar St", "Pine St",
      "Elm St",       "Birch Lane",   "River Rd", "Main St",
      "Lincoln Ave",  "Jefferson St", "Alder St", "Spruce Way",
      "Hillcrest Dr", "Park Ave",     "Mill St",  "Willow Court"};
  return *streets;
}

const std::vector<City>& Cities() {
  static const auto* const cities =
      new std::vector<City>{{"Riverside", "973"},
                            {"Eastport", "974"},
                            {"Millbrook", "975"},
                            {"Harbor City", "976"},
                            {"Fairview", "977"}};
  return *cities;
}

std::string Nickname(const std::string& given) {
  static const auto* const nicknames = new std::map<std::string, std::string>{
      {"William", "Bill"}, {"Robert", "Bob"},        {"Michael", "Mike"},
      {"James", "Jim"},    {"Richard", "Rick"},      {"Joseph", "Joe"},
      {"Thomas", "Tom"},   {"Christopher", "Chris"}, {"Daniel", "Dan"},
      {"Anthony", "Tony"}, {"Elizabeth", "Liz"},     {"Patricia", "Pat"},
      {"Jennifer", "Jen"}, {"Katherine", "Kathy"},   {"Margaret", "Peggy"},
      {"Jessica", "Jess"}, {"Susan", "Sue"},         {"Samuel", "Sam"},
      {"Dorothy", "Dot"},  {"Natalia", "Natasha"}};
  auto it = nicknames->find(given);
  return it == nicknames->end() ? "" : it->second;
}

const std::vector<Persona>& Personas() {
  using v1::DATA_CLASS_EDUCATION;
  using v1::DATA_CLASS_FINANCIAL;
  using v1::DATA_CLASS_GENERAL;
  using v1::DATA_CLASS_HOUSING;
  using v1::DATA_CLASS_LEGAL;
  using v1::DATA_CLASS_MENTAL_HEALTH;
  static const auto* const personas = new std::vector<Persona>{
      {Kind::kMentalIllness,
       14,
       19,
       64,
       {kHarbor, kMercy, kEastside},
       {{v1::SERVICE_CATEGORY_MENTAL_HEALTH, 100},
        {v1::SERVICE_CATEGORY_HOUSING, 40},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 40},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 30},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 30},
        {v1::SERVICE_CATEGORY_SUPPORT_GROUP, 25}},
       {DATA_CLASS_GENERAL, DATA_CLASS_MENTAL_HEALTH, DATA_CLASS_HOUSING,
        DATA_CLASS_FINANCIAL},
       "Serious mental illness after a crisis; needs coordinated outpatient "
       "care"},
      {Kind::kSubstanceUse,
       12,
       19,
       60,
       {kNewDawn, kMercy, kCommunity},
       {{v1::SERVICE_CATEGORY_SUBSTANCE_USE, 100},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 50},
        {v1::SERVICE_CATEGORY_HOUSING, 40},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 30},
        {v1::SERVICE_CATEGORY_LEGAL, 20},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_MENTAL_HEALTH, DATA_CLASS_HOUSING},
       "Substance use disorder; wants treatment after an overdose"},
      {Kind::kHomeless,
       13,
       19,
       70,
       {kCityHome, kCommunity},
       {{v1::SERVICE_CATEGORY_HOUSING, 100},
        {v1::SERVICE_CATEGORY_FOOD, 60},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 50},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 50},
        {v1::SERVICE_CATEGORY_TRANSPORTATION, 25},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 30},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 25}},
       {DATA_CLASS_GENERAL, DATA_CLASS_HOUSING, DATA_CLASS_FINANCIAL},
       "Homeless; sleeping in a car since an eviction"},
      {Kind::kFrailElder,
       14,
       70,
       94,
       {kEastside, kMercy, kSocialServices, kHealthPlan},
       {{v1::SERVICE_CATEGORY_IN_HOME_CARE, 100},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 70},
        {v1::SERVICE_CATEGORY_PHYSICAL_THERAPY, 40},
        {v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY, 30},
        {v1::SERVICE_CATEGORY_TRANSPORTATION, 40},
        {v1::SERVICE_CATEGORY_FOOD, 30},
        {v1::SERVICE_CATEGORY_DISABILITY, 20},
        {v1::SERVICE_CATEGORY_SUPPORT_GROUP, 15}},
       {DATA_CLASS_GENERAL, DATA_CLASS_FINANCIAL},
       "Frail older adult living alone; falls and missed appointments"},
      {Kind::kReentry,
       7,
       20,
       55,
       {kCorrections},
       {{v1::SERVICE_CATEGORY_PROBATION_PAROLE, 100},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 80},
        {v1::SERVICE_CATEGORY_HOUSING, 60},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 40},
        {v1::SERVICE_CATEGORY_SUBSTANCE_USE, 35},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 50},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_LEGAL, DATA_CLASS_MENTAL_HEALTH,
        DATA_CLASS_HOUSING, DATA_CLASS_FINANCIAL},
       "Reentry planning before release on parole"},
      {Kind::kChild,
       10,
       5,
       17,
       {kSchools, kSocialServices},
       {{v1::SERVICE_CATEGORY_EDUCATION, 100},
        {v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT, 60},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 50},
        {v1::SERVICE_CATEGORY_FOOD, 30},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_EDUCATION, DATA_CLASS_MENTAL_HEALTH},
       "Child missing school; family under strain"},
      {Kind::kDomesticViolence,
       8,
       19,
       55,
       {kCommunity, kLegalAid},
       {{v1::SERVICE_CATEGORY_SAFETY, 100},
        {v1::SERVICE_CATEGORY_DOMESTIC_VIOLENCE, 80},
        {v1::SERVICE_CATEGORY_LEGAL, 70},
        {v1::SERVICE_CATEGORY_HOUSING, 60},
        {v1::SERVICE_CATEGORY_CHILD_CARE_FAMILY_SUPPORT, 30},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 40},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_LEGAL, DATA_CLASS_HOUSING,
        DATA_CLASS_MENTAL_HEALTH},
       "Fled domestic violence; needs safety and legal help"},
      {Kind::kImmigrant,
       8,
       19,
       60,
       {kCommunity, kSocialServices},
       {{v1::SERVICE_CATEGORY_IMMIGRATION, 100},
        {v1::SERVICE_CATEGORY_LEGAL, 50},
        {v1::SERVICE_CATEGORY_EMPLOYMENT, 60},
        {v1::SERVICE_CATEGORY_HEALTH_CARE, 50},
        {v1::SERVICE_CATEGORY_EDUCATION, 30},
        {v1::SERVICE_CATEGORY_FOOD, 30}},
       {DATA_CLASS_GENERAL, DATA_CLASS_LEGAL, DATA_CLASS_FINANCIAL},
       "Newly arrived; needs legal status, work and health care"},
      {Kind::kChronicIllness,
       14,
       35,
       80,
       {kHealthPlan, kEastside},
       {{v1::SERVICE_CATEGORY_HEALTH_CARE, 100},
        {v1::SERVICE_CATEGORY_TRANSPORTATION, 50},
        {v1::SERVICE_CATEGORY_FOOD, 40},
        {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, 30},
        {v1::SERVICE_CATEGORY_MENTAL_HEALTH, 25},
        {v1::SERVICE_CATEGORY_IN_HOME_CARE, 15},
        {v1::SERVICE_CATEGORY_DISABILITY, 20}},
       {DATA_CLASS_GENERAL, DATA_CLASS_MENTAL_HEALTH, DATA_CLASS_FINANCIAL},
       "Uncontrolled diabetes and heart failure; frequent ED visits"},
  };
  return *personas;
}

}  // namespace caseline::tools::demo
