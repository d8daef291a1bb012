#include "support/run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#ifndef RETENTIOND_BINARY
#error "RETENTIOND_BINARY must name the retentiond executable under test (tests/CMakeLists.txt defines it)"
#endif

extern char** environ;  // NOLINT(readability-redundant-declaration): <unistd.h> has it only with _GNU_SOURCE

namespace retentiond::testing {
namespace {

using namespace std::chrono_literals;

// How often the reader thread looks for the child's exit when the pipes stay quiet.
constexpr auto kPollInterval = 20ms;

std::string errno_text(int error) { return std::system_category().message(error); }

// Variables that configure retentiond or libpq; a test states the ones it wants explicitly.
bool inherited(std::string_view variable) {
  return !variable.starts_with("RETENTIOND_") && !variable.starts_with("PG");
}

[[noreturn]] void child_fail(int status_fd) {
  const int error = errno;
  [[maybe_unused]] const auto written = write(status_fd, &error, sizeof error);
  _exit(127);
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Reads what fd has without blocking and appends it to `into`; closes fd at EOF.
void drain(int& fd, std::string& into) {
  char buffer[65536];
  while (fd >= 0) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0) {
      close_fd(fd);
    } else if (errno != EINTR) {
      if (errno != EAGAIN) close_fd(fd);
      return;
    }
  }
}

void append_note(std::string& err, const std::string& note) {
  if (!err.empty() && err.back() != '\n') err += '\n';
  err += "[harness] " + note + "\n";
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");

  // Prepared before fork: the child may only make async-signal-safe calls until exec.
  std::vector<std::string> env_strings;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view variable(*entry);
    const auto name = variable.substr(0, variable.find('='));
    if (inherited(variable) && !env.contains(std::string(name))) env_strings.emplace_back(variable);
  }
  for (const auto& [name, value] : env) {
    std::string entry = name;
    entry += '=';
    entry += value;
    env_strings.push_back(std::move(entry));
  }
  std::vector<std::string> argv_strings = argv;
  std::vector<char*> c_argv;
  std::vector<char*> c_env;
  c_argv.reserve(argv_strings.size() + 1);
  c_env.reserve(env_strings.size() + 1);
  for (auto& s : argv_strings) c_argv.push_back(s.data());
  for (auto& s : env_strings) c_env.push_back(s.data());
  c_argv.push_back(nullptr);
  c_env.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  int status_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2: " + errno_text(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw std::runtime_error("pipe2: " + errno_text(error));
  }
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    for (const int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    throw std::runtime_error("pipe2: " + errno_text(error));
  }
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    const int error = errno;
    for (const int fd :
         {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], status_pipe[0], status_pipe[1]}) {
      close(fd);
    }
    throw std::runtime_error("fork: " + errno_text(error));
  }
  if (pid_ == 0) {
    // Own process group, so that a timeout kills whatever the child started as well.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
        dup2(err_pipe[1], STDERR_FILENO) < 0) {
      child_fail(status_pipe[1]);
    }
    execve(c_argv[0], c_argv.data(), c_env.data());
    child_fail(status_pipe[1]);
  }
  setpgid(pid_, pid_);  // also here: a kill(-pid) right after fork must not miss the group
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(status_pipe[1]);
  int exec_error = 0;
  ssize_t n = 0;
  do {
    n = read(status_pipe[0], &exec_error, sizeof exec_error);
  } while (n < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (n > 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    waitpid(pid_, nullptr, 0);
    throw std::runtime_error("cannot execute " + argv[0] + ": " + errno_text(exec_error));
  }
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
  fcntl(out_fd_, F_SETFL, fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
  fcntl(err_fd_, F_SETFL, fcntl(err_fd_, F_GETFL) | O_NONBLOCK);
  reader_ = std::thread([this] { pump(); });
}

ChildProcess::~ChildProcess() {
  {
    const std::lock_guard lock(mutex_);
    kill_group_locked(SIGKILL);
  }
  if (reader_.joinable()) reader_.join();
}

// The reader thread: moves output from the pipes into the buffers and reaps the child. Reaping
// happens under the mutex, so send_signal() never hits a recycled pid.
void ChildProcess::pump() {
  while (true) {
    pollfd fds[2];
    nfds_t count = 0;
    for (const int fd : {out_fd_, err_fd_}) {
      if (fd >= 0) fds[count++] = pollfd{fd, POLLIN, 0};
    }
    poll(count > 0 ? fds : nullptr, count, static_cast<int>(kPollInterval.count()));

    std::string out_chunk;
    std::string err_chunk;
    drain(out_fd_, out_chunk);
    drain(err_fd_, err_chunk);

    const std::lock_guard lock(mutex_);
    out_ += out_chunk;
    err_ += err_chunk;
    if (!exited_) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        status_ = status;
      }
    }
    if (exited_) {
      // The child's writes are all in the pipes now. What is still open is held by processes it
      // left behind; their later output is not the child's.
      drain(out_fd_, out_);
      drain(err_fd_, err_);
      close_fd(out_fd_);
      close_fd(err_fd_);
      done_ = true;
      changed_.notify_all();
      return;
    }
    if (!out_chunk.empty() || !err_chunk.empty()) changed_.notify_all();
  }
}

void ChildProcess::kill_group_locked(int signal_number) const {
  if (exited_) return;
  kill(-pid_, signal_number);
  kill(pid_, signal_number);
}

bool ChildProcess::running() const {
  const std::lock_guard lock(mutex_);
  return !done_;
}

void ChildProcess::send_signal(int signal_number) {
  const std::lock_guard lock(mutex_);
  if (!exited_) kill(pid_, signal_number);
}

bool ChildProcess::wait_for_output(const std::string& needle, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  const auto found = [&] {
    return out_.find(needle) != std::string::npos || err_.find(needle) != std::string::npos;
  };
  changed_.wait_for(lock, timeout, [&] { return done_ || found(); });
  return found();
}

RunResult ChildProcess::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!changed_.wait_for(lock, timeout, [&] { return done_; })) {
    timed_out_ = true;
    kill_group_locked(SIGKILL);
    changed_.wait(lock, [&] { return done_; });
  }
  RunResult result{0, out_, err_};
  if (timed_out_) {
    result.exit_code = -1;
    append_note(result.err,
                "timed out after " + std::to_string(timeout.count()) + " ms; killed with SIGKILL");
  } else if (WIFEXITED(status_)) {
    result.exit_code = WEXITSTATUS(status_);
  } else if (WIFSIGNALED(status_)) {
    result.exit_code = 128 + WTERMSIG(status_);
    append_note(result.err, std::string("terminated by signal ") + std::to_string(WTERMSIG(status_)) + " (" +
                                strsignal(WTERMSIG(status_)) + ")");
  }
  return result;
}

std::string ChildProcess::out() const {
  const std::lock_guard lock(mutex_);
  return out_;
}

std::string ChildProcess::err() const {
  const std::lock_guard lock(mutex_);
  return err_;
}

RunResult run_process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                      std::chrono::seconds timeout) {
  ChildProcess child(argv, env);
  return child.wait(timeout);
}

std::string retentiond_binary() { return RETENTIOND_BINARY; }

RunResult run_retentiond(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                         std::chrono::seconds timeout) {
  std::vector<std::string> argv{retentiond_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, env, timeout);
}

std::unique_ptr<ChildProcess> spawn_retentiond(const std::vector<std::string>& args,
                                               const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{retentiond_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<ChildProcess>(argv, env);
}

std::size_t line_count(const std::string& text) {
  const auto newlines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  return (!text.empty() && text.back() != '\n') ? newlines + 1 : newlines;
}

bool is_one_line(const std::string& text) { return line_count(text) == 1; }

}  // namespace retentiond::testing
