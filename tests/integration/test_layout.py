#!/usr/bin/env python3
"""Where incidentd keeps things when no path is given: with the shipped conf.d and no -d the
ledger is incidentd.db in the state directory ($STATE_DIRECTORY, or --state-dir), the live
tail and the default nanomsg source are sockets in the runtime directory
($RUNTIME_DIRECTORY, or --runtime-dir), and incidentctl finds both the same way. A socket
that cannot be bound (another incidentd on the same runtime directory) is a clear start-up
error without a sanitizer report. `incidentctl health` probes /healthz and /readyz."""

import os
import shutil
import stat
import subprocess
import time

import harness
from harness import Daemon, sample, wait_until
from test_nanomsg import Tail, push


def ctl(env, *args):
    p = subprocess.run([harness.INCIDENTCTL] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def defaults_confd(extra=""):
    with open(os.path.join(harness.CONFD_DIR, "00-defaults.yaml")) as f:
        confd = {"00-defaults.yaml": f.read()}
    if extra:
        confd["10-test.yaml"] = extra
    return confd


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except FileNotFoundError:
        return False


def main(t):
    seed = sample("argocd", "seed-aks-store-degraded.client_payload.json")

    # --- the shipped conf.d, no -d: state and runtime directories from the environment --
    d = Daemon(t, defaults_confd("sources:\n  nanomsg: {}\n"), db_option=False)
    state, run = d.env["STATE_DIRECTORY"], d.env["RUNTIME_DIRECTORY"]
    t.ok(d.wait_log(r"ledger %s/incidentd\.db" % state, 5), "ledger in $STATE_DIRECTORY",
         "\n".join(d.lines()))
    st, _, body = d.post("/v1/events/argocd", seed)
    t.eq(st, 202, "seed sample accepted")
    t.ok(os.path.exists(os.path.join(state, "incidentd.db")), "incidentd.db in the state dir")
    t.ok(is_socket(os.path.join(run, "tail.ipc")), "live tail socket run/tail.ipc")
    t.ok(is_socket(os.path.join(run, "events.ipc")),
         "nanomsg source without pull: socket run/events.ipc")
    t.ok(not os.path.exists(os.path.join(os.getcwd(), "var", "tail.ipc")),
         "nothing in the working directory")

    # incidentctl: the ledger and the tail where the daemon put them, from the same variables
    env = dict(os.environ, STATE_DIRECTORY=state, RUNTIME_DIRECTORY=run)
    env.pop("INCIDENTD_DB", None)
    env.pop("INCIDENTD_TAIL", None)
    rc, out, err = ctl(env, "events")
    t.ok(rc == 0 and body["events"][0] in out, "incidentctl events finds the ledger without "
         "--db", out + err)
    tail = Tail([], env=env)
    time.sleep(0.5)      # the subscription is made before the event is sent
    t.eq(push("ipc://%s/events.ipc" % run, sample("event", "seed-backup-failed.json")), 0,
         "pushed to the default PULL socket")
    st, _, _ = d.post("/v1/events/argocd", sample(
        "argocd", "seed-aks-store-recovered.client_payload.json"))
    got = wait_until(lambda: [l for l in tail.get() if "aks-store" in l], 10)
    rc, err = tail.stop()
    t.ok(got, "incidentctl tail subscribes to $RUNTIME_DIRECTORY/tail.ipc", err)
    t.ok(wait_until(lambda: d.scalar("select count(*) from events") == 3, 10),
         "the nanomsg event is in the ledger too")

    # --- incidentctl health -------------------------------------------------------------
    url = "http://127.0.0.1:%d" % d.port
    rc, out, err = ctl(env, "health", "--url", url)
    t.ok(rc == 0 and out == "ok\n", "health: exit 0, ok", out + err)
    rc, out, err = ctl(env, "health", "--ready", "--url", url + "/")
    t.ok(rc == 0 and out == "ready\n", "health --ready: exit 0, ready", out + err)
    rc, out, err = ctl(dict(env, INCIDENTD_URL=url), "health")
    t.ok(rc == 0, "health: $INCIDENTD_URL", out + err)
    rc, out, err = ctl(env, "--json", "health", "--url", url)
    t.ok(rc == 0 and out == '{"status":"ok"}\n', "--json health: the daemon's answer", out + err)
    rc, out, err = ctl(env, "health", "--url", "http://127.0.0.1:1")
    t.ok(rc == 1 and "cannot reach incidentd at http://127.0.0.1:1" in err,
         "health of nothing: exit 1 and why", err)
    rc, out, err = ctl(env, "health", "--bogus")
    t.eq(rc, 2, "health: unknown option is a usage error")

    # --- a second incidentd on the same runtime directory: clear error, no leak ---------
    argv = [harness.INCIDENTD, "-c", d.confd, "-d", os.path.join(d.dir, "second.db"),
            "-l", "127.0.0.1:0", "--plugin-dir", harness.PLUGIN_DIR]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                       env=d.env)
    err = p.stderr.decode()
    t.eq(p.returncode, 1, "second incidentd on the same sockets: exit 1")
    t.ok("cannot bind server.publish ipc://%s/tail.ipc: Address already in use" % run in err,
         "second incidentd: says which socket is taken", err)
    t.ok(not any(m in err for m in harness.SANITIZER_MARKS),
         "failed start: no sanitizer report", err)
    t.ok(is_socket(os.path.join(run, "tail.ipc")), "the first daemon's socket stays")
    st, _, _ = d.get("/healthz")
    t.eq(st, 200, "the first daemon keeps serving")
    d.stop()

    # a directory incidentd may not write: clear error, no leak (as an unprivileged user)
    if os.geteuid() == 0 and shutil.which("setpriv"):
        ro = os.path.join(d.dir, "ro")
        os.makedirs(ro, mode=0o755)
        os.chmod(d.dir, 0o755)
        os.chmod(os.path.join(d.dir, "conf.d"), 0o755)
        for name in os.listdir(d.confd):
            os.chmod(os.path.join(d.confd, name), 0o644)
        db = os.path.join(d.dir, "nobody")
        os.makedirs(db, mode=0o777)
        os.chmod(db, 0o777)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] +
                           argv[:3] + ["-d", os.path.join(db, "x.db"), "-l", "127.0.0.1:0",
                                       "--plugin-dir", harness.PLUGIN_DIR,
                                       "--runtime-dir", ro],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                           env=d.env)
        err = p.stderr.decode()
        t.ok(p.returncode == 1 and "cannot bind server.publish ipc://%s/tail.ipc: "
             "Permission denied" % ro in err, "unwritable runtime dir: exit 1 and why", err)
        t.ok(not any(m in err for m in harness.SANITIZER_MARKS),
             "unwritable runtime dir: no sanitizer report", err)
    else:
        t.skip("unwritable runtime dir", "needs root and setpriv to drop privileges")

    # --- the options win over the environment; relative ledger.path in the state dir ----
    d2 = Daemon(t, defaults_confd("ledger:\n  path: sub/ledger.db\n"), db_option=False,
                args=["--state-dir", os.path.join(d.dir, "s2"),
                      "--runtime-dir", os.path.join(d.dir, "r2")])
    d2.db = os.path.join(d.dir, "s2", "sub", "ledger.db")
    st, _, _ = d2.post("/v1/events/argocd", seed)
    t.eq(st, 202, "--state-dir: accepted")
    t.ok(os.path.exists(d2.db), "relative ledger.path inside --state-dir")
    t.ok(is_socket(os.path.join(d.dir, "r2", "tail.ipc")), "tail socket inside --runtime-dir")
    t.ok(not os.path.exists(os.path.join(d2.env["STATE_DIRECTORY"], "incidentd.db")),
         "$STATE_DIRECTORY unused when --state-dir is given")
    d2.stop()


if __name__ == "__main__":
    harness.run(main)
