// Status propagation helpers. Abseil 20220623 ships no public RETURN_IF_ERROR,
// so Caseline keeps this one small pair for every module.
#ifndef CASELINE_BASE_STATUS_MACROS_H_
#define CASELINE_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CASELINE_CONCAT_INNER_(a, b) a##b
#define CASELINE_CONCAT_(a, b) CASELINE_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function
// unless it is OK.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    ::absl::Status caseline_status_ = (expr);            \
    if (!caseline_status_.ok()) return caseline_status_; \
  } while (false)

// `ASSIGN_OR_RETURN(lhs, expr)` evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise moves the value into `lhs` (which may
// declare a variable, e.g. `auto page`).
#define ASSIGN_OR_RETURN(lhs, expr)                                           \
  ASSIGN_OR_RETURN_IMPL_(CASELINE_CONCAT_(caseline_statusor_, __LINE__), lhs, \
                         expr)
// `statusor` names the variable being declared and `lhs` may be a declaration
// (`auto page`): neither can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()
// NOLINTEND(bugprone-macro-parentheses)

#endif  // CASELINE_BASE_STATUS_MACROS_H_
