#!/usr/bin/python3
"""HTTP (port 80) and HTTPS (port 443) virtual hosts for the end-to-end tests (tests/support/lab.hpp).

Each answer is 200 with the body "harmony page for HOST", HOST taken from the Host header,
so the test can tell that the right site answered. Usage: vhost_server.py ADDR CERT KEY READYFILE
"""
import http.server
import ssl
import sys
import threading


class VirtualHost(http.server.BaseHTTPRequestHandler):
    timeout = 5

    def do_GET(self):
        host = (self.headers.get("Host") or "-").split(":")[0]
        body = f"harmony page for {host}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main():
    address, cert, key, ready = sys.argv[1:5]
    plain = http.server.ThreadingHTTPServer((address, 80), VirtualHost)
    secure = http.server.ThreadingHTTPServer((address, 443), VirtualHost)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # The handshake runs in the handler thread: a ClientHello dropped on the way must not
    # stall the accept loop for the connections after it.
    secure.socket = context.wrap_socket(secure.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=secure.serve_forever, daemon=True).start()
    with open(ready, "w") as marker:
        marker.write("ready\n")
    plain.serve_forever()


if __name__ == "__main__":
    main()
