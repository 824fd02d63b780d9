#!/usr/bin/env python3
"""Alertmanager, Flux and CloudEvents through the real daemon, with per-source auth:
bearer and basic (Alertmanager's http_config), HMAC (Flux generic-hmac, GitHub style), the
answers each sender expects, and the refusal to expose an unauthenticated source."""

import base64
import hashlib
import hmac
import json
import os
import subprocess

import harness
from harness import Daemon, sample, sample_json, wait_until

AM_TOKEN = "s3cr3t-token"          # what the recorded Alertmanager request carries
FLUX_KEY = "7152fed34dd6149a7c75a276c510da27cb6f82b0"   # the upstream test vector's key
FLUX_SIG = "sha256=65b018549b1254e7226d1c08f9567ee45bc9de0fc4e7b1a40253f9a018b08be7"


def confd():
    return {"10-sources.yaml": (
        "sources:\n"
        "  alertmanager: { auth: { bearer: \"${AM_TOKEN}\" } }\n"
        "  flux: { auth: { hmac: \"${FLUX_KEY}\" } }\n"
        "  cloudevents: { auth: { basic: { username: ci, password: \"${CE_PASSWORD}\" } } }\n"
        "  argocd: { auth: none }\n"
        "sinks:\n  log: { plugin: log }\n"
        "routes:\n  - name: default\n    sinks: [log]\n")}


def raw(name):
    with open(os.path.join(harness.SAMPLES_DIR, *name.split("/")), "rb") as f:
        return f.read()


def events_of(d, source):
    return d.sql("SELECT type, status, severity, cluster, namespace, app, fingerprint, summary "
                 "FROM events WHERE source = ? ORDER BY id", (source,))


def main(t):
    env = {"AM_TOKEN": AM_TOKEN, "FLUX_KEY": FLUX_KEY, "CE_PASSWORD": "pw"}
    d = Daemon(t, confd(), env=env)
    bearer = {"Authorization": "Bearer " + AM_TOKEN}

    # --- Alertmanager: the recorded request, byte for byte ------------------------------
    body = raw("alertmanager/k8s_KubePodCrashLooping_firing_2alerts.json")
    st, _, ans = d.post("/v1/events/alertmanager", body, bearer)
    t.eq(st, 202, "alertmanager: recorded webhook accepted")
    t.eq(ans.get("accepted") if isinstance(ans, dict) else None, 2, "one event per alert")
    rows = events_of(d, "alertmanager")
    t.eq([(r[0], r[1], r[4], r[6]) for r in rows],
         [("alert.firing", "firing", "payments", "ffdb340c659e5983"),
          ("alert.firing", "firing", "payments", "908b990298dfafc3")],
         "alertmanager: type, status, namespace, fingerprint per alert")
    keys = [r[0] for r in d.sql("SELECT key FROM incidents WHERE source = 'alertmanager' "
                                "ORDER BY key")]
    t.eq(keys, ["alertmanager/908b990298dfafc3", "alertmanager/ffdb340c659e5983"],
         "alertmanager: one incident per fingerprint")
    st, _, _ = d.post("/v1/events/alertmanager",
                      raw("alertmanager/k8s_KubePodCrashLooping_resolved.json"), bearer)
    t.eq(st, 202, "alertmanager: resolved accepted")
    t.ok(wait_until(lambda: d.scalar("SELECT count(*) FROM incidents WHERE source = "
                                     "'alertmanager' AND state = 'resolved'") == 2, 5),
         "alertmanager: both incidents resolved")
    for name in ("prom2teams__all_ok.json", "prom2teams__without_fingerprint.json",
                 "dingtalk__PlaygroundDemoAlert_v3.json",
                 "prometheus-msteams__prom_post_request.json"):
        st, _, ans = d.post("/v1/events/alertmanager", raw("alertmanager/" + name), bearer)
        t.eq(st, 202, "alertmanager: %s accepted" % name)
    st, h, ans = d.post("/v1/events/alertmanager", body)
    t.eq(st, 401, "alertmanager: no token -> 401")
    t.ok("bearer" in h.get("www-authenticate", "").lower(), "401 names the scheme",
         h.get("www-authenticate"))
    st, _, _ = d.post("/v1/events/alertmanager", body, {"Authorization": "Bearer nope"})
    t.eq(st, 401, "alertmanager: wrong token -> 401")
    st, _, ans = d.post("/v1/events/alertmanager",
                        raw("alertmanager/alerts_posted_to_api_v2.json"), bearer)
    t.ok(st == 400 and "API payload" in json.dumps(ans),
         "alertmanager: the API v2 alert list is a 4xx with a hint", ans)
    many = {"version": "4", "status": "firing", "receiver": "r",
            "alerts": [{"status": "firing", "labels": {"alertname": "A", "i": str(i)}}
                       for i in range(10001)]}
    # (big bodies: a long timeout, for sanitizer builds on a busy machine)
    st, _, ans = d.post("/v1/events/alertmanager", many, bearer, timeout=120)
    t.ok(st == 413 and "too many alerts" in json.dumps(ans), "10,001 alerts -> 413", ans)
    many["alerts"] = many["alerts"][:3000]
    n0 = d.scalar("SELECT count(*) FROM events")
    st, _, ans = d.post("/v1/events/alertmanager", many, bearer, timeout=120)
    t.eq(st, 202, "3,000 alerts in one payload accepted")
    t.eq(d.scalar("SELECT count(*) FROM events") - n0, 3000, "3,000 events stored")

    # --- Flux: the upstream HMAC vector, and a tampered body -------------------------------
    vec = raw("flux/hmac_vector_nc_forwarder_test.body.json")
    st, _, ans = d.post("/v1/events/flux", vec, {"X-Signature": FLUX_SIG})
    t.eq(st, 202, "flux: upstream generic-hmac vector verifies")
    tampered = vec.replace(b"\"severity\":\"info\"", b"\"severity\":\"error\"")
    t.ok(tampered != vec, "the tampered body differs")
    st, _, ans = d.post("/v1/events/flux", tampered, {"X-Signature": FLUX_SIG})
    t.eq(st, 401, "flux: replayed signature with a modified body -> 401")
    st, _, _ = d.post("/v1/events/flux", vec)
    t.eq(st, 401, "flux: no signature -> 401")
    err = raw("flux/BramMeerten__error_ArtifactFailed.wire.json")
    sig = "sha256=" + hmac.new(FLUX_KEY.encode(), err, hashlib.sha256).hexdigest()
    st, _, _ = d.post("/v1/events/flux", err, {"X-Hub-Signature-256": sig})
    t.eq(st, 202, "flux: GitHub-style X-Hub-Signature-256 accepted")
    row = d.sql("SELECT type, status, namespace, app, revision FROM events WHERE source = "
                "'flux' AND status = 'firing'")
    t.eq(row, [("reconcile.failed", "firing", "flux-system",
                "Kustomization/my-app-kustomization",
                "main@sha1:07a684d59d1bc9a58e0c0d07ed480812b2b9a29e")],
         "flux: error event normalized")
    t.eq(d.scalar("SELECT key FROM incidents WHERE source = 'flux'"),
         "flux//flux-system/Kustomization%2Fmy-app-kustomization",
         "flux: incident per cluster, namespace and object")

    # --- CloudEvents: structured, binary, batch ------------------------------------------
    basic = {"Authorization": "Basic " + base64.b64encode(b"ci:pw").decode()}
    ce = raw("cloudevents/seed-structured-deploy-failed.json")
    st, _, _ = d.post("/v1/events", ce, dict(basic, **{
        "Content-Type": "application/cloudevents+json"}))
    t.eq(st, 202, "cloudevents: structured mode")
    st, _, _ = d.post("/v1/events", ce, {"Content-Type": "application/cloudevents+json"})
    t.eq(st, 401, "cloudevents: no credentials -> 401")
    data = json.loads(ce)["data"]
    hdrs = dict(basic, **{"ce-specversion": "1.0", "ce-id": "bin-1", "ce-type":
                          "com.example.deploy.failed", "ce-source": "/ci/checkout",
                          "ce-subject": "checkout/prod-west"})
    st, _, _ = d.post("/v1/events", data, hdrs)
    t.eq(st, 202, "cloudevents: binary mode")
    del hdrs["ce-id"]
    st, _, ans = d.post("/v1/events", data, hdrs)
    t.ok(st == 400 and "ce-id" in json.dumps(ans), "binary mode without ce-id -> 400", ans)
    st, _, ans = d.post("/v1/events", raw("cloudevents/seed-batch.json"), dict(basic, **{
        "Content-Type": "application/cloudevents-batch+json"}))
    t.ok(st == 202 and ans.get("accepted", 0) >= 2, "cloudevents: batch mode", ans)
    rows = d.sql("SELECT cluster, namespace, app, status FROM events WHERE source = "
                 "'cloudevents' ORDER BY id LIMIT 2")
    t.eq(rows, [("prod-west-aks", "shop", "checkout", "firing")] * 2,
         "cloudevents: structured and binary normalize alike")

    # an error that quotes input cut inside a character still explains itself
    bad = json.loads(ce)
    bad["specversion"] = "a" * 19 + "\u00e9"
    st, _, ans = d.post("/v1/events", bad, dict(basic, **{
        "Content-Type": "application/cloudevents+json"}))
    t.ok(st == 400 and isinstance(ans, dict) and
         ("specversion: '" + "a" * 19 + "?") in ans.get("error", ""),
         "cut multi-byte input in an error message: scrubbed, not dropped", ans)

    # wrong content type, and nothing stored for any rejected request
    n = d.scalar("SELECT count(*) FROM events")
    st, _, _ = d.post("/v1/events/alertmanager", body, dict(bearer, **{
        "Content-Type": "text/plain"}))
    t.eq(st, 415, "wrong content type -> 415")
    t.eq(d.scalar("SELECT count(*) FROM events"), n, "rejected requests stored nothing")
    d.stop()

    # --- exposure: no auth on a non-loopback address refuses to start --------------------
    conf = os.path.join(d.dir, "exposed")
    os.makedirs(conf, exist_ok=True)
    with open(os.path.join(conf, "10.yaml"), "w") as f:
        f.write("sources:\n  argocd: {}\nsinks:\n  log: { plugin: log }\n"
                "routes:\n  - { name: d, sinks: [log] }\n")
    p = subprocess.run([harness.INCIDENTD, "-c", conf, "-d", os.path.join(d.dir, "x.db"),
                        "-l", "0.0.0.0:0", "--plugin-dir", harness.PLUGIN_DIR],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    err = p.stderr.decode()
    t.ok(p.returncode == 1 and "sources.argocd has no auth while listening on 0.0.0.0:0" in err,
         "unauthenticated source on 0.0.0.0 refused at start", err)
    p = subprocess.run([harness.INCIDENTD, "-c", conf, "-l", "0.0.0.0:9740",
                        "--plugin-dir", harness.PLUGIN_DIR, "--check-config"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    t.eq(p.returncode, 1, "--check-config reports it too")


harness.run(main)
