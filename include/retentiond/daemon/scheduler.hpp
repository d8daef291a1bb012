#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "retentiond/policy/policy.hpp"
#include "retentiond/policy/schedule.hpp"

namespace retentiond {

/// The daemon's timetable: when each enabled policy is next due, and which due policies may
/// start now given the concurrency bound and the rule that two runs never touch one table at
/// once. Pure: the caller passes the time, so every decision is tested without sleeping.
class Scheduler {
 public:
  using TimePoint = std::chrono::sys_seconds;

  /// How failed runs are retried (the retry.* keys). max_attempts 0: never.
  struct RetryPolicy {
    std::chrono::seconds initial{30};
    std::chrono::seconds max{1800};
    int max_attempts = 10;
  };

  struct Entry {
    Policy policy;
    Schedule schedule;
    TimePoint next_due{};
    bool running = false;
    /// Removed or disabled while running: kept (its table stays busy) until the run ends.
    bool retired = false;
    /// While running: the run's start, then the last slot reported by overlapping().
    TimePoint counted_through{};
    bool overlap_reported = false;        ///< this run has had an overlap reported
    int failures = 0;                     ///< consecutive failed runs; a success resets it
    std::optional<TimePoint> retry_at{};  ///< next_due is a retry, not a slot
    bool gave_up = false;                 ///< failed max_attempts retries in a row; back at the next slot
  };

  /// A policy whose slots came while its previous run was still going.
  struct Overlap {
    std::string policy_id;
    int slots = 0;       ///< slots passed since the last call (each is skipped, never queued)
    bool first = false;  ///< the first overlap of this run: worth a log line
  };

  /// `default_schedule` serves policies without one; each due time gets a random delay in
  /// [0, jitter] so that many daemons' policies do not all hit the database on the same second.
  Scheduler(const Schedule& default_schedule, std::chrono::seconds jitter, std::uint64_t seed);

  /// Replaces the set of policies (disabled ones are dropped). A policy already known keeps
  /// its due time unless its schedule changed. Any other is due at its first slot after
  /// `last_started` (its last run, by any daemon) when that is known, else at `now`: a slot
  /// missed while no daemon ran is made up once, not once per missed slot. Returns the ids of
  /// policies whose stored schedule does not parse (they are left out).
  /// The retry state stored for a policy (policy_state), so that a new leader carries on the
  /// retries of the old one.
  struct Resume {
    int failures = 0;
    std::optional<TimePoint> retry_at{};
  };
  std::vector<std::string> update(const std::vector<Policy>& policies,
                                  const std::map<std::string, TimePoint>& last_started, TimePoint now,
                                  const std::map<std::string, Resume>& resume = {});

  /// Marks and returns the policies to start at `now`: due, not running, their table not
  /// busy with another run, at most `free_slots`, earliest due first.
  std::vector<Policy> start_due(TimePoint now, std::size_t free_slots);

  /// Slots of running policies that have come by `now` since the last call. They are skipped:
  /// a run is never queued behind its own previous run, which would make a slow policy run
  /// back to back forever. finished() schedules the first slot after the run.
  std::vector<Overlap> overlapping(TimePoint now);

  /// A run of `id` ended at `now`: it is next due at its first slot after `now`, or, when it
  /// failed, at a retry if that comes earlier: retry.initial after the first failure, doubling
  /// up to retry.max, each shortened by a random quarter at most so that many failing
  /// policies do not retry in step; at most retry.max_attempts retries in a row, then it waits
  /// for its slots (gave_up). Unknown ids (removed while running) are ignored.
  void finished(const std::string& id, TimePoint now, bool failed = false);
  void set_retry_policy(const RetryPolicy& retry) { retry_ = retry; }

  /// The earliest due time of an idle policy whose table is free, if any: when start_due can
  /// next return something without a run finishing first.
  [[nodiscard]] std::optional<TimePoint> next_due() const;

  /// New defaults (SIGHUP). Running entries stay running; policies on the default schedule
  /// get their due time from the next update().
  void reconfigure(const Schedule& default_schedule, std::chrono::seconds jitter);

  /// Forgets the due times of idle policies, so that the next update() takes them from the
  /// stored last runs: a daemon that just became leader continues from what the old leader
  /// did, rather than from what it planned while following.
  void forget_idle();
  [[nodiscard]] std::size_t running() const;
  [[nodiscard]] const std::map<std::string, Entry>& entries() const { return entries_; }

 private:
  TimePoint slot_after(const Schedule& schedule, TimePoint t);

  Schedule default_schedule_;
  std::chrono::seconds jitter_;
  RetryPolicy retry_;
  std::mt19937_64 random_;
  std::map<std::string, Entry> entries_;
};

}  // namespace retentiond
