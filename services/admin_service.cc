#include "services/admin_service.h"

#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

#include "base/status_macros.h"
#include "care/client_record.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/wire_constants.h"
#include "services/event_conversion.h"
#include "services/grpc_status.h"
#include "spdlog/spdlog.h"

namespace caseline::services {

grpc::Status AdminService::Backup(grpc::ServerContext* context,
                                  const v1::BackupRequest* request,
                                  v1::BackupResponse* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status allowed = RequireRole(*caller, kAdmin, "Admin.Backup");
      !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  if (request->directory().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "directory is empty: name a new directory on the server's machine "
        "to write the backup into"));
  }
  absl::StatusOr<eventstore::BackupInfo> backup =
      log_->Backup(request->directory());
  if (!backup.ok()) return ToGrpcStatus(backup.status());
  const std::string head_hash = eventstore::HashToHex(backup->head_hash);
  spdlog::info(
      "backup written to {} for {}: head position {}, head hash {}, {} "
      "events verified, {} bytes{}",
      backup->dir,
      caller->local_operator ? std::string("the local operator")
                             : "organisation " + caller->organization_id,
      backup->head_position, head_hash, backup->events_verified,
      backup->bytes,
      backup->same_filesystem
          ? " (on the data directory's filesystem: table files are hard "
            "links)"
          : "");
  response->set_directory(backup->dir);
  response->set_head_position(backup->head_position);
  response->set_head_hash(head_hash);
  response->set_events_verified(backup->events_verified);
  response->set_bytes(backup->bytes);
  ToProto(backup->created_at, response->mutable_created_at());
  response->set_same_filesystem(backup->same_filesystem);
  return grpc::Status::OK;
}

namespace {

constexpr char kNoSigningKey[] =
    "caselined was started without --signing_key, so it signs no heads; "
    "restart it with --signing_key FILE (an Ed25519 private key in PEM, "
    "from `openssl genpkey -algorithm ed25519 -out FILE`)";

}  // namespace

void SignedHeadToProto(const eventstore::SignedHead& head,
                       v1::SignedHead* out) {
  out->set_position(head.position);
  out->set_head_hash(eventstore::HashToHex(head.head_hash));
  ToProto(head.signed_at, out->mutable_signed_at());
  out->set_key_id(eventstore::KeyIdToHex(head.key_id));
  out->set_signature(head.signature);
}

grpc::Status AdminService::SignHead(grpc::ServerContext* context,
                                    const v1::SignHeadRequest* /*request*/,
                                    v1::SignedHead* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status allowed = RequireRole(*caller, kAdmin, "Admin.SignHead");
      !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  if (signer_ == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError(kNoSigningKey));
  }
  absl::StatusOr<eventstore::SignedHead> head = log_->SignHead(*signer_);
  if (!head.ok()) return ToGrpcStatus(head.status());
  spdlog::info("signed head at position {} (hash {}) with key {} for {}",
               head->position, eventstore::HashToHex(head->head_hash),
               eventstore::KeyIdToHex(head->key_id),
               caller->local_operator
                   ? std::string("the local operator")
                   : "organisation " + caller->organization_id);
  SignedHeadToProto(*head, response);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetSignedHead(
    grpc::ServerContext* context, const v1::GetSignedHeadRequest* request,
    v1::SignedHead* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<std::optional<eventstore::SignedHead>> head =
      log_->GetSignedHead(request->position());
  if (!head.ok()) return ToGrpcStatus(head.status());
  if (!head->has_value()) {
    return ToGrpcStatus(absl::NotFoundError(
        request->position() == 0
            ? std::string("no signed head is kept yet; an admin signs one "
                          "with Admin.SignHead (`caseline signed-head "
                          "--sign`), or caselined signs by itself with "
                          "--signing_key")
            : absl::StrCat("no signed head is kept at position ",
                           request->position(),
                           "; use position 0 for the newest")));
  }
  SignedHeadToProto(**head, response);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetSigningKey(
    grpc::ServerContext* context, const v1::GetSigningKeyRequest* /*request*/,
    v1::SigningKey* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (signer_ == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError(kNoSigningKey));
  }
  response->set_public_key_pem(signer_->public_key_pem());
  response->set_key_id(eventstore::KeyIdToHex(signer_->key_id()));
  return grpc::Status::OK;
}

namespace {

constexpr size_t kMaxErasureTextBytes = 1000;
constexpr char kNoEncryption[] =
    "caselined runs without payload encryption (--encrypt_payloads=false "
    "and no KEK), so it holds no data keys to erase or rotate; start it "
    "with --kek_file and --encrypt_payloads";
// How long EraseClient waits for this node to hold every acknowledged write
// (a cluster follower) before it reads the client's disclosures.
constexpr absl::Duration kAwaitAcknowledged = absl::Seconds(10);

absl::Status CheckErasureText(const std::string& value, const char* field,
                              bool required) {
  if (required && value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is empty: an erasure must record its legal ground, e.g. "
               "\"GDPR Art. 17(1)(a)\""));
  }
  if (value.size() > kMaxErasureTextBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", value.size(), " bytes; the limit is ",
                     kMaxErasureTextBytes));
  }
  return absl::OkStatus();
}

// A client id as the care-record commands accept it: 1..64 of
// A-Z a-z 0-9 . _ - :, starting with a letter or digit.
absl::Status CheckClientId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 64 && absl::ascii_isalnum(id[0]);
  for (char c : id) {
    ok = ok && (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-' ||
                c == ':');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "client_id: not a client id; use 1 to 64 of A-Z a-z 0-9 . _ - :, "
      "starting with a letter or digit");
}

// Calls `fn` for each event of `stream`, in stream order, as read now.
// NOT_FOUND when the stream has no events.
absl::Status ForEachEvent(
    eventstore::EventLog& log, const std::string& stream,
    absl::FunctionRef<void(const eventstore::RecordedEvent&)> fn) {
  eventstore::ReadStreamOptions read;
  read.max_count = eventstore::kMaxReadCount;
  while (true) {
    absl::StatusOr<eventstore::StreamPage> page = log.ReadStream(stream, read);
    if (!page.ok()) return page.status();
    for (const eventstore::RecordedEvent& e : page->events) fn(e);
    if (page->end_of_stream) return absl::OkStatus();
    read.from_version = page->next_version;
  }
}

// Adds each disclosure of `stream` (an InformationDisclosed, or a
// ReferralSent that shared data classes; views.proto Disclosure) to
// `erased`, without its description: the accounting of disclosures outlives
// the erasure.
// NOT_FOUND when the stream has no events.
absl::Status KeepDisclosures(eventstore::EventLog& log,
                             const std::string& stream,
                             v1::ClientErased* erased) {
  return ForEachEvent(log, stream, [erased](const eventstore::RecordedEvent& e) {
      if (e.payload_erased || e.content_type != v1::kCareEventContentType) {
        return;
      }
      v1::CareEvent event;
      if (!event.ParseFromString(e.payload)) return;
      v1::ErasedDisclosure kept;
      if (event.has_information_disclosed()) {
        const v1::InformationDisclosed& d = event.information_disclosed();
        kept.set_disclosure_id(d.disclosure_id());
        kept.set_recipient_organization_id(d.recipient_organization_id());
        *kept.mutable_data_classes() = d.data_classes();
        kept.set_purpose(d.purpose());
        kept.set_consent_id(d.consent_id());
        kept.set_legal_basis(d.legal_basis());
        kept.set_source("information-disclosed");
        kept.set_disclosed_by_organization_id(e.actor.organization_id);
      } else if (event.has_referral_sent() &&
                 !event.referral_sent().shared_data_classes().empty()) {
        const v1::ReferralSent& r = event.referral_sent();
        kept.set_disclosure_id(r.referral_id());
        kept.set_recipient_organization_id(r.to_organization_id());
        *kept.mutable_data_classes() = r.shared_data_classes();
        kept.set_purpose(r.purpose() == v1::PURPOSE_OF_USE_UNSPECIFIED
                             ? v1::PURPOSE_OF_USE_CARE_COORDINATION
                             : r.purpose());
        kept.set_source("referral");
        kept.set_disclosed_by_organization_id(
            r.from_organization_id().empty() ? e.actor.organization_id
                                             : r.from_organization_id());
      } else {
        return;
      }
      ToProto(e.occurred_at, kept.mutable_occurred_at());
      kept.set_global_position(e.global_position);
      *erased->add_disclosures() = std::move(kept);
  });
}

// After the erasure of `stream`: its events that still read in full, i.e.
// were written in plaintext (before payload encryption was on for the
// stream), leaving out the ClientErased records themselves.
absl::StatusOr<uint64_t> PlaintextEventsKept(eventstore::EventLog& log,
                                             const std::string& stream) {
  uint64_t kept = 0;
  RETURN_IF_ERROR(
      ForEachEvent(log, stream, [&kept](const eventstore::RecordedEvent& e) {
        if (!e.payload_erased && e.event_type != "ClientErased") ++kept;
      }));
  return kept;
}

std::string CallerName(const Caller& caller) {
  return caller.local_operator ? std::string("the local operator")
                               : "organisation " + caller.organization_id;
}

}  // namespace

grpc::Status AdminService::EraseClient(grpc::ServerContext* context,
                                       const v1::EraseClientRequest* request,
                                       v1::EraseClientResponse* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status allowed = RequireRole(*caller, kAdmin, "Admin.EraseClient");
      !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  for (absl::Status s :
       {CheckClientId(request->client_id()),
        CheckErasureText(request->legal_basis(), "legal_basis", true),
        CheckErasureText(request->reason(), "reason", false)}) {
    if (!s.ok()) return ToGrpcStatus(s);
  }
  if (kek_ == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError(kNoEncryption));
  }
  v1::CareEvent care;
  v1::ClientErased* erased = care.mutable_client_erased();
  erased->set_client_id(request->client_id());
  erased->set_legal_basis(request->legal_basis());
  erased->set_reason(request->reason());
  const std::string stream = care::ClientStreamId(request->client_id());
  // A cluster follower first catches up, so that no disclosure is missed.
  if (absl::Status caught_up = log_->AwaitAcknowledged(kAwaitAcknowledged);
      !caught_up.ok()) {
    return ToGrpcStatus(caught_up);
  }
  if (absl::Status kept = KeepDisclosures(*log_, stream, erased);
      !kept.ok() && !absl::IsNotFound(kept)) {
    return ToGrpcStatus(kept);
  }
  eventstore::ProposedEvent record;
  record.event_id = eventstore::EventId::FromName(
      absl::StrCat("client-erasure\n", request->client_id()));
  record.event_type = "ClientErased";
  record.actor = {caller->organization_id, caller->user_id, caller->role()};
  record.schema_version = 1;
  record.content_type = v1::kCareEventContentType;
  record.payload = care.SerializeAsString();
  absl::StatusOr<eventstore::ErasureResult> result =
      log_->EraseStream(stream, std::move(record));
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kNotFound) {
      return ToGrpcStatus(absl::NotFoundError(absl::StrCat(
          "client ", request->client_id(),
          " has no record (no events in ", stream, "); check the id")));
    }
    return ToGrpcStatus(result.status());
  }
  // Read from this node's log, which holds the erasure once EraseStream
  // answered (also in a cluster).
  absl::StatusOr<uint64_t> plaintext = PlaintextEventsKept(*log_, stream);
  if (!plaintext.ok()) {
    return ToGrpcStatus(absl::Status(
        plaintext.status().code(),
        absl::StrCat("client ", request->client_id(), " is erased (position ",
                     result->position,
                     "), but reading its stream back to count what stays "
                     "readable failed: ",
                     plaintext.status().message(),
                     "; erase again to have it counted")));
  }
  if (result->already_erased) {
    spdlog::info("erase-client {} for {}: already erased at position {}",
                 request->client_id(), CallerName(*caller), result->position);
  } else {
    spdlog::info(
        "erased client {} for {} (legal basis: {}): data key {} destroyed, "
        "erasure recorded at position {}",
        request->client_id(), CallerName(*caller), request->legal_basis(),
        result->key_id, result->position);
  }
  if (*plaintext > 0) {
    spdlog::warn(
        "erase-client {}: {} of its events were written in plaintext (before "
        "payload encryption was on for it) and stay readable: destroying a "
        "data key cannot erase them (docs/log_format.md \"Erasure\")",
        request->client_id(), *plaintext);
  }
  response->set_position(result->position);
  response->set_already_erased(result->already_erased);
  response->set_data_key_id(result->key_id);
  response->set_plaintext_events_kept(*plaintext);
  return grpc::Status::OK;
}

grpc::Status AdminService::RotateKeys(grpc::ServerContext* context,
                                      const v1::RotateKeysRequest* /*request*/,
                                      v1::RotateKeysResponse* response) {
  absl::StatusOr<Caller> caller = access_->Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status allowed = RequireRole(*caller, kAdmin, "Admin.RotateKeys");
      !allowed.ok()) {
    return ToGrpcStatus(allowed);
  }
  if (kek_ == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError(kNoEncryption));
  }
  if (!rotation_refused_.empty()) {
    return ToGrpcStatus(absl::FailedPreconditionError(rotation_refused_));
  }
  absl::StatusOr<std::string> added = kek_->Rotate();
  if (!added.ok()) return ToGrpcStatus(added.status());
  absl::StatusOr<eventstore::RewrapResult> rewrapped = log_->RewrapDataKeys();
  if (!rewrapped.ok()) return ToGrpcStatus(rewrapped.status());
  spdlog::info(
      "rotated the key-encryption key for {}: version {} is current; {} data "
      "keys rewrapped, {} already under it",
      CallerName(*caller), rewrapped->kek_id, rewrapped->rewrapped,
      rewrapped->unchanged);
  response->set_kek_id(rewrapped->kek_id);
  for (const std::string& id : kek_->version_ids()) {
    response->add_kek_versions(id);
  }
  response->set_rewrapped(rewrapped->rewrapped);
  response->set_unchanged(rewrapped->unchanged);
  return grpc::Status::OK;
}

}  // namespace caseline::services
