// FHIR writes as Caseline commands (docs/fhir.md "Writes"): pure parsers
// from FHIR JSON to the events the command services record. Each answers
// INVALID_ARGUMENT naming the FHIR element ("ServiceRequest.performer: ...")
// for what it cannot map; the command's own rules are the services'.
#ifndef CASELINE_SERVER_FHIR_WRITES_H_
#define CASELINE_SERVER_FHIR_WRITES_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "care/command_catalog.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/views.pb.h"
#include "nlohmann/json.hpp"

namespace caseline::server::fhir {

// A new referral from a ServiceRequest and, when given, its Task (a
// transaction's pair): the SendReferral command. The referral id is
// ServiceRequest.identifier[0].value, else `default_id`; command_id
// "fhir:ServiceRequest:<referral id>". The referral is warm unless the
// referral-kind extension says cold.
absl::StatusOr<care::CommandFields> ReferralCommandOf(
    const nlohmann::json& service_request, const nlohmann::json* task,
    absl::string_view default_id);

// The command that moves `current` (a referral as the client's record holds
// it) to the state `task` (a whole Task) asks for: its status, with
// statusReason.text as the reason and output[0].valueString as what was
// delivered. nullopt when the status is the current one (nothing to write).
// INVALID_ARGUMENT when the Task changes anything else that Caseline keeps
// (for, focus, owner, requester) or asks for a status no command reaches.
absl::StatusOr<std::optional<care::CommandFields>> TaskCommandOf(
    absl::string_view client_id, const v1::ReferralView& current,
    const nlohmann::json& task);

// A new consent (GiveConsent) from a Consent with status "active". The
// consent id is identifier[0].value, else `default_id`; command_id
// "fhir:Consent:<consent id>".
absl::StatusOr<care::CommandFields> ConsentCommandOf(
    const nlohmann::json& consent, absl::string_view default_id);

// The revocation (RevokeConsent) a Consent with status "inactive" asks for,
// of the consent `consent_id` of `client_id`; `now` for the received and
// effective times the Consent leaves out.
absl::StatusOr<care::CommandFields> RevocationCommandOf(
    absl::string_view client_id, absl::string_view consent_id,
    const nlohmann::json& consent, absl::Time now);

// RFC 6902 JSON Patch applied to `document` (add, remove, replace, test,
// move, copy). INVALID_ARGUMENT naming the operation that does not apply;
// FAILED_PRECONDITION for a failed "test".
absl::StatusOr<nlohmann::json> ApplyJsonPatch(const nlohmann::json& document,
                                              const nlohmann::json& patch);

// The value of an If-Match / ETag header: W/"7" or "7" -> 7; nullopt when
// it is not one.
std::optional<uint64_t> VersionOfETag(absl::string_view etag);

// A random id for a resource the caller gave no identifier, e.g.
// "r-0123456789abcdef" for prefix "r".
std::string NewId(absl::string_view prefix);

}  // namespace caseline::server::fhir

#endif  // CASELINE_SERVER_FHIR_WRITES_H_
