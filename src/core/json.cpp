#include "core/json.hpp"

namespace vpnleak::core {

Result<Json> parseJson(std::string_view text, std::string_view source) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return makeError(Errc::kInvalidArgument,
                     "invalid JSON in " + std::string(source) + ": expected one JSON document");
  }
  return j;
}

}  // namespace vpnleak::core
