-- wrk script: POST a parts order of N lines, each request with N DIFFERENT parts picked at random.
--
-- Arguments (after wrk's "--"): a file of orderable part ids, one a line; the body template file, a JSON
-- parts order whose "parts" array is the text {parts}; N, the lines per order. Each request draws N
-- distinct parts of the file (a partial Fisher-Yates shuffle), so consecutive orders lock different
-- stock rows, as orders from many workshops do. Every response is counted as 201 or not; done() prints
-- one line that bench/parts.py checks:
--   orma-parts-order: sent=<n> created=<n> other=<n>
-- Headers (Authorization, Content-Type) come from wrk's -H options.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

function init(args)
   parts = {}
   for line in io.lines(args[1]) do
      if #line > 0 then
         table.insert(parts, line)
      end
   end
   local file = assert(io.open(args[2], "rb"), "cannot open the body template " .. tostring(args[2]))
   local template = file:read("*a")
   file:close()
   local placeholder = "{parts}"
   local at = string.find(template, placeholder, 1, true)
   assert(at, "the body template has no " .. placeholder)
   body_head = string.sub(template, 1, at - 1)
   body_tail = string.sub(template, at + #placeholder)
   lines = tonumber(args[3])
   assert(lines and lines <= #parts, "need at least as many parts as lines per order")
   math.randomseed(os.time() * 100 + thread_number)
   sent = 0
   created = 0
   other = 0
end

function request()
   sent = sent + 1
   local picked = {}
   for i = 1, lines do
      local j = math.random(i, #parts)
      parts[i], parts[j] = parts[j], parts[i]
      picked[i] = '{"part":{"partId":"' .. parts[i] .. '"},"quantity":1}'
   end
   return wrk.format("POST", nil, nil, body_head .. "[" .. table.concat(picked, ",") .. "]" .. body_tail)
end

function response(status, headers, body)
   if status == 201 then
      created = created + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local totals = { sent = 0, created = 0, other = 0 }
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
   end
   io.write(string.format("orma-parts-order: sent=%d created=%d other=%d\n", totals.sent, totals.created, totals.other))
end
