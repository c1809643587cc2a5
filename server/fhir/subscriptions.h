// Subscriptions: FHIR R4 Subscriptions backport (rest-hook, id-only) for the
// Task and ServiceRequest topics (docs/fhir.md "Subscriptions").
//
// Thread-safe.
#ifndef CASELINE_SERVER_FHIR_SUBSCRIPTIONS_H_
#define CASELINE_SERVER_FHIR_SUBSCRIPTIONS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "httplib.h"
#include "server/fhir/fhir_common.h"
#include "server/fhir/fhir_endpoint.h"

namespace caseline::server::fhir {

class Subscriptions {
 public:
  // Loads the registered Subscriptions from options.state_dir and resumes
  // their delivery.
  static absl::StatusOr<std::unique_ptr<Subscriptions>> Create(
      FhirServices services, const FhirOptions& options);
  ~Subscriptions();
  // POST/GET [base]/Subscription, GET/PUT/DELETE [base]/Subscription/<id>,
  // GET [base]/Subscription/<id>/$status.
  void Register(httplib::Server& http);
  // Stops deliveries and waits for them. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit Subscriptions(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_SUBSCRIPTIONS_H_
