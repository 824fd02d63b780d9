#!/usr/bin/env python3
"""A fake Slack for the integration tests, on 127.0.0.1 (port chosen by the OS).

The endpoints incidentd uses, answering like Slack does:

- incoming webhooks, POST /services/T.../B.../<secret> (register with webhook()): 200 "ok";
  400 "invalid_payload" (not JSON, wrong Content-Type) or "invalid_blocks"; 404 "no_service"
  for an unknown URL, "channel_not_found" when its channel is gone; 410
  "channel_is_archived"; 403 "action_prohibited". A webhook payload may not carry channel,
  thread_ts or reply_broadcast (webhooks cannot thread).
- the Web API, POST /api/chat.postMessage: HTTP 200 and {"ok": true, "channel", "ts",
  "message"} or {"ok": false, "error": ...}: not_authed / invalid_auth (Authorization:
  Bearer xoxb-...), invalid_form_data (Content-Type not application/json), invalid_json,
  channel_not_found, is_archived, thread_not_found (thread_ts not a message of that
  channel), invalid_blocks with response_metadata.messages naming the JSON pointer (as
  Slack does), msg_too_long, no_text, invalid_metadata_format / invalid_metadata_schema
  (message metadata: an event_type of [A-Za-z0-9_] and an event_payload object).
- chat.update (JSON): {"ok": true, "channel", "ts", "text", "message"}, or message_not_found,
  cant_update_message (another bot's message), channel_not_found, invalid_blocks ...;
  chat.postEphemeral (JSON): {"ok": true, "message_ts"}, kept in ephemerals (only the user
  sees it: it is not a message of the channel), user_not_found for a malformed user ID.
- Web API reads, GET /api/<method>?<args> (or a form POST): auth.test (who the token is:
  user_id, bot_id), conversations.history (newest first, top-level messages and thread
  broadcasts; oldest / latest / inclusive, limit <= 999, cursor pagination with has_more
  and response_metadata.next_cursor; a message's metadata only with
  include_all_metadata=true), conversations.replies (the parent, then the replies oldest
  first; thread_not_found), conversations.list (types, exclude_archived, limit <= 1000,
  cursor), usergroups.users.list (usergroup; no_such_subteam; members set with usergroup()).
  Unknown methods answer unknown_method.

Tokens are bots: each has a user ID, a bot ID, an app ID and scopes (FakeSlack(tokens=
{token: {"user": "U…", "bot_id": "B…", "app_id": "A…", "scopes": [...]}}), or a list of
tokens, each its own bot with every scope). A method the token lacks the scope for answers
{"ok": false, "error": "missing_scope", "needed": …, "provided": …}: chat:write to post,
channels:history / groups:history to read a public / private channel, channels:read /
groups:read to list them, usergroups:read to read a user group. Every Web API answer
carries x-oauth-scopes. Messages keep who posted them (user, bot_id, app_id) and their
metadata.

Blocks are checked against Block Kit's schema and limits: <= 50 blocks; header plain_text
<= 150; section text <= 3,000 or 1..10 fields <= 2,000 each; actions with buttons (text <=
75, url <= 3,000, action_id <= 255 and unique in the message, value <= 2,000, style primary
or danger, a confirm dialog: title <= 100, text <= 300, confirm / deny <= 30); block_id <=
255 and unique; context with <= 10 text elements; no unknown keys.

Faults are queued with fail(): the next matching request (by path, without the query) gets
the given status, headers and body (a dict is sent as JSON, a str as text), a delay, or a
connection reset, optionally after the request took effect (after_effect: "Slack posted the
message, then the answer was lost").

Every request is recorded (method, path, headers, raw body, JSON, time, answer) and every
posted message kept per channel ({"ts", "via": "webhook" | "api", "text", "blocks",
"thread_ts", "reply_broadcast"}), for assertions.
"""

import base64
import http.client
import json
import re
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOP_KEYS = {"channel", "text", "blocks", "thread_ts", "reply_broadcast", "unfurl_links",
            "unfurl_media", "mrkdwn", "username", "icon_emoji", "icon_url", "link_names",
            "parse", "attachments", "metadata"}
WEBHOOK_FORBIDDEN = {"channel", "thread_ts", "reply_broadcast"}
ALL_SCOPES = ("chat:write", "channels:history", "groups:history", "channels:read",
              "groups:read", "usergroups:read")
UPDATE_KEYS = {"channel", "ts", "text", "blocks", "attachments", "as_user", "link_names",
               "parse", "file_ids", "reply_broadcast", "metadata"}
EPHEMERAL_KEYS = {"channel", "user", "text", "blocks", "attachments", "as_user", "icon_emoji",
                  "icon_url", "link_names", "parse", "thread_ts", "username"}
TEAM = "T0FAKE000"
HOOK_BOT = "B0HOOK0001"


class Fault:
    def __init__(self, path_re, status=None, headers=None, body=None, delay=0.0, reset=False,
                 times=1, after_effect=False):
        self.path_re = re.compile(path_re)
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.delay = delay
        self.reset = reset
        self.times = times
        self.after_effect = after_effect   # apply the request, then delay / reset


class Request:
    def __init__(self, method, path, headers, raw, at, query=None):
        self.method = method
        self.path = path
        self.query = query or {}
        self.headers = headers
        self.raw = raw
        self.at = at
        self.json = None
        self.status = None
        self.answer = None

    def __repr__(self):
        return "%s %s -> %s %r" % (self.method, self.path, self.status, self.answer)


class SchemaError(Exception):
    def __init__(self, pointer, message):
        Exception.__init__(self, message)
        self.pointer = pointer
        self.message = message


def _text_obj(obj, ptr, kinds, limit):
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        raise SchemaError(ptr, "must be a text object of type %s" % "/".join(kinds))
    unknown = set(obj) - {"type", "text", "emoji", "verbatim"}
    if unknown:
        raise SchemaError(ptr, "unknown field(s) %s" % sorted(unknown))
    t = obj.get("text")
    if not isinstance(t, str) or not t:
        raise SchemaError(ptr + "/text", "must be a non-empty string")
    # Slack counts characters; count UTF-16 units like the strictest client
    n = len(t.encode("utf-16-le")) // 2
    if n > limit:
        raise SchemaError(ptr + "/text", "must be less than %d characters" % (limit + 1))
    if obj["type"] == "plain_text" and "verbatim" in obj:
        raise SchemaError(ptr, "plain_text has no verbatim")


def _confirm(c, ptr):
    """A confirmation dialog object (title, text, confirm, deny, style)."""
    if not isinstance(c, dict) or set(c) - {"title", "text", "confirm", "deny", "style"}:
        raise SchemaError(ptr, "must be a confirm object without unknown fields")
    for k, kinds, limit in (("title", ("plain_text",), 100),
                            ("text", ("plain_text", "mrkdwn"), 300),
                            ("confirm", ("plain_text",), 30), ("deny", ("plain_text",), 30)):
        _text_obj(c.get(k), "%s/%s" % (ptr, k), kinds, limit)
    if "style" in c and c["style"] not in ("primary", "danger"):
        raise SchemaError(ptr + "/style", "must be primary or danger")


def check_blocks(blocks):
    """Raise SchemaError for what Slack would refuse as invalid_blocks."""
    action_ids, block_ids = set(), set()
    if not isinstance(blocks, list):
        raise SchemaError("/blocks", "must be an array")
    if len(blocks) > 50:
        raise SchemaError("/blocks", "must have no more than 50 items")
    for i, b in enumerate(blocks):
        p = "/blocks/%d" % i
        if not isinstance(b, dict):
            raise SchemaError(p, "must be an object")
        t = b.get("type")
        bid = b.get("block_id")
        if bid is not None:
            if not isinstance(bid, str) or not 1 <= len(bid) <= 255 or bid in block_ids:
                raise SchemaError(p + "/block_id", "must be a unique string of <= 255 "
                                  "characters")
            block_ids.add(bid)
        if t == "header":
            if set(b) - {"type", "text", "block_id"}:
                raise SchemaError(p, "unknown field(s)")
            _text_obj(b.get("text"), p + "/text", ("plain_text",), 150)
        elif t == "section":
            if set(b) - {"type", "text", "fields", "accessory", "block_id"}:
                raise SchemaError(p, "unknown field(s)")
            if "text" not in b and "fields" not in b:
                raise SchemaError(p, "must have text or fields")
            if "text" in b:
                _text_obj(b["text"], p + "/text", ("plain_text", "mrkdwn"), 3000)
            if "fields" in b:
                f = b["fields"]
                if not isinstance(f, list) or not 1 <= len(f) <= 10:
                    raise SchemaError(p + "/fields", "must have 1 to 10 items")
                for k, x in enumerate(f):
                    _text_obj(x, "%s/fields/%d" % (p, k), ("plain_text", "mrkdwn"), 2000)
        elif t == "actions":
            el = b.get("elements")
            if set(b) - {"type", "elements", "block_id"}:
                raise SchemaError(p, "unknown field(s)")
            if not isinstance(el, list) or not 1 <= len(el) <= 25:
                raise SchemaError(p + "/elements", "must have 1 to 25 items")
            for k, e in enumerate(el):
                q = "%s/elements/%d" % (p, k)
                if not isinstance(e, dict) or e.get("type") != "button":
                    raise SchemaError(q, "only buttons are expected here")
                if set(e) - {"type", "text", "url", "action_id", "value", "style",
                             "confirm"}:
                    raise SchemaError(q, "unknown field(s)")
                _text_obj(e.get("text"), q + "/text", ("plain_text",), 75)
                if "style" in e and e["style"] not in ("primary", "danger"):
                    raise SchemaError(q + "/style", "must be primary or danger")
                if "value" in e and (not isinstance(e["value"], str) or
                                     len(e["value"]) > 2000):
                    raise SchemaError(q + "/value", "must be a string of <= 2000 characters")
                if "confirm" in e:
                    _confirm(e["confirm"], q + "/confirm")
                aid = e.get("action_id")
                if aid is not None and aid in action_ids:
                    raise SchemaError(q + "/action_id", "must be unique in the message")
                action_ids.add(aid)
                url = e.get("url")
                if url is not None and (not isinstance(url, str) or len(url) > 3000 or
                                        not re.match(r"^https?://", url)):
                    raise SchemaError(q + "/url", "must be an http(s) URL of <= 3000 "
                                      "characters")
                if len(e.get("action_id", "")) > 255:
                    raise SchemaError(q + "/action_id", "must be <= 255 characters")
        elif t == "context":
            el = b.get("elements")
            if set(b) - {"type", "elements", "block_id"}:
                raise SchemaError(p, "unknown field(s)")
            if not isinstance(el, list) or not 1 <= len(el) <= 10:
                raise SchemaError(p + "/elements", "must have 1 to 10 items")
            for k, e in enumerate(el):
                _text_obj(e, "%s/elements/%d" % (p, k), ("plain_text", "mrkdwn"), 3000)
        elif t == "divider":
            pass
        else:
            raise SchemaError(p + "/type", "unsupported block type %r" % t)


class FakeSlack:
    def __init__(self, tokens=("xoxb-fake",)):
        # {token: {"user", "bot_id", "app_id", "scopes"}}; a list: one bot per token
        if isinstance(tokens, dict):
            self.bots = {t: dict(v) for t, v in tokens.items()}
        else:
            self.bots = {t: {"user": "U0BOT%04d" % i, "bot_id": "B0BOT%04d" % i,
                             "app_id": "A0APP%04d" % i} for i, t in enumerate(tokens)}
        for i, b in enumerate(self.bots.values()):
            b.setdefault("user", "U0BOT%04d" % i)
            b.setdefault("bot_id", "B0BOT%04d" % i)
            b.setdefault("app_id", "A0APP%04d" % i)
            b["scopes"] = list(b.get("scopes", ALL_SCOPES))
        self.tokens = set(self.bots)
        self.channels = {}          # id -> {"name", "archived", "private", "messages": []}
        self.hooks = {}             # path -> {"channel": id, "gone": False}
        self.usergroups = {}        # id -> [user IDs]
        self.ephemerals = []        # {"channel", "user", "text", "blocks", "bot_id"}
        self.faults = []
        self.requests = []
        self.lock = threading.Lock()
        self._ts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def _serve(self):
                try:
                    outer._handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_POST = do_GET = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.api_url = self.url + "/api"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- test helpers ------------------------------------------------------------------

    def channel(self, name, cid, archived=False, private=False):
        with self.lock:
            self.channels[cid] = {"name": name, "archived": archived, "private": private,
                                  "messages": []}
        return cid

    def webhook(self, cid, secret):
        """Register an incoming webhook posting to channel cid; returns its URL."""
        path = "/services/T0FAKE000/B0FAKE000/%s" % secret
        with self.lock:
            self.hooks[path] = {"channel": cid}
        return self.url + path

    def usergroup(self, gid, users):
        """Define (or redefine) user group gid with these members."""
        with self.lock:
            self.usergroups[gid] = list(users)

    def ephemeral_notes(self):
        with self.lock:
            return [dict(e) for e in self.ephemerals]

    def archive(self, cid, archived=True):
        with self.lock:
            self.channels[cid]["archived"] = archived

    def fail(self, path_re, **kw):
        """Queue a fault for the next request whose path matches path_re."""
        with self.lock:
            self.faults.append(Fault(path_re, **kw))

    def messages(self, cid):
        with self.lock:
            return [dict(m) for m in self.channels[cid]["messages"]]

    def reqs(self, path_re=None):
        with self.lock:
            out = list(self.requests)
        if path_re is not None:
            rx = re.compile(path_re)
            out = [r for r in out if rx.search(r.path)]
        return out

    def api(self, token, method, args):
        """A real Web API call to this fake as `token` (e.g. another app's): chat.postMessage
        as JSON, anything else as GET with a query. Returns the answer's JSON."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        hdrs = {"Authorization": "Bearer " + token}
        try:
            if method == "chat.postMessage":
                hdrs["Content-Type"] = "application/json"
                conn.request("POST", "/api/" + method, body=json.dumps(args).encode(),
                             headers=hdrs)
            else:
                conn.request("GET", "/api/%s?%s" % (method, urllib.parse.urlencode(args)),
                             headers=hdrs)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    # --- HTTP --------------------------------------------------------------------------

    def _send(self, h, status, body, headers=None):
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            ctype = "application/json; charset=utf-8"
        else:
            data = (body or "").encode()
            ctype = "text/html"
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _reset(self, h):
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    b"\x01\x00\x00\x00\x00\x00\x00\x00")
            h.connection.close()
        except OSError:
            pass
        h.close_connection = True

    def _take_fault(self, path):
        with self.lock:
            for f in self.faults:
                if f.path_re.search(path):
                    f.times -= 1
                    if f.times <= 0:
                        self.faults.remove(f)
                    return f
        return None

    def _handle(self, h):
        url = urllib.parse.urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        req = Request(h.command, url.path, {k.lower(): v for k, v in h.headers.items()}, raw,
                      time.time(), dict(urllib.parse.parse_qsl(url.query,
                                                               keep_blank_values=True)))
        try:
            req.json = json.loads(raw)
        except ValueError:
            pass
        with self.lock:
            self.requests.append(req)
        fault = self._take_fault(url.path)
        if fault is not None and not fault.after_effect:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.reset:
                req.status = "reset"
                self._reset(h)
                return
            if fault.status is not None:
                req.status, req.answer = fault.status, fault.body
                self._send(h, fault.status, fault.body, fault.headers)
                return
        headers = None
        if url.path.startswith("/api/"):
            status, body = 200, self._web_api(req, url.path[len("/api/"):])
            bot = self._bot(req)
            if bot is not None:
                headers = {"X-OAuth-Scopes": ",".join(bot["scopes"])}
        elif url.path in self.hooks and h.command == "POST":
            status, body = self._webhook(req)
        else:
            status, body = 404, "no_service"
        req.status, req.answer = status, body
        if fault is not None and fault.after_effect:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.reset:
                req.status = "reset after effect"
                self._reset(h)
                return
        self._send(h, status, body, headers)

    def _next_ts(self):
        self._ts += 1
        return "%d.%06d" % (int(time.time()), self._ts)

    def _store(self, cid, payload, via, bot=None):
        m = {"ts": self._next_ts(), "via": via, "text": payload.get("text"),
             "blocks": payload.get("blocks"), "thread_ts": payload.get("thread_ts"),
             "reply_broadcast": payload.get("reply_broadcast", False),
             "metadata": payload.get("metadata"),
             "user": bot["user"] if bot else None,
             "bot_id": bot["bot_id"] if bot else HOOK_BOT,
             "app_id": bot["app_id"] if bot else None}
        self.channels[cid]["messages"].append(m)
        return m

    def _check_payload(self, payload):
        """None, or (error, messages) as chat.postMessage would answer."""
        if not isinstance(payload, dict):
            return "invalid_json", []
        unknown = set(payload) - TOP_KEYS
        if unknown:
            return "invalid_arguments", ["[ERROR] unknown argument(s) %s" % sorted(unknown)]
        text, blocks = payload.get("text"), payload.get("blocks")
        if not text and not blocks:
            return "no_text", []
        if text is not None and (not isinstance(text, str) or len(text) > 40000):
            return "msg_too_long", []
        if blocks is not None:
            try:
                check_blocks(blocks)
            except SchemaError as e:
                return "invalid_blocks", ["[ERROR] %s [json-pointer:%s]" % (e.message,
                                                                           e.pointer)]
        if "metadata" in payload:
            md = payload["metadata"]
            if not isinstance(md, dict) or set(md) - {"event_type", "event_payload"}:
                return "invalid_metadata_format", []
            if not isinstance(md.get("event_type"), str) or \
                    not re.match(r"^[A-Za-z0-9_]{1,255}$", md["event_type"]) or \
                    not isinstance(md.get("event_payload"), dict):
                return "invalid_metadata_schema", []
        return None

    # --- the Web API -------------------------------------------------------------------

    def _bot(self, req):
        """The bot of the request's token, or None."""
        m = re.match(r"^Bearer (xox[a-z]-\S+)$", req.headers.get("authorization") or "")
        return self.bots.get(m.group(1)) if m else None

    @staticmethod
    def _missing(bot, scope):
        return {"ok": False, "error": "missing_scope", "needed": scope,
                "provided": ",".join(bot["scopes"])}

    def _web_api(self, req, method):
        auth = req.headers.get("authorization")
        if auth is None:
            return {"ok": False, "error": "not_authed"}
        bot = self._bot(req)
        if bot is None:
            return {"ok": False, "error": "invalid_auth"}
        if method == "chat.postMessage":
            return self._post_message(req, bot)
        if method in ("chat.update", "chat.postEphemeral"):
            return self._json_write(req, bot, method)
        args = dict(req.query)
        if req.method == "POST":
            if not req.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                return {"ok": False, "error": "invalid_form_data"}
            args.update(urllib.parse.parse_qsl(req.raw.decode("utf-8", "replace")))
        reads = {"auth.test": self._auth_test, "conversations.history": self._history,
                 "conversations.replies": self._replies, "conversations.list": self._list,
                 "usergroups.users.list": self._usergroup_users}
        if method not in reads:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        with self.lock:
            return reads[method](bot, args)

    def _auth_test(self, bot, args):
        return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake Workspace",
                "user": "incidentd", "team_id": TEAM, "user_id": bot["user"],
                "bot_id": bot["bot_id"], "is_enterprise_install": False}

    def _readable(self, bot, args):
        """(channel id, None) or (None, error answer) for a history read."""
        cid = args.get("channel")
        if not cid or cid not in self.channels:
            return None, {"ok": False, "error": "channel_not_found"}
        scope = "groups:history" if self.channels[cid]["private"] else "channels:history"
        if scope not in bot["scopes"]:
            return None, self._missing(bot, scope)
        return cid, None

    @staticmethod
    def _window(args):
        """(oldest, latest, inclusive, limit, offset) or an error answer."""
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args["latest"]) if args.get("latest") else None
            limit = int(args.get("limit") or 100)
            cursor = args.get("cursor")
            offset = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
        except (ValueError, IndexError, UnicodeDecodeError):
            return {"ok": False, "error": "invalid_arguments"}
        inclusive = args.get("inclusive") in ("true", "1")
        return oldest, latest, inclusive, max(1, min(limit, 999)), offset

    @staticmethod
    def _in_window(ts, oldest, latest, inclusive):
        t = float(ts)
        lo = t >= oldest if inclusive else t > oldest
        hi = latest is None or (t <= latest if inclusive else t < latest)
        return lo and hi

    def _shape(self, cid, m, with_metadata):
        """A stored message as conversations.history / replies show it."""
        o = {"type": "message", "text": m["text"] or "", "ts": m["ts"], "team": TEAM}
        if m["via"] == "webhook":
            o["subtype"] = "bot_message"
            o["bot_id"] = m["bot_id"]
        else:
            o.update(user=m["user"], bot_id=m["bot_id"], app_id=m["app_id"])
        if m["blocks"]:
            o["blocks"] = m["blocks"]
        if m["thread_ts"]:
            o["thread_ts"] = m["thread_ts"]
            if m["reply_broadcast"]:
                o["subtype"] = "thread_broadcast"
        else:
            replies = [x for x in self.channels[cid]["messages"] if x["thread_ts"] == m["ts"]]
            if replies:
                o.update(thread_ts=m["ts"], reply_count=len(replies),
                         latest_reply=replies[-1]["ts"])
        if with_metadata and m["metadata"]:
            o["metadata"] = dict(m["metadata"])
        return o

    @staticmethod
    def _paged(items, limit, offset, key):
        chunk = items[offset:offset + limit]
        more = offset + limit < len(items)
        ans = {"ok": True, key: chunk, "has_more": more}
        if more:
            ans["response_metadata"] = {"next_cursor": base64.b64encode(
                ("next:%d" % (offset + limit)).encode()).decode()}
        return ans

    def _history(self, bot, args):
        cid, bad = self._readable(bot, args)
        if bad:
            return bad
        w = self._window(args)
        if isinstance(w, dict):
            return w
        oldest, latest, inclusive, limit, offset = w
        meta = args.get("include_all_metadata") in ("true", "1")
        items = [self._shape(cid, m, meta) for m in reversed(self.channels[cid]["messages"])
                 if (not m["thread_ts"] or m["reply_broadcast"]) and
                 self._in_window(m["ts"], oldest, latest, inclusive)]
        ans = self._paged(items, limit, offset, "messages")
        ans["pin_count"] = 0
        return ans

    def _replies(self, bot, args):
        cid, bad = self._readable(bot, args)
        if bad:
            return bad
        ts = args.get("ts")
        if not ts:
            return {"ok": False, "error": "invalid_arguments"}
        msgs = self.channels[cid]["messages"]
        parent = next((m for m in msgs if m["ts"] == ts and not m["thread_ts"]), None)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        w = self._window(args)
        if isinstance(w, dict):
            return w
        oldest, latest, inclusive, limit, offset = w
        meta = args.get("include_all_metadata") in ("true", "1")
        items = [self._shape(cid, parent, meta)] + [
            self._shape(cid, m, meta) for m in msgs
            if m["thread_ts"] == ts and self._in_window(m["ts"], oldest, latest, inclusive)]
        return self._paged(items, limit, offset, "messages")

    def _list(self, bot, args):
        types = (args.get("types") or "public_channel").split(",")
        for t in types:
            scope = {"public_channel": "channels:read", "private_channel": "groups:read"}.get(t)
            if scope is None:
                return {"ok": False, "error": "invalid_types"}
            if scope not in bot["scopes"]:
                return self._missing(bot, scope)
        w = self._window(args)
        if isinstance(w, dict):
            return w
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        offset = w[4]
        skip_archived = args.get("exclude_archived") in ("true", "1")
        items = [{"id": cid, "name": c["name"], "is_channel": not c["private"],
                  "is_group": False, "is_private": c["private"], "is_archived": c["archived"],
                  "is_member": True, "created": 1700000000}
                 for cid, c in sorted(self.channels.items())
                 if ("private_channel" if c["private"] else "public_channel") in types and
                 not (skip_archived and c["archived"])]
        ans = self._paged(items, limit, offset, "channels")
        ans.setdefault("response_metadata", {"next_cursor": ""})
        del ans["has_more"]
        return ans

    def _usergroup_users(self, bot, args):
        if "usergroups:read" not in bot["scopes"]:
            return self._missing(bot, "usergroups:read")
        gid = args.get("usergroup")
        if not gid:
            return {"ok": False, "error": "invalid_arguments"}
        if gid not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[gid])}

    def _json_write(self, req, bot, method):
        """chat.update and chat.postEphemeral, posted as JSON like chat.postMessage."""
        if "chat:write" not in bot["scopes"]:
            return self._missing(bot, "chat:write")
        if not req.headers.get("content-type", "").startswith("application/json"):
            return {"ok": False, "error": "invalid_form_data"}
        try:
            payload = json.loads(req.raw)
        except ValueError:
            return {"ok": False, "error": "invalid_json"}
        req.json = payload
        if not isinstance(payload, dict):
            return {"ok": False, "error": "invalid_json"}
        keys = UPDATE_KEYS if method == "chat.update" else EPHEMERAL_KEYS
        unknown = set(payload) - keys
        if unknown:
            return {"ok": False, "error": "invalid_arguments",
                    "response_metadata": {"messages": ["[ERROR] unknown argument(s) %s"
                                                       % sorted(unknown)]}}
        body = {k: v for k, v in payload.items() if k in ("text", "blocks")}
        bad = self._check_payload(body)
        if bad is not None:
            ans = {"ok": False, "error": bad[0]}
            if bad[1]:
                ans["response_metadata"] = {"messages": bad[1]}
            return ans
        with self.lock:
            cid = payload.get("channel")
            if cid not in self.channels:
                return {"ok": False, "error": "channel_not_found"}
            if self.channels[cid]["archived"]:
                return {"ok": False, "error": "is_archived"}
            if method == "chat.postEphemeral":
                user = payload.get("user")
                if not isinstance(user, str) or not re.match(r"^[UW][A-Z0-9]+$", user):
                    return {"ok": False, "error": "user_not_found"}
                self.ephemerals.append({"channel": cid, "user": user,
                                        "text": payload.get("text"),
                                        "blocks": payload.get("blocks"),
                                        "bot_id": bot["bot_id"]})
                return {"ok": True, "message_ts": self._next_ts()}
            ts = payload.get("ts")
            msg = next((m for m in self.channels[cid]["messages"] if m["ts"] == ts), None)
            if msg is None:
                return {"ok": False, "error": "message_not_found"}
            if msg["bot_id"] != bot["bot_id"]:
                return {"ok": False, "error": "cant_update_message"}
            msg["text"] = payload.get("text")
            msg["blocks"] = payload.get("blocks")
            msg["edited"] = msg.get("edited", 0) + 1
            shown = self._shape(cid, msg, False)
        return {"ok": True, "channel": cid, "ts": ts, "text": shown["text"],
                "message": shown}

    def _post_message(self, req, bot):
        if "chat:write" not in bot["scopes"]:
            return self._missing(bot, "chat:write")
        if not req.headers.get("content-type", "").startswith("application/json"):
            return {"ok": False, "error": "invalid_form_data"}
        try:
            payload = json.loads(req.raw)
        except ValueError:
            return {"ok": False, "error": "invalid_json"}
        req.json = payload
        bad = self._check_payload(payload)
        if bad is not None:
            ans = {"ok": False, "error": bad[0]}
            if bad[1]:
                ans["response_metadata"] = {"messages": bad[1]}
            return ans
        ch = payload.get("channel")
        with self.lock:
            cid = ch if ch in self.channels else next(
                (c for c, v in self.channels.items() if ch == "#" + v["name"]), None)
            if cid is None:
                return {"ok": False, "error": "channel_not_found"}
            if self.channels[cid]["archived"]:
                return {"ok": False, "error": "is_archived"}
            tts = payload.get("thread_ts")
            if tts is not None and not any(x["ts"] == tts and not x["thread_ts"]
                                           for x in self.channels[cid]["messages"]):
                return {"ok": False, "error": "thread_not_found"}
            msg = self._store(cid, payload, "api", bot)
            shown = self._shape(cid, msg, True)
        return {"ok": True, "channel": cid, "ts": msg["ts"], "message": shown}

    def _webhook(self, req):
        if not req.headers.get("content-type", "").startswith("application/json"):
            return 400, "invalid_payload"
        try:
            payload = json.loads(req.raw)
        except ValueError:
            return 400, "invalid_payload"
        req.json = payload
        if isinstance(payload, dict) and set(payload) & WEBHOOK_FORBIDDEN:
            return 400, "invalid_payload"
        bad = self._check_payload(payload)
        if bad is not None:
            return 400, bad[0] if bad[0] != "invalid_json" else "invalid_payload"
        with self.lock:
            hook = self.hooks[req.path]
            ch = self.channels.get(hook["channel"])
            if ch is None:
                return 404, "channel_not_found"
            if ch["archived"]:
                return 410, "channel_is_archived"
            self._store(hook["channel"], payload, "webhook")
        return 200, "ok"
