#include "retentiond/cli/tag_selector.hpp"

#include <doctest/doctest.h>

using retentiond::no_tag_match_message;

TEST_CASE("tag selector: a selector that matches nothing is named, its tags joined and quoted") {
  CHECK(no_tag_match_message("policy", {"a", "b"}, "; nothing changed") ==
        "retentiond: no policy carries the tags \"a,b\"; nothing changed");
  CHECK(no_tag_match_message("enabled policy", {"x"}, "; nothing to do") ==
        "retentiond: no enabled policy carries the tags \"x\"; nothing to do");
  CHECK(no_tag_match_message("policy", {"a", "b"}, "") == "retentiond: no policy carries the tags \"a,b\"");
}

TEST_CASE("tag selector: a tag with a line break cannot forge a second line of the message") {
  CHECK(no_tag_match_message("policy", {"a\nretentiond: ok"}, "").find('\n') == std::string::npos);
}
