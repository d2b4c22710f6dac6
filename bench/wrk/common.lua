-- Shared by accruals.lua and lookups.lua (wrk 4, LuaJIT). Each wrk thread has its own Lua state:
-- setup() runs in the main state once per thread, init()/request()/response() in the thread's,
-- done() in the main state again, reading each thread's counters with thread:get().
-- Arguments after `--`: the file of values (one a line) and a tag unique to this run.

local M = {}
local threads = {}
local counter = 1

function M.setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function M.load(path)
  local values = {}
  for line in io.lines(path) do
    if #line > 0 then values[#values + 1] = line end
  end
  assert(#values > 0, "no values in " .. path)
  return values
end

-- Only an exact status counts as success: wrk itself counts only status > 399 as an error.
function M.counter(expected)
  return function(status, headers, body)
    if status == expected then
      ok = ok + 1
    else
      bad = bad + 1
      if last_bad == "" then last_bad = tostring(status) .. " " .. string.sub(body or "", 1, 200) end
    end
  end
end

local function json_escape(text)
  text = string.gsub(text, "\\", "\\\\")
  text = string.gsub(text, '"', '\\"')
  return (string.gsub(text, "%c", " "))
end

-- One JSON line on stdout, after wrk's own text: the harness reads the last line starting "{".
function M.done(summary, latency, requests)
  local ok_total, bad_total, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    ok_total = ok_total + (thread:get("ok") or 0)
    bad_total = bad_total + (thread:get("bad") or 0)
    local s = thread:get("last_bad") or ""
    if sample == "" and s ~= "" then sample = s end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "per_second": %.1f, "ok": %d, "non_2xx": %d, ' ..
    '"socket_errors": %d, "p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, ' ..
    '"mean_ms": %.2f, "first_bad": "%s"}\n',
    summary.requests, seconds, summary.requests / seconds, ok_total, bad_total,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    latency.mean / 1000, json_escape(sample)))
end

return M
