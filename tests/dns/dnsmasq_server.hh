// A dnsmasq child process serving fixed records on 127.0.0.1 at a free port, for the resolver
// tests. Started with --keep-in-foreground and stopped by its PID; `available()` is false (and
// tests skip) when /usr/sbin/dnsmasq is not installed.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace ringmta::dns::testing {

inline constexpr const char* kDnsmasqPath = "/usr/sbin/dnsmasq";

// A loopback port that is free for both UDP and TCP right now (dnsmasq binds both).
inline int free_port() {
    for (int attempt = 0; attempt < 20; ++attempt) {
        int udp = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof a);
        getsockname(udp, reinterpret_cast<sockaddr*>(&a), &len);
        int tcp = socket(AF_INET, SOCK_STREAM, 0);
        bool ok = bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        int port = ntohs(a.sin_port);
        close(tcp);
        close(udp);
        if (ok) return port;
    }
    return -1;
}

inline bool tcp_port_open(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    return ok;
}

class DnsmasqServer {
  public:
    static bool available() { return access(kDnsmasqPath, X_OK) == 0; }

    ~DnsmasqServer() { stop(); }

    // Returns an empty string on success, else why it could not start.
    std::string start(const std::vector<std::string>& records) {
        for (int attempt = 0; attempt < 3; ++attempt) {
            port_ = free_port();
            std::vector<std::string> args = {kDnsmasqPath,
                                             "--keep-in-foreground",
                                             "--conf-file=/dev/null",
                                             "--no-resolv",
                                             "--no-hosts",
                                             "--bind-interfaces",
                                             "--listen-address=127.0.0.1",
                                             "--port=" + std::to_string(port_),
                                             "--pid-file=",
                                             "--local-ttl=300",
                                             "--log-facility=/dev/null"};
            args.insert(args.end(), records.begin(), records.end());
            pid_ = spawn(args);
            if (pid_ < 0) return "fork failed";
            for (int i = 0; i < 300; ++i) {
                if (tcp_port_open(port_)) return "";
                int status = 0;
                if (waitpid(pid_, &status, WNOHANG) == pid_) break;  // lost the port race
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            stop();
        }
        return "dnsmasq did not start listening";
    }

    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    static pid_t spawn(const std::vector<std::string>& args) {
        std::vector<char*> argv;
        for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        pid_t pid = fork();
        if (pid == 0) {
            // A test binary that crashes skips its teardown: dnsmasq must not outlive it.
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            execv(argv[0], argv.data());
            _exit(127);
        }
        return pid;
    }

    pid_t pid_ = -1;
    int port_ = -1;
};

}  // namespace ringmta::dns::testing
