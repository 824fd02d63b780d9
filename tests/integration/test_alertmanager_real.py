#!/usr/bin/env python3
"""The real Prometheus Alertmanager (Debian's prometheus-alertmanager) in front of the real
daemon: alerts posted to Alertmanager's API v2 reach incidentd through a webhook receiver
with bearer auth, one firing event per alert (Alertmanager's fingerprint, labels), and their
resolution arrives as resolved events that resolve the incidents. A receiver with a wrong
token makes Alertmanager log the failure and incidentd count the 401s.

Skipped (one TAP skip line) when the Alertmanager binary is not installed."""

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import harness
from harness import Daemon, sample_json, wait_until

AM_TOKEN = "am-real-s3cr3t"
AM_BINS = ("/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager")
ALERTS = ("alertmanager", "alerts_posted_to_api_v2.json")   # 4 alerts, 3 groups below


def find_alertmanager():
    path = os.environ.get("ALERTMANAGER")
    if path:
        return path if os.access(path, os.X_OK) else None
    for p in AM_BINS:
        if os.access(p, os.X_OK):
            return p
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def rfc3339(t):
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def am_fingerprint(labels):
    """Alertmanager's fingerprint: FNV-1a 64 over sorted name, 0xff, value, 0xff."""
    h = 0xcbf29ce484222325
    for k in sorted(labels):
        for part in (k.encode(), b"\xff", labels[k].encode(), b"\xff"):
            for b in part:
                h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h


def incidentd_confd():
    return {"10-am.yaml": (
        "sources:\n"
        "  alertmanager: { auth: { bearer: \"${AM_TOKEN}\" } }\n"
        "sinks:\n  log: { plugin: log }\n"
        "routes:\n  - name: default\n    sinks: [log]\n")}


def am_config(incidentd_port, token):
    url = "http://127.0.0.1:%d/v1/events/alertmanager" % incidentd_port
    return (
        "global:\n"
        "  resolve_timeout: 10s\n"
        "route:\n"
        "  receiver: incidentd\n"
        "  group_by: ['namespace', 'alertname']\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "  routes:\n"
        "    - matchers: ['test_route=\"badtoken\"']\n"
        "      receiver: badtoken\n"
        "receivers:\n"
        "  - name: incidentd\n"
        "    webhook_configs:\n"
        "      - url: %s\n"
        "        send_resolved: true\n"
        "        http_config:\n"
        "          authorization:\n"
        "            type: Bearer\n"
        "            credentials: %s\n"
        "  - name: badtoken\n"
        "    webhook_configs:\n"
        "      - url: %s\n"
        "        http_config:\n"
        "          authorization:\n"
        "            type: Bearer\n"
        "            credentials: not-the-token\n" % (url, token, url))


class Alertmanager:
    """One Alertmanager process on 127.0.0.1 with clustering disabled."""

    def __init__(self, tap, binary, config):
        self.tap = tap
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="incidentd-am-")
        self.config = os.path.join(self.dir, "alertmanager.yml")
        fd = os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(config)
        self.proc = None
        self.port = None
        self._lines = []
        self._lock = threading.Lock()
        self._reader_thread = None
        tap.cleanups.append(self.teardown)

    def _reader(self, stream):
        for raw in iter(stream.readline, b""):
            with self._lock:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    def lines(self):
        with self._lock:
            return list(self._lines)

    def start(self, attempts=3):
        """Start on a free port and wait for /-/ready; retries when the port was taken."""
        for _ in range(attempts):
            self.port = free_port()
            argv = [self.binary, "--config.file=" + self.config,
                    "--storage.path=" + os.path.join(self.dir, "data"),
                    "--web.listen-address=127.0.0.1:%d" % self.port,
                    "--cluster.listen-address=", "--log.level=debug"]
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            self._reader_thread = threading.Thread(target=self._reader,
                                                   args=(self.proc.stdout,), daemon=True)
            self._reader_thread.start()
            if wait_until(lambda: self.proc.poll() is not None or self.ready(), 15, 0.1):
                if self.proc.poll() is None:
                    return True
            self.stop()
        return False

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            hdrs = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=None if body is None else json.dumps(body),
                         headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw.decode("utf-8", "replace")

    def ready(self):
        try:
            return self.request("GET", "/-/ready")[0] == 200
        except OSError:
            return False

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._reader_thread is not None:
            self._reader_thread.join(5)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def teardown(self):
        self.stop()
        if self.tap.failed:
            self.tap.diag("alertmanager log (last 40 lines):")
            self.tap.diag("\n".join(self.lines()[-40:]))
        shutil.rmtree(self.dir, ignore_errors=True)


def alerts(starts, ends):
    body = sample_json(*ALERTS)
    for a in body:
        a["startsAt"] = rfc3339(starts)
        a["endsAt"] = rfc3339(ends)
    return body


def events(d, status):
    """Rows of events; column 5 is the whole payload: the request's shared top-level
    members (stored once per request) with the event's own alert."""
    rows = d.sql("SELECT e.type, e.status, e.namespace, e.fingerprint, e.event, e.payload, "
                 "e.occurred_at, r.shared FROM events AS e "
                 "LEFT JOIN requests AS r ON r.id = e.request_id "
                 "WHERE e.source = 'alertmanager' AND e.status = ? ORDER BY e.fingerprint",
                 (status,))
    out = []
    for r in rows:
        payload = dict(json.loads(r[7]) if r[7] else {}, **json.loads(r[5]))
        out.append(r[:5] + (json.dumps(payload), r[6]))
    return out


def rejected_401(d):
    st, _, text = d.get("/metrics")
    if st != 200:
        return 0
    m = re.search(r'^incidentd_events_rejected_total\{source="alertmanager",'
                  r'reason="unauthorized"\} (\d+)', text, re.M)
    return int(m.group(1)) if m else 0


def main(t):
    binary = find_alertmanager()
    if binary is None:
        t.skip("real Alertmanager end to end",
               "prometheus-alertmanager is not installed (apt-get install "
               "prometheus-alertmanager, or set ALERTMANAGER=/path/to/alertmanager)")
        return
    ver = subprocess.run([binary, "--version"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=10).stdout.decode()
    t.diag("using %s: %s" % (binary, ver.splitlines()[0] if ver else "?"))

    d = Daemon(t, incidentd_confd(), env={"AM_TOKEN": AM_TOKEN})
    am = Alertmanager(t, binary, am_config(d.port, AM_TOKEN))
    if not t.ok(am.start(), "alertmanager starts and is ready on 127.0.0.1",
                "\n".join(am.lines()[-20:])):
        return
    t0 = time.monotonic()

    # --- firing: 4 alerts, 3 groups (namespace, alertname) -------------------------------
    # startsAt = now, so group_wait applies: an alert that started more than group_wait ago
    # is flushed at once, possibly before the other alert of its group is in (one group
    # would then notify twice, and the second notification repeat the first alert).
    start = time.time()
    posted = alerts(start, start + 3600)
    want_fps = sorted(am_fingerprint(a["labels"]) for a in posted)
    st, ans = am.request("POST", "/api/v2/alerts", posted)
    t.eq(st, 200, "alertmanager accepts the alerts on /api/v2/alerts")
    st, listed = am.request("GET", "/api/v2/alerts")
    t.eq(sorted(a.get("fingerprint") for a in listed) if st == 200 else listed, want_fps,
         "alertmanager's fingerprints are FNV-1a of the labels (as computed here)")

    got = wait_until(lambda: len(events(d, "firing")) >= 4, 15, 0.1)
    t.ok(got, "firing events arrive in incidentd", "\n".join(am.lines()[-20:]))
    t.diag("firing events after %.1f s" % (time.monotonic() - t0))
    rows = events(d, "firing")
    t.eq([(r[0], r[1], r[2]) for r in rows], [("alert.firing", "firing", "payments")] * 4,
         "one alert.firing event per alert, namespace from the labels")
    t.eq([r[3] for r in rows], want_fps, "event fingerprints are Alertmanager's")
    by_fp = {am_fingerprint(a["labels"]): a for a in posted}
    labels_ok = all(json.loads(r[4]).get("labels") == by_fp[r[3]]["labels"] for r in rows)
    t.ok(labels_ok, "each event carries its alert's labels",
         [json.loads(r[4]).get("labels") for r in rows])
    # The normalizer adds the alert's generatorURL to the annotations.
    ann_ok = all(json.loads(r[4]).get("annotations") ==
                 dict(by_fp[r[3]]["annotations"], generatorURL=by_fp[r[3]]["generatorURL"])
                 for r in rows)
    t.ok(ann_ok, "each event carries its alert's annotations and generatorURL",
         [json.loads(r[4]).get("annotations") for r in rows])
    apps = sorted(json.loads(r[4]).get("app") for r in rows)
    t.eq(apps, ["checkout-api", "checkout-api-7d9f8b6c5d-q8w2z",
                "checkout-api-7d9f8b6c5d-xk2mn", "checkout-api-7d9f8b6c5d-xk2mn"],
         "app from deployment / pod labels")
    payloads = [json.loads(r[5]) for r in rows]
    t.ok(all(p.get("version") == "4" and p.get("receiver") == "incidentd" for p in payloads),
         "payload version 4 from receiver incidentd", [p.get("version") for p in payloads])
    sent = [p.get("alert", {}) for p in payloads]   # each event keeps its own alert
    t.eq(sorted({a.get("endsAt") for a in sent}), ["0001-01-01T00:00:00Z"],
         "firing alerts arrive with Go's zero endsAt, not the endsAt posted to the API")
    t.eq({r[6] for r in rows}, {rfc3339(start)}, "occurred_at is the alert's startsAt")
    gks = sorted({p.get("groupKey") for p in payloads})
    t.eq(len(gks), 3, "three groups: one webhook request per (namespace, alertname)")
    t.diag("groupKeys: %s" % gks)
    keys = [r[0] for r in d.sql("SELECT key FROM incidents WHERE source = 'alertmanager' "
                                "AND state = 'firing' ORDER BY key")]
    t.eq(keys, ["alertmanager/" + fp for fp in want_fps], "one firing incident per alert")

    # Nothing repeats while the alerts keep firing (repeat_interval 1h).
    time.sleep(2.5)
    t.eq(len(events(d, "firing")), 4, "no repeated notifications within repeat_interval")

    # --- resolved: the same alerts with endsAt = now ---------------------------------------
    # Alertmanager takes the alerts of one API call one by one; should a group_interval tick
    # fall between two of them, that group notifies a mix and then both resolved, so one
    # alert may be resolved twice: assert every fingerprint, not the exact event count.
    t1 = time.monotonic()
    now = time.time()
    st, _ = am.request("POST", "/api/v2/alerts", alerts(start, now))
    t.eq(st, 200, "alertmanager accepts the resolved alerts")
    got = wait_until(lambda: sorted({r[3] for r in events(d, "resolved")}) == want_fps,
                     15, 0.1)
    t.ok(got, "resolved events arrive in incidentd", "\n".join(am.lines()[-20:]))
    t.diag("resolved events after %.1f s" % (time.monotonic() - t1))
    rows = events(d, "resolved")
    t.eq(sorted({(r[0], r[1], r[3]) for r in rows}),
         [("alert.resolved", "resolved", fp) for fp in want_fps],
         "an alert.resolved event per alert, same fingerprints")
    t.ok(len(rows) <= 5, "no resolved notification repeats beyond that race", len(rows))
    t.ok(all(json.loads(r[5]).get("status") == "resolved" for r in rows),
         "the resolved notifications say status resolved")
    t.eq({r[6] for r in rows}, {rfc3339(now)}, "occurred_at is the endsAt posted")
    t.ok(wait_until(lambda: d.scalar("SELECT count(*) FROM incidents WHERE source = "
                                     "'alertmanager' AND state = 'resolved'") == 4, 5),
         "all four incidents resolved")
    t.eq(d.scalar("SELECT count(*) FROM incidents WHERE source = 'alertmanager'"), 4,
         "no extra incidents")

    # --- a receiver with the wrong token: Alertmanager logs it, incidentd counts 401s -----
    n_events = d.scalar("SELECT count(*) FROM events")
    before = rejected_401(d)
    now = time.time()
    bad = [{"labels": {"alertname": "WrongToken", "test_route": "badtoken",
                       "namespace": "payments"},
            "startsAt": rfc3339(now - 1), "endsAt": rfc3339(now + 3600)}]
    st, _ = am.request("POST", "/api/v2/alerts", bad)
    t.eq(st, 200, "alertmanager accepts an alert routed to the wrong-token receiver")
    t.ok(wait_until(lambda: rejected_401(d) > before, 10, 0.1),
         "incidentd counts the 401 in incidentd_events_rejected_total")
    # Alertmanager does not retry a 4xx, but sends again at the next group_interval.
    t.ok(wait_until(lambda: rejected_401(d) >= before + 2, 10, 0.1),
         "the rejected notification is sent again at the next group_interval",
         rejected_401(d) - before)
    failed = wait_until(lambda: [l for l in am.lines()
                                 if "Notify for alerts failed" in l and "401" in l], 10, 0.1)
    t.ok(failed, "alertmanager logs the failed notification with the 401",
         "\n".join(am.lines()[-10:]))
    t.eq(d.scalar("SELECT count(*) FROM events"), n_events,
         "nothing stored from the rejected notifications")
    t.ok(not any(AM_TOKEN in l for l in d.lines()), "incidentd never logs the token")

    t.eq(am.stop(), 0, "alertmanager exits 0 on SIGTERM")
    d.stop()
    t.diag("total %.1f s" % (time.monotonic() - t0))


harness.run(main)
