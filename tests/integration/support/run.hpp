#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace retentiond::testing {

/// How a child process ended and everything it wrote. exit_code is the exit status, 128 + N when
/// it died of signal N, and -1 when the harness killed it after a timeout; in the last two cases
/// `err` ends with a line starting "[harness]" that says so.
struct RunResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

/// A running child process with stdout and stderr captured separately and drained continuously
/// by a background thread, so a chatty child never blocks on a full pipe. stdin is /dev/null.
///
/// The child's environment is this process's minus every RETENTIOND_* and PG* variable (so a
/// developer's shell cannot leak into a test), plus `env`. It runs in a process group of its own
/// and receives SIGKILL when the test process dies. The destructor kills it if it still runs.
class ChildProcess {
 public:
  /// argv[0] is the path of the program. Throws std::runtime_error when it cannot be executed.
  explicit ChildProcess(const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>& env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&&) = delete;
  ChildProcess& operator=(ChildProcess&&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running() const;
  /// Sends a signal (SIGTERM, SIGHUP, ...) to the child; a no-op once it has exited.
  void send_signal(int signal_number);
  /// Waits until `needle` appears in stdout or stderr; false on timeout or when the child exited
  /// without writing it. For daemon tests: "wait until the log says leader.acquired".
  bool wait_for_output(const std::string& needle, std::chrono::milliseconds timeout);
  /// Waits for the child to exit; after `timeout` kills its process group (SIGKILL) and reports
  /// exit_code -1.
  RunResult wait(std::chrono::milliseconds timeout);
  /// What the child wrote so far.
  [[nodiscard]] std::string out() const;
  [[nodiscard]] std::string err() const;

 private:
  void pump();
  void kill_group_locked(int signal_number) const;

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string out_;
  std::string err_;
  bool exited_ = false;  // reaped: pid_ must not be signalled any more
  bool done_ = false;    // reaped and its output collected
  int status_ = 0;
  bool timed_out_ = false;
  std::thread reader_;
};

/// Runs argv (argv[0] is the program path) to completion; see ChildProcess for the environment.
RunResult run_process(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env = {},
                      std::chrono::seconds timeout = std::chrono::seconds(60));

/// The path of the retentiond binary under test (compile definition RETENTIOND_BINARY).
[[nodiscard]] std::string retentiond_binary();

/// Runs the real retentiond binary with args and waits for it to exit.
RunResult run_retentiond(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {},
                         std::chrono::seconds timeout = std::chrono::seconds(60));

/// Starts retentiond in the background, e.g. the daemon (`run` without --once); stop it with
/// send_signal(SIGTERM) and wait().
[[nodiscard]] std::unique_ptr<ChildProcess> spawn_retentiond(
    const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

/// Number of lines in text; a last line without a trailing newline counts. "" has 0 lines.
[[nodiscard]] std::size_t line_count(const std::string& text);
/// Whether text is exactly one line (with or without its trailing newline).
[[nodiscard]] bool is_one_line(const std::string& text);

}  // namespace retentiond::testing
