// errno → Error translation, in one place.
#include "mta/base/result.hh"

#include <cerrno>
#include <cstring>

namespace ringmta::base {

Error errno_error(int err, const std::string& what) {
    Errc code = (err == ENOSPC || err == EDQUOT) ? Errc::no_space
              : (err == ENOENT)                  ? Errc::not_found
                                                 : Errc::io;
    return Error{code, what + ": " + std::strerror(err)};
}

}  // namespace ringmta::base
