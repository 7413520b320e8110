#!/usr/bin/env python3
"""bench/run: Simpul's side-by-side benchmark (issue #6). Not part of CI.

Starts the whole system on this machine on free loopback ports, in a scratch directory of its
own (var/bench/<time>/): Redis with AOF as in production (deploy/redis.conf, appendfsync
everysec), simpul-registry, simpul-complaints, simpul-monitoring, simpul-gateway (gRPC and REST),
nginx as a plain `grpc_pass` proxy and HAProxy as a second plain gRPC proxy (HTTP/2 on both
sides) in front of the same registry, and build/bench/simpul-echo-server (fixed registry answers,
no logic: the ceiling of one gRPC hop on this machine). Loads the demo data
(deploy/demo) plus --services synthetic services with adopted standards, then runs each
scenario with build/bench/simpul-loadgen (gRPC) or wrk (REST), sampling the CPU time of every
server process from /proc/<pid>/stat during each run: CPU µs per request holds on a noisy
machine better than wall-clock throughput. Writes a markdown table and a JSON file (default
var/bench/latest.{md,json}) and prints the table.

  bench/run                      # every scenario, 10 s each
  bench/run --duration 5 --only registry-get
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"bench/run: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def children(pid):
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]
    except OSError:
        return []


class System:
    """The processes under test and how to reach them."""

    def __init__(self, build, work, services, gateway_flags=()):
        self.build = build
        self.gateway_flags = list(gateway_flags)
        self.work = work
        self.procs = {}  # name -> Popen
        self.ports = {}
        self.services = services
        self.echo_api = "callback"
        self.echo_forward = False
        os.makedirs(work, exist_ok=True)
        # Identity keys as deploy/run makes them (docs/operations.md, "Identity keys").
        self.keys = os.path.join(work, "keys")
        os.makedirs(self.keys, mode=0o700, exist_ok=True)
        for name in ("gateway", "monitoring"):
            key = os.path.join(self.keys, f"{name}.key")
            if not os.path.exists(key):
                subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key],
                               check=True)
            subprocess.run(["openssl", "pkey", "-in", key, "-pubout",
                            "-out", os.path.join(self.keys, f"{name}.pub")], check=True)
        with open(os.path.join(self.keys, "registry.trusted"), "w") as f:
            f.write("any gateway.pub\nservice:simpul-gateway gateway.pub\n"
                    "service:simpul-monitoring monitoring.pub\n")
        with open(os.path.join(self.keys, "services.trusted"), "w") as f:
            f.write("any gateway.pub\n")
        self.key_file = os.path.join(self.keys, "gateway.key")
        self.pii_keys_file = os.path.join(work, "pii.keys")
        with open(os.open(self.pii_keys_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                  "w") as f:
            f.write(f"k1 {os.urandom(32).hex()}\n")

    def start(self, name, argv):
        logf = open(os.path.join(self.work, f"{name}.log"), "w")
        self.procs[name] = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)

    def pids(self, name):
        """The process and its children (nginx's workers)."""
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            return []
        return [p.pid] + children(p.pid)

    def up(self):
        b = self.build
        for name in ("redis", "registry", "complaints", "monitoring", "gateway", "rest", "nginx",
                     "gateway-nocache", "haproxy", "echo-server"):
            self.ports[name] = free_port()
        admin = {n: free_port() for n in ("registry", "complaints", "monitoring", "gateway",
                                          "gateway-nocache")}
        self.start("redis", ["redis-server", os.path.join(ROOT, "deploy/redis.conf"),
                             "--daemonize", "no", "--port", str(self.ports["redis"]),
                             "--dir", self.work, "--logfile", ""])
        if not wait_port(self.ports["redis"]):
            raise SystemExit("redis-server did not start")
        common = [f"--redis_addr=127.0.0.1:{self.ports['redis']}", "--log_level=warn"]
        trusted = f"--identity_trusted_keys={self.keys}/services.trusted"
        reg = f"127.0.0.1:{self.ports['registry']}"
        holidays = f"--holidays_dir={ROOT}/deploy/holidays"
        self.start("registry", [f"{b}/services/registry/simpul-registry", f"--listen={reg}",
                                f"--admin_listen=127.0.0.1:{admin['registry']}",
                                f"--identity_trusted_keys={self.keys}/registry.trusted",
                                holidays] + common)
        self.start("complaints", [f"{b}/services/complaints/simpul-complaints",
                                  f"--listen=127.0.0.1:{self.ports['complaints']}",
                                  f"--admin_listen=127.0.0.1:{admin['complaints']}",
                                  f"--registry_addr={reg}", holidays, trusted,
                                  f"--pii_keys_file={self.pii_keys_file}"] + common)
        self.start("monitoring", [f"{b}/services/monitoring/simpul-monitoring",
                                  f"--listen=127.0.0.1:{self.ports['monitoring']}",
                                  f"--admin_listen=127.0.0.1:{admin['monitoring']}",
                                  f"--registry_addr={reg}", holidays, trusted,
                                  f"--identity_private_key_file={self.keys}/monitoring.key"]
                   + common)
        for name in ("registry", "complaints", "monitoring"):
            if not wait_port(self.ports[name]):
                raise SystemExit(f"simpul-{name} did not start; see {self.work}/{name}.log")
        unlimited = "; ".join(f"{r}=1000000/s burst 1000000" for r in (
            "public", "agency_admin", "agency_operator", "channel", "dashboard",
            "platform_admin"))
        def gateway(name, rest_listen, *flags):
            self.start(name, [f"{b}/gateway/simpul-gateway",
                              f"--listen=127.0.0.1:{self.ports[name]}",
                              f"--admin_listen=127.0.0.1:{admin[name]}",
                              f"--rest_listen={rest_listen}",
                              f"--registry_addr={reg}",
                              f"--complaints_addr=127.0.0.1:{self.ports['complaints']}",
                              f"--monitoring_addr=127.0.0.1:{self.ports['monitoring']}",
                              f"--policy_file={ROOT}/deploy/policy.json",
                              f"--rate_limits={unlimited}",
                              f"--identity_private_key_file={self.key_file}", *flags]
                       + common + self.gateway_flags)
            if not wait_port(self.ports[name]):
                raise SystemExit(f"simpul-gateway did not start; see {self.work}/{name}.log")

        gateway("gateway", f"127.0.0.1:{self.ports['rest']}")
        if not wait_port(self.ports["rest"]):
            raise SystemExit(f"the REST front did not start; see {self.work}/gateway.log")
        # The same gateway without its read cache: the cost of the proxy path itself.
        gateway("gateway-nocache", "", "--read_cache=false")
        conf = os.path.join(self.work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
daemon off;
worker_processes auto;
pid {self.work}/nginx.pid;
error_log {self.work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {self.work}/nginx-body;
  upstream registry {{ server {reg}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{self.ports['nginx']} http2;
    location / {{ grpc_pass grpc://registry; }}
  }}
}}
""")
        self.start("nginx", ["nginx", "-c", conf, "-p", self.work])
        if not wait_port(self.ports["nginx"]):
            raise SystemExit(f"nginx did not start; see {self.work}/nginx-error.log")
        # HAProxy: the second plain gRPC proxy, HTTP/2 in cleartext on both sides like nginx's
        # grpc_pass (the registry listens without TLS here); one process with a thread per core
        # as nginx has a worker per core (Debian's 2.6 runs one thread unless told), no logging,
        # connection reuse at its default.
        conf = os.path.join(self.work, "haproxy.cfg")
        with open(conf, "w") as f:
            f.write(f"""
global
  maxconn 4096
  nbthread {os.cpu_count()}
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend grpc
  bind 127.0.0.1:{self.ports['haproxy']} proto h2
  default_backend registry
backend registry
  server registry {reg} proto h2
""")
        self.start("haproxy", ["haproxy", "-db", "-f", conf])
        if not wait_port(self.ports["haproxy"]):
            raise SystemExit(f"haproxy did not start; see {self.work}/haproxy.log")

    def start_echo(self, get_request, search_request):
        """simpul-echo-server, answering the two registry reads with the bytes the registry
        gives for these requests (so it starts after the data is loaded)."""
        self.start("echo-server", [f"{self.build}/bench/simpul-echo-server",
                                   f"--listen=127.0.0.1:{self.ports['echo-server']}",
                                   f"--capture_from=127.0.0.1:{self.ports['registry']}",
                                   f"--get_request_json={json.dumps(get_request)}",
                                   f"--search_request_json={json.dumps(search_request)}",
                                   f"--api={self.echo_api}"]
                   + ([f"--forward_to=127.0.0.1:{self.ports['registry']}"]
                      if self.echo_forward else []))
        if not wait_port(self.ports["echo-server"]):
            raise SystemExit("simpul-echo-server did not start; "
                             f"see {self.work}/echo-server.log")
        with open(os.path.join(self.work, "echo-server.log")) as f:
            m = re.search(r"GetCurrentStandard (\d+) bytes; SearchStandards (\d+) bytes", f.read())
        return {"get": int(m.group(1)), "search": int(m.group(2))} if m else {}

    def down(self):
        for name, p in reversed(list(self.procs.items())):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in self.procs.items():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()

    # ---- credentials and data ------------------------------------------------------------

    def token(self, *flags):
        out = subprocess.run([f"{self.build}/tools/simpul-token", f"--key_file={self.key_file}",
                              *flags], check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def api_key(self, *flags):
        out = subprocess.run([f"{self.build}/gateway/simpul-apikey", "--redis",
                              f"127.0.0.1:{self.ports['redis']}", "issue", *flags],
                             check=True, capture_output=True, text=True).stdout
        return re.search(r"^token:\s*(\S+)", out, re.M).group(1)

    def load(self):
        token_tool = f"{self.build}/tools/simpul-token"
        reg = f"127.0.0.1:{self.ports['registry']}"
        subprocess.run([sys.executable, f"{ROOT}/deploy/demo/load_demo.py", "--addr", reg,
                        "--key-file", self.key_file, "--token-tool", token_tool, "--quiet"],
                       check=True)
        if self.services > 0:
            self.load_synthetic(reg)

    def load_synthetic(self, reg):
        """--services services with an adopted standard, 10 per unit, in one agency."""
        import simpul_grpc  # tools/simpul_grpc.py: the reflection client
        sys.path.insert(0, os.path.join(ROOT, "deploy/demo"))
        import load_demo  # the demo's complete standards
        client = simpul_grpc.Client(reg)
        root = self.token("--audience=simpul-registry", "--role=platform_admin",
                          "--subject=bench")
        call = lambda method, req: client.call(method, req, token=root)
        call("CreateAgency", {"agency": {"id": "bench-agency", "name": "Pemerintah Kota Bench",
                                         "kind": "AGENCY_KIND_CITY", "region_code": "32.99"}})
        components = load_demo.AKTA_KELAHIRAN
        for i in range(self.services):
            unit = f"bench-unit-{i // 10:04d}"
            if i % 10 == 0:
                call("CreateServiceUnit", {"unit": {"id": unit, "agency_id": "bench-agency",
                                                    "name": f"Unit Layanan {i // 10}",
                                                    "time_zone": "TIME_ZONE_WIB"}})
            sid = f"bench-service-{i:05d}"
            call("CreateService", {"service": {"id": sid, "unit_id": unit,
                                               "name": f"Layanan Bench {i}"}})
            v = call("CreateStandardVersion", {"service_id": sid, "components": components})
            v = v["version"]
            v = call("StartPublicConsultation", {"id": v["id"],
                                                 "expected_revision": v["revision"]})["version"]
            v = call("RecordConsultation", {
                "id": v["id"], "expected_revision": v["revision"],
                "consultation": {"date": {"year": 2026, "month": 1, "day": 10},
                                 "participant_count": 30, "summary": "Forum konsultasi publik"}})
            v = v["version"]
            call("AdoptStandardVersion", {
                "id": v["id"], "expected_revision": v["revision"],
                "adoption": {"decree_number": "SK 1/2026",
                             "decree_date": {"year": 2026, "month": 1, "day": 20},
                             "effective_from": {"year": 2026, "month": 2, "day": 1}},
                "publications": [{"medium": "PUBLICATION_MEDIUM_WEBSITE",
                                  "location": "https://example.go.id/sp"}]})


# ---- running one scenario ------------------------------------------------------------------

def sample_cpu(system, names):
    return {n: sum(cpu_ticks(p) for p in system.pids(n)) for n in names}


def redis_commandstats(system):
    """{command: (calls, usec)} from Redis's INFO commandstats."""
    out = subprocess.run(["redis-cli", "-p", str(system.ports["redis"]), "INFO", "commandstats"],
                         capture_output=True, text=True).stdout
    stats = {}
    for m in re.finditer(r"^cmdstat_([^:]+):calls=(\d+),usec=(\d+)", out, re.M):
        stats[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return stats


def run_measured(system, names, argv, parse):
    """Runs a load tool while sampling the CPU time of the named server processes and the
    time Redis spent in each command."""
    before = sample_cpu(system, names)
    redis_before = redis_commandstats(system)
    t0 = time.time()
    out = subprocess.run(argv, capture_output=True, text=True)
    wall = time.time() - t0
    after = sample_cpu(system, names)
    redis_after = redis_commandstats(system)
    if out.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({out.returncode}): {out.stderr[-2000:]}")
    result = parse(out)
    calls = max(result["calls"], 1)
    # The tool's warm-up is included in the CPU window but not in its count of calls: the
    # window saw about calls / window_share calls (the measured ones are that share of them).
    window_calls = calls / result["window_share"]
    cpu = {n: (after[n] - before[n]) / CLK_TCK for n in names}
    result["cpu_s"] = cpu
    result["wall_s"] = wall
    result["cpu_us_per_call"] = {
        n: round(c * 1e6 / window_calls, 1) for n, c in cpu.items()}
    result["cpu_us_per_call_total"] = round(sum(result["cpu_us_per_call"].values()), 1)
    # Redis's own time in commands per call, by command: 1e6 / the total is the ceiling of
    # this command mix on one Redis core (network and AOF writes not counted).
    per_call = {}
    for cmd, (calls_after, usec_after) in redis_after.items():
        calls_before, usec_before = redis_before.get(cmd, (0, 0))
        if calls_after > calls_before:
            n = window_calls
            per_call[cmd] = {"calls": round((calls_after - calls_before) / n, 2),
                             "usec": round((usec_after - usec_before) / n, 1)}
    result["redis_per_call"] = per_call
    usec = sum(v["usec"] for v in per_call.values())
    result["redis_usec_per_call"] = round(usec, 1)
    result["redis_ceiling_per_s"] = round(1e6 / usec) if usec > 0 else None
    return result


def loadgen(system, args, label, target, method, request, names, metadata=(), rate=0,
            unique_field=None, connections=None, inflight=None):
    path = os.path.join(system.work, f"{label}.json")
    argv = [f"{system.build}/bench/simpul-loadgen", f"--target={target}", f"--method={method}",
            f"--request_json={json.dumps(request)}", f"--warmup={args.warmup}",
            f"--duration={args.duration}", f"--connections={connections or args.connections}",
            f"--inflight={inflight or args.inflight}", f"--label={label}", f"--json_out={path}",
            "--deadline_ms=10000"]
    if rate:
        argv.append(f"--rate={rate}")
    if unique_field:
        argv.append(f"--unique_field={unique_field}")
    for m in metadata:
        argv.append(f"--metadata={m}")

    def parse(out):
        with open(path) as f:
            r = json.load(f)
        r["tool"] = "simpul-loadgen"
        r["window_share"] = args.duration / (args.duration + args.warmup)
        print(out.stdout.strip(), file=sys.stderr)
        return r

    return run_measured(system, names, argv, parse)


WRK_LUA = """
counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function request()
  counter = counter + 1
  local body = string.gsub(wrk.body, "UNIQUE", string.format("%d-%d-%d", os.time(), id, counter))
  return wrk.format(nil, nil, nil, body)
end
"""


def parse_wrk_duration(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}[unit]


def wrk(system, args, label, url, names, headers=(), body=None, method="GET"):
    argv = ["wrk", f"-t{min(2, args.connections)}", f"-c{args.connections * args.inflight}",
            f"-d{args.duration}s", "--latency", "--timeout", "10s"]
    for h in headers:
        argv += ["-H", h]
    if body is not None:
        script = os.path.join(system.work, f"{label}.lua")
        with open(script, "w") as f:
            f.write(f'wrk.method = "{method}"\n')
            f.write(f"wrk.body = {json.dumps(body)}\n")
            f.write('wrk.headers["Content-Type"] = "application/json"\n')
            f.write(WRK_LUA)
        argv += ["-s", script]
    argv.append(url)

    def parse(out):
        text = out.stdout
        print(text.strip(), file=sys.stderr)
        calls = int(re.search(r"(\d+) requests in", text).group(1))
        rps = float(re.search(r"Requests/sec:\s*([\d.]+)", text).group(1))
        pct = {}
        for p, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)", text, re.M):
            pct[p] = parse_wrk_duration(v)
        non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
        errors = {}
        if non2xx:
            errors["non-2xx"] = int(non2xx.group(1))
        sock = re.search(r"Socket errors: (.*)", text)
        if sock:
            errors["socket"] = sock.group(1)
        return {"tool": "wrk", "label": label, "calls": calls, "throughput": rps,
                "p50_us": pct.get("50"), "p90_us": pct.get("90"), "p99_us": pct.get("99"),
                "errors": errors, "window_share": 1.0}

    return run_measured(system, names, argv, parse)


# ---- the scenarios -------------------------------------------------------------------------

GET_REQUEST = {"service_id": "akta-kelahiran-padang-pariaman"}
SEARCH_REQUEST = {"keyword": "akta", "page": {"page_size": 10}}
ECHO = "echo server (one gRPC hop)"
HAPROXY = "haproxy grpc"


def scenarios(system, args):
    p = system.ports
    direct_reg = f"127.0.0.1:{p['registry']}"
    direct_cmp = f"127.0.0.1:{p['complaints']}"
    gateway = f"127.0.0.1:{p['gateway']}"
    nginx = f"127.0.0.1:{p['nginx']}"
    rest = f"http://127.0.0.1:{p['rest']}"
    dash_key = system.api_key("--role", "dashboard", "--label", "bench dashboard")
    channel_key = system.api_key("--role", "channel", "--channel", "bench-sms",
                                 "--all-agencies", "--label", "bench channel")
    channel_token = system.token("--audience=simpul-complaints", "--role=channel",
                                 "--channel=bench-sms", "--all_agencies=true", "--subject=bench",
                                 "--ttl=1h")
    key_md = f"authorization: Bearer {dash_key}"
    echo = f"127.0.0.1:{p['echo-server']}"
    haproxy = f"127.0.0.1:{p['haproxy']}"
    get = ("/simpul.registry.v1.Registry/GetCurrentStandard", GET_REQUEST)
    search = ("/simpul.registry.v1.Registry/SearchStandards", SEARCH_REQUEST)
    reg_procs = ["registry", "redis", "gateway", "nginx", "gateway-nocache", "haproxy",
                 "echo-server"]
    nocache = f"127.0.0.1:{p['gateway-nocache']}"
    filing = {"report_type": "REPORT_TYPE_COMPLAINT", "channel": "CHANNEL_SMS",
              "service_id": "ktp-el-padang-pariaman",
              "title": "Antrean panjang",
              "description": "Antrean perekaman KTP-el tidak bergerak sejak pagi; petugas "
                             "hanya satu orang dan loket kedua tutup tanpa pemberitahuan.",
              "idempotency_key": "UNIQUE"}
    cmp_procs = ["complaints", "registry", "redis", "gateway"]
    out = []

    def want(group):
        return not args.only or group in args.only

    if want("registry-get"):
        out.append(("registry-get", "direct gRPC",
                    loadgen(system, args, "get-direct", direct_reg, *get, reg_procs)))
        out.append(("registry-get", "gateway gRPC",
                    loadgen(system, args, "get-gateway", gateway, *get, reg_procs,
                            metadata=[key_md])))
        out.append(("registry-get", "gateway gRPC, read cache off",
                    loadgen(system, args, "get-gateway-nocache", nocache, *get, reg_procs,
                            metadata=[key_md])))
        out.append(("registry-get", "nginx grpc_pass",
                    loadgen(system, args, "get-nginx", nginx, *get, reg_procs)))
        out.append(("registry-get", HAPROXY,
                    loadgen(system, args, "get-haproxy", haproxy, *get, reg_procs)))
        out.append(("registry-get", ECHO,
                    loadgen(system, args, "get-echo", echo, *get, reg_procs)))
        out.append(("registry-get", "gateway REST (wrk)",
                    wrk(system, args, "get-rest",
                        f"{rest}/v1/services/akta-kelahiran-padang-pariaman/standard",
                        reg_procs, headers=[f"Authorization: Bearer {dash_key}"])))
        # Latency at half of each one's peak (open loop). The echo server's row is the control:
        # what the load generator and this machine give at that rate with no work behind.
        peaks = {r[1]: r[2]["throughput"] for r in out if r[0] == "registry-get"}
        for how, target, md in (("direct gRPC", direct_reg, []),
                                ("gateway gRPC", gateway, [key_md]),
                                (ECHO, echo, [])):
            rate = max(1, int(peaks[how] / 2))
            out.append(("registry-get @ half peak", how,
                        loadgen(system, args, f"get-half-{how.split()[0]}", target, *get,
                                reg_procs, metadata=md, rate=rate)))
    if want("registry-search"):
        out.append(("registry-search", "direct gRPC",
                    loadgen(system, args, "search-direct", direct_reg, *search, reg_procs)))
        out.append(("registry-search", "gateway gRPC",
                    loadgen(system, args, "search-gateway", gateway, *search, reg_procs,
                            metadata=[key_md])))
        out.append(("registry-search", "gateway gRPC, read cache off",
                    loadgen(system, args, "search-gateway-nocache", nocache, *search, reg_procs,
                            metadata=[key_md])))
        out.append(("registry-search", "nginx grpc_pass",
                    loadgen(system, args, "search-nginx", nginx, *search, reg_procs)))
        out.append(("registry-search", HAPROXY,
                    loadgen(system, args, "search-haproxy", haproxy, *search, reg_procs)))
        out.append(("registry-search", ECHO,
                    loadgen(system, args, "search-echo", echo, *search, reg_procs)))
        out.append(("registry-search", "gateway REST (wrk)",
                    wrk(system, args, "search-rest",
                        f"{rest}/v1/standards?keyword=akta&page.page_size=10", reg_procs,
                        headers=[f"Authorization: Bearer {dash_key}"])))
    if want("filing"):
        out.append(("complaint filing", "direct gRPC",
                    loadgen(system, args, "file-direct", direct_cmp,
                            "/simpul.complaints.v1.Complaints/FileComplaint", filing, cmp_procs,
                            metadata=[f"x-simpul-identity: {channel_token}"],
                            unique_field="idempotency_key")))
        out.append(("complaint filing", "gateway gRPC",
                    loadgen(system, args, "file-gateway", gateway,
                            "/simpul.complaints.v1.Complaints/FileComplaint", filing, cmp_procs,
                            metadata=[f"authorization: Bearer {channel_key}"],
                            unique_field="idempotency_key")))
        out.append(("complaint filing", "gateway REST (wrk)",
                    wrk(system, args, "file-rest", f"{rest}/v1/complaints", cmp_procs,
                        headers=[f"Authorization: Bearer {channel_key}"], body=json.dumps(filing),
                        method="POST")))
    if want("monitoring"):
        out.append(monitoring_read(system, args))
    return out


def monitoring_read(system, args):
    """bench/monitoring_read_bench: the ingest rate of survey responses through the service's
    own path (in process with every response of a batch from another unit, the worst case; in
    process with one unit per batch, a kiosk's; then over gRPC, worst case), and a region's
    figures against one unit's, at the stated size (it loads its own Redis)."""
    grpc_responses = max(1, args.monitoring_responses // 5)
    argv = [f"{system.build}/bench/monitoring_read_bench", f"--units={args.monitoring_units}",
            f"--responses={args.monitoring_responses}", f"--grpc_responses={grpc_responses}",
            f"--unit_batch_responses={grpc_responses}", "--reads=2000"]
    log(f"monitoring: loading {args.monitoring_responses} responses over "
        f"{args.monitoring_units} units in process, {grpc_responses} over gRPC")
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"monitoring_read_bench failed: {out.stderr[-2000:]}")
    rows = re.findall(r"^\| (unit|agency|region) \S+ \| ([\d,]+) \| ([\d,]+) \| [\d.]+ \| "
                      r"(\d+) \| (\d+) \| (\d+) \|", out.stdout, re.M)
    figures = {kind: {"units": int(units.replace(",", "")), "mean_us": int(mean),
                      "p50_us": int(p50), "p99_us": int(p99)}
               for kind, units, _, mean, p50, p99 in rows}
    ingest = {}
    for m in re.finditer(r"^ingest (in process, one unit per batch|in process|over gRPC): "
                         r"(\d+) responses in ([\d.]+) s: "
                         r"(\d+) responses/s; CPU µs per response: ([\d.]+) "
                         r"\(service ([\d.]+), redis ([\d.]+)\); (.*)$", out.stdout, re.M):
        ingest[m.group(1)] = {"responses": int(m.group(2)), "seconds": float(m.group(3)),
                              "per_s": int(m.group(4)), "cpu_us": float(m.group(5)),
                              "service_us": float(m.group(6)), "redis_us": float(m.group(7)),
                              "setup": m.group(8)}
    print(out.stdout.strip(), file=sys.stderr)
    ratio = figures["region"]["mean_us"] / figures["unit"]["mean_us"]
    return ("monitoring read", f"region of {figures['region']['units']:,} units / one unit "
            f"({args.monitoring_responses:,} responses)",
            {"tool": "monitoring_read_bench", "calls": 2000, "throughput": None,
             "p50_us": figures["region"]["p50_us"], "p99_us": figures["region"]["p99_us"],
             "errors": {}, "cpu_us_per_call": {}, "cpu_us_per_call_total": None,
             "figures": figures, "region_over_unit": round(ratio, 2), "ingest": ingest})


def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def markdown(results, meta):
    lines = [f"Machine: {meta['machine']}; {meta['cores']} cores; Redis AOF everysec; "
             f"{meta['duration']} s per run after {meta['warmup']} s warm-up; "
             f"{meta['connections']} connections × {meta['inflight']} in flight "
             f"(wrk: {meta['connections'] * meta['inflight']} connections); data: {meta['data']}.",
             "",
             "| scenario | path | calls/s | p50 µs | p99 µs | errors | CPU µs/call (all servers) "
             "| of which | Redis µs/call in commands |",
             "|---|---|---|---|---|---|---|---|---|"]
    for group, how, r in results:
        if r.get("tool") == "monitoring_read_bench":
            f = r["figures"]
            lines.append(f"| {group} | {how} | – | {fmt(f['region']['p50_us'])} vs "
                         f"{fmt(f['unit']['p50_us'])} | {fmt(f['region']['p99_us'])} vs "
                         f"{fmt(f['unit']['p99_us'])} | 0 | mean {f['region']['mean_us']} vs "
                         f"{f['unit']['mean_us']} µs (in process) | | |")
            # Survey ingest: responses/s in the calls/s column, CPU µs per response.
            for how, g in (r.get("ingest") or {}).items():
                lines.append(f"| monitoring ingest | survey responses {how} ({g['setup']}) | "
                             f"{fmt(g['per_s'])} | | | 0 | {fmt(g['cpu_us'], 1)} | "
                             f"bench process {fmt(g['service_us'], 1)}, redis "
                             f"{fmt(g['redis_us'], 1)} | |")
            continue
        errors = ", ".join(f"{k} {v}" for k, v in (r.get("errors") or {}).items()) or "0"
        parts = ", ".join(f"{n} {v:,.0f}" for n, v in r["cpu_us_per_call"].items() if v >= 1)
        lines.append(f"| {group} | {how} | {fmt(r['throughput'])} | {fmt(r.get('p50_us'))} | "
                     f"{fmt(r.get('p99_us'))} | {errors} | {fmt(r['cpu_us_per_call_total'])} | "
                     f"{parts} | {fmt(r.get('redis_usec_per_call'), 1)} |")
    for name, value in meta.get("redis_benchmark", {}).items():
        lines.append(f"| redis-benchmark | {name} | {fmt(value)} | | | | | | |")
    return "\n".join(lines) + "\n"


def ratios(results):
    by = {(g, h): r for g, h, r in results}
    out = {}

    def ratio(name, a, b, key="throughput"):
        if a in by and b in by and by[b][key]:
            out[name] = round(by[a][key] / by[b][key], 2)

    def cpu_ratio(name, a, b):
        """a, b: (scenario, path, process); the ratio of that process's CPU µs per call."""
        own = lambda g, h, proc: by.get((g, h), {}).get("cpu_us_per_call", {}).get(proc)
        a, b = own(*a), own(*b)
        if a is not None and b:
            out[name] = round(a / b, 2)

    ratio("gateway / nginx (registry get)", ("registry-get", "gateway gRPC"),
          ("registry-get", "nginx grpc_pass"))
    ratio("gateway / direct (registry get)", ("registry-get", "gateway gRPC"),
          ("registry-get", "direct gRPC"))
    ratio("gateway, cache off / nginx (registry get)",
          ("registry-get", "gateway gRPC, read cache off"), ("registry-get", "nginx grpc_pass"))
    ratio("gateway, cache off / direct (registry get)",
          ("registry-get", "gateway gRPC, read cache off"), ("registry-get", "direct gRPC"))
    ratio("gateway p99 / direct p99 at half peak",
          ("registry-get @ half peak", "gateway gRPC"),
          ("registry-get @ half peak", "direct gRPC"), key="p99_us")
    ratio("REST / gRPC through the gateway (registry get)",
          ("registry-get", "gateway REST (wrk)"), ("registry-get", "gateway gRPC"))
    ratio("gateway / nginx (search)", ("registry-search", "gateway gRPC"),
          ("registry-search", "nginx grpc_pass"))
    ratio("gateway / direct (search)", ("registry-search", "gateway gRPC"),
          ("registry-search", "direct gRPC"))
    ratio("REST / gRPC through the gateway (search)", ("registry-search", "gateway REST (wrk)"),
          ("registry-search", "gateway gRPC"))
    ratio("gateway / direct (filing)", ("complaint filing", "gateway gRPC"),
          ("complaint filing", "direct gRPC"))
    # Against the physical limit (the echo server: one gRPC hop, no logic) and the second proxy.
    for group, what in (("registry-get", "registry get"), ("registry-search", "search")):
        for name, how in (("gateway", "gateway gRPC"), ("nginx", "nginx grpc_pass"),
                          ("haproxy", HAPROXY)):
            ratio(f"{name} / echo server ({what})", (group, how), (group, ECHO))
        ratio(f"gateway / haproxy ({what})", (group, "gateway gRPC"), (group, HAPROXY))
        ratio(f"gateway, cache off / haproxy ({what})", (group, "gateway gRPC, read cache off"),
              (group, HAPROXY))
        # The proxies' own CPU per call (the target of issue #18: the uncached gateway's at most
        # nginx's and HAProxy's), and the cached gateway's against the echo server's.
        cpu_ratio(f"gateway, cache off / haproxy: own CPU per call ({what})",
                  (group, "gateway gRPC, read cache off", "gateway-nocache"),
                  (group, HAPROXY, "haproxy"))
        cpu_ratio(f"gateway, cache off / nginx: own CPU per call ({what})",
                  (group, "gateway gRPC, read cache off", "gateway-nocache"),
                  (group, "nginx grpc_pass", "nginx"))
        cpu_ratio(f"haproxy / nginx: own CPU per call ({what})", (group, HAPROXY, "haproxy"),
                  (group, "nginx grpc_pass", "nginx"))
        cpu_ratio(f"gateway (read cache) / echo server: own CPU per call ({what})",
                  (group, "gateway gRPC", "gateway"), (group, ECHO, "echo-server"))
    for (g, h), r in by.items():
        if r.get("region_over_unit") is not None:
            out["monitoring region / unit read (mean)"] = r["region_over_unit"]
    filing = by.get(("complaint filing", "gateway gRPC"))
    if filing and filing.get("redis_ceiling_per_s"):
        # The ceiling of the filing's own command mix through the gateway (the complaint's
        # commit, the audit record, keys and limits): 1e6 / Redis µs in commands per filing.
        out["Redis ceiling of a gateway filing's command mix (filings/s)"] = \
            filing["redis_ceiling_per_s"]
        out["gateway filing / that Redis ceiling"] = round(
            filing["throughput"] / filing["redis_ceiling_per_s"], 2)
    return out


def redis_benchmark(system, args):
    """Raw Redis figures on this machine for scale (redis-benchmark, pipelined)."""
    out = subprocess.run(["redis-benchmark", "-p", str(system.ports["redis"]), "-q", "-n",
                          "200000", "-P", "16", "-c", "8", "-t", "set,get,incr,xadd"],
                         capture_output=True, text=True).stdout
    figures = {}
    for m in re.finditer(r"^([A-Z]+)[^:]*:\s*([\d.]+) requests per second", out, re.M):
        figures[f"{m.group(1)} (pipelined 16)"] = float(m.group(2))
    return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--inflight", type=int, default=8)
    ap.add_argument("--services", type=int, default=0,
                    help="synthetic services with adopted standards to add to the demo data")
    ap.add_argument("--only", action="append",
                    help="registry-get, registry-search, filing or monitoring (repeatable)")
    ap.add_argument("--monitoring_units", type=int, default=10000)
    ap.add_argument("--monitoring_responses", type=int, default=1000000,
                    help="survey responses the monitoring read runs over (loading takes about "
                         "15 minutes at the default)")
    ap.add_argument("--gateway_flag", action="append",
                    help="an extra flag for simpul-gateway, e.g. --gateway_flag=--access_log=false")
    ap.add_argument("--echo_api", choices=("callback", "cq"), default="callback",
                    help="the echo server's gRPC API: callback, or async completion queues")
    ap.add_argument("--echo_forward", action="store_true",
                    help="the echo server forwards to the registry: a bare proxy (experiment)")
    ap.add_argument("--out", default=os.path.join(ROOT, "var/bench/latest"))
    args = ap.parse_args()
    for tool in ("redis-server", "nginx", "haproxy", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench/run needs {tool} "
                             "(apt-get install redis-server nginx haproxy wrk)")
    work = os.path.join(ROOT, "var/bench", time.strftime("%Y%m%dT%H%M%S"))
    system = System(args.build, work, args.services, args.gateway_flag or [])
    system.echo_api = args.echo_api
    system.echo_forward = args.echo_forward
    try:
        log(f"starting the system in {work}")
        system.up()
        log("loading data")
        system.load()
        echo_bytes = system.start_echo(GET_REQUEST, SEARCH_REQUEST)
        results = scenarios(system, args)
        raw = redis_benchmark(system, args)
    finally:
        system.down()
    meta = {"machine": platform.node() + " " + platform.processor(),
            "cores": os.cpu_count(), "duration": args.duration, "warmup": args.warmup,
            "connections": args.connections, "inflight": args.inflight,
            "data": f"demo registry + {args.services} synthetic services",
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "redis_benchmark": raw,
            "echo_response_bytes": echo_bytes}
    table = markdown(results, meta)
    r = ratios(results)
    table += "\n" + "\n".join(f"- {k}: **{v}**" for k, v in r.items()) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".md", "w") as f:
        f.write(table)
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "ratios": r,
                   "results": [{"scenario": g, "path": h, **res} for g, h, res in results]},
                  f, indent=2)
    print(table)
    log(f"wrote {args.out}.md and {args.out}.json")


if __name__ == "__main__":
    main()
