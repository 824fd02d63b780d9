// validate.mjs - check Kubernetes objects against the Kubernetes and CRD schemas, offline.
//
//   node validate.mjs FILE...     (YAML; "-" reads stdin; several documents per file)
//
// Each document is validated with the model of its apiVersion and kind from the pinned
// packages of package.json: kubernetes-models (the built-in API), the Prometheus Operator,
// Flux and CloudNativePG CRDs. A kind no package knows is an error, never a pass. Prints
// one JSON line per document, {"file", "index", "object", "ok", "error", "doc"} (doc: the
// document as JSON, for tests that look inside); exits 1 when any failed.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const PACKAGES = [
  "kubernetes-models",
  "@kubernetes-models/prometheus-operator",
  "@kubernetes-models/flux-cd",
  "@kubernetes-models/cloudnative-pg",
];

async function modelOf(apiVersion, kind) {
  for (const pkg of PACKAGES) {
    try {
      const mod = await import(`${pkg}/${apiVersion}/${kind}`);
      if (mod[kind]) return mod[kind];
    } catch (e) {
      if (e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED" && e.code !== "ERR_MODULE_NOT_FOUND")
        throw e;
    }
  }
  return null;
}

async function check(doc) {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    return "not an object";
  if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string")
    return "apiVersion and kind are required";
  const Model = await modelOf(doc.apiVersion, doc.kind);
  if (Model === null) return `no schema for ${doc.apiVersion} ${doc.kind}`;
  try {
    new Model(doc).validate();
  } catch (e) {
    return String(e.message || e);
  }
  return null;
}

let failed = 0;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  const docs = parseAllDocuments(text);
  let index = 0;
  for (const d of docs) {
    if (d.errors.length) {
      console.log(JSON.stringify({ file, index, ok: false, error: String(d.errors[0]) }));
      failed++;
      index++;
      continue;
    }
    const doc = d.toJS();
    if (doc === null) continue;          // an empty document (a trailing ---)
    const error = await check(doc);
    const object = `${doc.kind}/${doc.metadata?.namespace ?? ""}/${doc.metadata?.name ?? ""}`;
    console.log(JSON.stringify({ file, index, object, ok: error === null, error, doc }));
    if (error !== null) failed++;
    index++;
  }
}
process.exit(failed ? 1 : 0);
