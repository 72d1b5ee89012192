// Text rendering of lab documents, and the `lab run` command body.
#pragma once

#include <ostream>
#include <string>

#include "core/json.hpp"

namespace vpnleak::cli {

void printLabStatus(const core::Json& doc, std::ostream& out);
void printAssessment(const core::Json& doc, std::ostream& out);
int runLabAssessment(const std::string& prefix, bool json, bool keep);

}  // namespace vpnleak::cli
