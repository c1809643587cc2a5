#include "care/nicknames.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "care/client_matching.h"

namespace caseline::care {
namespace {

// Common English given-name equivalents (short forms and diminutives), as
// MPI nickname tables list them, and a few Spanish ones. A name may be in
// several groups ("pat").
const std::vector<std::vector<std::string>>& BuiltInGroups() {
  static const auto* const groups = new std::vector<std::vector<std::string>>{
          {"william", "bill", "billy", "will", "willy", "liam"},
          {"robert", "bob", "bobby", "rob", "robbie", "bert"},
          {"michael", "mike", "mikey", "mick", "mickey"},
          {"james", "jim", "jimmy", "jamie"},
          {"richard", "rick", "ricky", "rich", "richie", "dick"},
          {"joseph", "joe", "joey"},
          {"thomas", "tom", "tommy"},
          {"christopher", "chris", "kit"},
          {"christine", "christina", "chris", "tina", "chrissy"},
          {"daniel", "dan", "danny"},
          {"anthony", "tony"},
          {"elizabeth", "liz", "lizzie", "beth", "betty", "eliza", "lisa"},
          {"patricia", "pat", "patty", "trish", "tricia"},
          {"patrick", "pat", "paddy"},
          {"jennifer", "jen", "jenny"},
          {"katherine", "catherine", "kathryn", "kathy", "kate", "katie",
           "cathy", "kat"},
          {"margaret", "peggy", "maggie", "meg", "marge"},
          {"jessica", "jess", "jessie"},
          {"susan", "sue", "susie", "suzy"},
          {"samuel", "sam", "sammy"},
          {"samantha", "sam", "sammy"},
          {"dorothy", "dot", "dottie", "dolly"},
          {"natalia", "natasha", "natalie", "nata"},
          {"david", "dave", "davey"},
          {"steven", "stephen", "steve"},
          {"edward", "ed", "eddie", "ted", "teddy"},
          {"andrew", "andy", "drew"},
          {"alexander", "alex", "sasha"},
          {"alexandra", "alex", "sasha", "sandra"},
          {"benjamin", "ben", "benny"},
          {"matthew", "matt"},
          {"nicholas", "nick", "nicky"},
          {"gregory", "greg"},
          {"lawrence", "larry"},
          {"john", "jon", "johnny", "jack"},
          {"charles", "charlie", "chuck"},
          {"henry", "harry", "hank"},
          {"kenneth", "ken", "kenny"},
          {"ronald", "ron", "ronnie"},
          {"donald", "don", "donnie"},
          {"jeffrey", "jeff"},
          {"joshua", "josh"},
          {"abigail", "abby"},
          {"rebecca", "becky", "becca"},
          {"deborah", "debbie", "deb"},
          {"victoria", "vicky", "tori"},
          {"amanda", "mandy"},
          {"cynthia", "cindy"},
          {"pamela", "pam"},
          {"judith", "judy"},
          {"theresa", "teresa", "terry", "tess"},
          {"jose", "pepe"},
          {"francisco", "paco", "pancho"},
          {"guadalupe", "lupe"},
      };
  return *groups;
}

}  // namespace

std::shared_ptr<const NicknameTable> NicknameTable::BuiltIn() {
  static const std::shared_ptr<const NicknameTable>* const kBuiltIn = [] {
    auto table = std::shared_ptr<NicknameTable>(new NicknameTable());
    for (const std::vector<std::string>& group : BuiltInGroups())
      table->AddGroup(group);
    return new std::shared_ptr<const NicknameTable>(std::move(table));
  }();
  return *kBuiltIn;
}

void NicknameTable::AddGroup(const std::vector<std::string>& names) {
  std::vector<std::string> unique = names;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  if (unique.size() < 2) return;
  const uint32_t group = group_count_++;
  for (const std::string& name : unique) groups_of_[name].push_back(group);
}

absl::StatusOr<std::shared_ptr<const NicknameTable>> NicknameTable::Parse(
    absl::string_view csv) {
  auto table = std::shared_ptr<NicknameTable>(new NicknameTable());
  std::vector<absl::string_view> lines = absl::StrSplit(csv, '\n');
  bool relationships = false;
  bool first = true;  // the first line that is neither blank nor a comment
  // name1 -> its nicknames, in first-seen order of name1 (relationships).
  std::vector<std::pair<std::string, std::vector<std::string>>> by_name;
  absl::flat_hash_map<std::string, size_t> index;
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = absl::StripAsciiWhitespace(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = absl::StrCat("line ", i + 1);
    std::vector<std::string> fields;
    for (absl::string_view field : absl::StrSplit(line, ',')) {
      fields.emplace_back(absl::StripAsciiWhitespace(field));
    }
    const bool header = first && fields.size() == 3 && fields[0] == "name1" &&
                        fields[1] == "relationship" && fields[2] == "name2";
    first = false;
    if (header) {
      relationships = true;
      continue;
    }
    if (relationships) {
      if (fields.size() != 3) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": expected \"name1,relationship,name2\", got \"", line,
            "\""));
      }
      if (fields[1] != "has_nickname") continue;
    }
    if (relationships) fields = {fields[0], fields[2]};
    std::vector<std::string> names;
    for (const std::string& field : fields) {
      if (field.empty() && !relationships) continue;
      std::string name = NormalizeName(field);
      if (name.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": \"", field,
            "\" is not a name (no letters or digits once normalised)"));
      }
      names.push_back(std::move(name));
    }
    if (relationships) {
      auto [it, inserted] = index.try_emplace(names[0], by_name.size());
      if (inserted) by_name.push_back({names[0], {names[0]}});
      by_name[it->second].second.push_back(names[1]);
    } else {
      table->AddGroup(names);
    }
  }
  for (const auto& [name, group] : by_name) table->AddGroup(group);
  if (table->group_count_ == 0) {
    return absl::InvalidArgumentError(
        "no group of two or more names: write \"name1,relationship,name2\" "
        "then lines like \"robert,has_nickname,bob\", or lines like "
        "\"robert,bob,rob\"");
  }
  return std::shared_ptr<const NicknameTable>(std::move(table));
}

std::vector<uint32_t> NicknameTable::GroupsOf(absl::string_view name) const {
  auto it = groups_of_.find(name);
  return it == groups_of_.end() ? std::vector<uint32_t>() : it->second;
}

bool NicknameTable::AreNicknames(absl::string_view a,
                                 absl::string_view b) const {
  if (a == b) return false;
  auto ga = groups_of_.find(a);
  if (ga == groups_of_.end()) return false;
  auto gb = groups_of_.find(b);
  if (gb == groups_of_.end()) return false;
  for (uint32_t group : ga->second) {
    if (std::binary_search(gb->second.begin(), gb->second.end(), group))
      return true;
  }
  return false;
}

}  // namespace caseline::care
