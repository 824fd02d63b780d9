#!/usr/bin/env python3
"""The copilot_runner's default sandbox (bubblewrap) through the real daemon (issue 10):
tests/tools/fake_copilot in "spy" mode tries what a hostile agent would, with secrets in
the daemon's environment (the source's bearer token, GITHUB_TOKEN, SLACK_BOT_TOKEN) and in
its conf.d: read /proc/$PPID/environ and every process it can see, the conf.d, the ledger.
It must get none of it, and no secret may reach a transcript or the ledger. The same run
checks what the agent does get (argv, environment, HOME and cwd = workdir, stdin, no
descriptors, no capabilities, its own pid namespace), run_as inside the sandbox, the
config errors (bwrap missing names `sandbox: none`; a bind showing the ledger is refused),
and, as a control that the spy can see what it looks for, a `sandbox: none` run reading
the conf.d."""

import json
import os
import secrets
import shutil
import tempfile

import harness
from harness import Daemon, sample_json, test_sink_path, wait_until

FAKE = os.environ.get("FAKE_COPILOT") or os.path.join(harness.TOP, "tests/tools/fake_copilot")
ISSUE_URL = "https://github.com/example-org/platform-incidents/issues/42"


def degraded(app):
    p = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
    p["app_name"] = app
    return p


def runs(rec_dir):
    out = []
    for name in os.listdir(rec_dir):
        if name.startswith("run-") and name.endswith(".json"):
            with open(os.path.join(rec_dir, name)) as f:
                out.append(json.load(f))
    return sorted(out, key=lambda r: r["at"])


def settled(d, sink, app, timeout=20):
    def row():
        rows = d.sql("SELECT d.state, d.last_error FROM deliveries d JOIN incidents i ON "
                     "i.id = d.incident_id WHERE d.sink = ? AND i.app = ?", (sink, app))
        return rows[-1] if rows and rows[-1][0] in ("done", "failed") else None
    return wait_until(row, timeout)


def main(t):
    top = tempfile.mkdtemp(prefix="runner-sb-")
    t.cleanups.append(lambda: shutil.rmtree(top, ignore_errors=True))
    os.chmod(top, 0o755)                       # run_as nobody walks through it
    bindir = os.path.join(top, "bin")
    workdir = os.path.join(top, "gitops")
    os.makedirs(bindir)
    os.makedirs(os.path.join(workdir, ".copilot"))
    os.symlink(FAKE, os.path.join(bindir, "copilot"))
    fakedir = os.path.dirname(os.path.realpath(FAKE))
    recs = {}
    for n in ("spy", "nobody", "open"):
        recs[n] = os.path.join(top, "rec-" + n)
        os.makedirs(recs[n])
        os.chmod(recs[n], 0o777)
    os.chmod(workdir, 0o777)
    tok = {k: "%s-%s" % (k, secrets.token_hex(8)) for k in
           ("bearer", "github", "slack", "literal", "copilot")}
    d = Daemon(t, {}, start=False, env={
        "PATH": bindir + ":/usr/bin:/bin", "HOME": top, "ARGOCD_TOKEN": tok["bearer"],
        "GITHUB_TOKEN": tok["github"], "SLACK_BOT_TOKEN": tok["slack"],
        "T_COP": tok["copilot"]})
    spy_reads = ":".join([d.confd, os.path.join(d.confd, "10-test.yaml"), d.db,
                          os.path.dirname(d.db), top])

    def runner(name, extra):
        return ("  %s:\n    plugin: copilot_runner\n    after: github\n    workdir: %s\n"
                "    env: { COPILOT_GITHUB_TOKEN: \"${T_COP}\", FAKE_COPILOT_RECORD: %s,"
                " FAKE_COPILOT_MODE: spy, FAKE_COPILOT_READ: \"%s\" }\n%s"
                % (name, workdir, recs[name], spy_reads, extra))

    binds = "    ro_binds: [%s, %s]\n    rw_binds: [%%s]\n" % (bindir, fakedir)
    conf = ("# a secret written into the conf.d itself: %s\n" % tok["literal"] +
            "sources:\n  argocd: { auth: { bearer: \"${ARGOCD_TOKEN}\" } }\n"
            "sinks:\n  github: { plugin: %s, result: { issue: 42, url: \"%s\", repo: "
            "example-org/platform-incidents } }\n" % (test_sink_path(), ISSUE_URL) +
            runner("spy", binds % recs["spy"]) +
            runner("nobody", binds % recs["nobody"] + "    run_as: \"65534:65534\"\n") +
            runner("open", "    sandbox: none\n") +
            "routes:\n"
            "  - { name: nobody, match: ['app = as-nobody'], sinks: [github, nobody] }\n"
            "  - { name: open, match: ['app = no-sandbox'], sinks: [github, open] }\n"
            "  - { name: default, sinks: [github, spy] }\n")
    d.write_confd({"10-test.yaml": conf})
    d.start()
    auth = {"Authorization": "Bearer " + tok["bearer"]}
    st, _, _ = d.post("/v1/events/argocd", degraded("aks-store"), auth)
    t.eq(st, 202, "event accepted")
    row = settled(d, "spy", "aks-store")
    t.ok(row and row[0] == "done", "the sandboxed run is done", row)
    rs = runs(recs["spy"])
    t.eq(len(rs), 1, "the agent ran once, in the sandbox")
    r = rs[0] if rs else {}
    spy = r.get("spy") or {}

    # --- what the agent gets --------------------------------------------------------------
    t.eq(r.get("argv", [None])[0], "copilot", "argv[0] as configured (found in its PATH)")
    t.eq(sorted((r.get("env") or {}).keys()), sorted(
        ["COPILOT_GITHUB_TOKEN", "FAKE_COPILOT_RECORD", "FAKE_COPILOT_MODE",
         "FAKE_COPILOT_READ", "PATH", "HOME", "PWD"]),
        "environment: env: + PATH + HOME (+ PWD, set by bwrap), nothing of the daemon's")
    t.eq(((r.get("env") or {}).get("HOME"), r.get("cwd")), (workdir, workdir),
         "HOME and the working directory are the workdir")
    t.eq((r.get("stdin"), r.get("fds")), ("eof", []), "stdin /dev/null, no other descriptor")
    t.eq(r.get("pid"), 2, "its own pid namespace (bwrap's init is 1, the agent 2)")
    caps = [l for l in str(spy.get("status", "")).splitlines() if l.startswith("CapEff:")]
    t.eq(caps, ["CapEff:\t0000000000000000"], "no capabilities")

    # --- what it cannot see ---------------------------------------------------------------
    procs = spy.get("procs") or []
    t.ok(procs and all("incidentd" not in str(p.get("cmdline")) for p in procs) and
         len(procs) <= 3, "only its own processes are visible, not the daemon",
         [(p.get("pid"), p.get("cmdline")) for p in procs])
    t.eq(spy.get("ppid"), 1, "its parent is the sandbox's init, not the daemon")
    everything = json.dumps(spy)
    leaked = [k for k, v in tok.items() if k != "copilot" and v in everything]
    t.eq(leaked, [], "no secret of the daemon in anything the agent could read "
         "(/proc/$PPID/environ, every visible process, the conf.d, the ledger)")
    reads = spy.get("reads") or {}
    t.ok(all(isinstance(reads.get(p), str) and
             reads[p].startswith("error: No such file or directory") for p in
             spy_reads.split(":")[:4]), "conf.d, its file, the ledger, its directory: "
         "invisible", reads)
    t.eq(sorted(reads.get(top) or []), ["bin", "gitops", "rec-spy"],
         "of the test's tree only the binds exist (not the other sinks' records)")

    # --- no secret in a transcript or anywhere in the ledger's delivery records -----------
    refs = d.scalar("SELECT refs FROM incidents WHERE app = 'aks-store'") or ""
    t.ok('"transcript"' in refs and "ppid_environ" in refs, "the spy's output is the "
         "transcript", refs[:200])
    try:
        rows = d.sql("SELECT coalesce(last_error, '') || coalesce(result, '') || "
                     "coalesce(note, '') FROM deliveries")
    except Exception as e:          # a ledger without the column: reported, not fatal
        rows = [(repr(e),)]
    blob = refs + "".join(r[0] for r in rows)
    t.eq([k for k, v in tok.items() if v in blob], [], "no secret in a transcript, a "
         "result or a note (the agent's own token, which it may print, is redacted)")
    t.ok("[redacted COPILOT_GITHUB_TOKEN]" in refs, "the agent printed its token: redacted",
         refs[:300])
    try:
        note = d.scalar("SELECT note FROM deliveries WHERE sink = 'spy'")
    except Exception as e:
        note = repr(e)
    n = json.loads(note) if note and note.startswith("{") else {}
    t.ok(n.get("phase") == "running" and n.get("pid", 0) > 1 and n.get("start", 0) > 0 and
         n.get("run") == 1, "the run is noted on its delivery (pid, start time)", note)

    # --- run_as: inside the sandbox as that user ----------------------------------------------
    d.post("/v1/events/argocd", degraded("as-nobody"), auth)
    row = settled(d, "nobody", "as-nobody")
    t.ok(row and row[0] == "done", "run_as inside the sandbox: done", row)
    r = (runs(recs["nobody"]) or [{}])[0]
    st = str((r.get("spy") or {}).get("status", ""))
    t.ok("Uid:\t65534\t65534\t65534\t65534" in st and "Gid:\t65534\t65534\t65534\t65534" in st,
         "run_as: the agent runs as 65534:65534", st[:400])

    # --- control: without the sandbox the same spy reads the conf.d ------------------------------
    d.post("/v1/events/argocd", degraded("no-sandbox"), auth)
    row = settled(d, "open", "no-sandbox")
    r = (runs(recs["open"]) or [{}])[0]
    got = str(((r.get("spy") or {}).get("reads") or {}).get(os.path.join(d.confd,
                                                                          "10-test.yaml")))
    t.ok(tok["literal"] in got, "control: with sandbox: none the spy does read the conf.d "
         "(so the checks above can fail)", got[:200])
    t.ok(d.wait_log(r"sink/open: sandbox: none: the agent sees the host's file system", 1)
         or d.count_log("sandbox: none: the agent sees") > 0, "sandbox: none is warned about")
    d.stop()

    # --- configuration errors ----------------------------------------------------------------
    def check(extra, start=False):
        c = ("sources:\n  argocd: { auth: none }\nsinks:\n  r:\n    plugin: copilot_runner\n"
             + extra + "routes:\n  - { name: d, sinks: [r] }\n")
        d.write_confd({"10-test.yaml": c})
        rc, out, err = run_check(d, start)
        return rc, (out + err).strip()

    rc, msg = check("    bwrap: /nonexistent/bwrap\n")
    t.ok(rc == 1 and "sandbox: bwrap: cannot run /nonexistent/bwrap" in msg and
         "set sandbox: none to run the agent without a sandbox" in msg,
         "bwrap missing: a config error that names sandbox: none", msg)
    # the ledger is open when the daemon starts (not with --check-config)
    rc, msg = check("    workdir: %s\n" % os.path.dirname(d.db), start=True)
    t.ok(d.pg or rc == 1 and ("workdir: '%s' would show incidentd's own %s"
                      % (os.path.dirname(d.db), os.path.realpath(d.db))) in msg,
         "a workdir holding the ledger is refused at start", msg)
    rc, msg = check("    ro_binds: [%s]\n" % d.confd)
    t.ok(rc == 1 and ("ro_binds[0]: '%s' would show incidentd's own %s"
                      % (d.confd, os.path.realpath(d.confd))) in msg,
         "a bind showing the conf.d is refused", msg)
    rc, msg = check("    ro_binds: [/]\n")
    t.ok(rc == 1 and "ro_binds[0]: '/' would show the host's whole file system" in msg,
         "binding / is refused", msg)
    rc, msg = check("    sandbox: none\n    ro_binds: [/usr]\n")
    t.ok(rc == 1 and "ro_binds: only with sandbox: bwrap" in msg,
         "binds without a sandbox are refused", msg)
    rc, msg = check("    sandbox: docker\n")
    t.ok(rc == 1 and "sandbox: expected bwrap or none" in msg, "unknown sandbox refused", msg)
    # run_as needs a daemon that may change its user
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        t.skip("run_as refused for a daemon that cannot change its user",
               "needs root and setpriv (util-linux)")
    else:
        check("    run_as: \"0:0\"\n")
        for p in (d.dir, d.confd):
            os.chmod(p, 0o755)
        os.chmod(os.path.join(d.confd, "10-test.yaml"), 0o644)
        import subprocess
        p = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            harness.INCIDENTD, "-c", d.confd, "--plugin-dir",
                            harness.PLUGIN_DIR, "--check-config"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=d.env, timeout=30, cwd="/")
        msg = p.stdout.decode()
        t.ok(p.returncode == 1 and "run_as: incidentd runs as uid 65534 without CAP_SETUID "
             "and CAP_SETGID, so it cannot start the agent as '0:0'" in msg,
             "run_as is refused when incidentd cannot change its user", msg)


def run_check(d, start):
    """--check-config, or (start) a real start that must fail: (exit code, output)."""
    import subprocess
    argv = [harness.INCIDENTD, "-c", d.confd, "-d", d.db, "--plugin-dir", harness.PLUGIN_DIR]
    argv += ["-l", "127.0.0.1:0"] if start else ["--check-config"]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=d.env,
                       timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


harness.run(main)
