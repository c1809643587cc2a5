// What the fuzz targets share: the fixed care world request_fuzz decides
// against, the request types its first input byte selects, and one example of
// each request (the seed corpus, tests/fuzz/make_seeds.cc). Test-only code.
#ifndef CASELINE_TESTS_FUZZ_CARE_WORLD_H_
#define CASELINE_TESTS_FUZZ_CARE_WORLD_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "care/client_record.h"
#include "care/organization_directory.h"
#include "services/access_control.h"

namespace caseline::fuzz {

// Four organisations (org-hospital, org-housing, org-bh, org-sud); client c1
// with an open case, a consent, two referrals (r1 sent to org-housing, r2
// accepted by org-bh), a goal, a care team member, an admission with a
// planned transition, a service and an assessment; client c2 with a closed
// case. Each event was decided by the services' own rules
// (care/care_decision.h) before it was folded in. Built once; aborts if
// the rules refuse a step (the world would no longer reach deep branches).
struct CareWorld {
  absl::Time now;
  care::OrganizationDirectory directory;
  std::map<std::string, care::ClientRecord> clients;
};
const CareWorld& TheCareWorld();

// The callers the second input byte selects: agencies org-hospital (a social
// worker), org-housing and org-bh, an admin, an auditor without the agency
// role, an unregistered organisation and the local operator.
inline constexpr int kCallerCount = 7;
services::Caller CallerFor(int selector);

// The request messages the first input byte selects (modulo the count): the
// request of each command of care::CommandCatalog, in the proto's order, then
// EventLog's AppendRequest, ReadStreamRequest and ReadAllRequest. A new
// command shifts the indices after it: rerun make_seeds.
const std::vector<const google::protobuf::Descriptor*>& RequestTypes();

// One example of each request type, with the caller selector that suits it:
// for the commands, the catalog's request (care::NewCommandRequest) for an
// event of care_world.cc's examples (most are accepted by TheCareWorld(); some
// are refused by a rule), or an empty event about c1 for a command with none.
struct ExampleRequest {
  int type_index;
  int caller;
  std::unique_ptr<google::protobuf::Message> request;
};
std::vector<ExampleRequest> ExampleRequests();

}  // namespace caseline::fuzz

#endif  // CASELINE_TESTS_FUZZ_CARE_WORLD_H_
