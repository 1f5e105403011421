// SASL encodings the outbound client needs for AUTH (RFC 4954): base64 (RFC 4648, with
// padding, no line breaks) and the PLAIN initial response (RFC 4616). Pure functions; the
// output holds only base64 characters, so it can never carry a CR or LF into a command.
#pragma once

#include <string>
#include <string_view>

namespace ringmta::smtp {

std::string base64_encode(std::string_view bytes);

// base64("" NUL username NUL password): no authorisation identity, so the server derives it.
std::string sasl_plain_response(std::string_view username, std::string_view password);

}  // namespace ringmta::smtp
