#!/usr/bin/env python3
"""Cluster identity comes from the cluster, not from the sender (issue 10), through the
real daemon with tests/tools/fake_copilot as the agent and as the clusters' probe:

- the attack: the registered name plus a label with the registered API server URL (the
  uid "not reported") no longer verifies: the run is read-only (--deny-tool ...);
- a probe that prints the registry's uid verifies (write tools allowed); one that prints
  something else, fails or times out keeps the run read-only; a verified probe with a
  claim that contradicts the registry is read-only too;
- no probe: read-only unless the entry opts out with trust_event_claims, and then only
  with every registered field claimed;
- the probe's {{cluster}} is the registry key, never text from the event;
- the result, the log and the decision trace say how identity was established."""

import json
import os
import shutil
import tempfile

import harness
from harness import Daemon, sample_json, test_sink_path, wait_until

FAKE = os.environ.get("FAKE_COPILOT") or os.path.join(harness.TOP, "tests/tools/fake_copilot")
UID = "6a1f3c2e-8d4b-4f3a-9c1e-2b7d5e8f0a91"
ISSUE_URL = "https://github.com/example-org/platform-incidents/issues/42"


def api(name):
    return "https://%s.example:443" % name


def degraded(app, cluster, labels=None):
    p = sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
    p.update({"app_name": app, "cluster": cluster})
    if labels:
        p["labels"] = labels
    return p


def records(rec, prefix):
    out = []
    for name in os.listdir(rec):
        if name.startswith(prefix) and name.endswith(".json"):
            with open(os.path.join(rec, name)) as f:
                out.append(json.load(f))
    return sorted(out, key=lambda r: r["at"])


def main(t):
    top = tempfile.mkdtemp(prefix="runner-id-")
    t.cleanups.append(lambda: shutil.rmtree(top, ignore_errors=True))
    bindir = os.path.join(top, "bin")
    workdir = os.path.join(top, "gitops")
    rec = os.path.join(top, "rec")
    for p in (bindir, workdir, rec):
        os.makedirs(p)
    os.symlink(FAKE, os.path.join(bindir, "copilot"))
    clusters = {
        "attacked": "{ api_server: \"%s\", uid: \"%s\" }" % (api("attacked"), UID),
        "probed": "{ api_server: \"%s\", uid: \"%s\", probe: [copilot, probe, print, \"%s\", "
                  "\"{{cluster}}\"] }" % (api("probed"), UID, UID),
        "wrong": "{ api_server: \"%s\", uid: \"%s\", probe: [copilot, probe, print, "
                 "not-the-uid] }" % (api("wrong"), UID),
        "failing": "{ api_server: \"%s\", uid: \"%s\", probe: [copilot, probe, fail] }"
                   % (api("failing"), UID),
        "slow": "{ api_server: \"%s\", uid: \"%s\", probe: [copilot, probe, sleep], "
                "probe_timeout: 500ms }" % (api("slow"), UID),
        "trusting": "{ api_server: \"%s\", uid: \"%s\", trust_event_claims: true }"
                    % (api("trusting"), UID),
    }
    conf = ("sources:\n  argocd: { auth: none }\nclusters:\n" +
            "".join("  %s: %s\n" % kv for kv in clusters.items()) +
            "sinks:\n  github: { plugin: %s, result: { issue: 42, url: \"%s\", repo: "
            "example-org/platform-incidents } }\n" % (test_sink_path(), ISSUE_URL) +
            "  doctor:\n    plugin: copilot_runner\n    after: github\n    workdir: %s\n"
            "    env: { FAKE_COPILOT_RECORD: %s }\n    ro_binds: [%s, %s]\n"
            "    rw_binds: [%s]\n    max_concurrent: 4\n    queue_retry: 200ms\n"
            % (workdir, rec, bindir, os.path.dirname(os.path.realpath(FAKE)), rec) +
            "routes:\n  - { name: default, sinks: [github, doctor] }\n")
    d = Daemon(t, {"10-test.yaml": conf}, env={"PATH": bindir + ":/usr/bin:/bin"})

    cases = [
        # app, cluster, labels, verified, identity_check, words in the detail
        ("attack", "attacked", {"api_server": api("attacked")}, False, "no probe",
         "no probe, and the event's claims are not proof"),
        ("probe-ok", "probed", None, True, "probe ok", "probe ok (it printed the registered "
         "uid)"),
        ("by-url", api("probed"), None, True, "probe ok", "cluster 'probed': probe ok"),
        ("probe-lied-to", "probed", {"api_server": "https://evil.example"}, False, "probe ok",
         "but the event contradicts the registry"),
        ("probe-wrong", "wrong", {"api_server": api("wrong"), "cluster_uid": UID}, False,
         "probe mismatch", "it printed 'not-the-uid', the registered uid is '%s'" % UID),
        ("probe-fail", "failing", None, False, "probe failed", "probe failed (exit 1)"),
        ("probe-slow", "slow", None, False, "probe failed", "probe failed (timed out after"),
        ("claims-all", "trusting", {"api_server": api("trusting"), "cluster_uid": UID}, True,
         "claims", "claims of the event trusted (trust_event_claims): api_server, uid match"),
        ("claims-part", "trusting", {"api_server": api("trusting")}, False, "claims",
         "not reported: uid"),
        ("unknown", "--kubeconfig=/tmp/x", {"api_server": api("probed")}, False,
         "unregistered", "cluster '--kubeconfig=/tmp/x' is not in the clusters: registry"),
    ]
    for app, cluster, labels, *_ in cases:
        st, _, _ = d.post("/v1/events/argocd", degraded(app, cluster, labels))
        t.eq(st, 202, "%s: accepted" % app)

    def row(app):
        rows = d.sql("SELECT d.state, d.last_error FROM deliveries d JOIN incidents i ON "
                     "i.id = d.incident_id WHERE d.sink = 'doctor' AND i.app = ?", (app,))
        return rows[-1] if rows and rows[-1][0] in ("done", "failed") else None

    t.ok(wait_until(lambda: all(row(c[0]) for c in cases), 30), "every run settled",
         [(c[0], row(c[0])) for c in cases])
    runs = records(rec, "run-")
    by_prompt = {}
    for r in runs:
        for c in cases:
            if "event-data" in (r.get("prompt") or "") and (">>>%s<<<" % c[0]) in r["prompt"]:
                by_prompt[c[0]] = r
    for app, cluster, labels, verified, how, words in cases:
        r = row(app) or ("", "")
        ref = json.loads(d.scalar("SELECT refs FROM incidents WHERE app = ?", (app,)) or
                         "{}").get("doctor", {})
        want_tail = "(%s: %s)" % ("identity verified" if verified else
                                  "read-only: cluster-identity uncertain", how)
        t.ok(r[0] == "done" and r[1].endswith(want_tail), "%s: outcome says %s" %
             (app, want_tail), r)
        t.eq((ref.get("identity"), ref.get("identity_check"), ref.get("read_only")),
             ("verified" if verified else "uncertain", how, not verified),
             "%s: the result records how identity was established" % app)
        t.ok(words in (ref.get("identity_detail") or ""), "%s: detail: %s" % (app, words),
             ref.get("identity_detail"))
        argv = (by_prompt.get(app) or {}).get("argv") or []
        t.eq("--deny-tool" in argv, not verified, "%s: %s" % (
            app, "write tools allowed" if verified else "read-only (--deny-tool ...)"))
    # the trace (incidentctl explain) shows it too
    tr = d.scalar("SELECT group_concat(detail, '|') FROM decisions WHERE step = 'delivery' "
                  "AND detail LIKE 'sink doctor %'") or ""
    t.ok("(identity verified: probe ok)" in tr and
         "(read-only: cluster-identity uncertain: no probe)" in tr and
         "(read-only: cluster-identity uncertain: probe mismatch)" in tr,
         "the decision trace says how identity was established", tr[:600])
    inc = d.scalar("SELECT id FROM incidents WHERE app = 'attack'")
    rc, out, _ = d.ctl("explain", inc)
    t.ok(rc == 0 and "cluster-identity uncertain: no probe" in out,
         "incidentctl explain shows it", out[-600:])
    # the probe ran like the agent, with the registry key for {{cluster}}
    probes = records(rec, "probe-")
    ok_probes = [p["argv"] for p in probes if p["argv"][2:3] == ["print"] and UID in p["argv"]]
    t.ok(ok_probes and all(a == ["copilot", "probe", "print", UID, "probed"]
                           for a in ok_probes) and len(ok_probes) == 3,
         "{{cluster}} in the probe is the registry key, also when the event names the "
         "cluster by URL", ok_probes)
    t.eq(len(probes), 6, "one probe per run of a cluster that has one; none for the rest")
    t.ok(d.wait_log(r"sink/doctor: issue #42: cluster 'wrong': probe mismatch", 1),
         "a mismatch is logged")


harness.run(main)
