-- wrk script: GET /api/leads/:id over a list of ids (one per line in the file named by IDS).
-- Each wrk thread starts at its own offset in the list, so threads do not request the same ids
-- in lockstep (which would let one thread's reads warm the server's lead cache for the other).
local ids = {}
local token = os.getenv("TOKEN")
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
local threads = 0
setup = function(thread)
  thread:set("first", threads)
  threads = threads + 1
end
local counter = 0
init = function(args)
  counter = (first or 0) * math.floor(#ids / 7)
end
request = function()
  counter = counter + 1
  local id = ids[(counter % #ids) + 1]
  return wrk.format("GET", "/api/leads/" .. id, { ["Authorization"] = "Bearer " .. token })
end
