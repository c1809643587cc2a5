// BulkExport: FHIR Bulk Data export ($export, v2, the async pattern) of what
// the caller may see (docs/fhir.md "Bulk export").
//
// A kick-off starts a background job that reads as the caller, through the
// services on the in-process channel like every other part of the endpoint:
// the clients are the ones whose registration (ClientRegistered) the caller's
// EventLog.Subscribe delivers (authorisation-filtered: an agency gets only
// the clients it may see), each client is read with
// ContinuityViews.GetClientSummary and written as resources
// (resources.h ClientResources) to NDJSON files under
// <state_dir>/exports/<job>/. Only the organisation that started a job may
// poll it, download its files or delete it. Jobs live in memory: files left
// by an earlier process are removed when a BulkExport is constructed.
//
// Thread-safe.
#ifndef CASELINE_SERVER_FHIR_BULK_EXPORT_H_
#define CASELINE_SERVER_FHIR_BULK_EXPORT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/views.pb.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/fhir/fhir_common.h"
#include "server/fhir/fhir_endpoint.h"

namespace caseline::server::fhir {

class BulkExport {
 public:
  // `services` are not owned and must outlive the BulkExport. Removes
  // <options.state_dir>/exports (what an earlier process left); with an
  // empty state_dir every kick-off answers 500.
  BulkExport(FhirServices services, const FhirOptions& options);
  // Calls Stop().
  ~BulkExport();
  // GET and POST [base]/$export, [base]/Patient/$export,
  // [base]/Group/<organization_id>/$export; GET and DELETE
  // [base]/$export-status/<job>; GET [base]/$export-file/<job>/<file>.
  // Register these before any route that would match "Patient/<id>" or
  // "Group/<id>/..." as a read.
  void Register(httplib::Server& http);
  // Cancels running exports and waits for them; kick-offs after it answer
  // 503. Idempotent.
  void Stop();

  // Test seam: while set, every export's worker calls `hook` with its job id
  // before it lists the clients (e.g. to hold exports running until the test
  // lets them go). Process-wide; nullptr clears it.
  static void SetBeforeListingForTest(
      std::function<void(const std::string& job_id)> hook);
  // Test seam: while set, every export's worker calls `hook` with its job id
  // and a client's id after it holds the client (an erasure of it from then
  // on withdraws the export) and before it reads it. Process-wide; nullptr
  // clears it.
  static void SetBeforeReadingClientForTest(
      std::function<void(const std::string& job_id, const std::string& client)>
          hook);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// --- The pure parts, exposed for tests ----------------------------------------

enum class ExportLevel { kSystem, kPatient, kGroup };

// A kick-off request, checked.
struct ExportRequest {
  ExportLevel level = ExportLevel::kSystem;
  // kGroup: the organisation whose clients form the group.
  std::string group_id;
  // The resource types to export, in export order (that of
  // ClientResourceTypes(), then Organization); never empty.
  std::vector<std::string> types;
  // Only resources whose meta.lastUpdated is after it.
  std::optional<absl::Time> since;
};

// The kick-off's parameters as given (query string and/or a POSTed
// Parameters resource), name and value per occurrence.
using ExportParameters = std::vector<std::pair<std::string, std::string>>;

// The resource types an export at `level` may hold, in export order: every
// per-client type (resources.h ClientResourceTypes()), and Organization at
// system level only.
std::vector<std::string> ExportTypes(ExportLevel level);

// Checks a kick-off: `prefer` (every Prefer header, joined by ", ") must
// hold respond-async; _outputFormat (at most once) application/fhir+ndjson,
// application/ndjson or ndjson; _type (comma-separated, may repeat) types of
// ExportTypes(level); _since (at most once) a FHIR instant. Other parameters
// are INVALID_ARGUMENT unless `prefer` holds handling=lenient (then
// ignored). INVALID_ARGUMENT naming the header or parameter otherwise.
absl::StatusOr<ExportRequest> ParseExportRequest(
    ExportLevel level, absl::string_view group_id,
    const ExportParameters& parameters, absl::string_view prefer);

// The parameters of a POSTed Parameters resource: each parameter's name and
// its value[x] when that is a JSON string (valueString, valueCode,
// valueInstant, ...), else "" (e.g. a valueReference: the name alone).
// INVALID_ARGUMENT when `body` is not a Parameters resource.
absl::StatusOr<ExportParameters> ParametersOf(const nlohmann::json& body);

// True when `organization_id` is involved in the care of the client as
// `state` shows it (docs/access.md "Involvement"): it registered the client,
// has an active care team member, sent or received one of its referrals,
// provides a service that has not ended, or receives one of its
// transitions.
bool InvolvedIn(const v1::ClientState& state, absl::string_view organization_id);

// True when `resource` changed after `since`: its meta.lastUpdated is later,
// or it has no readable meta.lastUpdated (then it is exported, not lost).
bool ChangedSince(const nlohmann::json& resource, absl::Time since);

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_BULK_EXPORT_H_
