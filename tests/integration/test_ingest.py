#!/usr/bin/env python3
"""Accepting Argo CD events: both body shapes, the repository_dispatch drop-in, the ledger
content (plain SQL and incidentctl), duplicate recognition, info events."""

import json

import harness
from harness import Daemon, base_confd, sample, sample_json

ULID = r"^[0-9A-HJKMNP-TV-Z]{26}$"


def main(t):
    d = Daemon(t, base_confd())

    # 1. the client_payload object of the reference template
    st, _, body = d.post("/v1/events/argocd", sample("argocd", "seed-aks-store-degraded.client_payload.json"))
    t.eq(st, 202, "client_payload: 202")
    t.eq(body.get("accepted"), 1, "client_payload: accepted 1")
    ids = body.get("events", [])
    t.ok(len(ids) == 1 and len(ids[0]) == 26, "client_payload: one 26-char event id", body)
    ev1 = ids[0]
    # committed before the answer: the row is readable right now
    row = d.sql("SELECT source, type, status, severity, app, cluster, namespace, revision "
                "FROM events WHERE id = ?", (ev1,))
    t.eq(row, [("argocd", "deployment.degraded", "firing", "error", "aks-store", "prod-west-aks",
                "pets", "4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80")],
         "event committed before the 202 with normalized columns")
    t.eq(d.scalar("SELECT occurred_at FROM events WHERE id = ?", (ev1,)),
         "2026-02-10T03:01:12.000Z", "occurred_at from the payload timestamp, RFC 3339")
    payload = json.loads(d.scalar("SELECT payload FROM events WHERE id = ?", (ev1,)))
    t.eq(payload, sample_json("argocd", "seed-aks-store-degraded.client_payload.json"),
         "raw payload kept verbatim")
    evjson = json.loads(d.scalar("SELECT event FROM events WHERE id = ?", (ev1,)))
    t.eq(evjson.get("resource_health"), "reported", "resource health reported")
    t.eq(len(evjson.get("resources", [])), 5, "five resources normalized")
    inc = d.sql("SELECT key, state, event_count FROM incidents")
    t.eq(inc, [("argocd/prod-west-aks/pets/aks-store", "firing", 1)], "incident opened with key")
    dl = d.sql("SELECT sink, action FROM deliveries WHERE event_id = ?", (ev1,))
    t.eq(dl, [("log", "open")], "one 'open' delivery to the log sink")

    # 2. the whole repository_dispatch body, same endpoint (a later revision of the same app)
    disp = sample_json("argocd", "seed-aks-store-degraded.repository_dispatch.json")
    disp["client_payload"]["timestamp"] = "2026-02-10T03:05:00Z"
    st, _, body = d.post("/v1/events/argocd", disp)
    t.eq(st, 202, "repository_dispatch body: 202")
    ev2 = (body.get("events") or [None])[0]
    t.eq(d.scalar("SELECT json_extract(event, '$.labels.event_type') FROM events WHERE id = ?", (ev2,)),
         "argocd-sync-failed", "event_type kept as a label")
    t.eq(d.sql("SELECT count(*), max(event_count) FROM incidents"), [(1, 2)],
         "same incident, event_count 2")
    t.eq(d.scalar("SELECT action FROM deliveries WHERE event_id = ?", (ev2,)), "update",
         "second failure -> update delivery")

    # 3. the drop-in GitHub endpoint
    disp["client_payload"]["timestamp"] = "2026-02-10T03:06:00Z"
    st, _, body = d.post("/repos/example-org/platform-incidents/dispatches", disp,
                         {"Accept": "application/vnd.github+json"})
    t.eq(st, 202, "POST /repos/{owner}/{repo}/dispatches: 202")
    ev3 = (body.get("events") or [None])[0]
    t.eq(d.scalar("SELECT json_extract(event, '$.labels.dispatch_repo') FROM events WHERE id = ?", (ev3,)),
         "example-org/platform-incidents", "dispatch repo recorded")

    # 4. a retrying sender re-sends the identical body: recognized, nothing new stored
    n_before = d.scalar("SELECT count(*) FROM events")
    st, _, body = d.post("/v1/events/argocd", sample("argocd", "seed-aks-store-degraded.client_payload.json"))
    t.eq(st, 202, "duplicate: still 202 (the sender must stop retrying)")
    t.eq(body.get("accepted"), 0, "duplicate: accepted 0")
    t.eq(body.get("duplicate"), True, "duplicate: flagged")
    t.eq(body.get("events"), [ev1], "duplicate: original event id returned")
    t.eq(d.scalar("SELECT count(*) FROM events"), n_before, "duplicate: no new row")

    # 5. Argo CD >= 3.0: no per-resource health is recorded as such
    st, _, body = d.post("/v1/events/argocd",
                         sample("argocd", "seed-aks-store-degraded-argocd3-no-resource-health.client_payload.json"))
    t.eq(st, 202, "argocd3 payload: 202")
    ev4 = (body.get("events") or [None])[0]
    t.eq(d.scalar("SELECT json_extract(event, '$.resource_health') FROM events WHERE id = ?", (ev4,)),
         "absent", "argocd3: resource_health absent")

    # 6. recovery resolves the incident and sends a resolve action
    st, _, body = d.post("/v1/events/argocd", sample("argocd", "seed-aks-store-recovered.client_payload.json"))
    t.eq(st, 202, "recovered: 202")
    ev5 = (body.get("events") or [None])[0]
    t.eq(d.sql("SELECT type, status FROM events WHERE id = ?", (ev5,)),
         [("deployment.recovered", "resolved")], "recovered normalized")
    t.eq(d.scalar("SELECT state FROM incidents"), "resolved", "incident resolved")
    t.eq(d.scalar("SELECT action FROM deliveries WHERE event_id = ?", (ev5,)), "resolve",
         "resolve delivery")

    # 7. an info event (progressing) is recorded but opens nothing
    info = sample_json("argocd", "seed-aks-store-recovered.client_payload.json")
    info.update({"app_name": "other-app", "health_status": "Progressing", "timestamp": "2026-02-10T04:00:00Z"})
    st, _, body = d.post("/v1/events/argocd", info)
    ev6 = (body.get("events") or [None])[0]
    t.eq((st, d.scalar("SELECT status FROM events WHERE id = ?", (ev6,))), (202, "info"),
         "progressing app recorded as info")
    t.eq(d.scalar("SELECT count(*) FROM deliveries WHERE event_id = ?", (ev6,)), 0,
         "info event: no delivery")
    t.eq(d.scalar("SELECT count(*) FROM incidents"), 1, "info event: no incident")

    # 8. a resolved event without a firing incident: recorded, no delivery
    rec = sample_json("argocd", "seed-aks-store-recovered.client_payload.json")
    rec.update({"app_name": "never-failed"})
    st, _, body = d.post("/v1/events/argocd", rec)
    ev7 = (body.get("events") or [None])[0]
    t.eq((st, d.scalar("SELECT count(*) FROM deliveries WHERE event_id = ?", (ev7,))), (202, 0),
         "resolved without incident: no delivery")

    # 9. incidentctl
    rc, out, err = d.ctl("--json", "events")
    evs = json.loads(out) if rc == 0 else []
    t.eq(rc, 0, "incidentctl --json events exits 0")
    t.eq([e["id"] for e in evs][:1], [ev7], "incidentctl events: newest first")
    t.eq(len(evs), 7, "incidentctl events: all seven events")
    rc, out, err = d.ctl("events")
    t.ok(rc == 0 and "SOURCE" in out and "aks-store" in out, "incidentctl events: table", out + err)
    rc, out, err = d.ctl("--json", "incidents")
    incs = json.loads(out) if rc == 0 else []
    t.eq([(i["key"], i["state"]) for i in incs], [("argocd/prod-west-aks/pets/aks-store", "resolved")],
         "incidentctl --json incidents")
    rc, out, err = d.ctl("incidents")
    t.ok(rc == 0 and "argocd/prod-west-aks/pets/aks-store" in out and "resolved" in out,
         "incidentctl incidents: table", out + err)
    rc, out, err = d.ctl("event", ev1)
    one = json.loads(out) if rc == 0 else {}
    t.ok(one.get("app") == "aks-store" and one.get("decisions"), "incidentctl event ID with its trace", out + err)
    rc, out, err = d.ctl("event", "01XXXXXXXXXXXXXXXXXXXXXXXX")
    t.ok(rc != 0 and "incidentctl:" in err, "incidentctl event: unknown id is an error", err)

    # 10. the log sink printed one line per delivery
    t.ok(d.wait_log(r"sink/log.*action=resolve", 5) is not None, "log sink printed the resolve")
    t.eq(d.count_log(r"sink/log.*delivery \d+ action="), 5, "log sink: one line per delivery")

    d.stop()


harness.run(main)
