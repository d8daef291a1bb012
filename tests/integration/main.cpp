// The integration test binary's main: doctest's, plus one guard. Each TEST_CASE starts its own
// PostgreSQL (support/pg_server.hpp) and drives the real retentiond binary (support/run.hpp).
//
// ctest runs every test case as `integration_tests --test-case=NAME`, and doctest exits 0 when
// NAME matches nothing. A test whose name does not survive discovery (doctest.cmake splits names
// at ';') would then pass without running. So a run whose filters select no test case fails.
#define DOCTEST_CONFIG_IMPLEMENT
#include <cstdio>

#include <doctest/doctest.h>

namespace {

unsigned selected_test_cases = 0;
bool test_run_ended = false;

class SelectionCounter : public doctest::IReporter {
 public:
  explicit SelectionCounter(const doctest::ContextOptions& /*options*/) {}
  void report_query(const doctest::QueryData& /*data*/) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    selected_test_cases = stats.numTestCasesPassingFilters;
    test_run_ended = true;
  }
  void test_case_start(const doctest::TestCaseData& /*data*/) override {}
  void test_case_reenter(const doctest::TestCaseData& /*data*/) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& /*stats*/) override {}
  void test_case_exception(const doctest::TestCaseException& /*exception*/) override {}
  void subcase_start(const doctest::SubcaseSignature& /*signature*/) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& /*data*/) override {}
  void log_message(const doctest::MessageData& /*data*/) override {}
  void test_case_skipped(const doctest::TestCaseData& /*data*/) override {}
};

REGISTER_LISTENER("selection_counter", 1, SelectionCounter);

}  // namespace

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit() || result != 0 || !test_run_ended) return result;  // --list-*, --help, ...
  if (selected_test_cases == 0) {
    std::fputs("[harness] no test case matches the given filters: nothing was tested\n", stderr);
    return 1;
  }
  return result;
}
