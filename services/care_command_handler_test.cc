// The persisted contract of a command's events (docs/log_format.md "Care
// events in the log"), recomputed here from the document's formulas.
#include "services/care_command_handler.h"

#include <openssl/evp.h>

#include <array>

#include "caseline/v1/wire_constants.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::services {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// The documented name-based id: SHA-256, first 16 bytes, version 8, RFC 9562
// variant.
std::array<uint8_t, 16> DocumentedId(const std::string& name) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(name.data(), name.size(), digest, &size, EVP_sha256(), nullptr);
  std::array<uint8_t, 16> id;
  std::copy(digest, digest + 16, id.begin());
  id[6] = static_cast<uint8_t>(0x80 | (id[6] & 0x0F));
  id[8] = static_cast<uint8_t>(0x80 | (id[8] & 0x3F));
  return id;
}

TEST(CommandAppendRequestTest, MatchesTheDocumentedLogFormat) {
  care::CareCommand command;
  command.command_id = "cmd-7";
  command.client_id = "c1";
  command.organization_id = "org-a";
  command.user_id = "u1";
  command.role = "social_work";
  command.occurred_at = absl::FromUnixSeconds(1'767'600'000);
  command.event.mutable_referral_sent()->set_referral_id("r1");
  const std::string digest = CommandDigest(command, /*occurred_at_given=*/true);
  EXPECT_EQ(digest, eventstore::EventId::FromName(
                        absl::StrCat("c1\n",
                                     command.event.SerializeAsString(), "\n",
                                     absl::ToUnixNanos(command.occurred_at)))
                        .ToString());
  EXPECT_EQ(digest.size(), 36u);

  const eventstore::AppendRequest append =
      CommandAppendRequest(command, digest, {command.event}, 4);
  EXPECT_EQ(append.stream_id, "client-c1");
  ASSERT_EQ(append.events.size(), 1u);
  const eventstore::ProposedEvent& e = append.events[0];
  ASSERT_TRUE(e.event_id.has_value());
  EXPECT_EQ(e.event_id->bytes(), DocumentedId("org-a\ncmd-7\n0"));
  EXPECT_EQ(e.event_type, "ReferralSent");
  EXPECT_EQ(e.content_type, v1::kCareEventContentType);
  EXPECT_EQ(e.schema_version, 2u);  // ReferralSent's (care/upcasting.h)
  EXPECT_EQ(e.correlation_id, "cmd-7");
  EXPECT_EQ(e.actor.organization_id, "org-a");
  EXPECT_EQ(e.actor.user_id, "u1");
  EXPECT_EQ(e.actor.role, "social_work");
  EXPECT_THAT(e.metadata, ElementsAre(Pair("command_digest", digest),
                                      Pair("command_events", "1"),
                                      Pair("command_id", "cmd-7")));
}

TEST(CommandAppendRequestTest, OrganizationCommandsWriteTheDirectoryStream) {
  care::CareCommand command;
  command.command_id = "c";
  command.organization_id = "org-a";
  command.event.mutable_organization_registered()->set_organization_id("org-a");
  EXPECT_TRUE(IsOrganizationCommand(command));
  EXPECT_EQ(CommandStreamId(command), "organizations");
}

}  // namespace
}  // namespace caseline::services
