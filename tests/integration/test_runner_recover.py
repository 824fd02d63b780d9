#!/usr/bin/env python3
"""The agent dies with the daemon, and after a restart an interrupted run is finished, not
started again (issue 10), through the real daemon with tests/tools/fake_copilot as an
agent that hangs with a child of its own (a grandchild of the daemon):

- SIGKILL the daemon while three agents run: in the sandbox (default) the agent and its
  child are gone at once (bwrap dies with the daemon, its pid namespace with it); without
  a sandbox the agent gets SIGKILL (PR_SET_PDEATHSIG) and its child is left until the
  restart;
- restart: each delivery is recorded as interrupted (failed, "interrupted: ...",
  "interrupted": true in the result), what was left of the run is killed, the decision
  trace and `incidentctl explain` show it, no second agent starts, and a later update of
  the incident does not run one either;
- with `retries: 1` the interrupted run is started again once; a SIGTERM stop during that
  second run records it as interrupted too, and nothing starts after."""

import json
import os
import shutil
import tempfile
import time

import harness
from harness import Daemon, sample_json, test_sink_path, wait_until

FAKE = os.environ.get("FAKE_COPILOT") or os.path.join(harness.TOP, "tests/tools/fake_copilot")
ISSUE_URL = "https://github.com/example-org/platform-incidents/issues/42"


def degraded(app, ts="2026-02-10T03:01:12Z"):
    p = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
    p.update({"app_name": app, "timestamp": ts})
    return p


def runs(rec):
    out = []
    for name in os.listdir(rec):
        if name.startswith("run-") and name.endswith(".json"):
            with open(os.path.join(rec, name)) as f:
                out.append(json.load(f))
    return sorted(out, key=lambda r: r["at"])


def alive_with(marker):
    """Host pids of live (not zombie) processes whose environment holds marker: the
    agent, its child, and the bwrap processes that started them."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                env = f.read().split(b"\0")
            with open("/proc/%s/stat" % name) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if marker.encode() in env and state not in ("Z", "X"):
            out.append(int(name))
    return out


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def main(t):
    top = tempfile.mkdtemp(prefix="runner-rc-")
    t.cleanups.append(lambda: shutil.rmtree(top, ignore_errors=True))
    bindir = os.path.join(top, "bin")
    workdir = os.path.join(top, "gitops")
    os.makedirs(bindir)
    os.makedirs(workdir)
    os.symlink(FAKE, os.path.join(bindir, "copilot"))
    fakedir = os.path.dirname(os.path.realpath(FAKE))
    rec = {}
    for n in ("doctor", "doctor-retry", "doctor-open"):
        rec[n] = os.path.join(top, "rec-" + n)
        os.makedirs(rec[n])
    marker = {n: "FAKE_COPILOT_RECORD=" + rec[n] for n in rec}

    def runner(name, extra):
        return ("  %s:\n    plugin: copilot_runner\n    after: github\n    workdir: %s\n"
                "    env: { FAKE_COPILOT_RECORD: %s, FAKE_COPILOT_MODE: hang }\n"
                "    timeout: 10m\n%s" % (name, workdir, rec[name], extra))

    binds = "    ro_binds: [%s, %s]\n    rw_binds: [%%s]\n" % (bindir, fakedir)
    conf = ("sources:\n  argocd: { auth: none }\n"
            "sinks:\n  github: { plugin: %s, result: { issue: 42, url: \"%s\", repo: "
            "example-org/platform-incidents } }\n" % (test_sink_path(), ISSUE_URL) +
            runner("doctor", binds % rec["doctor"]) +
            runner("doctor-retry", binds % rec["doctor-retry"] +
                   "    retries: 1\n    retry_delay: 200ms\n") +
            runner("doctor-open", "    sandbox: none\n") +
            "routes:\n"
            "  - { name: a, match: ['app = crash-a'], sinks: [github, doctor] }\n"
            "  - { name: b, match: ['app = crash-b'], sinks: [github, doctor-retry] }\n"
            "  - { name: c, match: ['app = crash-c'], sinks: [github, doctor-open] }\n")
    d = Daemon(t, {"10-test.yaml": conf}, env={"PATH": bindir + ":/usr/bin:/bin"})
    t.cleanups.append(lambda: [os.kill(p, 9) for n in marker for p in alive_with(marker[n])])
    for app in ("crash-a", "crash-b", "crash-c"):
        st, _, _ = d.post("/v1/events/argocd", degraded(app))
        t.eq(st, 202, "%s: accepted" % app)
    t.ok(wait_until(lambda: all(runs(rec[n]) for n in rec), 15), "the three agents run",
         {n: len(runs(rec[n])) for n in rec})
    open_run = (runs(rec["doctor-open"]) or [{}])[0]
    t.ok(wait_until(lambda: all(len(alive_with(marker[n])) >= 2 for n in rec), 5),
         "each agent runs with a child", {n: alive_with(marker[n]) for n in rec})
    try:
        notes = d.sql("SELECT sink, note FROM deliveries WHERE state = 'running'")
    except Exception as e:          # a ledger without the column: reported, not fatal
        notes = [("error", repr(e))]
    t.eq(sorted(s for s, n in notes if n and n.startswith("{") and
                json.loads(n).get("phase") == "running"),
         ["doctor", "doctor-open", "doctor-retry"], "each run is noted on its delivery")

    # --- the daemon is killed: the agents die with it ---------------------------------------
    d.kill9()
    t.ok(wait_until(lambda: not alive_with(marker["doctor"]) and
                    not alive_with(marker["doctor-retry"]), 5),
         "sandboxed: agent and child gone right after SIGKILL of the daemon",
         {n: alive_with(marker[n]) for n in rec})
    t.ok(wait_until(lambda: gone(open_run.get("pid", 0)), 5),
         "no sandbox: the agent got SIGKILL with the daemon (PR_SET_PDEATHSIG)")
    t.ok(not gone(open_run.get("child_pid", 0)),
         "no sandbox: its child is still there (no pid namespace to take it down)")
    t.eq(d.scalar("SELECT count(*) FROM deliveries WHERE state = 'running'"), 3,
         "three deliveries left running in the ledger")

    # --- restart: finished as interrupted, not started again ----------------------------------
    d.start()
    t.ok(d.wait_log(r"dispatcher: recovering 3 delivery\(ies\) left running", 5),
         "the dispatcher hands them to the runner's recover")

    def row(sink):
        rows = d.sql("SELECT state, coalesce(last_error, ''), attempts FROM deliveries "
                     "WHERE sink = ? AND action = 'open'", (sink,))
        return rows[-1] if rows else ("", "", 0)

    t.ok(wait_until(lambda: row("doctor")[0] == "failed" and row("doctor-open")[0] ==
                    "failed", 10), "recovered without the retries policy: failed",
         (row("doctor"), row("doctor-open")))
    r = row("doctor")
    t.ok(r[1].startswith("interrupted: incidentd stopped during run 1 for issue #42 "
                         "(started ") and r[1].endswith("; no process of it was left"),
         "sandboxed: 'interrupted: ...; no process of it was left'", r)
    r = row("doctor-open")
    t.ok(r[1].startswith("interrupted: incidentd stopped during run 1 for issue #42") and
         r[1].endswith("; 1 leftover process(es) of it killed"),
         "no sandbox: the leftover child was killed at the restart", r)
    t.ok(wait_until(lambda: gone(open_run.get("child_pid", 0)), 5),
         "no sandbox: the child is gone now")
    for sink, app in (("doctor", "crash-a"), ("doctor-open", "crash-c")):
        ref = json.loads(d.scalar("SELECT refs FROM incidents WHERE app = ?", (app,))
                         or "{}").get(sink, {})
        t.eq((ref.get("interrupted"), ref.get("runs"), ref.get("issue")), (True, 1, 42),
             "%s: the result says interrupted, one run" % sink)
    time.sleep(1.5)
    t.eq((len(runs(rec["doctor"])), len(runs(rec["doctor-open"]))), (1, 1),
         "no second agent started for those incidents")
    t.eq((alive_with(marker["doctor"]), alive_with(marker["doctor-open"])), ([], []),
         "and nothing of theirs runs")
    tr = d.sql("SELECT outcome, detail FROM decisions WHERE detail LIKE 'sink doctor open %'"
               " ORDER BY id")
    t.ok([o for o, _ in tr] == ["recover", "fail"] and "was left running by a previous "
         "incidentd process" in tr[0][1] and "interrupted: incidentd stopped" in tr[1][1],
         "the decision trace shows the recovery and the outcome", tr)
    inc = d.scalar("SELECT id FROM incidents WHERE app = 'crash-a'")
    rc, out, _ = d.ctl("explain", inc)
    t.ok(rc == 0 and "recover" in out and "interrupted: incidentd stopped during run 1" in out,
         "incidentctl explain shows it", out[-800:])

    # one agent per incident: a later update of it does not run one
    d.post("/v1/events/argocd", degraded("crash-a", ts="2026-02-10T03:09:00Z"))
    t.ok(wait_until(lambda: (d.sql("SELECT state, last_error FROM deliveries WHERE sink = "
                                   "'doctor' AND action = 'update'") or [("",)])[-1][0] ==
                    "done", 10), "update settled")
    t.eq(d.sql("SELECT last_error FROM deliveries WHERE sink = 'doctor' AND action = "
               "'update'")[-1][0], "already ran (1 run(s) for this incident)",
         "an update of the incident does not start another agent")
    t.eq(len(runs(rec["doctor"])), 1, "still one run")

    # --- retries: 1: started again once --------------------------------------------------------
    t.ok(wait_until(lambda: len(runs(rec["doctor-retry"])) == 2, 10),
         "retries: 1: the interrupted run is started again", len(runs(rec["doctor-retry"])))
    tr = d.scalar("SELECT group_concat(detail, '|') FROM decisions WHERE detail LIKE "
                  "'sink doctor-retry open %'") or ""
    t.ok("interrupted: incidentd stopped during run 1 for issue #42" in tr and
         "retry 1 of 1" in tr, "the retry is traced", tr)
    t.ok(wait_until(lambda: len(alive_with(marker["doctor-retry"])) >= 2, 5),
         "the second run is going")
    d.stop()         # SIGTERM: the second run is interrupted too
    t.ok(wait_until(lambda: not alive_with(marker["doctor-retry"]), 5),
         "SIGTERM: the second run's processes are gone")
    r = row("doctor-retry")
    t.ok(r[0] == "failed" and r[1].startswith(
        "interrupted: incidentd was shut down during run 2 for issue #42"),
        "SIGTERM during run 2: failed as interrupted (no retries left)", r)
    ref = json.loads(d.scalar("SELECT refs FROM incidents WHERE app = 'crash-b'")
                     or "{}").get("doctor-retry", {})
    t.eq((ref.get("interrupted"), ref.get("runs")), (True, 2), "two runs, interrupted")
    d.start()
    time.sleep(1.5)
    t.eq(len(runs(rec["doctor-retry"])), 2, "after another restart nothing starts again")
    t.eq(d.scalar("SELECT count(*) FROM deliveries WHERE state IN ('running', 'pending')"), 0,
         "nothing left to do")
    d.stop()


harness.run(main)
