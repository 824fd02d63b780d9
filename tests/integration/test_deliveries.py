#!/usr/bin/env python3
"""The dispatcher: sink plugins act on deliveries, retries honour the sink's delay and the
back-off, failures are recorded, `after:` chains see the earlier sink's result."""

import json
import os
import time

import harness
from harness import Daemon, recorder, sample, sample_json, test_sink_path, wait_until

DEGRADED = "seed-aks-store-degraded.client_payload.json"


def degraded(app="aks-store", ts="2026-02-10T03:01:12Z"):
    p = sample_json("argocd", DEGRADED)
    p.update({"app_name": app, "timestamp": ts})
    return p


def conf(sinks, routes):
    return {"10-test.yaml": "sources:\n  argocd: { auth: none }\nsinks:\n" + sinks +
            "routes:\n" + routes}


def main(t):
    tmp = os.environ.get("TMPDIR", "/tmp")
    plug = test_sink_path()
    rec_ok = os.path.join(tmp, "rec-ok-%d.jsonl" % os.getpid())
    rec_retry = os.path.join(tmp, "rec-retry-%d.jsonl" % os.getpid())
    rec_fail = os.path.join(tmp, "rec-fail-%d.jsonl" % os.getpid())
    rec_chain = os.path.join(tmp, "rec-chain-%d.jsonl" % os.getpid())
    for p in (rec_ok, rec_retry, rec_fail, rec_chain):
        if os.path.exists(p):
            os.unlink(p)
    t.cleanups.append(lambda: [os.unlink(p) for p in (rec_ok, rec_retry, rec_fail, rec_chain)
                               if os.path.exists(p)])

    sinks = (
        "  issue: { plugin: %s, record: %s, result: { issue: 42, url: \"https://example.test/42\" } }\n"
        "  flaky: { plugin: %s, record: %s, fail_times: 2, retry_after: 300ms }\n"
        "  broken: { plugin: %s, record: %s, mode: fail, retry: { initial: 50ms, max: 100ms } }\n"
        "  label: { plugin: %s, record: %s, after: issue }\n"
        "  log: { plugin: log }\n" % (plug, rec_ok, plug, rec_retry, plug, rec_fail, plug, rec_chain))
    routes = "  - name: default\n    sinks: [issue, flaky, broken, label, log]\n"
    d = Daemon(t, conf(sinks, routes))

    st, _, body = d.post("/v1/events/argocd", degraded())
    t.eq(st, 202, "degraded accepted")
    ev = (body.get("events") or [None])[0]

    # the plain sink: one open delivery with the incident and event
    recs = wait_until(lambda: recorder(rec_ok), 5)
    t.eq(len(recs), 1, "issue sink called once")
    r = recs[0] if recs else {}
    t.eq(r.get("action"), "open", "issue sink: action open")
    t.eq((r.get("incident") or {}).get("key"), "argocd/prod-west-aks/pets/aks-store",
         "issue sink sees the incident key")
    t.eq((r.get("event") or {}).get("id"), ev, "issue sink sees the event")
    t.eq(((r.get("event") or {}).get("payload") or {}).get("app_name"), "aks-store",
         "issue sink sees the raw payload")
    t.eq((r.get("event") or {}).get("resource_health"), "reported", "issue sink sees the normalized event")

    # chained sink runs after and sees the result of the first in incident.refs
    chain = wait_until(lambda: recorder(rec_chain), 5)
    t.eq(len(chain), 1, "chained sink called once after its dependency")
    refs = ((chain[0] if chain else {}).get("incident") or {}).get("refs") or {}
    t.eq(refs.get("issue", {}).get("issue"), 42, "chained sink sees refs.issue.issue = 42")
    t.eq(d.scalar("SELECT json_extract(refs, '$.issue.url') FROM incidents"), "https://example.test/42",
         "sink result stored on the incident")

    # the flaky sink asked for 300 ms twice, then succeeds on attempt 3
    t0 = time.monotonic()
    flaky = wait_until(lambda: len(recorder(rec_retry)) >= 3 and recorder(rec_retry), 8)
    el = time.monotonic() - t0
    t.eq([x.get("attempt") for x in flaky or []], [1, 2, 3], "flaky sink: attempts 1, 2, 3")
    row = wait_until(lambda: d.sql("SELECT state, attempts, last_status FROM deliveries WHERE sink = 'flaky'")
                     == [("done", 3, "ok")] and True, 3)
    t.ok(row, "flaky delivery done after 3 attempts",
         d.sql("SELECT state, attempts, last_status, last_error FROM deliveries WHERE sink = 'flaky'"))
    t.diag("flaky finished %.2f s after the first check" % el)

    # the broken sink fails permanently: recorded with the reason
    row = wait_until(lambda: d.sql("SELECT state, last_status, last_error FROM deliveries "
                                   "WHERE sink = 'broken' AND state = 'failed'"), 5)
    t.eq(row, [("failed", "fail", "test failure")], "broken sink: failed with the reason kept")
    rc, out, err = d.ctl("--json", "deliveries", "--failed")
    fl = json.loads(out) if rc == 0 else []
    t.eq([x.get("sink") for x in fl], ["broken"], "incidentctl deliveries --failed lists it")
    rc, out, err = d.ctl("deliveries", "--failed")
    t.ok(rc == 0 and "test failure" in out, "deliveries --failed table shows the error", out + err)

    # every attempt is traced, and the retries waited the delay the sink asked for
    # measured from when the sink was called (the trace's times are when outcomes were
    # written, which a busy machine can delay)
    ats = [r["at"] for r in recorder(rec_retry)]
    gaps = [b - a for a, b in zip(ats, ats[1:])]
    t.ok(len(gaps) == 2 and min(gaps) >= 300, "flaky: attempts >= 300 ms apart (retry_after)", gaps)
    n = d.scalar("SELECT count(*) FROM decisions WHERE step = 'delivery' AND outcome = 'retry'")
    t.ok(n is not None and n >= 2, "retried attempts are in the decision trace", n)

    # metrics
    st, _, m = d.get("/metrics")
    t.ok('incidentd_deliveries_total{sink="flaky",outcome="retry"} 2' in m, "metrics: 2 retries for flaky", m)
    t.ok('incidentd_deliveries_total{sink="broken",outcome="fail"} 1' in m, "metrics: 1 failure", m)

    # update then resolve reach the sinks as actions
    st, _, _ = d.post("/v1/events/argocd", degraded(ts="2026-02-10T03:09:00Z"))
    st2, _, _ = d.post("/v1/events/argocd", sample("argocd", "seed-aks-store-recovered.client_payload.json"))
    recs = wait_until(lambda: len(recorder(rec_ok)) >= 3 and recorder(rec_ok), 5) or recorder(rec_ok)
    t.eq([x.get("action") for x in recs], ["open", "update", "resolve"], "actions open, update, resolve in order")
    t.ok(d.wait_log(r"sink/log: delivery \d+ action=resolve attempt=1 incident=\S+ "
                    r"key=argocd/prod-west-aks/pets/aks-store event=\S+ status=resolved", 5),
         "log sink line for the resolve")
    d.stop()

    # a sink that answers synchronously (inside deliver) is caught: never completes early
    rec_sync = os.path.join(tmp, "rec-sync-%d.jsonl" % os.getpid())
    t.cleanups.append(lambda: os.path.exists(rec_sync) and os.unlink(rec_sync))
    s = Daemon(t, conf("  s: { plugin: %s, record: %s, mode: sync }\n" % (plug, rec_sync),
                       "  - { name: default, sinks: [s] }\n"))
    st, _, _ = s.post("/v1/events/argocd", degraded())
    t.eq(st, 202, "sync sink: accepted")
    row = wait_until(lambda: s.sql("SELECT state FROM deliveries WHERE state IN ('done','failed')"), 5)
    t.eq(row, [("done",)], "sync-completing sink: delivery still done exactly once")
    t.eq(len(recorder(rec_sync)), 1, "sync sink called once")
    s.stop()


harness.run(main)
