#include "retentiond/daemon/scheduler.hpp"

#include <algorithm>
#include <set>

#include "retentiond/core/error.hpp"

namespace retentiond {

Scheduler::Scheduler(const Schedule& default_schedule, std::chrono::seconds jitter, std::uint64_t seed)
    : default_schedule_(default_schedule), jitter_(jitter), random_(seed) {}

Scheduler::TimePoint Scheduler::slot_after(const Schedule& schedule, TimePoint t) {
  TimePoint slot = schedule.next_after(t);
  if (jitter_.count() > 0) {
    std::uniform_int_distribution<std::int64_t> delay(0, jitter_.count());
    slot += std::chrono::seconds(delay(random_));
  }
  return slot;
}

std::vector<std::string> Scheduler::update(const std::vector<Policy>& policies,
                                           const std::map<std::string, TimePoint>& last_started,
                                           TimePoint now, const std::map<std::string, Resume>& resume) {
  std::vector<std::string> invalid;
  std::map<std::string, Entry> next;
  for (const auto& policy : policies) {
    if (!policy.enabled) continue;
    const std::string text = policy.schedule.value_or("");
    std::optional<Schedule> schedule;
    if (text.empty()) {
      schedule = default_schedule_;
    } else {
      try {
        schedule = Schedule::parse(text);
      } catch (const Error&) {
        invalid.push_back(policy.id);
        continue;
      }
    }
    Entry entry{.policy = policy, .schedule = *schedule};
    entry.next_due = now;
    const auto known = entries_.find(policy.id);
    if (known != entries_.end() && !known->second.retired &&
        known->second.schedule.text() == entry.schedule.text()) {
      entry.next_due = known->second.next_due;
      entry.running = known->second.running;
      entry.counted_through = known->second.counted_through;
      entry.failures = known->second.failures;
      entry.retry_at = known->second.retry_at;
      entry.gave_up = known->second.gave_up;
      entry.overlap_reported = known->second.overlap_reported;
    } else if (known != entries_.end() && known->second.running) {
      // Its new schedule applies from the end of the run in progress.
      entry.running = true;
      entry.counted_through = known->second.counted_through;
      entry.overlap_reported = known->second.overlap_reported;
      entry.failures = known->second.failures;
    } else if (const auto last = last_started.find(policy.id); last != last_started.end()) {
      const TimePoint slot = slot_after(entry.schedule, last->second);
      entry.next_due = std::max(slot, now);  // a missed slot: once, now
      if (const auto stored = resume.find(policy.id); stored != resume.end() && stored->second.failures > 0) {
        entry.failures = stored->second.failures;
        entry.gave_up = entry.failures > retry_.max_attempts;
        if (stored->second.retry_at && *stored->second.retry_at < slot) {
          entry.next_due = std::max(*stored->second.retry_at, now);
          entry.retry_at = entry.next_due;
        }
      }
    }
    next.emplace(policy.id, std::move(entry));
  }
  for (auto& [id, entry] : entries_) {
    if (entry.running && !next.contains(id)) {
      entry.retired = true;
      next.emplace(id, std::move(entry));
    }
  }
  entries_ = std::move(next);
  return invalid;
}

std::vector<Policy> Scheduler::start_due(TimePoint now, std::size_t free_slots) {
  std::set<QualifiedName> busy;
  for (const auto& [id, entry] : entries_) {
    if (entry.running) busy.insert(entry.policy.table);
  }
  std::vector<Entry*> due;
  for (auto& [id, entry] : entries_) {
    if (!entry.running && !entry.retired && entry.next_due <= now) due.push_back(&entry);
  }
  std::stable_sort(due.begin(), due.end(),
                   [](const Entry* a, const Entry* b) { return a->next_due < b->next_due; });
  std::vector<Policy> started;
  for (Entry* entry : due) {
    if (started.size() >= free_slots) break;
    if (busy.contains(entry->policy.table)) continue;
    entry->running = true;
    entry->counted_through = now;
    entry->overlap_reported = false;
    busy.insert(entry->policy.table);
    started.push_back(entry->policy);
  }
  return started;
}

std::vector<Scheduler::Overlap> Scheduler::overlapping(TimePoint now) {
  std::vector<Overlap> out;
  for (auto& [id, entry] : entries_) {
    if (!entry.running || entry.retired) continue;
    TimePoint through = entry.counted_through;
    int slots = 0;
    // Bounded: a run of hours on `@every 1s` is counted in one call per loop pass, not slot by
    // slot forever; past 10,000 the rest is counted at the next pass.
    for (TimePoint slot = entry.schedule.next_after(through); slot <= now && slots < 10'000;
         slot = entry.schedule.next_after(slot)) {
      through = slot;
      ++slots;
    }
    if (slots == 0) continue;
    entry.counted_through = through;
    out.push_back({.policy_id = id, .slots = slots, .first = !entry.overlap_reported});
    entry.overlap_reported = true;
  }
  return out;
}

void Scheduler::finished(const std::string& id, TimePoint now, bool failed) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (it->second.retired) {
    entries_.erase(it);
    return;
  }
  Entry& entry = it->second;
  entry.running = false;
  entry.next_due = slot_after(entry.schedule, now);
  entry.retry_at.reset();
  if (!failed) {
    entry.failures = 0;
    entry.gave_up = false;
    return;
  }
  ++entry.failures;
  // A policy that gave up is tried again at its slots; a failure there does not restart the
  // retries (the operator has been told; a nightly failure is one more, not ten).
  if (entry.gave_up) return;
  if (entry.failures > retry_.max_attempts) {
    entry.gave_up = true;
    return;
  }
  auto delay = retry_.initial;
  for (int i = 1; i < entry.failures && delay < retry_.max; ++i) delay *= 2;
  delay = std::min(delay, retry_.max);
  if (delay.count() > 3) {
    std::uniform_int_distribution<std::int64_t> shorten(0, delay.count() / 4);
    delay -= std::chrono::seconds(shorten(random_));
  }
  const TimePoint retry = now + delay;
  if (retry < entry.next_due) {
    entry.next_due = retry;
    entry.retry_at = retry;
  }
}

std::optional<Scheduler::TimePoint> Scheduler::next_due() const {
  std::set<QualifiedName> busy;
  for (const auto& [id, entry] : entries_) {
    if (entry.running) busy.insert(entry.policy.table);
  }
  std::optional<TimePoint> earliest;
  for (const auto& [id, entry] : entries_) {
    if (entry.running || entry.retired || busy.contains(entry.policy.table)) continue;
    if (!earliest || entry.next_due < *earliest) earliest = entry.next_due;
  }
  return earliest;
}

void Scheduler::reconfigure(const Schedule& default_schedule, std::chrono::seconds jitter) {
  default_schedule_ = default_schedule;
  jitter_ = jitter;
}

void Scheduler::forget_idle() {
  std::erase_if(entries_, [](const auto& item) { return !item.second.running; });
}

std::size_t Scheduler::running() const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const auto& e) { return e.second.running; }));
}

}  // namespace retentiond
