-- wrk script: POST the sample event body (path in B24_BENCH_BODY) as the portal does.
local path = os.getenv("B24_BENCH_BODY")
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
