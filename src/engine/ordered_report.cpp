#include "retentiond/engine/ordered_report.hpp"

namespace retentiond {

OrderedReport::OrderedReport(RunObserver& observer, std::size_t policies)
    : observer_(observer), waiting_(policies) {}

void OrderedReport::executing(const PolicyPlan& plan) {
  const std::scoped_lock lock(mutex_);
  observer_.executing(plan);
}

void OrderedReport::action_finished(const ActionResult& result) {
  const std::scoped_lock lock(mutex_);
  observer_.action_finished(result);
}

void OrderedReport::done(std::size_t index, PolicyPlan plan, std::vector<ActionResult> results) {
  const std::scoped_lock lock(mutex_);
  if (index != next_) {
    waiting_.at(index).emplace(Done{std::move(plan), std::move(results)});
    return;
  }
  report(Done{std::move(plan), std::move(results)});
  for (++next_; next_ < waiting_.size() && waiting_[next_]; ++next_) {
    report(*waiting_[next_]);
    waiting_[next_].reset();
  }
}

void OrderedReport::flush_held() {
  const std::scoped_lock lock(mutex_);
  for (; next_ < waiting_.size(); ++next_) {
    if (!waiting_[next_]) continue;
    report(*waiting_[next_]);
    waiting_[next_].reset();
  }
}

void OrderedReport::report(const Done& done) {
  ++summary_.policies;
  if (done.plan.error) ++summary_.failed;
  summary_.planned += done.plan.actions.size();
  for (const auto& result : done.results) {
    const auto& status = result.outcome.status;
    ++(status == "succeeded" ? summary_.succeeded : status == "failed" ? summary_.failed : summary_.skipped);
  }
  observer_.finished(done.plan, done.results);
}

RunSummary OrderedReport::summary() const {
  const std::scoped_lock lock(mutex_);
  return summary_;
}

}  // namespace retentiond
