// The demo care network: loads a realistic synthetic network of organisations
// and clients into a running caselined through the public caseline.v1 command
// services only (Organizations, Clients, Consents, Plans, Referrals, Services,
// CareTeams, Transitions, Worklists), acting as each organisation through the
// request metadata x-caseline-org / x-caseline-user.
//
// What it writes:
//   - 13 organisations of every OrganizationType, each with its service
//     categories and a few staff (who act as users and join care teams);
//   - the six scenarios of shared/domain/README.md as named clients with fixed
//     ids (ScenarioClientIds()), following each scenario closely;
//   - two named example clients (ExampleClientIds()): twin brothers
//     registered by two agencies, whose possible-duplicate finding a case
//     manager dismisses (DuplicateDismissed) as two people;
//   - `clients` synthetic clients with ids "s<seed>-c<index>", each with a
//     plausible history (consents, some by a legally authorised representative
//     and some revoked, assessments, SMART goals with progress, referrals in
//     every lifecycle state, warm and cold, a care team with one lead case
//     manager, team meetings, admissions with their primary need, transition
//     plans, discharges with and without follow-up, readmissions, overlapping
//     and same-day services, a second referral for one need, closed cases),
//     plus a few near-duplicate second registrations by another agency
//     ("s<seed>-d<index>"), some of them linked.
//
// What the views then show, judged at base_date (docs/views.md):
//   - worklists: stale referrals for senders and receivers, transitions and
//     follow-ups due for facilities and receiving organisations, discharges
//     without an accepted receiver for the discharging facility and services
//     ended or interrupted without a successor for their provider; Mercy
//     General's (org-mercy-general) has all five and includes Harold
//     Bennett's return home, due two days after base_date
//     (scenario-older-couple-1, admitted after a fall), claimed by its
//     discharge planner mercy.rivera (WorklistItemClaimed), and the
//     veteran's unanswered referral from its ED;
//   - gaps with most reason codes: referrals not answered or not started,
//     services ended or interrupted without a successor (the displaced
//     family's food programme), discharges without follow-up or accepted
//     receiver, receivers without consent, overdue team meetings;
//   - findings of every kind: overlapping services (client 7 of every 40 and
//     some others), same-day services (the displaced family's two food
//     services on the night of the flood, and some synthetic clients),
//     duplicate referrals (the veteran's two peer-group referrals, and some
//     synthetic clients), possible duplicate clients (the second
//     registrations, and the twins' pair, dismissed);
//   - measures: FUH, FUM and readmission from the admissions' primary need
//     (MENTAL_HEALTH for psychiatric stays and mental-health ED visits, e.g.
//     the veteran's); clients 3, 13, 17, 23, 33 and 37 of every 40 have a
//     mental illness and stays that cover the measures' cases (follow-up
//     within 7 days; on the discharge day and then on day 8..30; none;
//     readmitted within 30 days; an ED visit followed up the same day, and
//     on day 8..28); the other clients' follow-ups fall on the discharge
//     day, within 7 days, 8..30 or later, or never, at random;
//   - the accounting of disclosures: the referrals that shared data, and the
//     foster teens' court-ordered release (InformationDisclosed with the
//     court order as its legal basis and only DATA_CLASS_EDUCATION);
//   - caseloads: Eastside's nurse case manager (eastside.lopez) leads about
//     one synthetic case in seven, far above 50 with the default 1000
//     clients (as do a few others).
//
// Determinism: everything sent depends only on (seed, base_date, clients):
// no clock, no thread scheduling. Each synthetic client's history depends only
// on (seed, base_date, its index), so a larger --clients extends a smaller run.
// The organisations and the named (scenario and example) clients do not
// depend on the seed.
// Command ids are "demo-<client_id>-<n>" and, for the directory,
// "demo-<organization_id>" (e.g. "demo-org-mercy-general"), so re-running the
// same demo is idempotent: the server answers already_applied and writes
// nothing. Another seed against the same server adds another synthetic
// population and shares the organisations and the named clients; another
// base_date against the same server is refused (ALREADY_EXISTS: the command ids
// are reused for other commands).
//
// Business times (occurred_at) all fall before base_date (00:00 UTC), so
// base_date must not be in the future. Cases open over the 14 months before
// it and their histories run on from there (a reentry client's booking goes
// back years); whatever would happen on or after base_date is left out, so
// open cases end mid-story: referrals still requested, clients still admitted.
//
// The folder, by concern (all internal but this header, in namespace
// caseline::tools::demo): common.h (random numbers, days), network.{h,cc}
// (the organisations and their staff), history.{h,cc} (planned commands and
// per-client histories), events.{h,cc} (care event builders), text.{h,cc}
// (what each service category means in a plan), script.h and scenario_*.cc,
// example_twins.cc (the named clients), personas.{h,cc} and
// synthetic_client.{h,cc} (the synthetic population), sender.{h,cc} (the
// rpc of each command from care::CommandCatalog), demo.cc (this header).
#ifndef CASELINE_TOOLS_DEMO_DEMO_H_
#define CASELINE_TOOLS_DEMO_DEMO_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace caseline::tools {

struct DemoOptions {
  // Synthetic clients, in addition to the scenario clients and the
  // near-duplicate registrations. 0..1000000.
  int clients = 1000;
  // Seeds the synthetic population (std::mt19937_64 per client).
  uint64_t seed = 1;
  // Clients whose commands are in flight at once (one thread each, sharing the
  // channel). Each client's commands are sent in order. 1..256.
  int concurrency = 8;
  // The demo's "today": every business time is before 00:00 UTC of this day.
  absl::CivilDay base_date = absl::CivilDay(2026, 1, 5);
  // Deadline of each call.
  absl::Duration call_timeout = absl::Seconds(30);
  // Optional: receives a one-line progress report about once a second and at
  // the end (from any thread, never concurrently).
  std::function<void(const std::string&)> progress;
};

struct DemoSummary {
  int64_t organizations = 0;     // organisations registered (or already there)
  int64_t clients = 0;           // client records registered, all kinds
  int64_t scenario_clients = 0;  // of which named scenario clients
  int64_t example_clients = 0;   // of which named example clients (twins)
  int64_t duplicate_registrations = 0;  // of which second registrations
  int64_t commands = 0;                 // commands sent, all accepted
  int64_t events_written = 0;           // events newly written by this run
  int64_t already_applied = 0;  // commands the server had already applied
  // Events of every command (written now or already applied), by event type.
  std::map<std::string, int64_t> events_by_type;
};

// The named scenario clients' ids, in the order they are loaded.
std::vector<std::string> ScenarioClientIds();

// The named example clients' ids (the twins), in the order they are loaded.
std::vector<std::string> ExampleClientIds();

// INVALID_ARGUMENT naming the option when `options` is out of range, or when
// base_date is after `now` (a server refuses business times in its future).
absl::Status ValidateDemoOptions(const DemoOptions& options, absl::Time now);

// Loads the demo through `channel`: the organisations first, one command at a
// time, then the clients, `concurrency` at a time. Stops at the first command
// the server refuses and returns its gRPC code, with a message naming the
// client, the command id, the RPC and the acting organisation, followed by
// the server's message. Validates `options` first (against absl::Now()).
absl::StatusOr<DemoSummary> RunDemo(std::shared_ptr<grpc::Channel> channel,
                                    const DemoOptions& options);

// One JSON object on one line, e.g. {"organizations":13,"clients":1031,...,
// "events_by_type":{"AdmissionRecorded":812,...}}.
std::string DemoSummaryToJson(const DemoSummary& summary);

}  // namespace caseline::tools

#endif  // CASELINE_TOOLS_DEMO_DEMO_H_
