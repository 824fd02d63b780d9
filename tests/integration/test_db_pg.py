#!/usr/bin/env python3
"""The db.h contract on PostgreSQL: starts a throwaway server (tests/pg.py: initdb, a Unix
socket in its own directory, password authentication) and runs the unit test
tests/unit/test_db with INCIDENTD_TEST_PG set, once with a keyword/value connection string
and once with a postgresql:// URI; each of its test points is reported here. The role's
password (and the wrong one test_db tries) must reach neither test_db's output nor the
server's log, which logs every statement. Skipped only when no PostgreSQL binaries are
installed (apt-get install postgresql)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import SANITIZER_MARKS, TOP, run

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import pg  # noqa: E402  (tests/pg.py)

BUILDDIR = os.environ.get("BUILDDIR") or TOP
TEST_DB = os.path.join(BUILDDIR, "tests", "unit", "test_db")
WRONG_PASSWORD = "Wr0ngPassw0rd"    # what test_pg_wrong_password tries
TAP_LINE = re.compile(r"^(not )?ok \d+ - (.*)$")


def run_test_db(t, server, form, conninfo):
    """Run test_db against conninfo; one test point per test of its, and a summary."""
    env = dict(os.environ)
    env["INCIDENTD_TEST_PG"] = conninfo
    env["CMOCKA_MESSAGE_OUTPUT"] = "TAP"
    p = subprocess.run([TEST_DB], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, env=env, timeout=600)
    out = p.stdout.decode("utf-8", "replace")
    names = []
    for line in out.splitlines():
        m = TAP_LINE.match(line)
        if m:
            names.append(m.group(2))
            t.ok(m.group(1) is None, "%s: %s" % (form, m.group(2)), out)
    t.eq(p.returncode, 0, "%s: test_db exits 0" % form)
    pg_tests = [n for n in names if n.startswith("pg: ")]
    t.ok(len(pg_tests) >= 10, "%s: test_db ran its PostgreSQL half (%d tests)"
         % (form, len(pg_tests)), out)
    t.ok(not any(m in out for m in SANITIZER_MARKS), "%s: no sanitizer reports" % form, out)
    t.ok(server.password not in out and WRONG_PASSWORD not in out,
         "%s: test_db's output shows no password" % form, out)
    # its DROP TABLE IF EXISTS draws a NOTICE: the driver hands notices to the log
    # (debug), libpq would print them on stderr
    t.ok("NOTICE" not in out, "%s: server notices do not reach stderr by themselves" % form,
         out)


def main(t):
    if not os.access(TEST_DB, os.X_OK):
        t.ok(False, "tests/unit/test_db is built", TEST_DB)
        return
    if pg.find_bindir() is None:
        t.skip("test_db against PostgreSQL",
               "no PostgreSQL binaries (pg_config --bindir, /usr/lib/postgresql/*/bin): "
               "apt-get install postgresql")
        return
    tmp = tempfile.mkdtemp(prefix="incidentd-pg-")
    t.cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    server = pg.start(tmp)
    t.cleanups.append(server.stop)      # cleanups run last first: stopped, then removed
    server.create_db("test_db")

    run_test_db(t, server, "keyword/value", server.conninfo("test_db"))
    run_test_db(t, server, "URI", server.uri("test_db"))

    log = server.log_text()
    t.ok(re.search(r"connection authorized: user=incidentd database=test_db "
                   r"application_name=incidentd", log),
         "the server saw test_db connect as incidentd, application_name=incidentd",
         log[-3000:])
    t.ok(re.search(r"password authentication failed for user \"incidentd\"", log),
         "the server saw the wrong password refused", log[-3000:])
    t.ok(server.password not in log and WRONG_PASSWORD not in log,
         "the server's log (every statement) shows no password")
    server.stop()
    t.ok("database system is shut down" in server.log_text(),
         "the server stops (fast)", server.log_text()[-2000:])


run(main)
