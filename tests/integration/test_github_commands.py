#!/usr/bin/env python3
"""`/incidentd` commands in comments on the incident's GitHub issue, through the real daemon
and the fake GitHub, with GitHub's documented issue_comment payload (npm
@octokit/webhooks-examples) signed in the test: ack, silence, resolve, doctor and explain
from a person with write permission apply and get a reply; the same from a person without
it get a refusal reply and change nothing; a bad command gets a reply saying what is
accepted; comments by incidentd itself and by bots are ignored."""

import copy
import os
import tempfile

from fake_github import FakeGitHub
from harness import Daemon, github_issue_yaml, recorder, run, test_sink_path
from test_github_webhooks import (EXAMPLES, KEY, REPO, SECRET, TOKEN, Hook, examples,
                                  failure, settled, steps)


def confd(api_url, rec_dir):
    return {"10-github.yaml": (
        "sources:\n"
        "  argocd: { auth: none }\n"
        "  github: { auth: { hmac: \"${WEBHOOK_SECRET}\" } }\n"
        "sinks:\n"
        "%s"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "  doctor:\n"
        "    plugin: %s\n"
        "    record: %s/doctor.jsonl\n"
        "    trigger: label\n"
        "routes:\n  - name: default\n    sinks: [github]\n" % (
            github_issue_yaml(REPO, api_url), test_sink_path(), rec_dir))}


def comment_event(ex, number, issue_body, text, sender="alice", sender_type="User",
                  author="incidentd-bot"):
    """The documented issue_comment.created delivery: sender comments text on
    REPO#number (written by author)."""
    p = copy.deepcopy(ex[("issue_comment", "created")])
    p["issue"]["number"] = number
    p["issue"]["body"] = issue_body
    p["issue"]["user"]["login"] = author
    p["repository"]["full_name"] = REPO
    p["repository"]["name"] = REPO.split("/")[1]
    p["comment"]["body"] = text
    p["comment"]["user"]["login"] = sender
    p["comment"]["user"]["type"] = sender_type
    p["sender"]["login"] = sender
    p["sender"]["type"] = sender_type
    return p


def main(t):
    if not os.path.exists(EXAMPLES):
        t.skip("GitHub commands", "needs `npm ci --prefix tests/integration/webhooks` "
               "(GitHub's documented webhook payloads)")
        return
    ex = examples()
    gh = FakeGitHub(tokens=(TOKEN,), repos=(REPO,))
    t.cleanups.append(gh.close)
    gh.permissions[(REPO, "alice")] = "write"
    gh.permissions[(REPO, "mallory")] = "read"
    rec = tempfile.mkdtemp(prefix="incidentd-it-rec-")
    d = Daemon(t, confd(gh.url, rec), env={"GITHUB_TOKEN": TOKEN, "WEBHOOK_SECRET": SECRET})
    hook = Hook(d)

    st, _, _ = d.post("/v1/events/argocd", failure("a" * 40))
    settled(d)
    issues = gh.issues(with_marker=KEY)
    t.eq(len(issues), 1, "a failure opened one issue")
    number = issues[0]["number"] if issues else 0
    body = issues[0]["body"] if issues else ""
    me = issues[0]["user"]["login"] if issues else "?"
    incident = d.scalar("SELECT id FROM incidents WHERE key = ?", (KEY,))

    def comments():
        st, cs = gh.api("GET", "/repos/%s/issues/%d/comments?per_page=100" % (REPO, number),
                        TOKEN)
        return [c["body"] for c in cs] if st == 200 else []

    def say(text, sender="alice", **kw):
        """Post the comment webhook; wait for the outbox; the new comments by incidentd."""
        before = len(comments())
        st, _, ans = hook.post("issue_comment", comment_event(ex, number, body, text,
                                                              sender=sender, **kw))
        settled(d)
        eid = ans["events"][0] if isinstance(ans, dict) and ans.get("events") else None
        return st, eid, comments()[before:]

    def acked():
        return d.scalar("SELECT acked_by FROM incidents WHERE id = ?", (incident,))

    # --- refused: no write permission --------------------------------------------------
    st, eid, new = say("/incidentd ack", sender="mallory")
    t.eq(st, 202, "a command comment: 202")
    t.eq(acked(), None, "ack from someone with read permission: not acknowledged")
    t.ok(len(new) == 1 and "needs write permission" in new[0] and "nothing changed" in new[0],
         "they get a short refusal reply on the issue", new)
    t.ok(d.scalar("SELECT state FROM deliveries WHERE sink = 'incidentd' AND event_id = ?",
                  (eid,)) == "cancelled",
         "the command's own step was cancelled behind the failed check",
         d.sql("SELECT sink, state, last_error FROM deliveries WHERE event_id = ?", (eid,)))

    # every command is refused to a reader; they are told once, not on every comment (a
    # public repository lets anyone comment, and each reply costs GitHub requests)
    for cmd in ("silence 2h", "resolve", "explain"):
        st, eid, new = say("/incidentd " + cmd, sender="mallory")
        t.ok(new == [] and
             d.scalar("SELECT state FROM incidents WHERE id = ?", (incident,)) == "firing" and
             d.scalar("SELECT count(*) FROM silences") == 0 and
             "no second reply" in (d.scalar("SELECT last_error FROM deliveries WHERE "
                                            "event_id = ? AND sink = 'github'", (eid,)) or ""),
             "%s from the same reader: refused, nothing changes, no second reply" % cmd,
             (new, d.sql("SELECT sink, state, last_error FROM deliveries WHERE event_id = ?",
                         (eid,))))

    # --- ignored: incidentd itself, bots ------------------------------------------------
    st, eid, new = say("/incidentd ack", sender=me, author=me)
    t.ok(acked() is None and new == [] and
         any(s[0] == "command" and s[1] == "ignored" for s in steps(d, eid)),
         "a command in incidentd's own comment is ignored", steps(d, eid))
    st, eid, new = say("/incidentd resolve", sender="renovate[bot]", sender_type="Bot")
    t.ok(new == [] and d.scalar("SELECT state FROM incidents WHERE id = ?", (incident,)) ==
         "firing", "a bot's command is ignored", steps(d, eid))

    # --- bad arguments: a reply saying what is accepted, nothing changes ---------------
    st, eid, new = say("/incidentd silence forever")
    t.ok(len(new) == 1 and "duration" in new[0] and "/incidentd ack" in new[0] and
         d.scalar("SELECT count(*) FROM silences") == 0,
         "a silence without a valid duration: a reply naming what is accepted, no silence",
         new)
    st, eid, new = say("/incidentd reboot")
    t.ok(new == [] and any("no second reply" in (s[2] or "") for s in steps(d, eid)),
         "a second bad command by the same person within 10 minutes: no second reply",
         (new, steps(d, eid)))
    st, eid, new = say("/incidentd <img src=x onerror=alert(1)>", sender="bob")
    t.ok(len(new) == 1 and "not a command" in new[0] and "<img" not in new[0] and
         "onerror" not in new[0], "an unknown verb is not echoed back", new)

    # --- ack ---------------------------------------------------------------------------
    st, eid, new = say("Looking into it.\n/incidentd ack on it")
    t.eq(acked(), "github:alice", "ack from a person with write permission: acknowledged")
    t.ok(len(new) == 1 and "Acknowledged by alice" in new[0].replace("\u200b", ""),
         "and incidentd replies", new)
    rc, out, _ = d.ctl("explain", incident)
    t.ok(rc == 0 and "github:alice" in out, "explain shows who acknowledged it", out)
    n = len(comments())
    d.post("/v1/events/argocd", failure("b" * 40))
    settled(d)
    t.eq(len(comments()), n, "acknowledged: no failed-again comment")
    st, eid, new = say("/incidentd ack")
    t.ok(len(new) == 1 and "Already acknowledged" in new[0], "a second ack says so", new)

    # --- explain -----------------------------------------------------------------------
    st, eid, new = say("/incidentd explain")
    t.ok(len(new) == 1 and KEY in new[0] and "```" in new[0] and "firing" in new[0],
         "explain replies with the incident's state and latest decisions", new)

    # --- doctor --------------------------------------------------------------------------
    doctor = os.path.join(rec, "doctor.jsonl")
    st, eid, new = say("/incidentd doctor")
    runs = recorder(doctor) if os.path.exists(doctor) else []
    t.ok(len(runs) == 1 and runs[0]["action"] == "open" and len(new) == 1 and
         "agent runs again" in new[0], "doctor runs the agent sink again and says so",
         (runs, new))
    st, eid, new = say("/incidentd doctor", sender="mallory")
    t.eq(len(recorder(doctor)), 1, "doctor from someone without permission: nothing runs")

    # --- silence -------------------------------------------------------------------------
    st, eid, new = say("/incidentd silence 2h waiting for the vendor")
    sil = d.sql("SELECT matchers, comment, created_by FROM silences")
    t.ok(len(sil) == 1 and KEY in sil[0][0] and sil[0][1] == "waiting for the vendor" and
         sil[0][2] == "github:alice", "silence 2h: a silence of this incident's key", sil)
    t.ok(len(new) == 1 and "Silenced for 2h" in new[0], "and a reply", new)
    rc, out, _ = d.ctl("silence", "list")
    t.ok(rc == 0 and "incident_key" in out, "incidentctl silences lists it", out)

    # --- resolve -------------------------------------------------------------------------
    st, eid, new = say("/incidentd resolve rolled back")
    t.eq(d.scalar("SELECT state FROM incidents WHERE id = ?", (incident,)), "resolved",
         "resolve from a person with write permission: resolved")
    t.ok(any("Resolved by alice" in c.replace("\u200b", "") for c in new),
         "and incidentd replies", new)
    st, eid, new = say("/incidentd resolve")
    t.ok(len(new) == 1 and "already resolved" in new[0], "resolving again says so", new)

    # --- the silence holds for this incident's next failure ------------------------------
    n = len(comments())
    st, _, ans = d.post("/v1/events/argocd", failure("c" * 40))
    settled(d)
    eid = ans["events"][0]
    t.ok(len(comments()) == n and any(s[1] == "silenced" and "incident_key" not in s[2]
                                      for s in steps(d, eid)),
         "failing again within the silence: no comment, the trace names the silence",
         steps(d, eid))


if __name__ == "__main__":
    run(main)
