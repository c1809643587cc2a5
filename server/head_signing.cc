#include "server/head_signing.h"

#include <optional>

#include "spdlog/spdlog.h"

namespace caseline::server {

HeadSigningLoop::HeadSigningLoop(eventstore::EventLog* log,
                                 const eventstore::HeadSigner* signer,
                                 absl::Duration interval)
    : log_(log), signer_(signer), interval_(interval) {
  thread_ = std::thread([this] { Loop(); });
}

HeadSigningLoop::~HeadSigningLoop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    stop_cv_.SignalAll();
  }
  thread_.join();
}

void HeadSigningLoop::SignIfMoved() {
  if (!signed_position_known_) {
    absl::StatusOr<std::optional<eventstore::SignedHead>> last =
        log_->GetSignedHead(0);
    if (!last.ok()) {
      spdlog::error("cannot read the last signed head: {}",
                    last.status().ToString());
      return;
    }
    signed_position_ = last->has_value() ? (*last)->position : 0;
    signed_position_known_ = true;
  }
  const uint64_t head = log_->HeadPosition();
  if (head == 0 || head == signed_position_) return;
  absl::StatusOr<eventstore::SignedHead> signed_head = log_->SignHead(*signer_);
  if (!signed_head.ok()) {
    spdlog::error("cannot sign the log's head at position {}: {}", head,
                  signed_head.status().ToString());
    return;
  }
  signed_position_ = signed_head->position;
  spdlog::info("signed head at position {} (hash {}) with key {}",
               signed_head->position,
               eventstore::HashToHex(signed_head->head_hash),
               eventstore::KeyIdToHex(signed_head->key_id));
}

void HeadSigningLoop::Loop() {
  while (true) {
    SignIfMoved();
    MutexLock lock(&mu_);
    if (interval_ <= absl::ZeroDuration()) {
      while (!stopping_) stop_cv_.Wait();  // only on request from here on
    } else if (!stopping_) {
      stop_cv_.WaitFor(interval_);
    }
    if (stopping_) return;
  }
}

}  // namespace caseline::server
