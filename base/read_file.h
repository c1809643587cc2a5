// Reads a whole file named by a flag (config files, PEM files).
#ifndef CASELINE_BASE_READ_FILE_H_
#define CASELINE_BASE_READ_FILE_H_

#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace caseline {

// The file's contents; NOT_FOUND naming the flag and path when it cannot be
// read.
inline absl::StatusOr<std::string> ReadFileNamedBy(absl::string_view flag,
                                                   const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", flag, " file ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace caseline

#endif  // CASELINE_BASE_READ_FILE_H_
