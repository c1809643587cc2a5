// Planned commands and per-client histories: what the demo sends, in an
// order the server accepts.
#ifndef CASELINE_TOOLS_DEMO_HISTORY_H_
#define CASELINE_TOOLS_DEMO_HISTORY_H_

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "tools/demo/network.h"

namespace caseline::tools::demo {

// One command the demo sends: a care event proposed by a staff member.
struct PlannedCommand {
  std::string command_id;
  std::string client_id;  // empty for organisation commands
  std::string organization_id;
  std::string user_id;
  absl::Time occurred_at;
  v1::CareEvent event;
};

// Before each command of one client's time-ordered commands whose
// organisation is not involved in the client's care at that moment
// (docs/access.md: registering organisation, active team member's, referral
// sender or receiver, active service provider, transition receiver), inserts
// the invitation a real network would make first: the lead case manager (or,
// with no lead, the registering organisation's first worker) adds the author
// to the care team a minute earlier. No organisation involves itself.
void InviteAuthors(std::vector<PlannedCommand>* commands);

// The event id an EventEnteredInError of a script names before the commands
// are numbered: CorrectionTarget(id) for the event whose first field (its
// own id: referral_id, service_id, reconciliation_id, ...) is `id`.
std::string CorrectionTarget(const std::string& id);
// Replaces each CorrectionTarget in `commands` (numbered, of one client) by
// the event id the server gives that command's event (docs/log_format.md
// "Commands").
void ResolveCorrections(std::vector<PlannedCommand>* commands);

// A client's events as they happen, in any order of generation. Commands()
// puts them in time order (ties keep the order of Add) and leaves out those
// at or after the cutoff, which have not happened yet on the demo's "today".
// Generators add an event only after every event it depends on, at a time no
// earlier, so that time order is also an order the server accepts.
class History {
 public:
  History(std::string client_id, absl::Time cutoff)
      : client_id_(std::move(client_id)), cutoff_(cutoff) {}

  const std::string& client_id() const { return client_id_; }
  absl::Time cutoff() const { return cutoff_; }
  // The latest time added so far.
  absl::Time latest() const { return latest_; }

  void Add(absl::Time at, const Staff& by, v1::CareEvent event) {
    items_.push_back(Item{at, &by, std::move(event)});
    latest_ = std::max(latest_, at);
  }

  // A new id of `kind` for this client: "ref-1", "ref-2", ...
  std::string NewId(const std::string& kind) {
    return absl::StrCat(kind, "-", ++counters_[kind]);
  }

  // Appends the commands, numbered "demo-<client_id>-<n>" from 0 in time
  // order, with the invitations the write rule needs (InviteAuthors).
  void AppendCommands(std::vector<PlannedCommand>* out) {
    std::stable_sort(items_.begin(), items_.end(),
                     [](const Item& a, const Item& b) { return a.at < b.at; });
    std::vector<PlannedCommand> commands;
    for (Item& item : items_) {
      if (item.at >= cutoff_) break;
      commands.push_back(
          PlannedCommand{"", client_id_, item.by->organization_id,
                         item.by->user_id, item.at, std::move(item.event)});
    }
    InviteAuthors(&commands);
    int n = 0;
    for (PlannedCommand& command : commands) {
      command.command_id = absl::StrCat("demo-", client_id_, "-", n++);
    }
    ResolveCorrections(&commands);
    for (PlannedCommand& command : commands) out->push_back(std::move(command));
  }

 private:
  struct Item {
    absl::Time at;
    const Staff* by;
    v1::CareEvent event;
  };
  std::string client_id_;
  absl::Time cutoff_;
  absl::Time latest_ = absl::InfinitePast();
  std::vector<Item> items_;
  std::map<std::string, int> counters_;
};

}  // namespace caseline::tools::demo

#endif  // CASELINE_TOOLS_DEMO_HISTORY_H_
