#!/usr/bin/env python3
"""A fake GitHub REST API for the integration tests, on 127.0.0.1 (port chosen by the OS).

It behaves like api.github.com for the endpoints incidentd uses, and checks what GitHub
checks: the token (401 "Requires authentication" / "Bad credentials"), a User-Agent (403),
who a token is (GET /user answers its login; a token whose login ends in "[bot]" is a
GitHub App installation token, which GET /user refuses with 403 "Resource not accessible
by integration"), issues and comments carrying user.login of the token that wrote them
(api() lets a test write as another token, e.g. an attacker's),
the API version header (400 for an unsupported one), JSON bodies (400 "Problems parsing
JSON"), validation with GitHub's 422 shape (title <= 256, body <= 65,536, label names <= 50,
repository_dispatch event_type <= 100 and client_payload <= 10 top-level keys), issue state
(open/closed with state_reason), issue comments (listed oldest first, `since` comparing
updated_at, paginated), pagination with `link` headers in the /repositories/<id>/... form
GitHub uses, rate-limit headers on every answer, and a search index that lags behind writes
like the real one.

Faults are queued with fail(): the next matching request gets the given status, headers and
body, a delay, or a connection reset (optionally after the request took effect, to model
"GitHub created the issue, then the answer was lost").

Every request is recorded (method, path, query, headers, JSON body, time) for assertions.
Response bodies are modelled on the recorded fixtures in samples/github/.
"""

import hashlib
import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_VERSIONS = ("2022-11-28",)
DOCS = "https://docs.github.com/rest"


def _now_iso(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


def _parse_iso(text):
    return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone


class Fault:
    def __init__(self, method, path_re, status=None, headers=None, body=None, delay=0.0,
                 reset=False, after_effect=False, times=1):
        self.method = method
        self.path_re = re.compile(path_re)
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.delay = delay
        self.reset = reset
        self.after_effect = after_effect   # apply the request, then delay / reset
        self.times = times


class Request:
    def __init__(self, method, path, query, headers, body, at):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.json = body
        self.at = at
        self.status = None
        self.login = None          # whom the token belongs to, once checked

    def __repr__(self):
        return "%s %s -> %s" % (self.method, self.path, self.status)


class FakeGitHub:
    def __init__(self, tokens=("ghp_fake",), repos=("my-org/platform-incidents",),
                 search_lag=0.0):
        # {token: login}; a plain list of tokens all act as "incidentd-bot"
        self.logins = dict(tokens) if isinstance(tokens, dict) else \
            {t: "incidentd-bot" for t in tokens}
        self.tokens = set(self.logins)
        self.repos = {}
        for i, name in enumerate(repos):
            self.repos[name] = {"id": 515435940 + i, "issues": [], "next": 1}
        self.search_lag = search_lag
        # {(repo, login lowercased): "admin" | "maintain" | "write" | "triage" | "read" |
        # "none" | None (no such user: 404)}; anyone else reads (a public repository)
        self.permissions = {}
        self.etag_requests = []       # (issue number, If-None-Match sent or None)
        self.faults = []
        self.requests = []
        self.lock = threading.Lock()
        self.rate = {"limit": 5000, "remaining": 5000, "reset": int(time.time()) + 3600}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _serve(self):
                try:
                    outer._handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True   # the client went away (killed, timed out)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- test helpers ----------------------------------------------------------------

    def fail(self, method, path_re, **kw):
        """Queue a fault for the next request matching method and path regex."""
        with self.lock:
            self.faults.append(Fault(method, path_re, **kw))

    def seed_issue(self, repo, title, body, labels=(), state="open", closed_at=None,
                   pull_request=False, created_at=None, user="incidentd-bot"):
        with self.lock:
            return self._create(repo, title, body, list(labels), state=state,
                                closed_at=closed_at, pull_request=pull_request,
                                created_at=created_at, user=user)

    def seed_comment(self, number, body, user="incidentd-bot", repo="my-org/platform-incidents",
                     at=None):
        """A comment on issue `number` as `user`, written (and last updated) at `at`."""
        with self.lock:
            issue = next(i for i in self.repos[repo]["issues"] if i["number"] == number)
            c = self._add_comment(repo, issue, body, user, at)
        return self._public(c)

    def api(self, method, path, token, body=None):
        """A real request to this fake as `token` (e.g. an attacker's): (status, JSON)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        hdrs = {"Authorization": "Bearer " + token, "User-Agent": "test",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSIONS[0]}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        return resp.status, (json.loads(raw) if raw else None)

    def issues(self, repo="my-org/platform-incidents", with_marker=None, prs=False):
        with self.lock:
            out = [dict(i) for i in self.repos[repo]["issues"]
                   if prs or not i.get("pull_request")]
        if with_marker is not None:
            m = "<!-- incidentd:incident=%s -->" % with_marker
            out = [i for i in out if m in (i["body"] or "")]
        return out

    def delete_issue(self, number, repo="my-org/platform-incidents"):
        """A person deletes the issue (GitHub's UI or GraphQL deleteIssue): from now on it
        answers 410 "This issue was deleted" (as GitHub does) and no listing shows it."""
        with self.lock:
            self.repos[repo]["issues"] = [i for i in self.repos[repo]["issues"]
                                          if i["number"] != number]
            self.repos[repo].setdefault("deleted", set()).add(number)

    def issue(self, number, repo="my-org/platform-incidents"):
        with self.lock:
            for i in self.repos[repo]["issues"]:
                if i["number"] == number:
                    return dict(i)
        return None

    def reqs(self, method=None, path_re=None):
        with self.lock:
            rs = list(self.requests)
        if method:
            rs = [r for r in rs if r.method == method]
        if path_re:
            rx = re.compile(path_re)
            rs = [r for r in rs if rx.search(r.path)]
        return rs

    # --- request handling --------------------------------------------------------------

    def _answer(self, h, status, body=None, headers=None):
        data = b""
        if body is not None:
            data = json.dumps(body, indent=2).encode()
        h.send_response(status)
        h.send_header("Server", "GitHub.com")
        if body is not None:
            h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        h.send_header("X-GitHub-Request-Id", "FAKE:%d" % id(h))
        hdrs = {
            "X-RateLimit-Limit": str(self.rate["limit"]),
            "X-RateLimit-Remaining": str(self.rate["remaining"]),
            "X-RateLimit-Reset": str(self.rate["reset"]),
            "X-RateLimit-Used": str(self.rate["limit"] - self.rate["remaining"]),
            "X-RateLimit-Resource": "core",
        }
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            if v is not None:
                h.send_header(k, v)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    def _error(self, h, status, message, errors=None, headers=None):
        body = {"message": message, "documentation_url": DOCS}
        if errors is not None:
            body["errors"] = errors
        body["status"] = str(status)
        self._answer(h, status, body, headers)

    def _reset(self, h):
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    b"\x01\x00\x00\x00\x00\x00\x00\x00")
            h.connection.close()
        except OSError:
            pass
        h.close_connection = True

    def _take_fault(self, method, path):
        with self.lock:
            for f in self.faults:
                if f.method in (method, "*") and f.path_re.search(path):
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def _handle(self, h):
        url = urllib.parse.urlsplit(h.path)
        path = url.path
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        req = Request(h.command, path, query, {k.lower(): v for k, v in h.headers.items()},
                      None, time.time())
        with self.lock:
            self.requests.append(req)
        fault = self._take_fault(h.command, path)
        if fault is not None and not fault.after_effect:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.reset:
                req.status = "reset"
                self._reset(h)
                return
            if fault.status is not None:
                req.status = fault.status
                if fault.body is not None:
                    self._answer(h, fault.status, fault.body, fault.headers)
                else:
                    self._error(h, fault.status, "injected", headers=fault.headers)
                return

        status, body, headers = self._route(h, req, raw)
        req.status = status
        if fault is not None and fault.after_effect:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.reset:
                req.status = "reset after effect"
                self._reset(h)
                return
        if isinstance(body, tuple):          # (message, errors)
            self._error(h, status, body[0], body[1], headers)
        else:
            self._answer(h, status, body, headers)

    def _check_headers(self, req):
        """What api.github.com refuses before looking at the endpoint."""
        auth = req.headers.get("authorization")
        if not req.headers.get("user-agent"):
            return 403, ("Request forbidden by administrative rules. Please make sure your "
                         "request has a User-Agent header (https://docs.github.com/en/rest/"
                         "overview/resources-in-the-rest-api#user-agent-required).", None)
        ver = req.headers.get("x-github-api-version")
        if ver is not None and ver not in API_VERSIONS:
            return 400, ("API version %s is not supported." % ver, None)
        if auth is None:
            return 401, ("Requires authentication", None)
        m = re.match(r"^(?:Bearer|token) (\S+)$", auth)
        if not m or m.group(1) not in self.tokens:
            return 401, ("Bad credentials", None)
        req.login = self.logins[m.group(1)]
        return None

    def _route(self, h, req, raw):
        with self.lock:
            self.rate["remaining"] = max(0, self.rate["remaining"] - 1)
        bad = self._check_headers(req)
        if bad is not None:
            return bad[0], bad[1], None
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return 400, ("Problems parsing JSON", None), None
        req.json = body
        path = req.path
        if path == "/user" and req.method == "GET":
            return self._user(req.login)
        m = re.match(r"^/repositories/(\d+)(/.*)$", path)
        if m:
            name = next((n for n, r in self.repos.items() if r["id"] == int(m.group(1))), None)
            if name is None:
                return 404, ("Not Found", None), None
            path = "/repos/%s%s" % (name, m.group(2))
        if path == "/search/issues" and req.method == "GET":
            return self._search(req)
        m = re.match(r"^/repos/([^/]+/[^/]+)(/.*)?$", path)
        if not m or m.group(1) not in self.repos:
            return 404, ("Not Found", None), None
        repo, rest = m.group(1), m.group(2) or ""
        with self.lock:
            m = re.match(r"^/collaborators/([^/]+)/permission$", rest)
            if m and req.method == "GET":
                # GET /repos/{owner}/{repo}/collaborators/{username}/permission
                login = m.group(1)
                perm = self.permissions.get((repo, login.lower()), "read")
                if perm is None:
                    return 404, ("Not Found", None), None
                return 200, {"permission": perm, "role_name": perm,
                             "user": self._user_obj(login)}, None
            if rest == "/issues" and req.method == "GET":
                return self._list(repo, req)
            if rest == "/issues" and req.method == "POST":
                return self._create_req(repo, body, req.login)
            if rest == "/dispatches" and req.method == "POST":
                return self._dispatch(body)
            m = re.match(r"^/issues/(\d+)(/comments|/labels)?$", rest)
            if m:
                issue = next((i for i in self.repos[repo]["issues"]
                              if i["number"] == int(m.group(1))), None)
                if issue is None and int(m.group(1)) in self.repos[repo].get("deleted", ()):
                    return 410, ("This issue was deleted", None), None
                if issue is None:
                    return 404, ("Not Found", None), None
                sub = m.group(2)
                if sub is None and req.method == "GET":
                    return self._get_issue(issue, req)
                if sub is None and req.method == "PATCH":
                    return self._patch(issue, body, req.login)
                if sub == "/comments" and req.method == "POST":
                    return self._comment(issue, body, req.login)
                if sub == "/comments" and req.method == "GET":
                    return self._list_comments(repo, issue, req)
                if sub == "/labels" and req.method == "POST":
                    return self._add_labels(issue, body)
        return 404, ("Not Found", None), None

    # --- endpoints (called with the lock held) -----------------------------------------

    @staticmethod
    def _invalid(resource, field, message, code="custom"):
        return 422, ("Validation Failed", [{"resource": resource, "code": code, "field": field,
                                            "message": message}]), None

    def _user(self, login):
        """GET /user: the token's account; an installation token (a bot) is refused."""
        if login.endswith("[bot]"):
            return 403, ("Resource not accessible by integration", None), None
        return 200, {"login": login, "id": 1000 + sum(map(ord, login)),
                     "node_id": "U_fake", "type": "User", "site_admin": False,
                     "html_url": "https://github.com/%s" % login}, None

    @staticmethod
    def _user_obj(login):
        bot = login.endswith("[bot]")
        return {"login": login, "id": 1000 + sum(map(ord, login)),
                "type": "Bot" if bot else "User",
                "html_url": "https://github.com/%s" % (
                    "apps/" + login[:-5] if bot else login)}

    def _create(self, repo, title, body, labels, state="open", closed_at=None,
                pull_request=False, created_at=None, user="incidentd-bot"):
        r = self.repos[repo]
        n = r["next"]
        r["next"] += 1
        now = created_at if created_at is not None else time.time()
        base = "https://github.com/%s" % repo
        issue = {
            "url": "%s/repos/%s/issues/%d" % (self.url, repo, n),
            "repository_url": "%s/repos/%s" % (self.url, repo),
            "labels_url": "%s/repos/%s/issues/%d/labels{/name}" % (self.url, repo, n),
            "comments_url": "%s/repos/%s/issues/%d/comments" % (self.url, repo, n),
            "events_url": "%s/repos/%s/issues/%d/events" % (self.url, repo, n),
            "html_url": "%s/%s/%d" % (base, "pull" if pull_request else "issues", n),
            "id": 1300000000 + n, "node_id": "I_fake%d" % n, "number": n, "title": title,
            "user": self._user_obj(user),
            "labels": [{"id": 4000 + i, "name": l, "color": "ededed", "default": False}
                       for i, l in enumerate(labels)],
            "state": state, "locked": False, "assignee": None, "assignees": [],
            "milestone": None, "comments": 0,
            "created_at": _now_iso(now), "updated_at": _now_iso(now),
            "closed_at": _now_iso(closed_at) if state == "closed" else None,
            "closed_by": None,
            "author_association": "NONE", "active_lock_reason": None, "body": body,
            "state_reason": "completed" if state == "closed" else None,
            "reactions": {"total_count": 0}, "timeline_url": "", "performed_via_github_app": None,
            "_comments": [], "_created": now, "_updated": now,
        }
        if pull_request:
            issue["pull_request"] = {"url": "%s/repos/%s/pulls/%d" % (self.url, repo, n)}
        r["issues"].append(issue)
        return issue

    def _public(self, issue):
        return {k: v for k, v in issue.items() if not k.startswith("_")}

    def _touch(self, issue):
        issue["_updated"] = time.time()
        issue["updated_at"] = _now_iso(issue["_updated"])

    def _validate_labels(self, labels):
        if not isinstance(labels, list) or not all(isinstance(l, (str, dict)) for l in labels):
            return self._invalid("Label", "labels", "labels must be an array of strings",
                                 "invalid")
        for l in labels:
            name = l if isinstance(l, str) else l.get("name", "")
            if len(name) > 50:
                return self._invalid("Label", "name", "name is too long (maximum is 50 "
                                     "characters)")
        return None

    def _create_req(self, repo, body, login):
        if not isinstance(body, dict) or "title" not in body:
            return 422, ("Invalid request.\n\n\"title\" wasn't supplied.", None), None
        title, text = body.get("title"), body.get("body")
        if not isinstance(title, str) or not title.strip():
            return self._invalid("Issue", "title", "title can't be blank", "missing_field")
        if len(title) > 256:
            return self._invalid("Issue", "title", "title is too long (maximum is 256 "
                                 "characters)")
        if text is not None and (not isinstance(text, str) or len(text) > 65536):
            return self._invalid("Issue", "body", "body is too long (maximum is 65536 "
                                 "characters)")
        labels = body.get("labels", [])
        bad = self._validate_labels(labels)
        if bad:
            return bad
        issue = self._create(repo, title, text, [l if isinstance(l, str) else l["name"]
                                                  for l in labels], user=login)
        return 201, self._public(issue), {"Location": issue["url"]}

    def _get_issue(self, issue, req):
        """GET /repos/{o}/{r}/issues/{n}: the issue with closed_by, and a weak ETag; with a
        matching If-None-Match, 304 and no body, which does not count against the rate
        limit (as GitHub documents for conditional requests)."""
        pub = self._public(issue)
        pub["closed_by"] = (self._user_obj(issue["_closed_by"])
                            if issue.get("_closed_by") and issue["state"] == "closed" else None)
        etag = 'W/"%s"' % hashlib.sha256(json.dumps(pub, sort_keys=True).encode()).hexdigest()
        self.etag_requests.append((issue["number"], req.headers.get("if-none-match")))
        if req.headers.get("if-none-match") == etag:
            self.rate["remaining"] += 1
            return 304, None, {"ETag": etag}
        return 200, pub, {"ETag": etag}

    def close_as(self, number, login, repo="my-org/platform-incidents"):
        """A person closes the issue on github.com (no webhook is sent by this fake)."""
        with self.lock:
            for i in self.repos[repo]["issues"]:
                if i["number"] == number:
                    self._patch(i, {"state": "closed"}, login)

    def _patch(self, issue, body, login=None):
        if not isinstance(body, dict):
            return 422, ("Invalid request.", None), None
        if "state" in body:
            st = body["state"]
            if st not in ("open", "closed"):
                return self._invalid("Issue", "state", "state is not included in the list")
            reason = body.get("state_reason")
            if reason not in (None, "completed", "not_planned", "reopened", "duplicate"):
                return self._invalid("Issue", "state_reason", "state_reason is invalid")
            if st == "closed" and issue["state"] != "closed":
                issue["closed_at"] = _now_iso()
                issue["_closed"] = time.time()
                issue["_closed_by"] = login
            if st == "open":
                issue["closed_at"] = None
            issue["state"] = st
            issue["state_reason"] = reason or ("completed" if st == "closed" else None)
        if "title" in body:
            if len(body["title"]) > 256:
                return self._invalid("Issue", "title", "title is too long (maximum is 256 "
                                     "characters)")
            issue["title"] = body["title"]
        if "body" in body:
            if body["body"] is not None and len(body["body"]) > 65536:
                return self._invalid("Issue", "body", "body is too long (maximum is 65536 "
                                     "characters)")
            issue["body"] = body["body"]
        self._touch(issue)
        return 200, self._public(issue), None

    def _comment(self, issue, body, login):
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return 422, ("Invalid request.\n\n\"body\" wasn't supplied.", None), None
        if len(body["body"]) > 65536:
            return self._invalid("IssueComment", "body", "body is too long (maximum is "
                                 "65536 characters)")
        repo = issue["repository_url"].split("/repos/", 1)[1]
        c = self._add_comment(repo, issue, body["body"], login)
        return 201, self._public(c), None

    def _add_comment(self, repo, issue, text, login, at=None):
        cid = 9000000 + sum(len(i["_comments"]) for i in self.repos[repo]["issues"])
        now = at if at is not None else time.time()
        c = {"url": "%s/repos/%s/issues/comments/%d" % (self.url, repo, cid),
             "html_url": issue["html_url"] + "#issuecomment-%d" % cid,
             "issue_url": issue["url"], "id": cid, "node_id": "IC_fake%d" % cid,
             "user": self._user_obj(login), "created_at": _now_iso(now),
             "updated_at": _now_iso(now), "author_association": "NONE",
             "body": text, "reactions": {"total_count": 0},
             "performed_via_github_app": None, "_updated": now}
        issue["_comments"].append(c)
        issue["comments"] = len(issue["_comments"])
        self._touch(issue)
        return c

    def _add_labels(self, issue, body):
        labels = body.get("labels") if isinstance(body, dict) else body
        bad = self._validate_labels(labels)
        if bad:
            return bad
        names = [l["name"] for l in issue["labels"]]
        for l in labels:
            name = l if isinstance(l, str) else l["name"]
            if name not in names:
                issue["labels"].append({"id": 5000 + len(names), "name": name,
                                        "color": "ededed", "default": False})
                names.append(name)
        self._touch(issue)
        return 200, issue["labels"], None

    def _dispatch(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("event_type"), str):
            return 422, ("Invalid request.\n\n\"event_type\" wasn't supplied.", None), None
        if not body["event_type"] or len(body["event_type"]) > 100:
            return self._invalid("Repository", "event_type", "event_type is too long "
                                 "(maximum is 100 characters)")
        cp = body.get("client_payload", {})
        if not isinstance(cp, dict):
            return 422, ("Invalid request.\n\nFor 'properties/client_payload', %s is not an "
                         "object." % json.dumps(cp), None), None
        if len(cp) > 10:
            return 422, ("Invalid request.\n\nNo more than 10 properties are allowed; %d "
                         "were supplied." % len(cp), None), None
        return 204, None, None

    def _page(self, req, items, base_path):
        try:
            per_page = min(100, max(1, int(req.query.get("per_page", "30"))))
            page = max(1, int(req.query.get("page", "1")))
        except ValueError:
            return 422, ("Invalid request.", None), None
        start = (page - 1) * per_page
        chunk = items[start:start + per_page]
        last = max(1, (len(items) + per_page - 1) // per_page)
        links = []

        def link(p, rel):
            q = dict(req.query)
            q["page"] = str(p)
            return '<%s%s?%s>; rel="%s"' % (self.url, base_path, urllib.parse.urlencode(q),
                                            rel)
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        return chunk, (", ".join(links) if links else None)

    def _list(self, repo, req):
        state = req.query.get("state", "open")
        if state not in ("open", "closed", "all"):
            return self._invalid("Issue", "state", "state is not included in the list")
        want = [l for l in req.query.get("labels", "").split(",") if l]
        since = req.query.get("since")
        since_t = _parse_iso(since) if since else None
        items = []
        for i in self.repos[repo]["issues"]:
            if state != "all" and i["state"] != state:
                continue
            names = [l["name"] for l in i["labels"]]
            if any(l not in names for l in want):
                continue
            if since_t is not None and i["_updated"] < since_t - 1:
                continue
            items.append(i)
        items.sort(key=lambda i: -i["number"])          # sort=created, direction=desc
        res = self._page(req, items, "/repositories/%d/issues" % self.repos[repo]["id"])
        if isinstance(res[0], int):
            return res
        chunk, link = res
        return 200, [self._public(i) for i in chunk], {"Link": link}

    def _list_comments(self, repo, issue, req):
        """GET /repos/{o}/{r}/issues/{n}/comments: oldest first; `since` keeps those
        updated at or after it (ISO 8601, 422 otherwise)."""
        since = req.query.get("since")
        since_t = None
        if since:
            try:
                since_t = _parse_iso(since)
            except ValueError:
                return self._invalid("IssueComment", "since", "since is not a timestamp",
                                     "invalid")
        items = [c for c in issue["_comments"]
                 if since_t is None or c["_updated"] >= since_t]
        res = self._page(req, items, "/repositories/%d/issues/%d/comments" % (
            self.repos[repo]["id"], issue["number"]))
        if isinstance(res[0], int):
            return res
        chunk, link = res
        return 200, [self._public(c) for c in chunk], {"Link": link}

    def _search(self, req):
        q = req.query.get("q", "")
        repo_m = re.search(r"repo:(\S+)", q)
        phrases = re.findall(r'"([^"]*)"', q)
        if not repo_m or repo_m.group(1) not in self.repos:
            return 422, ("Validation Failed", [{"message": "The listed users and repositories "
                         "cannot be searched either because the resources do not exist or you "
                         "do not have permission to view them.", "resource": "Search",
                         "field": "q", "code": "invalid"}]), None
        now = time.time()
        items = []
        with self.lock:
            for i in self.repos[repo_m.group(1)]["issues"]:
                if "is:issue" in q and i.get("pull_request"):
                    continue
                if now - i["_updated"] < self.search_lag:
                    continue                         # not indexed yet
                # GitHub's search tokenizes; a phrase match is close enough for the marker
                if all(p in (i["body"] or "") for p in phrases):
                    items.append(i)
        res = self._page(req, items, "/search/issues")
        if isinstance(res[0], int):
            return res
        chunk, link = res
        return 200, {"total_count": len(items), "incomplete_results": False,
                     "items": [self._public(i) for i in chunk]}, {"Link": link}
