-- wrk script: POST /api/leads with a unique email per request (thread id + counter).
local token = os.getenv("TOKEN")
local counter = 0
local thread_tag = ""
-- A tag per thread that differs between runs too, so repeated runs do not collide on emails.
math.randomseed(os.time())
setup = function(thread)
  thread:set("tag", tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9)))
end
init = function(args)
  thread_tag = tag or tostring(math.random(1, 1e9))
end
request = function()
  counter = counter + 1
  local body = '{"name":"Bench Lead","email":"b' .. thread_tag .. '-' .. counter .. '@bench.example","source":"wrk"}'
  return wrk.format("POST", "/api/leads", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
