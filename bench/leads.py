#!/usr/bin/env python3
"""Lead figures for docs/benchmarks.md, against an lms server on a database that already
holds a large organization (bench/leads.sh seeds one). Measures, with server time taken from
the server's own request log (duration_ms):
  - GET /api/leads/:id throughput (wrk, 64 connections, random ids)
  - first and deep pages of GET /api/leads (filtered by assignee + status; and unfiltered
    after 900,000 rows), p50/p95 server time
  - q search for 4-character substrings, p50/p95 server time
  - POST /api/leads from 64 concurrent clients (wrk), creates/s
  - CSV export of the whole organization: rows/s and the server's peak RSS
Usage: bench/leads.py --port P --email E --password W --log SERVER_LOG --pid SERVER_PID"""
import argparse, http.client, json, os, random, statistics, subprocess, threading, time, urllib.parse


def req(conn, method, path, token=None, body=None):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def rss_mb(pid, field="RssAnon"):
    """Anonymous resident memory by default: the server's own heap and stacks. VmRSS would
    also count the database pages mapped with mmap, which are the OS page cache."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0


def server_times(log, marker_id):
    """duration_ms of the log lines whose request_id starts with marker_id."""
    out = []
    with open(log) as f:
        for line in f:
            if f'"request_id":"{marker_id}' in line and '"msg":"request"' in line:
                out.append(json.loads(line)["duration_ms"])
    return out


def timed_requests(port, token, paths, marker):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    client = []
    for i, p in enumerate(paths):
        conn.request("GET", p, headers={"Authorization": "Bearer " + token, "X-Request-Id": f"{marker}-{i}"})
        t = time.perf_counter()
        r = conn.getresponse()
        r.read()
        client.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, (r.status, p)
    return client


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def summarize(name, log, marker, client):
    time.sleep(1.2)  # the async logger flushes every second
    server = server_times(log, marker)
    print(f"| {name} | {len(server)} | {pct(server, 50):.2f} ms | {pct(server, 95):.2f} ms | {pct(client, 95):.2f} ms |")


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--email", required=True)
    a.add_argument("--password", required=True)
    a.add_argument("--log", required=True)
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--duration", default="10s")
    a.add_argument("--only", default="get,pages,search,create,export",
                   help="comma-separated sections to run: get, pages, search, create, export")
    args = a.parse_args()
    only = set(args.only.split(","))
    conn = http.client.HTTPConnection("127.0.0.1", args.port)
    status, data = req(conn, "POST", "/api/auth/login", body={"email": args.email, "password": args.password})
    token = json.loads(data)["accessToken"]
    status, data = req(conn, "GET", "/api/leads/count", token)
    total = json.loads(data)["count"]
    status, data = req(conn, "GET", "/api/users", token)
    agents = [u["id"] for u in json.loads(data)["items"] if u["role"] == "agent"]
    print(f"organization: {total} leads, {len(agents)} agents; server anonymous RSS {rss_mb(args.pid):.0f} MiB\n")

    if "get" in only:
        bench_get(args, conn, token)
    if "pages" in only or "search" in only:
        print("| query | requests | server p50 | server p95 | client p95 |")
        print("|---|---|---|---|---|")
    if "pages" in only:
        bench_pages(args, conn, token, agents, total)
    if "search" in only:
        bench_search(args, token, agents)
    print()
    if "create" in only:
        bench_create(args, token)
    if "export" in only:
        bench_export(args, token)


def bench_get(args, conn, token):
    # ids for GET /api/leads/:id: a sample across the whole organization
    ids = []
    cursor = None
    while len(ids) < 2000:
        q = "/api/leads?limit=200&sort=name" + (f"&cursor={cursor}" if cursor else "")
        status, data = req(conn, "GET", q, token)
        page = json.loads(data)
        ids += [l["id"] for l in page["items"]]
        cursor = page["nextCursor"]
    random.shuffle(ids)
    with open("/tmp/lms-bench-ids.txt", "w") as f:
        f.write("\n".join(ids) + "\n")
    env = dict(os.environ, TOKEN=token, IDS="/tmp/lms-bench-ids.txt")
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(["wrk", "-t2", "-c64", "-d" + args.duration, "--latency", "-s", f"{here}/get_lead.lua",
                          f"http://127.0.0.1:{args.port}"], env=env, capture_output=True, text=True).stdout
    rps = [l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec")][0]
    p99 = [l.split()[1] for l in out.splitlines() if l.strip().startswith("99%")][0]
    non2xx = [l for l in out.splitlines() if "Non-2xx" in l]
    print(f"GET /api/leads/:id (wrk -t2 -c64 -d{args.duration}, 2000 random ids): {rps} req/s, p99 {p99}, "
          f"{non2xx[0].strip() if non2xx else 'all 2xx'}\n")


def bench_pages(args, conn, token, agents, total):
    # filtered by assignee + status: first page, and the last page of that filter
    agent = agents[len(agents) // 2]
    base = f"/api/leads?assignedTo={agent}&status=new&limit=50"
    paths = [base] * 200
    summarize("first page, assignedTo + status", args.log, "first", timed_requests(args.port, token, paths, "first"))
    cursor, pages = None, []
    while True:
        status, data = req(conn, "GET", base + (f"&cursor={cursor}" if cursor else ""), token)
        page = json.loads(data)
        if not page["nextCursor"]:
            break
        cursor = page["nextCursor"]
        pages.append(cursor)
    deep = [base + f"&cursor={c}" for c in pages[-1:]] * 200
    summarize(f"last page of that filter (page {len(pages) + 1})", args.log, "lastf",
              timed_requests(args.port, token, deep, "lastf"))

    # unfiltered: first page vs the page after 900,000 rows
    summarize("first page, no filter", args.log, "firstu",
              timed_requests(args.port, token, ["/api/leads?limit=50"] * 200, "firstu"))
    cursor, seen = None, 0
    while seen < min(900_000, total - 100):
        status, data = req(conn, "GET", "/api/leads?limit=200" + (f"&cursor={cursor}" if cursor else ""), token)
        page = json.loads(data)
        seen += len(page["items"])
        cursor = page["nextCursor"]
    summarize(f"page after {seen} rows, no filter", args.log, "deepu",
              timed_requests(args.port, token, [f"/api/leads?limit=50&cursor={cursor}"] * 200, "deepu"))


def bench_search(args, token, agents):
    agent = agents[len(agents) // 2]
    # q search: 4-character substrings of names, emails and companies
    words = ["smit", "ohns", "garc", "acme", "labs", "mart", "tana", "chen", "exam", "corp", "oles", "jame",
             "rive", "inbo", "ngup", "sofi", "patr", "wils", "kim.", "lind"]
    paths = [f"/api/leads?q={urllib.parse.quote(w)}&limit=50" for w in words] * 10
    summarize("q = 4-character substring (20 different)", args.log, "q4", timed_requests(args.port, token, paths, "q4"))
    paths = [f"/api/leads?q={urllib.parse.quote(w)}&assignedTo={agent}&limit=50" for w in words] * 10
    summarize("q + assignedTo", args.log, "q4a", timed_requests(args.port, token, paths, "q4a"))


def bench_create(args, token):
    here = os.path.dirname(os.path.abspath(__file__))
    # creates from 64 concurrent clients
    env = dict(os.environ, TOKEN=token)
    out = subprocess.run(["wrk", "-t2", "-c64", "-d" + args.duration, "--latency", "-s", f"{here}/create_lead.lua",
                          f"http://127.0.0.1:{args.port}"], env=env, capture_output=True, text=True).stdout
    rps = [l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec")][0]
    p99 = [l.split()[1] for l in out.splitlines() if l.strip().startswith("99%")][0]
    non2xx = [l for l in out.splitlines() if "Non-2xx" in l]
    print(f"POST /api/leads (wrk -t2 -c64 -d{args.duration}, unique emails, synchronous=FULL group commit): "
          f"{rps} creates/s, p99 {p99}, {non2xx[0].strip() if non2xx else 'all 2xx'}\n")


def bench_export(args, token):
    # export
    peak = [rss_mb(args.pid)]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak.append(rss_mb(args.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    before = peak[0]
    t = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", args.port)
    conn.request("GET", "/api/leads/export", headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    rows, size = -1, 0
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        size += len(chunk)
        rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - t
    stop.set()
    sampler.join()
    print(f"GET /api/leads/export: {rows} rows, {size / 1e6:.0f} MB in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s; "
          f"server anonymous RSS {before:.0f} MiB before, peak {max(peak):.0f} MiB during "
          f"(VmRSS incl. mmap'd database pages: {rss_mb(args.pid, 'VmRSS'):.0f} MiB)")


if __name__ == "__main__":
    main()
