#!/usr/bin/env python3
"""Holds an upgraded (WebSocket handshake) connection through the ingress and echoes a line
over it every 0.2 s, while a second thread sends plain requests one connection each, until
the stop file appears. Prints one JSON line: whether the upgraded connection lived throughout,
how many echoes and requests went through, and every failure seen.

usage: route_change_probe.py PORT WS_HOST HTTP_HOST STOP_FILE"""
import http.client
import json
import os
import socket
import sys
import threading
import time

port, ws_host, http_host, stop_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
deadline = time.time() + 240
result = {"upgraded": False, "echoes": 0, "wsError": None, "requests": 0, "failures": []}


def stopped():
    return os.path.exists(stop_file) or time.time() > deadline


def upgraded_connection():
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(("GET /chat HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % ws_host).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise OSError("closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise OSError("handshake answered %r" % head[:40])
        result["upgraded"] = True
        number = 0
        while not stopped():
            number += 1
            line = ("echo %d\n" % number).encode()
            sock.sendall(line)
            got = b""
            while len(got) < len(line):
                chunk = sock.recv(len(line) - len(got))
                if not chunk:
                    raise OSError("closed after %d echoes" % result["echoes"])
                got += chunk
            if got != line:
                raise OSError("echo %d came back as %r" % (number, got))
            result["echoes"] += 1
            time.sleep(0.2)
        sock.close()
    except Exception as error:  # reported, not raised: the JSON line is the answer
        result["wsError"] = str(error)


def requests():
    while not stopped():
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/", headers={"Host": http_host, "Connection": "close"})
            answer = connection.getresponse()
            answer.read()
            connection.close()
            if answer.status != 200:
                result["failures"].append("status %d" % answer.status)
        except Exception as error:
            result["failures"].append(str(error))
        result["requests"] += 1
        time.sleep(0.02)


threads = [threading.Thread(target=upgraded_connection), threading.Thread(target=requests)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(result))
