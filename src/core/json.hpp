// JSON helpers. Documents keep insertion order so that "schema" always comes first.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/ip.hpp"

namespace vpnleak::core {

using Json = nlohmann::ordered_json;

// A new document whose first key is "schema", e.g. jsonDocument("vpnleak.lab/1").
inline Json jsonDocument(std::string_view schema) {
  Json j = Json::object();
  j["schema"] = schema;
  return j;
}

// Parses text; errors name the source and the position, never throw.
Result<Json> parseJson(std::string_view text, std::string_view source);

}  // namespace vpnleak::core

namespace nlohmann {
template <>
struct adl_serializer<vpnleak::core::IpAddress> {
  static void to_json(ordered_json& j, const vpnleak::core::IpAddress& a) { j = a.toString(); }
};
template <>
struct adl_serializer<vpnleak::core::Prefix> {
  static void to_json(ordered_json& j, const vpnleak::core::Prefix& p) { j = p.toString(); }
};
}  // namespace nlohmann
