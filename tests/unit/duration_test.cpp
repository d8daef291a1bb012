#include "retentiond/policy/duration.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "retentiond/core/error.hpp"

using retentiond::Duration;
using std::chrono::seconds;
using std::chrono::sys_seconds;

namespace {

constexpr std::int64_t kDay = 86'400;

sys_seconds utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

Duration exact(std::int64_t s) { return Duration(0, seconds(s)); }

// Parses `text` expecting a usage error; returns its message.
std::string parse_error(const std::string& text, Duration::Zero zero = Duration::Zero::reject) {
  try {
    (void)Duration::parse(text, zero);
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  FAIL("no error for \"" << text << "\"");
  return {};
}

}  // namespace

TEST_CASE("duration: compact forms parse to months and exact seconds") {
  CHECK(Duration::parse("90d") == exact(90 * kDay));
  CHECK(Duration::parse("1w2d") == exact(9 * kDay));
  CHECK(Duration::parse("36h") == exact(36 * 3'600));
  CHECK(Duration::parse("15m") == exact(15 * 60));
  CHECK(Duration::parse("30s") == exact(30));
  CHECK(Duration::parse("6mo") == Duration(6, seconds(0)));
  CHECK(Duration::parse("1y") == Duration(12, seconds(0)));
  CHECK(Duration::parse("1y6mo") == Duration(18, seconds(0)));
  CHECK(Duration::parse("1d12h") == exact(kDay + 12 * 3'600));
  CHECK(Duration::parse("1y2mo3w4d5h6m7s") == Duration(14, seconds(25 * kDay + 5 * 3'600 + 6 * 60 + 7)));
}

TEST_CASE("duration: m is minutes and mo is months") {
  CHECK(Duration::parse("1m") == exact(60));
  CHECK(Duration::parse("1mo") == Duration(1, seconds(0)));
  CHECK(Duration::parse("1mon") == Duration(1, seconds(0)));
  CHECK(Duration::parse("1min") == exact(60));
}

TEST_CASE("duration: spelled-out units are accepted singular, plural and in any case") {
  CHECK(Duration::parse("90 days") == exact(90 * kDay));
  CHECK(Duration::parse("1 day") == exact(kDay));
  CHECK(Duration::parse("1 week") == exact(7 * kDay));
  CHECK(Duration::parse("2 weeks") == exact(14 * kDay));
  CHECK(Duration::parse("1 year 6 months") == Duration(18, seconds(0)));
  CHECK(Duration::parse("2 hours 30 minutes") == exact(2 * 3'600 + 30 * 60));
  CHECK(Duration::parse("1 month") == Duration(1, seconds(0)));
  CHECK(Duration::parse("3 yrs") == Duration(36, seconds(0)));
  CHECK(Duration::parse("2 yr") == Duration(24, seconds(0)));
  CHECK(Duration::parse("4 hr 5 mins 6 secs") == exact(4 * 3'600 + 5 * 60 + 6));
  CHECK(Duration::parse("1 second") == exact(1));
  CHECK(Duration::parse("10 sec") == exact(10));
  CHECK(Duration::parse("3 hrs") == exact(3 * 3'600));
  CHECK(Duration::parse("90 DAYS") == exact(90 * kDay));
  CHECK(Duration::parse("1 Year 1 Month") == Duration(13, seconds(0)));
  CHECK(Duration::parse("36H") == exact(36 * 3'600));
  CHECK(Duration::parse("6MO") == Duration(6, seconds(0)));
  CHECK(Duration::parse("1y 6mo") == Duration(18, seconds(0)));
  CHECK(Duration::parse("  90d\t") == exact(90 * kDay));
  CHECK(Duration::parse("1\tday") == exact(kDay));
}

TEST_CASE("duration: ISO 8601 forms parse with M meaning months before T and minutes after") {
  CHECK(Duration::parse("P90D") == exact(90 * kDay));
  CHECK(Duration::parse("P1Y6M") == Duration(18, seconds(0)));
  CHECK(Duration::parse("PT12H") == exact(12 * 3'600));
  CHECK(Duration::parse("P2W") == exact(14 * kDay));
  CHECK(Duration::parse("P1M") == Duration(1, seconds(0)));
  CHECK(Duration::parse("PT1M") == exact(60));
  CHECK(Duration::parse("P1Y2M3DT4H5M6S") == Duration(14, seconds(3 * kDay + 4 * 3'600 + 5 * 60 + 6)));
  CHECK(Duration::parse("PT36H") == exact(36 * 3'600));
  CHECK(Duration::parse("p1dt2h") == exact(kDay + 2 * 3'600));
  CHECK(Duration::parse("PT0S", Duration::Zero::allow).is_zero());
}

TEST_CASE("duration: zero is rejected unless the caller allows it") {
  CHECK(parse_error("0d").find("must not be zero") != std::string::npos);
  CHECK(parse_error("0s").find("must not be zero") != std::string::npos);
  CHECK(parse_error("P0D").find("must not be zero") != std::string::npos);
  CHECK(Duration::parse("0s", Duration::Zero::allow).is_zero());
  CHECK(Duration::parse("0 days", Duration::Zero::allow) == Duration());
  CHECK(Duration::parse("0d1h") == exact(3'600));
}

TEST_CASE("duration: every bad input is a usage error that quotes the text") {
  const char* bad[] = {
      "",          "   ",     "90",          "d",           "90x",      "-5d",          "+5d",
      "1.5d",      "1,5d",    "P",           "PT",          "P1DT",     "P1H",          "P1X",
      "PT1D",      "P1M1Y",   "P1D1D",       "P-1D",        "P1 D",     "P1",           "1d1d",
      "1d 2days",  "90dd",    "day 90",      "1y-2mo",      "1d 2",     "5 fortnights", "99999999999999999999d",
      "10001y",    "1d!",     "abc abc",     "1_000d",      "PT1H1H",   "P1DTT1H",      "12 34",
  };
  for (const std::string text : bad) {
    CAPTURE(text);
    const std::string message = parse_error(text);
    CHECK(message.rfind("invalid duration \"" + text + "\": ", 0) == 0);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("duration: error messages name the problem") {
  CHECK(parse_error("90x") == "invalid duration \"90x\": unknown unit \"x\"");
  CHECK(parse_error("90").find("has no unit") != std::string::npos);
  CHECK(parse_error("d").find("unit \"d\" has no number") != std::string::npos);
  CHECK(parse_error("").find("empty") != std::string::npos);
  CHECK(parse_error("-5d").find("negative") != std::string::npos);
  CHECK(parse_error("P-1D").find("negative") != std::string::npos);
  CHECK(parse_error("1.5d").find("fractional number \"1.5\"") != std::string::npos);
  CHECK(parse_error("99999999999999999999d").find("too large") != std::string::npos);
  CHECK(parse_error("1d1d").find("given twice") != std::string::npos);
  CHECK(parse_error("P1H").find("after \"T\"") != std::string::npos);
  CHECK(parse_error("P1M1Y").find("out of order") != std::string::npos);
}

TEST_CASE("duration: the limit is 10000 years, summed over all parts") {
  CHECK(Duration::parse("10000y") == Duration(120'000, seconds(0)));
  CHECK(parse_error("10000y1d").find("too large") != std::string::npos);
  CHECK(parse_error("9999y13mo").find("too large") != std::string::npos);
  CHECK(parse_error("120001mo").find("too large") != std::string::npos);
  CHECK(parse_error("315569520001s").find("too large") != std::string::npos);
  CHECK(Duration::parse("315569520000s") == exact(315'569'520'000));
  CHECK(parse_error("1000000000000w").find("too large") != std::string::npos);
  CHECK(parse_error("9223372036854775807s").find("too large") != std::string::npos);
}

TEST_CASE("duration: control characters in bad input are escaped so the message stays one line") {
  const std::string message = parse_error("1d\n2x");
  CHECK(message.find('\n') == std::string::npos);
  CHECK(message.find("\"1d\\x0a2x\"") != std::string::npos);
  CHECK(parse_error("5\"d").find("\"5\\\"d\"") != std::string::npos);
}

TEST_CASE("duration: to_string is canonical, largest units first, weeks as days") {
  CHECK(Duration::parse("90d").to_string() == "90d");
  CHECK(Duration::parse("2w").to_string() == "14d");
  CHECK(Duration::parse("1y6mo").to_string() == "1y6mo");
  CHECK(Duration::parse("18 months").to_string() == "1y6mo");
  CHECK(Duration::parse("36h").to_string() == "1d12h");
  CHECK(Duration::parse("90 minutes").to_string() == "1h30m");
  CHECK(Duration::parse("P1Y2M3DT4H5M6S").to_string() == "1y2mo3d4h5m6s");
  CHECK(Duration::parse("3600s").to_string() == "1h");
  CHECK(Duration::parse("12mo").to_string() == "1y");
  CHECK(Duration().to_string() == "0s");
  CHECK(Duration::parse("1y1s").to_string() == "1y1s");
}

TEST_CASE("duration: parse(to_string(d)) gives back d for many values") {
  // A fixed linear congruential generator keeps the test deterministic.
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  const auto next = [&state](std::uint64_t bound) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::int64_t>((state >> 33) % bound);
  };
  for (int i = 0; i < 5'000; ++i) {
    const std::int64_t months = (i % 3 == 0) ? 0 : next(12'000);
    const std::int64_t secs = (i % 5 == 0) ? 0 : next(i % 2 == 0 ? 100'000 : 30'000'000'000);
    const Duration d(months, seconds(secs));
    CAPTURE(d.to_string());
    CHECK(Duration::parse(d.to_string(), Duration::Zero::allow) == d);
  }
  for (std::int64_t s : {std::int64_t{1}, std::int64_t{59}, std::int64_t{60}, std::int64_t{3'599},
                         std::int64_t{86'399}, std::int64_t{86'401}, std::int64_t{315'569'520'000}}) {
    CHECK(Duration::parse(exact(s).to_string()) == exact(s));
  }
  CHECK(Duration::parse(Duration(120'000, seconds(0)).to_string()) == Duration(120'000, seconds(0)));
}

TEST_CASE("duration: is_exact is false only with a calendar part") {
  CHECK(Duration::parse("400d").is_exact());
  CHECK_FALSE(Duration::parse("1mo").is_exact());
  CHECK_FALSE(Duration::parse("1y1s").is_exact());
}

TEST_CASE("duration: 31 Jan + 1mo is the last day of February") {
  const Duration month = Duration::parse("1mo");
  CHECK(month.after(utc(2023, 1, 31)) == utc(2023, 2, 28));
  CHECK(month.after(utc(2024, 1, 31)) == utc(2024, 2, 29));
  CHECK(month.after(utc(2100, 1, 31)) == utc(2100, 2, 28));
  CHECK(month.after(utc(2000, 1, 31)) == utc(2000, 2, 29));
  CHECK(month.after(utc(2023, 3, 31)) == utc(2023, 4, 30));
  CHECK(month.after(utc(2023, 1, 15)) == utc(2023, 2, 15));
}

TEST_CASE("duration: 31 Mar - 1mo is the last day of February") {
  const Duration month = Duration::parse("1mo");
  CHECK(month.before(utc(2023, 3, 31)) == utc(2023, 2, 28));
  CHECK(month.before(utc(2024, 3, 31)) == utc(2024, 2, 29));
  CHECK(month.before(utc(2100, 3, 31)) == utc(2100, 2, 28));
  CHECK(month.before(utc(2000, 3, 31)) == utc(2000, 2, 29));
  CHECK(month.before(utc(2023, 5, 31)) == utc(2023, 4, 30));
}

TEST_CASE("duration: 29 Feb + 1y is 28 Feb, and back lands on 28 Feb of the leap year") {
  const Duration year = Duration::parse("1y");
  CHECK(year.after(utc(2024, 2, 29)) == utc(2025, 2, 28));
  CHECK(year.before(utc(2024, 2, 29)) == utc(2023, 2, 28));
  CHECK(year.before(utc(2025, 2, 28)) == utc(2024, 2, 28));
  CHECK(Duration::parse("4y").after(utc(2024, 2, 29)) == utc(2028, 2, 29));
  CHECK(Duration::parse("4y").after(utc(2096, 2, 29)) == utc(2100, 2, 28));
  CHECK(Duration::parse("100y").after(utc(1900, 2, 28)) == utc(2000, 2, 28));
}

TEST_CASE("duration: month arithmetic keeps the time of day and crosses years") {
  CHECK(Duration::parse("1mo").after(utc(2023, 12, 31, 23, 59, 59)) == utc(2024, 1, 31, 23, 59, 59));
  CHECK(Duration::parse("2mo").after(utc(2023, 12, 31, 13, 14, 15)) == utc(2024, 2, 29, 13, 14, 15));
  CHECK(Duration::parse("1mo").before(utc(2024, 1, 15, 6, 30)) == utc(2023, 12, 15, 6, 30));
  CHECK(Duration::parse("13mo").before(utc(2024, 1, 31, 1)) == utc(2022, 12, 31, 1));
  CHECK(Duration::parse("1y6mo").after(utc(2023, 8, 31)) == utc(2025, 2, 28));
}

TEST_CASE("duration: months apply first, then the exact part") {
  // 31 Jan + 1mo = 29 Feb 2024, then + 1d = 1 Mar; the other order would give 31 Mar.
  CHECK(Duration::parse("1mo1d").after(utc(2024, 1, 31)) == utc(2024, 3, 1));
  // before() mirrors PostgreSQL's `timestamp - interval`: months, then the exact part.
  CHECK(Duration::parse("1mo1d").before(utc(2024, 3, 31)) == utc(2024, 2, 28));
  CHECK(Duration::parse("1mo12h").after(utc(2024, 1, 31, 18)) == utc(2024, 3, 1, 6));
}

TEST_CASE("duration: exact durations are plain second arithmetic") {
  const sys_seconds t = utc(2024, 3, 10, 12, 0, 0);
  CHECK(Duration::parse("90d").before(t) == t - seconds(90 * kDay));
  CHECK(Duration::parse("36h").after(t) == utc(2024, 3, 12, 0, 0, 0));
  CHECK(Duration::parse("1s").before(utc(2024, 1, 1)) == utc(2023, 12, 31, 23, 59, 59));
  CHECK(Duration().after(t) == t);
  CHECK(Duration::parse("365d").after(utc(2024, 1, 1)) == utc(2024, 12, 31));
}

TEST_CASE("duration: the retention cutoff for a year is the same date a year earlier") {
  CHECK(Duration::parse("1y").before(utc(2025, 6, 15, 10, 30)) == utc(2024, 6, 15, 10, 30));
  CHECK(Duration::parse("P1Y").before(utc(1970, 1, 1)) == utc(1969, 1, 1));
}
