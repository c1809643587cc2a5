#include "server/listen_address.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace caseline::server {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(ListenAddress, LoopbackAddressesAreTheLoopbackRanges) {
  for (const char* address : {"127.0.0.1", "127.1.2.3", "127.255.255.254",
                              "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
  for (const char* address :
       {"0.0.0.0", "10.0.0.1", "128.0.0.1", "126.255.255.255",
        "::", "::ffff:10.0.0.1", "fe80::1", "2001:db8::1", "localhost",
        "127.attacker.example", ""}) {
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(ListenAddress, LiteralsAndLocalhostResolveToLoopback) {
  for (const char* host :
       {"127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"}) {
    absl::StatusOr<std::vector<std::string>> addresses =
        ResolveListenHost(host);
    ASSERT_TRUE(addresses.ok()) << host << ": " << addresses.status();
    EXPECT_THAT(*addresses, AllOf(Not(IsEmpty()),
                                  Each(testing::Truly([](const std::string& a) {
                                    return IsLoopbackAddress(a);
                                  }))))
        << host;
    EXPECT_TRUE(CheckLoopbackHost(host).ok()) << host;
  }
}

TEST(ListenAddress, NonLoopbackAddressesAreRefusedNamingListen) {
  for (const char* host : {"0.0.0.0", "10.1.2.3", "[::]", "::ffff:10.0.0.1"}) {
    const absl::Status status = CheckLoopbackHost(host);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << host;
    EXPECT_THAT(status.message(), AllOf(HasSubstr("--listen"),
                                        HasSubstr("not a loopback address")))
        << host;
  }
}

// A name that merely starts with "127." is a name: it is judged by what it
// resolves to (".example" never resolves, so here: refused as unresolvable).
TEST(ListenAddress, NamesSpeltLikeLoopbackAreJudgedByTheirAddresses) {
  const absl::Status status = CheckLoopbackHost("127.attacker.example");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("--listen"), HasSubstr("127.attacker.example")));
  EXPECT_FALSE(CheckLoopbackHost("").ok());
}

}  // namespace
}  // namespace caseline::server
