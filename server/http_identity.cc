#include "server/http_identity.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "openssl/bio.h"
#include "openssl/pem.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"

namespace caseline::server {
namespace {

std::string PemOf(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

}  // namespace

bool PeerIsLoopback(const httplib::Request& req) {
  return services::PeerIsLoopback(
      absl::StrContains(req.remote_addr, ':')
          ? absl::StrCat("ipv6:[", req.remote_addr, "]:0")
          : absl::StrCat("ipv4:", req.remote_addr, ":0"));
}

services::CallCredentials TransportOf(const httplib::Request& req) {
  services::CallCredentials call;
  call.peer = absl::StrCat(req.remote_addr, ":", req.remote_port);
  call.peer_is_loopback = PeerIsLoopback(req);
  if (req.ssl != nullptr) {
    SSL* ssl = const_cast<SSL*>(req.ssl);
    if (X509* leaf = SSL_get1_peer_certificate(ssl); leaf != nullptr) {
      call.certificate_pem = PemOf(leaf);
      X509_free(leaf);
    }
    if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
        chain != nullptr) {
      for (int i = 0; i < sk_X509_num(chain); ++i) {
        call.chain_pem += PemOf(sk_X509_value(chain, i));
      }
    }
  }
  return call;
}

services::CallCredentials HeaderCall(const httplib::Request& req,
                                     bool person_only) {
  services::CallCredentials call = TransportOf(req);
  call.header = [&req, person_only](
                    absl::string_view key) -> std::optional<std::string> {
    for (const char* allowed :
         {services::kOrganizationMetadataKey, services::kUserMetadataKey,
          services::kDisciplineMetadataKey, services::kPurposeMetadataKey,
          services::kBreakGlassMetadataKey}) {
      if (person_only && allowed == services::kOrganizationMetadataKey) {
        continue;
      }
      if (key == allowed && req.has_header(allowed)) {
        return req.get_header_value(allowed);
      }
    }
    return std::nullopt;
  };
  return call;
}

void AttachCaller(const services::Authenticator& authenticator,
                  const services::Caller& caller, bool peer_is_loopback,
                  grpc::ClientContext& context) {
  context.AddMetadata(services::kConsoleMetadataKey,
                      authenticator.console_secret());
  context.AddMetadata(services::kConsoleLoopbackMetadataKey,
                      peer_is_loopback ? "1" : "0");
  context.AddMetadata(services::kOrganizationMetadataKey,
                      caller.organization_id);
  if (!caller.user_id.empty()) {
    context.AddMetadata(services::kUserMetadataKey, caller.user_id);
  }
  if (caller.discipline != v1::DISCIPLINE_UNSPECIFIED) {
    context.AddMetadata(services::kDisciplineMetadataKey,
                        v1::Discipline_Name(caller.discipline));
  }
  context.AddMetadata(services::kPurposeMetadataKey,
                      v1::PurposeOfUse_Name(caller.purpose));
  if (!caller.break_glass_reason.empty()) {
    context.AddMetadata(services::kBreakGlassMetadataKey,
                        caller.break_glass_reason);
  }
}

int GatewayHttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}


absl::Status StatusOf(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace caseline::server
