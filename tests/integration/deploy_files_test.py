#!/usr/bin/python3
"""The container and Kubernetes files (issue 11): packaging/Dockerfile, .dockerignore and
packaging/kubernetes/, held to the repository and to the real binaries.

- every Kubernetes object: a known apiVersion and kind, a DNS-1123 name, the mingus namespace,
  and valid against the API's OpenAPI schemas (kubernetes-models from npm, tests/kubernetes);
  kustomization.yaml lists every manifest and every image the workloads use;
- workloads: selectors match their pod labels; probes and Services name ports that a container
  declares; every container has requests and limits and runs non-root, without privilege
  escalation or capabilities, on a read-only root; volumes, ConfigMaps and claims resolve;
- every flag given to mingus-agent or mingus-collector (manifests and Dockerfile) is in the
  binary's --help, and --config.file names a file that a mounted ConfigMap holds;
- wherever the collector listens beyond loopback (where it refuses to start without
  basic_auth_users), it is given --web.config.file from a read-only Secret mount (Kubernetes)
  or a mount the Dockerfile documents, is probed over TCP (basic auth answers an httpGet probe
  401), and whatever reads it (its own scrape job, Prometheus, Grafana) authenticates with a
  password from a file or the environment, never inline;
- the agent.yaml and collector.yaml in the ConfigMaps start the real daemons (on 127.0.0.1,
  ephemeral ports) and they become ready; the collector, with its container's flags and the
  Secret as README.md makes it (a bcrypt hash made now), answers 401 without the password and
  200 with it, loads the packaged rules and scrapes itself; the demo app's loop, run against
  that agent, is counted as API requests without a parse error;
- the Prometheus snippet passes `promtool check config` and, in a real Prometheus fed with the
  targets Kubernetes pod discovery would give for the demo app's pods, keeps exactly the
  agent's port and scrapes the agent, and scrapes a real collector with the job's password file
  (Debian's Prometheus is built without Kubernetes discovery, so the discovered targets come
  through file_sd_configs with the same __meta_ labels);
- the Grafana ConfigMaps hold dashboards/*.json unchanged and dashboards/provisioning/ with
  only the URL, the collector's basic auth and the path changed;
- the Dockerfile: Debian 12 stages, targets agent and collector, every COPY source exists and
  is not excluded by .dockerignore, the .deb names are those cmake/packaging.cmake makes, the
  runtime user is the manifests' non-root UID, EXPOSE and VOLUME agree with the flags; each
  image's command starts its daemon (the collector with a test web config mounted where the
  Dockerfile says).

Usage: /usr/bin/python3 tests/integration/deploy_files_test.py --agent A --collector C
"""

import base64
import fnmatch
import glob
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import bcrypt
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
K8S = os.path.join(ROOT, "packaging", "kubernetes")
DOCKERFILE = os.path.join(ROOT, "packaging", "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")
PROMETHEUS_SNIPPET = os.path.join(K8S, "prometheus", "scrape-configs.yml")
NAMESPACE = "mingus"
BINARIES = ("mingus-agent", "mingus-collector")
# What a package installs under /etc/mingus comes from configs/ (cmake/packaging.cmake).
PACKAGE_CONFIG_DIR = "/etc/mingus/"

KINDS = {
    ("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Service"),
    ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
}
CLUSTER_SCOPED = {"Namespace", "Kustomization"}
# The collector's credentials: the Secret README.md has the reader create (never shipped), and
# a made-up password that the test hashes with bcrypt at start, as README.md's command does.
COLLECTOR_SECRET = "mingus-collector-web"
TEST_PASSWORD = "deploy-files-test-password"
COLLECTOR_DEFAULT_LISTEN = "127.0.0.1:9190"
DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def fail(message):
    raise AssertionError(message)


# ---------------------------------------------------------------------------- loading

def manifest_files():
    """Every YAML file under packaging/kubernetes except the Prometheus snippet (not a
    Kubernetes object)."""
    files = sorted(glob.glob(os.path.join(K8S, "**", "*.y*ml"), recursive=True))
    return [f for f in files if os.path.dirname(f) != os.path.dirname(PROMETHEUS_SNIPPET)]


def load_objects():
    objects = []
    for path in manifest_files():
        with open(path, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    objects.append((os.path.relpath(path, K8S), doc))
    if not objects:
        fail("no Kubernetes objects under packaging/kubernetes")
    return objects


def by_kind(objects, kind):
    return [o for _, o in objects if o.get("kind") == kind]


def workloads(objects):
    return [o for _, o in objects if o.get("kind") in ("Deployment", "StatefulSet")]


def containers(workload):
    return workload["spec"]["template"]["spec"]["containers"]


def image_name(image):
    """mingus-agent:0.1.0 -> mingus-agent (a registry prefix kept)."""
    return image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image


def our_binary(container):
    name = image_name(container["image"]).rsplit("/", 1)[-1]
    return name if name in BINARIES else None


# ---------------------------------------------------------------------------- objects

def check_metadata(objects):
    seen = set()
    for path, obj in objects:
        where = f"{path}: {obj.get('kind')} {obj.get('metadata', {}).get('name')}"
        if (obj.get("apiVersion"), obj.get("kind")) not in KINDS:
            fail(f"{where}: unknown apiVersion/kind {obj.get('apiVersion')}/{obj.get('kind')}")
        if obj["kind"] == "Kustomization":
            continue
        meta = obj.get("metadata") or fail(f"{where}: no metadata")
        name = meta.get("name") or fail(f"{where}: no metadata.name")
        if not DNS_1123.match(name) or len(name) > 253:
            fail(f"{where}: name {name!r} is not a DNS-1123 name")
        if obj["kind"] in CLUSTER_SCOPED:
            if "namespace" in meta:
                fail(f"{where}: a {obj['kind']} has no namespace")
        elif meta.get("namespace") != NAMESPACE:
            fail(f"{where}: namespace {meta.get('namespace')!r}, expected {NAMESPACE!r}")
        if (obj["kind"], name) in seen:
            fail(f"{where}: defined twice")
        seen.add((obj["kind"], name))
        if (meta.get("labels") or {}).get("app.kubernetes.io/part-of") != "mingus-monitor":
            fail(f"{where}: no label app.kubernetes.io/part-of: mingus-monitor")
    if ("Namespace", NAMESPACE) not in seen:
        fail(f"no Namespace {NAMESPACE}")


def check_kustomization(objects):
    (kustomization,) = by_kind(objects, "Kustomization")
    listed = {os.path.normpath(r) for r in kustomization.get("resources", [])}
    for resource in listed:
        if not os.path.isfile(os.path.join(K8S, resource)):
            fail(f"kustomization.yaml lists {resource}, which does not exist")
    files = {os.path.relpath(f, K8S) for f in manifest_files()} - {"kustomization.yaml"}
    if files - listed:
        fail(f"kustomization.yaml does not list {sorted(files - listed)}")
    used = {image_name(c["image"]) for w in workloads(objects) for c in containers(w)}
    for image in kustomization.get("images", []):
        if image["name"] not in used:
            fail(f"kustomization.yaml sets image {image['name']}, which no container uses")
    for binary in BINARIES:
        if binary not in {i["name"] for i in kustomization.get("images", [])}:
            fail(f"kustomization.yaml does not set the tag of image {binary}")


def container_ports(container):
    ports = container.get("ports", [])
    for port in ports:
        if "name" in port and (not PORT_NAME.match(port["name"]) or len(port["name"]) > 15):
            fail(f"container {container['name']}: port name {port['name']!r} is not an "
                 "IANA_SVC_NAME (at most 15 characters)")
    return ports


def resolve_port(container, ref):
    """The containerPort entry a probe or targetPort names (by name or number), or None."""
    for port in container_ports(container):
        if ref == port.get("name") or ref == port["containerPort"]:
            return port
    return None


def check_workloads(objects):
    config_maps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    claims = {o["metadata"]["name"] for o in by_kind(objects, "PersistentVolumeClaim")}
    found = workloads(objects)
    if not found:
        fail("no Deployment or StatefulSet")
    for w in found:
        where = f"{w['kind']} {w['metadata']['name']}"
        spec = w["spec"]
        pod_labels = spec["template"]["metadata"]["labels"]
        for key, value in spec["selector"]["matchLabels"].items():
            if pod_labels.get(key) != value:
                fail(f"{where}: selector {key}={value} does not match the pod's labels")
        pod = spec["template"]["spec"]
        pod_security = pod.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True:
            fail(f"{where}: the pod does not set runAsNonRoot: true")
        if not pod_security.get("runAsUser"):
            fail(f"{where}: the pod does not set a non-zero runAsUser")
        if pod.get("automountServiceAccountToken") is not False:
            fail(f"{where}: mounts a service account token it does not need")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for template in spec.get("volumeClaimTemplates", []):
            volumes[template["metadata"]["name"]] = {"name": template["metadata"]["name"],
                                                     "claimTemplate": True}
        for volume in volumes.values():
            if "configMap" in volume and volume["configMap"]["name"] not in config_maps:
                fail(f"{where}: volume {volume['name']} names ConfigMap "
                     f"{volume['configMap']['name']}, which is not defined")
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            if claim is not None and claim not in claims:
                fail(f"{where}: volume {volume['name']} names claim {claim}, not defined")
        for c in containers(w):
            cw = f"{where} container {c['name']}"
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in c.get("resources", {}).get(kind, {}):
                        fail(f"{cw}: no {resource} in resources.{kind}")
            security = c.get("securityContext", {})
            if security.get("allowPrivilegeEscalation") is not False:
                fail(f"{cw}: allowPrivilegeEscalation is not false")
            if security.get("readOnlyRootFilesystem") is not True:
                fail(f"{cw}: readOnlyRootFilesystem is not true")
            if security.get("capabilities", {}).get("drop") != ["ALL"]:
                fail(f"{cw}: capabilities are not dropped (drop: [ALL])")
            for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
                probe = c.get(probe_name)
                if probe is None:
                    continue
                port = (probe.get("httpGet") or probe.get("tcpSocket") or {}).get("port")
                if resolve_port(c, port) is None:
                    fail(f"{cw}: {probe_name} port {port!r} is not a port of this container")
            if our_binary(c) and not (c.get("readinessProbe") and c.get("livenessProbe")):
                fail(f"{cw}: our daemon without a readiness and a liveness probe")
            for mount in c.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    fail(f"{cw}: mounts volume {mount['name']}, which the pod does not have")


def check_services(objects):
    found = workloads(objects)
    services = by_kind(objects, "Service")
    if not services:
        fail("no Service")
    for service in services:
        where = f"Service {service['metadata']['name']}"
        selector = service["spec"]["selector"]
        matching = [w for w in found if all(
            w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())]
        if not matching:
            fail(f"{where}: selector {selector} matches no workload's pods")
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            for w in matching:
                resolved = [resolve_port(c, target) for c in containers(w)]
                resolved = [p for p in resolved if p is not None]
                if not resolved:
                    fail(f"{where}: targetPort {target!r} is no container port of "
                         f"{w['kind']} {w['metadata']['name']}")
                if isinstance(target, str) and resolved[0]["containerPort"] != port["port"]:
                    fail(f"{where}: port {port['port']} reaches container port "
                         f"{resolved[0]['containerPort']} (keep them equal: the docs give one)")
                if resolved[0].get("protocol", "TCP") != port.get("protocol", "TCP"):
                    fail(f"{where}: port {port['port']} protocol differs from the container's")
    for w in found:
        if w["kind"] == "StatefulSet":
            name = w["spec"]["serviceName"]
            headless = [s for s in services if s["metadata"]["name"] == name
                        and s["spec"].get("clusterIP") == "None"]
            if not headless:
                fail(f"StatefulSet {w['metadata']['name']}: serviceName {name} is not a headless "
                     "Service here")


SCHEMAS_SRC = os.path.join(ROOT, "tests", "kubernetes")


def check_schemas(objects, work_dir):
    """Every object against the Kubernetes API's OpenAPI schemas (field types, required
    fields, enums) with kubernetes-models, which `npm ci` installs from
    tests/kubernetes/package-lock.json into work_dir (again only when the lock changes)."""
    work_dir = os.path.abspath(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    for name in ("package.json", "package-lock.json", "validate.mjs"):
        shutil.copyfile(os.path.join(SCHEMAS_SRC, name), os.path.join(work_dir, name))
    stamp = os.path.join(work_dir, "node_modules", ".mingus-lock")
    with open(os.path.join(work_dir, "package-lock.json"), encoding="utf-8") as f:
        lock = f.read()
    if not os.path.exists(stamp) or open(stamp, encoding="utf-8").read() != lock:
        result = subprocess.run(["npm", "ci", "--prefer-offline", "--ignore-scripts",
                                 "--no-audit", "--no-fund", "--loglevel=error"],
                                cwd=work_dir, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            fail(f"npm ci failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        h.write_file(stamp, lock)
    kube = [o for _, o in objects if o.get("kind") != "Kustomization"]
    path = h.write_file(os.path.join(work_dir, "objects.json"), json.dumps(kube))
    result = subprocess.run(["node", os.path.join(work_dir, "validate.mjs"), path],
                            cwd=work_dir, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        fail(f"objects the Kubernetes API would refuse:\n{result.stdout}{result.stderr}")


# ---------------------------------------------------------------------------- flags

def help_flags(binary):
    result = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        fail(f"{binary} --help exited with {result.returncode}")
    text = result.stdout + result.stderr
    flags = set(re.findall(r"--([a-z][a-z0-9.-]*[a-z0-9])", text))
    for name in re.findall(r"--\[no-\]([a-z][a-z0-9.-]*[a-z0-9])", text):
        flags |= {name, "no-" + name}
    if "config.file" not in flags:
        fail(f"{binary} --help lists no --config.file: cannot read its flags")
    return flags


def flag_names(args):
    names = []
    for arg in args:
        if arg.startswith("--"):
            names.append(arg[2:].split("=", 1)[0])
    return names


def flag_value(args, name):
    value = None
    for arg in args:
        if arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
    return value


def check_manifest_flags(objects, binaries):
    config_maps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    seen = set()
    for w in workloads(objects):
        pod = w["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claim_templates = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
        for c in containers(w):
            binary = our_binary(c)
            if binary is None:
                continue
            seen.add(binary)
            cw = f"{w['kind']} {w['metadata']['name']} container {c['name']}"
            args = c.get("command", [])[1:] + c.get("args", [])
            for name in flag_names(args):
                if name not in binaries[binary]:
                    fail(f"{cw}: --{name} is not a flag of {binary} (--help)")
            config = flag_value(args, "config.file") or fail(f"{cw}: no --config.file")
            mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
            mount = mounts.get(os.path.dirname(config)) or fail(
                f"{cw}: nothing is mounted at {os.path.dirname(config)} for --config.file")
            volume = volumes.get(mount["name"], {})
            data = config_maps.get(volume.get("configMap", {}).get("name"), {}).get("data", {})
            if os.path.basename(config) not in data:
                fail(f"{cw}: --config.file={config}, but the ConfigMap mounted there has no key "
                     f"{os.path.basename(config)}")
            storage = flag_value(args, "storage.path") or fail(f"{cw}: no --storage.path")
            storage_mount = mounts.get(storage) or fail(f"{cw}: --storage.path={storage} is "
                                                        "not a mounted volume")
            storage_volume = volumes.get(storage_mount["name"], {})
            if (storage_mount["name"] not in claim_templates
                    and "persistentVolumeClaim" not in storage_volume):
                fail(f"{cw}: --storage.path={storage} is not on a persistent volume")
    if seen != set(BINARIES):
        fail(f"the manifests run {sorted(seen)}, expected both {list(BINARIES)}")


def embedded_config(objects, binary):
    """(ConfigMap data key, text) of the config file the binary's container is given."""
    config_maps = {o["metadata"]["name"]: o for o in by_kind(objects, "ConfigMap")}
    for w in workloads(objects):
        pod = w["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in containers(w):
            if our_binary(c) != binary:
                continue
            config = flag_value(c.get("args", []), "config.file")
            for mount in c.get("volumeMounts", []):
                if mount["mountPath"] == os.path.dirname(config):
                    cm = volumes[mount["name"]]["configMap"]["name"]
                    return config_maps[cm]["data"][os.path.basename(config)]
    fail(f"no ConfigMap config for {binary}")


# ---------------------------------------------------------------------------- collector auth

def beyond_loopback(address):
    """Whether a listen address reaches beyond the machine: the collector's rule (":9190" and
    names other than localhost included)."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def collector_listen(args, config_text):
    """The address the collector listens on: the flag, else the config's, else the default."""
    config = yaml.safe_load(config_text) or {}
    return (flag_value(args, "web.listen-address")
            or (config.get("web") or {}).get("listen_address") or COLLECTOR_DEFAULT_LISTEN)


def secret_mount(pod, container, path, where):
    """The name of the Secret mounted read-only at path's folder, holding path's file."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mount = next((m for m in container.get("volumeMounts", [])
                  if m["mountPath"] == os.path.dirname(path)), None) or fail(
        f"{where}: nothing is mounted at {os.path.dirname(path)} for {path}")
    secret = volumes.get(mount["name"], {}).get("secret") or fail(
        f"{where}: {path} is not from a Secret (volume {mount['name']}): it holds credentials")
    if mount.get("readOnly") is not True:
        fail(f"{where}: the Secret {secret['secretName']} is not mounted readOnly")
    items = secret.get("items")
    if items is not None and os.path.basename(path) not in [i["path"] for i in items]:
        fail(f"{where}: the Secret {secret['secretName']} mounted there gives no "
             f"{os.path.basename(path)}")
    return secret["secretName"]


def check_client_auth(basic_auth, username, where):
    """A reader's basic_auth: the collector's user, the password from a file."""
    if not basic_auth:
        fail(f"{where}: no basic_auth, but the collector wants it on every path")
    if "password" in basic_auth:
        fail(f"{where}: basic_auth has the password inline; use password_file (a Secret)")
    if basic_auth.get("username") != username or not basic_auth.get("password_file"):
        fail(f"{where}: basic_auth {basic_auth}, expected username {username} and a "
             "password_file")
    return basic_auth["password_file"]


def collector_container(objects):
    """(pod spec, container) of the collector."""
    for w in workloads(objects):
        for c in containers(w):
            if our_binary(c) == "mingus-collector":
                return w["spec"]["template"]["spec"], c
    fail("no mingus-collector container")


def collector_credentials(objects):
    """What the Kubernetes collector's own scrape job authenticates with:
    (username, password_file), after checking that it listens beyond loopback only behind a
    web config from the Secret, with TCP probes."""
    pod, c = collector_container(objects)
    where = f"container {c['name']}"
    args = c.get("args", [])
    config_text = embedded_config(objects, "mingus-collector")
    listen = collector_listen(args, config_text)
    if not beyond_loopback(listen):
        fail(f"{where}: listens on {listen}: the Service and Prometheus cannot reach it")
    web_config = flag_value(args, "web.config.file") or fail(
        f"{where}: listens on {listen} without --web.config.file: the collector exits 2")
    secret = secret_mount(pod, c, web_config, where)
    if secret != COLLECTOR_SECRET:
        fail(f"{where}: web config from Secret {secret}, README.md creates {COLLECTOR_SECRET}")
    for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
        if "httpGet" in (c.get(probe_name) or {}):
            fail(f"{where}: {probe_name} is httpGet: basic auth answers it 401 (and an "
                 "Authorization header would put the password in the manifest); use tcpSocket")
    port = listen.rsplit(":", 1)[1]
    config = yaml.safe_load(config_text)
    own_jobs = [job for job in config.get("scrape_configs", [])
                if any(not beyond_loopback(t) and t.rsplit(":", 1)[1] == port
                       for group in job.get("static_configs", []) for t in group["targets"])]
    if not own_jobs:
        fail(f"{where}: no scrape job for the collector's own metrics")
    credentials = set()
    for job in own_jobs:
        job_where = f"{where}: collector.yaml job {job['job_name']}"
        username = (job.get("basic_auth") or {}).get("username")
        password_file = check_client_auth(job.get("basic_auth"), username, job_where)
        if secret_mount(pod, c, password_file, job_where) != COLLECTOR_SECRET:
            fail(f"{job_where}: password_file {password_file} is not from {COLLECTOR_SECRET}")
        credentials.add((username, password_file))
    if len(credentials) != 1:
        fail(f"{where}: the collector's own jobs use different credentials {credentials}")
    return credentials.pop()


def check_collector_auth(objects):
    """The listen address policy of every place that starts or reads the collector."""
    username, password_file = collector_credentials(objects)
    readme = open(os.path.join(K8S, "README.md"), encoding="utf-8").read()
    if f"create secret generic {COLLECTOR_SECRET}" not in readme:
        fail(f"README.md does not say how to create the Secret {COLLECTOR_SECRET}")
    if not re.search(rf"basic_auth_users:\\n  {username}: %s.*htpasswd -niBC", readme):
        fail(f"README.md's web.yml does not make the user {username} with a bcrypt hash")
    for key in (os.path.basename(password_file), "web.yml"):
        if f"--from-file={key}" not in readme:
            fail(f"README.md's Secret lacks the key {key}")
    jobs = {job["job_name"]: job for job in load_snippet()["scrape_configs"]}
    prometheus_file = check_client_auth(jobs["mingus-collector"].get("basic_auth"), username,
                                        "Prometheus job mingus-collector")
    if f"/{COLLECTOR_SECRET}/{os.path.basename(password_file)}" not in prometheus_file:
        fail(f"Prometheus job mingus-collector: password_file {prometheus_file} is not the "
             f"key {os.path.basename(password_file)} of a mount of {COLLECTOR_SECRET}")
    if prometheus_file not in readme:
        fail(f"README.md does not say where to mount {COLLECTOR_SECRET} for Prometheus")
    config_maps = {o["metadata"]["name"]: o["data"] for o in by_kind(objects, "ConfigMap")}
    (source,) = yaml.safe_load(
        config_maps["mingus-grafana-datasources"]["mingus-datasources.yaml"])["datasources"]
    password = (source.get("secureJsonData") or {}).get("basicAuthPassword", "")
    variable = re.fullmatch(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", password)
    if source.get("basicAuth") is not True or source.get("basicAuthUser") != username:
        fail(f"Grafana data source: no basicAuth as {username}")
    if not variable:
        fail("Grafana data source: basicAuthPassword is not an environment variable (inline?)")
    if not re.search(rf"name: {variable.group(1)}\s+valueFrom:\s+secretKeyRef: "
                     rf"{{name: {COLLECTOR_SECRET}, key: {os.path.basename(password_file)}}}",
                     readme):
        fail(f"README.md does not give Grafana {variable.group(1)} from {COLLECTOR_SECRET}")
    # The image: beyond loopback, a web config the user mounts, as the Dockerfile says.
    (stage,) = [st for st in dockerfile_stages() if st["name"] == "collector"]
    args = exec_form([a for i, a in stage["steps"] if i == "CMD"][-1])
    config = flag_value(args, "config.file")
    with open(os.path.join(ROOT, "configs", config[len(PACKAGE_CONFIG_DIR):]),
              encoding="utf-8") as f:
        listen = collector_listen(args, f.read())
    if beyond_loopback(listen):
        web_config = flag_value(args, "web.config.file") or fail(
            f"Dockerfile collector: listens on {listen} without --web.config.file: it exits 2")
        if os.path.isfile(os.path.join(ROOT, "configs", os.path.relpath(web_config,
                                                                        PACKAGE_CONFIG_DIR))):
            fail(f"Dockerfile collector: {web_config} is a file of the package: no password "
                 "may ship in the image")
        with open(DOCKERFILE, encoding="utf-8") as f:
            if not re.search(rf"#\s+docker run .*-v \S+:{re.escape(web_config)}:ro", f.read()):
                fail(f"Dockerfile collector: no `docker run` line mounting {web_config}")


def make_test_secret(directory, objects):
    """The Secret's keys as README.md makes them, with TEST_PASSWORD: web.yml holds a bcrypt
    hash made now. Returns (directory, the Authorization header of the right password)."""
    username, password_file = collector_credentials(objects)
    os.makedirs(directory, exist_ok=True)
    password_hash = bcrypt.hashpw(TEST_PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    h.write_file(os.path.join(directory, "web.yml"),
                 f"basic_auth_users:\n  {username}: {password_hash}\n")
    h.write_file(os.path.join(directory, os.path.basename(password_file)), TEST_PASSWORD)
    return directory, basic_authorization(username, TEST_PASSWORD)


def basic_authorization(username, password):
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def check_served_with_auth(server, authorization):
    """Ready with the password; every path the probes and readers use is 401 without it or
    with a wrong one."""
    server.wait_http("/-/ready", headers=authorization)
    username = base64.b64decode(authorization["Authorization"].split()[1]).decode().split(":")[0]
    wrong = basic_authorization(username, TEST_PASSWORD + "-wrong")
    for path in ("/-/ready", "/-/healthy", "/metrics", "/api/v1/query?query=up"):
        for headers, what in ((None, "without credentials"), (wrong, "with a wrong password")):
            status = server.get(path, headers=headers).status
            if status != 401:
                fail(f"GET {path} {what}: HTTP {status}, expected 401")
        status = server.get(path, headers=authorization).status
        if status != 200:
            fail(f"GET {path} with the password: HTTP {status}")


# ---------------------------------------------------------------------------- the daemons

def package_paths_to_repo(text):
    """/etc/mingus/rules/*.yml (the package's) -> ROOT/configs/rules/*.yml, so that the daemon
    here reads the files the image would have; asserts that each such glob matches a file."""
    def replace(match):
        local = os.path.join(ROOT, "configs", match.group(1))
        if not glob.glob(local):
            fail(f"{match.group(0)} matches nothing in the package (configs/{match.group(1)})")
        return local
    pattern = re.escape(PACKAGE_CONFIG_DIR) + r"([^\s\"']+)"
    return "".join(line if line.lstrip().startswith("#") else re.sub(pattern, replace, line)
                   for line in text.splitlines(keepends=True))


def check_agent_config(objects, agent):
    text = embedded_config(objects, "mingus-agent")
    with tempfile.TemporaryDirectory(prefix="deploy-agent-") as tmp:
        path = h.write_file(os.path.join(tmp, "agent.yaml"), package_paths_to_repo(text))
        with h.start_agent(agent, config=path) as server:
            server.wait_http("/-/ready")
            if server.udp_address is None:
                fail("the agent with the ConfigMap's agent.yaml has no UDP intake")
            run_demo_app(objects, server)
            h.stop_agent(server)


def total(samples, name):
    """The sum of every series of name, whatever its labels."""
    return sum(value for (n, _), value in samples.items() if n == name)


def run_demo_app(objects, server):
    """The demo app's own loop (demo-app.yaml), sending to this agent instead of 8125."""
    for w in workloads(objects):
        pod = w["spec"]["template"]["spec"]
        if not any(our_binary(c) == "mingus-agent" for c in pod["containers"]):
            continue
        for c in pod["containers"]:
            if our_binary(c) is not None:
                continue
            script = "\n".join(c.get("args", []))
            if "/dev/udp/127.0.0.1/8125" not in script:
                fail(f"container {c['name']} does not send to /dev/udp/127.0.0.1/8125")
            port = server.udp_address.rsplit(":", 1)[1]
            script = script.replace("/dev/udp/127.0.0.1/8125", f"/dev/udp/127.0.0.1/{port}")
            demo = subprocess.Popen(c["command"] + [script], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            try:
                samples = h.wait_until(
                    lambda: (lambda s: s if total(s, "mingus_api_request_duration_seconds_count")
                             >= 2 else None)(server.metrics()[0]),
                    what="the demo app's API requests in the agent's metrics")
                errors = total(samples, "mingus_agent_parse_errors_total")
                if errors:
                    fail(f"the demo app's lines drew {errors:g} parse errors")
                if total(samples, "mingus_db_query_duration_seconds_count") < 1:
                    fail("the demo app's db events were not counted")
            finally:
                demo.terminate()
                _, stderr = demo.communicate(timeout=10)
            if stderr.strip():
                fail(f"the demo app's loop wrote to stderr: {stderr.strip()}")
            return
    fail("no app container beside an agent")


def local_argv(binary, args, tmp, config_path=None, secret_dir=None, port=0):
    """binary with args as a manifest or the image gives them, here: listening on
    127.0.0.1:port, storing in tmp, reading config_path (default: the package's file from
    configs/) and the web config from secret_dir (the test's Secret)."""
    argv = [os.path.abspath(binary)]
    for arg in args:
        name = arg[2:].split("=", 1)[0]
        if name == "web.listen-address":
            arg = f"--{name}=127.0.0.1:{port}"
        elif name == "statsd.listen-udp":
            arg = f"--{name}=127.0.0.1:0"
        elif name == "storage.path":
            arg = f"--storage.path={tmp}"
        elif name == "config.file":
            arg = "--config.file=" + (config_path or package_paths_to_repo(arg.split("=", 1)[1]))
        elif name == "web.config.file":
            if secret_dir is None:
                fail(f"{os.path.basename(binary)} is given {arg}, but no test web config")
            arg = "--web.config.file=" + os.path.join(secret_dir, os.path.basename(arg))
        argv.append(arg)
    return argv


def start_local(argv, name, cwd):
    server = h.Server(argv, name=name, cwd=cwd)
    try:
        server.base_url = "http://" + server.wait_for_line(h._LISTENING.pattern).group(1)
    except Exception:
        server.__exit__(None, None, None)
        raise
    return server


def check_collector_config(objects, collector):
    """The collector as its container starts it (the ConfigMap's collector.yaml, the flags, the
    Secret's web config and password file), on a free loopback port instead of 9190."""
    _, container = collector_container(objects)
    text = embedded_config(objects, "mingus-collector")
    _, password_file = collector_credentials(objects)
    manifest_port = collector_listen(container.get("args", []), text).rsplit(":", 1)[1]
    with tempfile.TemporaryDirectory(prefix="deploy-collector-") as tmp:
        secret_dir, authorization = make_test_secret(os.path.join(tmp, "secret"), objects)
        port = h.free_port()
        # The Secret's mount path and the self-scrape target, as they are here.
        text = text.replace(os.path.dirname(password_file), secret_dir)
        text = text.replace(f"127.0.0.1:{manifest_port}", f"127.0.0.1:{port}")
        path = h.write_file(os.path.join(tmp, "collector.yaml"), package_paths_to_repo(text))
        storage = os.path.join(tmp, "data")
        argv = local_argv(collector, container.get("args", []), storage,
                          config_path=path, secret_dir=secret_dir, port=port)
        with start_local(argv, "mingus-collector", tmp) as server:
            check_served_with_auth(server, authorization)
            rules = json.loads(server.get("/api/v1/rules", headers=authorization).text())
            if not rules["data"]["groups"]:
                fail("the collector with the ConfigMap's collector.yaml loaded no rule group")

            def own_target():
                body = json.loads(server.get("/api/v1/targets", headers=authorization).text())
                mine = [t for t in body["data"]["activeTargets"]
                        if t["scrapeUrl"] == f"http://127.0.0.1:{port}/metrics"]
                if not mine:
                    raise h.GiveUp(f"the collector has no target for itself: {body}")
                return mine[0] if mine[0]["health"] == "up" else None
            h.wait_until(own_target, timeout=60,
                         what="the collector to scrape itself with the Secret's password file")
            rc = server.stop()
            if rc != 0:
                fail(f"the collector exited with {rc}:\n{server.output()}")


# ---------------------------------------------------------------------------- Prometheus

K8S_SD_KEYS = {"role", "namespaces", "selectors", "api_server", "kubeconfig_file",
               "attach_metadata", "follow_redirects", "enable_http2", "tls_config"}
K8S_SD_ROLES = {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}


def load_snippet():
    with open(PROMETHEUS_SNIPPET, encoding="utf-8") as f:
        snippet = yaml.safe_load(f)
    if set(snippet) != {"scrape_configs"}:
        fail(f"{PROMETHEUS_SNIPPET}: expected only scrape_configs, got {sorted(snippet)}")
    return snippet


def check_k8s_sd(sd, job):
    if set(sd) - K8S_SD_KEYS:
        fail(f"job {job}: kubernetes_sd_configs has unknown keys {sorted(set(sd) - K8S_SD_KEYS)}")
    if sd.get("role") not in K8S_SD_ROLES:
        fail(f"job {job}: kubernetes_sd_configs role {sd.get('role')!r}")
    for selector in sd.get("selectors", []):
        if selector.get("role") != sd["role"] or set(selector) - {"role", "label", "field"}:
            fail(f"job {job}: bad selector {selector}")
    if set(sd.get("namespaces", {})) - {"names", "own_namespace"}:
        fail(f"job {job}: bad namespaces {sd['namespaces']}")


def meta_label(name):
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def discovered_pod_targets(objects, addresses):
    """What Prometheus' pod discovery gives for each pod of each workload: one target per
    container port, with the pod's __meta_kubernetes_* labels. The ports of our daemons point
    at the real ones in addresses (by binary). Plus a Pending copy of each pod and a copy
    without annotations."""
    groups = []
    for w in workloads(objects):
        template = w["spec"]["template"]
        name = w["metadata"]["name"] + ("-0" if w["kind"] == "StatefulSet" else "-abc12")
        for variant in ("running", "pending", "unannotated"):
            pod_meta = {
                "__meta_kubernetes_namespace": NAMESPACE,
                "__meta_kubernetes_pod_name": f"{name}-{variant}" if variant != "running" else name,
                "__meta_kubernetes_pod_node_name": "node-1",
                "__meta_kubernetes_pod_phase": "Pending" if variant == "pending" else "Running",
            }
            for key, value in template["metadata"].get("labels", {}).items():
                pod_meta["__meta_kubernetes_pod_label_" + meta_label(key)] = value
            if variant != "unannotated":
                for key, value in template["metadata"].get("annotations", {}).items():
                    pod_meta["__meta_kubernetes_pod_annotation_" + meta_label(key)] = value
            for c in template["spec"]["containers"]:
                for port in c.get("ports", []):
                    labels = dict(pod_meta)
                    labels["__meta_kubernetes_pod_container_name"] = c["name"]
                    number = str(port["containerPort"])
                    labels["__meta_kubernetes_pod_container_port_number"] = number
                    if "name" in port:
                        labels["__meta_kubernetes_pod_container_port_name"] = port["name"]
                    # Unreachable (TEST-NET-1) unless it is a daemon we run.
                    address = addresses.get(our_binary(c), f"192.0.2.1:{port['containerPort']}")
                    groups.append({"targets": [address], "labels": labels})
    return groups


def check_prometheus(objects, agent, collector):
    snippet = load_snippet()
    jobs = {job["job_name"]: job for job in snippet["scrape_configs"]}
    if "mingus-agent" not in jobs:
        fail("the Prometheus snippet has no mingus-agent job")
    with tempfile.TemporaryDirectory(prefix="deploy-prometheus-") as tmp, \
            h.start_agent(agent) as agent_server:
        secret_dir, authorization = make_test_secret(os.path.join(tmp, "secret"), objects)
        collector_server = h.start_collector(
            collector, f"--web.config.file={os.path.join(secret_dir, 'web.yml')}")
        with collector_server:
            collector_server.wait_http("/-/ready", headers=authorization)
            check_prometheus_scrapes(objects, snippet, tmp, secret_dir, {
                "mingus-agent": agent_server.base_url.split("//", 1)[1],
                "mingus-collector": collector_server.base_url.split("//", 1)[1]})


def check_prometheus_scrapes(objects, snippet, tmp, secret_dir, addresses):
    """The snippet in a real Prometheus, its targets the discovered pods, its password files
    the test Secret's (mounted where the snippet reads them)."""
    agent_address = addresses["mingus-agent"]
    targets_file = os.path.join(tmp, "pods.json")
    with open(targets_file, "w", encoding="utf-8") as f:
        json.dump(discovered_pod_targets(objects, addresses), f)
    for job in snippet["scrape_configs"]:
        if "basic_auth" in job:
            job["basic_auth"]["password_file"] = os.path.join(
                secret_dir, os.path.basename(job["basic_auth"]["password_file"]))
        sds = job.pop("kubernetes_sd_configs", None) or fail(
            f"job {job['job_name']}: no kubernetes_sd_configs")
        for sd in sds:
            check_k8s_sd(sd, job["job_name"])
        job["file_sd_configs"] = [{"files": [targets_file]}]
        job["scrape_interval"] = "1s"
    config = {"global": {"scrape_interval": "15s"}, **snippet}
    config_path = h.write_file(os.path.join(tmp, "prometheus.yml"), yaml.safe_dump(config))
    result = subprocess.run([h.PROMTOOL, "check", "config", config_path],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        fail(f"promtool check config: {result.stdout}{result.stderr}")
    tsdb = os.path.join(tmp, "tsdb")
    os.makedirs(tsdb)
    with h.start_prometheus(config_path, tsdb) as prometheus:
        def agent_target():
            body = json.loads(prometheus.get("/api/v1/targets").text())["data"]
            mine = [t for t in body["activeTargets"] if t["labels"]["job"] == "mingus-agent"]
            # None yet: file discovery runs after /-/ready. More than one: never fewer.
            if len(mine) > 1:
                raise h.GiveUp(f"mingus-agent job has {len(mine)} targets, expected the "
                               f"agent's port of the one running, annotated pod: {mine}")
            return mine[0] if mine and mine[0]["health"] == "up" else None
        target = h.wait_until(agent_target, timeout=60,
                              what="Prometheus to keep exactly the agent's target, and up")
        expected = {"instance": "demo-app-0", "namespace": NAMESPACE, "node": "node-1",
                    "app": "demo-app", "job": "mingus-agent"}
        if target["labels"] != expected:
            fail(f"agent target labels {target['labels']}, expected {expected}")
        if target["scrapeUrl"] != f"http://{agent_address}/metrics":
            fail(f"Prometheus scrapes {target['scrapeUrl']}")
        # The collector's job needs no annotation, but running pods and their http port,
        # and it authenticates with the password file.
        def collector_targets():
            body = json.loads(prometheus.get("/api/v1/targets").text())["data"]
            found = [t for t in body["activeTargets"]
                     if t["labels"]["job"] == "mingus-collector"]
            return found if len(found) >= 2 and all(t["health"] == "up" for t in found) else None
        try:
            found = h.wait_until(collector_targets, timeout=60,
                                 what="Prometheus to scrape the collector with basic auth")
        except TimeoutError:
            body = json.loads(prometheus.get("/api/v1/targets").text())["data"]
            fail("mingus-collector job targets not up: " + str(
                [(t["scrapeUrl"], t["health"], t["lastError"]) for t in body["activeTargets"]
                 if t["labels"]["job"] == "mingus-collector"]))
        collectors = sorted((t["labels"]["instance"], t["scrapeUrl"]) for t in found)
        url = f"http://{addresses['mingus-collector']}/metrics"
        expected = sorted((f"mingus-collector-abc12{suffix}", url)
                          for suffix in ("", "-unannotated"))
        if collectors != expected:
            fail(f"mingus-collector job targets {collectors}, expected {expected}")


# ---------------------------------------------------------------------------- Grafana

def check_grafana(objects):
    config_maps = {o["metadata"]["name"]: o["data"] for o in by_kind(objects, "ConfigMap")}
    shipped = {}
    for name, data in config_maps.items():
        if (name.startswith("mingus-grafana-dashboard-")
                and name != "mingus-grafana-dashboard-provider"):
            shipped.update(data)
    for path in sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json"))):
        key = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            if shipped.pop(key, None) != f.read():
                fail(f"the dashboard ConfigMaps do not hold dashboards/{key} as it is: run "
                     "packaging/kubernetes/grafana/generate-dashboards.py")
    if shipped:
        fail(f"dashboard ConfigMaps hold {sorted(shipped)}, which dashboards/ does not")

    def provisioning(file_name):
        path = os.path.join(ROOT, "dashboards", "provisioning", file_name)
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    datasources = yaml.safe_load(
        config_maps["mingus-grafana-datasources"]["mingus-datasources.yaml"])
    expected = provisioning("datasources.yaml")
    services = {s["metadata"]["name"]: s for s in by_kind(objects, "Service")}
    url = datasources["datasources"][0]["url"]
    m = re.match(r"^http://([a-z0-9-]+)\.([a-z0-9-]+)\.svc:(\d+)$", url)
    if not m or m.group(2) != NAMESPACE or m.group(1) not in services or int(m.group(3)) not in [
            p["port"] for p in services[m.group(1)]["spec"]["ports"]]:
        fail(f"the Grafana data source URL {url} is not a port of a Service here")
    expected["datasources"][0]["url"] = url
    # The collector's basic auth, which check_collector_auth holds to the Secret.
    for key in ("basicAuth", "basicAuthUser", "secureJsonData"):
        if key in datasources["datasources"][0]:
            expected["datasources"][0][key] = datasources["datasources"][0][key]
    if datasources != expected:
        fail("mingus-grafana-datasources differs from dashboards/provisioning/datasources.yaml "
             "in more than the URL and the basic auth")
    provider = yaml.safe_load(
        config_maps["mingus-grafana-dashboard-provider"]["mingus-dashboards.yaml"])
    expected = provisioning("dashboards.yaml")
    expected["providers"][0]["options"]["path"] = provider["providers"][0]["options"]["path"]
    if provider != expected:
        fail("mingus-grafana-dashboard-provider differs from dashboards/provisioning/"
             "dashboards.yaml in more than the path")
    readme = open(os.path.join(K8S, "README.md"), encoding="utf-8").read()
    if provider["providers"][0]["options"]["path"] not in readme:
        fail("README.md does not show where to mount the dashboards (the provider's path)")


# ---------------------------------------------------------------------------- Dockerfile

def dockerfile_instructions():
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    out = []
    pending = ""
    with open(DOCKERFILE, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            full = (pending + line).strip()
            pending = ""
            word, _, rest = full.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerfile_stages():
    stages = []
    for instruction, args in dockerfile_instructions():
        if instruction == "FROM":
            m = re.match(r"^(\S+)(?:\s+AS\s+(\S+))?$", args, re.IGNORECASE)
            stages.append({"from": m.group(1), "name": m.group(2), "steps": []})
        else:
            if not stages:
                fail(f"Dockerfile: {instruction} before FROM")
            stages[-1]["steps"].append((instruction, args))
    return stages


def exec_form(args):
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def dockerignored(relpath):
    with open(DOCKERIGNORE, encoding="utf-8") as f:
        patterns = [p.strip() for p in f if p.strip() and not p.startswith("#")]
    parts = relpath.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        for i in range(1, len(parts) + 1):
            if fnmatch.fnmatch("/".join(parts[:i]), pattern) or (
                    pattern.startswith("**/") and fnmatch.fnmatch(parts[i - 1], pattern[3:])):
                return pattern
    return None


def package_names():
    """The .deb names cmake/packaging.cmake makes: NAME_VERSION_ARCH.deb (DEB-DEFAULT)."""
    with open(os.path.join(ROOT, "cmake", "packaging.cmake"), encoding="utf-8") as f:
        text = f.read()
    if not re.search(r"set\(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT\)", text):
        fail("cmake/packaging.cmake no longer names the packages DEB-DEFAULT (NAME_VERSION_ARCH)")
    names = dict(re.findall(r"set\(CPACK_DEBIAN_(AGENT|COLLECTOR)_PACKAGE_NAME (\S+)\)", text))
    return {"agent": names["AGENT"], "collector": names["COLLECTOR"]}


def check_dockerfile(objects, binaries):
    stages = dockerfile_stages()
    names = [s["name"] for s in stages]
    for target in ("agent", "collector"):
        if target not in names:
            fail(f"Dockerfile: no stage (target) named {target}")
    packages = package_names()
    uids = {w["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
            for w in workloads(objects)}
    for index, stage in enumerate(stages):
        base = stage["from"]
        earlier = names[:index]
        if base not in earlier and not re.match(r"^debian:12(-slim)?$", base):
            fail(f"Dockerfile stage {stage['name']}: FROM {base}, not Debian 12")
        for instruction, args in stage["steps"]:
            if instruction == "COPY":
                words = args.split()
                options = [w for w in words if w.startswith("--")]
                paths = [w for w in words if not w.startswith("--")]
                source_stage = next((o.split("=", 1)[1] for o in options
                                     if o.startswith("--from=")), None)
                if source_stage is not None:
                    if source_stage not in earlier:
                        fail(f"Dockerfile: COPY --from={source_stage} names no earlier stage")
                    for source in paths[:-1]:
                        m = re.search(r"mingus-(agent|collector)_\*\.deb$", source)
                        wanted = f"{packages[m.group(1)]}_*.deb" if m else None
                        if source.endswith(".deb") and wanted != os.path.basename(source):
                            fail(f"Dockerfile: COPY {source} is not a package "
                                 f"cmake/packaging.cmake makes ({sorted(packages.values())})")
                    continue
                for source in paths[:-1]:
                    if not os.path.exists(os.path.join(ROOT, source)):
                        fail(f"Dockerfile: COPY source {source} does not exist in the repository")
                    if source not in (".", "./") and dockerignored(source):
                        fail(f"Dockerfile: COPY source {source} is excluded by .dockerignore "
                             f"({dockerignored(source)})")
            if instruction == "RUN":
                if "install-deps.sh" in args:
                    m = re.search(r"MINGUS_DEPS=(\w+)", args)
                    with open(os.path.join(ROOT, "packaging", "install-deps.sh")) as f:
                        script = f.read()
                    if m and f'"$deps" != {m.group(1)}' not in script:
                        fail(f"Dockerfile: MINGUS_DEPS={m.group(1)} is not a choice of "
                             "packaging/install-deps.sh")
                if "cmake -S" in args:
                    for option in ("-DMINGUS_BUILD_TESTS=OFF", "-DMINGUS_FUZZ=OFF"):
                        if option not in args:
                            fail(f"Dockerfile: the build does not configure with {option}")
                for deb in re.findall(r"mingus-(agent|collector)_\*\.deb", args):
                    if packages[deb] != f"mingus-{deb}":
                        fail(f"Dockerfile: mingus-{deb}_*.deb is not what cpack makes")
        if stage["name"] in ("agent", "collector"):
            check_runtime_stage(stage, f"mingus-{stage['name']}", binaries, uids)
    # Every file that the build stage's COPY . . needs must be in the context.
    for needed in ("CMakeLists.txt", "cmake", "shared", "agent", "collector", "client/cpp",
                   "configs", "dashboards", "packaging", "README.md"):
        if dockerignored(needed):
            fail(f".dockerignore excludes {needed}, which the build needs")


def check_runtime_stage(stage, binary, binaries, uids):
    steps = stage["steps"]
    where = f"Dockerfile stage {stage['name']}"

    def last(instruction):
        values = [a for i, a in steps if i == instruction]
        return values[-1] if values else None
    installs = [a for i, a in steps if i == "RUN" and "apt-get install" in a]
    if not any(f"{binary}_*.deb" in a for a in installs):
        fail(f"{where}: does not apt-get install {binary}_*.deb")
    user = last("USER") or fail(f"{where}: no USER (it would run as root)")
    uid = user.split(":")[0]
    if not uid.isdigit() or int(uid) == 0:
        fail(f"{where}: USER {user} is not a numeric non-root UID")
    if {int(uid)} != uids:
        fail(f"{where}: USER {uid}, the manifests run as {sorted(uids)}")
    entrypoint = exec_form(last("ENTRYPOINT") or fail(f"{where}: no ENTRYPOINT"))
    if entrypoint != [f"/usr/bin/{binary}"]:
        fail(f"{where}: ENTRYPOINT {entrypoint}, expected the packaged /usr/bin/{binary}")
    args = exec_form(last("CMD") or "[]")
    for name in flag_names(args):
        if name not in binaries[binary]:
            fail(f"{where}: --{name} is not a flag of {binary} (--help)")
    listen = flag_value(args, "web.listen-address") or fail(f"{where}: no --web.listen-address")
    if not listen.startswith("0.0.0.0:"):
        fail(f"{where}: --web.listen-address={listen}: unreachable from outside the container")
    exposed = set((last("EXPOSE") or "").split())
    if f"{listen.rsplit(':', 1)[1]}/tcp" not in exposed:
        fail(f"{where}: EXPOSE {sorted(exposed)} lacks the HTTP port of {listen}")
    udp = flag_value(args, "statsd.listen-udp")
    if udp and f"{udp.rsplit(':', 1)[1]}/udp" not in exposed:
        fail(f"{where}: EXPOSE {sorted(exposed)} lacks the UDP port of {udp}")
    storage = flag_value(args, "storage.path") or fail(f"{where}: no --storage.path")
    if (last("VOLUME") or "").strip() != storage:
        fail(f"{where}: VOLUME {last('VOLUME')} is not --storage.path={storage}")
    config = flag_value(args, "config.file") or fail(f"{where}: no --config.file")
    if not config.startswith(PACKAGE_CONFIG_DIR) or not os.path.isfile(
            os.path.join(ROOT, "configs", config[len(PACKAGE_CONFIG_DIR):])):
        fail(f"{where}: --config.file={config} is not a file the package installs")


def check_image_commands(objects, paths):
    """Each runtime stage's ENTRYPOINT and CMD start the daemon with the packaged config (from
    configs/), listening on 127.0.0.1 ephemeral ports here instead of 0.0.0.0, and the
    collector with a test web config where the Dockerfile has the user mount one."""
    for stage in dockerfile_stages():
        if stage["name"] not in ("agent", "collector"):
            continue
        cmd = exec_form([a for i, a in stage["steps"] if i == "CMD"][-1])
        with tempfile.TemporaryDirectory(prefix=f"deploy-image-{stage['name']}-") as tmp:
            secret_dir, authorization = None, None
            if flag_value(cmd, "web.config.file"):
                secret_dir, authorization = make_test_secret(os.path.join(tmp, "web"), objects)
            argv = local_argv(paths[f"mingus-{stage['name']}"], cmd, tmp, secret_dir=secret_dir)
            with start_local(argv, stage["name"], tmp) as server:
                if authorization:
                    check_served_with_auth(server, authorization)
                else:
                    server.wait_http("/-/ready")
                rc = server.stop()
                if rc != 0:
                    fail(f"{stage['name']} image command exited with {rc}:\n{server.output()}")


# ---------------------------------------------------------------------------- main

def main():
    parser = h.agent_arg_parser(__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default=os.path.join(tempfile.gettempdir(),
                                                           "mingus-kubernetes-schemas"),
                        help="where `npm ci` installs tests/kubernetes (kept between runs)")
    args = parser.parse_args()
    if not args.collector:
        parser.error("--collector is required")
    checks = h.Checks()
    objects = load_objects()
    binaries = {"mingus-agent": help_flags(args.agent),
                "mingus-collector": help_flags(args.collector)}
    checks.run("objects: apiVersion, kind, metadata", lambda: check_metadata(objects))
    checks.run("kustomization lists every manifest and image", lambda: check_kustomization(objects))
    checks.run("objects valid against the Kubernetes API schemas",
               lambda: check_schemas(objects, args.work_dir))
    checks.run("workloads: selectors, probes, resources, security, volumes",
               lambda: check_workloads(objects))
    checks.run("services: selectors and ports reach container ports",
               lambda: check_services(objects))
    checks.run("manifest flags are in --help; configs are mounted",
               lambda: check_manifest_flags(objects, binaries))
    checks.run("collector beyond loopback: web config from a Secret, TCP probes, readers "
               "authenticate from files", lambda: check_collector_auth(objects))
    checks.run("agent.yaml ConfigMap: the agent starts; the demo app's loop is counted",
               lambda: check_agent_config(objects, args.agent))
    checks.run("collector.yaml ConfigMap: the collector starts with the packaged rules",
               lambda: check_collector_config(objects, args.collector))
    checks.run("Prometheus snippet: promtool, and relabelling in a real Prometheus",
               lambda: check_prometheus(objects, args.agent, args.collector))
    checks.run("Grafana ConfigMaps match dashboards/", lambda: check_grafana(objects))
    checks.run("Dockerfile: stages, COPY sources, packages, user, flags",
               lambda: check_dockerfile(objects, binaries))
    checks.run("Dockerfile: each image's command starts its daemon with the packaged config",
               lambda: check_image_commands(objects, {"mingus-agent": args.agent,
                                             "mingus-collector": args.collector}))
    checks.exit()


if __name__ == "__main__":
    main()
