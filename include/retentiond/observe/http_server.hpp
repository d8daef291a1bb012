#pragma once

#include <functional>
#include <optional>
#include <string>

#include "retentiond/config/config.hpp"

struct mg_context;

namespace retentiond {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// What the listener serves. Each callback runs on one of the listener's own threads, never on
/// the scheduling loop's: a slow or stuck client holds a listener thread, not the schedule.
struct HttpRoutes {
  std::function<std::string()> metrics;                   ///< Prometheus text
  std::function<bool()> alive;                            ///< /healthz: the loop is not stuck
  std::function<std::optional<std::string>()> not_ready;  ///< why /readyz is 503, or nothing
  std::function<HttpResponse()> status;                   ///< the `status -o json` document
  std::string status_token;                               ///< bearer token for /status; empty: none
};

/// The one HTTP listener: GET /metrics, /healthz, /readyz, /status (HEAD too). Started by the
/// constructor, stopped by the destructor (which waits for requests in flight).
class HttpServer {
 public:
  /// Throws a usage Error naming the address when it cannot listen there (in use, not local).
  HttpServer(const ListenAddress& address, HttpRoutes routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// HOST:PORT actually bound (port 0 in the configuration becomes the port the kernel chose).
  [[nodiscard]] const std::string& address() const { return bound_; }
  [[nodiscard]] const HttpRoutes& routes() const { return routes_; }

 private:
  HttpRoutes routes_;
  mg_context* context_ = nullptr;
  std::string bound_;
};

}  // namespace retentiond
