#!/usr/bin/env python3
"""Durability: a 202 means committed. SIGKILL right after it loses nothing, and pending
deliveries resume after the restart (including ones that were running)."""

import os

import harness
from harness import Daemon, recorder, sample_json, test_sink_path, wait_until


def main(t):
    tmp = os.environ.get("TMPDIR", "/tmp")
    rec = os.path.join(tmp, "rec-crash-%d.jsonl" % os.getpid())
    if os.path.exists(rec):
        os.unlink(rec)
    t.cleanups.append(lambda: os.path.exists(rec) and os.unlink(rec))
    # the sink takes 2 s per delivery, so a SIGKILL finds the delivery running
    conf = {"10-test.yaml": "sources:\n  argocd: { auth: none }\n"
            "sinks:\n  slow: { plugin: %s, record: %s, delay: 2s }\n"
            "routes:\n  - { name: default, sinks: [slow] }\n" % (test_sink_path(), rec)}
    d = Daemon(t, conf)
    ids = []
    for i in range(20):
        p = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
        p.update({"app_name": "app-%02d" % i})
        st, _, body = d.post("/v1/events/argocd", p)
        if st == 202:
            ids += body.get("events", [])
    t.eq(len(ids), 20, "20 events accepted")
    d.kill9()
    t.eq(d.scalar("SELECT count(*) FROM events"), 20, "after SIGKILL: every acknowledged event is in the ledger")
    t.eq(d.scalar("SELECT count(*) FROM deliveries WHERE state IN ('pending','running')"), 20,
         "after SIGKILL: 20 deliveries outstanding")
    if not d.pg:
        t.eq(d.scalar("PRAGMA journal_mode"), "wal", "ledger in WAL mode")

    d.start()
    t.ok(d.wait_log(r"requeued|resum", 5) is not None, "restart reports resumed deliveries")
    done = wait_until(lambda: d.scalar("SELECT count(*) FROM deliveries WHERE state = 'done'") == 20, 20)
    t.ok(done, "after restart: all 20 deliveries done",
         d.sql("SELECT state, count(*) FROM deliveries GROUP BY state"))
    seen = {(r.get("event") or {}).get("id") for r in recorder(rec)}
    t.ok(set(ids) <= seen, "every event reached the sink", len(seen))
    d.stop()


harness.run(main)
