#!/usr/bin/env python3
"""Options, signals, health endpoints, metrics and the read API."""

import os
import shutil
import signal
import subprocess

import harness
from harness import Daemon, base_confd, sample, INCIDENTD, PLUGIN_DIR


def run(args, env=None):
    p = subprocess.run([INCIDENTD] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def main(t):
    rc, out, err = run(["--version"])
    t.ok(rc == 0 and out.startswith("incidentd "), "--version", out + err)
    rc, out, err = run(["--help"])
    t.ok(rc == 0 and "--config" in out and "--check-config" in out, "--help", out + err)
    rc, out, err = run(["--no-such-option"])
    t.eq(rc, 2, "unknown option: exit 2")

    d = Daemon(t, base_confd(), start=False)
    rc, out, err = run(["--check-config", "-c", d.confd, "--plugin-dir", PLUGIN_DIR])
    t.eq(rc, 0, "--check-config on a valid conf.d: exit 0")
    bad = os.path.join(d.dir, "bad.d")
    os.makedirs(bad)
    with open(os.path.join(bad, "10-bad.yaml"), "w") as f:
        f.write("sinks:\n  log: { plugin: log }\nroutes:\n  - name: default\n    sinks: [log]\n    colour: blue\n")
    rc, out, err = run(["--check-config", "-c", bad, "--plugin-dir", PLUGIN_DIR])
    t.eq(rc, 1, "--check-config on an invalid conf.d: exit 1")
    t.ok("10-bad.yaml:6" in err and "colour" in err, "--check-config names file:line and key", err)
    with open(os.path.join(bad, "10-bad.yaml"), "w") as f:
        f.write("sinks:\n  gh: { plugin: no_such_plugin }\nroutes:\n  - { name: default, sinks: [gh] }\n")
    rc, out, err = run(["--check-config", "-c", bad, "--plugin-dir", PLUGIN_DIR])
    t.ok(rc == 1 and "no_such_plugin" in err, "--check-config loads plugins: missing one is an error", err)
    # embedded defaults: --check-config without -c
    rc, out, err = run(["--check-config", "--plugin-dir", PLUGIN_DIR])
    t.eq(rc, 0, "--check-config of the embedded defaults: exit 0")

    d.start()
    st, _, b = d.get("/healthz")
    t.eq((st, b), (200, {"status": "ok"}), "/healthz")
    st, _, b = d.get("/readyz")
    t.eq((st, b), (200, {"status": "ready"}), "/readyz")

    st, _, b = d.post("/v1/events/argocd", sample("argocd", "seed-aks-store-degraded.client_payload.json"))
    ev = (b.get("events") or [None])[0]
    st, _, b = d.get("/v1/events/" + str(ev))
    t.ok(st == 200 and b.get("app") == "aks-store" and b.get("payload", {}).get("app_name") == "aks-store",
         "GET /v1/events/{id}: event with raw payload", b)
    t.ok(isinstance(b.get("decisions"), list) and len(b["decisions"]) > 0, "event carries its decision trace", b)
    inc_id = b.get("incident_id")
    st, _, b = d.get("/v1/incidents")
    t.ok(st == 200 and isinstance(b, list) and [i.get("id") for i in b] == [inc_id],
         "GET /v1/incidents lists the incident", b)
    st, _, b = d.get("/v1/incidents/" + str(inc_id))
    t.ok(st == 200 and b.get("key") == "argocd/prod-west-aks/pets/aks-store" and ev in b.get("events", []),
         "GET /v1/incidents/{id}", b)
    st, _, b = d.get("/v1/events/01ARZ3NDEKTSV4RRFFQ69G5FAV")
    t.eq(st, 404, "unknown event id: 404")

    st, h, m = d.get("/metrics")
    t.ok(st == 200 and h.get("content-type", "").startswith("text/plain"), "/metrics is text/plain", h)
    t.ok('incidentd_events_accepted_total{source="argocd"} 1' in m, "metrics: accepted counter", m)
    t.ok("incidentd_ledger_commit_seconds_bucket{le=" in m and "incidentd_ledger_commit_seconds_count" in m,
         "metrics: commit latency histogram", m)
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=m.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        t.ok(p.returncode == 0, "promtool check metrics", p.stdout.decode())
    else:
        t.skip("promtool check metrics", "promtool not installed")

    # SIGHUP: a good reload, then a bad one keeps the old config
    mark = len(d.lines())
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log("configuration reloaded", 5, since=mark) is not None, "SIGHUP reloads")
    d.write_confd({"10-test.yaml": "routes: [ { name: x, sinks: [nope] } ]\n"})
    mark = len(d.lines())
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log("reload failed", 5, since=mark) is not None, "SIGHUP with an invalid conf.d: reload failed")
    p = sample("argocd", "seed-aks-store-degraded-argocd3-no-resource-health.client_payload.json")
    st, _, b = d.post("/v1/events/argocd", p)
    t.eq(st, 202, "old configuration still serving after a failed reload")
    t.ok(d.wait_log(r"sink/log: delivery \d+ action=update", 5) is not None, "old routes still deliver")
    d.stop()


harness.run(main)
