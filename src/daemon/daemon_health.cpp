#include <algorithm>

#include <systemd/sd-daemon.h>

#include "daemon_internal.hpp"
#include "retentiond/config/config.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/observe/status_report.hpp"

namespace retentiond::daemon_internal {

void Daemon::notify(const std::string& state) { sd_notifyf(0, "STATUS=%s", state.c_str()); }

void Daemon::set_not_ready(std::optional<std::string> reason) {
  std::lock_guard lock(ready_mutex_);
  not_ready_ = std::move(reason);
}

std::shared_ptr<const Config> Daemon::config_snapshot() {
  std::lock_guard lock(config_mutex_);
  return shared_config_;
}

HttpResponse Daemon::status_document() {
  const auto config = config_snapshot();
  {
    // Known to be down: answer now rather than hold a listener thread for a connect timeout.
    std::lock_guard lock(ready_mutex_);
    if (not_ready_ && not_ready_->starts_with("database unreachable")) {
      return {503, "application/json", status_json_unreachable(config->database.schema, *not_ready_)};
    }
  }
  // One document at a time (it reads the whole catalog); a request meanwhile is told to come
  // back instead of queueing on a listener thread.
  std::unique_lock lock(status_mutex_, std::try_to_lock);
  if (!lock.owns_lock())
    return {503, "text/plain; charset=utf-8", "busy: another /status is being computed\n"};
  std::unique_ptr<pqxx::connection> connection;
  try {
    connection = connect(config->database);
  } catch (const std::exception& e) {
    return {503, "application/json", status_json_unreachable(config->database.schema, first_line(e.what()))};
  }
  try {
    // Bounded: a catalog read stuck behind a lock must not hold the thread for long.
    pqxx::nontransaction(*connection)
        .exec("SET statement_timeout = '10s'; SET lock_timeout = '" +
              std::to_string(std::max<long long>(1, config->database.lock_timeout.seconds().count())) + "s'");
    return {200, "application/json", status_json(read_status(*connection, *config, true))};
  } catch (const std::exception& e) {
    return {500, "text/plain; charset=utf-8", "status: " + first_line(e.what()) + "\n"};
  }
}

void Daemon::start_http() {
  if (!config_.http.enabled) return;
  HttpRoutes routes;
  routes.metrics = [this] { return metrics_.scrape(); };
  routes.alive = [this] { return loop_alive(); };
  routes.not_ready = [this]() -> std::optional<std::string> {
    if (!loop_alive()) return "the scheduling loop has not run for over 2 minutes";
    std::lock_guard lock(ready_mutex_);
    return not_ready_;
  };
  routes.status = [this] { return status_document(); };
  routes.status_token = config_.http.status_token;
  // A listener that cannot start is a configuration error: the daemon exits 2 with one line.
  http_ = std::make_unique<HttpServer>(parse_listen_address(config_.http.listen), std::move(routes));
  log_event(info, LogEvent::http_listening, {{"address", http_->address()}},
            "/metrics /healthz /readyz /status");
}

}  // namespace retentiond::daemon_internal
