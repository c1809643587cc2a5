// The demo's basics: its random numbers, its days and times, and a small
// helper. Every business time is derived from (seed, base_date, index) through
// these, never from a clock (tools/demo/demo.h, "Determinism").
#ifndef CASELINE_TOOLS_DEMO_COMMON_H_
#define CASELINE_TOOLS_DEMO_COMMON_H_

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace caseline::tools::demo {

// std::mt19937_64 seeded through std::seed_seq (both fully specified by the
// standard), with our own range reductions, so that a seed yields the same
// demo with any standard library.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) {
    std::seed_seq seq{
        static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
        static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)};
    engine_.seed(seq);
  }

  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(engine_()) * n) >> 64);
  }
  // Uniform in [lo, hi]; lo <= hi.
  int Between(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool Chance(double p) {
    return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }
  // An index into `weights`, chosen in proportion to them.
  size_t Weighted(const std::vector<int>& weights) {
    int total = 0;
    for (int w : weights) total += w;
    int x = static_cast<int>(Below(static_cast<uint64_t>(total)));
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  std::mt19937_64 engine_;
};

inline absl::Duration Days(int64_t n) { return absl::Hours(24 * n); }

inline absl::CivilDay DayOf(absl::Time t) {
  return absl::ToCivilDay(t, absl::UTCTimeZone());
}

inline absl::Time StartOf(absl::CivilDay day) {
  return absl::FromCivil(day, absl::UTCTimeZone());
}

// A moment in office hours (08:00-17:59 UTC) of `day`.
inline absl::Time OfficeHours(absl::CivilDay day, Rng& rng) {
  return StartOf(day) + absl::Hours(8) + absl::Minutes(rng.Between(0, 599));
}

inline void SetTime(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
  out->set_nanos(0);
}

inline v1::Date ToDate(absl::CivilDay day) {
  v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

template <typename T>
bool Contains(const std::vector<T>& items, const T& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_COMMON_H_
