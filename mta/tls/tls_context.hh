// An OpenSSL SSL_CTX, one per shard (OpenSSL 3.0 takes shared locks on context creation and
// algorithm fetches, so shards never share one). Server side: certificate + key from config.
// Client side (delivery): CA file and peer-name verification per connector policy.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "mta/base/result.hh"

namespace ringmta::tls {

class TlsContext {
public:
    TlsContext() = default;
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    static base::Result<void> check_server_files(const std::string& cert_file,
                                                 const std::string& key_file);
    base::Result<void> init_server(const std::string& cert_file, const std::string& key_file);
    // verify: check the chain against ca_file (system store when empty) and the peer's name.
    base::Result<void> init_client(bool verify, const std::string& ca_file);

    SSL_CTX* raw() const { return ctx_; }

private:
    SSL_CTX* ctx_ = nullptr;
};

// The last OpenSSL error as text (drains the error queue).
std::string openssl_error_text();

}  // namespace ringmta::tls
