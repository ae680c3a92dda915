#!/usr/bin/python3
"""Write the captures of bpf/rewrite.bpf.o: rewrite.pcap (frames in), rewrite.expect (one
replay line each) and rewrite.out.pcap (each frame as the program must leave it).

Usage: /usr/bin/python3 tests/data/rewrite/gen_rewrite.py [OUTDIR]   (default: this folder)

The expected output is computed here from scapy's model of each rewrite (echo: MACs,
addresses and ports swapped, TTL 64; VLAN: tag popped; discard: trimmed to 64 bytes of
payload with lengths and checksums recomputed by scapy), independently of the program.
"""
import os
import sys

from scapy.all import ARP, IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw, wrpcap

BASE_TIME = 1767225600  # fixed timestamps: reproducible files
CLIENT_MAC, SERVER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
CLIENT, SERVER = "10.0.0.1", "10.0.0.2"
KEEP_PAYLOAD = 64


def payload(n, seed):
    return bytes((seed * 7 + i * 13) & 0xFF for i in range(n))


def eth():
    return Ether(src=CLIENT_MAC, dst=SERVER_MAC)


def udp4(dport, data, sport=40000, chksum=None, ttl=63):
    ip = IP(src=CLIENT, dst=SERVER, ttl=ttl, id=1)
    udp = UDP(sport=sport, dport=dport) if chksum is None else UDP(sport=sport, dport=dport, chksum=chksum)
    return eth() / ip / udp / Raw(data)


def echoed(frame):
    """The echo: everything swapped, TTL 64, IP checksum recomputed, UDP checksum kept."""
    f = Ether(bytes(frame))
    out = Ether(src=f.dst, dst=f.src) / IP(bytes(f[IP]))
    out[IP].src, out[IP].dst, out[IP].ttl = f[IP].dst, f[IP].src, 64
    out[UDP].sport, out[UDP].dport = f[UDP].dport, f[UDP].sport
    del out[IP].chksum
    return Ether(bytes(out))


def popped(frame):
    raw = bytes(frame)
    return Ether(raw[:12] + raw[16:])


def trimmed(frame):
    f = Ether(bytes(frame))
    keep = bytes(f[UDP].payload)[:KEEP_PAYLOAD]
    had_checksum = f[UDP].chksum != 0
    ip = IP(bytes(f[IP]))
    ip.remove_payload()
    out = Ether(src=f.src, dst=f.dst) / ip / UDP(sport=f[UDP].sport, dport=f[UDP].dport) / Raw(keep)
    del out[IP].len, out[IP].chksum
    if not had_checksum:
        out[UDP].chksum = 0
    return Ether(bytes(out))


def cases():
    """(frame in, verdict, frame out) for every packet, in capture order."""
    same = lambda f: f  # noqa: E731
    c = [
        (udp4(7, b"hello, echo"), "TX", echoed),
        (udp4(7, payload(300, 1), sport=5353), "TX", echoed),
        (udp4(7, b"no checksum", chksum=0), "TX", echoed),
        (eth() / Dot1Q(vlan=100) / IP(src=CLIENT, dst=SERVER) / UDP(sport=1234, dport=53) / Raw(b"tagged"), "PASS",
         popped),
        (eth() / Dot1Q(vlan=7, prio=3) / IP(src=CLIENT, dst=SERVER) / UDP(sport=1234, dport=7) / Raw(b"tagged echo"),
         "PASS", popped),
        (eth() / Dot1Q(vlan=200) / IPv6(src="fd00::1", dst="fd00::2") / UDP(dport=9) / Raw(payload(90, 2)), "PASS",
         popped),
        (udp4(9, payload(200, 3)), "PASS", trimmed),
        (udp4(9, payload(1400, 4)), "PASS", trimmed),
        (udp4(9, payload(100, 5), chksum=0), "PASS", trimmed),
        (udp4(9, payload(65, 6)), "PASS", trimmed),
        (udp4(9, payload(64, 7)), "PASS", same),
        (udp4(9, payload(10, 8)), "PASS", same),
        (eth() / IP(src=CLIENT, dst=SERVER) / TCP(sport=40000, dport=7) / Raw(b"tcp to 7"), "PASS", same),
        (eth() / IPv6(src="fd00::1", dst="fd00::2") / UDP(dport=7) / Raw(b"v6 echo"), "PASS", same),
        (eth() / IP(src=CLIENT, dst=SERVER, options=b"\x01\x01\x01\x00") / UDP(dport=7) / Raw(b"opts"), "PASS",
         same),
        (eth() / IP(src=CLIENT, dst=SERVER, flags="MF") / UDP(dport=7) / Raw(b"first fragment"), "PASS", same),
        (udp4(53, b"not an echo"), "PASS", same),
        (Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=CLIENT, pdst=SERVER), "PASS", same),
    ]
    return [(Ether(bytes(f)), verdict, rewrite(Ether(bytes(f)))) for f, verdict, rewrite in c]


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    ins, outs, lines = [], [], []
    for index, (frame, verdict, out) in enumerate(cases()):
        frame.time = out.time = BASE_TIME + index
        ins.append(frame)
        outs.append(out)
        lines.append(f"{index}\t{verdict}\t-\t-\n")
    wrpcap(os.path.join(outdir, "rewrite.pcap"), ins)
    wrpcap(os.path.join(outdir, "rewrite.out.pcap"), outs)
    with open(os.path.join(outdir, "rewrite.expect"), "w") as f:
        f.writelines(lines)
    # Read back: every expected output really differs from its input where a rewrite is due.
    for index, ((frame, verdict, out), line) in enumerate(zip(cases(), lines)):
        assert (bytes(frame) != bytes(out)) == (index < 10), f"packet {index}: rewrite expectation"


if __name__ == "__main__":
    main()
