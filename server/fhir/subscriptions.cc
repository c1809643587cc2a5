#include "server/fhir/subscriptions.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/mutex.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "caseline/v1/wire_constants.h"
#include "care/proto_time.h"
#include "openssl/rand.h"
#include "server/fhir/subscription_model.h"
#include "server/http_identity.h"
#include "spdlog/spdlog.h"

namespace caseline::server::fhir {
namespace {

using json = nlohmann::json;

constexpr char kSubscriptionsDir[] = "subscriptions";
// Progress known only from checkpoints (no notification sent) is written at
// most this often: losing it costs a re-scan on restart, never a
// notification.
constexpr absl::Duration kCheckpointPersistInterval = absl::Seconds(30);
// How often an idle Subscribe stream reports progress.
constexpr uint32_t kCheckpointIntervalMs = 5000;
// Referral -> organisations learned per subscription; cleared beyond this.
constexpr size_t kMaxKnownReferrals = 10000;

// A random UUID (version 4), for Bundle and Parameters ids.
std::string RandomUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    // Ids need only be unique per notification; fall back to the clock.
    const int64_t now = absl::ToUnixNanos(absl::Now());
    for (size_t i = 0; i < sizeof(b); ++i) {
      b[i] = static_cast<unsigned char>(now >> ((i % 8) * 8)) ^
             static_cast<unsigned char>(i * 37);
    }
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  const std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(b), sizeof(b)));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-",
                      hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20));
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Writes `data` to `path` so that a crash leaves the old content or the new,
// never a mix: a temporary file, fsync, rename, fsync of the directory.
absl::Status WriteAtomically(const std::string& path, const std::string& data) {
  const std::string temp = absl::StrCat(path, ".tmp");
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                        0600);
  if (fd < 0) return Errno("cannot create", temp);
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status error = Errno("cannot write", temp);
      ::close(fd);
      return error;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status error = Errno("cannot sync", temp);
    ::close(fd);
    return error;
  }
  ::close(fd);
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return Errno("cannot rename to", path);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return absl::OkStatus();
}

services::Caller CallerOf(const SubscriptionOwner& owner) {
  services::Caller caller;
  caller.organization_id = owner.organization_id;
  caller.user_id = owner.user_id;
  caller.discipline = owner.discipline;
  caller.purpose = owner.purpose;
  return caller;
}

SubscriptionOwner OwnerOf(const Requester& who) {
  SubscriptionOwner owner;
  owner.organization_id = who.caller.organization_id;
  owner.user_id = who.caller.user_id;
  owner.discipline = who.caller.discipline;
  owner.purpose = who.caller.purpose;
  owner.peer_is_loopback = who.peer_is_loopback;
  return owner;
}

// The endpoint as httplib wants it: "scheme://host:port" and the path.
std::pair<std::string, std::string> SplitEndpoint(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  const size_t path_start =
      scheme_end == absl::string_view::npos
          ? absl::string_view::npos
          : url.find_first_of("/?#", scheme_end + 3);
  if (path_start == absl::string_view::npos) {
    return {std::string(url), "/"};
  }
  std::string path(url.substr(path_start));
  if (path[0] != '/') path = absl::StrCat("/", path);
  if (const size_t hash = path.find('#'); hash != std::string::npos) {
    path.resize(hash);
  }
  return {std::string(url.substr(0, path_start)), path};
}

std::string NotFoundMessage(absl::string_view id) {
  return absl::StrCat("Subscription/", id,
                      ": no Subscription of your organisation has this id");
}

}  // namespace

class Subscriptions::Impl {
 public:
  Impl(FhirServices services, const FhirOptions& options, std::string dir)
      : services_(std::move(services)),
        options_(options),
        dir_(std::move(dir)),
        event_log_(v1::EventLog::NewStub(services_.channel)),
        views_(v1::ContinuityViews::NewStub(services_.channel)) {}

  ~Impl() { Stop(); }

  absl::Status Load() {
    std::error_code error;
    std::filesystem::create_directories(dir_, error);
    if (error) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the FHIR state directory ", dir_, " cannot be created: ",
          error.message()));
    }
    std::vector<std::shared_ptr<Sub>> loaded;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, error)) {
      const std::filesystem::path& path = entry.path();
      if (path.extension() != ".json") continue;
      std::ifstream in(path);
      std::stringstream text;
      text << in.rdbuf();
      json stored = json::parse(text.str(), nullptr, false);
      absl::StatusOr<Registration> registration =
          stored.is_discarded()
              ? absl::DataLossError("not JSON")
              : RegistrationFromJson(stored);
      absl::StatusOr<SubscriptionSpec> spec =
          registration.ok()
              ? ParseSubscription(registration->resource,
                                  options_.allow_insecure_hooks)
              : registration.status();
      if (!spec.ok()) {
        // Kept on disk for the operator; the others still start.
        spdlog::warn("FHIR Subscription {} is not loaded: {}", path.string(),
                     spec.status().ToString());
        continue;
      }
      auto sub = std::make_shared<Sub>();
      sub->reg = *std::move(registration);
      sub->spec = *std::move(spec);
      loaded.push_back(std::move(sub));
    }
    if (error) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the FHIR state directory ", dir_, " cannot be read: ",
          error.message()));
    }
    MutexLock admin(&admin_mu_);
    for (std::shared_ptr<Sub>& sub : loaded) {
      {
        MutexLock lock(&mu_);
        subs_[sub->reg.id] = sub;
      }
      StartWorker(sub);
    }
    return absl::OkStatus();
  }

  void Register(httplib::Server& http) {
    const std::string collection = absl::StrCat(kBasePath, "/Subscription");
    const std::string instance =
        absl::StrCat(collection, R"(/([A-Za-z0-9\-\.]{1,64}))");
    http.Post(collection, [this](const httplib::Request& req,
                                 httplib::Response& res) { Create(req, res); });
    http.Get(collection, [this](const httplib::Request& req,
                                httplib::Response& res) { Search(req, res); });
    http.Get(absl::StrCat(instance, R"(/\$status)"),
             [this](const httplib::Request& req, httplib::Response& res) {
               Status(req, res);
             });
    http.Get(instance, [this](const httplib::Request& req,
                              httplib::Response& res) { Read(req, res); });
    http.Put(instance, [this](const httplib::Request& req,
                              httplib::Response& res) { Update(req, res); });
    http.Delete(instance, [this](const httplib::Request& req,
                                 httplib::Response& res) { Delete(req, res); });
  }

  void Stop() {
    MutexLock admin(&admin_mu_);
    std::vector<std::shared_ptr<Sub>> all;
    {
      MutexLock lock(&mu_);
      stopped_ = true;
      for (auto& [id, sub] : subs_) {
        RequestStop(*sub);
        all.push_back(sub);
      }
    }
    for (const std::shared_ptr<Sub>& sub : all) {
      if (sub->thread.joinable()) sub->thread.join();
    }
  }

 private:
  // One registered Subscription.
  struct Sub {
    Registration reg;
    SubscriptionSpec spec;
    bool stop = false;
    // The open Subscribe call and the delivery in flight, for RequestStop.
    grpc::ClientContext* stream = nullptr;
    httplib::Client* client = nullptr;
    // Started and joined under admin_mu_.
    std::thread thread;
  };

  // What a worker keeps for itself.
  struct Worker {
    std::shared_ptr<Sub> sub;
    SubscriptionSpec spec;
    SubscriptionOwner owner;
    // client_id + '\n' + referral_id -> {from, to}.
    absl::flat_hash_map<std::string, std::pair<std::string, std::string>> orgs;
    absl::Time last_sent = absl::Now();
    absl::Time last_persist = absl::InfinitePast();
  };

  // --- HTTP ----------------------------------------------------------------

  // The caller, or false with `res` set to the refusal.
  std::optional<Requester> Caller(const httplib::Request& req,
                                  httplib::Response& res) {
    const std::string site = req.get_header_value("Sec-Fetch-Site");
    if (site == "cross-site" || site == "same-site") {
      SetOutcome(res, absl::PermissionDeniedError(
                          "cross-site requests are refused: the FHIR "
                          "endpoint is for FHIR clients, not web pages"));
      return std::nullopt;
    }
    absl::StatusOr<Requester> who = Identify(services_, req);
    if (!who.ok()) {
      SetOutcome(res, who.status());
      return std::nullopt;
    }
    return *std::move(who);
  }

  // The request's Subscription body, or nullopt with `res` set.
  std::optional<std::pair<json, SubscriptionSpec>> Body(
      const httplib::Request& req, httplib::Response& res) {
    std::string type = absl::AsciiStrToLower(req.get_header_value("Content-Type"));
    type = std::string(absl::StripAsciiWhitespace(type.substr(0, type.find(';'))));
    if (type != kFhirJson && type != "application/json") {
      SetOutcome(res,
                 absl::InvalidArgumentError(absl::StrCat(
                     "Content-Type \"", req.get_header_value("Content-Type"),
                     "\": send application/fhir+json")),
                 415);
      return std::nullopt;
    }
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
      SetOutcome(res, absl::InvalidArgumentError(
                          "body: not JSON; send a Subscription resource"));
      return std::nullopt;
    }
    absl::StatusOr<SubscriptionSpec> spec =
        ParseSubscription(body, options_.allow_insecure_hooks);
    if (!spec.ok()) {
      SetOutcome(res, spec.status());
      return std::nullopt;
    }
    for (const char* server_owned : {"id", "meta", "status", "error"}) {
      body.erase(server_owned);
    }
    return std::make_pair(std::move(body), *std::move(spec));
  }

  void Create(const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Caller(req, res);
    if (!who.has_value()) return;
    std::optional<std::pair<json, SubscriptionSpec>> body = Body(req, res);
    if (!body.has_value()) return;
    MutexLock admin(&admin_mu_);
    auto sub = std::make_shared<Sub>();
    {
      MutexLock lock(&mu_);
      if (stopped_) {
        SetOutcome(res, absl::UnavailableError("the server is shutting down"));
        return;
      }
      int count = 0;
      for (const auto& [id, other] : subs_) {
        if (other->reg.owner.organization_id == who->caller.organization_id) {
          ++count;
        }
      }
      if (count >= options_.max_subscriptions_per_organization) {
        SetOutcome(res, absl::ResourceExhaustedError(absl::StrCat(
                            "your organisation has ", count,
                            " Subscriptions, the most it may hold; DELETE one "
                            "it no longer needs")));
        return;
      }
    }
    // Notifications are for the changes after the 201: the position is
    // fixed before it (this also checks that the owner may subscribe).
    absl::StatusOr<uint64_t> head = Head(OwnerOf(*who));
    if (!head.ok()) {
      SetOutcome(res, head.status());
      return;
    }
    sub->reg.cursor = *head;
    sub->reg.id = RandomUuid();
    sub->reg.resource = std::move(body->first);
    sub->reg.owner = OwnerOf(*who);
    sub->reg.base_url = BaseUrl(req, services_.tls);
    sub->reg.created = absl::Now();
    sub->spec = std::move(body->second);
    if (absl::Status saved = Persist(sub->reg); !saved.ok()) {
      SetOutcome(res, saved);
      return;
    }
    const json resource = SubscriptionResource(sub->reg);
    {
      MutexLock lock(&mu_);
      subs_[sub->reg.id] = sub;
    }
    StartWorker(sub);
    res.set_header("Location", absl::StrCat(sub->reg.base_url, "/Subscription/",
                                            sub->reg.id));
    SetResource(res, 201, resource);
  }

  void Search(const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Caller(req, res);
    if (!who.has_value()) return;
    const std::string status = req.get_param_value("status");
    std::vector<std::pair<absl::Time, json>> found;
    {
      MutexLock lock(&mu_);
      for (const auto& [id, sub] : subs_) {
        if (sub->reg.owner.organization_id != who->caller.organization_id) {
          continue;
        }
        if (!status.empty() && sub->reg.status != status) continue;
        found.emplace_back(sub->reg.created, SubscriptionResource(sub->reg));
      }
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first
                                : a.second["id"] < b.second["id"];
    });
    const std::string base = BaseUrl(req, services_.tls);
    json entries = json::array();
    for (auto& [created, resource] : found) {
      entries.push_back(
          {{"fullUrl", absl::StrCat(base, "/Subscription/",
                                    resource["id"].get<std::string>())},
           {"resource", std::move(resource)},
           {"search", {{"mode", "match"}}}});
    }
    std::string self = absl::StrCat(base, "/Subscription");
    if (!status.empty()) absl::StrAppend(&self, "?status=", status);
    SetResource(res, 200,
                {{"resourceType", "Bundle"},
                 {"type", "searchset"},
                 {"total", entries.size()},
                 {"link", json::array({{{"relation", "self"}, {"url", self}}})},
                 {"entry", std::move(entries)}});
  }

  // The caller's Subscription `id`, or nullptr.
  std::shared_ptr<Sub> Owned(const Requester& who, const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = subs_.find(id);
    if (it == subs_.end() ||
        it->second->reg.owner.organization_id != who.caller.organization_id) {
      return nullptr;
    }
    return it->second;
  }

  void Read(const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Caller(req, res);
    if (!who.has_value()) return;
    MutexLock lock(&mu_);
    std::shared_ptr<Sub> sub = Owned(*who, req.matches[1]);
    if (sub == nullptr) {
      SetOutcome(res, absl::NotFoundError(NotFoundMessage(req.matches[1].str())));
      return;
    }
    SetResource(res, 200, SubscriptionResource(sub->reg));
  }

  void Status(const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Caller(req, res);
    if (!who.has_value()) return;
    MutexLock lock(&mu_);
    std::shared_ptr<Sub> sub = Owned(*who, req.matches[1]);
    if (sub == nullptr) {
      SetOutcome(res, absl::NotFoundError(NotFoundMessage(req.matches[1].str())));
      return;
    }
    SetResource(res, 200, StatusBundle(sub->reg, sub->spec, RandomUuid()));
  }

  void Update(const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Caller(req, res);
    if (!who.has_value()) return;
    const std::string id = req.matches[1];
    std::optional<std::pair<json, SubscriptionSpec>> body;
    {
      json raw = json::parse(req.body, nullptr, false);
      if (raw.is_object() && raw.contains("id") &&
          raw["id"] != json(id)) {
        SetOutcome(res, absl::InvalidArgumentError(absl::StrCat(
                            "Subscription.id: must be \"", id,
                            "\", the id in the URL")));
        return;
      }
    }
    body = Body(req, res);
    if (!body.has_value()) return;
    MutexLock admin(&admin_mu_);
    std::shared_ptr<Sub> sub;
    {
      MutexLock lock(&mu_);
      if (stopped_) {
        SetOutcome(res, absl::UnavailableError("the server is shutting down"));
        return;
      }
      sub = Owned(*who, id);
      if (sub == nullptr) {
        SetOutcome(res, absl::NotFoundError(absl::StrCat(
                            NotFoundMessage(id),
                            " (create Subscriptions with POST; the server "
                            "assigns the id)")));
        return;
      }
      RequestStop(*sub);
    }
    if (sub->thread.joinable()) sub->thread.join();
    Registration updated;
    {
      MutexLock lock(&mu_);
      sub->stop = false;
      sub->reg.resource = std::move(body->first);
      sub->reg.owner = OwnerOf(*who);
      sub->reg.status = "requested";
      sub->reg.error.clear();
      sub->reg.handshake_done = false;
      sub->spec = std::move(body->second);
      updated = sub->reg;
    }
    if (absl::Status saved = Persist(updated); !saved.ok()) {
      SetOutcome(res, saved);
      StartWorker(sub);
      return;
    }
    StartWorker(sub);
    SetResource(res, 200, SubscriptionResource(updated));
  }

  void Delete(const httplib::Request& req, httplib::Response& res) {
    std::optional<Requester> who = Caller(req, res);
    if (!who.has_value()) return;
    const std::string id = req.matches[1];
    MutexLock admin(&admin_mu_);
    std::shared_ptr<Sub> sub;
    {
      MutexLock lock(&mu_);
      sub = Owned(*who, id);
      if (sub == nullptr) {
        SetOutcome(res, absl::NotFoundError(NotFoundMessage(id)));
        return;
      }
      RequestStop(*sub);
      subs_.erase(id);
    }
    if (sub->thread.joinable()) sub->thread.join();
    std::error_code error;
    std::filesystem::remove(PathOf(id), error);
    if (error) {
      SetOutcome(res, absl::InternalError(absl::StrCat(
                          "cannot remove ", PathOf(id), ": ", error.message())));
      return;
    }
    res.status = 204;
  }

  // --- Storage ---------------------------------------------------------------

  std::string PathOf(absl::string_view id) const {
    return absl::StrCat(dir_, "/", id, ".json");
  }

  absl::Status Persist(const Registration& registration) {
    return WriteAtomically(PathOf(registration.id),
                           RegistrationJson(registration).dump(2));
  }

  // Writes the worker's registration as it stands.
  void PersistNow(Worker& worker) {
    Registration snapshot;
    {
      MutexLock lock(&mu_);
      snapshot = worker.sub->reg;
    }
    worker.last_persist = absl::Now();
    if (absl::Status saved = Persist(snapshot); !saved.ok()) {
      spdlog::error("FHIR Subscription {}: {}", snapshot.id, saved.ToString());
    }
  }

  // --- Delivery ----------------------------------------------------------------

  void RequestStop(Sub& sub) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    sub.stop = true;
    if (sub.stream != nullptr) sub.stream->TryCancel();
    if (sub.client != nullptr) sub.client->stop();
    wake_.SignalAll();
  }

  // REQUIRES: admin_mu_ held; the sub's previous worker joined.
  void StartWorker(const std::shared_ptr<Sub>& sub) {
    auto worker = std::make_unique<Worker>();
    worker->sub = sub;
    {
      MutexLock lock(&mu_);
      worker->spec = sub->spec;
      worker->owner = sub->reg.owner;
    }
    sub->thread = std::thread(
        [this, worker = std::move(worker)]() mutable { Run(*worker); });
  }

  // Waits `delay` unless stopped first; false when stopped.
  bool Sleep(Sub& sub, absl::Duration delay) {
    const absl::Time until = absl::Now() + delay;
    MutexLock lock(&mu_);
    while (!sub.stop) {
      const absl::Duration left = until - absl::Now();
      if (left <= absl::ZeroDuration()) return true;
      wake_.WaitFor(left);
    }
    return false;
  }

  bool Stopping(Sub& sub) {
    MutexLock lock(&mu_);
    return sub.stop;
  }

  void Run(Worker& worker) {
    Sub& sub = *worker.sub;
    absl::Duration backoff = options_.retry_initial_delay;
    while (true) {
      bool handshake = false;
      {
        MutexLock lock(&mu_);
        if (sub.stop || sub.reg.status == "off") return;
        handshake = !sub.reg.handshake_done;
      }
      if (handshake) {
        if (!Deliver(worker, NotificationType::kHandshake, nullptr, 0)) return;
        {
          MutexLock lock(&mu_);
          sub.reg.handshake_done = true;
        }
        PersistNow(worker);
      }
      bool progressed = false;
      const absl::Status ended = Follow(worker, progressed);
      if (Stopping(sub)) return;
      if (progressed) backoff = options_.retry_initial_delay;
      if (ended.code() == absl::StatusCode::kPermissionDenied ||
          ended.code() == absl::StatusCode::kUnauthenticated) {
        MutexLock lock(&mu_);
        sub.reg.status = "error";
        sub.reg.error = absl::StrCat("the log refused the subscription: ",
                                     ended.message());
      }
      spdlog::info("FHIR Subscription {}: the log subscription ended ({}); "
                   "resubscribing in {}",
                   sub.reg.id, ended.ToString(), absl::FormatDuration(backoff));
      if (!Sleep(sub, backoff)) return;
      backoff = std::min(backoff * 2, options_.retry_max_delay);
    }
  }

  // The log position a new Subscription of `owner` starts after: a
  // Subscribe from the end, as the owner, answers it with caught_up.
  absl::StatusOr<uint64_t> Head(const SubscriptionOwner& owner) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    AttachCaller(*services_.authenticator, CallerOf(owner),
                 owner.peer_is_loopback, context);
    v1::SubscribeRequest request;
    request.mutable_from_end();
    request.mutable_filter()->set_stream_id_prefix("client-");
    request.mutable_filter()->set_event_type_prefix("Referral");
    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
        event_log_->Subscribe(&context, request);
    v1::SubscribeResponse response;
    std::optional<uint64_t> head;
    while (!head.has_value() && reader->Read(&response)) {
      if (response.has_caught_up()) head = response.caught_up().position();
    }
    context.TryCancel();
    while (reader->Read(&response)) {
    }
    const grpc::Status status = reader->Finish();
    if (head.has_value()) return *head;
    if (status.ok()) return absl::UnavailableError("the log ended the subscription");
    return StatusOf(status);
  }

  // Follows the log from the cursor as the owner until the call ends.
  absl::Status Follow(Worker& worker, bool& progressed) {
    Sub& sub = *worker.sub;
    grpc::ClientContext context;
    AttachCaller(*services_.authenticator, CallerOf(worker.owner),
                 worker.owner.peer_is_loopback, context);
    v1::SubscribeRequest request;
    {
      MutexLock lock(&mu_);
      if (sub.stop) return absl::CancelledError("stopped");
      sub.stream = &context;
      request.set_from_position(sub.reg.cursor + 1);
    }
    request.mutable_filter()->set_stream_id_prefix("client-");
    request.mutable_filter()->set_event_type_prefix("Referral");
    uint32_t interval = kCheckpointIntervalMs;
    if (worker.spec.heartbeat_seconds > 0) {
      interval = std::min<uint32_t>(
          interval, static_cast<uint32_t>(worker.spec.heartbeat_seconds) * 1000);
    }
    request.set_checkpoint_interval_ms(interval);
    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
        event_log_->Subscribe(&context, request);
    v1::SubscribeResponse response;
    bool stopped = false;
    while (!stopped && reader->Read(&response)) {
      progressed = true;
      if (response.has_event()) {
        stopped = !Handle(worker, response.event());
      } else {
        const bool caught_up = response.has_caught_up();
        const uint64_t position = caught_up ? response.caught_up().position()
                                            : response.checkpoint().position();
        {
          MutexLock lock(&mu_);
          sub.reg.cursor = std::max(sub.reg.cursor, position);
        }
        if (absl::Now() - worker.last_persist >= kCheckpointPersistInterval) {
          PersistNow(worker);
        }
        stopped = !Heartbeat(worker);
      }
    }
    if (stopped) {
      context.TryCancel();
      while (reader->Read(&response)) {
      }
    }
    const grpc::Status status = reader->Finish();
    {
      MutexLock lock(&mu_);
      sub.stream = nullptr;
    }
    return StatusOf(status);
  }

  // One event from the log; false when stopped.
  bool Handle(Worker& worker, const v1::Event& event) {
    Sub& sub = *worker.sub;
    const uint64_t position = event.global_position();
    std::optional<ReferralChange> change;
    if (event.content_type() == v1::kCareEventContentType) {
      v1::CareEvent care;
      if (care.ParseFromString(event.payload())) {
        change = ChangeOf(event.stream_id(), care, position,
                          care::ToTime(event.recorded_at()));
      }
    }
    if (change.has_value()) {
      std::optional<bool> matches = Match(worker, *change);
      if (!matches.has_value()) return false;
      if (*matches) {
        uint64_t number = 0;
        {
          MutexLock lock(&mu_);
          number = sub.reg.events_since_start + 1;
        }
        if (!Deliver(worker, NotificationType::kEventNotification, &*change,
                     number)) {
          return false;
        }
        {
          MutexLock lock(&mu_);
          sub.reg.events_since_start = number;
          sub.reg.cursor = std::max(sub.reg.cursor, position);
        }
        PersistNow(worker);
        return true;
      }
    }
    MutexLock lock(&mu_);
    sub.reg.cursor = std::max(sub.reg.cursor, position);
    return true;
  }

  // Whether `change` is for the subscription; nullopt when stopped. Learns
  // and looks up the referral's organisations when the filter needs them.
  std::optional<bool> Match(Worker& worker, ReferralChange& change) {
    const std::string key =
        absl::StrCat(change.client_id, "\n", change.referral_id);
    if (!change.from_organization_id.empty()) {
      if (worker.orgs.size() >= kMaxKnownReferrals) worker.orgs.clear();
      worker.orgs[key] = {change.from_organization_id,
                          change.to_organization_id};
    }
    if (!NeedsOrganizations(worker.spec)) return Matches(worker.spec, change);
    absl::Duration delay = options_.retry_initial_delay;
    while (!worker.orgs.contains(key)) {
      absl::StatusOr<bool> found = LookUp(worker, change);
      if (found.ok()) {
        // Not visible to the owner: no filter on organisations can match.
        if (!*found) return false;
        break;
      }
      spdlog::warn("FHIR Subscription {}: cannot look up referral {} of {}: {}",
                   worker.sub->reg.id, change.referral_id, change.client_id,
                   found.status().ToString());
      if (!Sleep(*worker.sub, delay)) return std::nullopt;
      delay = std::min(delay * 2, options_.retry_max_delay);
    }
    const auto& [from, to] = worker.orgs[key];
    change.from_organization_id = from;
    change.to_organization_id = to;
    return Matches(worker.spec, change);
  }

  // Reads the client's referrals as the owner (so with its access and
  // consent); false when the owner may not see the referral.
  absl::StatusOr<bool> LookUp(Worker& worker, const ReferralChange& change) {
    Requester who;
    who.caller = CallerOf(worker.owner);
    who.peer_is_loopback = worker.owner.peer_is_loopback;
    std::unique_ptr<grpc::ClientContext> context = ContextFor(services_, who);
    v1::GetClientSummaryRequest request;
    request.set_client_id(change.client_id);
    request.set_min_position(change.position);
    v1::GetClientSummaryResponse response;
    const grpc::Status status =
        views_->GetClientSummary(context.get(), request, &response);
    switch (status.error_code()) {
      case grpc::StatusCode::OK:
        break;
      case grpc::StatusCode::NOT_FOUND:
      case grpc::StatusCode::PERMISSION_DENIED:
      case grpc::StatusCode::INVALID_ARGUMENT:
        return false;
      default:
        return StatusOf(status);
    }
    bool found = false;
    for (const v1::ReferralView& referral :
         response.summary().state().referrals()) {
      if (worker.orgs.size() >= kMaxKnownReferrals) worker.orgs.clear();
      worker.orgs[absl::StrCat(change.client_id, "\n", referral.referral_id())] =
          {referral.from_organization_id(), referral.to_organization_id()};
      found = found || referral.referral_id() == change.referral_id;
    }
    return found;
  }

  // A heartbeat when one is due; false when stopped.
  bool Heartbeat(Worker& worker) {
    if (worker.spec.heartbeat_seconds <= 0 ||
        absl::Now() - worker.last_sent <
            absl::Seconds(worker.spec.heartbeat_seconds)) {
      return true;
    }
    return Deliver(worker, NotificationType::kHeartbeat, nullptr, 0);
  }

  // POSTs a notification, retrying with backoff while the endpoint refuses
  // (heartbeats: once). False when stopped (or the Subscription ended).
  bool Deliver(Worker& worker, NotificationType type,
               const ReferralChange* change, uint64_t number) {
    Sub& sub = *worker.sub;
    absl::Duration delay = options_.retry_initial_delay;
    while (true) {
      json bundle;
      const absl::Time now = absl::Now();
      {
        MutexLock lock(&mu_);
        if (sub.stop) return false;
        if (worker.spec.end.has_value() && now >= *worker.spec.end) {
          sub.reg.status = "off";
          sub.reg.error.clear();
        } else {
          bundle = NotificationBundle(sub.reg, worker.spec, type, change, number,
                                      now, RandomUuid(), RandomUuid());
        }
      }
      if (bundle.is_null()) {
        PersistNow(worker);
        return false;
      }
      const absl::Status sent = Post(worker, bundle.dump());
      bool became_error = false;
      {
        MutexLock lock(&mu_);
        if (sent.ok()) {
          sub.reg.status = "active";
          sub.reg.error.clear();
        } else {
          became_error = sub.reg.status != "error";
          sub.reg.status = "error";
          sub.reg.error = std::string(sent.message());
        }
      }
      if (sent.ok()) {
        worker.last_sent = now;
        return true;
      }
      if (became_error) PersistNow(worker);
      if (type == NotificationType::kHeartbeat) {
        worker.last_sent = now;
        return !Stopping(sub);
      }
      if (!Sleep(sub, delay)) return false;
      delay = std::min(delay * 2, options_.retry_max_delay);
    }
  }

  absl::Status Post(Worker& worker, const std::string& body) {
    Sub& sub = *worker.sub;
    const auto [origin, path] = SplitEndpoint(worker.spec.endpoint);
    httplib::Client client(origin);
    if (!client.is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the endpoint ", worker.spec.endpoint, " cannot be reached"));
    }
    const time_t timeout = worker.spec.timeout_seconds;
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    client.set_write_timeout(timeout);
    client.set_keep_alive(false);
    client.enable_server_certificate_verification(true);
    httplib::Headers headers;
    for (const auto& [name, value] : worker.spec.headers) {
      headers.emplace(name, value);
    }
    {
      MutexLock lock(&mu_);
      if (sub.stop) return absl::CancelledError("stopped");
      sub.client = &client;
    }
    httplib::Result result = client.Post(path, headers, body, kFhirJson);
    {
      MutexLock lock(&mu_);
      sub.client = nullptr;
    }
    if (!result) {
      return absl::UnavailableError(
          absl::StrCat("POST ", worker.spec.endpoint, ": ",
                       httplib::to_string(result.error())));
    }
    if (result->status < 200 || result->status > 299) {
      return absl::UnavailableError(absl::StrCat(
          "POST ", worker.spec.endpoint, ": HTTP ", result->status));
    }
    return absl::OkStatus();
  }

  const FhirServices services_;
  const FhirOptions options_;
  const std::string dir_;
  std::unique_ptr<v1::EventLog::Stub> event_log_;
  std::unique_ptr<v1::ContinuityViews::Stub> views_;

  // Serialises the changes of the set (POST, PUT, DELETE, Stop), which start
  // and join workers. Taken before mu_.
  Mutex admin_mu_;
  Mutex mu_ ABSL_ACQUIRED_AFTER(admin_mu_);
  CondVar wake_{&mu_};
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, std::shared_ptr<Sub>> subs_
      ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<Subscriptions>> Subscriptions::Create(
    FhirServices services, const FhirOptions& options) {
  if (options.state_dir.empty()) {
    return absl::InvalidArgumentError(
        "the FHIR endpoint needs a state directory for its Subscriptions");
  }
  auto impl = std::make_unique<Impl>(
      std::move(services), options,
      absl::StrCat(options.state_dir, "/", kSubscriptionsDir));
  if (absl::Status loaded = impl->Load(); !loaded.ok()) return loaded;
  return std::unique_ptr<Subscriptions>(new Subscriptions(std::move(impl)));
}

Subscriptions::Subscriptions(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
Subscriptions::~Subscriptions() { Stop(); }
void Subscriptions::Register(httplib::Server& http) { impl_->Register(http); }
void Subscriptions::Stop() { impl_->Stop(); }

}  // namespace caseline::server::fhir
