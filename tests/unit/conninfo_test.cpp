#include "retentiond/db/conninfo.hpp"

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <libpq-fe.h>

#include "retentiond/cli/argv_scrub.hpp"
#include "retentiond/core/error.hpp"

using namespace retentiond;

namespace {

// What libpq reads back from a conninfo: only the options it sets.
std::map<std::string, std::string> parsed(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  REQUIRE_MESSAGE(options != nullptr, (error ? error : ""));
  std::map<std::string, std::string> out;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) out[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return out;
}

std::string scrubbed(const std::vector<std::string>& args) {
  std::vector<std::vector<char>> storage;
  std::vector<char*> argv;
  for (const auto& a : args) {
    storage.emplace_back(a.begin(), a.end());
    storage.back().push_back('\0');
  }
  for (auto& s : storage) argv.push_back(s.data());
  scrub_arguments(static_cast<int>(argv.size()), argv.data());
  std::string joined;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    CHECK(std::strlen(argv[i]) == args[i].size());  // the kernel's view keeps every length
    joined += std::string(argv[i]) + "|";
  }
  return joined;
}

}  // namespace

TEST_CASE("conninfo: keepalive defaults are added to every URL form, user values win") {
  for (const std::string url : {"", "host=db user=app dbname=x", "postgresql://app@db:5433/x?sslmode=require",
                                "postgresql://db1,db2/x"}) {
    CAPTURE(url);
    auto options = parsed(effective_conninfo(url, std::nullopt));
    CHECK(options["keepalives"] == "1");
    CHECK(options["keepalives_idle"] == "30");
    CHECK(options["keepalives_interval"] == "10");
    CHECK(options["keepalives_count"] == "3");
    CHECK_FALSE(options.contains("password"));  // PGPASSWORD and ~/.pgpass stay in charge
  }
  auto uri = parsed(effective_conninfo("postgresql://app@db1,db2:5433/x?sslmode=require", std::nullopt));
  CHECK(uri["host"] == "db1,db2");
  CHECK(uri["user"] == "app");
  CHECK(uri["sslmode"] == "require");
  auto mine = parsed(effective_conninfo("host=db keepalives=0 keepalives_idle=5", std::nullopt));
  CHECK(mine["keepalives"] == "0");
  CHECK(mine["keepalives_idle"] == "5");
  CHECK(mine["keepalives_count"] == "3");
}

TEST_CASE("conninfo: a password from a file is passed exactly, and only one source of it is allowed") {
  const std::string password = "a b'c\\d=e";
  auto options = parsed(effective_conninfo("host=db user=app", password));
  CHECK(options["password"] == password);
  CHECK(parsed(effective_conninfo("postgresql://app@db/x", password))["password"] == password);
  for (const std::string url :
       {"host=db password=x", "postgresql://app:x@db/x", "postgresql://db/x?password=x"}) {
    CAPTURE(url);
    try {
      (void)effective_conninfo(url, password);
      FAIL("accepted two passwords");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
    }
  }
  try {
    (void)effective_conninfo("postgresql://app:s3cret@db/x?bogus=1", std::nullopt);
    FAIL("accepted an unknown keyword");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
  }
  CHECK(scrub_password("auth failed for pw123 (pw123)", "pw123") == "auth failed for *** (***)");
}

TEST_CASE("conninfo: the password of --database-url is overwritten in argv, keeping every length") {
  CHECK(scrubbed({"retentiond", "--database-url", "postgresql://u:secret@h/db", "run"}) ==
        "retentiond|--database-url|postgresql://u:xxxxxx@h/db|run|");
  CHECK(scrubbed({"retentiond", "--database-url=host=h password=secret user=u", "run"}) ==
        "retentiond|--database-url=host=h password=xxxxxx user=u|run|");
  CHECK(scrubbed({"retentiond", "--database-url", "host=h password='se cret'"}) ==
        "retentiond|--database-url|host=h password=xxxxxxxxx|");
  CHECK(
      scrubbed({"retentiond", "-o", "json", "--database-url", "postgresql:///db?host=%2Ftmp&password=pw"}) ==
      "retentiond|-o|json|--database-url|postgresql:///db?host=%2Ftmp&password=xx|");
  // Nothing else is touched: no password, another option, a value that merely looks alike.
  CHECK(scrubbed({"retentiond", "--database-url", "host=h user=u", "--comment", "password=x"}) ==
        "retentiond|--database-url|host=h user=u|--comment|password=x|");
  CHECK(scrubbed({"retentiond", "--database-url"}) == "retentiond|--database-url|");
}
