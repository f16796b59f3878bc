#!/usr/bin/env python3
"""Raw HTTP/1.1-over-TLS probes of a Berth listener: each case sends exact bytes and reports
what came back, as one JSON object per case on stdout. Only 127.0.0.1 (or the host given);
every socket has a deadline, so a probe never hangs the test that runs it.

usage: http_probe.py HOST PORT TOKEN CASE [CASE ...]   (CASE 'all' runs every case)
"""
import json
import socket
import ssl
import sys
import time

HOST, PORT, TOKEN = sys.argv[1], int(sys.argv[2]), sys.argv[3]
CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


def connect(timeout=10.0):
    raw = socket.create_connection((HOST, PORT), timeout=timeout)
    return CTX.wrap_socket(raw, server_hostname=HOST)


def read_all(sock, deadline):
    """Everything until EOF or the deadline; (bytes, saw_eof)."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return data, False
        except (ConnectionResetError, ssl.SSLError, OSError):
            return data, True
        if not chunk:
            return data, True
        data += chunk


def status_of(data):
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def exchange(payload, wait=5.0):
    """Sends payload, reads until EOF or `wait` seconds: status, whether the server closed."""
    start = time.monotonic()
    sock = connect()
    try:
        sock.sendall(payload)
        data, eof = read_all(sock, start + wait)
    finally:
        sock.close()
    return {"status": status_of(data), "closed": eof, "seconds": round(time.monotonic() - start, 2),
            "body": data.split(b"\r\n\r\n", 1)[-1][:300].decode("utf-8", "replace")}


AUTH = ("Authorization: Bearer %s\r\n" % TOKEN).encode()
CM = b"/api/v1/namespaces/default/configmaps"


def oversized_body():
    """8 MiB POST: the answer (413) and the end of stream must come while the body is still
    being sent; the sender must never block for good."""
    size = 8 * 1024 * 1024
    start = time.monotonic()
    sock = connect()
    head = b"POST " + CM + b" HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size
    sock.sendall(head)
    chunk = b"x" * 65536
    sent, blocked = 0, False
    sock.settimeout(10)
    try:
        while sent < size:
            sock.sendall(chunk)
            sent += len(chunk)
    except (socket.timeout, TimeoutError):
        blocked = True
    except OSError:
        pass  # the server closed after answering: the sender is told, not left blocked
    data, eof = read_all(sock, time.monotonic() + 5)
    sock.close()
    return {"status": status_of(data), "closed": eof, "blocked": blocked, "sent": sent,
            "seconds": round(time.monotonic() - start, 2)}


def bad_chunk_size():
    payload = (b"POST " + CM + b" HTTP/1.1\r\nHost: x\r\n" + AUTH +
               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
    return exchange(payload)


def read_response(sock, deadline):
    """One response framed by Content-Length: (status, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status_of(data), body


def idle_keepalive_then_request():
    """A good request works, and a second one on the same connection too."""
    sock = connect()
    out = []
    for _ in range(2):
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        out.append(read_response(sock, time.monotonic() + 5)[0])
    sock.close()
    return {"statuses": out}


def abandoned(count=1000):
    """Connections opened and closed without a request: half after the TLS handshake, half
    before it (plain TCP)."""
    closed = 0
    for i in range(count):
        raw = socket.create_connection((HOST, PORT), timeout=10)
        if i % 2 == 0:
            try:
                CTX.wrap_socket(raw, server_hostname=HOST).close()
            except OSError:
                raw.close()
        else:
            raw.close()
        closed += 1
    return {"opened_and_closed": closed}


def slow_heads(count=16, wait=40.0):
    """Clients that start a request head and never finish it: the server must end each."""
    socks = []
    for _ in range(count):
        sock = connect()
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n")
        socks.append(sock)
    start = time.monotonic()
    ended, statuses = 0, []
    for sock in socks:
        data, eof = read_all(sock, start + wait)
        ended += 1 if eof else 0
        statuses.append(status_of(data))
        sock.close()
    return {"ended": ended, "statuses": statuses, "seconds": round(time.monotonic() - start, 2)}


def idle_connections(count=16, wait=40.0):
    """Connections that finish the TLS handshake and never send a byte."""
    socks = [connect() for _ in range(count)]
    start = time.monotonic()
    ended = 0
    for sock in socks:
        _, eof = read_all(sock, start + wait)
        ended += 1 if eof else 0
        sock.close()
    return {"ended": ended, "seconds": round(time.monotonic() - start, 2)}


def stalled_watchers(watchers=15, objects=400, size=100000):
    """Watches that never read while objects are created: the server must drop them. Each
    watcher's receive buffer is kept small so the server's side fills quickly."""
    socks = []
    for _ in range(watchers):
        raw = socket.create_connection((HOST, PORT), timeout=10)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock = CTX.wrap_socket(raw, server_hostname=HOST)
        sock.sendall(b"GET " + CM + b"?watch=true HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n")
        socks.append(sock)
    writer = connect()
    value = "v" * size
    created = 0
    for i in range(objects):
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stall-%d" % i}, "data": {"k": value}}).encode()
        writer.sendall(b"POST " + CM + b" HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        status, _ = read_response(writer, time.monotonic() + 30)
        created += 1 if status == 201 else 0
    writer.close()
    # Now read: a dropped watch ends after what was already on its way.
    start = time.monotonic()
    dropped = 0
    for sock in socks:
        _, eof = read_all(sock, start + 60)
        dropped += 1 if eof else 0
        sock.close()
    return {"created": created, "dropped": dropped, "seconds": round(time.monotonic() - start, 2)}


def delete_stalled(objects=2000):
    sock = connect()
    sock.sendall(b"DELETE " + CM + b" HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n")
    status, _ = read_response(sock, time.monotonic() + 60)
    sock.close()
    return {"status": status}


CASES = {
    "abandoned": abandoned,
    "slow_heads": slow_heads,
    "idle_connections": idle_connections,
    "stalled_watchers": stalled_watchers,
    "delete_all_configmaps": delete_stalled,
    "unknown_method": lambda: exchange(b"FROB /version HTTP/1.1\r\nHost: x\r\n\r\n"),
    "negative_length": lambda: exchange(b"POST " + CM + b" HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
    "huge_length": lambda: exchange(b"POST " + CM + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 151115727451828646838272\r\n\r\n"),
    "double_length": lambda: exchange(b"POST " + CM + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"),
    "length_and_chunked": lambda: exchange(b"POST " + CM + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
    "long_request_line": lambda: exchange(b"GET /" + b"a" * (70 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    "huge_header": lambda: exchange(b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (1024 * 1024) + b"\r\n\r\n"),
    "many_headers": lambda: exchange(b"GET /version HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n"),
    "http09": lambda: exchange(b"GET /version\r\n"),
    "bare_lf": lambda: exchange(b"GET /version HTTP/1.1\nHost: x\n\n"),
    "http2_preface": lambda: exchange(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    "bad_chunk_size": bad_chunk_size,
    "oversized_body": oversized_body,
    "keepalive": idle_keepalive_then_request,
    "ws_no_key": lambda: exchange(b"GET /api/v1/namespaces/default/pods/x/exec?command=ls HTTP/1.1\r\nHost: x\r\n" + AUTH +
                                  b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n"),
    "ws_bad_version": lambda: exchange(b"GET /api/v1/namespaces/default/pods/x/exec?command=ls HTTP/1.1\r\nHost: x\r\n" + AUTH +
                                       b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n"),
    "ws_unauthenticated": lambda: exchange(b"GET /api/v1/namespaces/default/pods/x/exec?command=ls HTTP/1.1\r\nHost: x\r\n"
                                           b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n"),
    "ws_missing_pod": lambda: exchange(b"GET /api/v1/namespaces/default/pods/nosuchpod/exec?command=ls HTTP/1.1\r\nHost: x\r\n" + AUTH +
                                       b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n"),
}


SLOW = {"abandoned", "slow_heads", "idle_connections", "stalled_watchers", "delete_all_configmaps"}


def main():
    names = sys.argv[4:]
    if names == ["all"]:
        names = [name for name in CASES if name not in SLOW]
    for name in names:
        try:
            result = CASES[name]()
        except Exception as error:  # reported, not raised: the test decides
            result = {"error": repr(error)}
        result["case"] = name
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
