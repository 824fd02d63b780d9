#!/usr/bin/env python3
"""deploy/kubernetes: `kubectl kustomize` renders it and the integrations; every object,
the integration pieces and Secret examples included, validates against the Kubernetes and
CRD schemas offline (tests/deploy/validate: pinned npm kubernetes-models packages, installed
by `npm ci --prefix tests/deploy/validate`); the rendered objects keep what docs/deploy.md
promises (one replica, a non-root read-only pod, probes, the Service every integration
posts to); the PrometheusRule passes `promtool check rules` and its alerts fire in
`promtool test rules`; the Alertmanager receiver passes `amtool check-config`; the conf.d
of the ConfigMap is a valid configuration for the daemon just built on 0.0.0.0. Each tool
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
URL = "http://incidentd.incidentd.svc:9740"

# the Secret's keys the conf.d needs; the values are made up
SECRET_ENV = {
    "INCIDENTD_API_TOKEN": "api-token", "ARGOCD_WEBHOOK_TOKEN": "argocd-token",
    "ALERTMANAGER_WEBHOOK_TOKEN": "am-token", "FLUX_HMAC_KEY": "flux-key",
}


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def kustomize(t, kubectl, path, name):
    rc, out, err = run([kubectl, "kustomize", path])
    t.ok(rc == 0 and out.strip(), "kubectl kustomize %s renders" % name, err)
    return out


def validate(t, texts):
    """Validate YAML texts {name: text}; returns the parsed documents by kind/name."""
    objs = {}
    with tempfile.TemporaryDirectory() as d:
        files = []
        for name, text in texts.items():
            path = os.path.join(d, name.replace("/", "_") + ".yaml")
            with open(path, "w") as f:
                f.write(text)
            files.append(path)
        rc, out, err = run(["node", os.path.join(VALIDATE, "validate.mjs")] + files)
        lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
        t.ok(lines and not err.strip(), "the validator ran", err)
        for l in lines:
            src = os.path.basename(l["file"])[:-5]
            t.ok(l["ok"], "schema: %s (%s)" % (l.get("object"), src), l.get("error"))
            doc = l.get("doc") or {}
            objs[(doc.get("kind"), (doc.get("metadata") or {}).get("name"))] = doc
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


def check_metrics_exist(t):
    """Every incidentd_* metric an alert uses is one the daemon exports."""
    with open(os.path.join(K8S, "common", "prometheusrule.yaml")) as f:
        used = set(re.findall(r"\bincidentd_[a-z_]+", f.read()))
    src = ""
    for d in ("broker", "store", "sources"):
        for name in os.listdir(os.path.join(SRCDIR, d)):
            if name.endswith(".c"):
                with open(os.path.join(SRCDIR, d, name)) as f:
                    src += f.read()
    missing = sorted(m for m in used if '"%s"' % m not in src)
    t.ok(used and not missing, "alerts use only exported metrics (%d)" % len(used), missing)


def check_rules(t):
    promtool = shutil.which("promtool")
    if promtool is None:
        t.skip("promtool check rules", "promtool is not installed (apt-get install prometheus)")
        return
    with open(os.path.join(K8S, "common", "prometheusrule.yaml")) as f:
        lines = f.read().splitlines()
    body = lines[lines.index("spec:") + 1:]
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "incidentd.rules.yaml"), "w") as f:
            f.write("\n".join(l[2:] for l in body) + "\n")
        shutil.copy(os.path.join(SRCDIR, "tests", "deploy", "prometheusrule.test.yaml"), d)
        rc, out, err = run([promtool, "check", "rules", "incidentd.rules.yaml"], cwd=d)
        t.ok(rc == 0 and "SUCCESS: 10 rules found" in out, "promtool check rules", out + err)
        rc, out, err = run([promtool, "test", "rules", "prometheusrule.test.yaml"], cwd=d)
        t.ok(rc == 0 and "SUCCESS" in out, "promtool test rules: every alert fires when it "
             "should", out + err)


def check_confd(t, confd):
    """The ConfigMap's conf.d runs the daemon on 0.0.0.0 with the Secret's variables."""
    with open(os.path.join(K8S, "secret.example.yaml")) as f:
        secret_keys = set(re.findall(r"^  ([A-Z_]+):", f.read(), re.M))
    text = re.sub(r"#.*", "", "".join(confd.values()))
    refs = set(re.findall(r"\$\{([A-Z_]+)", text))
    t.ok(refs and refs <= secret_keys, "every ${NAME} of conf.d is a key of the Secret",
         sorted(refs - secret_keys))
    t.ok(refs >= set(SECRET_ENV), "conf.d needs the webhook and API tokens", sorted(refs))
    with tempfile.TemporaryDirectory() as d:
        for name, body in confd.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(body)
        env = {k: v for k, v in os.environ.items() if k not in secret_keys}
        argv = [harness.INCIDENTD, "-c", d, "-l", "0.0.0.0:9740", "--check-config",
                "--plugin-dir", harness.PLUGIN_DIR]
        rc, out, err = run(argv, env=dict(env, **SECRET_ENV))
        t.ok(rc == 0 and "configuration OK" in out, "conf.d: --check-config on 0.0.0.0", out + err)
        rc, out, err = run(argv, env=dict(env, GITHUB_TOKEN="t", SLACK_WEBHOOK_URL=
                           "https://hooks.slack.com/services/T/B/x", **SECRET_ENV))
        t.ok(rc == 0 and "3 sink(s)" in out, "conf.d with GitHub and Slack secrets", out + err)
        short = dict(SECRET_ENV)
        del short["INCIDENTD_API_TOKEN"]
        rc, out, err = run(argv, env=dict(env, **short))
        t.ok(rc == 1 and "INCIDENTD_API_TOKEN is not set" in err,
             "conf.d without the API token: refused, says which", out + err)


def main(t):
    kubectl = shutil.which("kubectl")
    texts = {}
    if kubectl is None:
        t.skip("kubectl kustomize", "kubectl is not installed (apt-get install kubernetes-client)")
    else:
        texts["kustomize"] = kustomize(t, kubectl, K8S, "deploy/kubernetes")
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

    confd = None
    if shutil.which("node") is None or not os.path.isdir(os.path.join(VALIDATE, "node_modules")):
        t.skip("schema validation", "needs node and `npm ci --prefix tests/deploy/validate`")
    elif kubectl is not None:
        objs = validate(t, texts)
        confd = check_rendered(t, objs)
    if confd is None:
        # without the rendered ConfigMap: its source file
        with open(os.path.join(K8S, "conf.d", "incidentd.yaml")) as f:
            confd = {"incidentd.yaml": f.read()}
    check_confd(t, confd)
    check_metrics_exist(t)
    check_rules(t)
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
