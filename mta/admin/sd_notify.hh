// systemd readiness notification without libsystemd: one datagram to $NOTIFY_SOCKET (a path,
// or an abstract name written with a leading '@'). Without NOTIFY_SOCKET (not started by
// systemd, or Type= is not notify) every call is a successful no-op. Failures are returned, never
// fatal: the caller logs them; systemd then times the start out and says so.
#pragma once

#include <string>
#include <string_view>

#include "mta/base/result.hh"

namespace ringmta::admin {

// Sends `state` ("READY=1", "STATUS=...", several separated by '\n') to `socket_name`.
// Errc::invalid when the name is neither absolute nor '@'-abstract; when sending fails, the errno
// as an error (Errc::not_found when no socket exists at the path).
base::Result<void> sd_notify_to(const std::string& socket_name, std::string_view state);

// The same to $NOTIFY_SOCKET; no-op when it is unset or empty.
base::Result<void> sd_notify(std::string_view state);

// After start-up: listeners bound, every shard running. Also after a reload has finished.
base::Result<void> notify_ready();
// At the start of a graceful stop.
base::Result<void> notify_stopping();
// When a reload (SIGHUP) starts; call notify_ready() once it is done (refused or applied).
base::Result<void> notify_reloading();
// Free-form status line shown by `systemctl status`.
base::Result<void> notify_status(std::string_view text);

}  // namespace ringmta::admin
