// Result<T>: a value or an error, for operating conditions the caller must branch on.
// GCC 12 has no std::expected in C++20; the member names follow std::expected so the switch
// later is mechanical. Errors carry an enum the caller branches on plus a human message.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "mta/base/assert.hh"

namespace ringmta::base {

// What callers branch on. Kept short on purpose: the message says the rest.
enum class Errc {
    invalid,      // bad input (config, syntax, arguments)
    not_found,    // the thing asked for does not exist
    io,           // the operating system refused (errno in the message)
    corrupt,      // data on disk failed its checksum or framing
    no_space,     // out of disk or of a configured budget
    unavailable,  // try later (peer down, resource busy)
};

struct Error {
    Errc code;
    std::string message;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}                  // NOLINT: implicit by design
    Result(Error error) : v_(std::move(error)) {}              // NOLINT
    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& value() & { MTA_ASSERT(has_value()); return std::get<0>(v_); }
    const T& value() const& { MTA_ASSERT(has_value()); return std::get<0>(v_); }
    T&& value() && { MTA_ASSERT(has_value()); return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { MTA_ASSERT(!has_value()); return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// Result<void>: success or an error.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { MTA_ASSERT(!ok_); return error_; }

private:
    Error error_{};
    bool ok_ = true;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

// errno translated once, where the completion is reaped.
Error errno_error(int err, const std::string& what);

}  // namespace ringmta::base
