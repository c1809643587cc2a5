// BulkExport: FHIR Bulk Data export ($export, the async pattern) of what the
// caller may see (docs/fhir.md "Bulk export").
//
// Thread-safe.
#ifndef CASELINE_SERVER_FHIR_BULK_EXPORT_H_
#define CASELINE_SERVER_FHIR_BULK_EXPORT_H_

#include <memory>

#include "httplib.h"
#include "server/fhir/fhir_common.h"
#include "server/fhir/fhir_endpoint.h"

namespace caseline::server::fhir {

class BulkExport {
 public:
  BulkExport(FhirServices services, const FhirOptions& options);
  ~BulkExport();
  // GET [base]/$export, [base]/Patient/$export, [base]/Group/<id>/$export;
  // GET and DELETE [base]/$export-status/<job>; GET
  // [base]/$export-file/<job>/<file>.
  void Register(httplib::Server& http);
  // Cancels running exports and waits for them. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_BULK_EXPORT_H_
