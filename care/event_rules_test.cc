// The table of care/event_rules.h: one complete entry per CareEvent case, and
// the summaries it gives the audit timeline.
#include "care/event_rules.h"

#include <map>
#include <string>

#include "care/event_summary.h"
#include "gtest/gtest.h"

namespace caseline::care::rules {
namespace {

const google::protobuf::OneofDescriptor& EventOneof() {
  return *v1::CareEvent::descriptor()->FindOneofByName("event");
}

TEST(EventRulesTest, EveryCareEventHasExactlyOneEntry) {
  std::map<int, int> entries;  // event case -> entries
  for (const EventRules* rules : AllEventRules()) ++entries[rules->event];
  const google::protobuf::OneofDescriptor& oneof = EventOneof();
  for (int i = 0; i < oneof.field_count(); ++i) {
    const int number = oneof.field(i)->number();
    EXPECT_EQ(entries[number], 1) << oneof.field(i)->name();
    const EventRules* found =
        FindEventRules(static_cast<v1::CareEvent::EventCase>(number));
    ASSERT_NE(found, nullptr) << oneof.field(i)->name();
    EXPECT_EQ(found->event, number);
    entries.erase(number);
  }
  EXPECT_TRUE(entries.empty())
      << "entries for no CareEvent case, e.g. " << entries.begin()->first;
  EXPECT_EQ(FindEventRules(v1::CareEvent::EVENT_NOT_SET), nullptr);
}

TEST(EventRulesTest, EveryEntryIsComplete) {
  for (const EventRules* rules : AllEventRules()) {
    SCOPED_TRACE(rules->event);
    EXPECT_NE(rules->summarize, nullptr);
    if (rules->writer == Writer::kServer) {
      // No command carries it: nothing to check or decide.
      EXPECT_EQ(rules->check_fields, nullptr);
      EXPECT_EQ(rules->write_rule, nullptr);
      EXPECT_EQ(rules->decide, nullptr);
    } else {
      EXPECT_NE(rules->check_fields, nullptr);
    }
    if (rules->writer == Writer::kOrganizationCommand) {
      // The organisation path has no standing or write rule.
      EXPECT_EQ(rules->write_rule, nullptr);
    }
    EXPECT_EQ(rules->registers_client,
              rules->event == v1::CareEvent::kClientRegistered);
  }
}

TEST(EventRulesTest, EveryCareEventHasAOneLineSummary) {
  const google::protobuf::OneofDescriptor& oneof = EventOneof();
  for (int i = 0; i < oneof.field_count(); ++i) {
    v1::CareEvent event;
    event.GetReflection()->MutableMessage(&event, oneof.field(i));
    const std::string summary = SummarizeCareEvent(event);
    EXPECT_FALSE(summary.empty()) << oneof.field(i)->name();
    EXPECT_EQ(summary.find('\n'), std::string::npos);
  }
  EXPECT_EQ(SummarizeCareEvent(v1::CareEvent()), "empty care event");
}

TEST(EventSummaryTest, SummariesReadAsTheTimelineShowsThem) {
  v1::CareEvent referral;
  v1::ReferralSent* sent = referral.mutable_referral_sent();
  sent->set_referral_id("r1");
  sent->set_to_organization_id("housing-first");
  sent->set_service_category(v1::SERVICE_CATEGORY_MENTAL_HEALTH);
  sent->set_kind(v1::REFERRAL_KIND_WARM);
  sent->add_shared_data_classes(v1::DATA_CLASS_GENERAL);
  sent->add_shared_data_classes(v1::DATA_CLASS_SUBSTANCE_USE_PART2);
  EXPECT_EQ(SummarizeCareEvent(referral),
            "referral r1 sent to housing-first (mental health, warm) sharing "
            "general, substance use (Part 2)");

  v1::CareEvent declined;
  declined.mutable_referral_declined()->set_referral_id("r1");
  declined.mutable_referral_declined()->set_reason("no vacancy");
  EXPECT_EQ(SummarizeCareEvent(declined), "referral r1 declined: no vacancy");

  v1::CareEvent consent;
  v1::ConsentGiven* given = consent.mutable_consent_given();
  given->set_consent_id("k1");
  given->add_data_classes(v1::DATA_CLASS_HOUSING);
  given->add_recipient_organization_ids("org-a");
  given->add_recipient_organization_types(
      v1::ORGANIZATION_TYPE_BEHAVIORAL_HEALTH);
  given->mutable_representative()->mutable_name()->set_given("Ann");
  given->mutable_representative()->mutable_name()->set_family("Lee");
  EXPECT_EQ(SummarizeCareEvent(consent),
            "consent k1 given to share housing with org-a, any behavioral "
            "health (by representative Ann Lee)");

  v1::CareEvent read;
  v1::RecordAccessed* accessed = read.mutable_record_accessed();
  accessed->set_operation("GetTimeline");
  accessed->set_basis(v1::ACCESS_BASIS_CONSENT);
  accessed->add_consent_ids("k1");
  accessed->add_consent_ids("k2");
  accessed->add_positions_shown(7);
  accessed->set_events_withheld(2);
  EXPECT_EQ(SummarizeCareEvent(read),
            "record read (GetTimeline, consent k1,k2): 1 shown, 2 withheld");
}

}  // namespace
}  // namespace caseline::care::rules
