// Test-only helpers for damaging and listing a data directory's files, shared
// by the eventstore unit tests and the end-to-end tests in tests/.
#ifndef CASELINE_EVENTSTORE_TEST_FILES_H_
#define CASELINE_EVENTSTORE_TEST_FILES_H_

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace caseline::testing {

// XORs the byte at `offset` of `file` with 0x5a (damage a checksum covers).
inline void FlipByte(const std::filesystem::path& file,
                     std::streamoff offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << file;
  char c = 0;
  f.seekg(offset);
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(offset);
  f.write(&c, 1);
  ASSERT_TRUE(f.good()) << file << " at " << offset;
}

// The names in `dir`, sorted.
inline std::vector<std::string> Listing(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace caseline::testing

#endif  // CASELINE_EVENTSTORE_TEST_FILES_H_
