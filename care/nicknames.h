// Given names that are one name: a name with its nicknames and diminutives
// ("robert": "bob", "bobby", "rob"), in groups. Client matching lets two
// given names that share a group partly agree (care/client_matching.h).
//
// The list is data, not code: a network loads a maintained list in the
// layout of the carltonnorthern/nicknames project's names.csv (Apache-2.0;
// about 1,100 English given names) through the views config's
// nicknames_file (docs/views.md). Without one, a small built-in list of
// common English and Spanish names serves.
//
// Immutable once built; thread-safe.
#ifndef CASELINE_CARE_NICKNAMES_H_
#define CASELINE_CARE_NICKNAMES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace caseline::care {

class NicknameTable {
 public:
  // The built-in list (one shared instance).
  static std::shared_ptr<const NicknameTable> BuiltIn();

  // Reads a list in one of the two layouts names.csv has had:
  //   - a header line "name1,relationship,name2" (the first line that is
  //     neither blank nor a comment), then one relationship per
  //     line, "<name>,has_nickname,<nickname>"; each name1 with all its
  //     nicknames is one group; lines with another relationship are skipped;
  //   - otherwise every line is a group, "<name>,<nickname>,<nickname>...".
  // Names are normalised as client matching normalises them (care::
  // NormalizeName: transliterated, case-folded, letters and digits only).
  // Blank lines and lines starting with '#' are skipped; a group of fewer
  // than two different names adds nothing.
  // Errors: INVALID_ARGUMENT naming the line (1-based) for a relationship
  // line without three fields, or a name that normalises to nothing;
  // INVALID_ARGUMENT when no group results.
  static absl::StatusOr<std::shared_ptr<const NicknameTable>> Parse(
      absl::string_view csv);

  // The groups `name` (normalised) is in, ascending; empty when none.
  std::vector<uint32_t> GroupsOf(absl::string_view name) const;

  // True when `a` and `b` (normalised) differ and share a group.
  bool AreNicknames(absl::string_view a, absl::string_view b) const;

  size_t group_count() const { return group_count_; }

 private:
  NicknameTable() = default;
  void AddGroup(const std::vector<std::string>& names);

  absl::flat_hash_map<std::string, std::vector<uint32_t>> groups_of_;
  uint32_t group_count_ = 0;
};

}  // namespace caseline::care

#endif  // CASELINE_CARE_NICKNAMES_H_
