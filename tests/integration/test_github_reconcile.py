#!/usr/bin/env python3
"""Missed GitHub webhooks are caught up: with sources.github.reconcile, incidentd reads the
issues of firing incidents back from (the fake) GitHub with If-None-Match, so an unchanged
issue answers 304; an issue a person closed while no webhook arrived acknowledges the
incident, reopening it withdraws that, a deleted issue is forgotten and the next failure
opens a new one; an issue closed by a bot acknowledges nothing."""

import os
import subprocess
import tempfile
import time

from fake_github import FakeGitHub
from harness import Daemon, INCIDENTD, github_issue_yaml, run, wait_until
from test_github_webhooks import KEY, REPO, SECRET, TOKEN, failure, settled


def confd(api_url, reconcile="1s"):
    return {"10-github.yaml": (
        "sources:\n"
        "  argocd: { auth: none }\n"
        "  github: { auth: { hmac: \"${WEBHOOK_SECRET}\" }, reconcile: %s }\n"
        "sinks:\n"
        "%s"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "routes:\n  - name: default\n    sinks: [github]\n" % (
            reconcile, github_issue_yaml(REPO, api_url)))}


def main(t):
    gh = FakeGitHub(tokens=(TOKEN,), repos=(REPO,))
    t.cleanups.append(gh.close)
    d = Daemon(t, confd(gh.url), env={"GITHUB_TOKEN": TOKEN, "WEBHOOK_SECRET": SECRET})

    d.post("/v1/events/argocd", failure("a" * 40))
    settled(d)
    issues = gh.issues(with_marker=KEY)
    t.eq(len(issues), 1, "a failure opened one issue")
    number = issues[0]["number"] if issues else 0
    incident = d.scalar("SELECT id FROM incidents WHERE key = ?", (KEY,))

    def reads(n):
        return [inm for num, inm in gh.etag_requests if num == n]

    t.ok(wait_until(lambda: len(reads(number)) >= 3, 10, 0.1),
         "the issue of the firing incident is read back every second", gh.etag_requests)
    r = reads(number)
    t.ok(r[0] is None and r[1] is not None and r[1].startswith('W/"') and r[2] == r[1],
         "the first read has no If-None-Match, the next ones send the ETag it got", r)
    t.ok(any(str(q.status) == "304" for q in gh.reqs("GET", r"/issues/%d$" % number)),
         "an unchanged issue answers 304 (no rate limit spent)",
         [q.status for q in gh.reqs("GET", r"/issues/%d$" % number)])
    t.eq(d.scalar("SELECT acked_at FROM incidents WHERE id = ?", (incident,)), None,
         "nothing changed: not acknowledged")

    # --- closed by a bot: nothing ------------------------------------------------------
    gh.close_as(number, "stale[bot]")
    t.ok(wait_until(lambda: d.scalar(
        "SELECT count(*) FROM decisions WHERE step = 'reconcile' AND incident_id = ? AND "
        "detail LIKE '%stale[bot]%not a person%'", (incident,)) > 0, 10, 0.1),
        "an issue closed by a bot is read back", d.sql(
            "SELECT outcome, detail FROM decisions WHERE step = 'reconcile' ORDER BY id DESC "
            "LIMIT 3"))
    t.eq(d.scalar("SELECT acked_at FROM incidents WHERE id = ?", (incident,)), None,
         "closed by a bot: not acknowledged")
    gh.api("PATCH", "/repos/%s/issues/%d" % (REPO, number), TOKEN, {"state": "open"})

    # --- a person closes it and no webhook arrives -------------------------------------
    gh.close_as(number, "alice")
    t.ok(wait_until(lambda: d.scalar("SELECT acked_by FROM incidents WHERE id = ?",
                                     (incident,)) == "github:alice", 10, 0.1),
         "closed by a person without a webhook: caught up, acknowledged by github:alice",
         d.sql("SELECT outcome, detail FROM decisions WHERE step = 'reconcile' ORDER BY id "
               "DESC LIMIT 3"))
    t.ok(d.scalar("SELECT count(*) FROM decisions WHERE step = 'reconcile' AND outcome = "
                  "'acknowledged' AND detail LIKE '%missed webhook%'") == 1,
         "the trace says it was caught up")
    rc, out, _ = d.ctl("explain", incident)
    t.ok(rc == 0 and "github:alice" in out, "explain shows the acknowledgement", out)

    # --- reopened by a person, again without a webhook ---------------------------------
    gh.api("PATCH", "/repos/%s/issues/%d" % (REPO, number), TOKEN, {"state": "open"})
    t.ok(wait_until(lambda: d.scalar("SELECT acked_at FROM incidents WHERE id = ?",
                                     (incident,)) is None, 10, 0.1),
         "reopened without a webhook: the acknowledgement is withdrawn")

    # --- deleted: forgotten, the next failure opens a new issue -------------------------
    gh.delete_issue(number)
    t.ok(wait_until(lambda: (d.sql("SELECT json_extract(refs, '$.github.issue') FROM "
                                   "incidents WHERE id = ?", (incident,)) or [[None]])[0][0]
                    == 0, 10, 0.1),
         "a deleted issue is forgotten by the next pass",
         d.sql("SELECT refs FROM incidents WHERE id = ?", (incident,)))
    d.post("/v1/events/argocd", failure("b" * 40))
    settled(d)
    new = [i for i in gh.issues(with_marker=KEY) if i["number"] != number]
    t.eq(len(new), 1, "the next failure opens a new issue")

    # --- resolved incidents are not read; reconcile: 0s turns it off ---------------------
    d.stop()
    tmp = tempfile.mkdtemp(prefix="incidentd-it-")
    for name, text in confd(gh.url, "500ms").items():
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    p = subprocess.run([INCIDENTD, "--config", tmp, "--check-config"], capture_output=True,
                       text=True, env=dict(os.environ, GITHUB_TOKEN=TOKEN,
                                           WEBHOOK_SECRET=SECRET))
    out = p.stdout + p.stderr
    t.ok(p.returncode != 0 and "reconcile" in out and "1s" in out,
         "reconcile below 1s is a configuration error", out)
    off = Daemon(t, confd(gh.url, "0s"), env={"GITHUB_TOKEN": TOKEN, "WEBHOOK_SECRET": SECRET})
    off.post("/v1/events/argocd", failure("c" * 40))
    settled(off)
    before = len(gh.etag_requests)
    time.sleep(2.5)
    t.eq(len(gh.etag_requests), before, "reconcile: 0s reads nothing back")


if __name__ == "__main__":
    run(main)
