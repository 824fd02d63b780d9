"""A throwaway PostgreSQL server for the tests (Python 3 standard library only).

    import pg
    server = pg.start(tmpdir)          # initdb + pg_ctl start, in tmpdir/pg
    try:
        server.create_db("ledger")
        conninfo = server.conninfo("ledger")
        ...
    finally:
        server.stop()                  # pg_ctl stop -m fast (also registered with atexit)

The server listens on a Unix socket in its own directory only (listen_addresses='', no TCP
port), with fsync on. Every connection authenticates with a password (scram-sha-256): the
bootstrap superuser `postgres` is only used by this module (its password never leaves
it), the tests connect as the role `incidentd`, whose password is `server.password` and is
given to the server as a SCRAM verifier, never in plain text. log_statement='all' and
log_connections=on, so server.log_text() shows everything a test sent.

PostgreSQL refuses to run as root: when this process is root, initdb and pg_ctl run as the
unprivileged `postgres` user (created by Debian's postgresql package) through runuser, and
the directory is made theirs. Everything runs through argv lists, never a shell string.

find_bindir() is None when no PostgreSQL binaries are installed: callers skip then.
"""

import atexit
import base64
import glob
import hashlib
import hmac
import os
import pwd
import re
import secrets
import shutil
import subprocess
import urllib.parse

PORT = 5432     # only names the socket file: there is no TCP listener
ROLE = "incidentd"
_NEEDED = ("initdb", "pg_ctl", "postgres", "psql")
# sockaddr_un.sun_path holds 108 bytes: "<dir>/.s.PGSQL.5432" must fit
_SOCKET_PATH_MAX = 107


class Error(Exception):
    """The server could not be set up; the message says what failed."""


def _bindir_ok(d):
    return all(os.access(os.path.join(d, p), os.X_OK) for p in _NEEDED)


def find_bindir():
    """The directory with initdb, pg_ctl, postgres and psql: `pg_config --bindir`, else the
    newest /usr/lib/postgresql/*/bin; None when there is none."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            d = subprocess.run([pg_config, "--bindir"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=30,
                               check=True).stdout.decode().strip()
            if d and _bindir_ok(d):
                return d
        except (OSError, subprocess.SubprocessError):
            pass

    def version(d):
        m = re.search(r"/postgresql/(\d+)(?:\.(\d+))?/bin$", d)
        return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if _bindir_ok(d):
            return d
    return None


def scram_verifier(password, iterations=4096):
    """The SCRAM-SHA-256 verifier PostgreSQL stores for password (RFC 5802/7677, as
    libpq's PQencryptPasswordConn makes it): the server learns no plain text. ASCII
    passwords only (no SASLprep here)."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(b):
        return base64.b64encode(b).decode()
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, b64(salt), b64(stored_key),
                                          b64(server_key))


def _conf_quote(value):
    """A postgresql.conf string value."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _kv_quote(value):
    """A libpq keyword/value connection string value."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ident_ok(name):
    return re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) is not None


class Server:
    """One running PostgreSQL; made by start()."""

    def __init__(self, bindir, basedir):
        self.bindir = bindir
        self.dir = basedir                          # the socket's directory
        self.datadir = os.path.join(basedir, "data")
        self.logfile = os.path.join(basedir, "server.log")
        self.password = "pw-" + secrets.token_hex(12)   # the role incidentd's
        self._super_password = secrets.token_hex(16)
        self._as = None                             # argv prefix to run as postgres
        self._running = False

    def _bin(self, name):
        return os.path.join(self.bindir, name)

    def _run(self, argv, as_owner=True, env=None, timeout=120):
        argv = (self._as or []) + argv if as_owner else argv
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, cwd=self.dir, env=env,
                           timeout=timeout)
        if p.returncode != 0:
            raise Error("%s failed (exit %d):\n%s%s" % (
                os.path.basename(argv[len(self._as or []) if as_owner else 0]),
                p.returncode, p.stdout.decode("utf-8", "replace"), self._log_tail()))
        return p.stdout.decode("utf-8", "replace")

    def _log_tail(self):
        text = self.log_text()
        return "\nserver log:\n" + "\n".join(text.splitlines()[-20:]) if text else ""

    def _setup_owner(self):
        """As root: run as postgres and give it the directory (and a way into it)."""
        if os.geteuid() != 0:
            return
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise Error("running as root, and there is no `postgres` user to run "
                        "PostgreSQL as (apt-get install postgresql creates it)")
        runuser = shutil.which("runuser") or shutil.which("setpriv")
        if runuser is None:
            raise Error("running as root, and neither runuser nor setpriv is installed")
        if os.path.basename(runuser) == "runuser":
            self._as = [runuser, "-u", "postgres", "--"]
        else:
            self._as = [runuser, "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
                        "--init-groups", "--"]
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        # postgres must pass through the directories above: the test's own temporary
        # directory gets o+x (enter, not list); anything further up must allow it already
        parent = os.path.dirname(self.dir)
        os.chmod(parent, os.stat(parent).st_mode | 0o001)
        d = parent
        while d != "/":
            d = os.path.dirname(d)
            if not os.stat(d).st_mode & 0o001:
                raise Error("%s is not searchable by the postgres user" % d)

    def _start(self):
        os.makedirs(self.dir, mode=0o700)
        if len(os.path.join(self.dir, ".s.PGSQL.%d" % PORT)) > _SOCKET_PATH_MAX:
            raise Error("socket path too long for a Unix socket: %s (set a shorter TMPDIR)"
                        % self.dir)
        self._setup_owner()
        pwfile = os.path.join(self.dir, "superuser.pw")
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self._super_password + "\n")
        if self._as is not None:
            st = os.stat(self.dir)
            os.chown(pwfile, st.st_uid, st.st_gid)
        try:
            self._run([self._bin("initdb"), "-D", self.datadir, "-U", "postgres",
                       "--auth=scram-sha-256", "--pwfile=" + pwfile, "-E", "UTF8",
                       "--no-locale"])
        finally:
            os.unlink(pwfile)
        settings = {
            "listen_addresses": "''",
            "unix_socket_directories": _conf_quote(self.dir),
            "port": str(PORT),
            "fsync": "on",
            "password_encryption": "'scram-sha-256'",
            "max_connections": "20",
            "shared_buffers": "'16MB'",
            "log_statement": "'all'",
            "log_connections": "on",
            "log_min_messages": "'info'",
            # not UTC, so that a client that needs UTC has to ask for it
            "timezone": "'America/New_York'",
        }
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write("\n# tests/pg.py\n")
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))
        # pg_ctl -w: returns once the server accepts connections (or fails after -t)
        self._running = True
        self._run([self._bin("pg_ctl"), "-D", self.datadir, "-l", self.logfile, "-w",
                   "-t", "60", "start"])
        self._psql("postgres", "SELECT 1")
        # the role's password as a SCRAM verifier: no plain text reaches the server's log
        self._psql("postgres", "CREATE ROLE %s LOGIN PASSWORD '%s'" %
                   (ROLE, scram_verifier(self.password)))

    def _psql(self, dbname, sql):
        env = dict(os.environ)
        env["PGPASSWORD"] = self._super_password
        env.pop("PGSERVICE", None)
        env.pop("PGPASSFILE", None)
        return self._run([self._bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                          "-h", self.dir, "-p", str(PORT), "-U", "postgres",
                          "-d", dbname, "-c", sql], as_owner=False, env=env)

    def create_db(self, name):
        """Create the database name (a lower-case SQL identifier), owned by incidentd."""
        if not _ident_ok(name):
            raise ValueError("database name must match [a-z_][a-z0-9_]*: %r" % name)
        self._psql("postgres", "CREATE DATABASE %s OWNER %s" % (name, ROLE))

    def conninfo(self, dbname, **extra):
        """A libpq keyword/value string connecting to dbname as incidentd (with its
        password); extra keywords are appended (e.g. application_name="x")."""
        params = [("host", self.dir), ("port", str(PORT)), ("dbname", dbname),
                  ("user", ROLE), ("password", self.password)]
        params += sorted(extra.items())
        return " ".join("%s=%s" % (k, _kv_quote(v)) for k, v in params)

    def uri(self, dbname):
        """The same as a postgresql:// URI (the socket directory percent-encoded)."""
        q = urllib.parse.quote
        return "postgresql://%s:%s@%s:%d/%s" % (q(ROLE, safe=""), q(self.password, safe=""),
                                                q(self.dir, safe=""), PORT,
                                                q(dbname, safe=""))

    def log_text(self):
        """The server's log so far ('' before it exists)."""
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """Stop the server (fast shutdown: sessions are ended); again is a no-op."""
        if not self._running:
            return
        self._running = False
        self._run([self._bin("pg_ctl"), "-D", self.datadir, "-m", "fast", "-w", "-t", "60",
                   "stop"])

    def restart(self):
        """Start a stopped server again on the same data directory (what a database
        restart or failover looks like to a client)."""
        if self._running:
            return
        self._running = True
        self._run([self._bin("pg_ctl"), "-D", self.datadir, "-l", self.logfile, "-w",
                   "-t", "60", "start"])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start(tmpdir, bindir=None):
    """Initialize and start a server in tmpdir/pg; returns the Server. Raises Error (the
    server stopped again) when that fails; find_bindir() is None when no PostgreSQL is
    installed."""
    bindir = bindir or find_bindir()
    if bindir is None:
        raise Error("no PostgreSQL binaries (initdb, pg_ctl, postgres, psql) found: "
                    "apt-get install postgresql")
    server = Server(bindir, os.path.join(os.path.abspath(tmpdir), "pg"))
    atexit.register(_stop_quietly, server)
    try:
        server._start()
    except BaseException:
        _stop_quietly(server)
        raise
    return server


def _stop_quietly(server):
    try:
        server.stop()
    except (Error, OSError, subprocess.SubprocessError):
        pass
