// FhirEndpoint: Caseline's care record as a FHIR R4 server (docs/fhir.md),
// under /fhir/r4 on the console's listener (--http_listen).
//
// It holds no care data of its own: every read, search and write is a gRPC
// call on the server's in-process channel made as the caller (fhir_common.h
// Identify), so the services apply the same identity, access rules, consent
// gating, command rules and access records as for any gRPC caller. Writes
// map onto the existing commands; refusals are OperationOutcomes with the
// gRPC message unchanged.
//
// Thread-safe.
#ifndef CASELINE_SERVER_FHIR_FHIR_ENDPOINT_H_
#define CASELINE_SERVER_FHIR_FHIR_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "server/fhir/fhir_common.h"
#include "server/fhir/fhir_options.h"

namespace caseline::server::fhir {


class FhirEndpoint {
 public:
  // INVALID_ARGUMENT / INTERNAL when the state directory cannot be used.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<FhirEndpoint>> Create(
      FhirServices services, FhirOptions options);
  ~FhirEndpoint();

  // Adds the endpoint's routes to `http` (before the console's catch-alls).
  void Register(httplib::Server& http);

  // Stops background work (exports, subscription deliveries) and waits for
  // it. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit FhirEndpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_FHIR_ENDPOINT_H_
