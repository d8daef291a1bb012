#include <doctest/doctest.h>

#include <chrono>

#include "retentiond/core/error.hpp"
#include "retentiond/policy/policy.hpp"

using namespace retentiond;

namespace {

Policy with_ttl(const std::string& ttl) {
  Policy policy;
  policy.id = "p";
  policy.table = {"public", "metrics"};
  policy.strategy = "delete";
  policy.ttl = Duration::parse(ttl);
  return policy;
}

}  // namespace

TEST_CASE("ttl bounds: a ttl longer than 1000 years is refused naming it, and up to 1000 years is accepted") {
  for (const char* ttl : {"9999y", "1001y", "12001mo", "365300d", "1000y1mo"}) {
    INFO(std::string(ttl));
    try {
      validate_policy(with_ttl(ttl));
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
      CHECK(std::string(e.what()).find("1000y") != std::string::npos);
    }
  }
  for (const char* ttl : {"1000y", "999y11mo", "90d", "5y"}) {
    INFO(std::string(ttl));
    CHECK_NOTHROW(validate_policy(with_ttl(ttl)));
  }
}

