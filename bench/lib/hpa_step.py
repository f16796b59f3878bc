#!/usr/bin/env python3
"""HPA step response on a running Berth (issue 30): a Deployment that idles until /tmp/go exists
in its pod, then burns CPU; an HPA at 50 % of its 100m request. The step is `kubectl exec …
touch /tmp/go`; from the moment that returns, the API is polled every 50 ms for the HPA's
scale-up (status.desiredReplicas > 1: the decision) and for the Deployment's new pods Ready.
Prints one JSON line with each trial and the medians."""
import json, ssl, statistics, subprocess, sys, time, urllib.request

kubeconfig, trials = sys.argv[1], int(sys.argv[2])
kubectl = ["/usr/lib/google-cloud-sdk/bin/kubectl.1.33", "--kubeconfig", kubeconfig]
server = subprocess.check_output(kubectl + ["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.server}"], text=True)
token = subprocess.check_output(kubectl + ["config", "view", "--raw", "-o", "jsonpath={.users[0].user.token}"], text=True)
ca = subprocess.check_output(kubectl + ["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"], text=True)
import base64, tempfile
ca_file = tempfile.NamedTemporaryFile(suffix=".crt", delete=False)
ca_file.write(base64.b64decode(ca)); ca_file.close()
context = ssl.create_default_context(cafile=ca_file.name)

def get(path):
    request = urllib.request.Request(server + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return json.load(response)

def run(args, stdin=None):
    return subprocess.run(kubectl + args, input=stdin, text=True, capture_output=True, check=True).stdout

results = []
for trial in range(trials):
    name = f"step{trial}"
    run(["apply", "-f", "-"], f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: default}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: berth/busybox:latest
        command: [sh, -c, "while [ ! -f /tmp/go ]; do sleep 0.2; done; while :; do :; done"]
        resources: {{requests: {{cpu: 100m}}, limits: {{cpu: 500m}}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: {name}, namespace: default}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {name}}}
  minReplicas: 1
  maxReplicas: 4
  metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}}}]
""")
    # Steady first: the pod Ready and the HPA measuring it (idle, within its bounds).
    deadline = time.time() + 120
    while time.time() < deadline:
        hpa = get(f"/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/{name}")
        if any(m.get("resource", {}).get("current", {}).get("averageUtilization") is not None for m in hpa.get("status", {}).get("currentMetrics", [])):
            break
        time.sleep(0.2)
    pod = run(["get", "pods", "-l", f"app={name}", "-o", "jsonpath={.items[0].metadata.name}"])
    run(["exec", pod, "--", "touch", "/tmp/go"])
    step = time.time()
    decision = ready = None
    while time.time() < step + 120 and ready is None:
        if decision is None:
            hpa = get(f"/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/{name}")
            if (hpa.get("status", {}).get("desiredReplicas") or 0) > 1:
                decision = time.time() - step
        if decision is not None:
            deployment = get(f"/apis/apps/v1/namespaces/default/deployments/{name}")
            wanted = deployment["spec"].get("replicas", 1)
            if wanted > 1 and deployment.get("status", {}).get("readyReplicas", 0) >= wanted:
                ready = time.time() - step
        time.sleep(0.05)
    results.append({"decision_s": round(decision, 2) if decision else None, "ready_s": round(ready, 2) if ready else None})
    run(["delete", "deployment,hpa", name, "--wait=true"])

decisions = [r["decision_s"] for r in results if r["decision_s"] is not None]
readies = [r["ready_s"] for r in results if r["ready_s"] is not None]
print(json.dumps({"bench": "hpa_step", "trials": results,
                  "decision_median_s": statistics.median(decisions) if decisions else None,
                  "ready_median_s": statistics.median(readies) if readies else None,
                  "target_decision_s": 15, "target_ready_s": 20,
                  "anchor_average_s": 27.5, "anchor_note": "Kubernetes' HPA: kubelet 10 s + metrics-server up to 30 s + 15 s sync (kubernetes#110317); no Kubernetes runs here"}))
