#!/usr/bin/env python3
"""copilot_runner's daily_budget across two replicas of incidentd on one PostgreSQL ledger
(issue 15): the budget is counted in the ledger, so `daily_budget: 1` means one agent run
a day in total, whichever replica handles the incident; the others fail "budget exhausted".
The agent is tests/tools/fake_copilot; the issue comes from the test sink.

Needs PostgreSQL's binaries (Debian's postgresql package): skipped without them."""

import os
import shutil
import tempfile

import harness
from harness import Daemon, sample_json, test_sink_path, wait_until

FAKE = os.environ.get("FAKE_COPILOT") or os.path.join(harness.TOP, "tests/tools/fake_copilot")
ISSUE_URL = "https://github.com/example-org/platform-incidents/issues/42"
APPS = ["shared-%d" % i for i in range(4)]


def confd(plug, workdir, rec):
    return {"10-runner.yaml": (
        "ledger:\n  lease: 3s\n"
        "sources:\n  argocd: { auth: none }\n"
        "sinks:\n"
        "  github: { plugin: %s, result: { issue: 42, url: \"%s\", repo: "
        "example-org/platform-incidents } }\n"
        "  doctor:\n    plugin: copilot_runner\n    after: github\n    workdir: %s\n"
        "    env: { FAKE_COPILOT_RECORD: %s, FAKE_COPILOT_MODE: ok }\n"
        "    sandbox: none\n    daily_budget: 1\n    max_concurrent: 2\n"
        "routes:\n  - { name: default, sinks: [github, doctor] }\n"
        % (plug, ISSUE_URL, workdir, rec))}


def states(d):
    return d.sql("SELECT i.app, d.state, d.last_error FROM deliveries d JOIN incidents i "
                 "ON i.id = d.incident_id WHERE d.sink = 'doctor' ORDER BY i.app")


def main(t):
    if not harness.pg_available():
        t.skip("copilot_runner budget across replicas", "PostgreSQL's binaries are not "
               "installed (apt-get install postgresql)")
        return
    top = tempfile.mkdtemp(prefix="runner-replicas-it-")
    t.cleanups.append(lambda: shutil.rmtree(top, ignore_errors=True))
    bindir, workdir, rec = (os.path.join(top, n) for n in ("bin", "gitops", "rec"))
    for p in (bindir, os.path.join(workdir, ".copilot"), rec):
        os.makedirs(p)
    os.symlink(FAKE, os.path.join(bindir, "copilot"))
    url = harness.pg_new_database()
    env = {"PATH": bindir + ":/usr/bin:/bin", "HOME": top}
    conf = confd(test_sink_path(), workdir, rec)
    a = Daemon(t, conf, env=env, db=url)
    b = Daemon(t, conf, env=env, db=url)

    for i, app in enumerate(APPS):
        p = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
        p["app_name"] = app
        st, _, _ = (a, b)[i % 2].post("/v1/events/argocd", p)
        t.eq(st, 202, "%s accepted by replica %s" % (app, "ab"[i % 2]))
    done = wait_until(lambda: len(states(a)) == len(APPS) and
                      all(r[1] in ("done", "failed") for r in states(a)), 30)
    rows = states(a)
    t.ok(done, "every runner delivery settled", rows)
    runs = [n for n in os.listdir(rec) if n.startswith("run-")]
    t.eq(len(runs), 1, "daily_budget: 1 -> one agent run across both replicas")
    t.eq(sorted(r[1] for r in rows), ["done"] + ["failed"] * (len(APPS) - 1),
         "one delivery done, the others failed")
    t.eq(sorted(r[2] for r in rows if r[1] == "failed"),
         ["budget exhausted (1/day): issue #42 not handed to the agent"] * (len(APPS) - 1),
         "the others: budget exhausted")
    t.eq(a.scalar("SELECT count(*) FROM slots AS s JOIN deliveries AS d ON "
                  "d.id = s.delivery_id WHERE d.state = 'running'"), 0,
         "no runner slot is held once every delivery settled")
    a.stop()
    b.stop()


harness.run(main)
