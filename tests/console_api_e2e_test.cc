// The console's JSON API over real HTTP on loopback (docs/console.md): pages
// and their security headers, sign-in by the access config's rules, CSRF,
// every call answered by the gRPC services with the caller's identity (data,
// refusals, withheld, break-the-glass, the acting person), live updates that
// show only what the caller may see, and HTTPS with the organisation from
// the client certificate.
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/mutex.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/access_util.h"

namespace caseline {
namespace {

using json = nlohmann::json;
using testing::AccessNetwork;
using testing::AccessNetworkOptions;
using ::testing::HasSubstr;

struct Reply {
  int status = 0;
  json body;
  std::string text;
  httplib::Headers headers;
};

// One browser: a cookie jar and the latest CSRF token.
class Browser {
 public:
  explicit Browser(std::unique_ptr<httplib::Client> client)
      : client_(std::move(client)) {
    client_->set_read_timeout(30);
  }

  Reply Get(const std::string& path) {
    return Finish(client_->Get(path.c_str(), Headers()));
  }

  // POST with the JSON body, the cookie and the token (unless a header in
  // `extra` replaces them).
  Reply Post(const std::string& path, const json& body,
             httplib::Headers extra = {}, bool with_token = true) {
    httplib::Headers headers = Headers();
    if (with_token && !extra.contains("X-CSRF-Token")) {
      headers.emplace("X-CSRF-Token", token_);
    }
    std::string type = "application/json";
    if (auto it = extra.find("Content-Type"); it != extra.end()) {
      type = it->second;
      extra.erase(it);
    }
    headers.insert(extra.begin(), extra.end());
    return Finish(client_->Post(path.c_str(), headers, body.dump(), type.c_str()));
  }

  // Signs in through the picker; the reply is the session JSON.
  Reply SignIn(const std::string& org, const std::string& user,
               const std::string& discipline = "") {
    Get("/api/v1/session");
    json body = {{"organization_id", org}, {"user_id", user}};
    if (!discipline.empty()) body["discipline"] = discipline;
    return Post("/api/v1/session", body);
  }

  // The call's response JSON; fails the test unless it is 200.
  json Call(const std::string& method, const json& body,
            const httplib::Headers& extra = {}) {
    Reply reply = Post(absl::StrCat("/api/v1/", method), body, extra);
    EXPECT_EQ(reply.status, 200) << method << ": " << reply.text;
    return reply.body;
  }

  const std::string& token() const { return token_; }
  httplib::Client& client() { return *client_; }
  httplib::Headers Headers() const {
    httplib::Headers headers;
    std::string cookie;
    for (const auto& [name, value] : cookies_) {
      absl::StrAppend(&cookie, cookie.empty() ? "" : "; ", name, "=", value);
    }
    if (!cookie.empty()) headers.emplace("Cookie", cookie);
    return headers;
  }

 private:
  Reply Finish(const httplib::Result& result) {
    Reply reply;
    if (!result) {
      ADD_FAILURE() << "no HTTP response: " << httplib::to_string(result.error());
      return reply;
    }
    reply.status = result->status;
    reply.text = result->body;
    reply.headers = result->headers;
    reply.body = json::parse(result->body, nullptr, false);
    for (const auto& [name, value] : result->headers) {
      if (name != "Set-Cookie") continue;
      std::vector<std::string> parts = absl::StrSplit(value, ';');
      std::vector<std::string> pair = absl::StrSplit(parts[0], absl::MaxSplits('=', 1));
      if (pair.size() != 2) continue;
      if (absl::StrContains(value, "Max-Age=0")) {
        cookies_.erase(pair[0]);
      } else {
        cookies_[pair[0]] = pair[1];
      }
    }
    if (reply.body.is_object() && reply.body.contains("csrf_token")) {
      token_ = reply.body["csrf_token"].get<std::string>();
    }
    return reply;
  }

  std::unique_ptr<httplib::Client> client_;
  std::map<std::string, std::string> cookies_;
  std::string token_;
};

json Registered(const std::string& family) {
  return {{"client_registered", {{"name", {{"family", family}}}}}};
}

class ConsoleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AccessNetworkOptions options;
    options.agencies = {{"hospital", v1::ORGANIZATION_TYPE_HOSPITAL},
                        {"housing", v1::ORGANIZATION_TYPE_HOUSING},
                        {"legal-aid", v1::ORGANIZATION_TYPE_LEGAL_AID}};
    options.http_console = true;
    network_ = std::make_unique<AccessNetwork>(std::move(options));
    ASSERT_TRUE(network_->ok());
    address_ = network_->server().http_address();
    ASSERT_FALSE(address_.empty());
  }

  std::unique_ptr<Browser> NewBrowser() {
    return std::make_unique<Browser>(
        std::make_unique<httplib::Client>(absl::StrCat("http://", address_)));
  }
  std::unique_ptr<Browser> SignedIn(const std::string& org,
                                    const std::string& user) {
    std::unique_ptr<Browser> browser = NewBrowser();
    Reply reply = browser->SignIn(org, user);
    EXPECT_EQ(reply.status, 200) << reply.text;
    return browser;
  }

  // A command through the API, with a fresh command id.
  Reply Command(Browser& browser, const std::string& method,
                const std::string& client, json body) {
    body["command_id"] = absl::StrCat("http-", next_command_++);
    body["client_id"] = client;
    return browser.Post(absl::StrCat("/api/v1/", method), body);
  }

  std::unique_ptr<AccessNetwork> network_;
  std::string address_;
  int next_command_ = 0;
};

TEST_F(ConsoleApiTest, PagesAndAssetsComeWithAStrictPolicy) {
  std::unique_ptr<Browser> browser = NewBrowser();
  for (const std::string path :
       {"/", "/assets/vendor/bootstrap.min.css", "/assets/vendor/chart.min.js",
        "/assets/vendor/bootstrap.bundle.min.js"}) {
    httplib::Result page = browser->client().Get(path.c_str());
    ASSERT_TRUE(page) << path;
    EXPECT_EQ(page->status, 200) << path;
    EXPECT_FALSE(page->body.empty()) << path;
    EXPECT_EQ(page->get_header_value("Content-Security-Policy"),
              "default-src 'none'; script-src 'self'; style-src 'self'; "
              "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        << path;
    EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");
  }
  EXPECT_THAT(browser->client().Get("/")->get_header_value("Content-Type"),
              HasSubstr("text/html"));
  // A reload revalidates: the same file is 304 for its ETag.
  const std::string etag =
      browser->client().Get("/assets/app.js")->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  httplib::Result again =
      browser->client().Get("/assets/app.js", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  // Nothing on the page comes from another origin.
  const std::string index = browser->client().Get("/")->body;
  EXPECT_THAT(index, ::testing::Not(HasSubstr("http://")));
  EXPECT_THAT(index, ::testing::Not(HasSubstr("https://")));
  EXPECT_EQ(browser->client().Get("/no-such-page")->status, 404);
  Reply unknown = browser->Get("/api/v1/nothing");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body["code"], "NOT_FOUND");
}

TEST_F(ConsoleApiTest, SignInFollowsTheAccessConfig) {
  std::unique_ptr<Browser> browser = NewBrowser();
  Reply anonymous = browser->Get("/api/v1/session");
  ASSERT_EQ(anonymous.status, 200) << anonymous.text;
  EXPECT_EQ(anonymous.body["authenticated"], false);
  EXPECT_EQ(anonymous.body["mode"], "development");
  // The picker's choices: the directory's organisations and the access
  // config's, with their roles.
  std::map<std::string, json> choices;
  for (const json& choice : anonymous.body["organizations"]) {
    choices[choice["organization_id"].get<std::string>()] = choice["roles"];
  }
  EXPECT_EQ(choices["hospital"], json::array({"agency"}));
  EXPECT_EQ(choices[testing::kAuditor], json::array({"auditor"}));
  EXPECT_EQ(choices.size(), 5u);

  // Without the anonymous token: refused.
  Reply no_token = browser->Post(
      "/api/v1/session", {{"organization_id", "hospital"}, {"user_id", "ann"}},
      {}, /*with_token=*/false);
  EXPECT_EQ(no_token.status, 403);
  EXPECT_EQ(no_token.body["code"], "PERMISSION_DENIED");
  EXPECT_THAT(no_token.body["message"].get<std::string>(), HasSubstr("CSRF"));

  Reply unlisted = browser->SignIn("nowhere", "ann");
  EXPECT_EQ(unlisted.status, 403);
  EXPECT_THAT(unlisted.body["message"].get<std::string>(),
              HasSubstr("not allowed on this server"));
  Reply no_person = browser->SignIn("hospital", "");
  EXPECT_EQ(no_person.status, 400);
  EXPECT_THAT(no_person.body["message"].get<std::string>(),
              HasSubstr("user_id"));
  Reply bad_discipline = browser->SignIn("hospital", "ann", "ASTROLOGY");
  EXPECT_EQ(bad_discipline.status, 400);
  EXPECT_EQ(bad_discipline.body["code"], "INVALID_ARGUMENT");
  EXPECT_THAT(bad_discipline.body["message"].get<std::string>(),
              HasSubstr("x-caseline-discipline"));

  Reply signed_in = browser->SignIn("hospital", "ann", "SOCIAL_WORK");
  ASSERT_EQ(signed_in.status, 200) << signed_in.text;
  EXPECT_EQ(signed_in.body["authenticated"], true);
  EXPECT_EQ(signed_in.body["organization_id"], "hospital");
  EXPECT_EQ(signed_in.body["organization_name"], "Organisation hospital");
  EXPECT_EQ(signed_in.body["user_id"], "ann");
  EXPECT_EQ(signed_in.body["discipline"], "DISCIPLINE_SOCIAL_WORK");
  EXPECT_EQ(signed_in.body["roles"], json::array({"agency"}));
  // The directory, for forms that name an organisation.
  ASSERT_EQ(signed_in.body["organizations"].size(), 3u);
  EXPECT_EQ(signed_in.body["organizations"][0]["organization_id"], "hospital");
  EXPECT_EQ(signed_in.body["organizations"][0]["type"],
            "ORGANIZATION_TYPE_HOSPITAL");
  // The cookie is the browser's only: HttpOnly and SameSite=Strict.
  bool session_cookie = false;
  for (const auto& [name, value] : signed_in.headers) {
    if (name == "Set-Cookie" && absl::StartsWith(value, "caseline_session=")) {
      session_cookie = true;
      EXPECT_THAT(value, HasSubstr("HttpOnly"));
      EXPECT_THAT(value, HasSubstr("SameSite=Strict"));
    }
  }
  EXPECT_TRUE(session_cookie);
  EXPECT_EQ(browser->Get("/api/v1/session").body["user_id"], "ann");

  Reply out = browser->Post("/api/v1/session/end", json::object());
  EXPECT_EQ(out.status, 200) << out.text;
  EXPECT_EQ(browser->Get("/api/v1/session").body["authenticated"], false);
}

TEST_F(ConsoleApiTest, EveryPostNeedsTheSessionsTokenAndJson) {
  std::unique_ptr<Browser> stranger = NewBrowser();
  Reply no_session = stranger->Post("/api/v1/ContinuityViews/GetWorklist",
                                    {{"organization_id", "hospital"}});
  EXPECT_EQ(no_session.status, 401);
  EXPECT_EQ(no_session.body["code"], "UNAUTHENTICATED");

  std::unique_ptr<Browser> browser = SignedIn("hospital", "ann");
  const json body = {{"organization_id", "hospital"}};
  const std::string path = "/api/v1/ContinuityViews/GetWorklist";
  EXPECT_EQ(browser->Post(path, body).status, 200);
  Reply no_token = browser->Post(path, body, {}, /*with_token=*/false);
  EXPECT_EQ(no_token.status, 403);
  EXPECT_THAT(no_token.body["message"].get<std::string>(),
              HasSubstr("X-CSRF-Token"));
  EXPECT_EQ(browser->Post(path, body, {{"X-CSRF-Token", "0123"}}).status, 403);
  // Another session's token does not do.
  std::unique_ptr<Browser> colleague = SignedIn("hospital", "bob");
  EXPECT_EQ(browser->Post(path, body, {{"X-CSRF-Token", colleague->token()}})
                .status,
            403);
  // A form post (no JSON) and cross-site requests are refused.
  Reply form = browser->Post(path, body,
                             {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 400);
  EXPECT_THAT(form.body["message"].get<std::string>(), HasSubstr("Content-Type"));
  EXPECT_EQ(browser->Post(path, body, {{"Origin", "http://evil.example"}}).status,
            403);
  EXPECT_EQ(browser->Post(path, body, {{"Sec-Fetch-Site", "cross-site"}}).status,
            403);
  EXPECT_EQ(browser->Post(path, body,
                          {{"Origin", absl::StrCat("http://", address_)},
                           {"Sec-Fetch-Site", "same-origin"}})
                .status,
            200);
}

TEST_F(ConsoleApiTest, CallsAreAnsweredByTheServicesWithTheCallersIdentity) {
  std::unique_ptr<Browser> hospital = SignedIn("hospital", "ann");
  Reply registered =
      Command(*hospital, "Clients/RegisterClient", "c1", Registered("Okafor"));
  ASSERT_EQ(registered.status, 200) << registered.text;
  EXPECT_EQ(registered.body["stream_id"], "client-c1");
  EXPECT_EQ(registered.body["already_applied"], false);
  EXPECT_EQ(registered.body["event_types"],
            json::array({"ClientRegistered"}));

  // The event names the signed-in person as its actor.
  v1::ReadStreamResponse page;
  ASSERT_TRUE(network_->ReadStream("hospital", "client-c1", &page).ok());
  ASSERT_EQ(page.events_size(), 1);
  EXPECT_EQ(page.events(0).actor().organization_id(), "hospital");
  EXPECT_EQ(page.events(0).actor().user_id(), "ann");

  // Data, in protobuf's JSON mapping with snake_case names.
  json summary = hospital->Call("ContinuityViews/GetClientSummary",
                                {{"client_id", "c1"}});
  EXPECT_EQ(summary["summary"]["state"]["details"]["name"]["family"], "Okafor");
  EXPECT_EQ(summary["summary"]["state"]["registered"], true);

  // Refusals are the services' own, with the gRPC code's name.
  std::unique_ptr<Browser> legal = SignedIn("legal-aid", "lee");
  Reply refused = legal->Post("/api/v1/ContinuityViews/GetClientSummary",
                              {{"client_id", "c1"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body["code"], "PERMISSION_DENIED");
  EXPECT_THAT(refused.body["message"].get<std::string>(),
              HasSubstr("not involved"));
  Reply missing_field = Command(*hospital, "Clients/RegisterClient", "c2", {});
  EXPECT_EQ(missing_field.status, 400);
  EXPECT_EQ(missing_field.body["code"], "INVALID_ARGUMENT");
  Reply again = Command(*hospital, "Clients/RegisterClient", "c1",
                        Registered("Okafor"));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body["code"], "ALREADY_EXISTS");

  // What the API does not serve.
  Reply bad_body = hospital->Post("/api/v1/ContinuityViews/GetClientSummary",
                                  {{"client", "c1"}});
  EXPECT_EQ(bad_body.status, 400);
  EXPECT_THAT(bad_body.body["message"].get<std::string>(),
              HasSubstr("caseline.v1.GetClientSummaryRequest"));
  Reply no_method = hospital->Post("/api/v1/ContinuityViews/Nothing", {});
  EXPECT_EQ(no_method.status, 404);
  EXPECT_EQ(no_method.body["code"], "NOT_FOUND");
  Reply streaming = hospital->Post("/api/v1/EventLog/Subscribe", {});
  EXPECT_EQ(streaming.status, 501);
  EXPECT_EQ(streaming.body["code"], "UNIMPLEMENTED");
  // Roles hold: an agency may not append raw events.
  Reply raw = hospital->Post("/api/v1/EventLog/Append",
                             {{"stream_id", "anything"}});
  EXPECT_EQ(raw.body["code"], "PERMISSION_DENIED") << raw.text;
}

// Every unary method of every caseline.v1 service is routed to its service:
// an empty request gets the service's own answer (data, or a refusal or an
// argument error naming a field), never "no method".
TEST_F(ConsoleApiTest, EveryUnaryMethodIsServed) {
  std::unique_ptr<Browser> hospital = SignedIn("hospital", "ann");
  const google::protobuf::FileDescriptor* files[] = {
      google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
          "caseline/v1/event_log.proto"),
      google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
          "caseline/v1/care_record.proto"),
      google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
          "caseline/v1/views.proto"),
      google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
          "caseline/v1/access.proto"),
      google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
          "caseline/v1/admin.proto")};
  int unary = 0;
  for (const google::protobuf::FileDescriptor* file : files) {
    ASSERT_NE(file, nullptr);
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const google::protobuf::MethodDescriptor* method = service->method(m);
        const std::string path =
            absl::StrCat("/api/v1/", service->name(), "/", method->name());
        Reply reply = hospital->Post(path, json::object());
        ASSERT_TRUE(reply.body.is_object()) << path << ": " << reply.text;
        if (method->server_streaming() || method->client_streaming()) {
          EXPECT_EQ(reply.body["code"], "UNIMPLEMENTED") << path;
          continue;
        }
        ++unary;
        if (reply.status == 200) continue;
        const std::string code = reply.body["code"].get<std::string>();
        EXPECT_THAT(code, ::testing::AnyOf("INVALID_ARGUMENT",
                                           "PERMISSION_DENIED", "NOT_FOUND",
                                           "FAILED_PRECONDITION"))
            << path << ": " << reply.text;
        EXPECT_THAT(reply.body["message"].get<std::string>(),
                    ::testing::Not(HasSubstr("no method")))
            << path;
      }
    }
  }
  EXPECT_GT(unary, 40);
}

TEST_F(ConsoleApiTest, WithheldAndBreakTheGlassAreAsOverGrpc) {
  std::unique_ptr<Browser> hospital = SignedIn("hospital", "ann");
  ASSERT_EQ(Command(*hospital, "Clients/RegisterClient", "c1",
                    Registered("Okafor"))
                .status,
            200);
  ASSERT_EQ(Command(*hospital, "Plans/RecordAssessment", "c1",
                    {{"assessment_recorded",
                      {{"assessment_id", "a1"},
                       {"domains",
                        {{{"domain", "SERVICE_CATEGORY_MENTAL_HEALTH"},
                          {"need_level", "NEED_LEVEL_HIGH"}}}}}}})
                .status,
            200);
  ASSERT_EQ(Command(*hospital, "Referrals/SendReferral", "c1",
                    {{"referral_sent",
                      {{"referral_id", "r1"},
                       {"to_organization_id", "housing"},
                       {"kind", "REFERRAL_KIND_WARM"},
                       {"service_category", "SERVICE_CATEGORY_HOUSING"}}}})
                .status,
            200);
  // Housing is involved through the referral but no consent covers it: the
  // timeline withholds, and says so.
  std::unique_ptr<Browser> housing = SignedIn("housing", "hal");
  json timeline = housing->Call("AuditViews/GetTimeline", {{"client_id", "c1"}});
  EXPECT_GT(std::stoi(timeline["withheld"]["count"].dump()), 0) << timeline.dump();
  EXPECT_THAT(timeline["withheld"]["reason"].get<std::string>(),
              HasSubstr("consent"));

  // Breaking the glass over HTTP: read once, on the auditors' list.
  std::unique_ptr<Browser> legal = SignedIn("legal-aid", "lee");
  json read = legal->Call("EventLog/ReadStream", {{"stream_id", "client-c1"}},
                          {{"X-Caseline-Break-Glass", "client in crisis at the door"}});
  EXPECT_EQ(read["events"].size(), 3u);
  std::unique_ptr<Browser> auditor = SignedIn(testing::kAuditor, "aud");
  json queue = auditor->Call("AccessAudit/ListBreakGlass", json::object());
  ASSERT_EQ(queue["accesses"].size(), 1u) << queue.dump();
  EXPECT_EQ(queue["accesses"][0]["organization_id"], "legal-aid")
      << queue.dump();
  // An agency may not see the queue.
  EXPECT_EQ(hospital->Post("/api/v1/AccessAudit/ListBreakGlass", json::object())
                .status,
            403);
}

TEST_F(ConsoleApiTest, LiveUpdatesShowOnlyWhatTheCallerMaySee) {
  std::unique_ptr<Browser> hospital = SignedIn("hospital", "ann");
  ASSERT_EQ(Command(*hospital, "Clients/RegisterClient", "mine",
                    Registered("Okafor"))
                .status,
            200);
  std::unique_ptr<Browser> legal = SignedIn("legal-aid", "lee");
  ASSERT_EQ(Command(*legal, "Clients/RegisterClient", "theirs",
                    Registered("Adeyemi"))
                .status,
            200);

  // The legal aid's stream: ready, then only its own client's events.
  Mutex mu;
  std::string received;
  std::unique_ptr<Browser> listener = SignedIn("legal-aid", "lee");
  httplib::Client& client = listener->client();
  std::thread reader([&] {
    client.Get("/api/v1/events", listener->Headers(),
               [&](const char* data, size_t size) {
                 MutexLock lock(&mu);
                 received.append(data, size);
                 // Stop after the legal aid's own event.
                 return !absl::StrContains(received, "client-theirs");
               });
  });
  auto wait_for = [&](const std::string& text) {
    for (int i = 0; i < 500; ++i) {
      {
        MutexLock lock(&mu);
        if (absl::StrContains(received, text)) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(wait_for("event: ready")) << received;
  // The hospital's client first: legal aid is not involved, so not shown.
  ASSERT_EQ(Command(*hospital, "Clients/CorrectClientDetails", "mine",
                    {{"client_details_corrected",
                      {{"name", {{"family", "Okafor-Ali"}}}}}})
                .status,
            200);
  ASSERT_EQ(Command(*legal, "Clients/OpenCase", "theirs",
                    {{"case_opened", json::object()}})
                .status,
            200);
  EXPECT_TRUE(wait_for("client-theirs"));
  reader.join();
  MutexLock lock(&mu);
  EXPECT_THAT(received, HasSubstr("event: changed"));
  EXPECT_THAT(received, ::testing::Not(HasSubstr("client-mine")));
}

TEST(ConsoleGrpcTest, OnlyTheConsoleMayVouchForAnOrganisation) {
  AccessNetworkOptions options;
  options.agencies = {{"hospital", v1::ORGANIZATION_TYPE_HOSPITAL}};
  AccessNetwork network(std::move(options));
  ASSERT_TRUE(network.ok());
  grpc::ClientContext context;
  AccessNetwork::Act(&context, "hospital");
  context.AddMetadata("x-caseline-console", "guessed");
  v1::ReadStreamRequest request;
  request.set_stream_id("organizations");
  v1::ReadStreamResponse response;
  const grpc::Status status =
      network.log()->ReadStream(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("x-caseline-console"));
}

// HTTPS: the organisation is the client certificate; the person the header
// the organisation's gateway vouches for.
class ConsoleTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new testing::ScratchDir("console_certs");
    const std::string script =
        absl::StrCat(CASELINE_SOURCE_DIR, "/deploy/make-dev-certs.sh");
    ASSERT_EQ(std::system(absl::StrCat("bash ", script, " ", certs_->path(),
                                       "/ca hospital housing > /dev/null")
                              .c_str()),
              0);
    ASSERT_EQ(std::system(absl::StrCat("bash ", script, " ", certs_->path(),
                                       "/rogue hospital > /dev/null")
                              .c_str()),
              0);
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  void SetUp() override {
    AccessNetworkOptions options;
    options.agencies = {{"hospital", v1::ORGANIZATION_TYPE_HOSPITAL},
                        {"housing", v1::ORGANIZATION_TYPE_HOUSING}};
    options.http_console = true;
    options.transport = testing::Transport::kMutualTls;
    options.certs_dir = absl::StrCat(certs_->path(), "/ca");
    network_ = std::make_unique<AccessNetwork>(std::move(options));
    ASSERT_TRUE(network_->ok());
  }

  // A client presenting `ca`'s certificate for `org` (none when empty).
  std::unique_ptr<Browser> As(const std::string& ca, const std::string& org) {
    const std::string dir = absl::StrCat(certs_->path(), "/", ca, "/");
    const std::string url =
        absl::StrCat("https://", network_->server().http_address());
    std::unique_ptr<httplib::Client> client =
        org.empty() ? std::make_unique<httplib::Client>(url)
                    : std::make_unique<httplib::Client>(url, dir + org + ".pem",
                                                        dir + org + ".key");
    client->set_ca_cert_path(absl::StrCat(certs_->path(), "/ca/ca.pem"));
    client->enable_server_certificate_verification(true);
    return std::make_unique<Browser>(std::move(client));
  }

  static testing::ScratchDir* certs_;
  std::unique_ptr<AccessNetwork> network_;
};
testing::ScratchDir* ConsoleTlsTest::certs_ = nullptr;

TEST_F(ConsoleTlsTest, TheCertificateNamesTheOrganisation) {
  std::unique_ptr<Browser> hospital = As("ca", "hospital");
  hospital->client().set_default_headers({{"x-caseline-user", "ann"}});
  Reply session = hospital->Get("/api/v1/session");
  ASSERT_EQ(session.status, 200) << session.text;
  EXPECT_EQ(session.body["mode"], "tls");
  EXPECT_EQ(session.body["organization_id"], "hospital");
  EXPECT_EQ(session.body["user_id"], "ann");
  Reply registered = hospital->Post(
      "/api/v1/Clients/RegisterClient",
      {{"command_id", "t1"}, {"client_id", "c1"}, {"client_registered",
                                                   {{"name", {{"family", "Okafor"}}}}}});
  ASSERT_EQ(registered.status, 200) << registered.text;
  // There is no sign-in: the certificate is the identity.
  EXPECT_EQ(hospital->Post("/api/v1/session", {{"organization_id", "housing"}})
                .status,
            400);

  // Housing's certificate is housing, whatever its headers say.
  std::unique_ptr<Browser> housing = As("ca", "housing");
  housing->client().set_default_headers(
      {{"x-caseline-user", "hal"}, {"x-caseline-org", "hospital"}});
  Reply housing_session = housing->Get("/api/v1/session");
  EXPECT_EQ(housing_session.body["organization_id"], "housing");
  EXPECT_EQ(housing->Post("/api/v1/ContinuityViews/GetClientSummary",
                          {{"client_id", "c1"}})
                .status,
            403);
  // The hospital's token is bound to the hospital's person.
  EXPECT_EQ(housing->Post("/api/v1/ContinuityViews/GetClientSummary",
                          {{"client_id", "c1"}},
                          {{"X-CSRF-Token", hospital->token()}})
                .status,
            403);

  // No certificate, or one another CA issued: 401.
  Reply none = As("ca", "")->Get("/api/v1/session");
  EXPECT_EQ(none.status, 401) << none.text;
  EXPECT_THAT(none.body["message"].get<std::string>(),
              HasSubstr("no client certificate"));
  Reply rogue = As("rogue", "hospital")->Get("/api/v1/session");
  EXPECT_EQ(rogue.status, 401) << rogue.text;
  EXPECT_THAT(rogue.body["message"].get<std::string>(),
              HasSubstr("not issued by this server's client CA"));
}

// The FHIR endpoint on the same listener takes the same identity: the
// certificate names the organisation, never an x-caseline-org header.
TEST_F(ConsoleTlsTest, FhirTakesTheCertificatesOrganisation) {
  std::unique_ptr<Browser> hospital = As("ca", "hospital");
  hospital->client().set_default_headers({{"x-caseline-user", "ann"}});
  ASSERT_EQ(hospital->Get("/api/v1/session").status, 200);  // its CSRF token
  ASSERT_EQ(hospital
                ->Post("/api/v1/Clients/RegisterClient",
                       {{"command_id", "t1"},
                        {"client_id", "c1"},
                        {"client_registered", {{"name", {{"family", "Okafor"}}}}}})
                .status,
            200);
  httplib::Result patient = hospital->client().Get("/fhir/r4/Patient/c1");
  ASSERT_TRUE(patient);
  EXPECT_EQ(patient->status, 200) << patient->body;
  EXPECT_EQ(patient->get_header_value("Content-Type"), "application/fhir+json");
  EXPECT_THAT(patient->body, HasSubstr("\"family\":\"Okafor\""));

  std::unique_ptr<Browser> housing = As("ca", "housing");
  housing->client().set_default_headers(
      {{"x-caseline-user", "hal"}, {"x-caseline-org", "hospital"}});
  httplib::Result refused = housing->client().Get("/fhir/r4/Patient/c1");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403) << refused->body;
  EXPECT_THAT(refused->body, HasSubstr("\"resourceType\":\"OperationOutcome\""));

  httplib::Result none = As("ca", "")->client().Get("/fhir/r4/Patient/c1");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401) << none->body;
  EXPECT_THAT(none->body, HasSubstr("no client certificate"));
}

}  // namespace
}  // namespace caseline
