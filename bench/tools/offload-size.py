#!/usr/bin/env python3
"""offload-size.py IFNAME SIZE: sets a link's IPv4 GSO and GRO limits (IPv4 BIG TCP, Linux 6.3+)
over rtnetlink, in the caller's network namespace. iproute2 6.1 (Debian 12) cannot set them.
The network benchmarks use it on their software switch, which must pass 192 KiB buffers on
unsegmented for hosts that use BIG TCP, as a physical network's NICs would segment them."""
import os
import socket
import struct
import sys

IFLA_IFNAME, IFLA_GSO_IPV4_MAX_SIZE, IFLA_GRO_IPV4_MAX_SIZE = 3, 63, 64
RTM_NEWLINK, NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR = 16, 1, 4, 2


def attribute(kind, payload):
    length = 4 + len(payload)
    return struct.pack("HH", length, kind) + payload + b"\0" * (-length % 4)


def main():
    name, size = sys.argv[1], int(sys.argv[2])
    body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
    body += attribute(IFLA_IFNAME, name.encode() + b"\0")
    body += attribute(IFLA_GSO_IPV4_MAX_SIZE, struct.pack("I", size))
    body += attribute(IFLA_GRO_IPV4_MAX_SIZE, struct.pack("I", size))
    message = struct.pack("IHHII", 16 + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.send(message)
        reply = sock.recv(4096)
    kind = struct.unpack("H", reply[4:6])[0]
    error = struct.unpack("i", reply[16:20])[0] if kind == NLMSG_ERROR else 0
    if error:
        sys.exit(f"offload-size: {name}: {os.strerror(-error)}")


if __name__ == "__main__":
    main()
