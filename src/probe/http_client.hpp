// A minimal HTTP/1.1 client for the leak-test server's JSON API: one request per connection,
// bound like any other probe, finished or abandoned by the deadline.
#pragma once

#include <string>

#include "core/json.hpp"
#include "probe/socket.hpp"
#include "probe/url.hpp"

namespace vpnleak::probe {

struct HttpReply {
  int status = 0;
  std::string body;
  core::Endpoint local;  // the local address and port the request left from
};

core::Result<HttpReply> httpRequest(const ServerUrl& url, const core::Endpoint& server,
                                    std::string_view method, std::string_view path,
                                    const Binding& binding, Deadline deadline,
                                    std::string_view body = {});

// GET/POST that expects a 2xx JSON answer; anything else is an error naming status and message.
core::Result<core::Json> httpJson(const ServerUrl& url, const core::Endpoint& server,
                                  std::string_view method, std::string_view path,
                                  const Binding& binding, Deadline deadline);

}  // namespace vpnleak::probe
