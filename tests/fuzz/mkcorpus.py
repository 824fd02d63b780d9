#!/usr/bin/env python3
"""mkcorpus.py SRCDIR OUTDIR - write the seed corpora of the fuzz targets.

OUTDIR/<target>/seed-* are made from the samples in SRCDIR/tests/samples (and conf.d, and
tests/fuzz/seeds) in the input format each target documents at its top. Files are only
rewritten when their content changes; inputs libFuzzer added to the same folders are kept.
"""
import json
import os
import sys
import urllib.parse


def write(outdir, target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "seed-" + name)
    if isinstance(data, str):
        data = data.encode()
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return
    except FileNotFoundError:
        pass
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def files(folder, ends=(".json",)):
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(ends))


def read(path):
    with open(path, "rb") as f:
        return f.read()


# Names the normalizers build summaries, app names and fingerprints from: the long_names()
# variant of a sample makes them longer than any fixed buffer, in two-byte characters.
NAME_KEYS = {"app_name", "cluster", "namespace", "name", "kind", "reason", "source",
             "subject", "id", "alertname"}


def long_names(value, pad):
    if isinstance(value, dict):
        return {k: (v + pad if k in NAME_KEYS and isinstance(v, str)
                    else long_names(v, pad)) for k, v in value.items()}
    if isinstance(value, list):
        return [long_names(v, pad) for v in value]
    return value


def long_seeds(data):
    """Two variants, one byte apart, so a cut lands inside a character in one of them."""
    j = json.loads(data)
    return [json.dumps(long_names(j, pad), ensure_ascii=False).encode()
            for pad in ("\u00e9" * 300, "x" + "\u00e9" * 300)]


def binary_mode(event):
    """A structured CloudEvent as binary mode: ce-* headers, a blank line, the data."""
    lines = []
    for k, v in event.items():
        if k in ("data", "data_base64"):
            continue
        name = "Content-Type" if k == "datacontenttype" else "ce-" + k
        lines.append("%s: %s" % (name, v if isinstance(v, str) else json.dumps(v)))
    if "datacontenttype" not in event:
        lines.append("Content-Type: application/json")
    return ("\n".join(lines) + "\n\n").encode() + json.dumps(event.get("data")).encode()


def main():
    src, out = sys.argv[1], sys.argv[2]
    samples = os.path.join(src, "tests", "samples")
    base = os.path.basename

    for target, folder in (("argocd", "argocd"), ("alertmanager", "alertmanager"),
                           ("flux", "flux")):
        for p in files(os.path.join(samples, folder)):
            write(out, target, base(p), read(p))
            for i, d in enumerate(long_seeds(read(p))):
                write(out, target, "long%d-%s" % (i, base(p)), d)

    # fuzz_ingest: endpoint byte then body
    ingest = {"0": "argocd", "1": "argocd", "2": "alertmanager", "3": "flux"}
    for ep, folder in ingest.items():
        for p in files(os.path.join(samples, folder)):
            write(out, "ingest", ep + "-" + base(p), ep.encode() + read(p))

    # fuzz_ingest's nanomsg endpoints (7..11) and fuzz_native
    for ep, folder in (("7", "argocd"), ("8", "alertmanager"), ("9", "flux"),
                       (":", "cloudevents"), (";", "event")):
        for p in files(os.path.join(samples, folder)):
            write(out, "ingest", ep + "-" + base(p), ep.encode() + read(p))
    for p in files(os.path.join(samples, "event")):
        write(out, "native", base(p), read(p))
        for i, d in enumerate(long_seeds(read(p))):
            write(out, "native", "long%d-%s" % (i, base(p)), d)

    # fuzz_cloudevents: mode byte, header block (may be empty), body
    for p in files(os.path.join(samples, "cloudevents")):
        body = read(p)
        if base(p).startswith("seed-batch"):
            write(out, "cloudevents", "2-" + base(p), b"2\n" + body)
            write(out, "ingest", "5-" + base(p), b"5" + body)
            for i, ev in enumerate(json.loads(body)):
                write(out, "cloudevents", "1-%d-%s" % (i, base(p)), b"1" + binary_mode(ev))
            continue
        write(out, "cloudevents", "0-" + base(p), b"0\n" + body)
        for i, d in enumerate(long_seeds(body)):
            write(out, "cloudevents", "0-long%d-%s" % (i, base(p)), b"0\n" + d)
        write(out, "cloudevents", "1-" + base(p), b"1" + binary_mode(json.loads(body)))
        write(out, "cloudevents", "1-structured-" + base(p),
              b"1Content-Type: application/json\n\n" + body)
        write(out, "ingest", "4-" + base(p), b"4" + body)
        write(out, "ingest", "6-" + base(p), b"6" + body)

    # fuzz_github: header block, then GitHub webhook bodies about incidentd's issues and the
    # pull requests that reference them (markers, closing keywords, links)
    marker = "<!-- incidentd:incident=argocd/prod-west-aks/pets/aks-store -->"
    user = {"login": "alice", "type": "User"}
    gh = {
        "issues-closed": ("issues", {"action": "closed", "issue": {
            "number": 12, "body": "body\n" + marker, "user": {"login": "incidentd-bot"}},
            "repository": {"full_name": "my-org/platform-incidents"}, "sender": user}),
        "issues-transferred": ("issues", {"action": "transferred", "issue": {"number": 3},
            "changes": {"new_repository": {"full_name": "my-org/other"}},
            "repository": {"full_name": "my-org/platform-incidents"}, "sender": user}),
        "pr-merged": ("pull_request", {"action": "closed", "number": 77, "pull_request": {
            "number": 77, "merged": True, "title": "Fixes #12",
            "body": "Closes my-org/platform-incidents#12, fixed: #4 see "
                    "https://github.com/my-org/platform-incidents/issues/12\n" + marker,
            "html_url": "https://github.com/my-org/shop/pull/77"},
            "repository": {"full_name": "my-org/shop"}, "sender": user}),
        "ping": ("ping", {"zen": "Keep it logically awesome.", "hook_id": 1}),
    }
    for name, (event, body) in gh.items():
        write(out, "github", name, ("X-GitHub-Event: %s\nX-GitHub-Delivery: d-%s\n\n" %
                                    (event, name)).encode() + json.dumps(body).encode())

    # fuzz_slack: interactivity bodies (the form Slack posts) and comment bodies
    for p in files(os.path.join(samples, "slack")):
        raw = read(p).decode()
        write(out, "slack", base(p), "payload=" + urllib.parse.quote(raw, safe=""))
    for name, text in (("ack", "Looking.\n/incidentd ack on it\n"),
                       ("silence", "/incidentd silence 2h vendor"),
                       ("fenced", "```\n/incidentd resolve\n```\n/incidentd doctor"),
                       ("bad", "/incidentd <b>x</b>")):
        write(out, "slack", "comment-" + name, text)

    # fuzz_jsonread: request bodies as they are, and the JSON seeds (escapes, numbers, nesting)
    for folder in ("argocd", "alertmanager", "flux", "cloudevents", "event"):
        for p in files(os.path.join(samples, folder)):
            write(out, "jsonread", folder + "-" + base(p), read(p))
    for p in files(os.path.join(src, "tests", "fuzz", "seeds")):
        write(out, "jsonread", base(p), read(p))

    # fuzz_config: YAML documents
    for p in files(os.path.join(src, "conf.d"), (".yaml",)):
        write(out, "config", base(p), read(p))
    for p in files(os.path.join(src, "tests", "fuzz", "seeds"), (".yaml",)):
        write(out, "config", base(p), read(p))
    for p in files(os.path.join(samples, "alertmanager"), (".yml",)) + \
            files(os.path.join(samples, "kube"), (".yaml",)):
        write(out, "config", base(p), read(p))

    # fuzz_template: flag byte (1 = HTML escaping, as the spec expects), template, NUL, data
    for p in files(os.path.join(samples, "mustache-spec")):
        stem = base(p)[:-len(".json")]
        for i, t in enumerate(json.loads(read(p)).get("tests", [])):
            if "partials" in t:
                continue
            write(out, "template", "%s-%02d" % (stem, i),
                  b"1" + t["template"].encode() + b"\0" + json.dumps(t["data"]).encode())
    write(out, "template", "issue-title",
          b"0ArgoCD Deployment Failed: {{app}}{{#issue}} (#{{number}}){{/issue}}")
    write(out, "template", "prompt",
          b"0Diagnose {{app}} in {{cluster}}/{{namespace}} ({{identity}}).\n"
          b"{{#resources}}- {{kind}} {{name}}{{^name}}(unnamed){{/name}}\n{{/resources}}"
          b"{{! no message }}{{{summary}}} {{&summary}} {{summary}} {{n}} {{.}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
