#include "server/views_config_file.h"

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "base/read_file.h"
#include "care/client_matching.h"
#include "care/nicknames.h"

namespace caseline::server {
namespace {

using nlohmann::json;

struct IntField {
  const char* name;
  int32_t care::ViewsConfig::*field;
  int32_t min;
  int32_t max;
};

struct DoubleField {
  const char* name;
  double care::ViewsConfig::*field;
};

constexpr IntField kIntFields[] = {
    {"follow_up_window_days", &care::ViewsConfig::follow_up_window_days,
     1, 365},
    {"referral_answer_business_days",
     &care::ViewsConfig::referral_answer_business_days, 1, 260},
    {"referral_start_days", &care::ViewsConfig::referral_start_days, 1,
     365},
    {"worklist_horizon_days", &care::ViewsConfig::worklist_horizon_days,
     0, 365},
    {"fuh_short_days", &care::ViewsConfig::fuh_short_days, 1, 365},
    {"fuh_long_days", &care::ViewsConfig::fuh_long_days, 1, 365},
    {"fum_short_days", &care::ViewsConfig::fum_short_days, 1, 365},
    {"fum_long_days", &care::ViewsConfig::fum_long_days, 1, 365},
    {"readmission_days", &care::ViewsConfig::readmission_days, 1, 365},
    {"fuh_exclusion_days", &care::ViewsConfig::fuh_exclusion_days, 0,
     365},
    {"trc_notification_days", &care::ViewsConfig::trc_notification_days, 0,
     365},
    {"trc_receipt_days", &care::ViewsConfig::trc_receipt_days, 0, 365},
    {"trc_engagement_days", &care::ViewsConfig::trc_engagement_days, 1, 365},
    {"trc_medication_reconciliation_days",
     &care::ViewsConfig::trc_medication_reconciliation_days, 0, 365},
    {"trc_readmission_days", &care::ViewsConfig::trc_readmission_days, 0,
     365},
    {"caseload_threshold", &care::ViewsConfig::caseload_threshold, 1,
     100000},
    {"disclosure_lookback_years",
     &care::ViewsConfig::disclosure_lookback_years, 1, 100},
};

constexpr DoubleField kDoubleFields[] = {
    {"match_threshold", &care::ViewsConfig::match_threshold},
    {"review_threshold", &care::ViewsConfig::review_threshold},
};

// address_abbreviations: an object of word -> abbreviation, each normalised
// as client matching normalises address words.
absl::StatusOr<absl::flat_hash_map<std::string, std::string>>
ParseAbbreviations(const json& value) {
  if (!value.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "views config: address_abbreviations must be an object of word to "
        "abbreviation, e.g. {\"street\": \"st\", \"parade\": \"pde\"}, not ",
        value.dump()));
  }
  const absl::flat_hash_map<std::string, std::string> kNone;
  absl::flat_hash_map<std::string, std::string> table;
  absl::flat_hash_map<std::string, std::string> written_as;  // for messages
  for (const auto& [word, abbreviation] : value.items()) {
    if (!abbreviation.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "views config: address_abbreviations \"", word,
          "\" must map to a string, not ", abbreviation.dump()));
    }
    const std::string key = care::NormalizeAddressLine(word, kNone);
    const std::string to =
        care::NormalizeAddressLine(abbreviation.get<std::string>(), kNone);
    if (key.empty() || absl::StrContains(key, ' ') ||
        absl::StrContains(to, ' ')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "views config: address_abbreviations \"", word, "\": \"",
          abbreviation.get<std::string>(),
          "\" is not one word to one word (letters and digits); "
          "abbreviations replace single words of address line 1"));
    }
    auto [it, inserted] = table.emplace(key, to);
    if (!inserted && it->second != to) {
      return absl::InvalidArgumentError(absl::StrCat(
          "views config: address_abbreviations \"", written_as[key],
          "\" and \"", word, "\" are the same word after normalisation (\"",
          key, "\") with different abbreviations; keep one"));
    }
    written_as.emplace(key, word);
  }
  return table;
}

}  // namespace

absl::StatusOr<care::ViewsConfig> ParseViewsConfig(
    absl::string_view text, const std::string& directory) {
  const json document = json::parse(text.begin(), text.end(), nullptr,
                                    /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return absl::InvalidArgumentError(
        "views config: not a JSON object; write e.g. "
        "{\"follow_up_window_days\": 7}");
  }
  care::ViewsConfig config;
  for (const auto& [key, value] : document.items()) {
    if (key == "time_zone") {
      // An IANA name, read from the system's zone database (tzdata) once
      // here; "localtime" would make the views depend on the host's TZ.
      absl::TimeZone zone;
      if (!value.is_string() || value.get<std::string>() == "localtime" ||
          !absl::LoadTimeZone(value.get<std::string>(), &zone)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "views config: time_zone ", value.dump(),
            " is not a time zone of the IANA database (Debian's tzdata, "
            "/usr/share/zoneinfo); use a name like \"America/New_York\" or "
            "\"UTC\""));
      }
      config.time_zone = zone;
      continue;
    }
    if (key == "phone_region") {
      if (!value.is_string() ||
          !care::IsSupportedPhoneRegion(value.get<std::string>())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "views config: phone_region ", value.dump(),
            " is not a region libphonenumber knows; use an ISO 3166-1 "
            "alpha-2 code in upper case, like \"US\", \"AU\" or \"VN\""));
      }
      config.phone_region = value.get<std::string>();
      continue;
    }
    if (key == "nicknames_file") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "views config: nicknames_file ", value.dump(),
            " must be the path of a nickname list (CSV; docs/views.md)"));
      }
      std::string path = value.get<std::string>();
      if (path[0] != '/' && !directory.empty())
        path = absl::StrCat(directory, "/", path);
      absl::StatusOr<std::string> csv =
          ReadFileNamedBy("views config nicknames_file", path);
      if (!csv.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("views config: ", csv.status().message()));
      }
      absl::StatusOr<std::shared_ptr<const care::NicknameTable>> table =
          care::NicknameTable::Parse(*csv);
      if (!table.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("views config: nicknames_file ", path, ": ",
                         table.status().message()));
      }
      config.nicknames = *std::move(table);
      continue;
    }
    if (key == "address_abbreviations") {
      absl::StatusOr<absl::flat_hash_map<std::string, std::string>> table =
          ParseAbbreviations(value);
      if (!table.ok()) return table.status();
      config.address_abbreviations = *std::move(table);
      continue;
    }
    bool known = false;
    for (const IntField& f : kIntFields) {
      if (key != f.name) continue;
      known = true;
      if (!value.is_number_integer() || value.get<int64_t>() < f.min ||
          value.get<int64_t>() > f.max) {
        return absl::InvalidArgumentError(
            absl::StrCat("views config: ", key, " must be a whole number in [",
                         f.min, ", ", f.max, "], not ", value.dump()));
      }
      config.*f.field = value.get<int32_t>();
    }
    for (const DoubleField& f : kDoubleFields) {
      if (key != f.name) continue;
      known = true;
      if (!value.is_number() || value.get<double>() < 0 ||
          value.get<double>() > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("views config: ", key,
                         " must be a number in [0, 1], not ", value.dump()));
      }
      config.*f.field = value.get<double>();
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "views config: unknown key \"", key,
          "\"; the keys are the fields of care/views_config.h"));
    }
  }
  if (config.review_threshold > config.match_threshold) {
    return absl::InvalidArgumentError(
        absl::StrCat("views config: review_threshold ", config.review_threshold,
                     " is above match_threshold ", config.match_threshold));
  }
  return config;
}

absl::StatusOr<care::ViewsConfig> LoadViewsConfigFile(
    const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileNamedBy("--views_config", path);
  if (!text.ok()) return text.status();
  const size_t slash = path.rfind('/');
  absl::StatusOr<care::ViewsConfig> config = ParseViewsConfig(
      *text, slash == std::string::npos ? "." : path.substr(0, slash));
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace caseline::server
