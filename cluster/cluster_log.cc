#include "cluster/cluster_log.h"

#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/mutex.h"
#include "base/status_macros.h"
#include "caseline/v1/cluster.grpc.pb.h"
#include "cluster/cluster_node.h"
#include "cluster/etcd_client.h"
#include "grpcpp/grpcpp.h"
#include "spdlog/spdlog.h"

namespace caseline::cluster {
namespace {

namespace v1 = ::caseline::v1;

// Threads that wait for forwarded appends (a follower's writes in flight).
constexpr int kForwarders = 16;
// Trailing metadata of a peer answer whose append was certainly not stored.
constexpr char kNotStoredMetadata[] = "x-caseline-not-stored";
// Trailing metadata of a refused peer append: the sequencer's head when it
// decided, which the forwarding node applies before it answers, so that a
// caller re-reading on ABORTED there sees the write it conflicted with.
constexpr char kHeadMetadata[] = "x-caseline-head";
// The same head, carried on the absl::Status to the forwarding thread.
constexpr char kHeadPayload[] = "caseline.cluster/head";
// Pause between attempts while the sequencer changes.
constexpr absl::Duration kRetryPause = absl::Milliseconds(20);

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                      std::string(s.message()));
}

// A peer call's failure, with what its trailers said: not stored
// (kNotStoredPayload) and the sequencer's head (kHeadPayload).
absl::Status PeerFailure(const grpc::Status& s,
                         const grpc::ClientContext& context) {
  absl::Status status = FromGrpc(s);
  const auto& trailers = context.GetServerTrailingMetadata();
  if (trailers.find(kNotStoredMetadata) != trailers.end()) {
    status.SetPayload(kNotStoredPayload, absl::Cord());
  }
  if (auto it = trailers.find(kHeadMetadata); it != trailers.end()) {
    status.SetPayload(kHeadPayload, absl::Cord(std::string(
                                        it->second.data(), it->second.size())));
  }
  return status;
}

void ToPeerEvent(const eventstore::ProposedEvent& e, v1::PeerEvent* p) {
  if (e.event_id.has_value()) {
    p->set_event_id(e.event_id->bytes().data(), e.event_id->bytes().size());
  }
  p->set_event_type(e.event_type);
  if (e.occurred_at.has_value()) {
    p->set_has_occurred_at(true);
    p->set_occurred_at_nanos(absl::ToUnixNanos(*e.occurred_at));
  }
  p->set_actor_organization_id(e.actor.organization_id);
  p->set_actor_user_id(e.actor.user_id);
  p->set_actor_role(e.actor.role);
  p->set_correlation_id(e.correlation_id);
  p->set_causation_id(e.causation_id);
  p->set_schema_version(e.schema_version);
  p->set_content_type(e.content_type);
  p->set_payload(e.payload);
  for (const auto& [key, value] : e.metadata) {
    (*p->mutable_metadata())[key] = value;
  }
}

absl::StatusOr<eventstore::ProposedEvent> FromPeerEvent(
    const v1::PeerEvent& p) {
  eventstore::ProposedEvent e;
  if (!p.event_id().empty()) {
    eventstore::EventId::Bytes bytes;
    if (p.event_id().size() != bytes.size()) {
      return absl::InvalidArgumentError(
          "peer append: event_id must be 16 bytes");
    }
    std::copy(p.event_id().begin(), p.event_id().end(), bytes.begin());
    e.event_id = eventstore::EventId(bytes);
  }
  e.event_type = p.event_type();
  if (p.has_occurred_at()) {
    e.occurred_at = absl::FromUnixNanos(p.occurred_at_nanos());
  }
  e.actor = {p.actor_organization_id(), p.actor_user_id(), p.actor_role()};
  e.correlation_id = p.correlation_id();
  e.causation_id = p.causation_id();
  e.schema_version = p.schema_version();
  e.content_type = p.content_type();
  e.payload = p.payload();
  e.metadata.insert(p.metadata().begin(), p.metadata().end());
  return e;
}

void ToPeer(const eventstore::AppendRequest& request,
            v1::PeerAppendRequest* out) {
  out->set_stream_id(request.stream_id);
  switch (request.expected_version.kind()) {
    case eventstore::ExpectedVersion::Kind::kAny:
      out->set_expected_kind(v1::PeerAppendRequest::ANY);
      break;
    case eventstore::ExpectedVersion::Kind::kNoStream:
      out->set_expected_kind(v1::PeerAppendRequest::NO_STREAM);
      break;
    case eventstore::ExpectedVersion::Kind::kStreamExists:
      out->set_expected_kind(v1::PeerAppendRequest::STREAM_EXISTS);
      break;
    case eventstore::ExpectedVersion::Kind::kExact:
      out->set_expected_kind(v1::PeerAppendRequest::EXACT);
      out->set_expected_version(request.expected_version.version());
      break;
  }
  for (const eventstore::ProposedEvent& e : request.events) {
    ToPeerEvent(e, out->add_events());
  }
}

absl::StatusOr<eventstore::AppendRequest> FromPeer(
    const v1::PeerAppendRequest& request) {
  eventstore::AppendRequest out;
  out.stream_id = request.stream_id();
  switch (request.expected_kind()) {
    case v1::PeerAppendRequest::NO_STREAM:
      out.expected_version = eventstore::ExpectedVersion::NoStream();
      break;
    case v1::PeerAppendRequest::STREAM_EXISTS:
      out.expected_version = eventstore::ExpectedVersion::StreamExists();
      break;
    case v1::PeerAppendRequest::EXACT:
      out.expected_version =
          eventstore::ExpectedVersion::Exact(request.expected_version());
      break;
    default:
      out.expected_version = eventstore::ExpectedVersion::Any();
  }
  for (const v1::PeerEvent& p : request.events()) {
    absl::StatusOr<eventstore::ProposedEvent> e = FromPeerEvent(p);
    if (!e.ok()) return e.status();
    out.events.push_back(*std::move(e));
  }
  return out;
}

// Every event gets its id here, so that sending the append again (to the
// next sequencer, after an answer that was lost) is an identical retry.
// Returns whether any id was generated.
bool FillEventIds(eventstore::AppendRequest& request) {
  bool generated = false;
  for (eventstore::ProposedEvent& e : request.events) {
    if (!e.event_id.has_value()) {
      e.event_id = eventstore::EventId::Generate();
      generated = true;
    }
  }
  return generated;
}

// Whether an append's failure may be retried as it is, at the sequencer
// known next: not stored, or unknown but idempotent (every id is set).
bool Retryable(const absl::Status& s) {
  return NotStored(s) || s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

// The peer channel's server side: a forwarded append, decided by this
// node's local log (which refuses it unless this node is the sequencer).
class PeerService final : public v1::ClusterPeer::Service {
 public:
  PeerService(eventstore::EventLog* local, const ClusterNode* node,
              std::string data_dir)
      : local_(local), node_(node), data_dir_(std::move(data_dir)) {}

  grpc::Status FetchBackup(grpc::ServerContext* /*context*/,
                           const v1::FetchBackupRequest* /*request*/,
                           grpc::ServerWriter<v1::BackupChunk>* writer)
      override {
    // Beside the data directory (a backup may not be inside it): most likely
    // the same filesystem, so the table files are hard links, not copies.
    const std::filesystem::path parent = data_dir_ + ".peer-backups";
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    const std::filesystem::path dir =
        parent / absl::StrCat(absl::ToUnixNanos(absl::Now()));
    absl::StatusOr<eventstore::BackupInfo> info = local_->Backup(dir.string());
    if (!info.ok()) return ToGrpc(info.status());
    grpc::Status status = grpc::Status::OK;
    bool first = true;
    std::vector<char> buffer(1 << 20);
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(dir, ec)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string path =
          std::filesystem::relative(entry.path(), dir).string();
      bool sent_any = false;
      while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const std::streamsize n = in.gcount();
        if (n == 0 && sent_any) break;
        v1::BackupChunk chunk;
        chunk.set_path(path);
        chunk.set_data(buffer.data(), static_cast<size_t>(n));
        if (first) chunk.set_head_position(info->head_position);
        first = false;
        sent_any = true;
        if (!writer->Write(chunk)) {
          status = grpc::Status(grpc::StatusCode::CANCELLED,
                                "the receiving node went away");
          break;
        }
      }
      if (!status.ok()) break;
    }
    std::filesystem::remove_all(dir, ec);
    std::filesystem::remove(parent, ec);  // only if no other one is running
    return status;
  }

  grpc::Status Append(grpc::ServerContext* context,
                      const v1::PeerAppendRequest* request,
                      v1::PeerAppendResponse* response) override {
    absl::StatusOr<eventstore::AppendRequest> append = FromPeer(*request);
    if (!append.ok()) return ToGrpc(append.status());
    absl::StatusOr<eventstore::AppendResult> result =
        local_->Append(*std::move(append));
    if (!result.ok()) {
      if (NotStored(result.status())) {
        context->AddTrailingMetadata(kNotStoredMetadata, "1");
      }
      context->AddTrailingMetadata(kHeadMetadata,
                                   absl::StrCat(local_->HeadPosition()));
      return ToGrpc(result.status());
    }
    response->set_first_position(result->first_position);
    response->set_last_position(result->last_position);
    response->set_first_version(result->first_version);
    response->set_last_version(result->last_version);
    response->set_already_written(result->already_written);
    return grpc::Status::OK;
  }

  grpc::Status Erase(grpc::ServerContext* context,
                     const v1::PeerEraseRequest* request,
                     v1::PeerEraseResponse* response) override {
    absl::StatusOr<eventstore::ProposedEvent> record =
        FromPeerEvent(request->record());
    if (!record.ok()) return ToGrpc(record.status());
    // Only the sequencer's KEK records an erasure before it is committed
    // (a node that loses the role meanwhile is covered by docs/cluster.md
    // "Erasure": the retry completes it).
    if (!node_->sequencing()) {
      context->AddTrailingMetadata(kNotStoredMetadata, "1");
      return ToGrpc(absl::UnavailableError(absl::StrCat(
          "node ", node_->node_id(),
          " is not the sequencer; nothing was erased")));
    }
    absl::StatusOr<eventstore::ErasureResult> result =
        local_->EraseStream(request->stream_id(), *std::move(record));
    if (!result.ok()) return ToGrpc(result.status());
    response->set_position(result->position);
    response->set_already_erased(result->already_erased);
    response->set_key_id(result->key_id);
    return grpc::Status::OK;
  }

 private:
  eventstore::EventLog* const local_;
  const ClusterNode* const node_;
  const std::string data_dir_;
};

class ClusterLogImpl final : public ClusterLog {
 public:
  ClusterLogImpl(ClusterOptions options, std::unique_ptr<ClusterNode> node)
      : options_(std::move(options)), node_(std::move(node)) {}

  ~ClusterLogImpl() override {
    {
      MutexLock lock(&mu_);
      closing_ = true;
      queue_cv_.SignalAll();
    }
    // Steps down (another node is elected at once) and wakes forwarders
    // waiting for a sequencer; its threads apply to local_, so it stops
    // before local_ closes.
    node_->Stop();
    for (std::thread& t : forwarders_) t.join();
    if (peer_server_ != nullptr) {
      peer_server_->Shutdown(std::chrono::system_clock::now() +
                             std::chrono::seconds(2));
      peer_server_->Wait();
    }
    local_.reset();  // answers queued appends (not stored: not sequencing)
  }

  absl::Status Init(eventstore::EventLogOptions log_options) {
    RETURN_IF_ERROR(CatchUpFromPeerIfNeeded(log_options));
    const std::string data_dir = log_options.data_dir;
    log_options.replicator = node_.get();
    // A group is durable once etcd's quorum committed it; the node reports
    // as applied only what SyncedHead() says is on its disk.
    log_options.sync_each_group = false;
    ASSIGN_OR_RETURN(local_, eventstore::EventLog::Open(std::move(log_options)));
    log_ = local_.get();
    peer_service_ =
        std::make_unique<PeerService>(local_.get(), node_.get(), data_dir);
    grpc::ServerBuilder builder;
    std::shared_ptr<grpc::ServerCredentials> credentials;
    if (!options_.tls_cert_pem.empty()) {
      grpc::SslServerCredentialsOptions ssl(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      ssl.pem_key_cert_pairs.push_back(
          {options_.tls_key_pem, options_.tls_cert_pem});
      ssl.pem_root_certs = options_.tls_ca_pem;
      credentials = grpc::SslServerCredentials(ssl);
    } else {
      credentials = grpc::InsecureServerCredentials();
    }
    int port = 0;
    builder.AddListeningPort(options_.peer_listen, credentials, &port);
    builder.RegisterService(peer_service_.get());
    builder.SetMaxReceiveMessageSize(-1);
    peer_server_ = builder.BuildAndStart();
    if (peer_server_ == nullptr || port == 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on --cluster_peer_listen ", options_.peer_listen,
          ": the address is malformed or in use"));
    }
    advertise_ = options_.advertise;
    if (advertise_.empty()) {
      advertise_ = absl::StrCat(
          options_.peer_listen.substr(0, options_.peer_listen.rfind(':')), ":",
          port);
    }
    for (int i = 0; i < kForwarders; ++i) {
      forwarders_.emplace_back([this] { ForwardLoop(); });
    }
    node_->Start(local_.get(), advertise_);
    spdlog::info("cluster: node {} joined cluster {} (peer channel {})",
                 options_.node_id, options_.cluster_name, advertise_);
    return absl::OkStatus();
  }

  // docs/cluster.md "Catching up from a peer's backup": when etcd no longer
  // holds the groups after this node's head, restore the log of the node
  // that has applied the most, then follow from there.
  absl::Status CatchUpFromPeerIfNeeded(
      const eventstore::EventLogOptions& log_options) {
    const std::string& data_dir = log_options.data_dir;
    uint64_t head = 0;
    std::error_code ec;
    if (std::filesystem::exists(data_dir, ec) &&
        !std::filesystem::is_empty(data_dir, ec)) {
      eventstore::EventLogOptions probe;
      probe.data_dir = data_dir;
      probe.env = log_options.env;
      // A log with data keys opens only with its KEK.
      probe.kek = log_options.kek;
      ASSIGN_OR_RETURN(std::unique_ptr<eventstore::EventLog> log,
                       eventstore::EventLog::Open(std::move(probe)));
      head = log->HeadPosition();
    }
    // etcd may be electing a leader as this node starts: retry for a while.
    absl::StatusOr<std::optional<std::string>> peer =
        node_->PeerToCatchUpFrom(head);
    const absl::Time deadline = absl::Now() + options_.write_timeout;
    while (!peer.ok() &&
           (peer.status().code() == absl::StatusCode::kUnavailable ||
            peer.status().code() == absl::StatusCode::kDeadlineExceeded) &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));
      peer = node_->PeerToCatchUpFrom(head);
    }
    if (!peer.ok()) {
      return absl::Status(peer.status().code(),
                          absl::StrCat("cluster: cannot tell whether this "
                                       "node can follow from etcd: ",
                                       peer.status().message()));
    }
    if (!peer->has_value()) return absl::OkStatus();
    spdlog::warn(
        "cluster: node {}'s log ends at position {}, before what etcd still "
        "holds: restoring a backup from {}",
        options_.node_id, head, **peer);
    const std::string incoming = data_dir + ".incoming";
    std::filesystem::remove_all(incoming, ec);
    std::filesystem::create_directories(incoming, ec);
    absl::Status fetched = FetchBackupInto(**peer, incoming);
    if (!fetched.ok()) {
      std::filesystem::remove_all(incoming, ec);
      return fetched;
    }
    if (std::filesystem::exists(data_dir, ec)) {
      const std::string aside = absl::StrCat(
          data_dir, ".replaced-", absl::ToUnixSeconds(absl::Now()));
      std::filesystem::rename(data_dir, aside, ec);
      if (ec) {
        return absl::UnavailableError(absl::StrCat(
            "cluster: cannot move ", data_dir, " aside to ", aside, ": ",
            ec.message()));
      }
      spdlog::warn("cluster: the old data directory is kept as {}", aside);
    }
    absl::StatusOr<eventstore::BackupInfo> restored =
        eventstore::EventLog::Restore(incoming, data_dir);
    std::filesystem::remove_all(incoming, ec);
    if (!restored.ok()) return restored.status();
    spdlog::info("cluster: restored {} events (head position {}) from {}",
                 restored->events_verified, restored->head_position, **peer);
    return absl::OkStatus();
  }

  absl::Status FetchBackupInto(const std::string& address,
                               const std::string& dir) {
    v1::ClusterPeer::Stub* peer = PeerClient(address);
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::BackupChunk>> reader =
        peer->FetchBackup(&context, v1::FetchBackupRequest());
    v1::BackupChunk chunk;
    std::ofstream out;
    std::string current;
    while (reader->Read(&chunk)) {
      const std::filesystem::path relative(chunk.path());
      if (relative.empty() || relative.is_absolute() ||
          chunk.path().find("..") != std::string::npos) {
        context.TryCancel();
        reader->Finish();
        return absl::DataLossError(absl::StrCat(
            "the backup from ", address, " names the file \"", chunk.path(),
            "\", which is not inside the backup directory"));
      }
      if (chunk.path() != current) {
        out.close();
        current = chunk.path();
        const std::filesystem::path path = std::filesystem::path(dir) / relative;
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        out.open(path, std::ios::binary | std::ios::trunc);
      }
      out.write(chunk.data().data(),
                static_cast<std::streamsize>(chunk.data().size()));
      if (!out) {
        context.TryCancel();
        reader->Finish();
        return absl::UnavailableError(absl::StrCat(
            "cannot write the backup from ", address, " into ", dir));
      }
    }
    out.close();
    const grpc::Status s = reader->Finish();
    if (!s.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "fetching a backup from ", address, ": ", s.error_message()));
    }
    return absl::OkStatus();
  }

  ClusterStatus Status() const override {
    ClusterStatus status;
    status.node_id = options_.node_id;
    status.sequencing = node_->sequencing();
    if (std::optional<SequencerInfo> s = node_->sequencer(); s.has_value()) {
      status.sequencer_id = s->node_id;
      status.sequencer_address = s->address;
    }
    status.committed_position = node_->committed_position();
    status.applied_position = log_->HeadPosition();
    status.lagging = status.committed_position > status.applied_position &&
                     status.committed_position - status.applied_position >
                         options_.max_lag_events;
    status.apply_error = node_->apply_error();
    status.peer_address = advertise_;
    return status;
  }

  void AppendAsync(eventstore::AppendRequest request,
                   AppendCallback done) override {
    const bool generated = FillEventIds(request);
    const absl::Time deadline = absl::Now() + options_.write_timeout;
    if (node_->sequencing()) {
      // The common case on the sequencer: its own writer, no extra thread;
      // a copy is kept in case the role moves while the append is queued.
      auto retry = std::make_shared<eventstore::AppendRequest>(request);
      log_->AppendAsync(
          std::move(request),
          [this, retry, generated, deadline, done = std::move(done)](
              absl::StatusOr<eventstore::AppendResult> result) mutable {
            if (!result.ok() && Retryable(result.status())) {
              Enqueue(Forward{std::move(*retry), std::move(done), deadline,
                              generated, !NotStored(result.status())});
              return;
            }
            std::move(done)(std::move(result));
          });
      return;
    }
    Enqueue(Forward{std::move(request), std::move(done), deadline, generated,
                    false});
  }

  absl::Status WriteFailure() const override {
    if (absl::Status s = node_->apply_error(); !s.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "this node stopped applying the cluster's log: ", s.message()));
    }
    return log_->WriteFailure();
  }
  absl::StatusOr<eventstore::StreamPage> ReadStream(
      absl::string_view stream_id,
      const eventstore::ReadStreamOptions& options) override {
    return log_->ReadStream(stream_id, options);
  }
  absl::StatusOr<eventstore::LogPage> ReadAll(
      const eventstore::ReadAllOptions& options) override {
    return log_->ReadAll(options);
  }
  absl::StatusOr<std::optional<eventstore::RecordedEvent>> FindEvent(
      const eventstore::EventId& event_id) override {
    return log_->FindEvent(event_id);
  }
  uint64_t HeadPosition() const override { return log_->HeadPosition(); }
  absl::Status AwaitAcknowledged(absl::Duration timeout) override {
    // The sequencer applied every group before it was acknowledged.
    if (node_->sequencing()) return absl::OkStatus();
    absl::StatusOr<uint64_t> committed = node_->ReadCommitted();
    if (!committed.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "this node cannot tell whether it holds the cluster's latest "
          "writes (etcd: ",
          committed.status().message(), "); retry"));
    }
    if (*committed == 0 ||
        log_->WaitForHeadAbove(*committed - 1, timeout) >= *committed) {
      return absl::OkStatus();
    }
    return absl::DeadlineExceededError(absl::StrCat(
        "this node has not yet applied the cluster's log up to position ",
        *committed, "; retry, or send the command to another node"));
  }
  absl::StatusOr<uint64_t> SyncedHead() override {
    return log_->SyncedHead();
  }
  uint64_t WaitForHeadAbove(uint64_t position,
                            absl::Duration timeout) const override {
    return log_->WaitForHeadAbove(position, timeout);
  }
  absl::StatusOr<eventstore::ChainVerification> VerifyChain(
      uint64_t from_position, uint64_t to_position) override {
    return log_->VerifyChain(from_position, to_position);
  }
  absl::StatusOr<eventstore::BackupInfo> Backup(
      const std::string& dir) override {
    return log_->Backup(dir);
  }
  absl::Status ApplyReplicated(
      const eventstore::ReplicatedGroup& group) override {
    return log_->ApplyReplicated(group);
  }
  // This node's applied head, signed and kept in its own directory
  // (docs/cluster.md "Signed heads").
  absl::StatusOr<eventstore::SignedHead> SignHead(
      const eventstore::HeadSigner& signer) override {
    return log_->SignHead(signer);
  }
  absl::StatusOr<std::optional<eventstore::SignedHead>> GetSignedHead(
      uint64_t position) override {
    return log_->GetSignedHead(position);
  }

  // This node's local log does every erasure this node sees (its own as
  // the sequencer, or a replicated group's).
  uint64_t AddErasureListener(ErasureListener listener) override {
    return log_->AddErasureListener(std::move(listener));
  }
  void RemoveErasureListener(uint64_t id) override {
    log_->RemoveErasureListener(id);
  }

  // docs/cluster.md "Erasure": done by the sequencer's log (this one's, or
  // forwarded over the peer channel as appends are), whose group carries
  // the erased-key record to every node. Answered once this node has
  // applied it.
  absl::StatusOr<eventstore::ErasureResult> EraseStream(
      absl::string_view stream_id, eventstore::ProposedEvent record) override {
    // Fixed here, so that sending it again is the same erasure.
    if (!record.event_id.has_value()) {
      record.event_id = eventstore::EventId::Generate();
    }
    const absl::Time deadline = absl::Now() + options_.write_timeout;
    absl::Status last = absl::UnavailableError("no sequencer is known");
    bool maybe_done = false;
    while (absl::Now() < deadline) {
      {
        MutexLock lock(&mu_);
        if (closing_) break;
      }
      absl::StatusOr<eventstore::ErasureResult> result;
      std::optional<SequencerInfo> sequencer;
      if (node_->sequencing()) {
        result = log_->EraseStream(stream_id, record);
      } else {
        sequencer = node_->WaitForSequencer(deadline);
        if (!sequencer.has_value()) break;
        if (sequencer->node_id == options_.node_id) {
          absl::SleepFor(kRetryPause);
          continue;
        }
        result = CallPeerErase(sequencer->address, stream_id, record,
                               deadline);
      }
      if (result.ok()) {
        if (sequencer.has_value() && result->position > 0) {
          // Read-your-writes: answered once this node forgot the key too.
          log_->WaitForHeadAbove(result->position - 1,
                                 deadline - absl::Now());
        }
        // An earlier attempt of this call may have recorded it.
        if (maybe_done) result->already_erased = false;
        return result;
      }
      if (!Retryable(result.status())) return result.status();
      if (!NotStored(result.status())) maybe_done = true;
      last = result.status();
      absl::SleepFor(kRetryPause);
    }
    return absl::UnavailableError(absl::StrCat(
        "the cluster has no sequencer this node can reach (last: ",
        last.message(), "); ",
        maybe_done ? "the erasure may have begun (the key may already be "
                     "unreadable on some nodes): erase again to complete it"
                   : "nothing was erased: erase again"));
  }

  // docs/cluster.md "Encryption": a rotation would make this node's KEK
  // differ from the others'.
  absl::StatusOr<eventstore::RewrapResult> RewrapDataKeys() override {
    return absl::FailedPreconditionError(kKeyRotationRefused);
  }

 private:
  struct Forward {
    eventstore::AppendRequest request;
    AppendCallback done;
    absl::Time deadline;
    // Whether FillEventIds generated an id (the caller gave none), and
    // whether an earlier attempt may have stored the append: then an
    // already_written answer is this node's own retry, not the caller's.
    bool ids_generated = false;
    bool maybe_stored = false;
  };

  void Enqueue(Forward forward) {
    MutexLock lock(&mu_);
    if (closing_) {
      std::move(forward.done)(absl::UnavailableError(
          "this node is shutting down; retry the append at another node"));
      return;
    }
    queue_.push_back(std::move(forward));
    queue_cv_.Signal();
  }

  void ForwardLoop() {
    while (true) {
      Forward forward;
      {
        MutexLock lock(&mu_);
        while (queue_.empty() && !closing_) queue_cv_.Wait();
        if (queue_.empty()) return;
        forward = std::move(queue_.front());
        queue_.pop_front();
      }
      absl::StatusOr<eventstore::AppendResult> result = Route(forward);
      if (result.ok() && result->already_written && forward.ids_generated &&
          forward.maybe_stored) {
        result->already_written = false;  // our own earlier attempt stored it
      }
      std::move(forward.done)(std::move(result));
    }
  }

  // Sends the append to the sequencer until it is decided, the deadline
  // passes or the node closes.
  absl::StatusOr<eventstore::AppendResult> Route(Forward& forward) {
    absl::Status last = absl::UnavailableError("no sequencer is known");
    while (absl::Now() < forward.deadline) {
      {
        MutexLock lock(&mu_);
        if (closing_) break;
      }
      absl::StatusOr<eventstore::AppendResult> result;
      std::optional<SequencerInfo> sequencer;
      if (node_->sequencing()) {
        result = log_->Append(forward.request);
      } else {
        sequencer = node_->WaitForSequencer(forward.deadline);
        if (!sequencer.has_value()) break;
        if (sequencer->node_id == options_.node_id) {
          // Elected, still catching up before it sequences.
          absl::SleepFor(kRetryPause);
          continue;
        }
        result = CallPeer(sequencer->address, forward);
      }
      if (result.ok()) {
        if (sequencer.has_value()) {
          // Read-your-writes on this node: answer once it is applied here.
          log_->WaitForHeadAbove(result->last_position - 1,
                                   forward.deadline - absl::Now());
        }
        return result;
      }
      if (!Retryable(result.status())) {
        // Refused (e.g. ABORTED by an expected version): answered once this
        // node holds what the sequencer decided against, as a single node
        // answers a refusal only after the write it conflicted with.
        uint64_t head = 0;
        if (absl::optional<absl::Cord> at =
                result.status().GetPayload(kHeadPayload);
            at.has_value() && absl::SimpleAtoi(std::string(*at), &head) &&
            head > 0) {
          log_->WaitForHeadAbove(head - 1, forward.deadline - absl::Now());
        }
        return result.status();
      }
      if (!NotStored(result.status())) forward.maybe_stored = true;
      last = result.status();
      absl::SleepFor(kRetryPause);
    }
    return absl::UnavailableError(absl::StrCat(
        "the cluster has no sequencer this node can reach (last: ",
        last.message(), "); ",
        forward.maybe_stored
            ? "the append may or may not have been stored: retry it with the "
              "same event ids"
            : "the append was not stored: retry it"));
  }

  absl::StatusOr<eventstore::AppendResult> CallPeer(const std::string& address,
                                                    const Forward& forward) {
    v1::ClusterPeer::Stub* peer = PeerClient(address);
    v1::PeerAppendRequest request;
    ToPeer(forward.request, &request);
    v1::PeerAppendResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(forward.deadline));
    const grpc::Status s = peer->Append(&context, request, &response);
    if (!s.ok()) return PeerFailure(s, context);
    eventstore::AppendResult result;
    result.first_position = response.first_position();
    result.last_position = response.last_position();
    result.first_version = response.first_version();
    result.last_version = response.last_version();
    result.already_written = response.already_written();
    return result;
  }

  absl::StatusOr<eventstore::ErasureResult> CallPeerErase(
      const std::string& address, absl::string_view stream_id,
      const eventstore::ProposedEvent& record, absl::Time deadline) {
    auto* peer = PeerClient(address);
    v1::PeerEraseRequest request;
    request.set_stream_id(std::string(stream_id));
    ToPeerEvent(record, request.mutable_record());
    v1::PeerEraseResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    const grpc::Status s = peer->Erase(&context, request, &response);
    if (!s.ok()) return PeerFailure(s, context);
    eventstore::ErasureResult result;
    result.position = response.position();
    result.already_erased = response.already_erased();
    result.key_id = response.key_id();
    return result;
  }

  v1::ClusterPeer::Stub* PeerClient(const std::string& address) {
    MutexLock lock(&mu_);
    std::unique_ptr<v1::ClusterPeer::Stub>& client = peers_[address];
    if (client == nullptr) {
      std::shared_ptr<grpc::ChannelCredentials> credentials;
      if (!options_.tls_cert_pem.empty()) {
        grpc::SslCredentialsOptions ssl;
        ssl.pem_root_certs = options_.tls_ca_pem;
        ssl.pem_private_key = options_.tls_key_pem;
        ssl.pem_cert_chain = options_.tls_cert_pem;
        credentials = grpc::SslCredentials(ssl);
      } else {
        credentials = grpc::InsecureChannelCredentials();
      }
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(-1);
      args.SetMaxSendMessageSize(-1);
      client = v1::ClusterPeer::NewStub(
          grpc::CreateCustomChannel(address, credentials, args));
    }
    return client.get();
  }

  const ClusterOptions options_;
  const std::unique_ptr<ClusterNode> node_;
  std::unique_ptr<eventstore::EventLog> local_;
  // local_.get(), set once in Init before anything is served; every method
  // reads this rather than local_, which only the destructor resets.
  eventstore::EventLog* log_ = nullptr;
  std::unique_ptr<PeerService> peer_service_;
  std::unique_ptr<grpc::Server> peer_server_;
  std::string advertise_;

  Mutex mu_;
  CondVar queue_cv_{&mu_};
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Forward> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<v1::ClusterPeer::Stub>>
      peers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> forwarders_;
};

bool IsLoopbackHost(absl::string_view host_port) {
  const size_t colon = host_port.rfind(':');
  const absl::string_view host =
      colon == absl::string_view::npos ? host_port : host_port.substr(0, colon);
  return host == "localhost" || host == "[::1]" ||
         absl::StartsWith(host, "127.");
}

}  // namespace

absl::Status ValidateClusterOptions(const ClusterOptions& options) {
  if (!options.enabled()) return absl::OkStatus();
  for (const std::string& e : options.etcd_endpoints) {
    if (e.empty() || e.rfind(':') == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--cluster_etcd: \"", e, "\" is not host:port, e.g. 127.0.0.1:2379"));
    }
  }
  if (options.node_id.empty()) {
    return absl::InvalidArgumentError(
        "--cluster_node_id is required with --cluster_etcd: name this node, "
        "e.g. node-1, unique in the cluster");
  }
  for (char c : options.node_id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_' && c != '.') {
      return absl::InvalidArgumentError(absl::StrCat(
          "--cluster_node_id: \"", options.node_id,
          "\" may hold only letters, digits, '-', '_' and '.'"));
    }
  }
  if (options.cluster_name.empty() ||
      options.cluster_name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        "--cluster_name must be non-empty and hold no '/'");
  }
  if (options.peer_listen.empty() ||
      options.peer_listen.rfind(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        "--cluster_peer_listen is required with --cluster_etcd: host:port "
        "the other nodes forward writes to, e.g. 127.0.0.1:7001");
  }
  if (options.tls_cert_pem.empty() && !options.insecure_non_loopback) {
    for (const std::string* a : {&options.peer_listen, &options.advertise}) {
      if (!a->empty() && !IsLoopbackHost(*a)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the peer channel address ", *a,
            " is not a loopback address: without TLS (--tls_cert, --tls_key, "
            "--client_ca) the nodes must run on one host, unless "
            "--insecure_non_loopback says the network is private"));
      }
    }
  }
  if (options.lease_ttl < absl::Seconds(1) ||
      options.etcd_timeout <= absl::ZeroDuration() ||
      options.write_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "cluster timeouts must be positive, and the lease at least 1 s");
  }
  if (options.max_groups_in_flight < 1 || options.max_groups_in_flight > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cluster_groups_in_flight must be between 1 and 64, not ",
        options.max_groups_in_flight));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ClusterLog>> ClusterLog::Open(
    ClusterOptions options, eventstore::EventLogOptions log_options) {
  RETURN_IF_ERROR(ValidateClusterOptions(options));
  if (!options.enabled()) {
    return absl::InvalidArgumentError("--cluster_etcd names no etcd member");
  }
  EtcdClientOptions etcd_options;
  etcd_options.endpoints = options.etcd_endpoints;
  etcd_options.rpc_timeout = options.etcd_timeout;
  ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> etcd,
                   EtcdClient::Create(etcd_options));
  auto node = std::make_unique<ClusterNode>(options, std::move(etcd));
  auto log = std::make_unique<ClusterLogImpl>(std::move(options),
                                              std::move(node));
  RETURN_IF_ERROR(log->Init(std::move(log_options)));
  return std::unique_ptr<ClusterLog>(std::move(log));
}

}  // namespace caseline::cluster
