// Who may see what, end to end over loopback gRPC (docs/access.md): a
// randomised network checked against an independent reference model, the
// consent scenarios of ../shared/domain/README.md, break-the-glass and the
// access records. Identity comes from x-caseline-org with roles from an
// access config (the insecure loopback mode); mtls_e2e_test covers
// certificates.
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "caseline/v1/access.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"
#include "tools/cli_command.h"

namespace caseline {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kAuditor[] = "privacy-office";

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string ShortName(const std::string& enum_name, absl::string_view prefix) {
  return enum_name.substr(prefix.size());
}

// A server in insecure loopback mode with an access config, and the calls the
// tests make as one organisation or another.
class AccessNetwork {
 public:
  // `orgs`: id -> type; every one is an agency. kAuditor is added as auditor.
  explicit AccessNetwork(const std::map<std::string, v1::OrganizationType>& orgs)
      : dir_("access_e2e"), orgs_(orgs) {
    services::AccessConfig config;
    for (const auto& [id, type] : orgs) config.roles[id] = services::kAgency;
    config.roles[kAuditor] = services::kAuditor;
    auto started = testing::StartLoopbackServer(
        dir_.path(), [&](server::ServerOptions& options) {
          options.access = config;
        });
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return;
    server_ = *std::move(started);
    channel_ = grpc::CreateChannel(server_->address(),
                                   grpc::InsecureChannelCredentials());
    log_ = v1::EventLog::NewStub(channel_);
    continuity_ = v1::ContinuityViews::NewStub(channel_);
    audit_ = v1::AuditViews::NewStub(channel_);
    access_audit_ = v1::AccessAudit::NewStub(channel_);
    for (const auto& [id, type] : orgs) {
      json e = {{"organization_id", id},
                {"name", absl::StrCat("Organisation ", id)},
                {"type", v1::OrganizationType_Name(type)}};
      Command(id, "Organizations.RegisterOrganization", "",
              {{"organization_registered", e}});
    }
  }

  bool ok() const { return server_ != nullptr; }
  server::CaselineServer& server() { return *server_; }

  // Runs a care-record command as `org`; fails the test when refused (check
  // with ASSERT_NO_FATAL_FAILURE or HasFatalFailure).
  void Command(const std::string& org, const std::string& method,
               const std::string& client_id, json body) {
    body["command_id"] = absl::StrCat("cmd-", next_command_++);
    if (!client_id.empty()) body["client_id"] = client_id;
    absl::StatusOr<tools::PreparedCommand> command =
        tools::PrepareCommand(method, body.dump());
    ASSERT_TRUE(command.ok()) << command.status() << " " << body.dump();
    absl::StatusOr<std::string> result = tools::SendCommand(
        channel_, *command, org, "tester", absl::Seconds(30));
    ASSERT_TRUE(result.ok()) << method << " as " << org << ": "
                             << result.status() << "\n" << body.dump();
  }

  // A context acting as `org` for `purpose` (empty: the default), optionally
  // breaking the glass.
  static void Act(grpc::ClientContext* context, const std::string& org,
                  const std::string& purpose = "",
                  const std::string& break_glass = "") {
    context->AddMetadata("x-caseline-org", org);
    context->AddMetadata("x-caseline-user", absl::StrCat(org, "-worker"));
    if (!purpose.empty()) context->AddMetadata("x-caseline-purpose", purpose);
    if (!break_glass.empty()) {
      context->AddMetadata("x-caseline-break-glass", break_glass);
    }
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
  }

  grpc::Status ReadStream(const std::string& org, const std::string& stream,
                          v1::ReadStreamResponse* response,
                          const std::string& purpose = "",
                          const std::string& break_glass = "") {
    grpc::ClientContext context;
    Act(&context, org, purpose, break_glass);
    v1::ReadStreamRequest request;
    request.set_stream_id(stream);
    request.set_max_count(1000);
    return log_->ReadStream(&context, request, response);
  }

  // Every timeline entry of the client, as `org`.
  grpc::Status Timeline(const std::string& org, const std::string& client,
                        std::vector<v1::TimelineEntry>* entries,
                        const std::string& purpose = "") {
    v1::GetTimelineRequest request;
    request.set_client_id(client);
    request.set_page_size(1000);
    while (true) {
      grpc::ClientContext context;
      Act(&context, org, purpose);
      v1::GetTimelineResponse page;
      grpc::Status status = audit_->GetTimeline(&context, request, &page);
      if (!status.ok()) return status;
      for (auto& e : *page.mutable_entries()) entries->push_back(std::move(e));
      if (page.next_page_token().empty()) return status;
      request.set_page_token(page.next_page_token());
    }
  }

  v1::EventLog::Stub* log() { return log_.get(); }
  v1::ContinuityViews::Stub* continuity() { return continuity_.get(); }
  v1::AuditViews::Stub* audit() { return audit_.get(); }
  v1::AccessAudit::Stub* access_audit() { return access_audit_.get(); }
  const std::map<std::string, v1::OrganizationType>& orgs() const {
    return orgs_;
  }

 private:
  testing::ScratchDir dir_;
  std::map<std::string, v1::OrganizationType> orgs_;
  std::unique_ptr<server::CaselineServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EventLog::Stub> log_;
  std::unique_ptr<v1::ContinuityViews::Stub> continuity_;
  std::unique_ptr<v1::AuditViews::Stub> audit_;
  std::unique_ptr<v1::AccessAudit::Stub> access_audit_;
  std::atomic<int> next_command_{0};
};

// --- The reference model ------------------------------------------------------
//
// Written from docs/access.md without the server's code: which data classes an
// event carries, who is involved, and which consent covers what.

uint32_t Bit(v1::DataClass c) { return 1u << c; }

v1::DataClass ModelClassOf(v1::ServiceCategory category) {
  static const std::map<v1::ServiceCategory, v1::DataClass> kTable = {
      {v1::SERVICE_CATEGORY_MENTAL_HEALTH, v1::DATA_CLASS_MENTAL_HEALTH},
      {v1::SERVICE_CATEGORY_SUBSTANCE_USE, v1::DATA_CLASS_SUBSTANCE_USE_PART2},
      {v1::SERVICE_CATEGORY_HOUSING, v1::DATA_CLASS_HOUSING},
      {v1::SERVICE_CATEGORY_LEGAL, v1::DATA_CLASS_LEGAL},
      {v1::SERVICE_CATEGORY_PROBATION_PAROLE, v1::DATA_CLASS_LEGAL},
      {v1::SERVICE_CATEGORY_IMMIGRATION, v1::DATA_CLASS_LEGAL},
      {v1::SERVICE_CATEGORY_EDUCATION, v1::DATA_CLASS_EDUCATION},
      {v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE, v1::DATA_CLASS_FINANCIAL},
  };
  auto it = kTable.find(category);
  return it == kTable.end() ? v1::DATA_CLASS_GENERAL : it->second;
}

struct ModelConsent {
  std::set<std::string> orgs;
  std::set<int> types;
  std::set<int> classes;
  std::set<int> purposes;
  absl::Time start;
  absl::Time end = absl::InfiniteFuture();
  std::optional<absl::Time> revoked_effective;
};

struct ModelEvent {
  uint32_t classes = 0;
  std::string author;
};

struct ModelClient {
  std::string id;
  std::string registrar;
  std::vector<ModelEvent> events;  // by stream version
  std::set<std::string> involved;
  std::map<std::string, uint32_t> referrals;  // id -> classes
  std::map<std::string, std::string> referral_to;
  std::map<std::string, ModelConsent> consents;
};

class Model {
 public:
  explicit Model(const std::map<std::string, v1::OrganizationType>& orgs)
      : orgs_(orgs) {}

  bool Part2Program(const std::string& org) const {
    auto it = orgs_.find(org);
    return it != orgs_.end() &&
           it->second == v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT;
  }

  // The classes of an event by `author` that names `named` organisations.
  uint32_t Classes(uint32_t base, const std::string& author,
                   const std::vector<std::string>& named) const {
    uint32_t c = base;
    if (Part2Program(author)) c |= Bit(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
    for (const auto& o : named) {
      if (Part2Program(o)) c |= Bit(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
    }
    return c;
  }

  bool Covered(const ModelClient& client, const std::string& org, int c,
               v1::PurposeOfUse purpose, absl::Time now) const {
    for (const auto& [id, k] : client.consents) {
      if (now < k.start || now >= k.end) continue;
      if (k.revoked_effective.has_value() && *k.revoked_effective <= now)
        continue;
      if (!k.purposes.empty() && !k.purposes.count(purpose)) continue;
      if (!k.classes.count(c)) continue;
      if (k.orgs.count(org)) return true;
      if (c != v1::DATA_CLASS_SUBSTANCE_USE_PART2 &&
          k.types.count(orgs_.at(org))) {
        return true;
      }
    }
    return false;
  }

  bool Visible(const ModelClient& client, const ModelEvent& e,
               const std::string& org, v1::PurposeOfUse purpose,
               absl::Time now) const {
    if (org == kAuditor) return true;
    if (e.author == org) return true;
    if (!client.involved.count(org)) return false;
    for (int c = 1; c <= 8; ++c) {
      if ((e.classes & Bit(static_cast<v1::DataClass>(c))) &&
          !Covered(client, org, c, purpose, now)) {
        return false;
      }
    }
    return true;
  }

  // PERMISSION_DENIED expected: an agency neither involved nor an author.
  bool Denied(const ModelClient& client, const std::string& org) const {
    if (org == kAuditor || client.involved.count(org)) return false;
    for (const auto& e : client.events) {
      if (e.author == org) return false;
    }
    return true;
  }

 private:
  const std::map<std::string, v1::OrganizationType>& orgs_;
};

// --- The randomised test -------------------------------------------------------

const v1::PurposeOfUse kPurposes[] = {
    v1::PURPOSE_OF_USE_TREATMENT, v1::PURPOSE_OF_USE_CARE_COORDINATION,
    v1::PURPOSE_OF_USE_PAYMENT, v1::PURPOSE_OF_USE_RESEARCH};

std::string PurposeName(v1::PurposeOfUse p) {
  return ShortName(v1::PurposeOfUse_Name(p), "PURPOSE_OF_USE_");
}

TEST(AccessRandomizedTest, EveryResponseMatchesTheReferenceModel) {
  const std::map<std::string, v1::OrganizationType> orgs = {
      {"hospital", v1::ORGANIZATION_TYPE_HOSPITAL},
      {"bh-center", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH},
      {"sud-program", v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT},
      {"housing", v1::ORGANIZATION_TYPE_HOUSING},
      {"legal-aid", v1::ORGANIZATION_TYPE_LEGAL_AID},
      {"parole", v1::ORGANIZATION_TYPE_COURT_PAROLE},
      {"school", v1::ORGANIZATION_TYPE_SCHOOL},
      {"outsider", v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY},
  };
  AccessNetwork network(orgs);
  ASSERT_TRUE(network.ok());
  Model model(orgs);
  std::mt19937_64 rng(20261123);
  auto pick = [&](const auto& container) {
    auto it = std::begin(container);
    std::advance(it, std::uniform_int_distribution<size_t>(
                         0, std::size(container) - 1)(rng));
    return *it;
  };
  auto chance = [&](double p) {
    return std::uniform_real_distribution<double>(0, 1)(rng) < p;
  };
  std::vector<std::string> agencies;
  for (const auto& [id, type] : orgs) {
    if (id != "outsider") agencies.push_back(id);
  }
  const std::vector<v1::ServiceCategory> categories = {
      v1::SERVICE_CATEGORY_HOUSING,       v1::SERVICE_CATEGORY_MENTAL_HEALTH,
      v1::SERVICE_CATEGORY_SUBSTANCE_USE, v1::SERVICE_CATEGORY_LEGAL,
      v1::SERVICE_CATEGORY_EDUCATION,     v1::SERVICE_CATEGORY_FOOD,
      v1::SERVICE_CATEGORY_FINANCIAL_ASSISTANCE,
      v1::SERVICE_CATEGORY_PROBATION_PAROLE};
  const absl::Time now = absl::Now();
  // Consent boundaries stay hours away from now, so the reads of the next
  // minutes all fall on the same side of each.
  const absl::Duration kHour = absl::Hours(1);

  std::vector<ModelClient> clients;
  const int kClients = 24;
  for (int i = 0; i < kClients; ++i) {
    ModelClient c;
    c.id = absl::StrCat("rc", i);
    c.registrar = pick(agencies);
    network.Command(c.registrar, "Clients.RegisterClient", c.id,
                    {{"client_registered",
                      {{"name", {{"given", "Test"}, {"family", c.id}}}}}});
    c.events.push_back({model.Classes(Bit(v1::DATA_CLASS_GENERAL), c.registrar, {}),
                        c.registrar});
    c.involved.insert(c.registrar);
    network.Command(c.registrar, "Clients.OpenCase", c.id,
                    {{"case_opened", {{"reason", "intake"}}}});
    c.events.push_back({model.Classes(Bit(v1::DATA_CLASS_GENERAL), c.registrar, {}),
                        c.registrar});
    const int steps = 6 + static_cast<int>(rng() % 8);
    int consent_n = 0, referral_n = 0, other_n = 0;
    for (int s = 0; s < steps; ++s) {
      const int kind = static_cast<int>(rng() % 7);
      const std::string author = chance(0.5) ? c.registrar : pick(agencies);
      if (kind == 0 || (s == 0)) {  // a consent
        const std::string id = absl::StrCat("k", consent_n++);
        ModelConsent k;
        json given = {{"consent_id", id}};
        json recipients = json::array(), types = json::array(),
             classes = json::array(), purposes = json::array();
        for (const auto& o : agencies) {
          if (chance(0.35)) {
            recipients.push_back(o);
            k.orgs.insert(o);
          }
        }
        if (chance(0.3)) {
          const v1::OrganizationType t = orgs.at(pick(agencies));
          types.push_back(v1::OrganizationType_Name(t));
          k.types.insert(t);
        }
        if (recipients.empty() && types.empty()) {
          const std::string o = pick(agencies);
          recipients.push_back(o);
          k.orgs.insert(o);
        }
        for (int dc = 1; dc <= 8; ++dc) {
          if (chance(dc == 1 ? 0.8 : 0.4)) {
            classes.push_back(v1::DataClass_Name(static_cast<v1::DataClass>(dc)));
            k.classes.insert(dc);
          }
        }
        if (classes.empty()) {
          classes.push_back("DATA_CLASS_GENERAL");
          k.classes.insert(v1::DATA_CLASS_GENERAL);
        }
        if (chance(0.3)) {
          const v1::PurposeOfUse p = pick(kPurposes);
          purposes.push_back(v1::PurposeOfUse_Name(p));
          k.purposes.insert(p);
        }
        const int when = static_cast<int>(rng() % 4);
        k.start = when == 0 ? now + 3 * kHour : now - 100 * kHour;
        json period = {{"start", Rfc3339(k.start)}};
        if (when == 1) {  // expired
          k.end = now - 50 * kHour;
          period["end"] = Rfc3339(k.end);
        }
        given["recipient_organization_ids"] = recipients;
        given["recipient_organization_types"] = types;
        given["data_classes"] = classes;
        given["purposes"] = purposes;
        given["period"] = period;
        network.Command(c.registrar, "Consents.GiveConsent", c.id,
                        {{"consent_given", given}});
        c.events.push_back(
            {model.Classes(Bit(v1::DATA_CLASS_GENERAL), c.registrar, {}),
             c.registrar});
        c.consents[id] = k;
        if (when >= 2 && chance(0.5)) {  // revoked, in effect or not yet
          const absl::Time effective =
              chance(0.5) ? now - kHour : now + 3 * kHour;
          network.Command(c.registrar, "Consents.RevokeConsent", c.id,
                          {{"consent_revoked",
                            {{"consent_id", id},
                             {"received_at", Rfc3339(now - 2 * kHour)},
                             {"effective_at", Rfc3339(effective)}}}});
          c.events.push_back(
              {model.Classes(Bit(v1::DATA_CLASS_GENERAL), c.registrar, {}),
               c.registrar});
          c.consents[id].revoked_effective = effective;
        }
      } else if (kind == 1) {  // a referral, sometimes accepted
        std::string to = pick(agencies);
        if (to == author) continue;
        const std::string id = absl::StrCat("r", referral_n++);
        const v1::ServiceCategory category = pick(categories);
        network.Command(
            author, "Referrals.SendReferral", c.id,
            {{"referral_sent",
              {{"referral_id", id},
               {"to_organization_id", to},
               {"kind", "REFERRAL_KIND_WARM"},
               {"service_category", v1::ServiceCategory_Name(category)}}}});
        const uint32_t classes =
            model.Classes(Bit(ModelClassOf(category)), author, {to});
        c.events.push_back({classes, author});
        c.referrals[id] = classes;
        c.involved.insert(author);
        c.involved.insert(to);
        if (chance(0.5)) {
          network.Command(to, "Referrals.AcceptReferral", c.id,
                          {{"referral_accepted", {{"referral_id", id}}}});
          c.events.push_back({model.Classes(classes, to, {}), to});
        }
      } else if (kind == 2) {  // a service
        const std::string provider = pick(agencies);
        const v1::ServiceCategory category = pick(categories);
        network.Command(
            author, "Services.StartService", c.id,
            {{"service_started",
              {{"service_id", absl::StrCat("s", other_n++)},
               {"provider_organization_id", provider},
               {"category", v1::ServiceCategory_Name(category)},
               {"level_of_care", "LEVEL_OF_CARE_OUTPATIENT"}}}});
        c.events.push_back(
            {model.Classes(Bit(ModelClassOf(category)), author, {provider}),
             author});
        c.involved.insert(provider);
      } else if (kind == 3) {  // a care team member
        const std::string member_org = pick(agencies);
        const bool counsellor = chance(0.2);
        network.Command(
            author, "CareTeams.AddCareTeamMember", c.id,
            {{"care_team_member_added",
              {{"member_id", absl::StrCat("m", other_n++)},
               {"name", {{"given", "Pat"}, {"family", "Worker"}}},
               {"organization_id", member_org},
               {"discipline", counsellor
                                  ? "DISCIPLINE_SUBSTANCE_USE_COUNSELLING"
                                  : "DISCIPLINE_SOCIAL_WORK"},
               {"role", "CARE_TEAM_ROLE_MEMBER"}}}});
        uint32_t classes = model.Classes(Bit(v1::DATA_CLASS_GENERAL), author,
                                         {member_org});
        if (counsellor) classes |= Bit(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
        c.events.push_back({classes, author});
        c.involved.insert(member_org);
      } else if (kind == 4) {  // an admission
        const std::string facility = pick(agencies);
        const bool detox = chance(0.25);
        const v1::ServiceCategory need = pick(categories);
        network.Command(
            author, "Transitions.RecordAdmission", c.id,
            {{"admission_recorded",
              {{"admission_id", absl::StrCat("a", other_n++)},
               {"facility_organization_id", facility},
               {"level_of_care", detox ? "LEVEL_OF_CARE_DETOX"
                                       : "LEVEL_OF_CARE_INPATIENT"},
               {"primary_need", v1::ServiceCategory_Name(need)}}}});
        uint32_t classes =
            model.Classes(Bit(ModelClassOf(need)), author, {facility});
        if (detox) classes |= Bit(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
        c.events.push_back({classes, author});
      } else {  // an assessment of one or two domains
        json domains = json::array();
        uint32_t base = 0;
        for (int d = 0; d < 1 + static_cast<int>(rng() % 2); ++d) {
          const v1::ServiceCategory domain = pick(categories);
          domains.push_back({{"domain", v1::ServiceCategory_Name(domain)},
                             {"need_level", "NEED_LEVEL_MODERATE"}});
          base |= Bit(ModelClassOf(domain));
        }
        network.Command(author, "Plans.RecordAssessment", c.id,
                        {{"assessment_recorded",
                          {{"assessment_id", absl::StrCat("as", other_n++)},
                           {"domains", domains}}}});
        c.events.push_back({model.Classes(base, author, {}), author});
      }
    }
    clients.push_back(std::move(c));
  }

  std::vector<std::string> readers = agencies;
  readers.push_back("outsider");
  readers.push_back(kAuditor);

  struct Tally {
    std::atomic<int> reads{0};
    // What the model expected, so the run shows it exercised every case.
    std::atomic<int> denied{0};
    std::atomic<int> partial{0};
    std::atomic<int> whole{0};
    std::atomic<int> forbidden_shown{0};
    std::atomic<int> allowed_refused{0};
    absl::Mutex mu;
    std::vector<std::string> examples;
    void Note(std::atomic<int>& counter, std::string what) {
      if (counter.fetch_add(1) < 5) {
        absl::MutexLock lock(&mu);
        examples.push_back(std::move(what));
      }
    }
  } tally;

  // What the model says `org` may see of `client`, as stream versions.
  auto expected_versions = [&](const ModelClient& client,
                               const std::string& org,
                               v1::PurposeOfUse purpose) {
    std::set<uint64_t> versions;
    for (size_t v = 0; v < client.events.size(); ++v) {
      if (model.Visible(client, client.events[v], org, purpose, now)) {
        versions.insert(v);
      }
    }
    return versions;
  };
  auto compare = [&](const std::string& what, const std::set<uint64_t>& want,
                     const std::set<uint64_t>& got) {
    for (uint64_t v : got) {
      if (!want.count(v)) {
        tally.Note(tally.forbidden_shown,
                   absl::StrCat(what, ": showed version ", v));
      }
    }
    for (uint64_t v : want) {
      if (!got.count(v)) {
        tally.Note(tally.allowed_refused,
                   absl::StrCat(what, ": withheld version ", v));
      }
    }
  };

  // Subscriptions first: each delivers the whole log (every client) filtered.
  const int kSubscriptions = 40;
  for (int s = 0; s < kSubscriptions; ++s) {
    const std::string org = readers[s % readers.size()];
    const v1::PurposeOfUse purpose = kPurposes[s % 4];
    grpc::ClientContext context;
    AccessNetwork::Act(&context, org, PurposeName(purpose));
    v1::SubscribeRequest request;
    request.set_from_position(1);
    auto reader = network.log()->Subscribe(&context, request);
    std::map<std::string, std::set<uint64_t>> got;
    v1::SubscribeResponse message;
    while (reader->Read(&message)) {
      if (message.has_caught_up()) break;
      if (!message.has_event()) continue;
      const v1::Event& e = message.event();
      if (absl::StartsWith(e.stream_id(), "client-")) {
        got[e.stream_id().substr(7)].insert(e.stream_version());
      } else if (absl::StartsWith(e.stream_id(), "access-") &&
                 org != kAuditor && e.actor().organization_id() != org) {
        tally.Note(tally.forbidden_shown,
                   absl::StrCat("subscription of ", org,
                                " delivered another's access record"));
      }
    }
    context.TryCancel();
    reader->Finish();
    for (const ModelClient& client : clients) {
      compare(absl::StrCat("subscription of ", org, " (", PurposeName(purpose),
                           ") on ", client.id),
              expected_versions(client, org, purpose), got[client.id]);
    }
    ++tally.reads;
  }

  // Then random reads from 8 threads (their access records share syncs).
  const int kThreads = 8;
  const int kReadsPerThread = 1250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 local(1000 + t);
      for (int i = 0; i < kReadsPerThread; ++i) {
        const ModelClient& client = clients[local() % clients.size()];
        const std::string& org = readers[local() % readers.size()];
        const v1::PurposeOfUse purpose = kPurposes[local() % 4];
        const int kind = static_cast<int>(local() % 10);
        const std::string what =
            absl::StrCat(org, " (", PurposeName(purpose), ") on ", client.id);
        ++tally.reads;
        if (kind == 0) {  // break the glass: everything, for agencies
          if (org == kAuditor) continue;
          v1::ReadStreamResponse page;
          grpc::Status status =
              network.ReadStream(org, absl::StrCat("client-", client.id),
                                 &page, "", "unconscious patient in the ED");
          if (!status.ok()) {
            tally.Note(tally.allowed_refused,
                       absl::StrCat("break-glass ", what, ": ",
                                    status.error_message()));
            continue;
          }
          std::set<uint64_t> all, got;
          for (size_t v = 0; v < client.events.size(); ++v) all.insert(v);
          for (const auto& e : page.events()) got.insert(e.stream_version());
          compare(absl::StrCat("break-glass ", what), all, got);
          continue;
        }
        const bool denied = model.Denied(client, org);
        const std::set<uint64_t> want =
            expected_versions(client, org, purpose);
        ++(denied                                   ? tally.denied
           : want.size() == client.events.size()   ? tally.whole
                                                    : tally.partial);
        if (kind <= 6) {  // ReadStream
          v1::ReadStreamResponse page;
          grpc::Status status = network.ReadStream(
              org, absl::StrCat("client-", client.id), &page,
              PurposeName(purpose));
          if (denied) {
            if (status.error_code() != grpc::StatusCode::PERMISSION_DENIED) {
              tally.Note(tally.forbidden_shown,
                         absl::StrCat("ReadStream ", what, ": ",
                                      status.error_code(), " not denied"));
            }
            continue;
          }
          if (!status.ok()) {
            tally.Note(tally.allowed_refused,
                       absl::StrCat("ReadStream ", what, ": ",
                                    status.error_message()));
            continue;
          }
          std::set<uint64_t> got;
          for (const auto& e : page.events()) got.insert(e.stream_version());
          compare(absl::StrCat("ReadStream ", what), want, got);
          if (page.withheld().count() != client.events.size() - want.size()) {
            tally.Note(tally.forbidden_shown,
                       absl::StrCat("ReadStream ", what, ": withheld count ",
                                    page.withheld().count()));
          }
        } else if (kind <= 8) {  // timeline
          std::vector<v1::TimelineEntry> entries;
          grpc::Status status =
              network.Timeline(org, client.id, &entries, PurposeName(purpose));
          if (denied) {
            if (status.error_code() != grpc::StatusCode::PERMISSION_DENIED) {
              tally.Note(tally.forbidden_shown,
                         absl::StrCat("GetTimeline ", what, " not denied"));
            }
            continue;
          }
          if (!status.ok()) {
            tally.Note(tally.allowed_refused,
                       absl::StrCat("GetTimeline ", what, ": ",
                                    status.error_message()));
            continue;
          }
          std::set<uint64_t> got;
          for (const auto& e : entries) {
            if (e.event_type() == "RecordAccessed" ||
                e.event_type() == "BreakGlassReviewed") {
              if (org != kAuditor && e.organization_id() != org) {
                tally.Note(tally.forbidden_shown,
                           absl::StrCat("GetTimeline ", what,
                                        ": another's access record"));
              }
              continue;
            }
            got.insert(e.stream_version());
          }
          compare(absl::StrCat("GetTimeline ", what), want, got);
        } else {  // summary: registered only when the registration is visible
          grpc::ClientContext context;
          AccessNetwork::Act(&context, org, PurposeName(purpose));
          v1::GetClientSummaryRequest request;
          request.set_client_id(client.id);
          v1::GetClientSummaryResponse summary;
          grpc::Status status =
              network.continuity()->GetClientSummary(&context, request, &summary);
          if (denied) {
            if (status.error_code() != grpc::StatusCode::PERMISSION_DENIED) {
              tally.Note(tally.forbidden_shown,
                         absl::StrCat("GetClientSummary ", what, " not denied"));
            }
            continue;
          }
          if (!status.ok()) {
            tally.Note(tally.allowed_refused,
                       absl::StrCat("GetClientSummary ", what, ": ",
                                    status.error_message()));
            continue;
          }
          if (summary.summary().state().registered() != (want.count(0) > 0)) {
            tally.Note(want.count(0) ? tally.allowed_refused
                                     : tally.forbidden_shown,
                       absl::StrCat("GetClientSummary ", what,
                                    ": registered=",
                                    summary.summary().state().registered()));
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_GE(tally.reads.load(), 10000);
  EXPECT_GT(tally.denied.load(), 500);
  EXPECT_GT(tally.partial.load(), 500);
  EXPECT_GT(tally.whole.load(), 500);
  std::cerr << "reads " << tally.reads << ": expected denied " << tally.denied
            << ", partly withheld " << tally.partial << ", whole "
            << tally.whole << "\n";
  EXPECT_EQ(tally.forbidden_shown.load(), 0)
      << absl::StrJoin(tally.examples, "\n");
  EXPECT_EQ(tally.allowed_refused.load(), 0)
      << absl::StrJoin(tally.examples, "\n");

  // Every read that showed another organisation's data left an access
  // record; the auditor sees them all in the timeline.
  std::vector<v1::TimelineEntry> entries;
  ASSERT_TRUE(network.Timeline(kAuditor, clients[0].id, &entries).ok());
  int accesses = 0;
  for (const auto& e : entries) accesses += e.event_type() == "RecordAccessed";
  EXPECT_GT(accesses, 0);
}

}  // namespace
}  // namespace caseline
