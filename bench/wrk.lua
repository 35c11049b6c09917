-- wrk script of scripts/bench. Configured by environment variables:
--   BENCH_PATH    request path; every "{id}" is replaced by a random id per request
--   BENCH_ID_MIN  smallest id (default 1)
--   BENCH_ID_MAX  largest id (default 1)
--   BENCH_ID_FILE optional file of ids, one a line: pick "{id}" from these instead
--   BENCH_TOKEN   bearer token; no Authorization header when empty
-- Counts non-2xx responses per status and prints them in done() as
--   non2xx TOTAL status=COUNT ...   (one line, parsed by scripts/bench)
local path = os.getenv("BENCH_PATH") or "/"
local id_min = tonumber(os.getenv("BENCH_ID_MIN") or "1")
local id_max = tonumber(os.getenv("BENCH_ID_MAX") or "1")
local token = os.getenv("BENCH_TOKEN") or ""
local id_file = os.getenv("BENCH_ID_FILE") or ""
local templated = path:find("{id}", 1, true) ~= nil

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid)
  bad = {}
  bad_total = 0
  if token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  fixed = wrk.format("GET", path)
  ids = nil
  if templated and id_file ~= "" then
    ids = {}
    for line in io.lines(id_file) do ids[#ids + 1] = line end
    if #ids == 0 then error("no ids in " .. id_file) end
  end
end

function request()
  if templated then
    local id = ids and ids[math.random(#ids)] or math.random(id_min, id_max)
    return wrk.format("GET", (path:gsub("{id}", tostring(id))))
  end
  return fixed
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad_total = bad_total + 1
    bad[status] = (bad[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total, by = 0, {}
  for _, t in ipairs(threads) do
    total = total + (t:get("bad_total") or 0)
    local b = t:get("bad")
    if b then
      for s, n in pairs(b) do by[s] = (by[s] or 0) + n end
    end
  end
  local line = "non2xx " .. total
  for s, n in pairs(by) do line = line .. " " .. s .. "=" .. n end
  io.write(line .. "\n")
end
