#!/usr/bin/env python3
"""manifests_test: checks the container deployment files against the binaries they run.

deploy/compose.yaml and deploy/k8s/*.yaml cannot be run on the machine that builds Simpul (no
cluster, no registry), so this test reads them (python3-yaml) and checks every container
against the program it starts, as that program describes itself in its --help:

  * the program (the first argument: the image's entrypoint runs the program it names) is one
    the image has (deploy/container/entrypoint);
  * every --flag and every SIMPUL_* environment variable is a key of that program;
  * every listen address is 0.0.0.0 (reachable from other pods and the kubelet) and every
    listening port is a declared containerPort (compose: a published or exposed port), and
    every containerPort is a port the program listens on;
  * probes: httpGet on the admin_listen port with a path the admin server serves (liveness
    /healthz, readiness /readyz), grpc on the listen port with a grpc.health.v1 service name
    the binary registers (and only where the port is plaintext), tcpSocket on a listen port;
  * every file or directory a key points at is inside a volume mounted in that container, a
    file in a ConfigMap or Secret volume is one of its keys, a file in the in-memory volume
    the init container fills (simpul-copy-secrets) is one it copies, and the secret files
    Simpul checks the mode of (common/secret_file.h) are those mode-600 copies, never the
    Secret volume itself (Kubernetes makes its files group-readable under fsGroup);
  * every ConfigMap and Secret referenced exists (deploy/k8s/*.yaml and the Secrets
    deploy/k8s/make-secrets writes), deploy/k8s/config.yaml holds deploy/policy.json and
    deploy/holidays/*.json unchanged;
  * terminationGracePeriodSeconds (compose: stop_grace_period) exceeds the program's
    drain_timeout plus any preStop sleep; Deployments have 2 replicas and a
    PodDisruptionBudget; Services select pods and target their ports.

Then it proves it catches mistakes: each of a list of small mutations of the manifests (a
misspelt flag, a misspelt variable, a wrong probe port, ...) must fail the check.

Usage: manifests_test.py --source DIR PROGRAM=PATH...   (ctest passes the built binaries)
       manifests_test.py --source DIR --write-config    (regenerates deploy/k8s/config.yaml)
"""

import argparse
import copy
import os
import re
import subprocess
import sys
import tempfile

import yaml

# Keys whose file Simpul reads with ReadSecretFile (mode 600/400 required).
MODE_CHECKED_KEYS = {"redis_password_file", "redis_sentinel_password_file", "pii_keys_file",
                     "audit_key_file"}
# Paths that are inside the image (deploy/container/Containerfile).
IMAGE_PATHS = ("/usr/share/simpul/",)
HELP_KEY = re.compile(r'^\s+--([a-z0-9_]+)=<([^>]+)>\s+\((SIMPUL_[A-Z0-9_]+), default "(.*)"\)$')
HEALTH_LINE = re.compile(r"^gRPC health \(grpc\.health\.v1\) services: (.*)$")


class Program:
    """What a program says of itself in --help."""

    def __init__(self, name, path):
        self.name = name
        out = subprocess.run([path, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=60, check=False)
        if out.returncode != 0:
            raise SystemExit(f"{path} --help exited {out.returncode}")
        text = out.stdout.decode()
        self.keys = {}  # name -> (type, env, default)
        self.admin_paths = set()
        self.health_services = None
        last = None
        for line in text.splitlines():
            m = HELP_KEY.match(line)
            if m:
                last = m.group(1)
                self.keys[last] = (m.group(2), m.group(3), m.group(4))
                continue
            h = HEALTH_LINE.match(line)
            if h:
                self.health_services = set(re.findall(r'"([^"]*)"', h.group(1)))
                continue
            if last == "admin_listen" and line.startswith("      "):
                self.admin_paths |= set(re.findall(r"(/[a-z]+)", line))
        if not self.keys:
            raise SystemExit(f"{path} --help lists no keys")
        self.env = {env: key for key, (_, env, _) in self.keys.items()}


def parse_duration_seconds(text):
    total = 0.0
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"([0-9.]+)(ms|us|ns|h|m|s)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    for number, unit in parts:
        total += float(number) * units[unit]
    return total


def host_port(value):
    host, _, port = value.rpartition(":")
    return host, int(port) if port.isdigit() else None


class Checker:
    def __init__(self, programs, image_programs):
        self.programs = programs
        self.image_programs = image_programs
        self.errors = []

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")

    # ---- one container (Kubernetes or compose) ----

    def container_config(self, where, args, env):
        """Checks the program, flags and variables; returns (program, {key: value}, set keys)."""
        if not args:
            self.error(where, "no args: the first argument names the program to run")
            return None, {}, set()
        name = args[0]
        if name not in self.image_programs:
            self.error(where, f"program {name!r} is not in the image (deploy/container/entrypoint)")
            return None, {}, set()
        program = self.programs.get(name)
        if program is None:
            return None, {}, set()
        values = {key: default for key, (_, _, default) in program.keys.items()}
        explicit = set()
        for var, value in env.items():
            if not var.startswith("SIMPUL_"):
                continue
            key = program.env.get(var)
            if key is None:
                self.error(where, f"environment variable {var} is not a key of {name} (--help)")
                continue
            values[key] = str(value)
            explicit.add(key)
        for arg in args[1:]:
            if not arg.startswith("--"):
                self.error(where, f"argument {arg!r} of {name} is not a --key=value flag")
                continue
            key, eq, value = arg[2:].partition("=")
            if key not in program.keys:
                self.error(where, f"flag --{key} is not a key of {name} (--help)")
                continue
            if not eq:
                self.error(where, f"flag --{key} has no =value")
                continue
            values[key] = value
            explicit.add(key)
        return program, values, explicit

    def listen_ports(self, where, program, values, explicit):
        """The ports the program listens on: {key: port}; checks they are on 0.0.0.0."""
        ports = {}
        for key in program.keys:
            if not key.endswith("listen"):
                continue
            # redis-node listens on the key of its role only; a Simpul binary on every one.
            if program.name == "simpul-redis-node":
                role = values.get("role", "server")
                if (key == "listen") != (role == "server"):
                    continue
            value = values[key]
            if not value:
                continue
            host, port = host_port(value)
            if port is None:
                self.error(where, f"{key}={value!r}: no port")
                continue
            if host not in ("0.0.0.0", "[::]"):
                self.error(where, f"{key}={value!r} listens on {host}: inside a container it must "
                                  "be 0.0.0.0 to be reachable")
            ports[key] = port
        return ports

    def check_grace(self, where, program, values, grace_seconds, pre_stop_seconds, what):
        if "drain_timeout" not in program.keys:
            return
        drain = parse_duration_seconds(values["drain_timeout"])
        if not grace_seconds > drain + pre_stop_seconds:
            self.error(where, f"{what} {grace_seconds:g}s is not more than drain_timeout "
                              f"{drain:g}s + preStop {pre_stop_seconds:g}s: SIGKILL would cut "
                              "the drain")

    def path_keys(self, program, values, explicit):
        """(key, value) of the keys naming a file or directory that are set (for
        simpul-redis-node, whose keys depend on its role, those set explicitly)."""
        for key in program.keys:
            if program.name == "simpul-redis-node" and key not in explicit:
                continue
            value = values.get(key, "")
            if not value:
                continue
            if (key.endswith("_file") or key.endswith("_dir") or key == "identity_trusted_keys"
                    or value.startswith("/")):
                yield key, value

    # ---- Kubernetes ----

    def check_k8s(self, objects):
        by_kind = {}
        for obj in objects:
            by_kind.setdefault(obj.get("kind"), {})[obj["metadata"]["name"]] = obj
        config_maps = {n: set((o.get("data") or {}).keys()) | set((o.get("binaryData") or {}))
                       for n, o in by_kind.get("ConfigMap", {}).items()}
        secrets = {n: set((o.get("data") or {}).keys()) | set((o.get("stringData") or {}))
                   for n, o in by_kind.get("Secret", {}).items()}
        workloads = dict(by_kind.get("Deployment", {}))
        workloads.update(by_kind.get("StatefulSet", {}))
        if not workloads:
            self.error("deploy/k8s", "no Deployment or StatefulSet")
        pod_labels = {}
        pod_ports = {}
        for wname, workload in workloads.items():
            kind = workload["kind"]
            where = f"{kind}/{wname}"
            spec = workload["spec"]
            template = spec["template"]
            labels = template["metadata"].get("labels", {})
            pod_labels[where] = labels
            selector = spec.get("selector", {}).get("matchLabels", {})
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                self.error(where, "spec.selector does not match the pod template's labels")
            replicas = spec.get("replicas", 1)
            if kind == "Deployment" and replicas < 2:
                self.error(where, f"replicas {replicas}: every service runs 2 or more")
            pdbs = [p for p in by_kind.get("PodDisruptionBudget", {}).values()
                    if all(labels.get(k) == v for k, v in
                           p["spec"].get("selector", {}).get("matchLabels", {}).items())]
            if len(pdbs) != 1:
                self.error(where, f"{len(pdbs)} PodDisruptionBudgets select its pods (want 1)")
            for pdb in pdbs:
                min_available = pdb["spec"].get("minAvailable")
                if not isinstance(min_available, int) or not 1 <= min_available < replicas:
                    self.error(where, f"PodDisruptionBudget minAvailable {min_available!r} must be "
                                      f"1..{replicas - 1}")
            pod_ports[where] = self.check_pod(where, template["spec"], spec, config_maps, secrets)
        for sname, service in by_kind.get("Service", {}).items():
            where = f"Service/{sname}"
            selector = service["spec"].get("selector", {})
            matched = [w for w, labels in pod_labels.items()
                       if selector and all(labels.get(k) == v for k, v in selector.items())]
            if not matched:
                self.error(where, f"selector {selector} matches no pod template")
            for port in service["spec"].get("ports", []):
                target = port.get("targetPort", port.get("port"))
                for w in matched:
                    names, numbers = pod_ports[w]
                    if target not in names and target not in numbers:
                        self.error(where, f"targetPort {target!r} is no containerPort of {w}")

    def check_pod(self, where, pod, workload_spec, config_maps, secrets):
        volumes = {}
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                name = volume["secret"]["secretName"]
                if name not in secrets:
                    self.error(where, f"volume {volume['name']}: Secret {name} does not exist")
                mode = volume["secret"].get("defaultMode", 0o644)
                if mode & 0o077:
                    self.error(where, f"volume {volume['name']}: defaultMode {mode:04o} lets "
                                      "group or others read the Secret (0400)")
                volumes[volume["name"]] = ("secret", name, secrets.get(name, set()))
            elif "configMap" in volume:
                name = volume["configMap"]["name"]
                if name not in config_maps:
                    self.error(where, f"volume {volume['name']}: ConfigMap {name} does not exist")
                volumes[volume["name"]] = ("configMap", name, config_maps.get(name, set()))
            elif "emptyDir" in volume:
                volumes[volume["name"]] = ("emptyDir", None, set())
            else:
                volumes[volume["name"]] = ("other", None, set())
        for claim in workload_spec.get("volumeClaimTemplates", []):
            volumes[claim["metadata"]["name"]] = ("pvc", None, set())
        security = pod.get("securityContext", {})
        if not security.get("runAsNonRoot"):
            self.error(where, "securityContext.runAsNonRoot is not true")
        # Files the init containers copy: {volume name: {relative path}}.
        for container in pod.get("initContainers", []):
            cwhere = f"{where} initContainer {container['name']}"
            args = container.get("args", [])
            mounts = self.mounts(cwhere, container, volumes)
            if not args or args[0] != "simpul-copy-secrets":
                self.error(cwhere, "an init container runs simpul-copy-secrets DEST SRC...")
                continue
            if len(args) < 3:
                self.error(cwhere, "simpul-copy-secrets needs DEST and at least one SRC")
                continue
            dest = self.locate(args[1], mounts)
            if dest is None or volumes[dest[0]][0] != "emptyDir":
                self.error(cwhere, f"DEST {args[1]} is not in an emptyDir volume")
                continue
            dest_volume, dest_rel = dest
            for src in args[2:]:
                mount = [m for m in mounts if m[0] == src]
                if not mount or volumes[mount[0][1]][0] != "secret":
                    self.error(cwhere, f"SRC {src} is not the mountPath of a Secret volume")
                    continue
                for key in volumes[mount[0][1]][2]:
                    rel = os.path.join(dest_rel, os.path.basename(src), key)
                    volumes[dest_volume][2].add(rel.lstrip("/"))
        names, numbers = {}, set()
        grace = pod.get("terminationGracePeriodSeconds", 30)
        for container in pod.get("containers", []):
            cwhere = f"{where} container {container['name']}"
            env = {}
            for item in container.get("env", []):
                if "value" in item:
                    env[item["name"]] = item["value"]
                elif "valueFrom" in item:
                    ref = item["valueFrom"]
                    for kind, table in (("secretKeyRef", secrets), ("configMapKeyRef", config_maps)):
                        if kind in ref and ref[kind]["key"] not in table.get(ref[kind]["name"], ()):
                            self.error(cwhere, f"env {item['name']}: {kind} {ref[kind]['name']}/"
                                               f"{ref[kind]['key']} does not exist")
                    env[item["name"]] = ""
            program, values, explicit = self.container_config(cwhere, container.get("args", []), env)
            ports = {}
            for port in container.get("ports", []):
                ports[port["containerPort"]] = port.get("name")
                numbers.add(port["containerPort"])
                if port.get("name"):
                    names[port["name"]] = port["containerPort"]
            if program is None:
                continue
            listening = self.listen_ports(cwhere, program, values, explicit)
            for key, port in listening.items():
                if port not in ports:
                    self.error(cwhere, f"{key} port {port} is not a declared containerPort")
            for port in ports:
                if port not in listening.values():
                    self.error(cwhere, f"containerPort {port} is no port {program.name} listens on "
                                       f"({', '.join(f'{k} {p}' for k, p in listening.items())})")
            by_name = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            for probe_kind in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = container.get(probe_kind)
                if probe is None:
                    if probe_kind != "startupProbe":
                        self.error(cwhere, f"no {probe_kind}")
                    continue
                self.check_probe(f"{cwhere} {probe_kind}", probe_kind, probe, program, values,
                                 listening, by_name)
            pre_stop = 0.0
            hook = container.get("lifecycle", {}).get("preStop", {})
            command = hook.get("exec", {}).get("command", [])
            if command[:1] == ["sleep"] and len(command) == 2:
                pre_stop = float(command[1])
            elif "sleep" in hook:
                pre_stop = float(hook["sleep"]["seconds"])
            self.check_grace(cwhere, program, values, grace, pre_stop,
                             "terminationGracePeriodSeconds")
            mounts = self.mounts(cwhere, container, volumes)
            for key, value in self.path_keys(program, values, explicit):
                self.check_path(cwhere, key, value, mounts, volumes)
        return names, numbers

    def mounts(self, where, container, volumes):
        out = []
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes:
                self.error(where, f"volumeMount {mount['name']}: no such volume")
                continue
            out.append((mount["mountPath"].rstrip("/"), mount["name"], mount.get("subPath")))
        return out

    @staticmethod
    def locate(path, mounts):
        """(volume name, path relative to the volume) of the deepest mount holding path."""
        best = None
        for mount_path, volume, sub_path in mounts:
            if path == mount_path or path.startswith(mount_path + "/"):
                if best is None or len(mount_path) > len(best[2]):
                    rel = path[len(mount_path):].lstrip("/")
                    if sub_path:
                        rel = os.path.join(sub_path, rel) if rel else sub_path
                    best = (volume, rel, mount_path)
        return None if best is None else best[:2]

    def check_path(self, where, key, value, mounts, volumes):
        if value.startswith(IMAGE_PATHS):
            return
        if not value.startswith("/"):
            self.error(where, f"{key}={value!r}: use an absolute path (the working directory is "
                              "the image's)")
            return
        located = self.locate(value, mounts)
        if located is None:
            self.error(where, f"{key}={value}: no volume is mounted there")
            return
        volume, rel = located
        kind, name, files = volumes[volume]
        is_dir = key.endswith("_dir")
        if kind == "secret" and key in MODE_CHECKED_KEYS:
            self.error(where, f"{key}={value} is read straight from Secret {name}: Simpul refuses "
                              "it once fsGroup makes it group-readable; point it at the mode-600 "
                              "copy simpul-copy-secrets makes")
        if kind in ("secret", "configMap"):
            if is_dir:
                if rel:
                    self.error(where, f"{key}={value}: a directory inside {kind} {name}")
            elif rel not in files:
                self.error(where, f"{key}={value}: {kind} {name} has no key {rel!r} "
                                  f"(keys: {', '.join(sorted(files))})")
        elif kind == "emptyDir" and not is_dir and rel not in files:
            self.error(where, f"{key}={value}: no init container copies {rel!r} into volume "
                              f"{volume}")

    def check_probe(self, where, probe_kind, probe, program, values, listening, by_name):
        def port_number(port):
            if isinstance(port, int):
                return port
            if port not in by_name:
                self.error(where, f"port {port!r} names no containerPort")
            return by_name.get(port)

        if "httpGet" in probe:
            port = port_number(probe["httpGet"]["port"])
            path = probe["httpGet"].get("path", "/")
            if "admin_listen" not in program.keys or port != listening.get("admin_listen"):
                self.error(where, f"httpGet port {port} is not the admin_listen port "
                                  f"{listening.get('admin_listen')}")
            if path not in program.admin_paths:
                self.error(where, f"httpGet path {path} is not served by the admin server "
                                  f"({', '.join(sorted(program.admin_paths))})")
            want = {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}.get(probe_kind)
            if want and path in program.admin_paths and path != want:
                self.error(where, f"{probe_kind} checks {path}; it should check {want}")
        elif "grpc" in probe:
            port = probe["grpc"].get("port")
            service = probe["grpc"].get("service", "")
            if port != listening.get("listen"):
                self.error(where, f"grpc port {port} is not the listen port {listening.get('listen')}")
            if program.health_services is None or service not in program.health_services:
                self.error(where, f"grpc service {service!r} is not registered by {program.name} "
                                  f"({program.health_services})")
            tls_key = "tls_cert_file" if "tls_cert_file" in program.keys else "internal_tls_cert_file"
            if values.get(tls_key):
                self.error(where, f"grpc probe on a TLS port ({tls_key} is set): the kubelet's "
                                  "grpc probe speaks plaintext; probe the admin port")
        elif "tcpSocket" in probe:
            port = port_number(probe["tcpSocket"]["port"])
            if port not in listening.values():
                self.error(where, f"tcpSocket port {port} is no port {program.name} listens on")
        else:
            self.error(where, "probe is not httpGet, grpc or tcpSocket")

    # ---- compose ----

    def check_compose(self, compose):
        services = compose.get("services", {})
        top_secrets = compose.get("secrets", {}) or {}
        named_volumes = compose.get("volumes", {}) or {}
        for name, secret in top_secrets.items():
            if "file" not in secret and "environment" not in secret:
                self.error(f"compose secret {name}", "neither file nor environment")
        counts = {}
        for sname, service in services.items():
            where = f"compose service {sname}"
            command = service.get("command", [])
            if isinstance(command, str):
                self.error(where, "command must be a list (no shell)")
                continue
            env = service.get("environment", {}) or {}
            if isinstance(env, list):
                env = dict(item.split("=", 1) for item in env)
            program, values, explicit = self.container_config(where, command, env)
            if program is None:
                continue
            counts[program.name] = counts.get(program.name, 0) + \
                service.get("deploy", {}).get("replicas", 1)
            listening = self.listen_ports(where, program, values, explicit)
            exposed = set()
            for port in service.get("ports", []) + service.get("expose", []):
                exposed.add(int(str(port).split(":")[-1].split("/")[0]))
            for port in exposed:
                if port not in listening.values():
                    self.error(where, f"port {port} is no port {program.name} listens on")
            mounts = []
            volumes = {}
            for i, secret in enumerate(service.get("secrets", [])):
                source = secret if isinstance(secret, str) else secret.get("source")
                target = f"/run/secrets/{source}" if isinstance(secret, str) else \
                    secret.get("target", f"/run/secrets/{source}")
                if not target.startswith("/"):
                    target = f"/run/secrets/{target}"
                if source not in top_secrets:
                    self.error(where, f"secret {source} is not declared in the top-level secrets")
                vname = f"secret:{source}"
                volumes[vname] = ("composeSecret", source, {""})
                mounts.append((target, vname, None))
            for i, tmpfs in enumerate(service.get("tmpfs", [])):
                vname = f"tmpfs:{i}"
                volumes[vname] = ("tmpfs", None, set())
                mounts.append((tmpfs.split(":")[0].rstrip("/"), vname, None))
            for i, volume in enumerate(service.get("volumes", [])):
                if isinstance(volume, str):
                    spec = re.sub(r":(ro|rw)$", "", volume)
                    source, _, target = spec.rpartition(":")
                else:
                    source, target = volume.get("source", ""), volume["target"]
                if not source.startswith((".", "/", "$")) and source not in named_volumes:
                    self.error(where, f"volume {source} is not declared in the top-level volumes")
                vname = f"volume:{i}"
                volumes[vname] = ("bind" if source.startswith((".", "/", "$")) else "named",
                                  source, set())
                mounts.append((target.rstrip("/"), vname, None))
            for key, value in self.path_keys(program, values, explicit):
                if value.startswith(IMAGE_PATHS):
                    continue
                located = self.locate(value, mounts)
                if located is None:
                    self.error(where, f"{key}={value}: no secret or volume is mounted there")
                    continue
                kind = volumes[located[0]][0]
                if kind == "composeSecret" and located[1]:
                    self.error(where, f"{key}={value}: a compose secret is one file, mounted at "
                                      "its target")
                if key in MODE_CHECKED_KEYS and kind != "composeSecret":
                    self.error(where, f"{key}={value}: mount it as a secret (a mode-600 file)")
            grace = service.get("stop_grace_period", "10s")
            self.check_grace(where, program, values, parse_duration_seconds(str(grace)), 0.0,
                             "stop_grace_period")
        for name in ("simpul-registry", "simpul-complaints", "simpul-monitoring",
                     "simpul-gateway"):
            if counts.get(name, 0) < 2:
                self.error("deploy/compose.yaml", f"{counts.get(name, 0)} {name} (want 2)")
        if counts.get("simpul-redis-node", 0) < 6:
            self.error("deploy/compose.yaml", "want a Redis master, 2 replicas and 3 sentinels")


def image_programs(source):
    text = open(os.path.join(source, "deploy/container/entrypoint")).read()
    m = re.search(r'programs="([^"]*)"', text)
    return set(m.group(1).split())


def config_yaml(source):
    """The text of deploy/k8s/config.yaml: deploy/policy.json and deploy/holidays/*.json."""
    def literal(path):
        return "".join("    " + line if line.strip() else line
                       for line in open(path).read().splitlines(True))

    out = ["# ConfigMaps of the files Simpul ships: the gateway's policy and the holiday files.",
           "# Generated from deploy/policy.json and deploy/holidays/ by",
           "#   tests/deploy/manifests_test.py --source . --write-config",
           "# (the test fails when they differ). A new year's holidays: add the file there and",
           "# regenerate; the services re-read the directory every holidays_reload_interval.",
           "apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: simpul-policy",
           "  labels: {app.kubernetes.io/part-of: simpul}", "data:", "  policy.json: |"]
    text = "\n".join(out) + "\n" + literal(os.path.join(source, "deploy/policy.json"))
    text += "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: simpul-holidays\n"
    text += "  labels: {app.kubernetes.io/part-of: simpul}\ndata:\n"
    holidays = os.path.join(source, "deploy/holidays")
    for name in sorted(os.listdir(holidays)):
        if name.endswith(".json"):
            text += f"  {name}: |\n" + literal(os.path.join(holidays, name))
    return text


def load_k8s(source, secrets_dir):
    k8s_dir = os.path.join(source, "deploy/k8s")
    objects = []
    files = sorted(f for f in os.listdir(k8s_dir) if f.endswith(".yaml"))
    for name in files:
        with open(os.path.join(k8s_dir, name)) as f:
            objects += [d for d in yaml.safe_load_all(f) if d]
    subprocess.run([os.path.join(k8s_dir, "make-secrets"), secrets_dir], check=True,
                   stdout=subprocess.DEVNULL, timeout=120)
    with open(os.path.join(secrets_dir, "secrets.yaml")) as f:
        generated = [d for d in yaml.safe_load_all(f) if d]
    return files, objects, generated


def run_checks(programs, images, k8s_objects, compose):
    checker = Checker(programs, images)
    checker.check_k8s(k8s_objects)
    checker.check_compose(compose)
    return checker.errors


def find_container(objects, workload, container):
    for obj in objects:
        if obj["metadata"]["name"] == workload and obj["kind"] in ("Deployment", "StatefulSet"):
            for c in obj["spec"]["template"]["spec"]["containers"]:
                if c["name"] == container:
                    return obj, c
    raise KeyError(f"{workload}/{container}")


def set_env(container, name, value):
    for item in container["env"]:
        if item["name"] == name:
            item["value"] = value
            return
    raise KeyError(name)


def rename_env(container, old, new):
    for item in container["env"]:
        if item["name"] == old:
            item["name"] = new
            return
    raise KeyError(old)


# Mutations that must each fail the check: (what, function of (k8s objects, compose)).
def mutations():
    def k8s(workload, container, change):
        def apply(objects, compose):
            obj, c = find_container(objects, workload, container)
            change(obj, c)
        return apply

    def compose_service(service, change):
        def apply(objects, compose):
            change(compose["services"][service])
        return apply

    def drop_secret(objects, compose):
        objects[:] = [o for o in objects
                      if not (o["kind"] == "Secret" and o["metadata"]["name"] == "simpul-complaints-keys")]

    return [
        ("a misspelt flag", k8s("simpul-registry", "registry",
                                lambda o, c: c["args"].append("--drain_timout=5s"))),
        ("a misspelt variable", k8s("simpul-complaints", "complaints",
                                    lambda o, c: rename_env(c, "SIMPUL_COMPLAINTS_PII_KEYS_FILE",
                                                            "SIMPUL_COMPLAINTS_PII_KEY_FILE"))),
        ("a variable of another service", k8s("simpul-monitoring", "monitoring",
                                              lambda o, c: rename_env(c, "SIMPUL_MONITORING_LISTEN",
                                                                      "SIMPUL_REGISTRY_LISTEN"))),
        ("a loopback listen address", k8s("simpul-gateway", "gateway",
                                          lambda o, c: set_env(c, "SIMPUL_GATEWAY_ADMIN_LISTEN",
                                                               "127.0.0.1:9100"))),
        ("a listen port that is not a containerPort",
         k8s("simpul-gateway", "gateway",
             lambda o, c: set_env(c, "SIMPUL_GATEWAY_REST_LISTEN", "0.0.0.0:8443"))),
        ("a probe on the gRPC port", k8s("simpul-registry", "registry",
                                         lambda o, c: c["readinessProbe"]["httpGet"].update(port="grpc"))),
        ("a probe path the admin server does not serve",
         k8s("simpul-registry", "registry",
             lambda o, c: c["livenessProbe"]["httpGet"].update(path="/health"))),
        ("a grpc probe with an unregistered service",
         k8s("simpul-monitoring", "monitoring",
             lambda o, c: c.update(readinessProbe={"grpc": {"port": 7103,
                                                            "service": "simpul.Monitoring"}}))),
        ("a grace period shorter than the drain",
         k8s("simpul-gateway", "gateway",
             lambda o, c: o["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=12))),
        ("a missing Secret", drop_secret),
        ("a file name that is not a key of its ConfigMap",
         k8s("simpul-registry", "registry",
             lambda o, c: set_env(c, "SIMPUL_REGISTRY_IDENTITY_TRUSTED_KEYS",
                                  "/etc/simpul/identity/registry.trust"))),
        ("a mode-checked secret read from the Secret volume",
         k8s("simpul-gateway", "gateway",
             lambda o, c: (c["volumeMounts"].append({"name": "audit", "mountPath": "/etc/audit"}),
                           set_env(c, "SIMPUL_GATEWAY_AUDIT_KEY_FILE", "/etc/audit/audit.key")))),
        ("a path no volume holds", k8s("simpul-complaints", "complaints",
                                       lambda o, c: set_env(c, "SIMPUL_COMPLAINTS_HOLIDAYS_DIR",
                                                            "/etc/holidays"))),
        ("a misspelt flag in compose",
         compose_service("registry", lambda s: s["command"].append("--drain_timout=5s"))),
        ("a misspelt variable in compose",
         compose_service("gateway-1", lambda s: s["environment"].update(
             {"SIMPUL_GATEWAY_POLICY": "/usr/share/simpul/policy.json"}))),
        ("a compose stop_grace_period shorter than the drain",
         compose_service("complaints", lambda s: s.update(stop_grace_period="5s"))),
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--write-config", action="store_true")
    parser.add_argument("programs", nargs="*", help="PROGRAM=PATH of the built binaries")
    args = parser.parse_args()
    source = os.path.abspath(args.source)
    config_path = os.path.join(source, "deploy/k8s/config.yaml")
    if args.write_config:
        with open(config_path, "w") as f:
            f.write(config_yaml(source))
        print(f"wrote {config_path}")
        return 0

    programs = {}
    for item in args.programs:
        name, _, path = item.partition("=")
        programs[name] = Program(name, path)
    redis_node = os.path.join(source, "deploy/container/redis-node")
    programs["simpul-redis-node"] = Program("simpul-redis-node", redis_node)
    for name in ("simpul-registry", "simpul-complaints", "simpul-monitoring", "simpul-gateway"):
        if name not in programs:
            raise SystemExit(f"usage: pass {name}=PATH")
        if programs[name].health_services is None:
            raise SystemExit(f"{name} --help names no grpc.health.v1 services")
    images = image_programs(source)

    failures = []
    expected = config_yaml(source)
    parsed = list(yaml.safe_load_all(expected))
    if parsed[0]["data"]["policy.json"] != open(os.path.join(source, "deploy/policy.json")).read():
        failures.append("config.yaml: policy.json does not survive YAML unchanged")
    if not os.path.exists(config_path) or open(config_path).read() != expected:
        failures.append("deploy/k8s/config.yaml differs from deploy/policy.json and "
                        "deploy/holidays/: run tests/deploy/manifests_test.py --source . "
                        "--write-config")

    with tempfile.TemporaryDirectory() as tmp:
        files, objects, generated = load_k8s(source, os.path.join(tmp, "secrets"))
    with open(os.path.join(source, "deploy/compose.yaml")) as f:
        compose = yaml.safe_load(f)
    k8s_objects = objects + generated
    failures += run_checks(programs, images, k8s_objects, compose)
    containers = sum(len(o["spec"]["template"]["spec"]["containers"]) for o in objects
                     if o["kind"] in ("Deployment", "StatefulSet"))
    print(f"checked {len(files)} manifests ({len(objects)} objects, {containers} containers), "
          f"{len(generated)} generated Secrets/ConfigMaps, "
          f"{len(compose.get('services', {}))} compose services")
    for failure in failures:
        print("FAIL", failure)

    # Each mutation must be caught: an error the unchanged files do not have.
    baseline = set(failures)
    missed = []
    for what, mutate in mutations():
        k8s_copy, compose_copy = copy.deepcopy(k8s_objects), copy.deepcopy(compose)
        mutate(k8s_copy, compose_copy)
        errors = [e for e in run_checks(programs, images, k8s_copy, compose_copy)
                  if e not in baseline]
        if errors:
            print(f"caught {what}: {errors[0]}")
        else:
            missed.append(what)
            print(f"FAIL not caught: {what}")
    passed = 1 + len(mutations()) - missed.__len__() - (1 if failures else 0)
    failed = (1 if failures else 0) + len(missed)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
