#!/usr/bin/env python3
"""A request is answered before its deliveries start: a sink whose deliver() holds the
event loop (here the test sink's `block`, 2 s inside deliver()) must not delay the 202 of
the request that caused the delivery. The deliveries of a commit pass reach their sinks on
the next loop iteration, after the answers of the pass are sent (dispatcher_start_ready)."""

import os
import time

import harness
from harness import Daemon, recorder, sample_json, test_sink_path, wait_until


def main(t):
    rec = os.path.join(os.environ.get("TMPDIR", "/tmp"), "rec-first-%d.jsonl" % os.getpid())
    if os.path.exists(rec):
        os.unlink(rec)
    t.cleanups.append(lambda: os.path.exists(rec) and os.unlink(rec))
    conf = {"10-test.yaml":
            "sources:\n  argocd: { auth: none }\n"
            "sinks:\n  slow: { plugin: %s, record: %s, block: 2s }\n"
            "routes:\n  - name: default\n    sinks: [slow]\n" % (test_sink_path(), rec)}
    d = Daemon(t, conf)
    body = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
    t0 = time.monotonic()
    code, _, _ = d.post("/v1/events/argocd", body, timeout=30)
    took = time.monotonic() - t0
    t.eq(code, 202, "the event is accepted")
    t.ok(took < 1.5, "answered before the sink's 2 s in deliver() (%.2f s)" % took)
    lines = wait_until(lambda: recorder(rec) if len(recorder(rec)) >= 1 else None, 15)
    t.ok(lines is not None and len(lines) == 1 and lines[0].get("action") == "open",
         "then the sink got the delivery", lines)
    d.stop()


if __name__ == "__main__":
    harness.run(main)
