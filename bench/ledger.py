#!/usr/bin/env python3
"""ledger.py: what the ledger costs on disk, and what retention and /metrics cost the loop.

A script a developer runs by hand against a release build (not a test). See
bench/README.md. Needs wrk; Python 3 standard library otherwise.

    bench/ledger.py --build BUILD_DIR [--fill 30] [--phases fill,prune,scrape,steady]

BUILD_DIR is an in-tree or out-of-tree build of incidentd made with a plain ./configure
(a release build) with `make tests/plugins/test_sink.la` done (the scrape phase uses the
test sink). Phases:

  fill    wrk posts the Argo CD sample (1000 apps, all firing: wrk.lua's bodies, as
          make bench posts them) for --fill seconds, then each app resolves; bytes per
          event from the pages in use, with the share of each table and index (dbstat),
          after the outbox drained. (prune and steady run it first.)
  prune   the filled ledger restarted with retention 2s: the first pass prunes all of it
          while wrk keeps posting; request latency with and without the pass, the pass's
          batches and longest batch, and the file before and after.
  scrape  a sink that keeps retrying builds an outbox backlog for --fill seconds; the
          time of GET /metrics (which reads the backlog) with it and with an empty one.
  steady  --rate events/s for 4 x --steady-retention seconds against retention
          --steady-retention, in incidents of ten events (nine firing, then the
          recovery: a firing incident keeps its rows, a resolved one can go): the pages in
          use level off at about bytes/event x rate x (retention + pass interval).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(SRC, "tests", "samples", "argocd")
DEGRADED = os.path.join(SAMPLES, "seed-aks-store-degraded.client_payload.json")
RECOVERED = os.path.join(SAMPLES, "seed-aks-store-recovered.client_payload.json")
WRK_LUA = os.path.join(SRC, "bench", "wrk.lua")
NAPPS = 1000                    # wrk.lua's apps: bench-<n mod 1000>
NONCE = [int(time.time()) % 1000000 * 100]   # wrk.lua's nonce, a new one for every run


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    def __init__(self, build, tmp, name, ledger_yaml, sinks_yaml=None, db=None, debug=False):
        self.dir = os.path.join(tmp, name)
        os.makedirs(os.path.join(self.dir, "conf.d"), exist_ok=True)
        self.db = db or os.path.join(self.dir, "ledger.db")
        sinks_yaml = sinks_yaml or "sinks:\n  log: { plugin: log }\n" \
            "routes:\n  - { name: default, sinks: [log] }\n"
        with open(os.path.join(self.dir, "conf.d", "10.yaml"), "w") as f:
            f.write("sources:\n  argocd: { auth: none }\n" + ledger_yaml + sinks_yaml)
        self.port = free_port()
        self.log = os.path.join(self.dir, "incidentd.log")
        self.logf = open(self.log, "a")
        # relative paths of the configuration (the tail socket) stay in this directory
        env = dict(os.environ, STATE_DIRECTORY=self.dir, RUNTIME_DIRECTORY=self.dir)
        self.proc = subprocess.Popen(
            [os.path.join(build, "broker", "incidentd"), "-c", os.path.join(self.dir, "conf.d"),
             "-d", self.db, "-l", "127.0.0.1:%d" % self.port,
             "--plugin-dir", os.path.join(build, "sinks", ".libs")] +
            (["--log-level", "debug"] if debug else []),
            stdout=self.logf, stderr=self.logf, stdin=subprocess.DEVNULL, env=env)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("incidentd did not start, see " + self.log)

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body,
                      headers={"Content-Type": "application/json"} if body else {})
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def get(self, path):
        return self.request("GET", path)

    def metrics(self):
        out = {}
        for line in self.get("/metrics")[1].splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def backlog(self):
        m = self.metrics()
        return sum(v for k, v in m.items() if k.startswith("incidentd_outbox_deliveries{"))

    def log_lines(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        self.logf.close()


def wrk(port, seconds, threads=2, conns=16, payload=DEGRADED):
    NONCE[0] += 1
    p = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds,
                        "--timeout", "10s", "--latency", "-s", WRK_LUA,
                        "http://127.0.0.1:%d" % port, "--", "argocd", payload,
                        str(NONCE[0])],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 60)
    out = p.stdout.decode()
    bench = dict(kv.split("=") for kv in re.search(r"^bench: (.*)$", out, re.M).group(1).split())
    m = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
    bench["max"] = m.group(1) if m else "?"
    return bench


def other_cluster(tmp):
    """The sample on another cluster: incidents of their own, apart from the filled ones
    (which must stay resolved to be prunable)."""
    with open(DEGRADED) as f:
        body = json.load(f)
    body["cluster"] = "bench-load"
    path = os.path.join(tmp, "load.json")
    with open(path, "w") as f:
        json.dump(body, f)
    return path


def resolve_all(d, tag):
    with open(RECOVERED) as f:
        body = json.load(f)
    for k in range(NAPPS):
        body.update({"app_name": "bench-%d" % k, "timestamp": "2026-02-11T00:%02d:%02d.%03dZ"
                     % (k // 60 % 60, k % 60, tag % 1000)})
        st, text = d.request("POST", "/v1/events/argocd", json.dumps(body))
        if st != 202:
            raise RuntimeError("resolve: %d %s" % (st, text))


def wait_drained(d, timeout=600):
    deadline = time.time() + timeout
    while d.backlog() > 0:
        if time.time() > deadline:
            raise RuntimeError("the outbox does not drain")
        time.sleep(0.5)


def ledger_figures(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    f = {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
         for t in ("events", "decisions", "deliveries", "requests", "incidents")}
    page = con.execute("PRAGMA page_size").fetchone()[0]
    f["pages"] = con.execute("PRAGMA page_count").fetchone()[0]
    f["free"] = con.execute("PRAGMA freelist_count").fetchone()[0]
    f["used_bytes"] = (f["pages"] - f["free"]) * page
    f["file_bytes"] = os.path.getsize(db)
    try:
        rows = con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name "
                           "ORDER BY 2 DESC").fetchall()
        f["dbstat"] = rows
    except sqlite3.Error:
        f["dbstat"] = []
    con.close()
    return f


def mib(n):
    return "%.1f MiB" % (n / 1048576.0)


def phase_fill(args, tmp):
    print("== fill: wrk %ds, then every app resolves" % args.fill)
    d = Daemon(args.build, tmp, "fill", "ledger: { retention: off }\n")
    r = wrk(d.port, args.fill)
    resolve_all(d, 1)
    wait_drained(d)
    base = wrk(d.port, 15, threads=1, conns=4, payload=other_cluster(tmp))  # for prune
    wait_drained(d)
    d.stop()
    f = ledger_figures(d.db)
    per = f["used_bytes"] / f["events"]
    print("requests/s during fill: %s (p50 %s ms, p99 %s ms)" % (r["rps"], r["p50_ms"], r["p99_ms"]))
    print("rows: " + ", ".join("%s %d" % (t, f[t]) for t in
                               ("events", "decisions", "deliveries", "requests", "incidents")))
    print("pages in use: %s of a %s file -> %.0f bytes per event (all rows and indexes)"
          % (mib(f["used_bytes"]), mib(f["file_bytes"]), per))
    for name, size in f["dbstat"][:12]:
        print("  %-28s %10s  %5.1f%%  %6.0f bytes/event" % (name, mib(size),
              100.0 * size / f["used_bytes"], size / f["events"]))
    for rate, days in ((1, 90), (10, 90), (10, 365), (100, 90)):
        print("steady state at %d events/s with %dd retention: ~%.1f GB" %
              (rate, days, per * rate * days * 86400 / 1e9))
    return {"db": d.db, "per_event": per, "events": f["events"], "baseline": base}


def print_batches(d):
    """Every batch of a daemon run with --log-level debug: wall and CPU time per table,
    and the passes' own lines."""
    per = {}
    longest = []
    for line in d.log_lines():
        m = re.search(r"retention: batch \d+ \((\w+)\): (\d+) .* in ([\d.]+) ms "
                      r"\(([\d.]+) ms on the CPU\)", line)
        if m:
            per.setdefault(m.group(1), []).append((float(m.group(3)), int(m.group(2)),
                                                   float(m.group(4))))
        m = re.search(r"retention: pruned rows .*: (\d+) event\(s\).* (\d+) batch\(es\) in "
                      r"([\d.]+) ms, the longest ([\d.]+) ms", line)
        if m:
            longest.append(float(m.group(4)))

    def dist(v):
        v = sorted(v)
        return "median %6.2f, p99 %6.2f, max %6.2f ms" % (
            v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))], v[-1])
    for name, xs in per.items():
        print("  %-10s %5d batches, %7d rows; wall: %s; CPU: %s" % (
            name, len(xs), sum(x[1] for x in xs), dist([x[0] for x in xs]),
            dist([x[2] for x in xs])))
    allb = [x for xs in per.values() for x in xs]
    if allb:
        print("  all        %5d batches; wall: %s; CPU: %s; over 5 ms: %d" % (
            len(allb), dist([x[0] for x in allb]), dist([x[2] for x in allb]),
            sum(1 for x in allb if x[0] > 5)))
    if longest:
        print("  %d passes that pruned; their longest batch: %s" % (
            len(longest), " ".join("%.1f" % x for x in longest)))


def phase_prune(args, tmp, fill):
    print("== prune: the filled ledger restarted with retention 2s, wrk -t1 -c4 meanwhile")
    before = ledger_figures(fill["db"])
    d = Daemon(args.build, tmp, "prune", "ledger: { retention: 2s, dedup_window: 1s }\n",
               db=fill["db"], debug=True)
    r = wrk(d.port, 15, threads=1, conns=4, payload=other_cluster(tmp))
    deadline = time.time() + 300
    first = None
    while time.time() < deadline and first is None:
        for line in d.log_lines():
            m = re.search(r"pruned rows older than \S+: (\d+) event\(s\), (\d+) decision\(s\), "
                          r"(\d+) delivery\(ies\), (\d+) request\(s\), (\d+) incident\(s\); "
                          r"(\d+) free page\(s\) given back; (\d+) batch\(es\) in ([\d.]+) ms, "
                          r"the longest ([\d.]+) ms", line)
            if m and int(m.group(1)) > fill["events"] // 2:
                first = m
                break
        time.sleep(0.5)
    d.stop()
    after = ledger_figures(fill["db"])
    b = fill["baseline"]
    print("latency without a pass:  p50 %s ms, p99 %s ms, max %s (%s requests/s)"
          % (b["p50_ms"], b["p99_ms"], b["max"], b["rps"]))
    print("latency during the pass: p50 %s ms, p99 %s ms, max %s (%s requests/s)"
          % (r["p50_ms"], r["p99_ms"], r["max"], r["rps"]))
    if first:
        ev, dec, dl, rq, inc, pages, batches, ms, longest = first.groups()
        print("the pass: %s events, %s decisions, %s deliveries, %s requests, %s incidents, "
              "%s pages given back; %s batches in %s ms, the longest %s ms (%.0f rows/batch)"
              % (ev, dec, dl, rq, inc, pages, batches, ms, longest,
                 (int(ev) + int(dec) + int(dl) + int(rq)) / max(1, int(batches))))
    else:
        print("the pass: not found in %s" % d.log)
    print_batches(d)
    print("file: %s before, %s after (pages in use %s -> %s)" % (
        mib(before["file_bytes"]), mib(after["file_bytes"]), mib(before["used_bytes"]),
        mib(after["used_bytes"])))


def phase_scrape(args, tmp):
    print("== scrape: GET /metrics with an outbox backlog")
    plug = os.path.join(args.build, "tests", "plugins", ".libs", "test_sink.so")
    if not os.path.exists(plug):
        print("skipped: no %s (make tests/plugins/test_sink.la)" % plug)
        return
    d = Daemon(args.build, tmp, "scrape", "ledger: { retention: off }\n",
               "sinks:\n  stuck: { plugin: %s, fail_times: 1000000000, retry_after: 60m }\n"
               "routes:\n  - { name: default, sinks: [stuck] }\n" % plug)

    def timed(n=30):
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            d.get("/metrics")
            ts.append((time.perf_counter() - t0) * 1000)
        return statistics.median(ts), max(ts)
    empty = timed()
    wrk(d.port, args.fill)
    time.sleep(2)
    n = d.backlog()
    full = timed()
    d.stop()
    print("GET /metrics, empty outbox: median %.2f ms, max %.2f ms" % empty)
    print("GET /metrics, %d deliveries waiting: median %.2f ms, max %.2f ms" % ((n,) + full))


def phase_steady(args, tmp, per_event):
    ret = args.steady_retention
    interval = min(60.0, max(0.1, ret / 8.0))
    print("== steady: %d events/s for %ds, retention %ds (pass every %.2fs)"
          % (args.rate, 4 * ret, ret, interval))
    d = Daemon(args.build, tmp, "steady", "ledger: { retention: %ds, dedup_window: 1s }\n" % ret,
               debug=True)
    bodies = []
    for path in (DEGRADED, RECOVERED):
        with open(path) as f:
            bodies.append(json.load(f))
    stop = threading.Event()
    sent = [0]

    def sender():
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
        t0 = time.time()
        n = 0
        while not stop.is_set():
            delay = t0 + n / args.rate - time.time()
            if delay > 0:
                time.sleep(delay)
            # an incident of nine firing events, then its recovery
            body = bodies[0] if n % 10 != 9 else bodies[1]
            body.update({"app_name": "steady-%d" % (n // 10),
                         "timestamp": "2026-02-11T%02d:%02d:%02d.%03dZ"
                         % (n // 3600000 % 24, n // 60000 % 60, n // 1000 % 60, n % 1000)})
            c.request("POST", "/v1/events/argocd", json.dumps(body),
                      {"Content-Type": "application/json"})
            c.getresponse().read()
            n += 1
            sent[0] = n
        c.close()
    th = threading.Thread(target=sender, daemon=True)
    th.start()
    t0 = time.time()
    samples = []
    while time.time() - t0 < 4 * ret:
        time.sleep(ret / 6.0)
        m = d.metrics()
        used = m["incidentd_ledger_size_bytes"] - m["incidentd_ledger_free_bytes"]
        con = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
        events = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.close()
        samples.append((time.time() - t0, events, used, m["incidentd_ledger_size_bytes"]))
        print("  t=%5.1fs events %6d  in use %9s  file %9s" % (samples[-1][0], events,
              mib(used), mib(m["incidentd_ledger_size_bytes"])))
    elapsed = time.time() - t0
    stop.set()
    th.join(10)
    d.stop()
    print_batches(d)
    rate = sent[0] / elapsed
    model = per_event * rate * (ret + interval) if per_event else 0
    tail = [s for s in samples if s[0] > 2 * ret]
    print("actual rate %.1f events/s; last half: events %d..%d, in use %s..%s; "
          "model bytes/event x rate x (retention + interval) = %s"
          % (rate, min(s[1] for s in tail), max(s[1] for s in tail), mib(min(s[2] for s in tail)),
             mib(max(s[2] for s in tail)), mib(model)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--fill", type=int, default=30, help="seconds of wrk (fill, scrape)")
    ap.add_argument("--phases", default="fill,prune,scrape,steady")
    ap.add_argument("--rate", type=int, default=100, help="steady: events/s")
    ap.add_argument("--steady-retention", type=int, default=30, help="steady: seconds")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("ledger.py: wrk is required")
    args.build = os.path.abspath(args.build)
    tmp = tempfile.mkdtemp(prefix="incidentd-ledger-bench.")
    phases = args.phases.split(",")
    try:
        fill = None
        if "fill" in phases or "prune" in phases or "steady" in phases:
            fill = phase_fill(args, tmp)
        if "prune" in phases:
            phase_prune(args, tmp, fill)
        if "scrape" in phases:
            phase_scrape(args, tmp)
        if "steady" in phases:
            phase_steady(args, tmp, fill["per_event"] if fill else 0)
    finally:
        if args.keep:
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
