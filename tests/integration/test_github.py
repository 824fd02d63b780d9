#!/usr/bin/env python3
"""The GitHub sinks through the real daemon against a fake GitHub (fake_github.py):
one issue per incident (sections, labels, marker), throttled "failed again" comments,
recovery comments and close, reopen within the window, the chained cluster-doctor label and
repository_dispatch, adoption across a lost ledger and a SIGKILL mid-request (through
paginated listings, ignoring pull requests and look-alike keys), GitHub's rate limits,
errors and timeouts, and that the token never leaks."""

import json
import os
import time

import harness
from fake_github import FakeGitHub
from harness import Daemon, github_issue_yaml, sample_json, wait_until

REPO = "my-org/platform-incidents"
TOKEN = "ghp_TESTtoken0123456789Sup3rSecretValue"
KEY = "argocd/prod-west-aks/pets/%s"
DEGRADED = "seed-aks-store-degraded.client_payload.json"
RECOVERED = "seed-aks-store-recovered.client_payload.json"


def marker(app):
    return "<!-- incidentd:incident=%s -->" % (KEY % app)


def event(app, sample=DEGRADED, **kw):
    p = sample_json("argocd", sample)
    p["app_name"] = app
    p.update(kw)
    return p


def confd(api_url, extra_sinks="", sinks="[github, doctor, trigger]"):
    return {"10-github.yaml": (
        "sources:\n  argocd: { auth: none }\n"
        "sinks:\n"
        "%s"
        "    labels: [argocd-deployment-failure, automated, bug]\n"
        "    close_on_resolve: true\n"
        "    repeat_interval: 1h\n"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "  doctor: { plugin: github_label, after: github, label: cluster-doctor, api_url: %s }\n"
        "  trigger: { plugin: github_label, after: github, mode: dispatch, api_url: %s }\n"
        "%s"
        "routes:\n  - name: default\n    sinks: %s\n" % (
            github_issue_yaml(REPO, api_url), api_url, api_url, extra_sinks, sinks))}


def settled(d, n=None):
    """Wait until no delivery is pending, running or blocked (and n exist, if given)."""
    def ok():
        busy = d.scalar("SELECT count(*) FROM deliveries WHERE state IN "
                        "('pending', 'running', 'blocked')")
        total = d.scalar("SELECT count(*) FROM deliveries")
        return busy == 0 and (n is None or total >= n)
    return wait_until(ok, 30, 0.1)


def refs(d, app):
    raw = d.scalar("SELECT refs FROM incidents WHERE key = ?", (KEY % app,))
    return json.loads(raw) if raw else {}


def post(t, d, body, what):
    st, _, ans = d.post("/v1/events/argocd", body)
    t.eq(st, 202, "%s: accepted" % what)
    return (ans.get("events") or [None])[0] if isinstance(ans, dict) else None


def main(t):
    gh = FakeGitHub(tokens=(TOKEN,), repos=(REPO,))
    t.cleanups.append(gh.close)

    # the fake answers with the same fields as the recorded GitHub fixture
    fixture = sample_json("github", "octokit-fixtures__create-issue_201.json")["response"]
    fixture_body = fixture.get("body") or fixture.get("data") or {}
    probe = gh._public(gh.seed_issue(REPO, "probe", "probe", state="closed",
                                     closed_at=time.time() - 10 * 86400))
    missing = sorted(k for k in fixture_body if k not in probe)
    t.ok(fixture_body and not missing, "fake issue objects carry the fixture's fields", missing)

    # Before incidentd ever ran (a lost ledger): an open issue for legacy-app, listed on the
    # second page of the label listing; a pull request and a closed issue carrying markers.
    legacy = gh.seed_issue(REPO, "ArgoCD Deployment Failed: legacy-app",
                           "old body\n\n" + marker("legacy-app"),
                           labels=["argocd-deployment-failure", "automated", "bug"])
    recent = gh.seed_issue(REPO, "ArgoCD Deployment Failed: recent-app",
                           "old body\n\n" + marker("recent-app"),
                           labels=["argocd-deployment-failure"], state="closed",
                           closed_at=time.time() - 3600)
    pr = gh.seed_issue(REPO, "fix aks-store", "copied\n" + marker("aks-store"),
                       labels=["argocd-deployment-failure"], pull_request=True)
    for i in range(130):
        gh.seed_issue(REPO, "ArgoCD Deployment Failed: filler-%d" % i,
                      "x\n\n" + marker("filler-%d" % i),
                      labels=["argocd-deployment-failure", "automated", "bug"])

    d = Daemon(t, confd(gh.url), env={"GITHUB_TOKEN": TOKEN})

    # --- a failure opens one issue with every section ---------------------------------
    ev1 = post(t, d, event("aks-store"), "aks-store degraded")
    t.ok(settled(d, 3), "aks-store: deliveries settle",
         d.sql("SELECT sink, state, last_error FROM deliveries"))
    mine = gh.issues(with_marker=KEY % "aks-store")
    t.eq(len(mine), 1, "aks-store: exactly one issue")
    iss = mine[0] if mine else {"body": "", "labels": [], "number": 0, "title": ""}
    body = iss["body"] or ""
    t.eq(iss["title"], "ArgoCD Deployment Failed: aks-store", "title")
    t.eq(sorted(l["name"] for l in iss["labels"]),
         ["argocd-deployment-failure", "automated", "bug", "cluster-doctor"],
         "labels, with cluster-doctor added by the chained sink")
    order = ["### Application", "### Cluster Information", "### Application Status",
             "### Error Message", "### Degraded Resources", "### Troubleshooting Commands"]
    pos = [body.find(s) for s in order]
    t.ok(all(p >= 0 for p in pos) and pos == sorted(pos), "body sections in order", pos)
    t.ok("kubectl describe deployment store-front -n pets" in body,
         "per-resource kubectl describe", body[:3000])
    t.ok("kubectl logs deployment/store-front -n pets" in body, "kubectl logs for a Deployment")
    t.ok("kubectl describe service store-front -n pets" in body and "kubectl logs service/" not in body, "a Service: describe, no logs")
    t.ok("kubectl get events -n pets --sort-by=.lastTimestamp" in body,
         "troubleshooting: events by time")
    t.ok(body.rstrip().endswith(marker("aks-store")), "marker is the last line")
    t.ok(ev1 is not None and ev1 in body, "the body names the event id")
    t.eq(pr["_comments"], [], "the pull request carrying the marker was ignored")
    r = refs(d, "aks-store").get("github", {})
    t.eq(r.get("issue"), iss["number"], "ledger: refs.github.issue")
    t.eq(r.get("url"), iss["html_url"], "ledger: refs.github.url")
    disp = gh.reqs("POST", r"/dispatches$")
    t.eq(len(disp), 1, "one repository_dispatch")
    if disp:
        t.eq(disp[0].json.get("event_type"), "cluster-doctor-trigger", "dispatch event_type")
        t.eq(disp[0].json.get("client_payload", {}).get("issue"), iss["number"],
             "dispatch carries the issue number")
    rc, out, err = d.ctl("incidents")
    t.ok(rc == 0 and ("#%d" % iss["number"]) in out and iss["html_url"] in out,
         "incidentctl incidents shows the issue number and URL", out + err)

    # every request carried GitHub's headers
    bad = [r for r in gh.reqs() if r.status != 401 and (
        r.headers.get("authorization") != "Bearer " + TOKEN or
        r.headers.get("accept") != "application/vnd.github+json" or
        r.headers.get("x-github-api-version") != "2022-11-28" or
        not r.headers.get("user-agent", "").startswith("incidentd/"))]
    t.eq(bad, [], "Authorization, Accept, X-GitHub-Api-Version, User-Agent on every request")
    lists = gh.reqs("GET", r"/issues$")
    t.ok(any(r.path.startswith("/repositories/") for r in lists),
         "adoption followed the link header to page 2", [r.path for r in lists])

    # --- the same failure again: no comment; a new revision: one comment ----------------
    post(t, d, event("aks-store", timestamp="2026-02-10T03:05:00Z"), "same revision again")
    settled(d)
    t.eq(gh.issue(iss["number"])["comments"], 0, "same revision within repeat_interval: no comment")
    t.ok(d.scalar("SELECT count(*) FROM deliveries WHERE sink = 'github' AND action = 'update' "
                  "AND last_error LIKE '%no comment (same revision%'") == 1,
         "the skipped comment is explained in the ledger")
    post(t, d, event("aks-store", revision="9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"),
         "new revision")
    settled(d)
    c = gh.issue(iss["number"])["_comments"]
    t.eq(len(c), 1, "new revision: one comment")
    t.ok(c and "**Failed again**" in c[0]["body"] and "9f8e7d6" in c[0]["body"],
         "comment says failed again with the revision", c)
    t.eq(len(gh.issues(with_marker=KEY % "aks-store")), 1, "still one issue")

    # --- recovery: comment and close (completed) ----------------------------------------
    post(t, d, event("aks-store", RECOVERED), "aks-store recovered")
    settled(d)
    i2 = gh.issue(iss["number"])
    t.eq((i2["state"], i2["state_reason"]), ("closed", "completed"), "closed as completed")
    t.ok("Recovered" in i2["_comments"][-1]["body"], "recovery comment")
    t.eq(refs(d, "aks-store").get("github", {}).get("state"), "closed", "ledger: closed")

    # --- failing again within the reopen window: the same issue reopens -----------------
    # (a new notification: the same bytes again would be a sender's retry, recognized)
    post(t, d, event("aks-store", timestamp="2026-02-10T04:00:00Z"), "aks-store fails again")
    settled(d)
    i3 = gh.issue(iss["number"])
    t.ok(i3["state"] == "open", "reopened", d.sql(
        "SELECT id, sink, action, state, attempts, last_error, result FROM deliveries WHERE "
        "incident_id = (SELECT id FROM incidents WHERE key = ?)", (KEY % "aks-store",)))
    t.ok("Reopened" in i3["_comments"][-1]["body"], "reopen comment")
    t.eq(len(gh.issues(with_marker=KEY % "aks-store")), 1, "no second issue on relapse")

    # --- a look-alike key is another incident -------------------------------------------
    post(t, d, event("aks-store-2"), "aks-store-2 degraded")
    settled(d)
    t.eq(len(gh.issues(with_marker=KEY % "aks-store-2")), 1, "aks-store-2: its own issue")
    t.eq(len(gh.issues(with_marker=KEY % "aks-store")), 1, "aks-store: still one issue")

    # --- adoption of issues from before the ledger --------------------------------------
    post(t, d, event("legacy-app"), "legacy-app degraded")
    settled(d)
    t.eq(len(gh.issues(with_marker=KEY % "legacy-app")), 1, "legacy-app: adopted, not duplicated")
    t.eq(refs(d, "legacy-app").get("github", {}).get("issue"), legacy["number"],
         "legacy-app: the ledger learned the existing issue")
    t.ok(any("**Failed again**" in x["body"] for x in gh.issue(legacy["number"])["_comments"]),
         "legacy-app: commented on the adopted issue")
    post(t, d, event("recent-app"), "recent-app degraded")
    settled(d)
    r3 = gh.issue(recent["number"])
    t.eq(len(gh.issues(with_marker=KEY % "recent-app")), 1, "recent-app: no new issue")
    t.eq(r3["state"], "open", "recent-app: closed an hour ago, reopened")

    # --- SIGKILL after GitHub created the issue but before the answer arrived ------------
    gh.fail("POST", r"/issues$", after_effect=True, delay=3.0)
    post(t, d, event("crashy"), "crashy degraded")
    made = wait_until(lambda: gh.issues(with_marker=KEY % "crashy"), 10)
    t.ok(made, "crashy: GitHub has the issue")
    d.kill9()
    d.start()
    settled(d)
    t.eq(len(gh.issues(with_marker=KEY % "crashy")), 1, "crashy: one issue after SIGKILL")
    if made:
        t.eq(refs(d, "crashy").get("github", {}).get("issue"), made[0]["number"],
             "crashy: adopted after restart")
        t.eq(gh.issue(made[0]["number"])["comments"], 0, "crashy: adopted silently (own create)")

    # --- rate limits, errors, slow answers: retried, nothing lost ----------------------
    before = len(gh.reqs())
    gh.fail("POST", r"/issues$", status=429, headers={"Retry-After": "2"},
            body={"message": "API rate limit exceeded", "documentation_url": "x"})
    reset_at = int(time.time()) + 3
    gh.fail("GET", r"/issues$", status=403, headers={
        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset_at)},
        body={"message": "API rate limit exceeded for user ID 1."})
    gh.fail("GET", r"/issues$", status=502)
    gh.fail("GET", r"/issues$", reset=True)
    gh.fail("GET", r"/issues$", delay=3.0)       # over the sink's 2 s timeout
    post(t, d, event("limited"), "limited degraded")
    settled(d)
    t.eq(len(gh.issues(with_marker=KEY % "limited")), 1, "limited: one issue in the end")
    rs = gh.reqs()[before:]
    seq = [(r.method, r.status) for r in rs if r.path.endswith("/issues")]
    t.diag("limited: %s" % seq)
    first403 = next((r for r in rs if r.status == 403), None)
    after403 = [r for r in rs if first403 and r.at > first403.at]
    t.ok(first403 and after403 and after403[0].at >= reset_at,
         "403 with remaining 0: waited for x-ratelimit-reset",
         (after403[0].at - reset_at) if first403 and after403 else None)
    r429 = next((r for r in rs if r.status == 429), None)
    after429 = [r for r in rs if r429 and r.at > r429.at]
    t.ok(r429 and after429 and after429[0].at - r429.at >= 2.0,
         "429 retry-after 2: next request >= 2 s later",
         after429[0].at - r429.at if r429 and after429 else None)
    att = d.scalar("SELECT attempts FROM deliveries WHERE sink = 'github' AND incident_id = "
                   "(SELECT id FROM incidents WHERE key = ?)", (KEY % "limited",))
    # curl retries a request whose reused connection was reset on a fresh connection, so
    # the reset and the slow answer may fall into one attempt
    t.ok(att is not None and att >= 5, "limited: retried through 403, 502, reset, timeout, 429",
         att)
    t.eq([f.status for f in gh.faults], [], "every injected fault was hit")
    n = d.scalar("SELECT count(*) FROM decisions WHERE step = 'delivery' AND outcome = 'retry'"
                 " AND detail LIKE '%rate limit%'")
    t.ok(n and n >= 2, "rate-limit retries are in the decision trace", n)

    # --- mutations for one token are >= 1 s apart ---------------------------------------
    muts = [r for r in gh.reqs() if r.method != "GET"]
    gaps = [(b.at - a.at, a, b) for a, b in zip(muts, muts[1:])]
    t.ok(len(muts) > 10 and min(g[0] for g in gaps) >= 0.98,
         "mutating requests >= 1 s apart (%d of them)" % len(muts),
         [g for g in gaps if g[0] < 0.98])
    d.stop()

    # --- permanent failures: 401, 404, 422 are kept with their reason -------------------
    extra = ("  badtoken: { plugin: github_issue, repo: %s, token: ghp_wrong, api_url: %s }\n"
             "  badrepo: { plugin: github_issue, repo: my-org/nope, token: \"${GITHUB_TOKEN}\","
             " api_url: %s, labels: [bug] }\n" % (REPO, gh.url, gh.url))
    f = Daemon(t, confd(gh.url, extra, "[github, badtoken, badrepo]"),
               env={"GITHUB_TOKEN": TOKEN})
    gh.fail("POST", r"/issues$", status=422, body={
        "message": "Validation Failed", "errors": [{"resource": "Issue", "code": "custom",
                                                    "field": "body", "message": "body is too long"}],
        "documentation_url": "x"})
    post(t, f, event("broken-app"), "broken-app degraded")
    settled(f)
    rows = dict(f.sql("SELECT sink, last_error FROM deliveries WHERE state = 'failed'"))
    t.ok("401" in rows.get("badtoken", "") and "Bad credentials" in rows.get("badtoken", ""),
         "401 fails with GitHub's message", rows)
    t.ok("404" in rows.get("badrepo", ""), "404 fails", rows)
    t.ok("422" in rows.get("github", "") and "Validation Failed" in rows.get("github", ""),
         "422 fails with GitHub's message", rows)
    rc, out, err = f.ctl("deliveries", "--failed")
    t.ok(rc == 0 and all(s in out for s in ("badtoken", "badrepo", "github")),
         "incidentctl deliveries --failed lists them", out + err)
    f.stop()

    # --- without labels, adoption goes through the search API ---------------------------
    found = gh.seed_issue(REPO, "ArgoCD Deployment Failed: search-app",
                          "old\n\n" + marker("search-app"))
    nolab = ("sources:\n  argocd: { auth: none }\nsinks:\n"
             "  github: { plugin: github_issue, repo: %s, token: \"${GITHUB_TOKEN}\","
             " api_url: %s }\nroutes:\n  - { name: default, sinks: [github] }\n"
             % (REPO, gh.url))
    n = Daemon(t, {"10.yaml": nolab}, env={"GITHUB_TOKEN": TOKEN})
    post(t, n, event("search-app"), "search-app degraded")
    settled(n)
    t.eq(len(gh.issues(with_marker=KEY % "search-app")), 1, "search: adopted, not duplicated")
    t.eq(refs(n, "search-app").get("github", {}).get("issue"), found["number"],
         "search: the ledger learned the issue")
    q = [r.query.get("q", "") for r in gh.reqs("GET", r"^/search/issues$")]
    t.ok(q and "incidentd:incident=%s" % (KEY % "search-app") in q[-1] and
         "repo:%s" % REPO in q[-1], "search query names the repo and the marker", q)
    n.stop()
    logs_n = n.lines()

    # --- the token is nowhere: logs, ledger, answers --------------------------------------
    logs = "\n".join(d.lines() + f.lines() + logs_n)
    t.ok(TOKEN not in logs and "ghp_wrong" not in logs, "token not in the logs")
    leaked = []
    for dd in (d, f):
        db = dd.db
        leaked += [l for l in dd.dump_lines() if TOKEN in l or "ghp_wrong" in l]
        for suffix in ("", "-wal"):
            if os.path.exists(db + suffix):
                with open(db + suffix, "rb") as fh:
                    if TOKEN.encode() in fh.read():
                        leaked.append(db + suffix)
    t.eq(leaked, [], "token not in the ledger")


harness.run(main)
