// EtcdClient over the gRPC client classes generated from etcd's rpc.proto
// (cluster/CMakeLists.txt). The contract is in etcd_client.h.
#include "cluster/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "etcd/mvcc/mvccpb/kv.pb.h"

namespace caseline::cluster {
namespace {

namespace pb = ::etcdserverpb;

// etcd's "require leader" metadata (rpctypes.MetadataRequireLeaderKey): a
// member without a leader answers UNAVAILABLE at once, and cancels an open
// watch stream when it loses its leader, instead of serving stale data or
// leaving the watch silent.
constexpr char kRequireLeaderKey[] = "hasleader";
constexpr char kRequireLeaderValue[] = "true";

bool IsEndpointFailure(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded;
}

// etcd reports its errors as gRPC codes that already say what
// etcd_client.h promises (rpctypes: ErrGRPCCompacted and ErrGRPCFutureRev
// are OutOfRange, ErrGRPCLeaseNotFound NotFound, ErrGRPCNoLeader,
// ErrGRPCLeaderChanged and ErrGRPCTimeout Unavailable, ErrGRPCNoSpace
// ResourceExhausted, ...); gRPC's and Abseil's codes are the same
// google.rpc codes, so the code carries over and the message gains where
// it came from.
absl::Status FromGrpc(const grpc::Status& status, absl::string_view endpoint,
                      absl::string_view method) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(
      static_cast<absl::StatusCode>(status.error_code()),
      absl::StrCat("etcd ", endpoint, " ", method, ": ",
                   status.error_message()));
}

absl::Status ValidateEndpoint(absl::string_view endpoint) {
  const size_t colon = endpoint.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port <= 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd endpoint \"", endpoint,
                     "\" is not host:port (e.g. 127.0.0.1:2379)"));
  }
  return absl::OkStatus();
}

// The only place the channel's credentials are chosen: TLS goes here.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& endpoint) {
  grpc::ChannelArguments args;
  // A member that was down comes back within a second of being reachable,
  // instead of after gRPC's default backoff of up to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // Also gRPC's connect timeout (TCP connect plus the HTTP/2 handshake;
  // default 20 s): a starting etcd accepts connections (its listener is
  // open) before it serves them, so an attempt made then can hang; give up
  // on it sooner and connect again.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Notice a silently dead connection (a partition) under an open watch.
  // etcd refuses pings more often than every 5 s (--grpc-keepalive-min-time)
  // and pings without an open call, so neither is done.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // Each client keeps its own connections (tests make several clients of
  // one member and kill members under them).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(),
                                   args);
}

// etcd refuses an empty key; a range from the very first key starts at
// "\0".
std::string RangeStart(absl::string_view key, absl::string_view range_end) {
  if (key.empty() && !range_end.empty()) return std::string(1, '\0');
  return std::string(key);
}

KeyValue FromProto(const ::mvccpb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  out.lease = kv.lease();
  return out;
}

RangeResult FromProto(const pb::RangeResponse& response) {
  RangeResult out;
  out.kvs.reserve(response.kvs_size());
  for (const ::mvccpb::KeyValue& kv : response.kvs()) {
    out.kvs.push_back(FromProto(kv));
  }
  out.revision = response.header().revision();
  out.more = response.more();
  out.count = response.count();
  return out;
}

void ToProto(absl::string_view key, absl::string_view range_end,
             const RangeOptions& options, pb::RangeRequest* request) {
  request->set_key(RangeStart(key, range_end));
  request->set_range_end(std::string(range_end));
  request->set_limit(options.limit);
  request->set_revision(options.revision);
  request->set_keys_only(options.keys_only);
  request->set_count_only(options.count_only);
}

void ToProto(const Compare& compare, pb::Compare* out) {
  out->set_key(compare.key);
  switch (compare.result) {
    case Compare::Result::kEqual:
      out->set_result(pb::Compare::EQUAL);
      break;
    case Compare::Result::kNotEqual:
      out->set_result(pb::Compare::NOT_EQUAL);
      break;
    case Compare::Result::kLess:
      out->set_result(pb::Compare::LESS);
      break;
    case Compare::Result::kGreater:
      out->set_result(pb::Compare::GREATER);
      break;
  }
  switch (compare.target) {
    case Compare::Target::kCreateRevision:
      out->set_target(pb::Compare::CREATE);
      out->set_create_revision(compare.number);
      break;
    case Compare::Target::kModRevision:
      out->set_target(pb::Compare::MOD);
      out->set_mod_revision(compare.number);
      break;
    case Compare::Target::kVersion:
      out->set_target(pb::Compare::VERSION);
      out->set_version(compare.number);
      break;
    case Compare::Target::kValue:
      out->set_target(pb::Compare::VALUE);
      out->set_value(compare.value);
      break;
  }
}

void ToProto(const TxnOp& op, pb::RequestOp* out) {
  switch (op.kind) {
    case TxnOp::Kind::kPut: {
      pb::PutRequest* put = out->mutable_request_put();
      put->set_key(op.key);
      put->set_value(op.value);
      put->set_lease(op.lease);
      break;
    }
    case TxnOp::Kind::kDeleteRange: {
      pb::DeleteRangeRequest* del = out->mutable_request_delete_range();
      del->set_key(RangeStart(op.key, op.range_end));
      del->set_range_end(op.range_end);
      break;
    }
    case TxnOp::Kind::kRange:
      ToProto(op.key, op.range_end, op.range, out->mutable_request_range());
      break;
  }
}

TxnOpResult FromProto(const pb::ResponseOp& response) {
  TxnOpResult out;
  switch (response.response_case()) {
    case pb::ResponseOp::kResponseRange:
      out.kind = TxnOp::Kind::kRange;
      out.range = FromProto(response.response_range());
      break;
    case pb::ResponseOp::kResponseDeleteRange:
      out.kind = TxnOp::Kind::kDeleteRange;
      out.deleted = response.response_delete_range().deleted();
      break;
    default:
      out.kind = TxnOp::Kind::kPut;
      break;
  }
  return out;
}

pb::TxnRequest TxnRequest(const std::vector<Compare>& compares,
                          const std::vector<TxnOp>& success,
                          const std::vector<TxnOp>& failure) {
  pb::TxnRequest request;
  for (const Compare& compare : compares) {
    ToProto(compare, request.add_compare());
  }
  for (const TxnOp& op : success) ToProto(op, request.add_success());
  for (const TxnOp& op : failure) ToProto(op, request.add_failure());
  return request;
}

TxnResult FromProto(const pb::TxnResponse& response) {
  TxnResult out;
  out.succeeded = response.succeeded();
  out.revision = response.header().revision();
  out.results.reserve(response.responses_size());
  for (const pb::ResponseOp& op : response.responses()) {
    out.results.push_back(FromProto(op));
  }
  return out;
}

// One member: its channel and the generated clients on it (thread-safe).
struct Endpoint {
  explicit Endpoint(std::string address_in)
      : address(std::move(address_in)),
        channel(MakeChannel(address)),
        kv(pb::KV::NewStub(channel)),
        lease(pb::Lease::NewStub(channel)),
        watch(pb::Watch::NewStub(channel)),
        maintenance(pb::Maintenance::NewStub(channel)) {}

  const std::string address;
  const std::shared_ptr<grpc::Channel> channel;
  const std::unique_ptr<pb::KV::Stub> kv;
  const std::unique_ptr<pb::Lease::Stub> lease;
  const std::unique_ptr<pb::Watch::Stub> watch;
  const std::unique_ptr<pb::Maintenance::Stub> maintenance;
};

// The endpoints and which one is current; shared by the client and its
// watches (a watch whose stream breaks moves the client on, and may outlive
// the client).
class EndpointRing {
 public:
  explicit EndpointRing(const std::vector<std::string>& addresses) {
    for (const std::string& address : addresses) {
      endpoints_.push_back(std::make_unique<Endpoint>(address));
    }
  }

  size_t current() const { return current_.load(std::memory_order_acquire); }
  Endpoint& at(size_t index) const { return *endpoints_[index]; }

  // Moves on from `failed` unless another call already has: concurrent
  // failures of one endpoint advance the ring once.
  void MoveOnFrom(size_t failed) {
    size_t expected = failed;
    current_.compare_exchange_strong(expected,
                                     (failed + 1) % endpoints_.size(),
                                     std::memory_order_acq_rel);
  }

 private:
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> current_{0};
};

void PrepareContext(grpc::ClientContext* context) {
  context->AddMetadata(kRequireLeaderKey, kRequireLeaderValue);
}

// How long a call waits for its endpoint's connection before it fails with
// UNAVAILABLE (and the ring moves on), capped by the call's own deadline.
constexpr absl::Duration kConnectBudget = absl::Seconds(1);

// Waits until the endpoint's channel is READY, for at most kConnectBudget
// (and never past `deadline`). Why wait at all: gRPC fails a call at once
// while its channel is in TRANSIENT_FAILURE (which is sticky until a
// reconnect succeeds), and a reconnect only makes progress while some thread
// polls the channel; the synchronous calls here poll only while they run,
// so without this wait a channel that was refused once (a member starting
// or restarting) would stay failed until gRPC's backup poller (every 5 s)
// noticed the new connection.
absl::Status AwaitConnected(Endpoint& endpoint, absl::Time deadline,
                            absl::string_view method) {
  grpc_connectivity_state state =
      endpoint.channel->GetState(/*try_to_connect=*/true);
  if (state == GRPC_CHANNEL_READY) return absl::OkStatus();
  const absl::Time start = absl::Now();
  const absl::Time until = std::min(deadline, start + kConnectBudget);
  while (state != GRPC_CHANNEL_READY) {
    if (!endpoint.channel->WaitForStateChange(state,
                                              absl::ToChronoTime(until))) {
      return absl::UnavailableError(absl::StrCat(
          "etcd ", endpoint.address, " ", method, ": not connected within ",
          absl::FormatDuration(until - start),
          " (the member is down or unreachable); the next call tries the "
          "next endpoint"));
    }
    state = endpoint.channel->GetState(/*try_to_connect=*/true);
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN) {
      // An attempt made while we waited failed (refused, unreachable).
      return absl::UnavailableError(absl::StrCat(
          "etcd ", endpoint.address, " ", method,
          ": cannot connect (the member is down or unreachable); the next "
          "call tries the next endpoint"));
    }
  }
  return absl::OkStatus();
}

class WatchImpl : public Watch {
 public:
  WatchImpl(std::shared_ptr<EndpointRing> ring, size_t endpoint_index,
            pb::WatchRequest create)
      : ring_(std::move(ring)),
        endpoint_index_(endpoint_index),
        create_(std::move(create)) {
    PrepareContext(&context_);
  }

  ~WatchImpl() override {
    Cancel();
    if (reader_.joinable()) reader_.join();
  }

  // Starts the stream and waits up to `timeout` for etcd's "created". A
  // compacted start revision is not an error here: Next reports it.
  absl::Status Open(absl::Duration timeout) {
    reader_ = std::thread([this] { ReadLoop(); });
    const absl::Time deadline = absl::Now() + timeout;
    {
      MutexLock lock(&mu_);
      while (!created_ && end_.ok()) {
        const absl::Duration left = deadline - absl::Now();
        if (left <= absl::ZeroDuration()) break;
        cv_.WaitFor(left);
      }
      if (created_ || absl::IsOutOfRange(end_)) return absl::OkStatus();
      if (!end_.ok()) return end_;
    }
    Cancel();
    ring_->MoveOnFrom(endpoint_index_);
    return absl::DeadlineExceededError(
        absl::StrCat("etcd ", address(), " Watch: not created within ",
                     absl::FormatDuration(timeout)));
  }

  absl::StatusOr<WatchBatch> Next(absl::Time deadline) override {
    MutexLock lock(&mu_);
    while (true) {
      if (cancelled_) {
        return absl::CancelledError("etcd watch: cancelled");
      }
      if (!queue_.empty()) {
        WatchBatch batch = std::move(queue_.front());
        queue_.pop_front();
        return batch;
      }
      if (!end_.ok()) return end_;
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(
            "etcd watch: no events before the deadline");
      }
      cv_.WaitFor(left);
    }
  }

  void Cancel() override {
    {
      MutexLock lock(&mu_);
      if (cancelled_) return;
      cancelled_ = true;
      cv_.SignalAll();
    }
    // Thread-safe; makes the reader's blocked Read return false.
    context_.TryCancel();
  }

  int64_t compact_revision() const override {
    MutexLock lock(&mu_);
    return compact_revision_;
  }

 private:
  const std::string& address() const { return ring_->at(endpoint_index_).address; }

  void ReadLoop() {
    Endpoint& endpoint = ring_->at(endpoint_index_);
    std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>>
        stream = endpoint.watch->Watch(&context_);
    absl::Status end;  // Set when etcd ends the watch itself.
    int64_t compact_revision = 0;
    if (stream->Write(create_)) {
      pb::WatchResponse response;
      while (stream->Read(&response)) {
        if (response.compact_revision() != 0) {
          compact_revision = response.compact_revision();
          end = absl::OutOfRangeError(absl::StrCat(
              "etcd ", endpoint.address,
              " Watch: the start revision was compacted; the compact "
              "revision is ",
              compact_revision, ": read the state and watch from there"));
          break;
        }
        if (response.canceled()) {
          end = absl::UnavailableError(absl::StrCat(
              "etcd ", endpoint.address, " Watch: cancelled by etcd: ",
              response.cancel_reason(), "; watch again"));
          break;
        }
        if (response.created()) {
          MutexLock lock(&mu_);
          created_ = true;
          cv_.SignalAll();
        }
        if (response.events_size() == 0) continue;  // Progress notice.
        WatchBatch batch;
        batch.revision = response.header().revision();
        batch.events.reserve(response.events_size());
        for (const ::mvccpb::Event& event : response.events()) {
          WatchEvent out;
          out.type = event.type() == ::mvccpb::Event::DELETE
                         ? WatchEvent::Type::kDelete
                         : WatchEvent::Type::kPut;
          out.kv = FromProto(event.kv());
          batch.events.push_back(std::move(out));
        }
        MutexLock lock(&mu_);
        queue_.push_back(std::move(batch));
        cv_.SignalAll();
      }
    }
    // Finish only after every Read has returned false.
    context_.TryCancel();
    pb::WatchResponse ignored;
    while (stream->Read(&ignored)) {
    }
    const grpc::Status finish = stream->Finish();

    MutexLock lock(&mu_);
    if (end.ok()) {
      if (cancelled_) {
        end = absl::CancelledError("etcd watch: cancelled");
      } else {
        end = absl::UnavailableError(absl::StrCat(
            "etcd ", endpoint.address, " Watch: the stream broke (",
            finish.error_message(), "); watch again from the last revision + 1"));
        ring_->MoveOnFrom(endpoint_index_);
      }
    }
    compact_revision_ = compact_revision;
    end_ = end;
    cv_.SignalAll();
  }

  const std::shared_ptr<EndpointRing> ring_;
  const size_t endpoint_index_;
  const pb::WatchRequest create_;
  grpc::ClientContext context_;
  std::thread reader_;

  mutable Mutex mu_;
  CondVar cv_{&mu_};
  bool created_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<WatchBatch> queue_ ABSL_GUARDED_BY(mu_);
  // OK while the stream is open; then why it ended.
  absl::Status end_ ABSL_GUARDED_BY(mu_);
  int64_t compact_revision_ ABSL_GUARDED_BY(mu_) = 0;
};

class EtcdClientImpl : public EtcdClient {
 public:
  explicit EtcdClientImpl(const EtcdClientOptions& options)
      : ring_(std::make_shared<EndpointRing>(options.endpoints)),
        rpc_timeout_(options.rpc_timeout) {}

  absl::StatusOr<RangeResult> Range(absl::string_view key,
                                    absl::string_view range_end,
                                    const RangeOptions& options) override {
    pb::RangeRequest request;
    ToProto(key, range_end, options, &request);
    pb::RangeResponse response;
    RETURN_IF_ERROR(Call("Range", [&](Endpoint& e, grpc::ClientContext* c) {
      return e.kv->Range(c, request, &response);
    }));
    return FromProto(response);
  }

  absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view value,
                              int64_t lease) override {
    pb::PutRequest request;
    request.set_key(std::string(key));
    request.set_value(std::string(value));
    request.set_lease(lease);
    pb::PutResponse response;
    RETURN_IF_ERROR(Call("Put", [&](Endpoint& e, grpc::ClientContext* c) {
      return e.kv->Put(c, request, &response);
    }));
    return response.header().revision();
  }

  absl::StatusOr<DeleteResult> DeleteRange(
      absl::string_view key, absl::string_view range_end) override {
    pb::DeleteRangeRequest request;
    request.set_key(RangeStart(key, range_end));
    request.set_range_end(std::string(range_end));
    pb::DeleteRangeResponse response;
    RETURN_IF_ERROR(
        Call("DeleteRange", [&](Endpoint& e, grpc::ClientContext* c) {
          return e.kv->DeleteRange(c, request, &response);
        }));
    DeleteResult out;
    out.deleted = response.deleted();
    out.revision = response.header().revision();
    return out;
  }

  absl::StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                const std::vector<TxnOp>& success,
                                const std::vector<TxnOp>& failure) override {
    const pb::TxnRequest request = TxnRequest(compares, success, failure);
    pb::TxnResponse response;
    RETURN_IF_ERROR(Call("Txn", [&](Endpoint& e, grpc::ClientContext* c) {
      return e.kv->Txn(c, request, &response);
    }));
    return FromProto(response);
  }

  void TxnAsync(const std::vector<Compare>& compares,
                const std::vector<TxnOp>& success,
                const std::vector<TxnOp>& failure,
                std::function<void(absl::StatusOr<TxnResult>)> done) override {
    // Lives until gRPC has called back (the callback owns it).
    struct AsyncTxn {
      grpc::ClientContext context;
      pb::TxnRequest request;
      pb::TxnResponse response;
    };
    auto txn = std::make_shared<AsyncTxn>();
    txn->request = TxnRequest(compares, success, failure);
    PrepareContext(&txn->context);
    txn->context.set_deadline(absl::ToChronoTime(absl::Now() + rpc_timeout_));
    const size_t index = ring_->current();
    Endpoint& endpoint = ring_->at(index);
    endpoint.kv->async()->Txn(
        &txn->context, &txn->request, &txn->response,
        [txn, ring = ring_, index, done = std::move(done)](grpc::Status s) {
          const absl::Status status =
              FromGrpc(s, ring->at(index).address, "Txn");
          if (IsEndpointFailure(status.code())) ring->MoveOnFrom(index);
          if (!status.ok()) {
            done(status);
          } else {
            done(FromProto(txn->response));
          }
        });
  }

  absl::Status Compact(int64_t revision, bool physical) override {
    pb::CompactionRequest request;
    request.set_revision(revision);
    request.set_physical(physical);
    pb::CompactionResponse response;
    return Call("Compact", [&](Endpoint& e, grpc::ClientContext* c) {
      return e.kv->Compact(c, request, &response);
    });
  }

  absl::StatusOr<Lease> LeaseGrant(absl::Duration ttl) override {
    pb::LeaseGrantRequest request;
    request.set_ttl(std::max<int64_t>(
        1, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(ttl)))));
    pb::LeaseGrantResponse response;
    RETURN_IF_ERROR(
        Call("LeaseGrant", [&](Endpoint& e, grpc::ClientContext* c) {
          return e.lease->LeaseGrant(c, request, &response);
        }));
    if (!response.error().empty()) {
      return absl::UnknownError(
          absl::StrCat("etcd LeaseGrant: ", response.error()));
    }
    Lease out;
    out.id = response.id();
    out.ttl_seconds = response.ttl();
    return out;
  }

  absl::StatusOr<int64_t> LeaseKeepAliveOnce(int64_t id) override {
    pb::LeaseKeepAliveRequest request;
    request.set_id(id);
    pb::LeaseKeepAliveResponse response;
    bool answered = false;
    RETURN_IF_ERROR(
        Call("LeaseKeepAlive", [&](Endpoint& e, grpc::ClientContext* c) {
          auto stream = e.lease->LeaseKeepAlive(c);
          if (stream->Write(request)) {
            stream->WritesDone();
            answered = stream->Read(&response);
            // etcd ends the stream once it has read our end of it.
            pb::LeaseKeepAliveResponse extra;
            while (stream->Read(&extra)) {
            }
          }
          return stream->Finish();
        }));
    if (!answered) {
      return absl::UnavailableError(absl::StrCat(
          "etcd ", current_endpoint(),
          " LeaseKeepAlive: the stream closed without an answer"));
    }
    if (response.ttl() <= 0) {
      return absl::NotFoundError(absl::StrCat(
          "etcd LeaseKeepAlive: lease ", id,
          " not found (expired or revoked); grant a new one"));
    }
    return response.ttl();
  }

  absl::Status LeaseRevoke(int64_t id) override {
    pb::LeaseRevokeRequest request;
    request.set_id(id);
    pb::LeaseRevokeResponse response;
    return Call("LeaseRevoke", [&](Endpoint& e, grpc::ClientContext* c) {
      return e.lease->LeaseRevoke(c, request, &response);
    });
  }

  absl::StatusOr<std::unique_ptr<Watch>> WatchPrefix(
      absl::string_view prefix, int64_t start_revision) override {
    pb::WatchRequest request;
    pb::WatchCreateRequest* create = request.mutable_create_request();
    const std::string end = PrefixEnd(prefix);
    create->set_key(RangeStart(prefix, end));
    create->set_range_end(end);
    create->set_start_revision(start_revision);
    const size_t index = ring_->current();
    if (absl::Status connected = AwaitConnected(
            ring_->at(index), absl::Now() + rpc_timeout_, "Watch");
        !connected.ok()) {
      ring_->MoveOnFrom(index);
      return connected;
    }
    auto watch =
        std::make_unique<WatchImpl>(ring_, index, std::move(request));
    RETURN_IF_ERROR(watch->Open(rpc_timeout_));
    return watch;
  }

  absl::StatusOr<EtcdMemberStatus> MemberStatus() override {
    pb::StatusRequest request;
    pb::StatusResponse response;
    std::string address;
    RETURN_IF_ERROR(Call("Status", [&](Endpoint& e, grpc::ClientContext* c) {
      address = e.address;
      return e.maintenance->Status(c, request, &response);
    }));
    EtcdMemberStatus out;
    out.endpoint = address;
    out.member_id = response.header().member_id();
    out.leader_id = response.leader();
    out.db_size_bytes = response.dbsize();
    out.raft_index = response.raftindex();
    out.raft_term = response.raftterm();
    out.version = response.version();
    return out;
  }

  std::string current_endpoint() const override {
    return ring_->at(ring_->current()).address;
  }

 private:
  // One unary exchange with the current endpoint, under rpc_timeout; moves
  // the ring on when that endpoint failed.
  template <typename Fn>
  absl::Status Call(absl::string_view method, Fn&& fn) {
    const size_t index = ring_->current();
    Endpoint& endpoint = ring_->at(index);
    const absl::Time deadline = absl::Now() + rpc_timeout_;
    absl::Status status = AwaitConnected(endpoint, deadline, method);
    if (status.ok()) {
      grpc::ClientContext context;
      PrepareContext(&context);
      context.set_deadline(absl::ToChronoTime(deadline));
      status = FromGrpc(fn(endpoint, &context), endpoint.address, method);
    }
    if (IsEndpointFailure(status.code())) ring_->MoveOnFrom(index);
    return status;
  }

  const std::shared_ptr<EndpointRing> ring_;
  const absl::Duration rpc_timeout_;
};

}  // namespace

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

Compare Compare::CreateRevision(std::string key, Result result,
                                int64_t revision) {
  Compare c;
  c.key = std::move(key);
  c.target = Target::kCreateRevision;
  c.result = result;
  c.number = revision;
  return c;
}

Compare Compare::ModRevision(std::string key, Result result,
                             int64_t revision) {
  Compare c = CreateRevision(std::move(key), result, revision);
  c.target = Target::kModRevision;
  return c;
}

Compare Compare::Version(std::string key, Result result, int64_t version) {
  Compare c = CreateRevision(std::move(key), result, version);
  c.target = Target::kVersion;
  return c;
}

Compare Compare::Value(std::string key, Result result, std::string value) {
  Compare c;
  c.key = std::move(key);
  c.target = Target::kValue;
  c.result = result;
  c.value = std::move(value);
  return c;
}

Compare Compare::Absent(std::string key) {
  return CreateRevision(std::move(key), Result::kEqual, 0);
}

TxnOp TxnOp::Put(std::string key, std::string value, int64_t lease) {
  TxnOp op;
  op.kind = Kind::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

TxnOp TxnOp::DeleteRange(std::string key, std::string range_end) {
  TxnOp op;
  op.kind = Kind::kDeleteRange;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  return op;
}

TxnOp TxnOp::Range(std::string key, std::string range_end,
                   RangeOptions options) {
  TxnOp op;
  op.kind = Kind::kRange;
  op.key = std::move(key);
  op.range_end = std::move(range_end);
  op.range = options;
  return op;
}

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(
    const EtcdClientOptions& options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError(
        "EtcdClientOptions.endpoints is empty: name at least one etcd member "
        "as host:port");
  }
  for (const std::string& endpoint : options.endpoints) {
    RETURN_IF_ERROR(ValidateEndpoint(endpoint));
  }
  if (options.rpc_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "EtcdClientOptions.rpc_timeout must be positive");
  }
  return std::make_unique<EtcdClientImpl>(options);
}

}  // namespace caseline::cluster
