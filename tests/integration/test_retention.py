#!/usr/bin/env python3
"""Retention, backup and the signals about incidentd itself, through the real daemon:

- ledger.retention 2s while events keep arriving: young events, firing incidents and
  everything of theirs, and deliveries still to make (a sink that keeps retrying) are
  never pruned; resolved incidents and their rows are, once older than the retention;
  the ledger stays consistent (foreign keys, every event's request);
- incidentctl backup during load: a 0600 copy that passes integrity_check and holds every
  event committed before the backup began; an existing file is refused without --force
  and left unchanged; a restore (stop, copy back, start) serves the copy;
- /metrics passes promtool and shows the outbox backlog, the ledger, the pruning and the
  process series.
"""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import harness
from harness import Daemon, test_sink_path, wait_until

RETENTION = 2.0


def payload(app, firing, n):
    return {"app_name": app, "health_status": "Degraded" if firing else "Healthy",
            "sync_status": "Synced", "message": "step %d" % n, "cluster": "c1",
            "namespace": "ns", "revision": "r%d" % n,
            "timestamp": "2026-02-10T03:%02d:%02d.%03dZ" % (n // 60000 % 60, n // 1000 % 60, n % 1000)}


class Sender(threading.Thread):
    """Posts events until stopped; records (id, app, status, sent, answered) per event."""

    def __init__(self, d, pattern):
        super().__init__(daemon=True)
        self.d = d
        self.pattern = pattern      # function(i) -> (app, firing)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.accepted = []          # (id, app, firing, sent_wall, answered_wall)
        self.errors = []
        self.n = 0

    def run(self):
        while not self.stop.is_set():
            app, firing = self.pattern(self.n)
            sent = time.time()
            try:
                st, _, body = self.d.post("/v1/events/argocd", payload(app, firing, self.n))
            except OSError as e:
                self.errors.append(repr(e))
                break
            done = time.time()
            if st != 202:
                self.errors.append("%d %r" % (st, body))
            else:
                with self.lock:
                    for ev in body.get("events", []):
                        self.accepted.append((ev, app, firing, sent, done))
            self.n += 1
            time.sleep(0.005)

    def snapshot(self):
        with self.lock:
            return list(self.accepted)


def ids_in(d, where="", params=()):
    return {r[0] for r in d.sql("SELECT id FROM events " + where, params)}


def metric(text, name):
    """The value of the sample line `name` (name with its labels) or None."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def promtool(t, text, what):
    tool = shutil.which("promtool")
    if not tool:
        t.skip(what, "promtool not installed")
        return
    p = subprocess.run([tool, "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    t.ok(p.returncode == 0, what, p.stdout.decode())


def retention_under_load(t):
    plug = test_sink_path()
    conf = {"10-test.yaml":
            "sources:\n  argocd: { auth: none }\n"
            "ledger: { retention: 2s, dedup_window: 1s }\n"
            "sinks:\n"
            "  log: { plugin: log }\n"
            "  stuck: { plugin: %s, fail_times: 1000000, retry_after: 60m }\n"
            "routes:\n"
            "  - { name: stuck, match: ['app = stuck'], sinks: [stuck] }\n"
            # a churn event is also an incident of a second route: what it did there
            # is a traces row (the steps about its own incident are in its row)
            "  - { name: audit, match: ['app =~ \"churn-.*\"'], group_by: [cluster],\n"
            "      continue: true, sinks: [log] }\n"
            "  - { name: default, sinks: [log] }\n" % plug}
    d = Daemon(t, conf)
    t.ok(d.wait_log(r"retention: pruning ledger rows older than 2s every 250ms", 5),
         "retention announced at start")

    # a sink that keeps retrying: its incident resolves, its deliveries stay to be made
    st, _, b = d.post("/v1/events/argocd", payload("stuck", True, 900001))
    stuck_ids = list(b.get("events", [])) if st == 202 else []
    st2, _, b = d.post("/v1/events/argocd", payload("stuck", False, 900002))
    stuck_ids += list(b.get("events", [])) if st2 == 202 else []
    t.ok(st == 202 and st2 == 202 and len(stuck_ids) == 2, "stuck app: firing and resolved")

    # churn: apps firing then resolving, and one app that keeps firing all along
    def pattern(i):
        if i % 5 == 0:
            return "keeper", True
        app = "churn-%d" % (i // 2 % 15)
        return app, i % 2 == 1
    s = Sender(d, pattern)
    s.start()
    t0 = time.time()
    young_missing = []
    checks = 0
    while time.time() - t0 < 6.0:
        time.sleep(0.7)
        # everything accepted since well within the retention is still there
        before = time.time()
        seen = s.snapshot()
        have = ids_in(d)
        for ev, app, firing, sent, answered in seen:
            if sent > before - (RETENTION - 0.4) and ev not in have:
                young_missing.append((ev, app, before - sent))
        checks += 1
    s.stop.set()
    s.join(10)
    # every churn app ends resolved (the keeper keeps firing)
    ends = [d.post("/v1/events/argocd", payload("churn-%d" % k, False, 800000 + k))[0]
            for k in range(15)]
    t.eq(s.errors, [], "every event accepted during the pruning")
    t.eq(set(ends), {202}, "every churn app resolved")
    t.ok(checks >= 6 and not young_missing,
         "no event younger than the retention was pruned while events arrived (%d checks)"
         % checks, young_missing[:10])
    seen = s.snapshot()
    keeper = [ev for ev, app, *_ in seen if app == "keeper"]
    churn = [ev for ev, app, *_ in seen if app.startswith("churn-")]
    t.ok(len(keeper) > 20 and len(churn) > 80, "load: %d keeper and %d churn events"
         % (len(keeper), len(churn)))

    # after the retention (and a pass), the resolved incidents are gone with their rows
    def churn_gone():
        return d.scalar("SELECT count(*) FROM events WHERE app LIKE 'churn-%'") == 0 and \
            d.scalar("SELECT count(*) FROM incidents WHERE app LIKE 'churn-%'") == 0
    t.ok(wait_until(churn_gone, 10), "resolved incidents older than the retention are pruned "
         "with their events", d.sql("SELECT app, state, updated_at FROM incidents"))
    t.eq(d.scalar("SELECT count(*) FROM deliveries WHERE sink = 'log' AND incident_id IN "
                  "(SELECT id FROM incidents WHERE app LIKE 'churn-%')"), 0,
         "their finished deliveries too")

    # what must stay, stayed: the firing incident and all of its events and traces
    have = ids_in(d)
    t.eq(sorted(set(keeper) - have), [], "every event of the firing incident is kept")
    t.eq(d.scalar("SELECT state FROM incidents WHERE app = 'keeper'"), "firing",
         "the firing incident is kept")
    t.eq(d.scalar("SELECT count(DISTINCT event_id) FROM decisions WHERE event_id IN "
                  "(SELECT id FROM events WHERE app = 'keeper')"), len(keeper),
         "and the decision trace of each of its events")
    # the resolved incident whose deliveries are still to be made, with what they name
    t.eq(sorted(set(stuck_ids) - have), [], "events named by deliveries still to make are kept")
    t.eq(d.scalar("SELECT state FROM incidents WHERE app = 'stuck'"), "resolved",
         "the resolved incident with open deliveries is kept")
    t.eq(d.scalar("SELECT count(*) FROM deliveries WHERE sink = 'stuck' AND state = 'pending'"),
         2, "open deliveries (pending) are never pruned")
    # consistency
    if not d.pg:            # PostgreSQL checks every foreign key on every write
        t.eq(d.sql("PRAGMA foreign_key_check"), [], "foreign keys hold")
    t.eq(d.scalar("SELECT count(*) FROM events e LEFT JOIN requests r ON r.id = e.request_id "
                  "WHERE r.id IS NULL"), 0, "every event kept has its request")

    # the signals
    st, _, m = d.get("/metrics")
    t.eq(st, 200, "/metrics answers")
    promtool(t, m, "promtool check metrics (retention, outbox, ledger, process)")
    pruned = metric(m, 'incidentd_ledger_pruned_rows_total{table="events"}') or 0
    t.ok(pruned >= len(churn), "incidentd_ledger_pruned_rows_total{table=\"events\"} counts "
         "the pruned events (%d)" % pruned)
    # each churn event had a traces row (what it did to its second route's incident)
    traces = metric(m, 'incidentd_ledger_pruned_rows_total{table="traces"}') or 0
    t.ok(traces >= len(churn), "the traces rows are counted too (%d)" % traces)
    last = metric(m, "incidentd_ledger_last_prune_timestamp_seconds") or 0
    t.ok(abs(time.time() - last) < 5, "the last prune was just now (%s)" % last)
    t.eq(metric(m, "incidentd_ledger_retention_seconds"), 2.0, "retention gauge")
    longest = metric(m, "incidentd_ledger_prune_batch_max_seconds")
    t.ok(longest is not None and longest < 1.0, "longest prune batch reported (%s s)" % longest)
    t.eq(metric(m, 'incidentd_outbox_deliveries{sink="stuck",state="pending"}'), 2.0,
         "outbox backlog per sink and state")
    t.eq(metric(m, 'incidentd_outbox_deliveries{sink="log",state="pending"}'), 0.0,
         "an idle sink reads 0")
    due = metric(m, 'incidentd_outbox_oldest_due_seconds{sink="stuck"}') or 0
    t.ok(due > 5.0, "the resolve waiting behind the retrying open is due for %.1f s" % due)
    t.ok((metric(m, "incidentd_ledger_size_bytes") or 0) > 0, "ledger size in bytes")
    t.ok(metric(m, "incidentd_ledger_free_bytes") is not None and
         metric(m, "incidentd_ledger_wal_bytes") is not None, "free and WAL bytes")
    if d.pg:     # PostgreSQL makes its commits durable and checkpoints by itself
        t.eq(metric(m, "incidentd_ledger_checkpoints_total"), None,
             "no syncer checkpoints on PostgreSQL")
    else:
        t.ok(metric(m, "incidentd_ledger_checkpoints_total") is not None and
             metric(m, "incidentd_ledger_checkpoint_failures_total") == 0.0,
             "the syncer's checkpoints, none failed (%s)"
             % metric(m, "incidentd_ledger_checkpoints_total"))
    t.ok(metric(m, 'incidentd_deliveries_total{sink="log",outcome="ok"}') is not None and
         metric(m, 'incidentd_deliveries_total{sink="stuck",outcome="retry"}') is not None,
         "deliveries per sink and outcome")
    pid = d.proc.pid
    with open("/proc/%d/stat" % pid) as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as f:
        btime = int([l for l in f if l.startswith("btime ")][0].split()[1])
    want_start = btime + start_ticks / os.sysconf("SC_CLK_TCK")
    t.ok(abs((metric(m, "process_start_time_seconds") or 0) - want_start) < 1,
         "process_start_time_seconds is the process's start")
    rss = metric(m, "process_resident_memory_bytes") or 0
    t.ok(rss > 1 << 20, "process_resident_memory_bytes (%d)" % rss)
    fds = metric(m, "process_open_fds") or 0
    t.ok(0 < fds <= len(os.listdir("/proc/%d/fd" % pid)) + 2, "process_open_fds (%d)" % fds)
    t.ok((metric(m, "process_max_fds") or 0) >= fds, "process_max_fds")
    t.ok(metric(m, "process_cpu_seconds_total") is not None, "process_cpu_seconds_total")
    t.ok("# TYPE process_cpu_seconds_total counter" in m and
         "# TYPE process_resident_memory_bytes gauge" in m and
         "# TYPE incidentd_outbox_deliveries gauge" in m, "standard types")
    t.ok('incidentd_build_info{version="' in m and ',build="' in m, "build_info names the build")
    d.stop()


def backup_during_load(t):
    d = Daemon(t, harness.base_confd())
    outdir = os.path.join(d.dir, "backups")
    os.makedirs(outdir)
    copy = os.path.join(outdir, "ledger-copy.db")

    s = Sender(d, lambda i: ("app-%d" % (i % 40), i % 3 != 2))
    s.start()
    t.ok(wait_until(lambda: len(s.snapshot()) > 50, 10), "load running")
    committed = {ev for ev, *_ in s.snapshot()}      # every one of them answered 202
    rc, out, err = d.ctl("backup", copy)
    after_backup = len(s.snapshot())
    time.sleep(0.3)
    s.stop.set()
    s.join(10)
    t.eq(s.errors, [], "every event accepted during the backup")
    t.ok(rc == 0, "incidentctl backup during load exits 0", err)
    t.ok("integrity_check ok" in out and copy in out, "it says what it wrote", out)
    t.ok(after_backup > len(committed), "events kept coming during the backup (%d -> %d)"
         % (len(committed), after_backup))
    t.eq(os.stat(copy).st_mode & 0o777, 0o600, "the copy is 0600")
    con = sqlite3.connect("file:%s?mode=ro" % copy, uri=True)
    integrity = con.execute("PRAGMA integrity_check").fetchall()
    in_copy = {r[0] for r in con.execute("SELECT id FROM events")}
    version = con.execute("PRAGMA user_version").fetchone()[0]
    vacuum = con.execute("PRAGMA auto_vacuum").fetchone()[0]
    con.close()
    t.eq(integrity, [("ok",)], "the copy passes PRAGMA integrity_check")
    t.eq(sorted(committed - in_copy), [], "the copy has every event committed before the "
         "backup began (%d of %d in it)" % (len(committed), len(in_copy)))
    t.eq(version, d.scalar("PRAGMA user_version"), "the copy has the ledger's schema version")
    t.eq(vacuum, 2, "the copy has incremental auto-vacuum")
    t.eq(sorted(f for f in os.listdir(outdir)), ["ledger-copy.db"], "no temporary file left")

    # an existing file: refused without --force, and left as it was
    with open(copy, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    mtime = os.stat(copy).st_mtime_ns
    rc, out, err = d.ctl("backup", copy)
    t.eq(rc, 1, "backup to an existing file without --force exits 1")
    t.ok("exists; use --force to replace it" in err, "and says so", err)
    with open(copy, "rb") as f:
        t.eq(hashlib.sha256(f.read()).hexdigest(), digest, "the existing file is unchanged")
    t.eq(os.stat(copy).st_mtime_ns, mtime, "not even touched")
    t.eq(sorted(os.listdir(outdir)), ["ledger-copy.db"], "nothing else written")
    rc, out, err = d.ctl("backup", d.db)
    t.ok(rc == 1 and "the ledger itself" in err, "the ledger itself is refused", err)
    t.ok(os.path.exists(d.db) and d.scalar("SELECT count(*) FROM events") >= after_backup,
         "and left alone")
    rc, out, err = d.ctl("backup")
    t.eq(rc, 2, "backup without FILE is a usage error")
    rc, out, err = d.ctl("--json", "backup", "--force", copy)
    t.ok(rc == 0, "--force replaces it", err)
    t.ok('"integrity_check": "ok"' in out, "--json output", out)

    # restore: stop, copy back, start; the daemon serves what the backup held
    all_ids = {ev for ev, *_ in s.snapshot()}
    con = sqlite3.connect("file:%s?mode=ro" % copy, uri=True)
    restored = {r[0] for r in con.execute("SELECT id FROM events")}
    con.close()
    d.stop()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(d.db + suffix):
            os.unlink(d.db + suffix)
    shutil.copyfile(copy, d.db)
    d.start()
    t.eq(restored, all_ids, "the --force copy, taken after the load, holds every event")
    st, _, body = d.get("/v1/events/%s" % sorted(restored)[0])
    t.eq(st, 200, "a restored event is served")
    st, _, body = d.post("/v1/events/argocd", payload("after-restore", True, 999999))
    t.eq(st, 202, "the restored ledger takes new events")
    t.eq(d.scalar("SELECT count(*) FROM events"), len(restored) + 1, "restored rows + the new one")
    t.eq(d.scalar("PRAGMA journal_mode"), "wal", "back in WAL mode")
    d.stop()


def main(t):
    retention_under_load(t)
    if not harness.PG_MODE:     # incidentctl backup copies SQLite ledgers only
        backup_during_load(t)


harness.run(main)
