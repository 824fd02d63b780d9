#!/usr/bin/env python3
"""Bad input gets a clear JSON error, stores nothing, and the daemon keeps serving."""

import base64

import harness
from harness import Daemon, base_confd, sample, sample_json

GOOD = sample("argocd", "seed-aks-store-degraded.client_payload.json")


def main(t):
    d = Daemon(t, base_confd(extra="server: { max_body: 4KiB }\n"))

    def rejected(status, path, body, headers=None, want=None, name=""):
        st, h, b = d.post(path, body, headers)
        t.eq(st, status, "%s: %d" % (name, status))
        if want is not None:
            msg = b.get("error", "") if isinstance(b, dict) else str(b)
            for w in want:
                t.ok(w in msg, "%s: error mentions %r" % (name, w), msg)
        t.eq(d.scalar("SELECT count(*) FROM events"), 0, "%s: nothing stored" % name)
        return st, h, b

    rejected(400, "/v1/events/argocd", b'{"app_name": "x", "health_status": }',
             want=["line 1", "column"], name="malformed JSON")
    # an unescaped Argo CD template: a quote inside message
    broken = b'{\n  "app_name": "aks-store",\n  "health_status": "Degraded",\n  "message": "Deployment "store-front" exceeded"\n}'
    rejected(400, "/v1/events/argocd", broken, want=["line 4", "toJson"], name="unescaped template")
    rejected(400, "/v1/events/argocd", b"[1,2]", want=["object"], name="not an object")
    rejected(400, "/v1/events/argocd", b"", name="empty body")
    rejected(400, "/v1/events/argocd", {"message": "hi"}, want=["app_name"], name="missing app_name")
    rejected(400, "/v1/events/argocd", {"event_type": "x", "client_payload": {"sync_status": "Synced"}},
             want=["client_payload.app_name"], name="dispatch missing app_name")
    rejected(400, "/v1/events/argocd", {"app_name": 12, "health_status": "Degraded"},
             want=["app_name"], name="wrong type")
    big = b'{"app_name": "x", "health_status": "Degraded", "message": "' + b"a" * 5000 + b'"}'
    rejected(413, "/v1/events/argocd", big, name="body over server.max_body")
    rejected(415, "/v1/events/argocd", GOOD, {"Content-Type": "application/x-www-form-urlencoded"},
             want=["Content-Type"], name="form content type")
    rejected(415, "/v1/events/argocd", GOOD, {"Content-Type": "text/plain"}, name="text/plain")
    st, h, b = d.request("GET", "/v1/events/argocd")
    t.eq(st, 405, "GET on a source: 405")
    t.ok("POST" in h.get("allow", ""), "405 carries Allow: POST", h)
    st, h, b = d.get("/nope")
    t.ok(st == 404 and isinstance(b, dict) and "error" in b, "unknown path: 404 JSON", b)
    st, h, b = d.post("/v1/events/nosuchsource", GOOD)
    t.eq(st, 404, "unknown source: 404")

    # the daemon still serves after all that, and accepts with a charset parameter
    st, h, b = d.post("/v1/events/argocd", GOOD, {"Content-Type": "application/json; charset=utf-8"})
    t.eq(st, 202, "still serving: good request accepted")
    st, h, m = d.get("/metrics")
    t.ok('incidentd_events_rejected_total{source="argocd",reason="bad_json"} 3' in m,
         "metrics count bad_json rejects", m)
    t.ok('incidentd_events_rejected_total{source="argocd",reason="invalid_payload"} 4' in m,
         "metrics count invalid payloads", m)
    d.stop()

    # authentication: bearer
    conf = {"10-auth.yaml": "sources:\n  argocd:\n    auth: { bearer: \"${ARGOCD_TOKEN}\" }\n"
            "sinks:\n  log: { plugin: log }\nroutes:\n  - { name: default, sinks: [log] }\n"}
    a = Daemon(t, conf, env={"ARGOCD_TOKEN": "s3cret-t0ken"})
    st, h, b = a.post("/v1/events/argocd", GOOD)
    t.eq(st, 401, "bearer: missing credentials 401")
    t.ok(h.get("www-authenticate", "").startswith("Bearer"), "bearer: WWW-Authenticate", h)
    st, h, b = a.post("/v1/events/argocd", GOOD, {"Authorization": "Bearer wrong"})
    t.eq(st, 401, "bearer: wrong token 401")
    t.eq(a.scalar("SELECT count(*) FROM events"), 0, "bearer: nothing stored when refused")
    st, h, b = a.post("/v1/events/argocd", GOOD, {"Authorization": "Bearer s3cret-t0ken"})
    t.eq(st, 202, "bearer: right token 202")
    # GitHub clients send "token X" to the dispatches endpoint
    disp = sample("argocd", "seed-aks-store-degraded.repository_dispatch.json")
    st, h, b = a.post("/repos/o/r/dispatches", disp, {"Authorization": "token s3cret-t0ken"})
    t.eq(st, 202, "bearer: GitHub-style 'token' scheme accepted")
    t.ok(not any("s3cret-t0ken" in l for l in a.lines()), "token never logged")
    a.stop()

    # basic
    conf = {"10-auth.yaml": "sources:\n  argocd:\n    auth: { basic: { username: argo, password: pa55 } }\n"
            "sinks:\n  log: { plugin: log }\nroutes:\n  - { name: default, sinks: [log] }\n"}
    b_ = Daemon(t, conf)
    cred = base64.b64encode(b"argo:wrong").decode()
    st, h, b = b_.post("/v1/events/argocd", GOOD, {"Authorization": "Basic " + cred})
    t.eq(st, 401, "basic: wrong password 401")
    t.ok(h.get("www-authenticate", "").startswith("Basic"), "basic: WWW-Authenticate", h)
    cred = base64.b64encode(b"argo:pa55").decode()
    st, h, b = b_.post("/v1/events/argocd", GOOD, {"Authorization": "Basic " + cred})
    t.eq(st, 202, "basic: right credentials 202")
    b_.stop()


harness.run(main)
