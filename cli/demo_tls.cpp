// The demo's TLS side, with OpenSSL working on memory buffers instead of sockets: the client
// takes the real ClientHello OpenSSL would send for a name, the server takes the name out of
// one. The demo tests what the DUT does with a ClientHello, so no TLS session follows.
#include "demo_lab.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

namespace harmony::cli::demo {
namespace {

using SslCtx = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using Ssl = std::unique_ptr<SSL, decltype(&SSL_free)>;

std::string openssl_error()
{
    unsigned long code = ERR_get_error();
    if (code == 0) {
        return "unknown OpenSSL error";
    }
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    ERR_clear_error();
    return text;
}

/// An SSL object reading from and writing to memory BIOs (it owns both).
Result<Ssl> memory_ssl(SSL_CTX *ctx, const std::string &which)
{
    Ssl ssl(SSL_new(ctx), &SSL_free);
    BIO *in = BIO_new(BIO_s_mem());
    BIO *out = BIO_new(BIO_s_mem());
    if (!ssl || !in || !out) {
        BIO_free(in);
        BIO_free(out);
        return fail("tls", which, openssl_error());
    }
    SSL_set_bio(ssl.get(), in, out);
    return ssl;
}

int remember_server_name(SSL *ssl, int *, void *name)
{
    if (const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
        *static_cast<std::string *>(name) = sni;
    }
    return SSL_TLSEXT_ERR_OK;
}

} // namespace

Result<std::string> client_hello(const std::string &domain)
{
    SslCtx ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
    if (!ctx) {
        return fail("tls client hello", domain, openssl_error());
    }
    auto ssl = memory_ssl(ctx.get(), domain);
    if (!ssl) {
        return std::unexpected(ssl.error());
    }
    if (SSL_set_tlsext_host_name(ssl->get(), domain.c_str()) != 1) {
        return fail("tls client hello", domain, "SNI refused: " + openssl_error());
    }
    SSL_connect(ssl->get()); // wants the server's answer; the ClientHello is written by then
    std::string hello;
    char buffer[4096];
    for (int got = 0; (got = BIO_read(SSL_get_wbio(ssl->get()), buffer, sizeof(buffer))) > 0;) {
        hello.append(buffer, static_cast<size_t>(got));
    }
    if (hello.empty()) {
        return fail("tls client hello", domain, "OpenSSL wrote no ClientHello: " + openssl_error());
    }
    return hello;
}

size_t tls_record_size(const std::string &bytes)
{
    if (bytes.size() < 5) {
        return 0;
    }
    return 5 + (static_cast<size_t>(static_cast<uint8_t>(bytes[3])) << 8 | static_cast<uint8_t>(bytes[4]));
}

std::string server_name_of(const std::string &hello)
{
    SslCtx ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
    if (!ctx) {
        return "-";
    }
    std::string name = "-";
    SSL_CTX_set_tlsext_servername_callback(ctx.get(), remember_server_name);
    SSL_CTX_set_tlsext_servername_arg(ctx.get(), &name);
    auto ssl = memory_ssl(ctx.get(), "server");
    if (!ssl) {
        return "-";
    }
    BIO_write(SSL_get_rbio(ssl->get()), hello.data(), static_cast<int>(hello.size()));
    SSL_accept(ssl->get()); // fails without a certificate, after the servername callback ran
    ERR_clear_error();
    return name;
}

} // namespace harmony::cli::demo
