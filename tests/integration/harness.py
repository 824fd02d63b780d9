"""Integration test harness: starts the real incidentd binary with its own conf.d and
ledger, talks HTTP to it over loopback, and prints TAP.

Environment (set by `make check`; defaults work from an in-tree build):
  INCIDENTD, INCIDENTCTL, PLUGIN_DIR, TEST_PLUGIN_DIR, SAMPLES_DIR, TMPDIR.
  INCIDENTD_TEST_LEDGER=pg: every Daemon's ledger is a database of its own on a throwaway
  PostgreSQL server (tests/pg.py) the test process starts, instead of a SQLite file;
  Daemon.sql() then asks it through psql (the tests' SQL is written for sqlite3; the few
  SQLite-only spellings are translated, see _pg_sql()).
Python 3 standard library only.
"""

import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def source_define(header, name):
    """The value of `#define name value` in this source tree's header (a path under TOP),
    without the quotes of a string."""
    with open(os.path.join(TOP, header), encoding="utf-8") as f:
        m = re.search(r'^#define %s "?([^"\s]+)"?$' % re.escape(name), f.read(), re.M)
    return m.group(1)


def schema_version():
    """The ledger schema this source tree's incidentd migrates to (STORE_SCHEMA_VERSION)."""
    return int(source_define("store/store.h", "STORE_SCHEMA_VERSION"))


def _env_path(name, default):
    return os.environ.get(name) or os.path.join(TOP, default)


INCIDENTD = _env_path("INCIDENTD", "broker/incidentd")
INCIDENTCTL = _env_path("INCIDENTCTL", "ctl/incidentctl")
PLUGIN_DIR = _env_path("PLUGIN_DIR", "sinks/.libs")
TEST_PLUGIN_DIR = _env_path("TEST_PLUGIN_DIR", "tests/plugins/.libs")
SAMPLES_DIR = _env_path("SAMPLES_DIR", "tests/samples")
CONFD_DIR = _env_path("CONFD_DIR", "conf.d")

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

PG_MODE = os.environ.get("INCIDENTD_TEST_LEDGER") == "pg"
_pg_server = None
_pg_count = 0


def _pg_module():
    """tests/pg.py (the throwaway PostgreSQL)."""
    if os.path.dirname(HERE) not in sys.path:
        sys.path.insert(0, os.path.dirname(HERE))
    import pg
    return pg


def pg_available():
    """Whether PostgreSQL's binaries are installed (Debian's postgresql package)."""
    return _pg_module().find_bindir() is not None


def pg_server():
    """The test process's PostgreSQL server (started on first use, stopped at exit)."""
    global _pg_server
    if _pg_server is None:
        _pg_server = _pg_module().start(tempfile.mkdtemp(prefix="incidentd-pg-"))
    return _pg_server


def psql_argv(db, query):
    """psql running query on the PostgreSQL database db (a postgresql:// URI, e.g.
    pg_new_database()'s), unaligned rows without headers, stopping at the first error."""
    return [os.path.join(pg_server().bindir, "psql"), "-X", "-q", "-A", "-t", "-v",
            "ON_ERROR_STOP=1", "-d", db, "-c", query]


def pg_new_database():
    """A new empty database on pg_server(); returns its postgresql:// URI."""
    global _pg_count
    _pg_count += 1
    name = "t%d_%d" % (os.getpid(), _pg_count)
    pg_server().create_db(name)
    return pg_server().uri(name)


def _pg_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _pg_sql(query, params):
    """A test's sqlite3 query for PostgreSQL: ? placeholders filled in as literals, and
    json_extract(x, '$.a.b') as (x::jsonb #>> '{a,b}')."""
    parts = query.split("?")
    if len(parts) - 1 != len(params):
        raise ValueError("%d placeholders, %d parameters" % (len(parts) - 1, len(params)))
    q = parts[0] + "".join(_pg_literal(p) + rest for p, rest in zip(params, parts[1:]))

    def jx(m):
        path = ",".join(m.group(2).split("."))
        return "(%s::jsonb #>> '{%s}')" % (m.group(1), path)
    q = re.sub(r"json_extract\(\s*([\w.]+)\s*,\s*'\$\.([\w.]+)'\s*\)", jx, q)
    q = re.sub(r"group_concat\(([^(),]+)\)", r"string_agg(\1, ',')", q)
    q = q.replace("group_concat(", "string_agg(")
    q = re.sub(r"strftime\('%s',\s*([\w.]+)\)",
               r"CAST(extract(epoch FROM \1::timestamptz) AS bigint)", q)
    return re.sub(r"julianday\(([\w.]+)\)",
                  r"(extract(epoch FROM \1::timestamptz) / 86400.0)", q)


def _pg_json_value(v):
    """A value of a row as sqlite3 gives it: booleans as 1 and 0."""
    if isinstance(v, bool):
        return 1 if v else 0
    return v


def sample(*parts):
    """Bytes of a file under SAMPLES_DIR."""
    with open(os.path.join(SAMPLES_DIR, *parts), "rb") as f:
        return f.read()


def sample_json(*parts):
    return json.loads(sample(*parts))


def github_issue_yaml(repo, api_url, name="github"):
    """The first lines of a github_issue sink in a conf.d file: its name, the plugin, repo,
    the token from ${GITHUB_TOKEN} and api_url (the fake GitHub's); the test appends the
    sink's other options after them."""
    return ('  %s:\n    plugin: github_issue\n    repo: %s\n    token: "${GITHUB_TOKEN}"\n'
            '    api_url: %s\n' % (name, repo, api_url))


def test_sink_path():
    return os.path.join(TEST_PLUGIN_DIR, "test_sink.so")


class Tap:
    """Minimal TAP producer. Every assertion is one test point."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.cleanups = []

    def ok(self, cond, name, diag=None):
        self.n += 1
        if cond:
            print("ok %d - %s" % (self.n, name))
        else:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name))
            if diag is not None:
                for line in str(diag).splitlines() or [""]:
                    print("# " + line)
        sys.stdout.flush()
        return bool(cond)

    def eq(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why))

    def diag(self, text):
        for line in str(text).splitlines():
            print("# " + line)

    def done(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:  # report, never hide
                self.ok(False, "cleanup", repr(e))
        print("1..%d" % self.n)
        sys.exit(1 if self.failed else 0)


def run(main):
    """Run main(tap) and turn any exception into a failed test point."""
    tap = Tap()
    try:
        main(tap)
    except Exception:
        tap.ok(False, "uncaught exception", traceback.format_exc())
    tap.done()


def wait_until(fn, timeout=10.0, step=0.05):
    """Poll fn() until it returns a truthy value or the timeout expires; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


class Daemon:
    """One incidentd process with its own temporary conf.d and ledger."""

    def __init__(self, tap, confd, env=None, args=(), start=True, nofile=None,
                 db_option=True, db=None):
        """db_option=False starts without -d: the ledger is then incidentd.db in the state
        directory, which is STATE_DIRECTORY=<dir>/var unless env says otherwise. db: the
        ledger to give with -d (e.g. a PostgreSQL URI several daemons share)."""
        self.tap = tap
        self.dir = tempfile.mkdtemp(prefix="incidentd-it-")
        self.confd = os.path.join(self.dir, "conf.d")
        self.db = os.path.join(self.dir, "var", "incidentd.db")
        self.db_option = db_option
        if db is not None:
            self.db = db
        elif PG_MODE and db_option:
            self.db = pg_new_database()
        self.pg = self.db.startswith("postgresql://")
        os.makedirs(self.confd)
        self.write_confd(confd)
        self.env = dict(os.environ)
        # relative paths of the configuration (ledger.path, ipc:// sockets) stay in the
        # test's own directory, never in the installed state or runtime directory
        self.env["STATE_DIRECTORY"] = os.path.join(self.dir, "var")
        self.env["RUNTIME_DIRECTORY"] = os.path.join(self.dir, "run")
        # a replica's name survives its restarts (as a pod's does): a restarted daemon takes
        # its own claims back at once instead of waiting for their lease to end
        self.env["INCIDENTD_REPLICA_ID"] = os.path.basename(self.dir)
        self.env.update(env or {})
        self.args = list(args)
        self.nofile = nofile        # (soft, hard) open-files limit of the daemon, or None
        self.proc = None
        self.port = None
        self._lines = []
        self._lock = threading.Lock()
        self._readers = []
        tap.cleanups.append(self.teardown)
        if start:
            self.start()

    def write_confd(self, confd):
        for name in os.listdir(self.confd):
            os.unlink(os.path.join(self.confd, name))
        for name, text in confd.items():
            with open(os.path.join(self.confd, name), "w") as f:
                f.write(text)

    def _reader(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self._lines.append(line)
        stream.close()

    def start(self, listen="127.0.0.1:0"):
        argv = [INCIDENTD, "-c", self.confd] + (["-d", self.db] if self.db_option else []) + [
                "-l", listen, "--plugin-dir", PLUGIN_DIR] + self.args
        mark = len(self.lines())
        limit = None
        if self.nofile is not None:
            import resource
            nofile = self.nofile

            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=self.env,
                                     preexec_fn=limit)
        for s in (self.proc.stdout, self.proc.stderr):
            t = threading.Thread(target=self._reader, args=(s,), daemon=True)
            t.start()
            self._readers.append(t)
        m = self.wait_log(r"listening on https?://(?:\[[^\]]*\]|[^:/]+):(\d+)", 10, since=mark)
        if m is None:
            raise RuntimeError("incidentd did not start:\n" + "\n".join(self.lines()))
        self.port = int(m.group(1))
        return self

    def lines(self):
        with self._lock:
            return list(self._lines)

    def wait_log(self, regex, timeout=5.0, since=0):
        """Wait for a log line matching regex (searched from line index since)."""
        rx = re.compile(regex)

        def find():
            for line in self.lines()[since:]:
                m = rx.search(line)
                if m:
                    return m
            return None
        return wait_until(find, timeout)

    def count_log(self, regex):
        rx = re.compile(regex)
        return sum(1 for line in self.lines() if rx.search(line))

    def request(self, method, path, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = {}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            rh = {k.lower(): v for k, v in resp.getheaders()}
        finally:
            conn.close()
        data = raw.decode("utf-8", "replace")
        if "json" in rh.get("content-type", ""):
            try:
                data = json.loads(raw)
            except ValueError:
                pass
        return resp.status, rh, data

    def post(self, path, body, headers=None, timeout=10):
        return self.request("POST", path, body, headers, timeout=timeout)

    def get(self, path, headers=None):
        return self.request("GET", path, None, headers)

    def sql(self, query, params=()):
        if self.pg:
            q = _pg_sql(query, params)
            select = re.match(r"\s*(SELECT|WITH)\b", q, re.I) is not None
            if select:
                # rows as JSON keep their types (numbers, text, booleans, NULL); a record's
                # fields are f1, f2, ... in column order
                q = "SELECT coalesce(json_agg(to_json(row(q.*))), '[]') FROM (%s) AS q" % q
            p = subprocess.run(psql_argv(self.db, q), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            if p.returncode != 0:
                raise RuntimeError("psql: %s" % p.stderr.decode("utf-8", "replace"))
            if not select:
                return []
            return [tuple(_pg_json_value(r["f%d" % (i + 1)]) for i in range(len(r)))
                    for r in json.loads(p.stdout.decode("utf-8"))]
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=5)
        try:
            return con.execute(query, params).fetchall()
        finally:
            con.close()

    def dump_lines(self):
        """Every row of the ledger as text lines (sqlite3's .dump; pg_dump --data-only)."""
        if self.pg:
            p = subprocess.run([os.path.join(pg_server().bindir, "pg_dump"), "--data-only",
                                "-d", self.db], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            if p.returncode != 0:
                raise RuntimeError("pg_dump: %s" % p.stderr.decode("utf-8", "replace"))
            return p.stdout.decode("utf-8", "replace").splitlines()
        con = sqlite3.connect(self.db)
        try:
            return list(con.iterdump())
        finally:
            con.close()

    def scalar(self, query, params=()):
        rows = self.sql(query, params)
        return rows[0][0] if rows else None

    def ctl(self, *args):
        p = subprocess.run([INCIDENTCTL, "--db", self.db] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                           env=self.env)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def _check_sanitizers(self, what):
        bad = [l for l in self.lines() if any(m in l for m in SANITIZER_MARKS)]
        self.tap.ok(not bad, "%s: no sanitizer reports" % what, "\n".join(self.lines()[-60:]))

    def _join(self):
        for t in self._readers:
            t.join(5)
        self._readers = []

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)
        self._join()
        self.proc = None

    def stop(self):
        """SIGTERM, wait, assert exit 0 and a clean sanitizer report. Returns the code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
            self.tap.ok(False, "incidentd stops within 15 s of SIGTERM")
        self._join()
        self.proc = None
        self.tap.eq(rc, 0, "incidentd exits 0 after SIGTERM")
        self._check_sanitizers("incidentd")
        return rc

    def restart(self):
        self.stop()
        return self.start()

    def teardown(self):
        if self.proc is not None:
            self.stop()
        if self.pg:
            leaked = [l for l in self.lines() if pg_server().password in l]
            self.tap.ok(not leaked, "the PostgreSQL password is in no log line",
                        "\n".join(leaked[:5]))
        if self.tap.failed:
            self.tap.diag("incidentd log (last 40 lines):")
            self.tap.diag("\n".join(self.lines()[-40:]))
        shutil.rmtree(self.dir, ignore_errors=True)


def base_confd(sinks_yaml=None, routes_yaml=None, extra=""):
    """A conf.d dict: argocd without auth, the given sinks and routes (YAML fragments)."""
    sinks_yaml = sinks_yaml or "  log: { plugin: log }\n"
    routes_yaml = routes_yaml or "  - name: default\n    sinks: [log]\n"
    return {"10-test.yaml": "sources:\n  argocd: { auth: none }\nsinks:\n" + sinks_yaml +
            "routes:\n" + routes_yaml + extra}


def recorder(path):
    """Read the JSON lines a test_sink wrote."""
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []
