#include "services/admission_limiter.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::services {
namespace {

using ::testing::HasSubstr;

TEST(AdmissionLimiterTest, AdmitsUpToTheLimitThenTheNextWaitsForARelease) {
  AdmissionLimiter limiter("chain verifications", 2);
  auto first = limiter.Acquire(absl::InfiniteFuture(), nullptr);
  auto second = limiter.Acquire(absl::InfiniteFuture(), nullptr);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(limiter.in_use(), 2u);

  std::atomic<bool> admitted{false};
  std::thread third([&] {
    auto permit = limiter.Acquire(absl::InfiniteFuture(), nullptr,
                                  absl::Milliseconds(5));
    EXPECT_TRUE(permit.ok());
    admitted = true;
  });
  while (limiter.waiting() == 0) std::this_thread::yield();
  EXPECT_FALSE(admitted);
  *first = AdmissionLimiter::Permit();  // gives the place back
  third.join();
  EXPECT_TRUE(admitted);
  EXPECT_EQ(limiter.in_use(), 1u);  // the third released its own on return
}

TEST(AdmissionLimiterTest, AWaiterWhoseDeadlinePassesGetsDeadlineExceeded) {
  AdmissionLimiter limiter("chain verifications", 1);
  auto held = limiter.Acquire(absl::InfiniteFuture(), nullptr);
  ASSERT_TRUE(held.ok());
  auto late = limiter.Acquire(absl::Now() + absl::Milliseconds(20), nullptr,
                              absl::Milliseconds(5));
  ASSERT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(late.status().message(),
              HasSubstr("at most 1 chain verifications run at once"));
  EXPECT_EQ(limiter.in_use(), 1u);
  EXPECT_EQ(limiter.waiting(), 0u);
}

TEST(AdmissionLimiterTest, ACancelledWaiterGivesUp) {
  AdmissionLimiter limiter("large ReadAll pages", 1);
  auto held = limiter.Acquire(absl::InfiniteFuture(), nullptr);
  ASSERT_TRUE(held.ok());
  std::atomic<bool> cancelled{false};
  std::optional<absl::Status> result;
  std::thread waiter([&] {
    result = limiter
                 .Acquire(absl::InfiniteFuture(), [&] { return cancelled.load(); },
                          absl::Milliseconds(5))
                 .status();
  });
  while (limiter.waiting() == 0) std::this_thread::yield();
  cancelled = true;
  waiter.join();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(limiter.in_use(), 1u);
}

TEST(AdmissionLimiterTest, ZeroMeansNoLimit) {
  AdmissionLimiter limiter("large ReadAll pages", 0);
  std::vector<AdmissionLimiter::Permit> permits;
  for (int i = 0; i < 50; ++i) {
    auto permit = limiter.Acquire(absl::Now(), nullptr);
    ASSERT_TRUE(permit.ok());
    permits.push_back(*std::move(permit));
  }
  EXPECT_EQ(limiter.in_use(), 50u);
  permits.clear();
  EXPECT_EQ(limiter.in_use(), 0u);
}

TEST(AdmissionLimiterTest, AdmittedWorkRunsOnALowPriorityThreadOfItsOwn) {
  AdmissionLimiter limiter("large ReadAll pages", 2);
  std::vector<std::thread> callers;
  std::atomic<int> ran{0};
  for (int i = 0; i < 2; ++i) {
    callers.emplace_back([&] {
      auto permit = limiter.Acquire(absl::InfiniteFuture(), nullptr);
      ASSERT_TRUE(permit.ok());
      const pid_t caller = gettid();
      pid_t worker = 0;
      int nice = 0;
      limiter.RunAdmitted(*permit, [&] {
        worker = gettid();
        nice = getpriority(PRIO_PROCESS, static_cast<id_t>(worker));
        ++ran;
      });
      // Returned only once the work ran, and its results are visible.
      EXPECT_NE(worker, 0);
      EXPECT_NE(worker, caller);
      EXPECT_EQ(nice, 19);
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(ran, 2);
}

TEST(AdmissionLimiterTest, WithNoLimitAdmittedWorkRunsOnTheCaller) {
  AdmissionLimiter limiter("large ReadAll pages", 0);
  auto permit = limiter.Acquire(absl::InfiniteFuture(), nullptr);
  ASSERT_TRUE(permit.ok());
  pid_t worker = 0;
  limiter.RunAdmitted(*permit, [&] { worker = gettid(); });
  EXPECT_EQ(worker, gettid());
}

}  // namespace
}  // namespace caseline::services
