#!/usr/bin/env python3
"""make image-check: build deploy/container/Containerfile with podman and run the image the
way Kubernetes does (deploy/kubernetes/conf.d, a read-only root filesystem, one volume for
the ledger): it starts as a non-root uid, its HEALTHCHECK (incidentctl health) passes, the
seed sample posted with the webhook token gets 202 and the log sink's line, SIGTERM stops
it cleanly, and a new container on the same volume finds the event with incidentctl's
defaults. TAP output.

No registry is needed: the Debian 12 base image is made with mmdebstrap from Debian's
packages (cached as a tarball, $INCIDENTD_IMAGE_CACHE, default /var/cache/incidentd-image)
and imported as localhost/debian:bookworm-slim. Podman runs with the runc runtime and host
networking (see docs/deploy.md). Where containers cannot run, it says so and skips.

Environment: SRCDIR (the source tree, default: this checkout), IMAGE_BASE (use this base
image instead), IMAGE_TARGET=agent also builds and checks the agent target."""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

SRCDIR = os.environ.get("SRCDIR") or harness.TOP
CACHE = os.environ.get("INCIDENTD_IMAGE_CACHE") or "/var/cache/incidentd-image"
BASE = os.environ.get("IMAGE_BASE") or "localhost/debian:bookworm-slim"
IMAGE = "localhost/incidentd:check"
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"
TOKENS = {"INCIDENTD_API_TOKEN": "check-api-token", "ARGOCD_WEBHOOK_TOKEN": "check-argocd",
          "ALERTMANAGER_WEBHOOK_TOKEN": "check-am", "FLUX_HMAC_KEY": "check-flux"}


class Podman:
    def __init__(self, workdir):
        conf = os.path.join(workdir, "containers.conf")
        with open(conf, "w") as f:
            f.write("[containers]\ndefault_ulimits = []\n")
        self.env = dict(os.environ, CONTAINERS_CONF=conf)

    def __call__(self, *args, timeout=120, check=False):
        p = subprocess.run(["podman", "--runtime", "runc"] + list(args), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("podman %s: %s" % (" ".join(args), p.stderr.decode()[-2000:]))
        return p.returncode, p.stdout.decode(), p.stderr.decode()


def skip_all(why):
    print("image-check skipped: %s" % why)
    print("1..0 # SKIP %s" % why)
    sys.exit(0)


def ensure_base(t, pm):
    if pm("image", "exists", BASE)[0] == 0:
        return
    tarball = os.path.join(CACHE, "bookworm-minbase.tar")
    if not os.path.exists(tarball):
        if shutil.which("mmdebstrap") is None:
            skip_all("no base image %s and no mmdebstrap to make one (apt-get install "
                     "mmdebstrap)" % BASE)
        os.makedirs(CACHE, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=CACHE)
        start = time.monotonic()
        p = subprocess.run(["mmdebstrap", "--variant=minbase", "--include=ca-certificates",
                            "bookworm", os.path.join(tmp, "bookworm-minbase.tar")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200)
        t.ok(p.returncode == 0, "mmdebstrap: Debian 12 base tarball (%.0f s)" %
             (time.monotonic() - start), p.stdout.decode()[-3000:])
        os.replace(os.path.join(tmp, "bookworm-minbase.tar"), tarball)
        shutil.rmtree(tmp, ignore_errors=True)
    rc, out, err = pm("import", tarball, BASE, timeout=600)
    t.ok(rc == 0, "base image %s imported from %s" % (BASE, tarball), err)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data.decode("utf-8", "replace")
    finally:
        conn.close()


def build(t, pm, target):
    start = time.monotonic()
    # npm (the agent target) trusts what this machine trusts, e.g. a TLS-intercepting proxy
    ca = ["--secret", "id=ca,src=" + HOST_CA] if os.path.exists(HOST_CA) else []
    rc, out, err = pm("build", "--format", "docker", "--network=host", *ca,
                      "--build-arg", "BASE=" + BASE, "--target", target,
                      "-t", IMAGE if target == "runtime" else IMAGE + "-" + target,
                      "-f", os.path.join(SRCDIR, "deploy", "container", "Containerfile"),
                      SRCDIR, timeout=3600)
    t.ok(rc == 0, "podman build --target %s (%.0f s)" % (target, time.monotonic() - start),
         (out + err)[-4000:])
    return rc == 0


def run_container(pm, name, volume, confd, port):
    args = ["run", "-d", "--name", name, "--network=host", "--read-only",
            "-v", "%s:/var/lib/incidentd" % volume,
            "-v", "%s:/etc/incidentd/conf.d:ro" % confd]
    for k, v in TOKENS.items():
        args += ["-e", "%s=%s" % (k, v)]
    # the image's own command is --listen 0.0.0.0:9740; on the host network of a shared
    # machine the port is chosen free, still on every address (so auth is required), and
    # the HEALTHCHECK's incidentctl is told where ($INCIDENTD_URL)
    args += ["-e", "INCIDENTD_URL=http://127.0.0.1:%d" % port]
    return pm(*(args + [IMAGE, "--listen", "0.0.0.0:%d" % port]))


def wait_healthy(pm, name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pm("healthcheck", "run", name)[0] == 0:
            return True
        time.sleep(0.5)
    return False


def check_runtime(t, pm, work):
    name = "incidentd-check-%d" % os.getpid()
    volume = name + "-ledger"
    confd = os.path.join(work, "conf.d")
    os.makedirs(confd)
    shutil.copy(os.path.join(SRCDIR, "deploy", "kubernetes", "conf.d", "incidentd.yaml"), confd)
    os.chmod(confd, 0o755)
    os.chmod(os.path.join(confd, "incidentd.yaml"), 0o644)
    rc, out, err = pm("image", "inspect", IMAGE, "--format",
                      "{{.Config.User}} {{json .Config.ExposedPorts}} {{json .Config.Healthcheck.Test}}")
    t.ok(rc == 0 and out.startswith("10001:10001 ") and "9740/tcp" in out and
         "incidentctl" in out, "image: USER 10001, EXPOSE 9740, HEALTHCHECK incidentctl health",
         out + err)
    rc, out, err = pm("image", "inspect", IMAGE, "--format", "{{.Size}}")
    t.diag("image size: %.0f MB" % (int(out.strip() or 0) / 1e6))
    # only the runtime libraries: every shared object resolves, no compiler, no headers
    rc, out, err = pm("run", "--rm", "--entrypoint", "/usr/bin/ldd", IMAGE, "/usr/bin/incidentd",
                      "/usr/bin/incidentctl", "/usr/lib/incidentd/github_issue.so",
                      "/usr/lib/incidentd/slack.so", "/usr/lib/incidentd/copilot_runner.so")
    t.ok(rc == 0 and "not found" not in out, "every library resolves (ldd)", out + err)
    rc, out, err = pm("run", "--rm", IMAGE, "--version")
    t.ok(rc == 0 and "release build: mimalloc" in out,
         "a release build linked with mimalloc (--version)", out + err)
    rc, out, err = pm("run", "--rm", "--entrypoint", "/usr/bin/dpkg-query", IMAGE, "-W",
                      "gcc-12", "libc6-dev")
    t.ok(rc != 0, "no compiler or headers in the runtime image", out)

    pm("volume", "create", volume, check=True)
    try:
        port = free_port()
        rc, out, err = run_container(pm, name, volume, confd, port)
        t.ok(rc == 0, "container started (read-only root, ledger volume)", err)
        healthy = wait_healthy(pm, name)
        t.ok(healthy, "HEALTHCHECK (incidentctl health) passes", pm("logs", name)[2][-3000:])
        rc, out, err = pm("exec", name, "cat", "/proc/1/status")
        uid = [l.split()[1] for l in out.splitlines() if l.startswith("Uid:")]
        t.ok(uid and uid[0] != "0", "the daemon runs as uid %s, not 0" % (uid[0] if uid else "?"),
             out + err)
        rc, out, err = pm("exec", name, "touch", "/usr/x")
        t.ok(rc != 0 and "Read-only file system" in err, "root filesystem is read-only", err)
        st, _ = request(port, "GET", "/readyz")
        t.eq(st, 200, "/readyz: ready")
        seed = harness.sample("argocd", "seed-aks-store-degraded.client_payload.json")
        st, body = request(port, "POST", "/v1/events/argocd", seed,
                           {"Content-Type": "application/json"})
        t.eq(st, 401, "without the webhook token: 401")
        st, body = request(port, "POST", "/v1/events/argocd", seed,
                           {"Content-Type": "application/json",
                            "Authorization": "Bearer " + TOKENS["ARGOCD_WEBHOOK_TOKEN"]})
        t.ok(st == 202 and isinstance(body, dict) and body.get("accepted") == 1,
             "seed sample: 202 accepted", body)
        event = body["events"][0] if isinstance(body, dict) and body.get("events") else "?"

        def logged():
            _, o, e = pm("logs", name)
            return "action=open" in o + e and "argocd/prod-west-aks/pets/aks-store" in o + e
        t.ok(harness.wait_until(logged, 15), "the log sink's line is in the container log",
             pm("logs", name)[2][-3000:])
        st, _ = request(port, "GET", "/metrics")
        t.eq(st, 401, "/metrics needs the API token")
        st, _ = request(port, "GET", "/metrics", None,
                        {"Authorization": "Bearer " + TOKENS["INCIDENTD_API_TOKEN"]})
        t.eq(st, 200, "/metrics with the API token (as the ServiceMonitor scrapes)")

        rc, out, err = pm("stop", "-t", "20", name, timeout=60)
        rc, out, err = pm("inspect", name, "--format", "{{.State.ExitCode}}")
        t.eq(out.strip(), "0", "SIGTERM: drained, exit 0")
        _, o, e = pm("logs", name)
        t.ok(not any(m in o + e for m in harness.SANITIZER_MARKS) and "stopped" in o + e,
             "clean stop in the log", (o + e)[-2000:])
        pm("rm", "-f", name)

        port = free_port()
        rc, out, err = run_container(pm, name, volume, confd, port)
        t.ok(rc == 0 and wait_healthy(pm, name), "restarted on the same volume", err)
        rc, out, err = pm("exec", name, "incidentctl", "events")
        t.ok(rc == 0 and event in out, "incidentctl (no options) finds the event %s in the "
             "ledger on the volume" % event, out + err)
        rc, out, err = pm("exec", name, "incidentctl", "incidents")
        t.ok(rc == 0 and "aks-store" in out, "and its incident", out + err)
    finally:
        pm("rm", "-f", "-t", "0", name)
        pm("volume", "rm", "-f", volume)


def check_agent(t, pm):
    if not build(t, pm, "agent"):
        return
    image = IMAGE + "-agent"
    for argv, what in ((["copilot", "--version"], "the Copilot CLI runs"),
                       (["bwrap", "--version"], "bubblewrap is there"),
                       (["node", "--version"], "Node.js is there"),
                       (["incidentd", "--version"], "the daemon is there")):
        rc, out, err = pm("run", "--rm", "--entrypoint", argv[0], image, *argv[1:],
                          timeout=300)
        t.ok(rc == 0 and out.strip(), "agent image: %s (%s)" % (what, out.strip()[:60]),
             out + err)
    rc, out, err = pm("run", "--rm", "--entrypoint", "id", image, "-u")
    t.eq(out.strip(), "10001", "agent image runs as 10001 too")


def main(t):
    if shutil.which("podman") is None:
        skip_all("podman is not installed (apt-get install podman runc)")
    work = tempfile.mkdtemp(prefix="incidentd-image-")
    try:
        pm = Podman(work)
        rc, out, err = pm("run", "--rm", "--network=host", "--entrypoint", "true", BASE)
        if rc != 0 and pm("image", "exists", BASE)[0] == 0:
            skip_all("containers cannot run here: %s" % err.strip()[-300:])
        ensure_base(t, pm)
        if pm("run", "--rm", "--network=host", BASE, "true")[0] != 0:
            skip_all("containers cannot run here: %s" %
                     pm("run", "--rm", BASE, "true")[2].strip()[-300:])
        if build(t, pm, "runtime"):
            check_runtime(t, pm, work)
        if os.environ.get("IMAGE_TARGET") == "agent":
            check_agent(t, pm)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    harness.run(main)
