-- wrk script: GET /api/leads/:id over a list of ids (one per line in the file named by IDS).
local ids = {}
local token = os.getenv("TOKEN")
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  local id = ids[(counter % #ids) + 1]
  return wrk.format("GET", "/api/leads/" .. id, { ["Authorization"] = "Bearer " .. token })
end
