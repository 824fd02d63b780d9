#!/usr/bin/env python3
"""Three replicas of incidentd on one PostgreSQL ledger (issue 15), against the fake GitHub,
with one replica SIGKILLed and restarted every few seconds while Argo CD failures and
recoveries (distinct and repeated) and Alertmanager alerts are spread across the live ones,
as a Service would spread them:

- every event a replica answered 202 for is in the ledger (none lost to a kill);
- exactly one GitHub issue per incident key, however many replicas saw its events;
- every "Recovered" comment once per recovery the ledger made (the effects stay
  exactly-once when a replica dies in the middle of one);
- no two mutating GitHub requests closer than 1 s, whichever replica made them (the
  pacing lane is shared through the ledger);
- a `for` hold fires once, also when the replica that accepted its event was killed right
  after answering (another replica finds it due);
- the replicas start together on an empty database and migrate it once.

Needs PostgreSQL's binaries (Debian's postgresql package): skipped without them."""

import random
import threading
import time

import harness
from fake_github import FakeGitHub
from harness import Daemon, github_issue_yaml, sample_json, schema_version, wait_until

REPO = "my-org/platform-incidents"
TOKEN = "ghp_TESTtoken0123456789ReplicasValue"
DEGRADED = "seed-aks-store-degraded.client_payload.json"
RECOVERED = "seed-aks-store-recovered.client_payload.json"
LOAD_SECONDS = 16
KILL_EVERY = 3.0


def confd(api_url):
    return {"10-replicas.yaml": (
        "ledger:\n  lease: 3s\n"
        "sources:\n  argocd: { auth: none }\n  alertmanager: { auth: none }\n"
        "sinks:\n"
        "%s"
        "    labels: [incident]\n"
        "    close_on_resolve: true\n"
        "    repeat_interval: 1h\n"
        "    timeout: 20s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "routes:\n"
        "  - name: held\n"
        "    match: ['app =~ \"held-.*\"']\n"
        "    for: 2s\n"
        "    sinks: [github]\n"
        "  - name: default\n"
        "    sinks: [github]\n" % github_issue_yaml(REPO, api_url))}


def argocd(app, sample=DEGRADED, revision=None):
    p = sample_json("argocd", sample)
    p["app_name"] = app
    if revision:
        p["revision"] = revision
    return p


def alertmanager(pod, status="firing"):
    p = sample_json("alertmanager", "k8s_KubePodCrashLooping_firing_2alerts.json")
    p["alerts"] = p["alerts"][:1]
    p["alerts"][0]["labels"]["pod"] = pod
    p["alerts"][0]["status"] = status
    p["status"] = status
    if status == "resolved":
        p["alerts"][0]["endsAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    p["groupKey"] = "{}:{pod=\"%s\"}" % pod
    return p


class Cluster:
    """The replicas, and a poster that sends each event to a live one (another on a
    connection error, as a sender retries through a Service)."""

    def __init__(self, t, replicas):
        self.t = t
        self.replicas = replicas
        self.lock = threading.Lock()
        self.accepted = []          # event ids answered 202
        self.failed = []

    def post(self, path, body):
        for _ in range(60):
            with self.lock:
                live = [d for d in self.replicas if d.proc is not None and d.port]
            if live:
                d = random.choice(live)
                try:
                    st, _, ans = d.post(path, body, timeout=10)
                except OSError:
                    st, ans = None, None
                if st == 202:
                    with self.lock:
                        self.accepted.extend(ans["events"])
                    return d
            time.sleep(0.1)
        self.failed.append((path, body))
        return None


def main(t):
    if not harness.pg_available():
        t.skip("replicas on PostgreSQL", "PostgreSQL's binaries are not installed "
               "(apt-get install postgresql)")
        return
    url = harness.pg_new_database()
    gh = FakeGitHub(tokens={TOKEN: "incidentd-bot"}, repos=(REPO,))
    t.cleanups.append(gh.close)
    env = {"GITHUB_TOKEN": TOKEN}

    # --- three replicas start together on the empty database ----------------------------
    replicas = [Daemon(t, confd(gh.url), env=env, db=url, start=False) for _ in range(3)]
    starters = [threading.Thread(target=d.start) for d in replicas]
    for s in starters:
        s.start()
    for s in starters:
        s.join()
    t.ok(all(d.port for d in replicas), "three replicas start together on an empty database")
    d0 = replicas[0]
    t.eq(d0.sql("SELECT version FROM incidentd_schema"), [(schema_version(),)],
         "the schema was migrated once, to version %d" % schema_version())
    c = Cluster(t, replicas)

    # --- a `for` hold whose replica dies right after the 202 -----------------------------
    st, _, ans = d0.post("/v1/events/argocd", argocd("held-orphan"))
    t.eq(st, 202, "held-orphan accepted by replica 0")
    d0.kill9()
    d0.start()

    # --- load, with a replica killed and restarted every few seconds ----------------------
    stop = threading.Event()
    kills = [0]

    def killer():
        while not stop.wait(KILL_EVERY):
            victim = random.choice(replicas)
            with c.lock:
                victim.kill9()
            time.sleep(0.3)
            victim.start()
            kills[0] += 1

    k = threading.Thread(target=killer)
    k.start()
    # GitHub takes one mutating request per second from all of them together: the load
    # makes a few per round, so that the outbox drains in about the time of the load
    apps = ["app-%d" % i for i in range(4)]
    deadline = time.time() + LOAD_SECONDS
    rounds = 0
    while time.time() < deadline:
        rounds += 1
        for app in apps:
            c.post("/v1/events/argocd", argocd(app))          # repeated: duplicates
        c.post("/v1/events/alertmanager", alertmanager("pod-%d" % (rounds % 3)))
        if rounds % 4 == 0:
            c.post("/v1/events/argocd", argocd(apps[0], revision="%040x" % rounds))  # again
            c.post("/v1/events/argocd", argocd(apps[1], RECOVERED))       # a recovery
            c.post("/v1/events/alertmanager", alertmanager("pod-%d" % (rounds % 3),
                                                           "resolved"))
            c.post("/v1/events/argocd", argocd("held-%d" % rounds))        # a `for` hold
        time.sleep(1.0)
    stop.set()
    k.join()
    t.ok(kills[0] >= 3, "replicas were killed during the load (%d kills)" % kills[0])
    t.eq(c.failed, [], "every event found a live replica")

    def settled():
        return d0.scalar("SELECT count(*) FROM deliveries WHERE state IN "
                         "('pending', 'running', 'blocked')") == 0
    t.ok(wait_until(settled, 150, 0.5), "every delivery settles after the load",
         d0.sql("SELECT id, sink, action, state, attempts, claimed_by, last_error "
                "FROM deliveries WHERE state NOT IN ('done', 'cancelled')"))

    # --- nothing acknowledged is lost ------------------------------------------------------
    ids = set(r[0] for r in d0.sql("SELECT id FROM events"))
    lost = [e for e in c.accepted if e not in ids]
    t.ok(c.accepted and not lost, "every acknowledged event is in the ledger (%d accepted)"
         % len(c.accepted), lost[:10])

    # --- exactly one issue per incident key -------------------------------------------------
    keys = [r[0] for r in d0.sql("SELECT DISTINCT i.key FROM incidents AS i JOIN deliveries"
                                 " AS d ON d.incident_id = i.id WHERE d.sink = 'github'"
                                 " AND d.action = 'open' AND d.state = 'done'")]
    counts = {k: len(gh.issues(with_marker=k)) for k in keys}
    t.ok(keys and all(n == 1 for n in counts.values()),
         "one GitHub issue per incident key (%d keys)" % len(keys),
         {k: n for k, n in counts.items() if n != 1})
    t.eq(len(gh.issues()), len(keys), "no issue without its incident")
    t.ok("argocd/prod-west-aks/pets/held-orphan" in keys or any(
        "held-orphan" in k for k in keys),
        "the `for` hold of the killed replica fired on another", keys)
    orphan = [n for k, n in counts.items() if "held-orphan" in k]
    t.eq(orphan, [1], "held-orphan: exactly one issue")

    # --- every recovery comment once ------------------------------------------------------
    bad = []
    for key in keys:
        issue = gh.issues(with_marker=key)[0]
        done = d0.scalar("SELECT count(*) FROM deliveries AS d JOIN incidents AS i ON "
                         "i.id = d.incident_id WHERE i.key = ? AND d.sink = 'github' AND "
                         "d.action = 'resolve' AND d.state = 'done'", (key,))
        got = [x for x in gh.issue(issue["number"])["_comments"]
               if "**Recovered**" in x["body"]]
        markers = [x["body"].rstrip().splitlines()[-1] for x in got]
        if len(got) != done or len(set(markers)) != len(markers):
            bad.append((key, done, len(got)))
    t.eq(bad, [], "each resolve made one Recovered comment (key, resolves, comments)")

    # --- pacing shared by the replicas ----------------------------------------------------
    muts = sorted((r for r in gh.reqs() if r.method in ("POST", "PATCH", "PUT", "DELETE")),
                  key=lambda r: r.at)
    gaps = [(round(b.at - a.at, 3), a.method, a.path, b.method, b.path)
            for a, b in zip(muts, muts[1:])]
    t.ok(len(muts) > 10 and min(g[0] for g in gaps) >= 0.98,
         "mutating GitHub requests >= 1 s apart across the replicas (%d of them)" % len(muts),
         [g for g in gaps if g[0] < 0.98][:10])

    for d in replicas:
        d.stop()


harness.run(main)
