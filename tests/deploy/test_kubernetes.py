#!/usr/bin/env python3
"""deploy/kubernetes: `kubectl kustomize` renders it and the integrations; every object,
the integration pieces and Secret examples included, validates against the Kubernetes and
CRD schemas offline (tests/deploy/validate: pinned npm kubernetes-models packages, installed
by `npm ci --prefix tests/deploy/validate`); the rendered objects keep what docs/deploy.md
promises (one replica, a non-root read-only pod, probes, the Service every integration
posts to); the PrometheusRule passes `promtool check rules` and its alerts fire in
`promtool test rules`; the Alertmanager receiver passes `amtool check-config`; the conf.d
of the ConfigMap is a valid configuration for the daemon just built on 0.0.0.0.

deploy/kubernetes/replicas (several replicas on PostgreSQL) renders and validates the same
way, the CloudNativePG Cluster included, and keeps what docs/deploy.md promises of it: a
Deployment of 3 whose pod is the StatefulSet's without the ledger volume, a
PodDisruptionBudget and anti-affinity over those pods, the ledger's URI from CloudNativePG's
<cluster>-app Secret with TLS verified against <cluster>-ca, egress to the database, alerts
for a Deployment, and a conf.d that differs from the base's in ledger.url only. Each tool
that is missing is skipped with a message."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

SRCDIR = os.environ.get("SRCDIR") or harness.TOP
K8S = os.path.join(SRCDIR, "deploy", "kubernetes")
VALIDATE = os.path.join(SRCDIR, "tests", "deploy", "validate")
REPLICAS = os.path.join(K8S, "replicas")
URL = "http://incidentd.incidentd.svc:9740"

# the Secret's keys the conf.d needs; the values are made up
SECRET_ENV = {
    "INCIDENTD_API_TOKEN": "api-token", "ARGOCD_WEBHOOK_TOKEN": "argocd-token",
    "ALERTMANAGER_WEBHOOK_TOKEN": "am-token", "FLUX_HMAC_KEY": "flux-key",
}
# what the replicas' pods get besides: the URI as CloudNativePG writes it (made up)
LEDGER_ENV = {
    "INCIDENTD_LEDGER_URL": "postgresql://incidentd:pw@incidentd-db-rw.incidentd:5432/incidentd",
}


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def kustomize(t, kubectl, path, name):
    rc, out, err = run([kubectl, "kustomize", path])
    t.ok(rc == 0 and out.strip(), "kubectl kustomize %s renders" % name, err)
    return out


def validate(t, texts):
    """Validate YAML texts {name: text}; returns the parsed documents of each text by
    kind/name: {name: {(kind, name): doc}}."""
    objs = {name: {} for name in texts}
    with tempfile.TemporaryDirectory() as d:
        names = {}
        for name, text in texts.items():
            path = os.path.join(d, name.replace("/", "_") + ".yaml")
            with open(path, "w") as f:
                f.write(text)
            names[path] = name
        rc, out, err = run(["node", os.path.join(VALIDATE, "validate.mjs")] + list(names))
        lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        t.ok(lines and not err.strip(), "the validator ran", err)
        for l in lines:
            src = names[l["file"]]
            t.ok(l["ok"], "schema: %s (%s)" % (l.get("object"), src), l.get("error"))
            doc = l.get("doc") or {}
            objs[src][(doc.get("kind"), (doc.get("metadata") or {}).get("name"))] = doc
        t.eq(rc, 0 if all(l["ok"] for l in lines) else 1, "validator exit status")
    return objs


def check_rendered(t, objs):
    """What docs/deploy.md promises about the rendered objects."""
    ns = objs.get(("Namespace", "incidentd"))
    t.ok(ns is not None, "Namespace incidentd")
    svc = objs.get(("Service", "incidentd")) or {}
    t.eq(svc.get("metadata", {}).get("namespace"), "incidentd", "Service incidentd in incidentd")
    t.eq([(p.get("name"), p.get("port"), p.get("targetPort")) for p in
          svc.get("spec", {}).get("ports", [])], [("http", 9740, "http")], "Service port 9740")
    sts = objs.get(("StatefulSet", "incidentd")) or {}
    spec = sts.get("spec", {})
    t.eq(spec.get("replicas"), 1, "StatefulSet: one replica (one writer per ledger)")
    pod = spec.get("template", {})
    labels = pod.get("metadata", {}).get("labels", {})
    sel = svc.get("spec", {}).get("selector", {})
    t.ok(sel and all(labels.get(k) == v for k, v in sel.items()),
         "the Service selects the pod", (sel, labels))
    ps = pod.get("spec", {})
    psc = ps.get("securityContext", {})
    t.ok(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0,
         "pod runs as non-root", psc)
    t.eq(psc.get("seccompProfile"), {"type": "RuntimeDefault"}, "seccomp RuntimeDefault")
    t.ok(ps.get("automountServiceAccountToken") is False, "no service account token")
    c = (ps.get("containers") or [{}])[0]
    csc = c.get("securityContext", {})
    t.ok(csc.get("readOnlyRootFilesystem") is True, "read-only root filesystem", csc)
    t.ok(csc.get("allowPrivilegeEscalation") is False, "no privilege escalation", csc)
    t.eq(csc.get("capabilities", {}).get("drop"), ["ALL"], "all capabilities dropped")
    t.eq(c.get("livenessProbe", {}).get("httpGet", {}).get("path"), "/healthz", "liveness /healthz")
    t.eq(c.get("readinessProbe", {}).get("httpGet", {}).get("path"), "/readyz", "readiness /readyz")
    t.ok(c.get("resources", {}).get("requests") and c.get("resources", {}).get("limits"),
         "resources set")
    t.eq(c.get("args"), ["--listen", "0.0.0.0:9740"], "listens on 0.0.0.0:9740")
    t.eq([e.get("secretRef", {}).get("name") for e in c.get("envFrom", [])], ["incidentd"],
         "environment from the Secret incidentd")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    claims = [v["metadata"]["name"] for v in spec.get("volumeClaimTemplates", [])]
    t.ok(mounts.get("/var/lib/incidentd") in claims, "the ledger is on the PVC", (mounts, claims))
    vols = {v["name"]: v for v in ps.get("volumes", [])}
    cm = vols.get(mounts.get("/etc/incidentd/conf.d"), {}).get("configMap", {}).get("name")
    t.ok(("ConfigMap", cm) in objs, "conf.d is the generated ConfigMap %s" % cm)
    t.ok("emptyDir" in vols.get(mounts.get("/run/incidentd"), {}),
         "/run/incidentd is an emptyDir (the sockets on a read-only root)")
    netpol = objs.get(("NetworkPolicy", "incidentd")) or {}
    froms = [f.get("namespaceSelector", {}).get("matchLabels", {}).get(
        "kubernetes.io/metadata.name") for r in netpol.get("spec", {}).get("ingress", [])
        for f in r.get("from", [])]
    t.eq(sorted(froms), ["argocd", "flux-system", "monitoring"],
         "NetworkPolicy admits Argo CD, Flux and monitoring")
    sm = objs.get(("ServiceMonitor", "incidentd")) or {}
    ep = (sm.get("spec", {}).get("endpoints") or [{}])[0]
    t.eq((ep.get("port"), ep.get("path")), ("http", "/metrics"), "ServiceMonitor scrapes /metrics")
    t.eq(ep.get("authorization", {}).get("credentials"),
         {"name": "incidentd", "key": "INCIDENTD_API_TOKEN"},
         "ServiceMonitor sends the API token from the Secret")
    return (objs.get(("ConfigMap", cm)) or {}).get("data", {})


def selects(selector, labels):
    """Whether a label selector's matchLabels (the only form these manifests use) picks a
    pod with these labels."""
    want = (selector or {}).get("matchLabels") or {}
    return bool(want) and all(labels.get(k) == v for k, v in want.items())


def check_replicas(t, base, rep):
    """What docs/deploy.md promises about deploy/kubernetes/replicas (rep), next to the
    base (base); returns the rendered conf.d and PrometheusRule."""
    t.ok(not any(kind == "StatefulSet" for kind, _ in rep), "replicas: no StatefulSet")
    spec = (rep.get(("Deployment", "incidentd")) or {}).get("spec", {})
    t.eq(spec.get("replicas"), 3, "replicas: a Deployment of 3")
    pod = spec.get("template", {})
    labels = pod.get("metadata", {}).get("labels", {})
    t.ok(selects(spec.get("selector"), labels), "replicas: the Deployment selects its pods")
    svc = (rep.get(("Service", "incidentd")) or {}).get("spec", {})
    t.ok(selects({"matchLabels": svc.get("selector")}, labels),
         "replicas: the Service selects the pods")

    # the StatefulSet's pod, less the ledger volume
    sts = (base.get(("StatefulSet", "incidentd")) or {}).get("spec", {}).get("template", {})
    t.eq(labels, sts.get("metadata", {}).get("labels"), "replicas: pod labels as the StatefulSet's")
    ps, bps = pod.get("spec", {}), sts.get("spec", {})
    for k in ("securityContext", "serviceAccountName", "automountServiceAccountToken",
              "terminationGracePeriodSeconds"):
        t.eq(ps.get(k), bps.get(k), "replicas: pod %s as the StatefulSet's" % k)
    c = (ps.get("containers") or [{}])[0]
    bc = (bps.get("containers") or [{}])[0]
    for k in ("name", "image", "args", "ports", "envFrom", "securityContext", "livenessProbe",
              "readinessProbe", "resources"):
        t.eq(c.get(k), bc.get(k), "replicas: container %s as the StatefulSet's" % k)
    t.ok(c.get("securityContext", {}).get("readOnlyRootFilesystem") is True,
         "replicas: read-only root filesystem")
    vols = {v["name"]: v for v in ps.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    t.ok(not spec.get("volumeClaimTemplates") and "/var/lib/incidentd" not in mounts and
         not any("persistentVolumeClaim" in v for v in vols.values()),
         "replicas: no ledger volume", (mounts, vols))
    t.ok("emptyDir" in vols.get(mounts.get("/run/incidentd", {}).get("name"), {}),
         "replicas: /run/incidentd is an emptyDir (the live tail's socket)")
    cm = vols.get(mounts.get("/etc/incidentd/conf.d", {}).get("name"), {}).get(
        "configMap", {}).get("name")
    t.ok(("ConfigMap", cm) in rep, "replicas: conf.d is the generated ConfigMap %s" % cm)

    # spread: nodes (preferred) and zones; a budget for drains
    terms = ps.get("affinity", {}).get("podAntiAffinity", {}).get(
        "preferredDuringSchedulingIgnoredDuringExecution", [])
    t.ok(any(x.get("podAffinityTerm", {}).get("topologyKey") == "kubernetes.io/hostname" and
             selects(x["podAffinityTerm"].get("labelSelector"), labels) for x in terms),
         "replicas: preferred anti-affinity spreads the pods over nodes", terms)
    spread = ps.get("topologySpreadConstraints", [])
    t.ok(any(x.get("topologyKey") == "topology.kubernetes.io/zone" and
             x.get("whenUnsatisfiable") == "ScheduleAnyway" and
             selects(x.get("labelSelector"), labels) for x in spread),
         "replicas: the pods spread over zones where there are zones", spread)
    pdbs = [o.get("spec", {}) for (kind, _), o in rep.items() if kind == "PodDisruptionBudget"]
    t.ok(len(pdbs) == 1 and selects(pdbs[0].get("selector"), labels) and
         pdbs[0].get("maxUnavailable") == 1,
         "replicas: a PodDisruptionBudget of the pods, one unavailable at a time", pdbs)

    # the database, its URI and its CA
    clusters = [o for (kind, _), o in rep.items() if kind == "Cluster"]
    t.eq(len(clusters), 1, "replicas: one CloudNativePG Cluster")
    cluster = clusters[0] if clusters else {}
    db = cluster.get("metadata", {}).get("name")
    cs = cluster.get("spec", {})
    t.eq(cs.get("instances"), 3, "replicas: the Cluster has 3 instances")
    t.eq(cs.get("bootstrap", {}).get("initdb"), {"database": "incidentd", "owner": "incidentd"},
         "replicas: the Cluster creates database incidentd owned by incidentd")
    env = {e["name"]: e for e in c.get("env", [])}
    t.eq(env.get("INCIDENTD_LEDGER_URL", {}).get("valueFrom", {}).get("secretKeyRef"),
         {"name": "%s-app" % db, "key": "uri"},
         "replicas: INCIDENTD_LEDGER_URL is the uri of the Secret %s-app" % db)
    t.eq(env.get("PGSSLMODE", {}).get("value"), "verify-full",
         "replicas: TLS required, the server verified (PGSSLMODE=verify-full)")
    ca = env.get("PGSSLROOTCERT", {}).get("value", "")
    mount = next((m for path, m in mounts.items() if ca.startswith(path.rstrip("/") + "/")), {})
    secret = vols.get(mount.get("name"), {}).get("secret", {})
    item = {"key": "ca.crt", "path": os.path.relpath(ca, mount["mountPath"]) if mount else ""}
    t.ok(mount.get("readOnly") is True and secret.get("secretName") == "%s-ca" % db and
         secret.get("items") == [item],
         "replicas: PGSSLROOTCERT is ca.crt (only) of the Secret %s-ca, read-only" % db,
         (ca, mount, secret))

    # the NetworkPolicy: the base's ingress, egress to the database, DNS and HTTPS
    np = (rep.get(("NetworkPolicy", "incidentd")) or {}).get("spec", {})
    bnp = (base.get(("NetworkPolicy", "incidentd")) or {}).get("spec", {})
    t.ok(selects(np.get("podSelector"), labels), "replicas: the NetworkPolicy selects the pods")
    t.eq(np.get("ingress"), bnp.get("ingress"), "replicas: NetworkPolicy ingress as the base's")
    egress = np.get("egress", [])

    def allows(port, proto, to=None):
        return any({"protocol": proto, "port": port} in r.get("ports", []) and
                   (r.get("to") or None) == to for r in egress)
    t.ok("Egress" in np.get("policyTypes", []) and allows(
        5432, "TCP", [{"podSelector": {"matchLabels": {"cnpg.io/cluster": db}}}]),
        "replicas: NetworkPolicy egress to the database's pods on 5432", egress)
    t.ok(allows(53, "UDP") and allows(53, "TCP") and allows(443, "TCP"),
         "replicas: NetworkPolicy egress to DNS and HTTPS (the sinks)", egress)
    return ((rep.get(("ConfigMap", cm)) or {}).get("data", {}),
            rep.get(("PrometheusRule", "incidentd")) or {})


def ledger_split(text):
    """A conf.d file without comments and blank lines, as (everything but the top-level
    ledger section, the ledger section's lines)."""
    lines = [re.sub(r"\s*#.*", "", l).rstrip() for l in text.splitlines()]
    lines = [l for l in lines if l.strip()]
    if "ledger:" not in lines:
        return lines, []
    i = lines.index("ledger:")
    j = next((k for k in range(i + 1, len(lines)) if not lines[k].startswith(" ")), len(lines))
    return lines[:i] + lines[j:], lines[i + 1:j]


def check_confd_pair(t):
    """The replicas' conf.d is the base's with ledger.url for ledger.path."""
    with open(os.path.join(K8S, "conf.d", "incidentd.yaml")) as f:
        base_rest, base_ledger = ledger_split(f.read())
    with open(os.path.join(REPLICAS, "conf.d", "incidentd.yaml")) as f:
        rest, ledger = ledger_split(f.read())
    t.ok(rest == base_rest, "replicas: conf.d as the base's outside the ledger section",
         [l for l in rest if l not in base_rest] + [l for l in base_rest if l not in rest])
    t.ok(any(re.match(r"\s+path:", l) for l in base_ledger), "base: conf.d has ledger.path")
    t.ok('  url: "${INCIDENTD_LEDGER_URL}"' in ledger and
         not any(re.match(r"\s+path:", l) for l in ledger),
         "replicas: conf.d has ledger.url ${INCIDENTD_LEDGER_URL} and no ledger.path", ledger)


def check_metrics_exist(t):
    """Every incidentd_* metric an alert uses is one the daemon exports."""
    used = set()
    for path in (("common", "prometheusrule.yaml"), ("replicas", "prometheusrule.yaml")):
        with open(os.path.join(K8S, *path)) as f:
            used |= set(re.findall(r"\bincidentd_[a-z_]+", f.read()))
    src = ""
    for d in ("broker", "store", "sources"):
        for name in os.listdir(os.path.join(SRCDIR, d)):
            if name.endswith(".c"):
                with open(os.path.join(SRCDIR, d, name)) as f:
                    src += f.read()
    missing = sorted(m for m in used if '"%s"' % m not in src)
    t.ok(used and not missing, "alerts use only exported metrics (%d)" % len(used), missing)


def check_rules(t, name, rules, test, count):
    """promtool check rules and test rules on rules (the text of a rule file) with the unit
    tests of tests/deploy/<test>."""
    promtool = shutil.which("promtool")
    if promtool is None:
        t.skip("promtool check rules (%s)" % name,
               "promtool is not installed (apt-get install prometheus)")
        return
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "incidentd.rules.yaml"), "w") as f:
            f.write(rules)
        shutil.copy(os.path.join(SRCDIR, "tests", "deploy", test), d)
        rc, out, err = run([promtool, "check", "rules", "incidentd.rules.yaml"], cwd=d)
        t.ok(rc == 0 and "SUCCESS: %d rules found" % count in out,
             "promtool check rules (%s)" % name, out + err)
        rc, out, err = run([promtool, "test", "rules", test], cwd=d)
        t.ok(rc == 0 and "SUCCESS" in out, "promtool test rules (%s): every alert fires when "
             "it should" % name, out + err)


def common_rules():
    """The spec of common/prometheusrule.yaml: a rule file."""
    with open(os.path.join(K8S, "common", "prometheusrule.yaml")) as f:
        lines = f.read().splitlines()
    body = lines[lines.index("spec:") + 1:]
    return "\n".join(l[2:] for l in body) + "\n"


def check_confd(t, confd, what="conf.d", extra=None):
    """The ConfigMap's conf.d runs the daemon on 0.0.0.0 with the Secret's variables (and
    extra, the other variables its pod gets)."""
    extra = extra or {}
    with open(os.path.join(K8S, "secret.example.yaml")) as f:
        secret_keys = set(re.findall(r"^  ([A-Z_]+):", f.read(), re.M))
    text = re.sub(r"#.*", "", "".join(confd.values()))
    refs = set(re.findall(r"\$\{([A-Z_]+)", text))
    known = secret_keys | set(extra)
    t.ok(refs and refs <= known, "every ${NAME} of %s is a key of the Secret%s" % (
         what, " or " + ", ".join(sorted(extra)) if extra else ""), sorted(refs - known))
    t.ok(refs >= set(SECRET_ENV) | set(extra), "%s needs the webhook and API tokens%s" % (
         what, " and " + ", ".join(sorted(extra)) if extra else ""), sorted(refs))
    with tempfile.TemporaryDirectory() as d:
        for name, body in confd.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(body)
        env = {k: v for k, v in os.environ.items() if k not in known}
        env.update(extra)
        argv = [harness.INCIDENTD, "-c", d, "-l", "0.0.0.0:9740", "--check-config",
                "--plugin-dir", harness.PLUGIN_DIR]
        rc, out, err = run(argv, env=dict(env, **SECRET_ENV))
        t.ok(rc == 0 and "configuration OK" in out, "%s: --check-config on 0.0.0.0" % what,
             out + err)
        rc, out, err = run(argv, env=dict(env, GITHUB_TOKEN="t", SLACK_WEBHOOK_URL=
                           "https://hooks.slack.com/services/T/B/x", **SECRET_ENV))
        t.ok(rc == 0 and "3 sink(s)" in out, "%s with GitHub and Slack secrets" % what, out + err)
        for name in ["INCIDENTD_API_TOKEN"] + sorted(extra):
            short = dict(env, **SECRET_ENV)
            del short[name]
            rc, out, err = run(argv, env=short)
            t.ok(rc == 1 and "%s is not set" % name in err,
                 "%s without %s: refused, says which" % (what, name), out + err)


def main(t):
    kubectl = shutil.which("kubectl")
    texts = {}
    if kubectl is None:
        t.skip("kubectl kustomize", "kubectl is not installed (apt-get install kubernetes-client)")
    else:
        texts["kustomize"] = kustomize(t, kubectl, K8S, "deploy/kubernetes")
        texts["kustomize-replicas"] = kustomize(t, kubectl, REPLICAS, "deploy/kubernetes/replicas")
        for sub in ("alertmanager", "flux"):
            texts["kustomize-" + sub] = kustomize(t, kubectl, os.path.join(
                K8S, "integrations", sub), "integrations/" + sub)
    for root, _, files in os.walk(os.path.join(K8S, "integrations")):
        for name in sorted(files):
            if name.endswith(".yaml") and name != "kustomization.yaml":
                with open(os.path.join(root, name)) as f:
                    texts[os.path.relpath(os.path.join(root, name), K8S)] = f.read()
    with open(os.path.join(K8S, "secret.example.yaml")) as f:
        texts["secret.example.yaml"] = f.read()
    for name, text in texts.items():
        for u in re.findall(r"https?://incidentd[^\s\"']*", text):
            t.ok(u.startswith(URL), "%s posts to %s" % (name, URL), u)

    confd = rep_confd = rep_rule = None
    if shutil.which("node") is None or not os.path.isdir(os.path.join(VALIDATE, "node_modules")):
        t.skip("schema validation", "needs node and `npm ci --prefix tests/deploy/validate`")
    elif kubectl is not None:
        objs = validate(t, texts)
        confd = check_rendered(t, objs["kustomize"])
        rep_confd, rep_rule = check_replicas(t, objs["kustomize"], objs["kustomize-replicas"])
        with open(os.path.join(REPLICAS, "conf.d", "incidentd.yaml")) as f:
            t.eq(rep_confd, {"incidentd.yaml": f.read()},
                 "replicas: the ConfigMap is replicas/conf.d/incidentd.yaml")
    # without the rendered ConfigMaps: their source files
    if confd is None:
        with open(os.path.join(K8S, "conf.d", "incidentd.yaml")) as f:
            confd = {"incidentd.yaml": f.read()}
    if rep_confd is None:
        with open(os.path.join(REPLICAS, "conf.d", "incidentd.yaml")) as f:
            rep_confd = {"incidentd.yaml": f.read()}
    check_confd(t, confd)
    check_confd(t, rep_confd, "replicas conf.d", LEDGER_ENV)
    check_confd_pair(t)
    check_metrics_exist(t)
    check_rules(t, "common", common_rules(), "prometheusrule.test.yaml", 10)
    if rep_rule is None:
        t.skip("promtool check rules (replicas)", "needs the rendered PrometheusRule")
    else:
        check_rules(t, "replicas", json.dumps(rep_rule.get("spec", {}), indent=1),
                    "prometheusrule-replicas.test.yaml", 11)
    amtool = shutil.which("amtool")
    if amtool is None:
        t.skip("amtool check-config", "amtool is not installed (apt-get install "
               "prometheus-alertmanager)")
    else:
        rc, out, err = run([amtool, "check-config", os.path.join(
            K8S, "integrations", "alertmanager", "alertmanager.yml")])
        t.ok(rc == 0 and "SUCCESS" in out, "amtool check-config alertmanager.yml", out + err)


if __name__ == "__main__":
    harness.run(main)
