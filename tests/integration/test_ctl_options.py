#!/usr/bin/env python3
"""incidentctl's global options (--db, --json) are accepted after the command as well as
before it (`incidentctl events --db X --json`, as kubectl and amtool users type them), for
every command (ledger readers, rules test, the operator verbs through the API, stats,
backup); a command's own options keep working, including one whose value looks like
a global option (`--comment --json`), and "--" still ends the options."""

import json
import os
import subprocess

import harness
from harness import Daemon, sample_json


def ctl(*args):
    """incidentctl without the harness's leading --db: every option as given."""
    p = subprocess.run([harness.INCIDENTCTL] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30, cwd=os.environ.get("TMPDIR", "/tmp"))
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def as_json(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


def main(t):
    d = Daemon(t, {"10.yaml": "sources:\n  argocd: { auth: none }\n"
                   "sinks:\n  log: { plugin: log }\n"
                   "routes:\n  - { name: default, sinks: [log] }\n"})
    st, _, ans = d.post("/v1/events/argocd",
                        sample_json("argocd", "seed-aks-store-degraded.client_payload.json"))
    t.eq(st, 202, "an event to list")
    ev = ans["events"][0]
    db = d.db

    rc, out, err = ctl("events", "--db", db, "--json")
    lst = as_json(out)
    t.ok(rc == 0 and isinstance(lst, list) and lst[0]["id"] == ev,
         "events --db PATH --json", out + err)
    rc, out, err = ctl("events", "--json", "--db=" + db, "--limit", "1")
    t.ok(rc == 0 and len(as_json(out) or []) == 1, "events --json --db=PATH --limit 1",
         out + err)
    rc, out, err = ctl("--json", "incidents", "--db", db)
    t.ok(rc == 0 and isinstance(as_json(out), list) and len(as_json(out)) == 1,
         "--json before, --db after the command", out + err)
    rc, out, err = ctl("deliveries", "--db", db, "--json", "--limit", "5")
    t.ok(rc == 0 and isinstance(as_json(out), list), "deliveries --db PATH --json", out + err)
    rc, out, err = ctl("event", ev, "--db", db)
    t.ok(rc == 0 and (as_json(out) or {}).get("id") == ev, "event ID --db PATH", out + err)
    rc, out, err = ctl("explain", ev, "--json", "--db", db)
    t.ok(rc == 0 and "decisions" in (as_json(out) or {}), "explain ID --json --db PATH",
         out + err)
    rc, out, err = ctl("--db", "/nonexistent/ledger.db", "events", "--db", db)
    t.ok(rc == 0 and ev in out, "the later --db wins", out + err)

    # a command's own option keeps its value, even one that looks like a global option
    rc, out, err = ctl("silence", "add", "app=x", "--for", "1h", "--comment", "--json",
                       "--db", db)
    t.eq(rc, 0, "silence add ... --comment --json --db PATH")
    rc, out, err = ctl("silence", "list", "--db", db, "--json")
    lst = as_json(out)
    t.ok(rc == 0 and isinstance(lst, list) and lst[0]["comment"] == "--json",
         "silence list --db PATH --json; the comment is '--json'", out + err)

    # rules test (no ledger) takes --json after the command too
    rc, out, err = ctl("rules", "test", "--config", d.confd, "--event",
                       os.path.join(harness.SAMPLES_DIR, "argocd",
                                    "seed-aks-store-degraded.client_payload.json"), "--json")
    plans = as_json(out)
    t.ok(rc == 0 and isinstance(plans, list) and plans[0]["taken"] == ["default"],
         "rules test ... --json", out + err)

    # the operator verbs (through the daemon's API) and stats take them after the command
    url = "http://127.0.0.1:%d" % d.port
    rc, out, err = ctl("health", "--url", url, "--json", "--db", db)
    t.ok(rc == 0 and (as_json(out) or {}).get("status") == "ok", "health --url URL --json",
         out + err)
    rc, out, err = ctl("fire", "--source", "argocd", "--json", "--url", url)
    t.ok(rc == 0 and isinstance(as_json(out), dict), "fire --source S --json --url URL",
         out + err)
    inc = (as_json(ctl("incidents", "--db", db, "--json")[1]) or [{}])[-1].get("id")
    rc, out, err = ctl("resolve", str(inc), "--comment", "--json", "--url", url, "--json")
    t.ok(rc == 0 and isinstance(as_json(out), dict), "resolve ID --comment --json ... "
         "--json: the first --json is the comment", out + err)
    rc, out, err = ctl("stats", "--db", db, "--since", "1h", "--json")
    st = as_json(out)
    t.ok(rc == 0 and isinstance(st, dict), "stats --db PATH --since 1h --json", out + err)

    # backup (the ledger on connections of its own) too
    copy = os.path.join(d.dir, "copy.db")
    if d.pg:
        rc, out, err = ctl("backup", copy, "--db", db, "--json")
        t.ok(rc == 1 and "pg_dump" in err and not os.path.exists(copy),
             "backup FILE --db postgresql://...: refused, pg_dump named", out + err)
    else:
        rc, out, err = ctl("backup", copy, "--db", db, "--json")
        t.ok(rc == 0 and (as_json(out) or {}).get("file") == copy,
             "backup FILE --db PATH --json", out + err)
        rc, out, err = ctl("backup", "--json", "--force", copy, "--db=" + db)
        t.ok(rc == 0 and (as_json(out) or {}).get("integrity_check") == "ok",
             "backup --json --force FILE --db=PATH", out + err)

    # usage errors stay usage errors
    rc, out, err = ctl("events", "--db")
    t.ok(rc == 2 and "option '--db' is unknown or needs a value" in err,
         "--db without a value: usage error", err)
    rc, out, err = ctl("events", "--db", db, "--", "--json")
    t.ok(rc == 2 and "unexpected argument '--json'" in err, "-- ends the options", err)
    rc, out, err = ctl("events", "--db", db, "--bogus")
    t.ok(rc == 2 and "option '--bogus' is unknown" in err, "unknown options still refused",
         err)
    rc, out, err = ctl("--help")
    t.ok(rc == 0 and "--db and --json go before or after the command" in out,
         "the usage text says so", out)


if __name__ == "__main__":
    harness.run(main)
