#include "tools/demo/synthetic_client.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/demo/common.h"
#include "tools/demo/events.h"
#include "tools/demo/network.h"
#include "tools/demo/personas.h"
#include "tools/demo/text.h"

namespace caseline::tools::demo {

std::string SyntheticClientId(uint64_t seed, int index) {
  return absl::StrFormat("s%d-c%05d", seed, index);
}

std::string TwinClientId(uint64_t seed, int index) {
  return absl::StrFormat("s%d-d%05d", seed, index);
}

bool HasTwin(int index) { return index % 40 == 5; }

namespace {

// Where a referral ends up (before the demo's cutoff cuts it short).
enum class Outcome {
  kRequested,
  kAccepted,
  kDeclined,
  kOnHold,
  kInProgress,
  kCompleted,
  kFailed,
  kCancelled,
};

bool IsHealthCategory(v1::ServiceCategory c) {
  return c == v1::SERVICE_CATEGORY_HEALTH_CARE ||
         c == v1::SERVICE_CATEGORY_MENTAL_HEALTH ||
         c == v1::SERVICE_CATEGORY_SUBSTANCE_USE ||
         c == v1::SERVICE_CATEGORY_PHYSICAL_THERAPY ||
         c == v1::SERVICE_CATEGORY_OCCUPATIONAL_THERAPY ||
         c == v1::SERVICE_CATEGORY_IN_HOME_CARE;
}

// Every 40th synthetic client (7, 47, ...), and a few others, get two
// services of one category from two providers at once.
bool ForcedOverlap(int index) { return index % 40 == 7; }

// The cases of the follow-up and readmission measures (FUH, FUM,
// READMISSION-30), each given to one client in every 40 so that a small demo
// has them all. These clients have a mental illness, their case opens at
// least 120 days before base_date (so the stays and their 30-day windows fall
// before it) and stays open. The other clients' stays are random.
enum class MeasureCase {
  kNone,
  // A psychiatric inpatient stay at Mercy, discharged to Harbor with a
  // follow-up at Harbor on day 1..7 (FUH-7 and FUH-30).
  kFollowUpWithin7Days,
  // The same, with a follow-up by Mercy's social worker on the discharge day
  // (which FUH does not count) and one at Harbor on day 8..30 (FUH-30 only).
  kDischargeDayThenLate,
  // The same with no follow-up, and the transition to Harbor never
  // completed: in FUH's denominator only, and on Mercy's worklist.
  kNoFollowUp,
  // Readmitted on day 3..25 (READMISSION-30; the first discharge is excluded
  // from FUH), the second stay followed up on day 1..7.
  kReadmitted,
  // A mental-health ED visit followed up the same day (FUM-7 and FUM-30).
  kEdFollowedUpSameDay,
  // A mental-health ED visit followed up on day 8..28 (FUM-30 only).
  kEdFollowedUpLate,
};

MeasureCase MeasureCaseOf(int index) {
  switch (index % 40) {
    case 3:
      return MeasureCase::kFollowUpWithin7Days;
    case 13:
      return MeasureCase::kDischargeDayThenLate;
    case 17:
      return MeasureCase::kEdFollowedUpSameDay;
    case 23:
      return MeasureCase::kNoFollowUp;
    case 33:
      return MeasureCase::kReadmitted;
    case 37:
      return MeasureCase::kEdFollowedUpLate;
    default:
      return MeasureCase::kNone;
  }
}

// One synthetic client's history, from (seed, index) alone.
class SyntheticClient {
 public:
  SyntheticClient(uint64_t seed, int index, absl::Time cutoff)
      : seed_(seed),
        index_(index),
        cutoff_(cutoff),
        rng_(seed, static_cast<uint64_t>(index)),
        history_(SyntheticClientId(seed, index), cutoff),
        measure_case_(MeasureCaseOf(index)) {}

  // Appends the client's commands, then its twin's if it has one; returns
  // the number of client records registered.
  int Plan(std::vector<PlannedCommand>* out) {
    Intake();
    Consents();
    Assess();
    Goals();
    Referrals();
    ParallelReferral();
    Stays();
    OverlappingServices();
    Interruption();
    Correction();
    TeamChanges();
    Meetings();
    Closure();
    history_.AppendCommands(out);
    if (!HasTwin(index_)) return 1;
    Twin(out);
    return 2;
  }

 private:
  struct Need {
    v1::ServiceCategory category;
    v1::NeedLevel level;
    const Org* provider;  // nullptr: the intake organisation serves it itself
  };
  struct Member {
    const Staff* staff;
    absl::Time added;
    absl::Time removed;
    bool lead;
  };
  struct Service {
    std::string id;
    const Org* provider;
    v1::ServiceCategory category;
    absl::Time start;
    absl::Time end;
  };
  struct Referral {
    std::string id;
    Outcome outcome;
    absl::Time last;  // time of its last step
  };
  struct StaySpec {
    const Org* facility;
    v1::LevelOfCare level;
    int days;  // 0: hours (an ED visit)
    const Org* to;
    v1::LevelOfCare to_level;
    v1::DischargeDisposition disposition;
    double plan_chance;
    double follow_up_chance;
    const Org* follow_up_by;
    v1::ServiceCategory follow_up_category;
    v1::ServiceCategory need;  // the admission's primary need
  };
  // Overrides of a stay's chances (MeasureCase).
  struct StayOptions {
    // The follow-up's day after the discharge's (0: the discharge day; -1:
    // none); unset: follow_up_chance decides.
    std::optional<int> follow_up_day;
    // Whether a planned transition is completed; unset: 85% are.
    std::optional<bool> complete_transition;
  };
  struct StayResult {
    std::string admission_id;
    std::string transition_id;  // empty: none planned
    absl::Time discharge;
  };

  // A moment on a day min_days..max_days after t's day (office hours), or
  // minutes after t when that day is t's own; always after t.
  absl::Time Later(absl::Time t, int min_days, int max_days) {
    const int d = rng_.Between(min_days, max_days);
    if (d <= 0) return t + absl::Minutes(rng_.Between(10, 180));
    return OfficeHours(DayOf(t) + d, rng_);
  }

  void Intake() {
    std::vector<int> weights;
    for (const Persona& p : Personas()) weights.push_back(p.weight);
    persona_ = &Personas()[rng_.Weighted(weights)];
    if (measure_case_ != MeasureCase::kNone) persona_ = &Personas().front();
    const Kind kind = persona_->kind;

    double female = 0.5;
    if (kind == Kind::kFrailElder) female = 0.6;
    if (kind == Kind::kDomesticViolence) female = 0.9;
    if (kind == Kind::kReentry) female = 0.12;
    person_.sex = rng_.Chance(female) ? v1::SEX_FEMALE : v1::SEX_MALE;
    if (rng_.Chance(0.01)) person_.sex = v1::SEX_OTHER;
    const auto& given =
        person_.sex == v1::SEX_FEMALE ? FemaleNames() : MaleNames();
    person_.given = rng_.Pick(given);
    if (rng_.Chance(0.4)) person_.middle = rng_.Pick(given);
    person_.family = rng_.Pick(FamilyNames());
    const int age = rng_.Between(persona_->min_age, persona_->max_age);
    const int year = static_cast<int>(DayOf(cutoff_).year()) - age;
    person_.birth =
        absl::CivilDay(year, rng_.Between(1, 12), rng_.Between(1, 28));
    if (kind != Kind::kHomeless || rng_.Chance(0.6)) {
      person_.phone = absl::StrFormat("+1-541-555-%04d", rng_.Below(10000));
    }
    const City& city = rng_.Pick(Cities());
    if (kind != Kind::kHomeless) {
      person_.line1 =
          absl::StrCat(rng_.Between(1, 2999), " ", rng_.Pick(Streets()));
      if (rng_.Chance(0.3))
        absl::StrAppend(&person_.line1, ", Apt ", rng_.Between(1, 40));
      person_.city = city.name;
      person_.postal_code =
          absl::StrFormat("%s%02d", city.postal_prefix, rng_.Below(100));
    }
    if (kind == Kind::kImmigrant) {
      static const auto* const languages = new std::vector<std::string>{
          "es", "es", "es", "vi", "ar", "so", "uk", "zh"};
      person_.language = rng_.Pick(*languages);
      person_.interpreter = rng_.Chance(0.75);
    } else if (rng_.Chance(0.08)) {
      person_.language = "es";
      person_.interpreter = rng_.Chance(0.3);
    }

    intake_ = &OrgById(rng_.Pick(persona_->intake));
    lead_ = &Coordinator(*intake_, rng_);
    t0_ = OfficeHours(
        DayOf(cutoff_) -
            rng_.Between(measure_case_ == MeasureCase::kNone ? 10 : 120, 420),
        rng_);
    const std::string identifier =
        absl::StrFormat("%s%07d", intake_->id_prefix, rng_.Below(10000000));
    if (kind == Kind::kReentry) {
      // Registered at booking, years before the reentry case opens.
      const absl::Time booked =
          OfficeHours(DayOf(t0_) - rng_.Between(300, 1800), rng_);
      history_.Add(booked, *lead_,
                   ClientRegisteredEvent(person_, *intake_, identifier));
      incarceration_ = history_.NewId("adm");
      history_.Add(booked + absl::Minutes(rng_.Between(20, 90)), *lead_,
                   AdmissionEvent(incarceration_, intake_->id,
                                  v1::LEVEL_OF_CARE_INCARCERATION,
                                  v1::SERVICE_CATEGORY_PROBATION_PAROLE));
    } else {
      history_.Add(t0_, *lead_,
                   ClientRegisteredEvent(person_, *intake_, identifier));
    }
    history_.Add(t0_ + absl::Minutes(rng_.Between(5, 20)), *lead_,
                 CaseOpenedEvent(persona_->reason));
    const absl::Time lead_at = t0_ + absl::Minutes(rng_.Between(25, 40));
    history_.Add(
        lead_at, *lead_,
        MemberAddedEvent(*lead_, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
    team_.push_back(Member{lead_, lead_at, absl::InfiniteFuture(), true});

    for (size_t i = 0; i < persona_->needs.size(); ++i) {
      const auto& [category, percent] = persona_->needs[i];
      if (i > 0 && !rng_.Chance(percent / 100.0)) continue;
      v1::NeedLevel level;
      if (i == 0) {
        level = rng_.Chance(0.2) ? v1::NEED_LEVEL_CRISIS : v1::NEED_LEVEL_HIGH;
      } else {
        level = static_cast<v1::NeedLevel>(
            rng_.Between(v1::NEED_LEVEL_LOW, v1::NEED_LEVEL_HIGH));
      }
      const std::vector<const Org*> providers =
          Providers(category, intake_->id);
      needs_.push_back(Need{
          category, level, providers.empty() ? nullptr : rng_.Pick(providers)});
    }
  }

  void Consents() {
    Consent c;
    c.id = history_.NewId("cons");
    c.start = t0_ + absl::Minutes(rng_.Between(45, 60));
    for (const Need& need : needs_) {
      if (need.provider == nullptr) continue;
      const double r = static_cast<double>(rng_.Below(100)) / 100.0;
      if (r < 0.78) {
        if (!Contains(c.organizations, need.provider->id)) {
          c.organizations.push_back(need.provider->id);
        }
      } else if (r < 0.9) {
        if (!Contains(c.types, need.provider->type))
          c.types.push_back(need.provider->type);
      }  // else: the client would not name it
    }
    if (c.organizations.empty() && c.types.empty())
      c.organizations.push_back(kEastside);
    c.classes = persona_->classes;
    c.purposes = {kCoordination, kTreatment};
    if (rng_.Chance(0.6)) c.end = c.start + Days(365);
    if (persona_->kind == Kind::kChild) {
      const auto& parent = rng_.Chance(0.7) ? FemaleNames() : MaleNames();
      c.representative = Rep(rng_.Pick(parent), person_.family,
                             v1::REPRESENTATIVE_AUTHORITY_GUARDIAN);
    } else if (persona_->kind == Kind::kFrailElder && rng_.Chance(0.4)) {
      const size_t which = rng_.Weighted({50, 40, 10});
      const v1::RepresentativeAuthority authority =
          which == 0   ? v1::REPRESENTATIVE_AUTHORITY_POWER_OF_ATTORNEY
          : which == 1 ? v1::REPRESENTATIVE_AUTHORITY_HEALTH_CARE_AGENT
                       : v1::REPRESENTATIVE_AUTHORITY_GUARDIAN;
      const auto& child = rng_.Chance(0.5) ? FemaleNames() : MaleNames();
      c.representative = Rep(rng_.Pick(child), person_.family, authority);
    }
    history_.Add(c.start, *lead_, ConsentGivenEvent(c));
    consents_.push_back(c);

    bool substance_use = false;
    for (const Need& need : needs_) {
      substance_use |= need.category == v1::SERVICE_CATEGORY_SUBSTANCE_USE;
    }
    if (substance_use && rng_.Chance(0.85)) {
      // 42 CFR Part 2: the recipients by name.
      Consent part2;
      part2.id = history_.NewId("cons");
      part2.start = c.start + absl::Minutes(5);
      part2.organizations = {kNewDawn, kMercy};
      if (rng_.Chance(0.6)) part2.organizations.push_back(kHarbor);
      if (rng_.Chance(0.3)) part2.organizations.push_back(kEastside);
      part2.classes = {v1::DATA_CLASS_SUBSTANCE_USE_PART2};
      part2.purposes = {kTreatment};
      part2.representative = c.representative;
      history_.Add(part2.start, *lead_, ConsentGivenEvent(part2));
      consents_.push_back(part2);
    }

    if (rng_.Chance(0.10)) {
      const absl::Time received =
          OfficeHours(DayOf(c.start) + rng_.Between(20, 240), rng_);
      if (received < consents_[0].end) {
        const absl::Time effective = received + Days(rng_.Between(0, 2));
        static const auto* const reasons = new std::vector<std::string>{
            "Client withdrew consent in writing",
            "Client no longer wants records shared with other agencies",
            "Representative withdrew consent after a family meeting",
            "Client upset that the shelter knew about a hospital stay"};
        history_.Add(received, *lead_,
                     ConsentRevokedEvent(consents_[0].id, received, effective,
                                         rng_.Pick(*reasons)));
        consents_[0].revoked_effective = effective;
        if (rng_.Chance(0.5) && !consents_[0].organizations.empty()) {
          // A narrower consent replaces it.
          Consent narrower;
          narrower.id = history_.NewId("cons");
          narrower.start = Later(received, 1, 10);
          narrower.organizations = consents_[0].organizations;
          if (narrower.organizations.size() > 1) {
            narrower.organizations.erase(
                narrower.organizations.begin() +
                static_cast<int>(rng_.Below(narrower.organizations.size())));
          }
          narrower.classes = {v1::DATA_CLASS_GENERAL};
          narrower.purposes = {kCoordination};
          narrower.representative = consents_[0].representative;
          history_.Add(narrower.start, *lead_, ConsentGivenEvent(narrower));
          consents_.push_back(narrower);
        }
      }
    }
  }

  void Assess() {
    assessed_ = Later(t0_, 0, 3);
    std::vector<v1::DomainAssessment> domains;
    for (const Need& need : needs_) {
      const CategoryText text = TextFor(need.category);
      domains.push_back(
          Domain(need.category, need.level, text.strengths, text.risks));
    }
    history_.Add(assessed_, *lead_,
                 AssessmentEvent(history_.NewId("asm"), domains));
    if (rng_.Chance(0.4)) {
      // Reassessment: needs are lower where services took hold.
      std::vector<v1::DomainAssessment> again;
      for (const Need& need : needs_) {
        const int level =
            std::max<int>(v1::NEED_LEVEL_NONE, need.level - rng_.Between(0, 2));
        const CategoryText text = TextFor(need.category);
        again.push_back(Domain(need.category, static_cast<v1::NeedLevel>(level),
                               text.strengths, text.risks));
      }
      history_.Add(Later(assessed_, 90, 150), *lead_,
                   AssessmentEvent(history_.NewId("asm"), again));
    }
  }

  void Goals() {
    const int count =
        std::min<int>(static_cast<int>(needs_.size()), rng_.Between(1, 3));
    for (int i = 0; i < count; ++i) {
      const Need& need = needs_[i];
      const CategoryText text = TextFor(need.category);
      const std::string id = history_.NewId("goal");
      const absl::Time set = Later(assessed_, 0, 4);
      const absl::CivilDay target = DayOf(set) + rng_.Between(60, 180);
      history_.Add(
          set, *lead_,
          GoalSetEvent(id, need.category, text.goal, text.measure, target));
      absl::Time t = Later(set, 0, 1);
      history_.Add(t, *lead_,
                   GoalStatusEvent(id, v1::GOAL_STATUS_ACTIVE,
                                   "Agreed with the client"));
      int percent = 0;
      for (int check = 0; check < 6; ++check) {
        t = Later(t, 20, 45);
        if (rng_.Chance(0.05)) {
          history_.Add(t, *lead_,
                       GoalStatusEvent(
                           id, v1::GOAL_STATUS_ON_HOLD,
                           "Paused: client in hospital; revisit on discharge"));
          break;
        }
        if (rng_.Chance(0.05)) {
          history_.Add(
              t, *lead_,
              GoalStatusEvent(id, v1::GOAL_STATUS_CANCELLED,
                              "Plan adjusted at review: goal replaced"));
          break;
        }
        percent = std::min(100, percent + rng_.Between(5, 35));
        const std::string& note = text.notes[percent < 34   ? 0
                                             : percent < 67 ? 1
                                                            : 2];
        history_.Add(t, *lead_, GoalProgressEvent(id, note, percent));
        if (percent == 100) {
          history_.Add(
              t + absl::Minutes(2), *lead_,
              GoalStatusEvent(id, v1::GOAL_STATUS_COMPLETED, "Target met"));
          break;
        }
        if (DayOf(t) > target + 30) break;
      }
    }
  }

  // What a referral to `to` for `category` may share at `at`: the classes the
  // category calls for that some consent covers.
  std::vector<v1::DataClass> Shareable(const Org& to,
                                       v1::ServiceCategory category,
                                       v1::PurposeOfUse purpose,
                                       absl::Time at) const {
    std::vector<v1::DataClass> out;
    for (v1::DataClass data_class : TextFor(category).data) {
      for (const Consent& c : consents_) {
        if (c.Covers(to, data_class, purpose, at)) {
          out.push_back(data_class);
          break;
        }
      }
    }
    return out;
  }

  void AddMember(const Staff& staff, absl::Time at) {
    for (const Member& m : team_) {
      if (m.staff == &staff) return;
    }
    history_.Add(at, *lead_,
                 MemberAddedEvent(staff, v1::CARE_TEAM_ROLE_MEMBER));
    team_.push_back(Member{&staff, at, absl::InfiniteFuture(), false});
  }

  // Returns the index of the service in services_.
  size_t StartService(const Org& provider, const Staff& by,
                      v1::ServiceCategory category, absl::Time at,
                      const std::string& referral_id) {
    const std::string id = history_.NewId("svc");
    history_.Add(at, by,
                 ServiceStartedEvent(id, provider.id, category,
                                     TextFor(category).level, referral_id));
    services_.push_back(
        Service{id, &provider, category, at, absl::InfiniteFuture()});
    return services_.size() - 1;
  }

  void EndService(size_t index, absl::Time at, const std::string& reason) {
    Service& service = services_[index];
    if (service.end != absl::InfiniteFuture() || at <= service.start) return;
    history_.Add(at, ProviderStaff(*service.provider, service.category, rng_),
                 ServiceEndedEvent(service.id, reason));
    service.end = at;
  }

  // Sends a referral at `at` and plays its lifecycle to an outcome.
  const Referral& MakeReferral(const Need& need, const Org& to, absl::Time at) {
    static const auto* const declines = new std::vector<std::string>{
        "No capacity: waiting list closed",
        "Client does not meet eligibility criteria", "Outside our service area",
        "Service not offered for this age group"};
    static const auto* const holds = new std::vector<std::string>{
        "Waiting list", "Waiting for documents from the client",
        "Client in hospital; resume on discharge",
        "Awaiting insurance authorisation"};
    static const auto* const failures = new std::vector<std::string>{
        "Client did not attend intake after 3 attempts to contact",
        "Lost contact: phone disconnected", "Client moved out of the area",
        "Client stopped attending"};
    static const auto* const cancels = new std::vector<std::string>{
        "Need met elsewhere", "Client declined the service",
        "Duplicate referral; the other one is active",
        "Client's circumstances changed"};
    const v1::ServiceCategory category = need.category;
    const std::string id = history_.NewId("ref");
    const Outcome outcome =
        static_cast<Outcome>(rng_.Weighted({8, 8, 10, 8, 16, 28, 10, 12}));
    const v1::PurposeOfUse purpose =
        IsHealthCategory(category) ? kTreatment : kCoordination;
    std::vector<v1::DataClass> shared = Shareable(to, category, purpose, at);
    v1::ReferralKind kind = v1::REFERRAL_KIND_COLD;
    if (!shared.empty() && rng_.Chance(0.75)) {
      kind = v1::REFERRAL_KIND_WARM;
    } else if (rng_.Chance(0.8)) {
      shared.clear();  // a cold referral: the client makes contact
    }
    v1::Urgency urgency = v1::URGENCY_ROUTINE;
    if (need.level == v1::NEED_LEVEL_CRISIS) {
      urgency = rng_.Chance(0.5) ? v1::URGENCY_EMERGENT : v1::URGENCY_URGENT;
    } else if (need.level == v1::NEED_LEVEL_HIGH && rng_.Chance(0.4)) {
      urgency = v1::URGENCY_URGENT;
    }
    const CategoryText text = TextFor(category);
    history_.Add(at, *lead_,
                 ReferralSentEvent(id, intake_->id, to.id, category, kind,
                                   urgency, text.need, shared, purpose));
    const Staff& receiver = ProviderStaff(to, category, rng_);
    absl::Time t = at;
    std::optional<absl::Time> accepted;
    std::optional<size_t> service;
    auto step = [&](Step s, int min_days, int max_days,
                    const std::string& text_or_reason, const Staff& by) {
      t = Later(t, min_days, max_days);
      history_.Add(t, by, ReferralStepEvent(s, id, text_or_reason));
      if (s == Step::kAccept) accepted = t;
      if (s == Step::kStart)
        service = StartService(to, by, category, t + absl::Minutes(10), id);
    };
    switch (outcome) {
      case Outcome::kRequested:
        break;
      case Outcome::kDeclined:
        step(Step::kDecline, 1, 7, rng_.Pick(*declines), receiver);
        break;
      case Outcome::kAccepted:
        step(Step::kAccept, 0, 5, "", receiver);
        break;
      case Outcome::kOnHold:
        if (rng_.Chance(0.5)) step(Step::kAccept, 0, 5, "", receiver);
        step(Step::kHold, 2, 14, rng_.Pick(*holds), receiver);
        break;
      case Outcome::kInProgress:
        step(Step::kAccept, 0, 5, "", receiver);
        if (rng_.Chance(0.2))
          step(Step::kHold, 2, 10, rng_.Pick(*holds), receiver);
        step(Step::kStart, 2, 14, "", receiver);
        break;
      case Outcome::kCompleted:
        step(Step::kAccept, 0, 5, "", receiver);
        if (rng_.Chance(0.8)) step(Step::kStart, 2, 14, "", receiver);
        step(Step::kComplete, 14, 90, text.delivered, receiver);
        if (service.has_value() && rng_.Chance(0.5)) {
          EndService(*service, t + absl::Minutes(30), "Service completed");
        }
        break;
      case Outcome::kFailed:
        step(Step::kAccept, 0, 5, "", receiver);
        if (rng_.Chance(0.6)) {
          step(Step::kStart, 2, 14, "", receiver);
        } else if (rng_.Chance(0.5)) {
          step(Step::kHold, 2, 10, rng_.Pick(*holds), receiver);
        }
        step(Step::kFail, 7, 60, rng_.Pick(*failures), receiver);
        if (service.has_value())
          EndService(*service, t + absl::Minutes(30),
                     "Client stopped attending");
        break;
      case Outcome::kCancelled:
        if (rng_.Chance(0.5)) step(Step::kAccept, 0, 5, "", receiver);
        step(Step::kCancel, 1, 30, rng_.Pick(*cancels),
             rng_.Chance(0.7) ? *lead_ : receiver);
        break;
    }
    if (accepted.has_value() && rng_.Chance(0.7))
      AddMember(receiver, Later(*accepted, 0, 3));
    referrals_.push_back(Referral{id, outcome, t});
    return referrals_.back();
  }

  void Referrals() {
    for (const Need& need : needs_) {
      if (need.provider == nullptr) {
        // The intake organisation serves this need itself.
        StartService(*intake_, ProviderStaff(*intake_, need.category, rng_),
                     need.category, Later(assessed_, 1, 10), "");
        continue;
      }
      if (rng_.Chance(0.08)) continue;  // an unmet need: nobody referred
      const Referral first =
          MakeReferral(need, *need.provider, Later(assessed_, 1, 25));
      const bool closed_unserved = first.outcome == Outcome::kDeclined ||
                                   first.outcome == Outcome::kFailed ||
                                   first.outcome == Outcome::kCancelled;
      if (closed_unserved && rng_.Chance(0.5)) {
        std::vector<const Org*> others;
        for (const Org* org : Providers(need.category, intake_->id)) {
          if (org != need.provider) others.push_back(org);
        }
        if (!others.empty()) {
          MakeReferral(need, *rng_.Pick(others), Later(first.last, 1, 10));
        }
      }
    }
  }

  // Now and then a client is referred to a second provider for a need while
  // the first referral is still pending, to shorten the wait: duplicate
  // referrals, open until either closes.
  void ParallelReferral() {
    if (!rng_.Chance(0.05)) return;
    for (const Need& need : needs_) {
      if (need.provider == nullptr) continue;
      std::vector<const Org*> others;
      for (const Org* org : Providers(need.category, intake_->id)) {
        if (org != need.provider) others.push_back(org);
      }
      if (others.empty()) continue;
      MakeReferral(need, *rng_.Pick(others), Later(assessed_, 1, 25));
      return;
    }
  }

  // Admits at `admit` (unless `admission_id` is already recorded) and
  // discharges, with or without a transition plan and a follow-up; `options`
  // may decide the follow-up and the transition's completion instead of
  // chance.
  StayResult Stay(absl::Time admit, const StaySpec& s,
                  std::string admission_id = "",
                  const StayOptions& options = {}) {
    const Staff& nurse =
        ProviderStaff(*s.facility, v1::SERVICE_CATEGORY_HEALTH_CARE, rng_);
    if (admission_id.empty()) {
      admission_id = history_.NewId("adm");
      history_.Add(
          admit, nurse,
          AdmissionEvent(admission_id, s.facility->id, s.level, s.need));
    }
    const absl::Time discharge =
        s.days == 0 ? admit + absl::Minutes(rng_.Between(180, 600))
                    : OfficeHours(DayOf(admit) + s.days, rng_);
    std::string transition;
    if (rng_.Chance(s.plan_chance)) {
      transition = history_.NewId("tr");
      absl::Time planned =
          s.days >= 2 ? discharge - absl::Hours(rng_.Between(20, 44))
                      : discharge - absl::Minutes(rng_.Between(20, 60));
      planned = std::max(planned, admit + absl::Minutes(15));
      history_.Add(planned, Coordinator(*s.facility, rng_),
                   TransitionEvent(transition, admission_id, s.level,
                                   s.facility->id, s.to_level, s.to->id,
                                   DayOf(discharge), DayOf(discharge) + 7));
    }
    history_.Add(discharge, nurse, DischargeEvent(admission_id, s.disposition));
    if (!transition.empty() &&
        (options.complete_transition.has_value() ? *options.complete_transition
                                                 : rng_.Chance(0.85))) {
      history_.Add(discharge + absl::Minutes(rng_.Between(30, 600)),
                   ProviderStaff(*s.to, s.follow_up_category, rng_),
                   TransitionCompletedEvent(transition));
    }
    int day = -1;
    if (options.follow_up_day.has_value()) {
      day = *options.follow_up_day;
    } else if (s.follow_up_by != nullptr && rng_.Chance(s.follow_up_chance)) {
      // The discharge day (which FUH does not count), within a week, within
      // a month, or later.
      const size_t window = rng_.Weighted({10, 40, 32, 18});
      day = window == 0   ? 0
            : window == 1 ? rng_.Between(1, 7)
            : window == 2 ? rng_.Between(8, 30)
                          : rng_.Between(31, 45);
    }
    if (day >= 0 && s.follow_up_by != nullptr) {
      const absl::Time at =
          day == 0 ? discharge + absl::Minutes(rng_.Between(60, 300))
                   : OfficeHours(DayOf(discharge) + day, rng_);
      const Staff& provider =
          ProviderStaff(*s.follow_up_by, s.follow_up_category, rng_);
      const size_t contact = rng_.Weighted({55, 20, 15, 10});
      const v1::ContactKind kind = contact == 0   ? v1::CONTACT_KIND_IN_PERSON
                                   : contact == 1 ? v1::CONTACT_KIND_TELEHEALTH
                                   : contact == 2 ? v1::CONTACT_KIND_PHONE
                                                  : v1::CONTACT_KIND_HOME_VISIT;
      history_.Add(at, provider,
                   FollowUpEvent(history_.NewId("fu"), transition, admission_id,
                                 kind, provider));
    }
    return StayResult{admission_id, transition, discharge};
  }

  // Any hour of a day (admissions happen at night too).
  absl::Time AnyHour(absl::CivilDay day) {
    return StartOf(day) + absl::Hours(rng_.Between(0, 23)) +
           absl::Minutes(rng_.Between(0, 59));
  }

  // The stays of a client with a MeasureCase, at Mercy, followed up by
  // Harbor (a behavioural-health organisation: FUH's mental-health provider).
  void MeasureCaseStays() {
    const Org* mercy = &OrgById(kMercy);
    const Org* harbor = &OrgById(kHarbor);
    const absl::CivilDay first = DayOf(t0_) + rng_.Between(3, 30);
    const StaySpec psych{mercy,
                         v1::LEVEL_OF_CARE_INPATIENT,
                         rng_.Between(4, 14),
                         harbor,
                         v1::LEVEL_OF_CARE_OUTPATIENT,
                         v1::DISCHARGE_DISPOSITION_HOME,
                         1.0,
                         0.0,
                         harbor,
                         v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                         v1::SERVICE_CATEGORY_MENTAL_HEALTH};
    StaySpec ed = psych;
    ed.level = v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT;
    ed.days = 0;
    ed.plan_chance = 0.0;
    switch (measure_case_) {
      case MeasureCase::kNone:
        break;
      case MeasureCase::kFollowUpWithin7Days:
        Stay(AnyHour(first), psych, "", StayOptions{rng_.Between(1, 7), true});
        break;
      case MeasureCase::kDischargeDayThenLate: {
        const StayResult stay = Stay(AnyHour(first), psych, "",
                                     StayOptions{rng_.Between(8, 30), true});
        // The hospital's social worker phones the client that evening.
        const Staff& social_worker = StaffById("mercy.nguyen");
        history_.Add(stay.discharge + absl::Minutes(rng_.Between(30, 120)),
                     social_worker,
                     FollowUpEvent(history_.NewId("fu"), stay.transition_id,
                                   stay.admission_id, v1::CONTACT_KIND_PHONE,
                                   social_worker));
        break;
      }
      case MeasureCase::kNoFollowUp:
        Stay(AnyHour(first), psych, "", StayOptions{-1, false});
        break;
      case MeasureCase::kReadmitted: {
        const StayResult stay =
            Stay(AnyHour(first), psych, "", StayOptions{-1, true});
        StaySpec again = psych;
        again.days = rng_.Between(3, 10);
        const absl::Time readmitted =
            AnyHour(DayOf(stay.discharge) + rng_.Between(3, 25));
        Stay(readmitted, again, "", StayOptions{rng_.Between(1, 7), true});
        break;
      }
      case MeasureCase::kEdFollowedUpSameDay:
        Stay(AnyHour(first), ed, "", StayOptions{0, std::nullopt});
        break;
      case MeasureCase::kEdFollowedUpLate:
        Stay(AnyHour(first), ed, "",
             StayOptions{rng_.Between(8, 28), std::nullopt});
        break;
    }
  }

  void Stays() {
    if (measure_case_ != MeasureCase::kNone) {
      MeasureCaseStays();
      return;
    }
    const Org* mercy = &OrgById(kMercy);
    const Org* eastside = &OrgById(kEastside);
    const Org* harbor = &OrgById(kHarbor);
    const Org* newdawn = &OrgById(kNewDawn);
    const Org* cityhome = &OrgById(kCityHome);
    const Org* homecare = &OrgById(kHomeCare);
    const absl::CivilDay first = DayOf(t0_) + rng_.Between(3, 150);
    // `category`: the visit's primary need, and the follow-up's.
    const auto ed_visit = [&](absl::CivilDay day, const Org* follow_up,
                              v1::ServiceCategory category) {
      return Stay(
          AnyHour(day),
          StaySpec{mercy, v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT, 0, follow_up,
                   v1::LEVEL_OF_CARE_OUTPATIENT, v1::DISCHARGE_DISPOSITION_HOME,
                   0.2, 0.5, follow_up, category, category});
    };
    switch (persona_->kind) {
      case Kind::kMentalIllness:
        if (rng_.Chance(0.4)) {
          const StaySpec psych{mercy,
                               v1::LEVEL_OF_CARE_INPATIENT,
                               rng_.Between(4, 14),
                               harbor,
                               v1::LEVEL_OF_CARE_OUTPATIENT,
                               v1::DISCHARGE_DISPOSITION_HOME,
                               0.85,
                               0.65,
                               harbor,
                               v1::SERVICE_CATEGORY_MENTAL_HEALTH,
                               v1::SERVICE_CATEGORY_MENTAL_HEALTH};
          const absl::Time out = Stay(AnyHour(first), psych).discharge;
          if (rng_.Chance(0.1)) {  // readmitted within 30 days
            StaySpec again = psych;
            again.days = rng_.Between(3, 10);
            again.plan_chance = 0.5;
            Stay(AnyHour(DayOf(out) + rng_.Between(3, 28)), again);
          }
        } else if (rng_.Chance(0.5)) {
          ed_visit(first, harbor, v1::SERVICE_CATEGORY_MENTAL_HEALTH);
        }
        break;
      case Kind::kSubstanceUse:
        if (rng_.Chance(0.45)) {
          const bool against_advice = rng_.Chance(0.15);
          const StaySpec detox{
              newdawn,
              v1::LEVEL_OF_CARE_DETOX,
              rng_.Between(4, 7),
              newdawn,
              v1::LEVEL_OF_CARE_RESIDENTIAL,
              against_advice ? v1::DISCHARGE_DISPOSITION_AGAINST_MEDICAL_ADVICE
                             : v1::DISCHARGE_DISPOSITION_TRANSFER,
              against_advice ? 0.3 : 0.9,
              against_advice ? 0.3 : 0.0,
              newdawn,
              v1::SERVICE_CATEGORY_SUBSTANCE_USE,
              v1::SERVICE_CATEGORY_SUBSTANCE_USE};
          const absl::Time out = Stay(AnyHour(first), detox).discharge;
          if (!against_advice) {
            const bool to_harbor = rng_.Chance(0.4);
            const StaySpec residential{
                newdawn,
                v1::LEVEL_OF_CARE_RESIDENTIAL,
                rng_.Between(21, 30),
                to_harbor ? harbor : newdawn,
                to_harbor ? v1::LEVEL_OF_CARE_OUTPATIENT
                          : v1::LEVEL_OF_CARE_INTENSIVE_OUTPATIENT,
                v1::DISCHARGE_DISPOSITION_HOME,
                0.85,
                0.7,
                to_harbor ? harbor : newdawn,
                to_harbor ? v1::SERVICE_CATEGORY_MENTAL_HEALTH
                          : v1::SERVICE_CATEGORY_SUBSTANCE_USE,
                v1::SERVICE_CATEGORY_SUBSTANCE_USE};
            Stay(out + absl::Minutes(rng_.Between(60, 240)), residential);
          }
        } else if (rng_.Chance(0.55)) {
          ed_visit(first, newdawn, v1::SERVICE_CATEGORY_SUBSTANCE_USE);
        }
        break;
      case Kind::kHomeless:
      case Kind::kDomesticViolence: {
        if (rng_.Chance(0.5)) {
          const bool homeless = persona_->kind == Kind::kHomeless;
          const StaySpec shelter{
              cityhome,
              v1::LEVEL_OF_CARE_SHELTER,
              homeless ? rng_.Between(20, 90) : rng_.Between(14, 60),
              cityhome,
              v1::LEVEL_OF_CARE_COMMUNITY,
              rng_.Chance(0.6) ? v1::DISCHARGE_DISPOSITION_HOME
                               : v1::DISCHARGE_DISPOSITION_OTHER,
              0.7,
              0.5,
              cityhome,
              v1::SERVICE_CATEGORY_HOUSING,
              homeless ? v1::SERVICE_CATEGORY_HOUSING
                       : v1::SERVICE_CATEGORY_SAFETY};
          Stay(OfficeHours(first, rng_), shelter);
        }
        if (rng_.Chance(0.3))
          ed_visit(first + rng_.Between(95, 200), eastside,
                   v1::SERVICE_CATEGORY_HEALTH_CARE);
        break;
      }
      case Kind::kFrailElder:
        if (rng_.Chance(0.55)) {
          const StaySpec medical{mercy,
                                 v1::LEVEL_OF_CARE_INPATIENT,
                                 rng_.Between(3, 10),
                                 homecare,
                                 v1::LEVEL_OF_CARE_HOME,
                                 v1::DISCHARGE_DISPOSITION_HOME_WITH_SERVICES,
                                 0.85,
                                 0.7,
                                 eastside,
                                 v1::SERVICE_CATEGORY_HEALTH_CARE,
                                 v1::SERVICE_CATEGORY_HEALTH_CARE};
          const absl::Time out = Stay(AnyHour(first), medical).discharge;
          if (rng_.Chance(0.15)) {  // unplanned readmission within 30 days
            StaySpec again = medical;
            again.days = rng_.Between(2, 8);
            Stay(AnyHour(DayOf(out) + rng_.Between(2, 29)), again);
          }
        }
        break;
      case Kind::kReentry: {
        const Org* court = &OrgById(kCourt);
        const StaySpec release{&OrgById(kCorrections),
                               v1::LEVEL_OF_CARE_INCARCERATION,
                               rng_.Between(14, 60),
                               court,
                               v1::LEVEL_OF_CARE_COMMUNITY,
                               v1::DISCHARGE_DISPOSITION_HOME,
                               0.9,
                               0.85,
                               court,
                               v1::SERVICE_CATEGORY_PROBATION_PAROLE,
                               v1::SERVICE_CATEGORY_PROBATION_PAROLE};
        // The stay's length counts from the reentry case opening.
        Stay(t0_, release, incarceration_);
        break;
      }
      case Kind::kChild:
        if (rng_.Chance(0.1))
          ed_visit(first, eastside, v1::SERVICE_CATEGORY_HEALTH_CARE);
        break;
      case Kind::kImmigrant:
        if (rng_.Chance(0.1))
          ed_visit(first, eastside, v1::SERVICE_CATEGORY_HEALTH_CARE);
        break;
      case Kind::kChronicIllness:
        if (rng_.Chance(0.35)) {
          Stay(AnyHour(first),
               StaySpec{mercy, v1::LEVEL_OF_CARE_INPATIENT, rng_.Between(2, 8),
                        eastside, v1::LEVEL_OF_CARE_OUTPATIENT,
                        v1::DISCHARGE_DISPOSITION_HOME, 0.75, 0.65, eastside,
                        v1::SERVICE_CATEGORY_HEALTH_CARE,
                        v1::SERVICE_CATEGORY_HEALTH_CARE});
        } else if (rng_.Chance(0.4)) {
          ed_visit(first, eastside, v1::SERVICE_CATEGORY_HEALTH_CARE);
        }
        break;
    }
  }

  // The same client enrolled in one kind of service at two providers at once.
  void OverlappingServices() {
    if (!ForcedOverlap(index_) && !rng_.Chance(0.06)) return;
    std::vector<v1::ServiceCategory> candidates;
    for (const Need& need : needs_) {
      if (Providers(need.category, "").size() >= 2)
        candidates.push_back(need.category);
    }
    if (candidates.empty()) candidates.push_back(v1::SERVICE_CATEGORY_FOOD);
    const v1::ServiceCategory category = rng_.Pick(candidates);
    std::vector<const Org*> providers = Providers(category, "");
    const size_t a = rng_.Below(providers.size());
    size_t b = rng_.Below(providers.size() - 1);
    if (b >= a) ++b;
    const absl::Time first_start = Later(t0_, 5, 60);
    const size_t first = StartService(
        *providers[a], ProviderStaff(*providers[a], category, rng_), category,
        first_start, "");
    // Sometimes the second provider starts the same day (NCCI-style
    // same-day services), usually days later.
    const absl::Time second_start =
        rng_.Chance(0.3) ? Later(first_start, 0, 0) : Later(first_start, 3, 20);
    StartService(*providers[b], ProviderStaff(*providers[b], category, rng_),
                 category, second_start, "");
    if (rng_.Chance(0.6)) {
      EndService(first, Later(second_start, 20, 90),
                 "Client now served by another provider");
    }
  }

  // A provider announces that a service will stop; a successor or a gap.
  void Interruption() {
    if (!rng_.Chance(0.06)) return;
    for (size_t i = 0; i < services_.size(); ++i) {
      if (services_[i].end != absl::InfiniteFuture()) continue;
      static const auto* const reasons = new std::vector<std::string>{
          "Programme funding ends",
          "Clinician leaving; caseload being reassigned",
          "Provider closing this site"};
      const Org& provider = *services_[i].provider;
      const v1::ServiceCategory category = services_[i].category;
      const absl::Time at = Later(services_[i].start, 20, 60);
      const absl::Time expected =
          OfficeHours(DayOf(at) + rng_.Between(14, 30), rng_);
      history_.Add(
          at, ProviderStaff(provider, category, rng_),
          InterruptionEvent(services_[i].id, expected, rng_.Pick(*reasons)));
      EndService(i, expected, "Service ended as notified");
      std::vector<const Org*> others = Providers(category, provider.id);
      if (!others.empty() && rng_.Chance(0.6)) {
        const Org& next = *rng_.Pick(others);
        StartService(
            next, ProviderStaff(next, category, rng_), category,
            std::max(at + absl::Hours(1), expected - Days(rng_.Between(0, 3))),
            "");
      }
      return;
    }
  }

  void Correction() {
    if (!rng_.Chance(0.08)) return;
    history_.Add(Later(t0_, 20, 200), *lead_,
                 PhoneCorrectedEvent(
                     absl::StrFormat("+1-541-555-%04d", rng_.Below(10000)),
                     "Client reported a new phone number"));
  }

  void TeamChanges() {
    if (!rng_.Chance(0.12)) return;
    for (Member& member : team_) {
      if (member.lead) continue;
      member.removed = Later(member.added, 30, 150);
      static const auto* const reasons = new std::vector<std::string>{
          "Service completed; no longer on the team",
          "Staff member changed roles", "Client asked for another worker"};
      history_.Add(
          member.removed, *lead_,
          MemberRemovedEvent(member.staff->user_id, rng_.Pick(*reasons)));
      return;
    }
  }

  void Meetings() {
    static const auto* const decisions = new std::vector<std::string>{
        "Continue the current plan; review in 30 days",
        "Lead case manager to chase the unanswered referral",
        "Client to bring ID documents to the next appointment",
        "Increase check-ins to weekly",
        "Coordinate transport for medical appointments",
        "Share the discharge summary with the outpatient provider (consent on "
        "file)",
        "Two agencies offer the same service: agree who leads",
        "Client asked to slow down; fewer appointments this month"};
    const int count = rng_.Between(0, 3);
    absl::Time at = Later(t0_, 21, 45);
    for (int i = 0; i < count; ++i) {
      if (i > 0) at = Later(at, 28, 56);
      std::vector<std::string> attendees;
      for (const Member& m : team_) {
        if (m.added < at && at < m.removed)
          attendees.push_back(m.staff->user_id);
      }
      const size_t first = rng_.Below(decisions->size());
      const size_t second =
          (first + 1 + rng_.Below(decisions->size() - 1)) % decisions->size();
      history_.Add(
          at, *lead_,
          MeetingEvent(history_.NewId("mtg"), attendees, rng_.Chance(0.6),
                       {(*decisions)[first], (*decisions)[second]},
                       DayOf(at) + 30));
    }
  }

  void Closure() {
    if (!rng_.Chance(0.25) || measure_case_ != MeasureCase::kNone) return;
    const absl::Time at = Later(history_.latest(), 5, 40);
    for (size_t i = 0; i < services_.size(); ++i) {
      EndService(i, at - absl::Minutes(30), "Case closed");
    }
    for (const Referral& referral : referrals_) {
      if (referral.outcome == Outcome::kRequested ||
          referral.outcome == Outcome::kAccepted ||
          referral.outcome == Outcome::kOnHold ||
          referral.outcome == Outcome::kInProgress) {
        history_.Add(
            at - absl::Minutes(20), *lead_,
            ReferralStepEvent(Step::kCancel, referral.id, "Case closed"));
      }
    }
    const size_t which = rng_.Weighted({40, 15, 20, 10, 15});
    static const auto* const notes = new std::vector<std::string>{
        "Goals met; client agrees to close", "Client moved out of the county",
        "No contact for 60 days despite 3 attempts",
        "Client declined further services",
        "Transferred to another agency's case management"};
    const v1::CaseClosureReason reasons[] = {
        v1::CASE_CLOSURE_REASON_GOALS_MET, v1::CASE_CLOSURE_REASON_MOVED,
        v1::CASE_CLOSURE_REASON_LOST_CONTACT, v1::CASE_CLOSURE_REASON_DECLINED,
        v1::CASE_CLOSURE_REASON_TRANSFERRED};
    history_.Add(at, *lead_, CaseClosedEvent(reasons[which], (*notes)[which]));
    if (rng_.Chance(0.15)) {
      const absl::Time reopened = Later(at, 15, 120);
      history_.Add(reopened, *lead_,
                   CaseReopenedEvent("Client returned asking for help again"));
      const Need& need = needs_.front();
      const CategoryText text = TextFor(need.category);
      history_.Add(Later(reopened, 0, 3), *lead_,
                   AssessmentEvent(history_.NewId("asm"),
                                   {Domain(need.category, need.level,
                                           text.strengths, text.risks)}));
    }
  }

  // A near-duplicate of `p`, as another agency would type it.
  Person Variant(const Person& p) {
    Person v = p;
    int changes = 0;
    const std::string nickname = Nickname(p.given);
    if (!nickname.empty() && rng_.Chance(0.5)) {
      v.given = nickname;
      ++changes;
    }
    if (rng_.Chance(0.4)) {
      v.family = Typo(v.family);
      ++changes;
    }
    if (rng_.Chance(0.4)) {
      if (p.birth.day() <= 12 && p.birth.day() != p.birth.month() &&
          rng_.Chance(0.5)) {
        v.birth =
            absl::CivilDay(p.birth.year(), p.birth.day(), p.birth.month());
      } else {
        v.birth = p.birth + 1;
      }
      ++changes;
    }
    if (!p.phone.empty() && rng_.Chance(0.3)) {
      v.phone.back() = static_cast<char>('0' + (v.phone.back() - '0' + 1) % 10);
      ++changes;
    }
    if (changes == 0) v.family = Typo(v.family);
    if (!v.middle.empty())
      v.middle = rng_.Chance(0.5) ? "" : v.middle.substr(0, 1);
    return v;
  }

  std::string Typo(std::string name) {
    if (name.size() < 4) return name + name.back();
    const size_t i = 1 + rng_.Below(name.size() - 2);
    switch (rng_.Below(3)) {
      case 0:
        std::swap(name[i], name[i + 1]);
        break;
      case 1:
        name.erase(i, 1);
        break;
      default:
        name.insert(i, 1, name[i]);
        break;
    }
    return name;
  }

  // The same person registered again by another agency, and sometimes linked.
  void Twin(std::vector<PlannedCommand>* out) {
    std::vector<std::string> candidates;
    for (const char* id : {kMercy, kCityHome, kEastside, kCommunity}) {
      if (id != intake_->id) candidates.push_back(id);
    }
    const Org& org = OrgById(rng_.Pick(candidates));
    const Staff& by = Coordinator(org, rng_);
    const std::string primary = SyntheticClientId(seed_, index_);
    History twin(TwinClientId(seed_, index_), cutoff_);
    absl::CivilDay day = DayOf(t0_) + rng_.Between(-60, 120);
    if (day > DayOf(cutoff_) - 3) day = DayOf(cutoff_) - rng_.Between(3, 10);
    const absl::Time at = OfficeHours(day, rng_);
    twin.Add(at, by,
             ClientRegisteredEvent(Variant(person_), org,
                                   absl::StrFormat("%s%07d", org.id_prefix,
                                                   rng_.Below(10000000))));
    if (org.id == kCityHome || org.id == kCommunity) {
      // An agency intake opens a case with its own lead case manager (or
      // leaves the lead to the next allocation meeting: an open case without
      // a lead); a hospital or clinic registration does not.
      twin.Add(at + absl::Minutes(10), by,
               CaseOpenedEvent(
                   absl::StrCat("Registered at ", org.name,
                                "; no existing record found at intake")));
      if (rng_.Chance(0.6)) {
        twin.Add(at + absl::Minutes(15), by,
                 MemberAddedEvent(by, v1::CARE_TEAM_ROLE_LEAD_CASE_MANAGER));
      }
    }
    if (org.id == kMercy) {
      const Staff& nurse =
          ProviderStaff(org, v1::SERVICE_CATEGORY_HEALTH_CARE, rng_);
      twin.Add(at + absl::Minutes(20), nurse,
               AdmissionEvent("adm-1", org.id,
                              v1::LEVEL_OF_CARE_EMERGENCY_DEPARTMENT,
                              v1::SERVICE_CATEGORY_HEALTH_CARE));
      twin.Add(at + absl::Hours(rng_.Between(3, 8)), nurse,
               DischargeEvent("adm-1", v1::DISCHARGE_DISPOSITION_HOME));
    } else if (org.id == kEastside) {
      twin.Add(
          at + absl::Hours(1), by,
          AssessmentEvent(
              "asm-1",
              {Domain(v1::SERVICE_CATEGORY_HEALTH_CARE, v1::NEED_LEVEL_MODERATE,
                      "", "New patient; no records from other providers")}));
    } else {
      const v1::ServiceCategory category = org.id == kCityHome
                                               ? v1::SERVICE_CATEGORY_HOUSING
                                               : v1::SERVICE_CATEGORY_FOOD;
      twin.Add(at + absl::Hours(1), ProviderStaff(org, category, rng_),
               ServiceStartedEvent("svc-1", org.id, category,
                                   TextFor(category).level, ""));
    }
    if (rng_.Chance(0.5)) {
      // The primary record's lead case manager links them: linking needs a
      // part in both records (docs/access.md), and the twin's agency brings
      // them onto the twin's team first (InviteAuthors).
      twin.Add(Later(at, 3, 60), *lead_,
               RecordsLinkedEvent(
                   primary,
                   absl::StrCat("Same person as client ", primary,
                                ": name, birth date and phone match closely; "
                                "confirmed with the client")));
    }
    twin.AppendCommands(out);
  }

  const uint64_t seed_;
  const int index_;
  const absl::Time cutoff_;
  Rng rng_;
  History history_;
  const MeasureCase measure_case_;
  const Persona* persona_ = nullptr;
  Person person_;
  const Org* intake_ = nullptr;
  const Staff* lead_ = nullptr;
  absl::Time t0_;              // the case opens
  absl::Time assessed_;        // the first assessment
  std::string incarceration_;  // reentry: the admission to release from
  std::vector<Need> needs_;
  std::vector<Consent> consents_;
  std::vector<Member> team_;
  std::vector<Service> services_;
  std::vector<Referral> referrals_;
};

}  // namespace

int PlanSyntheticClient(uint64_t seed, int index, absl::Time cutoff,
                        std::vector<PlannedCommand>* out) {
  SyntheticClient client(seed, index, cutoff);
  return client.Plan(out);
}

}  // namespace caseline::tools::demo
