#include <string>

#include <doctest/doctest.h>

#include "retentiond/config/config.hpp"

using retentiond::redact_url;

TEST_CASE("redact: the password of a postgresql:// URI is replaced by ***") {
  CHECK(redact_url("postgresql://user:secret@host/db") == "postgresql://user:***@host/db");
  CHECK(redact_url("postgres://user:secret@host:5432/db?sslmode=require") ==
        "postgres://user:***@host:5432/db?sslmode=require");
  CHECK(redact_url("PostgreSQL://user:secret@host/db") == "PostgreSQL://user:***@host/db");
  CHECK(redact_url("postgresql://user:secret@h1:5432,h2:5433/db") ==
        "postgresql://user:***@h1:5432,h2:5433/db");
}

TEST_CASE("redact: a URI without a password is unchanged") {
  for (const char* url :
       {"postgresql://user@host/db", "postgresql://host/db", "postgresql://host:5432/db", "postgresql://",
        "postgresql:///db?host=/run/postgresql", "postgres://[::1]:5432/db"}) {
    CAPTURE(url);
    CHECK(redact_url(url) == url);
  }
}

TEST_CASE("redact: passwords holding URI delimiters do not leak") {
  CHECK(redact_url("postgresql://user:p@ss@host/db") == "postgresql://user:***@host/db");
  CHECK(redact_url("postgresql://user:p?s#s@host/db") == "postgresql://user:***@host/db");
  CHECK(redact_url("postgresql://user:pa/ss@host/db") == "postgresql://user:***@host/db");
  CHECK(redact_url("postgresql://user:pa%2Fss@host/db") == "postgresql://user:***@host/db");
  CHECK(redact_url("postgresql://user:@host/db") == "postgresql://user:***@host/db");
}

TEST_CASE("redact: a password among the URI query parameters is replaced") {
  CHECK(redact_url("postgresql://host/db?password=x") == "postgresql://host/db?password=***");
  CHECK(redact_url("postgresql://host/db?user=a&password=x&sslmode=require") ==
        "postgresql://host/db?user=a&password=***&sslmode=require");
  CHECK(redact_url("postgresql://u:one@host/db?password=two") == "postgresql://u:***@host/db?password=***");
  CHECK(redact_url("postgresql://host/db?passwordx=keep&password=x#frag") ==
        "postgresql://host/db?passwordx=keep&password=***#frag");
}

TEST_CASE("redact: the password of a key=value conninfo is replaced") {
  CHECK(redact_url("host=db password=secret user=x") == "host=db password=*** user=x");
  CHECK(redact_url("password=secret") == "password=***");
  CHECK(redact_url("host=db  password = secret\tdbname=app") == "host=db  password = ***\tdbname=app");
  CHECK(redact_url("host=db user=x") == "host=db user=x");
  CHECK(redact_url("") == "");
}

TEST_CASE("redact: quoted and escaped conninfo passwords are replaced whole") {
  CHECK(redact_url("host=db password='a b' user=x") == "host=db password=*** user=x");
  CHECK(redact_url(R"(password='it\'s secret' user=x)") == "password=*** user=x");
  CHECK(redact_url(R"(password=a\ b user=x)") == "password=*** user=x");
  CHECK(redact_url("user='my user' password='unterminated secret") == "user='my user' password=***");
  CHECK(redact_url("application_name='password=x' user=y") == "application_name='password=x' user=y");
}

TEST_CASE("redact: a key=value string that is not well formed keeps its other words") {
  CHECK(redact_url("garbage password=x") == "garbage password=***");
  CHECK(redact_url("host=db oops") == "host=db oops");
}
