#include "retentiond/core/error.hpp"

#include "retentiond/core/escape.hpp"

namespace retentiond {

std::string quote_input(std::string_view text) {
  std::string out = "\"";
  append_escaped(out, text, true);
  return out + '"';
}

}  // namespace retentiond
