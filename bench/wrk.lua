-- wrk.lua: the request bodies of the ingest benchmark (see bench/README.md).
--
--   wrk ... -s wrk.lua URL -- argocd FILE NONCE
--       POST /v1/events/argocd: the Argo CD sample FILE (a client_payload) with
--       "app_name" set to bench-<n mod 1000> and "revision" to 40 hex digits unique per
--       request: the NONCE, the wrk thread and the request number (bench/loadgen.c makes
--       the same bodies with its own tag in place of the thread, so the two never collide).
--   wrk ... -s wrk.lua URL -- alertmanager NONCE [ALERTS]
--       POST /v1/events/alertmanager: an Alertmanager webhook body (payload version 4) of
--       ALERTS (default 100) firing alerts, each with its own labels and fingerprint.
--   wrk ... -s wrk.lua URL -- am-api NONCE [ALERTS]
--       POST /api/v2/alerts of Prometheus Alertmanager: the same alerts as a list of
--       postable alerts (Alertmanager computes their fingerprints from the labels).
--   The alerts start when wrk starts: Alertmanager sends a group at once when its first
--   alert is older than group_wait, and the benchmark wants it to wait.
--
-- The bodies are unique per run (NONCE), thread and request, so incidentd never answers
-- "duplicate" (counted in the summary line; it should be 0).
--
-- done() prints one line that run.sh parses:
--   bench: requests=N ok=N seconds=S rps=R p50_ms=X p99_ms=Y non2xx=N errors=N duplicates=N
-- (ok: 2xx answers; errors: connect/read/write errors and timeouts)

local threads = {}
local thread_count = 0
local napps = 1000
local alerts_per_request = 100

-- main Lua state: number the threads so their bodies never collide
function setup(thread)
	thread:set("tid", thread_count)
	thread_count = thread_count + 1
	table.insert(threads, thread)
end

local mode
local nonce
local n = 0
duplicates = 0                  -- global: read by done() through thread:get()

-- --- Argo CD ----------------------------------------------------------------------------

local pre, mid, post, app_first  -- the sample around the two varied values

-- the position of the one string value of "key" in text (start and end of the value)
local function find_value(text, key)
	local s, e, v = text:find('"' .. key .. '"%s*:%s*"([^"\\]*)"')
	if not s or text:find('"' .. key .. '"%s*:', e + 1) then
		error(string.format('wrk.lua: expected one plain string "%s" in the sample', key))
	end
	local vs = e - #v            -- the value sits just before the closing quote at e
	return vs, e - 1
end

local function argocd_init(path)
	local f, err = io.open(path, "rb")
	if not f then
		error("wrk.lua: cannot open the sample: " .. tostring(err))
	end
	local text = f:read("*a")
	f:close()
	local as, ae = find_value(text, "app_name")
	local rs, re = find_value(text, "revision")
	app_first = as < rs
	local s1, e1, s2, e2 = as, ae, rs, re
	if not app_first then
		s1, e1, s2, e2 = rs, re, as, ae
	end
	pre = text:sub(1, s1 - 1)
	mid = text:sub(e1 + 1, s2 - 1)
	post = text:sub(e2 + 1)
	wrk.path = "/v1/events/argocd"
end

local function argocd_body()
	local app = "bench-" .. (n % napps)
	-- %024d: decimal digits are hex digits too; 8 + 8 + 24 = 40
	local rev = string.format("%08x%08x%024d", nonce, tid, n)
	if app_first then
		return pre .. app .. mid .. rev .. post
	end
	return pre .. rev .. mid .. app .. post
end

-- --- Alertmanager -----------------------------------------------------------------------
-- One alert is KubePodCrashLooping of the samples (tests/samples/alertmanager/), its pod and
-- uid made unique by its 16-hex-digit id: nonce, thread, request and index in the request.

local alert_labels_pre = '{"alertname":"KubePodCrashLooping","container":"checkout",' ..
    '"instance":"10.244.2.17:8443","job":"kube-state-metrics","namespace":"payments",' ..
    '"pod":"checkout-api-'
local alert_labels_mid = '","prometheus":"monitoring/k8s","reason":"CrashLoopBackOff",' ..
    '"severity":"warning","uid":"'
local alert_rest_pre = '"},"annotations":{"description":"Pod payments/checkout-api ' ..
    '(checkout) is in waiting state (reason: \\"CrashLoopBackOff\\").","runbook_url":' ..
    '"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",' ..
    '"summary":"Pod is crash looping."},"startsAt":"'
local alert_rest -- alert_rest_pre, the start time, then:
local alert_rest_post = '","generatorURL":"http://prometheus-k8s-0:9090/graph?g0.expr=kube_pod_container_status' ..
    '_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%7D&g0.tab=1"'
local webhook_head = '{"version":"4","groupKey":"{}:{alertname=\\"KubePodCrashLooping\\"}",' ..
    '"truncatedAlerts":0,"status":"firing","receiver":"incidentd",' ..
    '"groupLabels":{"alertname":"KubePodCrashLooping"},"commonLabels":{"alertname":' ..
    '"KubePodCrashLooping","container":"checkout","instance":"10.244.2.17:8443","job":' ..
    '"kube-state-metrics","namespace":"payments","prometheus":"monitoring/k8s","reason":' ..
    '"CrashLoopBackOff","severity":"warning"},"commonAnnotations":{"summary":' ..
    '"Pod is crash looping."},"externalURL":"http://alertmanager.monitoring.svc:9093",' ..
    '"alerts":['

local function alerts_body()
	local parts = {}
	for i = 1, alerts_per_request do
		local id = string.format("%04x%02x%08x%02x", nonce % 65536, tid % 256,
		    n % 4294967296, i - 1)
		local a = '{"labels":' .. alert_labels_pre .. id .. alert_labels_mid ..
		    id:sub(1, 8) .. '-' .. id:sub(9, 12) .. '-4000-8000-' .. id:sub(13) ..
		    '00000000' .. alert_rest
		if mode == "alertmanager" then
			a = '{"status":"firing",' .. a:sub(2) ..
			    ',"endsAt":"0001-01-01T00:00:00Z","fingerprint":"' .. id .. '"}'
		else
			a = a .. '}'
		end
		parts[i] = a
	end
	local list = table.concat(parts, ",")
	if mode == "alertmanager" then
		return webhook_head .. list .. ']}'
	end
	return '[' .. list .. ']'
end

-- --- wrk's entry points ---------------------------------------------------------------------

function init(args)
	mode = args[1]
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
	tid = tonumber(tid) or 0
	if mode == "argocd" then
		argocd_init(args[2] or error("wrk.lua: argocd needs the sample's path"))
		nonce = tonumber(args[3])
	elseif mode == "alertmanager" or mode == "am-api" then
		wrk.path = mode == "am-api" and "/api/v2/alerts" or "/v1/events/alertmanager"
		nonce = tonumber(args[2])
		alerts_per_request = tonumber(args[3] or alerts_per_request)
		if not alerts_per_request or alerts_per_request < 1 or alerts_per_request > 256 then
			error("wrk.lua: ALERTS is a number from 1 to 256")
		end
		alert_rest = alert_rest_pre .. os.date("!%Y-%m-%dT%H:%M:%SZ") .. alert_rest_post
	else
		error("wrk.lua: the first argument is argocd, alertmanager or am-api")
	end
	if not nonce or nonce < 0 or nonce >= 2^31 then
		error("wrk.lua: the nonce is a number below 2^31")
	end
end

function request()
	local body
	if mode == "argocd" then
		body = argocd_body()
	else
		body = alerts_body()
	end
	n = n + 1
	return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
	if status == 202 and body and body:find('"duplicate"%s*:%s*true') then
		duplicates = duplicates + 1
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	local dups = 0
	for _, t in ipairs(threads) do
		dups = dups + (tonumber(t:get("duplicates")) or 0)
	end
	local secs = summary.duration / 1e6
	io.write(string.format(
	    "bench: requests=%d ok=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d"
	    .. " errors=%d duplicates=%d\n",
	    summary.requests, summary.requests - e.status, secs,
	    secs > 0 and summary.requests / secs or 0,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    e.status, e.connect + e.read + e.write + e.timeout, dups))
end
