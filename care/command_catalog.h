// CommandCatalog: the one table from care event to command to RPC, read from
// the descriptors of caseline/v1/care_record.proto rather than written by hand.
//
// Every rpc of that file's services takes a request whose fields follow one
// convention and returns caseline.v1.CommandResult:
//   1  string command_id
//   2  string client_id          (absent in organisation commands)
//   3  google.protobuf.Timestamp occurred_at
//   4  the proposed event: a message that is the type of exactly one field of
//      CareEvent's `event` oneof
// The command services (services/care_record_service.h), the CLI's command
// list, the demo's sender, the e2e tables and the fuzz world all iterate this
// catalog, so a new command is one rpc and one request message in the proto.
// command_catalog_test.cc fails when a request breaks the convention.
//
// Pure: protobuf descriptors only. Thread-safe (immutable once built).
#ifndef CASELINE_CARE_COMMAND_CATALOG_H_
#define CASELINE_CARE_COMMAND_CATALOG_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace caseline::care {

// One command: an rpc of care_record.proto and the care event it proposes.
struct CommandSpec {
  const google::protobuf::MethodDescriptor* method = nullptr;
  // CareEvent's oneof field the command records (e.g. referral_sent).
  const google::protobuf::FieldDescriptor* event_field = nullptr;
  // Field 4 of the request (same message type as event_field).
  const google::protobuf::FieldDescriptor* request_event_field = nullptr;
  // True when the request has no client_id: the command writes the
  // "organizations" stream.
  bool organization_command = false;
  // The gRPC path, "/caseline.v1.Referrals/SendReferral".
  std::string path;
  // "Referrals.SendReferral": how the CLI and messages name it.
  std::string short_name;

  v1::CareEvent::EventCase event_case() const {
    return static_cast<v1::CareEvent::EventCase>(event_field->number());
  }
};

class CommandCatalog {
 public:
  // The catalog of the linked care_record.proto, built on first use.
  static const CommandCatalog& Get();

  // Builds a catalog from the services of `file` (tests plant broken files).
  // Requests that break the convention are left out and reported by
  // violations().
  explicit CommandCatalog(const google::protobuf::FileDescriptor* file);

  CommandCatalog(const CommandCatalog&) = delete;
  CommandCatalog& operator=(const CommandCatalog&) = delete;

  // In the order of the proto: services, then rpcs.
  const std::vector<CommandSpec>& commands() const { return commands_; }
  const std::vector<const google::protobuf::ServiceDescriptor*>& services()
      const {
    return services_;
  }
  // nullptr when no rpc records that event (RecordAccessed,
  // BreakGlassReviewed and ClientErased are written by the server itself).
  const CommandSpec* ForEvent(v1::CareEvent::EventCase event_case) const;
  // By path ("/caseline.v1.Referrals/SendReferral") or short name
  // ("Referrals.SendReferral"); nullptr when unknown.
  const CommandSpec* Find(absl::string_view name) const;

  // Each rpc that breaks the convention, with what is wrong; empty when the
  // proto keeps it.
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  std::vector<const google::protobuf::ServiceDescriptor*> services_;
  std::vector<CommandSpec> commands_;
  absl::flat_hash_map<int, size_t> by_event_;
  absl::flat_hash_map<std::string, size_t> by_name_;
  std::vector<std::string> violations_;
};

// The fields every request carries.
struct CommandFields {
  std::string command_id;
  std::string client_id;  // empty for organisation commands
  std::optional<absl::Time> occurred_at;
  v1::CareEvent event;  // the proposed event, as a CareEvent
};

// A new request message for `event` (which must be set): the rpc that records
// it, with fields 1-4 filled. INVALID_ARGUMENT when no rpc records the event.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> NewCommandRequest(
    const CommandFields& fields);

// The fields of `request`, one of care_record.proto's requests.
// INVALID_ARGUMENT when it is not, when occurred_at is out of range, or when
// field 4 (named) is not set.
absl::StatusOr<CommandFields> CommandFieldsOf(
    const google::protobuf::Message& request);

}  // namespace caseline::care

#endif  // CASELINE_CARE_COMMAND_CATALOG_H_
