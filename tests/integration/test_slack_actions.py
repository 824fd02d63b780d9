#!/usr/bin/env python3
"""Slack buttons through the real daemon against the fake Slack (fake_slack.py).

The endpoint, POST /v1/slack/actions (sources.slack): a button press signed like Slack
signs it (v0 HMAC-SHA256 of "v0:<timestamp>:<body>" with the signing secret) is answered
200 with an empty body and recorded as one "info" event of the incident its button names,
with the labels the broker needs, and without the interaction's capabilities (response_url,
trigger_id) or verification token anywhere in the ledger's files; the same press sent again
is a duplicate; a stale (6 minutes) or future timestamp, a forged signature, a changed body
and missing headers are 401 and store nothing; a bad body after a good signature is 400;
an unknown action is recorded without a command.

The sink: the incident's message carries Acknowledge / Silence 1h / Silence 4h / Resolve
(with a confirm dialog) whose values are the incident id, and none with buttons: false.
Its check of who may act (allowed_users, allowed_groups through usergroups.users.list, an
ephemeral note to a refused person, missing_scope and 429 answered like the rest of the
sink) is driven by tests/tools/sink_drive with the delivery the broker hands it (source
"slack", type "slack.block_actions").

End to end: a press on the incident's own message is checked by that sink, applied by
incidentd (acknowledged, silenced for 1h, resolved) and the message is updated in place to
say who did what and when (a hostile display name never shows; resolved, the buttons go);
a press on any other message changes nothing. Events naming source slack, github,
incidentd or operator are refused on the nanomsg socket (only the signed endpoints and
incidentd itself write them)."""

import hashlib
import hmac
import json
import os
import re
import subprocess
import time
import urllib.parse

import harness
from fake_slack import FakeSlack
from harness import Daemon, INCIDENTD, PLUGIN_DIR, run, sample_json, wait_until

SECRET = "8f742231b10e8888abcd99yyyzzz85a5-TESTsigningSecret"
TOKEN = "xoxb-1234567890-0987654321-TESTsecretBotTokenValue"
NOSCOPE = "xoxb-2222222222-3333333333-TESTnoUsergroupsScope"
INC = "C0INCIDENTS"
STRICT = "C0STRICT"
NN_PUSH = os.environ.get("NN_PUSH") or os.path.join(harness.TOP, "tests/tools/nn_push")
SINK_DRIVE = os.environ.get("SINK_DRIVE") or os.path.join(harness.TOP, "tests/tools/sink_drive")
KEY = "argocd/prod-west-aks/pets/aks-store"
ALICE, BOB, CAROL = "U0CA5ALICE", "U0BOB0000", "U0CAROL00"
COMMANDS = ["incidentd.ack", "incidentd.silence.1h", "incidentd.silence.4h",
            "incidentd.resolve"]


def confd(d, sl):
    return {"10-slack.yaml": (
        "sources:\n"
        "  argocd: { auth: none }\n"
        "  slack: { signing_secret: \"${SLACK_SIGNING_SECRET}\" }\n"
        "  nanomsg: { pull: \"ipc://%s/run/in.ipc\", format: event }\n"
        "sinks:\n"
        "  bot:\n"
        "    plugin: slack\n"
        "    token: \"${SLACK_TOKEN}\"\n"
        "    channel: %s\n"
        "    api_url: %s\n"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "  strict:\n"
        "    plugin: slack\n"
        "    token: \"${SLACK_TOKEN}\"\n"
        "    channel: %s\n"
        "    api_url: %s\n"
        "    buttons: false\n"
        "    allowed_users: [%s]\n"
        "    allowed_groups: [S0ONCALL]\n"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "  noscope:\n"
        "    plugin: slack\n"
        "    token: \"${SLACK_NOSCOPE}\"\n"
        "    channel: %s\n"
        "    api_url: %s\n"
        "    allowed_groups: [S0ONCALL]\n"
        "    timeout: 2s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "routes:\n  - name: default\n    sinks: [bot, strict, noscope]\n"
        % (d.dir, INC, sl.api_url, STRICT, sl.api_url, CAROL, STRICT, sl.api_url))}


def sign(body, ts, secret=SECRET):
    base = b"v0:" + str(ts).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def form(payload):
    return ("payload=" + urllib.parse.quote(json.dumps(payload), safe="")).encode()


def press(d, payload=None, body=None, ts=None, sig=None, headers=None, drop=()):
    """POST a button press; returns (status, headers, body)."""
    body = body if body is not None else form(payload)
    ts = ts if ts is not None else int(time.time())
    h = {"Content-Type": "application/x-www-form-urlencoded",
         "X-Slack-Request-Timestamp": str(ts),
         "X-Slack-Signature": sig if sig is not None else sign(body, ts)}
    h.update(headers or {})
    for k in drop:
        del h[k]
    return d.request("POST", "/v1/slack/actions", body, h)


def push(d, *events):
    files = []
    for i, ev in enumerate(events):
        path = os.path.join(d.dir, "push.%d.json" % i)
        with open(path, "w") as f:
            json.dump(ev, f)
        files.append(path)
    return subprocess.run([NN_PUSH, "ipc://%s/run/in.ipc" % d.dir] + files,
                          timeout=30).returncode


def settled(d, n=None):
    def ok():
        busy = d.scalar("SELECT count(*) FROM deliveries WHERE state IN "
                        "('pending', 'running', 'blocked')")
        total = d.scalar("SELECT count(*) FROM deliveries")
        return busy == 0 and (n is None or total >= n)
    return wait_until(ok, 40, 0.1)


def slack_events(d):
    return d.scalar("SELECT count(*) FROM events WHERE source = 'slack'")


def metric(d, name, labels):
    st, _, text = d.get("/metrics")
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else 0.0


def actions_of(m):
    return [e for b in (m.get("blocks") or []) if b["type"] == "actions"
            for e in b["elements"]]


def main(t):
    sl = FakeSlack(tokens={TOKEN: {}, NOSCOPE: {"scopes": ["chat:write"]}})
    t.cleanups.append(sl.close)
    sl.channel("incidents", INC)
    sl.channel("strict", STRICT)
    sl.usergroup("S0ONCALL", [BOB])
    d = Daemon(t, {}, start=False, env={"SLACK_SIGNING_SECRET": SECRET, "SLACK_TOKEN": TOKEN,
                                        "SLACK_NOSCOPE": NOSCOPE})
    d.write_confd(confd(d, sl))
    d.start()

    # --- the incident's message has the buttons ------------------------------------------
    st, _, _ = d.post("/v1/events/argocd", sample_json(
        "argocd", "seed-aks-store-degraded.client_payload.json"))
    t.eq(st, 202, "argocd event accepted")
    t.ok(settled(d, 3), "open delivered", d.sql("SELECT sink, state, last_error FROM "
                                                "deliveries"))
    inc_id = d.scalar("SELECT id FROM incidents WHERE key = ?", (KEY,))
    msgs = sl.messages(INC)
    t.eq(len(msgs), 1, "the bot posted one message")
    btns = actions_of(msgs[0]) if msgs else []
    t.eq([b.get("action_id") for b in btns], COMMANDS, "Acknowledge, Silence 1h, Silence 4h, "
         "Resolve")
    t.eq([b.get("text", {}).get("text") for b in btns],
         ["Acknowledge", "Silence 1h", "Silence 4h", "Resolve"], "the buttons' labels")
    t.ok(btns and all(b.get("value") == inc_id for b in btns),
         "every button's value is the incident id", btns)
    res = btns[3] if len(btns) == 4 else {}
    t.eq((res.get("style"), res.get("confirm", {}).get("confirm", {}).get("text")),
         ("danger", "Resolve"), "Resolve is red and asks first")
    strict = [m for m in sl.messages(STRICT) if m["bot_id"] == "B0BOT0000"]
    t.ok(strict and not actions_of(strict[0]), "buttons: false: no buttons", strict)

    # --- a signed press: 200, empty, one event with the labels --------------------------
    payload = sample_json("slack", "block_actions.json")
    payload["actions"][0]["value"] = inc_id
    st, hdrs, body = press(d, payload)
    t.eq((st, body), (200, ""), "a signed press: 200 with an empty body")
    t.eq(slack_events(d), 1, "one event in the ledger")
    row = d.sql("SELECT type, status, incident_id, json_extract(event, '$.labels') FROM events WHERE source = "
                "'slack'")
    if row:
        etype, status, eid, labels = row[0]
        labels = json.loads(labels)
        t.eq((etype, status, eid), ("slack.block_actions", "info", inc_id),
             "type, status, and the incident it names")
        t.eq(labels, {"slack_event": "block_actions", "slack_team": "T0FAKE000",
                      "slack_user": ALICE, "slack_user_name": "alice",
                      "action_id": "incidentd.ack", "command": "ack",
                      "incident_id": inc_id, "channel": INC,
                      "message_ts": "1770000000.000100"}, "the labels")
    dec = d.sql("SELECT step, outcome, detail FROM decisions WHERE event_id = (SELECT id "
                "FROM events WHERE source = 'slack')")
    t.ok(dec and dec[0][:2] == ("command", "ignored") and "incidentd.ack" not in dec[0][2] and
         "not incident" in dec[0][2], "one decision: an ack pressed on a message that is not "
         "the incident's (the sample's ts): recorded, nothing changes", dec)
    t.eq(d.scalar("SELECT count(*) FROM deliveries WHERE event_id IN (SELECT id FROM events "
                  "WHERE source = 'slack')"), 0, "not routed as an alert")

    # the same press again (Slack's retry: a new timestamp and signature) is a duplicate
    st, _, body = press(d, payload, ts=int(time.time()) - 1)
    t.eq((st, body, slack_events(d)), (200, "", 1), "the same press again: no second event")
    # another press of another button: its own event
    other = json.loads(json.dumps(payload))
    other["actions"][0].update(action_id="incidentd.silence.4h", action_ts="1770000020.5")
    st, _, _ = press(d, other)
    t.eq((st, slack_events(d)), (200, 2), "another press: another event")
    lab = json.loads(d.scalar("SELECT json_extract(event, '$.labels') FROM events WHERE source = 'slack' ORDER BY id "
                              "DESC LIMIT 1"))
    t.eq((lab.get("command"), lab.get("duration")), ("silence", "4h"), "silence 4h")
    # an action that is not a command
    unknown = json.loads(json.dumps(payload))
    unknown["actions"][0].update(action_id="someone.else", action_ts="1770000030.1",
                                 value="not an id")
    st, _, _ = press(d, unknown)
    lab = json.loads(d.scalar("SELECT json_extract(event, '$.labels') FROM events WHERE source = 'slack' ORDER BY id "
                              "DESC LIMIT 1"))
    t.ok(st == 200 and "command" not in lab and "incident_id" not in lab and
         lab.get("action_id") == "someone.else", "an unknown action: recorded, no command",
         (st, lab))
    n = slack_events(d)

    # --- refused before anything else: 401, nothing stored --------------------------------
    rejected = metric(d, "incidentd_events_rejected_total",
                      'source="slack",reason="unauthorized"')
    fresh = json.loads(json.dumps(payload))
    fresh["actions"][0]["action_ts"] = "1770000099.9"
    now = int(time.time())
    cases = [
        ("stale (6 minutes old)", dict(ts=now - 360)),
        ("from the future (6 minutes)", dict(ts=now + 360)),
        ("forged (another secret)", dict(sig=sign(form(fresh), now, "another-secret"))),
        ("signed for another body", dict(sig=sign(form(payload), now))),
        ("a malformed signature", dict(sig="v0=deadbeef")),
        ("no X-Slack-Signature", dict(drop=("X-Slack-Signature",))),
        ("no X-Slack-Request-Timestamp", dict(drop=("X-Slack-Request-Timestamp",))),
    ]
    for what, kw in cases:
        st, _, ans = press(d, fresh, **kw)
        t.eq(st, 401, "%s: 401" % what)
        t.ok(isinstance(ans, dict) and SECRET not in json.dumps(ans), "%s: a reason, no "
             "secret" % what, ans)
    # a stale request with a wrong content type is still a 401: the signature comes first
    st, _, _ = press(d, fresh, ts=now - 360, headers={"Content-Type": "application/json"})
    t.eq(st, 401, "stale and JSON: 401 first")
    t.eq(slack_events(d), n, "nothing stored on 401")
    # (a request refused on its head alone may be counted twice: once when the head
    # arrived, once by the server when evhttp hands over the whole request)
    t.ok(metric(d, "incidentd_events_rejected_total", 'source="slack",reason="unauthorized"')
         - rejected >= len(cases) + 1.0, "each counted as a reject")

    # --- a good signature, a bad body: 400 ------------------------------------------------
    for what, body in (("not a form of payload", b"text=hello"),
                       ("payload that is not JSON", b"payload=%7Bnope"),
                       ("payload without a type", form({"user": {"id": ALICE}})),
                       ("a JSON body", json.dumps(fresh).encode())):
        st, _, ans = press(d, body=body)
        t.eq(st, 400, "%s: 400" % what)
    st, _, _ = press(d, fresh, headers={"Content-Type": "application/json"})
    t.eq(st, 415, "a signed press as application/json: 415")
    t.eq(slack_events(d), n, "nothing stored on 400")

    # --- the capabilities never reach the ledger or the log --------------------------------
    blob = b""
    for suffix in ("", "-wal", "-shm"):
        try:
            with open(d.db + suffix, "rb") as f:
                blob += f.read()
        except FileNotFoundError:
            pass
    for what, needle in (("response_url", b"response_url"),
                         ("the response URL", b"SECRETresponseUrlPart"),
                         ("trigger_id", b"trigger_id"),
                         ("the trigger id", b"a2f9c5e7b1d34c6f8e0a9b7c5d3e1f20"),
                         ("the verification token", b"Shh_its_a_seekrit"),
                         ("the signing secret", SECRET.encode())):
        t.ok(needle not in blob, "ledger files: no %s" % what)
    log = "\n".join(d.lines())
    t.ok(SECRET not in log and "SECRETresponseUrlPart" not in log and TOKEN not in log,
         "the log: no secret, no response URL")

    # --- the sink's check of who may act (tests/tools/sink_drive: the broker's delivery) --
    def check(sink, *users, command="ack"):
        inc = {"id": inc_id, "key": KEY, "state": "firing", "refs": {}}
        files = [os.path.join(d.dir, "inc.json")]
        with open(files[0], "w") as f:
            json.dump(inc, f)
        for i, user in enumerate(users):
            ev = {"id": "01KH1ZK3W0E4XJ0Y3S5B7D9F%02d" % i, "source": "slack",
                  "type": "slack.block_actions", "status": "info",
                  "labels": {"slack_user": user, "channel": STRICT, "command": command,
                             "slack_event": "block_actions"}}
            files.append(os.path.join(d.dir, "ev%d.json" % i))
            with open(files[-1], "w") as f:
                json.dump(ev, f)
        p = subprocess.run([SINK_DRIVE, d.confd, PLUGIN_DIR, sink, "update"] + files,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=d.env,
                           timeout=60)
        err = p.stderr.decode()
        t.ok(p.returncode == 0 and not any(m in err for m in harness.SANITIZER_MARKS),
             "sink_drive %s: clean run" % sink, err[-2000:])
        return [(o["result"], o.get("detail")) for o in
                map(json.loads, p.stdout.decode().splitlines())]

    t.eq(check("bot", ALICE), [("ok", "<@%s> may act (no allowed_users or allowed_groups: "
         "everyone in the workspace)" % ALICE)], "no lists: everyone may act")
    before = len(sl.reqs("usergroups.users.list"))
    got = check("strict", ALICE, BOB, CAROL, "")
    t.ok(got and got[0][0] == "fail" and "<@%s> may not act" % ALICE in got[0][1] and
         "told them in %s" % STRICT in got[0][1], "strict: Alice is refused", got)
    t.eq(got[1:2], [("ok", "<@%s> may act (a member of allowed group S0ONCALL)" % BOB)],
         "Bob is in the on-call group")
    t.eq(got[2:3], [("ok", "<@%s> may act (in allowed_users)" % CAROL)],
         "Carol is in allowed_users")
    t.eq(got[3:4], [("fail", "the button press names no Slack user: refused, nothing "
                     "changed")], "no user: refused")
    t.eq([(e["channel"], e["user"], e["text"]) for e in sl.ephemeral_notes()],
         [(STRICT, ALICE, "You are not allowed to acknowledge incidents here; nothing "
           "changed.")], "an ephemeral note to Alice where she pressed")
    t.eq(len(sl.reqs("usergroups.users.list")) - before, 1, "the group was read once, then "
         "cached")
    t.eq(check("noscope", ALICE), [("fail", "usergroups.users.list: missing_scope (needs "
         "usergroups:read)")], "a token without usergroups:read: the scope is named")
    sl.fail(r"usergroups\.users\.list", status=429, headers={"Retry-After": "7"}, body="")
    got = check("strict", "U0MALLORY")
    t.eq([r for r, _ in got], ["retry"], "429 on usergroups.users.list: retry")
    sl.fail(r"chat\.postEphemeral", status=429, headers={"Retry-After": "3"}, body="")
    got = check("strict", "U0MALLORY", command="resolve")
    t.ok(got and got[0][0] == "retry" and "429" in got[0][1], "429 on the note: retry "
         "(the check is made again)", got)
    got = check("strict", "U0MALLORY", command="resolve")
    t.ok(got and got[0][0] == "fail" and "U0MALLORY" in got[0][1], "then refused", got)
    t.ok(any(e["user"] == "U0MALLORY" and "resolve" in e["text"]
             for e in sl.ephemeral_notes()), "the note said resolve")

    # --- a press on the incident's message: checked, applied, the message updated ----------
    msg = msgs[0] if msgs else {"ts": "?"}

    def real_press(action_id, user, name, n):
        p = sample_json("slack", "block_actions.json")
        p["container"].update(message_ts=msg["ts"], channel_id=INC)
        p["message"]["ts"] = msg["ts"]
        p["actions"][0].update(action_id=action_id, value=inc_id,
                               action_ts="1770001%03d.000001" % n)
        p["user"].update(id=user, username=name, name=name)
        st, _, _ = press(d, p)
        settled(d)
        return st

    def now_message():
        m = [x for x in sl.messages(INC) if x["ts"] == msg["ts"]]
        return m[0] if m else {"blocks": []}

    def context(m):
        return [b["elements"][0]["text"] for b in m["blocks"] if b["type"] == "context"]

    n_msgs = len(sl.messages(INC))
    t.eq(real_press("incidentd.ack", ALICE, "alice", 1), 200, "Alice presses Acknowledge")
    t.ok(d.scalar("SELECT acked_by FROM incidents WHERE id = ?", (inc_id,)) == "slack:" + ALICE,
         "the incident is acknowledged by slack:<her user ID>",
         d.sql("SELECT sink, state, last_error FROM deliveries ORDER BY id DESC LIMIT 4"))
    t.ok(re.match(r"^Acknowledged by <@%s> at \d\d:\d\d UTC$" % ALICE,
                  (context(now_message()) or [""])[0]),
         "the message says who acknowledged it, and when", context(now_message()))
    upd = [r for r in sl.reqs("chat.update") if (r.json or {}).get("channel") == INC]
    t.ok(upd and upd[-1].status == 200 and (upd[-1].answer or {}).get("ok"),
         "Slack accepted the chat.update (schema, ts, same bot)",
         upd[-1].answer if upd else None)
    t.eq(len(sl.messages(INC)), n_msgs, "updated in place: no new message")
    t.eq([b.get("action_id") for b in actions_of(now_message())], COMMANDS,
         "still firing: the buttons stay")
    t.eq(real_press("incidentd.silence.1h", ALICE, "alice", 2), 200, "Silence 1h")
    sil = d.sql("SELECT matchers, created_by FROM silences")
    t.ok(len(sil) == 1 and KEY in sil[0][0] and sil[0][1] == "slack:" + ALICE,
         "a silence of this incident, by slack:<her user ID>", sil)
    t.ok(re.match(r"^Silenced for 1h by <@%s> at \d\d:\d\d UTC$" % ALICE,
                  (context(now_message()) or [""])[0]), "the message says so",
         context(now_message()))
    # a hostile display name resolves it: the message shows the user ID, never the name
    t.eq(real_press("incidentd.resolve", "U0EVIL000", "<!channel> @here", 3), 200,
         "someone with a hostile name presses Resolve")
    t.eq(d.scalar("SELECT state FROM incidents WHERE id = ?", (inc_id,)), "resolved",
         "resolved by hand")
    text = json.dumps(now_message()["blocks"])
    t.ok("<!channel>" not in text and "@here" not in text and "<@U0EVIL000>" in text,
         "the update mentions the user ID only; the name is not in it", text[-600:])
    t.eq(actions_of(now_message()), [], "resolved: no buttons any more")
    t.eq(real_press("incidentd.ack", ALICE, "alice", 4), 200, "an ack after the resolve")
    t.ok(any("Not done" in c for c in context(now_message())),
         "the message says it was not done", context(now_message()))

    # --- nobody else speaks as Slack, GitHub or incidentd ---------------------------------
    before = d.scalar("SELECT count(*) FROM events")
    for src in ("slack", "github", "incidentd", "operator"):
        push(d, {"source": src, "type": "incident.command", "status": "info",
                 "summary": "forged " + src, "app": "aks-store",
                 "labels": {"command": "ack", "slack_user": ALICE, "reply": "forged"}})
    wait_until(lambda: metric(d, "incidentd_nanomsg_messages_total", 'result="rejected"') >= 4,
               10, 0.05)
    t.eq(d.scalar("SELECT count(*) FROM events"), before, "a nanomsg message naming source "
         "slack, github, incidentd or operator is refused")
    t.ok(d.count_log(r"source: 'incidentd' is reserved") >= 1, "the log says why")

    # --- configuration ---------------------------------------------------------------------
    for what, yaml, want in (
            ("no signing secret", "sources:\n  slack: {}\n",
             "sources.slack.signing_secret: required"),
            ("slack: alone", "sources:\n  slack:\n", "sources.slack.signing_secret: "
             "required"),
            ("an auth key", "sources:\n  slack: { signing_secret: x, auth: none }\n",
             "auth"),
            ("buttons on a webhook", "sinks:\n  s: { plugin: slack, webhook_url: "
             "'https://hooks.example/x', buttons: true }\nroutes:\n  - { name: r, sinks: [s] }\n",
             "buttons: only with token"),
            ("a bad user ID", "sinks:\n  s: { plugin: slack, token: xoxb-1, channel: C1, "
             "allowed_users: [alice] }\nroutes:\n  - { name: r, sinks: [s] }\n",
             "allowed_users[0]: expected Slack user IDs")):
        dd = os.path.join(d.dir, "cc-" + re.sub(r"\W", "", what))
        os.makedirs(dd)
        with open(os.path.join(dd, "10.yaml"), "w") as f:
            f.write(yaml)
        p = subprocess.run([INCIDENTD, "-c", dd, "--check-config", "--plugin-dir",
                            PLUGIN_DIR], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = (p.stdout + p.stderr).decode()
        t.ok(p.returncode == 1 and want in out, "--check-config: %s" % what, out)
    st, _, _ = d.request("POST", "/v1/slack/actions", b"", {})
    t.ok(st == 401, "the endpoint without headers: 401")
    d.stop()


run(main)
