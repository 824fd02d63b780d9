#!/usr/bin/env python3
"""Slack messages exactly once across SIGKILL (issue 15), through the real daemon against
the fake Slack: every chat.postMessage carries the delivery's metadata; a retried delivery
reads the channel (conversations.history) or the incident's thread
(conversations.replies) with include_all_metadata and posts only when no message of the
token's own bot carries it. Kills after Slack stored the message, before its answer:

- the open message, to a channel given by #name (looked up once with conversations.list):
  one message after the restart, and it is the incident's thread;
- the resolve reply (reply_broadcast) in that thread: one reply, also when Slack rate
  limits the read (waited out, the same attempt reads on);
- an update reply, while another app's message carries the delivery's metadata: it does
  not count, incidentd posts its own;
- a token without channels:history: the sink logs once that it cannot check and posts
  (at least once);
- first attempts never read."""

import json

import harness
from fake_slack import FakeSlack
from harness import Daemon, sample_json, wait_until

BOT = "xoxb-1000000001-2000000001-TESTonceBotTokenValue"
OTHER = "xoxb-1000000002-2000000002-TESTotherAppTokenValue"
NOSCOPE = "xoxb-1000000003-2000000003-TESTpostOnlyTokenValue"
KEY = "argocd/prod-west-aks/pets/%s"
DEGRADED = "seed-aks-store-degraded.client_payload.json"
RECOVERED = "seed-aks-store-recovered.client_payload.json"
INC = "C0INCIDENTS"
HOLD = 8.0          # Slack "holds" the answer this long; the sink's timeout is longer


def event(app, sample=DEGRADED, **kw):
    p = sample_json("argocd", sample)
    p["app_name"] = app
    p.update(kw)
    return p


def confd(sl):
    return {"10-slack.yaml": (
        "sources:\n  argocd: { auth: none }\n"
        "sinks:\n"
        "  bot:\n"
        "    plugin: slack\n"
        "    token: \"${SLACK_TOKEN}\"\n"
        "    channel: \"#incidents\"\n"
        "    api_url: %s\n"
        "    timeout: 20s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "  postonly:\n"
        "    plugin: slack\n"
        "    token: \"${NOSCOPE_TOKEN}\"\n"
        "    channel: %s\n"
        "    api_url: %s\n"
        "    timeout: 20s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "routes:\n"
        "  - name: postonly\n"
        "    match: ['app = \"postonly-app\"']\n"
        "    sinks: [postonly]\n"
        "  - name: default\n"
        "    sinks: [bot]\n" % (sl.api_url, INC, sl.api_url))}


def settled(d):
    def ok():
        return d.scalar("SELECT count(*) FROM deliveries WHERE state IN "
                        "('pending', 'running', 'blocked')") == 0
    return wait_until(ok, 40, 0.1)


def post(t, d, body, what):
    st, _, ans = d.post("/v1/events/argocd", body)
    t.eq(st, 202, "%s: accepted" % what)


def about(sl, app, head=None, user=None):
    """Messages in #incidents whose context line names the incident of app."""
    out = []
    for m in sl.messages(INC):
        ctx = m["blocks"][-1]["elements"][0]["text"] if m["blocks"] else ""
        if (" incident %s · " % (KEY % app)) not in ctx:
            continue
        if head and not m["blocks"][0]["text"]["text"].startswith(head):
            continue
        if user and m["user"] != user:
            continue
        out.append(m)
    return out


def refs(d, app):
    raw = d.scalar("SELECT refs FROM incidents WHERE key = ? ORDER BY opened_at DESC, id DESC",
                   (KEY % app,))
    return json.loads(raw) if raw else {}


def delivery(d, app, action):
    rows = d.sql("SELECT id, event_id, state, attempts, last_error FROM deliveries WHERE "
                 "action = ? AND incident_id IN (SELECT id FROM incidents WHERE key = ?) "
                 "ORDER BY id DESC LIMIT 1", (action, KEY % app))
    return rows[0] if rows else (None, None, None, None, None)


def restart_after_kill(t, d, what):
    d.kill9()
    d.start()
    t.ok(settled(d), "%s: deliveries settle after the restart" % what,
         d.sql("SELECT id, sink, action, state, attempts, last_error FROM deliveries"))


def main(t):
    sl = FakeSlack(tokens={
        BOT: {"user": "U0INCIDENTD", "bot_id": "B0INCIDENTD", "app_id": "A0INCIDENTD"},
        OTHER: {"user": "U0OTHERBOT", "bot_id": "B0OTHERBOT", "app_id": "A0OTHERAPP"},
        NOSCOPE: {"user": "U0POSTONLY", "bot_id": "B0POSTONLY", "app_id": "A0POSTONLY",
                  "scopes": ["chat:write"]}})
    t.cleanups.append(sl.close)
    sl.channel("incidents", INC)
    sl.channel("general", "C0GENERAL")
    d = Daemon(t, confd(sl), env={"SLACK_TOKEN": BOT, "NOSCOPE_TOKEN": NOSCOPE})
    bot_user = "U0INCIDENTD"

    # --- first attempts never read; every message carries its delivery's metadata ------
    post(t, d, event("steady"), "steady degraded")
    settled(d)
    m = about(sl, "steady")
    did, evid = delivery(d, "steady", "open")[:2]
    t.eq([x["metadata"] for x in m], [{"event_type": "incidentd_delivery", "event_payload": {
        "delivery_id": str(did), "event_id": evid}}], "the message carries the delivery's "
        "metadata")
    t.eq([r.path for r in sl.reqs() if r.method == "GET"], [], "first attempts never read")

    # --- open, to #incidents: killed after Slack stored the message --------------------
    sl.fail(r"chat\.postMessage$", after_effect=True, delay=HOLD, reset=True)
    before = len(sl.reqs())
    post(t, d, event("kill-open"), "kill-open degraded")
    t.ok(wait_until(lambda: about(sl, "kill-open"), 15), "kill-open: Slack has the message")
    restart_after_kill(t, d, "kill-open")
    top = about(sl, "kill-open", user=bot_user)
    t.eq(len(top), 1, "kill-open: exactly one message after the restart")
    r = refs(d, "kill-open").get("bot", {})
    t.eq((r.get("thread_ts"), r.get("channel")), (top[0]["ts"] if top else None, INC),
         "kill-open: the message found is the incident's thread")
    rs = sl.reqs()[before:]
    reads = [(x.path, x.query) for x in rs if x.method == "GET"]
    t.eq([p for p, _ in reads], ["/api/auth.test", "/api/conversations.list",
                                 "/api/conversations.history"],
         "kill-open: who am I, the #name's ID, then the channel")
    hist = [q for p, q in reads if p.endswith("conversations.history")]
    ev_at = d.scalar("SELECT strftime('%s', received_at) FROM events WHERE id = ?",
                     (delivery(d, "kill-open", "open")[1],))
    t.ok(hist and hist[0].get("channel") == INC and
         hist[0].get("include_all_metadata") == "true" and
         0 < float(hist[0].get("oldest", "0")) <= float(ev_at or 0),
         "kill-open: channel ID, include_all_metadata, oldest before the event arrived",
         (hist, ev_at))
    t.eq(len([x for x in rs if x.path.endswith("chat.postMessage")]), 1,
         "kill-open: one chat.postMessage in all")
    row = delivery(d, "kill-open", "open")
    t.ok(row[2] == "done" and "earlier attempt" in (row[4] or ""),
         "kill-open: the ledger says the earlier attempt's message was found", row)

    # --- resolve: the reply in the thread (and the channel) ----------------------------
    sl.fail(r"chat\.postMessage$", after_effect=True, delay=HOLD, reset=True)
    before = len(sl.reqs())
    post(t, d, event("kill-open", RECOVERED), "kill-open recovered")
    t.ok(wait_until(lambda: about(sl, "kill-open", head="\u2705 Resolved"), 15),
         "kill-resolve: Slack has the reply")
    sl.fail(r"conversations\.replies$", status=429, headers={"Retry-After": "1"},
            body={"ok": False, "error": "ratelimited"})
    restart_after_kill(t, d, "kill-resolve")
    res = about(sl, "kill-open", head="\u2705 Resolved", user=bot_user)
    t.eq(len(res), 1, "kill-resolve: exactly one resolved reply after the restart")
    t.ok(res and res[0]["thread_ts"] == r.get("thread_ts") and res[0]["reply_broadcast"],
         "kill-resolve: in the thread, broadcast", res)
    got = [x for x in sl.reqs()[before:] if x.method == "GET"]
    reads = [(x.path, x.query) for x in got]
    t.ok([p for p, _ in reads] == ["/api/auth.test", "/api/conversations.replies",
                                   "/api/conversations.replies"] and
         reads[-1][1].get("ts") == r.get("thread_ts"),
         "kill-resolve: read the incident's thread (again after the rate limit)", reads)
    t.ok(len(got) == 3 and got[2].at - got[1].at >= 0.98,
         "kill-resolve: Retry-After waited out",
         [round(x.at - got[0].at, 2) for x in got])
    t.eq(delivery(d, "kill-open", "resolve")[3], 2,
         "kill-resolve: within the same attempt")

    # --- another app's message with the delivery's metadata does not count --------------
    post(t, d, event("forged"), "forged degraded")
    settled(d)
    thread = refs(d, "forged").get("bot", {}).get("thread_ts")
    sl.fail(r"chat\.postMessage$", delay=HOLD, reset=True)        # never stored
    n_posts = len(sl.reqs(r"chat\.postMessage$"))
    post(t, d, event("forged", timestamp="2026-02-10T03:09:00Z"), "forged again")
    t.ok(wait_until(lambda: len(sl.reqs(r"chat\.postMessage$")) > n_posts, 15),
         "forged: the reply request arrived (and is held)")
    did, evid = delivery(d, "forged", "update")[:2]
    ans = sl.api(OTHER, "chat.postMessage", {
        "channel": INC, "thread_ts": thread, "text": "not incidentd",
        "metadata": {"event_type": "incidentd_delivery",
                     "event_payload": {"delivery_id": str(did), "event_id": evid}}})
    t.ok(ans.get("ok"), "forged: another app posted the delivery's metadata", ans)
    restart_after_kill(t, d, "forged")
    mine = [x for x in sl.messages(INC) if x["thread_ts"] == thread and
            x["user"] == bot_user]
    t.eq(len(mine), 1, "forged: incidentd still posted its reply")
    t.ok(d.wait_log(r"1 message\(s\) in %s carry the metadata of delivery %d but were not "
                    r"posted by this token's bot" % (INC, did), 1),
         "forged: the look-alike is logged", "\n".join(d.lines()[-20:]))

    # --- without channels:history: logged once, posted (at least once) ------------------
    sl.fail(r"chat\.postMessage$", after_effect=True, delay=HOLD, reset=True)
    post(t, d, event("postonly-app"), "postonly-app degraded")
    t.ok(wait_until(lambda: about(sl, "postonly-app"), 15), "postonly: Slack has the message")
    restart_after_kill(t, d, "postonly")
    t.eq(len(about(sl, "postonly-app", user="U0POSTONLY")), 2,
         "postonly: the retry could not check and posted again")
    t.ok(d.count_log(r"cannot look for the message of an earlier attempt \("
                     r"conversations\.history: missing_scope \(needs channels:history\)\)") == 1,
         "postonly: logged once, naming the scope", "\n".join(d.lines()[-20:]))
    row = delivery(d, "postonly-app", "open")
    t.ok(row[2] == "done" and "not checked for an earlier attempt's message" in (row[4] or ""),
         "postonly: the ledger says it was not checked", row)
    d.stop()


harness.run(main)
