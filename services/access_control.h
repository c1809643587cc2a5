// Who is calling and what they may see (docs/access.md).
//
// Authenticator: the calling organisation, from the verified client
// certificate (mutual TLS: SAN URI "caseline:org:<id>") or, in insecure
// loopback mode only, from the metadata x-caseline-org; its roles from the
// access config; the acting person, discipline, purpose of use and any
// break-the-glass reason from metadata, vouched for by that organisation.
//
// AccessControl: per read, which events and view entries the caller may see
// (care/access_policy.h), and the access records (RecordAccessed)
// that must be durable before the response leaves: every read of a client's
// data by an organisation other than its author. The records of concurrent
// reads share the log's group commit, so they cost a read one shared sync.
//
// Thread-safe.
#ifndef CASELINE_SERVICES_ACCESS_CONTROL_H_
#define CASELINE_SERVICES_ACCESS_CONTROL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "caseline/v1/access.pb.h"
#include "caseline/v1/care_events.pb.h"
#include "eventstore/event_log.h"
#include "base/mutex.h"
#include "grpcpp/grpcpp.h"
#include "care/access_policy.h"
#include "care/organization_directory.h"
#include "projections/client_record_store.h"

namespace caseline::services {

// Metadata keys (proto/caseline/v1/access.proto).
inline constexpr char kOrganizationMetadataKey[] = "x-caseline-org";
inline constexpr char kUserMetadataKey[] = "x-caseline-user";
inline constexpr char kDisciplineMetadataKey[] = "x-caseline-discipline";
inline constexpr char kPurposeMetadataKey[] = "x-caseline-purpose";
inline constexpr char kBreakGlassMetadataKey[] = "x-caseline-break-glass";
// Set only by caselined's HTTP console (server/http_console.h) on the calls it
// makes on the server's in-process channel for a caller it authenticated: the
// per-process secret (Authenticator::console_secret()). With it, the
// organisation in x-caseline-org is taken as proven, as a certificate's is.
inline constexpr char kConsoleMetadataKey[] = "x-caseline-console";
// With kConsoleMetadataKey: "1" when the console's own caller is on a
// loopback address (development mode's local operator needs one).
inline constexpr char kConsoleLoopbackMetadataKey[] =
    "x-caseline-console-loopback";
// The SAN URI prefix naming the organisation in a client certificate.
inline constexpr char kOrganizationUriPrefix[] = "caseline:org:";

enum Role : uint8_t {
  kAgency = 1,   // writes care events; reads what consent allows
  kAuditor = 2,  // reads every client; every read recorded
  kAdmin = 4,    // global reads, raw appends, projection rebuilds
};
// "agency" -> kAgency, ...; nullopt for an unknown name.
std::optional<Role> RoleNamed(absl::string_view name);
std::string RoleNames(uint8_t roles);

// The organisations allowed to call, and their roles (--access_config).
struct AccessConfig {
  absl::flat_hash_map<std::string, uint8_t> roles;
};

struct Caller {
  // Empty only for the local operator of development mode.
  std::string organization_id;
  std::string user_id;
  v1::Discipline discipline = v1::DISCIPLINE_UNSPECIFIED;
  v1::PurposeOfUse purpose = v1::PURPOSE_OF_USE_CARE_COORDINATION;
  std::string break_glass_reason;
  uint8_t roles = 0;
  // Development mode's anonymous local operator: reads everything, and has no
  // identity to record reads under.
  bool local_operator = false;

  bool Has(Role role) const { return (roles & role) != 0; }
  // The discipline as an actor role, e.g. "SOCIAL_WORK"; empty when unset.
  std::string role() const;
  // Auditors, admins and the local operator read every client.
  bool ReadsEverything() const {
    return local_operator || Has(kAuditor) || Has(kAdmin);
  }
};

struct AuthenticatorOptions {
  // PEM of the CA that issues organisation certificates; empty: no TLS, the
  // organisation comes from metadata (loopback only).
  std::string client_ca_pem;
  // Empty with no client CA: development mode (any organisation named in
  // metadata is an agency; a caller naming none is the local operator).
  std::optional<AccessConfig> access;
};

// Whether a gRPC peer string ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000",
// "unix:/path") is on this machine: 127.0.0.0/8, ::1 (also v4-mapped), or a
// Unix socket.
bool PeerIsLoopback(absl::string_view peer);

// What a transport knows of one call, for Authenticator::Authenticate: the
// same rules serve gRPC (from the ServerContext) and HTTP (from the request).
struct CallCredentials {
  // The client certificate and the chain it came with (PEM), when the
  // transport is TLS and the caller presented one.
  std::string certificate_pem;
  std::string chain_pem;
  // The peer, for messages, and whether it is on this machine.
  std::string peer;
  bool peer_is_loopback = false;
  // The call's header `key` (lower case; gRPC metadata, or the HTTP headers
  // the transport passes on), or nullopt when absent.
  absl::AnyInvocable<std::optional<std::string>(absl::string_view key) const>
      header;
};

class Authenticator {
 public:
  // INVALID_ARGUMENT when the CA PEM holds no certificate.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(
      AuthenticatorOptions options);
  ~Authenticator();

  // UNAUTHENTICATED: no certificate, one the client CA did not issue, or no
  // organisation URI in it (no x-caseline-org in insecure mode with an
  // access config). PERMISSION_DENIED: an organisation the access config
  // does not list. INVALID_ARGUMENT: malformed metadata, naming the key.
  // UNAUTHENTICATED also for an x-caseline-console value that is not this
  // process's console secret.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context) const;
  // The same rules, for any transport.
  absl::StatusOr<Caller> Authenticate(const CallCredentials& call) const;

  // Whether the caller's client certificate was issued by the client CA,
  // whatever organisation (if any) it names and whether the access config
  // lists it: for endpoints that need a trusted peer but no organisation
  // (the HTTP listener's GET /metrics). OK without TLS (nothing to check);
  // UNAUTHENTICATED for no certificate or one the client CA did not issue.
  absl::Status VerifyCertificate(const CallCredentials& call) const;

  bool tls() const { return verifier_ != nullptr; }
  bool development_mode() const {
    return verifier_ == nullptr && !options_.access.has_value();
  }
  // The organisations of the access config and their roles (empty in
  // development mode).
  const std::optional<AccessConfig>& access_config() const {
    return options_.access;
  }
  // Random, made at Create; the HTTP console puts it in kConsoleMetadataKey.
  const std::string& console_secret() const { return console_secret_; }

 private:
  class Verifier;
  Authenticator(AuthenticatorOptions options, std::unique_ptr<Verifier> v);
  absl::StatusOr<std::string> OrganizationFromCertificate(
      const CallCredentials& call) const;

  const AuthenticatorOptions options_;
  std::unique_ptr<Verifier> verifier_;
  std::string console_secret_;
};

// PERMISSION_DENIED unless the caller has one of `roles`; `what` names the
// operation.
absl::Status RequireRole(const Caller& caller, uint8_t roles,
                         absl::string_view what);

// What one request showed of one client, and what it withheld.
class ClientRead {
 public:
  // Whether `event` (of the client's stream, or of its access stream) may be
  // shown; counts it as shown or withheld. Call once per event shown.
  bool Show(const eventstore::RecordedEvent& event);
  // Whether `event` may be shown, without counting it (for events a view
  // folds but does not show as such: count them with Show when folded).
  bool MayShow(const eventstore::RecordedEvent& event) const;
  // Whether a view entry about `subject_id` (a referral, service, admission,
  // transition, goal or care team member id; or the client itself when
  // empty) may be shown; counts it.
  bool ShowSubject(absl::string_view subject_id);

  const std::string& client_id() const { return client_id_; }
  // The client as the decision read it (its events up to a log head, and the
  // directory), for a view to show without reading the stream again; nullptr
  // for the local operator, whose reads decide nothing.
  const projections::ClientAtHead* opened() const {
    return opened_.client != nullptr ? &opened_ : nullptr;
  }
  // Whether the decision knows the client's event at `stream_version` (one
  // appended after OpenClient is not known: open the read again).
  bool Knows(uint64_t stream_version) const {
    return bypass_ || (fold_->version().has_value() &&
                       stream_version <= *fold_->version());
  }
  bool bypass() const { return bypass_; }
  care::DataClassMask withheld_classes() const {
    return withheld_classes_;
  }
  // The Withheld message for the response (count 0: nothing withheld).
  v1::Withheld withheld() const;
  // The access record this read needs, or nullopt (nothing shown, or only
  // the caller's own records, or the local operator).
  std::optional<v1::RecordAccessed> AccessRecord(
      absl::string_view operation) const;

 private:
  friend class AccessControl;
  friend class StreamFilter;
  ClientRead() = default;
  void Count(bool shown, care::DataClassMask classes,
             uint64_t position, bool own, bool referral_loop = false);
  // Whether the event at `stream_version` is a lifecycle event of a referral
  // the caller sent (shown to it whatever the consents).
  bool SentReferralLoop(uint64_t stream_version) const;
  void ResetCounts();

  std::string client_id_;
  const Caller* caller_ = nullptr;
  bool bypass_ = false;  // auditor, admin, operator or break-the-glass
  projections::ClientAtHead opened_;
  // Into opened_.client (or an empty fold for the local operator).
  std::shared_ptr<const care::ClientAccessFold> fold_;
  care::ClientAccessDecision decision_;
  absl::Time decided_at_;
  care::DataClassMask shown_classes_ = 0;
  // Classes shown under consent (not as the caller's own, nor its
  // referrals' lifecycle).
  care::DataClassMask consent_classes_ = 0;
  bool shown_by_consent_ = false;
  care::DataClassMask withheld_classes_ = 0;
  uint32_t withheld_ = 0;
  bool shown_others_ = false;  // something not authored by the caller shown
  std::vector<uint64_t> positions_shown_;
  std::vector<std::string> subjects_shown_;
};

class AccessControl {
 public:
  // Not owned; must outlive this object. `records` reads `log`'s client and
  // organisations streams. `clock` defaults to absl::Now.
  AccessControl(eventstore::EventLog* log,
                projections::ClientRecordStore* records,
                const Authenticator* authenticator,
                absl::AnyInvocable<absl::Time() const> clock = nullptr);

  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context) const {
    return authenticator_->Authenticate(context);
  }
  absl::Time Now() const { return clock_ ? clock_() : absl::Now(); }

  // Opens a read of client `client_id`'s data. PERMISSION_DENIED for an
  // agency that is not involved in the client's care and recorded nothing
  // in it (the same for an unknown client, so ids cannot be probed), unless
  // it breaks the glass.
  //
  // `operation` (the RPC) names a direct read of this client: when it is
  // refused and the client is registered, the refusal is recorded
  // (RecordAccessed, outcome DENIED; at most one per caller, person, client
  // and minute). Empty for reads that only filter (subscriptions, lists).
  // Auditors and admins get NOT_FOUND for a client that is not registered.
  absl::StatusOr<ClientRead> OpenClient(const Caller& caller,
                                        absl::string_view client_id,
                                        absl::string_view operation = {});

  // Appends the access records of `reads` (one per client that needs one)
  // and returns once they are durable. UNAVAILABLE when they cannot be
  // written: the read must then fail, showing nothing.
  absl::Status Record(const Caller& caller, absl::string_view operation,
                      const std::vector<const ClientRead*>& reads);
  // Record without waiting: `done` gets what Record would return, once the
  // records are durable (possibly before returning; EventLog::AppendAsync's
  // threading contract). `reads` are read before returning.
  void RecordAsync(const Caller& caller, absl::string_view operation,
                   const std::vector<const ClientRead*>& reads,
                   absl::AnyInvocable<void(absl::Status) &&> done);

  // The organisation directory as of now (a shared snapshot).
  absl::StatusOr<std::shared_ptr<const care::OrganizationDirectory>>
  Directory() {
    return records_->Directory();
  }

  eventstore::EventLog* log() const { return log_; }
  projections::ClientRecordStore* records() const { return records_; }

  // Access records durably written since this object was made, by outcome
  // (RecordAccessed.outcome): reads that showed something, and refused
  // reads. Cheap; for metrics.
  struct RecordsWritten {
    uint64_t success = 0;
    uint64_t denied = 0;
  };
  RecordsWritten records_written() const {
    return {records_success_.load(std::memory_order_relaxed),
            records_denied_.load(std::memory_order_relaxed)};
  }

 private:
  eventstore::EventLog* const log_;
  projections::ClientRecordStore* const records_;
  const Authenticator* const authenticator_;
  const absl::AnyInvocable<absl::Time() const> clock_;

  // Appends the record of a refused read, unless one for the same caller,
  // person and client was written this minute.
  void RecordDenied(const Caller& caller, absl::string_view client_id,
                    absl::string_view operation);

  std::atomic<uint64_t> records_success_{0};
  std::atomic<uint64_t> records_denied_{0};

  Mutex mu_;
  // Refusals recorded: organisation, person and client -> the minute.
  absl::flat_hash_map<std::string, int64_t> denials_recorded_
      ABSL_GUARDED_BY(mu_);
};

// Filters a subscription or a page of log events for one caller: which events
// it may see, and the access records to write before delivering them.
// Not thread-safe: one per subscription.
class StreamFilter {
 public:
  StreamFilter(AccessControl* access, const Caller* caller)
      : access_(access), caller_(caller) {}

  // Decides for each event of `events` (in log order) whether the caller may
  // see it; fills `visible` (same size) and counts withheld ones.
  absl::Status Filter(const std::vector<eventstore::RecordedEvent>& events,
                      std::vector<bool>* visible);
  // Writes the access records for what the last Filter() showed; returns
  // once durable.
  absl::Status RecordShown(absl::string_view operation);
  // RecordShown without waiting: `done` gets its status once the records are
  // durable (AccessControl::RecordAsync's contract).
  void RecordShownAsync(absl::string_view operation,
                        absl::AnyInvocable<void(absl::Status) &&> done);
  // What was withheld since the last call, and resets the count.
  v1::Withheld TakeWithheld();

 private:
  absl::StatusOr<ClientRead*> ReadOf(const eventstore::RecordedEvent& event,
                                     absl::string_view client_id);

  AccessControl* const access_;
  const Caller* const caller_;
  // Per client: the read, refreshed when the client's stream moves on.
  absl::flat_hash_map<std::string, ClientRead> reads_;
  // Clients the caller may not see at all, with the stream's last version
  // when that was decided: only a newer event can change it.
  absl::flat_hash_map<std::string, uint64_t> denied_;
  std::vector<std::string> shown_clients_;  // since the last RecordShown
  uint32_t withheld_ = 0;
  care::DataClassMask withheld_classes_ = 0;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_ACCESS_CONTROL_H_
