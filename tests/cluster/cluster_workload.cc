// The client side of the cluster checker (tests/cluster/jepsen.py,
// docs/cluster.md "Checked"): `run` appends from several clients to the
// nodes of a cluster while a nemesis breaks it, recording every operation's
// outcome; `check` reads every node's log afterwards and fails if an
// acknowledged append is missing, duplicated or misplaced, if an append
// refused as not stored is present, or if the nodes' logs, hash chains or
// heads differ.
//
// The checker reads as an admin, and an admin's read of care data is
// recorded: each ReadAll page that shows clients' events appends their
// RecordAccessed (docs/access.md), so reading the logs moves the head. The
// check therefore settles the head with calls that record nothing (the
// projections' status), compares the logs up to that head, and then settles
// again, past its own access records, before it compares chain heads and
// projection positions.
//
// Every mode takes --org ORG, sent as x-caseline-org.
//
//   cluster_workload run   --nodes H:P,H:P,H:P --seconds S --clients C
//                          --streams K --history FILE
//   cluster_workload check --nodes H:P,H:P,H:P --history FILE
//   cluster_workload probe --nodes H:P,... --history /dev/null
//       one append, tried at each node in turn until one acknowledges it
//       (30 s at most); prints {"ms": time to the acknowledgement, "node":
//       its index in --nodes, "position": the event's position}
//
// Appends go to a random node, half with the exact expected version just
// read from that node, half with any; each has a client-made event id, so an
// append whose answer was lost (UNAVAILABLE, DEADLINE_EXCEEDED) is retried
// as it is at another node, up to three more times: an identical retry is
// answered already_written if the first attempt was stored.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"

namespace caseline {
namespace {

constexpr int kRetries = 3;
constexpr std::chrono::milliseconds kCallTimeout(3000);

struct Flags {
  std::string mode;
  std::vector<std::string> nodes;
  int seconds = 20;
  int clients = 6;
  int streams = 8;
  std::string history;
  // Sent as x-caseline-org on every call (a non-loopback server without TLS
  // needs --access_config, naming this organisation admin and auditor).
  std::string org;
};

std::string& Org() {
  static std::string org;
  return org;
}

bool ParseFlags(int argc, char** argv, Flags& flags) {
  if (argc < 2) return false;
  flags.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--nodes") {
      flags.nodes = absl::StrSplit(value, ',', absl::SkipEmpty());
    } else if (name == "--seconds") {
      flags.seconds = std::stoi(value);
    } else if (name == "--clients") {
      flags.clients = std::stoi(value);
    } else if (name == "--streams") {
      flags.streams = std::stoi(value);
    } else if (name == "--history") {
      flags.history = value;
    } else if (name == "--org") {
      flags.org = value;
    } else {
      return false;
    }
  }
  return (flags.mode == "run" || flags.mode == "check" ||
          flags.mode == "probe") &&
         !flags.nodes.empty() && !flags.history.empty();
}

std::string NewUuid(std::mt19937_64& rng) {
  const uint64_t a = rng(), b = rng();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32,
                         (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

class Nodes {
 public:
  explicit Nodes(const std::vector<std::string>& addresses) {
    for (const std::string& a : addresses) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(-1);
      // Reconnect quickly after a node comes back.
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
      std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
          a, grpc::InsecureChannelCredentials(), args);
      clients_.push_back(v1::EventLog::NewStub(channel));
      projections_.push_back(v1::Projections::NewStub(channel));
    }
  }
  size_t size() const { return clients_.size(); }
  v1::EventLog::Stub* at(size_t i) { return clients_[i].get(); }
  v1::Projections::Stub* projections(size_t i) {
    return projections_[i].get();
  }

 private:
  std::vector<std::unique_ptr<v1::EventLog::Stub>> clients_;
  std::vector<std::unique_ptr<v1::Projections::Stub>> projections_;
};

void Deadline(grpc::ClientContext& context,
              std::chrono::milliseconds timeout = kCallTimeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  if (!Org().empty()) context.AddMetadata("x-caseline-org", Org());
}

// The stream's last version as `node` sees it; -1: no stream; nullopt: the
// node did not answer.
std::optional<int64_t> StreamHead(v1::EventLog::Stub* node,
                                  const std::string& stream) {
  v1::ReadStreamRequest request;
  request.set_stream_id(stream);
  request.set_direction(v1::BACKWARD);
  request.set_max_count(1);
  v1::ReadStreamResponse page;
  grpc::ClientContext context;
  Deadline(context);
  const grpc::Status s = node->ReadStream(&context, request, &page);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return -1;
  if (!s.ok() || page.events_size() == 0) return std::nullopt;
  return static_cast<int64_t>(page.events(0).stream_version());
}

bool Ambiguous(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         s.error_code() == grpc::StatusCode::CANCELLED ||
         s.error_code() == grpc::StatusCode::UNKNOWN;
}

int Run(const Flags& flags) {
  Nodes nodes(flags.nodes);
  std::ofstream history(flags.history);
  Mutex mu;
  std::atomic<int> harness_errors{0};
  const absl::Time end = absl::Now() + absl::Seconds(flags.seconds);
  std::vector<std::thread> clients;
  for (int c = 0; c < flags.clients; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937_64 rng(absl::ToUnixNanos(absl::Now()) + c * 7919);
      while (absl::Now() < end) {
        const size_t node = rng() % nodes.size();
        const std::string stream =
            absl::StrCat("jepsen-", rng() % flags.streams);
        const bool exact = rng() % 2 == 0;
        v1::AppendRequest request;
        request.set_stream_id(stream);
        std::optional<int64_t> head;
        if (exact) {
          head = StreamHead(nodes.at(node), stream);
          if (!head.has_value()) {
            absl::SleepFor(absl::Milliseconds(50));
            continue;  // the node did not answer: nothing was attempted
          }
          if (*head < 0) {
            request.mutable_no_stream();
          } else {
            request.set_exact(static_cast<uint64_t>(*head));
          }
        }
        const std::string id = NewUuid(rng);
        v1::EventData* e = request.add_events();
        e->set_event_id(id);
        e->set_event_type("Checked");
        e->set_content_type("application/json");
        e->set_payload(absl::StrCat(R"({"client":)", c, "}"));

        nlohmann::json op = {{"id", id},
                             {"stream", stream},
                             {"mode", exact ? "exact" : "any"},
                             {"node", node}};
        std::string outcome = "unknown";
        int attempts = 0;
        for (size_t at = node; attempts <= kRetries;
             at = (at + 1) % nodes.size()) {
          ++attempts;
          v1::AppendResponse response;
          grpc::ClientContext context;
          Deadline(context);
          const grpc::Status s = nodes.at(at)->Append(&context, request,
                                                      &response);
          if (s.ok()) {
            outcome = "ok";
            op["position"] = response.first_global_position();
            op["version"] = response.first_stream_version();
            op["already_written"] = response.already_written();
            break;
          }
          if (s.error_code() == grpc::StatusCode::ABORTED) {
            outcome = "failed";  // not stored: an identical retry of a
            break;               // stored append is never ABORTED
          }
          if (!Ambiguous(s)) {
            outcome = "error";
            op["error"] = absl::StrCat(s.error_code(), ": ", s.error_message());
            ++harness_errors;
            break;
          }
          op["last_error"] = s.error_message();
        }
        op["outcome"] = outcome;
        op["attempts"] = attempts;
        MutexLock lock(&mu);
        history << op.dump() << "\n";
      }
    });
  }
  for (std::thread& t : clients) t.join();
  history.flush();
  return harness_errors.load() == 0 ? 0 : 1;
}

int Probe(const Flags& flags) {
  Nodes nodes(flags.nodes);
  std::mt19937_64 rng(absl::ToUnixNanos(absl::Now()));
  v1::AppendRequest request;
  request.set_stream_id("jepsen-probe");
  v1::EventData* e = request.add_events();
  e->set_event_id(NewUuid(rng));
  e->set_event_type("Probed");
  e->set_content_type("application/json");
  e->set_payload("{}");
  const absl::Time start = absl::Now();
  std::string last;
  for (size_t at = 0; absl::Now() - start < absl::Seconds(30);
       at = (at + 1) % nodes.size()) {
    grpc::ClientContext context;
    Deadline(context, std::chrono::milliseconds(1000));
    v1::AppendResponse response;
    const grpc::Status s = nodes.at(at)->Append(&context, request, &response);
    if (s.ok()) {
      std::cout << nlohmann::json{{"ms", absl::ToInt64Milliseconds(
                                             absl::Now() - start)},
                                  {"node", at},
                                  {"position",
                                   response.first_global_position()}}
                       .dump()
                << std::endl;
      return 0;
    }
    last = s.error_message();
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::cout << nlohmann::json{{"error", last}}.dump() << std::endl;
  return 1;
}

// Whether every projection of every node has applied `head`, waiting up to
// 60 s.
bool ProjectionsAt(Nodes& nodes, uint64_t head, std::string& problem) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (true) {
    problem.clear();
    for (size_t i = 0; i < nodes.size() && problem.empty(); ++i) {
      grpc::ClientContext context;
      Deadline(context);
      v1::GetProjectionStatusResponse status;
      const grpc::Status s = nodes.projections(i)->GetStatus(
          &context, v1::GetProjectionStatusRequest(), &status);
      if (!s.ok()) {
        problem = absl::StrCat("node ", i, ": ", s.error_message());
        break;
      }
      for (const v1::ProjectionStatus& p : status.projections()) {
        if (p.position() != head || p.state() != "running") {
          problem = absl::StrCat("node ", i, ": projection ", p.name(), " is ",
                                 p.state(), " at ", p.position(), " of ", head);
          break;
        }
      }
    }
    if (problem.empty()) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(200));
  }
}

struct Stored {
  uint64_t position;
  std::string stream;
  uint64_t version;
  std::string hash;
};

// Node i's log up to `head` (what it holds of it): nullopt if it does not
// answer.
std::optional<std::vector<v1::Event>> WholeLog(Nodes& nodes, size_t i,
                                               uint64_t head) {
  std::vector<v1::Event> out;
  v1::ReadAllRequest request;
  request.set_max_count(1000);
  while (true) {
    grpc::ClientContext context;
    Deadline(context);
    v1::ReadAllResponse page;
    if (!nodes.at(i)->ReadAll(&context, request, &page).ok()) {
      return std::nullopt;
    }
    for (const v1::Event& e : page.events()) {
      if (e.global_position() > head) return out;
      out.push_back(e);
    }
    if (page.end_of_log()) return out;
    request.set_from_position(page.next_position());
  }
}

// Whether every node reports the same head twice, 500 ms apart, within
// `deadline`; sets `head` to it. The projections' status is read because it
// records no access: reading the log would move the head it is waiting for.
bool SettledHead(Nodes& nodes, absl::Time deadline, uint64_t& head,
                 std::string& problem) {
  std::optional<uint64_t> last;
  while (true) {
    std::optional<uint64_t> now;
    bool same = true;
    problem.clear();
    for (size_t i = 0; i < nodes.size() && same; ++i) {
      grpc::ClientContext context;
      Deadline(context);
      v1::GetProjectionStatusResponse status;
      const grpc::Status s = nodes.projections(i)->GetStatus(
          &context, v1::GetProjectionStatusRequest(), &status);
      if (!s.ok() || status.projections_size() == 0) {
        problem = absl::StrCat("node ", i, " reports no head: ",
                               s.error_message());
        same = false;
        break;
      }
      const uint64_t at = status.projections(0).head_position();
      if (now.has_value() && *now != at) {
        problem = absl::StrCat("node ", i, " is at ", at, ", node 0 at ",
                               *now);
        same = false;
      }
      now = at;
    }
    if (same && last.has_value() && *last == *now) {
      head = *now;
      return true;
    }
    last = same ? now : std::nullopt;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(500));
  }
}

int Check(const Flags& flags) {
  Nodes nodes(flags.nodes);
  std::vector<std::string> problems;
  // Converged: every node at the same head. Each node's log is then read up
  // to that head (the reads append access records after it).
  std::string problem;
  uint64_t settled = 0;
  const bool converged =
      SettledHead(nodes, absl::Now() + absl::Seconds(60), settled, problem);
  if (!converged) {
    problems.push_back(absl::StrCat(
        "the nodes did not converge on one head in 60 s: ", problem));
  }
  std::vector<std::vector<v1::Event>> logs;
  const absl::Time read_deadline = absl::Now() + absl::Seconds(60);
  for (size_t i = 0; converged && i < nodes.size(); ++i) {
    std::optional<std::vector<v1::Event>> log = WholeLog(nodes, i, settled);
    while (!log.has_value() && absl::Now() < read_deadline) {
      absl::SleepFor(absl::Milliseconds(500));
      log = WholeLog(nodes, i, settled);
    }
    if (!log.has_value()) {
      problems.push_back(absl::StrCat("node ", i, " does not answer ReadAll"));
      logs.clear();
      break;
    }
    logs.push_back(*std::move(log));
  }
  if (!logs.empty() && logs[0].size() != settled) {
    problems.push_back(absl::StrCat("node 0 reports head ", settled,
                                    " and holds ", logs[0].size(), " events"));
  }

  // Every node: the same events, in the same order, with the same hashes.
  for (size_t i = 1; i < logs.size(); ++i) {
    const size_t n = std::min(logs[i].size(), logs[0].size());
    if (logs[i].size() != logs[0].size()) {
      problems.push_back(absl::StrCat("node ", i, " holds ", logs[i].size(),
                                      " events, node 0 ", logs[0].size()));
    }
    for (size_t k = 0; k < n; ++k) {
      const v1::Event& a = logs[0][k];
      const v1::Event& b = logs[i][k];
      if (a.global_position() != b.global_position() ||
          a.event_id() != b.event_id() || a.hash() != b.hash()) {
        problems.push_back(absl::StrCat("node ", i, " differs from node 0 at ",
                                        a.global_position()));
        break;
      }
    }
  }
  // The reads above are on the record: settle again, past their access
  // records, and nothing reads the log from here on.
  uint64_t head = 0;
  const bool settled_again =
      converged &&
      SettledHead(nodes, absl::Now() + absl::Seconds(60), head, problem);
  if (converged && !settled_again) {
    problems.push_back(absl::StrCat(
        "the nodes did not converge on one head after the reads: ", problem));
  }
  // Every node's chain verifies, to the same head.
  std::string head_hash;
  for (size_t i = 0; settled_again && i < nodes.size(); ++i) {
    grpc::ClientContext context;
    Deadline(context);
    v1::VerifyChainResponse verify;
    const grpc::Status s = nodes.at(i)->VerifyChain(
        &context, v1::VerifyChainRequest(), &verify);
    if (!s.ok() || !verify.ok()) {
      problems.push_back(absl::StrCat("node ", i, "'s chain does not verify: ",
                                      s.error_message(), verify.problem()));
    } else if (verify.head_position() != head) {
      problems.push_back(absl::StrCat("node ", i, "'s chain ends at ",
                                      verify.head_position(), ", not ", head));
    } else if (i == 0) {
      head_hash = verify.head_hash();
    } else if (verify.head_hash() != head_hash) {
      problems.push_back(absl::StrCat("node ", i, "'s head hash differs"));
    }
  }

  // Every node's views are built from that same log, to its head.
  bool views_at_head = false;
  if (settled_again) {
    views_at_head = ProjectionsAt(nodes, head, problem);
    if (!views_at_head) problems.push_back(problem);
  }

  std::map<std::string, std::vector<Stored>> by_id;
  if (!logs.empty()) {
    uint64_t expected_position = 1;
    for (const v1::Event& e : logs[0]) {
      if (e.global_position() != expected_position++) {
        problems.push_back(absl::StrCat("gap before ", e.global_position()));
      }
      by_id[e.event_id()].push_back(
          {e.global_position(), e.stream_id(), e.stream_version(), e.hash()});
    }
  }
  int operations = 0, acknowledged = 0, failed = 0, unknown = 0, lost = 0,
      duplicated = 0, misplaced = 0, refused_but_stored = 0, unknown_stored = 0;
  std::ifstream history(flags.history);
  std::string line;
  while (std::getline(history, line)) {
    nlohmann::json op = nlohmann::json::parse(line, nullptr, false);
    if (op.is_discarded() || !op.is_object()) continue;
    ++operations;
    const std::string id = op.value("id", "");
    const std::string outcome = op.value("outcome", "");
    auto it = by_id.find(id);
    const size_t copies = it == by_id.end() ? 0 : it->second.size();
    if (copies > 1) {
      ++duplicated;
      problems.push_back(absl::StrCat(id, " is stored ", copies, " times"));
    }
    if (outcome == "ok") {
      ++acknowledged;
      if (copies == 0) {
        ++lost;
        problems.push_back(absl::StrCat("acknowledged ", id, " is lost"));
      } else if (it->second[0].position != op.value("position", 0ULL) ||
                 it->second[0].stream != op.value("stream", "") ||
                 it->second[0].version != op.value("version", 0ULL)) {
        ++misplaced;
        problems.push_back(absl::StrCat("acknowledged ", id,
                                        " is stored elsewhere than answered"));
      }
    } else if (outcome == "failed") {
      ++failed;
      if (copies > 0) {
        ++refused_but_stored;
        problems.push_back(absl::StrCat("refused ", id, " is stored"));
      }
    } else if (outcome == "unknown") {
      ++unknown;
      if (copies > 0) ++unknown_stored;
    } else {
      problems.push_back(absl::StrCat("operation ", id, ": ", line));
    }
  }
  nlohmann::json summary = {
      {"operations", operations},
      {"acknowledged", acknowledged},
      {"refused", failed},
      {"unknown", unknown},
      {"unknown_stored", unknown_stored},
      {"lost", lost},
      {"duplicated", duplicated},
      {"misplaced", misplaced},
      {"refused_but_stored", refused_but_stored},
      {"events", logs.empty() ? 0 : logs[0].size()},
      {"head", head},
      {"nodes", nodes.size()},
      {"views_at_head", views_at_head},
      {"problems", problems}};
  std::cout << summary.dump() << std::endl;
  return problems.empty() && acknowledged > 0 ? 0 : 1;
}

}  // namespace
}  // namespace caseline

int main(int argc, char** argv) {
  caseline::Flags flags;
  if (!caseline::ParseFlags(argc, argv, flags)) {
    std::cerr << "usage: cluster_workload run|check|probe --nodes H:P,... "
                 "--history FILE [--seconds S --clients C --streams K]\n";
    return 2;
  }
  caseline::Org() = flags.org;
  if (flags.mode == "probe") return caseline::Probe(flags);
  return flags.mode == "run" ? caseline::Run(flags) : caseline::Check(flags);
}
