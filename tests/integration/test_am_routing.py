#!/usr/bin/env python3
"""Differential test: routing means what it means in Alertmanager.

Routing trees and label sets are generated from a fixed seed. Each tree is written twice:
as an alertmanager.yml (every route has its own receiver, or inherits its parent's) and as
an incidentd conf.d (the same matcher text on labels.X, the receiver as the route's sink,
or none to inherit). Each label set goes to `amtool config routes test` (Debian's
prometheus-alertmanager 0.25) and, as an Alertmanager webhook body with one alert carrying
the labels, to `incidentctl rules test` (all the label sets of a tree in one run, one
--event file each). They must agree on whether the tree is valid, on the routes that take
the alert, in order, and on the receivers (sinks) those routes inherit.

The values are where the two used to differ: backslashes (prod\\.west, \\S+, pay\\)?, a\\\\b,
a final \\), quotes, regex metacharacters, "", bare values with escapes, != and !~ on absent
labels, lists with commas and braces; the trees have nesting, continue and inheritance.
A coverage check fails the test if the generator stops producing any of these.

AM_DIFF_SEED=N picks another seed (printed on a difference); AM_DIFF_TREES sets the number
of trees. Skipped with a plain message when amtool is not installed."""

import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import harness

SEED = int(os.environ.get("AM_DIFF_SEED", "20260412"))
TREES = int(os.environ.get("AM_DIFF_TREES", "32"))
SETS = 8                          # label sets per tree: TREES * SETS cases
SHOW = int(os.environ.get("AM_DIFF_SHOW", "4"))   # trees whose differences are printed
LABELS = ["a", "b", "c", "team", "env"]

# The value side of a matcher exactly as written in a config file (after the operator):
# (text, ops it may go with). Quoted and bare, with the backslashes people write.
VALUES = [
    ('"prod\\.west"', "=~ !~ = !="), ('prod\\.west', "=~ !~ = !="),
    ('"prod-.*"', "=~ !~"), ('"\\S+"', "=~ !~ = !="), ('"pay\\)?"', "=~ !~ = !="),
    ('"a\\\\b"', "= != =~ !~"), ('a\\\\b', "= != =~"), ('"a\\\\\\\\b"', "=~ !~"),
    ('"a\\"b"', "= != =~"), ('a\\"b', "= !="), ('"a\\nb"', "= != =~"), ('a\\nb', "= !="),
    ('"a\\tb"', "= != =~"), ('"a\\,b"', "= != =~"), ('"a,b"', "= != =~"),
    ('a\\', "= !="), ('"x y"', "= !="), ('  x  ', "= != =~"), ('""', "= != =~ !~"),
    ('', "= !="), ('x', "= != =~ !~"), ('"x"', "= != =~ !~"), ('pay', "= != =~ !~"),
    ('"(a|b)+"', "=~ !~"), ('"[a-z]+"', "=~ !~"), ('"\\d+"', "=~ !~"), ('".*"', "=~ !~"),
    ('".+"', "=~ !~"), ('"(?i)k"', "=~ !~"), ('"\\w+\\\\\\w+"', "=~ !~"),
    ('"[^\\s]+"', "=~ !~"), ('"\\\\"', "= !="), ('"a$"', "=~"), ('"x{,3}"', "=~"),
    ('"(?s).+"', "=~ !~"),
    # refused by both, a whole tree at a time (rare on purpose)
    ('"pay)"', "=~"), ('"a\\"', "= =~"), ('"(?=a)"', "=~"), ('a"b', "="),
]
REFUSED = {'"pay)"', '"a\\"', '"(?=a)"', 'a"b'}

# Label values the alerts carry ("" too: it reads as absent on both sides).
LABEL_VALUES = ["prod.west", "prod-west", "pay", "pay)", "a\\b", "a\\\\b", 'a"b', "a\nb",
                "a\\nb", "a\\tb", "a\tb", "a\\,b", "a,b", "S+", "abc", "x y", "x", "",
                "a", "b", "ab", "k", "K", "\u212a", ".*", "d", "123", "a\\", "\\",
                "x{,3}", "w\\x", "a\n"]


class Tree:
    """One generated routing tree: nodes are dicts with name, entries (match texts without
    the label prefix), cont, receiver (None = inherited), children."""

    def __init__(self, rnd, idx):
        self.rnd = rnd
        self.idx = idx
        self.count = 0
        self.features = set()
        self.routes = self.level(0)

    def matcher(self):
        """(label, rest): the matcher is label + rest on either side."""
        r = self.rnd
        label = r.choice(LABELS)
        if r.random() < 0.012:
            text, ops = r.choice([v for v in VALUES if v[0] in REFUSED])
        else:
            text, ops = r.choice([v for v in VALUES if v[0] not in REFUSED])
        op = r.choice(ops.split())
        sp = lambda: r.choice(["", "", " ", "  ", "\t"])
        if "\\" in text:
            self.features.add("backslash")
        if '"' in text[1:-1] or (text and not text.startswith('"') and '"' in text):
            self.features.add("quote")
        if text in ('""', ''):
            self.features.add("empty")
        if any(ch in text for ch in "()[]+*?|.$"):
            self.features.add("regex-meta")
        if not text.startswith('"') and text:
            self.features.add("bare")
        if op in ("!=", "!~"):
            self.features.add("negative")
        return (label, "%s%s%s%s" % (sp(), op, sp(), text))

    def entry(self):
        """A match entry: (braces, [matchers], trailing comma)."""
        r = self.rnd
        if r.random() < 0.12:
            # several matchers in one entry, as Alertmanager's matchers: allow
            self.features.add("list")
            return (r.random() < 0.5, [self.matcher() for _ in range(r.randint(2, 3))],
                    r.random() < 0.3)
        return (False, [self.matcher()], False)

    def level(self, depth):
        r = self.rnd
        n = r.randint(2, 4) if depth == 0 else r.randint(1, 3)
        routes = []
        for i in range(n):
            self.count += 1
            node = {"name": "t%d-r%d" % (self.idx, self.count),
                    "entries": [self.entry() for _ in range(r.choice([0, 1, 1, 1, 2, 2, 3]))],
                    "cont": r.random() < 0.35,
                    # top-level routes have their own receiver: then amtool's answer
                    # "root" can only mean that no route took the alert
                    "receiver": None if depth > 0 and r.random() < 0.4 else
                    "rcv-%d" % self.count,
                    "children": []}
            if not node["entries"] and not node["cont"] and i < n - 1:
                # a route without matchers and without continue as the last of its level
                # only: incidentd refuses the routes after it as unreachable (on purpose)
                node["cont"] = True
            if not node["entries"]:
                self.features.add("catch-all")
            if node["cont"]:
                self.features.add("continue")
            if node["receiver"] is None:
                self.features.add("inherited")
            if depth < 2 and r.random() < 0.4:
                node["children"] = self.level(depth + 1)
                self.features.add("nested")
            routes.append(node)
        return routes

    def walk(self, routes=None, parent_rcv=None):
        """(node, effective receiver) for every route, depth first."""
        for node in self.routes if routes is None else routes:
            rcv = node["receiver"] or parent_rcv
            yield node, rcv
            yield from self.walk(node["children"], rcv)

    def receivers(self):
        return sorted({n["receiver"] for n, _ in self.walk() if n["receiver"]})

    def am_yaml(self):
        def routes(nodes, ind):
            out = []
            for n in nodes:
                out.append("%s- continue: %s\n" % (ind, "true" if n["cont"] else "false"))
                if n["receiver"]:
                    out.append("%s  receiver: %s\n" % (ind, n["receiver"]))
                if n["entries"]:
                    out.append("%s  matchers:\n" % ind)
                    out += ["%s    - %s\n" % (ind, q(render(e, ""))) for e in n["entries"]]
                if n["children"]:
                    out.append("%s  routes:\n" % ind)
                    out += routes(n["children"], ind + "    ")
            return out
        text = "route:\n  receiver: root\n  routes:\n" + "".join(routes(self.routes, "    "))
        text += "receivers:\n  - name: root\n"
        text += "".join("  - name: %s\n" % r for r in self.receivers())
        return text

    def incidentd_yaml(self):
        def routes(nodes, ind):
            out = []
            for n in nodes:
                out.append("%s- name: %s\n" % (ind, n["name"]))
                out.append("%s  continue: %s\n" % (ind, "true" if n["cont"] else "false"))
                if n["receiver"]:
                    out.append("%s  sinks: [%s]\n" % (ind, n["receiver"]))
                if n["entries"]:
                    out.append("%s  match:\n" % ind)
                    out += ["%s    - %s\n" % (ind, q(render(e, "labels."))) for e in
                            n["entries"]]
                if n["children"]:
                    out.append("%s  routes:\n" % ind)
                    out += routes(n["children"], ind + "    ")
            return out
        text = "sources:\n  alertmanager: { auth: none }\nsinks:\n  root: { plugin: log }\n"
        text += "".join("  %s: { plugin: log }\n" % r for r in self.receivers())
        text += "routes:\n" + "".join(routes(self.routes, "  "))
        return text


def render(entry, prefix):
    """A match entry as written in a config file, the labels named prefix + label."""
    braces, matchers, comma = entry
    body = ", ".join(prefix + label + rest for label, rest in matchers) + ("," if comma else "")
    return "{" + body + "}" if braces else body


def q(s):
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(s, ensure_ascii=False)


def label_sets(rnd):
    sets = []
    for _ in range(SETS):
        ls = {}
        for name in LABELS:
            if rnd.random() < 0.6:
                ls[name] = rnd.choice(LABEL_VALUES)
        sets.append(ls)
    return sets


def om_escape(v):
    """A label value for amtool's command line: OpenMetrics escaping inside quotes."""
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def amtool_route(amtool, cfg, labels):
    """The receivers amtool lists for labels, or None when the configuration is invalid."""
    args = [amtool, "config", "routes", "test", "--config.file=" + cfg]
    args += ['%s="%s"' % (k, om_escape(v)) for k, v in sorted(labels.items())]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        return None, p.stderr.decode(errors="replace").strip().splitlines()[-1:]
    return p.stdout.decode().strip().split(","), None


def webhook_body(labels, i):
    alert = {"status": "firing", "labels": labels, "annotations": {},
             "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "http://prometheus.example/graph", "fingerprint": "%016x" % i}
    return {"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": "firing",
            "receiver": "incidentd", "groupLabels": {}, "commonLabels": labels,
            "commonAnnotations": {}, "externalURL": "http://alertmanager.example",
            "alerts": [alert]}


def incidentd_route(confd, files):
    """Per file: (taken route names, sink names), or None when the config is invalid."""
    args = [harness.INCIDENTCTL, "rules", "test", "--config", confd, "--json"]
    for f in files:
        args += ["--event", f]
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    err = p.stderr.decode(errors="replace")
    if any(m in err for m in harness.SANITIZER_MARKS):
        raise RuntimeError("incidentctl: sanitizer report:\n" + err)
    if p.returncode != 0:
        if "invalid configuration" in err:
            return None, err.strip()
        raise RuntimeError("incidentctl rules test failed:\n" + err)
    plans = json.loads(p.stdout)
    return [(pl["taken"], pl["sinks"]) for pl in plans], None


def main(t):
    amtool = os.environ.get("AMTOOL") or shutil.which("amtool")
    if not amtool:
        t.skip("routing agrees with Alertmanager", "amtool is not installed (Debian: "
               "apt-get install prometheus-alertmanager)")
        return
    rnd = random.Random(SEED)
    work = tempfile.mkdtemp(prefix="incidentd-amdiff-")
    t.cleanups.append(lambda: shutil.rmtree(work, ignore_errors=True))
    t.diag("seed %d, %d trees x %d label sets, %s" % (SEED, TREES, SETS, amtool))
    features, cases, valid_trees, shown, started = set(), 0, 0, 0, time.monotonic()
    routed = taken_total = 0
    # generate and write everything first (one random stream), then route it all on a
    # small pool: amtool answers one label set per run
    pool = ThreadPoolExecutor(max_workers=4)
    jobs = []
    for idx in range(TREES):
        tree = Tree(rnd, idx)
        sets = label_sets(rnd)
        tdir = os.path.join(work, "t%d" % idx)
        confd = os.path.join(tdir, "conf.d")
        os.makedirs(confd)
        am_cfg = os.path.join(tdir, "alertmanager.yml")
        with open(am_cfg, "w") as f:
            f.write(tree.am_yaml())
        with open(os.path.join(confd, "10-routes.yaml"), "w") as f:
            f.write(tree.incidentd_yaml())
        files = []
        for i, ls in enumerate(sets):
            files.append(os.path.join(tdir, "alert%d.json" % i))
            with open(files[-1], "w") as f:
                json.dump(webhook_body(ls, i), f)
        jobs.append((idx, tree, sets,
                     [pool.submit(amtool_route, amtool, am_cfg, ls) for ls in sets],
                     pool.submit(incidentd_route, confd, files)))
    for idx, tree, sets, am_jobs, inc_job in jobs:
        am = [j.result() for j in am_jobs]
        inc, inc_err = inc_job.result()
        features |= tree.features
        problems = []
        am_valid = all(r is not None for r, _ in am)
        if not am_valid or inc is None:
            if am_valid != (inc is not None):
                problems.append("validity: Alertmanager %s the tree (%s), incidentd %s it "
                                "(%s)" % ("accepts" if am_valid else "refuses",
                                          am[0][1] or "", "accepts" if inc else "refuses",
                                          inc_err or ""))
            cases += 1
        else:
            valid_trees += 1
            rcv_of = {n["name"]: rcv for n, rcv in tree.walk()}
            for ls, (am_rcvs, _), (taken, sinks) in zip(sets, am, inc):
                cases += 1
                if am_rcvs == ["root"]:
                    am_rcvs = []        # only the root route: no route took the alert
                want_sinks = list(dict.fromkeys(am_rcvs))
                routed += 1 if am_rcvs else 0
                taken_total += len(am_rcvs)
                got_rcvs = [rcv_of[name] for name in taken]
                if got_rcvs != am_rcvs or sinks != want_sinks:
                    problems.append("labels %s:\n  Alertmanager receivers: %s\n  incidentd "
                                    "routes: %s -> receivers %s, sinks %s" % (
                                        json.dumps(ls, ensure_ascii=False), am_rcvs, taken,
                                        got_rcvs, sinks))
        diag = None
        if problems and shown < SHOW:
            shown += 1
            diag = "seed %d, tree %d\n%s\n--- alertmanager.yml\n%s--- conf.d/10-routes.yaml\n%s" % (
                SEED, idx, "\n".join(problems[:6]), tree.am_yaml(), tree.incidentd_yaml())
        t.ok(not problems, "tree %d (%d routes): routing agrees with Alertmanager for %d "
             "label set(s)" % (idx, tree.count, len(sets)), diag)
    pool.shutdown()
    t.diag("%d cases (%d valid trees; %d alerts taken by some route, %d routes taking "
           "them in all) in %.1fs" % (cases, valid_trees, routed, taken_total,
                                      time.monotonic() - started))
    want = {"backslash", "quote", "empty", "regex-meta", "bare", "negative", "list",
            "catch-all", "continue", "inherited", "nested"}
    t.ok(want <= features and cases >= 200 and valid_trees >= TREES * 3 // 4,
         "the generated trees cover %s (%d cases)" % (", ".join(sorted(want)), cases),
         "missing: %s" % sorted(want - features))


if __name__ == "__main__":
    harness.run(main)
