// The systemd unit (systemd/retentiond.service): scripts/check-systemd-unit must find it clean
// (`systemd-analyze verify` prints nothing) and hardened (`systemd-analyze security --offline`
// rates it 2.5 or lower), and the settings the daemon relies on must be in it. Both checks run
// offline: no running systemd is needed, only systemd-analyze (Debian package systemd).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

#include <doctest/doctest.h>

#include "support/run.hpp"

namespace fs = std::filesystem;
using retentiond::testing::retentiond_binary;
using retentiond::testing::run_process;

namespace {

// tests/integration/systemd_unit_test.cpp -> the repository root.
fs::path repository_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path(); }

// The [Service] settings of the unit, by key; a key given more than once keeps its last value.
std::map<std::string, std::string> service_settings(const fs::path& unit) {
  std::ifstream in(unit);
  REQUIRE_MESSAGE(in, "cannot read " << unit);
  std::map<std::string, std::string> settings;
  std::string section;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      section = line;
      continue;
    }
    const auto equals = line.find('=');
    if (section == "[Service]" && equals != std::string::npos) {
      settings[line.substr(0, equals)] = line.substr(equals + 1);
    }
  }
  return settings;
}

}  // namespace

TEST_CASE("systemd unit: check-systemd-unit passes, verify is clean and the exposure score is at most 2.5") {
  const fs::path script = repository_root() / "scripts" / "check-systemd-unit";
  REQUIRE(fs::exists(script));
  // The built binary stands in for /usr/bin/retentiond, which verify wants to exist.
  const auto result = run_process({script.string(), retentiond_binary()}, {}, std::chrono::seconds(120));
  INFO("stdout: " << result.out);
  INFO("stderr: " << result.err);
  CHECK_MESSAGE((result.exit_code == 0),
                "check-systemd-unit failed; exit status 2 with 'systemd-analyze not found' means the "
                "Debian package systemd is missing");
  CHECK(result.out.find("verify: clean\n") != std::string::npos);

  std::smatch match;
  REQUIRE_MESSAGE(std::regex_search(result.out, match, std::regex(R"(exposure score: ([0-9]+(\.[0-9]+)?) )")),
                  "the script printed no exposure score");
  const double score = std::stod(match[1].str());
  CHECK_MESSAGE((score <= 2.5), "exposure score " << score << " is above 2.5");
}

TEST_CASE("systemd unit: the service has the settings the daemon relies on") {
  const auto settings = service_settings(repository_root() / "systemd" / "retentiond.service");
  const auto value = [&settings](const std::string& key) {
    const auto it = settings.find(key);
    return it == settings.end() ? std::string("(unset)") : it->second;
  };
  // READY=1, STATUS= and WATCHDOG=1 come from the main process.
  CHECK(value("Type") == "notify");
  CHECK(value("NotifyAccess") == "main");
  CHECK(value("WatchdogSec") != "(unset)");
  CHECK(value("ExecStart") == "/usr/bin/retentiond run");
  CHECK(value("ExecReload") == "/bin/kill -HUP $MAINPID");
  CHECK(value("EnvironmentFile") == "-/etc/retentiond/retentiond.env");
  CHECK(value("Restart") == "on-failure");
  // Exit status 2 is bad configuration: restarting cannot help.
  CHECK(value("RestartPreventExitStatus") == "2");
  CHECK(value("StateDirectory") == "retentiond");
  CHECK(value("ProtectSystem") == "strict");
  CHECK(value("NoNewPrivileges") == "yes");
  CHECK(value("CapabilityBoundingSet").empty());
  CHECK(value("RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6");
  // A running action may take scheduler.shutdown_timeout (default 30s) after SIGTERM: systemd
  // must not SIGKILL it before that.
  std::smatch match;
  const std::string stop = value("TimeoutStopSec");
  REQUIRE_MESSAGE(std::regex_match(stop, match, std::regex(R"(([0-9]+)s?)")),
                  "TimeoutStopSec is " << stop << ", expected whole seconds");
  CHECK_MESSAGE((std::stoi(match[1].str()) > 30), "TimeoutStopSec " << stop << " does not exceed 30s");
}
