#!/usr/bin/env python3
"""Durability under load: eight clients post as fast as the daemon answers, each body new,
and incidentd is SIGKILLed among them. Several grouped commits are in flight then (one
waiting for its fdatasync while the next is written). After the kill every event that got
its 202 is in the ledger, none twice; after the restart each incident has exactly one
GitHub issue (the fake GitHub counts them)."""

import http.client
import json
import threading
import time

import harness
from fake_github import FakeGitHub
from harness import Daemon, github_issue_yaml, sample_json, wait_until

REPO = "my-org/platform-incidents"
TOKEN = "ghp_TESTtoken0123456789CrashLoadValue"
APPS = ["crash-load-%d" % i for i in range(6)]
KEY = "argocd/prod-west-aks/pets/%s"
CLIENTS = 8
ACKS_BEFORE_KILL = 400


def confd(api_url):
    return {"10-github.yaml": (
        "sources:\n  argocd: { auth: none }\n"
        "sinks:\n"
        "%s"
        "    timeout: 20s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        # one notification per incident: the open (its updates are skipped for an hour)
        "routes:\n  - name: default\n    repeat_interval: 1h\n    sinks: [github]\n"
        % github_issue_yaml(REPO, api_url))}


class Client(threading.Thread):
    """Posts new bodies on one keep-alive connection until the daemon is gone."""

    def __init__(self, port, n):
        super().__init__(daemon=True)
        self.port, self.n = port, n
        self.acked = []        # event ids answered 202
        self.sent = 0
        self.other = []        # any other answer (none is expected before the kill)

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        i = 0
        while True:
            body = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
            body["app_name"] = APPS[(self.n + i) % len(APPS)]
            # a new body each time, the same revision: github_issue comments once per
            # revision, so the updates these make settle without a comment each
            body["message"] += " (client %d, attempt %d)" % (self.n, i)
            i += 1
            try:
                conn.request("POST", "/v1/events/argocd", json.dumps(body),
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                return
            self.sent += 1
            if resp.status == 202:
                self.acked += json.loads(data)["events"]
            else:
                self.other.append((resp.status, data[:200]))


def main(t):
    gh = FakeGitHub(tokens={TOKEN: "incidentd-bot"}, repos=(REPO,))
    t.cleanups.append(gh.close)
    d = Daemon(t, confd(gh.url), env={"GITHUB_TOKEN": TOKEN})
    clients = [Client(d.port, n) for n in range(CLIENTS)]
    for c in clients:
        c.start()
    wait_until(lambda: sum(len(c.acked) for c in clients) >= ACKS_BEFORE_KILL, 60, 0.01)
    d.kill9()
    for c in clients:
        c.join(30)
    acked = [i for c in clients for i in c.acked]
    t.diag("%d requests sent, %d acknowledged before the SIGKILL" %
           (sum(c.sent for c in clients), len(acked)))
    t.ok(len(acked) >= ACKS_BEFORE_KILL, "%d+ events acknowledged under load" % ACKS_BEFORE_KILL,
         len(acked))
    t.eq([o for c in clients for o in c.other], [], "every answer before the kill was a 202")
    t.eq(len(set(acked)), len(acked), "no event id acknowledged twice")

    stored = {r[0] for r in d.sql("SELECT id FROM events")}
    lost = sorted(set(acked) - stored)
    t.eq(lost, [], "after SIGKILL: every acknowledged event is in the ledger")
    twice = d.sql("SELECT message, count(*) FROM events GROUP BY message HAVING count(*) > 1")
    t.eq(twice, [], "after SIGKILL: no body stored twice")
    t.eq(d.scalar("SELECT count(*) FROM incidents"), len(APPS), "one incident per app")

    d.start()
    settled = wait_until(lambda: d.scalar(
        "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'running', 'blocked')") == 0,
        60, 0.1)
    t.ok(settled, "after the restart: every delivery finished",
         d.sql("SELECT sink, action, state, count(*) FROM deliveries GROUP BY 1, 2, 3"))
    for app in APPS:
        mine = gh.issues(with_marker=KEY % app)
        t.eq(len(mine), 1, "%s: exactly one GitHub issue" % app)
    t.eq(len(gh.issues()), len(APPS), "no other issue")
    d.stop()


harness.run(main)
