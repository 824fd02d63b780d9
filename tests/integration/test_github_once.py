#!/usr/bin/env python3
"""GitHub effects exactly once across SIGKILL (issue 15), through the real daemon against
the fake GitHub: every comment ends with its delivery's marker; a retried delivery lists
the issue's comments (since shortly before its event arrived, through every page) and posts
only when no comment by incidentd's own identity carries that marker. Kills at each step:

- a resolve killed after its "Recovered" comment, while GitHub holds the close: after the
  restart one "Recovered" comment and the issue closed;
- an update killed after GitHub stored its "Failed again" comment but before the answer
  arrived: one comment;
- a reopen killed after its "Reopened" comment: reopened once, one comment;
- a comment by someone else carrying the delivery's marker does not suppress the post;
- first attempts never list comments."""

import json
import time

import harness
from fake_github import FakeGitHub
from harness import Daemon, github_issue_yaml, sample_json, wait_until

REPO = "my-org/platform-incidents"
TOKEN = "ghp_TESTtoken0123456789OnceOnlyValue"
ATTACKER = "ghp_TESTmallory0123456789AttackerValue"
KEY = "argocd/prod-west-aks/pets/%s"
DEGRADED = "seed-aks-store-degraded.client_payload.json"
RECOVERED = "seed-aks-store-recovered.client_payload.json"
HOLD = 8.0          # GitHub "holds" a request this long; the sink's timeout is longer


def event(app, sample=DEGRADED, **kw):
    p = sample_json("argocd", sample)
    p["app_name"] = app
    p.update(kw)
    return p


def confd(api_url):
    return {"10-github.yaml": (
        "sources:\n  argocd: { auth: none }\n"
        "sinks:\n"
        "%s"
        "    labels: [argocd-deployment-failure]\n"
        "    close_on_resolve: true\n"
        "    repeat_interval: 1h\n"
        "    timeout: 20s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "routes:\n  - name: default\n    sinks: [github]\n" % github_issue_yaml(REPO, api_url))}


def settled(d):
    def ok():
        return d.scalar("SELECT count(*) FROM deliveries WHERE state IN "
                        "('pending', 'running', 'blocked')") == 0
    return wait_until(ok, 40, 0.1)


def post(t, d, body, what):
    st, _, ans = d.post("/v1/events/argocd", body)
    t.eq(st, 202, "%s: accepted" % what)


def comments(gh, number, word, user="incidentd-bot"):
    return [c for c in gh.issue(number)["_comments"]
            if word in c["body"] and c["user"]["login"] == user]


def delivery(d, app, action):
    rows = d.sql("SELECT id, event_id, state, attempts, last_error FROM deliveries WHERE "
                 "sink = 'github' AND action = ? AND incident_id IN (SELECT id FROM incidents "
                 "WHERE key = ?) ORDER BY id DESC LIMIT 1", (action, KEY % app))
    return rows[0] if rows else (None, None, None, None, None)


def open_issue(t, d, gh, app):
    post(t, d, event(app), "%s degraded" % app)
    settled(d)
    mine = gh.issues(with_marker=KEY % app)
    t.eq(len(mine), 1, "%s: one issue" % app)
    return mine[0]["number"] if mine else 0


def restart_after_kill(t, d, what):
    d.kill9()
    d.start()
    t.ok(settled(d), "%s: deliveries settle after the restart" % what,
         d.sql("SELECT id, sink, action, state, attempts, last_error FROM deliveries"))


def main(t):
    gh = FakeGitHub(tokens={TOKEN: "incidentd-bot", ATTACKER: "mallory"}, repos=(REPO,))
    t.cleanups.append(gh.close)
    d = Daemon(t, confd(gh.url), env={"GITHUB_TOKEN": TOKEN})

    # --- first attempts never look: one POST per comment, no listing ------------------
    n = open_issue(t, d, gh, "steady")
    post(t, d, event("steady", revision="1111111111111111111111111111111111111111"),
         "steady: new revision")
    settled(d)
    c = comments(gh, n, "**Failed again**")
    t.eq(len(c), 1, "steady: one comment")
    did, evid = delivery(d, "steady", "update")[:2]
    t.ok(c and c[0]["body"].rstrip().endswith(
        "<!-- incidentd:delivery=%d event=%s -->" % (did or 0, evid)),
        "the comment's last line is its delivery's marker", c[-1]["body"][-200:] if c else c)
    t.eq(gh.reqs("GET", r"/comments$"), [], "first attempts never list comments")

    # --- resolve: killed after the comment, while GitHub holds the close --------------
    n = open_issue(t, d, gh, "kill-resolve")
    # many recent comments of ours: the retry must page past the first 100
    for i in range(130):
        gh.seed_comment(n, "note %d\n<!-- incidentd:delivery=%d event=01OLDEVENT -->"
                        % (i, 900000 + i))
    gh.fail("PATCH", r"/issues/%d$" % n, delay=HOLD, reset=True)
    before = len(gh.reqs())
    post(t, d, event("kill-resolve", RECOVERED), "kill-resolve recovered")
    held = wait_until(lambda: gh.reqs("PATCH", r"/issues/%d$" % n), 15)
    t.ok(held, "kill-resolve: the close request arrived (and is held)")
    t.eq(len(comments(gh, n, "**Recovered**")), 1, "kill-resolve: the comment was posted "
         "before the kill")
    restart_after_kill(t, d, "kill-resolve")
    iss = gh.issue(n)
    t.eq(len(comments(gh, n, "**Recovered**")), 1,
         "kill-resolve: exactly one Recovered comment after the restart")
    t.eq((iss["state"], iss["state_reason"]), ("closed", "completed"),
         "kill-resolve: the issue is closed (completed)")
    rs = gh.reqs()[before:]
    lists = [r for r in rs if r.method == "GET" and r.path.endswith("/comments")]
    t.ok(len(lists) >= 2 and lists[-1].path.startswith("/repositories/"),
         "kill-resolve: the retry walked the comment pages (link header)",
         [(r.path, r.query) for r in lists])
    since = lists[0].query.get("since", "") if lists else ""
    ev_at = d.scalar("SELECT received_at FROM events WHERE id = ?",
                     (delivery(d, "kill-resolve", "resolve")[1],))
    t.ok(since and ev_at and since <= ev_at[:19] + "Z",
         "kill-resolve: listed since before the event arrived", (since, ev_at))
    t.eq(len([r for r in rs if r.method == "POST" and r.path.endswith("/comments")]), 1,
         "kill-resolve: one comment POST in all")
    row = delivery(d, "kill-resolve", "resolve")
    t.ok(row[2] == "done" and row[3] >= 2 and "earlier attempt" in (row[4] or ""),
         "kill-resolve: the ledger says the comment of an earlier attempt was there", row)
    t.ok(d.count_log(r"already has the comment of delivery %d" % (row[0] or 0)) == 1,
         "kill-resolve: logged once", "\n".join(d.lines()[-20:]))

    # --- reopen: killed after the "Reopened" comment was stored, before its answer ----
    gh.fail("POST", r"/issues/%d/comments$" % n, after_effect=True, delay=HOLD, reset=True)
    post(t, d, event("kill-resolve", timestamp="2026-02-10T05:00:00Z"), "kill-resolve fails "
         "again")
    made = wait_until(lambda: comments(gh, n, "**Reopened"), 15)
    t.ok(made and gh.issue(n)["state"] == "open", "kill-resolve: reopened and commented before "
         "the kill")
    restart_after_kill(t, d, "reopen")
    t.eq(len(comments(gh, n, "**Reopened")), 1, "reopen: exactly one Reopened comment")
    t.eq(gh.issue(n)["state"], "open", "reopen: the issue is open")
    refs = json.loads(d.scalar("SELECT refs FROM incidents WHERE key = ? ORDER BY opened_at "
                               "DESC, id DESC LIMIT 1", (KEY % "kill-resolve",)) or "{}")
    t.eq(refs.get("github", {}).get("state"), "open", "reopen: the ledger knows it is open")

    # --- update: killed after GitHub stored the comment, before the answer ------------
    n2 = open_issue(t, d, gh, "kill-update")
    gh.fail("POST", r"/issues/%d/comments$" % n2, after_effect=True, delay=HOLD, reset=True)
    post(t, d, event("kill-update", revision="2222222222222222222222222222222222222222"),
         "kill-update: new revision")
    t.ok(wait_until(lambda: comments(gh, n2, "**Failed again**"), 15),
         "kill-update: GitHub has the comment")
    restart_after_kill(t, d, "kill-update")
    t.eq(len(comments(gh, n2, "**Failed again**")), 1,
         "kill-update: exactly one Failed again comment after the restart")
    row = delivery(d, "kill-update", "update")
    t.ok(row[2] == "done" and "earlier attempt" in (row[4] or ""),
         "kill-update: done, the earlier attempt's comment recognized", row)

    # --- someone else's comment with the marker does not count -------------------------
    n3 = open_issue(t, d, gh, "forged")
    gh.fail("POST", r"/issues/%d/comments$" % n3, delay=HOLD, reset=True)   # never stored
    post(t, d, event("forged", revision="3333333333333333333333333333333333333333"),
         "forged: new revision")
    t.ok(wait_until(lambda: gh.reqs("POST", r"/issues/%d/comments$" % n3), 15),
         "forged: the comment request arrived (and is held)")
    did, evid = delivery(d, "forged", "update")[:2]
    st, _ = gh.api("POST", "/repos/%s/issues/%d/comments" % (REPO, n3), ATTACKER,
                   {"body": "lgtm\n<!-- incidentd:delivery=%d event=%s -->" % (did, evid)})
    t.eq(st, 201, "forged: mallory wrote a comment with the delivery's marker")
    restart_after_kill(t, d, "forged")
    t.eq(len(comments(gh, n3, "**Failed again**")), 1,
         "forged: incidentd still posted its comment")
    t.ok(d.wait_log(r"1 comment\(s\) on issue #%d carry the marker of delivery %d but were "
                    r"not written by incidentd-bot" % (n3, did), 1),
         "forged: the look-alike is logged", "\n".join(d.lines()[-20:]))
    d.stop()


harness.run(main)
