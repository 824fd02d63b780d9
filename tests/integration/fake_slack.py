#!/usr/bin/env python3
"""A fake Slack for the integration tests, on 127.0.0.1 (port chosen by the OS).

Two endpoints, answering like Slack does:

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
  Slack does), msg_too_long, no_text.

Blocks are checked against Block Kit's schema and limits: <= 50 blocks; header plain_text
<= 150; section text <= 3,000 or 1..10 fields <= 2,000 each; actions with buttons (text <=
75, url <= 3,000, action_id <= 255); context with <= 10 text elements; no unknown keys.

Faults are queued with fail(): the next matching request gets the given status, headers and
body (a dict is sent as JSON, a str as text), a delay, or a connection reset.

Every request is recorded (method, path, headers, raw body, JSON, time, answer) and every
posted message kept per channel ({"ts", "via": "webhook" | "api", "text", "blocks",
"thread_ts", "reply_broadcast"}), for assertions.
"""

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOP_KEYS = {"channel", "text", "blocks", "thread_ts", "reply_broadcast", "unfurl_links",
            "unfurl_media", "mrkdwn", "username", "icon_emoji", "icon_url", "link_names",
            "parse", "attachments", "metadata"}
WEBHOOK_FORBIDDEN = {"channel", "thread_ts", "reply_broadcast"}


class Fault:
    def __init__(self, path_re, status=None, headers=None, body=None, delay=0.0, reset=False,
                 times=1):
        self.path_re = re.compile(path_re)
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.delay = delay
        self.reset = reset
        self.times = times


class Request:
    def __init__(self, method, path, headers, raw, at):
        self.method = method
        self.path = path
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


def check_blocks(blocks):
    """Raise SchemaError for what Slack would refuse as invalid_blocks."""
    if not isinstance(blocks, list):
        raise SchemaError("/blocks", "must be an array")
    if len(blocks) > 50:
        raise SchemaError("/blocks", "must have no more than 50 items")
    for i, b in enumerate(blocks):
        p = "/blocks/%d" % i
        if not isinstance(b, dict):
            raise SchemaError(p, "must be an object")
        t = b.get("type")
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
                if set(e) - {"type", "text", "url", "action_id", "value", "style"}:
                    raise SchemaError(q, "unknown field(s)")
                _text_obj(e.get("text"), q + "/text", ("plain_text",), 75)
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
        self.tokens = set(tokens)
        self.channels = {}          # id -> {"name", "archived", "messages": []}
        self.hooks = {}             # path -> {"channel": id, "gone": False}
        self.faults = []
        self.requests = []
        self.lock = threading.Lock()
        self._ts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_POST(self):
                try:
                    outer._handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def do_GET(self):
                outer._send(self, 405, "method_not_allowed")

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

    def channel(self, name, cid, archived=False):
        with self.lock:
            self.channels[cid] = {"name": name, "archived": archived, "messages": []}
        return cid

    def webhook(self, cid, secret):
        """Register an incoming webhook posting to channel cid; returns its URL."""
        path = "/services/T0FAKE000/B0FAKE000/%s" % secret
        with self.lock:
            self.hooks[path] = {"channel": cid}
        return self.url + path

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
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        req = Request("POST", h.path, {k.lower(): v for k, v in h.headers.items()}, raw,
                      time.time())
        try:
            req.json = json.loads(raw)
        except ValueError:
            pass
        with self.lock:
            self.requests.append(req)
        fault = self._take_fault(h.path)
        if fault is not None:
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
        if h.path == "/api/chat.postMessage":
            status, body = 200, self._post_message(req)
        elif h.path in self.hooks:
            status, body = self._webhook(req)
        else:
            status, body = 404, "no_service"
        req.status, req.answer = status, body
        self._send(h, status, body)

    def _next_ts(self):
        self._ts += 1
        return "%d.%06d" % (int(time.time()), self._ts)

    def _store(self, cid, payload, via):
        m = {"ts": self._next_ts(), "via": via, "text": payload.get("text"),
             "blocks": payload.get("blocks"), "thread_ts": payload.get("thread_ts"),
             "reply_broadcast": payload.get("reply_broadcast", False)}
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
        return None

    def _post_message(self, req):
        auth = req.headers.get("authorization")
        if auth is None:
            return {"ok": False, "error": "not_authed"}
        m = re.match(r"^Bearer (xox[a-z]-\S+)$", auth)
        if not m or m.group(1) not in self.tokens:
            return {"ok": False, "error": "invalid_auth"}
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
            msg = self._store(cid, payload, "api")
        return {"ok": True, "channel": cid, "ts": msg["ts"],
                "message": {"type": "message", "text": msg["text"], "ts": msg["ts"]}}

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
