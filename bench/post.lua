-- post.lua: wrk script of the ingest benchmark (see bench/README.md).
--
-- POSTs an Argo CD notification to /v1/events/argocd. The body is the sample
-- seed-aks-store-degraded.client_payload.json with "app_name" and "timestamp" varied on
-- every request (app "bench-<n mod 500>", a time unique per run, thread and request), so
-- that incidentd never sees an identical body twice and does the real work instead of
-- answering "duplicate" (even across several runs against the same daemon).
--
-- The sample's path: the first script argument (wrk ... -s post.lua URL -- PATH), else
-- $BENCH_PAYLOAD, else tests/samples/argocd/seed-aks-store-degraded.client_payload.json
-- relative to the current directory.
--
-- done() prints one line that run.sh parses:
--   bench: requests=N rps=R p50_ms=X p99_ms=Y non2xx=N errors=N duplicates=N
-- (duplicates: 202 answers saying "duplicate": true; should be 0)

local default_payload = "tests/samples/argocd/seed-aks-store-degraded.client_payload.json"
local base_time = 1770692472          -- 2026-02-10T03:01:12Z, the sample's own time
local napps = 500

local threads = {}
local thread_count = 0
local run_nonce = os.time() % 1000000

-- main Lua state: number the threads so their timestamps never collide, and give them
-- the run's nonce so a second run does not repeat the first one's bodies
function setup(thread)
	thread:set("tid", thread_count)
	thread:set("nonce", run_nonce)
	thread_count = thread_count + 1
	table.insert(threads, thread)
end

local pre, mid, post            -- the body around the two varied values
local n = 0
duplicates = 0                  -- global: read by done() through thread:get()

-- split the template around the values of "key"s, marking them with placeholders
local function mark(text, key, marker)
	local out, count = text:gsub('("' .. key .. '"%s*:%s*)"[^"]*"',
	    function(k) return k .. '"' .. marker .. '"' end)
	if count ~= 1 then
		error(string.format("post.lua: expected one \"%s\" in the sample, found %d",
		    key, count))
	end
	return out
end

function init(args)
	local path = (args and args[1]) or os.getenv("BENCH_PAYLOAD") or default_payload
	local f, err = io.open(path, "rb")
	if not f then
		error("post.lua: cannot open the sample: " .. tostring(err))
	end
	local text = f:read("*a")
	f:close()
	if text:find("@@APP@@", 1, true) or text:find("@@TS@@", 1, true) then
		error("post.lua: the sample already contains a placeholder")
	end
	text = mark(text, "app_name", "@@APP@@")
	text = mark(text, "timestamp", "@@TS@@")
	local a1, a2 = text:find("@@APP@@", 1, true)
	local t1, t2 = text:find("@@TS@@", 1, true)
	if a1 > t1 then
		error("post.lua: expected app_name before timestamp in the sample")
	end
	pre = text:sub(1, a1 - 1)
	mid = text:sub(a2 + 1, t1 - 1)
	post = text:sub(t2 + 1)
	wrk.method = "POST"
	wrk.path = "/v1/events/argocd"
	wrk.headers["Content-Type"] = "application/json"
	tid = tonumber(tid) or 0
	nonce = tonumber(nonce) or 0
end

function request()
	n = n + 1
	-- seconds advance with the request count; the fraction is the thread (which gives
	-- the milliseconds incidentd keeps) then the run's nonce
	local ts = os.date("!%Y-%m-%dT%H:%M:%S", base_time + n) ..
	    string.format(".%03d%06dZ", tid % 1000, nonce)
	local app = "bench-" .. (n % napps)
	return wrk.format(nil, nil, nil, pre .. app .. mid .. ts .. post)
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
	    "bench: requests=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d errors=%d"
	    .. " duplicates=%d\n",
	    summary.requests, secs > 0 and summary.requests / secs or 0,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    e.status, e.connect + e.read + e.write + e.timeout, dups))
end
