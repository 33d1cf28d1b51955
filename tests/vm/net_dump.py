#!/usr/bin/env python3
"""net_dump.py - reads a pcap file as tcpdump would (libpcap's format, no tcpdump needed) and
prints what tests/vm/net_dump.sh checks: the header, the record count, whether every record
is well formed, and per UDP frame "udp SPORT>DPORT PAYLOAD_HEX" in file order (ports above
1023 as '*': the host picks them anew each run).

usage: net_dump.py FILE"""
import struct
import sys


def port(p):
    """Well-known ports as they are; the host's ephemeral ones (differ per run) as '*'."""
    return str(p) if p < 1024 else "*"


def main():
    data = open(sys.argv[1], "rb").read()
    if len(data) < 24:
        print("short file")
        return
    magic, vmaj, vmin, zone, sigfigs, snaplen, link = struct.unpack("<IHHiIII", data[:24])
    print("header magic=%08x version=%d.%d snaplen=%d link=%d" % (magic, vmaj, vmin, snaplen, link))
    off, n, good, cut, tcp, macs = 24, 0, True, 0, 0, set()
    udp = []
    while off < len(data):
        if off + 16 > len(data):
            good = False
            break
        sec, usec, caplen, origlen = struct.unpack("<IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + caplen]
        if len(frame) != caplen or caplen > origlen or caplen > snaplen or usec >= 1000000:
            good = False
            break
        cut += caplen < origlen
        off += 16 + caplen
        n += 1
        macs.add(frame[6:12].hex(":"))
        if caplen >= 34 and frame[12:14] == b"\x08\x00":
            ihl = (frame[14] & 15) * 4
            proto = frame[23]
            l4 = frame[14 + ihl:]
            if proto == 6:
                tcp += 1
            if proto == 17 and len(l4) >= 8 and caplen == origlen:
                sport, dport = struct.unpack(">HH", l4[:4])
                udp.append("udp %s>%s %s" % (port(sport), port(dport), l4[8:].hex()))
    print("records %d well-formed=%s cut=%d tcp=%d" % (n, good, cut, tcp))
    print("sources " + " ".join(sorted(macs)))
    for u in udp:
        print(u)


if __name__ == "__main__":
    main()
