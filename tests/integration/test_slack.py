#!/usr/bin/env python3
"""The slack sink through the real daemon against a fake Slack (fake_slack.py) and a fake
GitHub: an incoming webhook and a bot token side by side, the Block Kit message (header,
fields, error, limits on a hostile event), update and resolve replies in the incident's
thread (thread_ts stored on the incident, also across a restart; reply_broadcast on
resolve), webhook follow-ups saying they cannot thread, the GitHub issue button and
templates when chained after github_issue, one message per second per lane, 429 with
Retry-After honoured, 5xx / resets / timeouts retried, permanent failures (channel_not_found,
channel_is_archived, no_service, invalid_auth) kept with Slack's reason, strict options
(--check-config), and that the webhook URL and the token never leak."""

import json
import os
import signal
import subprocess
import time

import harness
from fake_github import FakeGitHub
from fake_slack import FakeSlack
from harness import Daemon, INCIDENTD, PLUGIN_DIR, sample_json, wait_until

REPO = "my-org/platform-incidents"
GH_TOKEN = "ghp_TESTtoken0123456789forSlackChain"
SLACK_TOKEN = "xoxb-1234567890-0987654321-TESTsecretBotTokenValue"
WRONG_TOKEN = "xoxb-1111111111-2222222222-TESTwrongTokenValue"
HOOK_SECRET = "TESTsecretHookPart0123456789ab"
KEY = "argocd/prod-west-aks/pets/%s"
DEGRADED = "seed-aks-store-degraded.client_payload.json"
RECOVERED = "seed-aks-store-recovered.client_payload.json"
INC = "C0INCIDENTS"
DEP = "C0DEPLOYS"
LATE = "C0LATE"


def event(app, sample=DEGRADED, **kw):
    p = sample_json("argocd", sample)
    p["app_name"] = app
    p.update(kw)
    return p


def confd(slack, gh):
    return {"10-slack.yaml": (
        "sources:\n  argocd: { auth: none }\n"
        "sinks:\n"
        "  hook:\n"
        "    plugin: slack\n"
        "    webhook_url: \"${SLACK_WEBHOOK}\"\n"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "  bot:\n"
        "    plugin: slack\n"
        "    token: \"${SLACK_TOKEN}\"\n"
        "    channel: \"#incidents\"\n"
        "    api_url: %s\n"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "  github:\n"
        "    plugin: github_issue\n"
        "    repo: %s\n"
        "    token: \"${GITHUB_TOKEN}\"\n"
        "    api_url: %s\n"
        "    labels: [incident]\n"
        "    close_on_resolve: true\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "  chained:\n"
        "    plugin: slack\n"
        "    after: github\n"
        "    token: \"${SLACK_TOKEN}\"\n"
        "    channel: %s\n"
        "    api_url: %s/\n"
        "    title: \"Deploy {{app}} on {{cluster}}: {{status}}\"\n"
        "    text: \"*{{app}}* ({{action}}){{#issue}}, see <{{url}}|issue #{{number}}>"
        "{{/issue}}\"\n"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "routes:\n  - name: default\n    sinks: [hook, bot, github, chained]\n"
        % (slack.api_url, REPO, gh.url, DEP, slack.api_url))}


def settled(d, n=None):
    """Wait until no delivery is pending, running or blocked (and n exist, if given)."""
    def ok():
        busy = d.scalar("SELECT count(*) FROM deliveries WHERE state IN "
                        "('pending', 'running', 'blocked')")
        total = d.scalar("SELECT count(*) FROM deliveries")
        return busy == 0 and (n is None or total >= n)
    return wait_until(ok, 40, 0.1)


def refs(d, app):
    raw = d.scalar("SELECT refs FROM incidents WHERE key = ? ORDER BY opened_at DESC, id DESC",
                   (KEY % app,))
    return json.loads(raw) if raw else {}


def post(t, d, body, what):
    st, _, ans = d.post("/v1/events/argocd", body)
    t.eq(st, 202, "%s: accepted" % what)


def header(m):
    return m["blocks"][0]["text"]["text"]


def context(m):
    return m["blocks"][-1]["elements"][0]["text"]


def block_of(m, btype):
    return [b for b in m["blocks"] if b["type"] == btype]


def about(msgs, app):
    """Messages whose context line names the incident of app."""
    return [m for m in msgs if (" incident %s · " % (KEY % app)) in context(m)]


def lane_of(r):
    """Which pacing lane a recorded request belongs to."""
    if r.path.startswith("/services/"):
        return "hook:" + r.path
    ch = (r.json or {}).get("channel")
    return "bot:" + {DEP: "deploys", LATE: "late"}.get(ch, "incidents")


def main(t):
    sl = FakeSlack(tokens=(SLACK_TOKEN,))
    t.cleanups.append(sl.close)
    gh = FakeGitHub(tokens=(GH_TOKEN,), repos=(REPO,))
    t.cleanups.append(gh.close)
    sl.channel("incidents", INC)
    sl.channel("deploys", DEP)
    sl.channel("late", LATE)
    sl.channel("old", "C0ARCHIVED", archived=True)
    hook_url = sl.webhook(INC, HOOK_SECRET)
    env = {"SLACK_WEBHOOK": hook_url, "SLACK_TOKEN": SLACK_TOKEN, "GITHUB_TOKEN": GH_TOKEN}
    d = Daemon(t, confd(sl, gh), env=env)

    # --- open: one message per sink, the bot's ts stored as the incident's thread -------
    post(t, d, event("aks-store"), "aks-store degraded")
    t.ok(settled(d, 4), "open: deliveries settle",
         d.sql("SELECT sink, state, last_error FROM deliveries"))
    inc = about(sl.messages(INC), "aks-store")
    hooked = [m for m in inc if m["via"] == "webhook"]
    t.eq(len(inc), 2, "open: the webhook and the bot each posted one message")
    r = refs(d, "aks-store")
    bot_ref = r.get("bot", {})
    t.eq(bot_ref.get("channel"), INC, "refs.bot.channel is the channel ID Slack answered")
    top = [m for m in inc if m["ts"] == bot_ref.get("thread_ts")]
    t.ok(len(top) == 1 and top[0]["thread_ts"] is None,
         "refs.bot.thread_ts is the bot's top-level message", (bot_ref, inc))
    t.ok("hook" not in r, "the webhook stores nothing (it cannot thread)", r)
    for m in hooked[:1]:
        t.eq(header(m), "\U0001F534 Firing: aks-store is Degraded (OutOfSync) in "
             "prod-west-aks/pets", "header: state and title")
        fields = [f["text"] for f in m["blocks"][2]["fields"]]
        t.eq(fields, ["*Cluster*\nprod-west-aks", "*Namespace*\npets", "*App*\naks-store",
                      "*Health*\nDegraded", "*Sync*\nOutOfSync", "*Revision*\n4194267f2c1d"],
             "fields: cluster, namespace, app, health, sync, revision")
        t.ok(m["blocks"][3]["text"]["text"].startswith("*Error*\n```\n") and
             "exceeded its progress deadline" in m["blocks"][3]["text"]["text"],
             "the error in a code block", m["blocks"][3])
    reqs = sl.reqs()
    t.ok(reqs and all(x.headers.get("content-type", "").startswith("application/json")
                      for x in reqs), "every request is Content-Type: application/json")
    t.ok(all(x.headers.get("authorization") == "Bearer " + SLACK_TOKEN
             for x in sl.reqs("chat.postMessage")) and sl.reqs("chat.postMessage"),
         "chat.postMessage carries Authorization: Bearer xoxb-...")
    t.ok(all("authorization" not in x.headers for x in sl.reqs("^/services/")),
         "the webhook gets no Authorization header")
    t.ok(all(x.headers.get("user-agent", "").startswith("incidentd/") for x in reqs),
         "User-Agent: incidentd/<version>")

    # chained after github: the template and the issue button
    iss = gh.issues(with_marker=KEY % "aks-store")
    dep = about(sl.messages(DEP), "aks-store")
    t.eq(len(dep), 1, "chained: one message in #deploys")
    if dep and iss:
        m = dep[0]
        t.eq(header(m), "Deploy aks-store on prod-west-aks: firing", "chained: title template")
        t.eq(m["blocks"][1]["text"]["text"], "*aks-store* (open), see <%s|issue #%d>"
             % (iss[0]["html_url"], iss[0]["number"]), "chained: text template with the issue")
        acts = block_of(m, "actions")
        # after incidentd's command buttons (buttons: true by default in token mode)
        btn = [e for e in (acts[0]["elements"] if acts else [])
               if e.get("action_id") == "incidentd.open_issue"]
        btn = btn[0] if btn else {}
        t.eq((btn.get("text", {}).get("text"), btn.get("url")),
             ("Open issue #%d" % iss[0]["number"], iss[0]["html_url"]),
             "chained: a button to the GitHub issue")
    t.ok(not block_of(hooked[0], "actions") if hooked else False,
         "not chained: no issue button")

    # --- update: a reply in the thread; the webhook posts anew and says why -------------
    post(t, d, event("aks-store", timestamp="2026-02-10T03:05:00Z"), "aks-store again")
    settled(d)
    inc2 = about(sl.messages(INC), "aks-store")
    replies = [m for m in inc2 if m["thread_ts"] == bot_ref.get("thread_ts")]
    t.eq(len(replies), 1, "update: the bot replied in the incident's thread")
    if replies:
        t.ok(header(replies[0]).startswith("\U0001F501 Still firing: ") and
             not replies[0]["reply_broadcast"], "update: 'Still firing', not broadcast",
             replies[0])
    hook_new = [m for m in inc2 if m["via"] == "webhook"]
    t.eq(len(hook_new), 2, "update: the webhook posted a second top-level message")
    if len(hook_new) == 2:
        t.ok(context(hook_new[1]).startswith("Incoming webhooks cannot reply in threads"),
             "update: the webhook message says it cannot thread", context(hook_new[1]))
    t.eq(refs(d, "aks-store").get("bot"), bot_ref, "update: the thread is unchanged")
    dep2 = about(sl.messages(DEP), "aks-store")
    t.ok(len(dep2) == 2 and dep2[1]["thread_ts"] == dep2[0]["ts"],
         "chained: the update is a reply in its own thread", dep2)

    # --- the thread survives a restart; resolve replies and broadcasts ------------------
    d.restart()
    post(t, d, event("aks-store", RECOVERED), "aks-store recovered")
    settled(d)
    inc3 = about(sl.messages(INC), "aks-store")
    res = [m for m in inc3 if m["thread_ts"] == bot_ref.get("thread_ts") and
           header(m).startswith("\u2705 Resolved")]
    t.eq(len(res), 1, "resolve after a restart: a reply in the same thread")
    if res:
        t.ok(res[0]["reply_broadcast"] is True, "resolve: reply_broadcast true")
        t.ok(not any(b["type"] == "section" and b.get("text", {}).get("text", "").startswith(
            "*Error*") for b in res[0]["blocks"]), "resolve: no error block")
    hook_res = [m for m in inc3 if m["via"] == "webhook" and header(m).startswith(
        "\u2705 Resolved")]
    t.eq(len(hook_res), 1, "resolve: the webhook posted a resolved message")

    # --- a hostile, oversized event: escaped and within Slack's limits ------------------
    big = "```<!channel> & <@U024BE7LH> @here " * 3000
    res_list = [{"kind": "Pod", "name": "pod-%d" % i, "namespace": "pets", "status": "Synced",
                 "health": {"status": "Degraded", "message": "<!here> crash ```" * 50}}
                for i in range(80)]
    post(t, d, event("hostile", message=big, resources=res_list), "hostile degraded")
    settled(d)
    hm = about(sl.messages(INC), "hostile")
    t.ok(len(hm) == 2, "hostile: both messages accepted by Slack's schema",
         [x for x in sl.reqs() if x.status != 200 or (isinstance(x.answer, dict) and
                                                      not x.answer.get("ok"))][-3:])
    if hm:
        m = hm[0]
        t.eq(len(m["blocks"]), 50, "hostile: cut to 50 blocks")
        err = m["blocks"][3]["text"]["text"]
        t.ok(err.endswith("\u2026 (truncated)\n```") and len(err) <= 3000,
             "hostile: the error is cut visibly within 3,000 characters", err[-60:])
        inner = err[len("*Error*\n```\n"):-4]
        t.ok("```" not in inner and "<" not in inner and "@here" not in inner and
             "&lt;!channel&gt;" in inner, "hostile: fences, <!channel> and @here neutralized",
             inner[:200])
        # the last section, before the actions block (the bot's buttons) and the context
        last = [b for b in m["blocks"] if b["type"] == "section"][-1]
        t.ok("more degraded resources" in last["text"]["text"] and
             m["blocks"].index(last) >= len(m["blocks"]) - 3,
             "hostile: the resources that do not fit are summed up", last)
        objs = ([b["text"] for b in m["blocks"] if isinstance(b.get("text"), dict) and
                 b["text"].get("type") == "mrkdwn"] +
                [f for b in m["blocks"] for f in b.get("fields", [])] +
                [e for b in m["blocks"] if b["type"] == "context" for e in b["elements"]])
        t.ok(objs and all(o.get("verbatim") is True for o in objs),
             "hostile: every mrkdwn text is verbatim (no automatic links or mentions)",
             [o for o in objs if o.get("verbatim") is not True][:2])

    # --- a bot added by a reload: no thread yet, so its update starts one ----------------
    late = confd(sl, gh)
    late["10-slack.yaml"] = late["10-slack.yaml"].replace(
        "routes:\n", "  late: { plugin: slack, token: \"${SLACK_TOKEN}\", channel: %s, "
        "api_url: %s, timeout: 2s }\nroutes:\n" % (LATE, sl.api_url)).replace(
        "[hook, bot, github, chained]", "[hook, bot, github, chained, late]")
    d.write_confd(late)
    mark = len(d.lines())
    d.signal(signal.SIGHUP)
    t.ok(d.wait_log(r"configuration reloaded", 5, mark), "reload with the late sink",
         "\n".join(d.lines()[mark:]))
    post(t, d, event("hostile", timestamp="2026-02-10T03:09:00Z"), "hostile again")
    settled(d)
    lref = refs(d, "hostile").get("late", {})
    lmsg = [m for m in sl.messages(LATE) if m["ts"] == lref.get("thread_ts")]
    t.ok(len(lmsg) == 1 and lmsg[0]["thread_ts"] is None and
         header(lmsg[0]).startswith("\U0001F501 Still firing"),
         "update without a thread: a new top-level message, stored as the thread",
         (lref, lmsg))
    post(t, d, event("hostile", RECOVERED), "hostile recovered")
    settled(d)
    t.ok(any(m["thread_ts"] == lref.get("thread_ts") and m["reply_broadcast"] for m in
             sl.messages(LATE)), "then resolve replies in that thread")

    # --- pacing: one message per second per lane ----------------------------------------
    lanes = {}
    for x in sl.reqs():
        lanes.setdefault(lane_of(x), []).append(x.at)
    short = {k: min(b - a for a, b in zip(v, v[1:])) for k, v in lanes.items() if len(v) > 1}
    t.ok(len(short) >= 3 and all(g >= 0.98 for g in short.values()),
         ">= 1 s between messages of each webhook / token+channel", short)

    # --- 429 with Retry-After, 5xx, resets and timeouts are retried ---------------------
    before = len(sl.reqs())
    sl.fail(r"^/services/", status=429, headers={"Retry-After": "2"}, body="rate_limited")
    sl.fail(r"^/services/", status=500, body="rollup_error")
    sl.fail(r"^/services/", reset=True)
    sl.fail(r"chat\.postMessage", status=429, headers={"Retry-After": "2"},
            body={"ok": False, "error": "ratelimited"})
    sl.fail(r"chat\.postMessage", delay=3.0, reset=True)   # no answer within the 2 s timeout
    # two incidents at once: a 429 also holds back the other one's queued message
    post(t, d, event("limited"), "limited degraded")
    post(t, d, event("limited2"), "limited2 degraded")
    settled(d)
    rs = sl.reqs()[before:]
    t.diag("limited: %s" % [(round(x.at - rs[0].at, 2), lane_of(x)[:14], x.status)
                            for x in rs])
    for app in ("limited", "limited2"):
        t.eq(len(about(sl.messages(INC), app)), 2, "%s: both messages in the end" % app)
        t.eq(len(about(sl.messages(DEP), app)), 1, "%s: the chained message too" % app)
    t.eq([f.status for f in sl.faults], [], "every injected fault was hit")
    for path in (r"^/services/", r"chat\.postMessage"):
        first = next((x for x in rs if x.status == 429 and
                      (x.path.startswith("/services/") == (path == r"^/services/"))), None)
        nxt = [x for x in rs if first and x.at > first.at and lane_of(x) == lane_of(first)]
        t.ok(first and len(nxt) >= 2 and nxt[0].at - first.at >= 2.0,
             "%s: 429 Retry-After 2 holds the lane (next request >= 2 s later)" % path,
             (nxt[0].at - first.at) if first and nxt else rs)
    att = dict(d.sql("SELECT sink, sum(attempts) FROM deliveries WHERE incident_id IN (SELECT "
                     "id FROM incidents WHERE key IN (?, ?)) GROUP BY sink",
                     (KEY % "limited", KEY % "limited2")))
    # curl retries a request whose reused connection was reset on a fresh connection, so the
    # reset may fall into the attempt after the 500
    t.ok(att.get("hook", 0) >= 4, "webhook retried through 429, 500 and a reset", att)
    t.ok(att.get("bot", 0) + att.get("chained", 0) + att.get("late", 0) >= 8,
         "API retried through 429 and a timeout", att)
    n = d.scalar("SELECT count(*) FROM decisions WHERE step = 'delivery' AND outcome = 'retry'"
                 " AND detail LIKE '%rate limited by Slack (HTTP 429)%'")
    t.ok(n and n >= 2, "429 retries are in the decision trace", n)
    d.stop()

    # --- permanent failures keep Slack's reason ------------------------------------------
    gone_hook = sl.webhook("C0DELETED", "TESTgoneChannelHook")
    arch_hook = sl.webhook("C0ARCHIVED", "TESTarchivedHook")
    dead_hook = sl.url + "/services/T0FAKE000/B0FAKE000/TESTrevokedHook"
    f_confd = {"10-slack.yaml": (
        "sources:\n  argocd: { auth: none }\n"
        "sinks:\n"
        "  nochan: { plugin: slack, token: \"${SLACK_TOKEN}\", channel: \"#nope\", "
        "api_url: %s }\n"
        "  archived: { plugin: slack, token: \"${SLACK_TOKEN}\", channel: C0ARCHIVED, "
        "api_url: %s }\n"
        "  badtoken: { plugin: slack, token: \"${WRONG_TOKEN}\", channel: C0INCIDENTS, "
        "api_url: %s }\n"
        "  hookgone: { plugin: slack, webhook_url: \"${HOOK_GONE}\" }\n"
        "  hookarch: { plugin: slack, webhook_url: \"${HOOK_ARCH}\" }\n"
        "  hookdead: { plugin: slack, webhook_url: \"${HOOK_DEAD}\" }\n"
        "routes:\n  - name: default\n    sinks: [nochan, archived, badtoken, hookgone, "
        "hookarch, hookdead]\n" % (sl.api_url, sl.api_url, sl.api_url))}
    f_env = dict(env, WRONG_TOKEN=WRONG_TOKEN, HOOK_GONE=gone_hook, HOOK_ARCH=arch_hook,
                 HOOK_DEAD=dead_hook)
    f = Daemon(t, f_confd, env=f_env)
    post(t, f, event("broken-app"), "broken-app degraded")
    settled(f, 6)
    rows = dict(f.sql("SELECT sink, last_error FROM deliveries WHERE state = 'failed'"))
    want = {"nochan": "chat.postMessage: channel_not_found",
            "archived": "chat.postMessage: is_archived",
            "badtoken": "chat.postMessage: invalid_auth",
            "hookgone": "incoming webhook: HTTP 404: channel_not_found",
            "hookarch": "incoming webhook: HTTP 410: channel_is_archived",
            "hookdead": "incoming webhook: HTTP 404: no_service"}
    t.eq(rows, want, "permanent failures: failed at once with Slack's reason")
    att = dict(f.sql("SELECT sink, attempts FROM deliveries"))
    t.ok(all(v == 1 for v in att.values()), "permanent failures are not retried", att)
    rc, out, err = f.ctl("deliveries", "--failed")
    t.ok(rc == 0 and all(s in out for s in ("channel_not_found", "channel_is_archived",
                                            "no_service", "invalid_auth")),
         "incidentctl deliveries --failed shows the reasons", out + err)
    f.stop()

    # --- options are validated strictly, without echoing secrets --------------------------
    def check(sink_yaml, extra_env=None):
        c = Daemon(t, {"10-x.yaml": "sinks:\n  s: " + sink_yaml + "\nroutes:\n  - name: "
                       "default\n    sinks: [s]\n"}, env=dict(env, **(extra_env or {})),
                   start=False)
        p = subprocess.run([INCIDENTD, "--check-config", "-c", c.confd, "--plugin-dir",
                            PLUGIN_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30, env=c.env)
        return p.returncode, p.stderr.decode()
    cases = [
        ("{ plugin: slack }", "missing required field(s): webhook_url, or token and channel"),
        ("{ plugin: slack, token: \"${SLACK_TOKEN}\" }", "missing required field(s): channel"),
        ("{ plugin: slack, webhook_url: \"${SLACK_WEBHOOK}\", token: \"${SLACK_TOKEN}\", "
         "channel: C1 }", "webhook_url and token: give one of them"),
        ("{ plugin: slack, webhook_url: \"${SLACK_WEBHOOK}\", channel: C1 }",
         "channel: only with token"),
        ("{ plugin: slack, webhook_url: \"ftp://hooks.example/%s\" }" % HOOK_SECRET,
         "webhook_url: expected an http(s) URL without spaces"),
        ("{ plugin: slack, token: \"Bearer %s\", channel: C1 }" % SLACK_TOKEN,
         "token: expected a Slack token (xoxb-...) without spaces"),
        ("{ plugin: slack, token: \"${SLACK_TOKEN}\", channel: \"a b\" }",
         "channel: expected a channel ID or #name"),
        ("{ plugin: slack, token: \"${SLACK_TOKEN}\", channel: C1, api_url: slack.com }",
         "api_url: 'slack.com' is not an http(s) URL"),
        ("{ plugin: slack, webhook_url: \"${SLACK_WEBHOOK}\", timeout: soon }",
         "timeout: expected a duration like 30s"),
        ("{ plugin: slack, webhook_url: \"${SLACK_WEBHOOK}\", title: \"{{#app}}x\" }",
         "title: line 1:"),
        ("{ plugin: slack, webhook_url: \"${SLACK_WEBHOOK}\", colour: blue }", "colour"),
    ]
    for yaml, msg in cases:
        rc, err = check(yaml)
        t.ok(rc == 1 and msg in err and HOOK_SECRET not in err and SLACK_TOKEN not in err,
             "--check-config: %s" % msg, err)
    rc, err = check("{ plugin: slack, token: \"${SLACK_TOKEN}\", channel: C1, title: "
                    "\"{{app}}\", text: \"*{{app}}*\", issue_from: github, timeout: 5s }")
    t.eq(rc, 0, "--check-config: a full token configuration is valid")

    # --- the webhook URL and the token are nowhere ------------------------------------------
    secrets = (HOOK_SECRET, SLACK_TOKEN, WRONG_TOKEN, "TESTgoneChannelHook",
               "TESTarchivedHook", "TESTrevokedHook")
    logs = "\n".join(d.lines() + f.lines())
    t.eq([s for s in secrets if s in logs], [], "webhook URLs and tokens not in the logs")
    leaked = []
    for dd in (d, f):
        db = dd.db
        leaked += [l[:80] for l in dd.dump_lines() if any(s in l for s in secrets)]
        for suffix in ("", "-wal"):
            if os.path.exists(db + suffix):
                with open(db + suffix, "rb") as fh:
                    data = fh.read()
                    leaked += [db + suffix for s in secrets if s.encode() in data]
    t.eq(leaked, [], "webhook URLs and tokens not in the ledger")


harness.run(main)
