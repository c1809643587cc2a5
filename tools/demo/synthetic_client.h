// The synthetic clients: `clients` plausible histories, each from (seed,
// index) alone (std::mt19937_64 per client), and every 40th client's
// near-duplicate second registration by another agency.
#ifndef CASELINE_TOOLS_DEMO_SYNTHETIC_CLIENT_H_
#define CASELINE_TOOLS_DEMO_SYNTHETIC_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tools/demo/history.h"

namespace caseline::tools::demo {

// "s<seed>-c<index>", zero-padded to five digits.
std::string SyntheticClientId(uint64_t seed, int index);

// The second registration's id, "s<seed>-d<index>".
std::string TwinClientId(uint64_t seed, int index);

// Every 40th synthetic client (5, 45, 85, ...) is registered a second time,
// by another agency, under another client id.
bool HasTwin(int index);

// Appends the commands of synthetic client `index` (1-based), those before
// `cutoff`, then its twin's if it has one; returns the number of client
// records registered (1, or 2 with a twin).
int PlanSyntheticClient(uint64_t seed, int index, absl::Time cutoff,
                        std::vector<PlannedCommand>* out);

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_SYNTHETIC_CLIENT_H_
