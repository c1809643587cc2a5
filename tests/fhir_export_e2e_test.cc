// FHIR Bulk Data export ($export, docs/fhir.md "Bulk export") over real HTTP
// on loopback: the async pattern (kick-off, status polling, manifest,
// files), what each caller's export holds compared with what the views show
// it, the group of an organisation, the per-organisation limit, DELETE, and
// the refusals.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "base/read_file.h"
#include "caseline/v1/admin.grpc.pb.h"
#include "eventstore/key_encryption.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/fhir/bulk_export.h"
#include "server/fhir/fhir_common.h"
#include "tests/access_util.h"

namespace caseline {
namespace {

using json = nlohmann::json;
using testing::AccessNetwork;
using testing::AccessNetworkOptions;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBase[] = "/fhir/r4";

struct Reply {
  int status = 0;
  std::string text;
  json body;
  httplib::Headers headers;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// What one export holds: lines per resource type, and the error lines.
struct Export {
  json manifest;
  std::map<std::string, std::vector<json>> lines;
  std::vector<json> errors;
};

json Consent(const std::string& id, const std::string& org,
             const std::vector<std::string>& classes) {
  json c = {{"consent_id", id},
            {"recipient_organization_ids", {org}},
            {"data_classes", json::array()}};
  for (const auto& k : classes) c["data_classes"].push_back("DATA_CLASS_" + k);
  return testing::WithProvenance(c);
}

json Referral(const std::string& id, const std::string& to,
              const std::string& category) {
  return {{"referral_id", id},
          {"to_organization_id", to},
          {"kind", "REFERRAL_KIND_WARM"},
          {"service_category", "SERVICE_CATEGORY_" + category}};
}

// The client a per-client resource's id names (fhir_common.h EncodeId: the
// first part, before "..").
std::string ClientOf(const json& resource) {
  const std::string id = resource.value("id", "");
  std::vector<std::string> parts = absl::StrSplit(id, "..");
  absl::StatusOr<std::vector<std::string>> decoded =
      server::fhir::DecodeId(parts[0], 1);
  return decoded.ok() ? (*decoded)[0] : id;
}

// Holds exports before they list their clients until Release().
class Gate {
 public:
  Gate() {
    server::fhir::BulkExport::SetBeforeListingForTest(
        [this](const std::string&) {
          MutexLock lock(&mu_);
          ++waiting_;
          cv_.SignalAll();
          while (closed_) cv_.Wait();
          --waiting_;
        });
  }
  ~Gate() {
    Release();
    server::fhir::BulkExport::SetBeforeListingForTest(nullptr);
  }
  void AwaitWaiting(int n) {
    MutexLock lock(&mu_);
    while (waiting_ < n) cv_.Wait();
  }
  void Release() {
    MutexLock lock(&mu_);
    closed_ = false;
    cv_.SignalAll();
  }

 private:
  Mutex mu_;
  CondVar cv_{&mu_};
  bool closed_ ABSL_GUARDED_BY(mu_) = true;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

class FhirExportTest : public ::testing::Test {
 protected:
  static constexpr char kHospital[] = "hospital";
  static constexpr char kHousing[] = "housing";
  static constexpr char kLegal[] = "legal-aid";

  void SetUp() override {
    AccessNetworkOptions options;
    options.agencies = {{kHospital, v1::ORGANIZATION_TYPE_HOSPITAL},
                        {kHousing, v1::ORGANIZATION_TYPE_HOUSING},
                        {kLegal, v1::ORGANIZATION_TYPE_LEGAL_AID}};
    options.http_console = true;
    Configure(options);
    network_ = std::make_unique<AccessNetwork>(std::move(options));
    ASSERT_TRUE(network_->ok());
    http_ = std::make_unique<httplib::Client>(
        absl::StrCat("http://", network_->server().http_address()));
    http_->set_read_timeout(30);

    // ann: housing is referred with her consent; bob: legal aid with his,
    // and housing without (housing is involved but sees nothing); cy: the
    // hospital's alone; dee: registered by housing.
    AccessNetwork& n = *network_;
    for (const char* client : {"ann", "bob", "cy"}) {
      ASSERT_NO_FATAL_FAILURE(n.Command(
          kHospital, "Clients.RegisterClient", client,
          {{"client_registered", {{"name", {{"family", client}}}}}}));
    }
    ASSERT_NO_FATAL_FAILURE(n.Command(
        kHousing, "Clients.RegisterClient", "dee",
        {{"client_registered", {{"name", {{"family", "dee"}}}}}}));
    ASSERT_NO_FATAL_FAILURE(
        n.Command(kHospital, "Consents.GiveConsent", "ann",
                  {{"consent_given",
                    Consent("k-ann", kHousing, {"GENERAL", "HOUSING"})}}));
    ASSERT_NO_FATAL_FAILURE(n.Command(
        kHospital, "Referrals.SendReferral", "ann",
        {{"referral_sent", Referral("r-ann", kHousing, "HOUSING")}}));
    ASSERT_NO_FATAL_FAILURE(
        n.Command(kHospital, "Consents.GiveConsent", "bob",
                  {{"consent_given",
                    Consent("k-bob", kLegal, {"GENERAL", "LEGAL"})}}));
    ASSERT_NO_FATAL_FAILURE(n.Command(
        kHospital, "Referrals.SendReferral", "bob",
        {{"referral_sent", Referral("r-bob-legal", kLegal, "LEGAL")}}));
    ASSERT_NO_FATAL_FAILURE(n.Command(
        kHospital, "Referrals.SendReferral", "bob",
        {{"referral_sent", Referral("r-bob-housing", kHousing, "HOUSING")}}));
  }

  // A derived fixture's changes to the network (e.g. a KEK).
  virtual void Configure(AccessNetworkOptions& /*options*/) {}

  static httplib::Headers As(const std::string& org) {
    return {{"x-caseline-org", org}, {"x-caseline-user", org + "-worker"}};
  }

  Reply Finish(const httplib::Result& result) {
    Reply reply;
    if (!result) {
      ADD_FAILURE() << "no HTTP response: "
                    << httplib::to_string(result.error());
      return reply;
    }
    reply.status = result->status;
    reply.text = result->body;
    reply.headers = result->headers;
    reply.body = json::parse(result->body, nullptr, false);
    return reply;
  }

  Reply Get(const std::string& path_or_url, httplib::Headers headers) {
    return Finish(http_->Get(Path(path_or_url).c_str(), headers));
  }
  Reply Delete(const std::string& path_or_url, httplib::Headers headers) {
    return Finish(http_->Delete(Path(path_or_url).c_str(), headers));
  }
  // The path of an absolute URL of this server (Content-Location, urls).
  std::string Path(const std::string& path_or_url) {
    const std::string origin =
        absl::StrCat("http://", network_->server().http_address());
    std::string path = path_or_url;
    if (absl::StartsWith(path, origin)) path = path.substr(origin.size());
    return path;
  }

  // Kicks off `path` (under the base) as `org` with Prefer: respond-async.
  Reply KickOff(const std::string& org, const std::string& path) {
    httplib::Headers headers = As(org);
    headers.emplace("Prefer", "respond-async");
    headers.emplace("Accept", "application/fhir+json");
    return Get(absl::StrCat(kBase, path), headers);
  }

  // Polls the status URL until it is not 202.
  Reply Poll(const std::string& org, const std::string& status_url) {
    while (true) {
      Reply reply = Get(status_url, As(org));
      if (reply.status != 202) return reply;
      EXPECT_EQ(reply.header("Retry-After"), "1");
      EXPECT_FALSE(reply.header("X-Progress").empty());
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  // Runs `path` as `org` to completion and downloads every file.
  Export Run(const std::string& org, const std::string& path) {
    Export result;
    Reply kicked = KickOff(org, path);
    EXPECT_EQ(kicked.status, 202) << kicked.text;
    const std::string location = kicked.header("Content-Location");
    EXPECT_THAT(location,
                ::testing::StartsWith(absl::StrCat(
                    "http://", network_->server().http_address(), kBase,
                    "/$export-status/")));
    Reply done = Poll(org, location);
    EXPECT_EQ(done.status, 200) << done.text;
    result.manifest = done.body;
    EXPECT_EQ(done.header("Content-Type"), "application/json");
    EXPECT_FALSE(done.header("Expires").empty());
    EXPECT_EQ(result.manifest.value("requiresAccessToken", false), true);
    EXPECT_TRUE(result.manifest.contains("transactionTime"));
    // The kick-off URL, its parameters re-encoded in name order.
    const std::vector<std::string> url = absl::StrSplit(path, '?');
    EXPECT_THAT(result.manifest.value("request", ""),
                ::testing::StartsWith(absl::StrCat(
                    "http://", network_->server().http_address(), kBase,
                    url[0])));
    auto download = [&](const json& entry, std::vector<json>& into) {
      Reply file = Get(entry["url"].get<std::string>(), As(org));
      EXPECT_EQ(file.status, 200) << file.text;
      EXPECT_EQ(file.header("Content-Type"), "application/fhir+ndjson");
      int64_t count = 0;
      for (absl::string_view line : absl::StrSplit(file.text, '\n')) {
        if (line.empty()) continue;
        json resource = json::parse(line, nullptr, false);
        EXPECT_FALSE(resource.is_discarded()) << line;
        EXPECT_EQ(resource.value("resourceType", ""), entry["type"]);
        into.push_back(std::move(resource));
        ++count;
      }
      EXPECT_EQ(count, entry["count"].get<int64_t>()) << entry.dump();
    };
    for (const json& entry : result.manifest["output"]) {
      download(entry, result.lines[entry["type"].get<std::string>()]);
    }
    for (const json& entry : result.manifest["error"]) {
      EXPECT_EQ(entry["type"], "OperationOutcome");
      download(entry, result.errors);
    }
    return result;
  }

  // The clients `lines` name.
  static std::set<std::string> Clients(const std::vector<json>& lines) {
    std::set<std::string> clients;
    for (const json& line : lines) clients.insert(ClientOf(line));
    return clients;
  }

  // The referrals the views show `org` of `clients`.
  int ReferralsSeen(const std::string& org, const std::set<std::string>& clients) {
    int referrals = 0;
    for (const std::string& client : clients) {
      v1::GetClientSummaryResponse summary;
      grpc::Status status = network_->Summary(org, client, &summary);
      EXPECT_TRUE(status.ok()) << client << ": " << status.error_message();
      referrals += summary.summary().state().referrals_size();
    }
    return referrals;
  }

  std::unique_ptr<AccessNetwork> network_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(FhirExportTest, AuditorExportsTheWholeNetwork) {
  Export all = Run(testing::kAuditor, "/$export");
  EXPECT_EQ(Clients(all.lines["Patient"]),
            (std::set<std::string>{"ann", "bob", "cy", "dee"}));
  EXPECT_EQ(all.lines["Task"].size(), 3u);
  EXPECT_EQ(all.lines["ServiceRequest"].size(), 3u);
  EXPECT_EQ(static_cast<int>(all.lines["Task"].size()),
            ReferralsSeen(testing::kAuditor, {"ann", "bob", "cy", "dee"}));
  std::set<std::string> organizations;
  for (const json& org : all.lines["Organization"]) {
    organizations.insert(org.value("id", ""));
  }
  EXPECT_EQ(organizations,
            (std::set<std::string>{kHospital, kHousing, kLegal}));
  EXPECT_TRUE(all.errors.empty());
}

TEST_F(FhirExportTest, AnAgencysExportHoldsOnlyWhatItMaySee) {
  Export housing = Run(kHousing, "/Patient/$export");
  // bob's record names housing, but no consent lets housing see it.
  EXPECT_EQ(Clients(housing.lines["Patient"]),
            (std::set<std::string>{"ann", "dee"}));
  EXPECT_FALSE(housing.lines.count("Organization"));
  for (const auto& [type, lines] : housing.lines) {
    for (const json& line : lines) {
      EXPECT_TRUE(ClientOf(line) == "ann" || ClientOf(line) == "dee")
          << type << " " << line.dump();
    }
  }
  EXPECT_EQ(static_cast<int>(housing.lines["Task"].size()),
            ReferralsSeen(kHousing, {"ann", "dee"}));

  Export hospital = Run(kHospital, "/Patient/$export?_type=Patient,Task");
  EXPECT_EQ(Clients(hospital.lines["Patient"]),
            (std::set<std::string>{"ann", "bob", "cy"}));
  EXPECT_EQ(static_cast<int>(hospital.lines["Task"].size()),
            ReferralsSeen(kHospital, {"ann", "bob", "cy"}));
  EXPECT_EQ(hospital.manifest["request"],
            absl::StrCat("http://", network_->server().http_address(), kBase,
                         "/Patient/$export?_type=Patient%2CTask"));
  for (const auto& [type, lines] : hospital.lines) {
    EXPECT_TRUE(type == "Patient" || type == "Task") << type;
  }
}

TEST_F(FhirExportTest, AGroupIsTheClientsAnOrganisationIsInvolvedWith) {
  // Housing: registered dee, receives referrals for ann and bob.
  Export group = Run(testing::kAuditor, "/Group/housing/$export?_type=Patient");
  EXPECT_EQ(Clients(group.lines["Patient"]),
            (std::set<std::string>{"ann", "bob", "dee"}));
  Export own = Run(kLegal, "/Group/legal-aid/$export");
  EXPECT_EQ(Clients(own.lines["Patient"]), (std::set<std::string>{"bob"}));

  Reply other = KickOff(kHospital, "/Group/housing/$export");
  EXPECT_EQ(other.status, 403) << other.text;
  EXPECT_EQ(other.body.value("resourceType", ""), "OperationOutcome");
  EXPECT_THAT(other.text, HasSubstr("may export only its own group"));
  Reply unknown = KickOff(testing::kAuditor, "/Group/nowhere/$export");
  EXPECT_EQ(unknown.status, 404) << unknown.text;
  EXPECT_THAT(unknown.text, HasSubstr("nowhere is not registered"));
}

TEST_F(FhirExportTest, SinceLeavesOutWhatDidNotChange) {
  Export later = Run(testing::kAuditor, "/$export?_type=Task&_since=2999-01-01T00:00:00Z");
  EXPECT_TRUE(later.lines["Task"].empty());
  EXPECT_TRUE(later.manifest["output"].empty());
  Export earlier = Run(testing::kAuditor, "/$export?_type=Task&_since=2000-01-01T00:00:00Z");
  EXPECT_EQ(earlier.lines["Task"].size(), 3u);
}

TEST_F(FhirExportTest, RefusesWhatItCannotDo) {
  Reply no_prefer = Get(absl::StrCat(kBase, "/$export"), As(kHospital));
  EXPECT_EQ(no_prefer.status, 400) << no_prefer.text;
  EXPECT_EQ(no_prefer.body.value("resourceType", ""), "OperationOutcome");
  EXPECT_THAT(no_prefer.text, HasSubstr("Prefer: respond-async"));

  Reply format = KickOff(kHospital, "/$export?_outputFormat=text/csv");
  EXPECT_EQ(format.status, 400);
  EXPECT_THAT(format.text, HasSubstr("_outputFormat"));
  Reply type = KickOff(kHospital, "/$export?_type=Patient,Claim");
  EXPECT_EQ(type.status, 400);
  EXPECT_THAT(type.text, HasSubstr("_type: \\\"Claim\\\""));
  Reply since = KickOff(kHospital, "/$export?_since=last-week");
  EXPECT_EQ(since.status, 400);
  EXPECT_THAT(since.text, HasSubstr("_since"));
  Reply unknown = KickOff(kHospital, "/$export?_typeFilter=Task%3Fstatus%3Ddone");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.text, HasSubstr("_typeFilter"));
  Reply ndjson = KickOff(kHospital, "/$export?_outputFormat=application%2Ffhir%2Bndjson");
  EXPECT_EQ(ndjson.status, 202) << ndjson.text;
  Poll(kHospital, ndjson.header("Content-Location"));

  // A POSTed Parameters resource.
  httplib::Headers headers = As(kHospital);
  headers.emplace("Prefer", "respond-async");
  json parameters = {{"resourceType", "Parameters"},
                     {"parameter", {{{"name", "_type"}, {"valueString", "Claim"}}}}};
  Reply posted = Finish(http_->Post(absl::StrCat(kBase, "/$export").c_str(),
                                    headers, parameters.dump(),
                                    "application/fhir+json"));
  EXPECT_EQ(posted.status, 400) << posted.text;
  EXPECT_THAT(posted.text, HasSubstr("Claim"));

  Reply nobody = Get(absl::StrCat(kBase, "/$export-status/0123"), As(kHospital));
  EXPECT_EQ(nobody.status, 404);
}

TEST_F(FhirExportTest, OnlyTheOrganisationThatStartedItSeesIt) {
  Reply kicked = KickOff(kHospital, "/$export");
  ASSERT_EQ(kicked.status, 202);
  const std::string location = kicked.header("Content-Location");
  Reply done = Poll(kHospital, location);
  ASSERT_EQ(done.status, 200) << done.text;
  Reply other = Get(location, As(kHousing));
  EXPECT_EQ(other.status, 404) << other.text;
  EXPECT_EQ(other.body.value("resourceType", ""), "OperationOutcome");
  ASSERT_FALSE(done.body["output"].empty());
  const std::string file = done.body["output"][0]["url"];
  EXPECT_EQ(Get(file, As(kHousing)).status, 404);
  EXPECT_EQ(Delete(location, As(kHousing)).status, 404);

  // DELETE removes it: status and files are gone.
  EXPECT_EQ(Get(file, As(kHospital)).status, 200);
  EXPECT_EQ(Delete(location, As(kHospital)).status, 202);
  EXPECT_EQ(Get(location, As(kHospital)).status, 404);
  EXPECT_EQ(Get(file, As(kHospital)).status, 404);
}

TEST_F(FhirExportTest, RunningExportsAreLimitedPerOrganisationAndCancellable) {
  Gate gate;
  Reply first = KickOff(kHospital, "/$export");
  Reply second = KickOff(kHospital, "/Patient/$export");
  ASSERT_EQ(first.status, 202) << first.text;
  ASSERT_EQ(second.status, 202) << second.text;
  gate.AwaitWaiting(2);
  Reply running = Get(first.header("Content-Location"), As(kHospital));
  EXPECT_EQ(running.status, 202);
  EXPECT_EQ(running.header("X-Progress"), "listing clients");
  EXPECT_EQ(running.header("Retry-After"), "1");

  // The default limit is two running exports per organisation.
  Reply third = KickOff(kHospital, "/$export");
  EXPECT_EQ(third.status, 429) << third.text;
  EXPECT_EQ(third.body.value("resourceType", ""), "OperationOutcome");
  EXPECT_THAT(third.text, HasSubstr("already has 2 exports running"));
  // Another organisation has its own.
  Reply housing = KickOff(kHousing, "/$export");
  EXPECT_EQ(housing.status, 202) << housing.text;

  // Cancelling one makes room.
  EXPECT_EQ(Delete(second.header("Content-Location"), As(kHospital)).status, 202);
  EXPECT_EQ(Get(second.header("Content-Location"), As(kHospital)).status, 404);
  Reply again = KickOff(kHospital, "/Patient/$export?_type=Patient");
  EXPECT_EQ(again.status, 202) << again.text;

  gate.Release();
  EXPECT_EQ(Poll(kHospital, first.header("Content-Location")).status, 200);
  Reply patients = Poll(kHospital, again.header("Content-Location"));
  EXPECT_EQ(patients.status, 200);
  ASSERT_EQ(patients.body["output"].size(), 1u);
  EXPECT_EQ(patients.body["output"][0]["count"], 3);
  EXPECT_EQ(Poll(kHousing, housing.header("Content-Location")).status, 200);
}

// docs/fhir.md "Bulk export", "Lifetime": an erasure withdraws every export
// that holds the erased client, and removes its files.
class FhirExportErasureTest : public FhirExportTest {
 protected:
  void Configure(AccessNetworkOptions& options) override {
    absl::StatusOr<std::unique_ptr<eventstore::FileKeyEncryptionKey>> kek =
        eventstore::FileKeyEncryptionKey::Open(dir_.path() + "/data.kek");
    ASSERT_TRUE(kek.ok()) << kek.status();
    std::shared_ptr<eventstore::KeyEncryptionKey> shared = *std::move(kek);
    options.configure = [this, shared](server::ServerOptions& o) {
      o.kek = shared;
      o.fhir.state_dir = dir_.path() + "/fhir";
    };
  }

  grpc::Status Erase(const std::string& client) {
    auto admin = v1::Admin::NewStub(network_->channel(testing::kAdmin));
    grpc::ClientContext context;
    AccessNetwork::Act(&context, testing::kAdmin);
    v1::EraseClientRequest request;
    request.set_client_id(client);
    request.set_legal_basis("GDPR Art. 17(1)(a)");
    v1::EraseClientResponse response;
    return admin->EraseClient(&context, request, &response);
  }

  // Every file under the exports directory that holds `word`.
  std::vector<std::string> ExportFilesHolding(const std::string& word) {
    std::vector<std::string> found;
    const std::filesystem::path exports =
        std::filesystem::path(dir_.path()) / "fhir" / "exports";
    if (!std::filesystem::exists(exports)) return found;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(exports)) {
      if (!entry.is_regular_file()) continue;
      absl::StatusOr<std::string> bytes =
          ReadFileNamedBy("export", entry.path().string());
      if (bytes.ok() && absl::StrContains(*bytes, word)) {
        found.push_back(entry.path().string());
      }
    }
    return found;
  }

  testing::ScratchDir dir_{"fhir_export_erasure"};
};

TEST_F(FhirExportErasureTest, AnErasureWithdrawsEveryExportHoldingTheClient) {
  // Two finished exports hold ann; legal aid's holds bob only.
  constexpr char kAnnsName[] = "\"family\":\"ann\"";
  Reply audit = KickOff(testing::kAuditor, "/$export");
  Reply housing = KickOff(kHousing, "/Patient/$export");
  Reply legal = KickOff(kLegal, "/Patient/$export");
  for (const Reply* r : {&audit, &housing, &legal}) {
    ASSERT_EQ(r->status, 202) << r->text;
  }
  const std::string audit_at = audit.header("Content-Location");
  const std::string housing_at = housing.header("Content-Location");
  const std::string legal_at = legal.header("Content-Location");
  Reply audit_done = Poll(testing::kAuditor, audit_at);
  ASSERT_EQ(audit_done.status, 200) << audit_done.text;
  ASSERT_EQ(Poll(kHousing, housing_at).status, 200);
  Reply legal_done = Poll(kLegal, legal_at);
  ASSERT_EQ(legal_done.status, 200) << legal_done.text;
  const std::string audit_file = audit_done.body["output"][0]["url"];
  ASSERT_EQ(Get(audit_file, As(testing::kAuditor)).status, 200);
  ASSERT_FALSE(ExportFilesHolding(kAnnsName).empty())
      << "the exports did not hold ann's name before the erasure";

  const grpc::Status erased = Erase("ann");
  ASSERT_TRUE(erased.ok()) << erased.error_message();

  // Withdrawn at once: status and files answer 410, saying why.
  for (const auto& [org, at] : {std::pair{std::string(testing::kAuditor), audit_at},
                                {std::string(kHousing), housing_at}}) {
    Reply gone = Get(at, As(org));
    EXPECT_EQ(gone.status, 410) << org << ": " << gone.text;
    EXPECT_EQ(gone.body.value("resourceType", ""), "OperationOutcome");
    EXPECT_THAT(gone.text, HasSubstr("was withdrawn: client ann"));
    EXPECT_THAT(gone.text, HasSubstr("start the export again"));
  }
  Reply file = Get(audit_file, As(testing::kAuditor));
  EXPECT_EQ(file.status, 410) << file.text;
  EXPECT_THAT(file.text, HasSubstr("was withdrawn"));
  // The files are removed (by the reaper, soon after).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!ExportFilesHolding(kAnnsName).empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(ExportFilesHolding(kAnnsName), ::testing::IsEmpty());

  // An export that did not hold her stays.
  EXPECT_EQ(Get(legal_at, As(kLegal)).status, 200);
  for (const json& entry : legal_done.body["output"]) {
    EXPECT_EQ(Get(entry["url"].get<std::string>(), As(kLegal)).status, 200);
  }
  // A withdrawn export is deleted like any other.
  EXPECT_EQ(Delete(housing_at, As(kHousing)).status, 202);
  EXPECT_EQ(Get(housing_at, As(kHousing)).status, 404);

  // An export started after the erasure holds nothing of her: her record
  // reads as empty, so she has no resources.
  Export after = Run(testing::kAuditor, "/$export");
  EXPECT_EQ(Clients(after.lines["Patient"]),
            (std::set<std::string>{"bob", "cy", "dee"}));
  for (const auto& [type, lines] : after.lines) {
    for (const json& line : lines) {
      EXPECT_THAT(line.dump(), Not(HasSubstr(kAnnsName))) << type;
    }
  }
}

// The running case: ann is erased after the worker wrote her resources,
// while it holds bob (registered after her, so read next); the export is
// cancelled and withdrawn, and leaves no file.
TEST_F(FhirExportErasureTest, ARunningExportThatWroteTheClientIsWithdrawn) {
  struct Hold {
    Mutex mu;
    CondVar cv{&mu};
    bool at_bob ABSL_GUARDED_BY(mu) = false;
    bool go ABSL_GUARDED_BY(mu) = false;
  };
  auto hold = std::make_shared<Hold>();
  server::fhir::BulkExport::SetBeforeReadingClientForTest(
      [hold](const std::string&, const std::string& client) {
        if (client != "bob") return;
        MutexLock lock(&hold->mu);
        hold->at_bob = true;
        hold->cv.SignalAll();
        while (!hold->go) hold->cv.Wait();
      });
  auto release = [&] {
    server::fhir::BulkExport::SetBeforeReadingClientForTest(nullptr);
    MutexLock lock(&hold->mu);
    hold->go = true;
    hold->cv.SignalAll();
  };
  Reply kicked = KickOff(testing::kAuditor, "/$export");
  if (kicked.status != 202) release();
  ASSERT_EQ(kicked.status, 202) << kicked.text;
  const std::string at = kicked.header("Content-Location");
  const std::string job = at.substr(at.rfind('/') + 1);
  const std::filesystem::path dir =
      std::filesystem::path(dir_.path()) / "fhir" / "exports" / job;
  {
    MutexLock lock(&hold->mu);
    while (!hold->at_bob) hold->cv.Wait();
  }
  // The export's directory exists while it runs (so its removal below is
  // the withdrawal's doing).
  const bool existed = std::filesystem::exists(dir);
  const grpc::Status erased = Erase("ann");
  release();
  EXPECT_TRUE(existed) << dir;
  ASSERT_TRUE(erased.ok()) << erased.error_message();

  Reply gone = Poll(testing::kAuditor, at);
  EXPECT_EQ(gone.status, 410) << gone.text;
  EXPECT_THAT(gone.text, HasSubstr("was withdrawn: client ann"));
  // The worker stops at its next call and removes what it wrote.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (std::filesystem::exists(dir) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_EQ(Get(at, As(testing::kAuditor)).status, 410);
}

}  // namespace
}  // namespace caseline
