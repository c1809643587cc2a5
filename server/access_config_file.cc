#include "server/access_config_file.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "base/read_file.h"

namespace caseline::server {

absl::StatusOr<services::AccessConfig> ParseAccessConfig(
    absl::string_view text) {
  using nlohmann::json;
  constexpr char kExample[] =
      "write e.g. {\"organizations\": {\"org-mercy-general\": [\"agency\"], "
      "\"state-privacy-office\": [\"auditor\"]}}";
  const json document = json::parse(text.begin(), text.end(), nullptr,
                                    /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("access config: not a JSON object; ", kExample));
  }
  services::AccessConfig config;
  for (const auto& [key, value] : document.items()) {
    if (key != "organizations") {
      return absl::InvalidArgumentError(absl::StrCat(
          "access config: unknown key \"", key,
          "\"; the only key is \"organizations\""));
    }
    if (!value.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "access config: organizations must be an object of organisation "
          "id to roles; ",
          kExample));
    }
    for (const auto& [organization, roles] : value.items()) {
      const std::string where = absl::StrCat("organizations.", organization);
      if (organization.empty() || organization.size() > 128) {
        return absl::InvalidArgumentError(absl::StrCat(
            "access config: ", where,
            ": an organisation id has 1 to 128 characters"));
      }
      if (!roles.is_array() || roles.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "access config: ", where,
            " must be a non-empty list of roles among \"agency\", "
            "\"auditor\", \"admin\""));
      }
      uint8_t mask = 0;
      for (const json& role : roles) {
        std::optional<services::Role> r =
            role.is_string() ? services::RoleNamed(role.get<std::string>())
                             : std::nullopt;
        if (!r.has_value()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "access config: ", where, ": unknown role ", role.dump(),
              "; the roles are \"agency\", \"auditor\" and \"admin\""));
        }
        mask |= *r;
      }
      config.roles[organization] = mask;
    }
  }
  if (config.roles.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "access config: no organisation is allowed; ", kExample));
  }
  return config;
}

absl::StatusOr<services::AccessConfig> LoadAccessConfigFile(
    const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileNamedBy("--access_config", path);
  if (!text.ok()) return text.status();
  absl::StatusOr<services::AccessConfig> config = ParseAccessConfig(*text);
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(path, ": ", config.status().message()));
  }
  return config;
}

}  // namespace caseline::server
