// Invariants: a failed VL_CHECK is a bug, so the process ends with a message (exit 4 path).
#pragma once

#include <cstdio>
#include <cstdlib>

#define VL_CHECK(cond)                                                                     \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "vpnleak: internal error: %s:%d: check failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                                       \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
