#!/usr/bin/env python3
"""Creates Services fill-START … fill-(START+COUNT-1) in namespace default, each selecting
app=server on port 80 → 8080, over one kept-alive HTTPS connection; prints how long it took.

  create_services.py HOST PORT TOKEN START COUNT
"""
import http.client
import json
import ssl
import sys
import time

host, port, token, start, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
connection = http.client.HTTPSConnection(host, port, context=ssl._create_unverified_context())
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
began = time.time()
for i in range(start, start + count):
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fill-%d" % i},
            "spec": {"selector": {"app": "server"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    connection.request("POST", "/api/v1/namespaces/default/services", body=json.dumps(body), headers=headers)
    reply = connection.getresponse()
    reply.read()
    if reply.status != 201:
        sys.exit("creating fill-%d: HTTP %d" % (i, reply.status))
print(json.dumps({"created": count, "seconds": round(time.time() - began, 2)}))
