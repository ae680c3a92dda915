#!/usr/bin/python3
"""Write Harmony's own DPI test corpus: blocklist.txt plus NAME.pcap / NAME.expect per corpus.

Usage: /usr/bin/python3 tests/data/gen_corpus.py OUTDIR [--seed N]

The expectations encode the DPI semantics of /work/shared/corpus/README.md. Each packet is built
together with what it is meant to carry (protocol, raw name spelling, 5-tuple); a model of the
semantics turns that into the expected line. After writing, every file is read back with scapy and
re-derived from the bytes alone by an independent classifier; any disagreement aborts the run.
"""
import argparse
import os
import random
import re
import struct
import sys

from scapy.all import (ARP, DNS, DNSQR, DNSRR, ICMP, IP, TCP, UDP, Dot1AD, Dot1Q, Ether, IPOption_NOP,
                       IPOption_Router_Alert, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, Raw, rdpcap)
from scapy.layers.tls.extensions import TLS_Ext_ServerName
from scapy.layers.tls.handshake import TLSClientHello
from scapy.layers.tls.record import TLS

BLOCKLIST = ["blocked.test", "ads.example.net", "tracker.org", "facebook.com", "x.io"]
BASE_TIME = 1767225600  # 2026-01-01 00:00:00 UTC: fixed timestamps make the files reproducible
HTTP_METHODS = [b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT"]
MAX_TOTAL_BYTES = 300 * 1024


# ---------------------------------------------------------------- semantics model

def normalise(raw):
    """Lower case, then drop a :port suffix, then a trailing dot."""
    name = raw.lower()
    head, sep, port = name.rpartition(":")
    if sep and port.isdigit():
        name = head
    return name[:-1] if name.endswith(".") else name


def is_blocked(name, blocklist=BLOCKLIST):
    labels = name.split(".")
    return any(".".join(labels[i:]) in blocklist for i in range(len(labels)))


def flow_key(l4, a, b):
    """Connection identity: addresses, ports and L4 protocol, the same in both directions."""
    return (l4,) + tuple(sorted([a, b]))


class Corpus:
    """Packets in capture order with the expectation the model gives each."""

    def __init__(self, name):
        self.name = name
        self.frames = []
        self.rows = []
        self.keys = []
        self.blocked_connections = set()

    def add(self, frame, key=None, proto="-", raw_name=None):
        name = normalise(raw_name) if raw_name is not None else None
        drop = (name is not None and is_blocked(name)) or (key is not None and key in self.blocked_connections)
        if drop and key is not None:
            self.blocked_connections.add(key)
        self.rows.append((len(self.frames), "DROP" if drop else "PASS", proto if name else "-", name or "-"))
        self.frames.append(bytes(frame))
        self.keys.append(key)

    def write(self, outdir):
        with open(os.path.join(outdir, self.name + ".pcap"), "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for i, frame in enumerate(self.frames):
                f.write(struct.pack("<IIII", BASE_TIME + i // 1000, (i % 1000) * 1000, len(frame), len(frame)))
                f.write(frame)
        with open(os.path.join(outdir, self.name + ".expect"), "w") as f:
            for row in self.rows:
                f.write("\t".join(str(x) for x in row) + "\n")


# ---------------------------------------------------------------- payload builders

def http_request(host, method=b"GET", target=b"/", before=b"", after=b"", host_line=None):
    """An HTTP/1.1 request; host_line replaces the whole 'Host: ...' line when given."""
    line = host_line if host_line is not None else b"Host: " + host.encode() + b"\r\n"
    return (method + b" " + target + b" HTTP/1.1\r\n" + before + line + after +
            b"User-Agent: harmony-corpus/1\r\nAccept: */*\r\n\r\n")


HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def tls_extension(ext_type, body):
    return struct.pack(">HH", ext_type, len(body)) + body


def sni_extension(host):
    entry = b"\x00" + struct.pack(">H", len(host)) + host.encode()
    return tls_extension(0x0000, struct.pack(">H", len(entry)) + entry)


def client_hello(sni, grease=False, padding=0, rng=None):
    exts = []
    if grease:
        exts.append(tls_extension(0x3A3A, b""))
        exts.append(tls_extension(0x0017, b""))  # extended_master_secret, empty
    exts.append(tls_extension(0x000D, b"\x00\x04\x04\x03\x08\x04"))  # signature_algorithms
    if padding:
        exts.append(tls_extension(0x0015, bytes(padding)))
    if sni is not None:
        exts.append(sni_extension(sni))
    exts.append(tls_extension(0x002B, b"\x04\x03\x04\x03\x03"))  # supported_versions
    ext_bytes = b"".join(exts)
    random_bytes = bytes(rng.getrandbits(8) for _ in range(32)) if rng else bytes(32)
    ciphers = (b"\xda\xda" if grease else b"") + b"\x13\x01\x13\x03\xc0\x2f"
    body = (b"\x03\x03" + random_bytes + b"\x00" + struct.pack(">H", len(ciphers)) + ciphers + b"\x01\x00" +
            struct.pack(">H", len(ext_bytes)) + ext_bytes)
    handshake = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(handshake)) + handshake


def server_hello():
    body = b"\x03\x03" + bytes(range(32)) + b"\x00\x13\x01\x00\x00\x00"
    handshake = b"\x02" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x03" + struct.pack(">H", len(handshake)) + handshake


def dns_query(name, qid, qtype="A"):
    return bytes(DNS(id=qid, rd=1, qd=DNSQR(qname=name, qtype=qtype)))


def dns_answer(name, qid):
    return bytes(DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name),
                     an=DNSRR(rrname=name, type="A", ttl=60, rdata="192.0.2.7")))


# ---------------------------------------------------------------- framing

MAC_CLIENT, MAC_SERVER = "02:00:5e:00:00:0a", "02:00:5e:00:00:0b"


def ethernet(to_server, vlans=()):
    frame = Ether(src=MAC_CLIENT, dst=MAC_SERVER) if to_server else Ether(src=MAC_SERVER, dst=MAC_CLIENT)
    for kind, vid in vlans:
        frame = frame / (Dot1AD(vlan=vid) if kind == "ad" else Dot1Q(vlan=vid))
    return frame


class Addresses:
    """Hands out distinct client/server address pairs and ports from a seeded RNG."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def pair(self, v6=False):
        while True:
            if v6:
                a = "2001:db8:c::%x" % self.rng.randint(1, 0xFFFF)
                b = "2001:db8:5::%x" % self.rng.randint(1, 0xFFFF)
            else:
                a = "198.18.%d.%d" % (self.rng.randint(0, 255), self.rng.randint(1, 254))
                b = "203.0.113.%d" % self.rng.randint(1, 254)
            if (a, b) not in self.used:
                self.used.add((a, b))
                return a, b

    def port(self):
        return self.rng.randint(20000, 60999)


class Flow:
    """One TCP or UDP connection; c() sends client to server, s() server to client."""

    def __init__(self, corpus, addrs, l4="tcp", v6=False, dport=80, vlans=(), ext=None, ip_options=None,
                 pair=None, sport=None):
        self.corpus = corpus
        self.l4, self.v6, self.vlans = l4, v6, vlans
        self.ext, self.ip_options = ext, ip_options
        self.client, self.server = pair or addrs.pair(v6)
        self.cport, self.sport = sport or addrs.port(), dport
        self.cseq, self.sseq = addrs.rng.getrandbits(31), addrs.rng.getrandbits(31)
        self.key = flow_key(l4, (self.client, self.cport), (self.server, self.sport))

    def _ip(self, to_server):
        src, dst = (self.client, self.server) if to_server else (self.server, self.client)
        if self.v6:
            ip = IPv6(src=src, dst=dst, hlim=64)
            return ip / self.ext.copy() if (self.ext is not None and to_server) else ip
        ip = IP(src=src, dst=dst, ttl=64, id=len(self.corpus.frames) & 0xFFFF)
        if self.ip_options is not None and to_server:
            ip.options = self.ip_options
        return ip

    def _l4(self, to_server, flags, payload):
        sp, dp = (self.cport, self.sport) if to_server else (self.sport, self.cport)
        if self.l4 == "udp":
            return UDP(sport=sp, dport=dp) / Raw(payload)
        seq, ack = (self.cseq, self.sseq) if to_server else (self.sseq, self.cseq)
        segment = TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack if "A" in flags else 0, window=64240)
        advance = len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        if to_server:
            self.cseq = (self.cseq + advance) % 2**32
        else:
            self.sseq = (self.sseq + advance) % 2**32
        return segment / Raw(payload) if payload else segment

    def frame(self, to_server, payload=b"", flags="PA"):
        return ethernet(to_server, self.vlans) / self._ip(to_server) / self._l4(to_server, flags, payload)

    def c(self, payload=b"", flags="PA", proto="-", name=None):
        self.corpus.add(self.frame(True, payload, flags), self.key, proto, name)

    def s(self, payload=b"", flags="PA", proto="-", name=None):
        self.corpus.add(self.frame(False, payload, flags), self.key, proto, name)

    def handshake(self):
        self.c(flags="S")
        self.s(flags="SA")
        self.c(flags="A")

    def close(self):
        self.c(flags="FA")
        self.s(flags="FA")
        self.c(flags="A")


def http_connection(corpus, addrs, host, request=None, name=None, **flow_args):
    """Handshake, one request, the response, close. name defaults to the Host value."""
    flow = Flow(corpus, addrs, **flow_args)
    flow.handshake()
    flow.c(request if request is not None else http_request(host), proto="http",
           name=name if name is not None else host)
    flow.s(HTTP_RESPONSE)
    flow.c(flags="A")
    flow.close()
    return flow


def tls_connection(corpus, addrs, sni, rng, hello=None, **flow_args):
    flow_args.setdefault("dport", 443)
    flow = Flow(corpus, addrs, **flow_args)
    flow.handshake()
    flow.c(hello if hello is not None else client_hello(sni, rng=rng), proto="tls", name=sni)
    flow.s(server_hello())
    flow.c(b"\x17\x03\x03\x00\x10" + bytes(16))  # application data: no name
    flow.close()
    return flow


def dns_exchange(corpus, addrs, qname, rng, **flow_args):
    flow = Flow(corpus, addrs, l4="udp", dport=53, **flow_args)
    qid = rng.randint(1, 0xFFFF)
    flow.c(dns_query(qname, qid), proto="dns", name=qname)
    flow.s(dns_answer(qname, qid))
    return flow


# ---------------------------------------------------------------- corpora

def build_basic(rng):
    corpus, addrs = Corpus("basic"), Addresses(rng)
    for host in ["blocked.test", "allowed.test", "www.facebook.com", "docs.debian.org", "ads.example.net",
                 "example.net"]:
        http_connection(corpus, addrs, host)
    for host in ["tracker.org", "www.example.net"]:
        http_connection(corpus, addrs, host, v6=True)
    for sni in ["www.facebook.com", "good.example"]:
        tls_connection(corpus, addrs, sni, rng)
    for sni in ["cdn.tracker.org", "allowed.test"]:
        tls_connection(corpus, addrs, sni, rng, v6=True)
    for qname in ["blocked.test", "allowed.test", "m.facebook.com"]:
        dns_exchange(corpus, addrs, qname, rng)
    for qname in ["ads.example.net", "www.example.net"]:
        dns_exchange(corpus, addrs, qname, rng, v6=True)
    return corpus


def raw_ipv4_frame(src, dst, proto, l4_bytes, flags=0, frag_offset=0, ihl=5):
    """An IPv4 frame assembled by hand so offsets and fragment fields are exactly as written."""
    header = struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(l4_bytes), 0x1234,
                         (flags << 13) | frag_offset, 64, proto, 0,
                         bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))))
    checksum = ip_checksum(header)
    header = header[:10] + struct.pack(">H", checksum) + header[12:]
    return bytes(Ether(src=MAC_CLIENT, dst=MAC_SERVER, type=0x0800)) + header + l4_bytes


def ip_checksum(data):
    total = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def tcp_bytes(sport, dport, payload, flags="PA"):
    return bytes(TCP(sport=sport, dport=dport, flags=flags, seq=1000, ack=2000, window=512, chksum=0) / Raw(payload))


def build_layers(rng):
    corpus, addrs = Corpus("layers"), Addresses(rng)
    q, qinq = (("q", 100),), (("ad", 300), ("q", 42))
    http_connection(corpus, addrs, "blocked.test", vlans=q)
    http_connection(corpus, addrs, "allowed.test", vlans=q)
    dns_exchange(corpus, addrs, "allowed.test", rng, vlans=q)
    tls_connection(corpus, addrs, "facebook.com", rng, vlans=qinq)
    http_connection(corpus, addrs, "www.example.net", vlans=qinq, v6=True)
    dns_exchange(corpus, addrs, "pixel.tracker.org", rng, vlans=qinq)
    # Three tags is beyond the two the DPI reads: the frame does not parse and passes.
    three = Flow(corpus, addrs, vlans=(("ad", 1), ("q", 2), ("q", 3)))
    corpus.add(three.frame(True, http_request("blocked.test")))

    # IPv4 options: IHL 6, 10 and 15 (the maximum, 40 bytes of options).
    http_connection(corpus, addrs, "blocked.test", ip_options=[IPOption_Router_Alert()])
    http_connection(corpus, addrs, "allowed.test", ip_options=[IPOption_NOP()] * 20)
    dns_exchange(corpus, addrs, "ads.example.net", rng, ip_options=[IPOption_NOP()] * 40)

    # IPv6 extension header chains in front of TCP and UDP.
    chain = IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(type=0, segleft=0) / IPv6ExtHdrDestOpt()
    http_connection(corpus, addrs, "blocked.test", v6=True, ext=chain)
    tls_connection(corpus, addrs, "allowed.test", rng, v6=True, ext=IPv6ExtHdrDestOpt())
    dns_exchange(corpus, addrs, "tracker.org", rng, v6=True, ext=IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt())

    # First fragments (offset 0, more fragments set) still carry the L4 header and are classified;
    # the unfragmented replies of the same connection are then dropped by the connection rule.
    frag_v6 = Flow(corpus, addrs, v6=True, ext=IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(offset=0, m=1, id=7))
    frag_v6.c(http_request("www.blocked.test"), proto="http", name="www.blocked.test")
    frag_v6.s(HTTP_RESPONSE)
    frag_v4 = Flow(corpus, addrs)
    first = frag_v4.frame(True, http_request("ads.example.net"))
    first[IP].flags = "MF"
    first[IP].frag = 0
    corpus.add(first, frag_v4.key, "http", "ads.example.net")
    frag_v4.s(HTTP_RESPONSE)

    # Non-first fragments hold bytes that look like a TCP/UDP header and a blocked name: never parsed.
    fake_tcp = tcp_bytes(40000, 80, http_request("blocked.test"))
    fake_udp = bytes(UDP(sport=40001, dport=53) / DNS(id=1, rd=1, qd=DNSQR(qname="blocked.test")))
    for l4_bytes, proto in [(fake_tcp, 6), (fake_udp, 17)]:
        src, dst = addrs.pair()
        corpus.add(raw_ipv4_frame(src, dst, proto, l4_bytes, flags=0, frag_offset=8))
        src, dst = addrs.pair()
        corpus.add(raw_ipv4_frame(src, dst, proto, l4_bytes, flags=1, frag_offset=185))
    for l4_bytes, nh in [(fake_tcp, 6), (fake_udp, 17)]:
        src, dst = addrs.pair(v6=True)
        corpus.add(ethernet(True) / IPv6(src=src, dst=dst) / IPv6ExtHdrFragment(offset=8, m=0, nh=nh, id=9) /
                   Raw(l4_bytes))
        src, dst = addrs.pair(v6=True)
        corpus.add(ethernet(True) / IPv6(src=src, dst=dst) / IPv6ExtHdrDestOpt() /
                   IPv6ExtHdrFragment(offset=3, m=1, nh=nh, id=10) / Raw(l4_bytes))
    # IPv6 "no next header": nothing after it to read.
    src, dst = addrs.pair(v6=True)
    corpus.add(ethernet(True) / IPv6(src=src, dst=dst, nh=59) / Raw(http_request("blocked.test")))
    return corpus


def build_tricky(rng):
    corpus, addrs = Corpus("tricky"), Addresses(rng)
    host_lines = [  # (Host line as sent, raw name it carries)
        (b"HOST: Blocked.Test\r\n", "Blocked.Test"),
        (b"host: BLOCKED.TEST\r\n", "BLOCKED.TEST"),
        (b"hOsT:blocked.test\r\n", "blocked.test"),
        (b"Host:\t blocked.test \t\r\n", "blocked.test"),
        (b"Host: \t\tallowed.test\t\r\n", "allowed.test"),
        (b"Host: blocked.test:8080\r\n", "blocked.test:8080"),
        (b"Host: blocked.test.\r\n", "blocked.test."),
        (b"Host: Allowed.Test:443\r\n", "Allowed.Test:443"),
    ]
    for line, raw in host_lines:
        http_connection(corpus, addrs, None, request=http_request(None, host_line=line), name=raw)

    # Absolute-form request target without a Host header; a Host header wins over the target.
    absolute = b"GET http://blocked.test/index.html HTTP/1.1\r\nUser-Agent: x\r\n\r\n"
    http_connection(corpus, addrs, None, request=absolute, name="blocked.test")
    absolute_port = b"GET http://Tracker.Org:8080/a?b=c HTTP/1.1\r\nAccept: */*\r\n\r\n"
    http_connection(corpus, addrs, None, request=absolute_port, name="Tracker.Org:8080")
    http_connection(corpus, addrs, None, request=http_request("allowed.test", target=b"http://blocked.test/"),
                    name="allowed.test")

    # Decoy headers whose names end in "host", and a second Host header that must be ignored.
    http_connection(corpus, addrs, None, name="allowed.test",
                    request=http_request("allowed.test", before=b"X-Host: blocked.test\r\n"))
    http_connection(corpus, addrs, None, name="blocked.test",
                    request=http_request("blocked.test", before=b"X-Forwarded-Host: allowed.test\r\n"))
    http_connection(corpus, addrs, None, name="allowed.test",
                    request=http_request("allowed.test", after=b"Host: blocked.test\r\n"))
    # The Host header far into the packet, behind a long cookie.
    cookie = b"Cookie: session=" + b"".join(b"%02x" % rng.getrandbits(8) for _ in range(450)) + b"\r\n"
    http_connection(corpus, addrs, None, name="blocked.test", request=http_request("blocked.test", before=cookie))

    # A Host header cut off by the end of the packet is not a name.
    cut = Flow(corpus, addrs)
    cut.handshake()
    cut.c(b"GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: blocked.te")
    cut.s(HTTP_RESPONSE)

    # Content decides, not the port.
    http_connection(corpus, addrs, "blocked.test", dport=443)
    tls_connection(corpus, addrs, "tracker.org", rng, dport=80)
    tls_connection(corpus, addrs, "allowed.test", rng, dport=8080)
    not_http = Flow(corpus, addrs)
    not_http.handshake()
    not_http.c(b"FOO / HTTP/1.1\r\nHost: blocked.test\r\n\r\n")
    not_http.c(b"GETX / HTTP/1.1\r\nHost: blocked.test\r\n\r\n")

    for method in [b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"POST", b"HEAD"]:
        http_connection(corpus, addrs, "blocked.test", request=http_request("blocked.test", method=method))
    http_connection(corpus, addrs, "allowed.test", request=http_request("allowed.test", method=b"OPTIONS",
                                                                         target=b"*"))
    http_connection(corpus, addrs, None, name="blocked.test:443",
                    request=http_request("blocked.test:443", method=b"CONNECT", target=b"blocked.test:443"))

    # Look-alike names: only the name itself or a parent on a label boundary matches.
    for host in ["notblocked.test", "blocked.test.evil.org", "www.blocked.test", "a.b.c.blocked.test",
                 "blockedtest", "test", "example.net", "ads.example.net.example", "xfacebook.com",
                 "m.facebook.com"]:
        http_connection(corpus, addrs, host)

    # TLS: SNI behind GREASE and a big padding extension, upper-case SNI, no SNI, trailing dot.
    tls_connection(corpus, addrs, "blocked.test", rng, hello=client_hello("blocked.test", grease=True,
                                                                          padding=700, rng=rng))
    tls_connection(corpus, addrs, "allowed.test", rng, hello=client_hello("allowed.test", grease=True,
                                                                          padding=300, rng=rng))
    tls_connection(corpus, addrs, "WWW.FaceBook.COM", rng)
    tls_connection(corpus, addrs, "tracker.org.", rng)
    tls_connection(corpus, addrs, None, rng, hello=client_hello(None, grease=True, rng=rng))

    # DNS: mixed-case names, a response on its own, a query to another port.
    dns_exchange(corpus, addrs, "WwW.BlOcKeD.TeSt", rng)
    dns_exchange(corpus, addrs, "Allowed.TEST", rng, v6=True)
    dns_exchange(corpus, addrs, "AdS.ExAmPlE.NeT", rng, v6=True)
    lone_answer = Flow(corpus, addrs, l4="udp", dport=53)
    lone_answer.s(dns_answer("blocked.test", 99))
    mdns = Flow(corpus, addrs, l4="udp", dport=5353)
    mdns.c(dns_query("blocked.test", 0))

    build_tricky_connections(corpus, addrs, rng)
    build_tricky_malformed(corpus, addrs)
    build_tricky_short_names(corpus, addrs, rng)
    build_tricky_name_words(corpus, addrs, rng)
    return corpus


def build_tricky_short_names(corpus, addrs, rng):
    # Names around 8 bytes, the word the BPF program reverses the lookup key in: shorter than
    # a word, exactly one or two, and one byte past; blocked and look-alike.
    for host in ["x.io", "X.IO.", "a.x.io", "ax.io", "www.x.io", "abcd.x.io", "x.i", "abcdefghijk.x.io",
                 "abcdefghijkl.io"]:
        http_connection(corpus, addrs, host)
    tls_connection(corpus, addrs, "x.io", rng)
    tls_connection(corpus, addrs, "b.x.io", rng, v6=True)
    dns_exchange(corpus, addrs, "X.Io", rng)
    dns_exchange(corpus, addrs, "io", rng)


def build_tricky_name_words(corpus, addrs, rng):
    # dpi.bpf.c reads names eight bytes at a time up to the first byte that ends a plain run:
    # that byte in every lane of the first and second word (names of 1-17 bytes), upper case
    # at the edges of A-Z, ports and blanks across word edges, SNI lengths ending inside a
    # word; and the Host search, which skips words without a line feed, with the request
    # line's line feed in every lane.
    mixed = "Ab-9.Cd-8.Ef-7.Gh"
    for n in range(1, len(mixed) + 1):
        http_connection(corpus, addrs, mixed[:n])
    for host in ["@[`{AZaz.test", "WWW.FACEBOOK.COM", "ABCDEFGH.X.IO", "abcdefg:8080", "abcdefgh:80",
                 "Facebook.Com:443", "abcdefghijklmno:1"]:
        http_connection(corpus, addrs, host)
    for line, raw in [(b"Host: abcdefghij  \r\n", "abcdefghij"), (b"Host:\tABCDEFGH\t\r\n", "ABCDEFGH"),
                      (b"Host: FACEBOOK.COM \r\n", "FACEBOOK.COM")]:
        http_connection(corpus, addrs, None, request=http_request(None, host_line=line), name=raw)
    for m in range(9):
        http_connection(corpus, addrs, "x.io", request=http_request("x.io", target=b"/" + b"p" * m))
    http_connection(corpus, addrs, "x.io", request=http_request("x.io", target=b"/abcdefg",
                                                               before=b"Accept-Language: en\r\n"))
    for n in (1, 7, 8, 9, 15, 16, 17):
        tls_connection(corpus, addrs, mixed[:n], rng)
    tls_connection(corpus, addrs, "ABCDEFGH.X.IO", rng)


def build_tricky_connections(corpus, addrs, rng):
    # Keep-alive: each request is classified by its own name; once blocked, the rest of the
    # connection drops in both directions, including a later request for an allowed name.
    keep = Flow(corpus, addrs)
    keep.handshake()
    keep.c(http_request("allowed.test"), proto="http", name="allowed.test")
    keep.s(HTTP_RESPONSE)
    keep.c(http_request("docs.debian.org", target=b"/x"), proto="http", name="docs.debian.org")
    keep.s(HTTP_RESPONSE)
    keep.c(http_request("blocked.test"), proto="http", name="blocked.test")
    keep.s(HTTP_RESPONSE)
    keep.c(http_request("allowed.test"), proto="http", name="allowed.test")
    keep.close()

    # The same addresses and ports over UDP are another connection: a DNS query there is judged on
    # its own name. Over TCP, a query-shaped payload of the blocked connection still drops.
    http_on_53 = Flow(corpus, addrs, dport=53)
    http_on_53.handshake()
    http_on_53.c(http_request("tracker.org"), proto="http", name="tracker.org")
    same_tuple_udp = Flow(corpus, addrs, l4="udp", dport=53, pair=(http_on_53.client, http_on_53.server),
                          sport=http_on_53.cport)
    same_tuple_udp.c(dns_query("allowed.test", 5), proto="dns", name="allowed.test")
    same_tuple_udp.s(dns_answer("allowed.test", 5))
    http_on_53.c(struct.pack(">H", 30) + dns_query("allowed.test", 6))
    http_on_53.s(HTTP_RESPONSE)

    # A blocked DNS query drops the reply; another query on the same UDP 5-tuple drops as well.
    dns_flow = dns_exchange(corpus, addrs, "tracker.org", rng)
    dns_flow.c(dns_query("allowed.test", 77), proto="dns", name="allowed.test")


def build_tricky_malformed(corpus, addrs):
    # Frames that do not parse are never classified and always pass.
    corpus.add(b"\x02\x00\x5e\x00\x00\x0b\x02\x00\x5e\x00")  # runt: 10 bytes
    corpus.add(bytes(Ether(src=MAC_CLIENT, dst=MAC_SERVER, type=0x0800)))  # EtherType IPv4, nothing after
    corpus.add(Ether(src=MAC_CLIENT, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc="198.18.0.1", pdst="198.18.0.2"))
    src, dst = addrs.pair()
    corpus.add(ethernet(True) / IP(src=src, dst=dst) / ICMP() / Raw(http_request("blocked.test")))
    src, dst = addrs.pair()
    corpus.add(raw_ipv4_frame(src, dst, 6, tcp_bytes(40002, 80, b"")[:12]))  # TCP header cut at 12 bytes
    src, dst = addrs.pair()
    past_end = bytearray(tcp_bytes(40003, 80, b"GET / HTTP/1.1\r\nHost: blocked.test\r\n\r\n"))
    past_end[12] = 15 << 4  # data offset 60 bytes, beyond the 58 bytes of segment
    corpus.add(raw_ipv4_frame(src, dst, 6, bytes(past_end)))
    src, dst = addrs.pair()
    short_offset = bytearray(tcp_bytes(40004, 80, http_request("blocked.test")))
    short_offset[12] = 3 << 4  # data offset below the 20-byte minimum
    corpus.add(raw_ipv4_frame(src, dst, 6, bytes(short_offset)))
    for ihl in (4, 0):
        src, dst = addrs.pair()
        corpus.add(raw_ipv4_frame(src, dst, 6, tcp_bytes(40005, 80, http_request("blocked.test")), ihl=ihl))
    src, dst = addrs.pair()
    corpus.add(raw_ipv4_frame(src, dst, 17, bytes(UDP(sport=40006, dport=53))[:6]))  # UDP header cut short


# ---------------------------------------------------------------- independent check

def vlan_and_l3(frame):
    """EtherType and offset of L3 after at most two VLAN tags, or None."""
    if len(frame) < 14:
        return None
    ethertype, offset = struct.unpack_from(">H", frame, 12)[0], 14
    for _ in range(2):
        if ethertype not in (0x8100, 0x88A8):
            break
        if len(frame) < offset + 4:
            return None
        ethertype, offset = struct.unpack_from(">H", frame, offset + 2)[0], offset + 4
    return ethertype, offset


def l4_of(frame):
    """(l4 name, src, dst, l4 bytes) using scapy's IP/IPv6 dissection, or None when no L4 is reachable."""
    found = vlan_and_l3(frame)
    if found is None:
        return None
    ethertype, offset = found
    data = frame[offset:]
    if ethertype == 0x0800:
        if len(data) < 20 or data[0] >> 4 != 4 or not 5 <= (data[0] & 0xF) <= 15 or len(data) < (data[0] & 0xF) * 4:
            return None
        ip = IP(data)
        if ip.frag != 0 or ip.proto not in (6, 17):
            return None
        return ("tcp" if ip.proto == 6 else "udp"), ip.src, ip.dst, bytes(ip.payload)[:ip.len - ip.ihl * 4]
    if ethertype == 0x86DD and len(data) >= 40:
        ip = IPv6(data)
        layer = ip.payload
        while isinstance(layer, (IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment)):
            if isinstance(layer, IPv6ExtHdrFragment) and layer.offset != 0:
                return None
            layer = layer.payload
        if isinstance(layer, (TCP, UDP)):
            return ("tcp" if isinstance(layer, TCP) else "udp"), ip.src, ip.dst, bytes(layer)
    return None


def l4_payload(kind, l4):
    """(sport, dport, payload) or None when the L4 header does not fit."""
    if kind == "udp":
        return None if len(l4) < 8 else struct.unpack_from(">HH", l4) + (l4[8:],)
    if len(l4) < 20 or not 20 <= (l4[12] >> 4) * 4 <= len(l4):
        return None
    return struct.unpack_from(">HH", l4) + (l4[(l4[12] >> 4) * 4:],)


def http_name(payload):
    if not any(payload.startswith(m + b" ") for m in HTTP_METHODS):
        return None
    lines = payload.split(b"\r\n")
    for line in lines[1:-1]:  # the last piece is not CRLF-terminated: cut off or empty
        match = re.match(rb"(?i)host:[ \t]*(.*?)[ \t]*$", line)
        if match:
            return match.group(1).decode()
    target = lines[0].split(b" ")[1] if len(lines) > 1 else b""
    match = re.match(rb"http://([^/ ?]+)", target)
    return match.group(1).decode() if match else None


def tls_name(payload):
    if len(payload) < 6 or payload[0] != 0x16 or payload[5] != 0x01:
        return None
    hello = TLS(payload).msg[0]
    assert isinstance(hello, TLSClientHello), hello
    for ext in hello.ext or []:
        if isinstance(ext, TLS_Ext_ServerName):
            return ext.servernames[0].servername.decode()
    return None


def dns_name(dport, payload):
    if dport != 53:
        return None
    message = DNS(payload)
    return message.qd[0].qname.decode() if message.qdcount else None


def classify(frame):
    """(connection key or None, proto, raw name or None) from the bytes alone."""
    l4 = l4_of(frame)
    if l4 is None:
        return None, "-", None
    kind, src, dst, l4_bytes = l4
    ports = l4_payload(kind, l4_bytes)
    if ports is None:
        return None, "-", None
    sport, dport, payload = ports
    key = flow_key(kind, (src, sport), (dst, dport))
    if kind == "udp":
        name = dns_name(dport, payload)
        return key, ("dns" if name else "-"), name
    for proto, extract in (("http", http_name), ("tls", tls_name)):
        name = extract(payload)
        if name:
            return key, proto, name
    return key, "-", None


def verify(outdir, corpus, blocklist):
    frames = [bytes(p) for p in rdpcap(os.path.join(outdir, corpus.name + ".pcap"))]
    with open(os.path.join(outdir, corpus.name + ".expect")) as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    assert len(frames) == len(rows) == len(corpus.rows), corpus.name
    named_drops = set()
    for i, (frame, row) in enumerate(zip(frames, rows)):
        where = "%s packet %d" % (corpus.name, i)
        index, verdict, proto, name = row
        key, seen_proto, raw = classify(frame)
        seen_name = normalise(raw) if raw else "-"
        assert int(index) == i, where
        assert (proto, name) == (seen_proto, seen_name), (where, row, seen_proto, seen_name)
        assert key == corpus.keys[i], (where, key, corpus.keys[i])
        assert name == "-" or (name == name.lower() and not name.endswith(".") and ":" not in name), where
        if name != "-" and is_blocked(name, blocklist):
            assert verdict == "DROP", where
            named_drops.add(key)
        elif verdict == "DROP":
            # A DROP without a blocked name of its own must belong to a connection blocked earlier.
            assert key is not None and key in named_drops, where
        else:
            assert key not in named_drops, where
        if verdict == "DROP":
            named_drops.add(key)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "blocklist.txt"), "w") as f:
        f.write("\n".join(BLOCKLIST) + "\n")
    rng = random.Random(args.seed)
    total = 0
    for build in (build_basic, build_layers, build_tricky):
        corpus = build(rng)
        corpus.write(args.outdir)
        verify(args.outdir, corpus, BLOCKLIST)
        drops = sum(1 for row in corpus.rows if row[1] == "DROP")
        size = os.path.getsize(os.path.join(args.outdir, corpus.name + ".pcap"))
        total += size
        print("%s: %d packets, %d DROP, %d bytes" % (corpus.name, len(corpus.rows), drops, size))
    assert total < MAX_TOTAL_BYTES, "corpus grew to %d bytes" % total
    return 0


if __name__ == "__main__":
    sys.exit(main())
