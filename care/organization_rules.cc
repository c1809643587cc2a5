// The organisation directory (stream "organizations"): registering an
// organisation and updating its details. Taken by Organizations, never by a
// client command.
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/event_rules.h"
#include "care/rule_checks.h"

namespace caseline::care::rules {
namespace {

// --- OrganizationRegistered --------------------------------------------------

absl::Status CheckRegistered(const v1::CareEvent& event) {
  const auto& e = event.organization_registered();
  RETURN_IF_ERROR(
      CheckId(e.organization_id(), "organization_registered.organization_id"));
  RETURN_IF_ERROR(CheckText(e.name(), "organization_registered.name", true));
  RETURN_IF_ERROR(CheckEnum(e.type(), v1::OrganizationType_IsValid,
                            "organization_registered.type", true));
  for (int i = 0; i < e.service_categories_size(); ++i) {
    RETURN_IF_ERROR(CheckEnum(
        e.service_categories(i), v1::ServiceCategory_IsValid,
        absl::StrCat("organization_registered.service_categories[", i, "]"),
        true));
  }
  return absl::OkStatus();
}

absl::Status DecideRegistered(const RuleInput& input, v1::CareEvent* event) {
  const std::string& id = event->organization_registered().organization_id();
  if (input.directory.Contains(id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("organisation ", id,
                     " is already registered; change it with "
                     "UpdateOrganization"));
  }
  return absl::OkStatus();
}

std::string SummarizeRegistered(const v1::CareEvent& event) {
  return absl::StrCat("organisation ",
                      event.organization_registered().organization_id(),
                      " registered");
}

// --- OrganizationUpdated -----------------------------------------------------

absl::Status CheckUpdated(const v1::CareEvent& event) {
  const auto& e = event.organization_updated();
  RETURN_IF_ERROR(
      CheckId(e.organization_id(), "organization_updated.organization_id"));
  RETURN_IF_ERROR(CheckEnum(e.type(), v1::OrganizationType_IsValid,
                            "organization_updated.type", false));
  for (int i = 0; i < e.service_categories_size(); ++i) {
    RETURN_IF_ERROR(CheckEnum(
        e.service_categories(i), v1::ServiceCategory_IsValid,
        absl::StrCat("organization_updated.service_categories[", i, "]"),
        true));
  }
  return absl::OkStatus();
}

absl::Status DecideUpdated(const RuleInput& input, v1::CareEvent* event) {
  return RequireOrganization(input.directory,
                             event->organization_updated().organization_id(),
                             "organization_updated.organization_id");
}

std::string SummarizeUpdated(const v1::CareEvent& event) {
  return absl::StrCat("organisation ",
                      event.organization_updated().organization_id(),
                      " updated");
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kOrganizationRegistered,
     .writer = Writer::kOrganizationCommand,
     .check_fields = CheckRegistered,
     .decide = DecideRegistered,
     .summarize = SummarizeRegistered},
    {.event = v1::CareEvent::kOrganizationUpdated,
     .writer = Writer::kOrganizationCommand,
     .check_fields = CheckUpdated,
     .decide = DecideUpdated,
     .summarize = SummarizeUpdated},
};

}  // namespace

absl::Span<const EventRules> OrganizationRules() { return kRules; }

}  // namespace caseline::care::rules
