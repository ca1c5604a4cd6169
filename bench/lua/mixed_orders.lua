-- wrk script: a mix of repair-order creates and reads, one of each in turn on every thread.
--
-- Arguments (after wrk's "--"): the body template file, in which the orderNumber's value is the text
-- {order_number}; the run's prefix (unique per wrk run); the path of one order to GET. Odd requests of a
-- thread PUT a create with a new number "<prefix>-<thread>-<n>" to the URL's path, even ones GET the order.
-- Every response is counted as 201, 200 or other; done() prints one line that bench/memory.py checks:
--   orma-mixed: sent=<n> created=<n> read=<n> other=<n>
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
   read_path = assert(args[3], "no read path argument")
   sent = 0
   created = 0
   read = 0
   other = 0
end

function request()
   sent = sent + 1
   if sent % 2 == 1 then
      return wrk.format("PUT", nil, nil, body_head .. number_prefix .. sent .. body_tail)
   end
   return wrk.format("GET", read_path, nil, nil)
end

function response(status, headers, body)
   if status == 201 then
      created = created + 1
   elseif status == 200 then
      read = read + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local totals = { sent = 0, created = 0, read = 0, other = 0 }
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
   end
   io.write(string.format(
      "orma-mixed: sent=%d created=%d read=%d other=%d\n", totals.sent, totals.created, totals.read, totals.other
   ))
end
