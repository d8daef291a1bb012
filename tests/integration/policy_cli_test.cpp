#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "support/cli_fixture.hpp"

using nlohmann::json;
using retentiond::testing::CliFixture;

namespace {

json list_json(const CliFixture& f, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"policy", "list", "-o", "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto result = f.rd(args);
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  return json::parse(result.out);
}

std::string events(const CliFixture& f) {
  return f.pg.scalar("SELECT coalesce(string_agg(action || ':' || policy_id, ',' ORDER BY id), '') "
                     "FROM retention.policy_events");
}

}  // namespace

TEST_CASE("policy: add, list, edit, disable, enable and rm --tags round trip with one event per change") {
  CliFixture f;
  f.setup_with_sample_tables();

  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "90d", "--tags", "tenant-a,metrics"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--tags", "tenant-a", "--option",
                "batch_size=500", "--schedule", "*/15 * * * *"})
              .exit_code == 0);
  // A reallocate's tablespace must exist: one in the server's directory, owned like it.
  const auto location = f.pg.directory() / "cold_ts";
  std::filesystem::create_directory(location);
  struct stat owner {};
  REQUIRE(::stat(f.pg.directory().c_str(), &owner) == 0);
  REQUIRE(::chown(location.c_str(), owner.st_uid, owner.st_gid) == 0);
  f.pg.execute("CREATE TABLESPACE cold_ts LOCATION '" + location.string() + "'");
  auto added = f.rd({"policy", "add", "--table", "public.metrics", "--strategy", "reallocate", "--target", "cold_ts",
                     "--ttl", "P1M", "--tags", "tenant-b", "--id", "metrics-cold", "--disabled"});
  REQUIRE_MESSAGE(added.exit_code == 0, added.err);
  CHECK(added.out == "created policy metrics-cold\n");

  auto all = list_json(f);
  REQUIRE(all.size() == 3);
  // Ordered by id; every field of PRODUCT.md is present.
  CHECK(all[0]["id"] == "metrics-cold");
  CHECK(all[1]["id"] == "public.events-delete");
  CHECK(all[2]["id"] == "public.metrics-delete");
  for (const auto& p : all) {
    for (const char* key : {"id", "table", "strategy", "ttl", "partition_column", "target", "tags", "schedule", "enabled",
                            "options", "created_at", "updated_at"}) {
      CHECK_MESSAGE(p.contains(key), key);
    }
  }
  const auto& events_policy = all[1];
  CHECK(events_policy["table"] == "public.events");
  CHECK(events_policy["strategy"] == "delete");
  CHECK(events_policy["ttl"] == "30d");
  CHECK(events_policy["partition_column"] == "created_at");
  CHECK(events_policy["target"].is_null());
  CHECK(events_policy["tags"] == json::array({"tenant-a"}));
  CHECK(events_policy["schedule"] == "*/15 * * * *");
  CHECK(events_policy["enabled"] == true);
  CHECK(events_policy["options"] == json{{"batch_size", "500"}});
  CHECK(all[0]["ttl"] == "1mo");
  CHECK(all[0]["target"] == "cold_ts");
  CHECK(all[0]["enabled"] == false);
  CHECK(all[0]["schedule"].is_null());

  auto edited = f.rd({"policy", "edit", "public.metrics-delete", "--ttl", "120d"});
  REQUIRE_MESSAGE(edited.exit_code == 0, edited.err);
  CHECK(list_json(f, {"--tags", "metrics"})[0]["ttl"] == "120d");

  REQUIRE(f.rd({"policy", "disable", "public.metrics-delete"}).exit_code == 0);
  CHECK(list_json(f, {"--tags", "metrics"})[0]["enabled"] == false);
  REQUIRE(f.rd({"policy", "enable", "public.metrics-delete"}).exit_code == 0);
  CHECK(list_json(f, {"--tags", "metrics"})[0]["enabled"] == true);

  // --tags selects policies carrying ALL given tags.
  CHECK(list_json(f, {"--tags", "tenant-a"}).size() == 2);
  CHECK(list_json(f, {"--tags", "tenant-a,metrics"}).size() == 1);
  CHECK(list_json(f, {"--tags", "tenant-b,metrics"}).empty());

  auto removed = f.rd({"policy", "rm", "--tags", "tenant-a"});
  REQUIRE_MESSAGE(removed.exit_code == 0, removed.err);
  auto left = list_json(f);
  REQUIRE(left.size() == 1);
  CHECK(left[0]["id"] == "metrics-cold");

  CHECK(events(f) ==
        "create:public.metrics-delete,create:public.events-delete,create:metrics-cold,"
        "edit:public.metrics-delete,disable:public.metrics-delete,enable:public.metrics-delete,"
        "remove:public.events-delete,remove:public.metrics-delete");
  // before/after documents and the actor (database user @ client address) are recorded.
  CHECK(f.pg.scalar("SELECT before->>'ttl' || '>' || (after->>'ttl') FROM retention.policy_events WHERE action = 'edit'") ==
        "90d>120d");
  CHECK(f.pg.scalar("SELECT DISTINCT actor FROM retention.policy_events") == "postgres@local");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_events WHERE action = 'remove' AND after IS NULL "
                    "AND before->>'id' IS NOT NULL") == "2");
}

TEST_CASE("policy: a change that changes nothing writes no event") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "90d"}).exit_code == 0);
  auto same = f.rd({"policy", "edit", "public.metrics-delete", "--ttl", "90 days"});
  CHECK(same.exit_code == 0);
  CHECK(same.out.find("unchanged") != std::string::npos);
  auto enable = f.rd({"policy", "enable", "public.metrics-delete"});
  CHECK(enable.exit_code == 0);
  CHECK(events(f) == "create:public.metrics-delete");
}

TEST_CASE("policy: names with capitals, spaces and quotes are quoted everywhere") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute(R"sql(
    CREATE SCHEMA "Sensor Data";
    CREATE TABLE "Sensor Data"."Readings ""raw""" ("Taken At" timestamptz NOT NULL, v int) PARTITION BY RANGE ("Taken At");
  )sql");
  auto added = f.rd({"ttl", R"("Sensor Data"."Readings ""raw""")", "delete", "7d", "--id", "readings"});
  REQUIRE_MESSAGE(added.exit_code == 0, added.err);
  auto all = list_json(f);
  REQUIRE(all.size() == 1);
  CHECK(all[0]["table"] == R"("Sensor Data"."Readings ""raw""")");
  CHECK(f.pg.scalar("SELECT table_schema || '|' || table_name FROM retention.policies") == R"(Sensor Data|Readings "raw")");

  auto plain = f.rd({"ttl", R"(public.events:"created_at")", "delete", "7d"});
  CHECK_MESSAGE(plain.exit_code == 0, plain.err);
}

TEST_CASE("policy: show and the three output formats") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "90d", "--tags", "a,b"}).exit_code == 0);

  auto table = f.rd({"policy", "list"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.rfind("ID", 0) == 0);
  CHECK(table.out.find("public.metrics-delete") != std::string::npos);

  auto compact = f.rd({"policy", "list", "-o", "compact"});
  CHECK(compact.out.find("id=public.metrics-delete table=public.metrics strategy=delete ttl=90d") == 0);
  CHECK(retentiond::testing::line_count(compact.out) == 1);

  auto show = f.rd({"policy", "show", "public.metrics-delete"});
  CHECK(show.exit_code == 0);
  CHECK(show.out.find("tags:") != std::string::npos);
  auto show_json = json::parse(f.rd({"policy", "show", "public.metrics-delete", "-o", "json"}).out);
  CHECK(show_json["tags"] == json::array({"a", "b"}));
}

TEST_CASE("policy: a generated id stays unique and readable") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "90d"}).exit_code == 0);
  auto second = f.rd({"ttl", "public.metrics", "delete", "30d", "-o", "json"});
  REQUIRE(second.exit_code == 0);
  CHECK(json::parse(second.out)["id"] == "public.metrics-delete-2");
}
