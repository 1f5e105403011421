// TLS over memory BIOs: the connection's bytes go in with `feed_ciphertext`, plaintext comes out
// of `read_plaintext`; plaintext written with `write_plaintext` becomes ciphertext appended to
// the caller's output buffer. No kernel TLS here, and no socket inside OpenSSL: all I/O stays
// on the io_uring connection. A fatal TLS error is sticky: failed() stays true.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace ringmta::tls {

class TlsStream {
public:
    enum class Role { server, client };
    TlsStream() = default;
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    // `server_name`: SNI and the name to verify (client role only; empty: none).
    bool start(SSL_CTX* ctx, Role role, const std::string& server_name = "");
    bool active() const { return ssl_ != nullptr; }

    // Ciphertext from the peer. Returns false on a fatal TLS error.
    bool feed_ciphertext(const char* data, size_t size);
    // Drives the handshake / decrypts into `out` (appended). Any ciphertext the handshake
    // must send is appended to `wire_out`. Returns false on a fatal error.
    bool read_plaintext(std::string* out, std::string* wire_out);
    // Encrypts `plain`, appending ciphertext to `wire_out`.
    bool write_plaintext(std::string_view plain, std::string* wire_out);

    bool handshake_done() const { return handshake_done_; }
    bool failed() const { return failed_; }
    std::string protocol() const;   // "TLSv1.3"
    std::string cipher() const;     // "TLS_AES_256_GCM_SHA384"
    int cipher_bits() const;
    std::string error() const { return error_; }
    // For clients: the verification result (X509_V_OK when the chain and name passed).
    long verify_result() const;

private:
    void drain_wire(std::string* wire_out);
    bool check(int rc, std::string* wire_out);

    SSL* ssl_ = nullptr;
    BIO* rbio_ = nullptr;  // owned by ssl_
    BIO* wbio_ = nullptr;  // owned by ssl_
    bool handshake_done_ = false;
    bool failed_ = false;
    std::string error_;
};

}  // namespace ringmta::tls
