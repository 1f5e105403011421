// Memory-BIO TLS. Every call ends by moving pending ciphertext from the write BIO into the
// caller's buffer, so nothing OpenSSL wants to send is left behind.
#include "mta/tls/tls_stream.hh"

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mta/tls/tls_context.hh"

namespace ringmta::tls {

TlsStream::~TlsStream() {
    if (ssl_ != nullptr) SSL_free(ssl_);
}

bool TlsStream::start(SSL_CTX* ctx, Role role, const std::string& server_name) {
    ssl_ = SSL_new(ctx);
    if (ssl_ == nullptr) {
        failed_ = true;
        error_ = openssl_error_text();
        return false;
    }
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(rbio_, -1);
    SSL_set_bio(ssl_, rbio_, wbio_);
    if (role == Role::server) {
        SSL_set_accept_state(ssl_);
    } else {
        SSL_set_connect_state(ssl_);
        std::string address = server_name;
        if (address.size() > 2 && address.front() == '[' && address.back() == ']')
            address = address.substr(1, address.size() - 2);
        if (address.rfind("IPv6:", 0) == 0) address.erase(0, 5);
        unsigned char raw[16];
        bool is_address = inet_pton(AF_INET, address.c_str(), raw) == 1 ||
                          inet_pton(AF_INET6, address.c_str(), raw) == 1;
        if (is_address) {
            // RFC 6066 3: SNI carries host names only; an address is verified as one.
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), address.c_str());
        } else if (!server_name.empty()) {
            SSL_set_tlsext_host_name(ssl_, server_name.c_str());
            SSL_set1_host(ssl_, server_name.c_str());
        }
    }
    return true;
}

bool TlsStream::feed_ciphertext(const char* data, size_t size) {
    if (failed_) return false;
    return BIO_write(rbio_, data, int(size)) == int(size);
}

void TlsStream::drain_wire(std::string* wire_out) {
    char buf[16384];
    int n;
    while ((n = BIO_read(wbio_, buf, sizeof buf)) > 0) wire_out->append(buf, size_t(n));
}

bool TlsStream::check(int rc, std::string* wire_out) {
    drain_wire(wire_out);
    if (rc > 0) return true;
    int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
    if (err == SSL_ERROR_ZERO_RETURN) {
        error_ = "peer closed the TLS session";
    } else {
        error_ = openssl_error_text();
    }
    failed_ = true;
    return false;
}

bool TlsStream::read_plaintext(std::string* out, std::string* wire_out) {
    if (failed_) return false;
    if (!handshake_done_) {
        int rc = SSL_do_handshake(ssl_);
        if (!check(rc, wire_out)) return false;
        if (rc != 1) return true;
        handshake_done_ = true;
    }
    char buf[16384];
    for (;;) {
        int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) {
            out->append(buf, size_t(n));
            continue;
        }
        return check(n, wire_out);
    }
}

bool TlsStream::write_plaintext(std::string_view plain, std::string* wire_out) {
    if (failed_) return false;
    while (!plain.empty()) {
        int n = SSL_write(ssl_, plain.data(), int(plain.size()));
        if (n <= 0) return check(n, wire_out);
        plain.remove_prefix(size_t(n));
    }
    drain_wire(wire_out);
    return true;
}

std::string TlsStream::protocol() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string TlsStream::cipher() const {
    const SSL_CIPHER* c = ssl_ ? SSL_get_current_cipher(ssl_) : nullptr;
    return c ? SSL_CIPHER_get_name(c) : "";
}

int TlsStream::cipher_bits() const {
    const SSL_CIPHER* c = ssl_ ? SSL_get_current_cipher(ssl_) : nullptr;
    return c ? SSL_CIPHER_get_bits(c, nullptr) : 0;
}

long TlsStream::verify_result() const { return ssl_ ? SSL_get_verify_result(ssl_) : -1; }

}  // namespace ringmta::tls
