#!/usr/bin/env python3
"""offload-size.py IFNAME [SIZE]: sets a link's IPv4 GSO and GRO limits (IPv4 BIG TCP, Linux 6.3+)
over rtnetlink, in the caller's network namespace; without SIZE, prints its IPv4 GSO limit.
iproute2 6.1 (Debian 12) can neither set nor show them.
The network benchmarks use it on their software switch, which must pass 192 KiB buffers on
unsegmented for hosts that use BIG TCP, as a physical network's NICs would segment them."""
import os
import socket
import struct
import sys

IFLA_IFNAME, IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE = 3, 63, 64
RTM_NEWLINK, RTM_GETLINK, NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR = 16, 18, 1, 4, 2


def attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack("HH", length, kind) + payload + b"\0" * (-length % 4)


def main():
    name = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else None
    body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
    body += attribute(IFLA_IFNAME, name.encode() + b"\0")
    if size is not None:
        body += attribute(IFLA_GSO_IPV4_MAX_SIZE, struct.pack("I", size))
        body += attribute(IFLA_GRO_IPV4_MAX_SIZE, struct.pack("I", size))
    request, flags = (RTM_GETLINK, NLM_F_REQUEST) if size is None else (RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK)
    message = struct.pack("IHHII", 16 + len(body), request, flags, 1, 0) + body
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.send(message)
        reply = sock.recv(65536)
    kind = struct.unpack("H", reply[4:6])[0]
    error = struct.unpack("i", reply[16:20])[0] if kind == NLMSG_ERROR else 0
    if error:
        sys.exit(f"offload-size: {name}: {os.strerror(-error)}")
    if size is None:
        # The link's attributes follow the 16-byte netlink header and the 16-byte ifinfomsg.
        offset, end = 32, struct.unpack("I", reply[0:4])[0]
        while offset + 4 <= end:
            length, kind = struct.unpack("HH", reply[offset:offset + 4])
            if kind == IFLA_GSO_IPV4_MAX_SIZE:
                print(struct.unpack("I", reply[offset + 4:offset + 8])[0])
                return
            offset += (length + 3) & ~3
        sys.exit(f"offload-size: {name}: the kernel reports no IPv4 GSO limit")


if __name__ == "__main__":
    main()
