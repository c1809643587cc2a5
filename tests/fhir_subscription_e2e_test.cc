// FHIR R4 Subscriptions backport over real HTTP on loopback
// (docs/fhir.md "Subscriptions"): a rest-hook receiver gets a handshake and
// then id-only notifications for exactly the Task changes its organisation
// may see and its filter selects, in order, again after an outage (retry);
// $status counts them; another organisation cannot see or delete the
// Subscription; bad input is refused naming the element.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/access_util.h"

namespace caseline {
namespace {

using json = nlohmann::json;
using testing::AccessNetwork;
using testing::AccessNetworkOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kTaskTopic[] = "urn:caseline:fhir:topic:task";
constexpr char kFilterCriteria[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-filter-criteria";
constexpr char kPayloadContent[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-payload-content";

// A rest-hook endpoint on loopback: records every notification it accepts;
// answers 500 while told to fail.
class Receiver {
 public:
  Receiver() {
    server_.Post("/hook", [this](const httplib::Request& req,
                                 httplib::Response& res) {
      MutexLock lock(&mu_);
      ++attempts_;
      if (failing_) {
        res.status = 500;
        return;
      }
      json body = json::parse(req.body, nullptr, false);
      accepted_.push_back(body);
      authorization_.push_back(req.get_header_value("Authorization"));
      content_types_.push_back(req.get_header_value("Content-Type"));
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Bound already: connections wait in the backlog until it listens.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }

  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/hook");
  }
  void SetFailing(bool failing) {
    MutexLock lock(&mu_);
    failing_ = failing;
  }
  int attempts() {
    MutexLock lock(&mu_);
    return attempts_;
  }
  std::vector<json> accepted() {
    MutexLock lock(&mu_);
    return accepted_;
  }
  std::vector<std::string> authorization() {
    MutexLock lock(&mu_);
    return authorization_;
  }
  std::vector<std::string> content_types() {
    MutexLock lock(&mu_);
    return content_types_;
  }

  // Polls `done` until it holds, for up to 30 s (generous for sanitizers;
  // the tests pass as soon as it holds).
  template <typename Done>
  static bool WaitFor(Done done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return done();
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  Mutex mu_;
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<json> accepted_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> authorization_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> content_types_ ABSL_GUARDED_BY(mu_);
};

struct Reply {
  int status = 0;
  json body;
  httplib::Headers headers;
};

// The value of status Parameters `parameters`' parameter `name`.
json Param(const json& parameters, const std::string& name) {
  for (const json& parameter : parameters["parameter"]) {
    if (parameter["name"] == name) return parameter;
  }
  return json();
}

// A notification's status Parameters.
const json& StatusOf(const json& bundle) { return bundle["entry"][0]["resource"]; }
std::string TypeOf(const json& bundle) {
  return Param(StatusOf(bundle), "type")["valueCode"].get<std::string>();
}

// The focus references of the event notifications among `bundles`.
std::vector<std::string> Foci(const std::vector<json>& bundles) {
  std::vector<std::string> foci;
  for (const json& bundle : bundles) {
    if (TypeOf(bundle) != "event-notification") continue;
    const json event = Param(StatusOf(bundle), "notification-event");
    for (const json& part : event["part"]) {
      if (part["name"] == "focus") {
        const std::string reference = part["valueReference"]["reference"];
        foci.push_back(reference.substr(reference.rfind("/Task/") + 1));
      }
    }
  }
  return foci;
}

std::vector<std::string> EventNumbers(const std::vector<json>& bundles) {
  std::vector<std::string> numbers;
  for (const json& bundle : bundles) {
    if (TypeOf(bundle) != "event-notification") continue;
    numbers.push_back(Param(StatusOf(bundle), "events-since-subscription-start")
                          ["valueString"]);
  }
  return numbers;
}

class FhirSubscriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AccessNetworkOptions options;
    options.agencies = {{"hospital", v1::ORGANIZATION_TYPE_HOSPITAL},
                        {"housing", v1::ORGANIZATION_TYPE_HOUSING},
                        {"legal-aid", v1::ORGANIZATION_TYPE_LEGAL_AID}};
    options.http_console = true;
    options.configure = [](server::ServerOptions& server_options) {
      server_options.fhir.allow_insecure_hooks = true;
      server_options.fhir.retry_initial_delay = absl::Milliseconds(20);
      server_options.fhir.retry_max_delay = absl::Milliseconds(100);
      server_options.fhir.max_subscriptions_per_organization = 3;
    };
    network_ = std::make_unique<AccessNetwork>(std::move(options));
    ASSERT_TRUE(network_->ok());
    http_ = std::make_unique<httplib::Client>(
        absl::StrCat("http://", network_->server().http_address()));
    http_->set_read_timeout(30);
  }

  Reply Send(const std::string& org, const std::string& method,
             const std::string& path, const json& body = json(),
             const std::string& type = "application/fhir+json") {
    httplib::Headers headers = {{"x-caseline-org", org},
                                {"x-caseline-user", absl::StrCat(org, "-worker")}};
    const std::string url = absl::StrCat("/fhir/r4", path);
    httplib::Result result = [&] {
      if (method == "GET") return http_->Get(url.c_str(), headers);
      if (method == "DELETE") return http_->Delete(url.c_str(), headers);
      if (method == "PUT") {
        return http_->Put(url.c_str(), headers, body.dump(), type.c_str());
      }
      return http_->Post(url.c_str(), headers, body.dump(), type.c_str());
    }();
    Reply reply;
    if (!result) {
      ADD_FAILURE() << method << " " << path << ": no response";
      return reply;
    }
    reply.status = result->status;
    reply.body = json::parse(result->body, nullptr, false);
    reply.headers = result->headers;
    return reply;
  }

  static json Subscription(const std::string& endpoint,
                           const std::string& filter) {
    json resource = {
        {"resourceType", "Subscription"},
        {"status", "requested"},
        {"reason", "our referrals"},
        {"criteria", kTaskTopic},
        {"channel",
         {{"type", "rest-hook"},
          {"endpoint", endpoint},
          {"payload", "application/fhir+json"},
          {"_payload",
           {{"extension", json::array({{{"url", kPayloadContent},
                                        {"valueCode", "id-only"}}})}}},
          {"header", json::array({"Authorization: Bearer hook-secret"})}}}};
    if (!filter.empty()) {
      resource["_criteria"] = {
          {"extension", json::array({{{"url", kFilterCriteria},
                                      {"valueString", filter}}})}};
    }
    return resource;
  }

  // Registers client `client` at the hospital with a consent covering
  // `recipients` (none: no consent) for general and housing data (a
  // housing referral's class).
  void Client(const std::string& client,
              const std::vector<std::string>& recipients) {
    ASSERT_NO_FATAL_FAILURE(network_->Command(
        "hospital", "Clients.RegisterClient", client,
        {{"client_registered", {{"name", {{"family", "Okafor"}}}}}}));
    if (recipients.empty()) return;
    ASSERT_NO_FATAL_FAILURE(network_->Command(
        "hospital", "Consents.GiveConsent", client,
        {{"consent_given",
          testing::WithProvenance(
              {{"consent_id", absl::StrCat("k-", client)},
               {"recipient_organization_ids", recipients},
               {"data_classes",
                json::array({"DATA_CLASS_GENERAL", "DATA_CLASS_HOUSING"})}})}}));
  }

  void Refer(const std::string& client, const std::string& referral,
             const std::string& to) {
    ASSERT_NO_FATAL_FAILURE(network_->Command(
        "hospital", "Referrals.SendReferral", client,
        {{"referral_sent",
          {{"referral_id", referral},
           {"to_organization_id", to},
           {"kind", "REFERRAL_KIND_WARM"},
           {"service_category", "SERVICE_CATEGORY_HOUSING"}}}}));
  }

  void Answer(const std::string& org, const std::string& method,
              const std::string& field, const std::string& client,
              const std::string& referral) {
    ASSERT_NO_FATAL_FAILURE(network_->Command(
        org, absl::StrCat("Referrals.", method), client,
        {{field, {{"referral_id", referral}}}}));
  }

  // Posts `resource` as `org`; the new Subscription's id.
  std::string Create(const std::string& org, const json& resource) {
    Reply created = Send(org, "POST", "/Subscription", resource);
    EXPECT_EQ(created.status, 201) << created.body.dump();
    EXPECT_EQ(created.body["status"], "requested");
    if (!created.body.is_object() || !created.body.contains("id")) return "";
    const std::string id = created.body["id"];
    EXPECT_THAT(created.headers.find("Location")->second,
                ::testing::EndsWith(absl::StrCat("/fhir/r4/Subscription/", id)));
    return id;
  }

  std::unique_ptr<AccessNetwork> network_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(FhirSubscriptionTest, NotifiesEachTaskChangeTheOwnerMaySeeAndSelects) {
  Receiver receiver;
  const std::string id = Create(
      "housing", Subscription(receiver.url(), "Task?owner=Organization/housing"));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(Receiver::WaitFor([&] { return !receiver.accepted().empty(); }));
  EXPECT_EQ(TypeOf(receiver.accepted()[0]), "handshake");
  ASSERT_TRUE(Receiver::WaitFor([&] {
    return Send("housing", "GET", absl::StrCat("/Subscription/", id))
               .body["status"] == "active";
  }));

  ASSERT_NO_FATAL_FAILURE(Client("c_1", {"housing", "legal-aid"}));
  ASSERT_NO_FATAL_FAILURE(Refer("c_1", "r1", "housing"));
  // The filter excludes a referral to another organisation; no consent
  // covers housing for c2, so it may not see that referral at all.
  ASSERT_NO_FATAL_FAILURE(Refer("c_1", "r2", "legal-aid"));
  ASSERT_NO_FATAL_FAILURE(Client("c2", {}));
  ASSERT_NO_FATAL_FAILURE(Refer("c2", "r3", "housing"));
  ASSERT_NO_FATAL_FAILURE(
      Answer("housing", "AcceptReferral", "referral_accepted", "c_1", "r1"));
  ASSERT_NO_FATAL_FAILURE(
      Answer("legal-aid", "AcceptReferral", "referral_accepted", "c_1", "r2"));
  ASSERT_NO_FATAL_FAILURE(
      Answer("housing", "StartReferral", "referral_started", "c_1", "r1"));
  ASSERT_NO_FATAL_FAILURE(
      Answer("housing", "CompleteReferral", "referral_completed", "c_1", "r1"));

  // Delivered in order: the last one arriving means nothing before it is
  // still to come.
  ASSERT_TRUE(
      Receiver::WaitFor([&] { return Foci(receiver.accepted()).size() >= 4; }));
  const std::vector<json> bundles = receiver.accepted();
  EXPECT_THAT(Foci(bundles), ElementsAre("Task/c.11..r1", "Task/c.11..r1",
                                         "Task/c.11..r1", "Task/c.11..r1"));
  EXPECT_THAT(EventNumbers(bundles), ElementsAre("1", "2", "3", "4"));
  for (const json& bundle : bundles) {
    EXPECT_EQ(bundle["resourceType"], "Bundle");
    EXPECT_EQ(bundle["type"], "history");
    const json& status = StatusOf(bundle);
    EXPECT_EQ(status["resourceType"], "Parameters");
    EXPECT_EQ(Param(status, "topic")["valueCanonical"], kTaskTopic);
    EXPECT_THAT(Param(status, "subscription")["valueReference"]["reference"]
                    .get<std::string>(),
                ::testing::EndsWith(absl::StrCat("/Subscription/", id)));
  }
  // id-only: the focus entry has no resource.
  EXPECT_EQ(bundles[1]["entry"].size(), 2u);
  EXPECT_FALSE(bundles[1]["entry"][1].contains("resource"));
  EXPECT_EQ(bundles[1]["entry"][1]["request"]["method"], "POST");  // sent
  EXPECT_EQ(bundles[2]["entry"][1]["request"]["method"], "PUT");   // accepted
  for (const std::string& header : receiver.authorization()) {
    EXPECT_EQ(header, "Bearer hook-secret");
  }
  for (const std::string& type : receiver.content_types()) {
    EXPECT_EQ(type, "application/fhir+json");
  }

  Reply status = Send("housing", "GET", absl::StrCat("/Subscription/", id, "/$status"));
  ASSERT_EQ(status.status, 200) << status.body.dump();
  EXPECT_EQ(status.body["type"], "searchset");
  const json& parameters = status.body["entry"][0]["resource"];
  EXPECT_EQ(Param(parameters, "type")["valueCode"], "query-status");
  EXPECT_EQ(Param(parameters, "status")["valueCode"], "active");
  EXPECT_EQ(Param(parameters, "events-since-subscription-start")["valueString"], "4");

  // The owner's organisation lists it; no other sees, changes or deletes it.
  Reply mine = Send("housing", "GET", "/Subscription");
  EXPECT_EQ(mine.body["total"], 1);
  Reply theirs = Send("legal-aid", "GET", "/Subscription");
  EXPECT_EQ(theirs.body["total"], 0);
  EXPECT_EQ(Send("legal-aid", "GET", absl::StrCat("/Subscription/", id)).status,
            404);
  EXPECT_EQ(Send("legal-aid", "GET", absl::StrCat("/Subscription/", id, "/$status"))
                .status,
            404);
  EXPECT_EQ(Send("legal-aid", "PUT", absl::StrCat("/Subscription/", id),
                 Subscription(receiver.url(), ""))
                .status,
            404);
  EXPECT_EQ(Send("legal-aid", "DELETE", absl::StrCat("/Subscription/", id)).status,
            404);
  EXPECT_EQ(Send("housing", "DELETE", absl::StrCat("/Subscription/", id)).status,
            204);
  EXPECT_EQ(Send("housing", "GET", absl::StrCat("/Subscription/", id)).status, 404);
}

TEST_F(FhirSubscriptionTest, RetriesUntilTheReceiverRecoversLosingNothing) {
  Receiver receiver;
  const std::string id = Create("housing", Subscription(receiver.url(), ""));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(Receiver::WaitFor([&] { return !receiver.accepted().empty(); }));

  receiver.SetFailing(true);
  const int before = receiver.attempts();
  ASSERT_NO_FATAL_FAILURE(Client("c1", {"housing"}));
  ASSERT_NO_FATAL_FAILURE(Refer("c1", "r1", "housing"));
  ASSERT_NO_FATAL_FAILURE(
      Answer("housing", "AcknowledgeReferral", "referral_received", "c1", "r1"));
  ASSERT_NO_FATAL_FAILURE(
      Answer("housing", "AcceptReferral", "referral_accepted", "c1", "r1"));
  // Two refused attempts: the first failure is recorded before the retry.
  ASSERT_TRUE(Receiver::WaitFor([&] { return receiver.attempts() >= before + 2; }));
  Reply failing = Send("housing", "GET", absl::StrCat("/Subscription/", id));
  EXPECT_EQ(failing.body["status"], "error");
  EXPECT_THAT(failing.body["error"].get<std::string>(), HasSubstr("HTTP 500"));

  receiver.SetFailing(false);
  ASSERT_TRUE(
      Receiver::WaitFor([&] { return Foci(receiver.accepted()).size() >= 3; }))
      << json(receiver.accepted()).dump();
  EXPECT_THAT(Foci(receiver.accepted()),
              ElementsAre("Task/c1..r1", "Task/c1..r1", "Task/c1..r1"));
  EXPECT_THAT(EventNumbers(receiver.accepted()), ElementsAre("1", "2", "3"));
  Reply recovered = Send("housing", "GET", absl::StrCat("/Subscription/", id));
  EXPECT_EQ(recovered.body["status"], "active");
  EXPECT_FALSE(recovered.body.contains("error"));
}

TEST_F(FhirSubscriptionTest, RefusesBadInputNamingTheElement) {
  Receiver receiver;
  auto refused = [&](const json& resource, int http, const std::string& prefix) {
    Reply reply = Send("housing", "POST", "/Subscription", resource);
    EXPECT_EQ(reply.status, http) << reply.body.dump();
    EXPECT_EQ(reply.body["resourceType"], "OperationOutcome");
    EXPECT_THAT(reply.body["issue"][0]["diagnostics"].get<std::string>(),
                StartsWith(prefix));
  };
  json bad = Subscription(receiver.url(), "");
  bad["criteria"] = "Task?owner=Organization/housing";
  refused(bad, 400, "Subscription.criteria: ");
  bad = Subscription(receiver.url(), "Task?performer=housing");
  refused(bad, 400, "Subscription.criteria.extension(backport-filter-criteria): ");
  bad = Subscription("ftp://127.0.0.1/hook", "");
  refused(bad, 400, "Subscription.channel.endpoint: ");
  bad = Subscription(receiver.url(), "");
  bad["channel"]["type"] = "email";
  refused(bad, 400, "Subscription.channel.type: ");
  refused(json::array(), 400, "Subscription.resourceType: ");

  Reply wrong_type = Send("housing", "POST", "/Subscription",
                          Subscription(receiver.url(), ""), "text/plain");
  EXPECT_EQ(wrong_type.status, 415);
  EXPECT_EQ(Send("housing", "GET", "/Subscription/no-such-id").status, 404);

  // At most three per organisation here; the fourth is refused, another
  // organisation's are counted apart.
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(Create("housing", Subscription(receiver.url(), "")).empty());
  }
  refused(Subscription(receiver.url(), ""), 429, "your organisation has 3");
  EXPECT_FALSE(Create("legal-aid", Subscription(receiver.url(), "")).empty());
}

}  // namespace
}  // namespace caseline
