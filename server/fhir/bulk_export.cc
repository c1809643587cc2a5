#include "server/fhir/bulk_export.h"

#include <openssl/rand.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "eventstore/event_log.h"
#include "server/fhir/resources.h"
#include "server/http_identity.h"

namespace caseline::server::fhir {
namespace {

namespace fs = std::filesystem;

constexpr char kNdjson[] = "application/fhir+ndjson";
constexpr char kOrganization[] = "Organization";
// The error file's resource type (bulk data spec: the manifest's `error`).
constexpr char kOperationOutcome[] = "OperationOutcome";
// What a running export's status answer asks the client to wait, seconds.
constexpr char kRetryAfterSeconds[] = "1";
// The parameters ParseExportRequest knows.
constexpr char kOutputFormat[] = "_outputFormat";
constexpr char kType[] = "_type";
constexpr char kSince[] = "_since";

// Splits `text` at `delimiters`, trimmed, dropping empty pieces.
std::vector<std::string> Tokens(absl::string_view text, const char* delimiters) {
  std::vector<std::string> tokens;
  for (absl::string_view piece :
       absl::StrSplit(text, absl::ByAnyChar(delimiters))) {
    piece = absl::StripAsciiWhitespace(piece);
    if (!piece.empty()) tokens.push_back(absl::AsciiStrToLower(piece));
  }
  return tokens;
}

bool HasToken(const std::vector<std::string>& tokens, absl::string_view token) {
  return std::find(tokens.begin(), tokens.end(), token) != tokens.end();
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()),
                 static_cast<int>(raw.size())) != 1) {
    return "";
  }
  return absl::BytesToHexString(raw);
}

// "Wed, 21 Oct 2015 07:28:00 GMT" (RFC 9110 HTTP-date).
std::string HttpDate(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", t, absl::UTCTimeZone());
}

// The full URL of `req` (the manifest's `request`).
std::string RequestUrl(const httplib::Request& req, bool tls) {
  std::string url = absl::StrCat(tls ? "https://" : "http://",
                                 req.get_header_value("Host"), req.path);
  std::string query;
  for (const auto& [name, value] : req.params) {
    absl::StrAppend(&query, query.empty() ? "?" : "&",
                    httplib::detail::encode_query_param(name), "=",
                    httplib::detail::encode_query_param(value));
  }
  return url + query;
}

// BulkExport::SetBeforeListingForTest's hook.
Mutex hook_mu;
std::function<void(const std::string&)>& BeforeListingHook()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(hook_mu) {
  static auto* hook = new std::function<void(const std::string&)>();
  return *hook;
}

// BulkExport::SetBeforeReadingClientForTest's hook.
std::function<void(const std::string&, const std::string&)>&
BeforeReadingClientHook() ABSL_EXCLUSIVE_LOCKS_REQUIRED(hook_mu) {
  static auto* hook =
      new std::function<void(const std::string&, const std::string&)>();
  return *hook;
}

// The NDJSON files of one export, one per resource type, opened as the
// first line of each is written.
class ExportFiles {
 public:
  struct File {
    std::string type;
    std::string name;  // "<type>-1.ndjson"
    int64_t count = 0;
  };

  explicit ExportFiles(fs::path dir) : dir_(std::move(dir)) {}

  absl::Status Write(const std::string& type, const nlohmann::json& resource) {
    auto it = streams_.find(type);
    if (it == streams_.end()) {
      File file{type, absl::StrCat(type, "-1.ndjson"), 0};
      auto stream = std::make_unique<std::ofstream>(
          dir_ / file.name, std::ios::binary | std::ios::trunc);
      if (!*stream) {
        return absl::InternalError(absl::StrCat(
            "bulk export: cannot create ", (dir_ / file.name).string()));
      }
      files_.push_back(std::move(file));
      it = streams_.emplace(type, std::make_pair(files_.size() - 1,
                                                 std::move(stream)))
               .first;
    }
    auto& [index, stream] = it->second;
    *stream << resource.dump() << '\n';
    if (!*stream) {
      return absl::InternalError(absl::StrCat(
          "bulk export: cannot write ", (dir_ / files_[index].name).string()));
    }
    ++files_[index].count;
    return absl::OkStatus();
  }

  // Closes every file; the files written, in the order first written.
  absl::StatusOr<std::vector<File>> Close() {
    for (auto& [type, entry] : streams_) {
      entry.second->close();
      if (entry.second->fail()) {
        return absl::InternalError(absl::StrCat(
            "bulk export: cannot write ",
            (dir_ / files_[entry.first].name).string()));
      }
    }
    streams_.clear();
    return files_;
  }

 private:
  fs::path dir_;
  std::vector<File> files_;
  std::map<std::string,
           std::pair<size_t, std::unique_ptr<std::ofstream>>>
      streams_;
};

}  // namespace

// --- The pure parts ----------------------------------------------------------------

std::vector<std::string> ExportTypes(ExportLevel level) {
  std::vector<std::string> types = ClientResourceTypes();
  if (level == ExportLevel::kSystem) types.emplace_back(kOrganization);
  return types;
}

absl::StatusOr<ExportRequest> ParseExportRequest(
    ExportLevel level, absl::string_view group_id,
    const ExportParameters& parameters, absl::string_view prefer) {
  const std::vector<std::string> preferences = Tokens(prefer, ",;");
  if (!HasToken(preferences, "respond-async")) {
    return absl::InvalidArgumentError(
        "Prefer: a bulk export runs asynchronously; send the header "
        "\"Prefer: respond-async\"");
  }
  const bool lenient = HasToken(preferences, "handling=lenient");
  const std::vector<std::string> exportable = ExportTypes(level);
  ExportRequest request;
  request.level = level;
  request.group_id = std::string(group_id);
  absl::flat_hash_set<std::string> wanted;
  bool format_seen = false;
  bool since_seen = false;
  for (const auto& [name, value] : parameters) {
    if (name == kOutputFormat) {
      if (format_seen) {
        return absl::InvalidArgumentError(
            "_outputFormat: given more than once; give it once");
      }
      format_seen = true;
      // A '+' left unencoded in a query string arrives as a space.
      const std::string format = absl::StrReplaceAll(value, {{" ", "+"}});
      if (format != "application/fhir+ndjson" &&
          format != "application/ndjson" && format != "ndjson") {
        return absl::InvalidArgumentError(absl::StrCat(
            "_outputFormat: \"", value,
            "\" is not supported; the only format is NDJSON: "
            "application/fhir+ndjson (also accepted as application/ndjson or "
            "ndjson)"));
      }
    } else if (name == kType) {
      for (absl::string_view type : absl::StrSplit(value, ',')) {
        type = absl::StripAsciiWhitespace(type);
        if (type.empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "_type: \"", value,
              "\" has an empty entry; give resource types separated by "
              "commas, e.g. Patient,Task"));
        }
        if (std::find(exportable.begin(), exportable.end(), type) ==
            exportable.end()) {
          const bool system_only =
              type == kOrganization && level != ExportLevel::kSystem;
          return absl::InvalidArgumentError(absl::StrCat(
              "_type: \"", type, "\" ",
              system_only ? "is exported only by a system-level export "
                            "([base]/$export), not a Patient or Group one"
                          : "is not a resource type this server exports",
              "; this export can hold ", absl::StrJoin(exportable, ", ")));
        }
        wanted.insert(std::string(type));
      }
    } else if (name == kSince) {
      if (since_seen) {
        return absl::InvalidArgumentError(
            "_since: given more than once; give it once");
      }
      since_seen = true;
      ASSIGN_OR_RETURN(request.since, ParseDateTime(value, "_since"));
    } else if (!lenient) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": this server does not support the parameter \"", name,
          "\"; it supports _outputFormat, _type and _since (send "
          "\"Prefer: handling=lenient\" to have others ignored)"));
    }
  }
  for (const std::string& type : exportable) {
    if (wanted.empty() || wanted.contains(type)) request.types.push_back(type);
  }
  return request;
}

absl::StatusOr<ExportParameters> ParametersOf(const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("resourceType") ||
      body["resourceType"] != "Parameters") {
    return absl::InvalidArgumentError(
        "Parameters: a POSTed kick-off's body is a Parameters resource "
        "({\"resourceType\": \"Parameters\", \"parameter\": [...]})");
  }
  ExportParameters parameters;
  if (!body.contains("parameter")) return parameters;
  const nlohmann::json& list = body["parameter"];
  if (!list.is_array()) {
    return absl::InvalidArgumentError(
        "Parameters.parameter: an array of {\"name\", \"value[x]\"}");
  }
  for (const nlohmann::json& parameter : list) {
    if (!parameter.is_object() || !parameter.contains("name") ||
        !parameter["name"].is_string()) {
      return absl::InvalidArgumentError(
          "Parameters.parameter.name: every parameter has a name (a string)");
    }
    std::string value;
    for (const auto& [key, item] : parameter.items()) {
      if (absl::StartsWith(key, "value") && item.is_string()) {
        value = item.get<std::string>();
      }
    }
    parameters.emplace_back(parameter["name"].get<std::string>(),
                            std::move(value));
  }
  return parameters;
}

bool InvolvedIn(const v1::ClientState& state,
                absl::string_view organization_id) {
  if (organization_id.empty()) return false;
  if (state.registered_by_organization_id() == organization_id) return true;
  for (const v1::CareTeamMemberView& member : state.care_team()) {
    if (member.organization_id() == organization_id) return true;
  }
  for (const v1::ReferralView& referral : state.referrals()) {
    if (referral.from_organization_id() == organization_id ||
        referral.to_organization_id() == organization_id) {
      return true;
    }
  }
  for (const v1::ServiceView& service : state.services()) {
    if (!service.has_ended_at() &&
        service.provider_organization_id() == organization_id) {
      return true;
    }
  }
  for (const v1::TransitionView& transition : state.transitions()) {
    if (transition.to_organization_id() == organization_id) return true;
  }
  return false;
}

bool ChangedSince(const nlohmann::json& resource, absl::Time since) {
  if (!resource.is_object() || !resource.contains("meta")) return true;
  const nlohmann::json& meta = resource["meta"];
  if (!meta.is_object() || !meta.contains("lastUpdated") ||
      !meta["lastUpdated"].is_string()) {
    return true;
  }
  absl::StatusOr<absl::Time> updated =
      ParseDateTime(meta["lastUpdated"].get<std::string>(), "meta.lastUpdated");
  return !updated.ok() || *updated > since;
}

// --- The jobs ------------------------------------------------------------------

class BulkExport::Impl {
 public:
  Impl(FhirServices services, const FhirOptions& options)
      : services_(std::move(services)),
        exports_dir_(options.state_dir.empty()
                         ? fs::path()
                         : fs::path(options.state_dir) / "exports"),
        retention_(options.export_retention),
        max_running_(options.max_exports_per_organization) {
    // Jobs live in memory: what an earlier process left cannot be polled.
    std::error_code ignored;
    if (!exports_dir_.empty()) fs::remove_all(exports_dir_, ignored);
    reaper_ = std::thread([this] { Reap(); });
    if (services_.log != nullptr) {
      const uint64_t listener = services_.log->AddErasureListener(
          [this](absl::string_view stream_id) { OnStreamErased(stream_id); });
      MutexLock lock(&mu_);
      erasure_listener_ = listener;
    }
  }

  ~Impl() { Stop(); }

  void Register(httplib::Server& http) {
    const std::string base = kBasePath;
    auto kick_off = [this](ExportLevel level) {
      return [this, level](const httplib::Request& req, httplib::Response& res) {
        KickOff(level, level == ExportLevel::kGroup ? req.matches[1].str() : "",
                req, res);
      };
    };
    for (auto [path, level] :
         {std::pair<std::string, ExportLevel>{R"(/\$export)",
                                              ExportLevel::kSystem},
          {R"(/Patient/\$export)", ExportLevel::kPatient},
          {R"(/Group/([^/]+)/\$export)", ExportLevel::kGroup}}) {
      http.Get(base + path, kick_off(level));
      http.Post(base + path, kick_off(level));
    }
    http.Get(base + R"(/\$export-status/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               HandleStatus(req, res);
             });
    http.Delete(base + R"(/\$export-status/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  HandleDelete(req, res);
                });
    http.Get(base + R"(/\$export-file/([^/]+)/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               HandleFile(req, res);
             });
  }

  void Stop() {
    // First, once (the log may be gone by a later call), and without mu_
    // held (the listener takes it): once it returns, no erasure calls in.
    uint64_t listener = 0;
    {
      MutexLock lock(&mu_);
      listener = std::exchange(erasure_listener_, 0);
    }
    if (listener != 0) services_.log->RemoveErasureListener(listener);
    std::vector<std::thread> threads;
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
      for (auto& [id, job] : jobs_) CancelLocked(*job);
      for (auto& job : retired_) CancelLocked(*job);
      cv_.SignalAll();
    }
    if (reaper_.joinable()) reaper_.join();
    std::vector<std::shared_ptr<Job>> jobs;
    {
      MutexLock lock(&mu_);
      for (auto& [id, job] : jobs_) jobs.push_back(job);
      for (auto& job : retired_) jobs.push_back(job);
      for (auto& job : jobs) {
        if (job->thread.joinable()) threads.push_back(std::move(job->thread));
      }
    }
    for (std::thread& thread : threads) thread.join();
    // An export cut short is incomplete: nothing of it is kept.
    std::error_code ignored;
    MutexLock lock(&mu_);
    for (auto& job : jobs) {
      if (job->state != JobState::kDone) fs::remove_all(job->dir, ignored);
    }
  }

 private:
  enum class JobState { kRunning, kDone, kFailed };

  struct Job {
    // Set at kick-off, then read-only.
    std::string id;
    Requester who;
    ExportRequest request;
    std::string base_url;
    std::string request_url;
    absl::Time transaction_time;
    fs::path dir;

    // Guarded by Impl::mu_.
    std::thread thread;
    JobState state = JobState::kRunning;
    bool cancelled = false;
    bool exited = false;  // the worker has returned (its thread may be joined)
    grpc::ClientContext* call = nullptr;  // the worker's call in flight
    std::optional<size_t> clients_total;
    size_t clients_done = 0;
    absl::Status failure;
    std::vector<ExportFiles::File> output;
    std::optional<ExportFiles::File> errors;
    absl::Time finished_at;
    // The clients the worker is reading or has written resources of: an
    // erasure of one of them withdraws the export.
    absl::flat_hash_set<std::string> clients_held;
    // Not OK once an erasure withdrew the export (OnStreamErased): what its
    // status URL and file URLs answer from then on.
    absl::Status withdrawn;
  };

  // docs/fhir.md "Bulk export", "Erasure": the log erased `stream_id`
  // (EventLog::AddErasureListener; on the erasing thread, so no I/O here).
  // Every export that holds, or is reading, the client is withdrawn: a
  // running one is cancelled; a finished one's files are removed by the
  // reaper. Its status URL and file URLs answer 410 from then on.
  void OnStreamErased(absl::string_view stream_id) {
    absl::string_view client = stream_id;
    if (!absl::ConsumePrefix(&client, "client-")) return;
    MutexLock lock(&mu_);
    for (auto& [id, job] : jobs_) {
      if (!job->withdrawn.ok() || !job->clients_held.contains(client)) {
        continue;
      }
      job->withdrawn = WithHttpStatus(
          absl::NotFoundError(absl::StrCat(
              "bulk export ", id, " was withdrawn: client ", client,
              ", whose data it held, was erased (Admin.EraseClient), so its "
              "files were removed; start the export again")),
          410);
      switch (job->state) {
        case JobState::kRunning:
          CancelLocked(*job);  // Run() records the withdrawal
          break;
        case JobState::kDone:
          job->state = JobState::kFailed;
          job->failure = job->withdrawn;
          withdrawn_dirs_.push_back(job->dir);
          break;
        case JobState::kFailed:
          break;  // its files were removed when it failed
      }
    }
    cv_.SignalAll();
  }

  // Marks `job` cancelled and cancels its call in flight.
  void CancelLocked(Job& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    job.cancelled = true;
    if (job.call != nullptr) job.call->TryCancel();
  }

  // The job `id` when `who`'s organisation started it; nullptr otherwise.
  std::shared_ptr<Job> FindLocked(const std::string& id, const Requester& who)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() ||
        it->second->who.caller.organization_id != who.caller.organization_id) {
      return nullptr;
    }
    return it->second;
  }

  absl::Status NoSuchJob(const std::string& id) const {
    return absl::NotFoundError(absl::StrCat(
        "no bulk export ", id,
        " of this organisation: it was never started, was started by another "
        "organisation, was deleted, or finished more than ",
        absl::FormatDuration(retention_), " ago"));
  }

  // Identify() with the endpoint's request rules; writes the refusal.
  std::optional<Requester> Identified(const httplib::Request& req,
                                  httplib::Response& res) {
    const std::string site = req.get_header_value("Sec-Fetch-Site");
    if (site == "cross-site" || site == "same-site") {
      SetOutcome(res, absl::PermissionDeniedError(absl::StrCat(
                          "Sec-Fetch-Site: a ", site,
                          " request is refused; call the FHIR endpoint from "
                          "its own origin or a non-browser client")));
      return std::nullopt;
    }
    absl::StatusOr<Requester> who = Identify(services_, req);
    if (!who.ok()) {
      SetOutcome(res, who.status());
      return std::nullopt;
    }
    return *std::move(who);
  }

  void KickOff(ExportLevel level, const std::string& group_id,
               const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Identified(req, res);
    if (!who.has_value()) return;
    if (!who->caller.break_glass_reason.empty()) {
      SetOutcome(res, absl::InvalidArgumentError(
                          "x-caseline-break-glass: breaking the glass is for "
                          "one read of one client, not a bulk export; read "
                          "the client's resources instead"));
      return;
    }
    ExportParameters parameters(req.params.begin(), req.params.end());
    if (req.method == "POST") {
      const std::string type = req.get_header_value("Content-Type");
      if (!absl::StartsWith(type, kFhirJson) &&
          !absl::StartsWith(type, "application/json")) {
        SetOutcome(res,
                   absl::InvalidArgumentError(absl::StrCat(
                       "Content-Type: \"", type,
                       "\" is not accepted; POST a Parameters resource as "
                       "application/fhir+json or application/json")),
                   415);
        return;
      }
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      absl::StatusOr<ExportParameters> posted = absl::InvalidArgumentError(
          "Parameters: the body is not JSON; POST a Parameters resource");
      if (!body.is_discarded()) posted = ParametersOf(body);
      if (!posted.ok()) {
        SetOutcome(res, posted.status());
        return;
      }
      parameters.insert(parameters.end(), posted->begin(), posted->end());
    }
    std::vector<std::string> prefer;
    for (auto [it, end] = req.headers.equal_range("Prefer"); it != end; ++it) {
      prefer.push_back(it->second);
    }
    absl::StatusOr<ExportRequest> request = ParseExportRequest(
        level, group_id, parameters, absl::StrJoin(prefer, ", "));
    if (!request.ok()) {
      SetOutcome(res, request.status());
      return;
    }
    if (level == ExportLevel::kGroup) {
      if (absl::Status s = CheckGroup(who->caller, group_id); !s.ok()) {
        SetOutcome(res, s);
        return;
      }
    }
    auto job = std::make_shared<Job>();
    job->id = RandomHex(16);
    if (job->id.empty()) {
      SetOutcome(res, absl::InternalError(
                          "bulk export: no randomness for the job id "
                          "(RAND_bytes failed)"));
      return;
    }
    job->who = *who;
    job->request = *std::move(request);
    job->base_url = BaseUrl(req, services_.tls);
    job->request_url = RequestUrl(req, services_.tls);
    job->transaction_time = absl::Now();
    job->dir = exports_dir_ / job->id;
    std::error_code error;
    if (exports_dir_.empty()) {
      error = std::make_error_code(std::errc::no_such_file_or_directory);
    } else {
      fs::create_directories(job->dir, error);
    }
    if (error) {
      SetOutcome(res, absl::InternalError(absl::StrCat(
                          "bulk export: cannot create ", job->dir.string(),
                          ": ", error.message())));
      return;
    }
    {
      MutexLock lock(&mu_);
      absl::Status refused;
      if (stopping_) {
        refused = absl::UnavailableError(
            "bulk export: the server is shutting down; start the export "
            "again when it is back");
      } else if (max_running_ > 0 &&
                 RunningLocked(who->caller.organization_id) >= max_running_) {
        refused = absl::ResourceExhaustedError(absl::StrCat(
            "bulk export: organisation ", who->caller.organization_id,
            " already has ", max_running_,
            " exports running, the most it may; wait for one to finish "
            "(poll its Content-Location) or cancel one (DELETE it)"));
      }
      if (!refused.ok()) {
        fs::remove_all(job->dir, error);
        SetOutcome(res, refused);
        return;
      }
      jobs_[job->id] = job;
      job->thread = std::thread([this, job] { Run(job); });
    }
    res.status = 202;
    res.set_header("Content-Location",
                   absl::StrCat(job->base_url, "/$export-status/", job->id));
    res.set_content(OperationOutcomeInformation(
                        absl::StrCat("bulk export ", job->id,
                                     " started; poll its Content-Location"))
                        .dump(),
                    kFhirJson);
  }

  // An agency exports only its own group; the group must be a registered
  // organisation. The same order and texts as the views' own-organisation
  // rule (ListReferrals, GetWorklist): PERMISSION_DENIED, then NOT_FOUND.
  absl::Status CheckGroup(const services::Caller& caller,
                          const std::string& group_id) {
    if (!caller.ReadsEverything() && group_id != caller.organization_id) {
      return absl::PermissionDeniedError(absl::StrCat(
          "Group: organisation ", caller.organization_id,
          " may export only its own group (Group/", caller.organization_id,
          "), not Group/", group_id,
          "; auditors may export any organisation's group"));
    }
    ASSIGN_OR_RETURN(std::shared_ptr<const care::OrganizationDirectory> directory,
                     services_.records->Directory());
    if (!directory->Contains(group_id)) {
      return absl::NotFoundError(absl::StrCat(
          "Group: organisation ", group_id,
          " is not registered; a group's id is an organisation's id"));
    }
    return absl::OkStatus();
  }

  static nlohmann::json OperationOutcomeInformation(const std::string& text) {
    return {{"resourceType", "OperationOutcome"},
            {"issue", nlohmann::json::array({{{"severity", "information"},
                                              {"code", "informational"},
                                              {"diagnostics", text}}})}};
  }

  int RunningLocked(const std::string& organization_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    int running = 0;
    for (const auto& [id, job] : jobs_) {
      if (job->state == JobState::kRunning &&
          job->who.caller.organization_id == organization_id) {
        ++running;
      }
    }
    return running;
  }

  void HandleStatus(const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Identified(req, res);
    if (!who.has_value()) return;
    const std::string id = req.matches[1];
    MutexLock lock(&mu_);
    std::shared_ptr<Job> job = FindLocked(id, *who);
    if (job == nullptr) {
      SetOutcome(res, NoSuchJob(id));
      return;
    }
    if (!job->withdrawn.ok()) {  // also while a cancelled worker winds down
      SetOutcome(res, job->withdrawn);
      return;
    }
    switch (job->state) {
      case JobState::kRunning:
        res.status = 202;
        res.set_header("X-Progress",
                       job->clients_total.has_value()
                           ? absl::StrCat(job->clients_done, "/",
                                          *job->clients_total, " clients")
                           : std::string("listing clients"));
        res.set_header("Retry-After", kRetryAfterSeconds);
        return;
      case JobState::kFailed:
        SetOutcome(res, job->failure);
        return;
      case JobState::kDone:
        break;
    }
    res.status = 200;
    res.set_header("Expires", HttpDate(job->finished_at + retention_));
    res.set_content(ManifestLocked(*job).dump(), "application/json");
  }

  nlohmann::json ManifestLocked(const Job& job)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto entry = [&](const ExportFiles::File& file) {
      return nlohmann::json{{"type", file.type},
                            {"url", absl::StrCat(job.base_url, "/$export-file/",
                                                 job.id, "/", file.name)},
                            {"count", file.count}};
    };
    nlohmann::json output = nlohmann::json::array();
    for (const ExportFiles::File& file : job.output) output.push_back(entry(file));
    nlohmann::json error = nlohmann::json::array();
    if (job.errors.has_value()) error.push_back(entry(*job.errors));
    return {{"transactionTime", Instant(job.transaction_time)},
            {"request", job.request_url},
            {"requiresAccessToken", true},
            {"output", std::move(output)},
            {"error", std::move(error)}};
  }

  void HandleDelete(const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Identified(req, res);
    if (!who.has_value()) return;
    const std::string id = req.matches[1];
    MutexLock lock(&mu_);
    std::shared_ptr<Job> job = FindLocked(id, *who);
    if (job == nullptr) {
      SetOutcome(res, NoSuchJob(id));
      return;
    }
    CancelLocked(*job);
    jobs_.erase(id);
    // The reaper joins the worker and removes the files.
    retired_.push_back(std::move(job));
    cv_.SignalAll();
    res.status = 202;
    res.set_content(
        OperationOutcomeInformation(absl::StrCat(
                                        "bulk export ", id,
                                        " deleted (cancelled if it was "
                                        "running); its files are removed"))
            .dump(),
        kFhirJson);
  }

  void HandleFile(const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Identified(req, res);
    if (!who.has_value()) return;
    const std::string id = req.matches[1];
    const std::string name = req.matches[2];
    fs::path path;
    absl::Status withdrawn;
    {
      MutexLock lock(&mu_);
      std::shared_ptr<Job> job = FindLocked(id, *who);
      if (job != nullptr) withdrawn = job->withdrawn;
      if (job != nullptr && job->state == JobState::kDone) {
        bool listed = job->errors.has_value() && job->errors->name == name;
        for (const ExportFiles::File& file : job->output) {
          listed = listed || file.name == name;
        }
        if (listed) path = job->dir / name;
      }
    }
    if (!withdrawn.ok()) {
      SetOutcome(res, withdrawn);
      return;
    }
    if (path.empty()) {
      SetOutcome(res, absl::NotFoundError(absl::StrCat(
                          "no file ", name, " in bulk export ", id,
                          " of this organisation: download the urls of the "
                          "finished export's manifest")));
      return;
    }
    auto stream = std::make_shared<std::ifstream>(path, std::ios::binary);
    std::error_code error;
    const uintmax_t size = fs::file_size(path, error);
    if (!*stream || error) {
      // Deleted (DELETE, retention) between the check and the open.
      SetOutcome(res, absl::NotFoundError(absl::StrCat(
                          "no file ", name, " in bulk export ", id,
                          ": the export was deleted")));
      return;
    }
    res.status = 200;
    res.set_content_provider(
        static_cast<size_t>(size), kNdjson,
        [stream](size_t offset, size_t length, httplib::DataSink& sink) {
          char buffer[64 << 10];
          stream->seekg(static_cast<std::streamoff>(offset));
          stream->read(buffer, static_cast<std::streamsize>(
                                   std::min(length, sizeof(buffer))));
          const std::streamsize got = stream->gcount();
          if (got <= 0) return false;
          return sink.write(buffer, static_cast<size_t>(got));
        });
  }

  // --- The worker ------------------------------------------------------------

  // Runs a call of the worker's with a context the cancel can reach.
  template <typename Call>
  absl::Status Cancellable(Job& job, Call&& call) {
    std::unique_ptr<grpc::ClientContext> context =
        ContextFor(services_, job.who);
    {
      MutexLock lock(&mu_);
      if (job.cancelled) return absl::CancelledError("bulk export cancelled");
      job.call = context.get();
    }
    absl::Status status = call(*context);
    MutexLock lock(&mu_);
    job.call = nullptr;
    if (job.cancelled) return absl::CancelledError("bulk export cancelled");
    return status;
  }

  // The clients whose registration the caller may see, in the order they
  // were registered: EventLog.Subscribe as the caller, from the start of the
  // log to the moment it caught up, filtered to ClientRegistered events of
  // client streams. The subscription is authorisation-filtered for agencies
  // (docs/access.md "Per read"), and open to auditors and admins.
  absl::StatusOr<std::vector<std::string>> Clients(Job& job) {
    std::function<void(const std::string&)> hook;
    {
      MutexLock lock(&hook_mu);
      hook = BeforeListingHook();
    }
    if (hook) hook(job.id);
    std::vector<std::string> clients;
    absl::Status listed = Cancellable(job, [&](grpc::ClientContext& context) {
      v1::SubscribeRequest request;
      request.set_from_position(1);
      request.mutable_filter()->set_stream_id_prefix("client-");
      request.mutable_filter()->set_event_type_prefix("ClientRegistered");
      auto event_log = v1::EventLog::NewStub(services_.channel);
      std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
          event_log->Subscribe(&context, request);
      absl::flat_hash_set<std::string> seen;
      v1::SubscribeResponse message;
      while (reader->Read(&message)) {
        if (message.has_caught_up()) {
          context.TryCancel();
          (void)reader->Finish();  // CANCELLED, as asked
          return absl::OkStatus();
        }
        if (!message.has_event() ||
            message.event().event_type() != "ClientRegistered") {
          continue;
        }
        absl::string_view client = message.event().stream_id();
        if (absl::ConsumePrefix(&client, "client-") &&
            seen.insert(std::string(client)).second) {
          clients.emplace_back(client);
        }
      }
      absl::Status ended = StatusOf(reader->Finish());
      if (ended.ok()) {
        ended = absl::UnavailableError(
            "bulk export: the subscription listing the clients ended before "
            "it caught up; start the export again");
      }
      return ended;
    });
    if (!listed.ok()) return listed;
    return clients;
  }

  absl::Status Export(Job& job, ExportFiles& files, ExportFiles& errors) {
    ASSIGN_OR_RETURN(std::vector<std::string> clients, Clients(job));
    {
      MutexLock lock(&mu_);
      job.clients_total = clients.size();
    }
    const ExportRequest& request = job.request;
    size_t written = 0;
    auto write = [&](const std::string& type,
                     const nlohmann::json& resource) -> absl::Status {
      if (request.since.has_value() && !ChangedSince(resource, *request.since)) {
        return absl::OkStatus();
      }
      ++written;
      return files.Write(type, resource);
    };
    auto views = v1::ContinuityViews::NewStub(services_.channel);
    for (const std::string& client : clients) {
      // Held before it is read: an erasure heard after this withdraws the
      // export; one heard before it leaves nothing to read.
      {
        MutexLock lock(&mu_);
        job.clients_held.insert(client);
      }
      std::function<void(const std::string&, const std::string&)> hook;
      {
        MutexLock lock(&hook_mu);
        hook = BeforeReadingClientHook();
      }
      if (hook) hook(job.id, client);
      const size_t written_before = written;
      v1::GetClientSummaryResponse summary;
      absl::Status read = Cancellable(job, [&](grpc::ClientContext& context) {
        v1::GetClientSummaryRequest summary_request;
        summary_request.set_client_id(client);
        return StatusOf(
            views->GetClientSummary(&context, summary_request, &summary));
      });
      if (absl::IsPermissionDenied(read) || absl::IsNotFound(read)) {
        // This client only: said in the error file, the export goes on.
        RETURN_IF_ERROR(errors.Write(kOperationOutcome, OperationOutcome(read)));
      } else if (!read.ok()) {
        return read;
      } else if (request.level != ExportLevel::kGroup ||
                 InvolvedIn(summary.summary().state(), request.group_id)) {
        for (const std::string& type : request.types) {
          if (type == kOrganization) continue;
          for (const nlohmann::json& resource :
               ClientResources(summary.summary().state(), type)) {
            RETURN_IF_ERROR(write(type, resource));
          }
        }
      }
      MutexLock lock(&mu_);
      // Nothing of it was written (refused, not in the group, not changed
      // since): its erasure leaves the export as it is.
      if (written == written_before) job.clients_held.erase(client);
      ++job.clients_done;
    }
    if (std::find(request.types.begin(), request.types.end(), kOrganization) !=
        request.types.end()) {
      // The directory is public (docs/access.md "Per read").
      ASSIGN_OR_RETURN(
          std::shared_ptr<const care::OrganizationDirectory> directory,
          services_.records->Directory());
      for (const v1::OrganizationRegistered* organization : directory->All()) {
        RETURN_IF_ERROR(write(kOrganization, OrganizationOf(*organization)));
      }
    }
    return absl::OkStatus();
  }

  void Run(const std::shared_ptr<Job>& job) {
    ExportFiles files(job->dir);
    ExportFiles errors(job->dir);
    absl::Status status = Export(*job, files, errors);
    absl::StatusOr<std::vector<ExportFiles::File>> output = files.Close();
    absl::StatusOr<std::vector<ExportFiles::File>> error_files = errors.Close();
    if (status.ok()) status = output.status();
    if (status.ok()) status = error_files.status();
    {
      MutexLock lock(&mu_);
      // Withdrawn by an erasure while it ran (OnStreamErased): decided
      // under mu_, so that a later erasure finds the job finished.
      if (!job->withdrawn.ok()) status = job->withdrawn;
      job->finished_at = absl::Now();
      if (status.ok()) {
        job->state = JobState::kDone;
        job->output = *std::move(output);
        if (!error_files->empty()) job->errors = error_files->front();
      } else {
        job->state = JobState::kFailed;
        job->failure = status;
      }
    }
    if (!status.ok()) {
      std::error_code ignored;
      fs::remove_all(job->dir, ignored);
    }
    MutexLock lock(&mu_);
    job->exited = true;
    cv_.SignalAll();
  }

  // Joins the workers that returned, removes deleted and expired exports,
  // until Stop().
  void Reap() {
    while (true) {
      std::vector<std::thread> threads;
      std::vector<fs::path> dirs;
      {
        MutexLock lock(&mu_);
        while (true) {
          const absl::Time now = absl::Now();
          absl::Time next = absl::InfiniteFuture();
          for (auto it = jobs_.begin(); it != jobs_.end();) {
            Job& job = *it->second;
            if (job.exited && job.thread.joinable()) {
              threads.push_back(std::move(job.thread));
            }
            if (job.exited) {
              const absl::Time expires = job.finished_at + retention_;
              if (expires <= now) {
                dirs.push_back(job.dir);
                jobs_.erase(it++);
                continue;
              }
              next = std::min(next, expires);
            }
            ++it;
          }
          dirs.insert(dirs.end(), withdrawn_dirs_.begin(),
                      withdrawn_dirs_.end());
          withdrawn_dirs_.clear();
          for (auto it = retired_.begin(); it != retired_.end();) {
            if ((*it)->exited) {
              if ((*it)->thread.joinable()) {
                threads.push_back(std::move((*it)->thread));
              }
              dirs.push_back((*it)->dir);
              it = retired_.erase(it);
            } else {
              ++it;
            }
          }
          if (!threads.empty() || !dirs.empty() || stopping_) break;
          if (next == absl::InfiniteFuture()) {
            cv_.Wait();
          } else {
            cv_.WaitFor(next - now);
          }
        }
      }
      for (std::thread& thread : threads) thread.join();
      std::error_code ignored;
      for (const fs::path& dir : dirs) fs::remove_all(dir, ignored);
      MutexLock lock(&mu_);
      if (stopping_) return;
    }
  }

  const FhirServices services_;
  const fs::path exports_dir_;
  const absl::Duration retention_;
  const int max_running_;

  Mutex mu_;
  CondVar cv_{&mu_};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> jobs_
      ABSL_GUARDED_BY(mu_);
  // Deleted jobs whose worker may still run.
  std::vector<std::shared_ptr<Job>> retired_ ABSL_GUARDED_BY(mu_);
  // The files of finished exports an erasure withdrew, for the reaper.
  std::vector<fs::path> withdrawn_dirs_ ABSL_GUARDED_BY(mu_);
  std::thread reaper_;
  // EventLog::AddErasureListener's id; 0 once removed (or without a log).
  uint64_t erasure_listener_ ABSL_GUARDED_BY(mu_) = 0;
};

BulkExport::BulkExport(FhirServices services, const FhirOptions& options)
    : impl_(std::make_unique<Impl>(std::move(services), options)) {}

BulkExport::~BulkExport() { Stop(); }

void BulkExport::Register(httplib::Server& http) { impl_->Register(http); }

void BulkExport::Stop() { impl_->Stop(); }

void BulkExport::SetBeforeListingForTest(
    std::function<void(const std::string& job_id)> hook) {
  MutexLock lock(&hook_mu);
  BeforeListingHook() = std::move(hook);
}

void BulkExport::SetBeforeReadingClientForTest(
    std::function<void(const std::string& job_id, const std::string& client)>
        hook) {
  MutexLock lock(&hook_mu);
  BeforeReadingClientHook() = std::move(hook);
}

}  // namespace caseline::server::fhir
