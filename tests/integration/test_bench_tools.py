"""The benchmark's tools (bench/), checked quickly so `make bench` does not find them broken:
run.sh parses, bare204 answers 204 on the port it prints, loadgen counts what it is
answered and makes the bodies incidentd accepts (each one new, and the same ones again for
the same nonce), and wrk.lua's three bodies (Argo CD, Alertmanager webhook, Alertmanager's
own API) are accepted by incidentd and Alertmanager when wrk and Alertmanager are installed.
No figure is measured here: the benchmark itself is `make bench`, never part of the tests."""

import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import CONFD_DIR, Daemon, SAMPLES_DIR, TOP, run, wait_until

BENCH_SRC = os.environ.get("BENCH_SRC") or os.path.join(TOP, "bench")
BENCH_BIN = os.environ.get("BENCH_BIN") or os.path.join(TOP, "bench")
LOADGEN = os.path.join(BENCH_BIN, "loadgen")
BARE204 = os.path.join(BENCH_BIN, "bare204")
SAMPLE = os.path.join(SAMPLES_DIR, "argocd", "seed-aks-store-degraded.client_payload.json")


def fields(line):
    """The key=value pairs of a loadgen:/bench: line, as a dict of strings."""
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)


def loadgen(*args, timeout=60):
    p = subprocess.run([LOADGEN] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    out = p.stdout.decode()
    line = next((l for l in out.splitlines() if l.startswith("loadgen:")), "")
    return p.returncode, fields(line), p.stderr.decode()


def default_confd():
    """The shipped conf.d as it is (sources open on loopback), without the tail socket
    it would create under the test's working directory."""
    with open(os.path.join(CONFD_DIR, "00-defaults.yaml")) as f:
        defaults = f.read()
    return {"00-defaults.yaml": defaults, "10-test.yaml": "server:\n  publish: \"\"\n"}


def test_run_sh(t):
    p = subprocess.run(["bash", "-n", os.path.join(BENCH_SRC, "run.sh")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    t.eq(p.returncode, 0, "bench/run.sh parses (bash -n): " + p.stdout.decode().strip())


def test_bare204_and_loadgen(t):
    proc = subprocess.Popen([BARE204, "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode()
        m = re.match(r"bare204: listening on 127\.0\.0\.1:(\d+)$", line.strip())
        if not t.ok(m, "bare204 prints the port it listens on", line):
            return
        addr = "127.0.0.1:" + m.group(1)
        rc, f, err = loadgen("-s", SAMPLE, "-e", "204", "-n", "200", "-c", "8", addr,
                             "/v1/events/argocd")
        t.eq(rc, 0, "loadgen -n 200 against bare204 exits 0: " + err)
        t.eq((f.get("requests"), f.get("answered"), f.get("ok"), f.get("bad_status"),
              f.get("unanswered")), ("200", "200", "200", "0", "0"),
             "counted mode: exactly 200 requests, each answered 204")
        rc, f, err = loadgen("-s", SAMPLE, "-e", "204", "-r", "100", "-d", "0.5", "-c", "4",
                             addr, "/v1/events/argocd")
        t.eq(rc, 0, "loadgen -r 100 -d 0.5 exits 0: " + err)
        t.eq((f.get("requests"), f.get("answered"), f.get("ok")), ("50", "50", "50"),
             "fixed-rate mode: rate x duration requests, all answered")
        t.ok(float(f.get("p50_ms", "-1")) >= 0 and
             float(f.get("p50_ms", 0)) <= float(f.get("p99_ms", -1)) <=
             float(f.get("max_ms", -1)), "latencies come sorted: p50 <= p99 <= max", f)
        rc, f, err = loadgen("-s", SAMPLE, "-n", "5", "-c", "2", addr, "/v1/events/argocd")
        t.eq((rc, f.get("ok"), f.get("bad_status")), (1, "0", "5"),
             "answers other than the expected status (202 by default) fail the run")
        t.ok("the first 204" in err, "and loadgen names the status it got", err)
    finally:
        proc.terminate()
        proc.wait(10)
    t.eq(proc.returncode, 0, "bare204 exits 0 on SIGTERM")

    rc, f, err = loadgen("-s", SAMPLE, "-n", "5", addr, "/v1/events/argocd", timeout=30)
    t.ok(rc == 1 and "cannot connect" in err, "loadgen says when nobody listens", err)
    rc, _, err = loadgen("-n", "5", addr, "/x")
    t.ok(rc == 2 and "usage" in err, "loadgen without a sample: usage, exit 2", err)
    rc, _, err = loadgen("-s", SAMPLE, "-n", "5", "-r", "10", "-d", "1", addr, "/x")
    t.ok(rc == 2 and "usage" in err, "loadgen with both modes: usage, exit 2", err)
    d = tempfile.mkdtemp(prefix="incidentd-bench-")
    try:
        bad = os.path.join(d, "no-app.json")
        with open(bad, "w") as f:
            f.write('{"revision": "abc", "app": "x"}')
        rc, _, err = loadgen("-s", bad, "-n", "5", addr, "/x")
        t.ok(rc == 1 and '"app_name"' in err, "loadgen refuses a sample without app_name",
             err)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_loadgen_incidentd(t):
    d = Daemon(t, default_confd())
    addr = "127.0.0.1:%d" % d.port
    rc, f, err = loadgen("-s", SAMPLE, "-n", "30", "-c", "4", "-k", "7", "-g", "9", addr,
                         "/v1/events/argocd")
    t.eq((rc, f.get("ok"), f.get("duplicates")), (0, "30", "0"),
         "the default conf.d accepts loadgen's 30 Argo CD bodies on loopback (202): " + err)
    rows = d.sql("SELECT count(*), count(DISTINCT app), count(DISTINCT revision), "
                 "min(revision), max(revision) FROM events")
    t.eq(rows[0], (30, 30, 30, "00000007000000090" + "0" * 23,
                   "00000007000000090" + "0" * 21 + "29"),
         "30 events: apps bench-0..29, revisions nonce, tag, request number (40 hex)")
    t.eq(d.scalar("SELECT count(*) FROM events WHERE app NOT LIKE 'bench-%'"), 0,
         "every app is bench-<n>")
    rc, f, err = loadgen("-s", SAMPLE, "-n", "30", "-c", "4", "-k", "7", "-g", "9", addr,
                         "/v1/events/argocd")
    t.eq((f.get("ok"), f.get("duplicates")), ("30", "30"),
         "the same nonce and tag again: the same bodies, each answered as a duplicate")
    rc, f, err = loadgen("-s", SAMPLE, "-n", "30", "-c", "4", "-k", "7", "-g", "10", addr,
                         "/v1/events/argocd")
    t.eq((f.get("ok"), f.get("duplicates")), ("30", "0"), "another tag: new bodies")
    d.stop()


def wrk_run(t, url, *args):
    p = subprocess.run(["wrk", "-t1", "-c2", "-d1s", "--timeout", "10s", "-s",
                        os.path.join(BENCH_SRC, "wrk.lua"), url, "--"] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode()
    line = next((l for l in out.splitlines() if l.startswith("bench:")), "")
    t.ok(p.returncode == 0 and line, "wrk with wrk.lua %s runs" % args[0], out)
    return fields(line)


def test_wrk_lua(t):
    if shutil.which("wrk") is None:
        t.skip("wrk.lua's bodies", "wrk is not installed (apt-get install wrk)")
        return
    d = Daemon(t, default_confd())
    url = "http://127.0.0.1:%d" % d.port
    f = wrk_run(t, url, "argocd", SAMPLE, "11")
    t.ok(int(f.get("ok", 0)) > 0 and f.get("non2xx") == "0" and f.get("duplicates") == "0",
         "incidentd accepts wrk.lua's Argo CD bodies, none a duplicate", f)
    # one statement, one snapshot: a request wrk left in flight when it stopped may still
    # be committed between two separate queries
    hex40 = ("revision !~ '^[0-9a-f]{40}$'" if d.pg else
             "revision NOT GLOB '" + "[0-9a-f]" * 40 + "'")
    n, distinct, odd = d.sql("SELECT count(*), count(DISTINCT revision), "
                             "count(*) FILTER (WHERE " + hex40 + ") FROM events "
                             "WHERE source = 'argocd'")[0]
    t.ok(n >= int(f.get("ok", 1)) and distinct == n and odd == 0,
         "one event per request, each with its own 40-hex-digit revision", (n, distinct, odd))
    f = wrk_run(t, url, "alertmanager", "11")
    ok = int(f.get("ok", 0))
    t.ok(ok > 0 and f.get("non2xx") == "0" and f.get("duplicates") == "0",
         "incidentd accepts wrk.lua's Alertmanager webhook bodies", f)
    am = d.sql("SELECT count(*), count(DISTINCT fingerprint), count(DISTINCT request_id) "
               "FROM events WHERE source = 'alertmanager'")[0]
    t.ok(am[0] >= 100 * ok and am[1] == am[0] and am[0] == 100 * am[2],
         "100 alerts per request, every fingerprint distinct", am)
    d.stop()

    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        t.skip("wrk.lua's Alertmanager API bodies",
               "prometheus-alertmanager is not installed")
        return
    test_wrk_am_api(t, binary)


def test_wrk_am_api(t, binary):
    import socket
    import urllib.request

    d = tempfile.mkdtemp(prefix="incidentd-bench-am-")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    conf = os.path.join(d, "alertmanager.yml")
    with open(conf, "w") as f:
        f.write("route: { receiver: drop, group_wait: 1h }\nreceivers: [ { name: drop } ]\n")
    proc = subprocess.Popen([binary, "--config.file=" + conf,
                             "--storage.path=" + os.path.join(d, "data"),
                             "--web.listen-address=127.0.0.1:%d" % port,
                             "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = "http://127.0.0.1:%d" % port

    def ready():
        try:
            return urllib.request.urlopen(base + "/-/ready", timeout=1).status == 200
        except OSError:
            return False
    try:
        if not t.ok(wait_until(ready, 20), "alertmanager starts"):
            return
        f = wrk_run(t, base, "am-api", "11")
        ok = int(f.get("ok", 0))
        t.ok(ok > 0 and f.get("non2xx") == "0", "alertmanager accepts wrk.lua's alerts", f)
        metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
        m = re.search(r'^alertmanager_alerts_received_total\{status="firing",version="v2"\} '
                      r'(\d+)', metrics, re.M)
        got = int(m.group(1)) if m else -1
        t.ok(got >= 100 * ok, "100 alerts per request received", (got, ok))
        alerts = urllib.request.urlopen(base + "/api/v2/alerts", timeout=30).read()
        t.ok(alerts.count(b'"fingerprint"') >= 100 * ok,
             "each alert its own fingerprint (none merged into another)",
             (alerts.count(b'"fingerprint"'), ok))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def main(t):
    test_run_sh(t)
    test_bare204_and_loadgen(t)
    test_loadgen_incidentd(t)
    test_wrk_lua(t)


if __name__ == "__main__":
    run(main)
