#include "care/upcasting.h"

#include "absl/strings/str_cat.h"
#include "care/care_event_context.h"

namespace caseline::care {
namespace {

using Case = v1::CareEvent::EventCase;

// One step: an event of `event_case` stored in schema `from` is rewritten
// in place to schema from + 1. It may read the envelope (e.g. the acting
// organisation a schema left implicit) and nothing else.
struct Upcaster {
  Case event_case;
  uint32_t from;
  void (*apply)(const eventstore::RecordedEvent& recorded,
                v1::CareEvent* event);
};

// ReferralSent 1 -> 2: schema 1 had no start date and left the sender empty
// for "the acting organisation".
void ReferralSentV1ToV2(const eventstore::RecordedEvent& recorded,
                        v1::CareEvent* event) {
  v1::ReferralSent* sent = event->mutable_referral_sent();
  if (sent->from_organization_id().empty()) {
    sent->set_from_organization_id(recorded.actor.organization_id);
  }
  sent->clear_start_by();
  sent->set_target_source(v1::REFERRAL_TARGET_SOURCE_NOT_RECORDED);
}

// Every step, in order of (event_case, from). A type's current version is
// one more than its last step's `from`; a type with no step is at 1.
constexpr Upcaster kUpcasters[] = {
    {v1::CareEvent::kReferralSent, 1, &ReferralSentV1ToV2},
};

}  // namespace

uint32_t SchemaVersionOf(Case event_case) {
  uint32_t version = 1;
  for (const Upcaster& u : kUpcasters) {
    if (u.event_case == event_case && u.from + 1 > version) {
      version = u.from + 1;
    }
  }
  return version;
}

absl::Status Upcast(const eventstore::RecordedEvent& recorded,
                    v1::CareEvent* event) {
  const Case event_case = event->event_case();
  const uint32_t current = SchemaVersionOf(event_case);
  uint32_t version = recorded.schema_version == 0 ? 1 : recorded.schema_version;
  if (version > current) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the care event at global position ", recorded.global_position, " (",
        CareEventName(*event), ") is in schema ", version,
        ", newer than this server reads (", current,
        "): it was written by a newer Caseline; upgrade this server"));
  }
  for (const Upcaster& u : kUpcasters) {
    if (u.event_case == event_case && u.from == version) {
      u.apply(recorded, event);
      ++version;
    }
  }
  return absl::OkStatus();
}

}  // namespace caseline::care
