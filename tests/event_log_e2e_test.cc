// End-to-end tests of caseline.v1.EventLog over real gRPC on a loopback port.
#include <atomic>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "base/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "tests/test_util.h"

namespace caseline {
namespace {

using ::testing::HasSubstr;

class EventLogE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loopback_.ok()); }

  grpc::Status Append(const std::string& stream, std::optional<uint64_t> exact,
                      std::vector<v1::EventData> events,
                      v1::AppendResponse* out) {
    v1::AppendRequest request;
    request.set_stream_id(stream);
    if (exact.has_value()) request.set_exact(*exact);
    for (auto& e : events) *request.add_events() = std::move(e);
    grpc::ClientContext context;
    return loopback_.log()->Append(&context, request, out);
  }

  testing::LoopbackServer loopback_{"e2e"};
};

TEST_F(EventLogE2eTest, AppendReadAndVerify) {
  v1::AppendResponse response;
  ASSERT_TRUE(
      Append("case-1", std::nullopt,
             {testing::JsonEvent("ClientRegistered", R"({"name":"Ada"})"),
              testing::JsonEvent("ConsentGiven", "{}")},
             &response)
          .ok());
  EXPECT_EQ(response.first_global_position(), 1u);
  EXPECT_EQ(response.last_stream_version(), 1u);

  v1::ReadStreamRequest read;
  read.set_stream_id("case-1");
  v1::ReadStreamResponse page;
  grpc::ClientContext context;
  ASSERT_TRUE(loopback_.log()->ReadStream(&context, read, &page).ok());
  ASSERT_EQ(page.events_size(), 2);
  EXPECT_EQ(page.events(0).event_type(), "ClientRegistered");
  EXPECT_EQ(page.events(0).payload(), R"({"name":"Ada"})");
  EXPECT_EQ(page.events(0).prev_hash(), std::string(64, '0'));
  EXPECT_EQ(page.events(1).prev_hash(), page.events(0).hash());
  EXPECT_TRUE(page.end_of_stream());

  grpc::ClientContext verify_context;
  v1::VerifyChainResponse verify;
  ASSERT_TRUE(
      loopback_.log()
          ->VerifyChain(&verify_context, v1::VerifyChainRequest(), &verify)
          .ok());
  EXPECT_TRUE(verify.ok());
  EXPECT_EQ(verify.events_checked(), 2u);
  EXPECT_EQ(verify.head_hash(), page.events(1).hash());
}

TEST_F(EventLogE2eTest, ErrorsCarryTheRightCodes) {
  v1::AppendResponse response;
  grpc::Status s = Append("bad stream", std::nullopt,
                          {testing::JsonEvent("A", "{}")}, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("stream_id"));

  ASSERT_TRUE(
      Append("s", std::nullopt, {testing::JsonEvent("A", "{}")}, &response)
          .ok());
  s = Append("s", 5, {testing::JsonEvent("A", "{}")}, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), HasSubstr("is at version 0"));

  v1::EventData reused = testing::JsonEvent("A", "{}");
  reused.set_event_id("0f8fad5b-d9cb-469f-a165-70867728950e");
  ASSERT_TRUE(Append("s", std::nullopt, {reused}, &response).ok());
  reused.set_payload(R"({"changed":true})");
  s = Append("s", std::nullopt, {reused}, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(s.error_message(),
              HasSubstr("0f8fad5b-d9cb-469f-a165-70867728950e"));

  v1::ReadStreamRequest read;
  read.set_stream_id("missing");
  v1::ReadStreamResponse page;
  grpc::ClientContext context;
  EXPECT_EQ(loopback_.log()->ReadStream(&context, read, &page).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Generic gRPC tools (grpcurl, grpc_cli) need only these two services; the
// messages are hand-encoded here because Debian ships neither proto.
TEST_F(EventLogE2eTest, HealthAndReflectionAreServed) {
  grpc::GenericStub generic(loopback_.channel());
  grpc::CompletionQueue cq;
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t expected) {
    ASSERT_TRUE(cq.Next(&tag, &ok));
    ASSERT_EQ(reinterpret_cast<intptr_t>(tag), expected);
    ASSERT_TRUE(ok);
  };

  // grpc.health.v1.Health/Check({}) -> {status: SERVING} = field 1, varint 1.
  grpc::ClientContext health_context;
  grpc::ByteBuffer health_response;
  auto health = generic.PrepareUnaryCall(
      &health_context, "/grpc.health.v1.Health/Check", Buffer(""), &cq);
  health->StartCall();
  grpc::Status health_status;
  health->Finish(&health_response, &health_status, reinterpret_cast<void*>(1));
  step(1);
  ASSERT_TRUE(health_status.ok()) << health_status.error_message();
  EXPECT_EQ(Flatten(health_response), std::string("\x08\x01", 2));

  // ServerReflectionInfo({list_services: ""}) lists every service by name.
  grpc::ClientContext reflection_context;
  auto call = generic.PrepareCall(
      &reflection_context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(2));
  step(2);
  call->Write(Buffer(std::string("\x3a\x00", 2)), reinterpret_cast<void*>(3));
  step(3);
  grpc::ByteBuffer reflection_response;
  call->Read(&reflection_response, reinterpret_cast<void*>(4));
  step(4);
  const std::string listed = Flatten(reflection_response);
  EXPECT_THAT(listed, HasSubstr("caseline.v1.EventLog"));
  EXPECT_THAT(listed, HasSubstr("grpc.health.v1.Health"));
  call->WritesDone(reinterpret_cast<void*>(5));
  step(5);
  grpc::Status reflection_status;
  call->Finish(&reflection_status, reinterpret_cast<void*>(6));
  step(6);
  EXPECT_TRUE(reflection_status.ok()) << reflection_status.error_message();
}

TEST_F(EventLogE2eTest, EightWritersRaceOnOneStreamWithExactVersions) {
  constexpr uint64_t kTarget = 200;
  std::atomic<uint64_t> winners{0};
  Mutex mu;
  std::vector<uint64_t> won_versions;
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      auto stub = v1::EventLog::NewStub(loopback_.channel());
      std::optional<uint64_t> known;  // last version this writer believes in
      while (true) {
        v1::AppendRequest request;
        request.set_stream_id("race");
        if (known.has_value()) {
          if (*known + 1 >= kTarget) return;
          request.set_exact(*known);
        } else {
          request.mutable_no_stream();
        }
        *request.add_events() =
            testing::JsonEvent("Raced", absl::StrCat("{\"w\":", w, "}"));
        grpc::ClientContext context;
        v1::AppendResponse response;
        grpc::Status s = stub->Append(&context, request, &response);
        if (s.ok()) {
          winners++;
          MutexLock lock(&mu);
          won_versions.push_back(response.first_stream_version());
          known = response.last_stream_version();
          continue;
        }
        ASSERT_EQ(s.error_code(), grpc::StatusCode::ABORTED)
            << s.error_message();
        // Learn the actual head and try again.
        v1::ReadStreamRequest read;
        read.set_stream_id("race");
        read.set_direction(v1::BACKWARD);
        read.set_max_count(1);
        grpc::ClientContext read_context;
        v1::ReadStreamResponse page;
        ASSERT_TRUE(stub->ReadStream(&read_context, read, &page).ok());
        known = page.last_stream_version();
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(winners.load(), kTarget);
  std::sort(won_versions.begin(), won_versions.end());
  for (uint64_t v = 0; v < kTarget; ++v)
    ASSERT_EQ(won_versions[v], v);  // one winner each

  v1::ReadStreamRequest read;
  read.set_stream_id("race");
  read.set_max_count(1000);
  v1::ReadStreamResponse page;
  grpc::ClientContext context;
  ASSERT_TRUE(loopback_.log()->ReadStream(&context, read, &page).ok());
  ASSERT_EQ(page.events_size(), static_cast<int>(kTarget));
  for (int i = 0; i < page.events_size(); ++i) {
    EXPECT_EQ(page.events(i).stream_version(), static_cast<uint64_t>(i));
  }
}

TEST_F(EventLogE2eTest, SubscriberStartingMidStreamGetsEveryLaterEventOnce) {
  v1::AppendResponse response;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Append(absl::StrCat("c-", i % 5), std::nullopt,
                       {testing::JsonEvent("Before", "{}")}, &response)
                    .ok());
  }
  v1::SubscribeRequest request;
  request.set_from_position(26);
  request.set_checkpoint_every_events(10);
  grpc::ClientContext context;
  auto reader = loopback_.log()->Subscribe(&context, request);

  std::thread writer([&] {
    auto stub = v1::EventLog::NewStub(loopback_.channel());
    for (int i = 0; i < 50; ++i) {
      v1::AppendRequest append;
      append.set_stream_id(absl::StrCat("c-", i % 5));
      *append.add_events() = testing::JsonEvent("After", "{}");
      grpc::ClientContext append_context;
      v1::AppendResponse r;
      ASSERT_TRUE(stub->Append(&append_context, append, &r).ok());
    }
  });

  std::vector<uint64_t> positions;
  bool saw_caught_up = false;
  uint64_t last_checkpoint = 0;
  v1::SubscribeResponse message;
  while (positions.size() < 75 && reader->Read(&message)) {
    if (message.has_event()) {
      positions.push_back(message.event().global_position());
    } else if (message.has_caught_up()) {
      saw_caught_up = true;
    } else if (message.has_checkpoint()) {
      EXPECT_GE(message.checkpoint().position(), last_checkpoint);
      last_checkpoint = message.checkpoint().position();
      EXPECT_LE(last_checkpoint, positions.empty() ? 25 : positions.back());
    }
  }
  writer.join();
  context.TryCancel();
  reader->Finish();
  ASSERT_EQ(positions.size(), 75u);
  for (size_t i = 0; i < positions.size(); ++i) EXPECT_EQ(positions[i], 26 + i);
  EXPECT_TRUE(saw_caught_up);
  EXPECT_GT(last_checkpoint, 0u);
}

// A consumer that stops reading while ~10 MB is appended (far more than gRPC's
// flow-control windows) holds back only its own stream: appends keep being
// acknowledged, and once it reads again it gets every event once, in order.
TEST_F(EventLogE2eTest, StalledSubscriberStillGetsEverythingInOrder) {
  v1::SubscribeRequest request;
  request.set_from_position(1);
  grpc::ClientContext context;
  auto reader = loopback_.log()->Subscribe(&context, request);
  const std::string payload = "{\"pad\":\"" + std::string(2000, 'p') + "\"}";
  constexpr int kAppends = 100;
  constexpr int kPerAppend = 50;
  for (int i = 0; i < kAppends; ++i) {
    std::vector<v1::EventData> events(kPerAppend,
                                      testing::JsonEvent("Padded", payload));
    v1::AppendResponse response;
    ASSERT_TRUE(
        Append(absl::StrCat("s-", i % 7), std::nullopt, events, &response)
            .ok());
  }
  uint64_t expected = 1;
  v1::SubscribeResponse message;
  while (expected <= kAppends * kPerAppend && reader->Read(&message)) {
    if (message.has_event()) {
      ASSERT_EQ(message.event().global_position(), expected++);
    }
  }
  EXPECT_EQ(expected, uint64_t{kAppends * kPerAppend + 1});
  context.TryCancel();
  reader->Finish();
}

TEST_F(EventLogE2eTest, FilteredSubscriptionFromEnd) {
  v1::AppendResponse response;
  ASSERT_TRUE(Append("case-1", std::nullopt,
                     {testing::JsonEvent("Old", "{}")}, &response)
                  .ok());
  v1::SubscribeRequest request;
  request.mutable_from_end();
  request.mutable_filter()->set_stream_id_prefix("case-");
  request.mutable_filter()->set_event_type_prefix("Referral");
  grpc::ClientContext context;
  auto reader = loopback_.log()->Subscribe(&context, request);
  v1::SubscribeResponse message;
  ASSERT_TRUE(
      reader->Read(&message));  // caught up immediately: nothing to replay
  ASSERT_TRUE(message.has_caught_up());
  EXPECT_EQ(message.caught_up().position(), 1u);
  ASSERT_TRUE(Append("org-1", std::nullopt,
                     {testing::JsonEvent("ReferralSent", "{}")}, &response)
                  .ok());
  ASSERT_TRUE(Append("case-1", std::nullopt,
                     {testing::JsonEvent("ConsentGiven", "{}")}, &response)
                  .ok());
  ASSERT_TRUE(Append("case-1", std::nullopt,
                     {testing::JsonEvent("ReferralSent", "{}")}, &response)
                  .ok());
  do {
    ASSERT_TRUE(reader->Read(&message));
  } while (!message.has_event());
  EXPECT_EQ(message.event().global_position(), 4u);
  EXPECT_EQ(message.event().stream_id(), "case-1");
  context.TryCancel();
  reader->Finish();
}

TEST_F(EventLogE2eTest, ShutdownEndsSubscriptionsAndKeepsAcknowledgedAppends) {
  v1::SubscribeRequest request;
  request.mutable_from_end();
  grpc::ClientContext context;
  auto reader = loopback_.log()->Subscribe(&context, request);
  v1::SubscribeResponse message;
  ASSERT_TRUE(reader->Read(&message));  // caught_up
  v1::AppendResponse response;
  ASSERT_TRUE(
      Append("s", std::nullopt, {testing::JsonEvent("Kept", "{}")}, &response)
          .ok());
  const absl::Time start = absl::Now();
  loopback_.server().Shutdown(absl::Seconds(5));
  EXPECT_LT(absl::Now() - start,
            absl::Seconds(4));  // did not wait for the stream's grace
  while (reader->Read(&message)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);

  auto restarted = testing::StartLoopbackServer(loopback_.data_dir());
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_EQ((*restarted)->event_log().HeadPosition(), 1u);
}

}  // namespace
}  // namespace caseline
