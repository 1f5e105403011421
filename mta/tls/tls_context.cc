// SSL_CTX set-up for both directions.
#include "mta/tls/tls_context.hh"

#include <openssl/err.h>

namespace ringmta::tls {

std::string openssl_error_text() {
    std::string text;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!text.empty()) text += "; ";
        text += buf;
    }
    return text.empty() ? "unknown TLS error" : text;
}

TlsContext::~TlsContext() {
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

base::Result<void> TlsContext::check_server_files(const std::string& cert_file,
                                                  const std::string& key_file) {
    TlsContext probe;
    return probe.init_server(cert_file, key_file);
}

base::Result<void> TlsContext::init_server(const std::string& cert_file, const std::string& key_file) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (ctx_ == nullptr) return base::make_error(base::Errc::io, openssl_error_text());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    // Sessions are short and many: no session cache in the server, no renegotiation.
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str()) != 1)
        return base::make_error(base::Errc::invalid,
                                cert_file + ": cannot load certificate: " + openssl_error_text());
    if (SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        return base::make_error(base::Errc::invalid,
                                key_file + ": cannot load private key: " + openssl_error_text());
    if (SSL_CTX_check_private_key(ctx_) != 1)
        return base::make_error(base::Errc::invalid,
                                key_file + ": key does not match " + cert_file);
    return {};
}

base::Result<void> TlsContext::init_client(bool verify, const std::string& ca_file) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) return base::make_error(base::Errc::io, openssl_error_text());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    if (verify) {
        int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx_)
                                 : SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
        if (ok != 1)
            return base::make_error(base::Errc::invalid,
                                    ca_file + ": cannot load CA file: " + openssl_error_text());
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    } else {
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    }
    return {};
}

}  // namespace ringmta::tls
