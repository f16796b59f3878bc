#!/usr/bin/env python3
"""TCP probes for the network benchmarks; run inside a pod's network namespace (ip netns exec).

  tcpprobe.py serve PORT                 accept and close connections until killed
  tcpprobe.py connect IP PORT SECONDS    sequential connects; prints one JSON line:
                                         connects per second, p50/p99 connect latency (µs), failures
  tcpprobe.py flip IP PORT open|closed TIMEOUT
                                         probes every few ms until a connect succeeds (open) or
                                         fails (closed); prints the wall-clock time it first did

The server closes first and the client closes after reading the end of stream, so the
TIME_WAIT state stays on the server (where it does not block new connections) and the client
never runs out of ports; every connect is a new flow that policy and service rules classify.
"""
import json
import socket
import sys
import time

def serve(port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(4096)
    while True:
        connection, _ = listener.accept()
        connection.close()


ERRORS = {}


def attempt(ip, port, timeout):
    """Seconds one connect took, or None when it failed (counted in ERRORS by reason)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    start = time.perf_counter()
    try:
        s.connect((ip, port))
        took = time.perf_counter() - start
        s.settimeout(1.0)
        s.recv(1)
        return took
    except OSError as error:
        reason = error.strerror or type(error).__name__
        ERRORS[reason] = ERRORS.get(reason, 0) + 1
        return None
    finally:
        s.close()


def connect(ip, port, seconds):
    latencies = []
    failures = 0
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        took = attempt(ip, port, 1.0)
        if took is None:
            failures += 1
        else:
            latencies.append(took)
    elapsed = time.perf_counter() - begin
    latencies.sort()

    def percentile(p):
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1e6, 1) if latencies else None

    print(json.dumps({"connects_per_s": round(len(latencies) / elapsed, 1), "p50_us": percentile(0.50),
                      "p99_us": percentile(0.99), "failures": failures, "connects": len(latencies), "errors": ERRORS}))


def flip(ip, port, want, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        opened = attempt(ip, port, 0.02) is not None
        if opened == (want == "open"):
            print("%.6f" % time.time())
            return
        time.sleep(0.002)
    print("timeout")
    sys.exit(1)


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "serve":
        serve(int(sys.argv[2]))
    elif command == "connect":
        connect(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif command == "flip":
        flip(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
    else:
        sys.exit("unknown command " + command)
