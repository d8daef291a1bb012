#include "retentiond/observe/http_server.hpp"

#include <civetweb.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstring>
#include <mutex>
#include <string_view>

#include "retentiond/core/error.hpp"
#include "retentiond/db/connection.hpp"

namespace retentiond {
namespace {

bool is_head(const mg_request_info* request) { return std::strcmp(request->request_method, "HEAD") == 0; }

int respond(mg_connection* connection, const HttpResponse& response,
            std::initializer_list<std::pair<const char*, const char*>> headers = {}) {
  const mg_request_info* request = mg_get_request_info(connection);
  mg_response_header_start(connection, response.status);
  mg_response_header_add(connection, "Content-Type", response.content_type.c_str(), -1);
  const std::string length = std::to_string(response.body.size());
  mg_response_header_add(connection, "Content-Length", length.c_str(), -1);
  // Health and metrics are about now: a proxy must never answer from a cache.
  mg_response_header_add(connection, "Cache-Control", "no-store", -1);
  for (const auto& [name, value] : headers) mg_response_header_add(connection, name, value, -1);
  mg_response_header_send(connection);
  if (!is_head(request)) mg_write(connection, response.body.data(), response.body.size());
  return response.status;
}

// Compares in time independent of where the first difference is: the token is a secret (its
// length is not).
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned char>(a[i] ^ b[i]);
  return difference == 0;
}

// Auth schemes are case-insensitive (RFC 7235): "bearer x" is as good as "Bearer x".
bool is_bearer(std::string_view header) {
  if (header.size() < 7 || header[6] != ' ') return false;
  for (std::size_t i = 0; i < 6; ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != "bearer"[i]) return false;
  }
  return true;
}

int handle(mg_connection* connection, void* data) {
  const auto& routes = static_cast<const HttpServer*>(data)->routes();
  const mg_request_info* request = mg_get_request_info(connection);
  if (!is_head(request) && std::strcmp(request->request_method, "GET") != 0) {
    return respond(connection, {405, "text/plain; charset=utf-8", "only GET and HEAD\n"},
                   {{"Allow", "GET, HEAD"}});
  }
  const std::string_view path = request->local_uri != nullptr ? request->local_uri : "";
  try {
    if (path == "/metrics") {
      return respond(connection, {200, "text/plain; version=0.0.4; charset=utf-8", routes.metrics()});
    }
    if (path == "/healthz") {
      if (routes.alive && !routes.alive()) {
        return respond(connection, {503, "text/plain; charset=utf-8",
                                    "stuck: the scheduling loop has not run for 2 minutes\n"});
      }
      return respond(connection, {200, "text/plain; charset=utf-8", "ok\n"});
    }
    if (path == "/readyz") {
      if (const auto reason = routes.not_ready()) {
        return respond(connection, {503, "text/plain; charset=utf-8", "not ready: " + *reason + "\n"});
      }
      return respond(connection, {200, "text/plain; charset=utf-8", "ready\n"});
    }
    if (path == "/status") {
      if (!routes.status_token.empty()) {
        const char* header = mg_get_header(connection, "Authorization");
        const std::string_view given = header != nullptr ? header : "";
        if (!is_bearer(given) || !same_secret(given.substr(7), routes.status_token)) {
          return respond(connection, {401, "text/plain; charset=utf-8", "a bearer token is required\n"},
                         {{"WWW-Authenticate", "Bearer realm=\"retentiond\""}});
        }
      }
      return respond(connection, routes.status());
    }
  } catch (const std::exception& e) {
    return respond(connection, {500, "text/plain; charset=utf-8", first_line(e.what()) + "\n"});
  }
  return respond(connection,
                 {404, "text/plain; charset=utf-8", "not found; try /metrics, /healthz, /readyz, /status\n"});
}

// Listener threads run at a lower CPU priority (nice 10) than the scheduler and its workers:
// however hard it is scraped, observing the work never slows the work. Best effort: where the
// call is not allowed (a syscall filter), the threads simply keep the default.
void* lower_priority(const mg_context*, int thread_type) {
  constexpr int kWorkerThread = 1;
  if (thread_type == kWorkerThread) {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  }
  return nullptr;
}

// civetweb's own log lines (a client that hung up, a malformed request) are of no use to an
// operator and would bypass the structured log: swallowed.
int quiet_log(const mg_connection*, const char*) { return 1; }

}  // namespace

HttpServer::HttpServer(const ListenAddress& address, HttpRoutes routes) : routes_(std::move(routes)) {
  static std::once_flag library;
  std::call_once(library, [] { mg_init_library(0); });
  const bool ipv6 = address.host.find(':') != std::string::npos;
  const std::string where =
      (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
  // Debian's civetweb is built without IPv6 (feature bit 8): say so rather than fail vaguely.
  if (ipv6 && mg_check_feature(8) == 0) {
    throw usage_error("http.listen \"" + where +
                      "\": IPv6 is not supported by this build's HTTP library; use an IPv4 address such as "
                      "0.0.0.0:9464");
  }
  // civetweb ties a thread to a connection for its keep-alive life: enough threads that probes
  // and scrapes are served while a crowd of idle or slow clients hold theirs, a short keep-alive
  // so idle ones let go soon, and a client that stalls mid-request is cut off after 10 s.
  // civetweb writes the status line, each header and the body with separate send() calls:
  // without TCP_NODELAY, Nagle's algorithm holds the body back until the client's delayed ACK,
  // 40 ms per keep-alive request.
  // clang-format off
  const std::array<const char*, 15> options = {
      "listening_ports", where.c_str(), "num_threads", "32", "request_timeout_ms", "10000",
      "enable_keep_alive", "yes", "keep_alive_timeout_ms", "2000", "listen_backlog", "64",
      "tcp_nodelay", "1", nullptr};
  // clang-format on
  mg_callbacks callbacks{};
  callbacks.log_message = quiet_log;
  callbacks.init_thread = lower_priority;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = const_cast<const char**>(options.data());
  std::array<char, 256> text{};
  unsigned code = 0;
  mg_error_data error{};
  error.code = &code;
  error.text = text.data();
  error.text_buffer_size = text.size();
  context_ = mg_start2(&init, &error);
  if (context_ == nullptr) {
    throw usage_error("http.listen \"" + where + "\": cannot listen there (" + std::string(text.data()) +
                      ")");
  }
  mg_set_request_handler(context_, "/", handle, this);
  std::array<mg_server_port, 4> ports{};
  const int count = mg_get_server_ports(context_, static_cast<int>(ports.size()), ports.data());
  const int port = count > 0 ? ports[0].port : address.port;
  bound_ = (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(port);
}

HttpServer::~HttpServer() {
  if (context_ != nullptr) mg_stop(context_);
}

}  // namespace retentiond
