"""The sink plugin example of docs/plugins.md: the page shows docs/examples/ticket_sink.c
verbatim, and that file builds and delivers through the real daemon."""

import os
import re

from harness import Daemon, run, sample, wait_until

DOCS_DIR = os.environ.get("DOCS_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs")
EXAMPLE = os.environ.get("EXAMPLE_PLUGIN") or os.path.join(
    os.path.dirname(DOCS_DIR), "docs", "examples", ".libs", "ticket_sink.so")


def main(t):
    with open(os.path.join(DOCS_DIR, "plugins.md")) as f:
        page = f.read()
    with open(os.path.join(DOCS_DIR, "examples", "ticket_sink.c")) as f:
        source = f.read()
    blocks = re.findall(r"```c\n(.*?)```", page, re.S)
    t.ok(source in blocks, "docs/plugins.md shows docs/examples/ticket_sink.c verbatim")
    body = re.search(r"\nticket_deliver\(.*?\n}\n", source, re.S)
    t.ok(body is not None and not re.search(r"(->|\b)done\((call|j->call)", body.group(0)),
         "the example's deliver() never calls done() itself")

    confd = {"10-test.yaml": "sources:\n  argocd: { auth: none }\n"
             "sinks:\n  tickets: { plugin: %s }\n"
             "routes:\n  - name: default\n    sinks: [tickets]\n" % EXAMPLE}
    d = Daemon(t, confd)
    st, _, body = d.post("/v1/events/argocd",
                         sample("argocd", "seed-aks-store-degraded.client_payload.json"))
    t.eq(st, 202, "the sample is accepted")
    done = wait_until(lambda: d.scalar(
        "select count(*) from deliveries where sink = 'tickets' and state = 'done'") == 1)
    t.ok(done, "the example sink completes its delivery", d.lines()[-20:])
    refs = d.scalar("select refs from incidents")
    t.ok(refs is not None and '"tickets":{"ticket":1}' in refs.replace(" ", ""),
         "its result is stored on the incident", refs)
    t.ok(d.wait_log(r"sink/tickets: delivery \d+: open of argocd/prod-west-aks/pets/aks-store"
                    r" -> ticket 1", 5), "its log line names the delivery")
    d.stop()


run(main)
