#!/usr/bin/python3
"""Write the crafted captures of bpf/dpi_regex.bpf.o: NAME.pcap + NAME.expect per capture.

Usage: /usr/bin/python3 tests/data/regex/gen_regex.py [OUTDIR]   (default: this folder)

Every packet is written next to the line it must produce (index TAB verdict TAB proto TAB name),
for the pattern files request.patterns (database 1) and names.patterns (database 2):
- regex.pcap: request targets, User-Agents and names matched by regular expressions, look-alikes
  that must pass, a blocked connection staying blocked in both directions, DNS names; the same
  behind 802.1Q / QinQ tags and over IPv6; requests of 512+ bytes (streamed in place, not copied).
- scan.pcap: for bpf/scan_hs.bpf.o and bpf/scan_loop.bpf.c with scan.patterns (the same verdicts).
- stream.pcap: patterns split across TCP segments (found only through the per-connection stream),
  and streams freed at FIN and RST (bytes after the close start a new stream).
"""
import os
import sys

from scapy.all import DNS, DNSQR, IP, TCP, UDP, Dot1Q, Ether, IPv6, wrpcap

BASE_TIME = 1767225600  # fixed timestamps: reproducible files
CLIENT, SERVER = "10.0.0.1", "10.0.0.2"


class Net:
    """Where a packet travels: the IP version and addresses, and the VLAN tags in front of it."""

    def __init__(self, ip, client, server, dns_server, vlans=(), outer_type=0x8100):
        self.ip, self.client, self.server, self.dns_server = ip, client, server, dns_server
        self.vlans, self.outer_type = vlans, outer_type

    def frame(self, l3):
        frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        if self.vlans:
            frame.type = self.outer_type
        for vid in self.vlans:
            frame = frame / Dot1Q(vlan=vid)
        return frame / l3


V4 = Net(IP, CLIENT, SERVER, "10.0.0.53")
V6 = Net(IPv6, "fd00::1", "fd00::2", "fd00::53")
V4_VLAN = Net(IP, CLIENT, SERVER, "10.0.0.53", vlans=(10,))
V4_QINQ = Net(IP, CLIENT, SERVER, "10.0.0.53", vlans=(100, 20), outer_type=0x88A8)
V6_VLAN = Net(IPv6, "fd00::1", "fd00::2", "fd00::53", vlans=(30,))


class Capture:
    def __init__(self):
        self.packets, self.lines = [], []
        self.next_port = 40000

    def add(self, pkt, verdict="PASS", proto="-", name="-", net=V4):
        frame = net.frame(pkt)
        frame.time = BASE_TIME + len(self.packets)
        self.packets.append(frame)
        self.lines.append(f"{len(self.lines)}\t{verdict}\t{proto}\t{name}")

    def port(self):
        self.next_port += 1
        return self.next_port

    def write(self, outdir, name):
        wrpcap(os.path.join(outdir, name + ".pcap"), self.packets)
        with open(os.path.join(outdir, name + ".expect"), "w") as f:
            f.write("\n".join(self.lines) + "\n")


def tcp(sport, payload=b"", flags="PA", reply=False, net=V4):
    src, dst, sp, dp = (net.server, net.client, 80, sport) if reply else (net.client, net.server, sport, 80)
    return net.ip(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=1000) / payload


def request(target, host, extra=b""):
    return b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n" + extra + b"Accept: */*\r\n\r\n"


def http_connection(c, target, host, extra, verdict, net=V4):
    """SYN, request, reply, FIN: the request carries the verdict, the rest follow the connection."""
    port = c.port()
    c.add(tcp(port, flags="S", net=net), net=net)
    c.add(tcp(port, request(target, host, extra), net=net), verdict, "http", host.decode().lower(), net=net)
    c.add(tcp(port, b"HTTP/1.1 200 OK\r\n\r\n", reply=True, net=net), verdict, net=net)
    c.add(tcp(port, flags="FA", net=net), verdict, net=net)


def dns(c, name, verdict, net=V4):
    query = net.ip(src=net.client, dst=net.dns_server) / UDP(sport=c.port(), dport=53) / DNS(rd=1, qd=DNSQR(qname=name))
    c.add(query, verdict, "dns", name, net=net)


def regex_capture():
    c = Capture()
    ua = lambda agent: b"User-Agent: " + agent + b"\r\n"
    http_connection(c, b"/index.html", b"www.example.com", ua(b"curl/8.0"), "PASS")
    http_connection(c, b"/ads/banner.png", b"cdn.example.com", b"", "DROP")         # request target
    http_connection(c, b"/banners/x.gif", b"cdn.example.com", b"", "DROP")          # (ads|banner)s?/
    http_connection(c, b"/adsense/x.js", b"cdn.example.com", b"", "PASS")           # look-alike target
    http_connection(c, b"/", b"www.example.org", ua(b"sqlmap/1.5#stable"), "DROP")  # User-Agent
    http_connection(c, b"/", b"www.example.org", b"user-agent: Nikto/2.1\r\n", "DROP")  # caseless
    http_connection(c, b"/", b"www.example.org", b"X-Note: sqlmap\r\n", "PASS")     # not the User-Agent
    http_connection(c, b"/", b"www.example.org", ua(b"Mozilla/5.0"), "PASS")
    http_connection(c, b"/static/../../etc/passwd", b"files.example.org", b"", "DROP")  # traversal
    http_connection(c, b"/wp-login.php", b"blog.example.org", b"", "DROP")
    http_connection(c, b"/", b"ads3.example.com", b"", "DROP")        # names: ^ads?[0-9]*\.
    http_connection(c, b"/", b"AD.Example.com", b"", "DROP")          # lower-cased before matching
    http_connection(c, b"/", b"adsl.example.com", b"", "PASS")        # look-alike name
    http_connection(c, b"/", b"myads1.example.com", b"", "PASS")      # anchored at the start
    http_connection(c, b"/", b"tracker7.example.net", b"", "DROP")
    http_connection(c, b"/", b"eu.tracking.example.net", b"", "DROP")
    dns(c, "ads.example.net", "DROP")
    dns(c, "ad2.example.net", "DROP")
    dns(c, "www.example.net", "PASS")
    dns(c, "tracking.example", "DROP")
    dns(c, "notracking.example", "PASS")
    # UDP that is not DNS is not inspected, whatever it carries.
    c.add(IP(src=CLIENT, dst=SERVER) / UDP(sport=c.port(), dport=8080) / b"GET /ads/x HTTP/1.1\r\n\r\n")
    # The same inspection behind 802.1Q and QinQ tags and over IPv6 (no extension headers).
    http_connection(c, b"/ads/banner.png", b"cdn.example.com", b"", "DROP", net=V4_VLAN)
    http_connection(c, b"/index.html", b"www.example.com", b"", "PASS", net=V4_VLAN)
    http_connection(c, b"/", b"ads3.example.com", b"", "DROP", net=V4_QINQ)
    http_connection(c, b"/", b"www.example.org", ua(b"Mozilla/5.0"), "PASS", net=V4_QINQ)
    http_connection(c, b"/", b"www.example.org", ua(b"masscan/1.3"), "DROP", net=V6)
    http_connection(c, b"/", b"tracker7.example.net", b"", "DROP", net=V6)
    http_connection(c, b"/index.html", b"www.example.com", b"", "PASS", net=V6)
    dns(c, "ads.example.net", "DROP", net=V6)
    dns(c, "www.example.net", "PASS", net=V6)
    dns(c, "tracking.example", "DROP", net=V6_VLAN)
    dns(c, "ad2.example.net", "DROP", net=V4_QINQ)
    # Payloads of 512 bytes or more: matched in place (not copied), copied only to parse a request's Host.
    pad = b"X-Pad: " + b"p" * 600 + b"\r\n"
    http_connection(c, b"/", b"ads3.example.com", pad, "DROP")
    http_connection(c, b"/", b"www.example.org", ua(b"sqlmap/1.5") + pad, "DROP")
    http_connection(c, b"/index.html", b"www.example.com", pad, "PASS", net=V6)
    port = c.port()  # a User-Agent split between a copied segment and one matched in place
    c.add(tcp(port, b"GET /x HTTP/1.1\r\nHost: split2.example.com\r\nUser-Agent: nik"), "PASS", "http",
          "split2.example.com")
    c.add(tcp(port, b"to/2.1\r\n" + pad + b"\r\n"), "DROP")
    c.add(tcp(port, flags="FA"), "DROP")
    return c


def stream_capture():
    c = Capture()
    head = b"GET /x HTTP/1.1\r\nHost: split.example.com\r\nUser-Agent: sql"
    # The User-Agent pattern split across two segments: found by the stream at the second.
    port = c.port()
    c.add(tcp(port, head), "PASS", "http", "split.example.com")
    c.add(tcp(port, b"map/1.0\r\n\r\n"), "DROP")
    c.add(tcp(port, b"HTTP/1.1 200 OK\r\n\r\n", reply=True), "DROP")
    c.add(tcp(port, flags="FA"), "DROP")
    # The same start, a harmless end.
    port = c.port()
    c.add(tcp(port, head), "PASS", "http", "split.example.com")
    c.add(tcp(port, b"ite-browser/2\r\n\r\n"), "PASS")
    c.add(tcp(port, flags="FA"), "PASS")
    # The request target split inside its first word: "GET /ad" + "s/x.png ...".
    port = c.port()
    c.add(tcp(port, b"GET /ad"), "PASS")
    c.add(tcp(port, b"s/x.png HTTP/1.1\r\nHost: h.example\r\n\r\n"), "DROP")
    # FIN closes the stream: what follows on the same 5-tuple starts a new one.
    port = c.port()
    c.add(tcp(port, head), "PASS", "http", "split.example.com")
    c.add(tcp(port, flags="FA"))
    c.add(tcp(port, b"map/1.0\r\n\r\n"))
    # RST as well.
    port = c.port()
    c.add(tcp(port, head), "PASS", "http", "split.example.com")
    c.add(tcp(port, flags="R"))
    c.add(tcp(port, b"map/1.0\r\n\r\n"))
    # Three segments, pattern across all of them; left open (no FIN): the stream stays.
    port = c.port()
    c.add(tcp(port, b"GET /y HTTP/1.1\r\nHost: three.example.com\r\nUser-Agent: Mozilla ma"), "PASS", "http",
          "three.example.com")
    c.add(tcp(port, b"ssc"))
    c.add(tcp(port, b"an/1.0\r\n\r\n"), "DROP")
    return c


def scan_capture():
    """The literal of scan.patterns at several depths, look-alikes, in UDP and TCP."""
    c = Capture()
    filler = lambda n: bytes((ord("b") + i % 20) for i in range(n))
    for payload, verdict in [(b"attack", "DROP"), (b"xattack", "DROP"), (b"attac", "PASS"), (b"ATTACK", "PASS"),
                             (filler(100) + b"attack" + filler(50), "DROP"), (filler(993) + b"attack", "DROP"),
                             (filler(600), "PASS"), (filler(300) + b"attac" + filler(1) + b"k", "PASS"), (b"", "PASS"),
                             # Payloads holding scan_hs's whole window (matched in place, not copied) and the
                             # window's edges: scan_loop finds the literal starting at any of the first 1024 bytes.
                             (filler(1021) + b"attack", "DROP"), (filler(1018) + b"attack" + filler(20), "DROP"),
                             (filler(1023) + b"attack" + filler(10), "DROP"),
                             (filler(1024) + b"attack" + filler(10), "PASS"), (b"attack" + filler(1300), "DROP"),
                             (filler(1400), "PASS")]:
        c.add(IP(src=CLIENT, dst=SERVER) / UDP(sport=c.port(), dport=9999) / payload, verdict)
        c.add(tcp(c.port(), payload), verdict)
    return c


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    regex_capture().write(outdir, "regex")
    stream_capture().write(outdir, "stream")
    scan_capture().write(outdir, "scan")


if __name__ == "__main__":
    main()
