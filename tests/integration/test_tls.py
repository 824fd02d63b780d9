"""TLS on the listener (server.tls), through the real daemon, with a throwaway CA made by
the openssl command: HTTPS with --cacert-style verification, plain HTTP refused on the
TLS port, client certificates when client_ca is set, certificates renewed on reload, bad
files refused with a clear message, and refusals on a request's head answered over TLS."""

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile

import harness
from harness import Daemon, sample, wait_until

DEGRADED = sample("argocd", "seed-aks-store-degraded.client_payload.json")


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True,
                   timeout=60)


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=incidentd test CA", cwd=d)
    for name, cn, ext in (("server", "incidentd-1",
                           "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                          ("server2", "incidentd-2",
                           "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                          ("client", "alertmanager", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                "-out", name + ".csr", "-subj", "/CN=" + cn, cwd=d)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext + "\n")
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile",
                name + ".ext", cwd=d)


def context(pki, client=False):
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
    if client:
        ctx.load_cert_chain(os.path.join(pki, "client.pem"), os.path.join(pki, "client.key"))
    return ctx


def https(port, ctx, method, path, body=None, headers=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    hdrs = {"Content-Type": "application/json"} if body is not None else {}
    hdrs.update(headers or {})
    try:
        c.request(method, path, body=body, headers=hdrs)
        r = c.getresponse()
        return r.status, r.read(), c.sock.getpeercert() if c.sock else None
    finally:
        c.close()


def peer_cn(port, pki):
    ctx = context(pki)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            return dict(x[0] for x in t.getpeercert()["subject"]).get("commonName")


def main(t):
    pki = tempfile.mkdtemp(prefix="incidentd-pki-")
    t.cleanups.append(lambda: shutil.rmtree(pki, ignore_errors=True))
    try:
        make_pki(pki)
    except (OSError, subprocess.CalledProcessError) as e:
        t.skip("TLS", "the openssl command is not available (%r)" % e)
        return
    live = os.path.join(pki, "live")
    os.makedirs(live)
    shutil.copy(os.path.join(pki, "server.pem"), os.path.join(live, "cert.pem"))
    shutil.copy(os.path.join(pki, "server.key"), os.path.join(live, "key.pem"))
    tls = "server:\n  tls: { cert: %s/cert.pem, key: %s/key.pem }\n" % (live, live)
    d = Daemon(t, harness.base_confd(extra=tls))
    t.ok(d.wait_log(r"listening on https://127\.0\.0\.1:\d+", 1), "the log says https")
    st, body, cert = https(d.port, context(pki), "POST", "/v1/events/argocd", DEGRADED)
    t.eq(st, 202, "an event over HTTPS, the server verified against the CA: 202")
    st, _, _ = https(d.port, context(pki), "GET", "/healthz")
    t.eq(st, 200, "/healthz over HTTPS")
    try:
        st, _, _ = d.get("/healthz")
        plain = st
    except (OSError, http.client.HTTPException):
        plain = None
    t.ok(plain != 200, "plain HTTP on the TLS port is not served (%r)" % plain)
    t.eq(peer_cn(d.port, pki), "incidentd-1", "the configured certificate is presented")
    if shutil.which("curl"):
        p = subprocess.run(["curl", "-sS", "--cacert", os.path.join(pki, "ca.pem"),
                            "https://127.0.0.1:%d/readyz" % d.port], capture_output=True,
                           text=True, timeout=30)
        t.ok(p.returncode == 0 and '"ready"' in p.stdout, "curl --cacert ca.pem: ready",
             p.stdout + p.stderr)
    else:
        t.skip("curl --cacert", "curl is not installed")

    # refused on its head, answered over TLS before the body
    s = context(pki).wrap_socket(socket.create_connection(("127.0.0.1", d.port), timeout=5),
                                 server_hostname="127.0.0.1")
    s.sendall(b"POST /v1/events/argocd HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 100000\r\n\r\n")
    got = s.recv(4096)
    s.close()
    t.ok(got.startswith(b"HTTP/1.1 415"), "a refusal on the head is answered over TLS",
         got[:200])

    # renewed certificate: SIGHUP reads the files again
    shutil.copy(os.path.join(pki, "server2.pem"), os.path.join(live, "cert.pem"))
    shutil.copy(os.path.join(pki, "server2.key"), os.path.join(live, "key.pem"))
    mark = len(d.lines())
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log(r"configuration reloaded", 10, since=mark), "reloaded")
    t.eq(peer_cn(d.port, pki), "incidentd-2", "after SIGHUP new connections get the "
         "renewed certificate")
    # a broken key: the reload fails and the old certificate stays
    with open(os.path.join(live, "key.pem"), "w") as f:
        f.write("not a key\n")
    mark = len(d.lines())
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log(r"reload failed, keeping the active configuration: server\.tls: cannot "
                    r"load the key", 10, since=mark), "a broken key fails the reload")
    t.eq(peer_cn(d.port, pki), "incidentd-2", "... and the active certificate stays")
    d.stop()

    # client certificates
    mtls = ("server:\n  tls: { cert: %s/server.pem, key: %s/server.key, client_ca: "
            "%s/ca.pem }\n" % (pki, pki, pki))
    d = Daemon(t, harness.base_confd(extra=mtls))
    t.ok(d.wait_log(r"client certificates required", 1), "the log says client certificates "
         "are required")
    try:
        st, _, _ = https(d.port, context(pki), "GET", "/healthz")
    except (OSError, ssl.SSLError, http.client.HTTPException):
        st = None
    t.ok(st is None, "without a client certificate the handshake fails (%r)" % st)
    st, _, _ = https(d.port, context(pki, client=True), "POST", "/v1/events/argocd",
                     DEGRADED)
    t.eq(st, 202, "with a client certificate from client_ca: 202")
    d.stop()

    # files that do not work refuse the start, naming them
    bad = "server:\n  tls: { cert: %s/nope.pem, key: %s/server.key }\n" % (pki, pki)
    d = Daemon(t, harness.base_confd(extra=bad), start=False)
    p = subprocess.run([harness.INCIDENTD, "-c", d.confd, "-d", d.db, "-l", "127.0.0.1:0",
                        "--plugin-dir", harness.PLUGIN_DIR], capture_output=True, text=True,
                       timeout=30)
    t.ok(p.returncode != 0 and "server.tls: cannot load the certificate " in p.stderr and
         "nope.pem" in p.stderr, "a missing certificate refuses the start, naming it",
         p.stderr[-500:])
    p = subprocess.run([harness.INCIDENTD, "-c", d.confd, "--check-config", "--plugin-dir",
                        harness.PLUGIN_DIR], capture_output=True, text=True, timeout=30)
    t.ok(p.returncode == 1 and "nope.pem" in p.stderr, "--check-config says so too")


harness.run(main)
