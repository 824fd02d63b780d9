"""inhibit_rules through the real daemon: an Alertmanager ClusterUnreachable alert holds
back the Argo CD per-app notifications of the same cluster (not of other clusters), the
trace and `incidentctl explain` name the inhibiting incident, and after it resolves the
next failure of a still-failing app notifies as an update."""

import json

import harness
from harness import Daemon, sample, sample_json, wait_until

CONF = {"10-test.yaml": """
sources:
  argocd: { auth: none }
  alertmanager: { auth: none }
sinks:
  log: { plugin: log }
routes:
  - name: default
    sinks: [log]
inhibit_rules:
  - source_matchers: ['labels.alertname = ClusterUnreachable']
    target_matchers: ['source = argocd']
    equal: [cluster]
"""}


def unreachable(status):
    return {"version": "4", "status": status, "receiver": "incidentd",
            "alerts": [{"status": status,
                        "labels": {"alertname": "ClusterUnreachable",
                                   "cluster": "prod-west-aks", "severity": "critical"},
                        "annotations": {"summary": "prod-west-aks API server unreachable"},
                        "startsAt": "2026-02-10T03:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z" if status == "firing"
                        else "2026-02-10T03:30:00Z"}]}


def app_event(app, cluster, revision):
    p = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
    p["app_name"], p["cluster"], p["revision"] = app, cluster, revision
    return json.dumps(p)


def deliveries(d, app):
    return [r[0] for r in d.sql(
        "SELECT d.action FROM deliveries d JOIN incidents i ON i.id = d.incident_id "
        "WHERE i.app = ? ORDER BY d.id", (app,))]


def main(t):
    d = Daemon(t, CONF)
    st, _, _ = d.post("/v1/events/alertmanager", unreachable("firing"))
    t.eq(st, 202, "ClusterUnreachable fires")
    src = d.scalar("SELECT id FROM incidents WHERE source = 'alertmanager'")
    st, _, body = d.post("/v1/events/argocd", app_event("aks-store", "prod-west-aks", "a1"))
    t.eq(st, 202, "an app of that cluster fails")
    t.eq(deliveries(d, "aks-store"), [], "its notification is held back")
    ev = body["events"][0]
    detail = d.scalar("SELECT detail FROM decisions WHERE event_id = ? AND outcome = "
                      "'inhibited'", (ev,)) or ""
    t.ok(src in detail and "alertmanager/" in detail and "equal [\"prod-west-aks\"]" in detail,
         "the trace names the inhibiting incident and the rule", detail)
    rc, out, _ = d.ctl("explain", ev)
    t.ok(rc == 0 and "inhibited" in out and src in out, "incidentctl explain says so", out)
    st, _, _ = d.post("/v1/events/argocd", app_event("pets", "prod-east-aks", "b1"))
    t.ok(wait_until(lambda: deliveries(d, "pets") == ["open"], 5),
         "an app of another cluster notifies")
    t.eq(deliveries(d, "ClusterUnreachable"), ["open"], "the source itself notifies")
    st, _, _ = d.post("/v1/events/alertmanager", unreachable("resolved"))
    t.eq(st, 202, "ClusterUnreachable resolves")
    st, _, _ = d.post("/v1/events/argocd", app_event("aks-store", "prod-west-aks", "a2"))
    t.ok(wait_until(lambda: deliveries(d, "aks-store") == ["update"], 5),
         "the still-failing app's next event notifies (as an update)",
         deliveries(d, "aks-store"))
    d.stop()


harness.run(main)
