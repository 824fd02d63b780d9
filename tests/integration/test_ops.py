"""Operator verbs through the real daemon: `incidentctl retry` re-drives a failed delivery
and the chain its failure cancelled, `incidentctl resolve` resolves an incident by hand
and the sinks that were told get `resolve`, `incidentctl fire` sends synthetic failures
through each source (auth, routing, ledger, sinks) marked incidentd_test=true, and
`incidentctl stats` summarizes the ledger. Bad requests change nothing."""

import json
import os
import signal
import subprocess

import harness
from harness import Daemon, recorder, sample, test_sink_path, wait_until

TOKEN, API, HMAC = "src-8e1d", "api-51c0", "flux-hmac-key"


def conf(dir_, mode_a):
    return {"10-test.yaml": """
server:
  api_auth: { bearer: %(api)s }
sources:
  argocd: { auth: { bearer: %(tok)s } }
  alertmanager: { auth: { bearer: %(tok)s } }
  flux: { auth: { hmac: %(hmac)s } }
sinks:
  a: { plugin: %(sink)s, record: %(dir)s/a.jsonl, mode: %(mode)s }
  b: { plugin: %(sink)s, record: %(dir)s/b.jsonl, after: a }
  t: { plugin: %(sink)s, record: %(dir)s/t.jsonl }
routes:
  - name: tests
    match: ['labels.incidentd_test = true']
    sinks: [t]
  - name: default
    sinks: [a, b]
""" % {"api": API, "tok": TOKEN, "hmac": HMAC, "sink": test_sink_path(), "dir": dir_,
       "mode": mode_a}}


def states(d, sink):
    return [r[0] for r in d.sql("SELECT state FROM deliveries WHERE sink = ? ORDER BY id",
                                (sink,))]


def main(t):
    d = Daemon(t, {"x.yaml": ""}, start=False)
    d.write_confd(conf(d.dir, "fail"))
    d.start()

    def ctl(*args, env=None):
        e = dict(os.environ, INCIDENTD_URL="http://127.0.0.1:%d" % d.port)
        e.update(env or {})
        p = subprocess.run([harness.INCIDENTCTL, "--db", d.db] + list(args), env=e,
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    api = {"INCIDENTD_API_TOKEN": API}
    st, _, body = d.post("/v1/events/argocd",
                         sample("argocd", "seed-aks-store-degraded.client_payload.json"),
                         {"Authorization": "Bearer " + TOKEN})
    t.eq(st, 202, "a failure is accepted")
    t.ok(wait_until(lambda: states(d, "a") == ["failed"] and states(d, "b") == ["cancelled"],
                    10), "sink a fails, its chained sink b is cancelled",
         (states(d, "a"), states(d, "b")))
    a_id = d.scalar("SELECT id FROM deliveries WHERE sink = 'a'")

    # --- retry -------------------------------------------------------------------------
    rc, out, err = ctl("retry", str(a_id))
    t.ok(rc == 1 and "HTTP 401" in err, "retry without the API token is refused", err)
    t.eq(states(d, "a"), ["failed"], "... and changes nothing")
    d.write_confd(conf(d.dir, "ok"))
    mark = len(d.lines())
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log("configuration reloaded", 10, since=mark), "sink a is fixed (reload)")
    rc, out, err = ctl("retry", str(a_id), env=api)
    t.ok(rc == 0 and "1 delivery(ies) retried" in out, "incidentctl retry ID", out + err)
    t.ok(wait_until(lambda: states(d, "a") == ["done"] and states(d, "b") == ["done"], 10),
         "the retried delivery and the chain behind it are made",
         (states(d, "a"), states(d, "b")))
    rc, out, err = ctl("retry", str(a_id), env=api)
    t.ok(rc == 1 and "is done, not failed: nothing to retry" in err,
         "retrying a delivery that is not failed says so", err)
    rc, out, err = ctl("retry", "999999", env=api)
    t.ok(rc == 1 and "no such delivery" in err, "retrying an unknown delivery", err)
    rc, out, err = ctl("retry", "--failed", "--sink", "b", env=api)
    t.ok(rc == 0 and "0 delivery(ies) retried" in out, "retry --failed with none failed", out)
    t.eq(len(recorder(os.path.join(d.dir, "b.jsonl"))), 1, "b was called exactly once")

    # --- ack ----------------------------------------------------------------------------
    inc = d.scalar("SELECT id FROM incidents WHERE state = 'firing'")
    rc, out, err = ctl("ack", inc, "--comment", "looking")
    t.ok(rc == 1 and "HTTP 401" in err, "ack without the API token is refused", err)
    rc, out, err = ctl("ack", inc, "--comment", "looking", "--author", "alice", env=api)
    t.ok(rc == 0 and ("incident %s acknowledged" % inc) in out, "incidentctl ack", out + err)
    t.eq(d.sql("SELECT acked_by, acked_at IS NOT NULL FROM incidents WHERE id = ?", (inc,)),
         [("operator:alice", 1)], "the ledger records who acknowledged it")
    rc, out, err = ctl("incidents")
    t.ok(rc == 0 and "firing (acked)" in out, "incidentctl incidents marks it acked", out)
    n_a = len(states(d, "a"))
    again = json.loads(sample("argocd", "seed-aks-store-degraded.client_payload.json"))
    again["revision"] = "f" * 40
    st, _, body = d.post("/v1/events/argocd", again, {"Authorization": "Bearer " + TOKEN})
    t.eq(st, 202, "another failure of the acknowledged incident is accepted")
    eid = body["events"][0]
    t.ok(wait_until(lambda: any("acknowledged by operator:alice" in (r[0] or "") for r in
                                d.sql("SELECT detail FROM decisions WHERE event_id = ?",
                                      (eid,))), 10),
         "its update is skipped: acknowledged", d.sql("SELECT step, outcome, detail FROM "
                                                      "decisions WHERE event_id = ?", (eid,)))
    t.eq(len(states(d, "a")), n_a, "no delivery for the sinks while acknowledged")
    rc, out, err = ctl("ack", inc, env=api)
    t.ok(rc == 1 and "already acknowledged" in err, "acknowledging it twice says so", err)
    rc, out, err = ctl("ack", "01NOSUCHINCIDENT0000000000", env=api)
    t.ok(rc == 1 and "no such incident" in err, "acknowledging an unknown incident", err)
    st, _, body = d.post("/v1/incidents/%s/ack" % inc, {"author": ["x"], "admin": True},
                         {"Authorization": "Bearer " + API})
    t.ok(st == 400 and d.scalar("SELECT count(*) FROM events WHERE type LIKE "
                                "'incident.%acknowledged'") == 1,
         "a body with a non-string or unknown member: 400, nothing written", body)
    rc, out, err = ctl("ack", inc, "--undo", env=api)
    t.ok(rc == 0 and "acknowledgement withdrawn" in out, "incidentctl ack --undo", out + err)
    t.eq(d.scalar("SELECT acked_at FROM incidents WHERE id = ?", (inc,)), None,
         "the acknowledgement is gone")
    rc, out, err = ctl("explain", inc)
    t.ok(rc == 0 and "acknowledged by operator:alice: looking" in out and "withdrawn" in out,
         "explain shows both", out)

    # --- resolve ------------------------------------------------------------------------
    rc, out, err = ctl("resolve", inc, "--comment", "fixed by hand", "--author", "alice",
                       env=api)
    t.ok(rc == 0 and ("incident %s resolved" % inc) in out and "2 sink(s) told" in out,
         "incidentctl resolve", out + err)
    t.eq(d.scalar("SELECT state FROM incidents WHERE id = ?", (inc,)), "resolved",
         "the incident is resolved in the ledger")
    t.ok(wait_until(lambda: [r["action"] for r in recorder(os.path.join(d.dir, "b.jsonl"))]
                    == ["open", "resolve"], 10), "the sinks that were told get resolve")
    summary = d.scalar("SELECT summary FROM events WHERE source = 'operator' AND "
                       "type = 'incident.resolved'")
    t.eq(summary, "resolved by alice: fixed by hand", "the ledger records who and why")
    rc, out, err = ctl("explain", inc)
    t.ok(rc == 0 and "resolved by hand" in out, "explain shows it", out)
    rc, out, err = ctl("resolve", inc, env=api)
    t.ok(rc == 1 and "is not firing: nothing to resolve" in err,
         "resolving a resolved incident says so", err)
    rc, out, err = ctl("resolve", "01NOSUCHINCIDENT0000000000", env=api)
    t.ok(rc == 1 and "no such incident" in err, "resolving an unknown incident", err)
    st, _, body = d.get("/metrics", {"Authorization": "Bearer " + API})
    body = body.decode() if isinstance(body, bytes) else body
    t.ok(st == 200 and 'incidentd_operator_actions_total{action="resolve"} 1\n' in body and
         'incidentd_operator_actions_total{action="retry"} 1\n' in body,
         "/metrics counts the operator's actions",
         [l for l in body.splitlines() if "operator" in l])

    # --- fire ---------------------------------------------------------------------------
    rc, out, err = ctl("fire", "--source", "argocd", "--app", "smoke")
    t.ok(rc == 1 and "HTTP 401" in err and "INCIDENTD_SOURCE_TOKEN" in err,
         "fire without the source's credentials is refused with a hint", err)
    src = {"INCIDENTD_SOURCE_TOKEN": TOKEN}
    for source, env in (("argocd", src), ("alertmanager", src),
                        ("flux", {"INCIDENTD_SOURCE_HMAC_KEY": HMAC})):
        rc, out, err = ctl("fire", "--source", source, "--app", "smoke-" + source, env=env)
        t.ok(rc == 0 and "failure event accepted" in out and "incidentctl explain" in out,
             "fire --source %s" % source, out + err)
        ev = out.split("accepted: ")[1].split()[0] if rc == 0 else "-"
        labels = json.loads(d.scalar("SELECT event FROM events WHERE id = ?", (ev,)) or
                            "{}").get("labels", {})
        t.eq(labels.get("incidentd_test"), "true", "%s: marked incidentd_test=true" % source)
        rc, out, err = ctl("fire", "--source", source, "--app", "smoke-" + source,
                           "--resolve", env=env)
        t.ok(rc == 0 and "recovery event accepted" in out, "fire --source %s --resolve"
             % source, out + err)
    t.ok(wait_until(lambda: sorted(r["action"] for r in
                                   recorder(os.path.join(d.dir, "t.jsonl")))
                    == ["open"] * 3 + ["resolve"] * 3, 10),
         "the test route took all of them: an open and a resolve each",
         recorder(os.path.join(d.dir, "t.jsonl")))
    t.eq({r["incident"]["id"] for r in recorder(os.path.join(d.dir, "a.jsonl"))}, {inc},
         "the production sinks saw none of them")
    rc, out, err = ctl("fire", "--source", "nope")
    t.eq(rc, 2, "fire with an unknown source is a usage error")

    # --- stats --------------------------------------------------------------------------
    rc, out, err = ctl("stats")
    t.ok(rc == 0 and "incident(s)" in out and "prod-west-aks" in out and "aks-store" in out
         and "time to resolve: p50" in out and "noisiest:" in out, "incidentctl stats", out)
    rc, out, err = ctl("--json", "stats", "--since", "1h")
    try:
        s = json.loads(out)
        t.ok(s["incidents"] == 4 and s["time_to_resolve_ms"]["count"] == 4,
             "stats --json counts the incidents and their times to resolve", s)
    except (ValueError, KeyError) as e:
        t.ok(False, "stats --json is valid JSON", repr(e) + out)
    rc, out, err = ctl("stats", "--since", "yesterday-ish")
    t.eq(rc, 2, "stats with a bad --since is a usage error")

    # --- incidents --since/--app/--cluster ------------------------------------------------
    def keys(*args):
        rc, out, err = ctl("--json", "incidents", "--limit", "1000", *args)
        return sorted(i["app"] for i in json.loads(out)) if rc == 0 else err

    every = keys()
    t.ok(isinstance(every, list) and len(every) == 4, "incidents: all four", every)
    t.eq(keys("--app", "aks-store"), [a for a in every if a == "aks-store"],
         "incidents --app: only that app's")
    t.eq(keys("--app", "no-such-app"), [], "incidents --app of nothing: none")
    t.eq(keys("--cluster", "prod-west-aks", "--since", "1h"), keys("--cluster", "prod-west-aks"),
         "incidents --cluster --since 1h: the recent ones of that cluster")
    t.eq(keys("--since", "2999-01-01T00:00:00Z"), [], "incidents --since the future: none")
    rc, out, err = ctl("incidents", "--since", "soon")
    t.ok(rc == 2 and "--since must be" in err, "incidents with a bad --since: usage error", err)
    d.stop()


harness.run(main)
