// Periodic signing of the event log's head (caselined --signing_key,
// --sign_head_interval; docs/log_format.md "Signed heads").
#ifndef CASELINE_SERVER_HEAD_SIGNING_H_
#define CASELINE_SERVER_HEAD_SIGNING_H_

#include <cstdint>
#include <thread>

#include "absl/time/time.h"
#include "base/mutex.h"
#include "eventstore/event_log.h"

namespace caseline::server {

// Signs the log's head with `signer` (EventLog::SignHead) when it has moved
// since the last signed head the log keeps: once when constructed, then
// every `interval` on its own thread (never again when `interval` is zero
// or less), until destroyed. An empty log is not
// signed. Each signing is logged (position, hash, key id); a failed one is
// logged as an error and retried at the next interval. `log` and `signer`
// are not owned and must outlive it.
class HeadSigningLoop {
 public:
  HeadSigningLoop(eventstore::EventLog* log,
                  const eventstore::HeadSigner* signer,
                  absl::Duration interval);
  // Stops the thread (within one wait, not one interval: it is woken).
  ~HeadSigningLoop();
  HeadSigningLoop(const HeadSigningLoop&) = delete;
  HeadSigningLoop& operator=(const HeadSigningLoop&) = delete;

 private:
  void SignIfMoved();
  void Loop();

  eventstore::EventLog* const log_;
  const eventstore::HeadSigner* const signer_;
  const absl::Duration interval_;
  // The position last signed (or found signed); owned by the loop's thread
  // after the constructor.
  uint64_t signed_position_ = 0;
  bool signed_position_known_ = false;

  Mutex mu_;
  CondVar stop_cv_{&mu_};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: started once the rest is set
};

}  // namespace caseline::server

#endif  // CASELINE_SERVER_HEAD_SIGNING_H_
