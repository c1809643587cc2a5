// What the projections show network-wide, as text, for comparing the views of
// one log before and after a rebuild, a restart or a crash.
#ifndef CASELINE_TESTS_VIEWS_UTIL_H_
#define CASELINE_TESTS_VIEWS_UTIL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace caseline::testing {

inline void SetTestDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(60));
}

// The organisations registered in the log.
inline std::vector<std::string> OrganizationIds(
    const std::shared_ptr<grpc::Channel>& channel) {
  std::vector<std::string> out;
  auto log = v1::EventLog::NewStub(channel);
  v1::ReadStreamRequest request;
  request.set_stream_id("organizations");
  request.set_max_count(1000);
  grpc::ClientContext context;
  SetTestDeadline(&context);
  v1::ReadStreamResponse response;
  if (!log->ReadStream(&context, request, &response).ok()) return out;
  for (const v1::Event& e : response.events()) {
    v1::CareEvent event;
    if (event.ParseFromString(e.payload()) &&
        event.has_organization_registered()) {
      out.push_back(event.organization_registered().organization_id());
    }
  }
  return out;
}

// Waits until every projection has applied the log's head.
inline void WaitForProjections(const std::shared_ptr<grpc::Channel>& channel) {
  auto projections = v1::Projections::NewStub(channel);
  for (int i = 0; i < 1200; ++i) {
    grpc::ClientContext context;
    SetTestDeadline(&context);
    v1::GetProjectionStatusResponse status;
    ASSERT_TRUE(
        projections
            ->GetStatus(&context, v1::GetProjectionStatusRequest(), &status)
            .ok());
    bool caught_up = true;
    for (const auto& p : status.projections()) {
      if (p.lag() != 0 || p.state() != "running") caught_up = false;
    }
    if (caught_up) return;
    absl::SleepFor(absl::Milliseconds(50));
  }
  FAIL() << "the projections did not catch up within a minute";
}

// Every finding (all statuses), every organisation's worklist (ten years
// ahead) and referral list (every status, both directions), the measures
// since 1970 and the caseload, one message per line.
inline std::string ProjectedViews(const std::shared_ptr<grpc::Channel>& channel,
                                  uint64_t min_position) {
  auto duplication = v1::DuplicationViews::NewStub(channel);
  auto continuity = v1::ContinuityViews::NewStub(channel);
  std::string out;
  v1::ListFindingsRequest findings;
  findings.set_min_position(min_position);
  findings.set_page_size(1000);
  findings.add_statuses(v1::FINDING_STATUS_OPEN);
  findings.add_statuses(v1::FINDING_STATUS_RESOLVED);
  findings.add_statuses(v1::FINDING_STATUS_DISMISSED);
  while (true) {
    grpc::ClientContext context;
    SetTestDeadline(&context);
    v1::ListFindingsResponse response;
    const grpc::Status status =
        duplication->ListFindings(&context, findings, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    for (const auto& f : response.findings()) {
      absl::StrAppend(&out, f.ShortDebugString(), "\n");
    }
    if (response.next_page_token().empty()) break;
    findings.set_page_token(response.next_page_token());
  }
  for (const std::string& org : OrganizationIds(channel)) {
    v1::GetWorklistRequest worklist;
    worklist.set_organization_id(org);
    worklist.set_horizon_days(3650);
    worklist.set_min_position(min_position);
    worklist.set_page_size(1000);
    worklist.mutable_at()->set_seconds(1798761600);  // 2027-01-01
    while (true) {
      grpc::ClientContext context;
      SetTestDeadline(&context);
      v1::GetWorklistResponse response;
      const grpc::Status status =
          continuity->GetWorklist(&context, worklist, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      for (const auto& item : response.items()) {
        absl::StrAppend(&out, item.ShortDebugString(), "\n");
      }
      if (response.next_page_token().empty()) break;
      worklist.set_page_token(response.next_page_token());
    }
  }
  for (const std::string& org : OrganizationIds(channel)) {
    v1::ListReferralsRequest referrals;
    referrals.set_organization_id(org);
    for (const char* status :
         {"requested", "received", "accepted", "declined", "on-hold",
          "in-progress", "completed", "failed", "cancelled"}) {
      referrals.add_statuses(status);
    }
    referrals.set_min_position(min_position);
    referrals.set_page_size(1000);
    while (true) {
      grpc::ClientContext context;
      SetTestDeadline(&context);
      v1::ListReferralsResponse response;
      const grpc::Status status =
          continuity->ListReferrals(&context, referrals, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      // Ages are judged at query time; the comparison is of stored state.
      for (v1::ReferralListEntry& entry : *response.mutable_entries()) {
        entry.mutable_referral()->clear_age_days();
        absl::StrAppend(&out, entry.ShortDebugString(), "\n");
      }
      if (response.next_page_token().empty()) break;
      referrals.set_page_token(response.next_page_token());
    }
  }
  {
    v1::GetMeasuresRequest measures;
    measures.mutable_period()->mutable_start()->set_seconds(0);
    measures.mutable_period()->mutable_end()->set_seconds(1798761600);
    measures.set_min_position(min_position);
    grpc::ClientContext context;
    SetTestDeadline(&context);
    v1::GetMeasuresResponse response;
    const grpc::Status status =
        continuity->GetMeasures(&context, measures, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    response.clear_view_position();
    absl::StrAppend(&out, response.ShortDebugString(), "\n");
  }
  {
    v1::GetCaseloadRequest caseload;
    caseload.set_min_position(min_position);
    grpc::ClientContext context;
    SetTestDeadline(&context);
    v1::GetCaseloadResponse response;
    const grpc::Status status =
        continuity->GetCaseload(&context, caseload, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    response.clear_view_position();
    absl::StrAppend(&out, response.ShortDebugString(), "\n");
  }
  return out;
}

// Rebuilds every projection over gRPC and waits for the switch.
inline void RebuildAll(const std::shared_ptr<grpc::Channel>& channel) {
  auto projections = v1::Projections::NewStub(channel);
  v1::RebuildProjectionRequest request;
  request.set_name("all");
  grpc::ClientContext context;
  auto reader = projections->Rebuild(&context, request);
  v1::RebuildProjectionResponse update;
  int done = 0;
  while (reader->Read(&update)) done += update.done() ? 1 : 0;
  const grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(done, 2);
}

}  // namespace caseline::testing

#endif  // CASELINE_TESTS_VIEWS_UTIL_H_
