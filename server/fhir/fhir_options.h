// FhirOptions: how the FHIR R4 endpoint (fhir_endpoint.h, docs/fhir.md) is
// set up. Apart so that server/server.h can name it without the endpoint's
// HTTP headers.
#ifndef CASELINE_SERVER_FHIR_FHIR_OPTIONS_H_
#define CASELINE_SERVER_FHIR_FHIR_OPTIONS_H_

#include <string>

#include "absl/time/time.h"

namespace caseline::server::fhir {

struct FhirOptions {
  // Where the endpoint keeps its own files: Bulk Data export output
  // (<dir>/exports) and the registered Subscriptions (<dir>/subscriptions).
  // Created when missing. Default: <data_dir>/fhir.
  std::string state_dir;
  // Bulk export: finished exports are deleted this long after they complete.
  absl::Duration export_retention = absl::Hours(24);
  // Bulk export: most exports running at once per organisation (beyond it:
  // 429).
  int max_exports_per_organization = 2;
  // Subscriptions: most Subscriptions registered per organisation, whatever
  // their status (beyond it: 429).
  int max_subscriptions_per_organization = 50;
  // Subscriptions: the first retry waits this long, doubling up to
  // retry_max_delay, for as long as the endpoint refuses.
  absl::Duration retry_initial_delay = absl::Seconds(1);
  absl::Duration retry_max_delay = absl::Minutes(5);
  // Subscriptions: rest-hook endpoints must be http(s) URLs; plain http and
  // loopback endpoints are allowed only when set (development and tests).
  bool allow_insecure_hooks = false;
};

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_FHIR_OPTIONS_H_
