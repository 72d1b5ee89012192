// A test fixture owning one lab: a random "vlt<hex>-" prefix per test, torn down (namespaces,
// processes, state) after the test whether it passed or not.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "core/json.hpp"
#include "lab/lab.hpp"
#include "test_support.hpp"

namespace vpnleak::testing {

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VL_REQUIRE_ROOT();
    prefix_ = "vlt" + randomHex(3) + "-";
  }
  void TearDown() override {
    if (!prefix_.empty()) {
      EXPECT_TRUE(lab::down(prefix_).ok());
    }
  }
  std::string prefix_;
};

// One scenario of a `lab run` document ("results": [guard off, guard on]): the run without the
// guard leaked (verdict and a leaked packet count), the run with it passed with none. Call it
// through ASSERT_NO_FATAL_FAILURE.
inline void expectLeaksOffPassesOn(const core::Json& scenario) {
  ASSERT_EQ(scenario["results"].size(), 2U) << scenario.dump(2);
  const auto& off = scenario["results"][0];
  const auto& on = scenario["results"][1];
  EXPECT_EQ(off["guard"], "off");
  EXPECT_EQ(off["verdict"], "leak") << off.dump(2);
  EXPECT_GT(off.value("leaked_packets", 0ULL), 0U) << off.dump(2);
  EXPECT_EQ(on["guard"], "on");
  EXPECT_EQ(on["verdict"], "pass") << on.dump(2);
  EXPECT_EQ(on.value("leaked_packets", 1ULL), 0U) << on.dump(2);
}

}  // namespace vpnleak::testing
