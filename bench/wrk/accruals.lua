-- wrk -s bench/wrk/accruals.lua http://127.0.0.1:PORT -H "Authorization: Bearer KEY" -- IDS TAG
-- POST /api/v1/accruals for random members (customer ids, one a line in IDS); the invoice number
-- is unique per run (TAG), thread and request, so every request is a new accrual (201).
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done
response = common.counter(201)

local ids, tag, n

function init(args)
  ids = common.load(args[1])
  tag = args[2] or tostring(os.time())
  n = 0
  ok, bad, last_bad = 0, 0, ""
  math.randomseed(os.time() * 1000 + id)
  wrk.method = "POST"
  wrk.path = "/api/v1/accruals"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  local body = string.format(
    '{"customer_id": "%s", "amount": "%d000.00", "invoice_number": "WRK-%s-%d-%d"}',
    ids[math.random(#ids)], math.random(2, 90), tag, id, n)
  return wrk.format(nil, nil, nil, body)
end
