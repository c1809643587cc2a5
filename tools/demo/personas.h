// Who the synthetic clients are: names, streets and cities to draw from, and
// the personas (kinds of client) with where they are first seen and what
// they need.
#ifndef CASELINE_TOOLS_DEMO_PERSONAS_H_
#define CASELINE_TOOLS_DEMO_PERSONAS_H_

#include <string>
#include <utility>
#include <vector>

#include "caseline/v1/care_events.pb.h"
#include "tools/demo/network.h"

namespace caseline::tools::demo {

// Names and streets to draw from (a synthetic population; the tables'
// order is part of the demo's determinism).
const std::vector<std::string>& MaleNames();
const std::vector<std::string>& FemaleNames();
const std::vector<std::string>& FamilyNames();
const std::vector<std::string>& Streets();

struct City {
  const char* name;
  const char* postal_prefix;
};

// The five cities of the network, with their postal code prefixes.
const std::vector<City>& Cities();

// The usual short form of a given name, or "" if it has none.
std::string Nickname(const std::string& given);

// The kinds of client the personas describe.
enum class Kind {
  kMentalIllness,
  kSubstanceUse,
  kHomeless,
  kFrailElder,
  kReentry,
  kChild,
  kDomesticViolence,
  kImmigrant,
  kChronicIllness,
};

// A kind of client: who they are, where they are first seen, what they need.
struct Persona {
  Kind kind;
  int weight;
  int min_age;
  int max_age;
  std::vector<std::string> intake;  // organisations that register them
  // Needs: the first always, the others with the given percent chance.
  std::vector<std::pair<v1::ServiceCategory, int>> needs;
  std::vector<v1::DataClass> classes;  // what they consent to share
  std::string reason;                  // why the case is opened
};

// The personas, drawn in proportion to their weights.
const std::vector<Persona>& Personas();

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_PERSONAS_H_
