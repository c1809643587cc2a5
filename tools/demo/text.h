// What each service category means in a plan: the texts of referrals,
// goals, assessments and progress notes, where the service is delivered, and
// what a referral for it would share.
#ifndef CASELINE_TOOLS_DEMO_TEXT_H_
#define CASELINE_TOOLS_DEMO_TEXT_H_

#include <string>
#include <vector>

#include "caseline/v1/care_events.pb.h"

namespace caseline::tools::demo {

// The texts and settings of one service category.
struct CategoryText {
  std::string need;       // why a client is referred
  std::string goal;       // a SMART goal: description ...
  std::string measure;    // ... and how it is measured
  std::string strengths;  // assessment
  std::string risks;
  std::string delivered;  // what a completed referral delivered
  v1::LevelOfCare level;  // where the service is delivered
  // What a referral for it would share, given consent.
  std::vector<v1::DataClass> data;
  std::vector<std::string> notes;  // goal progress notes
};

// Those of `category` (generic ones for a category without its own).
CategoryText TextFor(v1::ServiceCategory category);

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_TEXT_H_
