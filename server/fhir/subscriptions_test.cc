// The pure parts of the Subscriptions backport (subscription_model.h):
// validation naming the element, filters, the notification and $status
// Bundles, and the stored registration.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/fhir/subscription_model.h"

namespace caseline::server::fhir {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

json Valid(const std::string& topic = kTaskTopic) {
  return {{"resourceType", "Subscription"},
          {"status", "requested"},
          {"reason", "referrals to us"},
          {"criteria", topic},
          {"_criteria",
           {{"extension",
             json::array({{{"url", kFilterCriteriaUrl},
                           {"valueString", "Task?owner=Organization/housing"}}})}}},
          {"channel",
           {{"type", "rest-hook"},
            {"endpoint", "https://hooks.example.org/fhir"},
            {"payload", "application/fhir+json"},
            {"_payload",
             {{"extension", json::array({{{"url", kPayloadContentUrl},
                                          {"valueCode", "id-only"}}})}}},
            {"header", json::array({"Authorization: Bearer abc"})}}}};
}

std::string ErrorOf(const json& resource, bool insecure = false) {
  absl::StatusOr<SubscriptionSpec> spec = ParseSubscription(resource, insecure);
  EXPECT_FALSE(spec.ok());
  if (spec.ok()) return "";
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(spec.status().message());
}

TEST(ParseSubscription, AcceptsTheBackportProfile) {
  absl::StatusOr<SubscriptionSpec> spec = ParseSubscription(Valid(), false);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->topic, kTaskTopic);
  EXPECT_EQ(spec->focus_type, "Task");
  ASSERT_EQ(spec->filters.size(), 1u);
  EXPECT_THAT(spec->filters[0].owner, ElementsAre("housing"));
  EXPECT_EQ(spec->endpoint, "https://hooks.example.org/fhir");
  EXPECT_EQ(spec->content, "id-only");
  ASSERT_EQ(spec->headers.size(), 1u);
  EXPECT_EQ(spec->headers[0].first, "Authorization");
  EXPECT_EQ(spec->headers[0].second, "Bearer abc");
  EXPECT_EQ(spec->timeout_seconds, 10);
  EXPECT_EQ(spec->heartbeat_seconds, 0);
}

TEST(ParseSubscription, ServiceRequestTopicFilters) {
  json resource = Valid(kServiceRequestTopic);
  resource["_criteria"]["extension"][0]["valueString"] =
      "ServiceRequest?performer=housing,legal-aid&requester=Organization/hospital";
  absl::StatusOr<SubscriptionSpec> spec = ParseSubscription(resource, false);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->focus_type, "ServiceRequest");
  EXPECT_THAT(spec->filters[0].owner, ElementsAre("housing", "legal-aid"));
  EXPECT_THAT(spec->filters[0].requester, ElementsAre("hospital"));

  resource["_criteria"]["extension"][0]["valueString"] =
      "ServiceRequest?owner=Organization/housing";
  EXPECT_THAT(ErrorOf(resource),
              AllOf(StartsWith("Subscription.criteria.extension("
                               "backport-filter-criteria): "),
                    HasSubstr("\"owner\" is not supported")));
}

TEST(ParseSubscription, RefusalsNameTheElement) {
  json resource = Valid();
  resource["criteria"] = "Task?owner=x";
  EXPECT_THAT(ErrorOf(resource), StartsWith("Subscription.criteria: "));
  resource.erase("criteria");
  EXPECT_THAT(ErrorOf(resource), StartsWith("Subscription.criteria: "));

  resource = Valid();
  resource["_criteria"]["extension"][0]["valueString"] = "ServiceRequest?requester=x";
  EXPECT_THAT(ErrorOf(resource), HasSubstr("must start with \"Task?\""));
  resource["_criteria"]["extension"][0]["valueString"] = "Task?status=done";
  EXPECT_THAT(ErrorOf(resource), HasSubstr("not a Task.status"));
  resource["_criteria"]["extension"][0]["valueString"] = "Task?owner";
  EXPECT_THAT(ErrorOf(resource), HasSubstr("is not name=value"));

  resource = Valid();
  resource["channel"]["type"] = "websocket";
  EXPECT_THAT(ErrorOf(resource), StartsWith("Subscription.channel.type: "));
  resource = Valid();
  resource.erase("channel");
  EXPECT_THAT(ErrorOf(resource), StartsWith("Subscription.channel: "));
  resource = Valid();
  resource["channel"]["payload"] = "application/fhir+xml";
  EXPECT_THAT(ErrorOf(resource), StartsWith("Subscription.channel.payload: "));
  resource = Valid();
  resource["channel"]["_payload"]["extension"][0]["valueCode"] = "full-resource";
  EXPECT_THAT(ErrorOf(resource),
              StartsWith("Subscription.channel.payload.extension("
                         "backport-payload-content): "));
  resource = Valid();
  resource["channel"]["header"] = json::array({"no colon"});
  EXPECT_THAT(ErrorOf(resource), StartsWith("Subscription.channel.header: "));
  resource["channel"]["header"] = json::array({"Content-Type: text/plain"});
  EXPECT_THAT(ErrorOf(resource), StartsWith("Subscription.channel.header: "));
  resource = Valid();
  resource["channel"]["extension"] = json::array(
      {{{"url", kHeartbeatPeriodUrl}, {"valueInteger", 0}}});
  EXPECT_THAT(ErrorOf(resource),
              StartsWith("Subscription.channel.extension(backport-heartbeat-"
                         "period): "));
  resource = Valid();
  resource["end"] = "tomorrow";
  EXPECT_THAT(ErrorOf(resource), StartsWith("Subscription.end: "));
  EXPECT_THAT(ErrorOf(json::array()), StartsWith("Subscription.resourceType: "));
}

TEST(ParseSubscription, EndpointsMustBeHttpsAndNotLoopbackUnlessInsecure) {
  json resource = Valid();
  for (const char* url :
       {"http://hooks.example.org/x", "https://127.0.0.1:8443/x",
        "https://localhost/x", "https://[::1]:9/x", "ftp://example.org/",
        "https://user:pw@example.org/", "https://example.org:99999/",
        "https:///x", "https://exa mple.org/"}) {
    resource["channel"]["endpoint"] = url;
    EXPECT_THAT(ErrorOf(resource), StartsWith("Subscription.channel.endpoint: "))
        << url;
  }
  resource["channel"]["endpoint"] = "http://127.0.0.1:8080/hook";
  EXPECT_TRUE(ParseSubscription(resource, /*allow_insecure_hooks=*/true).ok());
  resource["channel"]["endpoint"] = "https://hooks.example.org:8443";
  EXPECT_TRUE(ParseSubscription(resource, false).ok());
}

ReferralChange Change(v1::CareEvent::EventCase event_case,
                      const std::string& to = "housing") {
  ReferralChange change;
  change.client_id = "c_1";
  change.referral_id = "r.2";
  change.event_case = event_case;
  change.from_organization_id = "hospital";
  change.to_organization_id = to;
  change.position = 42;
  change.recorded_at = absl::FromUnixSeconds(1772359200);  // 2026-03-01 10:00Z
  return change;
}

TEST(Matches, FiltersAreAndedAndValuesOred) {
  json resource = Valid();
  resource["_criteria"]["extension"] = json::array(
      {{{"url", kFilterCriteriaUrl},
        {"valueString", "Task?owner=housing,legal-aid&status=accepted,completed"}},
       {{"url", kFilterCriteriaUrl},
        {"valueString", "Task?requester=Organization/hospital&patient=Patient/c.11"}}});
  absl::StatusOr<SubscriptionSpec> spec = ParseSubscription(resource, false);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(NeedsOrganizations(*spec));
  EXPECT_TRUE(Matches(*spec, Change(v1::CareEvent::kReferralAccepted)));
  EXPECT_TRUE(Matches(*spec, Change(v1::CareEvent::kReferralCompleted, "legal-aid")));
  EXPECT_FALSE(Matches(*spec, Change(v1::CareEvent::kReferralSent)));
  EXPECT_FALSE(Matches(*spec, Change(v1::CareEvent::kReferralAccepted, "food-bank")));
  ReferralChange other_client = Change(v1::CareEvent::kReferralAccepted);
  other_client.client_id = "c2";
  EXPECT_FALSE(Matches(*spec, other_client));

  resource.erase("_criteria");
  spec = ParseSubscription(resource, false);
  ASSERT_TRUE(spec.ok());
  EXPECT_FALSE(NeedsOrganizations(*spec));
  EXPECT_TRUE(Matches(*spec, Change(v1::CareEvent::kReferralDeclined, "")));
}

TEST(ChangeOf, OnlyReferralLifecycleEventsOfClients) {
  v1::CareEvent sent;
  sent.mutable_referral_sent()->set_referral_id("r1");
  sent.mutable_referral_sent()->set_from_organization_id("hospital");
  sent.mutable_referral_sent()->set_to_organization_id("housing");
  std::optional<ReferralChange> change =
      ChangeOf("client-c1", sent, 7, absl::UnixEpoch());
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->client_id, "c1");
  EXPECT_EQ(change->referral_id, "r1");
  EXPECT_EQ(change->to_organization_id, "housing");
  EXPECT_FALSE(ChangeOf("organizations", sent, 7, absl::UnixEpoch()).has_value());

  v1::CareEvent accepted;
  accepted.mutable_referral_accepted()->set_referral_id("r1");
  change = ChangeOf("client-c1", accepted, 8, absl::UnixEpoch());
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->from_organization_id, "");
  EXPECT_EQ(TaskStatusAfter(change->event_case), "accepted");
  EXPECT_EQ(TaskStatusAfter(v1::CareEvent::kReferralDeclined), "rejected");

  v1::CareEvent goal;
  goal.mutable_goal_set()->set_goal_id("g");
  EXPECT_FALSE(ChangeOf("client-c1", goal, 9, absl::UnixEpoch()).has_value());
}

Registration Stored() {
  Registration r;
  r.id = "0b7e5a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
  r.resource = Valid();
  r.resource.erase("status");
  r.owner.organization_id = "housing";
  r.owner.user_id = "worker-1";
  r.owner.discipline = v1::DISCIPLINE_SOCIAL_WORK;
  r.owner.purpose = v1::PURPOSE_OF_USE_CARE_COORDINATION;
  r.owner.peer_is_loopback = true;
  r.base_url = "http://127.0.0.1:8080/fhir/r4";
  r.status = "active";
  r.handshake_done = true;
  r.cursor = 18446744073709551615ull;  // survives JSON as a string
  r.events_since_start = 3;
  r.created = absl::FromUnixMillis(1772359200123);
  return r;
}

TEST(Registration, RoundTripsThroughJson) {
  const Registration r = Stored();
  absl::StatusOr<Registration> back =
      RegistrationFromJson(json::parse(RegistrationJson(r).dump()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->resource, r.resource);
  EXPECT_EQ(back->owner.organization_id, "housing");
  EXPECT_EQ(back->owner.user_id, "worker-1");
  EXPECT_EQ(back->owner.discipline, v1::DISCIPLINE_SOCIAL_WORK);
  EXPECT_TRUE(back->owner.peer_is_loopback);
  EXPECT_EQ(back->base_url, r.base_url);
  EXPECT_EQ(back->status, "active");
  EXPECT_TRUE(back->handshake_done);
  EXPECT_EQ(back->cursor, r.cursor);
  EXPECT_EQ(back->events_since_start, 3u);
  EXPECT_EQ(back->created, r.created);

  json broken = RegistrationJson(r);
  broken["cursor"] = 5;
  EXPECT_EQ(RegistrationFromJson(broken).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_FALSE(RegistrationFromJson(json("x")).ok());
}

TEST(SubscriptionResource, CarriesIdStatusAndProfile) {
  Registration r = Stored();
  json resource = SubscriptionResource(r);
  EXPECT_EQ(resource["resourceType"], "Subscription");
  EXPECT_EQ(resource["id"], r.id);
  EXPECT_EQ(resource["status"], "active");
  EXPECT_EQ(resource["meta"]["profile"][0], kBackportSubscriptionProfile);
  EXPECT_FALSE(resource.contains("error"));
  EXPECT_EQ(resource["channel"]["endpoint"], "https://hooks.example.org/fhir");
  r.status = "error";
  r.error = "POST https://hooks.example.org/fhir: HTTP 500";
  EXPECT_EQ(SubscriptionResource(r)["error"], r.error);
}

// The parameter `name` of a status Parameters.
const json& Param(const json& parameters, const std::string& name) {
  for (const json& parameter : parameters["parameter"]) {
    if (parameter["name"] == name) return parameter;
  }
  static const json none;
  ADD_FAILURE() << "no parameter " << name;
  return none;
}

TEST(NotificationBundle, IdOnlyEventNotification) {
  const Registration r = Stored();
  absl::StatusOr<SubscriptionSpec> spec = ParseSubscription(r.resource, false);
  ASSERT_TRUE(spec.ok());
  const ReferralChange change = Change(v1::CareEvent::kReferralAccepted);
  const json bundle =
      NotificationBundle(r, *spec, NotificationType::kEventNotification, &change,
                         4, absl::FromUnixSeconds(1772359260), "bundle-uuid",
                         "status-uuid");
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "history");
  EXPECT_EQ(bundle["meta"]["profile"][0], kNotificationProfile);
  EXPECT_EQ(bundle["timestamp"], "2026-03-01T10:01:00.000Z");
  ASSERT_EQ(bundle["entry"].size(), 2u);
  const json& status = bundle["entry"][0];
  EXPECT_EQ(status["fullUrl"], "urn:uuid:status-uuid");
  EXPECT_EQ(status["request"]["method"], "GET");
  EXPECT_EQ(status["request"]["url"],
            absl::StrCat(r.base_url, "/Subscription/", r.id, "/$status"));
  const json& parameters = status["resource"];
  EXPECT_EQ(parameters["resourceType"], "Parameters");
  EXPECT_EQ(parameters["meta"]["profile"][0], kStatusProfile);
  EXPECT_EQ(Param(parameters, "subscription")["valueReference"]["reference"],
            absl::StrCat(r.base_url, "/Subscription/", r.id));
  EXPECT_EQ(Param(parameters, "topic")["valueCanonical"], kTaskTopic);
  EXPECT_EQ(Param(parameters, "status")["valueCode"], "active");
  EXPECT_EQ(Param(parameters, "type")["valueCode"], "event-notification");
  EXPECT_EQ(Param(parameters, "events-since-subscription-start")["valueString"],
            "4");
  const json& event = Param(parameters, "notification-event")["part"];
  ASSERT_EQ(event.size(), 3u);
  EXPECT_EQ(event[0]["name"], "event-number");
  EXPECT_EQ(event[0]["valueString"], "4");
  EXPECT_EQ(event[1]["valueInstant"], "2026-03-01T10:00:00.000Z");
  const std::string focus = absl::StrCat(r.base_url, "/Task/c.11..r.02");
  EXPECT_EQ(event[2]["name"], "focus");
  EXPECT_EQ(event[2]["valueReference"]["reference"], focus);
  const json& entry = bundle["entry"][1];
  EXPECT_EQ(entry["fullUrl"], focus);
  EXPECT_FALSE(entry.contains("resource"));
  EXPECT_EQ(entry["request"]["method"], "PUT");
  EXPECT_EQ(entry["request"]["url"], "Task/c.11..r.02");
  EXPECT_EQ(entry["response"]["status"], "200");

  const ReferralChange sent = Change(v1::CareEvent::kReferralSent);
  const json created = NotificationBundle(
      r, *spec, NotificationType::kEventNotification, &sent, 5,
      absl::UnixEpoch(), "b", "s");
  EXPECT_EQ(created["entry"][1]["request"]["method"], "POST");
  EXPECT_EQ(created["entry"][1]["request"]["url"], "Task");
  EXPECT_EQ(created["entry"][1]["response"]["status"], "201");
}

TEST(NotificationBundle, HandshakeHeartbeatAndEmptyContent) {
  Registration r = Stored();
  r.status = "requested";
  absl::StatusOr<SubscriptionSpec> spec = ParseSubscription(r.resource, false);
  ASSERT_TRUE(spec.ok());
  json handshake = NotificationBundle(r, *spec, NotificationType::kHandshake,
                                      nullptr, 0, absl::UnixEpoch(), "b", "s");
  ASSERT_EQ(handshake["entry"].size(), 1u);
  const json& parameters = handshake["entry"][0]["resource"];
  EXPECT_EQ(Param(parameters, "type")["valueCode"], "handshake");
  EXPECT_EQ(Param(parameters, "status")["valueCode"], "requested");
  EXPECT_EQ(Param(parameters, "events-since-subscription-start")["valueString"],
            "3");
  json heartbeat = NotificationBundle(r, *spec, NotificationType::kHeartbeat,
                                      nullptr, 0, absl::UnixEpoch(), "b", "s");
  EXPECT_EQ(Param(heartbeat["entry"][0]["resource"], "type")["valueCode"],
            "heartbeat");

  spec->content = "empty";
  const ReferralChange change = Change(v1::CareEvent::kReferralStarted);
  json empty = NotificationBundle(r, *spec, NotificationType::kEventNotification,
                                  &change, 4, absl::UnixEpoch(), "b", "s");
  ASSERT_EQ(empty["entry"].size(), 1u);
  const json& part =
      Param(empty["entry"][0]["resource"], "notification-event")["part"];
  EXPECT_EQ(part.size(), 2u);  // no focus
}

TEST(StatusBundle, SearchsetWithQueryStatus) {
  Registration r = Stored();
  r.status = "error";
  r.error = "POST https://hooks.example.org/fhir: HTTP 500";
  absl::StatusOr<SubscriptionSpec> spec = ParseSubscription(r.resource, false);
  ASSERT_TRUE(spec.ok());
  const json bundle = StatusBundle(r, *spec, "s");
  EXPECT_EQ(bundle["type"], "searchset");
  EXPECT_EQ(bundle["total"], 1);
  ASSERT_EQ(bundle["entry"].size(), 1u);
  EXPECT_EQ(bundle["entry"][0]["search"]["mode"], "match");
  const json& parameters = bundle["entry"][0]["resource"];
  EXPECT_EQ(Param(parameters, "type")["valueCode"], "query-status");
  EXPECT_EQ(Param(parameters, "status")["valueCode"], "error");
  EXPECT_EQ(Param(parameters, "events-since-subscription-start")["valueString"],
            "3");
  EXPECT_EQ(Param(parameters, "error")["valueCodeableConcept"]["text"], r.error);
}

}  // namespace
}  // namespace caseline::server::fhir
