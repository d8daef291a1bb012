#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "retentiond/cli/output.hpp"
#include "retentiond/engine/run.hpp"

namespace retentiond {

/// Prints a run as it goes, in the chosen format: JSON (`{"dry_run", "cutoff", "as_of",
/// "actions": [...], "policies": [...]}`, streamed an action per line), compact (a line per
/// action, then one per skipped partition), or a table (collected: column widths need every
/// row; the skipped partitions in a second table). Nothing is printed before
/// the first policy is done, so a run that fails to start leaves stdout empty.
class RunPrinter final : public RunObserver {
 public:
  RunPrinter(std::ostream& out, OutputFormat format, bool dry_run, std::chrono::sys_seconds now, bool quiet);

  void started(const std::vector<Policy>& policies) override;
  void finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) override;
  /// The end of the output: JSON's closing brackets, or the table and its summary line.
  void close(const RunSummary& summary);
  /// The run broke off (a lost connection): what was reported so far goes out as it is (a
  /// table's rows, buffered lines), without a summary; JSON stays unfinished.
  void abandon();

 private:
  void json_header();
  void json_finished(const PolicyPlan& plan, const std::vector<ActionResult>& results);
  void compact_finished(const PolicyPlan& plan, const std::vector<ActionResult>& results);
  void table_finished(const PolicyPlan& plan, const std::vector<ActionResult>& results);
  void flush(bool always = false);

  std::ostream& out_;
  OutputFormat format_;
  bool dry_run_;
  std::chrono::sys_seconds now_;
  bool quiet_;
  std::optional<std::string> shared_cutoff_;  ///< when every policy has the same cutoff
  bool header_written_ = false;
  bool first_action_ = true;
  std::string buffer_;
  std::vector<std::string> policy_entries_;     ///< JSON "policies" items, written after the actions
  std::vector<std::vector<std::string>> rows_;  ///< table output
  std::vector<std::vector<std::string>> skip_rows_;  ///< table output: partitions left alone
  void table_out();
};

}  // namespace retentiond
