// ClientRecordStore and ProjectionRecords over a real EventLog in a
// temporary directory, with a wrapper that counts the store's reads.
#include "projections/client_record_store.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "care/care_event_context.h"
#include "caseline/v1/wire_constants.h"
#include "eventstore/event_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/continuity_projection.h"
#include "projections/test_log.h"

namespace caseline::projections {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'600'000);

// The log, with a count of ReadStream calls per stream.
class CountingLog : public eventstore::EventLog {
 public:
  explicit CountingLog(eventstore::EventLog* log) : log_(log) {}

  int reads(const std::string& stream_id) const {
    MutexLock lock(&mu_);
    auto it = reads_.find(stream_id);
    return it == reads_.end() ? 0 : it->second;
  }
  // from_version of the last ReadStream of the stream.
  uint64_t last_from(const std::string& stream_id) const {
    MutexLock lock(&mu_);
    auto it = last_from_.find(stream_id);
    return it == last_from_.end() ? 0 : it->second;
  }

  void AppendAsync(eventstore::AppendRequest request,
                   AppendCallback done) override {
    log_->AppendAsync(std::move(request), std::move(done));
  }
  absl::Status WriteFailure() const override { return log_->WriteFailure(); }
  absl::StatusOr<eventstore::StreamPage> ReadStream(
      absl::string_view stream_id,
      const eventstore::ReadStreamOptions& options) override {
    {
      MutexLock lock(&mu_);
      ++reads_[std::string(stream_id)];
      last_from_[std::string(stream_id)] = options.from_version.value_or(0);
    }
    return log_->ReadStream(stream_id, options);
  }
  absl::StatusOr<eventstore::LogPage> ReadAll(
      const eventstore::ReadAllOptions& options) override {
    return log_->ReadAll(options);
  }
  absl::StatusOr<std::optional<eventstore::RecordedEvent>> FindEvent(
      const eventstore::EventId& event_id) override {
    return log_->FindEvent(event_id);
  }
  uint64_t HeadPosition() const override { return log_->HeadPosition(); }
  uint64_t WaitForHeadAbove(uint64_t position,
                            absl::Duration timeout) const override {
    return log_->WaitForHeadAbove(position, timeout);
  }
  absl::StatusOr<eventstore::ChainVerification> VerifyChain(
      uint64_t from_position, uint64_t to_position) override {
    return log_->VerifyChain(from_position, to_position);
  }
  absl::StatusOr<eventstore::BackupInfo> Backup(
      const std::string& dir) override {
    return log_->Backup(dir);
  }

 private:
  eventstore::EventLog* const log_;
  mutable Mutex mu_;
  std::map<std::string, int> reads_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint64_t> last_from_ ABSL_GUARDED_BY(mu_);
};

v1::CareEvent Registered(const std::string& family) {
  v1::CareEvent e;
  e.mutable_client_registered()->mutable_name()->set_family(family);
  return e;
}

v1::CareEvent Goal(const std::string& id) {
  v1::CareEvent e;
  e.mutable_goal_set()->set_goal_id(id);
  e.mutable_goal_set()->set_domain(v1::SERVICE_CATEGORY_HOUSING);
  return e;
}

v1::CareEvent Org(const std::string& id, v1::OrganizationType type) {
  v1::CareEvent e;
  e.mutable_organization_registered()->set_organization_id(id);
  e.mutable_organization_registered()->set_name(id);
  e.mutable_organization_registered()->set_type(type);
  return e;
}

v1::CareEvent Referral(const std::string& id, const std::string& to) {
  v1::CareEvent e;
  e.mutable_referral_sent()->set_referral_id(id);
  e.mutable_referral_sent()->set_from_organization_id("hospital");
  e.mutable_referral_sent()->set_to_organization_id(to);
  e.mutable_referral_sent()->set_service_category(v1::SERVICE_CATEGORY_HOUSING);
  return e;
}

class ClientRecordStoreTest : public ::testing::Test {
 protected:
  uint64_t Client(const std::string& client, const v1::CareEvent& e,
                  const std::string& org = "hospital") {
    return log_.AppendCare(care::ClientStreamId(client), e, kT0, org);
  }
  uint64_t Organization(const v1::CareEvent& e) {
    return log_.AppendCare(care::kOrganizationsStream, e, kT0, "hospital");
  }
  // An event on `stream` that is not a care event, or (care_type) one whose
  // payload does not parse.
  uint64_t Raw(const std::string& stream, bool care_type = false) {
    eventstore::AppendRequest append;
    append.stream_id = stream;
    eventstore::ProposedEvent& e = append.events.emplace_back();
    e.event_type = care_type ? "GoalSet" : "LegacyNote";
    e.content_type =
        care_type ? v1::kCareEventContentType : "application/octet-stream";
    e.payload = care_type ? std::string("\xff\xff\xff", 3) : "note";
    e.actor.organization_id = "legacy";
    absl::StatusOr<eventstore::AppendResult> r = log_->Append(std::move(append));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->last_position : 0;
  }

  TestLog log_{"record_store"};
  CountingLog counting_{log_.get()};
};

TEST_F(ClientRecordStoreTest, CatchesUpAfterAppendsAndKeepsOldSnapshots) {
  ClientRecordStore store(&counting_);
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> none =
      store.Client("c1");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE((*none)->version().has_value());
  EXPECT_FALSE((*none)->record().registered);
  EXPECT_TRUE((*none)->events().empty());

  Client("c1", Registered("Okafor"));
  Client("c1", Goal("g1"));
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> first =
      store.Client("c1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)->version(), 1u);
  EXPECT_TRUE((*first)->record().registered);
  EXPECT_EQ((*first)->record().goals.size(), 1u);

  Client("c1", Goal("g2"));
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> second =
      store.Client("c1");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->version(), 2u);
  EXPECT_EQ((*second)->record().goals.size(), 2u);
  ASSERT_EQ((*second)->events().size(), 3u);
  for (uint64_t v = 0; v < 3; ++v) {
    EXPECT_EQ((*second)->events()[v]->recorded.stream_version, v);
    EXPECT_TRUE((*second)->events()[v]->care.has_value());
  }
  // Only the new event was read, and the published snapshot did not change.
  EXPECT_EQ(counting_.last_from(care::ClientStreamId("c1")), 2u);
  EXPECT_EQ((*first)->version(), 1u);
  EXPECT_EQ((*first)->record().goals.size(), 1u);
  EXPECT_EQ((*first)->events().size(), 2u);
  // The older events are shared, not copied.
  EXPECT_EQ((*first)->events()[0].get(), (*second)->events()[0].get());
  EXPECT_EQ(store.Cached("c1"), *second);
  EXPECT_EQ((*none)->version(), std::nullopt);
}

// A snapshot only the cache holds is extended where it is, not copied (a
// copy costs the client's whole record on every command); one someone holds
// is copied (above).
TEST_F(ClientRecordStoreTest, ASnapshotNoOneHoldsIsExtendedInPlace) {
  if (!ClientRecordStore::kExtendsInPlace) {
    GTEST_SKIP() << "this build always copies (ThreadSanitizer)";
  }
  ClientRecordStore store(&counting_);
  Client("c1", Registered("Okafor"));
  const ClientSnapshot* object;
  {
    absl::StatusOr<std::shared_ptr<const ClientSnapshot>> first =
        store.Client("c1");
    ASSERT_TRUE(first.ok()) << first.status();
    object = first->get();
  }
  Client("c1", Goal("g1"));
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> second =
      store.Client("c1");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->get(), object);
  EXPECT_EQ((*second)->version(), 1u);
  EXPECT_EQ((*second)->record().goals.size(), 1u);
  EXPECT_EQ((*second)->events().size(), 2u);
  EXPECT_EQ(store.Cached("c1"), *second);
  EXPECT_EQ(store.cached_events_for_test(), 2u);

  // Now held: the next extension is a copy, and the held one stays.
  Client("c1", Goal("g2"));
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> third =
      store.Client("c1");
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_NE(third->get(), second->get());
  EXPECT_EQ((*third)->record().goals.size(), 2u);
  EXPECT_EQ((*second)->record().goals.size(), 1u);
  EXPECT_EQ((*second)->events().size(), 2u);
  EXPECT_EQ(store.cached_events_for_test(), 3u);
}

TEST_F(ClientRecordStoreTest, ReadsAStreamOncePerVersion) {
  Organization(Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL));
  Client("c1", Registered("Okafor"));
  ClientRecordStore store(&counting_);
  const std::string stream = care::ClientStreamId("c1");

  absl::StatusOr<ClientAtHead> opened = store.Open("c1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(counting_.reads(stream), 1);
  EXPECT_EQ(counting_.reads(care::kOrganizationsStream), 1);
  EXPECT_EQ(opened->head, log_->HeadPosition());

  // Nothing appended anywhere: nothing read.
  absl::StatusOr<ClientAtHead> again = store.Open("c1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->client, opened->client);
  EXPECT_EQ(again->directory, opened->directory);
  EXPECT_EQ(counting_.reads(stream), 1);
  EXPECT_EQ(counting_.reads(care::kOrganizationsStream), 1);

  // Another stream moved the head: one read finds nothing new, and the same
  // snapshot is served.
  Client("c2", Registered("Other"));
  again = store.Open("c1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->client, opened->client);
  EXPECT_EQ(counting_.reads(stream), 2);
  EXPECT_EQ(counting_.last_from(stream), 1u);
  again = store.Open("c1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(counting_.reads(stream), 2);

  // The client's own append: read from its version on.
  Client("c1", Goal("g1"));
  again = store.Open("c1");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->client->version(), 1u);
  EXPECT_EQ(counting_.reads(stream), 3);
  EXPECT_EQ(counting_.last_from(stream), 1u);
}

// What an agency's consent-gated summary costs: the access decision opens
// the client (one read at most), the summary folds that snapshot (none).
TEST_F(ClientRecordStoreTest, AConsentGatedSummaryReadsTheStreamOnce) {
  Organization(Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL));
  Client("c1", Registered("Okafor"));
  Client("c1", Goal("g1"));
  Client("c2", Registered("Other"));
  ClientRecordStore store(&counting_);
  const std::string stream = care::ClientStreamId("c1");

  absl::StatusOr<ClientAtHead> opened = store.Open("c1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(counting_.reads(stream), 1);
  v1::GetClientSummaryRequest request;
  request.set_client_id("c1");
  int asked = 0;
  care::EventVisibility visible = [&asked](const eventstore::RecordedEvent& e) {
    ++asked;
    return e.stream_version == 0;  // the goal is withheld
  };
  absl::StatusOr<v1::GetClientSummaryResponse> summary = GetClientSummary(
      store, request, care::ViewsConfig(), kT0, visible, &*opened);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(summary->view_position(), opened->head);
  EXPECT_EQ(counting_.reads(stream), 1);
  EXPECT_EQ(counting_.reads(care::kOrganizationsStream), 1);

  // Cached and unchanged: the next query reads nothing at all.
  opened = store.Open("c1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  summary = GetClientSummary(store, request, care::ViewsConfig(), kT0, {},
                             &*opened);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(counting_.reads(stream), 1);
  EXPECT_EQ(counting_.reads(care::kOrganizationsStream), 1);
}

TEST_F(ClientRecordStoreTest, DirectorySnapshotsStayAsPublished) {
  ClientRecordStore store(&counting_);
  absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>> empty =
      store.Directory();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ((*empty)->size(), 0u);
  EXPECT_FALSE((*empty)->version().has_value());

  Organization(Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL));
  absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>> first =
      store.Directory();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE((*first)->Contains("hospital"));

  Organization(Org("bh", v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH));
  Raw(care::kOrganizationsStream);  // counts for the version, folds nothing
  absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>> second =
      store.Directory();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(*first, *second);
  EXPECT_TRUE((*second)->Contains("bh"));
  EXPECT_EQ((*second)->version(), 2u);
  EXPECT_EQ(counting_.last_from(care::kOrganizationsStream), 1u);
  // The snapshot a reader holds did not change under it.
  EXPECT_FALSE((*first)->Contains("bh"));
  EXPECT_EQ((*first)->version(), 0u);
  EXPECT_EQ((*first)->size(), 1u);
  EXPECT_EQ((*empty)->size(), 0u);

  // No new event: the same snapshot.
  Client("c1", Registered("Okafor"));
  absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>> third =
      store.Directory();
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*third, *second);
}

TEST_F(ClientRecordStoreTest, ClassesFollowTheDirectoryOfTheirRead) {
  Organization(Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL));
  Client("c1", Registered("Okafor"));
  Client("c1", Referral("r1", "sud"));
  ClientRecordStore store(&counting_);
  constexpr auto kPart2 = care::ClassBit(v1::DATA_CLASS_SUBSTANCE_USE_PART2);

  absl::StatusOr<ClientAtHead> before = store.Open("c1");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->client->access().ClassesAt(1) & kPart2, 0u);

  // An unrelated organisation: the snapshot stays.
  Organization(Org("school", v1::ORGANIZATION_TYPE_SCHOOL));
  absl::StatusOr<ClientAtHead> unrelated = store.Open("c1");
  ASSERT_TRUE(unrelated.ok()) << unrelated.status();
  EXPECT_EQ(unrelated->client, before->client);

  // "sud" becomes a Part 2 program: the referral naming it is Part 2 data,
  // as a fold from scratch with today's directory says.
  Organization(Org("sud", v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT));
  absl::StatusOr<ClientAtHead> after = store.Open("c1");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_NE(after->client->access().ClassesAt(1) & kPart2, 0u);
  EXPECT_EQ(after->client->version(), 1u);
  EXPECT_EQ(before->client->access().ClassesAt(1) & kPart2, 0u);
  care::ClientAccessFold scratch("c1");
  for (const auto& stored : after->client->events()) {
    scratch.Apply(stored->recorded, *after->directory);
  }
  EXPECT_EQ(scratch.ClassesAt(1), after->client->access().ClassesAt(1));
}

TEST_F(ClientRecordStoreTest, RawAndUnparsableEventsAreKeptApart) {
  Client("c1", Registered("Okafor"));
  Raw(care::ClientStreamId("c1"));
  Client("c1", Goal("g1"));
  ClientRecordStore store(&counting_);
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> snapshot =
      store.Client("c1");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  // An append expects the stream's real version; the record has only care
  // events.
  EXPECT_EQ((*snapshot)->version(), 2u);
  EXPECT_EQ((*snapshot)->record().version, 2u);
  EXPECT_FALSE((*snapshot)->events()[1]->care.has_value());
  EXPECT_TRUE((*snapshot)->events()[1]->parse_error.ok());
  EXPECT_EQ((*snapshot)->access().ClassesAt(1), care::kUnclassified);
  EXPECT_TRUE((*snapshot)->parse_error().ok());

  Raw(care::ClientStreamId("c1"), /*care_type=*/true);
  snapshot = store.Client("c1");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->version(), 3u);
  EXPECT_EQ((*snapshot)->parse_error().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ((*snapshot)->access().ClassesAt(3), care::kUnclassified);
  EXPECT_EQ((*snapshot)->record().goals.size(), 1u);
}

TEST_F(ClientRecordStoreTest, EvictsTheLeastRecentlyUsed) {
  for (const char* c : {"c1", "c2", "c3", "c4"}) {
    Client(c, Registered(c));
    Client(c, Goal("g1"));
  }
  ClientRecordStore::Options options;
  options.max_clients = 2;
  ClientRecordStore store(&counting_, options);
  ASSERT_TRUE(store.Client("c1").ok());
  ASSERT_TRUE(store.Client("c2").ok());
  EXPECT_NE(store.Cached("c1"), nullptr);  // c1 is now the most recent
  ASSERT_TRUE(store.Client("c3").ok());
  EXPECT_EQ(store.cached_clients_for_test(), 2u);
  EXPECT_EQ(store.Cached("c2"), nullptr);
  EXPECT_NE(store.Cached("c1"), nullptr);
  EXPECT_NE(store.Cached("c3"), nullptr);
  EXPECT_EQ(store.cached_events_for_test(), 4u);

  // An evicted client is read again from its start.
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> c2 = store.Client("c2");
  ASSERT_TRUE(c2.ok()) << c2.status();
  EXPECT_EQ((*c2)->version(), 1u);
  EXPECT_EQ(counting_.reads(care::ClientStreamId("c2")), 2);
  EXPECT_EQ(counting_.last_from(care::ClientStreamId("c2")), 0u);

  // The event bound: one client of 2 events fits in 3, two do not.
  ClientRecordStore::Options small;
  small.max_events = 3;
  ClientRecordStore by_events(&counting_, small);
  ASSERT_TRUE(by_events.Client("c1").ok());
  ASSERT_TRUE(by_events.Client("c4").ok());
  EXPECT_EQ(by_events.cached_clients_for_test(), 1u);
  EXPECT_EQ(by_events.cached_events_for_test(), 2u);
  EXPECT_NE(by_events.Cached("c4"), nullptr);
}

// Readers of one client and of the directory while a writer appends to
// both: every snapshot is a consistent prefix of its stream, and a reader
// never sees a version go back.
TEST_F(ClientRecordStoreTest, ConcurrentReadersAndAWriter) {
  Organization(Org("hospital", v1::ORGANIZATION_TYPE_HOSPITAL));
  Client("c1", Registered("Okafor"));
  ClientRecordStore::Options options;
  options.max_clients = 1;  // c1 and c2 also evict each other
  ClientRecordStore store(&counting_, options);
  constexpr int kWrites = 40;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      std::optional<uint64_t> seen;
      while (!done.load()) {
        absl::StatusOr<ClientAtHead> at = store.Open(r == 2 ? "c2" : "c1");
        if (!at.ok()) {
          ++failures;
          continue;
        }
        const ClientSnapshot& client = *at->client;
        const auto& events = client.events();
        bool ok = client.version() ==
                  (events.empty() ? std::nullopt
                                  : std::optional<uint64_t>(events.size() - 1));
        size_t goals = 0;
        for (size_t v = 0; v < events.size(); ++v) {
          ok = ok && events[v]->recorded.stream_version == v;
          goals += events[v]->care.has_value() &&
                   events[v]->care->has_goal_set();
        }
        ok = ok && client.record().goals.size() == goals;
        if (r != 2) {
          ok = ok && !(seen.has_value() && (!client.version().has_value() ||
                                            *client.version() < *seen));
          seen = client.version();
        }
        ok = ok && at->directory->Contains("hospital");
        if (!ok) ++failures;
      }
    });
  }
  for (int i = 0; i < kWrites; ++i) {
    Client("c1", Goal(absl::StrCat("g", i)));
    if (i % 10 == 0) {
      // o20 is a Part 2 program: c1 is classified again, concurrently.
      Organization(Org(absl::StrCat("o", i),
                       i == 20 ? v1::ORGANIZATION_TYPE_SUBSTANCE_USE_TREATMENT
                               : v1::ORGANIZATION_TYPE_HOUSING));
    }
    if (i % 7 == 0) Client("c2", Goal(absl::StrCat("g", i)));
  }
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);

  absl::StatusOr<ClientAtHead> last = store.Open("c1");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->client->version(), static_cast<uint64_t>(kWrites));
  EXPECT_EQ(last->client->record().goals.size(), static_cast<size_t>(kWrites));
  EXPECT_TRUE(last->directory->Contains("o30"));
}

TEST_F(ClientRecordStoreTest, ProjectionRecordsFoldAsOfTheEventApplied) {
  Client("c1", Registered("Okafor"));
  Client("c1", Goal("g1"));
  Client("c1", Goal("g2"));
  ClientRecordStore store(&counting_);
  ASSERT_TRUE(store.Client("c1").ok());  // the store is ahead of the event

  absl::StatusOr<eventstore::StreamPage> page =
      log_->ReadStream(care::ClientStreamId("c1"), {});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->events.size(), 3u);
  const eventstore::RecordedEvent& second = page->events[1];
  absl::StatusOr<v1::CareEvent> parsed = care::ParseCareEvent(second);
  ASSERT_TRUE(parsed.ok());

  ProjectionRecords records(&store);
  absl::StatusOr<const care::ClientRecord*> record =
      records.Apply("c1", *parsed, second);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ((*record)->goals.size(), 1u);
  EXPECT_EQ((*record)->version, 1u);
  EXPECT_EQ(records.Find("c1"), *record);
  EXPECT_EQ(counting_.reads(care::ClientStreamId("c1")), 1);

  // Held: the next event applies to it, nothing is loaded.
  parsed = care::ParseCareEvent(page->events[2]);
  ASSERT_TRUE(parsed.ok());
  record = records.Apply("c1", *parsed, page->events[2]);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ((*record)->goals.size(), 2u);

  // A projection at the stream's head takes the store's record as it is.
  ProjectionRecords at_head(&store);
  record = at_head.Apply("c1", *parsed, page->events[2]);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ((*record)->goals.size(), 2u);
  EXPECT_EQ((*record)->version, 2u);
  EXPECT_EQ(counting_.reads(care::ClientStreamId("c1")), 1);

  ProjectionRecords storeless(nullptr);
  EXPECT_EQ(storeless.Apply("c1", *parsed, page->events[2]).status().code(),
            absl::StatusCode::kFailedPrecondition);
  parsed = care::ParseCareEvent(page->events[0]);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(storeless.Apply("c1", *parsed, page->events[0]).ok());
}

v1::CareEvent Marked(const eventstore::RecordedEvent& event) {
  v1::CareEvent e;
  e.mutable_event_entered_in_error()->set_event_id(event.event_id.ToString());
  e.mutable_event_entered_in_error()->set_reason("wrong client");
  e.mutable_event_entered_in_error()->set_stream_version(event.stream_version);
  return e;
}

// A correction folds the record again without the event it marks: in the
// store's snapshot (a cached one too), and in a projection's record, which
// also hands back the record as it was before the correction.
TEST_F(ClientRecordStoreTest, ACorrectionFoldsTheRecordAgainWithoutTheEvent) {
  Client("c1", Registered("Okafor"));
  Client("c1", Goal("g1"));
  Client("c1", Goal("g2"));
  ClientRecordStore store(&counting_);
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> before =
      store.Client("c1");
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ((*before)->record().goals.size(), 2u);

  absl::StatusOr<eventstore::StreamPage> page =
      log_->ReadStream(care::ClientStreamId("c1"), {});
  ASSERT_TRUE(page.ok()) << page.status();
  Client("c1", Marked(page->events[1]));  // g1 was recorded in error
  Client("c1", Goal("g3"));

  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> after =
      store.Client("c1");
  ASSERT_TRUE(after.ok()) << after.status();
  const care::ClientRecord& record = (*after)->record();
  EXPECT_EQ(record.goals.count("g1"), 0u);
  EXPECT_EQ(record.goals.count("g2"), 1u);
  EXPECT_EQ(record.goals.count("g3"), 1u);
  EXPECT_EQ(record.entered_in_error.count(page->events[1].event_id.ToString()),
            1u);
  EXPECT_EQ((*after)->events().size(), 5u);  // the stream keeps every event
  // The marked event is still classified (the timeline shows it).
  EXPECT_NE((*after)->access().ClassesAt(1), care::kUnclassified);
  // The snapshot handed out before is unchanged.
  EXPECT_EQ((*before)->record().goals.size(), 2u);

  // A projection holding the record meets the correction.
  page = log_->ReadStream(care::ClientStreamId("c1"), {});
  ASSERT_TRUE(page.ok()) << page.status();
  ProjectionRecords records(&store);
  for (int v = 0; v < 3; ++v) {
    absl::StatusOr<v1::CareEvent> parsed = care::ParseCareEvent(page->events[v]);
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(records.Apply("c1", *parsed, page->events[v]).ok());
  }
  absl::StatusOr<v1::CareEvent> correction =
      care::ParseCareEvent(page->events[3]);
  ASSERT_TRUE(correction.ok());
  std::optional<care::ClientRecord> was;
  absl::StatusOr<const care::ClientRecord*> folded =
      records.Apply("c1", *correction, page->events[3], &was);
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_EQ((*folded)->goals.count("g1"), 0u);
  EXPECT_EQ((*folded)->goals.count("g2"), 1u);
  EXPECT_EQ((*folded)->goals.count("g3"), 0u);  // not yet applied
  ASSERT_TRUE(was.has_value());
  EXPECT_EQ(was->goals.count("g1"), 1u);

  // A projection that does not hold it loads it as of the correction, and
  // still gets the record before.
  ProjectionRecords fresh(&store);
  was.reset();
  folded = fresh.Apply("c1", *correction, page->events[3], &was);
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_EQ((*folded)->goals.count("g1"), 0u);
  EXPECT_EQ((*folded)->goals.count("g3"), 0u);
  ASSERT_TRUE(was.has_value());
  EXPECT_EQ(was->goals.count("g1"), 1u);

  // Loading a later event folds without the marked one too.
  absl::StatusOr<v1::CareEvent> last = care::ParseCareEvent(page->events[4]);
  ASSERT_TRUE(last.ok());
  ProjectionRecords later(&store);
  folded = later.Apply("c1", *last, page->events[4]);
  ASSERT_TRUE(folded.ok()) << folded.status();
  EXPECT_EQ((*folded)->goals.count("g1"), 0u);
  EXPECT_EQ((*folded)->goals.count("g3"), 1u);
}

TEST_F(ClientRecordStoreTest, ReadErrorsComeBack) {
  ClientRecordStore store(&counting_);
  absl::StatusOr<std::shared_ptr<const ClientSnapshot>> too_long =
      store.Client(std::string(300, 'x'));
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.cached_clients_for_test(), 0u);

  Raw(care::kOrganizationsStream, /*care_type=*/true);
  absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>> directory =
      store.Directory();
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(directory.status().message(), HasSubstr("position"));
}

}  // namespace
}  // namespace caseline::projections
