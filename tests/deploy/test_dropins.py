#!/usr/bin/env python3
"""deploy/conf.d: the drop-ins are usable as they are. Copied next to the shipped
00-defaults.yaml, with the environment they document, 40-github.yaml and
50-copilot-runner.yaml pass --check-config (every sink's own options included), and an
Argo CD failure is routed to the GitHub issue and the agent run after it (the shipped
default route is a fallback: later files' routes see every event first, and it takes only
what none of them took, so the log sink stays out). Without a variable they name, the
start-up error says which."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

SRCDIR = os.environ.get("SRCDIR") or harness.TOP


def run(argv, env):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                       env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def main(t):
    with tempfile.TemporaryDirectory() as d:
        confd, gitops = os.path.join(d, "conf.d"), os.path.join(d, "gitops")
        os.makedirs(confd)
        os.makedirs(gitops)
        shutil.copy(os.path.join(harness.CONFD_DIR, "00-defaults.yaml"), confd)
        dropins = os.path.join(SRCDIR, "deploy", "conf.d")
        for name in sorted(os.listdir(dropins)):
            shutil.copy(os.path.join(dropins, name), confd)
        kubeconfig = os.path.join(d, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write("apiVersion: v1\nkind: Config\n")
        env = dict(os.environ, GITHUB_TOKEN="t", GITHUB_REPOSITORY="my-org/incidents",
                   GITHUB_MCP_TOKEN="m", COPILOT_TOKEN="c", PROD_WEST_KUBE_SYSTEM_UID="uid",
                   INCIDENTD_GITOPS_DIR=gitops, INCIDENTD_KUBECONFIG=kubeconfig)
        rc, out, err = run([harness.INCIDENTD, "-c", confd, "--check-config", "--plugin-dir",
                            harness.PLUGIN_DIR], env)
        t.ok(rc == 0 and "3 sink(s), 2 route(s)" in out, "drop-ins: --check-config OK",
             out + err)
        rc, out, err = run([harness.INCIDENTCTL, "rules", "test", "--config", confd, "--event",
                            os.path.join(harness.SAMPLES_DIR, "argocd",
                                         "seed-aks-store-degraded.client_payload.json"),
                            "--source", "argocd"], env)
        for line in ("route agent-handoff takes the event",
                     "sink github (github_issue): open",
                     "sink doctor-run (copilot_runner), after github: open"):
            t.ok(rc == 0 and line in out, "seed sample: %s" % line, out + err)
        t.ok(rc == 0 and "route default" not in out and "sink log" not in out,
             "seed sample: the fallback route default is not even tried", out + err)
        del env["COPILOT_TOKEN"]
        rc, out, err = run([harness.INCIDENTD, "-c", confd, "--check-config", "--plugin-dir",
                            harness.PLUGIN_DIR], env)
        t.ok(rc == 1 and "environment variable COPILOT_TOKEN is not set" in err,
             "a missing variable is named", out + err)


if __name__ == "__main__":
    harness.run(main)
