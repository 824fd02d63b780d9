"""No amplification (issue "trust boundary", row 2): what an Alertmanager body shares
between its alerts is stored once per request, so one ~1 MB body of 1,500 alerts plus one
large extra top-level key cannot make the ledger grow by gigabytes. Stored bytes per request
stay within 4x the body plus a small constant per event; every event's payload still reads
whole (the shared members and its own alert), and a body whose common maps hold members
the alerts lack is refused instead of copied into every event."""

import json

import harness
from harness import Daemon, wait_until

CONF = {"10-test.yaml": "sources:\n  alertmanager: { auth: none }\n"
        "sinks:\n  log: { plugin: log }\n"
        "routes:\n  - name: default\n    sinks: [log]\n"}
PER_EVENT = 3072   # bytes: the event row and its indexes, trace rows, one delivery


def alert(i):
    return {"status": "firing",
            "labels": {"alertname": "KubePodCrashLooping", "namespace": "pets",
                       "pod": "aks-store-%d" % i, "severity": "critical",
                       "cluster": "prod-west-aks"},
            "annotations": {"summary": "pod aks-store-%d crash looping" % i},
            "startsAt": "2026-02-10T03:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "%016x" % (0xabc000 + i)}


def body(n, extra_bytes):
    b = {"version": "4", "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}",
         "status": "firing", "receiver": "incidentd",
         "groupLabels": {"alertname": "KubePodCrashLooping"},
         "commonLabels": {"alertname": "KubePodCrashLooping", "severity": "critical"},
         "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
         "alerts": [alert(i) for i in range(n)]}
    b["padding"] = "x" * max(0, extra_bytes)
    return json.dumps(b, separators=(",", ":")).encode()


def ledger_bytes(d):
    """The database's size as a reader sees it (its pages, WAL included)."""
    if d.pg:
        return d.scalar("SELECT pg_database_size(current_database())")
    return d.scalar("pragma page_count") * d.scalar("pragma page_size")


def main(t):
    d = Daemon(t, CONF)
    st, _, _ = d.post("/v1/events/alertmanager", body(1, 0))    # warm the ledger up
    t.eq(st, 202, "a small body is accepted")
    t.ok(wait_until(lambda: d.scalar("select count(*) from deliveries where state = 'done'")
                    == 1, 10), "its delivery is made")
    before = ledger_bytes(d)
    small = body(1500, 0)
    big = body(1500, 993 * 1024 - len(small))
    t.ok(len(big) <= 1024 * 1024, "the body is %d bytes (within max_body)" % len(big))
    # a long timeout: a sanitizer build on a busy machine takes a while for 1,500 alerts
    st, _, answer = d.post("/v1/events/alertmanager", big, timeout=120)
    t.eq(st, 202, "1,500 alerts with a large extra top-level key are accepted")
    t.eq(answer.get("accepted") if isinstance(answer, dict) else None, 1500,
         "1,500 events")
    t.eq(d.get("/healthz")[0], 200, "the daemon answers right after")
    grown = ledger_bytes(d) - before
    bound = 4 * len(big) + PER_EVENT * 1500
    t.ok(grown <= bound, "the ledger grew by %d bytes (bound 4 x %d + %d x 1500 = %d)"
         % (grown, len(big), PER_EVENT, bound))
    t.eq(d.scalar("select count(*) from requests where length(shared) > 300000"), 1,
         "the shared top-level members are stored once")
    t.ok(d.scalar("select max(length(payload)) from events where source = "
                  "'alertmanager'") < 1024, "each event row holds only its own alert")
    ev = d.scalar("select id from events where app = 'aks-store-7'")
    st, _, one = d.get("/v1/events/%s" % ev)
    p = one.get("payload", {}) if isinstance(one, dict) else {}
    t.ok(st == 200 and p.get("receiver") == "incidentd" and len(p.get("padding", "")) > 300000
         and p.get("alert", {}).get("labels", {}).get("pod") == "aks-store-7",
         "an event's payload reads whole: shared members and its own alert")
    t.ok(wait_until(lambda: d.scalar("select count(*) from deliveries where state = 'done'")
                    == 1501, 60), "every alert's delivery is made")

    # common maps with members the alerts lack would be copied into every event
    b = json.loads(body(1000, 0))
    b["commonAnnotations"] = {"runbook": "y" * 2000}
    st, _, answer = d.post("/v1/events/alertmanager", json.dumps(b))
    t.eq(st, 413, "common members the alerts lack, 2 KB x 1,000 alerts: refused (413)")
    t.ok("commonLabels/commonAnnotations" in str(answer), "the answer says why", answer)
    b["commonAnnotations"] = {"runbook": "y" * 200}
    st, _, _ = d.post("/v1/events/alertmanager", json.dumps(b))
    t.eq(st, 202, "... 200 bytes x 1,000 alerts are merged as before")
    d.stop()


harness.run(main)
