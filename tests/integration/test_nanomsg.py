#!/usr/bin/env python3
"""The nanomsg source and the live tail through the real daemon: sample payloads pushed to
the PULL socket (tests/tools/nn_push) land in the ledger with their fields, malformed
messages are rejected, logged without their content and counted, a reload changes the
format, and `incidentctl tail` (human and --json) prints every accepted event, HTTP ones
included, with its incident key."""

import json
import os
import re
import signal
import subprocess
import threading

import harness
from harness import Daemon, sample, wait_until

NN_PUSH = os.environ.get("NN_PUSH") or os.path.join(harness.TOP, "tests/tools/nn_push")


def confd(d, fmt):
    return {"10-test.yaml": (
        "server:\n  publish: \"ipc://%s/run/tail.ipc\"\n"
        "sources:\n  argocd: { auth: none }\n"
        "  nanomsg: { pull: \"ipc://%s/run/in.ipc\", format: %s }\n"
        "sinks:\n  log: { plugin: log }\n"
        "routes:\n  - name: default\n    sinks: [log]\n") % (d.dir, d.dir, fmt)}


class Tail:
    """incidentctl tail as a subprocess, its stdout collected line by line."""

    def __init__(self, args, env=None):
        self.lines = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen([harness.INCIDENTCTL, "tail"] + args,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env or dict(os.environ))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def get(self):
        with self.lock:
            return list(self.lines)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(10)
        self.thread.join(5)
        return rc, self.proc.stderr.read().decode()


def push(address, *payloads):
    """Send each payload (bytes) as one message; returns nn_push's exit code."""
    files = []
    tmp = os.environ.get("TMPDIR", "/tmp")
    for i, data in enumerate(payloads):
        path = os.path.join(tmp, "nn_push.%d.%d" % (os.getpid(), i))
        with open(path, "wb") as f:
            f.write(data)
        files.append(path)
    try:
        return subprocess.run([NN_PUSH, address] + files, timeout=30).returncode
    finally:
        for path in files:
            os.unlink(path)


def metric(d, name, labels):
    st, _, text = d.get("/metrics")
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0.0


def main(t):
    d = Daemon(t, {}, start=False)
    d.write_confd(confd(d, "argocd"))
    d.start()
    pull = "ipc://%s/run/in.ipc" % d.dir
    tail_addr = "ipc://%s/run/tail.ipc" % d.dir
    t.ok(d.wait_log(r"pulling events on " + re.escape(pull)), "nanomsg source bound")

    human = Tail(["--address", tail_addr])
    env = dict(os.environ, INCIDENTD_TAIL=tail_addr)
    js = Tail(["--json"], env)   # address from INCIDENTD_TAIL
    try:
        run(t, d, pull, human, js)
    finally:
        for name, tail in (("human", human), ("--json", js)):
            rc, err = tail.stop()
            t.eq(rc, 0, "tail %s exits 0 on SIGINT" % name)
            t.ok(not any(m in err for m in harness.SANITIZER_MARKS), "tail %s: no sanitizer "
                 "reports" % name, err)


def run(t, d, pull, human, js):
    # The subscriptions connect asynchronously: post HTTP events until both tails see one.
    n = 0

    def warm():
        nonlocal n
        n += 1
        d.post("/v1/events/argocd", {"app_name": "warmup-%d" % n, "health_status": "Healthy",
                                     "sync_status": "Synced"})
        return js.get() and human.get()
    t.ok(wait_until(warm, 10, 0.2), "both tails receive an HTTP event")
    first = json.loads(js.get()[0])
    t.ok(first["source"] == "argocd" and first["app"].startswith("warmup-"),
         "tail --json prints the HTTP event", first)
    t.ok("payload" not in first, "published events carry no payload")
    # a hostile summary cannot drive the terminal of whoever tails
    d.post("/v1/events/argocd", {"app_name": "evil\u001b[2J\napp", "health_status": "Degraded"})
    evil = wait_until(lambda: [l for l in human.get() if "evil" in l], 10)
    t.ok(evil and "evil [2J app is Degraded" in evil[0] and "\x1b" not in evil[0],
         "human tail prints control characters as spaces", evil)
    t.ok(wait_until(lambda: any("evil" in l for l in js.get()), 10), "--json got it too")
    warm_lines = len(js.get())

    # --- argocd format -------------------------------------------------------------------
    before = d.scalar("SELECT count(*) FROM events")
    t.eq(push(pull, sample("argocd", "seed-aks-store-degraded.client_payload.json")), 0,
         "nn_push sends the Argo CD sample")
    row = wait_until(lambda: d.sql(
        "SELECT source, type, status, severity, cluster, namespace, app, revision, summary, "
        "id FROM events WHERE app = 'aks-store'"), 10)
    t.eq([r[:9] for r in row or []],
         [("argocd", "deployment.degraded", "firing", "error", "prod-west-aks", "pets",
           "aks-store", "4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80",
           "aks-store is Degraded (OutOfSync) in prod-west-aks/pets")],
         "argocd message: normalized fields in the ledger")
    aks_id = row[0][9] if row else None
    t.eq(d.scalar("SELECT state FROM incidents WHERE key = 'argocd/prod-west-aks/pets/aks-store'"),
         "firing", "argocd message: incident opened under the Argo CD key")
    t.ok(d.wait_log(r"sink/log: .*key=argocd/prod-west-aks/pets/aks-store", 10),
         "argocd message: delivered to the route's sink")

    # --- malformed messages: logged (without content), counted, nothing stored -----------
    t.eq(push(pull, b'{"token": "hunter2-secret"', b"", b"{}", b"[1, 2]"), 0,
         "nn_push sends four malformed messages")
    t.ok(wait_until(lambda: metric(d, "incidentd_events_rejected_total",
                                   'source="nanomsg",reason="invalid_payload"') == 2, 10),
         "invalid payloads counted ({} and an array)")
    t.eq(metric(d, "incidentd_events_rejected_total", 'source="nanomsg",reason="bad_json"'),
         2.0, "bad JSON and the empty message counted as bad_json")
    t.eq(metric(d, "incidentd_nanomsg_messages_total", 'result="rejected"'), 4.0,
         "four messages rejected")
    t.eq(d.scalar("SELECT count(*) FROM events"), before + 1, "rejected messages store nothing")
    t.ok(d.wait_log(r"nanomsg: rejected a message of 26 bytes \(format argocd, bad_json\): "
                    r"invalid JSON at line 1, column 26"), "bad JSON logged with its position")
    t.ok(d.wait_log(r"rejected a message of 2 bytes \(format argocd, invalid_payload\): "
                    r"missing required field\(s\): app_name"), "invalid payload logged")
    t.ok(d.wait_log(r"rejected a message of 0 bytes .*empty message"), "empty message logged")
    t.eq(d.count_log("hunter2"), 0, "message content never logged")

    # --- reload: the format changes without a restart ------------------------------------
    mark = len(d.lines())
    d.write_confd(confd(d, "alertmanager"))
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log(r"configuration reloaded", 10, since=mark), "reloaded with format "
         "alertmanager")
    t.eq(d.count_log("takes effect after a restart"), 0, "same addresses: no restart warning")
    am = sample("alertmanager", "k8s_KubePodCrashLooping_firing_2alerts.json")
    t.eq(push(pull, am), 0, "nn_push sends the Alertmanager sample")
    rows = wait_until(lambda: d.sql(
        "SELECT source, type, status, namespace, fingerprint, id FROM events "
        "WHERE source = 'alertmanager' ORDER BY id"), 10)
    t.eq([r[:5] for r in rows or []],
         [("alertmanager", "alert.firing", "firing", "payments", "ffdb340c659e5983"),
          ("alertmanager", "alert.firing", "firing", "payments", "908b990298dfafc3")],
         "alertmanager message: one event per alert, fields in the ledger")
    am_ids = [r[5] for r in rows or []]
    t.eq(push(pull, am), 0, "the same Alertmanager body again")
    t.ok(wait_until(lambda: metric(d, "incidentd_nanomsg_messages_total",
                                   'result="duplicate"') == 1, 10), "re-sent body is a duplicate")
    t.eq(d.scalar("SELECT count(*) FROM events WHERE source = 'alertmanager'"), 2,
         "the duplicate stores nothing")
    t.eq(metric(d, "incidentd_nanomsg_messages_total", 'result="accepted"'), 2.0,
         "two messages accepted")
    t.eq(metric(d, "incidentd_events_accepted_total", 'source="alertmanager"'), 2.0,
         "accepted events counted by their source")

    # --- event format (incidentd's own JSON) ---------------------------------------------
    mark = len(d.lines())
    d.write_confd(confd(d, "event"))
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log(r"configuration reloaded", 10, since=mark), "reloaded with format event")
    t.eq(push(pull, sample("event", "seed-backup-failed.json")), 0, "native event pushed")
    row = wait_until(lambda: d.sql("SELECT source, type, status, app, summary, id FROM events "
                                   "WHERE type = 'job.failed'"), 10)
    t.eq([r[:5] for r in row or []],
         [("nanomsg", "job.failed", "firing", "velero-nightly",
           "velero-nightly backup failed in prod-west-aks/backup")],
         "event message: fields in the ledger, source nanomsg")
    job_id = row[0][5] if row else None

    # --- the tails saw every accepted event, in commit order -----------------------------
    want = [aks_id] + am_ids + [job_id]
    t.ok(wait_until(lambda: len(js.get()) >= warm_lines + len(want), 10),
         "tail --json got every accepted event", js.get())
    got = [json.loads(l) for l in js.get()[warm_lines:]]
    t.eq([e.get("id") for e in got], want, "tail --json: the ledger's event ids, in order")
    t.eq([e.get("incident_key") for e in got[:3]],
         ["argocd/prod-west-aks/pets/aks-store", "alertmanager/ffdb340c659e5983",
          "alertmanager/908b990298dfafc3"], "tail --json: incident keys")
    t.eq(got[-1].get("incident_key") if got else None,
         d.scalar("SELECT i.key FROM incidents i JOIN events e ON e.incident_id = i.id "
                  "WHERE e.id = ?", (job_id,)), "tail --json: the native event's incident key")
    t.ok(got and got[-1].get("incident_key", "").startswith("nanomsg/"),
         "native event keyed by source nanomsg and its derived fingerprint",
         got[-1] if got else None)
    t.ok(wait_until(lambda: any("job.failed" in l or "velero-nightly backup failed" in l
                                for l in human.get()), 10), "human tail got the last event")
    lines = human.get()
    aks = [l for l in lines if "aks-store is Degraded" in l]
    t.eq(len(aks), 1, "human tail: one line for the Argo CD message")
    t.ok(aks and re.match(r"^2026-02-10 03:01:12  argocd +firing +"
                          r"argocd/prod-west-aks/pets/aks-store  aks-store is Degraded",
                          aks[0]), "human tail: time source status key summary", aks)
    t.eq(len([l for l in lines if "alertmanager/" in l]), 2,
         "human tail: one line per alert, the duplicate not repeated")
    t.eq(metric(d, "incidentd_tail_messages_total", 'result="dropped"'), 0.0,
         "nothing dropped by the publisher")

    # --- a new address needs a restart, and says so; the old socket keeps working ---------
    mark = len(d.lines())
    cfg = confd(d, "event")
    cfg["10-test.yaml"] = cfg["10-test.yaml"].replace("run/in.ipc", "run/in2.ipc").replace(
        "run/tail.ipc", "run/tail2.ipc")
    d.write_confd(cfg)
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log(r"sources.nanomsg.pull changed to ipc://.*/run/in2.ipc: takes effect "
                    r"after a restart", 10, since=mark), "pull address change: restart warned")
    t.ok(d.wait_log(r"server.publish changed to ipc://.*/run/tail2.ipc: takes effect after a "
                    r"restart", 10, since=mark), "publish address change: restart warned")
    t.eq(push(pull, sample("event", "seed-backup-recovered.json")), 0, "push to the old address")
    t.ok(wait_until(lambda: d.scalar("SELECT count(*) FROM events WHERE source = 'cron'") == 1,
                    10), "the old socket still accepts until the restart")

    # --- SIGTERM closes both sockets cleanly (exit 0, no sanitizer report) ----------------
    d.stop()

    # --- a pull address beyond loopback needs auth: none ---------------------------------
    p = subprocess.run([harness.INCIDENTD, "-c", d.confd, "--check-config",
                        "--plugin-dir", harness.PLUGIN_DIR],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.eq(p.returncode, 0, "--check-config accepts the test configuration")
    d.write_confd({"10-test.yaml": "sources:\n  nanomsg: { pull: \"tcp://*:0\" }\n"
                   "sinks:\n  log: { plugin: log }\nroutes:\n  - { name: d, sinks: [log] }\n"})
    p = subprocess.run([harness.INCIDENTD, "-c", d.confd, "--check-config",
                        "--plugin-dir", harness.PLUGIN_DIR],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.eq(p.returncode, 1, "--check-config refuses an exposed pull address")
    t.ok("sources.nanomsg.pull: tcp://*:0 is not a local address" in p.stderr.decode(),
         "and says why", p.stderr.decode())


if __name__ == "__main__":
    harness.run(main)
