#include "bench/matching_scenarios.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "bench/bench_util.h"
#include "care/client_matching.h"
#include "caseline/v1/care_record.grpc.pb.h"
#include "caseline/v1/views.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "projections/duplication_projection.h"
#include "projections/projection_engine.h"

namespace caseline::bench {

namespace v1 = caseline::v1;

namespace {

constexpr char kIdentifierSystem[] = "SOC_SEC_ID";

std::string Agency(int caller) { return absl::StrCat("febrl-agency-", caller); }

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

// The gRPC code's name, e.g. "INVALID_ARGUMENT".
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// A refusal's message with every run of digits as "N", so that refusals for
// the same reason count together.
std::string Reason(const std::string& message) {
  std::string out;
  for (size_t i = 0; i < message.size(); ++i) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(message[i]))) {
      out.push_back('N');
      while (i + 1 < message.size() &&
             absl::ascii_isdigit(static_cast<unsigned char>(message[i + 1]))) {
        ++i;
      }
    } else {
      out.push_back(message[i]);
    }
  }
  return out;
}

// The ClientRegistered of a record (matching_scenarios.h has the mapping).
v1::ClientRegistered ToClient(const FebrlRecord& r) {
  v1::ClientRegistered c;
  if (!r.given_name.empty()) c.mutable_name()->set_given(r.given_name);
  if (!r.surname.empty()) c.mutable_name()->set_family(r.surname);
  int32_t year = 0, month = 0, day = 0;
  const std::string& d = r.date_of_birth;
  if (d.size() == 8 &&
      std::all_of(d.begin(), d.end(),
                  [](char ch) {
                    return absl::ascii_isdigit(static_cast<unsigned char>(ch));
                  }) &&
      absl::SimpleAtoi(d.substr(0, 4), &year) &&
      absl::SimpleAtoi(d.substr(4, 2), &month) &&
      absl::SimpleAtoi(d.substr(6, 2), &day)) {
    v1::Date* date = c.mutable_birth_date();
    date->set_year(year);
    date->set_month(month);
    date->set_day(day);
  } else if (!d.empty()) {
    c.set_birth_date_recorded_as(d);
  }
  v1::PostalAddress* address = c.mutable_address();
  std::string line1 = r.street_number;
  if (!r.address_1.empty()) {
    if (!line1.empty()) line1.push_back(' ');
    line1 += r.address_1;
  }
  address->set_line1(line1);
  address->set_line2(r.address_2);
  address->set_city(r.suburb);
  address->set_region(r.state);
  address->set_postal_code(r.postcode);
  address->set_country("AU");
  if (!r.soc_sec_id.empty()) {
    v1::ClientIdentifier* id = c.add_identifiers();
    id->set_organization_id(kMatchingIssuer);
    id->set_system(kIdentifierSystem);
    id->set_value(r.soc_sec_id);
  }
  return c;
}

// Pairs of record indexes (i < j) as one number.
uint64_t PairKey(uint32_t i, uint32_t j) {
  if (i > j) std::swap(i, j);
  return (static_cast<uint64_t>(i) << 32) | j;
}

// The pairs of records of one person, among those `included`.
absl::flat_hash_set<uint64_t> TruePairs(const std::vector<FebrlRecord>& records,
                                        const std::vector<uint8_t>& included) {
  absl::flat_hash_map<std::string, std::vector<uint32_t>> by_person;
  for (uint32_t i = 0; i < records.size(); ++i) {
    if (included[i]) by_person[records[i].person].push_back(i);
  }
  absl::flat_hash_set<uint64_t> pairs;
  for (const auto& [person, members] : by_person) {
    for (size_t a = 0; a < members.size(); ++a) {
      for (size_t b = a + 1; b < members.size(); ++b) {
        pairs.insert(PairKey(members[a], members[b]));
      }
    }
  }
  return pairs;
}

std::string Lower(const std::string& s) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(s));
}

// The exact-match baseline (matching_scenarios.h).
Quality ExactMatch(const std::vector<FebrlRecord>& records,
                   const absl::flat_hash_set<uint64_t>& true_pairs) {
  absl::flat_hash_map<std::string, std::vector<uint32_t>> groups;
  for (uint32_t i = 0; i < records.size(); ++i) {
    const std::string surname = Lower(records[i].surname);
    const std::string given = Lower(records[i].given_name);
    const std::string dob = Lower(records[i].date_of_birth);
    if (surname.empty() || given.empty() || dob.empty()) continue;
    groups[absl::StrCat(surname, "|", given, "|", dob)].push_back(i);
  }
  uint64_t found = 0;
  uint64_t true_found = 0;
  for (const auto& [key, members] : groups) {
    for (size_t a = 0; a < members.size(); ++a) {
      for (size_t b = a + 1; b < members.size(); ++b) {
        ++found;
        if (true_pairs.contains(PairKey(members[a], members[b]))) ++true_found;
      }
    }
  }
  return QualityOf(found, true_found, true_pairs.size());
}

absl::Status RegisterOrganization(const std::shared_ptr<grpc::Channel>& channel,
                                  const std::string& id,
                                  const std::string& name,
                                  v1::OrganizationType type) {
  v1::RegisterOrganizationRequest request;
  request.set_command_id(absl::StrCat("register-", id));
  v1::OrganizationRegistered* org = request.mutable_organization_registered();
  org->set_organization_id(id);
  org->set_name(name);
  org->set_type(type);
  grpc::ClientContext context;
  context.AddMetadata("x-caseline-org", id);
  context.AddMetadata("x-caseline-user", "bench");
  v1::CommandResult result;
  const grpc::Status s =
      v1::Organizations::NewStub(channel)->RegisterOrganization(
          &context, request, &result);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("registering ", id));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<FebrlRecord>> ReadFebrl(
    const std::vector<std::string>& files) {
  std::vector<FebrlRecord> records;
  for (const std::string& file : files) {
    std::ifstream in(file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", file));
    std::string line;
    int line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line_number == 1 || absl::StripAsciiWhitespace(line).empty()) {
        continue;  // the header
      }
      std::vector<std::string> fields = absl::StrSplit(line, ',');
      if (fields.size() != 11) {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ":", line_number, ": ", fields.size(),
                         " fields; a FEBRL record has 11"));
      }
      for (std::string& f : fields) {
        f = std::string(absl::StripAsciiWhitespace(f));
      }
      FebrlRecord r;
      r.rec_id = fields[0];
      std::vector<std::string> parts = absl::StrSplit(r.rec_id, '-');
      if (parts.size() < 3 || parts[0] != "rec" || parts[1].empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ":", line_number, ": rec_id ", r.rec_id,
                         " is not rec-N-org or rec-N-dup-K"));
      }
      r.person = parts[1];
      r.given_name = fields[1];
      r.surname = fields[2];
      r.street_number = fields[3];
      r.address_1 = fields[4];
      r.address_2 = fields[5];
      r.suburb = fields[6];
      r.postcode = fields[7];
      r.state = fields[8];
      r.date_of_birth = fields[9];
      r.soc_sec_id = fields[10];
      records.push_back(std::move(r));
    }
  }
  return records;
}

Quality QualityOf(uint64_t found, uint64_t true_found, uint64_t true_pairs) {
  Quality q;
  q.found = found;
  q.true_found = true_found;
  q.precision = found > 0 ? static_cast<double>(true_found) / found : 0;
  q.recall = true_pairs > 0 ? static_cast<double>(true_found) / true_pairs : 0;
  q.f1 = q.precision + q.recall > 0
             ? 2 * q.precision * q.recall / (q.precision + q.recall)
             : 0;
  return q;
}

absl::StatusOr<MatchingResult> MeasureMatching(
    const std::vector<std::string>& files, const std::string& data_dir,
    const MatchingOptions& options) {
  ASSIGN_OR_RETURN(std::vector<FebrlRecord> records, ReadFebrl(files));
  const int callers = std::max(1, options.callers);
  MatchingResult result;
  result.records = records.size();
  result.callers = callers;
  const std::vector<uint8_t> all(records.size(), 1);
  const absl::flat_hash_set<uint64_t> true_pairs = TruePairs(records, all);
  result.true_pairs = true_pairs.size();
  result.exact = ExactMatch(records, true_pairs);

  // Neutral ids in a shuffled order: order[k] is the record registered k-th,
  // as client ids[order[k]].
  std::vector<uint32_t> order(records.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 random(options.seed);
  std::shuffle(order.begin(), order.end(), random);
  std::vector<std::string> ids(records.size());
  absl::flat_hash_map<std::string, uint32_t> record_of;
  for (uint32_t k = 0; k < order.size(); ++k) {
    ids[order[k]] = absl::StrFormat(
        "m%llu-%06u", static_cast<unsigned long long>(options.seed), k);
    record_of[ids[order[k]]] = order[k];
  }

  server::ServerOptions server_options;
  server_options.data_dir = data_dir;
  server_options.listen = "127.0.0.1:0";
  result.match_threshold = server_options.views.match_threshold;
  result.review_threshold = server_options.views.review_threshold;
  // The blocking figures below use the server's own views config.
  const care::ViewsConfig views_config = server_options.views;
  ASSIGN_OR_RETURN(std::unique_ptr<server::CaselineServer> server,
                   server::CaselineServer::Start(std::move(server_options)));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  const std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      server->address(), grpc::InsecureChannelCredentials(), args);
  RETURN_IF_ERROR(RegisterOrganization(channel, kMatchingIssuer,
                                       "FEBRL Social Security Issuer",
                                       v1::ORGANIZATION_TYPE_SOCIAL_SERVICES));
  for (int c = 0; c < callers; ++c) {
    RETURN_IF_ERROR(RegisterOrganization(
        channel, Agency(c), absl::StrCat("FEBRL Community Agency ", c),
        v1::ORGANIZATION_TYPE_COMMUNITY_AGENCY));
  }

  // Every record through Clients.RegisterClient, `callers` blocking callers
  // taking the next record in the shuffled order.
  auto clients = v1::Clients::NewStub(channel);
  // One byte per record: threads write distinct elements.
  std::vector<uint8_t> registered(records.size(), 0);
  std::vector<std::vector<double>> latencies(callers);
  std::vector<std::map<std::string, uint64_t>> refusals(callers);
  std::atomic<size_t> next{0};
  const Clock::time_point start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int c = 0; c < callers; ++c) {
      threads.emplace_back([&, c] {
        for (size_t k = next++; k < order.size(); k = next++) {
          const uint32_t i = order[k];
          v1::RegisterClientRequest request;
          request.set_command_id(absl::StrCat("register-", ids[i]));
          request.set_client_id(ids[i]);
          *request.mutable_client_registered() = ToClient(records[i]);
          grpc::ClientContext context;
          context.AddMetadata("x-caseline-org", Agency(c));
          context.AddMetadata("x-caseline-user", absl::StrCat("worker-", c));
          v1::CommandResult response;
          const Clock::time_point sent = Clock::now();
          const grpc::Status s =
              clients->RegisterClient(&context, request, &response);
          latencies[c].push_back(MillisSince(sent));
          if (s.ok()) {
            registered[i] = 1;
          } else {
            refusals[c][absl::StrCat(CodeName(s.error_code()), ": ",
                                     Reason(s.error_message()))]++;
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
  }
  const double register_seconds = MillisSince(start) / 1000;
  std::vector<double> all_latencies;
  for (int c = 0; c < callers; ++c) {
    all_latencies.insert(all_latencies.end(), latencies[c].begin(),
                         latencies[c].end());
    for (const auto& [reason, n] : refusals[c]) {
      result.refusals[reason] += n;
      result.refused += n;
    }
  }
  result.registered = records.size() - result.refused;
  result.registrations_per_second =
      register_seconds > 0 ? records.size() / register_seconds : 0;
  result.register_p50_ms = Percentile(all_latencies, 0.50);
  result.register_p99_ms = Percentile(all_latencies, 0.99);
  const absl::flat_hash_set<uint64_t> registered_pairs =
      TruePairs(records, registered);
  result.registered_true_pairs = registered_pairs.size();
  result.true_pairs_lost = result.true_pairs - registered_pairs.size();
  std::fprintf(stderr,
               "matching: %llu of %llu records registered in %.1f s (%llu "
               "refused)\n",
               static_cast<unsigned long long>(result.registered),
               static_cast<unsigned long long>(result.records),
               register_seconds,
               static_cast<unsigned long long>(result.refused));

  // The duplication view, once it has applied every registration.
  projections::ProjectionEngine& engine = server->projections();
  const uint64_t head = server->event_log().HeadPosition();
  result.log_events = head;
  RETURN_IF_ERROR(
      engine.WaitForPosition(projections::kDuplicationProjectionName, head,
                             absl::Now() + absl::Minutes(30)));
  auto views = v1::DuplicationViews::NewStub(channel);
  uint64_t match_found = 0, match_true = 0, review_found = 0, review_true = 0;
  absl::flat_hash_set<uint64_t> seen;
  std::string token;
  do {
    v1::ListFindingsRequest request;
    request.add_kinds(v1::FINDING_KIND_POSSIBLE_DUPLICATE_CLIENTS);
    request.set_page_size(1000);
    request.set_page_token(token);
    request.set_min_position(head);
    // No organisation named: development mode's local operator, who reads
    // every client.
    grpc::ClientContext context;
    v1::ListFindingsResponse page;
    const grpc::Status s = views->ListFindings(&context, request, &page);
    if (!s.ok()) return FromGrpc(s, "listing duplicate-client findings");
    for (const v1::Finding& f : page.findings()) {
      if (f.client_ids_size() != 2) continue;
      auto a = record_of.find(f.client_ids(0));
      auto b = record_of.find(f.client_ids(1));
      if (a == record_of.end() || b == record_of.end()) continue;
      const uint64_t pair = PairKey(a->second, b->second);
      if (!seen.insert(pair).second) continue;
      const bool is_true = true_pairs.contains(pair);
      if (f.match_class() == v1::MATCH_CLASS_MATCH) {
        ++match_found;
        match_true += is_true;
      } else if (f.match_class() == v1::MATCH_CLASS_REVIEW) {
        ++review_found;
        review_true += is_true;
      }
    }
    token = page.next_page_token();
  } while (!token.empty());
  result.at_match = QualityOf(match_found, match_true, result.true_pairs);
  result.at_review = QualityOf(match_found + review_found,
                               match_true + review_true, result.true_pairs);
  result.review_band = review_found;
  result.review_band_true = review_true;

  // Blocking: the pairs of registered records that share a key.
  {
    absl::flat_hash_map<std::string, std::vector<uint32_t>> blocks;
    uint64_t registered_count = 0;
    for (uint32_t i = 0; i < records.size(); ++i) {
      if (!registered[i]) continue;
      ++registered_count;
      for (std::string& key :
           care::BlockingKeys(ToClient(records[i]), views_config)) {
        blocks[std::move(key)].push_back(i);
      }
    }
    absl::flat_hash_set<uint64_t> candidates;
    for (const auto& [key, members] : blocks) {
      result.largest_block =
          std::max<uint64_t>(result.largest_block, members.size());
      for (size_t a = 0; a < members.size(); ++a) {
        for (size_t b = a + 1; b < members.size(); ++b) {
          candidates.insert(PairKey(members[a], members[b]));
        }
      }
    }
    result.candidate_pairs = candidates.size();
    for (uint64_t pair : registered_pairs) {
      result.true_candidate_pairs += candidates.contains(pair);
    }
    result.pair_completeness =
        registered_pairs.empty()
            ? 0
            : static_cast<double>(result.true_candidate_pairs) /
                  registered_pairs.size();
    const double all_pairs =
        static_cast<double>(registered_count) * (registered_count - 1) / 2;
    result.reduction_ratio =
        all_pairs > 0 ? 1 - result.candidate_pairs / all_pairs : 0;
  }

  // The duplication projection alone, rebuilt over the whole log.
  const Clock::time_point rebuild_start = Clock::now();
  RETURN_IF_ERROR(engine.Rebuild(
      projections::kDuplicationProjectionName,
      [](const v1::RebuildProjectionResponse&) { return true; }));
  result.rebuild_seconds = MillisSince(rebuild_start) / 1000;
  std::fprintf(stderr,
               "matching: duplication rebuilt over %llu events in %.2f s\n",
               static_cast<unsigned long long>(head), result.rebuild_seconds);
  server->Shutdown(absl::Seconds(10));
  return result;
}

}  // namespace caseline::bench
