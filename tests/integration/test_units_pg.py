#!/usr/bin/env python3
"""The ledger's unit suites on PostgreSQL: starts one throwaway server (tests/pg.py: initdb,
a Unix socket in its own directory, password authentication) and runs the cmocka programs
tests/unit/test_db (the db.h contract), test_store, test_incident and test_prune with
INCIDENTD_TEST_PG set, each against a database of its own; each of their test points is
reported here. test_db runs once with a keyword/value connection string and once with a
postgresql:// URI; the store suites get the URI (store_open(), as --db) and open a fresh
schema per test. Each run must pass, must really have run its PostgreSQL half (at least
so many "pg: " tests), and its output must show no sanitizer report, no server notice and
no password (nor the wrong one test_db tries); neither may the server's log, which logs
every statement. Skipped only when no PostgreSQL binaries are installed
(apt-get install postgresql)."""

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
WRONG_PASSWORD = "Wr0ngPassw0rd"    # what test_db's test_pg_wrong_password tries
TAP_LINE = re.compile(r"^(not )?ok \d+ - (.*)$")

# (program, connection string forms, the fewest "pg: " tests it runs with INCIDENTD_TEST_PG)
SUITES = (
    ("test_db", ("keyword/value", "URI"), 18),
    ("test_store", ("URI",), 18),
    ("test_incident", ("URI",), 5),
    ("test_prune", ("URI",), 4),
)


def run_suite(t, server, program, form, conninfo, min_pg):
    """Run tests/unit/<program> against conninfo; one test point per test of its, and the
    checks on its run."""
    what = "%s (%s)" % (program, form)
    env = dict(os.environ)
    env["INCIDENTD_TEST_PG"] = conninfo
    env["CMOCKA_MESSAGE_OUTPUT"] = "TAP"
    p = subprocess.run([os.path.join(BUILDDIR, "tests", "unit", program)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, env=env, timeout=600)
    out = p.stdout.decode("utf-8", "replace")
    names = []
    for line in out.splitlines():
        m = TAP_LINE.match(line)
        if m:
            names.append(m.group(2))
            t.ok(m.group(1) is None, "%s: %s" % (what, m.group(2)), out)
    t.eq(p.returncode, 0, "%s exits 0" % what)
    pg_tests = [n for n in names if n.startswith("pg: ")]
    t.ok(len(pg_tests) >= min_pg, "%s ran its PostgreSQL half (%d tests, at least %d)"
         % (what, len(pg_tests), min_pg), out)
    t.ok(not any(m in out for m in SANITIZER_MARKS), "%s: no sanitizer reports" % what, out)
    t.ok(server.password not in out and WRONG_PASSWORD not in out,
         "%s: the output shows no password" % what, out)
    # DROP ... IF EXISTS and DROP SCHEMA ... CASCADE draw NOTICEs: the driver hands notices
    # to the log (debug), libpq would print them on stderr
    t.ok("NOTICE" not in out, "%s: server notices do not reach stderr by themselves" % what,
         out)


def main(t):
    programs = [os.path.join(BUILDDIR, "tests", "unit", s[0]) for s in SUITES]
    missing = [p for p in programs if not os.access(p, os.X_OK)]
    if missing:
        t.ok(False, "the unit suites are built", "\n".join(missing))
        return
    if pg.find_bindir() is None:
        t.skip("the unit suites against PostgreSQL",
               "no PostgreSQL binaries (pg_config --bindir, /usr/lib/postgresql/*/bin): "
               "apt-get install postgresql")
        return
    tmp = tempfile.mkdtemp(prefix="incidentd-pg-")
    t.cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    server = pg.start(tmp)
    t.cleanups.append(server.stop)      # cleanups run last first: stopped, then removed

    for program, forms, min_pg in SUITES:
        server.create_db(program)
        for form in forms:
            conninfo = server.uri(program) if form == "URI" else server.conninfo(program)
            run_suite(t, server, program, form, conninfo, min_pg)

    log = server.log_text()
    for program, _, _ in SUITES:
        t.ok(re.search(r"connection authorized: user=incidentd database=%s "
                       r"application_name=incidentd" % program, log),
             "the server saw %s connect as incidentd, application_name=incidentd" % program,
             log[-3000:])
    t.ok(re.search(r"password authentication failed for user \"incidentd\"", log),
         "the server saw the wrong password refused", log[-3000:])
    t.ok(server.password not in log and WRONG_PASSWORD not in log,
         "the server's log (every statement) shows no password")
    server.stop()
    t.ok("database system is shut down" in server.log_text(),
         "the server stops (fast)", server.log_text()[-2000:])


run(main)
