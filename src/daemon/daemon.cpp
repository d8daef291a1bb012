#include "retentiond/daemon/daemon.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <list>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "retentiond/core/logging.hpp"
#include "retentiond/core/time.hpp"
#include "retentiond/daemon/coordination.hpp"
#include "retentiond/daemon/scheduler.hpp"
#include "retentiond/db/audit_pruning.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/db/table_lock.hpp"
#include "retentiond/db/policy_store.hpp"
#include "retentiond/db/schema.hpp"
#include "retentiond/dialect/dialect.hpp"
#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/engine/run.hpp"
#include "retentiond/observe/http_server.hpp"
#include "retentiond/observe/metrics.hpp"
#include "retentiond/observe/status_report.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {
namespace {

using Clock = std::chrono::system_clock;
using spdlog::level::debug;
using spdlog::level::err;
using spdlog::level::info;
using spdlog::level::warn;
using std::chrono::milliseconds;

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

std::chrono::sys_seconds seconds_now() { return std::chrono::floor<std::chrono::seconds>(Clock::now()); }

milliseconds to_ms(const Duration& d) { return std::chrono::duration_cast<milliseconds>(d.seconds()); }

// Remembers how a policy's run went, for policy_state and the log.
class Outcome final : public MetricsObserver {
 public:
  explicit Outcome(Metrics& metrics) : MetricsObserver(metrics) {}
  void finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) override {
    MetricsObserver::finished(plan, results);
    if (plan.error && !error) error = *plan.error;
    for (const auto& r : results) {
      if (r.outcome.status == "abandoned") abandoned = true;
      // Never started because the daemon is stopping: the run was cut short, not done.
      if (r.outcome.status == "skipped" && r.outcome.error &&
          r.outcome.error->find("shutting down") != std::string::npos) {
        abandoned = true;
      }
      if (r.outcome.status == "failed" && !error) error = r.outcome.error.value_or("failed");
    }
  }
  std::optional<std::string> error;
  bool abandoned = false;
};

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

Scheduler::RetryPolicy retry_policy(const Config& config) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  return {.initial = std::max(seconds(1), duration_cast<seconds>(config.retry.initial.seconds())),
          .max = std::max(seconds(1), duration_cast<seconds>(config.retry.max.seconds())),
          .max_attempts = config.retry.max_attempts};
}

Scheduler Daemon::make_scheduler() const {
  Scheduler scheduler(Schedule::parse(config_.scheduler.default_schedule),
                      std::chrono::duration_cast<std::chrono::seconds>(config_.scheduler.jitter.seconds()),
                      std::hash<std::string>{}(instance_));
  scheduler.set_retry_policy(retry_policy(config_));
  return scheduler;
}

void Daemon::notify(const std::string& state) { sd_notifyf(0, "STATUS=%s", state.c_str()); }

void Daemon::set_not_ready(std::optional<std::string> reason) {
  std::lock_guard lock(ready_mutex_);
  not_ready_ = std::move(reason);
}

std::shared_ptr<const Config> Daemon::config_snapshot() {
  std::lock_guard lock(config_mutex_);
  return shared_config_;
}

void Daemon::publish_schedule(const std::string& policy_id) {
  const auto it = scheduler_->entries().find(policy_id);
  if (it == scheduler_->entries().end() || it->second.retired) return;
  const Schedule& schedule = it->second.schedule;
  // Between two clean slots: next_due carries this instance's jitter.
  const auto first = schedule.next_after(it->second.next_due);
  const auto second = schedule.next_after(first);
  metrics_.schedule(policy_id, it->second.next_due, second - first);
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

void Daemon::connect_control() {
  try {
    control_ = connect(config_.database);
    try {
      require_current_schema(*control_, config_.database.schema);
    } catch (const Error& e) {
      lose_control(e, false);
      return;
    }
    pqxx::nontransaction(*control_).exec("SET application_name = " +
                                         control_->quote("retentiond " + instance_ + " control"));
    // A standby refuses LISTEN as it refuses every write: listen once it is promoted.
    if (in_recovery(*control_)) {
      standby_ = true;
      enter_standby();
    } else {
      listener_ = std::make_unique<PolicyListener>(*control_, config_.database.schema, policies_changed_);
      standby_ = false;
      standby_logged_ = false;  // a later standby spell is logged again
    }
    if (down_logged_) log_event(info, LogEvent::database_reconnected, {}, "the database is reachable again");
    down_logged_ = false;
    metrics_.database_up(true);
    if (!standby_) set_not_ready(stop_ ? std::optional<std::string>("stopping") : std::nullopt);
    backoff_ = milliseconds(1000);
    policies_changed_ = true;
    orphans_pending_ = true;
    if (!ready_sent_) {
      sd_notify(0, "READY=1");
      ready_sent_ = true;
      log_event(info, LogEvent::daemon_ready,
                {{"instance", instance_}, {"schema", config_.database.schema}, {"ha", config_.ha.enabled}});
    }
  } catch (const std::exception& e) {
    lose_control(e);
  }
}

void Daemon::enter_standby() {
  // Nothing to do on a standby: no lease, no runs, not ready. Looked at again every 2 s, so a
  // promotion is noticed within seconds and work starts by itself.
  next_recovery_check_ = Clock::now() + milliseconds(2000);
  if (!stop_) set_not_ready("the database is a hot standby (in recovery): waiting for promotion");
  if (!standby_logged_) {
    log_event(warn, LogEvent::database_standby, {{"instance", instance_}},
              "connected to a hot standby: doing nothing until it is promoted");
    notify("database is a standby; waiting for promotion");
    standby_logged_ = true;
  }
}

bool Daemon::still_standby(Clock::time_point now) {
  if (now < next_recovery_check_) return true;
  next_recovery_check_ = now + milliseconds(2000);
  if (in_recovery(*control_)) return true;
  log_event(info, LogEvent::database_promoted, {{"instance", instance_}},
            "the database left recovery; starting work");
  listener_ = std::make_unique<PolicyListener>(*control_, config_.database.schema, policies_changed_);
  standby_ = false;  // only once the listener exists: without it, changes would wait for a poll
  standby_logged_ = false;
  policies_changed_ = true;
  set_not_ready(stop_ ? std::optional<std::string>("stopping") : std::nullopt);
  notify("running");
  return false;
}

void Daemon::lose_control(const std::exception& e, bool outage) {
  listener_.reset();
  control_.reset();
  metrics_.database_up(false);
  metrics_.leader(false);
  // A schema that is missing or outdated is not an outage: the reason says which it is.
  if (!stop_) set_not_ready((outage ? "database unreachable: " : "") + first_line(e.what()));
  if (leading_) log_event(warn, LogEvent::leader_lost, {{"instance", instance_}}, "no database connection");
  leading_ = false;
  if (!down_logged_) {
    // Once per outage, not once per retry: a night of outage is one line, and its end another.
    log_event(err, LogEvent::database_unreachable, {{"error", first_line(e.what())}},
              "retrying every few seconds");
    notify("database unreachable, retrying");
    down_logged_ = true;
  }
  next_connect_ = Clock::now() + backoff_;
  // Capped low: an outage costs one connection attempt per 3 s, and the schedule (and
  // /readyz) come back within 3 s of the database's return.
  backoff_ = std::min(backoff_ * 2, milliseconds(3'000));
}

void Daemon::tick() {
  const auto now = Clock::now();
  if (!control_) {
    if (now >= next_connect_) connect_control();
    if (!control_) return;
  }
  try {
    if (standby_) {
      reap();  // runs begun while this was a primary still finish and are accounted for
      if (still_standby(now)) return;
    }
    control_->get_notifs();
    // Renewed while stopping too: the lease must outlive the runs still finishing.
    if (now >= next_lease_) {
      const bool was = leading_;
      next_lease_ = now + milliseconds(1000);  // a failing query must not spin; set below
      leading_ =
          !config_.ha.enabled || LeaderLease(config_.database.schema, instance_, to_ms(config_.ha.lease_ttl))
                                     .acquire_or_renew(*control_);
      if (leading_ != was) {
        if (leading_) {
          log_event(info, LogEvent::leader_acquired, {{"instance", instance_}});
          // What this daemon planned while following is stale: take the last runs as stored.
          scheduler_->forget_idle();
          policies_changed_ = true;
        } else {
          log_event(info, LogEvent::leader_lost, {{"instance", instance_}}, "another daemon leads");
        }
        notify(leading_ ? "leading" : "following");
        metrics_.leader(leading_);
      }
      // The leader renews at a third of the ttl; followers look every second, so a dead
      // leader is replaced within lease_ttl plus a second.
      const auto ttl = to_ms(config_.ha.lease_ttl);
      next_lease_ =
          now + (leading_ ? std::max(ttl / 3, milliseconds(200)) : std::min(ttl / 3, milliseconds(1000)));
    }
    if (policies_changed_ || now >= next_poll_) {
      const bool notified = policies_changed_.exchange(false);
      next_poll_ = now + to_ms(config_.scheduler.poll_interval);  // a failing query must not spin
      const auto policies = PolicyStore(*control_, config_.database.schema).list();
      const auto stored = PolicyStateStore(config_.database.schema).read(*control_);
      std::map<std::string, Scheduler::TimePoint> last;
      std::map<std::string, Scheduler::Resume> resume;
      for (const auto& [id, state] : stored) {
        if (state.last_started) last.emplace(id, *state.last_started);
        resume.emplace(id, Scheduler::Resume{state.failures, state.next_retry});
      }
      // A row that does not parse never runs (it has no meaningful ttl or strategy); the others do.
      std::vector<Policy> runnable;
      std::set<std::string> now_invalid;
      for (const auto& policy : policies) {
        if (!policy.invalid_reason) {
          runnable.push_back(policy);
          continue;
        }
        now_invalid.insert(policy.id);
        if (!reported_invalid_.contains(policy.id)) {
          log_event(err, LogEvent::policy_invalid, {{"policy", policy.id}, {"reason", *policy.invalid_reason}},
                    "the stored policy is invalid; it will not run until it is fixed");
        }
      }
      reported_invalid_ = std::move(now_invalid);
      const auto invalid = scheduler_->update(runnable, last, seconds_now(), resume);
      for (const auto& id : invalid) {
        log_event(err, LogEvent::policy_invalid_schedule, {{"policy", id}},
                  "its schedule does not parse; it will not run");
      }
      metrics_.policies(policies, scheduler_->running());
      for (const auto& id : invalid) metrics_.unscheduled(id);
      for (const auto& id : reported_invalid_) metrics_.unscheduled(id);
      for (const auto& [id, state] : stored) {
        if (state.last_succeeded) metrics_.last_success(id, *state.last_succeeded);
      }
      for (const auto& [id, entry] : scheduler_->entries()) publish_schedule(id);
      log_event(notified ? info : debug, LogEvent::policies_reloaded,
                {{"reason", notified ? "change" : "poll"}, {"scheduled", scheduler_->entries().size()}});
    }
    if (orphans_pending_ && workers_.empty()) {
      // Rows this process left `running` when an outage cut its runs off.
      abandon_own_rows("the database connection was lost");
      orphans_pending_ = false;
    }
    reap();
    for (const auto& overlap : scheduler_->overlapping(seconds_now())) {
      metrics_.runs_skipped(overlap.policy_id, overlap.slots);
      if (overlap.first) {
        log_event(info, LogEvent::policy_run_skipped,
                  {{"policy", overlap.policy_id}, {"slots", overlap.slots}},
                  "due while its previous run is still going; not queued");
      }
    }
    if (leading_ && !stop_) {
      const auto limit = static_cast<std::size_t>(std::max(1, config_.scheduler.max_concurrent_jobs));
      const auto busy = scheduler_->running();
      if (busy < limit) {
        for (const auto& policy : scheduler_->start_due(seconds_now(), limit - busy)) start(policy);
      }
      if (!pruning_ && now >= next_prune_) start_pruning();
    }
    // A NOTIFY that arrived during the queries above is buffered in libpq, not on the socket:
    // collect it now, or poll() would sleep past it.
    control_->get_notifs();
  } catch (const pqxx::broken_connection& e) {
    lose_control(e);
  } catch (const std::exception& e) {
    // A query of the loop itself failed (a lock, a hand-edited row): log it and carry on.
    log_event(err, LogEvent::daemon_error, {{"error", first_line(e.what())}});
    if (!control_ || !control_->is_open()) lose_control(e);
  }
}

void Daemon::start(const Policy& policy) {
  // No database work here: the scheduler has marked the policy running, and only a finished
  // worker unmarks it, so nothing may fail between the two.
  const auto due = scheduler_->entries().at(policy.id).next_due;
  const auto late = std::chrono::duration_cast<milliseconds>(Clock::now() - due);
  log_event(info, LogEvent::policy_starting,
            {{"policy", policy.id},
             {"table", policy.table.display()},
             {"due", format_instant(due)},
             {"late_ms", std::max<std::int64_t>(0, late.count())}});
  Worker& worker = workers_.emplace_back();
  worker.policy_id = policy.id;
  if (const auto limit = policy.options.find("max_runtime"); limit != policy.options.end()) {
    // Validated when the policy was written; a hand-edited row that does not parse means none.
    try {
      worker.stop.deadline = std::chrono::steady_clock::now() + Duration::parse(limit->second).seconds();
      worker.stop.max_runtime = limit->second;
    } catch (const Error&) {
    }
  }
  if (stop_) worker.stop.cause = StopCause::shutdown;
  metrics_.running(scheduler_->running());
  try {
    worker.thread = std::thread([this, &worker, config = shared_config_, policy, now = seconds_now()] {
      work(worker, config, policy, now);
    });
  } catch (const std::system_error& e) {
    workers_.pop_back();
    scheduler_->finished(policy.id, seconds_now());
    log_event(err, LogEvent::policy_not_started, {{"policy", policy.id}, {"error", e.what()}});
  }
}

void Daemon::work(Worker& worker, std::shared_ptr<const Config> config_ptr, Policy policy,
                  std::chrono::sys_seconds now) {
  const Config& config = *config_ptr;
  const auto started = std::chrono::steady_clock::now();
  Completion done{.policy_id = policy.id, .status = "succeeded", .error = std::nullopt};
  try {
    auto connection = connect(config.database);
    worker.backend_pid = connection->backendpid();
    // Whatever the lease says during a hand-over, a table is worked on in one session at a
    // time: the lock goes with the session, so a daemon killed mid-run frees it at once.
    if (!try_lock_table(*connection, config.database.schema, policy.table)) {
      done.status = "skipped";
      done.error = "another session is working on " + policy.table.display();
    } else {
      PolicyStateStore(config.database.schema).started(*connection, policy.id, instance_);
      const auto dialect = make_dialect(config.database.dialect, *connection);
      RunRequest request;
      request.policy_ids = {policy.id};
      request.now = now;
      request.stop = &worker.stop;
      Outcome outcome(metrics_);
      const RunSummary summary = run_once(*connection, config, *dialect, request, outcome);
      done.error = outcome.error;
      done.status = outcome.abandoned ? "abandoned" : summary.any_failed() ? "failed" : "succeeded";
      // Out of time with work left (the last action finished, but later ones never started):
      // a failure, so the retry schedule takes it up.
      if (done.status == "succeeded" && worker.stop.timed_out() && summary.succeeded < summary.planned) {
        done.status = "failed";
        done.error = "the run reached max_runtime " + worker.stop.max_runtime;
      }
      log_event(info, LogEvent::policy_finished,
                {{"policy", policy.id},
                 {"status", done.status},
                 {"table", policy.table.display()},
                 {"planned", summary.planned},
                 {"succeeded", summary.succeeded},
                 {"failed", summary.failed},
                 {"skipped", summary.skipped},
                 {"duration_ms", elapsed_ms(started)}});
    }
    worker.backend_pid = 0;  // before the session ends: a cancel must never reach a reused pid
  } catch (const std::exception& e) {
    worker.backend_pid = 0;
    done.status = "failed";
    done.error = first_line(e.what());
    metrics_.run_failed(policy.id, policy.strategy);
    log_event(err, LogEvent::policy_failed,
              {{"policy", policy.id}, {"table", policy.table.display()}, {"error", *done.error}});
  }
  {
    std::lock_guard lock(completions_mutex_);
    completions_.push_back(std::move(done));
  }
  worker.done = true;
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void Daemon::start_pruning() {
  // On a thread of its own: a first pruning of millions of rows takes seconds, and the loop
  // must go on renewing the lease meanwhile.
  Worker& worker = workers_.emplace_back();
  worker.policy_id = kAuditWorker;
  pruning_ = true;
  const auto config = shared_config_;
  try {
    worker.thread = std::thread([this, &worker, config] {
      Completion done{.policy_id = kAuditWorker, .status = "succeeded", .error = std::nullopt};
      const auto started = std::chrono::steady_clock::now();
      try {
        auto connection = connect(config->database);
        worker.backend_pid = connection->backendpid();
        const auto cutoff = config->audit.keep.before(seconds_now());
        const AuditPruned pruned = prune_audit(*connection, config->database.schema, cutoff, 10'000, &stop_);
        worker.backend_pid = 0;
        log_event(info, LogEvent::audit_pruned,
                  {{"jobs_log", pruned.jobs_log},
                   {"policy_events", pruned.policy_events},
                   {"before", format_instant(cutoff)},
                   {"duration_ms", elapsed_ms(started)}});
      } catch (const std::exception& e) {
        worker.backend_pid = 0;
        done.status = "failed";
        done.error = first_line(e.what());
        log_event(err, LogEvent::audit_prune_failed, {{"error", *done.error}}, "trying again in an hour");
      }
      {
        std::lock_guard lock(completions_mutex_);
        completions_.push_back(std::move(done));
      }
      worker.done = true;
      const std::uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);
    });
  } catch (const std::system_error&) {
    workers_.pop_back();
    pruning_ = false;
    next_prune_ = Clock::now() + std::chrono::hours(1);
  }
}

void Daemon::reap() {
  std::vector<Completion> finished;
  {
    std::lock_guard lock(completions_mutex_);
    finished.swap(completions_);
  }
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  metrics_.running(scheduler_->running());
  for (const auto& c : finished) {
    if (c.policy_id == kAuditWorker) {
      pruning_ = false;
      next_prune_ = Clock::now() + (c.status == "succeeded" ? std::chrono::hours(24) : std::chrono::hours(1));
      continue;
    }
    scheduler_->finished(c.policy_id, seconds_now(), c.status == "failed");
    publish_schedule(c.policy_id);
    const auto entry = scheduler_->entries().find(c.policy_id);
    if (entry == scheduler_->entries().end()) continue;
    const Scheduler::Entry& e = entry->second;
    if (e.retry_at) {
      metrics_.retry_scheduled(c.policy_id);
      log_event(warn, LogEvent::policy_retry_scheduled,
                {{"policy", c.policy_id},
                 {"attempt", e.failures},
                 {"at", format_instant(*e.retry_at)},
                 {"error", c.error.value_or("")}});
    } else if (e.gave_up && e.failures == config_.retry.max_attempts + 1) {
      log_event(err, LogEvent::policy_gave_up, {{"policy", c.policy_id}, {"failures", e.failures}},
                "retry.max_attempts reached; it runs again at its next slot");
    }
    metrics_.gave_up(c.policy_id, e.gave_up);
    if (!control_) continue;
    try {
      PolicyStateStore(config_.database.schema)
          .finished(*control_, c.policy_id, c.status, c.error, e.next_due, e.failures, e.retry_at);
      // Only once stored: the next poll reads it back, and a gauge must not jump back in time.
      if (c.status == "succeeded") metrics_.last_success(c.policy_id, seconds_now());
    } catch (const std::exception& e) {
      log_event(warn, LogEvent::policy_state_not_recorded,
                {{"policy", c.policy_id}, {"error", first_line(e.what())}});
    }
  }
}

void Daemon::reload() {
  try {
    const Config fresh = load_config(sources_);
    std::vector<std::string> changed;
    if (fresh.log.level != config_.log.level) {
      if (!quiet_) spdlog::set_level(spdlog::level::from_str(fresh.log.level));
      changed.push_back("log.level=" + fresh.log.level);
    }
    const bool schedule_changed = fresh.scheduler.default_schedule != config_.scheduler.default_schedule ||
                                  fresh.scheduler.jitter.seconds() != config_.scheduler.jitter.seconds();
    if (fresh.scheduler.default_schedule != config_.scheduler.default_schedule) {
      changed.push_back("scheduler.default_schedule=" + fresh.scheduler.default_schedule);
    }
    if (fresh.scheduler.jitter.seconds() != config_.scheduler.jitter.seconds())
      changed.push_back("scheduler.jitter");
    if (fresh.scheduler.max_concurrent_jobs != config_.scheduler.max_concurrent_jobs) {
      changed.push_back("scheduler.max_concurrent_jobs=" +
                        std::to_string(fresh.scheduler.max_concurrent_jobs));
    }
    if (fresh.scheduler.poll_interval.seconds() != config_.scheduler.poll_interval.seconds()) {
      changed.push_back("scheduler.poll_interval");
    }
    if (fresh.scheduler.shutdown_timeout.seconds() != config_.scheduler.shutdown_timeout.seconds()) {
      changed.push_back("scheduler.shutdown_timeout");
    }
    if (fresh.database.url != config_.database.url || fresh.database.schema != config_.database.schema ||
        fresh.database.password_file != config_.database.password_file ||
        fresh.ha.enabled != config_.ha.enabled || fresh.http.enabled != config_.http.enabled ||
        fresh.http.listen != config_.http.listen || fresh.http.status_token != config_.http.status_token) {
      log_event(warn, LogEvent::config_restart_needed, {},
                "database.*, ha.enabled and http.* change only on restart");
    }
    // What the running daemon cannot change keeps its old value; the rest applies now.
    Config applied = fresh;
    applied.database = config_.database;
    applied.ha.enabled = config_.ha.enabled;
    applied.http = config_.http;
    config_ = applied;
    {
      std::lock_guard lock(config_mutex_);
      shared_config_ = std::make_shared<const Config>(applied);
    }
    scheduler_->set_retry_policy(retry_policy(config_));
    if (schedule_changed) {
      scheduler_->reconfigure(
          Schedule::parse(config_.scheduler.default_schedule),
          std::chrono::duration_cast<std::chrono::seconds>(config_.scheduler.jitter.seconds()));
      policies_changed_ = true;
    }
    log_event(info, LogEvent::config_reloaded, {{"changed", fmt::format("[{}]", fmt::join(changed, ","))}});
  } catch (const std::exception& e) {
    log_event(err, LogEvent::config_reload_failed, {{"error", first_line(e.what())}},
              "keeping the running configuration");
  }
}

void Daemon::begin_shutdown(const char* signal_name) {
  if (stop_) return;
  stop_ = true;
  for (auto& worker : workers_) {
    auto none = StopCause::none;
    worker.stop.cause.compare_exchange_strong(none, StopCause::shutdown);
  }
  stop_deadline_ = Clock::now() + to_ms(config_.scheduler.shutdown_timeout);
  // A load balancer stops sending work here; the listener stays up until the process ends.
  set_not_ready("stopping");
  log_event(info, LogEvent::daemon_stopping,
            {{"signal", signal_name},
             {"running", workers_.size()},
             {"shutdown_timeout_ms", to_ms(config_.scheduler.shutdown_timeout).count()}},
            "no new work; running actions may finish");
  sd_notify(0, "STOPPING=1");
}

void Daemon::cancel_workers() {
  // Sent again on every pass (every 200 ms) until the worker is done: the server ignores a
  // cancel that arrives between two statements, and a worker may be between two statements.
  for (auto& worker : workers_) {
    const int pid = worker.backend_pid;
    if (pid == 0 || worker.done || !control_ || standby_) continue;
    if (!worker.cancel_logged) {
      log_event(warn, LogEvent::job_cancelling, {{"policy", worker.policy_id}}, "shutdown_timeout passed");
      worker.cancel_logged = true;
    }
    worker.stop.cancelled = true;
    try {
      pqxx::nontransaction tx(*control_);
      tx.exec_params("SELECT pg_cancel_backend($1)", pid);
      // A snapshot's COPY streams on a session of its own.
      if (const int side = worker.stop.side_backend_pid; side != 0) {
        tx.exec_params("SELECT pg_cancel_backend($1)", side);
      }
    } catch (const std::exception& e) {
      log_event(err, LogEvent::job_cancel_failed,
                {{"policy", worker.policy_id}, {"error", first_line(e.what())}});
    }
  }
}

void Daemon::abandon_own_rows(const char* why) {
  if (!control_ || standby_) return;
  try {
    pqxx::work tx(*control_);
    const auto result =
        tx.exec_params("UPDATE " + quote_identifier(config_.database.schema) +
                           ".jobs_log SET status = 'abandoned', finished_at = now(), error = $2"
                           " WHERE status = 'running' AND instance = $1",
                       instance_, std::string(why));
    tx.commit();
    if (result.affected_rows() > 0) {
      log_event(warn, LogEvent::jobs_abandoned, {{"count", result.affected_rows()}, {"instance", instance_}},
                why);
    }
  } catch (const std::exception& e) {
    log_event(err, LogEvent::jobs_abandon_failed, {{"error", first_line(e.what())}});
  }
}

milliseconds Daemon::wait_time() const {
  const auto now = Clock::now();
  auto until = now + milliseconds(60'000);
  const auto earlier = [&](Clock::time_point t) { until = std::min(until, t); };
  if (!control_) {
    earlier(next_connect_);
  } else if (standby_) {
    earlier(next_recovery_check_);  // nothing else happens on a standby
  } else {
    if (policies_changed_) return milliseconds(0);
    earlier(next_poll_);
    earlier(next_lease_);
    const auto limit = static_cast<std::size_t>(std::max(1, config_.scheduler.max_concurrent_jobs));
    // With every slot taken, a finished worker (eventfd) is what can make room, not the clock.
    if (leading_ && !stop_ && scheduler_ && scheduler_->running() < limit) {
      if (const auto due = scheduler_->next_due()) earlier(Clock::time_point(*due));
    }
  }
  if (stop_) earlier(now >= stop_deadline_ ? now + milliseconds(200) : stop_deadline_);
  if (watchdog_interval_.count() > 0) earlier(next_watchdog_);
  return std::max(milliseconds(0), std::chrono::ceil<milliseconds>(until - now));
}

ExitCode Daemon::run() {
  // Signals arrive as readable data on a descriptor the loop polls, never as handlers running
  // in the middle of a libpq call. Blocked before any thread exists, so every thread inherits it.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (signal_fd < 0 || wake_fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "signalfd/eventfd");

  scheduler_ = make_scheduler();
  prepare_libpq_environment(config_.database);  // before the listener's threads exist
  start_http();
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_interval_ = milliseconds(usec / 2000);
  log_event(info, LogEvent::daemon_starting,
            {{"instance", instance_},
             {"max_concurrent_jobs", config_.scheduler.max_concurrent_jobs},
             {"default_schedule", config_.scheduler.default_schedule}});

  for (;;) {
    heartbeat_ = std::chrono::steady_clock::now().time_since_epoch().count();
    tick();
    if (stop_) {
      reap();
      if (workers_.empty()) break;
      if (Clock::now() >= stop_deadline_) cancel_workers();
      if (Clock::now() >= stop_deadline_ + milliseconds(10'000)) {
        // A worker that even a cancel cannot stop (a dead network, a statement deaf to cancels):
        // do not wait for systemd's SIGKILL; record what is known and leave.
        log_event(err, LogEvent::daemon_stop_forced, {{"running", workers_.size()}},
                  "workers did not stop 10 s after the cancel");
        abandon_own_rows("the daemon stopped before the action finished");
        if (control_ && leading_ && config_.ha.enabled) {
          try {
            LeaderLease(config_.database.schema, instance_, to_ms(config_.ha.lease_ttl)).release(*control_);
          } catch (const std::exception&) {
          }
        }
        spdlog::default_logger()->flush();
        std::_Exit(0);
      }
    }
    if (watchdog_interval_.count() > 0 && Clock::now() >= next_watchdog_) {
      sd_notify(0, "WATCHDOG=1");
      next_watchdog_ = Clock::now() + watchdog_interval_;
    }
    pollfd fds[3] = {{signal_fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
    if (control_ && control_->sock() >= 0) fds[2].fd = control_->sock();
    const int ready = ::poll(fds, 3, static_cast<int>(wait_time().count()));
    if (ready <= 0) continue;
    if (fds[1].revents & POLLIN) {
      std::uint64_t count = 0;
      (void)!::read(wake_fd_, &count, sizeof count);
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGHUP) {
          reload();
        } else {
          begin_shutdown(info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        }
      }
    }
  }
  reap();
  // Every worker is done: a row of this process still `running` was cut off (an outage).
  abandon_own_rows("the daemon stopped before the action finished");
  if (control_ && leading_ && config_.ha.enabled) {
    try {
      LeaderLease(config_.database.schema, instance_, to_ms(config_.ha.lease_ttl)).release(*control_);
      log_event(info, LogEvent::leader_released, {{"instance", instance_}});
    } catch (const std::exception& e) {
      log_event(warn, LogEvent::leader_release_failed, {{"error", first_line(e.what())}});
    }
  }
  ::close(signal_fd);
  ::close(wake_fd_);
  log_event(info, LogEvent::daemon_stopped, {{"instance", instance_}});
  return ExitCode::ok;
}

}  // namespace

ExitCode run_daemon(const ConfigSources& sources, const Config& config, bool quiet) {
  // The default schedule is used for every policy without one: a bad one is a usage error now,
  // not a daemon that never runs anything.
  (void)Schedule::parse(config.scheduler.default_schedule);
  Daemon daemon(sources, config, quiet);
  return daemon.run();
}

}  // namespace retentiond
