// The control socket: a Unix stream socket (mode 0600) where `ringmta queue ...`, `reload` and
// `status` talk to the running gateway. One request per connection: the client writes one line
// of words, the server answers with an exit code line ("0\n" or "1\n") and then the output.
// Served by one blocking thread; requests that need shard state are posted to the shards.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "mta/base/result.hh"

namespace ringmta::admin {

struct ControlReply {
    int exit_code = 0;
    std::string output;
};

using ControlHandler = std::function<ControlReply(const std::vector<std::string>& words)>;

class ControlServer {
public:
    ControlServer() = default;
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    base::Result<void> start(const std::string& path, ControlHandler handler);
    void stop();

private:
    void serve();
    std::string path_;
    int fd_ = -1;
    ControlHandler handler_;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
};

// Client side. Errc::unavailable when nothing listens at `path` (the gateway is not running).
base::Result<ControlReply> control_request(const std::string& path,
                                           const std::vector<std::string>& words);

}  // namespace ringmta::admin
