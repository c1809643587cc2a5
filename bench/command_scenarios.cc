#include "bench/command_scenarios.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace caseline::bench {

namespace v1 = caseline::v1;

namespace {

std::string Agency(int caller) {
  return absl::StrCat("bench-agency-", caller % kCommandAgencies);
}

void ActAs(grpc::ClientContext* context, int caller) {
  context->AddMetadata("x-caseline-org", Agency(caller));
  context->AddMetadata("x-caseline-user", absl::StrCat("worker-", caller));
}

// A family name of letters only, different for every n: the duplication
// projection blocks registrations by name, and a benchmark of many "Client
// 17"s would make one huge block no real population has.
std::string LettersOf(uint64_t n) {
  std::string s;
  n = n * 2654435761u + 12345;  // spread neighbouring numbers apart
  do {
    s.push_back(static_cast<char>('a' + n % 26));
    n /= 26;
  } while (n > 0);
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

}  // namespace

CommandScenarios::CommandScenarios(std::shared_ptr<grpc::Channel> channel,
                                   absl::Duration warmup,
                                   absl::Duration duration)
    : clients_(v1::Clients::NewStub(channel)),
      transitions_(v1::Transitions::NewStub(channel)),
      organizations_(v1::Organizations::NewStub(channel)),
      warmup_(warmup),
      duration_(duration) {}

absl::Status CommandScenarios::RegisterAgencies() {
  if (agencies_registered_) return absl::OkStatus();
  for (int a = 0; a < kCommandAgencies; ++a) {
    v1::RegisterOrganizationRequest request;
    request.set_command_id("bench-register-organization");
    v1::OrganizationRegistered* org = request.mutable_organization_registered();
    org->set_organization_id(Agency(a));
    org->set_name(absl::StrCat("Benchmark Community Agency ", a));
    org->set_type(v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY);
    grpc::ClientContext context;
    ActAs(&context, a);
    v1::CommandResult result;
    const grpc::Status s =
        organizations_->RegisterOrganization(&context, request, &result);
    if (!s.ok()) return FromGrpc(s, absl::StrCat("registering ", Agency(a)));
  }
  agencies_registered_ = true;
  return absl::OkStatus();
}

absl::StatusOr<Load> CommandScenarios::RecordFollowUps(int callers,
                                                       int clients_per_caller) {
  if (absl::Status s = RegisterAgencies(); !s.ok()) return s;
  const int run = runs_++;
  // clients[c]: the ids of caller c's clients.
  std::vector<std::vector<std::string>> clients(callers);
  for (int c = 0; c < callers; ++c) {
    for (int i = 0; i < clients_per_caller; ++i) {
      const std::string id = absl::StrCat("bench-", run, "-", c, "-", i);
      v1::RegisterClientRequest request;
      request.set_command_id(absl::StrCat("register-", id));
      request.set_client_id(id);
      v1::ClientRegistered* client = request.mutable_client_registered();
      client->mutable_name()->set_given("Bench");
      client->mutable_name()->set_family(
          LettersOf((static_cast<uint64_t>(run) << 32) +
                    static_cast<uint64_t>(c * clients_per_caller + i)));
      client->mutable_birth_date()->set_year(1940 + (c + i) % 60);
      client->mutable_birth_date()->set_month(1 + i % 12);
      client->mutable_birth_date()->set_day(1 + c % 28);
      grpc::ClientContext context;
      ActAs(&context, c);
      v1::CommandResult result;
      const grpc::Status s =
          clients_->RegisterClient(&context, request, &result);
      if (!s.ok()) return FromGrpc(s, absl::StrCat("registering ", id));
      clients[c].push_back(id);
    }
  }

  std::vector<uint64_t> sent(callers, 0);
  return RunAsyncClosedLoop(
      callers, 1, warmup_, duration_,
      [&, run](int caller, std::function<void(bool)> done) {
        struct Call {
          grpc::ClientContext context;
          v1::RecordFollowUpRequest request;
          v1::CommandResult response;
        };
        auto* call = new Call;
        const uint64_t n = sent[caller]++;
        ActAs(&call->context, caller);
        call->request.set_command_id(
            absl::StrCat("follow-up-", run, "-", caller, "-", n));
        call->request.set_client_id(
            clients[caller][n % clients[caller].size()]);
        v1::FollowUpCompleted* follow_up =
            call->request.mutable_follow_up_completed();
        follow_up->set_follow_up_id(absl::StrCat("f", n));
        follow_up->set_contact_kind(v1::CONTACT_KIND_PHONE);
        follow_up->set_provider_organization_id(Agency(caller));
        follow_up->set_provider_discipline(v1::DISCIPLINE_SOCIAL_WORK);
        transitions_->async()->RecordFollowUp(
            &call->context, &call->request, &call->response,
            [call, done](grpc::Status s) {
              const bool ok = s.ok() && !call->response.already_applied() &&
                              call->response.event_types_size() == 1;
              if (!ok) {
                std::fprintf(stderr, "care command failed: %s\n",
                             s.ok() ? "did not write exactly one event"
                                    : s.error_message().c_str());
              }
              delete call;
              done(ok);
            });
      });
}

}  // namespace caseline::bench
