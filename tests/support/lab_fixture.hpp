// A test fixture owning one lab: a random "vlt<hex>-" prefix per test, torn down (namespaces,
// processes, state) after the test whether it passed or not.
#pragma once

#include <gtest/gtest.h>

#include <string>

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

}  // namespace vpnleak::testing
