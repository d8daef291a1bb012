#pragma once

#include <chrono>
#include <map>
#include <string>

namespace retentiond::testing {

struct HttpReply {
  int status = 0;                              ///< 0: no connection or no reply
  std::map<std::string, std::string> headers;  ///< names in lower case
  std::string body;
};

/// GET http://ADDRESS/PATH (ADDRESS is IPV4:PORT, as the daemon's http.listening event says),
/// `Connection: close`, plain sockets: the tests need no HTTP library, and a reply is read to
/// the end exactly as a scraper would. Never throws; status 0 when nothing answered in time.
HttpReply http_get(const std::string& address, const std::string& path,
                   const std::map<std::string, std::string>& headers = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace retentiond::testing
