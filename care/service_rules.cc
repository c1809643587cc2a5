// Services: a provider starts delivering a service (often for a referral),
// notifies an interruption, and ends it.
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "care/event_rules.h"
#include "care/event_summary.h"
#include "care/rule_checks.h"

namespace caseline::care::rules {
namespace {

// --- ServiceStarted ----------------------------------------------------------

absl::Status CheckStarted(const v1::CareEvent& event) {
  const auto& e = event.service_started();
  RETURN_IF_ERROR(CheckId(e.service_id(), "service_started.service_id"));
  RETURN_IF_ERROR(CheckId(e.provider_organization_id(),
                          "service_started.provider_organization_id"));
  RETURN_IF_ERROR(CheckEnum(e.category(), v1::ServiceCategory_IsValid,
                            "service_started.category", true));
  RETURN_IF_ERROR(CheckEnum(e.level_of_care(), v1::LevelOfCare_IsValid,
                            "service_started.level_of_care", false));
  return CheckOptionalId(e.referral_id(), "service_started.referral_id");
}

absl::Status DecideStarted(const RuleInput& input, v1::CareEvent* event) {
  const auto& started = event->service_started();
  const std::string& client = input.record.client_id;
  RETURN_IF_ERROR(RequireNew(input.record.services, started.service_id(),
                             "service", client));
  RETURN_IF_ERROR(
      RequireOrganization(input.directory, started.provider_organization_id(),
                          "service_started.provider_organization_id"));
  if (!started.referral_id().empty()) {
    RETURN_IF_ERROR(RequireKnown(input.record.referrals, started.referral_id(),
                                 "referral", client)
                        .status());
  }
  return absl::OkStatus();
}

std::string SummarizeStarted(const v1::CareEvent& event) {
  const auto& e = event.service_started();
  return absl::StrCat("service ", e.service_id(), " (",
                      CategoryWord(e.category()), ") started at ",
                      e.provider_organization_id());
}

// --- ServiceEnded / ServiceInterruptionNotified ------------------------------

const std::string& ServiceIdOf(const v1::CareEvent& event) {
  return event.has_service_ended()
             ? event.service_ended().service_id()
             : event.service_interruption_notified().service_id();
}

// Only a service's provider ends it or notifies its interruption. An unknown
// service passes: the state rule answers NOT_FOUND.
absl::Status AuthorizeProvider(const RuleInput& input) {
  const v1::CareEvent& event = input.command.event;
  const bool ended = event.has_service_ended();
  const std::string& id = ServiceIdOf(event);
  auto it = input.record.services.find(id);
  if (it == input.record.services.end() ||
      it->second.started.provider_organization_id() ==
          input.command.organization_id) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "service ", id, " is provided by ",
      it->second.started.provider_organization_id(), "; only its provider ",
      ended ? "ends it" : "notifies its interruption"));
}

// A known service that has not ended.
absl::Status DecideActiveService(const RuleInput& input, v1::CareEvent* event) {
  const std::string& client = input.record.client_id;
  const std::string& id = ServiceIdOf(*event);
  ASSIGN_OR_RETURN(const ServiceState* service,
                   RequireKnown(input.record.services, id, "service", client));
  if (!service->active()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "service ", id, " of client ", client, " has already ended"));
  }
  return absl::OkStatus();
}

absl::Status CheckEnded(const v1::CareEvent& event) {
  return CheckId(event.service_ended().service_id(),
                 "service_ended.service_id");
}

std::string SummarizeEnded(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("service ", event.service_ended().service_id(), " ended"),
      event.service_ended().reason());
}

absl::Status CheckInterruption(const v1::CareEvent& event) {
  const auto& e = event.service_interruption_notified();
  RETURN_IF_ERROR(
      CheckId(e.service_id(), "service_interruption_notified.service_id"));
  if (e.has_expected_end()) {
    RETURN_IF_ERROR(CheckTimestamp(
        e.expected_end(), "service_interruption_notified.expected_end"));
  }
  return absl::OkStatus();
}

std::string SummarizeInterruption(const v1::CareEvent& event) {
  return WithReason(
      absl::StrCat("service ",
                   event.service_interruption_notified().service_id(),
                   " will be interrupted"),
      event.service_interruption_notified().reason());
}

constexpr EventRules kRules[] = {
    {.event = v1::CareEvent::kServiceStarted,
     .check_fields = CheckStarted,
     .decide = DecideStarted,
     .summarize = SummarizeStarted},
    {.event = v1::CareEvent::kServiceEnded,
     .check_fields = CheckEnded,
     .write_rule = AuthorizeProvider,
     .decide = DecideActiveService,
     .summarize = SummarizeEnded},
    {.event = v1::CareEvent::kServiceInterruptionNotified,
     .check_fields = CheckInterruption,
     .write_rule = AuthorizeProvider,
     .decide = DecideActiveService,
     .summarize = SummarizeInterruption},
};

}  // namespace

absl::Span<const EventRules> ServiceRules() { return kRules; }

}  // namespace caseline::care::rules
