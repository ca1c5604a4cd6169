-- wrk script: PUT a repair order whose orderNumber is unique per request, "<prefix>-<thread>-<n>".
--
-- Arguments (after wrk's "--"): the body template file, in which the orderNumber's value is the text
-- {order_number}, the run's prefix (unique per wrk run, so that runs never repeat a number), and
-- optionally the request paths, comma-separated: request n of a thread goes to path (n mod count) + 1,
-- so one path puts every create in ONE department and eight paths spread them over eight
-- (without it, every request goes to the URL's own path).
-- Every response is counted as 201 or not; done() prints one line that bench/orders.py checks:
--   orma-create: sent=<n> created=<n> other=<n>
-- Headers (Authorization, Content-Type) come from wrk's -H options.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

function init(args)
   local file = assert(io.open(args[1], "rb"), "cannot open the body template " .. tostring(args[1]))
   local template = file:read("*a")
   file:close()
   local placeholder = "{order_number}"
   local at = string.find(template, placeholder, 1, true)
   assert(at, "the body template has no " .. placeholder)
   body_head = string.sub(template, 1, at - 1)
   body_tail = string.sub(template, at + #placeholder)
   number_prefix = assert(args[2], "no prefix argument") .. "-" .. thread_number .. "-"
   paths = {}
   for path in string.gmatch(args[3] or "", "[^,]+") do
      table.insert(paths, path)
   end
   sent = 0
   created = 0
   other = 0
end

function request()
   local path = nil
   if #paths > 0 then
      path = paths[(sent % #paths) + 1]
   end
   sent = sent + 1
   return wrk.format("PUT", path, nil, body_head .. number_prefix .. sent .. body_tail)
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
   io.write(string.format("orma-create: sent=%d created=%d other=%d\n", totals.sent, totals.created, totals.other))
end
