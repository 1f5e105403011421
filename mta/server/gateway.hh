// The running gateway: loads nothing itself (main hands it a validated config), recovers each
// shard's spool, starts one thread per shard, serves the control socket, and turns signals into
// a graceful stop (SIGTERM/SIGINT) or a reload (SIGHUP). Start-up failures come back as one
// line for the operator; once running, only a signal ends it.
#pragma once

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mta/admin/control_socket.hh"
#include "mta/admin/metrics_server.hh"
#include "mta/base/clock.hh"
#include "mta/base/result.hh"
#include "mta/config/config.hh"

namespace ringmta::server {

struct ShardState;

class Gateway {
public:
    Gateway(std::shared_ptr<const config::Config> config, std::string config_path,
            unsigned threads_override);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    // Locks the spool, recovers it, starts the shards and the control socket.
    base::Result<void> start();
    // Blocks until SIGTERM or SIGINT has stopped every shard. Returns the exit code.
    int wait();

    // Control-socket requests.
    admin::ControlReply control(const std::vector<std::string>& words);

private:
    base::Result<void> lock_spool();
    base::Result<void> recover_and_prepare();
    base::Result<void> start_shards();
    void stop();
    std::string reload();
    std::string status_text();
    admin::MetricsSnapshot metrics_snapshot();
    admin::Readiness readiness();
    admin::ControlReply queue_command(const std::vector<std::string>& words);
    admin::ControlReply queue_list(const std::vector<std::string>& words);
    admin::ControlReply queue_summary(const std::vector<std::string>& words);
    admin::ControlReply queue_show(uint64_t queue_id, bool json);
    admin::ControlReply queue_flush(const std::vector<std::string>& words);
    admin::ControlReply queue_action(const std::string& verb, uint64_t queue_id);

    std::mutex reload_mutex_;  // one reload at a time; guards config_ against reload()
    std::shared_ptr<const config::Config> config_;
    std::string config_path_;
    unsigned shard_count_ = 0;
    int lock_fd_ = -1;
    struct Shared;
    std::unique_ptr<Shared> shared_;
    std::vector<std::unique_ptr<ShardState>> shards_;
    admin::ControlServer control_;
    admin::MetricsServer metrics_;
    std::promise<void> go_;  // releases the shard loops once start-up is complete
    base::SystemClock clock_;
};

// Blocks SIGTERM, SIGINT, SIGHUP and SIGPIPE in the calling thread (and so in every thread it
// starts afterwards); the gateway collects them with sigwait.
void block_signals();

}  // namespace ringmta::server
