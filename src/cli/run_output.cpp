#include "retentiond/cli/run_output.hpp"

#include <ostream>

#include "retentiond/core/json_text.hpp"
#include "retentiond/core/time.hpp"
#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/sql/sql_display.hpp"

namespace retentiond {
namespace {

std::string json_quoted(std::string_view text) { return json_string(text); }

// Drops sharing a number go to the server together, as one DROP TABLE naming them all.
std::string transaction_of(const Action& action) {
  return action.kind == ActionKind::drop_partition ? " transaction=" + std::to_string(action.transaction)
                                                   : "";
}

void append_action(std::string& out, const Action& action, const std::string& cutoff,
                   const JobOutcome* outcome) {
  JsonObjectWriter(out)
      .field("policy", action.policy_id)
      .field("strategy", action.strategy)
      .field("table", action.table.display())
      .optional_field("partition",
                      action.partition ? std::optional(action.partition->display()) : std::nullopt)
      .field("action", action.action)
      .field("sql", JobsLog::sql_text(action))
      .number("transaction",
              action.kind == ActionKind::drop_partition ? std::optional(action.transaction) : std::nullopt)
      .field("status", outcome ? std::string_view(outcome->status) : "planned")
      .number("rows", outcome ? outcome->rows : std::nullopt)
      .optional_field("error", outcome ? outcome->error : std::nullopt)
      .field("reason", action.reason)
      .field("cutoff", cutoff)
      .close();
}

}  // namespace

RunPrinter::RunPrinter(std::ostream& out, OutputFormat format, bool dry_run, std::chrono::sys_seconds now,
                       bool quiet)
    : out_(out), format_(format), dry_run_(dry_run), now_(now), quiet_(quiet) {}

void RunPrinter::started(const std::vector<Policy>& policies) {
  // The plans' cutoffs, known before planning: each is its policy's ttl before now.
  std::optional<std::chrono::sys_seconds> cutoff;
  bool one = true;
  for (const auto& policy : policies) {
    if (policy.invalid_reason) continue;  // it has no cutoff: it fails at planning
    const auto mine = policy.ttl.before(now_);
    if (cutoff && *cutoff != mine) one = false;
    cutoff = mine;
  }
  if (cutoff && one) shared_cutoff_ = format_instant(*cutoff);
}

void RunPrinter::finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) {
  switch (format_) {
    case OutputFormat::json:
      json_finished(plan, results);
      break;
    case OutputFormat::compact:
      compact_finished(plan, results);
      break;
    case OutputFormat::table:
      table_finished(plan, results);
      break;
  }
  flush();
}

void RunPrinter::flush(bool always) {
  // Large writes: a dry run over 100,000 partitions prints tens of megabytes.
  if (!always && buffer_.size() < (1U << 16)) return;
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
}

// Streamed one item per line and written field by field rather than built as one document:
// a dry run over 100,000 partitions would otherwise hold every action twice in memory before
// printing the first, and spend longer building JSON trees than planning.
void RunPrinter::json_finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) {
  json_header();
  const std::string cutoff = format_instant(plan.cutoff);
  const auto item = [&](const Action& action, const JobOutcome* outcome) {
    buffer_ += first_action_ ? "\n    " : ",\n    ";
    first_action_ = false;
    append_action(buffer_, action, cutoff, outcome);
    flush();
  };
  if (dry_run_) {
    for (const auto& action : plan.actions) item(action, nullptr);
  }
  for (const auto& result : results) item(*result.action, &result.outcome);

  std::string skipped = "[";
  for (const auto& skip : plan.skipped) {
    if (skipped.size() > 1) skipped += ',';
    JsonObjectWriter(skipped)
        .field("partition", skip.partition.display())
        .field("reason", skip.reason)
        .close();
  }
  skipped += ']';
  std::string entry;
  JsonObjectWriter(entry)
      .field("id", plan.policy.id)
      .field("cutoff", cutoff)
      .optional_field("error", plan.error)
      .raw("skipped", skipped)
      .close();
  policy_entries_.push_back(std::move(entry));
}

void RunPrinter::json_header() {
  if (header_written_) return;
  buffer_ += "{\n  \"dry_run\": ";
  buffer_ += dry_run_ ? "true" : "false";
  buffer_ += ",\n  \"cutoff\": ";
  buffer_ += shared_cutoff_ ? json_quoted(*shared_cutoff_) : "null";
  buffer_ += ",\n  \"as_of\": " + json_quoted(format_instant(now_)) + ",\n  \"actions\": [";
  header_written_ = true;
}

// Names come from the catalog and may hold anything, a newline included: every value that is
// not a fixed word goes through compact_value, so one record stays one line.
void RunPrinter::compact_finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) {
  const std::string policy = "policy=" + compact_value(plan.policy.id);
  if (plan.error) {
    buffer_ += policy + " status=failed error=" + json_quoted(*plan.error) + "\n";
  }
  if (dry_run_) {
    for (const auto& action : plan.actions) {
      buffer_ += "policy=" + compact_value(action.policy_id) + " action=" + action.action +
                 " target=" + compact_value(target_of(action)) + " status=planned" + transaction_of(action) +
                 " sql=" + json_quoted(JobsLog::sql_text(action)) + "\n";
      flush();
    }
  }
  for (const auto& result : results) {
    const auto& o = result.outcome;
    buffer_ += "policy=" + compact_value(result.action->policy_id) + " action=" + result.action->action +
               " target=" + compact_value(target_of(*result.action)) + " status=" + o.status +
               " rows=" + (o.rows ? std::to_string(*o.rows) : "-") +
               (o.error ? " error=" + json_quoted(*o.error) : "") + "\n";
    flush();
  }
  for (const auto& skip : plan.skipped) {
    buffer_ += policy + " skipped=" + compact_value(skip.partition.display()) +
               " reason=" + json_quoted(skip.reason) + "\n";
    flush();
  }
}

void RunPrinter::table_finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) {
  if (plan.error)
    rows_.push_back({plan.policy.id, "plan", plan.policy.table.display(), "failed", "", *plan.error});
  if (dry_run_) {
    for (const auto& action : plan.actions) {
      // The SQL stays exact: a name with a line break is shown in U&"..." form (display_sql).
      rows_.push_back({action.policy_id, action.action, target_of(action), "planned", "",
                       display_sql(JobsLog::sql_text(action))});
    }
  }
  for (const auto& result : results) {
    const auto& o = result.outcome;
    rows_.push_back({result.action->policy_id, result.action->action, target_of(*result.action), o.status,
                     o.rows ? std::to_string(*o.rows) : "", o.error.value_or("")});
  }
  for (const auto& skip : plan.skipped)
    skip_rows_.push_back({plan.policy.id, skip.partition.display(), skip.reason});
}

void RunPrinter::table_out() {
  if (!rows_.empty()) {
    buffer_ +=
        render_table({"policy", "action", "target", "status", "rows", dry_run_ ? "sql" : "error"}, rows_);
  }
  if (!skip_rows_.empty()) {
    if (!rows_.empty()) buffer_ += '\n';
    buffer_ += render_table({"policy", "skipped", "reason"}, skip_rows_);
  }
}

void RunPrinter::abandon() {
  if (format_ == OutputFormat::table) table_out();
  flush(true);
  out_.flush();
}

void RunPrinter::close(const RunSummary& summary) {
  switch (format_) {
    case OutputFormat::json:
      json_header();  // also when no policy was selected: the same document, empty
      buffer_ += first_action_ ? "],\n  \"policies\": [" : "\n  ],\n  \"policies\": [";
      for (std::size_t i = 0; i < policy_entries_.size(); ++i) {
        buffer_ += i == 0 ? "\n    " : ",\n    ";
        buffer_ += policy_entries_[i];
        flush();
      }
      buffer_ += policy_entries_.empty() ? "]\n}\n" : "\n  ]\n}\n";
      break;
    case OutputFormat::compact:
      break;
    case OutputFormat::table:
      if (quiet_ && !summary.any_failed()) break;
      table_out();
      if (dry_run_) {
        buffer_ += "dry run as of " + format_instant(now_) + ": " + std::to_string(summary.planned) +
                   " action(s) planned for " + std::to_string(summary.policies) +
                   " policy(ies), nothing changed\n";
      } else {
        buffer_ += "run as of " + format_instant(now_) + ": " + std::to_string(summary.succeeded) +
                   " succeeded, " + std::to_string(summary.failed) + " failed, " +
                   std::to_string(summary.skipped) + " skipped\n";
      }
      break;
  }
  flush(true);
  out_.flush();
}

}  // namespace retentiond
