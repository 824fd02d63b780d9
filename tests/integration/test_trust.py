"""The trust boundary of the HTTP listener and the files, through the real daemon: every
endpoint has an owner, browsers cannot drive the daemon, credentials are checked before a
body is read, descriptors run out gracefully, the live tail and the ledger are private, and
text that senders wrote is inert in the log and in incidentctl's output.

Each block is a regression test of one attack that worked before (issue "trust boundary",
rows 1, 6, 7, 8, 9, 11, 12)."""

import os
import socket
import stat
import subprocess
import time

import harness
from harness import Daemon, INCIDENTD, PLUGIN_DIR, CONFD_DIR, sample, wait_until

DEGRADED = sample("argocd", "seed-aks-store-degraded.client_payload.json")
TOKEN = "src-token-3f9a"
API = "api-token-77c1"

# a non-loopback listener: every source and the API have auth
OPEN_CONF = {"10-test.yaml": (
    "server:\n"
    "  api_auth: { bearer: %s }\n"
    "sources:\n"
    "  argocd: { auth: { bearer: %s } }\n"
    "  alertmanager: { auth: { basic: { username: am, password: pw } } }\n"
    "sinks:\n  log: { plugin: log }\n"
    "routes:\n  - name: default\n    sinks: [log]\n") % (API, TOKEN)}


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw(port, data, timeout=5):
    """Send raw bytes, return the status line's code (or None) and the answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        got = b""
    finally:
        s.close()
    try:
        return int(got.split(b" ", 2)[1]), got
    except (IndexError, ValueError):
        return None, got


def endpoint_owners(t):
    """Row 1: the read API, /metrics and /-/reload are not served without credentials."""
    d = Daemon(t, OPEN_CONF, args=[], start=False)
    d.start(listen="0.0.0.0:0")
    st, _, body = d.post("/v1/events/argocd", DEGRADED, bearer(TOKEN))
    t.eq(st, 202, "row 1: the source accepts its own token")
    ev = body["events"][0] if st == 202 else "x"
    for path in ("/v1/events/" + ev, "/v1/events", "/v1/incidents", "/v1/deliveries",
                 "/metrics"):
        st, h, _ = d.get(path)
        t.eq(st, 401, "row 1: GET %s without credentials: 401" % path.split("/0")[0])
        t.ok("bearer" in h.get("www-authenticate", "").lower(),
             "row 1: %s challenges for a bearer token" % path.split("/0")[0])
        st, _, _ = d.get(path, bearer(TOKEN))
        t.eq(st, 401, "row 1: %s refuses a source's token" % path.split("/0")[0])
        st, _, _ = d.get(path, bearer(API))
        t.eq(st, 200, "row 1: %s with server.api_auth: 200" % path.split("/0")[0])
    st, _, _ = d.post("/-/reload", {})
    t.eq(st, 401, "row 1: reload from loopback without credentials: 401")
    st, _, _ = d.post("/-/reload", {}, bearer(API))
    t.eq(st, 200, "row 1: reload with server.api_auth: 200")
    env = dict(os.environ, INCIDENTD_URL="http://127.0.0.1:%d" % d.port)
    p = subprocess.run([harness.INCIDENTCTL, "reload"], env=env, capture_output=True,
                       text=True, timeout=30)
    t.ok(p.returncode != 0 and "HTTP 401" in p.stderr,
         "row 1: incidentctl reload without the token is refused", p.stderr)
    env["INCIDENTD_API_TOKEN"] = API
    p = subprocess.run([harness.INCIDENTCTL, "reload"], env=env, capture_output=True,
                       text=True, timeout=30)
    t.ok(p.returncode == 0 and "configuration reloaded" in p.stdout,
         "row 1: incidentctl reload with $INCIDENTD_API_TOKEN", p.stdout + p.stderr)
    st, _, _ = d.get("/healthz")
    t.eq(st, 200, "row 1: /healthz stays open for probes")
    st, _, _ = d.get("/readyz")
    t.eq(st, 200, "row 1: /readyz stays open for probes")
    d.stop()

    # /metrics may be opened explicitly for a scraper on a trusted network
    conf = {"10-test.yaml": OPEN_CONF["10-test.yaml"].replace(
        "server:\n", "server:\n  metrics_auth: none\n")}
    d = Daemon(t, conf, start=False)
    d.start(listen="0.0.0.0:0")
    t.eq(d.get("/metrics")[0], 200, "row 1: metrics_auth: none serves /metrics openly")
    t.eq(d.get("/v1/incidents")[0], 401, "row 1: ... and the read API still needs api_auth")
    d.stop()


def refuses_to_start(t, confd, listen, want, name):
    d = Daemon(t, confd, start=False)
    argv = [INCIDENTD, "-c", d.confd, "-d", d.db, "-l", listen, "--plugin-dir", PLUGIN_DIR]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    t.ok(p.returncode != 0 and want in p.stderr, name, p.stderr[-2000:])
    t.ok(not os.path.exists(d.db), name + ": nothing was created")


def shipped_defaults(t):
    """Row 6: the shipped conf.d never serves open on 0.0.0.0."""
    with open(os.path.join(CONFD_DIR, "00-defaults.yaml")) as f:
        shipped = f.read()
    refuses_to_start(t, {"00-defaults.yaml": shipped}, "0.0.0.0:0",
                     "sources.argocd has no auth while listening on 0.0.0.0:0",
                     "row 6: shipped conf.d on 0.0.0.0 refuses to start and names the source")
    auth = ("sources:\n  argocd: { auth: { bearer: a } }\n"
            "  alertmanager: { auth: { bearer: b } }\n"
            "  flux: { auth: { hmac: c } }\n  cloudevents: { auth: { bearer: d } }\n")
    refuses_to_start(t, {"00-defaults.yaml": shipped, "10-auth.yaml": auth}, "0.0.0.0:0",
                     "server.api_auth is not set while listening on 0.0.0.0:0",
                     "row 6: with source auth but no api_auth it still refuses")


def browsers(t):
    """Row 7: a web page cannot drive the daemon on 127.0.0.1."""
    d = Daemon(t, harness.base_confd())
    code, _ = raw(d.port, b"POST /v1/events/argocd HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(DEGRADED), DEGRADED))
    t.eq(code, 415, "row 7: a POST without Content-Type is refused (415)")
    code, _ = raw(d.port, b"POST /-/reload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi")
    t.eq(code, 415, "row 7: reload posted as text/plain is refused (415)")
    for hdrs, what in (({"Origin": "http://evil.example"}, "a foreign Origin"),
                       ({"Origin": "null"}, "Origin: null"),
                       ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site: cross-site"),
                       ({"Host": "evil.example:9740"}, "a DNS name in Host (rebinding)")):
        st, _, body = d.post("/v1/events/argocd", DEGRADED, hdrs)
        t.eq(st, 403, "row 7: POST with %s: 403" % what)
        st, _, body = d.get("/v1/incidents", hdrs)
        t.eq(st, 403, "row 7: GET of the read API with %s: 403" % what)
    st, _, _ = d.post("/-/reload", {}, {"Origin": "http://evil.example"})
    t.eq(st, 403, "row 7: reload with a foreign Origin: 403")
    t.eq(d.get("/v1/incidents", {"Host": "localhost:%d" % d.port})[0], 200,
         "row 7: Host localhost is served")
    t.eq(d.get("/v1/incidents", {"Sec-Fetch-Site": "none"})[0], 200,
         "row 7: a URL typed into a browser (Sec-Fetch-Site: none) is served")
    t.eq(d.scalar("select count(*) from events"), 0, "row 7: nothing was stored")
    d.stop()
    conf = harness.base_confd(extra="server:\n  allowed_origins: [\"https://ops.example\"]\n"
                              "  allowed_hosts: [incidentd.local]\n")
    d = Daemon(t, conf)
    st, _, _ = d.post("/v1/events/argocd", DEGRADED, {"Origin": "https://ops.example",
                                                      "Host": "incidentd.local"})
    t.eq(st, 202, "row 7: a configured Origin and Host are served")
    st, _, _ = d.get("/healthz", {"Host": "127.0.0.1"})
    t.eq(st, 403, "row 7: with allowed_hosts set, other Hosts are refused")
    d.stop()


def credentials_before_bodies(t):
    """Row 8: unauthenticated bodies are never read: 600 connections stay cheap."""
    # AddressSanitizer keeps freed memory in quarantine, which would count as growth here
    env = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1"}
    d = Daemon(t, OPEN_CONF, env=env, start=False)
    d.start(listen="0.0.0.0:0")
    before = rss_kb(d.proc.pid)
    head = (b"POST /v1/events/argocd HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
    chunk = b"[" * 65536
    socks, answered = [], 0
    for i in range(600):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        s.setblocking(False)
        try:
            s.send(head + chunk)
        except OSError:
            pass
        socks.append(s)
    # keep pushing body bytes for a while: a daemon that reads them grows
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        for s in socks:
            try:
                s.send(chunk)
            except OSError:
                pass
        time.sleep(0.05)
    after = rss_kb(d.proc.pid)
    for s in socks:
        s.setblocking(True)
        s.settimeout(2)
        try:
            if s.recv(64).startswith(b"HTTP/1.1 401"):
                answered += 1
        except OSError:
            pass
        s.close()
    t.ok(after - before < 32 * 1024, "row 8: RSS grows by %d KiB (< 32 MiB) for 600 "
         "unauthenticated 1 MB bodies" % (after - before))
    t.ok(answered >= 550, "row 8: %d of 600 were answered 401 before their bodies" % answered)
    t.eq(d.get("/healthz")[0], 200, "row 8: still serving")
    d.stop()


def descriptor_flood(t):
    """Row 9: out of descriptors, the daemon pauses accepting instead of spinning, and
    /healthz keeps answering."""
    d = Daemon(t, harness.base_confd(), nofile=(256, 256))
    t.ok(d.wait_log(r"server\.max_connections 1024 capped to 192: the open-files limit is "
                    r"256", 5), "row 9: max_connections is capped below ulimit -n, logged")
    mark = len(d.lines())
    cpu0 = cpu_seconds(d.proc.pid)
    flood = []
    for i in range(400):
        try:
            flood.append(socket.create_connection(("127.0.0.1", d.port), timeout=2))
        except OSError:
            break
    ok = 0
    for i in range(10):
        try:
            if d.get("/healthz")[0] == 200:
                ok += 1
        except OSError:
            pass
        time.sleep(0.2)
    cpu = cpu_seconds(d.proc.pid) - cpu0
    logged = len(d.lines()) - mark
    t.ok(ok >= 5, "row 9: /healthz answered %d of 10 times during the flood" % ok)
    t.ok(cpu < 1.5, "row 9: the daemon does not spin (%.2f s CPU in ~2.5 s)" % cpu)
    t.ok(logged < 20, "row 9: %d log lines during the flood" % logged,
         "\n".join(d.lines()[mark:mark + 20]))
    for s in flood:
        s.close()
    t.ok(wait_until(lambda: d.post("/v1/events/argocd", DEGRADED)[0] == 202, 10),
         "row 9: serving again after the flood")
    d.stop()


def publish_and_files(t):
    """Rows 11, 12: the live tail stays local; the ledger and sockets are private."""
    refuses_to_start(t, harness.base_confd(extra="server: { publish: \"tcp://0.0.0.0:0\" }\n"),
                     "127.0.0.1:0", "server.publish: tcp://0.0.0.0:0 is not a local address",
                     "row 11: server.publish on 0.0.0.0 needs publish_allow_remote")
    old = os.umask(0o022)
    try:
        d = Daemon(t, {"10-test.yaml": (
            "server: { publish: \"ipc://@DIR@/run/tail.ipc\" }\n"
            "sources:\n  argocd: { auth: none }\n"
            "  nanomsg: { pull: \"ipc://@DIR@/run/events.ipc\", format: argocd }\n"
            "sinks:\n  log: { plugin: log }\n"
            "routes:\n  - name: default\n    sinks: [log]\n")}, start=False)
        for name in os.listdir(d.confd):
            p = os.path.join(d.confd, name)
            with open(p) as f:
                text = f.read().replace("@DIR@", d.dir)
            with open(p, "w") as f:
                f.write(text)
        d.start()
        t.eq(d.post("/v1/events/argocd", DEGRADED)[0], 202, "row 12: an event is stored")
        var = os.path.dirname(d.db)
        for name in (("incidentd.db", "incidentd.db-wal", "incidentd.db-shm")
                     if not d.pg else ()):      # PostgreSQL: no ledger file
            p = os.path.join(var, name)
            mode = stat.S_IMODE(os.stat(p).st_mode) if os.path.exists(p) else None
            t.eq(mode, 0o600, "row 12: %s is 0600 under umask 022" % name)
        if not d.pg:
            t.eq(stat.S_IMODE(os.stat(var).st_mode), 0o750,
                 "row 12: the ledger directory is 0750")
        run = os.path.join(d.dir, "run")
        t.eq(stat.S_IMODE(os.stat(run).st_mode), 0o750, "row 12: the socket directory is 0750")
        for name in ("tail.ipc", "events.ipc"):
            p = os.path.join(run, name)
            mode = stat.S_IMODE(os.stat(p).st_mode) if os.path.exists(p) else None
            t.eq(mode, 0o660, "row 12: socket %s is 0660" % name)
        d.stop()
    finally:
        os.umask(old)


def inert_text(t):
    """Text senders write cannot forge log lines or drive a terminal."""
    d = Daemon(t, harness.base_confd())
    evil = DEGRADED.replace(b'"app_name": "aks-store"',
                            b'"app_name": "aks\\u001b[2J\\nFAKE info  main: pwned\\u009b31m'
                            b'\\u202e"')
    t.ok(evil != DEGRADED, "the hostile sample differs")
    st, _, body = d.post("/v1/events/argocd", evil)
    t.eq(st, 202, "hostile text is accepted as data")
    t.ok(wait_until(lambda: d.count_log(r"sink/log: delivery") >= 1, 5), "it is delivered")
    bad = [l for l in d.lines() if "\x1b" in l or "\u009b" in l or "\u202e" in l or
           l.startswith("FAKE")]
    t.eq(bad, [], "no raw control character or forged line reaches the log")
    t.ok(any("\\x1b[2J\\nFAKE" in l for l in d.lines()), "the log shows them escaped")
    for args in (["events"], ["incidents"], ["--json", "events"]):
        rc, out, err = d.ctl(*args)
        t.ok(rc == 0 and "\x1b" not in out and "\u009b" not in out and "\u202e" not in out,
             "incidentctl %s prints no terminal control" % " ".join(args), out[-500:])
    rc, out, _ = d.ctl("--json", "event", body["events"][0])
    import json
    try:
        t.ok("\u202e" in json.loads(out)["app"], "--json output stays valid JSON with the "
             "same value")
    except (ValueError, KeyError) as e:
        t.ok(False, "--json output stays valid JSON with the same value", repr(e))
    d.stop()


def main(t):
    # each block stands alone: one that breaks does not hide the others
    for block in (endpoint_owners, shipped_defaults, browsers, credentials_before_bodies,
                  descriptor_flood, publish_and_files, inert_text):
        try:
            block(t)
        except Exception:
            import traceback
            t.ok(False, "%s: uncaught exception" % block.__name__, traceback.format_exc())


harness.run(main)
