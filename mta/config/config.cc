// JSON → Config with simdjson's DOM API. Each section is read by a small function that knows
// its keys; anything else in the object is reported as unknown. This is the only translation
// unit that includes simdjson.h (it is slow to compile).
#include "mta/config/config.hh"

#include <simdjson.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <initializer_list>
#include <set>
#include <limits>
#include <sstream>

namespace ringmta::config {

const char* const kEmbeddedDefaultConfig = R"json({
  "server": { "spool_dir": "./spool" },
  "listeners": [ { "address": "127.0.0.1:2525" } ],
  "connectors": [
    { "name": "default", "address_spaces": ["*"], "smart_hosts": ["127.0.0.1:2526"] }
  ]
})json";

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

const char* type_name(element_type t) {
    switch (t) {
        case element_type::ARRAY: return "an array";
        case element_type::OBJECT: return "an object";
        case element_type::INT64:
        case element_type::UINT64:
        case element_type::DOUBLE: return "a number";
        case element_type::STRING: return "a string";
        case element_type::BOOL: return "a boolean";
        case element_type::NULL_VALUE: return "null";
    }
    return "a value";
}

// Collects errors with their key path; every reader returns whether the value was usable.
class Reader {
public:
    explicit Reader(std::string source) : source_(std::move(source)) {}
    std::vector<std::string> errors;
    std::vector<std::string> warnings;

    void fail(const std::string& path, const std::string& what) {
        errors.push_back(source_ + ": " + path + ": " + what);
    }

    void warn(const std::string& path, const std::string& what) {
        warnings.push_back(source_ + ": warning: " + path + ": " + what);
    }

    // Reports keys of `obj` that are not in `known`.
    void check_keys(object obj, const std::string& path, std::initializer_list<const char*> known) {
        for (auto field : obj) {
            bool ok = false;
            for (const char* k : known) ok = ok || field.key == k;
            if (!ok) fail(join(path, std::string(field.key)), "unknown key");
        }
    }

    // simdjson's DOM keeps every field of an object and a lookup finds only one of them, so a
    // repeated key would silently drop a value. Refused anywhere in the document, with its path.
    void check_duplicate_keys(element e, const std::string& path) {
        if (e.type() == element_type::OBJECT) {
            std::set<std::string_view> seen;
            object obj = e.get_object().value_unsafe();  // a copy: no dangling ref
            for (auto field : obj) {
                std::string p = join(path, std::string(field.key));
                if (!seen.insert(field.key).second) fail(p, "duplicate key");
                check_duplicate_keys(field.value, p);
            }
        } else if (e.type() == element_type::ARRAY) {
            size_t i = 0;
            simdjson::dom::array items = e.get_array().value_unsafe();
            for (element item : items)
                check_duplicate_keys(item, path + "[" + std::to_string(i++) + "]");
        }
    }

    static std::string join(const std::string& path, const std::string& key) {
        return path.empty() ? key : path + "." + key;
    }

    bool get_object(element e, const std::string& path, object* out) {
        if (e.type() != element_type::OBJECT) {
            fail(path, std::string("expected an object, got ") + type_name(e.type()));
            return false;
        }
        *out = e.get_object().value_unsafe();
        return true;
    }

    template <typename T>
    void uint_field(object obj, const std::string& path, const char* key, T* out,
                    uint64_t min = 0, uint64_t max = std::numeric_limits<T>::max()) {
        element e;
        if (obj[key].get(e) != simdjson::SUCCESS) return;
        std::string p = join(path, key);
        uint64_t v = 0;
        if (e.type() == element_type::INT64 && e.get_int64().value_unsafe() >= 0) {
            v = uint64_t(e.get_int64().value_unsafe());
        } else if (e.type() == element_type::UINT64) {
            v = e.get_uint64().value_unsafe();
        } else {
            fail(p, std::string("expected a non-negative integer, got ") +
                        (e.type() == element_type::INT64 ? "a negative number" : type_name(e.type())));
            return;
        }
        if (v < min || v > max) {
            fail(p, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                        ", got " + std::to_string(v));
            return;
        }
        *out = T(v);
    }

    void string_field(object obj, const std::string& path, const char* key, std::string* out) {
        element e;
        if (obj[key].get(e) != simdjson::SUCCESS) return;
        if (e.type() != element_type::STRING) {
            fail(join(path, key), std::string("expected a string, got ") + type_name(e.type()));
            return;
        }
        *out = std::string(e.get_string().value_unsafe());
    }

    void bool_field(object obj, const std::string& path, const char* key, bool* out) {
        element e;
        if (obj[key].get(e) != simdjson::SUCCESS) return;
        if (e.type() != element_type::BOOL) {
            fail(join(path, key), std::string("expected true or false, got ") + type_name(e.type()));
            return;
        }
        *out = e.get_bool().value_unsafe();
    }

    // An array of strings; returns false (with an error) when absent-but-wrong.
    void string_list_field(object obj, const std::string& path, const char* key,
                           std::vector<std::string>* out) {
        element e;
        if (obj[key].get(e) != simdjson::SUCCESS) return;
        std::string p = join(path, key);
        if (e.type() != element_type::ARRAY) {
            fail(p, std::string("expected an array of strings, got ") + type_name(e.type()));
            return;
        }
        out->clear();
        size_t i = 0;
        simdjson::dom::array items = e.get_array().value_unsafe();  // a copy: no dangling ref
        for (element item : items) {
            if (item.type() != element_type::STRING) {
                fail(p + "[" + std::to_string(i) + "]",
                     std::string("expected a string, got ") + type_name(item.type()));
            } else {
                out->emplace_back(item.get_string().value_unsafe());
            }
            ++i;
        }
    }

    // Iterates an array of objects, calling fn(object, path) for each.
    template <typename Fn>
    void object_list_field(object obj, const std::string& path, const char* key, Fn fn) {
        element e;
        if (obj[key].get(e) != simdjson::SUCCESS) return;
        std::string p = join(path, key);
        if (e.type() != element_type::ARRAY) {
            fail(p, std::string("expected an array of objects, got ") + type_name(e.type()));
            return;
        }
        size_t i = 0;
        simdjson::dom::array items = e.get_array().value_unsafe();
        for (element item : items) {
            std::string ip = p + "[" + std::to_string(i++) + "]";
            object o;
            if (get_object(item, ip, &o)) fn(o, ip);
        }
    }

    template <typename Fn>
    void section(object root, const char* key, Fn fn) {
        element e;
        if (root[key].get(e) != simdjson::SUCCESS) return;
        object o;
        if (get_object(e, key, &o)) fn(o, std::string(key));
    }

private:
    std::string source_;
};

bool parse_cidr(const std::string& text, Cidr* out) {
    std::string addr = text;
    unsigned prefix = 0;
    bool has_prefix = false;
    if (auto slash = text.find('/'); slash != std::string::npos) {
        addr = text.substr(0, slash);
        std::string p = text.substr(slash + 1);
        if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos)
            return false;
        prefix = unsigned(std::stoul(p));
        has_prefix = true;
    }
    Cidr c;
    if (inet_pton(AF_INET, addr.c_str(), c.bytes) == 1) {
        c.family = AF_INET;
        c.prefix = has_prefix ? prefix : 32;
        if (c.prefix > 32) return false;
    } else if (inet_pton(AF_INET6, addr.c_str(), c.bytes) == 1) {
        c.family = AF_INET6;
        c.prefix = has_prefix ? prefix : 128;
        if (c.prefix > 128) return false;
    } else {
        return false;
    }
    *out = c;
    return true;
}

void read_server(Reader& r, object o, const std::string& p, ServerConfig* s) {
    r.check_keys(o, p, {"hostname", "threads", "spool_dir", "control_socket", "spool_segment_size",
                        "shutdown_grace_s"});
    r.string_field(o, p, "hostname", &s->hostname);
    r.uint_field(o, p, "threads", &s->threads, 0, 256);
    r.string_field(o, p, "spool_dir", &s->spool_dir);
    r.string_field(o, p, "control_socket", &s->control_socket);
    r.uint_field(o, p, "spool_segment_size", &s->spool_segment_size, 1 << 20, 1ull << 40);
    r.uint_field(o, p, "shutdown_grace_s", &s->shutdown_grace_s, 0, 3600);
    if (s->spool_dir.empty()) r.fail(Reader::join(p, "spool_dir"), "expected a directory path");
}

void read_limits(Reader& r, object o, const std::string& p, LimitsConfig* l) {
    r.check_keys(o, p, {"message_size_max", "recipients_per_message_max", "connections_max",
                        "connections_per_ip_max", "command_timeout_s", "data_timeout_s",
                        "errors_per_session_max", "command_line_length_max",
                        "text_line_length_max", "memory_max", "tls_handshake_timeout_s",
                        "queue_messages_max", "unread_reply_bytes_max", "final_reply_timeout_s"});
    r.uint_field(o, p, "message_size_max", &l->message_size_max, 1, 1ull << 36);
    r.uint_field(o, p, "recipients_per_message_max", &l->recipients_per_message_max, 1, 100000);
    r.uint_field(o, p, "connections_max", &l->connections_max, 1, 1000000);
    r.uint_field(o, p, "connections_per_ip_max", &l->connections_per_ip_max, 1, 1000000);
    r.uint_field(o, p, "command_timeout_s", &l->command_timeout_s, 1, 86400);
    r.uint_field(o, p, "data_timeout_s", &l->data_timeout_s, 1, 86400);
    r.uint_field(o, p, "errors_per_session_max", &l->errors_per_session_max, 1, 100000);
    r.uint_field(o, p, "command_line_length_max", &l->command_line_length_max, 512, 65536);
    r.uint_field(o, p, "text_line_length_max", &l->text_line_length_max, 1000, 1u << 30);
    r.uint_field(o, p, "memory_max", &l->memory_max, 1 << 20, 1ull << 40);
    r.uint_field(o, p, "tls_handshake_timeout_s", &l->tls_handshake_timeout_s, 1, 3600);
    r.uint_field(o, p, "queue_messages_max", &l->queue_messages_max, 1, 1ull << 32);
    r.uint_field(o, p, "unread_reply_bytes_max", &l->unread_reply_bytes_max, 4096, 1u << 30);
    r.uint_field(o, p, "final_reply_timeout_s", &l->final_reply_timeout_s, 1, 3600);
}

void read_relay(Reader& r, object o, const std::string& p, RelayConfig* relay) {
    r.check_keys(o, p, {"networks", "bare_newline"});
    std::vector<std::string> nets = relay->network_texts;
    r.string_list_field(o, p, "networks", &nets);
    relay->network_texts = nets;
    relay->networks.clear();
    for (size_t i = 0; i < nets.size(); ++i) {
        Cidr c;
        if (parse_cidr(nets[i], &c)) {
            relay->networks.push_back(c);
        } else {
            r.fail(p + ".networks[" + std::to_string(i) + "]",
                   "\"" + nets[i] + "\" is not a CIDR (expected e.g. \"10.0.0.0/8\" or \"::1/128\")");
        }
    }
    std::string mode;
    r.string_field(o, p, "bare_newline", &mode);
    if (mode == "reject") relay->bare_newline = BareNewline::reject;
    else if (!mode.empty() && mode != "normalize")
        r.fail(p + ".bare_newline", "expected \"normalize\" or \"reject\", got \"" + mode + "\"");
}

void read_connector(Reader& r, object o, const std::string& p, router::ConnectorSpec* c) {
    r.check_keys(o, p, {"name", "enabled", "address_spaces", "smart_hosts", "dns_routing", "port",
                        "max_message_size", "tls", "auth", "pool"});
    r.string_field(o, p, "name", &c->name);
    if (c->name.empty()) r.fail(p + ".name", "expected a non-empty connector name");
    r.bool_field(o, p, "enabled", &c->enabled);
    r.string_list_field(o, p, "address_spaces", &c->address_spaces);
    r.string_list_field(o, p, "smart_hosts", &c->smart_hosts);
    r.bool_field(o, p, "dns_routing", &c->dns_routing);
    r.uint_field(o, p, "port", &c->port, 1, 65535);
    r.uint_field(o, p, "max_message_size", &c->max_message_size);
    r.section(o, "tls", [&](object t, const std::string&) {
        std::string tp = p + ".tls";
        r.check_keys(t, tp, {"mode", "ca_file", "name"});
        std::string mode;
        r.string_field(t, tp, "mode", &mode);
        if (mode == "none") c->tls_mode = router::TlsMode::none;
        else if (mode == "opportunistic" || mode.empty()) c->tls_mode = router::TlsMode::opportunistic;
        else if (mode == "required") c->tls_mode = router::TlsMode::required;
        else if (mode == "verify") c->tls_mode = router::TlsMode::verify;
        else r.fail(tp + ".mode", "expected \"none\", \"opportunistic\", \"required\" or \"verify\", got \"" + mode + "\"");
        r.string_field(t, tp, "ca_file", &c->tls_ca_file);
        r.string_field(t, tp, "name", &c->tls_name);
        if (c->tls_mode == router::TlsMode::verify && c->tls_ca_file.empty())
            r.fail(tp + ".ca_file", "expected a CA file with mode \"verify\"");
    });
    r.section(o, "auth", [&](object a, const std::string&) {
        std::string ap = p + ".auth";
        r.check_keys(a, ap, {"username", "password_file", "allow_plaintext"});
        r.string_field(a, ap, "username", &c->auth_username);
        r.string_field(a, ap, "password_file", &c->auth_password_file);
        r.bool_field(a, ap, "allow_plaintext", &c->auth_allow_plaintext);
        if (c->auth_username.empty()) r.fail(ap + ".username", "expected a user name");
        if (c->auth_password_file.empty()) r.fail(ap + ".password_file", "expected a file path");
    });
    r.section(o, "pool", [&](object q, const std::string&) {
        std::string qp = p + ".pool";
        r.check_keys(q, qp, {"max_connections_per_host", "max_messages_per_connection", "idle_timeout_s"});
        r.uint_field(q, qp, "max_connections_per_host", &c->pool.max_connections_per_host, 1, 10000);
        r.uint_field(q, qp, "max_messages_per_connection", &c->pool.max_messages_per_connection, 1,
                     10000000);
        r.uint_field(q, qp, "idle_timeout_s", &c->pool.idle_timeout_s, 1, 86400);
    });
}

// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: only this host can connect. 0.0.0.0 and :: are
// every address, so they are not.
bool is_loopback(const SocketAddress& a) {
    if (a.storage.ss_family == AF_INET) {
        auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.storage);
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ||
           (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127);
}

void read_root(Reader& r, object root, Config* c) {
    r.check_keys(root, "", {"server", "listeners", "limits", "relay", "accepted_domains",
                            "connectors", "delivery", "dns", "metrics", "log"});
    r.section(root, "server", [&](object o, const std::string& p) { read_server(r, o, p, &c->server); });
    element listeners;
    if (root["listeners"].get(listeners) == simdjson::SUCCESS) c->listeners.clear();
    r.object_list_field(root, "", "listeners", [&](object o, const std::string& p) {
        r.check_keys(o, p, {"address", "tls"});
        ListenerConfig l;
        std::string addr, why;
        r.string_field(o, p, "address", &addr);
        if (addr.empty()) r.fail(p + ".address", "expected \"host:port\"");
        else if (!parse_socket_address(addr, &l.address, &why)) r.fail(p + ".address", why);
        r.section(o, "tls", [&](object t, const std::string&) {
            r.check_keys(t, p + ".tls", {"cert_file", "key_file"});
            r.string_field(t, p + ".tls", "cert_file", &l.tls_cert_file);
            r.string_field(t, p + ".tls", "key_file", &l.tls_key_file);
            if (l.tls_cert_file.empty() != l.tls_key_file.empty())
                r.fail(p + ".tls", "expected both cert_file and key_file");
        });
        c->listeners.push_back(std::move(l));
    });
    r.section(root, "limits", [&](object o, const std::string& p) { read_limits(r, o, p, &c->limits); });
    r.section(root, "relay", [&](object o, const std::string& p) { read_relay(r, o, p, &c->relay); });
    r.object_list_field(root, "", "accepted_domains", [&](object o, const std::string& p) {
        r.check_keys(o, p, {"domain", "type", "connector"});
        router::AcceptedDomainSpec a;
        r.string_field(o, p, "domain", &a.domain);
        if (a.domain.empty()) r.fail(p + ".domain", "expected a domain name");
        std::string type = "authoritative";
        r.string_field(o, p, "type", &type);
        if (type == "internal_relay") a.type = router::AcceptedDomainType::internal_relay;
        else if (type != "authoritative")
            r.fail(p + ".type", "expected \"authoritative\" or \"internal_relay\", got \"" + type + "\"");
        r.string_field(o, p, "connector", &a.connector);
        c->accepted_domains.push_back(std::move(a));
    });
    element connectors;
    if (root["connectors"].get(connectors) == simdjson::SUCCESS) c->connectors.clear();
    r.object_list_field(root, "", "connectors", [&](object o, const std::string& p) {
        router::ConnectorSpec spec;
        read_connector(r, o, p, &spec);
        c->connectors.push_back(std::move(spec));
    });
    r.section(root, "delivery", [&](object o, const std::string& p) {
        r.check_keys(o, p, {"retry", "queue_lifetime_s", "delay_warning_s",
                            "recipients_per_transaction_max", "helo_timeout_s"});
        r.section(o, "retry", [&](object q, const std::string&) {
            r.check_keys(q, p + ".retry", {"initial_s", "max_s"});
            r.uint_field(q, p + ".retry", "initial_s", &c->delivery.retry.initial_s, 1, 86400);
            r.uint_field(q, p + ".retry", "max_s", &c->delivery.retry.max_s, 1, 864000);
        });
        r.uint_field(o, p, "queue_lifetime_s", &c->delivery.queue_lifetime_s, 60, 10000000);
        r.uint_field(o, p, "delay_warning_s", &c->delivery.delay_warning_s, 0, 10000000);
        r.uint_field(o, p, "recipients_per_transaction_max",
                     &c->delivery.recipients_per_transaction_max, 1, 100000);
        r.uint_field(o, p, "helo_timeout_s", &c->delivery.helo_timeout_s, 1, 3600);
    });
    r.section(root, "dns", [&](object o, const std::string& p) {
        r.check_keys(o, p, {"servers"});
        r.string_list_field(o, p, "servers", &c->dns.servers);
    });
    r.section(root, "metrics", [&](object o, const std::string& p) {
        r.check_keys(o, p, {"address"});
        r.string_field(o, p, "address", &c->metrics.address);
        SocketAddress address;
        std::string why;
        if (c->metrics.address.empty()) return;
        if (!parse_socket_address(c->metrics.address, &address, &why)) {
            r.fail(p + ".address", why);
        } else if (!is_loopback(address)) {
            // Allowed (a scraper on another host is a real setup), but never silently: the
            // counters name connectors, domains and queue sizes to anyone who asks.
            r.warn(p + ".address", "\"" + c->metrics.address +
                                       "\" is reachable from the network and the metrics "
                                       "endpoint has no authentication; bind it to a loopback "
                                       "address or firewall the port");
        }
    });
    r.section(root, "log", [&](object o, const std::string& p) {
        r.check_keys(o, p, {"format", "file", "burst_max"});
        r.string_field(o, p, "format", &c->log.format);
        if (c->log.format != "text" && c->log.format != "json")
            r.fail(p + ".format", "expected \"text\" or \"json\", got \"" + c->log.format + "\"");
        r.string_field(o, p, "file", &c->log.file);
        r.uint_field(o, p, "burst_max", &c->log.burst_max, 0, 1000000);
    });
}

std::string default_hostname() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
    return buf;
}

}  // namespace

bool Cidr::contains(const sockaddr* addr) const {
    const unsigned char* bytes = nullptr;
    unsigned char mapped[4];
    if (addr->sa_family == AF_INET && family == AF_INET) {
        bytes = reinterpret_cast<const unsigned char*>(
            &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr);
    } else if (addr->sa_family == AF_INET6) {
        auto* a6 = reinterpret_cast<const sockaddr_in6*>(addr);
        if (family == AF_INET6) {
            bytes = a6->sin6_addr.s6_addr;
        } else if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
            std::memcpy(mapped, a6->sin6_addr.s6_addr + 12, 4);
            bytes = mapped;
        }
    }
    if (bytes == nullptr) return false;
    unsigned full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(bytes, this->bytes, full) != 0) return false;
    if (rest == 0) return true;
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (bytes[full] & mask) == (this->bytes[full] & mask);
}

bool parse_socket_address(const std::string& text, SocketAddress* out, std::string* why) {
    std::string host, port;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            *why = "\"" + text + "\" is not an address (expected \"[v6]:port\")";
            return false;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos || text.find(':') != colon) {
            *why = "\"" + text + "\" is not an address (expected \"host:port\" or \"[v6]:port\")";
            return false;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535) {
        *why = "\"" + text + "\" has no valid port (expected 1 to 65535)";
        return false;
    }
    SocketAddress a;
    a.text = text;
    uint16_t port_n = htons(uint16_t(std::stoul(port)));
    if (host == "localhost") host = "127.0.0.1";
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = port_n;
        a.length = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = port_n;
        a.length = sizeof(sockaddr_in6);
    } else {
        *why = "\"" + text + "\" needs a numeric IP address (a listener binds before DNS is up)";
        return false;
    }
    *out = a;
    return true;
}

LoadResult parse_config(const std::string& json_text, const std::string& source_name) {
    LoadResult result;
    Config& c = result.config;
    c.source = source_name;
    c.relay.network_texts = {"127.0.0.0/8", "::1/128"};
    for (const auto& n : c.relay.network_texts) {
        Cidr cidr;
        parse_cidr(n, &cidr);
        c.relay.networks.push_back(cidr);
    }
    {
        ListenerConfig l;
        std::string why;
        parse_socket_address("127.0.0.1:2525", &l.address, &why);
        c.listeners.push_back(l);
    }
    Reader r(source_name);
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json_text);
    element root;
    if (auto err = parser.parse(padded).get(root); err) {
        r.errors.push_back(source_name + ": not valid JSON: " + simdjson::error_message(err));
        result.errors = std::move(r.errors);
        return result;
    }
    r.check_duplicate_keys(root, "");
    object obj;
    if (r.get_object(root, "(top level)", &obj)) read_root(r, obj, &c);
    if (c.server.hostname.empty()) c.server.hostname = default_hostname();
    if (c.server.control_socket.empty()) c.server.control_socket = c.server.spool_dir + "/control.sock";
    if (c.listeners.empty()) r.fail("listeners", "expected at least one listener");
    if (c.delivery.retry.max_s < c.delivery.retry.initial_s)
        r.fail("delivery.retry.max_s", "expected a value no smaller than delivery.retry.initial_s");
    result.errors = std::move(r.errors);
    result.warnings = std::move(r.warnings);
    return result;
}

// The files connectors name are read when delivery first needs them, hours later perhaps:
// a missing CA file or password file is reported now, with the key, not at the first attempt.
void check_connector_files(LoadResult& result) {
    const Config& c = result.config;
    for (size_t i = 0; i < c.connectors.size(); ++i) {
        const auto& spec = c.connectors[i];
        const std::pair<const char*, const std::string*> files[] = {
            {"tls.ca_file", &spec.tls_ca_file}, {"auth.password_file", &spec.auth_password_file}};
        for (const auto& [key, file] : files) {
            if (file->empty() || ::access(file->c_str(), R_OK) == 0) continue;
            result.errors.push_back(c.source + ": connectors[" + std::to_string(i) + "]." + key +
                                    ": cannot read \"" + *file + "\": " + std::strerror(errno) +
                                    " [connector \"" + spec.name + "\"]");
        }
    }
}

LoadResult load_config(const std::string& path) {
    if (path.empty()) return parse_config(kEmbeddedDefaultConfig, "<embedded default>");
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        LoadResult r;
        r.errors.push_back(path + ": cannot read: " + std::strerror(errno));
        return r;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), path);
}

}  // namespace ringmta::config
