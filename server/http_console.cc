#include "server/http_console.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "caseline/v1/event_log.grpc.pb.h"
#include "caseline/v1/event_log.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "openssl/bio.h"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/pem.h"
#include "openssl/rand.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"
#include "server/console_assets.h"
#include "server/http_identity.h"
#include "server/listen_address.h"
#include "server/metrics.h"
#include "spdlog/spdlog.h"

namespace caseline::server {
namespace {

using services::Caller;

constexpr char kSessionCookie[] = "caseline_session";
constexpr char kAnonymousCookie[] = "caseline_anonymous";
constexpr char kCsrfHeader[] = "X-CSRF-Token";
constexpr char kBreakGlassHeader[] = "X-Caseline-Break-Glass";
// Most signed-in sessions kept; the least recently used goes first.
constexpr size_t kMaxSessions = 10'000;
// The proto package whose services the API serves.
constexpr char kPackage[] = "caseline.v1";
// The longest an API call may take before DEADLINE_EXCEEDED.
constexpr absl::Duration kCallDeadline = absl::Seconds(60);

constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

std::string RandomToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return "";
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && !a.empty() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// "NOT_FOUND" for absl::StatusCode::kNotFound: gRPC's spelling.
std::string CodeName(absl::StatusCode code) {
  return absl::StatusCodeToString(code);
}

void SetJson(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void SetError(httplib::Response& res, const absl::Status& status) {
  nlohmann::json body = {{"code", CodeName(status.code())},
                         {"message", std::string(status.message())}};
  SetJson(res, GatewayHttpStatus(status.code()), body.dump());
}

std::optional<std::string> Cookie(const httplib::Request& req,
                                  absl::string_view name) {
  for (size_t i = 0, n = req.get_header_value_count("Cookie"); i < n; ++i) {
    for (absl::string_view part :
         absl::StrSplit(req.get_header_value("Cookie", i), ';')) {
      part = absl::StripAsciiWhitespace(part);
      if (absl::ConsumePrefix(&part, name) && absl::ConsumePrefix(&part, "=")) {
        return std::string(part);
      }
    }
  }
  return std::nullopt;
}

nlohmann::json RoleList(uint8_t roles) {
  nlohmann::json list = nlohmann::json::array();
  for (auto [role, name] : {std::pair{services::kAgency, "agency"},
                            std::pair{services::kAuditor, "auditor"},
                            std::pair{services::kAdmin, "admin"}}) {
    if ((roles & role) != 0) list.push_back(name);
  }
  return list;
}

}  // namespace

class HttpConsole::Impl {
 public:
  Impl(HttpConsoleOptions options, const services::Authenticator* authenticator,
       eventstore::EventLog* log, projections::ClientRecordStore* records,
       std::shared_ptr<grpc::Channel> channel)
      : options_(std::move(options)),
        authenticator_(authenticator),
        log_(log),
        records_(records),
        channel_(std::move(channel)),
        generic_(channel_),
        event_log_(v1::EventLog::NewStub(channel_)),
        csrf_key_(RandomToken()) {}

  absl::Status Listen() {
    const size_t colon = options_.listen.rfind(':');
    int port = -1;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(options_.listen.substr(colon + 1), &port) ||
        port < 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--http_listen: \"", options_.listen,
          "\" is not host:port, e.g. 127.0.0.1:8080"));
    }
    host_ = options_.listen.substr(0, colon);
    const bool tls = !options_.tls_cert_pem.empty();
    if (tls != !options_.tls_key_pem.empty()) {
      return absl::InvalidArgumentError(
          "the console's TLS needs both the certificate and the key "
          "(--tls_cert and --tls_key)");
    }
    if (tls && !authenticator_->tls()) {
      return absl::InvalidArgumentError(
          "the console's TLS needs --client_ca: browsers and gateways prove "
          "their organisation with a client certificate");
    }
    if (!tls && !options_.insecure_non_loopback) {
      RETURN_IF_ERROR(CheckLoopbackHost(host_));
    }
    if (csrf_key_.empty()) {
      return absl::InternalError(
          "no randomness for the console's session keys (RAND_bytes failed)");
    }
    if (tls) {
      http_ = std::make_unique<httplib::SSLServer>(
          [this](SSL_CTX& ctx) { return SetUpTls(ctx); });
      if (!http_->is_valid()) {
        return absl::InvalidArgumentError(
            "the console's TLS certificate or key could not be loaded "
            "(--tls_cert, --tls_key: PEM, the key matching the certificate)");
      }
    } else {
      http_ = std::make_unique<httplib::Server>();
    }
    tls_ = tls;
    // Each open event stream holds a thread; leave as many for requests.
    const size_t threads = options_.max_event_streams * 2 + 8;
    http_->new_task_queue = [threads] {
      return new httplib::ThreadPool(threads);
    };
    http_->set_keep_alive_timeout(5);
    http_->set_read_timeout(10);
    http_->set_payload_max_length(8 << 20);
    http_->set_post_routing_handler(
        [](const httplib::Request&, httplib::Response& res) {
          res.set_header("Content-Security-Policy", kContentSecurityPolicy);
          res.set_header("X-Content-Type-Options", "nosniff");
          res.set_header("Referrer-Policy", "no-referrer");
          res.set_header("X-Frame-Options", "DENY");
          res.set_header("Cross-Origin-Opener-Policy", "same-origin");
          res.set_header("Cross-Origin-Resource-Policy", "same-origin");
          if (!res.has_header("Cache-Control")) {
            res.set_header("Cache-Control", "no-store");
          }
        });
    fhir::FhirServices fhir_services;
    fhir_services.authenticator = authenticator_;
    fhir_services.log = log_;
    fhir_services.records = records_;
    fhir_services.channel = channel_;
    fhir_services.tls = tls;
    ASSIGN_OR_RETURN(fhir_, fhir::FhirEndpoint::Create(std::move(fhir_services),
                                                      options_.fhir));
    fhir_->Register(*http_);
    Route();
    port_ = port == 0 ? http_->bind_to_any_port(host_)
                      : (http_->bind_to_port(host_, port) ? port : -1);
    if (port_ <= 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", options_.listen,
          " for the console: the address is in use or not local; pass "
          "another --http_listen"));
    }
    thread_ = std::thread([this] { http_->listen_after_bind(); });
    return absl::OkStatus();
  }

  std::string address() const {
    return absl::StrCat(absl::StrContains(host_, ':') ? "[" : "", host_,
                        absl::StrContains(host_, ':') ? "]" : "", ":", port_);
  }

  void Stop() {
    {
      MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
      for (grpc::ClientContext* stream : streams_) stream->TryCancel();
    }
    if (fhir_ != nullptr) fhir_->Stop();
    if (http_ != nullptr) http_->stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Session {
    std::string organization_id;
    std::string user_id;
    std::string discipline;
    std::string purpose;
    absl::Time last_used;
  };

  // Who calls: the Caller, and what binds its CSRF token.
  struct Identity {
    Caller caller;
    std::string csrf_binding;
  };

  bool SetUpTls(SSL_CTX& ctx) {
    BIO* bio = BIO_new_mem_buf(options_.tls_cert_pem.data(),
                               static_cast<int>(options_.tls_cert_pem.size()));
    X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    bool ok = leaf != nullptr && SSL_CTX_use_certificate(&ctx, leaf) == 1;
    X509_free(leaf);
    while (ok) {
      X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
      if (extra == nullptr) break;
      ok = SSL_CTX_add_extra_chain_cert(&ctx, extra) == 1;  // takes it
    }
    ERR_clear_error();  // the end of the PEM
    BIO_free(bio);
    bio = BIO_new_mem_buf(options_.tls_key_pem.data(),
                          static_cast<int>(options_.tls_key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ok = ok && key != nullptr && SSL_CTX_use_PrivateKey(&ctx, key) == 1 &&
         SSL_CTX_check_private_key(&ctx) == 1;
    EVP_PKEY_free(key);
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    // Ask for a client certificate but let the handshake through without
    // one: the Authenticator checks it against the client CA and answers
    // 401 with the reason, which a failed handshake cannot say.
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER,
                       [](int, X509_STORE_CTX*) { return 1; });
    return ok;
  }

  void Route() {
    for (const ConsoleAsset& asset : ConsoleAssets()) {
      const std::string path(asset.path);
      // The content's hash: a reload revalidates (no-cache) and gets 304
      // for what did not change, instead of every file again.
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int digest_size = 0;
      EVP_Digest(asset.data.data(), asset.data.size(), digest, &digest_size,
                 EVP_sha256(), nullptr);
      const std::string etag = absl::StrCat(
          "\"", absl::BytesToHexString(absl::string_view(
                    reinterpret_cast<const char*>(digest), 16)),
          "\"");
      auto serve = [asset, etag](const httplib::Request& req,
                                 httplib::Response& res) {
        res.set_header("Cache-Control", "no-cache");
        res.set_header("ETag", etag);
        if (req.get_header_value("If-None-Match") == etag) {
          res.status = 304;
          return;
        }
        res.set_content(asset.data.data(), asset.data.size(),
                        std::string(asset.content_type).c_str());
      };
      http_->Get(path, serve);
      if (path == "/assets/index.html") http_->Get("/", serve);
    }
    http_->Get("/api/v1/session",
               [this](const httplib::Request& req, httplib::Response& res) {
                 GetSession(req, res);
               });
    http_->Post("/api/v1/session",
                [this](const httplib::Request& req, httplib::Response& res) {
                  SignIn(req, res);
                });
    http_->Post("/api/v1/session/end",
                [this](const httplib::Request& req, httplib::Response& res) {
                  SignOut(req, res);
                });
    http_->Get("/api/v1/events",
               [this](const httplib::Request& req, httplib::Response& res) {
                 Events(req, res);
               });
    if (options_.metrics != nullptr) {
      http_->Get("/metrics",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   ServeMetrics(req, res);
                 });
    }
    http_->Post(R"(/api/v1/([A-Za-z]+)/([A-Za-z]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  Call(req, res);
                });
    http_->set_error_handler(
        [](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return;
          if (absl::StartsWith(req.path, fhir::kBasePath)) {
            fhir::SetOutcome(
                res,
                absl::Status(res.status == 404 ? absl::StatusCode::kNotFound
                                               : absl::StatusCode::kUnimplemented,
                             absl::StrCat(req.method, " ", req.path,
                                          " is not part of the FHIR API; see "
                                          "GET /fhir/r4/metadata")),
                res.status);
          } else if (res.status == 404 && absl::StartsWith(req.path, "/api/")) {
            SetError(res, absl::NotFoundError(absl::StrCat(
                              req.method, " ", req.path,
                              " is not part of the API; calls are POST "
                              "/api/v1/<Service>/<Method> (docs/console.md)")));
          } else if (res.status == 404) {
            res.set_content("Not found: the console is at /\n",
                            "text/plain; charset=utf-8");
          }
        });
  }

  // GET /metrics (docs/metrics.md). The series are counts, positions and
  // durations, nothing about a client, so no organisation is asked for (a
  // Prometheus server is not one); with TLS the peer still needs a
  // certificate the client CA issued.
  void ServeMetrics(const httplib::Request& req, httplib::Response& res) {
    if (absl::Status trusted =
            authenticator_->VerifyCertificate(TransportOf(req));
        !trusted.ok()) {
      res.status = 401;
      res.set_content(absl::StrCat(trusted.message(), "\n"),
                      "text/plain; charset=utf-8");
      return;
    }
    res.set_content(options_.metrics->Scrape(), kMetricsContentType);
  }

  // --- Identity -------------------------------------------------------------

  // A development-mode call as `session`'s person, breaking the glass with
  // `glass` when set: the session stands in for the gRPC metadata.
  services::CallCredentials SessionCall(const httplib::Request& req,
                                        Session session,
                                        std::optional<std::string> glass) const {
    services::CallCredentials call = TransportOf(req);
    call.header = [session = std::move(session), glass = std::move(glass)](
                      absl::string_view key) -> std::optional<std::string> {
      if (key == services::kOrganizationMetadataKey) {
        return session.organization_id;
      }
      if (key == services::kUserMetadataKey) return session.user_id;
      if (key == services::kDisciplineMetadataKey) return session.discipline;
      if (key == services::kPurposeMetadataKey) return session.purpose;
      if (key == services::kBreakGlassMetadataKey) return glass;
      return std::nullopt;
    };
    return call;
  }

  // The caller of `req`, by the Authenticator's rules; UNAUTHENTICATED
  // without TLS and without a signed-in session.
  absl::StatusOr<Identity> Identify(const httplib::Request& req) {
    Identity identity;
    if (tls_) {
      // The person, discipline and purpose come from the headers the
      // organisation's gateway vouches for; nothing else is passed on.
      services::CallCredentials call = HeaderCall(req, /*person_only=*/true);
      ASSIGN_OR_RETURN(identity.caller, authenticator_->Authenticate(call));
      identity.csrf_binding = absl::StrCat("tls\n", identity.caller.organization_id,
                                           "\n", identity.caller.user_id);
      return identity;
    }
    std::optional<std::string> id = Cookie(req, kSessionCookie);
    std::optional<Session> session;
    if (id.has_value()) session = FindSession(*id);
    if (!session.has_value()) {
      return absl::UnauthenticatedError(
          "not signed in: choose your organisation and enter your person id "
          "on the console's sign-in page (POST /api/v1/session)");
    }
    std::optional<std::string> glass;
    if (req.has_header(kBreakGlassHeader)) {
      glass = req.get_header_value(kBreakGlassHeader);
    }
    ASSIGN_OR_RETURN(identity.caller,
                     authenticator_->Authenticate(
                         SessionCall(req, *std::move(session), std::move(glass))));
    identity.csrf_binding = absl::StrCat("session\n", *id);
    return identity;
  }

  std::optional<Session> FindSession(const std::string& id) {
    MutexLock lock(&mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    const absl::Time now = absl::Now();
    if (now - it->second.last_used > options_.session_idle) {
      sessions_.erase(it);
      return std::nullopt;
    }
    it->second.last_used = now;
    return it->second;
  }

  std::string CsrfToken(absl::string_view binding) const {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    HMAC(EVP_sha256(), csrf_key_.data(), static_cast<int>(csrf_key_.size()),
         reinterpret_cast<const unsigned char*>(binding.data()), binding.size(),
         mac, &size);
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(mac), size));
  }

  // OK when `req` may change state: JSON, same origin, and the token bound
  // to `binding`. PERMISSION_DENIED otherwise.
  absl::Status CheckPost(const httplib::Request& req,
                         absl::string_view binding) const {
    if (!absl::StartsWith(
            absl::AsciiStrToLower(req.get_header_value("Content-Type")),
            "application/json")) {
      return absl::InvalidArgumentError(
          "Content-Type: send the body as application/json");
    }
    const std::string site = req.get_header_value("Sec-Fetch-Site");
    if (!site.empty() && site != "same-origin" && site != "none") {
      return absl::PermissionDeniedError(absl::StrCat(
          "cross-site request refused (Sec-Fetch-Site: ", site,
          "): the console accepts changes only from its own pages"));
    }
    if (req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      const std::string own = absl::StrCat(tls_ ? "https://" : "http://",
                                           req.get_header_value("Host"));
      if (origin != own) {
        return absl::PermissionDeniedError(absl::StrCat(
            "cross-origin request refused (Origin: ", origin,
            "): the console accepts changes only from its own pages"));
      }
    }
    if (!ConstantTimeEquals(req.get_header_value(kCsrfHeader),
                            CsrfToken(binding))) {
      return absl::PermissionDeniedError(absl::StrCat(
          "missing or stale CSRF token: send header ", kCsrfHeader,
          " with the csrf_token of GET /api/v1/session"));
    }
    return absl::OkStatus();
  }

  // --- Session --------------------------------------------------------------

  nlohmann::json SessionJson(const Identity& identity) {
    const Caller& caller = identity.caller;
    nlohmann::json body = {
        {"authenticated", true},
        {"mode", tls_ ? "tls" : "development"},
        {"organization_id", caller.organization_id},
        {"organization_name", ""},
        {"user_id", caller.user_id},
        {"discipline", v1::Discipline_Name(caller.discipline)},
        {"purpose", v1::PurposeOfUse_Name(caller.purpose)},
        {"roles", RoleList(caller.roles)},
        {"local_operator", caller.local_operator},
        {"csrf_token", CsrfToken(identity.csrf_binding)},
        {"organizations", nlohmann::json::array()}};
    // The directory, for the forms that name an organisation (a referral's
    // receiver, a team member's): names and types only, as any agency may
    // read the organizations stream.
    if (absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>>
            directory = records_->Directory();
        directory.ok()) {
      for (const v1::OrganizationRegistered* organization : (*directory)->All()) {
        if (organization->organization_id() == caller.organization_id) {
          body["organization_name"] = organization->name();
        }
        body["organizations"].push_back(
            {{"organization_id", organization->organization_id()},
             {"name", organization->name()},
             {"type", v1::OrganizationType_Name(organization->type())}});
      }
    }
    return body;
  }

  // The organisations a development-mode picker offers: the directory's,
  // and the access config's (with their roles).
  nlohmann::json Choices() {
    nlohmann::json list = nlohmann::json::array();
    absl::flat_hash_set<std::string> listed;
    const auto& access = authenticator_->access_config();
    auto roles_of = [&access](const std::string& id) -> uint8_t {
      if (!access.has_value()) return services::kAgency;
      auto it = access->roles.find(id);
      return it == access->roles.end() ? 0 : it->second;
    };
    if (absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>>
            directory = records_->Directory();
        directory.ok()) {
      for (const v1::OrganizationRegistered* organization : (*directory)->All()) {
        const uint8_t roles = roles_of(organization->organization_id());
        if (roles == 0) continue;
        listed.insert(organization->organization_id());
        list.push_back(
            {{"organization_id", organization->organization_id()},
             {"name", organization->name()},
             {"type", v1::OrganizationType_Name(organization->type())},
             {"roles", RoleList(roles)}});
      }
    }
    if (access.has_value()) {
      std::vector<std::string> rest;
      for (const auto& [id, roles] : access->roles) {
        if (roles != 0 && !listed.contains(id)) rest.push_back(id);
      }
      std::sort(rest.begin(), rest.end());
      for (const std::string& id : rest) {
        list.push_back({{"organization_id", id},
                        {"name", ""},
                        {"type", ""},
                        {"roles", RoleList(roles_of(id))}});
      }
    }
    return list;
  }

  // The anonymous visitor's id (a cookie), made when it has none.
  std::string AnonymousId(const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> id = Cookie(req, kAnonymousCookie);
    if (id.has_value() && id->size() == 64) return *id;
    std::string made = RandomToken();
    res.set_header("Set-Cookie", CookieHeader(kAnonymousCookie, made));
    return made;
  }

  std::string CookieHeader(absl::string_view name, absl::string_view value,
                           bool expire = false) const {
    return absl::StrCat(name, "=", value,
                        "; Path=/; HttpOnly; SameSite=Strict",
                        tls_ ? "; Secure" : "",
                        expire ? "; Max-Age=0" : "");
  }

  void GetSession(const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<Identity> identity = Identify(req);
    if (identity.ok()) {
      SetJson(res, 200, SessionJson(*identity).dump());
      return;
    }
    if (tls_ || identity.status().code() != absl::StatusCode::kUnauthenticated) {
      SetError(res, identity.status());
      return;
    }
    const std::string anonymous = AnonymousId(req, res);
    nlohmann::json body = {
        {"authenticated", false},
        {"mode", "development"},
        {"message", std::string(identity.status().message())},
        {"csrf_token", CsrfToken(absl::StrCat("anonymous\n", anonymous))},
        {"organizations", Choices()},
        {"local_operator_allowed",
         !authenticator_->access_config().has_value() && PeerIsLoopback(req)}};
    SetJson(res, 200, body.dump());
  }

  void SignIn(const httplib::Request& req, httplib::Response& res) {
    if (tls_) {
      SetError(res, absl::FailedPreconditionError(
                        "this console uses TLS: your organisation is your "
                        "client certificate and your person the "
                        "x-caseline-user header; there is no sign-in"));
      return;
    }
    std::optional<std::string> anonymous = Cookie(req, kAnonymousCookie);
    if (absl::Status ok = CheckPost(req, absl::StrCat("anonymous\n",
                                                     anonymous.value_or("")));
        !ok.ok()) {
      SetError(res, ok);
      return;
    }
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      SetError(res, absl::InvalidArgumentError(
                        "body: a JSON object {\"organization_id\", "
                        "\"user_id\", \"discipline\", \"purpose\"}"));
      return;
    }
    Session session;
    for (auto [field, target] :
         {std::pair{"organization_id", &session.organization_id},
          std::pair{"user_id", &session.user_id},
          std::pair{"discipline", &session.discipline},
          std::pair{"purpose", &session.purpose}}) {
      if (!body.contains(field)) continue;
      if (!body[field].is_string()) {
        SetError(res, absl::InvalidArgumentError(
                          absl::StrCat(field, ": a string")));
        return;
      }
      *target = body[field].get<std::string>();
    }
    if (session.user_id.empty() && !session.organization_id.empty()) {
      SetError(res, absl::InvalidArgumentError(
                        "user_id: required; the person signing in, as your "
                        "organisation knows them (recorded on every change)"));
      return;
    }
    // The same checks as every call will make (the organisation allowed,
    // the discipline and purpose known), now rather than on the first page.
    absl::StatusOr<Caller> caller = authenticator_->Authenticate(
        SessionCall(req, session, std::nullopt));
    if (!caller.ok()) {
      SetError(res, caller.status());
      return;
    }
    session.last_used = absl::Now();
    const std::string id = RandomToken();
    {
      MutexLock lock(&mu_);
      if (sessions_.size() >= kMaxSessions) {
        auto oldest = std::min_element(
            sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
              return a.second.last_used < b.second.last_used;
            });
        sessions_.erase(oldest);
      }
      sessions_.emplace(id, session);
    }
    res.set_header("Set-Cookie", CookieHeader(kSessionCookie, id));
    Identity identity{*std::move(caller), absl::StrCat("session\n", id)};
    SetJson(res, 200, SessionJson(identity).dump());
  }

  void SignOut(const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<Identity> identity = Identify(req);
    if (!identity.ok()) {
      SetError(res, identity.status());
      return;
    }
    if (absl::Status ok = CheckPost(req, identity->csrf_binding); !ok.ok()) {
      SetError(res, ok);
      return;
    }
    if (std::optional<std::string> id = Cookie(req, kSessionCookie);
        id.has_value()) {
      MutexLock lock(&mu_);
      sessions_.erase(*id);
    }
    res.set_header("Set-Cookie", CookieHeader(kSessionCookie, "", true));
    SetJson(res, 200, R"({"authenticated":false})");
  }

  // --- The API --------------------------------------------------------------

  void Attach(const Caller& caller, const httplib::Request& req,
              grpc::ClientContext& context) const {
    AttachCaller(*authenticator_, caller, PeerIsLoopback(req), context);
  }

  void Call(const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<Identity> identity = Identify(req);
    if (!identity.ok()) {
      SetError(res, identity.status());
      return;
    }
    if (absl::Status ok = CheckPost(req, identity->csrf_binding); !ok.ok()) {
      SetError(res, ok);
      return;
    }
    const std::string service_name = req.matches[1];
    const std::string method_name = req.matches[2];
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            absl::StrCat(kPackage, ".", service_name));
    const google::protobuf::MethodDescriptor* method =
        service == nullptr ? nullptr : service->FindMethodByName(method_name);
    if (method == nullptr) {
      SetError(res, absl::NotFoundError(absl::StrCat(
                        "no method ", service_name, "/", method_name,
                        ": the API serves the unary methods of the ", kPackage,
                        " services (proto/caseline/v1/*.proto)")));
      return;
    }
    if (method->client_streaming() || method->server_streaming()) {
      SetError(res, absl::UnimplementedError(absl::StrCat(
                        service_name, "/", method_name,
                        " streams; over HTTP, follow the log with GET "
                        "/api/v1/events, or use gRPC")));
      return;
    }
    const google::protobuf::Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(
            method->input_type());
    std::unique_ptr<google::protobuf::Message> request(prototype->New());
    std::unique_ptr<google::protobuf::Message> response(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(method->output_type())
            ->New());
    google::protobuf::util::JsonParseOptions parse;
    if (google::protobuf::util::Status parsed =
            google::protobuf::util::JsonStringToMessage(
            req.body.empty() ? "{}" : req.body, request.get(), parse);
        !parsed.ok()) {
      SetError(res, absl::InvalidArgumentError(absl::StrCat(
                        "body: ", parsed.message().as_string(), "; send ",
                        method->input_type()->full_name(),
                        " in protobuf's JSON mapping")));
      return;
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    Attach(identity->caller, req, context);
    Mutex done_mu;
    CondVar done_cv(&done_mu);
    bool done = false;
    grpc::Status status;
    generic_.UnaryCall(&context, absl::StrCat("/", service->full_name(), "/",
                                              method->name()),
                       grpc::StubOptions(), request.get(), response.get(),
                       [&](grpc::Status s) {
                         MutexLock lock(&done_mu);
                         status = std::move(s);
                         done = true;
                         done_cv.SignalAll();
                       });
    {
      MutexLock lock(&done_mu);
      while (!done) done_cv.Wait();
    }
    if (!status.ok()) {
      SetError(res, absl::Status(static_cast<absl::StatusCode>(
                                     status.error_code()),
                                 status.error_message()));
      return;
    }
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    print.always_print_primitive_fields = true;
    std::string json;
    if (google::protobuf::util::Status printed =
            google::protobuf::util::MessageToJsonString(
            *response, &json, print);
        !printed.ok()) {
      SetError(res, absl::InternalError(
                        absl::StrCat("response: ", printed.message().as_string())));
      return;
    }
    SetJson(res, 200, json);
  }

  // --- Live updates ---------------------------------------------------------

  struct EventStream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader;
    bool finished = false;
  };

  void Events(const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<Identity> identity = Identify(req);
    if (!identity.ok()) {
      SetError(res, identity.status());
      return;
    }
    auto stream = std::make_shared<EventStream>();
    {
      MutexLock lock(&mu_);
      if (stopped_) {
        SetError(res, absl::UnavailableError("the server is shutting down"));
        return;
      }
      if (streams_.size() >= options_.max_event_streams) {
        SetError(res, absl::ResourceExhaustedError(absl::StrCat(
                          "the console holds its most live-update streams (",
                          options_.max_event_streams,
                          "); close another console tab, or reload later")));
        return;
      }
      streams_.insert(&stream->context);
    }
    Attach(identity->caller, req, stream->context);
    v1::SubscribeRequest request;
    request.mutable_from_end();
    request.set_checkpoint_interval_ms(static_cast<uint32_t>(
        absl::ToInt64Milliseconds(options_.event_checkpoint_interval)));
    stream->reader = event_log_->Subscribe(&stream->context, request);
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream](size_t, httplib::DataSink& sink) {
          if (stream->finished) {
            sink.done();
            return true;
          }
          v1::SubscribeResponse response;
          if (!stream->reader->Read(&response)) {
            const grpc::Status status = stream->reader->Finish();
            stream->finished = true;
            nlohmann::json error = {
                {"code", CodeName(static_cast<absl::StatusCode>(
                             status.error_code()))},
                {"message", status.error_message()}};
            const std::string text =
                absl::StrCat("event: error\ndata: ", error.dump(), "\n\n");
            sink.write(text.data(), text.size());
            return true;
          }
          std::string text;
          if (response.has_event()) {
            const v1::Event& event = response.event();
            nlohmann::json data = {
                {"position", absl::StrCat(event.global_position())},
                {"stream_id", event.stream_id()},
                {"event_type", event.event_type()}};
            text = absl::StrCat("event: changed\ndata: ", data.dump(), "\n\n");
          } else if (response.has_caught_up()) {
            text = absl::StrCat("event: ready\ndata: {\"position\":\"",
                                response.caught_up().position(), "\"}\n\n");
          } else {
            text = absl::StrCat("event: checkpoint\ndata: {\"position\":\"",
                                response.checkpoint().position(), "\"}\n\n");
          }
          if (!sink.write(text.data(), text.size())) {
            stream->context.TryCancel();
            return false;
          }
          return true;
        },
        [this, stream](bool) {
          if (!stream->finished) {
            stream->context.TryCancel();
            v1::SubscribeResponse drain;
            while (stream->reader->Read(&drain)) {
            }
            stream->reader->Finish();
            stream->finished = true;
          }
          MutexLock lock(&mu_);
          streams_.erase(&stream->context);
        });
  }

  const HttpConsoleOptions options_;
  const services::Authenticator* const authenticator_;
  eventstore::EventLog* const log_;
  projections::ClientRecordStore* const records_;
  std::shared_ptr<grpc::Channel> channel_;
  grpc::TemplatedGenericStub<google::protobuf::Message,
                             google::protobuf::Message>
      generic_;
  std::unique_ptr<v1::EventLog::Stub> event_log_;
  const std::string csrf_key_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<fhir::FhirEndpoint> fhir_;
  bool tls_ = false;
  std::string host_;
  int port_ = 0;
  std::thread thread_;

  Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, Session> sessions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<grpc::ClientContext*> streams_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<HttpConsole>> HttpConsole::Start(
    HttpConsoleOptions options, const services::Authenticator* authenticator,
    eventstore::EventLog* log, projections::ClientRecordStore* records,
    std::shared_ptr<grpc::Channel> channel) {
  auto impl = std::make_unique<Impl>(std::move(options), authenticator, log,
                                     records, std::move(channel));
  RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<HttpConsole>(new HttpConsole(std::move(impl)));
}

HttpConsole::HttpConsole(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpConsole::~HttpConsole() { Stop(); }
std::string HttpConsole::address() const { return impl_->address(); }
void HttpConsole::Stop() { impl_->Stop(); }

}  // namespace caseline::server
