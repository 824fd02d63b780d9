#!/usr/bin/env python3
"""Debounce through the real daemon: `for` holds the first notification and a recovery in
between cancels it (the sink never hears of it), a held notification survives a SIGKILL and
a restart (its due time is in the ledger), `flap_window` holds a relapse down, and
`repeat_interval` bounds updates."""

import os
import time

import harness
from harness import Daemon, recorder, sample_json, test_sink_path, wait_until

DEGRADED = "seed-aks-store-degraded.client_payload.json"
RECOVERED = "seed-aks-store-recovered.client_payload.json"


def ev(app, sample=DEGRADED, ts="2026-02-10T03:01:12Z", rev=None):
    p = sample_json("argocd", sample)
    p.update({"app_name": app, "timestamp": ts})
    if rev:
        p["revision"] = rev
    return p


def calls(rec, app):
    return [(r["action"], r["attempt"]) for r in recorder(rec)
            if (r.get("event") or {}).get("app") == app]


def main(t):
    tmp = os.environ.get("TMPDIR", "/tmp")
    rec = os.path.join(tmp, "rec-windows-%d.jsonl" % os.getpid())
    if os.path.exists(rec):
        os.unlink(rec)
    t.cleanups.append(lambda: os.path.exists(rec) and os.unlink(rec))
    conf = {"10-test.yaml": (
        "sources:\n  argocd: { auth: none }\n"
        "sinks:\n  s: { plugin: %s, record: %s }\n"
        "  chained: { plugin: %s, record: %s, after: s }\n"
        "routes:\n"
        "  - name: held\n"
        "    match: ['app =~ \"held-.*\"']\n"
        "    for: 2s\n"
        "    flap_window: 3s\n"
        "    repeat_interval: 1h\n"
        "    sinks: [s, chained]\n"
        "  - name: plain\n"
        "    sinks: [s]\n" % (test_sink_path(), rec, test_sink_path(), rec + ".chained"))}
    t.cleanups.append(lambda: os.path.exists(rec + ".chained") and os.unlink(rec + ".chained"))
    d = Daemon(t, conf)

    # --- a recovery within `for` cancels: nothing reaches the sinks ---------------------
    st, _, a = d.post("/v1/events/argocd", ev("held-blip"))
    t.eq(st, 202, "blip accepted")
    held = d.sql("SELECT sink, state, requires_firing FROM deliveries WHERE event_id = ?",
                 (a["events"][0],))
    t.eq(sorted(held), [("chained", "blocked", 1), ("s", "pending", 1)],
         "the first notification is held; the chained sink waits behind it")
    st, _, _ = d.post("/v1/events/argocd", ev("held-blip", RECOVERED))
    t.eq(st, 202, "recovery accepted")
    time.sleep(2.5)
    t.eq(calls(rec, "held-blip"), [], "recovered within for: the sink never heard of it")
    t.eq(recorder(rec + ".chained"), [], "nor the chained sink")
    rows = dict(d.sql("SELECT d.sink || ':' || d.action, d.state FROM deliveries d JOIN "
                      "incidents i ON i.id = d.incident_id WHERE i.app = 'held-blip'"))
    t.eq(rows, {"s:open": "cancelled", "chained:open": "cancelled"},
         "held open and its chain cancelled; no resolve delivery at all")
    why = d.scalar("SELECT group_concat(detail, ' | ') FROM decisions WHERE step = 'delivery' "
                   "AND incident_id = (SELECT id FROM incidents WHERE app = 'held-blip')")
    t.ok(why and "held until" in why and "resolved within the window" in why,
         "the trace explains the hold and the cancel", why)

    # --- still failing after `for`: delivered once, updates during the hold are folded ----
    st, _, _ = d.post("/v1/events/argocd", ev("held-real"))
    st, _, _ = d.post("/v1/events/argocd", ev("held-real", ts="2026-02-10T03:01:30Z"))
    t.eq(calls(rec, "held-real"), [], "nothing before the window ends")
    got = wait_until(lambda: calls(rec, "held-real"), 5)
    t.eq(got, [("open", 1)], "after 2 s: one open, the update during the hold folded into it")
    t.ok(wait_until(lambda: len(recorder(rec + ".chained")) == 1, 3),
         "the chained sink follows")
    # repeat_interval 1h: a further update is not sent
    st, _, _ = d.post("/v1/events/argocd", ev("held-real", ts="2026-02-10T03:02:00Z"))
    time.sleep(0.5)
    t.eq(calls(rec, "held-real"), [("open", 1)], "repeat_interval: the update is not sent")
    t.ok(d.scalar("SELECT count(*) FROM decisions WHERE detail LIKE '%repeat_interval 1h: "
                  "last notified%'") >= 1, "and the trace says why")

    # --- flap: a relapse within flap_window is held down ----------------------------------
    st, _, _ = d.post("/v1/events/argocd", ev("held-real", RECOVERED, ts="2026-02-10T03:03:00Z"))
    t.ok(wait_until(lambda: ("resolve", 1) in calls(rec, "held-real"), 3),
         "the recovery is sent (the sink was notified)")
    st, _, _ = d.post("/v1/events/argocd", ev("held-real", ts="2026-02-10T03:03:10Z"))
    t.ok(d.scalar("SELECT count(*) FROM decisions WHERE detail LIKE '%flapping%'") >= 1,
         "the relapse is held as flapping")
    time.sleep(1.0)
    t.eq(calls(rec, "held-real"), [("open", 1), ("resolve", 1)], "not re-notified at once")
    st, _, _ = d.post("/v1/events/argocd", ev("held-real", RECOVERED, ts="2026-02-10T03:03:20Z"))
    time.sleep(3.0)
    t.eq(calls(rec, "held-real"), [("open", 1), ("resolve", 1)],
         "flapped back within the window: no open, no resolve")

    # --- a held notification survives SIGKILL and restart ------------------------------
    st, _, _ = d.post("/v1/events/argocd", ev("held-crash"))
    t.eq(st, 202, "held-crash accepted")
    d.kill9()
    d.start()
    got = wait_until(lambda: calls(rec, "held-crash"), 6)
    t.eq(got, [("open", 1)], "after a restart the held notification is sent when due")
    due = d.scalar("SELECT (julianday(updated_at) - julianday(created_at)) * 86400000 FROM "
                   "deliveries WHERE sink = 's' AND incident_id = (SELECT id FROM incidents "
                   "WHERE app = 'held-crash')")
    t.ok(due is not None and due >= 1900, "not before the window ended (%s ms)" % due)

    # --- routes without windows are unchanged -------------------------------------------
    st, _, _ = d.post("/v1/events/argocd", ev("plain-app"))
    t.ok(wait_until(lambda: calls(rec, "plain-app") == [("open", 1)], 3),
         "a route without for notifies at once")
    d.stop()


harness.run(main)
