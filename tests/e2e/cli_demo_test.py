#!/usr/bin/python3
"""End-to-end test of tools/simpul-call and the demo loaders (deploy/demo/load_demo.py and
load_complaints.py).

Starts its own redis-server, simpul-registry and simpul-complaints on free loopback ports in a
temporary directory, loads the demo data twice (the second run must change nothing), then
drives tools/simpul-call as a subprocess through every read RPC of the registry with public
access, the error paths (NOT_FOUND for a public read of a draft, INVALID_ARGUMENT with field
violations), the public view of a standard, and the README's complaint walkthrough. As
deploy/run does, the services serve mutual TLS only (certificates from deploy/pki) and the tools
and the demo loaders present the operator certificate (SIMPUL_TLS_CA/CERT/KEY).

  /usr/bin/python3 tests/e2e/cli_demo_test.py --registry BUILD/services/registry/simpul-registry
      --complaints BUILD/services/complaints/simpul-complaints --token BUILD/tools/simpul-token
      --repo REPO
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

PY = "/usr/bin/python3"
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
ARGS = None
ENV = {}  # filled by setUpModule: addr, tmp, processes, tokens, demo module, counts


def die_with_parent():
    """die_with_parent makes a child get SIGTERM if this test process dies (e.g. killed by a
    ctest timeout), so no redis-server or registry is left behind."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(tls=True):
    # The registry rejects unknown SIMPUL_REGISTRY_* variables and would pick up known ones:
    # keep the test hermetic. The tools get the operator certificate (unless tls=False).
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMPUL_")}
    if tls:
        env.update(ENV.get("tls_env", {}))
    return env


def tls_flags(name):
    """tls_flags are the internal TLS flags of simpul-<name>, as deploy/run passes them."""
    pki = ENV["pki"]
    return [f"--internal_tls_cert_file={pki}/simpul-{name}.crt",
            f"--internal_tls_key_file={pki}/simpul-{name}.key",
            f"--internal_tls_ca_file={pki}/ca.crt"]


def redis_ping(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def cli(*args, token=None, timeout=60, stdin=None, addr=None, tls=True):
    """cli runs tools/simpul-call against the test registry (or `addr`), presenting the
    operator certificate unless tls=False."""
    cmd = [PY, os.path.join(ARGS.repo, "tools", "simpul-call"), "--addr", addr or ENV["addr"]]
    if token:
        cmd += ["--token", token]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=stdin,
                          env=clean_env(tls))


def cli_json(testcase, *args, **kwargs):
    out = cli(*args, **kwargs)
    testcase.assertEqual(out.returncode, 0,
                         f"simpul-call {' '.join(args)} failed:\n{out.stderr}{out.stdout}")
    return json.loads(out.stdout)


def mint(role, agency="", channel="", audience="simpul-registry"):
    cmd = [ARGS.token, f"--key_file={ENV['key']}", f"--audience={audience}", f"--role={role}",
           "--subject=e2e", "--ttl=30m"]
    if agency:
        cmd.append(f"--agency={agency}")
    if channel:
        cmd.append(f"--channel={channel}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=clean_env())
    if out.returncode != 0:
        raise RuntimeError(f"simpul-token failed: {out.stderr}")
    return out.stdout.strip()


def run_load_demo():
    cmd = [PY, os.path.join(ARGS.repo, "deploy", "demo", "load_demo.py"), "--addr", ENV["addr"],
           "--key-file", ENV["key"], "--token-tool", ARGS.token]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=clean_env())
    if out.returncode != 0:
        raise RuntimeError(f"load_demo.py failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out.stdout


def run_load_complaints():
    cmd = [PY, os.path.join(ARGS.repo, "deploy", "demo", "load_complaints.py"),
           "--addr", ENV["complaints_addr"], "--key-file", ENV["key"], "--token-tool", ARGS.token,
           "--state-file", ENV["complaints_state"]]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=clean_env())
    if out.returncode != 0:
        raise RuntimeError(
            f"load_complaints.py failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out.stdout


def run_load_monitoring():
    cmd = [PY, os.path.join(ARGS.repo, "deploy", "demo", "load_monitoring.py"),
           "--addr", ENV["monitoring_addr"], "--key-file", ENV["key"], "--token-tool", ARGS.token,
           "--quiet"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=clean_env())
    if out.returncode != 0:
        raise RuntimeError(
            f"load_monitoring.py failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out.stdout


def start_service(name, argv, addr, health_service):
    log_path = os.path.join(ENV["tmp"], f"{name}.log")
    ENV[f"{name}_log"] = log_path
    log = open(log_path, "w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=clean_env(),
                            preexec_fn=die_with_parent)
    log.close()
    ENV["procs"].append((f"simpul-{name}", proc))
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"simpul-{name} exited ({proc.returncode}):\n" + tail(log_path))
        out = cli("--timeout", "2", "health", health_service, timeout=20, addr=addr)
        if out.stdout.strip() == "SERVING":
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"simpul-{name} is not SERVING after 30s:\n" + out.stderr +
                               tail(log_path))
        time.sleep(0.3)


def snapshot():
    """snapshot counts what the demo creates, as seen by a platform admin."""
    admin = ENV["platform"]

    def listing(method, request, field):
        out = cli(method, json.dumps(request), token=admin)
        if out.returncode != 0:
            raise RuntimeError(f"{method}: {out.stderr}")
        return [x["id"] for x in json.loads(out.stdout).get(field, [])]

    demo = ENV["demo"]
    counts = {
        "agencies": len(listing("ListAgencies", {"page": {"page_size": 500}}, "agencies")),
        "units": len(listing("ListServiceUnits", {"page": {"page_size": 500}}, "units")),
        "services": len(listing("ListServices", {"page": {"page_size": 500}}, "services")),
    }
    for s in demo.SERVICES:
        counts["versions:" + s["id"]] = len(listing(
            "ListStandardVersions", {"service_id": s["id"], "page": {"page_size": 500}},
            "versions"))
    for u in demo.UNITS:
        counts["maklumat:" + u["id"]] = len(listing(
            "ListMaklumat", {"unit_id": u["id"], "page": {"page_size": 500}}, "maklumat"))
    return counts


def stop_process(proc, name):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop on SIGTERM; killing it", file=sys.stderr)
        proc.kill()
        proc.wait(timeout=10)


def tail(path, lines=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="simpul-e2e-")
    ENV["tmp"] = tmp
    ENV["procs"] = []
    try:
        _start(tmp)
    except BaseException:
        tearDownModule()
        raise


def _start(tmp):
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", tmp,
         "--save", "", "--appendonly", "no", "--daemonize", "no",
         "--logfile", os.path.join(tmp, "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
    ENV["procs"].append(("redis-server", redis))
    deadline = time.monotonic() + 20
    while not redis_ping(redis_port):
        if redis.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start:\n" +
                               tail(os.path.join(tmp, "redis.log")))
        time.sleep(0.1)

    # The identity keys, as deploy/run makes them: the gateway's key pair (simpul-token signs
    # with it), the monitoring service's own, and the trusted-keys files.
    keys = os.path.join(tmp, "keys")
    os.makedirs(keys, mode=0o700)
    for name in ("gateway", "monitoring"):
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519",
                        "-out", os.path.join(keys, f"{name}.key")], check=True)
        subprocess.run(["openssl", "pkey", "-in", os.path.join(keys, f"{name}.key"), "-pubout",
                        "-out", os.path.join(keys, f"{name}.pub")], check=True)
    with open(os.path.join(keys, "registry.trusted"), "w") as f:
        f.write("any gateway.pub\nservice:simpul-monitoring monitoring.pub\n")
    with open(os.path.join(keys, "services.trusted"), "w") as f:
        f.write("any gateway.pub\n")
    key = os.path.join(keys, "gateway.key")
    ENV["key"] = key
    # The internal CA and certificates, as deploy/run makes them.
    pki = os.path.join(tmp, "pki")
    subprocess.run([os.path.join(ARGS.repo, "deploy", "pki"), pki, "simpul-registry",
                    "simpul-complaints", "simpul-monitoring", "operator"], check=True,
                   stdout=subprocess.DEVNULL)
    ENV["pki"] = pki
    ENV["tls_env"] = {"SIMPUL_TLS_CA": f"{pki}/ca.crt", "SIMPUL_TLS_CERT": f"{pki}/operator.crt",
                      "SIMPUL_TLS_KEY": f"{pki}/operator.key"}
    pii_keys = os.path.join(tmp, "pii.keys")
    with open(os.open(pii_keys, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(f"k1 {os.urandom(32).hex()}\n")

    listen, admin = free_port(), free_port()
    ENV["addr"] = f"127.0.0.1:{listen}"
    ENV["admin_addr"] = f"127.0.0.1:{admin}"
    start_service("registry",
                  [ARGS.registry, f"--listen={ENV['addr']}", f"--admin_listen={ENV['admin_addr']}",
                   f"--redis_addr=127.0.0.1:{redis_port}",
                   f"--identity_trusted_keys={os.path.join(keys, 'registry.trusted')}",
                   f"--holidays_dir={os.path.join(ARGS.repo, 'deploy', 'holidays')}",
                   *tls_flags("registry")],
                  ENV["addr"], "simpul.registry.v1.Registry")
    ENV["complaints_addr"] = f"127.0.0.1:{free_port()}"
    ENV["complaints_state"] = os.path.join(tmp, "demo", "complaints.json")
    start_service("complaints",
                  [ARGS.complaints, f"--listen={ENV['complaints_addr']}",
                   f"--admin_listen=127.0.0.1:{free_port()}",
                   f"--redis_addr=127.0.0.1:{redis_port}",
                   f"--identity_trusted_keys={os.path.join(keys, 'services.trusted')}",
                   f"--registry_addr={ENV['addr']}", f"--pii_keys_file={pii_keys}",
                   f"--holidays_dir={os.path.join(ARGS.repo, 'deploy', 'holidays')}",
                   *tls_flags("complaints")],
                  ENV["complaints_addr"], "simpul.complaints.v1.Complaints")
    ENV["monitoring_addr"] = f"127.0.0.1:{free_port()}"
    start_service("monitoring",
                  [ARGS.monitoring, f"--listen={ENV['monitoring_addr']}",
                   f"--admin_listen=127.0.0.1:{free_port()}",
                   f"--redis_addr=127.0.0.1:{redis_port}",
                   f"--identity_trusted_keys={os.path.join(keys, 'services.trusted')}",
                   f"--identity_private_key_file={os.path.join(keys, 'monitoring.key')}",
                   f"--registry_addr={ENV['addr']}",
                   f"--holidays_dir={os.path.join(ARGS.repo, 'deploy', 'holidays')}",
                   *tls_flags("monitoring")],
                  ENV["monitoring_addr"], "simpul.monitoring.v1.Monitoring")

    sys.path.insert(0, os.path.join(ARGS.repo, "deploy", "demo"))
    import load_demo as demo  # the demo's own constants: ids of its services and units
    ENV["demo"] = demo
    ENV["platform"] = mint("platform_admin")
    ENV["first_load"] = run_load_demo()
    ENV["counts_after_first"] = snapshot()
    ENV["second_load"] = run_load_demo()
    ENV["counts_after_second"] = snapshot()
    ENV["first_complaints"] = run_load_complaints()
    ENV["second_complaints"] = run_load_complaints()
    ENV["first_monitoring"] = run_load_monitoring()
    ENV["second_monitoring"] = run_load_monitoring()


def tearDownModule():
    for name, proc in reversed(ENV.get("procs", [])):
        stop_process(proc, name)
    ENV["procs"] = []
    tmp = ENV.get("tmp")
    if tmp and os.path.isdir(tmp):
        if os.environ.get("SIMPUL_E2E_KEEP_TMP"):
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


class DemoLoadTest(unittest.TestCase):
    def test_demo_counts(self):
        c = ENV["counts_after_first"]
        demo = ENV["demo"]
        self.assertEqual(c["agencies"], len(demo.AGENCIES))
        self.assertEqual(c["units"], len(demo.UNITS))
        self.assertEqual(c["services"], len(demo.SERVICES))
        self.assertGreaterEqual(c["services"], 6)
        self.assertEqual(c["versions:" + demo.DRAFT_V2_SERVICE], 2)
        self.assertEqual(c["versions:" + demo.SCORE5_SERVICE], 1)
        for u in demo.UNITS:
            self.assertEqual(c["maklumat:" + u["id"]], 1)

    def test_second_load_changes_nothing(self):
        self.assertEqual(ENV["counts_after_first"], ENV["counts_after_second"])
        self.assertNotIn(" + ", ENV["second_load"])
        self.assertNotIn("created", ENV["second_load"])
        self.assertIn("already present", ENV["second_load"])

    def test_summary_printed(self):
        self.assertIn("Demo data loaded into", ENV["first_load"])


class MutualTlsTest(unittest.TestCase):
    """The services refuse a tool without the operator certificate; with it, the name check
    holds."""

    def test_plaintext_is_refused(self):
        for addr in (ENV["addr"], ENV["complaints_addr"], ENV["monitoring_addr"]):
            out = cli("--timeout", "5", "health", addr=addr, tls=False)
            self.assertEqual(out.returncode, 14, f"{addr}: {out.stdout}{out.stderr}")
            self.assertIn("UNAVAILABLE", out.stderr)

    def test_server_name_is_checked(self):
        out = cli("--tls-name", "simpul-registry", "health")
        self.assertEqual(out.returncode, 0, out.stderr)
        out = cli("--tls-name", "simpul-monitoring", "health")
        self.assertEqual(out.returncode, 14, out.stdout + out.stderr)
        self.assertIn("simpul-monitoring", out.stderr)


class CliDiscoveryTest(unittest.TestCase):
    def test_list_services(self):
        out = cli("list")
        self.assertEqual(out.returncode, 0, out.stderr)
        services = out.stdout.split()
        self.assertIn("simpul.registry.v1.Registry", services)
        self.assertIn("grpc.health.v1.Health", services)
        self.assertIn("grpc.reflection.v1alpha.ServerReflection", services)

    def test_list_methods_of_a_service(self):
        out = cli("list", "Registry")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("simpul.registry.v1.Registry.GetCurrentStandard", out.stdout.split())

    def test_describe_registry(self):
        out = cli("describe", "simpul.registry.v1.Registry")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("rpc GetAgency(simpul.registry.v1.GetAgencyRequest) returns "
                      "(simpul.registry.v1.GetAgencyResponse);", out.stdout)
        self.assertIn("rpc WatchStandards(simpul.registry.v1.WatchStandardsRequest) returns "
                      "(stream simpul.registry.v1.WatchStandardsResponse);", out.stdout)

    def test_describe_message(self):
        out = cli("describe", "simpul.registry.v1.StandardVersion")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("simpul.registry.v1.StandardComponents components = 9;", out.stdout)
        out = cli("describe", "ListServicesRequest")  # short name, found in the service package
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("oneof scope {", out.stdout)

    def test_health(self):
        for service in ([], ["simpul.registry.v1.Registry"]):
            out = cli("health", *service)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout.strip(), "SERVING")

    def test_unknown_method_is_a_usage_error(self):
        out = cli("NoSuchMethod", "{}")
        self.assertEqual(out.returncode, 64)
        self.assertIn("NoSuchMethod", out.stderr)

    def test_method_name_forms(self):
        for name in ("simpul.registry.v1.Registry/GetAgency", "Registry.GetAgency",
                     "GetAgency"):
            resp = cli_json(self, name, '{"id": "kota-bogor"}')
            self.assertEqual(resp["agency"]["id"], "kota-bogor")

    def test_request_from_stdin(self):
        resp = cli_json(self, "GetAgency", "-", stdin='{"id": "kemenpanrb"}')
        self.assertEqual(resp["agency"]["kind"], "AGENCY_KIND_MINISTRY")


class PublicReadTest(unittest.TestCase):
    """Every read RPC of the registry, called without a token."""

    def test_get_agency(self):
        a = cli_json(self, "GetAgency", '{"id": "kab-padang-pariaman"}')["agency"]
        self.assertEqual(a["name"], "Pemerintah Kabupaten Padang Pariaman")
        self.assertEqual(a["kind"], "AGENCY_KIND_REGENCY")
        self.assertEqual(a["region_code"], "13.05")

    def test_list_agencies(self):
        ids = [a["id"] for a in cli_json(self, "ListAgencies", "{}")["agencies"]]
        self.assertEqual(ids, sorted(ids))
        for agency in ("kab-padang-pariaman", "kota-bogor", "kemenpanrb"):
            self.assertIn(agency, ids)
        west_java = cli_json(self, "ListAgencies", '{"region_code_prefix": "32"}')["agencies"]
        self.assertEqual([a["id"] for a in west_java], ["kota-bogor"])

    def test_get_service_unit(self):
        u = cli_json(self, "GetServiceUnit", '{"id": "dpmptsp-kota-bogor"}')["unit"]
        self.assertEqual(u["agency_id"], "kota-bogor")
        self.assertEqual(u["time_zone"], "TIME_ZONE_WIB")
        self.assertEqual(u["region_code"], "32.71")
        self.assertTrue(u["current_maklumat_id"])

    def test_list_service_units(self):
        units = cli_json(self, "ListServiceUnits",
                         '{"agency_id": "kab-padang-pariaman"}')["units"]
        self.assertEqual([u["id"] for u in units], ["disdukcapil-padang-pariaman"])

    def test_get_service(self):
        s = cli_json(self, "GetService", '{"id": "pbg-kota-bogor"}')["service"]
        self.assertEqual(s["unit_id"], "dpmptsp-kota-bogor")
        self.assertEqual(s["agency_id"], "kota-bogor")
        self.assertEqual(s["current_version_id"], "pbg-kota-bogor.v1")

    def test_list_services(self):
        services = cli_json(self, "ListServices",
                            '{"unit_id": "disdukcapil-padang-pariaman"}')["services"]
        self.assertEqual(len(services), 3)
        by_agency = cli_json(self, "ListServices", '{"agency_id": "kota-bogor"}')["services"]
        self.assertEqual(len(by_agency), 3)

    def test_get_standard_version_public_view(self):
        v = cli_json(self, "GetStandardVersion",
                     '{"id": "akta-kelahiran-padang-pariaman.v1"}')["version"]
        self.assertEqual(v["state"], "STANDARD_STATE_ADOPTED")
        self.assertEqual(v["view"], "STANDARD_VIEW_PUBLIC")
        c = v["components"]
        for delivery in ("requirements", "procedure", "completion_time", "fee", "products",
                         "complaint_handling"):
            self.assertIn(delivery, c)
        for management in ("legal_basis", "facilities", "staff_competences",
                           "internal_supervision", "staff_count", "service_guarantee",
                           "security_guarantee", "staff_evaluation"):
            self.assertNotIn(management, c, f"management component {management} is public")
        self.assertEqual(c["completion_time"],
                         {"amount": 1, "unit": "TIME_UNIT_WORKING_DAY"})

    def test_agency_sees_full_view(self):
        token = mint("agency_admin", "kab-padang-pariaman")
        v = cli_json(self, "GetStandardVersion", '{"id": "akta-kelahiran-padang-pariaman.v1"}',
                     token=token)["version"]
        self.assertEqual(v["view"], "STANDARD_VIEW_FULL")
        citations = [r["citation"] for r in v["components"]["legal_basis"]]
        self.assertIn("UU No. 24 Tahun 2013", citations)

    def test_get_current_standard(self):
        v = cli_json(self, "GetCurrentStandard",
                     '{"service_id": "akta-kelahiran-padang-pariaman"}')["version"]
        self.assertEqual(v["id"], "akta-kelahiran-padang-pariaman.v1")
        self.assertNotIn("legal_basis", v["components"])
        self.assertTrue(v["consultations"])
        self.assertTrue(v["publications"])

    def test_list_standard_versions_hides_drafts(self):
        demo = ENV["demo"]
        versions = cli_json(self, "ListStandardVersions",
                            json.dumps({"service_id": demo.DRAFT_V2_SERVICE}))["versions"]
        self.assertEqual([v["id"] for v in versions], [demo.DRAFT_V2_SERVICE + ".v1"])
        token = mint("agency_admin", "kab-padang-pariaman")
        versions = cli_json(self, "ListStandardVersions",
                            json.dumps({"service_id": demo.DRAFT_V2_SERVICE}),
                            token=token)["versions"]
        self.assertEqual([v["state"] for v in versions],
                         ["STANDARD_STATE_ADOPTED", "STANDARD_STATE_DRAFT"])

    def test_search_standards(self):
        demo = ENV["demo"]
        found = cli_json(self, "SearchStandards",
                         json.dumps({"keyword": demo.SEARCH_KEYWORD}))["versions"]
        self.assertIn("akta-kelahiran-padang-pariaman.v1", [v["id"] for v in found])
        bogor = cli_json(self, "SearchStandards", '{"region_code_prefix": "32.71"}')["versions"]
        self.assertEqual(sorted(v["service_id"] for v in bogor),
                         ["izin-usaha-oss-kota-bogor", "nib-umk-kota-bogor", "pbg-kota-bogor"])

    def test_list_review_overdue(self):
        demo = ENV["demo"]
        versions = cli_json(self, "ListReviewOverdue", "{}")["versions"]
        ids = [v["id"] for v in versions]
        self.assertIn(demo.OVERDUE_SERVICE + ".v1", ids)
        self.assertNotIn(demo.SCORE5_SERVICE + ".v1", ids)

    def test_get_completeness(self):
        demo = ENV["demo"]
        resp = cli_json(self, "GetCompleteness",
                        json.dumps({"service_id": demo.SCORE5_SERVICE}))
        self.assertEqual(resp.get("score"), 5, resp)
        self.assertEqual(resp["evaluated_version_id"], demo.SCORE5_SERVICE + ".v1")
        overdue = cli_json(self, "GetCompleteness",
                           json.dumps({"service_id": demo.OVERDUE_SERVICE}))
        self.assertEqual(overdue.get("score"), 4, overdue)

    def test_get_maklumat(self):
        m = cli_json(self, "GetMaklumat",
                     '{"current_for_unit": "disdukcapil-padang-pariaman"}')["maklumat"]
        self.assertEqual(m["state"], "MAKLUMAT_STATE_PUBLISHED")
        self.assertEqual(m["id"], "disdukcapil-padang-pariaman.m1")
        self.assertTrue(m["signer_name"])
        same = cli_json(self, "GetMaklumat", json.dumps({"id": m["id"]}))["maklumat"]
        self.assertEqual(same["text"], m["text"])

    def test_list_maklumat(self):
        pledges = cli_json(self, "ListMaklumat", '{"unit_id": "dpmptsp-kota-bogor"}')["maklumat"]
        self.assertEqual([m["state"] for m in pledges], ["MAKLUMAT_STATE_PUBLISHED"])

    def test_watch_standards(self):
        out = cli("--max-messages", "3", "--timeout", "30", "WatchStandards", '{"cursor": "0"}')
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.strip().splitlines()
        self.assertEqual(len(lines), 3, out.stdout)
        cursors = []
        for line in lines:
            event = json.loads(line)["event"]
            self.assertTrue(event["cursor"])
            self.assertTrue(event["action"])
            cursors.append(event["cursor"])
        self.assertEqual(len(set(cursors)), 3)
        first = json.loads(lines[0])["event"]
        self.assertEqual(first["action"], "CreateAgency")


class ErrorTest(unittest.TestCase):
    def test_public_read_of_a_draft_is_not_found(self):
        demo = ENV["demo"]
        out = cli("GetStandardVersion", json.dumps({"id": demo.DRAFT_V2_SERVICE + ".v2"}))
        self.assertEqual(out.returncode, 5, out.stderr + out.stdout)
        self.assertTrue(out.stderr.startswith("ERROR NOT_FOUND: "), out.stderr)
        self.assertEqual(out.stdout, "")

    def test_invalid_request_lists_field_violations(self):
        token = mint("agency_admin", "kota-bogor")
        out = cli("CreateServiceUnit", "{}", token=token)
        self.assertEqual(out.returncode, 3, out.stderr + out.stdout)
        self.assertTrue(out.stderr.startswith("ERROR INVALID_ARGUMENT: "), out.stderr)
        violations = [line.strip() for line in out.stderr.splitlines()[1:]]
        self.assertTrue(any(v.startswith("unit.agency_id: ") for v in violations), out.stderr)
        self.assertTrue(any(v.startswith("unit.name: ") for v in violations), out.stderr)

    def test_public_write_is_unauthenticated(self):
        out = cli("CreateAgency", '{"agency": {"id": "kota-depok", "name": "Pemerintah Kota '
                                  'Depok", "kind": "AGENCY_KIND_CITY", "region_code": "32.76"}}')
        self.assertEqual(out.returncode, 16, out.stderr)
        self.assertIn("ERROR UNAUTHENTICATED", out.stderr)

    def test_bad_json_is_a_usage_error(self):
        out = cli("GetAgency", '{"id": ')
        self.assertEqual(out.returncode, 64)


def ccli(*args, **kwargs):
    return cli(*args, addr=ENV["complaints_addr"], **kwargs)


def ccli_json(testcase, *args, **kwargs):
    return cli_json(testcase, *args, addr=ENV["complaints_addr"], **kwargs)


class ComplaintsDemoTest(unittest.TestCase):
    """The complaint demo and the README's walkthrough, through tools/simpul-call."""

    def demo_cases(self):
        with open(ENV["complaints_state"]) as f:
            return json.load(f)

    def test_demo_files_each_complaint_once(self):
        self.assertIn("8 filed", ENV["first_complaints"])
        self.assertIn("8 present", ENV["second_complaints"])
        self.assertNotIn("filed", ENV["second_complaints"].split("(")[0])
        coordinator = mint("platform_admin", audience="simpul-complaints")
        listed = ccli_json(self, "ListComplaints", '{"page": {"page_size": 100}}',
                           token=coordinator).get("complaints", [])
        self.assertEqual(len(listed), 8)

    def test_demo_states(self):
        expected = {
            "akta-terlambat": "STATE_RESPONDED", "pungutan-pbg": "STATE_IN_PROGRESS",
            "blangko-ktp": "STATE_COMPLETED", "nib-oss": "STATE_RECEIVED",
            "jalan-rusak": "STATE_RECEIVED", "kk-kurang-data": "STATE_ON_HOLD",
            "salah-alamat": "STATE_FORWARDED", "pungutan-pbg-ulang": "STATE_ARCHIVED",
        }
        cases = self.demo_cases()
        self.assertEqual(set(cases), set(expected))
        for name, state in expected.items():
            tracked = ccli_json(self, "TrackComplaint", json.dumps(cases[name]))
            self.assertEqual(tracked["complaint"]["state"], state, name)
        forwarded = ccli_json(self, "TrackComplaint", json.dumps(cases["salah-alamat"]))
        self.assertEqual(forwarded["complaint"]["agency_id"], "kota-bogor")
        unrouted = ccli_json(self, "ListComplaints", '{"unrouted": true}',
                             token=mint("platform_admin", audience="simpul-complaints"))
        self.assertEqual([c["id"] for c in unrouted["complaints"]],
                         [cases["jalan-rusak"]["tracking_code"]])

    def test_public_list_hides_secret_cases_and_identities(self):
        cases = self.demo_cases()
        listed = ccli_json(self, "ListComplaints").get("public_complaints", [])
        ids = {c["id"] for c in listed}
        self.assertIn(cases["pungutan-pbg"]["tracking_code"], ids)  # PUBLIC, verified
        self.assertIn(cases["blangko-ktp"]["tracking_code"], ids)   # ANONYMOUS, verified
        self.assertNotIn(cases["akta-terlambat"]["tracking_code"], ids)  # SECRET
        text = json.dumps(listed)
        self.assertNotIn("Rahmat Hidayat", text)
        self.assertNotIn("dewi.anggraini@example.org", text)
        self.assertIn("Dewi Anggraini", text)  # a PUBLIC complainant's name is shown

    def test_readme_walkthrough(self):
        filed = ccli_json(self, "FileComplaint", json.dumps({
            "idempotency_key": "try-it-0001", "report_type": "REPORT_TYPE_COMPLAINT",
            "channel": "CHANNEL_WEB", "service_id": "ktp-el-padang-pariaman",
            "description": "Antrean perekaman KTP-el tidak bergerak sejak pagi."}))
        code, secret = filed["tracking_code"], filed["secret"]
        self.assertRegex(code, r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")
        self.assertEqual(filed["complaint"]["agency_id"], "kab-padang-pariaman")
        tracked = ccli_json(self, "TrackComplaint", json.dumps(
            {"tracking_code": code.lower().replace("-", ""), "secret": secret}))
        self.assertEqual(tracked["complaint"]["state"], "STATE_RECEIVED")
        pp = mint("agency_admin", "kab-padang-pariaman", audience="simpul-complaints")
        inbox = ccli_json(self, "ListComplaints", '{"states": ["STATE_RECEIVED"]}', token=pp)
        self.assertIn(code, [c["id"] for c in inbox["complaints"]])
        for method, request, state in [
                ("VerifyComplaint", {"resolution_class": "ringan"}, "STATE_VERIFIED"),
                ("DisposeComplaint", {}, "STATE_DISPOSED"),
                ("StartWork", {}, "STATE_IN_PROGRESS"),
                ("PostFollowUp", {"message": "Loket perekaman ditambah mulai besok."},
                 "STATE_RESPONDED")]:
            resp = ccli_json(self, method, json.dumps(dict(request, id=code)), token=pp)
            self.assertEqual(resp["complaint"]["state"], state, method)
        reply = ccli_json(self, "ReplyToComplaint", json.dumps(
            {"tracking_code": code, "secret": secret, "message": "Terima kasih."}))
        self.assertEqual(reply["complaint"]["state"], "STATE_IN_PROGRESS")
        history = ccli_json(self, "GetComplaintHistory", json.dumps({"id": code}), token=pp)
        self.assertEqual([e["action"] for e in history["entries"]],
                         ["FileComplaint", "VerifyComplaint", "DisposeComplaint", "StartWork",
                          "PostFollowUp", "ReplyToComplaint"])
        # Another agency may not read it; the error says why without naming the handler.
        out = ccli("GetComplaint", json.dumps({"id": code}),
                   token=mint("agency_admin", "kota-bogor", audience="simpul-complaints"))
        self.assertEqual(out.returncode, 7, out.stderr)  # PERMISSION_DENIED
        self.assertIn("not handled by agency kota-bogor", out.stderr)
        self.assertNotIn("kab-padang-pariaman", out.stderr)

    def test_bad_filing_names_the_field(self):
        out = ccli("FileComplaint", json.dumps({
            "idempotency_key": "try-it-bad-01", "report_type": "REPORT_TYPE_COMPLAINT",
            "channel": "CHANNEL_WEB", "service_id": "ktp-el-padang-pariaman",
            "description": ""}))
        self.assertEqual(out.returncode, 3, out.stderr)  # INVALID_ARGUMENT
        self.assertIn("description: required", out.stderr)


class MonitoringDemoTest(unittest.TestCase):
    """The monitoring demo and the README's monitoring commands."""

    def mcli_json(self, *args):
        return cli_json(self, *args, addr=ENV["monitoring_addr"])

    def test_demo_applies_once(self):
        self.assertRegex(ENV["first_monitoring"], r"[1-9][0-9]* applied, 0 already present")
        self.assertRegex(ENV["second_monitoring"], r" 0 applied, [1-9][0-9]* already present")

    def test_readme_figures(self):
        year = '"period": {"kind": "PERIOD_KIND_YEAR", "year": 2026}'
        figures = self.mcli_json("GetFigures", '{"scope": {"unit_id": '
                                 '"disdukcapil-padang-pariaman"}, ' + year + '}')["figures"]
        survey = figures["survey"]
        self.assertGreater(int(survey["respondents"]), 100)
        self.assertRegex(survey["ikm"], r"^\d{2,3}\.\d{2}$")
        self.assertIn(survey["grade"], ("A", "B", "C", "D"))
        self.assertEqual(len(survey["elements"]), 9)
        self.assertGreater(int(figures["delivery"]["completed"]), 0)
        self.assertIn("on_time_share", figures["delivery"])
        # The complaint demo's events reach the figures through the consumer group.
        deadline = time.monotonic() + 30
        while True:
            agency = self.mcli_json("GetFigures", '{"scope": {"agency_id": '
                                    '"kab-padang-pariaman"}, ' + year + '}')["figures"]
            if int(agency.get("complaints", {}).get("received", 0)) >= 5:
                break
            self.assertLess(time.monotonic(), deadline, agency)
            time.sleep(0.3)
        ranked = self.mcli_json("RankUnits", '{"scope": {"region_code_prefix": "32"}, ' + year +
                                ', "metric": "METRIC_IKM", "limit": 10}')["units"]
        self.assertEqual([u["unit_id"] for u in ranked], ["dpmptsp-kota-bogor"])
        series = self.mcli_json("GetTimeSeries", '{"scope": {"national": true}, "metric": '
                                '"METRIC_IKM", "from": {"kind": "PERIOD_KIND_MONTH", "year": '
                                '2026, "index": 1}, "count": 12}')["points"]
        self.assertTrue(any("value" in p for p in series))


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--registry", required=True, help="simpul-registry binary")
    p.add_argument("--complaints", required=True, help="simpul-complaints binary")
    p.add_argument("--monitoring", required=True, help="simpul-monitoring binary")
    p.add_argument("--token", required=True, help="simpul-token binary")
    p.add_argument("--repo", required=True, help="repository root")
    ARGS, rest = p.parse_known_args()
    ARGS.repo = os.path.abspath(ARGS.repo)
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    if rest:  # e.g. -k pattern
        suite = unittest.defaultTestLoader.loadTestsFromNames(
            [n for n in rest if not n.startswith("-")], sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = max(0, result.testsRun - failed - len(result.skipped))
    print(f"{passed} passed, {failed} failed")
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
