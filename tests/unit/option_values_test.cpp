#include "retentiond/strategy/option_values.hpp"

#include <chrono>
#include <cstdint>
#include <string>

#include <doctest/doctest.h>

#include "retentiond/core/error.hpp"
#include "retentiond/policy/policy.hpp"

using retentiond::option_bool;
using retentiond::option_duration;
using retentiond::option_integer;
using retentiond::Policy;

namespace {

using namespace std::chrono_literals;

Policy with_option(const std::string& key, const std::string& value) {
  Policy policy;
  policy.id = "nightly";
  policy.table = {"public", "metrics"};
  policy.strategy = "delete";
  policy.options[key] = value;
  return policy;
}

// The message of the usage Error a read throws, or a failed check when it throws none.
template <typename Read>
std::string error_of(Read read) {
  try {
    read();
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  FAIL("no error");
  return {};
}

}  // namespace

TEST_CASE("option: an absent integer option gives the fallback") {
  CHECK(option_integer(Policy{}, "batch_size", 10000) == 10000);
  CHECK(option_integer(with_option("other", "5"), "batch_size", 42) == 42);
}

TEST_CASE("option: an integer option is read as written") {
  CHECK(option_integer(with_option("batch_size", "1"), "batch_size", 10000) == 1);
  CHECK(option_integer(with_option("batch_size", "5000"), "batch_size", 10000) == 5000);
  CHECK(option_integer(with_option("batch_size", "999999999"), "batch_size", 10000) == 999999999);
  CHECK(option_integer(with_option("batch_size", "007"), "batch_size", 10000) == 7);
}

TEST_CASE(
    "option: an integer option that is not a positive whole number is a usage error naming policy and "
    "option") {
  CHECK(error_of([] { (void)option_integer(with_option("batch_size", "abc"), "batch_size", 1); }) ==
        R"(policy "nightly": invalid value "abc" for option batch_size)");
  for (const char* value :
       {"", "0", "-1", "+5", " 5", "5 ", "5x", "1.5", "1e3", "0x10", "99999999999999999999"}) {
    CAPTURE(value);
    CHECK(error_of([&] { (void)option_integer(with_option("batch_size", value), "batch_size", 1); }) ==
          "policy \"nightly\": invalid value \"" + std::string(value) + "\" for option batch_size");
  }
}

TEST_CASE("option: an absent boolean option is false") {
  CHECK_FALSE(option_bool(Policy{}, "detach"));
  CHECK_FALSE(option_bool(with_option("keep_table", "true"), "detach"));
}

TEST_CASE("option: a boolean option is true or false as written") {
  CHECK(option_bool(with_option("detach", "true"), "detach"));
  CHECK_FALSE(option_bool(with_option("detach", "false"), "detach"));
  for (const char* value : {"TRUE", "True", "yes", "1", "on"}) CHECK(option_bool(with_option("detach", value), "detach"));
  for (const char* value : {"FALSE", "no", "0", "off"}) CHECK_FALSE(option_bool(with_option("detach", value), "detach"));
}

TEST_CASE("option: a boolean option spelled any other way is a usage error") {
  for (const char* value : {"", "t", " true", "y", "2", "enabled", "nope"}) {
    CAPTURE(value);
    CHECK(error_of([&] { (void)option_bool(with_option("detach", value), "detach"); }) ==
          "policy \"nightly\": invalid value \"" + std::string(value) + "\" for option detach");
  }
}

TEST_CASE("option: an absent duration option gives the fallback") {
  CHECK(option_duration(Policy{}, "lock_timeout", 5000ms) == 5000ms);
  CHECK(option_duration(Policy{}, "lock_timeout", 0ms) == 0ms);
}

TEST_CASE("option: a duration option is read in milliseconds") {
  CHECK(option_duration(with_option("lock_timeout", "5s"), "lock_timeout", 1ms) == 5000ms);
  CHECK(option_duration(with_option("lock_timeout", "2m"), "lock_timeout", 1ms) == 120000ms);
  CHECK(option_duration(with_option("lock_timeout", "1h30m"), "lock_timeout", 1ms) == 5'400'000ms);
  CHECK(option_duration(with_option("lock_timeout", "1d"), "lock_timeout", 1ms) == 86'400'000ms);
  CHECK(option_duration(with_option("lock_timeout", "PT10S"), "lock_timeout", 1ms) == 10000ms);
  CHECK(option_duration(with_option("lock_timeout", "24d"), "lock_timeout", 1ms) == 2'073'600'000ms);
}

TEST_CASE("option: a duration option that does not parse is a usage error naming policy and option") {
  for (const char* value : {"", "soon", "5", "0s", "-5s", "5x"}) {
    CAPTURE(value);
    CHECK(error_of([&] { (void)option_duration(with_option("lock_timeout", value), "lock_timeout", 1ms); }) ==
          "policy \"nightly\": invalid value \"" + std::string(value) + "\" for option lock_timeout");
  }
}

// Policy validation refuses these (see validate_option); a row edited by hand must not turn a
// month into "no timeout at all" or a timeout PostgreSQL rejects on every action.
TEST_CASE("option: a duration option with months or beyond 24 days is a usage error") {
  for (const char* value : {"1mo", "1y", "1mo1s", "25d", "1000d"}) {
    CAPTURE(value);
    CHECK(error_of([&] { (void)option_duration(with_option("lock_timeout", value), "lock_timeout", 1ms); }) ==
          "policy \"nightly\": invalid value \"" + std::string(value) + "\" for option lock_timeout");
  }
}
