// The daemon's event loop as one class whose members are defined by concept in the
// daemon_*.cpp files next to this one; private to src/daemon.
#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "retentiond/config/config.hpp"
#include "retentiond/core/error.hpp"
#include "retentiond/daemon/coordination.hpp"
#include "retentiond/daemon/scheduler.hpp"
#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/engine/stop.hpp"
#include "retentiond/observe/http_server.hpp"
#include "retentiond/observe/metrics.hpp"

namespace retentiond::daemon_internal {

using Clock = std::chrono::system_clock;
using spdlog::level::debug;
using spdlog::level::err;
using spdlog::level::info;
using spdlog::level::warn;
using std::chrono::milliseconds;

inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

inline std::chrono::sys_seconds seconds_now() {
  return std::chrono::floor<std::chrono::seconds>(Clock::now());
}

inline milliseconds to_ms(const Duration& d) { return std::chrono::duration_cast<milliseconds>(d.seconds()); }

// The channel's notifications that name this daemon's schema mark the policies as changed.
class PolicyListener final : public pqxx::notification_receiver {
 public:
  PolicyListener(pqxx::connection& connection, std::string schema, std::atomic<bool>& changed)
      : pqxx::notification_receiver(connection, kPolicyChannel),
        schema_(std::move(schema)),
        changed_(changed) {}
  void operator()(const std::string& payload, int) override {
    if (payload == schema_) changed_ = true;
  }

 private:
  std::string schema_;
  std::atomic<bool>& changed_;
};

// The worker that prunes jobs_log and policy_events; not a policy, never scheduled.
constexpr const char* kAuditWorker = "(audit pruning)";

struct Completion {
  std::string policy_id;
  std::string status;
  std::optional<std::string> error;
};

class Daemon {
 public:
  Daemon(const ConfigSources& sources, const Config& config, bool quiet)
      : sources_(sources),
        config_(config),
        shared_config_(std::make_shared<const Config>(config)),
        quiet_(quiet),
        instance_(JobsLog::this_instance()),
        metrics_(RETENTIOND_VERSION) {}
  ExitCode run();

 private:
  struct Worker {
    std::string policy_id;
    std::thread thread;
    std::atomic<int> backend_pid{0};
    std::atomic<bool> done{false};
    StopRequest stop;            ///< shutdown; the run keeps its max_runtime itself
    bool cancel_logged = false;  ///< main thread only
  };

  void connect_control();
  void enter_standby();
  /// Whether the database is still in recovery (looked at every 2 s); on promotion, starts
  /// listening and working.
  bool still_standby(Clock::time_point now);
  void lose_control(const std::exception& e, bool outage = true);
  void tick();
  /// Takes or renews the leader lease (always leading without ha.enabled).
  void renew_lease(Clock::time_point now);
  /// Re-reads the policies and their stored state into the scheduler: on NOTIFY and every poll_interval.
  void refresh_policies(Clock::time_point now);
  void reap();
  void start(const Policy& policy);
  void start_pruning();
  void work(Worker& worker, std::shared_ptr<const Config> config, Policy policy,
            std::chrono::sys_seconds now);
  void abandon_own_rows(const char* why);
  void reload();
  void begin_shutdown(const char* signal_name);
  void cancel_workers();
  [[nodiscard]] milliseconds wait_time() const;
  void notify(const std::string& state);
  void start_http();
  /// The loop wakes at least once a minute; a loop that has not for two is stuck (in a
  /// database call over a dead network, say), and /healthz says so.
  [[nodiscard]] bool loop_alive() const {
    return std::chrono::steady_clock::now() -
               std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(heartbeat_.load())) <
           std::chrono::minutes(2);
  }
  void set_not_ready(std::optional<std::string> reason);
  [[nodiscard]] std::shared_ptr<const Config> config_snapshot();
  [[nodiscard]] HttpResponse status_document();
  void publish_schedule(const std::string& policy_id);
  Scheduler make_scheduler() const;

  ConfigSources sources_;
  Config config_;  ///< the main thread's; workers get shared_config_, never this
  std::shared_ptr<const Config> shared_config_;  ///< replaced under config_mutex_ (HTTP threads read it)
  std::mutex config_mutex_;
  bool quiet_;
  std::string instance_;
  Metrics metrics_;
  std::mutex ready_mutex_;
  std::optional<std::string> not_ready_ = "starting";  ///< under ready_mutex_
  std::mutex status_mutex_;  ///< one /status document at a time: it reads the whole catalog
  std::atomic<std::chrono::steady_clock::rep> heartbeat_{
      std::chrono::steady_clock::now().time_since_epoch().count()};
  std::unique_ptr<HttpServer> http_;
  std::atomic<bool> stop_{false};

  std::unique_ptr<pqxx::connection> control_;
  std::unique_ptr<PolicyListener> listener_;
  std::atomic<bool> policies_changed_{true};
  std::set<std::string> reported_invalid_;  // invalid rows already logged, so a poll does not repeat them
  bool down_logged_ = false;
  milliseconds backoff_{1000};
  Clock::time_point next_connect_{};
  Clock::time_point next_lease_{};
  Clock::time_point next_poll_{};
  Clock::time_point stop_deadline_{};
  Clock::time_point next_watchdog_{};
  Clock::time_point next_prune_{};  ///< audit pruning: at the first leadership, then daily
  bool pruning_ = false;
  bool standby_ = false;  ///< the database is a hot standby: nothing is done until promotion
  bool standby_logged_ = false;
  Clock::time_point next_recovery_check_{};
  milliseconds watchdog_interval_{0};
  bool leading_ = false;
  bool ready_sent_ = false;
  bool orphans_pending_ = false;

  std::optional<Scheduler> scheduler_;
  std::list<Worker> workers_;
  std::mutex completions_mutex_;
  std::vector<Completion> completions_;
  int wake_fd_ = -1;
};

[[nodiscard]] Scheduler::RetryPolicy retry_policy(const Config& config);

}  // namespace retentiond::daemon_internal
