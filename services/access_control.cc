#include "services/access_control.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <future>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "caseline/v1/wire_constants.h"
#include "base/status_macros.h"
#include "absl/strings/escaping.h"
#include "openssl/bio.h"
#include "openssl/crypto.h"
#include "openssl/pem.h"
#include "openssl/rand.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"
#include "care/care_event_context.h"
#include "care/client_record.h"
#include "care/upcasting.h"
#include "spdlog/spdlog.h"

namespace caseline::services {
namespace {

using care::ClassBit;
using care::DataClassMask;


constexpr size_t kMaxMetadataValue = 256;
constexpr size_t kMaxBreakGlassReason = 1000;
// Refused reads remembered to bound their records (docs/access.md).
constexpr size_t kMaxDenialKeys = 100'000;

// Parses an enum value named with or without its prefix, e.g. "TREATMENT"
// or "PURPOSE_OF_USE_TREATMENT".
template <typename Enum>
std::optional<Enum> EnumNamed(const std::string& value,
                              absl::string_view prefix,
                              bool (*parse)(const std::string&, Enum*)) {
  const std::string upper = absl::AsciiStrToUpper(value);
  Enum parsed;
  if (parse(upper, &parsed) || parse(absl::StrCat(prefix, upper), &parsed)) {
    return parsed;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Role> RoleNamed(absl::string_view name) {
  if (name == "agency") return kAgency;
  if (name == "auditor") return kAuditor;
  if (name == "admin") return kAdmin;
  return std::nullopt;
}

std::string RoleNames(uint8_t roles) {
  std::vector<std::string> names;
  if (roles & kAgency) names.push_back("agency");
  if (roles & kAuditor) names.push_back("auditor");
  if (roles & kAdmin) names.push_back("admin");
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

std::string Caller::role() const {
  if (discipline == v1::DISCIPLINE_UNSPECIFIED) return "";
  return std::string(
      absl::StripPrefix(v1::Discipline_Name(discipline), "DISCIPLINE_"));
}

absl::Status RequireRole(const Caller& caller, uint8_t roles,
                         absl::string_view what) {
  if (caller.local_operator || (caller.roles & roles) != 0) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      what, " needs the role ", RoleNames(roles), "; organisation ",
      caller.organization_id, " has ", RoleNames(caller.roles),
      " (the server's --access_config grants roles)"));
}

// --- Authenticator ------------------------------------------------------------

bool PeerIsLoopback(absl::string_view peer) {
  if (absl::ConsumePrefix(&peer, "unix:") ||
      absl::StartsWith(peer, "unix-abstract:")) {
    return true;
  }
  std::string host;
  if (absl::ConsumePrefix(&peer, "ipv4:")) {
    host = std::string(peer.substr(0, peer.rfind(':')));
  } else if (absl::ConsumePrefix(&peer, "ipv6:")) {
    std::string unescaped = absl::StrReplaceAll(
        peer, {{"%5B", "["}, {"%5D", "]"}, {"%5b", "["}, {"%5d", "]"}});
    const size_t open = unescaped.find('[');
    const size_t close = unescaped.find(']');
    if (open != 0 || close == std::string::npos) return false;
    host = unescaped.substr(1, close - 1);
    // A zone (fe80::1%eth0) is never loopback; drop it so inet_pton decides.
    host = host.substr(0, host.find('%'));
  } else {
    return false;
  }
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

// Verifies organisation certificates against the client CA with OpenSSL, and
// remembers the outcome per certificate (a connection's calls all present
// the same one).
class Authenticator::Verifier {
 public:
  static absl::StatusOr<std::unique_ptr<Verifier>> Create(
      const std::string& ca_pem) {
    auto verifier = std::unique_ptr<Verifier>(new Verifier());
    BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    int added = 0;
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      if (X509_STORE_add_cert(verifier->store_, cert) == 1) ++added;
      X509_free(cert);
    }
    BIO_free(bio);
    if (added == 0) {
      return absl::InvalidArgumentError(
          "client_ca: no PEM certificate found; pass the CA certificate that "
          "issues organisation certificates (deploy/make-dev-certs.sh makes "
          "one)");
    }
    return verifier;
  }
  ~Verifier() { X509_STORE_free(store_); }

  // The organisation the certificate names, once verified.
  absl::StatusOr<std::string> OrganizationOf(const std::string& leaf_pem,
                                             const std::string& chain_pem) {
    {
      MutexLock lock(&mu_);
      auto it = cache_.find(leaf_pem);
      if (it != cache_.end()) return it->second;
    }
    absl::StatusOr<std::string> result = Verify(leaf_pem, chain_pem);
    MutexLock lock(&mu_);
    if (cache_.size() > 10000) cache_.clear();
    cache_.emplace(leaf_pem, result);
    return result;
  }

  // OK when the client CA issued the certificate, whatever it names.
  // Uncached: for the rare callers that need no organisation.
  absl::Status Issued(const std::string& leaf_pem,
                      const std::string& chain_pem) {
    return Verify(leaf_pem, chain_pem, /*organization=*/false).status();
  }

 private:
  Verifier() : store_(X509_STORE_new()) {}

  // The organisation the certificate names (with `organization`; "" without)
  // once verified.
  absl::StatusOr<std::string> Verify(const std::string& leaf_pem,
                                     const std::string& chain_pem,
                                     bool organization = true) {
    BIO* bio =
        BIO_new_mem_buf(leaf_pem.data(), static_cast<int>(leaf_pem.size()));
    X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (leaf == nullptr) {
      return absl::UnauthenticatedError(
          "the client certificate could not be parsed");
    }
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    BIO* chain_bio =
        BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
    while (X509* cert = PEM_read_bio_X509(chain_bio, nullptr, nullptr, nullptr)) {
      sk_X509_push(untrusted, cert);
    }
    BIO_free(chain_bio);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store_, leaf, untrusted);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    const bool ok = X509_verify_cert(ctx) == 1;
    const int error = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    absl::StatusOr<std::string> result;
    if (!ok) {
      result = absl::UnauthenticatedError(absl::StrCat(
          "the client certificate was not issued by this server's client CA "
          "(",
          X509_verify_cert_error_string(error),
          "); use a certificate from the CA passed as --client_ca"));
    } else if (organization) {
      result = OrganizationUri(leaf);
    } else {
      result = std::string();
    }
    X509_free(leaf);
    return result;
  }

  static absl::StatusOr<std::string> OrganizationUri(X509* cert) {
    auto* names = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    std::vector<std::string> found;
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_URI) continue;
      const ASN1_STRING* uri = name->d.uniformResourceIdentifier;
      absl::string_view value(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
          static_cast<size_t>(ASN1_STRING_length(uri)));
      if (absl::ConsumePrefix(&value, kOrganizationUriPrefix) &&
          !value.empty()) {
        found.emplace_back(value);
      }
    }
    GENERAL_NAMES_free(names);
    if (found.size() != 1) {
      return absl::UnauthenticatedError(absl::StrCat(
          "the client certificate must carry exactly one SAN URI ",
          kOrganizationUriPrefix, "<organization_id>; it has ", found.size()));
    }
    return found.front();
  }

  X509_STORE* const store_;
  Mutex mu_;
  absl::flat_hash_map<std::string, absl::StatusOr<std::string>> cache_
      ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(
    AuthenticatorOptions options) {
  std::unique_ptr<Verifier> verifier;
  if (!options.client_ca_pem.empty()) {
    ASSIGN_OR_RETURN(verifier, Verifier::Create(options.client_ca_pem));
  }
  return std::unique_ptr<Authenticator>(
      new Authenticator(std::move(options), std::move(verifier)));
}

Authenticator::Authenticator(AuthenticatorOptions options,
                             std::unique_ptr<Verifier> verifier)
    : options_(std::move(options)), verifier_(std::move(verifier)) {
  unsigned char secret[32];
  // RAND_bytes fails only without an entropy source; a console secret from
  // a failed call would be guessable, so the console then cannot call.
  if (RAND_bytes(secret, sizeof(secret)) == 1) {
    console_secret_ = absl::BytesToHexString(absl::string_view(
        reinterpret_cast<const char*>(secret), sizeof(secret)));
  }
}
Authenticator::~Authenticator() = default;

absl::StatusOr<std::string> Authenticator::OrganizationFromCertificate(
    const CallCredentials& call) const {
  if (call.certificate_pem.empty()) {
    return absl::UnauthenticatedError(
        "no client certificate: this server requires mutual TLS; connect "
        "with your organisation's certificate and key (caseline --tls_cert "
        "--tls_key --tls_ca)");
  }
  return verifier_->OrganizationOf(call.certificate_pem, call.chain_pem);
}

absl::Status Authenticator::VerifyCertificate(
    const CallCredentials& call) const {
  if (verifier_ == nullptr) return absl::OkStatus();
  if (call.certificate_pem.empty()) {
    return absl::UnauthenticatedError(
        "no client certificate: this server requires mutual TLS; connect "
        "with a certificate issued by the CA passed as --client_ca");
  }
  return verifier_->Issued(call.certificate_pem, call.chain_pem);
}

absl::StatusOr<Caller> Authenticator::Authenticate(
    const grpc::ServerContextBase& context) const {
  CallCredentials call;
  if (verifier_ != nullptr) {
    if (std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
        auth != nullptr) {
      for (const grpc::string_ref& v :
           auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME)) {
        call.certificate_pem.assign(v.data(), v.size());
      }
      for (const grpc::string_ref& v :
           auth->FindPropertyValues(GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME)) {
        call.chain_pem.assign(v.data(), v.size());
      }
    }
  }
  call.peer = context.peer();
  call.peer_is_loopback = PeerIsLoopback(call.peer);
  call.header = [&context](absl::string_view key) -> std::optional<std::string> {
    auto it = context.client_metadata().find(grpc::string_ref(key.data(), key.size()));
    if (it == context.client_metadata().end()) return std::nullopt;
    return std::string(it->second.data(), it->second.size());
  };
  return Authenticate(call);
}

absl::StatusOr<Caller> Authenticator::Authenticate(
    const CallCredentials& call) const {
  auto header = [&call](const char* key) {
    return call.header(key).value_or("");
  };
  Caller caller;
  bool peer_is_loopback = call.peer_is_loopback;
  if (std::optional<std::string> console = call.header(kConsoleMetadataKey);
      console.has_value()) {
    // The console authenticated its caller (certificate or session) and
    // names the organisation; only this process knows the secret.
    if (console_secret_.empty() || console->size() != console_secret_.size() ||
        CRYPTO_memcmp(console->data(), console_secret_.data(),
                      console_secret_.size()) != 0) {
      return absl::UnauthenticatedError(absl::StrCat(
          kConsoleMetadataKey, ": not this server's console; do not send it"));
    }
    caller.organization_id = header(kOrganizationMetadataKey);
    peer_is_loopback = header(kConsoleLoopbackMetadataKey) == "1";
  } else if (verifier_ != nullptr) {
    ASSIGN_OR_RETURN(caller.organization_id, OrganizationFromCertificate(call));
    // x-caseline-org is ignored with TLS: the certificate says who calls.
  } else {
    caller.organization_id = header(kOrganizationMetadataKey);
  }
  if (caller.organization_id.size() > kMaxMetadataValue) {
    return absl::InvalidArgumentError(absl::StrCat(
        kOrganizationMetadataKey, ": longer than ", kMaxMetadataValue, " bytes"));
  }
  if (!options_.access.has_value()) {
    // Development mode: loopback, no TLS, no access config.
    if (caller.organization_id.empty()) {
      // The operator's powers need a caller on this machine: a server run
      // with --insecure_non_loopback must not give them to the network.
      if (!peer_is_loopback) {
        return absl::UnauthenticatedError(absl::StrCat(
            "no identity: the development-mode local operator exists only "
            "for callers on a loopback address, and ",
            call.peer, " is not one; name the calling organisation in "
            "metadata ", kOrganizationMetadataKey, " (caseline --org)"));
      }
      caller.local_operator = true;
      caller.roles = kAgency | kAuditor | kAdmin;
    } else {
      caller.roles = kAgency;
    }
  } else if (caller.organization_id.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "no identity: name the calling organisation in metadata ",
        kOrganizationMetadataKey, " (caseline --org)"));
  } else {
    auto it = options_.access->roles.find(caller.organization_id);
    if (it == options_.access->roles.end() || it->second == 0) {
      return absl::PermissionDeniedError(absl::StrCat(
          "organisation ", caller.organization_id,
          " is not allowed on this server: add it with its roles to the "
          "--access_config file"));
    }
    caller.roles = it->second;
  }

  caller.user_id = header(kUserMetadataKey);
  if (caller.user_id.size() > kMaxMetadataValue) {
    return absl::InvalidArgumentError(absl::StrCat(
        kUserMetadataKey, ": longer than ", kMaxMetadataValue, " bytes"));
  }
  if (std::string d = header(kDisciplineMetadataKey); !d.empty()) {
    std::optional<v1::Discipline> discipline =
        EnumNamed<v1::Discipline>(d, "DISCIPLINE_", v1::Discipline_Parse);
    if (!discipline.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          kDisciplineMetadataKey, ": \"", d,
          "\" is not a discipline; use e.g. SOCIAL_WORK, NURSING, "
          "PSYCHIATRY (caseline.v1.Discipline)"));
    }
    caller.discipline = *discipline;
  }
  if (std::string p = header(kPurposeMetadataKey); !p.empty()) {
    std::optional<v1::PurposeOfUse> purpose = EnumNamed<v1::PurposeOfUse>(
        p, "PURPOSE_OF_USE_", v1::PurposeOfUse_Parse);
    if (!purpose.has_value() || *purpose == v1::PURPOSE_OF_USE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          kPurposeMetadataKey, ": \"", p,
          "\" is not a purpose of use; use TREATMENT, CARE_COORDINATION, "
          "PAYMENT, OPERATIONS, EMERGENCY_TREATMENT, LEGAL or RESEARCH"));
    }
    caller.purpose = *purpose;
  }
  // Present means breaking the glass: an empty or blank reason is refused
  // rather than read as no override (the caller meant one).
  if (std::optional<std::string> glass = call.header(kBreakGlassMetadataKey);
      glass.has_value()) {
    caller.break_glass_reason =
        std::string(absl::StripAsciiWhitespace(*glass));
    if (caller.break_glass_reason.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kBreakGlassMetadataKey,
                       ": a reason is required (state the emergency)"));
    }
    if (caller.break_glass_reason.size() > kMaxBreakGlassReason) {
      return absl::InvalidArgumentError(
          absl::StrCat(kBreakGlassMetadataKey, ": longer than ",
                       kMaxBreakGlassReason, " bytes; state the emergency "
                       "briefly"));
    }
    if (caller.local_operator) {
      return absl::InvalidArgumentError(absl::StrCat(
          kBreakGlassMetadataKey, ": breaking the glass needs an identity; "
          "name your organisation (", kOrganizationMetadataKey, ")"));
    }
    RETURN_IF_ERROR(RequireRole(caller, kAgency, "break-the-glass"));
    caller.purpose = v1::PURPOSE_OF_USE_EMERGENCY_TREATMENT;
  }
  return caller;
}

// --- ClientRead ------------------------------------------------------------------

void ClientRead::Count(bool shown, care::DataClassMask classes, uint64_t position,
                       bool own, bool referral_loop) {
  if (shown) {
    shown_classes_ |= classes;
    if (!own) shown_others_ = true;
    if (!own && !referral_loop) {
      consent_classes_ |= classes;
      shown_by_consent_ = true;
    }
    if (position != 0) positions_shown_.push_back(position);
  } else {
    ++withheld_;
    withheld_classes_ |= classes;
  }
}

void ClientRead::ResetCounts() {
  shown_classes_ = withheld_classes_ = consent_classes_ = 0;
  shown_by_consent_ = false;
  withheld_ = 0;
  shown_others_ = false;
  positions_shown_.clear();
  subjects_shown_.clear();
}

bool ClientRead::MayShow(const eventstore::RecordedEvent& event) const {
  if (bypass_) return true;
  const std::string& author = event.actor.organization_id;
  if (care::ClientOfAccessStream(event.stream_id).has_value()) {
    // Who looked at a record is for auditors, and for the one who looked.
    return author == caller_->organization_id;
  }
  return decision_.Visible(fold_->ClassesAt(event.stream_version), author) ||
         SentReferralLoop(event.stream_version);
}

bool ClientRead::SentReferralLoop(uint64_t stream_version) const {
  const std::string* sender = fold_->ReferralSenderAt(stream_version);
  return sender != nullptr && !sender->empty() &&
         *sender == caller_->organization_id;
}

bool ClientRead::Show(const eventstore::RecordedEvent& event) {
  const bool access_event =
      care::ClientOfAccessStream(event.stream_id).has_value();
  const bool shown = MayShow(event);
  const bool own = event.actor.organization_id == caller_->organization_id;
  care::DataClassMask classes = 0;
  if (!access_event) classes = fold_->ClassesAt(event.stream_version);
  const bool referral_loop =
      shown && !bypass_ && !access_event && !own &&
      !decision_.Visible(classes, event.actor.organization_id);
  // Access records carry no care data: reading them is not recorded again,
  // which also keeps an auditor's subscription from feeding itself.
  Count(shown, classes, access_event ? 0 : event.global_position,
        own || access_event, referral_loop);
  return shown;
}

bool ClientRead::ShowSubject(absl::string_view subject_id) {
  care::DataClassMask classes = care::ClassBit(v1::DATA_CLASS_GENERAL);
  std::string author;
  if (!subject_id.empty()) {
    if (const auto* subject = fold_->FindSubject(subject_id)) {
      classes = subject->classes;
      author = subject->author;
    }
  }
  const bool shown = bypass_ || decision_.Visible(classes, author);
  Count(shown, classes, 0, !author.empty() && author == caller_->organization_id);
  if (shown && !subject_id.empty()) subjects_shown_.emplace_back(subject_id);
  if (shown && subject_id.empty()) shown_others_ = true;
  return shown;
}

v1::Withheld ClientRead::withheld() const {
  v1::Withheld w;
  if (withheld_ == 0) return w;
  w.set_count(withheld_);
  for (v1::DataClass c : care::DataClassesIn(withheld_classes_)) {
    w.add_data_classes(c);
  }
  if (!decision_.involved) {
    w.set_reason(absl::StrCat(
        "organisation ", caller_->organization_id,
        " is not involved in the care of client ", client_id_,
        " (registering organisation, care team, referral or active service), "
        "so it sees only what it recorded"));
  } else {
    w.set_reason(absl::StrCat(
        "no consent of client ", client_id_, " in force covers organisation ",
        caller_->organization_id, " for ",
        care::DataClassNames(withheld_classes_ & ~decision_.covered),
        " (purpose ",
        absl::StripPrefix(v1::PurposeOfUse_Name(caller_->purpose),
                          "PURPOSE_OF_USE_"),
        "); the client can give one (Consents.GiveConsent)"));
  }
  return w;
}

std::optional<v1::RecordAccessed> ClientRead::AccessRecord(
    absl::string_view operation) const {
  if (caller_->local_operator || !shown_others_) return std::nullopt;
  v1::RecordAccessed record;
  record.set_client_id(client_id_);
  record.set_operation(std::string(operation));
  record.set_purpose(caller_->purpose);
  record.set_discipline(caller_->discipline);
  if (!caller_->break_glass_reason.empty()) {
    record.set_basis(v1::ACCESS_BASIS_BREAK_GLASS);
    record.set_break_glass_reason(caller_->break_glass_reason);
  } else if (caller_->Has(kAuditor)) {
    record.set_basis(v1::ACCESS_BASIS_AUDITOR);
  } else if (caller_->Has(kAdmin)) {
    record.set_basis(v1::ACCESS_BASIS_ADMIN);
  } else if (!shown_by_consent_) {
    // Only lifecycle events of referrals the caller sent.
    record.set_basis(v1::ACCESS_BASIS_REFERRAL_SENDER);
  } else {
    record.set_basis(v1::ACCESS_BASIS_CONSENT);
    for (const std::string& id : decision_.ConsentsFor(consent_classes_)) {
      record.add_consent_ids(id);
    }
  }
  record.set_outcome(v1::ACCESS_OUTCOME_SUCCESS);
  for (v1::DataClass c : care::DataClassesIn(shown_classes_)) {
    record.add_data_classes_shown(c);
  }
  std::vector<uint64_t> positions = positions_shown_;
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()),
                  positions.end());
  for (uint64_t p : positions) record.add_positions_shown(p);
  for (const std::string& s : subjects_shown_) record.add_subject_ids_shown(s);
  record.set_events_withheld(withheld_);
  for (v1::DataClass c : care::DataClassesIn(withheld_classes_)) {
    record.add_data_classes_withheld(c);
  }
  return record;
}

// --- AccessControl ---------------------------------------------------------------

AccessControl::AccessControl(eventstore::EventLog* log,
                             projections::ClientRecordStore* records,
                             const Authenticator* authenticator,
                             absl::AnyInvocable<absl::Time() const> clock)
    : log_(log),
      records_(records),
      authenticator_(authenticator),
      clock_(std::move(clock)) {}

absl::StatusOr<ClientRead> AccessControl::OpenClient(
    const Caller& caller, absl::string_view client_id,
    absl::string_view operation) {
  if (client_id.empty()) {
    return absl::InvalidArgumentError(
        "client_id is required: name the client whose record to read");
  }
  ClientRead read;
  read.client_id_ = std::string(client_id);
  read.caller_ = &caller;
  if (caller.local_operator) {
    // Development mode's operator sees everything and is not recorded:
    // nothing to decide.
    read.bypass_ = true;
    read.decided_at_ = Now();
    read.fold_ = std::make_shared<const care::ClientAccessFold>(
        std::string(client_id));
    return read;
  }
  // The client's stream is read at most once here, and not at all when the
  // store's snapshot is current; a view then shows from the same snapshot.
  ASSIGN_OR_RETURN(read.opened_, records_->Open(client_id));
  const care::ClientAccessFold& fold = read.opened_.client->access();
  read.bypass_ = caller.ReadsEverything() || !caller.break_glass_reason.empty();
  read.decided_at_ = Now();
  read.decision_ = care::Decide(
      fold, {caller.organization_id, caller.purpose, read.decided_at_},
      *read.opened_.directory);
  if (!read.bypass_ && !read.decision_.involved) {
    bool recorded_some = false;
    for (uint64_t v = 0; fold.version().has_value() && v <= *fold.version();
         ++v) {
      if (fold.AuthorAt(v) == caller.organization_id) {
        recorded_some = true;
        break;
      }
    }
    if (!recorded_some) {
      if (!operation.empty() && fold.record().registered) {
        RecordDenied(caller, client_id, operation);
      }
      return absl::PermissionDeniedError(absl::StrCat(
          "client ", client_id, " is not known to organisation ",
          caller.organization_id, ", or ", caller.organization_id,
          " is not involved in its care (the registering organisation, a "
          "care team member's, a referral's sender or receiver, an active "
          "service's provider or a transition's receiver); ask the client's "
          "lead case manager to involve you, or in an emergency break the "
          "glass (x-caseline-break-glass)"));
    }
  }
  if (read.bypass_ && !fold.record().registered && !fold.version().has_value() &&
      caller.ReadsEverything()) {
    return absl::NotFoundError(absl::StrCat(
        "client ", client_id, " is not registered (its stream ",
        care::ClientStreamId(client_id), " has no events)"));
  }
  // Shares the snapshot: no copy of the fold.
  read.fold_ = std::shared_ptr<const care::ClientAccessFold>(
      read.opened_.client, &fold);
  return read;
}

namespace {

// The append of one access record to its client's access stream, by the
// caller (the envelope's actor).
eventstore::AppendRequest AccessRecordAppend(const Caller& caller,
                                             v1::RecordAccessed record) {
  eventstore::AppendRequest append;
  append.stream_id = care::AccessStreamId(record.client_id());
  v1::CareEvent event;
  *event.mutable_record_accessed() = std::move(record);
  eventstore::ProposedEvent& e = append.events.emplace_back();
  e.event_type = care::CareEventName(event);
  e.actor = {caller.organization_id, caller.user_id, caller.role()};
  e.schema_version = care::SchemaVersionOf(event.event_case());
  e.content_type = v1::kCareEventContentType;
  e.payload = event.SerializeAsString();
  return append;
}

}  // namespace

void AccessControl::RecordDenied(const Caller& caller,
                                 absl::string_view client_id,
                                 absl::string_view operation) {
  const absl::Time now = Now();
  const int64_t minute = absl::ToUnixSeconds(now) / 60;
  const std::string key = absl::StrCat(caller.organization_id, "\n",
                                       caller.user_id, "\n", client_id);
  {
    MutexLock lock(&mu_);
    auto [it, inserted] = denials_recorded_.try_emplace(key, minute);
    if (!inserted) {
      if (it->second == minute) return;
      it->second = minute;
    }
    if (denials_recorded_.size() > kMaxDenialKeys) {
      denials_recorded_.clear();
      denials_recorded_.emplace(key, minute);
    }
  }
  v1::RecordAccessed record;
  record.set_client_id(std::string(client_id));
  record.set_operation(std::string(operation));
  record.set_purpose(caller.purpose);
  record.set_discipline(caller.discipline);
  record.set_outcome(v1::ACCESS_OUTCOME_DENIED);
  // The answer is PERMISSION_DENIED whether or not the record is written:
  // nothing is shown, so nothing waits on it.
  absl::StatusOr<eventstore::AppendResult> appended =
      log_->Append(AccessRecordAppend(caller, std::move(record)));
  if (appended.ok()) {
    records_denied_.fetch_add(1, std::memory_order_relaxed);
  } else {
    spdlog::warn("the record of a refused read of client {} by {} could not "
                 "be written: {}",
                 std::string(client_id), caller.organization_id,
                 appended.status().ToString());
  }
}

void AccessControl::RecordAsync(const Caller& caller,
                                absl::string_view operation,
                                const std::vector<const ClientRead*>& reads,
                                absl::AnyInvocable<void(absl::Status) &&> done) {
  std::vector<eventstore::AppendRequest> appends;
  for (const ClientRead* read : reads) {
    std::optional<v1::RecordAccessed> record = read->AccessRecord(operation);
    if (!record.has_value()) continue;
    appends.push_back(AccessRecordAppend(caller, *std::move(record)));
  }
  if (appends.empty()) return std::move(done)(absl::OkStatus());
  struct Pending {
    Mutex mu;
    size_t outstanding ABSL_GUARDED_BY(mu) = 0;
    absl::Status status ABSL_GUARDED_BY(mu);
    absl::AnyInvocable<void(absl::Status) &&> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  {
    MutexLock lock(&pending->mu);
    pending->outstanding = appends.size();
  }
  std::vector<eventstore::EventLog::AppendCallback> appended;
  appended.reserve(appends.size());
  for (size_t i = 0; i < appends.size(); ++i) {
    appended.push_back([this, pending](
                           const absl::StatusOr<eventstore::AppendResult>& r) {
      if (r.ok()) records_success_.fetch_add(1, std::memory_order_relaxed);
      absl::Status status;
      {
        MutexLock lock(&pending->mu);
        if (!r.ok() && pending->status.ok()) pending->status = r.status();
        if (--pending->outstanding > 0) return;
        status = pending->status;
      }
      if (!status.ok()) {
        status = absl::UnavailableError(absl::StrCat(
            "the access record of this read could not be written, so nothing "
            "is shown: ",
            status.message(), "; retry later"));
      }
      std::move(pending->done)(std::move(status));
    });
  }
  // Queued together, so the records of one read share one sync.
  log_->AppendEachAsync(std::move(appends), std::move(appended));
}

absl::Status AccessControl::Record(const Caller& caller,
                                   absl::string_view operation,
                                   const std::vector<const ClientRead*>& reads) {
  std::promise<absl::Status> recorded;
  RecordAsync(caller, operation, reads,
              [&recorded](absl::Status s) { recorded.set_value(std::move(s)); });
  return recorded.get_future().get();
}

// --- StreamFilter -----------------------------------------------------------------

absl::StatusOr<ClientRead*> StreamFilter::ReadOf(
    const eventstore::RecordedEvent& event, absl::string_view client_id) {
  auto it = reads_.find(client_id);
  const bool access_event =
      care::ClientOfAccessStream(event.stream_id).has_value();
  const absl::Time now = access_->Now();
  const bool stale =
      it == reads_.end() ||
      (!access_event &&
       (!it->second.fold_->version().has_value() ||
        event.stream_version > *it->second.fold_->version())) ||
      now - it->second.decided_at_ > absl::Seconds(1);
  if (!stale) return &it->second;
  if (auto d = denied_.find(client_id);
      d != denied_.end() && event.stream_version <= d->second) {
    return nullptr;
  }
  if (reads_.size() > 100000) reads_.clear();
  if (denied_.size() > 100000) denied_.clear();
  absl::StatusOr<ClientRead> read = access_->OpenClient(*caller_, client_id);
  if (absl::IsPermissionDenied(read.status())) {
    // Remember up to the stream's current last version, so a catch-up
    // through this client's events decides once, not once per event. For
    // the client's stream that is the version the refusal was decided on
    // (the store's snapshot OpenClient read: no second read of the stream).
    std::optional<uint64_t> last;
    if (access_event) {
      eventstore::ReadStreamOptions read_last;
      read_last.max_count = 1;
      absl::StatusOr<eventstore::StreamPage> page =
          access_->log()->ReadStream(event.stream_id, read_last);
      if (page.ok()) last = page->last_stream_version;
    } else if (std::shared_ptr<const projections::ClientSnapshot> decided =
                   access_->records()->Cached(client_id);
               decided != nullptr) {
      last = decided->version();
    }
    denied_[std::string(client_id)] =
        last.has_value() ? std::max(*last, event.stream_version)
                         : event.stream_version;
    return nullptr;
  }
  if (!read.ok()) return read.status();
  if (it != reads_.end()) {
    // Keep what this read has shown and withheld so far.
    read->shown_classes_ = it->second.shown_classes_;
    read->withheld_classes_ = it->second.withheld_classes_;
    read->withheld_ = it->second.withheld_;
    read->shown_others_ = it->second.shown_others_;
    read->positions_shown_ = std::move(it->second.positions_shown_);
    it->second = *std::move(read);
    return &it->second;
  }
  return &reads_.emplace(std::string(client_id), *std::move(read))
              .first->second;
}

absl::Status StreamFilter::Filter(
    const std::vector<eventstore::RecordedEvent>& events,
    std::vector<bool>* visible) {
  visible->assign(events.size(), false);
  for (size_t i = 0; i < events.size(); ++i) {
    const eventstore::RecordedEvent& event = events[i];
    std::optional<absl::string_view> client;
    if (absl::string_view s = event.stream_id;
        absl::ConsumePrefix(&s, "client-") && !s.empty()) {
      client = s;
    } else {
      client = care::ClientOfAccessStream(event.stream_id);
    }
    bool shown;
    care::DataClassMask classes = 0;
    if (client.has_value()) {
      ASSIGN_OR_RETURN(ClientRead * read, ReadOf(event, *client));
      if (read == nullptr) {
        shown = event.actor.organization_id == caller_->organization_id;
        classes = care::kUnclassified;
      } else {
        shown = read->Show(event);
        if (shown && read->shown_others_) {
          if (std::find(shown_clients_.begin(), shown_clients_.end(),
                        read->client_id()) == shown_clients_.end()) {
            shown_clients_.push_back(read->client_id());
          }
        }
        if (!shown) {
          classes = care::ClientOfAccessStream(event.stream_id)
                        ? care::kUnclassified
                        : read->fold_->ClassesAt(event.stream_version);
        }
      }
    } else {
      // The organisations directory is for everyone; any other stream's
      // events for their author, auditors and admins.
      shown = caller_->ReadsEverything() ||
              event.stream_id == care::kOrganizationsStream ||
              event.actor.organization_id == caller_->organization_id;
      if (!shown) classes = care::kUnclassified;
    }
    if (!shown) {
      ++withheld_;
      withheld_classes_ |= classes;
    }
    (*visible)[i] = shown;
  }
  return absl::OkStatus();
}

void StreamFilter::RecordShownAsync(
    absl::string_view operation,
    absl::AnyInvocable<void(absl::Status) &&> done) {
  std::vector<const ClientRead*> reads;
  for (const std::string& client : shown_clients_) {
    auto it = reads_.find(client);
    if (it != reads_.end()) reads.push_back(&it->second);
  }
  access_->RecordAsync(*caller_, operation, reads, std::move(done));
  for (const std::string& client : shown_clients_) {
    auto it = reads_.find(client);
    if (it != reads_.end()) it->second.ResetCounts();
  }
  shown_clients_.clear();
}

absl::Status StreamFilter::RecordShown(absl::string_view operation) {
  std::promise<absl::Status> recorded;
  RecordShownAsync(operation, [&recorded](absl::Status s) {
    recorded.set_value(std::move(s));
  });
  return recorded.get_future().get();
}

v1::Withheld StreamFilter::TakeWithheld() {
  v1::Withheld w;
  if (withheld_ > 0) {
    w.set_count(withheld_);
    for (v1::DataClass c : care::DataClassesIn(withheld_classes_)) {
      w.add_data_classes(c);
    }
    w.set_reason(
        "events this organisation may not see: no involvement, or no consent "
        "in force covering them (docs/access.md)");
  }
  withheld_ = 0;
  withheld_classes_ = 0;
  return w;
}

}  // namespace caseline::services
