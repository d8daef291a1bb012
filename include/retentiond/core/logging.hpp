#pragma once

#include <string_view>

namespace retentiond {

/// Sets up the process logger on stderr. `format` is auto | text | json (auto: text on a
/// terminal, json otherwise, so a service's journal or a container log gets parseable lines).
/// `quiet` keeps only errors, for cron. Level names are those of the `log.level` key.
void init_logging(std::string_view level, std::string_view format, bool quiet);

}  // namespace retentiond
