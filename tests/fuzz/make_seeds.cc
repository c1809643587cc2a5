// Writes the seed corpora of the fuzz targets: make_seeds <dir> fills
// <dir>/request_fuzz, <dir>/envelope_fuzz and <dir>/cli_json_fuzz with valid
// (and a few nearly valid) inputs, so that fuzzing starts deep in each
// decoder. The committed tests/fuzz/corpus was made by
//   build/tests/fuzz/caseline_fuzz_make_seeds tests/fuzz/corpus
// Rerun it when a request type or an example in care_world.cc changes.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "caseline/v1/care_events.pb.h"
#include "caseline/v1/wire_constants.h"
#include "eventstore/envelope.h"
#include "google/protobuf/timestamp.pb.h"
#include "tests/fuzz/care_world.h"

namespace caseline::fuzz {
namespace {

void Write(const std::filesystem::path& dir, const std::string& name,
           const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out << bytes;
}

void RequestSeeds(const std::filesystem::path& dir) {
  const absl::Time earlier = TheCareWorld().now - absl::Hours(1);
  for (const ExampleRequest& example : ExampleRequests()) {
    const std::string name = absl::StrCat(
        example.type_index < 10 ? "0" : "", example.type_index, "-",
        RequestTypes()[example.type_index]->name());
    std::string prefix;
    prefix.push_back(static_cast<char>(example.type_index));
    prefix.push_back(static_cast<char>(example.caller));
    Write(dir, name, prefix + example.request->SerializeAsString());
    // The same command at an explicit business time.
    const auto* occurred =
        example.request->GetDescriptor()->FindFieldByName("occurred_at");
    if (occurred == nullptr) continue;
    auto* at = static_cast<google::protobuf::Timestamp*>(
        example.request->GetReflection()->MutableMessage(
            example.request.get(), occurred));
    at->set_seconds(absl::ToUnixSeconds(earlier));
    at->set_nanos(250'000'000);
    Write(dir, name + "-at", prefix + example.request->SerializeAsString());
  }
}

void EnvelopeSeeds(const std::filesystem::path& dir) {
  const absl::Time t0 = TheCareWorld().now;
  eventstore::Hash chain{};
  std::vector<std::string> values;
  for (int i = 0; i < 6; ++i) {
    eventstore::RecordedEvent e;
    e.event_id = eventstore::EventId::FromName(absl::StrCat("seed-", i));
    e.stream_id = i < 3 ? "client-c1" : "organizations";
    e.stream_version = static_cast<uint64_t>(i % 3);
    e.global_position = static_cast<uint64_t>(i + 1);
    e.occurred_at = t0 - absl::Minutes(10 - i);
    e.recorded_at = t0 + absl::Nanoseconds(i);
    if (i % 2 == 0) {
      v1::CareEvent care;
      care.mutable_referral_sent()->set_referral_id(absl::StrCat("r", i));
      care.mutable_referral_sent()->set_to_organization_id("org-housing");
      e.event_type = "ReferralSent";
      e.content_type = v1::kCareEventContentType;
      e.payload = care.SerializeAsString();
      e.schema_version = 1;
      e.actor = {"org-hospital", "u1", "SOCIAL_WORK"};
      e.correlation_id = absl::StrCat("cmd-", i);
      e.metadata = {{"command_digest", "0f"},
                    {"command_events", "1"},
                    {"command_id", e.correlation_id}};
    } else {
      e.event_type = "NoteAdded";
      e.content_type = "application/json";
      e.payload = R"({"note":"hello"})";
      e.causation_id = "cause";
    }
    e.prev_hash = chain;
    values.push_back(eventstore::SealEnvelope(&e));
    chain = e.hash;
  }
  // The smallest event: every string empty.
  eventstore::RecordedEvent empty;
  values.push_back(eventstore::SealEnvelope(&empty));
  for (size_t i = 0; i < values.size(); ++i) {
    Write(dir, absl::StrCat("event-", i), values[i]);
  }
  // Nearly valid: truncated, an unknown version, a trailing byte.
  Write(dir, "truncated", values[0].substr(0, values[0].size() / 2));
  std::string version = values[1];
  version[0] = 2;
  Write(dir, "unknown-version", version);
  std::string trailing = values[1];
  trailing.insert(trailing.size() - eventstore::kHashTrailerSize, "x");
  Write(dir, "trailing-byte", trailing);
}

void CliJsonSeeds(const std::filesystem::path& dir) {
  v1::CareEvent care;
  care.mutable_case_opened()->set_reason("intake");
  const std::string care_base64 = absl::Base64Escape(care.SerializeAsString());
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"readme-register",
       R"({"event_type":"ClientRegistered","data":{"given_name":"Ada","family_name":"Okafor","birth_date":"1958-03-14"}})"},
      {"readme-array",
       "[{\"event_type\":\"ConsentGiven\",\"data\":{\"recipient\":\"org-housing\",\"data_classes\":[\"general\",\"housing\"]}},\n"
       " {\"event_type\":\"ReferralSent\",\"data\":{\"to\":\"org-housing\",\"service_category\":\"housing\",\"kind\":\"warm\"}}]"},
      {"json-lines",
       "{\"event_type\":\"A\",\"data\":1}\n\n  {\"eventType\":\"B\",\"data\":[true,null,2.5e3]}\n"},
      {"all-fields",
       R"({"event_id":"0190f2a4-7c1e-7a3b-9d2e-1f2a3b4c5d6e","event_type":"NoteAdded","occurred_at":"2026-01-05T10:00:00.250Z","actor":{"organization_id":"org-hospital","user_id":"u1","role":"NURSING"},"correlation_id":"c","causation_id":"d","schema_version":3,"metadata":{"source":"import","z":""},"data":{"text":"caf\u00e9 \ud83d\ude00","n":-0.0}})"},
      {"camel-case",
       R"({"eventId":"0190F2A4-7C1E-7A3B-9D2E-1F2A3B4C5D6E","eventType":"x.y.Z","occurredAt":"1999-12-31T23:59:59+01:00","schemaVersion":1,"contentType":"application/vnd.caseline+json","data":"s"})"},
      {"payload-base64",
       R"({"event_type":"Blob","content_type":"application/octet-stream","payload":"aGVsbG8gd29ybGQ="})"},
      {"json-payload-base64",
       R"({"event_type":"Note","content_type":"application/json; charset=utf-8","payload":"eyJhIjpbMSwyXX0="})"},
      {"care-event-payload",
       absl::StrCat(R"({"event_type":"CaseOpened","content_type":")",
                    v1::kCareEventContentType, R"(","payload":")", care_base64, R"("})")},
      {"data-and-payload", R"({"event_type":"A","data":1,"payload":"aGk="})"},
      {"not-an-object", R"([1, "two", {"event_type":"C"}])"},
      {"unknown-field", R"({"event_type":"A","colour":"red"})"},
      {"bad-line", "{\"event_type\":\"A\"}\n{\"event_type\":\n"},
      {"empty-array", "[]"},
      {"nested-data",
       R"({"event_type":"Deep","data":{"a":{"b":{"c":[[[{"d":[1,2,{"e":null}]}]]]}}}})"},
      {"big-numbers",
       R"({"event_type":"N","schema_version":4294967295,"data":[18446744073709551615,-9223372036854775808,1e308,1.5e-320]})"},
  };
  for (const auto& [name, text] : seeds) Write(dir, name, text);
}

}  // namespace
}  // namespace caseline::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir(argv[1]);
  caseline::fuzz::RequestSeeds(dir / "request_fuzz");
  caseline::fuzz::EnvelopeSeeds(dir / "envelope_fuzz");
  caseline::fuzz::CliJsonSeeds(dir / "cli_json_fuzz");
  return 0;
}
