// The pure parts of the FHIR R4 Subscriptions backport (subscriptions.h,
// docs/fhir.md "Subscriptions"): the topics and their filters, validation of
// a Subscription resource, which referral changes a Subscription is notified
// of, the notification and $status Bundles, and the registration as stored.
// No I/O; unit-tested in subscriptions_test.cc.
#ifndef CASELINE_SERVER_FHIR_SUBSCRIPTION_MODEL_H_
#define CASELINE_SERVER_FHIR_SUBSCRIPTION_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/access.pb.h"
#include "caseline/v1/care_events.pb.h"
#include "nlohmann/json.hpp"

namespace caseline::server::fhir {

// The two topics (Subscription.criteria). Both fire on every referral
// lifecycle event (ReferralSent through ReferralCancelled): the Task topic's
// focus is the referral's Task, the ServiceRequest topic's its
// ServiceRequest (whose meta.versionId changes with every lifecycle event).
inline constexpr char kTaskTopic[] = "urn:caseline:fhir:topic:task";
inline constexpr char kServiceRequestTopic[] =
    "urn:caseline:fhir:topic:service-request";

// The backport IG's profiles and extensions.
inline constexpr char kBackportSubscriptionProfile[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription";
inline constexpr char kFilterCriteriaUrl[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-filter-criteria";
inline constexpr char kPayloadContentUrl[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-payload-content";
inline constexpr char kHeartbeatPeriodUrl[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-heartbeat-period";
inline constexpr char kTimeoutUrl[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-timeout";
inline constexpr char kMaxCountUrl[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-max-count";
inline constexpr char kNotificationProfile[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription-notification-r4";
inline constexpr char kStatusProfile[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription-status-r4";

// One backport-filter-criteria: every parameter given must match (AND); a
// parameter matches when any of its comma-separated values does (OR). Empty
// vectors match anything. Organisations and clients are Caseline ids.
struct ReferralFilter {
  // Task: owner; ServiceRequest: performer. The receiving organisation.
  std::vector<std::string> owner;
  // The sending organisation (Task and ServiceRequest: requester).
  std::vector<std::string> requester;
  // patient / subject: the client.
  std::vector<std::string> client;
  // Task only: the Task.status after the change ("requested", "accepted",
  // "rejected", ...).
  std::vector<std::string> status;
};

// What a valid Subscription asks for.
struct SubscriptionSpec {
  std::string topic;       // kTaskTopic or kServiceRequestTopic
  std::string focus_type;  // "Task" or "ServiceRequest"
  std::vector<ReferralFilter> filters;  // all must match
  std::string endpoint;    // the rest-hook URL
  // channel.header, split at the first ':' and trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content = "id-only";  // "id-only" or "empty"
  int heartbeat_seconds = 0;        // 0: no heartbeats
  int timeout_seconds = 10;         // per delivery attempt
  std::optional<absl::Time> end;    // Subscription.end
};

// The Subscription `resource` as the backport's R4 profile writes it, or
// INVALID_ARGUMENT whose message starts with the offending element (e.g.
// "Subscription.channel.endpoint: ..."). Plain http and loopback endpoints
// only with `allow_insecure_hooks`.
absl::StatusOr<SubscriptionSpec> ParseSubscription(
    const nlohmann::json& resource, bool allow_insecure_hooks);

// One referral lifecycle event, as a Subscription sees it.
struct ReferralChange {
  std::string client_id;
  std::string referral_id;
  v1::CareEvent::EventCase event_case = v1::CareEvent::EVENT_NOT_SET;
  // Known from ReferralSent itself, or looked up for the later events.
  std::string from_organization_id;
  std::string to_organization_id;
  uint64_t position = 0;
  absl::Time recorded_at;
};

// The change in a recorded event of stream `stream_id` with payload `event`;
// nullopt when it is not a referral lifecycle event of a client stream.
std::optional<ReferralChange> ChangeOf(absl::string_view stream_id,
                                       const v1::CareEvent& event,
                                       uint64_t position,
                                       absl::Time recorded_at);

// FHIR Task.status after a lifecycle event of `event_case`.
std::string TaskStatusAfter(v1::CareEvent::EventCase event_case);

// Whether matching needs the referral's organisations (an owner, performer
// or requester filter).
bool NeedsOrganizations(const SubscriptionSpec& spec);
bool Matches(const SubscriptionSpec& spec, const ReferralChange& change);

// Who a Subscription's deliveries are read as: the organisation and person
// that created (or last updated) it. Never breaks the glass.
struct SubscriptionOwner {
  std::string organization_id;
  std::string user_id;
  v1::Discipline discipline = v1::DISCIPLINE_UNSPECIFIED;
  v1::PurposeOfUse purpose = v1::PURPOSE_OF_USE_CARE_COORDINATION;
  bool peer_is_loopback = false;
};

// A registered Subscription as stored (<state_dir>/subscriptions/<id>.json).
struct Registration {
  std::string id;
  // The Subscription as posted, without id, meta, status and error.
  nlohmann::json resource;
  SubscriptionOwner owner;
  // The endpoint's absolute base URL when it was posted (for the references
  // in notifications).
  std::string base_url;
  std::string status = "requested";  // requested | active | error | off
  std::string error;                 // why the last delivery failed
  bool handshake_done = false;
  // Every matching event at or below this log position has been delivered
  // (at creation: the log's head).
  uint64_t cursor = 0;
  uint64_t events_since_start = 0;
  absl::Time created;
};

nlohmann::json RegistrationJson(const Registration& registration);
// DATA_LOSS naming what is wrong when `stored` is not a registration.
absl::StatusOr<Registration> RegistrationFromJson(const nlohmann::json& stored);

// The Subscription as served: the resource as posted, with its id, status,
// error (when status is error) and the backport profile.
nlohmann::json SubscriptionResource(const Registration& registration);

enum class NotificationType { kHandshake, kHeartbeat, kEventNotification };

// A notification Bundle (type history, profile
// backport-subscription-notification-r4): the status Parameters first, then
// (id-only) the focus entry. `change` and `event_number` only for
// kEventNotification. `bundle_id` and `status_id` are fresh UUIDs.
nlohmann::json NotificationBundle(const Registration& registration,
                                  const SubscriptionSpec& spec,
                                  NotificationType type,
                                  const ReferralChange* change,
                                  uint64_t event_number, absl::Time now,
                                  absl::string_view bundle_id,
                                  absl::string_view status_id);

// GET Subscription/<id>/$status: a searchset Bundle with one status
// Parameters of type query-status.
nlohmann::json StatusBundle(const Registration& registration,
                            const SubscriptionSpec& spec,
                            absl::string_view status_id);

// The focus of `change` for `spec`'s topic: "Task/<id>" or
// "ServiceRequest/<id>", id = EncodeId({client, referral}).
std::string FocusOf(const SubscriptionSpec& spec, const ReferralChange& change);

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_SUBSCRIPTION_MODEL_H_
