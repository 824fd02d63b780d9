/* migrations.c - the ledger schema, as an ordered list of scripts. Script i moves the
 * schema from version i to i + 1 (PRAGMA user_version holds the applied count). Never
 * edit a released script: append a new one. Times are RFC 3339 UTC text with
 * milliseconds ("2026-02-10T03:01:12.000Z"), so they sort and read well in sqlite3. */
#include "store_int.h"

static const char migration_v1[] =
"CREATE TABLE incidents (\n"
"  id            TEXT PRIMARY KEY,   -- ULID, time-sortable\n"
"  key           TEXT NOT NULL,      -- grouping key, e.g. argocd/prod-west-aks/pets/aks-store;\n"
"                                    -- not unique: a resolved incident and a later one may share it\n"
"  route         TEXT NOT NULL,      -- conf.d route that owns the incident\n"
"  state         TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),\n"
"  source        TEXT,               -- source of the first event (argocd, alertmanager, ...)\n"
"  cluster       TEXT,\n"
"  namespace     TEXT,\n"
"  app           TEXT,\n"
"  title         TEXT,               -- one-line human title (summary of the last event)\n"
"  opened_at     TEXT NOT NULL,      -- first firing event\n"
"  updated_at    TEXT NOT NULL,      -- last event that changed the incident\n"
"  resolved_at   TEXT,               -- NULL while firing\n"
"  last_event_id TEXT,               -- events.id of the last event\n"
"  event_count   INTEGER NOT NULL DEFAULT 0, -- events that changed the incident\n"
"  refs          TEXT NOT NULL DEFAULT '{}'  -- JSON object: per-sink results, e.g.\n"
"                                    -- {\"github\": {\"issue\": 42, \"url\": \"...\"}}\n"
");\n"
"CREATE INDEX incidents_key ON incidents(key);\n"
"CREATE INDEX incidents_updated_at ON incidents(updated_at);\n"
"\n"
"CREATE TABLE events (\n"
"  id             TEXT PRIMARY KEY,  -- ULID, time-sortable\n"
"  source         TEXT NOT NULL,     -- argocd, alertmanager, flux, cloudevents, ...\n"
"  type           TEXT,              -- deployment.degraded, alert.firing, ...\n"
"  status         TEXT CHECK (status IN ('firing', 'resolved', 'info')),\n"
"  severity       TEXT,              -- critical, error, warning, info\n"
"  cluster        TEXT,\n"
"  namespace      TEXT,\n"
"  app            TEXT,              -- application, or Kind/name for Flux objects\n"
"  revision       TEXT,              -- git revision deployed\n"
"  repo_url       TEXT,\n"
"  summary        TEXT,              -- one line\n"
"  message        TEXT,              -- full text\n"
"  fingerprint    TEXT,              -- default identity of what the event is about\n"
"  incident_id    TEXT REFERENCES incidents(id), -- NULL when no route matched\n"
"  occurred_at    TEXT NOT NULL,     -- when it happened (the payload's time, else received_at)\n"
"  received_at    TEXT NOT NULL,     -- when incidentd received it\n"
"  payload_sha256 TEXT,              -- hex SHA-256 of the raw request body (idempotent ingest)\n"
"  event          TEXT NOT NULL,     -- the normalized event as JSON, without the payload\n"
"  payload        TEXT               -- the raw payload as JSON\n"
");\n"
"CREATE INDEX events_dedup ON events(source, payload_sha256, received_at);\n"
"CREATE INDEX events_incident ON events(incident_id);\n"
"\n"
"CREATE TABLE deliveries (\n"
"  id              INTEGER PRIMARY KEY, -- outbox row id\n"
"  incident_id     TEXT NOT NULL REFERENCES incidents(id),\n"
"  event_id        TEXT NOT NULL REFERENCES events(id), -- event that caused it\n"
"  sink            TEXT NOT NULL,     -- sink instance name from conf.d\n"
"  action          TEXT NOT NULL CHECK (action IN ('open', 'update', 'resolve')),\n"
"  state           TEXT NOT NULL CHECK (state IN ('blocked', 'pending', 'running', 'done',\n"
"                    'failed', 'cancelled')), -- blocked: waits for depends_on\n"
"  attempts        INTEGER NOT NULL DEFAULT 0, -- calls made to the sink so far\n"
"  next_attempt_at TEXT NOT NULL,     -- due time while pending\n"
"  created_at      TEXT NOT NULL,\n"
"  updated_at      TEXT NOT NULL,\n"
"  last_status     TEXT,              -- ok, retry, fail (last attempt)\n"
"  last_error      TEXT,              -- short detail from the sink; never a secret\n"
"  result          TEXT,              -- JSON object the sink returned, or NULL\n"
"  depends_on      INTEGER REFERENCES deliveries(id) -- runs after this delivery (sink after:)\n"
");\n"
"CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);\n"
"CREATE INDEX deliveries_incident ON deliveries(incident_id, sink, id);\n"
"CREATE INDEX deliveries_depends_on ON deliveries(depends_on);\n"
"\n"
"CREATE TABLE decisions (\n"
"  id          INTEGER PRIMARY KEY,\n"
"  event_id    TEXT NOT NULL REFERENCES events(id),\n"
"  incident_id TEXT REFERENCES incidents(id), -- NULL when no incident was involved\n"
"  seq         INTEGER NOT NULL,      -- order of the step within the event's trace\n"
"  step        TEXT NOT NULL,         -- route, match, debounce, incident, delivery, ...\n"
"  outcome     TEXT NOT NULL,         -- matched, skipped, opened, scheduled, ok, retry, ...\n"
"  detail      TEXT,                  -- human-readable why\n"
"  at          TEXT NOT NULL          -- when the step was recorded\n"
");\n"
"CREATE INDEX decisions_event ON decisions(event_id);\n"
"CREATE INDEX decisions_incident ON decisions(incident_id);\n";

/* v2: routes with `for:` hold their first notification; such a delivery is only made while
 * the incident is still firing. */
static const char migration_v2[] =
"ALTER TABLE deliveries ADD COLUMN requires_firing INTEGER NOT NULL DEFAULT 0;\n"
"  -- 1: a `for` window: deliver only if the incident is still firing when it is due\n";

/* v3: silences (incidentctl silence add/list/expire). */
static const char migration_v3[] =
"CREATE TABLE silences (\n"
"  id          TEXT PRIMARY KEY,  -- ULID\n"
"  matchers    TEXT NOT NULL,     -- JSON array of matcher strings, e.g. [\"app=aks-store\"]\n"
"  starts_at   TEXT NOT NULL,\n"
"  ends_at     TEXT NOT NULL,\n"
"  comment     TEXT NOT NULL,\n"
"  created_by  TEXT,\n"
"  created_at  TEXT NOT NULL,\n"
"  expired_at  TEXT               -- set by `incidentctl silence expire`\n"
");\n"
"CREATE INDEX silences_ends_at ON silences(ends_at);\n";

/* v4: the deliveries still to make, indexed by incident and sink, so ordering checks and
 * "is a notification held" stay cheap however long an incident's history grows. */
static const char migration_v4[] =
"CREATE INDEX deliveries_active ON deliveries(incident_id, sink, id)\n"
"  WHERE state IN ('blocked', 'pending', 'running');\n";

/* v5: requests. One row per accepted request body: idempotent ingest looks requests up
 * (one row, not one per event), and what a request's events share (Alertmanager's
 * top-level fields) is stored once there instead of in every event's payload. */
static const char migration_v5[] =
"CREATE TABLE requests (\n"
"  id             INTEGER PRIMARY KEY,\n"
"  source         TEXT NOT NULL,     -- argocd, alertmanager, ...\n"
"  received_at    TEXT NOT NULL,\n"
"  payload_sha256 TEXT NOT NULL,     -- hex SHA-256 of the body (idempotent ingest)\n"
"  shared         TEXT               -- JSON object: the payload members every event of the\n"
"                                    -- request shares, or NULL; an event's payload is this\n"
"                                    -- object plus the members in events.payload\n"
");\n"
"CREATE INDEX requests_dedup ON requests(source, payload_sha256, received_at);\n"
"ALTER TABLE events ADD COLUMN request_id INTEGER REFERENCES requests(id);\n"
"  -- the request the event came in; NULL for events stored before schema 5\n"
"CREATE INDEX events_request ON events(request_id);\n";

/* v6: inhibition (inhibit_rules): which firing incidents inhibit, per rule and per value
 * of the rule's equal fields. */
static const char migration_v6[] =
"CREATE TABLE inhibitors (\n"
"  rule        TEXT NOT NULL,     -- the inhibit rule as written (JSON), stable across reloads\n"
"  incident_id TEXT NOT NULL REFERENCES incidents(id), -- a firing incident matching its\n"
"                                 -- source matchers\n"
"  equal_key   TEXT NOT NULL,     -- JSON array: the incident's values of the equal fields\n"
"  since       TEXT NOT NULL,\n"
"  PRIMARY KEY (rule, incident_id)\n"
");\n"
"CREATE INDEX inhibitors_equal ON inhibitors(rule, equal_key);\n"
"CREATE INDEX inhibitors_incident ON inhibitors(incident_id);\n";

/* v7: operators re-drive failed deliveries (incidentctl retry): give-up is counted from
 * the last such retry. */
static const char migration_v7[] =
"ALTER TABLE deliveries ADD COLUMN retried_at TEXT;\n"
"  -- when an operator last re-drove it (incidentctl retry); give_up_after counts from here\n";

/* v8: a sink's note on its running delivery (host->note), e.g. the pid of the agent the
 * copilot_runner started, so that after a crash the run is finished (recover), not
 * started a second time. */
static const char migration_v8[] =
"ALTER TABLE deliveries ADD COLUMN note TEXT;\n"
"  -- JSON object the sink recorded while the delivery ran, or NULL; never a secret\n";

/* v9: the same constraints without IN lists. SQLite evaluates "x IN (a, b, c)" (more
 * than two constants) by building a temporary b-tree each time a statement runs, and the
 * CHECK constraints and the partial index did so on every event and delivery written
 * (about a tenth of ingest's instructions). The CHECKs are rewritten in place as SQLite
 * documents for constraint changes that leave the stored rows as they are (PRAGMA
 * writable_schema; the DDL below bumps the schema cookie, and store.c reconnects after
 * such a script); the index is rebuilt with DELIVERY_ACTIVE's predicate. Also: the
 * incident lookup by key reads the newest incident straight from its index (it sorted
 * every time), and events_dedup goes (idempotent ingest looks requests up since v5; the
 * index only cost a b-tree insert per event). */
static const char migration_v9[] =
"PRAGMA writable_schema = ON;\n"
"UPDATE sqlite_schema SET sql = replace(sql,\n"
"  'CHECK (status IN (''firing'', ''resolved'', ''info''))',\n"
"  'CHECK (status = ''firing'' OR status = ''resolved'' OR status = ''info'')')\n"
"  WHERE type = 'table' AND name = 'events';\n"
"UPDATE sqlite_schema SET sql = replace(replace(sql,\n"
"  'CHECK (action IN (''open'', ''update'', ''resolve''))',\n"
"  'CHECK (action = ''open'' OR action = ''update'' OR action = ''resolve'')'),\n"
"  'CHECK (state IN (''blocked'', ''pending'', ''running'', ''done'',\n"
"                    ''failed'', ''cancelled''))',\n"
"  'CHECK (state = ''blocked'' OR state = ''pending'' OR state = ''running'' OR\n"
"                    state = ''done'' OR state = ''failed'' OR state = ''cancelled'')')\n"
"  WHERE type = 'table' AND name = 'deliveries';\n"
"PRAGMA writable_schema = OFF;\n"
"DROP INDEX deliveries_active;\n"
"CREATE INDEX deliveries_active ON deliveries(incident_id, sink, id)\n"
"  WHERE (state = 'blocked' OR state = 'pending' OR state = 'running');\n"
"DROP INDEX incidents_key;\n"
"CREATE INDEX incidents_key ON incidents(key, opened_at, id);\n"
"DROP INDEX events_dedup;\n";

/* v10: retention and the outbox gauges. Deleting an event checks the deliveries that refer
 * to it (a foreign key) and pruning asks "does a delivery still need this event": both
 * look deliveries up by event. The backlog index covers the /metrics questions "how many
 * deliveries wait or run, per sink and state" and "since when is the oldest one due"
 * without reading the table; it holds the unfinished rows only (DELIVERY_ACTIVE's
 * predicate, as comparisons: see v9). */
static const char migration_v10[] =
"CREATE INDEX deliveries_event ON deliveries(event_id);\n"
"CREATE INDEX deliveries_backlog ON deliveries(state, sink, next_attempt_at)\n"
"  WHERE (state = 'blocked' OR state = 'pending' OR state = 'running');\n";

/* v11: people answer back. A person who takes an incident (closes its GitHub issue, or
 * incidentctl ack) acknowledges the episode: no update notifications until it resolves
 * (which clears it). A pull request that references the incident's issue is its fix; when
 * it is merged, the time to fix is fix_merged_at - opened_at. */
static const char migration_v11[] =
"ALTER TABLE incidents ADD COLUMN acked_by TEXT;  -- who, e.g. \"github:alice\"; NULL if nobody\n"
"ALTER TABLE incidents ADD COLUMN acked_at TEXT;\n"
"ALTER TABLE incidents ADD COLUMN fix_pr TEXT;    -- \"owner/repo#77\"\n"
"ALTER TABLE incidents ADD COLUMN fix_url TEXT;\n"
"ALTER TABLE incidents ADD COLUMN fix_merged_at TEXT;\n";

/* v12: several replicas share a PostgreSQL ledger. A delivery in state running is claimed
 * by the process running it until its lease ends; that process renews the lease while it
 * lives, and another replica takes over (recovers) a delivery whose lease has ended.
 * Pacing lanes (e.g. >= 1 s between mutating GitHub requests per token) are rows, so the
 * replicas pace together (one SQLite process keeps them in memory); so are the sinks'
 * quotas (e.g. runs per day) and concurrency slots. */
static const char migration_v12[] =
"ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;   -- the incidentd process running it\n"
"ALTER TABLE deliveries ADD COLUMN lease_until TEXT;  -- its claim ends then, unless renewed\n"
"CREATE TABLE pace_lanes (      -- pacing shared by replicas (e.g. one lane per GitHub\n"
"  lane    TEXT PRIMARY KEY,     -- token, named by a digest of it: never the token)\n"
"  next_ms BIGINT NOT NULL,      -- the next free slot, ms since the epoch\n"
"  hold_ms BIGINT NOT NULL DEFAULT 0 -- nothing on the lane before this (a rate limit)\n"
");\n"
"CREATE TABLE quotas (          -- counters per period shared by replicas (host->quota_take,\n"
"  name      TEXT,              -- e.g. the copilot_runner's runs per UTC day)\n"
"  period_ms BIGINT,            -- the period's start, ms since the epoch\n"
"  used      BIGINT NOT NULL,   -- units taken in it\n"
"  PRIMARY KEY (name, period_ms)\n"
");\n"
"CREATE TABLE slots (           -- concurrency shared by replicas (host->slot_take): a slot\n"
"  name        TEXT,            -- counts while its delivery is running\n"
"  delivery_id BIGINT REFERENCES deliveries(id),\n"
"  PRIMARY KEY (name, delivery_id)\n"
");\n"
"CREATE INDEX slots_delivery ON slots(delivery_id);\n";

/* What writes through the `decisions` view do (v13; v14 makes the view again, and its
 * triggers with it): an insert is a traces row of one step, a delete deletes a traces row. */
#define DECISIONS_TRIGGERS \
"CREATE TRIGGER decisions_insert INSTEAD OF INSERT ON decisions BEGIN\n"\
"  INSERT INTO traces (event_id, incident_id, at, steps) VALUES (NEW.event_id,\n"\
"    NEW.incident_id, NEW.at, json_array(json_array(NEW.seq, NEW.step, NEW.outcome,\n"\
"    NEW.detail)));\n"\
"END;\n"\
"CREATE TRIGGER decisions_delete INSTEAD OF DELETE ON decisions BEGIN\n"\
"  DELETE FROM traces WHERE id = OLD.id;\n"\
"END;\n"

/* v13: the decision trace is stored per step group, not per step. One event's routing and
 * incident steps (and each delivery attempt) are one row of `traces` whose `steps` hold
 * them as a JSON array of [seq, step, outcome, detail]: a quarter of the rows and index
 * entries the per-step table cost on every event. `decisions` stays, as a view with the
 * same columns as the table it replaces (its id is the trace row's, shared by the steps of
 * one row), so queries written against it keep working, and so do writes: a replica of
 * the previous version still running beside this one during a rolling upgrade (PostgreSQL)
 * inserts and deletes through it (an INSERT writes a one-step trace row; a DELETE of a
 * step deletes its whole row, which retention deletes whole anyway). The index of chained deliveries
 * holds only those that wait for another (every query on it asks for one id). */
static const char migration_v13[] =
"CREATE TABLE traces (\n"
"  id          INTEGER PRIMARY KEY,\n"
"  event_id    TEXT NOT NULL REFERENCES events(id),\n"
"  incident_id TEXT REFERENCES incidents(id), -- NULL when no incident was involved\n"
"  at          TEXT NOT NULL,         -- when the steps were recorded\n"
"  steps       TEXT NOT NULL          -- JSON array of [seq, step, outcome, detail]\n"
");\n"
"INSERT INTO traces (id, event_id, incident_id, at, steps)\n"
"  SELECT id, event_id, incident_id, at, json_array(json_array(seq, step, outcome, detail))\n"
"  FROM decisions ORDER BY id;\n"
"DROP TABLE decisions;\n"
"CREATE INDEX traces_event ON traces(event_id);\n"
"CREATE INDEX traces_incident ON traces(incident_id);\n"
"CREATE VIEW decisions (id, event_id, incident_id, seq, step, outcome, detail, at) AS\n"
"  SELECT t.id, t.event_id, t.incident_id, json_extract(s.value, '$[0]'),\n"
"    json_extract(s.value, '$[1]'), json_extract(s.value, '$[2]'),\n"
"    json_extract(s.value, '$[3]'), t.at\n"
"  FROM traces AS t, json_each(t.steps) AS s;\n"
DECISIONS_TRIGGERS
"DROP INDEX deliveries_depends_on;\n"
"CREATE INDEX deliveries_depends_on ON deliveries(depends_on) WHERE depends_on IS NOT NULL;\n";

/* v14: the decision trace moves into the rows it is about, out of `traces`. What an event
 * did (its route, its incident's transition, the deliveries scheduled or skipped: the steps
 * about the event's own incident) is written in the event's row, events.steps; each
 * attempt of a delivery (its outcome, a cancellation, a recovery) is appended to the
 * delivery's row, deliveries.steps, by the UPDATE that records it. Both are JSON arrays of
 * [seq, step, outcome, detail, at]. That spares every event two traces rows and their four
 * index entries. `traces` keeps the rest: the steps about another incident than the
 * event's (a route with continue: true), operator commands, GitHub and Slack feedback,
 * reconciliation, and every row written before. `decisions` reads all three; its id is
 * NULL for a step that is no traces row, and a DELETE through the view leaves those alone:
 * they go with their row. An event's row is now written after the deliveries and traces
 * rows that name it (its steps name them), so those two references are checked at the
 * commit: DEFERRABLE INITIALLY DEFERRED, set in the stored table definitions (that changes
 * nothing on disk; RESET makes this connection read the schema again, and the view's DDL
 * bumps the schema cookie for the others). */
static const char migration_v14[] =
"PRAGMA writable_schema = ON;\n"
"UPDATE sqlite_schema SET sql = replace(sql, 'REFERENCES events(id)',\n"
"  'REFERENCES events(id) DEFERRABLE INITIALLY DEFERRED')\n"
"  WHERE type = 'table' AND name IN ('deliveries', 'traces');\n"
"PRAGMA writable_schema = RESET;\n"
"PRAGMA writable_schema = OFF;\n"
"ALTER TABLE events ADD COLUMN steps TEXT;\n"
"  -- JSON array of [seq, step, outcome, detail, at]: what the event did to its incident\n"
"ALTER TABLE deliveries ADD COLUMN steps TEXT;\n"
"  -- JSON array of [seq, step, outcome, detail, at]: the trace of its attempts, or NULL\n"
"DROP VIEW decisions;\n"
"CREATE VIEW decisions (id, event_id, incident_id, seq, step, outcome, detail, at) AS\n"
"  SELECT t.id, t.event_id, t.incident_id, json_extract(s.value, '$[0]'),\n"
"    json_extract(s.value, '$[1]'), json_extract(s.value, '$[2]'),\n"
"    json_extract(s.value, '$[3]'), t.at\n"
"  FROM traces AS t, json_each(t.steps) AS s\n"
"  UNION ALL\n"
"  SELECT NULL, e.id, e.incident_id, json_extract(s.value, '$[0]'),\n"
"    json_extract(s.value, '$[1]'), json_extract(s.value, '$[2]'),\n"
"    json_extract(s.value, '$[3]'), json_extract(s.value, '$[4]')\n"
"  FROM events AS e, json_each(e.steps) AS s\n"
"  UNION ALL\n"
"  SELECT NULL, d.event_id, d.incident_id, json_extract(s.value, '$[0]'),\n"
"    json_extract(s.value, '$[1]'), json_extract(s.value, '$[2]'),\n"
"    json_extract(s.value, '$[3]'), json_extract(s.value, '$[4]')\n"
"  FROM deliveries AS d, json_each(d.steps) AS s;\n"
DECISIONS_TRIGGERS;

const char *const store_migrations[] = {
	migration_v1,
	migration_v2,
	migration_v3,
	migration_v4,
	migration_v5,
	migration_v6,
	migration_v7,
	migration_v8,
	migration_v9,
	migration_v10,
	migration_v11,
	migration_v12,
	migration_v13,
	migration_v14,
};

const size_t store_n_migrations = sizeof(store_migrations) / sizeof(store_migrations[0]);

_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) == STORE_SCHEMA_VERSION,
    "STORE_SCHEMA_VERSION must equal the number of migrations");
