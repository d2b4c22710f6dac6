-- wrk -s bench/wrk/lookups.lua http://127.0.0.1:PORT -H "Authorization: Bearer KEY" -- DOCS TAG
-- GET /api/v1/customers?q=<document> for random documents (one a line in DOCS).
package.path = debug.getinfo(1, "S").source:match("@?(.*/)") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done
response = common.counter(200)

local docs

function init(args)
  docs = common.load(args[1])
  ok, bad, last_bad = 0, 0, ""
  math.randomseed(os.time() * 1000 + id)
end

function request()
  return wrk.format("GET", "/api/v1/customers?q=" .. docs[math.random(#docs)])
end
