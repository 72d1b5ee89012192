// `lab run`: build the lab in each configuration, observe where the client's traffic really
// arrives, drop the tunnel, and report every leak with its evidence. The scenario catalogue with
// fault injection, guard on/off and measured windows grows from here.
#pragma once

#include <functional>
#include <string>

#include "core/json.hpp"
#include "core/result.hpp"

namespace vpnleak::lab {

struct AssessmentOptions {
  std::string prefix = "vl-";
  bool keep = false;                                 // leave the last scenario's lab up
  std::function<void(const std::string&)> progress;  // one line per step, may be empty
};

// Document "vpnleak.run/1". Errors only when the lab could not be built or observed.
core::Result<core::Json> runAssessment(const AssessmentOptions& opts);

}  // namespace vpnleak::lab
