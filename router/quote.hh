// Quoting for config and routing messages: values appear as the operator wrote them, in
// double quotes, so an empty or space-padded value is still visible.
#pragma once

#include <string>
#include <string_view>

namespace ringmta::router {

inline std::string quoted(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    out += s;
    out += '"';
    return out;
}

}  // namespace ringmta::router
