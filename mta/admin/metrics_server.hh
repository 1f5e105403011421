// The metrics and health endpoint (config `metrics.address`): GET /metrics (Prometheus text),
// /healthz (200 "ok" while the process runs) and /readyz (200 once every shard runs and none is
// stopping, else 503). Everything else is 404. Served by one blocking HttpServer thread; each
// scrape calls the collector on that thread, so a scrape costs the shards one posted task each.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <string>

#include "mta/admin/http_server.hh"
#include "mta/admin/metrics.hh"
#include "mta/base/result.hh"

namespace ringmta::admin {

struct Readiness {
    bool ready = false;
    std::string detail;  // why not ready, e.g. "shard 2 stopping"; shown in the 503 body
};

// Must be cheap and must not wait on the shards (read atomics): /readyz is what a load
// balancer or systemd watchdog polls, and it must answer even when a shard is wedged.
using ReadinessProbe = std::function<Readiness()>;

class MetricsServer {
  public:
    // Binds `address` (port 0 picks a free port) and starts serving. The collector and probe
    // are called on the server's thread until stop() returns.
    base::Result<void> start(const sockaddr* address, socklen_t length, MetricsCollector collector,
                             ReadinessProbe readiness, HttpServerOptions options = {});
    // Call before stopping the shards: a scrape in progress waits for the collector.
    void stop() { http_.stop(); }
    uint16_t port() const { return http_.port(); }

  private:
    HttpResponse answer(const HttpRequest& request) const;

    MetricsCollector collector_;
    ReadinessProbe readiness_;
    HttpServer http_;
};

}  // namespace ringmta::admin
