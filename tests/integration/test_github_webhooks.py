#!/usr/bin/env python3
"""GitHub webhooks through the real daemon (POST /v1/events/github), with GitHub's own
documented payloads (npm @octokit/webhooks-examples, installed by
`npm ci --prefix tests/integration/webhooks`) signed in the test, against the fake GitHub:
the signature is checked before anything else (401, nothing stored), a redelivery of the
same X-GitHub-Delivery is a duplicate however late, ping answers 200, a person closing the
incident's issue acknowledges the incident (no more failed-again comments, the issue stays
closed) and reopening it withdraws that, a deleted issue is forgotten and the next failure
opens a new one, and webhooks about issues incidentd does not own (even with a forged
marker) or sent by bots change nothing."""

import copy
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import uuid

from fake_github import FakeGitHub
from harness import (Daemon, INCIDENTD, PLUGIN_DIR, TOP, github_issue_yaml, recorder, run,
                     sample_json, test_sink_path, wait_until)

REPO = "my-org/platform-incidents"
TOKEN = "ghp_TESTtoken0123456789Sup3rSecretValue"
SECRET = "It's a Secret to Everybody"
APP = "webhook-app"
KEY = "argocd/prod-west-aks/pets/" + APP
EXAMPLES = os.path.join(TOP, "tests", "integration", "webhooks", "node_modules", "@octokit",
                        "webhooks-examples", "api.github.com", "index.json")


def examples():
    with open(EXAMPLES) as f:
        return {(e["name"], ex.get("action")): ex for e in json.load(f) for ex in e["examples"]}


def confd(api_url, rec_dir):
    return {"10-github.yaml": (
        "sources:\n"
        "  argocd: { auth: none }\n"
        "  github: { auth: { hmac: \"${WEBHOOK_SECRET}\" } }\n"
        "sinks:\n"
        "%s"
        "    labels: [argocd-deployment-failure]\n"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "  doctor:\n"
        "    plugin: %s\n"
        "    record: %s/doctor.jsonl\n"
        "    trigger: label\n"
        "  vip:\n"
        "    plugin: %s\n"
        "    record: %s/vip.jsonl\n"
        "    trigger: label\n"
        "    trigger_label: vip-doctor\n"
        "    allowed_actors: [bob]\n"
        "routes:\n  - name: default\n    sinks: [github]\n" % (
            github_issue_yaml(REPO, api_url), test_sink_path(), rec_dir, test_sink_path(),
            rec_dir))}


def failure(rev):
    p = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
    p["app_name"] = APP
    p["revision"] = rev
    return p


def settled(d):
    return wait_until(lambda: d.scalar("SELECT count(*) FROM deliveries WHERE state IN "
                                       "('pending', 'running', 'blocked')") == 0, 30, 0.1)


class Hook:
    """Signs and posts webhook deliveries like GitHub does."""

    def __init__(self, d, secret=SECRET):
        self.d = d
        self.secret = secret

    def post(self, event, payload, delivery=None, secret=None, signed=True):
        body = json.dumps(payload).encode()
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                   "User-Agent": "GitHub-Hookshot/7a4b1c2", "Content-Type": "application/json"}
        if signed:
            headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(
                (secret or self.secret).encode(), body, hashlib.sha256).hexdigest()
        return self.d.post("/v1/events/github", body, headers=headers)


def issue_event(ex, action, number, body, sender="alice", sender_type="User", repo=REPO,
                author="incidentd-bot"):
    """A documented issues.<action> delivery about REPO#number (written by author), sent
    by sender."""
    p = copy.deepcopy(ex[("issues", action)] if ("issues", action) in ex
                      else ex[("issues", "reopened")])
    p["action"] = action
    p["issue"]["number"] = number
    p["issue"]["body"] = body
    p["issue"]["state"] = "closed" if action == "closed" else "open"
    p["repository"]["full_name"] = repo
    p["repository"]["name"] = repo.split("/")[1]
    p["sender"]["login"] = sender
    p["sender"]["type"] = sender_type
    p["issue"]["user"]["login"] = author
    return p


def steps(d, event_id):
    return d.sql("SELECT step, outcome, detail FROM decisions WHERE event_id = ? ORDER BY seq",
                 (event_id,))


def main(t):
    if not os.path.exists(EXAMPLES):
        t.skip("GitHub webhooks", "needs `npm ci --prefix tests/integration/webhooks` "
               "(GitHub's documented webhook payloads)")
        return
    ex = examples()
    gh = FakeGitHub(tokens=(TOKEN,), repos=(REPO,))
    t.cleanups.append(gh.close)
    rec = tempfile.mkdtemp(prefix="incidentd-it-rec-")
    d = Daemon(t, confd(gh.url, rec), env={"GITHUB_TOKEN": TOKEN, "WEBHOOK_SECRET": SECRET})
    hook = Hook(d)
    marker = "<!-- incidentd:incident=%s -->" % KEY

    # --- the incident and its issue ------------------------------------------------------
    st, _, _ = d.post("/v1/events/argocd", failure("a" * 40))
    t.eq(st, 202, "a failure is accepted")
    settled(d)
    issues = gh.issues(with_marker=KEY)
    t.eq(len(issues), 1, "the failure opened one issue")
    number = issues[0]["number"] if issues else 0
    incident = d.scalar("SELECT id FROM incidents WHERE key = ?", (KEY,))

    # --- the signature comes first -----------------------------------------------------
    n_events = d.scalar("SELECT count(*) FROM events WHERE source = 'github'")
    st, _, ans = hook.post("issues", issue_event(ex, "closed", number, issues[0]["body"]),
                           secret="not the secret")
    t.eq(st, 401, "a wrong signature: 401")
    st, _, _ = hook.post("issues", issue_event(ex, "closed", number, issues[0]["body"]),
                         signed=False)
    t.eq(st, 401, "no signature: 401")
    t.eq(d.scalar("SELECT count(*) FROM events WHERE source = 'github'"), n_events,
         "nothing of a badly signed webhook is stored")
    t.eq(d.scalar("SELECT acked_at FROM incidents WHERE id = ?", (incident,)), None,
         "and the incident is not acknowledged")

    # --- ping ----------------------------------------------------------------------------
    ping = copy.deepcopy(ex[("ping", None)])
    st, _, ans = hook.post("ping", ping)
    t.eq(st, 200, "ping: 200")
    pid = (ans.get("events") or [None])[0] if isinstance(ans, dict) else None
    t.ok(any(s[1] == "ping" for s in steps(d, pid)), "the ping is in the ledger", steps(d, pid))

    # --- incidentd itself closing the issue (its own login) is not a person -------------
    me = issues[0]["user"]["login"]
    st, _, ans = hook.post("issues", issue_event(ex, "closed", number, issues[0]["body"],
                                                 sender=me, author=me))
    t.ok(st == 202 and d.scalar("SELECT acked_at FROM incidents WHERE id = ?", (incident,))
         is None, "closed by incidentd's own identity (the issue's author): not acknowledged",
         steps(d, ans["events"][0]) if isinstance(ans, dict) else ans)

    # --- a person closes the issue: acknowledged ---------------------------------------
    st, _ = gh.api("PATCH", "/repos/%s/issues/%d" % (REPO, number), TOKEN, {"state": "closed"})
    closed_id = str(uuid.uuid4())
    st, _, ans = hook.post("issues", issue_event(ex, "closed", number, issues[0]["body"]),
                           delivery=closed_id)
    t.eq(st, 202, "issues.closed by a person: 202")
    row = d.sql("SELECT acked_by, acked_at IS NOT NULL FROM incidents WHERE id = ?",
                (incident,))[0]
    t.eq(row, ("github:alice", 1), "the incident is acknowledged by github:alice")
    eid = ans["events"][0]
    t.ok(any(s[0] == "ack" and s[1] == "acknowledged" for s in steps(d, eid)),
         "explain names the acknowledgement", steps(d, eid))
    rc, out, _ = d.ctl("explain", incident)
    t.ok(rc == 0 and "acknowledged" in out and "alice" in out,
         "incidentctl explain INCIDENT shows who acknowledged it", out)

    comments = gh.issue(number)["comments"]
    st, _, ans = d.post("/v1/events/argocd", failure("b" * 40))
    settled(d)
    t.eq(gh.issue(number)["comments"], comments, "acknowledged: no failed-again comment")
    t.eq(gh.issue(number)["state"], "closed", "and the closed issue stays closed")
    t.ok(any("acknowledged by github:alice" in (s[2] or "") for s in steps(d, ans["events"][0])),
         "the skipped notification says why", steps(d, ans["events"][0]))

    # --- a redelivery is a duplicate, however late -------------------------------------
    st, _, ans = hook.post("issues", issue_event(ex, "closed", number, issues[0]["body"]),
                           delivery=closed_id)
    t.ok(st == 202 and ans.get("duplicate") is True, "the same X-GitHub-Delivery again: "
         "202 duplicate", ans)

    # --- a bot reopening it changes nothing; a person reopening it does ---------------
    st, _, ans = hook.post("issues", issue_event(ex, "reopened", number, issues[0]["body"],
                                                 sender="stale[bot]", sender_type="Bot"))
    t.eq(d.scalar("SELECT acked_by FROM incidents WHERE id = ?", (incident,)), "github:alice",
         "reopened by a bot: still acknowledged")
    gh.api("PATCH", "/repos/%s/issues/%d" % (REPO, number), TOKEN, {"state": "open"})
    st, _, ans = hook.post("issues", issue_event(ex, "reopened", number, issues[0]["body"]))
    t.eq(st, 202, "issues.reopened by a person: 202")
    t.eq(d.scalar("SELECT acked_at FROM incidents WHERE id = ?", (incident,)), None,
         "reopened by a person: the acknowledgement is withdrawn")
    st, _, _ = hook.post("issues", issue_event(ex, "closed", number, issues[0]["body"]),
                         delivery=closed_id)
    t.eq(d.scalar("SELECT acked_at FROM incidents WHERE id = ?", (incident,)), None,
         "the old closed delivery replayed does not acknowledge it again")
    d.post("/v1/events/argocd", failure("c" * 40))
    settled(d)
    t.eq(gh.issue(number)["comments"], comments + 1, "notifications resume: a failed-again "
         "comment")

    # --- a label starts a sink with trigger: label --------------------------------------
    gh.permissions[(REPO, "alice")] = "write"
    gh.permissions[(REPO, "mallory")] = "read"
    doctor = os.path.join(rec, "doctor.jsonl")
    vip = os.path.join(rec, "vip.jsonl")
    last = d.scalar("SELECT last_event_id FROM incidents WHERE id = ?", (incident,))

    def labeled(name, sender, author="incidentd-bot"):
        p = issue_event(ex, "labeled", number, issues[0]["body"], sender=sender,
                        author=author)
        p["label"]["name"] = name
        st, _, ans = hook.post("issues", p)
        settled(d)
        return st, ans["events"][0] if isinstance(ans, dict) and ans.get("events") else None

    st, eid = labeled("cluster-doctor", me, author=me)
    t.ok(st == 202 and not os.path.exists(doctor) and
         any(s[0] == "trigger" and s[1] == "ignored" for s in steps(d, eid)),
         "cluster-doctor added by incidentd itself: not a second trigger", steps(d, eid))
    perm_gets = lambda who: len(gh.reqs("GET", r"/collaborators/%s/permission" % who))
    st, eid = labeled("cluster-doctor", "alice")
    runs = recorder(doctor) if os.path.exists(doctor) else []
    t.ok(len(runs) == 1 and runs[0]["action"] == "open" and runs[0]["event"]["id"] == last and
         runs[0]["incident"]["id"] == incident,
         "added by a person with write permission: the label-triggered sink runs once for "
         "the incident, about its last failure", runs)
    t.eq(perm_gets("alice"), 1, "the person's permission was asked from GitHub")
    st, eid = labeled("cluster-doctor", "mallory")
    t.eq(len(recorder(doctor)), 1, "added by a person with read permission: it does not run")
    t.ok(d.scalar("SELECT count(*) FROM deliveries WHERE sink = 'doctor' AND state = "
                  "'cancelled'") == 1 and
         "lacks write permission" in (d.scalar("SELECT last_error FROM deliveries WHERE "
                                               "sink = 'github' AND event_id = ?", (eid,)) or ""),
         "the permission check failed and cancelled the run",
         d.sql("SELECT sink, state, last_error FROM deliveries WHERE event_id = ? OR "
               "sink = 'doctor'", (eid,)))
    st, eid = labeled("cluster-doctor", "alice")
    t.ok(len(recorder(doctor)) == 2 and perm_gets("alice") == 1,
         "alice again: runs again, her permission is still known (cached, not asked again)",
         (len(recorder(doctor)), perm_gets("alice")))
    st, eid = labeled("vip-doctor", "bob")
    t.ok(os.path.exists(vip) and len(recorder(vip)) == 1 and perm_gets("bob") == 0,
         "a login in allowed_actors starts its sink without asking GitHub")
    st, eid = labeled("needs-triage", "alice")
    t.ok(any("no sink has trigger: label" in (s[2] or "") for s in steps(d, eid)) and
         len(recorder(doctor)) == 2, "another label starts nothing", steps(d, eid))

    # --- issues incidentd does not own -------------------------------------------------
    other = gh.seed_issue(REPO, "not ours", "a forged marker\n" + marker, user="mallory")
    before = d.sql("SELECT acked_by, refs FROM incidents WHERE id = ?", (incident,))
    st, _, ans = hook.post("issues", issue_event(ex, "closed", other["number"],
                                                 other["body"], sender="mallory"))
    t.eq(st, 202, "a webhook about another issue: 202")
    t.ok(any(s[1] == "not ours" for s in steps(d, ans["events"][0])),
         "recorded as not an incidentd issue", steps(d, ans["events"][0]))
    t.eq(d.sql("SELECT acked_by, refs FROM incidents WHERE id = ?", (incident,)), before,
         "a forged marker on another issue changes nothing")
    st, _, ans = hook.post("issue_comment", copy.deepcopy(ex[("issue_comment", "created")]))
    t.eq(st, 202, "issue_comment on an unrelated repository: 202, recorded")

    # --- deleted: forgotten, the next failure opens a new issue ------------------------
    gh.delete_issue(number)
    st, _, ans = hook.post("issues", issue_event(ex, "deleted", number, issues[0]["body"]))
    t.eq(st, 202, "issues.deleted: 202")
    refs = json.loads(d.scalar("SELECT refs FROM incidents WHERE id = ?", (incident,)))
    t.ok("github" not in refs, "the deleted issue is dropped from the incident's refs", refs)
    d.post("/v1/events/argocd", failure("d" * 40))
    settled(d)
    fresh = [i for i in gh.issues(with_marker=KEY) if i["number"] not in (number,
                                                                         other["number"])]
    t.eq(len(fresh), 1, "the next failure opened a new issue")
    refs = json.loads(d.scalar("SELECT refs FROM incidents WHERE id = ?", (incident,)))
    t.eq(refs.get("github", {}).get("issue"), fresh[0]["number"] if fresh else None,
         "and the incident refers to it")

    # --- a pull request that fixes it ---------------------------------------------------
    new_number = fresh[0]["number"] if fresh else 0

    def pull(action, body, merged=False, number=77):
        p = copy.deepcopy(ex[("pull_request", "closed" if action == "closed" else "opened")])
        p["action"] = action
        p["number"] = number
        p["pull_request"].update({"number": number, "body": body, "merged": merged,
                                  "title": "Roll back the store-front image",
                                  "html_url": "https://github.com/my-org/shop/pull/%d" % number})
        p["repository"]["full_name"] = "my-org/shop"
        p["sender"]["login"] = "bob"
        return p

    st, _, ans = hook.post("pull_request", pull("opened", "Unrelated; see %s#%d and prefixes "
                                                "%s#%d" % (REPO, new_number, REPO,
                                                           new_number)))
    t.ok(st == 202 and d.scalar("SELECT fix_pr FROM incidents WHERE id = ?", (incident,))
         is None, "a pull request that only mentions the issue (no closing keyword, no "
         "link): not linked", steps(d, ans["events"][0]) if isinstance(ans, dict) else ans)
    st, _, ans = hook.post("pull_request", pull(
        "opened", "Roll back.\n\nFixes %s#%d" % (REPO, new_number)))
    t.eq(d.scalar("SELECT fix_pr FROM incidents WHERE id = ?", (incident,)), "my-org/shop#77",
         "'Fixes owner/repo#N' links the pull request to the incident")
    st, _, ans = hook.post("pull_request", pull(
        "closed", "Roll back.\n\nhttps://github.com/%s/issues/%d" % (REPO, new_number),
        merged=True))
    t.eq(st, 202, "pull_request closed (merged): 202")
    t.ok(d.scalar("SELECT fix_merged_at IS NOT NULL FROM incidents WHERE id = ?",
                  (incident,)) == 1, "merged: the fix's time is recorded")
    t.ok(any(s[0] == "fix" and s[1] == "merged" for s in steps(d, ans["events"][0])),
         "explain names the merged fix", steps(d, ans["events"][0]))
    settled(d)
    notes = [c["body"] for c in gh.issue(new_number)["_comments"]
             if "Fix merged" in c["body"]] if gh.issue(new_number) else []
    t.ok(len(notes) == 1 and "my-org/shop" in notes[0] and "77" in notes[0] and
         "<https://github.com/my-org/shop/pull/77>" in notes[0] and "`bob`" in notes[0],
         "the issue gets one 'Fix merged' comment naming the pull request", notes)
    t.eq(gh.issue(new_number)["state"], "open", "the note does not close or reopen anything")
    rc, out, _ = d.ctl("explain", incident)
    t.ok(rc == 0 and "fix: my-org/shop#77" in out and "merged" in out,
         "incidentctl explain INCIDENT shows the fix", out)
    rc, out, _ = d.ctl("stats")
    t.ok(rc == 0 and "time to fix" in out and "(1 fixed)" in out,
         "incidentctl stats shows the time to fix", out)

    # --- deleted while the webhook was not heard: the sink finds out (410) -------------
    gh.delete_issue(new_number)
    d.post("/v1/events/argocd", failure("e" * 40))
    settled(d)
    latest = [i for i in gh.issues(with_marker=KEY) if i["number"] not in
              (number, other["number"], new_number)]
    t.eq(len(latest), 1, "a missed deletion: the failed-again comment gets 410 Gone, and a new "
         "issue is opened instead")
    refs = json.loads(d.scalar("SELECT refs FROM incidents WHERE id = ?", (incident,)))
    t.ok(refs.get("github", {}).get("issue") == (latest[0]["number"] if latest else -1) and
         refs["github"].get("previous_issue") == new_number,
         "the incident refers to the new issue and remembers the deleted one", refs)

    # --- requests that are not GitHub webhooks -----------------------------------------
    st, _, ans = d.post("/v1/events/github", json.dumps({"zen": "x"}).encode(),
                        headers={"X-Hub-Signature-256": "sha256=" + hmac.new(
                            SECRET.encode(), json.dumps({"zen": "x"}).encode(),
                            hashlib.sha256).hexdigest()})
    t.ok(st == 400 and "X-GitHub-Event" in json.dumps(ans),
         "signed but without X-GitHub-Event / X-GitHub-Delivery: 400 naming them", ans)
    d.stop()

    # --- configuration: the secret is required -----------------------------------------
    bad = tempfile.mkdtemp(prefix="incidentd-it-")
    with open(os.path.join(bad, "10-x.yaml"), "w") as f:
        f.write("sources:\n  github: { auth: none }\n")
    p = subprocess.run([INCIDENTD, "--check-config", "-c", bad, "--plugin-dir", PLUGIN_DIR],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = p.stdout.decode() + p.stderr.decode()
    t.ok(p.returncode != 0 and "sources.github" in out and "hmac" in out,
         "sources.github without an hmac secret is a configuration error", out)
    with open(os.path.join(bad, "10-x.yaml"), "w") as f:
        f.write("sinks:\n  doc: { plugin: log, trigger: label }\n"
                "routes:\n  - name: r\n    sinks: [doc]\n")
    p = subprocess.run([INCIDENTD, "--check-config", "-c", bad, "--plugin-dir", PLUGIN_DIR],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = p.stdout.decode() + p.stderr.decode()
    t.ok(p.returncode != 0 and "routes.0.sinks.0" in out and "trigger: label" in out,
         "a sink with trigger: label in a route is a configuration error", out)


if __name__ == "__main__":
    run(main)
