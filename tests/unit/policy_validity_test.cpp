#include <chrono>
#include <string>

#include <doctest/doctest.h>

#include "retentiond/core/error.hpp"
#include "retentiond/policy/policy.hpp"

using retentiond::cutoff_problem;
using retentiond::Duration;
using retentiond::parse_ttl;
using retentiond::Policy;
using retentiond::validate_policy;

namespace {

std::chrono::sys_seconds day(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_seconds{sys_days(year(y) / month(m) / std::chrono::day(d)).time_since_epoch()};
}

std::string ttl_error(const std::string& text) {
  try {
    (void)parse_ttl(text);
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("policy validity: a ttl of at most 1000 years is accepted in every spelling") {
  CHECK(parse_ttl("1000y") == Duration(12'000, std::chrono::seconds(0)));
  for (const char* text : {"1000y", "999y12mo", "12000mo", "P1000Y", "1000 years", "365242d", "90d", "1s"}) {
    CAPTURE(text);
    CHECK(ttl_error(text).empty());
  }
}

TEST_CASE("policy validity: a ttl longer than 1000 years is refused naming it") {
  for (const char* text : {"9999y", "1001y", "1000y1d", "1000y1s", "12001mo", "P1001Y", "365243d", "52180w",
                           "10000y", "1001 years"}) {
    CAPTURE(text);
    const std::string error = ttl_error(text);
    CHECK_MESSAGE(error.find(std::string("\"") + text + "\"") != std::string::npos, error);
    CHECK(error.find("1000y") != std::string::npos);
  }
}

TEST_CASE("policy validity: a stored ttl beyond the limit makes the policy invalid") {
  Policy policy;
  policy.id = "p";
  policy.table = {"public", "metrics"};
  policy.strategy = "delete";
  policy.ttl = Duration::parse("9999y");  // Duration itself goes to 10000 years
  CHECK_THROWS_AS(validate_policy(policy), retentiond::Error);
  policy.ttl = Duration::parse("1000y");
  CHECK_NOTHROW(validate_policy(policy));
}

TEST_CASE("policy validity: a cutoff before the year 1 is a problem said in ISO 8601, never a negative year") {
  CHECK(!cutoff_problem(Duration::parse("1000y"), day(2026, 12, 3)));
  CHECK(!cutoff_problem(Duration::parse("2025y"), day(2026, 12, 3)));   // 0001-12-03
  CHECK(!cutoff_problem(Duration::parse("1d"), day(1, 1, 2)));          // exactly 0001-01-01
  for (const auto& [ttl, now] : {std::pair{"1000y", day(500, 1, 1)}, std::pair{"2026y", day(2026, 12, 3)},
                                 std::pair{"1s", day(1, 1, 1)}, std::pair{"1d", day(0, 6, 1)}}) {
    CAPTURE(ttl);
    const auto problem = cutoff_problem(Duration::parse(ttl), now);
    REQUIRE(problem);
    CHECK(problem->find("0001-01-01T00:00:00Z") != std::string::npos);
    CHECK(problem->find("shorter ttl") != std::string::npos);
    CHECK_MESSAGE(problem->starts_with("the cutoff "), *problem);
  }
  const auto far = cutoff_problem(Duration::parse("9999y"), day(2026, 12, 3));
  REQUIRE(far);
  CHECK_MESSAGE(far->find("the cutoff -007973-12-03T00:00:00Z") != std::string::npos, *far);
}
