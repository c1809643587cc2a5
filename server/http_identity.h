// What the HTTP transport knows of a caller, for services::Authenticator, and
// the metadata of the in-process gRPC call made on its behalf. Shared by the
// console (server/http_console.h) and the FHIR endpoint (server/fhir/): both
// identify callers by the Authenticator's one set of rules and make every
// call as a gRPC call on the server's in-process channel, so the services
// apply the same access rules, consent gating and access records as for any
// gRPC caller.
#ifndef CASELINE_SERVER_HTTP_IDENTITY_H_
#define CASELINE_SERVER_HTTP_IDENTITY_H_

#include "grpcpp/client_context.h"
#include "httplib.h"
#include "services/access_control.h"

namespace caseline::server {

// True when `req` comes from this machine.
bool PeerIsLoopback(const httplib::Request& req);

// The peer of `req`, and with TLS the client certificate and its chain.
// `header` is left unset: the caller decides which headers stand for the
// gRPC metadata.
services::CallCredentials TransportOf(const httplib::Request& req);

// TransportOf(req) with `header` answering from `req`'s HTTP headers of the
// same names as the gRPC metadata (services::k*MetadataKey, lower case; HTTP
// header names are case-insensitive). With `person_only` (TLS, where the
// certificate names the organisation) only the person, discipline, purpose
// and break-glass headers are passed on, never x-caseline-org.
// REQUIRES: `req` outlives the result.
services::CallCredentials HeaderCall(const httplib::Request& req,
                                     bool person_only);

// Fills `context` with the metadata of an in-process call made for `caller`
// (already authenticated) whose HTTP request came from a loopback peer or
// not: the console secret, and the caller's organisation, person,
// discipline, purpose and break-glass reason.
void AttachCaller(const services::Authenticator& authenticator,
                  const services::Caller& caller, bool peer_is_loopback,
                  grpc::ClientContext& context);

// The HTTP status for a gRPC code, as grpc-gateway maps it (which callers
// of gRPC-backed JSON APIs expect): 400 invalid, failed precondition and
// out of range; 401; 403; 404; 409 already exists and aborted; 429; 499
// cancelled; 501; 503; 504; 500 otherwise.
int GatewayHttpStatus(absl::StatusCode code);

// The absl::Status of a gRPC call's answer.
absl::Status StatusOf(const grpc::Status& status);

}  // namespace caseline::server

#endif  // CASELINE_SERVER_HTTP_IDENTITY_H_
