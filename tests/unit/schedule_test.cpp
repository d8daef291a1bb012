#include "retentiond/policy/schedule.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "retentiond/core/error.hpp"

using retentiond::Schedule;
using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

sys_seconds utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

sys_seconds next(const std::string& text, sys_seconds t) { return Schedule::parse(text).next_after(t); }

// The successive fire times after `t`.
std::vector<sys_seconds> fires(const std::string& text, sys_seconds t, int count) {
  const Schedule schedule = Schedule::parse(text);
  std::vector<sys_seconds> out;
  for (int i = 0; i < count; ++i) out.push_back(t = schedule.next_after(t));
  return out;
}

std::string parse_error(const std::string& text) {
  try {
    (void)Schedule::parse(text);
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  FAIL("no error for \"" << text << "\"");
  return {};
}

}  // namespace

TEST_CASE("schedule: text is the input trimmed") {
  CHECK(Schedule::parse("  0 * * * *\t").text() == "0 * * * *");
  CHECK(Schedule::parse("@every 15m").text() == "@every 15m");
  CHECK(Schedule::parse(" @daily ").text() == "@daily");
}

TEST_CASE("schedule: macros expand to their cron expressions") {
  const sys_seconds t = utc(2024, 10, 1, 12, 34, 56);  // a Tuesday
  CHECK(next("@hourly", t) == utc(2024, 10, 1, 13, 0));
  CHECK(next("@daily", t) == utc(2024, 10, 2));
  CHECK(next("@midnight", t) == utc(2024, 10, 2));
  CHECK(next("@weekly", t) == utc(2024, 10, 6));
  CHECK(next("@monthly", t) == utc(2024, 11, 1));
  CHECK(next("@yearly", t) == utc(2025, 1, 1));
  CHECK(next("@annually", t) == utc(2025, 1, 1));
  CHECK(next("@DAILY", t) == utc(2024, 10, 2));
}

TEST_CASE("schedule: cron fires on whole minutes strictly after the given time") {
  CHECK(next("* * * * *", utc(2024, 5, 5, 10, 7, 30)) == utc(2024, 5, 5, 10, 8));
  CHECK(next("* * * * *", utc(2024, 5, 5, 10, 7, 0)) == utc(2024, 5, 5, 10, 8));
  CHECK(next("*/15 * * * *", utc(2024, 5, 5, 10, 14, 59)) == utc(2024, 5, 5, 10, 15));
}

TEST_CASE("schedule: next_after exactly on a fire time returns the following one") {
  CHECK(next("*/15 * * * *", utc(2024, 5, 5, 10, 15)) == utc(2024, 5, 5, 10, 30));
  CHECK(next("@daily", utc(2024, 5, 5)) == utc(2024, 5, 6));
  CHECK(next("30 2 * * *", utc(2024, 5, 5, 2, 30)) == utc(2024, 5, 6, 2, 30));
  CHECK(next("@every 1h", utc(2024, 5, 5, 10)) == utc(2024, 5, 5, 11));
}

TEST_CASE("schedule: year rollover from Dec 31 23:59 goes to Jan 1") {
  CHECK(next("* * * * *", utc(2024, 12, 31, 23, 59)) == utc(2025, 1, 1, 0, 0));
  CHECK(next("0 0 * * *", utc(2024, 12, 31, 23, 59, 59)) == utc(2025, 1, 1));
  CHECK(next("59 23 31 12 *", utc(2024, 12, 31, 23, 59)) == utc(2025, 12, 31, 23, 59));
  CHECK(next("0 12 1 1 *", utc(2024, 6, 1)) == utc(2025, 1, 1, 12));
}

TEST_CASE("schedule: lists, ranges and steps select the right minutes and hours") {
  const sys_seconds t = utc(2024, 5, 5, 0, 0);
  CHECK(fires("0,30 * * * *", t, 3) == std::vector{utc(2024, 5, 5, 0, 30), utc(2024, 5, 5, 1), utc(2024, 5, 5, 1, 30)});
  CHECK(fires("10-40/15 * * * *", t, 4) ==
        std::vector{utc(2024, 5, 5, 0, 10), utc(2024, 5, 5, 0, 25), utc(2024, 5, 5, 0, 40), utc(2024, 5, 5, 1, 10)});
  CHECK(fires("5/20 * * * *", t, 4) ==
        std::vector{utc(2024, 5, 5, 0, 5), utc(2024, 5, 5, 0, 25), utc(2024, 5, 5, 0, 45), utc(2024, 5, 5, 1, 5)});
  CHECK(fires("0 9-11 * * *", t, 4) ==
        std::vector{utc(2024, 5, 5, 9), utc(2024, 5, 5, 10), utc(2024, 5, 5, 11), utc(2024, 5, 6, 9)});
  CHECK(fires("0 */8 * * *", t, 4) ==
        std::vector{utc(2024, 5, 5, 8), utc(2024, 5, 5, 16), utc(2024, 5, 6, 0), utc(2024, 5, 6, 8)});
  CHECK(fires("15 1,3-4 * * *", t, 4) ==
        std::vector{utc(2024, 5, 5, 1, 15), utc(2024, 5, 5, 3, 15), utc(2024, 5, 5, 4, 15), utc(2024, 5, 6, 1, 15)});
  CHECK(next("*/100 * * * *", utc(2024, 5, 5, 0, 1)) == utc(2024, 5, 5, 1, 0));
}

TEST_CASE("schedule: month and day names are accepted in any case") {
  const sys_seconds t = utc(2024, 2, 1);
  CHECK(fires("0 0 1 jan,JUL *", t, 2) == std::vector{utc(2024, 7, 1), utc(2025, 1, 1)});
  CHECK(fires("0 0 1 Mar-May *", t, 3) == std::vector{utc(2024, 3, 1), utc(2024, 4, 1), utc(2024, 5, 1)});
  CHECK(fires("0 0 * * MON-wed", utc(2024, 10, 1), 3) == std::vector{utc(2024, 10, 2), utc(2024, 10, 7), utc(2024, 10, 8)});
  CHECK(next("0 0 * * sun", utc(2024, 10, 1)) == utc(2024, 10, 6));
  CHECK(fires("0 0 1 jan-dec/3 *", t, 3) == std::vector{utc(2024, 4, 1), utc(2024, 7, 1), utc(2024, 10, 1)});
}

TEST_CASE("schedule: 7 is Sunday, like 0") {
  CHECK(next("0 0 * * 7", utc(2024, 10, 1)) == utc(2024, 10, 6));
  CHECK(fires("0 0 * * 7", utc(2024, 1, 1), 60) == fires("0 0 * * 0", utc(2024, 1, 1), 60));
  CHECK(fires("0 0 * * 5-7", utc(2024, 10, 1), 3) == std::vector{utc(2024, 10, 4), utc(2024, 10, 5), utc(2024, 10, 6)});
}

TEST_CASE("schedule: with both day fields restricted a day matches when either does") {
  // October 2024: the 13th is a Sunday; Fridays are the 4th, 11th, 18th and 25th.
  CHECK(fires("0 0 13 * 5", utc(2024, 10, 1), 7) ==
        std::vector{utc(2024, 10, 4), utc(2024, 10, 11), utc(2024, 10, 13), utc(2024, 10, 18), utc(2024, 10, 25),
                    utc(2024, 11, 1), utc(2024, 11, 8)});
  CHECK(fires("0 0 1,15 * mon", utc(2024, 10, 1), 4) ==
        std::vector{utc(2024, 10, 7), utc(2024, 10, 14), utc(2024, 10, 15), utc(2024, 10, 21)});
}

TEST_CASE("schedule: with one day field unrestricted both must match") {
  CHECK(fires("0 0 13 * *", utc(2024, 10, 1), 2) == std::vector{utc(2024, 10, 13), utc(2024, 11, 13)});
  CHECK(next("0 0 * * 5", utc(2024, 10, 1)) == utc(2024, 10, 4));
  // `*/2` starts with `*`, so (as in Vixie cron) it counts as unrestricted: odd days AND Fridays.
  CHECK(next("0 0 */2 * 5", utc(2024, 10, 1)) == utc(2024, 10, 11));
  CHECK(next("0 0 1 * */3", utc(2024, 10, 1)) == utc(2024, 12, 1));  // Sun 1 Dec; Nov 1 is a Friday
}

TEST_CASE("schedule: month ends skip months without the day") {
  CHECK(fires("0 0 31 * *", utc(2024, 4, 15), 3) == std::vector{utc(2024, 5, 31), utc(2024, 7, 31), utc(2024, 8, 31)});
  CHECK(fires("0 0 30 * *", utc(2024, 1, 31), 2) == std::vector{utc(2024, 3, 30), utc(2024, 4, 30)});
}

TEST_CASE("schedule: a Feb 29 schedule from 2025 goes to 2028") {
  CHECK(next("0 0 29 2 *", utc(2025, 1, 1)) == utc(2028, 2, 29));
  CHECK(next("0 0 29 2 *", utc(2024, 2, 29)) == utc(2028, 2, 29));
  CHECK(next("0 0 29 2 *", utc(2024, 2, 28, 23, 59, 59)) == utc(2024, 2, 29));
  // 2100 is not a leap year, 2000 is.
  CHECK(next("0 0 29 2 *", utc(2096, 3, 1)) == utc(2104, 2, 29));
  CHECK(next("0 0 29 2 *", utc(1999, 1, 1)) == utc(2000, 2, 29));
}

TEST_CASE("schedule: rare but possible expressions are accepted") {
  // `*/n` day-of-week fields are unrestricted, so the AND rule applies.
  CHECK(next("0 0 29 2 */1", utc(2024, 3, 1)) == utc(2028, 2, 29));
  CHECK(next("0 0 29 2 mon", utc(2024, 3, 1)) == utc(2025, 2, 3));  // OR rule: any Monday in Feb
  CHECK(next("0 0 29 2 */7", utc(2024, 3, 1)) == utc(2032, 2, 29));  // Sundays only: 29 Feb 2032
}

TEST_CASE("schedule: expressions that never fire are rejected") {
  for (const std::string text : {"0 0 30 2 *", "0 0 31 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 feb *", "0 0 31 2-4/2 *"}) {
    CAPTURE(text);
    const std::string message = parse_error(text);
    CHECK(message.find("never fires") != std::string::npos);
    CHECK(message.find("\"" + text + "\"") != std::string::npos);
  }
}

TEST_CASE("schedule: every bad input is a usage error that quotes the text") {
  const char* bad[] = {
      "",              "   ",           "* * * *",          "* * * * * *",     "61 * * * *",      "0 24 * * *",
      "0 0 0 * *",     "0 0 32 * *",    "0 0 * 0 *",        "0 0 * 13 *",      "0 0 * * 8",       "*/0 * * * *",
      "5-2 * * * *",   "0 0 * * sat-sun", "a * * * *",      "0 0 * foo *",     "0 0 * * funday",  "1,,2 * * * *",
      "1- * * * *",    "-1 * * * *",    "*/ * * * *",       "*/x * * * *",     "1-2-3 * * * *",   "*-5 * * * *",
      "99999999999 * * * *", "0 0 * jan-dec/0 *", "* * * * mon-", "0 0 * * 1/0", "@fortnightly",  "@every",
      "@every 0s",     "@every 5x",     "@every -5m",       "@daily 5",        "@",               "0 0 30 2 *",
      "0 0 1 * monday", "1.5 * * * *",  "0 0 * * jan",      "0 jan * * *",
  };
  for (const std::string text : bad) {
    CAPTURE(text);
    const std::string message = parse_error(text);
    CHECK(message.rfind("invalid schedule \"" + text + "\": ", 0) == 0);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("schedule: error messages name the field and the problem") {
  CHECK(parse_error("61 * * * *") == "invalid schedule \"61 * * * *\": minute 61 is out of range 0-59");
  CHECK(parse_error("0 24 * * *").find("hour 24 is out of range 0-23") != std::string::npos);
  CHECK(parse_error("0 0 32 * *").find("day-of-month 32 is out of range 1-31") != std::string::npos);
  CHECK(parse_error("0 0 * 13 *").find("month 13 is out of range 1-12") != std::string::npos);
  CHECK(parse_error("0 0 * * 8").find("day-of-week 8 is out of range 0-7") != std::string::npos);
  CHECK(parse_error("* * * *").find("expected 5 fields") != std::string::npos);
  CHECK(parse_error("* * * *").find("got 4") != std::string::npos);
  CHECK(parse_error("* * * * * *").find("got 6") != std::string::npos);
  CHECK(parse_error("*/0 * * * *").find("at least 1") != std::string::npos);
  CHECK(parse_error("5-2 * * * *").find("range \"5-2\" is reversed") != std::string::npos);
  CHECK(parse_error("0 0 * foo *").find("month \"foo\"") != std::string::npos);
  CHECK(parse_error("@fortnightly").find("unknown macro \"@fortnightly\"") != std::string::npos);
  CHECK(parse_error("@every 0s").find("must not be zero") != std::string::npos);
  CHECK(parse_error("@every 5x") ==
        "invalid schedule \"@every 5x\": invalid duration \"5x\": unknown unit \"x\"");
  CHECK(parse_error("1-2-3 * * * *").find("minute field \"1-2-3\" is malformed") != std::string::npos);
  CHECK(parse_error("*-5 * * * *").find("minute field \"*-5\" is malformed") != std::string::npos);
  CHECK(parse_error("0 0 30 2 *").find("never fires") != std::string::npos);
  CHECK(parse_error("99999999999 * * * *").find("minute 99999999999 is out of range") != std::string::npos);
}

TEST_CASE("schedule: @every with an exact duration fires on multiples since the epoch") {
  CHECK(next("@every 15m", utc(2024, 5, 5, 10, 7)) == utc(2024, 5, 5, 10, 15));
  CHECK(next("@every 15m", utc(2024, 5, 5, 10, 15)) == utc(2024, 5, 5, 10, 30));
  CHECK(next("@every 90s", utc(2024, 5, 5, 10, 0, 1)) == utc(2024, 5, 5, 10, 1, 30));
  CHECK(next("@every 1 day", utc(2024, 5, 5, 10)) == utc(2024, 5, 6));
  CHECK(next("@EVERY  PT6H", utc(2024, 5, 5, 10)) == utc(2024, 5, 5, 12));
  // 1970-01-01 was a Thursday, so weekly slots fall on Thursdays.
  CHECK(next("@every 7d", utc(2024, 1, 1)) == utc(2024, 1, 4));
  // Before the epoch the slots continue with floor division.
  CHECK(next("@every 90s", sys_seconds{seconds{-100}}) == sys_seconds{seconds{-90}});
  CHECK(next("@every 90s", sys_seconds{seconds{-90}}) == sys_seconds{seconds{0}});
  CHECK(next("@every 90s", sys_seconds{seconds{-1}}) == sys_seconds{seconds{0}});
}

TEST_CASE("schedule: @every with a calendar duration adds it to the given time") {
  CHECK(next("@every 1mo", utc(2024, 1, 31, 10)) == utc(2024, 2, 29, 10));
  CHECK(next("@every 1y", utc(2024, 2, 29)) == utc(2025, 2, 28));
}

TEST_CASE("schedule: next_after agrees with a minute-by-minute search on random expressions") {
  std::uint64_t state = 42;
  const auto rnd = [&state](int bound) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int>((state >> 33) % static_cast<std::uint64_t>(bound));
  };
  // A random list of 1-3 values in [lo, hi], or `*`, with the set it stands for.
  const auto field = [&](int lo, int hi, std::set<int>& values) {
    if (rnd(3) == 0) {
      for (int v = lo; v <= hi; ++v) values.insert(v);
      return std::string("*");
    }
    std::string text;
    for (int n = rnd(3) + 1; n > 0; --n) {
      const int v = lo + rnd(hi - lo + 1);
      values.insert(v);
      text += (text.empty() ? "" : ",") + std::to_string(v);
    }
    return text;
  };
  int checked = 0;
  for (int i = 0; i < 300; ++i) {
    std::set<int> mins, hrs, doms, mons, dows;
    const std::string text = field(0, 59, mins) + " " + field(0, 23, hrs) + " " + field(1, 31, doms) + " " +
                             field(1, 12, mons) + " " + field(0, 7, dows);
    if (dows.count(7) != 0) dows.insert(0);
    const bool dom_star = doms.size() == 31;
    const bool dow_star = text.back() == '*';
    CAPTURE(text);
    std::optional<Schedule> schedule;
    try {
      schedule = Schedule::parse(text);
    } catch (const retentiond::Error&) {
      continue;  // e.g. day 31 in February only
    }
    const sys_seconds t = utc(2000 + rnd(90), static_cast<unsigned>(1 + rnd(12)), static_cast<unsigned>(1 + rnd(28)),
                              rnd(24), rnd(60), rnd(60));
    const sys_seconds got = schedule->next_after(t);

    using namespace std::chrono;
    const auto day_ok = [&](sys_days d) {
      const year_month_day ymd{d};
      const bool dom = doms.count(static_cast<int>(static_cast<unsigned>(ymd.day()))) != 0;
      const bool dow = dows.count(static_cast<int>(weekday{d}.c_encoding())) != 0;
      const bool restricted_both = !dom_star && !dow_star;
      return mons.count(static_cast<int>(static_cast<unsigned>(ymd.month()))) != 0 &&
             (restricted_both ? (dom || dow) : (dom && dow));
    };
    // Reference: minutes in order, skipping only days that cannot match.
    sys_seconds want{};
    for (sys_seconds m = floor<minutes>(t) + minutes(1);; m += minutes(1)) {
      const sys_days d = floor<days>(m);
      if (!day_ok(d)) {
        m = d + days(1) - minutes(1);
        continue;
      }
      const auto tod = duration_cast<minutes>(m - d).count();
      if (hrs.count(static_cast<int>(tod / 60)) != 0 && mins.count(static_cast<int>(tod % 60)) != 0) {
        want = m;
        break;
      }
    }
    CHECK(got == want);
    ++checked;
  }
  CHECK(checked > 250);
}
