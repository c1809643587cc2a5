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
#include "caseline/v1/care_record.grpc.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "eventstore/fault_injection_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/access_util.h"
#include "tests/test_util.h"
#include "tools/cli_command.h"

namespace caseline {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

using testing::AccessNetwork;
using testing::kAuditor;
using testing::WithProvenance;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string ShortName(const std::string& enum_name, absl::string_view prefix) {
  return enum_name.substr(prefix.size());
}

// --- The reference model
// ------------------------------------------------------
//
// Written from docs/access.md without the server's code: which data classes an
// event carries, who is involved (a planned transition's receiver too), which
// consent covers what, and the referral sender's closed loop (it sees its
// referral's lifecycle events whatever the consents say). The network is
// built under the write rule: only involved organisations write, and every
// consent carries its provenance.

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
  ModelEvent(uint32_t c, std::string a, std::string sender = "")
      : classes(c), author(std::move(a)), referral_sender(std::move(sender)) {}
  uint32_t classes = 0;
  std::string author;
  // A referral lifecycle event (accepted, declined, ..., cancelled): the
  // referral's sender, who always sees it (the closed loop).
  std::string referral_sender;
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
    if (!e.referral_sender.empty() && e.referral_sender == org) return true;
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
      const int kind = static_cast<int>(rng() % 8);
      // The write rule: only an organisation already involved records.
      const std::string author = chance(0.5) ? c.registrar : pick(c.involved);
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
        // A consent to recipient types that lists Part 2 data is refused at
        // write time (42 CFR 2.31): such a consent names its recipients.
        if (k.classes.count(v1::DATA_CLASS_SUBSTANCE_USE_PART2) &&
            !k.types.empty()) {
          types = json::array();
          k.types.clear();
          if (recipients.empty()) {
            const std::string o = pick(agencies);
            recipients.push_back(o);
            k.orgs.insert(o);
          }
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
                        {{"consent_given", WithProvenance(given)}});
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
        // The receiver answers; its lifecycle events go back to the sender
        // (the closed loop) whatever the consents say.
        const int answer = static_cast<int>(rng() % 4);
        if (answer == 1 || answer == 2) {
          network.Command(to, "Referrals.AcceptReferral", c.id,
                          {{"referral_accepted", {{"referral_id", id}}}});
          c.events.push_back({model.Classes(classes, to, {}), to, author});
        }
        if (answer == 2) {
          network.Command(
              to, "Referrals.CompleteReferral", c.id,
              {{"referral_completed",
                {{"referral_id", id}, {"delivered", "connected"}}}});
          c.events.push_back({model.Classes(classes, to, {}), to, author});
        } else if (answer == 3) {
          network.Command(to, "Referrals.DeclineReferral", c.id,
                          {{"referral_declined",
                            {{"referral_id", id}, {"reason", "no capacity"}}}});
          c.events.push_back({model.Classes(classes, to, {}), to, author});
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
      } else if (kind == 5) {  // a transition: its receiver becomes involved
        const std::string to = pick(agencies);
        network.Command(author, "Transitions.PlanTransition", c.id,
                        {{"transition_planned",
                          {{"transition_id", absl::StrCat("t", other_n++)},
                           {"from_level_of_care", "LEVEL_OF_CARE_INPATIENT"},
                           {"to_level_of_care", "LEVEL_OF_CARE_COMMUNITY"},
                           {"to_organization_id", to}}}});
        c.events.push_back(
            {model.Classes(Bit(v1::DATA_CLASS_GENERAL), author, {to}), author});
        c.involved.insert(to);
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
  // Under the sanitizers (ten to fifty times slower) a tenth of them: the
  // full 10,000 run in the normal build.
  const int kThreads = 8;
  const int kReadsPerThread = testing::kUnderSanitizer ? 125 : 1250;
  const int kMinReads = testing::kUnderSanitizer ? 1000 : 10000;
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

  EXPECT_GE(tally.reads.load(), kMinReads);
  EXPECT_GT(tally.denied.load(), kMinReads / 20);
  EXPECT_GT(tally.partial.load(), kMinReads / 20);
  EXPECT_GT(tally.whole.load(), kMinReads / 20);
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

// --- The scenarios of ../shared/domain/README.md that hinge on consent ------

// The stream versions `org` gets of the client's stream, or the status.
std::vector<std::string> TypesSeen(AccessNetwork& network,
                                   const std::string& org,
                                   const std::string& client,
                                   grpc::Status* status,
                                   v1::Withheld* withheld = nullptr) {
  v1::ReadStreamResponse page;
  *status = network.ReadStream(org, absl::StrCat("client-", client), &page);
  std::vector<std::string> types;
  for (const auto& e : page.events()) types.push_back(e.event_type());
  if (withheld != nullptr) *withheld = page.withheld();
  return types;
}

json Consent(const std::string& id, const std::vector<std::string>& orgs,
             const std::vector<std::string>& classes) {
  json c = {{"consent_id", id}, {"recipient_organization_ids", orgs},
            {"data_classes", json::array()}};
  for (const auto& k : classes) c["data_classes"].push_back("DATA_CLASS_" + k);
  return WithProvenance(c);
}

json Referral(const std::string& id, const std::string& to,
              const std::string& category,
              const std::vector<std::string>& shared = {}) {
  json r = {{"referral_id", id},
            {"to_organization_id", to},
            {"kind", "REFERRAL_KIND_WARM"},
            {"service_category", "SERVICE_CATEGORY_" + category},
            {"shared_data_classes", json::array()}};
  for (const auto& k : shared) {
    r["shared_data_classes"].push_back("DATA_CLASS_" + k);
  }
  return r;
}

// Scenario 3: an older couple; their adult children (through an advocacy
// organisation) push for a nursing home. Without the couple's consent nothing
// is disclosed, not even to the nursing home a referral names.
TEST(AccessScenarioTest, AdultChildrenGetNothingWithoutTheCouplesConsent) {
  AccessNetwork network({{"elder-cm", v1::ORGANIZATION_TYPE_SOCIAL_SERVICES},
                         {"family-advocates",
                          v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY},
                         {"sunrise-nursing", v1::ORGANIZATION_TYPE_HOME_CARE}});
  ASSERT_TRUE(network.ok());
  for (const std::string client : {"husband", "wife"}) {
    ASSERT_NO_FATAL_FAILURE(network.Command(
        "elder-cm", "Clients.RegisterClient", client,
        {{"client_registered", {{"name", {{"family", "Abernathy"}}}}}}));
    ASSERT_NO_FATAL_FAILURE(network.Command(
        "elder-cm", "Plans.RecordAssessment", client,
        {{"assessment_recorded",
          {{"assessment_id", "a1"},
           {"domains",
            {{{"domain", "SERVICE_CATEGORY_MENTAL_HEALTH"},
              {"need_level", "NEED_LEVEL_LOW"}}}}}}}));
  }
  // The case manager refers the husband to the nursing home for an
  // assessment, sharing nothing (no consent).
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "elder-cm", "Referrals.SendReferral", "husband",
      {{"referral_sent", Referral("r1", "sunrise-nursing", "IN_HOME_CARE")}}));

  grpc::Status status;
  for (const std::string client : {"husband", "wife"}) {
    TypesSeen(network, "family-advocates", client, &status);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << client;
    EXPECT_THAT(status.error_message(), HasSubstr("not involved"));
    std::vector<v1::TimelineEntry> entries;
    EXPECT_EQ(network.Timeline("family-advocates", client, &entries)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // Involved through the referral, the nursing home still sees nothing: no
  // consent covers it.
  v1::Withheld withheld;
  EXPECT_THAT(TypesSeen(network, "sunrise-nursing", "husband", &status,
                        &withheld),
              ::testing::IsEmpty());
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(withheld.count(), 3u);
  EXPECT_THAT(withheld.reason(), HasSubstr("no consent"));
  // A subscription of the advocates delivers nothing about either.
  {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, "family-advocates");
    v1::SubscribeRequest request;
    request.set_from_position(1);
    auto reader = network.log()->Subscribe(&context, request);
    v1::SubscribeResponse message;
    while (reader->Read(&message) && !message.has_caught_up()) {
      if (message.has_event()) {
        EXPECT_FALSE(absl::StartsWith(message.event().stream_id(), "client-"))
            << message.event().stream_id();
      }
    }
    context.TryCancel();
    reader->Finish();
  }
  // Once the husband consents to the nursing home for general information,
  // it sees that (the home-care referral is general) and not the
  // mental-health assessment; the children still see nothing.
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "elder-cm", "Consents.GiveConsent", "husband",
      {{"consent_given", Consent("k1", {"sunrise-nursing"}, {"GENERAL"})}}));
  EXPECT_THAT(TypesSeen(network, "sunrise-nursing", "husband", &status,
                        &withheld),
              ::testing::ElementsAre("ClientRegistered", "ReferralSent",
                                     "ConsentGiven"));
  EXPECT_EQ(withheld.count(), 1u);  // the assessment
  EXPECT_THAT(withheld.data_classes(),
              ::testing::ElementsAre(v1::DATA_CLASS_MENTAL_HEALTH));
  TypesSeen(network, "family-advocates", "husband", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

// Scenario 5: teenagers in foster care whose records are subpoenaed. Only what
// the court asked for is released, the release is in the accounting, and the
// court cannot read the record itself.
TEST(AccessScenarioTest, SubpoenaReleasesOnlyWhatWasAskedAndIsOnTheRecord) {
  AccessNetwork network({{"child-welfare", v1::ORGANIZATION_TYPE_SOCIAL_SERVICES},
                         {"county-court", v1::ORGANIZATION_TYPE_COURT_PAROLE},
                         {"teen-counselling",
                          v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH}});
  ASSERT_TRUE(network.ok());
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "child-welfare", "Clients.RegisterClient", "teen-1",
      {{"client_registered", {{"name", {{"family", "Doe"}}}}}}));
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "child-welfare", "Consents.GiveConsent", "teen-1",
      {{"consent_given",
        Consent("k-counselling", {"teen-counselling"},
                {"GENERAL", "MENTAL_HEALTH"})}}));
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "child-welfare", "Referrals.SendReferral", "teen-1",
      {{"referral_sent",
        Referral("r-mh", "teen-counselling", "MENTAL_HEALTH",
                 {"MENTAL_HEALTH"})}}));
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "child-welfare", "Plans.SetGoal", "teen-1",
      {{"goal_set",
        {{"goal_id", "g-school"},
         {"domain", "SERVICE_CATEGORY_EDUCATION"},
         {"description", "attend school 90% of days"},
         {"measure", "attendance"},
         {"target_date", {{"year", 2027}, {"month", 6}, {"day", 30}}}}}}));
  // The court orders the school attendance record; the agency releases it.
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "child-welfare", "Consents.RecordDisclosure", "teen-1",
      {{"information_disclosed",
        {{"disclosure_id", "subpoena-1"},
         {"recipient_organization_id", "county-court"},
         {"data_classes", {"DATA_CLASS_EDUCATION"}},
         {"purpose", "PURPOSE_OF_USE_LEGAL"},
         {"description", "school attendance 2025-26"},
         {"legal_basis", "court order 2026-JV-114"}}}}));

  // The court holds no consent and is not involved: it reads nothing.
  grpc::Status status;
  TypesSeen(network, "county-court", "teen-1", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The accounting shows the release, only education, and its legal basis.
  grpc::ClientContext context;
  AccessNetwork::Act(&context, kAuditor);
  v1::ListDisclosuresRequest request;
  request.set_client_id("teen-1");
  v1::ListDisclosuresResponse disclosures;
  ASSERT_TRUE(
      network.audit()->ListDisclosures(&context, request, &disclosures).ok());
  const v1::Disclosure* release = nullptr;
  for (const auto& d : disclosures.disclosures()) {
    if (d.subject_id() == "subpoena-1") release = &d;
  }
  ASSERT_NE(release, nullptr);
  EXPECT_EQ(release->recipient_organization_id(), "county-court");
  EXPECT_THAT(release->data_classes(),
              ::testing::ElementsAre(v1::DATA_CLASS_EDUCATION));
  EXPECT_EQ(release->legal_basis(), "court order 2026-JV-114");
  // The counselling agency sees the mental-health referral it got, not the
  // education goal or the court release.
  EXPECT_THAT(TypesSeen(network, "teen-counselling", "teen-1", &status),
              ::testing::ElementsAre("ClientRegistered", "ConsentGiven",
                                     "ReferralSent"));
}

// Scenario 1: a man leaving prison. His case manager obtains consent to share
// with a parole officer, county social services, job placement and a
// behavioural-health agency, each for what it needs; each sees exactly that.
TEST(AccessScenarioTest, ReentryEachOfFourOrganisationsSeesOnlyWhatTheConsentCovers) {
  AccessNetwork network(
      {{"reentry-cm", v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY},
       {"state-parole", v1::ORGANIZATION_TYPE_COURT_PAROLE},
       {"county-social", v1::ORGANIZATION_TYPE_SOCIAL_SERVICES},
       {"job-placement", v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY},
       {"bh-agency", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH}});
  ASSERT_TRUE(network.ok());
  const std::string c = "marcus";
  auto run = [&](const std::string& method, json body) {
    network.Command("reentry-cm", method, c, std::move(body));
  };
  ASSERT_NO_FATAL_FAILURE(run("Clients.RegisterClient",
                              {{"client_registered",
                                {{"name", {{"family", "Reed"}}}}}}));  // v0
  ASSERT_NO_FATAL_FAILURE(run(
      "Consents.GiveConsent",
      {{"consent_given", Consent("k-parole", {"state-parole"},
                                 {"GENERAL", "LEGAL"})}}));  // v1
  ASSERT_NO_FATAL_FAILURE(run(
      "Consents.GiveConsent",
      {{"consent_given", Consent("k-county", {"county-social"},
                                 {"GENERAL", "HOUSING", "FINANCIAL"})}}));
  ASSERT_NO_FATAL_FAILURE(run(
      "Consents.GiveConsent",
      {{"consent_given", Consent("k-jobs", {"job-placement"}, {"GENERAL"})}}));
  ASSERT_NO_FATAL_FAILURE(run(
      "Consents.GiveConsent",
      {{"consent_given",
        Consent("k-bh", {"bh-agency"},
                {"GENERAL", "MENTAL_HEALTH", "SUBSTANCE_USE_PART2"})}}));  // v4
  ASSERT_NO_FATAL_FAILURE(run("Referrals.SendReferral",
                              {{"referral_sent",
                                Referral("r-parole", "state-parole",
                                         "PROBATION_PAROLE", {"LEGAL"})}}));
  ASSERT_NO_FATAL_FAILURE(run("Referrals.SendReferral",
                              {{"referral_sent",
                                Referral("r-housing", "county-social",
                                         "HOUSING", {"HOUSING"})}}));
  ASSERT_NO_FATAL_FAILURE(run("Referrals.SendReferral",
                              {{"referral_sent",
                                Referral("r-benefits", "county-social",
                                         "FINANCIAL_ASSISTANCE",
                                         {"FINANCIAL"})}}));
  ASSERT_NO_FATAL_FAILURE(run("Referrals.SendReferral",
                              {{"referral_sent",
                                Referral("r-jobs", "job-placement",
                                         "EMPLOYMENT", {"GENERAL"})}}));
  ASSERT_NO_FATAL_FAILURE(run("Referrals.SendReferral",
                              {{"referral_sent",
                                Referral("r-mh", "bh-agency", "MENTAL_HEALTH",
                                         {"MENTAL_HEALTH"})}}));
  ASSERT_NO_FATAL_FAILURE(run("Referrals.SendReferral",
                              {{"referral_sent",
                                Referral("r-sud", "bh-agency", "SUBSTANCE_USE",
                                         {"SUBSTANCE_USE_PART2"})}}));  // v10
  ASSERT_NO_FATAL_FAILURE(run(
      "Plans.RecordAssessment",
      {{"assessment_recorded",
        {{"assessment_id", "a1"},
         {"domains",
          {{{"domain", "SERVICE_CATEGORY_SUBSTANCE_USE"},
            {"need_level", "NEED_LEVEL_HIGH"}},
           {{"domain", "SERVICE_CATEGORY_MENTAL_HEALTH"},
            {"need_level", "NEED_LEVEL_MODERATE"}}}}}}}));  // v11

  auto versions = [&](const std::string& org) {
    v1::ReadStreamResponse page;
    grpc::Status status =
        network.ReadStream(org, absl::StrCat("client-", c), &page);
    EXPECT_TRUE(status.ok()) << org << ": " << status.error_message();
    std::vector<uint64_t> out;
    for (const auto& e : page.events()) out.push_back(e.stream_version());
    return out;
  };
  using ::testing::ElementsAre;
  // General events (registration, consents, the employment referral) and
  // each organisation's own classes.
  EXPECT_THAT(versions("state-parole"), ElementsAre(0, 1, 2, 3, 4, 5, 8));
  EXPECT_THAT(versions("county-social"), ElementsAre(0, 1, 2, 3, 4, 6, 7, 8));
  EXPECT_THAT(versions("job-placement"), ElementsAre(0, 1, 2, 3, 4, 8));
  EXPECT_THAT(versions("bh-agency"), ElementsAre(0, 1, 2, 3, 4, 8, 9, 10, 11));
  // Each look is on the record: four organisations, four access records.
  std::vector<v1::TimelineEntry> entries;
  ASSERT_TRUE(network.Timeline(kAuditor, c, &entries).ok());
  std::set<std::string> readers;
  for (const auto& e : entries) {
    if (e.event_type() == "RecordAccessed") {
      readers.insert(e.organization_id());
      EXPECT_EQ(e.event().record_accessed().basis(), v1::ACCESS_BASIS_CONSENT);
    }
  }
  EXPECT_THAT(readers, ElementsAre("bh-agency", "county-social",
                                   "job-placement", "state-parole"));
}

// --- Break-the-glass and access records ---------------------------------------

TEST(BreakGlassTest, EmergencyOverrideIsRecordedListedAndReviewed) {
  AccessNetwork network({{"clinic", v1::ORGANIZATION_TYPE_PRIMARY_CARE},
                         {"sud-program",
                          v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT},
                         {"er-hospital", v1::ORGANIZATION_TYPE_HOSPITAL}});
  ASSERT_TRUE(network.ok());
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "sud-program", "Clients.RegisterClient", "p1",
      {{"client_registered", {{"name", {{"family", "Lopez"}}}}}}));
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "sud-program", "Services.StartService", "p1",
      {{"service_started",
        {{"service_id", "mat-1"},
         {"provider_organization_id", "sud-program"},
         {"category", "SERVICE_CATEGORY_SUBSTANCE_USE"},
         {"level_of_care", "LEVEL_OF_CARE_OUTPATIENT"}}}}));

  // Without consent the emergency department is refused...
  grpc::Status status;
  TypesSeen(network, "er-hospital", "p1", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("break the glass"));
  // ...until it breaks the glass, for this one read.
  v1::ReadStreamResponse page;
  ASSERT_TRUE(network
                  .ReadStream("er-hospital", "client-p1", &page, "",
                              "overdose, patient unresponsive")
                  .ok());
  EXPECT_EQ(page.events_size(), 2);
  TypesSeen(network, "er-hospital", "p1", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The auditors' list has it, with who, when, why and what was shown.
  auto list = [&](bool include_reviewed) {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, kAuditor);
    v1::ListBreakGlassRequest request;
    request.set_include_reviewed(include_reviewed);
    request.set_min_position(network.server().event_log().HeadPosition());
    v1::ListBreakGlassResponse response;
    EXPECT_TRUE(network.access_audit()
                    ->ListBreakGlass(&context, request, &response)
                    .ok());
    return response;
  };
  v1::ListBreakGlassResponse pending = list(false);
  ASSERT_EQ(pending.accesses_size(), 1);
  const v1::BreakGlassAccess& access = pending.accesses(0);
  EXPECT_EQ(access.client_id(), "p1");
  EXPECT_EQ(access.organization_id(), "er-hospital");
  EXPECT_EQ(access.user_id(), "er-hospital-worker");
  EXPECT_EQ(access.reason(), "overdose, patient unresponsive");
  EXPECT_EQ(access.access().positions_shown_size(), 2);
  EXPECT_THAT(access.access().data_classes_shown(),
              ::testing::Contains(v1::DATA_CLASS_SUBSTANCE_USE_PART2));
  EXPECT_EQ(access.access().purpose(), v1::PURPOSE_OF_USE_EMERGENCY_TREATMENT);

  // Agencies may not list or review.
  {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, "clinic");
    v1::ListBreakGlassResponse response;
    EXPECT_EQ(network.access_audit()
                  ->ListBreakGlass(&context, v1::ListBreakGlassRequest(),
                                   &response)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  auto review = [&](const std::string& note) {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, kAuditor);
    v1::MarkBreakGlassReviewedRequest request;
    request.set_access_event_id(access.access_event_id());
    request.set_note(note);
    v1::MarkBreakGlassReviewedResponse response;
    grpc::Status s = network.access_audit()->MarkBreakGlassReviewed(
        &context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  };
  EXPECT_FALSE(review("emergency confirmed with the ED attending")
                   .already_reviewed());
  EXPECT_TRUE(review("again").already_reviewed());
  EXPECT_EQ(list(false).accesses_size(), 0);
  v1::ListBreakGlassResponse all = list(true);
  ASSERT_EQ(all.accesses_size(), 1);
  EXPECT_TRUE(all.accesses(0).reviewed());
  EXPECT_EQ(all.accesses(0).reviewed_by_organization_id(), kAuditor);
  EXPECT_EQ(all.accesses(0).review_note(),
            "emergency confirmed with the ED attending");

  // The accounting of disclosures lists the override with its reason; the
  // auditors' own reads are on the record too.
  grpc::ClientContext context;
  AccessNetwork::Act(&context, kAuditor);
  v1::ListDisclosuresRequest request;
  request.set_client_id("p1");
  v1::ListDisclosuresResponse disclosures;
  ASSERT_TRUE(
      network.audit()->ListDisclosures(&context, request, &disclosures).ok());
  bool override_listed = false;
  for (const auto& d : disclosures.disclosures()) {
    if (d.source() == "access" && d.recipient_organization_id() == "er-hospital") {
      override_listed = true;
      EXPECT_THAT(d.legal_basis(), HasSubstr("break-the-glass"));
      EXPECT_THAT(d.legal_basis(), HasSubstr("overdose"));
    }
  }
  EXPECT_TRUE(override_listed);
  std::vector<v1::TimelineEntry> entries;
  ASSERT_TRUE(network.Timeline(kAuditor, "p1", &entries).ok());
  int auditor_reads = 0;
  for (const auto& e : entries) {
    auditor_reads += e.event_type() == "RecordAccessed" &&
                     e.organization_id() == kAuditor;
  }
  EXPECT_GE(auditor_reads, 2);  // the ListBreakGlass calls, the accounting
}

// While the log cannot write (a failed WAL sync), a read that must leave an
// access record fails UNAVAILABLE and shows nothing, even when breaking the
// glass; a read of the caller's own events needs no record and still works.
TEST(AccessOutageTest, RecordedReadsFailUnavailableWhileTheLogCannotWrite) {
  eventstore::FaultInjectionEnv env;  // outlives the server
  AccessNetwork network(
      {{"sud-program", v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT},
       {"er-hospital", v1::ORGANIZATION_TYPE_HOSPITAL}},
      env.env());
  ASSERT_TRUE(network.ok());
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "sud-program", "Clients.RegisterClient", "p1",
      {{"client_registered", {{"name", {{"family", "Lopez"}}}}}}));
  ASSERT_NO_FATAL_FAILURE(network.Command(
      "sud-program", "Services.StartService", "p1",
      {{"service_started",
        {{"service_id", "mat-1"},
         {"provider_organization_id", "sud-program"},
         {"category", "SERVICE_CATEGORY_SUBSTANCE_USE"},
         {"level_of_care", "LEVEL_OF_CARE_OUTPATIENT"}}}}));
  const uint64_t head = network.server().event_log().HeadPosition();

  env.SetWalSyncFails(true);
  v1::ReadStreamResponse page;
  grpc::Status status = network.ReadStream("er-hospital", "client-p1", &page,
                                           "", "overdose, unresponsive");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_EQ(page.events_size(), 0);
  env.SetWalSyncFails(false);  // the log stays refusing until a restart
  {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, "er-hospital", "", "overdose, unresponsive");
    v1::GetClientSummaryRequest request;
    request.set_client_id("p1");
    v1::GetClientSummaryResponse summary;
    status = network.continuity()->GetClientSummary(&context, request,
                                                    &summary);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << status.error_message();
    EXPECT_FALSE(summary.summary().state().registered());
  }
  // The programme reads its own events: nothing to record, so it still works.
  page.Clear();
  status = network.ReadStream("sud-program", "client-p1", &page);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(page.events_size(), 2);
  // Nothing was written: no event shown without its access record.
  EXPECT_EQ(network.server().event_log().HeadPosition(), head);
}

TEST(AccessRulesTest, RolesGateGlobalReadsWritesAndRebuilds) {
  AccessNetwork network({{"clinic", v1::ORGANIZATION_TYPE_PRIMARY_CARE}});
  ASSERT_TRUE(network.ok());
  {  // ReadAll is for auditors and admins.
    grpc::ClientContext context;
    AccessNetwork::Act(&context, "clinic");
    v1::ReadAllResponse page;
    grpc::Status s =
        network.log()->ReadAll(&context, v1::ReadAllRequest(), &page);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(s.error_message(), HasSubstr("auditor"));
  }
  {
    grpc::ClientContext context;
    AccessNetwork::Act(&context, kAuditor);
    v1::ReadAllResponse page;
    EXPECT_TRUE(
        network.log()->ReadAll(&context, v1::ReadAllRequest(), &page).ok());
  }
  {  // Raw appends are for admins.
    grpc::ClientContext context;
    AccessNetwork::Act(&context, "clinic");
    v1::AppendRequest request;
    request.set_stream_id("client-x");
    request.add_events()->set_event_type("Anything");
    v1::AppendResponse response;
    EXPECT_EQ(network.log()->Append(&context, request, &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {  // An auditor does not record care events.
    absl::StatusOr<tools::PreparedCommand> command = tools::PrepareCommand(
        "Clients.RegisterClient",
        R"({"command_id":"x","client_id":"c9","client_registered":{}})");
    ASSERT_TRUE(command.ok());
    absl::StatusOr<std::string> result = tools::SendCommand(
        grpc::CreateChannel(network.server().address(),
                            grpc::InsecureChannelCredentials()),
        *command, kAuditor, "", absl::Seconds(10));
    EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied);
  }
  {  // An organisation the access config does not list.
    grpc::ClientContext context;
    AccessNetwork::Act(&context, "stranger");
    v1::ReadStreamResponse page;
    v1::ReadStreamRequest request;
    request.set_stream_id("organizations");
    grpc::Status s = network.log()->ReadStream(&context, request, &page);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(s.error_message(), HasSubstr("--access_config"));
  }
  {  // No identity at all.
    grpc::ClientContext context;
    v1::ReadStreamResponse page;
    v1::ReadStreamRequest request;
    request.set_stream_id("organizations");
    EXPECT_EQ(network.log()->ReadStream(&context, request, &page).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {  // Bad metadata is named.
    grpc::ClientContext context;
    AccessNetwork::Act(&context, "clinic", "GOSSIP");
    v1::ReadStreamResponse page;
    v1::ReadStreamRequest request;
    request.set_stream_id("organizations");
    grpc::Status s = network.log()->ReadStream(&context, request, &page);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("x-caseline-purpose"));
  }
  {  // The acting person's discipline is the actor's role in the record.
    grpc::ClientContext context;
    AccessNetwork::Act(&context, "clinic");
    context.AddMetadata("x-caseline-discipline", "NURSING");
    v1::RegisterClientRequest request;
    request.set_command_id("d1");
    request.set_client_id("d1");
    request.mutable_client_registered()->mutable_name()->set_family("Ito");
    v1::CommandResult result;
    ASSERT_TRUE(v1::Clients::NewStub(grpc::CreateChannel(
                    network.server().address(),
                    grpc::InsecureChannelCredentials()))
                    ->RegisterClient(&context, request, &result)
                    .ok());
    v1::ReadStreamResponse page;
    ASSERT_TRUE(network.ReadStream(kAuditor, "client-d1", &page).ok());
    ASSERT_EQ(page.events_size(), 1);
    EXPECT_EQ(page.events(0).actor().organization_id(), "clinic");
    EXPECT_EQ(page.events(0).actor().user_id(), "clinic-worker");
    EXPECT_EQ(page.events(0).actor().role(), "NURSING");
  }
  {  // Organisations register only themselves.
    absl::StatusOr<tools::PreparedCommand> command = tools::PrepareCommand(
        "Organizations.RegisterOrganization",
        R"({"command_id":"y","organization_registered":{"organization_id":"other","name":"Other","type":"ORGANIZATION_TYPE_HOSPITAL"}})");
    ASSERT_TRUE(command.ok());
    absl::StatusOr<std::string> result = tools::SendCommand(
        grpc::CreateChannel(network.server().address(),
                            grpc::InsecureChannelCredentials()),
        *command, "clinic", "", absl::Seconds(10));
    EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied);
  }
}

}  // namespace
}  // namespace caseline
