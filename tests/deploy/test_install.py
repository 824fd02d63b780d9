#!/usr/bin/env python3
"""An install as a user does it: the distributed sources configured with a prefix under a
temporary directory, `make install`, and the installed daemon started with no options. It
reads $sysconfdir/incidentd/conf.d, keeps its ledger in $localstatedir/lib/incidentd and its
live tail socket in $runstatedir/incidentd, writes nothing into the working directory, and
the installed incidentctl finds the event without options. The pkg-config file names the
installed plugin directory and the systemd unit the installed daemon.

Then the same tree is configured again with another prefix, without `make clean`, and
installed: only what uses the compiled-in directories is rebuilt, and the new installation
works on its own (the first one is removed first), plugins included."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

BUILDDIR = os.environ.get("BUILDDIR") or harness.TOP
# no jobserver of the make that runs this test, no paths of a test environment
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.startswith(("MAKE", "MFLAGS", "INCIDENTD", "STATE_DIRECTORY",
                                  "RUNTIME_DIRECTORY", "ASAN", "UBSAN"))}


def sh(t, argv, what, cwd, timeout=900):
    start = time.monotonic()
    p = subprocess.run(argv, cwd=cwd, env=CLEAN_ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    out = p.stdout.decode("utf-8", "replace")
    t.ok(p.returncode == 0, "%s (%.0f s)" % (what, time.monotonic() - start), out[-3000:])
    return p.returncode == 0, out


def configure(t, src, prefix):
    # -C: the second run reuses the first one's results (config.cache); -O0: this checks
    # the layout, not the optimizer
    return sh(t, ["./configure", "-C", "--prefix=" + prefix, "CFLAGS=-O0",
                  "--with-systemdsystemunitdir=" + prefix + "/lib/systemd/system"],
              "configure --prefix=%s" % os.path.basename(prefix), src, 300)[0]


class Installed:
    """The installed daemon, started with no options in an empty working directory."""

    def __init__(self, t, prefix, work):
        self.t, self.prefix = t, prefix
        self.cwd = os.path.join(work, "cwd-" + os.path.basename(prefix))
        os.makedirs(self.cwd)
        self.log = os.path.join(work, "log-" + os.path.basename(prefix))
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen([os.path.join(prefix, "bin", "incidentd")], cwd=self.cwd,
                                     env=CLEAN_ENV, stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        m = harness.wait_until(lambda: re.search(r"listening on http://127\.0\.0\.1:(\d+)",
                                                 self.text()), 15)
        self.port = int(m.group(1)) if m else None

    def text(self):
        with open(self.log) as f:
            return f.read()

    def post_seed(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("POST", "/v1/events/argocd",
                     harness.sample("argocd", "seed-aks-store-degraded.client_payload.json"),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read().decode()
        conn.close()
        return r.status, body

    def ctl(self, *args):
        p = subprocess.run([os.path.join(self.prefix, "bin", "incidentctl")] + list(args),
                           cwd=self.cwd, env=CLEAN_ENV, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(20)
        self.logf.close()
        return rc


def check_installed(t, prefix, work):
    """Start the installed daemon without options and see where everything goes."""
    name = os.path.basename(prefix)
    confd = os.path.join(prefix, "etc", "incidentd", "conf.d")
    t.ok(os.path.exists(os.path.join(confd, "00-defaults.yaml")),
         "%s: 00-defaults.yaml installed in $sysconfdir/incidentd/conf.d" % name)
    # a drop-in next to it: a free port (this machine is shared), so the daemon must read
    # this directory to start at all
    with open(os.path.join(confd, "10-test.yaml"), "w") as f:
        f.write("server:\n  listen: 127.0.0.1:0\n")
    d = Installed(t, prefix, work)
    try:
        if not t.ok(d.port is not None, "%s: the installed daemon starts with no options" % name,
                    d.text()):
            return
        st, body = d.post_seed()
        t.eq(st, 202, "%s: seed sample accepted" % name)
        t.ok(harness.wait_until(lambda: "action=open" in d.text(), 10),
             "%s: the log sink's line" % name, d.text())
        state = os.path.join(prefix, "var", "lib", "incidentd")
        t.ok(os.path.exists(os.path.join(state, "incidentd.db")),
             "%s: ledger in $localstatedir/lib/incidentd" % name, d.text())
        t.ok(os.path.exists(os.path.join(prefix, "var", "run", "incidentd", "tail.ipc")),
             "%s: live tail socket in $runstatedir/incidentd" % name)
        t.eq(os.listdir(d.cwd), [], "%s: nothing written to the working directory" % name)
        event = re.search(r'"events":\s*\["([0-9A-Z]{26})"', body)
        rc, out, err = d.ctl("events")
        t.ok(rc == 0 and event and event.group(1) in out,
             "%s: incidentctl without options finds the event" % name, out + err)
        rc, out, err = d.ctl("health")
        t.ok(rc == 1 and "cannot reach incidentd at http://127.0.0.1:9740" in err,
             "%s: incidentctl health asks the default address" % name, err)
        rc, out, err = d.ctl("health", "--url", "http://127.0.0.1:%d" % d.port)
        t.ok(rc == 0 and out == "ok\n", "%s: incidentctl health --url" % name, out + err)
    finally:
        t.eq(d.stop(), 0, "%s: SIGTERM, exit 0" % name)


def check_files(t, prefix):
    name = os.path.basename(prefix)
    plugins = os.path.join(prefix, "lib", "incidentd")
    t.ok(os.path.exists(os.path.join(plugins, "github_issue.so")),
         "%s: plugins in $libdir/incidentd" % name)
    pc = subprocess.run(["pkg-config", "--variable=plugindir", "incidentd-sink"],
                        env=dict(CLEAN_ENV, PKG_CONFIG_PATH=os.path.join(prefix, "lib",
                                                                         "pkgconfig")),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.eq(pc.stdout.decode().strip(), plugins, "%s: pkg-config --variable=plugindir" % name)
    unit = os.path.join(prefix, "lib", "systemd", "system", "incidentd.service")
    text = open(unit).read() if os.path.exists(unit) else ""
    t.ok("ExecStart=%s/bin/incidentd\n" % prefix in text and
         "EnvironmentFile=-%s/etc/incidentd/environment\n" % prefix in text,
         "%s: the unit names the installed daemon and its environment file" % name, text[-800:])
    out = subprocess.run([os.path.join(prefix, "bin", "incidentd"), "--help"],
                         stdout=subprocess.PIPE, env=CLEAN_ENV).stdout.decode()
    t.ok("%s/etc/incidentd/conf.d" % prefix in out and plugins in out,
         "%s: --help names this prefix's directories" % name, out)


def main(t):
    if shutil.which("pkg-config") is None:
        t.skip("install", "pkg-config is not installed")
        return
    work = tempfile.mkdtemp(prefix="incidentd-install-")
    t.cleanups.append(lambda: shutil.rmtree(work, ignore_errors=True))
    src = os.path.join(work, "src")
    ok, _ = sh(t, ["make", "distdir", "distdir=" + src], "make distdir", BUILDDIR, 300)
    if not ok:
        return
    a, b = os.path.join(work, "a"), os.path.join(work, "b")
    if not configure(t, src, a):
        return
    ok, _ = sh(t, ["make", "-j2"], "make", src)
    ok = ok and sh(t, ["make", "install"], "make install (prefix a)", src)[0]
    if not ok:
        return
    check_files(t, a)
    check_installed(t, a, work)

    # configure again with another prefix, no make clean
    if not configure(t, src, b):
        return
    ok, out = sh(t, ["make", "-j2", "V=1"], "make after re-configuring", src)
    rebuilt = re.findall(r"-c -o (\S+\.o)", out)
    t.ok(any("installdirs" in o for o in rebuilt), "the compiled-in directories are rebuilt",
         rebuilt)
    t.diag("objects rebuilt after re-configuring: %d (%s)" % (len(rebuilt), " ".join(
        sorted(set(os.path.basename(o) for o in rebuilt)))))
    ok = ok and sh(t, ["make", "install"], "make install (prefix b)", src)[0]
    if not ok:
        return
    shutil.rmtree(a)
    check_files(t, b)
    check_installed(t, b, work)


if __name__ == "__main__":
    harness.run(main)
