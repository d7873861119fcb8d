-- Replays a request file (one request per line: method, path, cookie, CSRF token, content
-- type, body; tab-separated). Arguments: FILE MODE THREADS. MODE "seq": thread k sends lines
-- k, k+T, k+2T, … once each, in order (distinct trainees, attempts, exam pairs); wrapping
-- around is counted. MODE "random": any line, uniformly. The same script drives anchors and
-- scenarios, so the load generator's own cost is the same for both. Prints one BENCHJSON line.
local threads = {}
local reqs, n, i = {}, 0, 0
wrapped = 0
local mode = "seq"
c2, c3, c4, c5 = 0, 0, 0, 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function split(line)
  local out = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do out[#out + 1] = field end
  return out
end

function init(args)
  mode = args[2] or "seq"
  local nthreads = tonumber(args[3] or "1")
  math.randomseed(1000 + tid)
  local idx = 0
  for line in io.lines(args[1]) do
    if mode == "random" or idx % nthreads == tid then
      local f = split(line)
      local headers = {}
      if f[3] ~= "" then headers["Cookie"] = "lms_session=" .. f[3] end
      if f[4] ~= "" then headers["X-CSRFToken"] = f[4] end
      if f[5] ~= "" then headers["Content-Type"] = f[5] end
      local body = nil
      if f[6] ~= "" then body = f[6] end
      reqs[#reqs + 1] = wrk.format(f[1], f[2], headers, body)
    end
    idx = idx + 1
  end
  n = #reqs
end

function request()
  if mode == "random" then return reqs[math.random(n)] end
  i = i + 1
  if i > n then i = 1; wrapped = wrapped + 1 end
  return reqs[i]
end

function response(status, headers, body)
  if status < 300 then c2 = c2 + 1
  elseif status < 400 then c3 = c3 + 1
  elseif status < 500 then c4 = c4 + 1
  else c5 = c5 + 1 end
end

function done(summary, latency, requests)
  local t2, t3, t4, t5, tw = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    t2 = t2 + t:get("c2"); t3 = t3 + t:get("c3"); t4 = t4 + t:get("c4"); t5 = t5 + t:get("c5")
    tw = tw + (t:get("wrapped") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"s2xx":%d,"s3xx":%d,"s4xx":%d,"s5xx":%d,' ..
    '"wrapped":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f}\n',
    summary.requests, summary.duration, t2, t3, t4, t5, tw, e.connect, e.read, e.write,
    e.timeout, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
