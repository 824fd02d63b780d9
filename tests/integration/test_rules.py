#!/usr/bin/env python3
"""Routing rules through the real daemon and offline: matchers, nested routes, continue,
one incident per route that takes an event, the decision trace (`incidentctl explain`),
`incidentctl rules test --expect` on the samples, reload keeping the old rules when the
new ones are invalid, unreachable routes refused with file:line, and the shipped layout
(00-defaults.yaml's fallback route with a site's 10-site.yaml)."""

import json
import os
import signal
import subprocess

import harness
from harness import Daemon, sample, wait_until

RULES = os.path.join(harness.TOP, "tests", "rules")
S = harness.SAMPLES_DIR


def rules_yaml():
    with open(os.path.join(RULES, "10-routes.yaml")) as f:
        return f.read()


def ctl(*args):
    p = subprocess.run([harness.INCIDENTCTL] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def main(t):
    # --- offline: rules test --expect on the samples ------------------------------------
    cases = [("argocd/seed-aks-store-degraded.client_payload.json", "argocd-degraded"),
             ("alertmanager/k8s_KubePodCrashLooping_firing_2alerts.json", "alertmanager-crashloop"),
             ("flux/BramMeerten__error_ArtifactFailed.wire.json", "flux-error"),
             ("cloudevents/seed-structured-deploy-failed.json", "cloudevents-prod")]
    for ev, exp in cases:
        rc, out, err = ctl("rules", "test", "--config", RULES, "--event", os.path.join(S, ev),
                           "--expect", os.path.join(RULES, exp + ".expect.json"))
        t.ok(rc == 0 and out.rstrip().endswith("expect: ok"), "rules test --expect %s" % exp,
             out + err)
    rc, out, err = ctl("rules", "test", "--config", RULES, "--event",
                       os.path.join(S, cases[1][0]), "--expect",
                       os.path.join(RULES, "cloudevents-prod.expect.json"))
    t.ok(rc == 1 and "expect: FAILED" in out and "route is \"default\", expected "
         "\"prod-critical\"" in out, "a wrong expectation fails with the difference", out)
    rc, out, err = ctl("rules", "test", "--config", RULES, "--event",
                       os.path.join(S, "argocd/seed-aks-store-degraded.client_payload.json"))
    t.ok(rc == 0 and "'severity = critical' does not hold (severity=\"error\")" in out and
         "incident argocd/prod-west-aks/pets/aks-store (route prod)" in out,
         "rules test says why a route did not match and where the event goes", out)
    rc, out, err = ctl("rules", "test", "--config", RULES, "--event", "/nonexistent.json")
    t.ok(rc == 1 and "/nonexistent.json" in err, "missing event file: clear error", err)
    rc, out, err = ctl("rules", "test", "--event", "x")
    t.eq(rc, 2, "rules test without --config: usage error")

    # --- through the daemon ---------------------------------------------------------------
    d = Daemon(t, {"10-routes.yaml": rules_yaml()})
    st, _, ans = d.post("/v1/events/argocd", sample(*cases[0][0].split("/")))
    t.eq(st, 202, "argocd accepted")
    ev = ans["events"][0]
    rows = d.sql("SELECT i.route, i.key, d.sink FROM deliveries d JOIN incidents i ON "
                 "i.id = d.incident_id WHERE d.event_id = ? ORDER BY d.id", (ev,))
    t.eq([(r[0], r[2]) for r in rows], [("audit", "audit"), ("prod", "github")],
         "audit (continue) and prod each take the event, each with its incident")
    t.ok(len(rows) == 2 and rows[1][1] == "argocd/prod-west-aks/pets/aks-store" and
         rows[0][1] == "argocd/" + ev, "incident keys per route", rows)
    rc, out, err = d.ctl("explain", ev)
    t.ok(rc == 0 and "route prod-critical" in out and
         "'severity = critical' does not hold (severity=\"error\")" in out and
         "#1 audit open" in out, "incidentctl explain shows routes and deliveries", out + err)
    inc = d.scalar("SELECT id FROM incidents WHERE route = 'prod'")
    rc, out, err = d.ctl("explain", inc)
    t.ok(rc == 0 and out.startswith("incident %s: firing" % inc) and "github open" in out,
         "incidentctl explain for an incident", out + err)
    st, _, ans = d.post("/v1/events/alertmanager",
                        sample("alertmanager", "k8s_KubePodCrashLooping_firing_2alerts.json"))
    t.eq(st, 202, "alertmanager accepted")
    t.eq(d.scalar("SELECT count(*) FROM deliveries WHERE sink = 'slack'"), 2,
         "alerts outside prod go to the default route")
    st, _, body = d.get("/v1/events/%s" % ev)
    t.ok(st == 200 and any("does not hold" in x.get("detail", "")
                          for x in body.get("decisions", [])),
         "GET /v1/events/{id} has the same trace")

    # --- reload: an invalid rule keeps the old rules, a valid one applies ---------------
    mark = len(d.lines())
    with open(os.path.join(d.confd, "20-bad.yaml"), "w") as f:
        f.write("routes:\n  - name: broken\n    match: ['clustr = x']\n    sinks: [slack]\n")
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log(r"reload failed, keeping the active configuration: .*20-bad\.yaml:3: "
                    r"routes\.3\.match\.0: 'clustr = x': unknown field 'clustr'", 5, mark),
         "invalid matcher on reload: rejected with file:line", "\n".join(d.lines()[mark:]))
    st, _, _ = d.post("/v1/events/argocd", sample("argocd",
                      "seed-aks-store-recovered.client_payload.json"))
    t.eq(st, 202, "still serving with the old rules")
    os.unlink(os.path.join(d.confd, "20-bad.yaml"))
    with open(os.path.join(d.confd, "10-routes.yaml"), "w") as f:
        f.write(rules_yaml().replace("match: ['cluster =~ \"prod-.*\"']",
                                     "match: ['cluster =~ \"nothing-.*\"']"))
    mark = len(d.lines())
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log(r"configuration reloaded", 5, mark), "valid rules reloaded",
         "\n".join(d.lines()[mark:]))
    st, _, ans = d.post("/v1/events/argocd", sample(*cases[0][0].split("/")).replace(
        b"2026-02-10T03:01:12Z", b"2026-02-10T05:00:00Z"))
    ev2 = ans["events"][0]
    sinks = [r[0] for r in d.sql("SELECT sink FROM deliveries WHERE event_id = ? ORDER BY id",
                                 (ev2,))]
    t.eq(sinks, ["audit", "slack"], "after the reload prod no longer matches")

    # incidentctl reload: the same, with the answer on the command line
    url = "http://127.0.0.1:%d" % d.port
    with open(os.path.join(d.confd, "20-bad.yaml"), "w") as f:
        f.write("routes:\n  - name: broken\n    match: ['app =~ \"(\"']\n    sinks: [slack]\n")
    rc, out, err = ctl("reload", "--url", url)
    t.ok(rc == 1 and "20-bad.yaml:3" in err and "bad regular expression" in err and
         "the active configuration stays" in err, "incidentctl reload reports the error", err)
    os.unlink(os.path.join(d.confd, "20-bad.yaml"))
    rc, out, err = ctl("reload", "--url", url)
    t.ok(rc == 0 and "configuration reloaded: 4 sink(s), 3 route(s)" in out,
         "incidentctl reload", out + err)
    st, _, _ = d.request("GET", "/-/reload")
    t.eq(st, 405, "GET /-/reload: 405")
    rc, out, err = ctl("reload", "--url", "http://127.0.0.1:1")
    t.ok(rc == 1 and "cannot reach incidentd" in err, "no daemon: clear error", err)

    # reload under load: 4 senders post 100 events each while the rules are reloaded 10
    # times; every event answered 202 is in the ledger, routed, with its deliveries
    import threading
    import time as _time
    before = d.scalar("SELECT count(*) FROM events")
    reloads = d.count_log(r"configuration reloaded")
    accepted, problems = [], []

    def sender(k):
        for i in range(100):
            body = sample(*cases[0][0].split("/")).replace(
                b'"aks-store"', b'"load-%d-%d"' % (k, i))
            try:
                st, _, ans = d.post("/v1/events/argocd", body)
            except Exception as e:          # a dropped connection would be a lost event
                problems.append(repr(e))
                continue
            if st == 202:
                accepted.extend(ans.get("events", []))
            else:
                problems.append(st)
    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for _ in range(10):
        d.signal(signal.SIGHUP)
        _time.sleep(0.05)
    for th in threads:
        th.join(60)
    t.eq(problems, [], "no request failed during the reloads")
    t.eq(len(accepted), 400, "400 events accepted")
    t.eq(d.scalar("SELECT count(*) FROM events") - before, 400, "all 400 are in the ledger")
    t.eq(d.scalar("SELECT count(*) FROM events e WHERE e.received_at >= (SELECT min(received_at) "
                  "FROM events WHERE app LIKE 'load-%') AND app LIKE 'load-%' AND NOT EXISTS "
                  "(SELECT 1 FROM deliveries WHERE event_id = e.id)"), 0,
         "every one of them has its deliveries")
    # signals that arrive while one is pending coalesce, so fewer than 10 may be seen
    t.ok(wait_until(lambda: d.count_log(r"configuration reloaded") - reloads >= 1, 5),
         "reloads happened during the load (%d)" % (d.count_log(r"configuration reloaded") -
                                                   reloads))
    d.stop()

    # --check-config names the bad regex
    bad = os.path.join(d.dir, "bad")
    os.makedirs(bad)
    with open(os.path.join(bad, "10.yaml"), "w") as f:
        f.write("sinks: { log: { plugin: log } }\nroutes:\n"
                "  - { name: r, match: ['app =~ \"(\"'], sinks: [log] }\n")
    p = subprocess.run([harness.INCIDENTD, "-c", bad, "--plugin-dir", harness.PLUGIN_DIR,
                        "--check-config"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=20)
    err = p.stderr.decode()
    t.ok(p.returncode == 1 and "10.yaml:3: routes.0.match.0" in err and
         "bad regular expression" in err, "--check-config: bad regex with file:line", err)

    # --- the shipped layout: 00-defaults.yaml's fallback route and a site's 10-site.yaml ---
    site = os.path.join(d.dir, "site")
    os.makedirs(site)
    with open(os.path.join(harness.CONFD_DIR, "00-defaults.yaml")) as f:
        defaults = f.read()
    with open(os.path.join(site, "00-defaults.yaml"), "w") as f:
        f.write(defaults)
    with open(os.path.join(site, "10-site.yaml"), "w") as f:
        f.write("sinks:\n  team: { plugin: log }\nroutes:\n"
                "  - name: prod\n    match: ['cluster =~ \"prod-.*\"']\n    sinks: [team]\n")

    def check_config(confd):
        p = subprocess.run([harness.INCIDENTD, "-c", confd, "--plugin-dir", harness.PLUGIN_DIR,
                            "--check-config"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=20)
        return p.returncode, p.stdout.decode() + p.stderr.decode()

    rc, out = check_config(site)
    t.ok(rc == 0 and "2 sink(s), 2 route(s)" in out, "00-defaults.yaml + 10-site.yaml: OK",
         out)
    rc, out, err = ctl("rules", "test", "--config", site, "--json", "--event",
                       os.path.join(S, cases[0][0]), "--event", os.path.join(S, cases[1][0]))
    plans = [p["taken"] for p in json.loads(out)] if rc == 0 else None
    t.eq(plans, [["prod"], ["default"], ["default"]],
         "the site route takes prod events, the fallback default what it leaves")
    rc, out, err = ctl("rules", "test", "--config", site, "--event",
                       os.path.join(S, cases[1][0]))
    t.ok(rc == 0 and "route default (%s/00-defaults.yaml:" % site in out and
         "no matchers (fallback: no other route took the event)" in out,
         "rules test says the fallback took it", out + err)

    # a route after a catch-all of its level can never be reached: refused, both named
    with open(os.path.join(site, "10-site.yaml"), "a") as f:
        f.write("  - name: everything\n    sinks: [team]\n")
    with open(os.path.join(site, "20-more.yaml"), "w") as f:
        f.write("routes:\n  - name: payments\n    match: ['namespace = payments']\n"
                "    sinks: [team]\n")
    rc, out = check_config(site)
    t.ok(rc == 1 and "20-more.yaml:2: routes.3: route 'payments' can never be reached: "
         "route 'everything' before it (%s/10-site.yaml:7) has no matchers and no `continue: "
         "true`" % site in out, "--check-config: unreachable route, both with file:line", out)


harness.run(main)
