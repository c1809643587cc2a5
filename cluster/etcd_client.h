// EtcdClient: a small typed client of etcd's v3 API (KV, Lease, Watch,
// Maintenance.Status), the one place Caseline's cluster mode talks to etcd.
//
// The gRPC client classes are generated at build time from the .proto files Debian's
// golang-etcd-server-dev installs (cluster/CMakeLists.txt); nothing of them
// shows here, so callers need no gRPC or protobuf headers.
//
// Errors. Every call has a deadline (EtcdClientOptions::rpc_timeout) and
// returns absl::Status codes, mapped from etcd's gRPC answers:
//   UNAVAILABLE        the endpoint is unreachable, the member has no leader
//                      (every request carries etcd's "hasleader" metadata, so a
//                      partitioned member refuses instead of stalling), the
//                      leader changed, or the request timed out inside etcd;
//   DEADLINE_EXCEEDED  no answer within rpc_timeout;
//   OUT_OF_RANGE       the revision asked for was compacted, or is in the
//                      future;
//   NOT_FOUND          the lease does not exist (never granted, expired or
//                      revoked);
//   INVALID_ARGUMENT   a request etcd (or this client) refuses as malformed,
//                      e.g. an empty key, too many ops in one Txn;
//   RESOURCE_EXHAUSTED etcd's database quota is full, or too many requests;
//   any other code     passed through as etcd's gRPC code (the codes are the
//                      same google.rpc codes); the message names the endpoint
//                      and the method.
// A write that fails with UNAVAILABLE or DEADLINE_EXCEEDED may still have been
// committed: callers that must know read back (or make the write a Txn whose
// compare tells the two apart).
//
// Endpoints. The client holds one channel per endpoint and talks to one of
// them, the "current" endpoint. When a call fails with UNAVAILABLE or
// DEADLINE_EXCEEDED the current endpoint moves on to the next one in the list
// (round robin), so the *next* call tries another member; the failed call is
// not retried here (a retried write could be applied twice; the caller knows
// whether that is safe). A call first waits up to a second (never past its
// deadline) for its endpoint's connection, and fails UNAVAILABLE at once
// when a connection attempt is refused, so a dead member costs a call about
// that, not rpc_timeout. Open watches stay on the endpoint they started on.
//
// Thread-safety: every method of EtcdClient may be called concurrently from
// any thread. A Watch's Next is for one thread at a time; its Cancel may be
// called from any thread.
#ifndef CASELINE_CLUSTER_ETCD_CLIENT_H_
#define CASELINE_CLUSTER_ETCD_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace caseline::cluster {

struct EtcdClientOptions {
  // The members to talk to, each "host:port" (e.g. "127.0.0.1:2379"), plain
  // HTTP/2. The first is the current endpoint at the start. Required: at
  // least one. (TLS: the channel credentials are made in one place in
  // etcd_client.cc; a future option here selects them.)
  std::vector<std::string> endpoints;
  // Deadline of every unary call, of a lease keep-alive round trip, and of
  // opening a watch. Default: 5 s.
  absl::Duration rpc_timeout = absl::Seconds(5);
};

// One key as etcd stores it (mvccpb.KeyValue). Revisions are etcd's global
// store revisions; version counts the key's modifications since it was
// created (1 after the create; a delete resets it to 0).
struct KeyValue {
  std::string key;
  std::string value;  // Empty when the range asked for keys_only.
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;  // 0: no lease.
};

struct RangeOptions {
  // Most keys returned; 0: no limit. Default: 0.
  int64_t limit = 0;
  // Read the store as of this revision; 0: the newest. Default: 0.
  int64_t revision = 0;
  // Return keys without values. Default: false.
  bool keys_only = false;
  // Return only the count, no keys. Default: false.
  bool count_only = false;
};

struct RangeResult {
  // In key order (etcd's default sort).
  std::vector<KeyValue> kvs;
  // The store's revision when the range was served (the response header's).
  int64_t revision = 0;
  // True when limit cut the answer short: more keys are in the range.
  bool more = false;
  // How many keys are in the range (all of them, whatever limit said).
  int64_t count = 0;
};

// The end of the range holding every key that starts with `prefix`, for
// Range/DeleteRange/TxnOp's range_end: the prefix with its last byte that is
// not 0xff incremented and what follows dropped; "\0" (every key) when the
// prefix is empty or all 0xff.
std::string PrefixEnd(absl::string_view prefix);

// One comparison of a Txn's guard (etcdserverpb.Compare) against a key's
// current state. A key that does not exist has create_revision,
// mod_revision and version 0, and every kValue compare on it fails
// (whatever the Result: etcd cannot tell a missing value from "").
struct Compare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kValue };
  enum class Result { kEqual, kNotEqual, kLess, kGreater };

  std::string key;
  Target target = Target::kCreateRevision;
  Result result = Result::kEqual;
  int64_t number = 0;  // For kCreateRevision, kModRevision, kVersion.
  std::string value;   // For kValue.

  static Compare CreateRevision(std::string key, Result result,
                                int64_t revision);
  static Compare ModRevision(std::string key, Result result,
                             int64_t revision);
  static Compare Version(std::string key, Result result, int64_t version);
  static Compare Value(std::string key, Result result, std::string value);
  // create_revision == 0: the key does not exist.
  static Compare Absent(std::string key);
};

// One operation of a Txn branch (etcdserverpb.RequestOp).
struct TxnOp {
  enum class Kind { kPut, kDeleteRange, kRange };

  Kind kind = Kind::kPut;
  std::string key;
  std::string value;      // kPut.
  int64_t lease = 0;      // kPut; 0: no lease.
  std::string range_end;  // kDeleteRange, kRange; empty: just `key`.
  RangeOptions range;     // kRange.

  static TxnOp Put(std::string key, std::string value, int64_t lease = 0);
  static TxnOp DeleteRange(std::string key, std::string range_end = "");
  static TxnOp Range(std::string key, std::string range_end = "",
                     RangeOptions options = {});
};

// What one op of the branch that ran returned.
struct TxnOpResult {
  TxnOp::Kind kind = TxnOp::Kind::kPut;
  RangeResult range;    // kRange.
  int64_t deleted = 0;  // kDeleteRange: how many keys it deleted.
};

struct TxnResult {
  // True: every compare held and the success ops ran; false: the failure
  // ops ran.
  bool succeeded = false;
  // The store's revision after the txn (the response header's): the
  // revision of its writes when it wrote.
  int64_t revision = 0;
  // One per op of the branch that ran, in the same order.
  std::vector<TxnOpResult> results;
};

struct DeleteResult {
  int64_t deleted = 0;   // How many keys were deleted.
  int64_t revision = 0;  // The store's revision after the delete.
};

struct Lease {
  int64_t id = 0;
  int64_t ttl_seconds = 0;  // As granted (etcd may raise a very short TTL).
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  // kPut: the key as written. kDelete: the key, mod_revision the delete's
  // revision, everything else empty/0.
  KeyValue kv;
};

struct WatchBatch {
  // In revision order; never empty. All events of one revision (one txn)
  // arrive in the same batch.
  std::vector<WatchEvent> events;
  // The store's revision when etcd sent the batch (>= every event's
  // mod_revision).
  int64_t revision = 0;
};

// A watch on a key prefix (EtcdClient::WatchPrefix): one gRPC Watch stream on
// one endpoint, read by a background thread into a queue. Destroying it
// cancels it and joins that thread.
class Watch {
 public:
  virtual ~Watch() = default;

  // Waits until `deadline` for the next batch of events. Codes:
  //   DEADLINE_EXCEEDED  no events arrived by `deadline` (the watch is fine;
  //                      call again);
  //   OUT_OF_RANGE       the start revision was compacted: the message names
  //                      the compact revision, compact_revision() returns it;
  //                      the watch is over (read the state with Range and
  //                      watch again from there);
  //   UNAVAILABLE        the stream broke (member lost, lost its leader, ...);
  //                      the watch is over: watch again from the last batch's
  //                      revision + 1 (the client's current endpoint has
  //                      already moved on);
  //   CANCELLED          Cancel() was called.
  // Once the watch is over every later call returns the same status at once.
  // Batches queued before the end are returned first.
  virtual absl::StatusOr<WatchBatch> Next(absl::Time deadline) = 0;

  // Ends the watch: a Next blocked in another thread returns CANCELLED at
  // once (as does every later one). Idempotent; any thread.
  virtual void Cancel() = 0;

  // After Next returned OUT_OF_RANGE: etcd's compact revision (the oldest
  // revision still readable is this one). 0 before that.
  virtual int64_t compact_revision() const = 0;
};

// The status of the member that answered (Maintenance.Status).
struct EtcdMemberStatus {
  std::string endpoint;   // "host:port" asked.
  uint64_t member_id = 0;
  uint64_t leader_id = 0;  // 0: the member knows no leader.
  int64_t db_size_bytes = 0;
  uint64_t raft_index = 0;
  uint64_t raft_term = 0;
  std::string version;  // etcd's version, e.g. "3.4.23".
};

class EtcdClient {
 public:
  // Makes the channels; connects lazily (a member that is down now is not an
  // error here). INVALID_ARGUMENT when there is no endpoint, one is not
  // "host:port", or rpc_timeout is not positive.
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(
      const EtcdClientOptions& options);

  virtual ~EtcdClient() = default;

  // Keys in [key, range_end) (range_end empty: just `key`; PrefixEnd(p): the
  // prefix p). A missing key is an empty result, not an error. Codes: the
  // common ones; OUT_OF_RANGE when options.revision was compacted or is in
  // the future.
  virtual absl::StatusOr<RangeResult> Range(absl::string_view key,
                                            absl::string_view range_end,
                                            const RangeOptions& options) = 0;

  // Sets key to value (attached to `lease` unless 0); returns the store's
  // revision after the write, which is the key's new mod_revision. Codes:
  // the common ones; NOT_FOUND when the lease does not exist.
  virtual absl::StatusOr<int64_t> Put(absl::string_view key,
                                      absl::string_view value,
                                      int64_t lease = 0) = 0;

  // Deletes the keys in [key, range_end) (range_end empty: just `key`).
  // Deleting nothing is OK (deleted == 0).
  virtual absl::StatusOr<DeleteResult> DeleteRange(
      absl::string_view key, absl::string_view range_end = "") = 0;

  // Atomically: if every compare holds, runs `success`, else `failure`.
  // Codes: the common ones; INVALID_ARGUMENT when a key is written twice
  // in one branch or there are more ops than etcd's --max-txn-ops (128 by
  // default); NOT_FOUND when a Put's lease does not exist.
  virtual absl::StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                        const std::vector<TxnOp>& success,
                                        const std::vector<TxnOp>& failure) = 0;

  // Txn without waiting: sends it now, on the current endpoint, and calls
  // `done` once with what Txn would return, on one of gRPC's threads (so
  // `done` must not block). Transactions sent one after another on one
  // client leave in that order, but etcd may still apply them in another:
  // fence a transaction that depends on an earlier one.
  virtual void TxnAsync(const std::vector<Compare>& compares,
                        const std::vector<TxnOp>& success,
                        const std::vector<TxnOp>& failure,
                        std::function<void(absl::StatusOr<TxnResult>)> done) = 0;

  // Discards the history before `revision` (keys' current values stay).
  // physical: wait until the space is reclaimed in the backend. Codes: the
  // common ones; OUT_OF_RANGE when `revision` is already compacted or in
  // the future.
  virtual absl::Status Compact(int64_t revision, bool physical) = 0;

  // A new lease of `ttl` (whole seconds, rounded up, at least 1). Keys put
  // with it are deleted when it expires or is revoked.
  virtual absl::StatusOr<Lease> LeaseGrant(absl::Duration ttl) = 0;

  // Renews the lease once; returns its TTL from now, in seconds. One
  // LeaseKeepAlive stream per call (one request, one response, then
  // closed): the caller drives renewal at its own pace (every ttl/3 is
  // usual) and sees each failure; a stream per renewal is cheap at that
  // rate. Codes: the common ones; NOT_FOUND when the lease has expired or
  // was revoked (etcd answers TTL 0).
  virtual absl::StatusOr<int64_t> LeaseKeepAliveOnce(int64_t id) = 0;

  // Revokes the lease, deleting every key attached to it. Codes: the
  // common ones; NOT_FOUND when the lease does not exist.
  virtual absl::Status LeaseRevoke(int64_t id) = 0;

  // Watches every key starting with `prefix` ("" : every key), from
  // `start_revision` (0: from the next revision). Returns once etcd has
  // created the watch, so every write committed after this returns is seen.
  // Codes (of the creation): the common ones (DEADLINE_EXCEEDED: not created
  // within rpc_timeout). A compacted start_revision is reported by the
  // Watch's Next, as OUT_OF_RANGE.
  virtual absl::StatusOr<std::unique_ptr<Watch>> WatchPrefix(
      absl::string_view prefix, int64_t start_revision) = 0;

  // The current endpoint's member status (for health and metrics). Codes:
  // the common ones.
  virtual absl::StatusOr<EtcdMemberStatus> MemberStatus() = 0;

  // The endpoint the next call goes to ("host:port").
  virtual std::string current_endpoint() const = 0;
};

}  // namespace caseline::cluster

#endif  // CASELINE_CLUSTER_ETCD_CLIENT_H_
