// Maps the three admin paths to answers; the HTTP mechanics live in HttpServer.
#include "mta/admin/metrics_server.hh"

namespace ringmta::admin {

base::Result<void> MetricsServer::start(const sockaddr* address, socklen_t length,
                                        MetricsCollector collector, ReadinessProbe readiness,
                                        HttpServerOptions options) {
    collector_ = std::move(collector);
    readiness_ = std::move(readiness);
    return http_.start(
        address, length, [this](const HttpRequest& r) { return answer(r); }, options);
}

HttpResponse MetricsServer::answer(const HttpRequest& request) const {
    HttpResponse r;
    bool known =
        request.path == "/metrics" || request.path == "/healthz" || request.path == "/readyz";
    if (!known) {
        r.status = 404;
        r.body = "not found; try /metrics, /healthz or /readyz\n";
        return r;
    }
    if (request.method != "GET" && request.method != "HEAD") {
        r.status = 405;
        r.allow = "GET, HEAD";
        r.body = "method not allowed\n";
        return r;
    }
    if (request.path == "/metrics") {
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = format_prometheus(collector_());
    } else if (request.path == "/healthz") {
        r.body = "ok\n";
    } else {
        Readiness ready = readiness_();
        r.status = ready.ready ? 200 : 503;
        r.body = ready.ready ? "ready\n" : "not ready: " + ready.detail + "\n";
    }
    return r;
}

}  // namespace ringmta::admin
