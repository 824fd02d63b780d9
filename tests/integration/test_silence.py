#!/usr/bin/env python3
"""Silences: `incidentctl silence add/list/expire` against the ledger of a running daemon;
matching events still make incidents but reach no sink, the trace says which silence, and
expiring it lets the next event through. Time intervals mute routes the same way."""

import json
import os

import harness
from harness import Daemon, recorder, sample_json, test_sink_path, wait_until


def ev(app, ts):
    p = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
    p.update({"app_name": app, "timestamp": ts})
    return p


def main(t):
    tmp = os.environ.get("TMPDIR", "/tmp")
    rec = os.path.join(tmp, "rec-silence-%d.jsonl" % os.getpid())
    if os.path.exists(rec):
        os.unlink(rec)
    t.cleanups.append(lambda: os.path.exists(rec) and os.unlink(rec))
    d = Daemon(t, {"10.yaml": "sources:\n  argocd: { auth: none }\n"
                   "sinks:\n  s: { plugin: %s, record: %s }\n"
                   "routes:\n  - { name: default, sinks: [s] }\n" % (test_sink_path(), rec)})
    # a first event creates the ledger's content; silences go into the same ledger
    rc, out, err = d.ctl("silence", "add", "app=aks-store", "cluster=~\"prod-.*\"", "--for",
                         "2h", "--comment", "deploy freeze", "--author", "oncall")
    sid = out.strip()
    t.ok(rc == 0 and len(sid) == 26 and "silenced until" in err, "silence add prints the id",
         out + err)
    rc, out, err = d.ctl("silence", "list")
    t.ok(rc == 0 and sid in out and "deploy freeze" in out and "oncall" in out,
         "silence list shows it", out + err)

    st, _, a = d.post("/v1/events/argocd", ev("aks-store", "2026-02-10T03:00:00Z"))
    t.eq(st, 202, "silenced event accepted")
    st, _, b = d.post("/v1/events/argocd", ev("aks-store-2", "2026-02-10T03:00:00Z"))
    t.ok(wait_until(lambda: len(recorder(rec)) == 1, 5), "the other app is delivered")
    t.eq([(r["event"]["app"], r["action"]) for r in recorder(rec)], [("aks-store-2", "open")],
         "nothing for the silenced app")
    t.eq(d.scalar("SELECT count(*) FROM incidents WHERE app = 'aks-store'"), 1,
         "the silenced incident is still recorded")
    rc, out, err = d.ctl("explain", a["events"][0])
    t.ok(rc == 0 and "silenced" in out and sid in out and "deploy freeze" in out,
         "explain names the silence", out)

    rc, out, err = d.ctl("silence", "expire", sid)
    t.ok(rc == 0 and "expired" in out, "silence expire", out + err)
    rc, out, err = d.ctl("silence", "expire", sid)
    t.eq(rc, 1, "expiring twice: no active silence")
    rc, out, err = d.ctl("silence", "list")
    t.ok(sid not in out, "no longer listed as active")
    rc, out, err = d.ctl("--json", "silence", "list", "--all")
    lst = json.loads(out) if rc == 0 else []
    t.ok(any(s["id"] == sid and s["expired_at"] for s in lst), "--all shows it expired", out)
    st, _, _ = d.post("/v1/events/argocd", ev("aks-store", "2026-02-10T03:05:00Z"))
    t.ok(wait_until(lambda: any(r["event"]["app"] == "aks-store" for r in recorder(rec)), 5),
         "after expiry the next event reaches the sink")

    # bad input changes nothing
    rc, out, err = d.ctl("silence", "add", "clustr=x", "--for", "1h", "--comment", "c")
    t.ok(rc == 1 and "unknown field 'clustr'" in err, "bad matcher refused", err)
    rc, out, err = d.ctl("silence", "add", "app=x", "--comment", "c")
    t.eq(rc, 2, "--for or --until required")
    rc, out, err = d.ctl("silence", "add", "app=x", "--for", "1h")
    t.eq(rc, 2, "--comment required")
    rc, out, err = d.ctl("silence", "add", "app=~\"(?=aks)\"", "--for", "1h", "--comment", "c")
    t.ok(rc == 1 and "invalid or unsupported Perl syntax: `(?=` (lookarounds are not "
         "supported" in err, "a regex Alertmanager refuses is refused, in its words", err)
    rc, out, err = d.ctl("--json", "silence", "list", "--all")
    t.eq(len(json.loads(out)), 1, "nothing added by the refused commands")

    # silence matchers read as Alertmanager reads them: \. is a literal dot, \S stays \S
    rc, dot, err = d.ctl("silence", "add", "app=~\"aks\\.store\"", "--for", "1h",
                         "--comment", "literal dot")
    t.eq(rc, 0, "silence add app=~\"aks\\.store\"")
    n = len(recorder(rec))
    st, _, c = d.post("/v1/events/argocd", ev("aks-store", "2026-02-10T03:10:00Z"))
    t.ok(st == 202 and wait_until(lambda: len(recorder(rec)) == n + 1, 5),
         "\\. does not match the - of aks-store: delivered", recorder(rec))
    rc, sx, err = d.ctl("silence", "add", "app=~\"aks-\\S+\"", "--for", "1h",
                        "--comment", "non-space")
    t.eq(rc, 0, "silence add app=~\"aks-\\S+\"")
    st, _, c = d.post("/v1/events/argocd", ev("aks-store", "2026-02-10T03:15:00Z"))
    t.eq(st, 202, "accepted")
    rc, out, err = d.ctl("explain", c["events"][0])
    t.ok(rc == 0 and "silenced" in out and sx.strip() in out and dot.strip() not in out,
         "\\S+ matches store: silenced by that silence, not the other", out)
    d.stop()

    # --- time intervals: mute_time_intervals and active_time_intervals ------------------
    conf = ("sources:\n  argocd: { auth: none }\n"
            "sinks:\n  s: { plugin: %s, record: %s }\n"
            "time_intervals:\n"
            "  - { name: always, time_intervals: [ {} ] }\n"
            "  - { name: in-1999, time_intervals: [ { years: ['1999'] } ] }\n"
            "routes:\n"
            "  - { name: maint, match: ['app = maint-app'], sinks: [s],"
            " mute_time_intervals: [always] }\n"
            "  - { name: hours, match: ['app = hours-app'], sinks: [s],"
            " active_time_intervals: [in-1999] }\n"
            "  - { name: default, sinks: [s] }\n" % (test_sink_path(), rec))
    os.unlink(rec)
    m = Daemon(t, {"10.yaml": conf})
    for app in ("maint-app", "hours-app", "other-app"):
        st, _, _ = m.post("/v1/events/argocd", ev(app, "2026-02-10T03:00:00Z"))
        t.eq(st, 202, "%s accepted" % app)
    t.ok(wait_until(lambda: len(recorder(rec)) == 1, 5), "one delivery")
    t.eq([r["event"]["app"] for r in recorder(rec)], ["other-app"], "only the unmuted route")
    why = [r[0] for r in m.sql("SELECT detail FROM decisions WHERE outcome = 'muted' "
                               "ORDER BY id")]
    t.ok(len(why) == 2 and "muted by time interval always" in why[0] and
         "outside its active time intervals" in why[1], "the trace says why", why)
    m.stop()
    bad = dict(conf=conf.replace("mute_time_intervals: [always]",
                                 "mute_time_intervals: [nope]"))
    p = Daemon(t, {"10.yaml": bad["conf"]}, start=False)
    import subprocess
    r = subprocess.run([harness.INCIDENTD, "-c", p.confd, "--plugin-dir", harness.PLUGIN_DIR,
                        "--check-config"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=20)
    t.ok(r.returncode == 1 and "routes.0.mute_time_intervals.0: no time interval named "
         "'nope'" in r.stderr.decode(), "unknown interval name: config error",
         r.stderr.decode())


harness.run(main)
