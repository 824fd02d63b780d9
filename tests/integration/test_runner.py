#!/usr/bin/env python3
"""The copilot_runner sink through the real daemon, with tests/tools/fake_copilot as the
agent and test_sink as the GitHub issue sink before it: once per incident, argv and
environment isolation, process group / stdin / descriptors, read-only on an uncertain
cluster identity, nothing without an issue, timeout kill of the process group (SIGTERM and
SIGKILL, pidfd and SIGCHLD), retries, budget, runner slots, the output cap, shutdown with a
run in flight, and the real `copilot` CLI accepting the default argv (skipped when it is not
installed).

The sinks that observe host pids, process groups or the daemon's HOME run with
`sandbox: none` (bubblewrap's pid namespace hides them); the others run in the default
sandbox with the binds the fake needs. test_runner_sandbox.py covers the sandbox itself."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import harness
from harness import Daemon, sample_json, test_sink_path, wait_until

FAKE = os.environ.get("FAKE_COPILOT") or os.path.join(harness.TOP, "tests/tools/fake_copilot")
API = "https://prod-west.example:443"
UID = "6a1f3c2e-8d4b-4f3a-9c1e-2b7d5e8f0a91"
ISSUE_URL = "https://github.com/example-org/platform-incidents/issues/42"
DEFAULT_ARGV = ["copilot", "-p", None, "--agent", "cluster-doctor", "--additional-mcp-config",
                "@.copilot/mcp-config.json", "--allow-all-tools"]


def degraded(app, labels=None, ts="2026-02-10T03:01:12Z"):
    p = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
    p.update({"app_name": app, "timestamp": ts})
    if labels:
        p["labels"] = labels
    return p


def recovered(app):
    p = sample_json("argocd", "seed-aks-store-recovered.client_payload.json")
    p["app_name"] = app
    return p


def runs(rec_dir):
    """The fake's records, oldest first."""
    out = []
    for name in os.listdir(rec_dir):
        if name.startswith("run-") and name.endswith(".json"):
            with open(os.path.join(rec_dir, name)) as f:
                out.append(json.load(f))
    return sorted(out, key=lambda r: r["at"])


def gone(pid):
    """True when pid no longer runs (absent, or a zombie nobody reaped yet)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def fenced(prompt, text):
    """text as the prompt fences event data, with the run's token."""
    m = re.search(r"<<<event-data ([0-9a-f]{32})>>>", prompt or "")
    tok = m.group(1) if m else "?"
    return "<<<event-data %s>>>%s<<<end event-data %s>>>" % (tok, text, tok)


def refs_of(d, app):
    r = d.scalar("SELECT refs FROM incidents WHERE app = ?", (app,))
    return json.loads(r) if r else {}


def delivery(d, sink, app, action="open"):
    rows = d.sql("SELECT d.state, d.last_error, d.attempts FROM deliveries d JOIN incidents i "
                 "ON i.id = d.incident_id WHERE d.sink = ? AND i.app = ? AND d.action = ? "
                 "ORDER BY d.id", (sink, app, action))
    return rows[-1] if rows else None


def settled(d, sink, app, action="open", timeout=15):
    return wait_until(lambda: (delivery(d, sink, app, action) or ("",))[0] in
                      ("done", "failed", "cancelled") and delivery(d, sink, app, action), timeout)


def main(t):
    top = tempfile.mkdtemp(prefix="runner-it-")
    t.cleanups.append(lambda: shutil.rmtree(top, ignore_errors=True))
    bindir = os.path.join(top, "bin")
    workdir = os.path.join(top, "gitops")
    os.makedirs(bindir)
    os.makedirs(os.path.join(workdir, ".copilot"))
    os.symlink(FAKE, os.path.join(bindir, "copilot"))
    recs = {}
    for n in ("main", "solo", "hang", "stubborn", "fail", "budget", "busy", "flood", "drain"):
        recs[n] = os.path.join(top, "rec-" + n)
        os.makedirs(recs[n])
    plug = test_sink_path()

    def runner(name, rec, mode="ok", extra="", after=True, sandbox=True):
        # in the sandbox the fake needs its directory and the symlink's, and its record dir
        binds = ("    ro_binds: [%s, %s]\n    rw_binds: [%s]\n"
                 % (bindir, os.path.dirname(os.path.realpath(FAKE)), rec) if sandbox
                 else "    sandbox: none\n")
        return ("  %s:\n    plugin: copilot_runner\n%s    workdir: %s\n"
                "    env: { GITHUB_MCP_TOKEN: \"${T_MCP}\", COPILOT_GITHUB_TOKEN: \"${T_COP}\", "
                "FAKE_COPILOT_RECORD: %s, FAKE_COPILOT_MODE: %s }\n%s%s"
                % (name, "    after: github\n" if after else "", workdir, rec, mode, binds,
                   extra))

    sinks = ("  github: { plugin: %s, result: { issue: 42, url: \"%s\", repo: "
             "example-org/platform-incidents } }\n" % (plug, ISSUE_URL) +
             runner("doctor-run", recs["main"], extra="    timeout: 20m\n    max_concurrent: 1\n"
                    "    daily_budget: 20\n", sandbox=False) +
             runner("solo", recs["solo"], after=False) +
             runner("hang", recs["hang"], "hang", "    timeout: 1s\n    kill_after: 5s\n",
                    sandbox=False) +
             runner("stubborn", recs["stubborn"], "stubborn", "    timeout: 1s\n"
                    "    kill_after: 500ms\n    child_watch: sigchld\n", sandbox=False) +
             runner("fail", recs["fail"], "fail", "    retries: 1\n    retry_delay: 200ms\n") +
             runner("budget", recs["budget"], extra="    daily_budget: 2\n") +
             runner("busy", recs["busy"], "sleep", "    max_concurrent: 1\n"
                    "    queue_retry: 200ms\n") +
             runner("flood", recs["flood"], "flood", "    transcript_max: 16KiB\n") +
             runner("drain", recs["drain"], "hang", "    timeout: 10m\n", sandbox=False))
    routes = ("  - { name: solo, match: ['app = lonely'], sinks: [solo] }\n"
              "  - { name: hang, match: ['app = hang-app'], sinks: [github, hang] }\n"
              "  - { name: stubborn, match: ['app = stubborn-app'], sinks: [github, stubborn] }\n"
              "  - { name: fail, match: ['app = fail-app'], sinks: [github, fail] }\n"
              "  - { name: budget, match: ['app =~ \"budget-.*\"'], sinks: [github, budget] }\n"
              "  - { name: busy, match: ['app =~ \"busy-.*\"'], sinks: [github, busy] }\n"
              "  - { name: flood, match: ['app = flood-app'], sinks: [github, flood] }\n"
              "  - { name: drain, match: ['app = drain-app'], sinks: [github, drain] }\n"
              "  - { name: default, sinks: [github, doctor-run] }\n")
    # no probe here (test_runner_identity.py has them): the event's claims are trusted
    clusters = ("clusters:\n  prod-west-aks: { api_server: \"%s\", uid: \"%s\", "
                "trust_event_claims: true }\n" % (API, UID))
    claims = {"cluster_uid": UID, "api_server": API}
    conf = {"10-test.yaml": "sources:\n  argocd: { auth: none }\n" + clusters + "sinks:\n" +
            sinks + "routes:\n" + routes}
    env = {"PATH": bindir + ":/usr/bin:/bin", "T_MCP": "mcp-token-1", "T_COP": "cop-token-2",
           "LEAKME": "secret-of-incidentd", "GITHUB_TOKEN": "not-for-the-agent",
           "HOME": top}
    d = Daemon(t, conf, env=env)

    # --- once per incident, verified identity ----------------------------------------------
    st, _, _ = d.post("/v1/events/argocd", degraded("aks-store", claims))
    t.eq(st, 202, "degraded accepted")
    row = settled(d, "doctor-run", "aks-store")
    t.ok(row and row[0] == "done" and row[1].startswith("exit 0 after ") and
         row[1].endswith(" s for issue #42 (identity verified: claims)"),
         "run done: 'exit 0 after N s for issue #42 (identity verified: claims)'", row)
    rs = runs(recs["main"])
    t.eq(len(rs), 1, "the agent ran once")
    r = rs[0] if rs else {"argv": [], "env": {}}
    argv = r["argv"]
    want = list(DEFAULT_ARGV)
    want[2] = r.get("prompt")
    t.eq(argv, want, "default argv, no shell, no --deny-tool when verified")
    prompt = r.get("prompt") or ""
    for part in ("Issue #42 in example-org/platform-incidents", fenced(prompt, "aks-store"),
                 "namespace " + fenced(prompt, "pets"),
                 "cluster " + fenced(prompt, "prod-west-aks"), "Cluster identity: verified"):
        t.ok(part in prompt, "prompt mentions %r" % part, prompt)
    t.ok("uncertain" not in prompt, "prompt: no uncertainty when verified", prompt)
    t.eq(sorted(r["env"]), sorted(["GITHUB_MCP_TOKEN", "COPILOT_GITHUB_TOKEN",
                                    "FAKE_COPILOT_RECORD", "FAKE_COPILOT_MODE", "PATH", "HOME"]),
         "environment: env: + PATH + HOME, nothing else leaks")
    t.eq((r["env"].get("GITHUB_MCP_TOKEN"), r["env"].get("COPILOT_GITHUB_TOKEN"),
          r["env"].get("PATH"), r["env"].get("HOME")),
         ("mcp-token-1", "cop-token-2", env["PATH"], top), "environment values")
    t.eq(r.get("cwd"), workdir, "runs in workdir")
    t.ok(r.get("pgid") == r.get("pid") and r.get("pgid") != os.getpgid(d.proc.pid),
         "own process group", (r.get("pid"), r.get("pgid")))
    t.eq(r.get("stdin"), "eof", "stdin is /dev/null")
    t.eq(r.get("fds"), [], "no descriptor above 2 is inherited")
    ref = refs_of(d, "aks-store").get("doctor-run", {})
    t.eq((ref.get("runs"), ref.get("last_exit"), ref.get("last_signal"), ref.get("timed_out"),
          ref.get("identity"), ref.get("read_only"), ref.get("issue")),
         (1, 0, None, False, "verified", False, 42), "result on the incident")
    t.ok("fake copilot: diagnosis posted\n" in ref.get("transcript", "") and
         "fake copilot: done\n" in ref.get("transcript", ""),
         "transcript has stdout and stderr", ref.get("transcript"))
    t.ok(isinstance(ref.get("last_run_at"), str) and ref["last_run_at"].endswith("Z"),
         "last_run_at is a UTC time", ref.get("last_run_at"))
    t.eq((ref.get("identity_detail"), ref.get("identity_check")),
         ("cluster 'prod-west-aks': claims of the event trusted (trust_event_claims): "
          "api_server, uid match", "claims"), "identity detail")
    t.ok(d.wait_log(r"sink/doctor-run: run for issue #42 started: pid \d+, identity verified",
                    2), "start is logged")
    t.eq(d.count_log("cop-token-2") + d.count_log("mcp-token-1"), 0, "tokens never logged")

    # an update of the same incident does not run again; resolve does nothing
    st, _, _ = d.post("/v1/events/argocd", degraded("aks-store", claims,
                                                    ts="2026-02-10T03:09:00Z"))
    row = settled(d, "doctor-run", "aks-store", "update")
    t.eq(row, ("done", "already ran (1 run(s) for this incident)", 1), "update: already ran")
    st, _, _ = d.post("/v1/events/argocd", recovered("aks-store"))
    row = settled(d, "doctor-run", "aks-store", "resolve")
    t.eq(row, ("done", "nothing to do on resolve", 1), "resolve: nothing to do")
    t.eq(len(runs(recs["main"])), 1, "still exactly one run for the incident")

    # --- uncertain identity: read-only -------------------------------------------------------
    st, _, _ = d.post("/v1/events/argocd", degraded("aks-store-2"))
    row = settled(d, "doctor-run", "aks-store-2")
    t.ok(row and row[0] == "done" and row[1].endswith(
        "for issue #42 (read-only: cluster-identity uncertain: claims)"),
        "uncertain run: detail", row)
    rs = runs(recs["main"])
    r = rs[-1] if len(rs) == 2 else {"argv": []}
    deny = r["argv"][len(DEFAULT_ARGV):]
    t.ok(len(deny) > 10 and deny[:2] == ["--deny-tool", "write"] and
         "shell(kubectl apply)" in deny and "shell(git push)" in deny and
         all(deny[i] == "--deny-tool" for i in range(0, len(deny), 2)),
         "read-only: --deny-tool args appended", r["argv"])
    p = r.get("prompt") or ""
    t.ok(p.split("\n\n")[1:2] == [
        "cluster-identity uncertain (claims): " + fenced(p, "cluster 'prod-west-aks': claims "
        "of the event trusted (trust_event_claims): not reported: api_server, uid (every "
        "registered field must be reported and match)") + ". Work read-only: diagnose only, "
        "change nothing in the cluster or the repository, and start your issue comment with "
        "\"cluster-identity uncertain\"."],
        "prompt starts with the uncertainty (after the fence's instruction)", p)
    t.ok("Cluster identity: uncertain" in (r.get("prompt") or ""), "{{identity}} = uncertain")
    ref = refs_of(d, "aks-store-2").get("doctor-run", {})
    t.eq((ref.get("identity"), ref.get("read_only")), ("uncertain", True),
         "result: identity uncertain, read_only")
    t.ok(d.wait_log(r"sink/doctor-run: issue #42: cluster-identity uncertain", 2),
         "uncertainty is logged")
    uncertain_argv = r["argv"]
    verified_argv = want

    # --- nothing runs without an issue ---------------------------------------------------------
    st, _, _ = d.post("/v1/events/argocd", degraded("lonely"))
    row = settled(d, "solo", "lonely")
    t.eq(row, ("failed", "the incident has no GitHub issue: nothing runs without one (chain "
               "this sink with after: <github_issue sink>, or set issue_from)", 1),
         "no issue: failed, never run")
    t.eq(runs(recs["solo"]), [], "no issue: the agent did not run")

    # --- timeout: SIGTERM to the process group (pidfd) -------------------------------------------
    st, _, _ = d.post("/v1/events/argocd", degraded("hang-app"))
    row = settled(d, "hang", "hang-app", timeout=15)
    t.eq(row, ("failed", "timed out after 1 s (process group killed) for issue #42 "
               "(read-only: cluster-identity uncertain: claims)", 1), "hang: timed out, failed")
    r = (runs(recs["hang"]) or [{}])[0]
    t.ok(r.get("pid") and wait_until(lambda: gone(r["pid"]), 5), "hang: the agent is gone")
    t.ok(r.get("child_pid") and wait_until(lambda: gone(r["child_pid"]), 5),
         "hang: its child in the group is gone too")
    ref = refs_of(d, "hang-app").get("hang", {})
    t.eq((ref.get("timed_out"), ref.get("last_exit"), ref.get("last_signal"), ref.get("runs")),
         (True, None, "TERM", 1), "hang: result records the timeout")
    t.ok("thinking forever" in ref.get("transcript", ""), "hang: partial transcript kept",
         ref.get("transcript"))

    # --- timeout, SIGTERM ignored: SIGKILL after kill_after (SIGCHLD watch) ----------------------
    st, _, _ = d.post("/v1/events/argocd", degraded("stubborn-app"))
    row = settled(d, "stubborn", "stubborn-app", timeout=15)
    t.eq(row, ("failed", "timed out after 1 s (process group killed with SIGKILL) for issue "
               "#42 (read-only: cluster-identity uncertain: claims)", 1), "stubborn: SIGKILL")
    r = (runs(recs["stubborn"]) or [{}])[0]
    t.ok(r.get("pid") and wait_until(lambda: gone(r["pid"]) and gone(r["child_pid"]), 5),
         "stubborn: agent and child gone")
    t.eq(refs_of(d, "stubborn-app").get("stubborn", {}).get("last_signal"), "KILL",
         "stubborn: killed by SIGKILL")

    # --- non-zero exit, retried once as configured --------------------------------------------
    st, _, _ = d.post("/v1/events/argocd", degraded("fail-app"))
    row = settled(d, "fail", "fail-app", timeout=15)
    t.ok(row and row[0] == "failed" and row[2] == 2 and row[1].startswith("exit 3 after "),
         "fail: exit 3, failed after 2 attempts", row)
    t.eq(len(runs(recs["fail"])), 2, "fail: ran twice (retries: 1)")
    ref = refs_of(d, "fail-app").get("fail", {})
    t.eq((ref.get("runs"), ref.get("last_exit")), (2, 3), "fail: result kept on failure")
    t.ok("authentication failed" in ref.get("transcript", ""), "fail: transcript kept",
         ref.get("transcript"))
    tr = d.scalar("SELECT group_concat(detail, '|') FROM decisions WHERE step = 'delivery' "
                  "AND detail LIKE 'sink fail %'")
    t.ok(tr and "exit 3 after" in tr and "retry 1 of 1" in tr, "fail: retry traced", tr)

    # --- budget --------------------------------------------------------------------------------
    for i in range(3):
        d.post("/v1/events/argocd", degraded("budget-%d" % i))
        settled(d, "budget", "budget-%d" % i)
    rows = [delivery(d, "budget", "budget-%d" % i) for i in range(3)]
    t.eq([r[0] for r in rows if r], ["done", "done", "failed"], "budget: two runs, then failed")
    t.eq(rows[2][1] if rows[2] else None, "budget exhausted (2/day): issue #42 not handed to "
         "the agent", "budget: the reason")
    t.eq(len(runs(recs["budget"])), 2, "budget: the agent ran twice")
    n = d.scalar("SELECT count(*) FROM decisions WHERE detail LIKE '%budget exhausted (2/day)%'")
    t.eq(n, 1, "budget: in the decision trace")
    st, _, m = d.get("/metrics")
    t.ok('incidentd_deliveries_total{sink="budget",outcome="fail"} 1' in m,
         "budget: visible on /metrics", m)

    # --- runner slots: queued, not run in parallel ---------------------------------------------
    d.post("/v1/events/argocd", degraded("busy-1"))
    d.post("/v1/events/argocd", degraded("busy-2"))
    rows = [settled(d, "busy", "busy-%d" % i, timeout=20) for i in (1, 2)]
    t.eq([r[0] if r else None for r in rows], ["done", "done"], "busy: both ran")
    rs = runs(recs["busy"])
    t.ok(len(rs) == 2 and rs[1]["at"] - rs[0]["at"] >= 450, "busy: one after the other",
         [r["at"] for r in rs])
    n = d.scalar("SELECT count(*) FROM decisions WHERE detail LIKE "
                 "'%waiting for a free runner slot (1/1 running)%'")
    t.ok(n and n >= 1, "busy: the wait is in the trace", n)

    # --- output cap ------------------------------------------------------------------------------
    d.post("/v1/events/argocd", degraded("flood-app"))
    row = settled(d, "flood", "flood-app", timeout=20)
    t.eq(row and row[0], "done", "flood: done")
    ref = refs_of(d, "flood-app").get("flood", {})
    text = ref.get("transcript", "")
    t.ok(text.startswith("BEGIN\n") and text.endswith("END\n") and
         "bytes dropped ...]" in text and len(text.encode()) <= 16384 + 64,
         "flood: head and tail of 16 KiB kept", (len(text), text[:80], text[-80:]))
    t.ok(ref.get("transcript_bytes", 0) >= 1048576 and
         ref.get("transcript_dropped") == ref.get("transcript_bytes", 0) - 16384,
         "flood: sizes recorded", (ref.get("transcript_bytes"), ref.get("transcript_dropped")))

    # --- the real copilot CLI accepts what we produce -----------------------------------------
    real = shutil.which("copilot", path=os.environ.get("PATH", ""))
    if real is None:
        t.skip("real copilot accepts the default argv",
               "copilot CLI not installed (npm install -g @github/copilot)")
    else:
        cenv = {"PATH": os.environ.get("PATH", ""), "HOME": top}

        def accepts(args):
            p = subprocess.run([real] + args + ["--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=cenv,
                               timeout=120, cwd=workdir)
            return p.returncode, p.stdout.decode("utf-8", "replace")[-400:]
        rc, out = accepts(verified_argv[1:])
        t.eq(rc, 0, "real copilot accepts the default argv (%s)" % real)
        rc, out = accepts(uncertain_argv[1:])
        t.eq(rc, 0, "real copilot accepts the read-only argv")
        rc, out = accepts(verified_argv[1:] + ["--no-such-option-incidentd"])
        t.ok(rc != 0, "the check can fail: an unknown option is refused", out)

    # --- shutdown with a run in flight: the group is killed, the daemon exits cleanly -----------
    d.post("/v1/events/argocd", degraded("drain-app"))
    r = wait_until(lambda: runs(recs["drain"]), 10)
    r = r[0] if r else {}
    t.ok(r.get("pid"), "drain: the agent runs")
    d.stop()
    t.ok(r.get("pid") and wait_until(lambda: gone(r["pid"]) and gone(r["child_pid"]), 5),
         "drain: agent and child gone after SIGTERM")


harness.run(main)
