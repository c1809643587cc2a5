// FUZZ_CHECK: the fuzz targets' invariant check. Active in every build type
// (unlike assert), and it aborts so that libFuzzer and the replay driver both
// report the input that broke the invariant.
#ifndef CASELINE_TESTS_FUZZ_FUZZ_CHECK_H_
#define CASELINE_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(condition, detail)                                  \
  do {                                                                 \
    if (!(condition)) {                                                \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n  %s\n",      \
                   __FILE__, __LINE__, #condition,                     \
                   std::string(detail).c_str());                       \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

#endif  // CASELINE_TESTS_FUZZ_FUZZ_CHECK_H_
