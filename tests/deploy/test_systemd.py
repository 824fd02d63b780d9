#!/usr/bin/env python3
"""deploy/systemd/incidentd.service.in: the unit, with ExecStart= naming the daemon just
built, passes `systemd-analyze verify` without a single complaint, and keeps the settings
docs/deploy.md promises (a dynamic user, its own state and runtime directories, a
read-only system, SIGHUP for reload, secrets from an EnvironmentFile)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

SRCDIR = os.environ.get("SRCDIR") or harness.TOP
UNIT_IN = os.path.join(SRCDIR, "deploy", "systemd", "incidentd.service.in")


def render(bindir, sysconfdir):
    with open(UNIT_IN) as f:
        text = f.read()
    return (text.replace("@bindir@", bindir)
            .replace("@confddir@", sysconfdir + "/incidentd/conf.d")
            .replace("@sysconfdir@", sysconfdir))


def main(t):
    text = render(os.path.dirname(harness.INCIDENTD), "/etc")
    t.ok("@" not in re.sub(r"#.*", "", text), "every @placeholder@ is substituted")
    want = {
        "ExecStart": os.path.dirname(harness.INCIDENTD) + "/incidentd",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "EnvironmentFile": "-/etc/incidentd/environment",
        "DynamicUser": "yes",
        "StateDirectory": "incidentd",
        "RuntimeDirectory": "incidentd",
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "KillMode": "mixed",
    }
    have = dict(re.findall(r"^(\w+)=(.*)$", text, re.M))
    for key, value in want.items():
        t.eq(have.get(key), value, "%s=%s" % (key, value))

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        t.skip("systemd-analyze verify", "systemd-analyze is not installed (apt-get install "
               "systemd)")
        return
    with tempfile.TemporaryDirectory() as d:
        unit = os.path.join(d, "incidentd.service")
        with open(unit, "w") as f:
            f.write(text)
        p = subprocess.run([analyze, "verify", unit], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = p.stdout.decode()
        t.ok(p.returncode == 0 and out.strip() == "", "systemd-analyze verify: clean", out)
        # the check itself can fail: an unknown directive is reported
        with open(unit, "w") as f:
            f.write(text.replace("[Service]\n", "[Service]\nDynamicUsr=yes\n"))
        p = subprocess.run([analyze, "verify", unit], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        t.ok("DynamicUsr" in p.stdout.decode(), "systemd-analyze verify reports a typo",
             p.stdout.decode())


if __name__ == "__main__":
    harness.run(main)
