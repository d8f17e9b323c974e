#!/usr/bin/env python3
"""Generate a realistic, deterministic corpus of Kubernetes manifests.

    python3 bench/gen_corpus.py --files 10000 --seed 42 --out bench/corpus-10000

Layout: team-NN/app-NNN/<file>.yaml, about five files per application.
Files hold Deployments, StatefulSets, DaemonSets, CronJobs, Services,
ConfigMaps and Ingresses, about 2.5 documents per file (joined by `---`)
and about 2.5 KB per file. The writing style varies the way real repositories
do (block and flow collections, quoted and plain scalars, comments, anchors).

About 10% of the workload documents carry one violation of the benchmark
policy (bench/policy.yaml): privileged, latest tag, missing limits, hostPath,
… Everything else is hardened and passes every rule, so the findings count
tracks the seeded violations. The same --seed always gives byte-identical
files. Counts (files, documents, kinds, seeded violations) go to <out>.stats.json
beside the corpus, not inside it. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
from pathlib import Path

WORKLOAD_VIOLATION_RATE = 0.10

VIOLATIONS = [
    "privileged",
    "allow_escalation",
    "latest_tag",
    "no_tag",
    "foreign_registry",
    "no_digest",
    "missing_limits",
    "missing_requests",
    "host_path",
    "host_network",
    "host_pid",
    "cap_sys_admin",
    "no_drop_all",
    "run_as_root",
    "writable_rootfs",
    "secret_env",
    "host_port",
    "default_namespace",
    "no_seccomp",
    "token_mount",
    "memory_too_high",
    "proc_mount",
]

LANGS = ["go", "java", "node", "python", "rust", "ruby"]
WORDS = [
    "orders", "payments", "billing", "catalog", "search", "inventory", "checkout",
    "ledger", "accounts", "identity", "notify", "mailer", "gateway", "pricing",
    "shipping", "reviews", "media", "thumbnails", "reports", "audit", "events",
    "profile", "session", "cart", "quotes", "fraud", "risk", "ingest", "export",
    "scheduler", "tenant", "webhooks", "ratings", "feeds", "ads", "metrics",
]
SUFFIXES = ["api", "worker", "svc", "consumer", "sync", "web", "backend", "processor"]
REGISTRIES = ["ghcr.io/acme", "registry.acme.internal"]


class Writer:
    """Builds one YAML document line by line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, indent: int, text: str) -> None:
        self.lines.append(" " * indent + text)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def digest(rng: random.Random, name: str) -> str:
    return hashlib.sha256(f"{name}-{rng.random()}".encode()).hexdigest()


def version(rng: random.Random) -> str:
    return f"{rng.randint(0, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 20)}"


def quantity_cpu(rng: random.Random, lo: int, hi: int) -> str:
    return f"{rng.choice(range(lo, hi + 1, 50))}m"


def quantity_mem(rng: random.Random, choices: list[int]) -> str:
    return f"{rng.choice(choices)}Mi"


class App:
    """One application directory: names and labels shared by its files."""

    def __init__(self, rng: random.Random, team: int, index: int) -> None:
        self.rng = rng
        self.team = f"team-{team:02d}"
        word = rng.choice(WORDS)
        self.name = f"{word}-{rng.choice(SUFFIXES)}-{index:03d}"
        self.namespace = f"{self.team}-{word}"
        self.part_of = f"{word}-platform"
        self.lang = rng.choice(LANGS)
        self.version = version(rng)
        self.registry = rng.choice(REGISTRIES)
        self.port = rng.choice([8080, 8000, 3000, 9000, 8443])

    def labels(self, w: Writer, indent: int, component: str | None = None) -> None:
        w(indent, f"app.kubernetes.io/name: {self.name}")
        w(indent, f"app.kubernetes.io/part-of: {self.part_of}")
        if component:
            w(indent, f"app.kubernetes.io/version: \"{self.version}\"")
            w(indent, f"app.kubernetes.io/component: {component}")
            w(indent, f"acme.io/team: {self.team}")

    def metadata(self, w: Writer, name: str, violation: str | None,
                 component: str | None = None, annotations: bool = False) -> None:
        w(0, "metadata:")
        w(2, f"name: {name}")
        ns = "default" if violation == "default_namespace" else self.namespace
        w(2, f"namespace: {ns}")
        w(2, "labels:")
        self.labels(w, 4, component)
        if annotations:
            w(2, "annotations:")
            w(4, f"acme.io/owner: \"{self.team}@acme.example\"")
            w(4, f"acme.io/runbook: https://runbooks.acme.example/{self.team}/{self.name}")


def pod_spec(w: Writer, app: App, rng: random.Random, indent: int, violation: str | None,
             kind: str, container_name: str) -> None:
    """A hardened pod spec with at most one seeded violation."""
    i = indent
    if kind == "CronJob":
        w(i, "restartPolicy: OnFailure")
    if violation == "host_network":
        w(i, "hostNetwork: true")
    if violation == "host_pid":
        w(i, "hostPID: true")
    w(i, f"serviceAccountName: {app.name}")
    w(i, f"automountServiceAccountToken: {'true' if violation == 'token_mount' else 'false'}")
    if rng.random() < 0.3:
        w(i, "terminationGracePeriodSeconds: 30")
    w(i, "securityContext:")
    if violation == "run_as_root":
        w(i + 2, "runAsUser: 0")
    else:
        w(i + 2, "runAsNonRoot: true")
        w(i + 2, f"runAsUser: {rng.choice([1000, 10001, 65532])}")
        w(i + 2, "fsGroup: 2000")
    if violation != "no_seccomp":
        if rng.random() < 0.5:
            w(i + 2, "seccompProfile: {type: RuntimeDefault}")
        else:
            w(i + 2, "seccompProfile:")
            w(i + 4, "type: RuntimeDefault")
    if rng.random() < 0.25:
        w(i, "nodeSelector:")
        w(i + 2, "kubernetes.io/os: linux")
    if rng.random() < 0.2:
        w(i, "tolerations:")
        w(i + 2, "- key: dedicated")
        w(i + 4, "operator: Equal")
        w(i + 4, f"value: {app.team}")
        w(i + 4, "effect: NoSchedule")
    w(i, "containers:")
    container(w, app, rng, i + 2, violation, kind, container_name)
    w(i, "volumes:")
    w(i + 2, "- name: tmp")
    w(i + 4, "emptyDir: {}")
    if violation == "host_path":
        w(i + 2, "- name: host-logs")
        w(i + 4, "hostPath:")
        w(i + 6, "path: /var/log")
        w(i + 6, "type: Directory")
    if rng.random() < 0.5:
        w(i + 2, "- name: config")
        w(i + 4, "configMap:")
        w(i + 6, f"name: {app.name}-config")


def image_ref(app: App, rng: random.Random, violation: str | None, name: str) -> str:
    repo = f"{app.registry}/{app.team}/{name}"
    if violation == "foreign_registry":
        return f"docker.io/library/{rng.choice(['nginx', 'redis', 'busybox', 'python'])}:{version(rng)}@sha256:{digest(rng, name)}"
    if violation == "latest_tag":
        return f"{repo}:latest"
    if violation == "no_tag":
        return repo
    if violation == "no_digest":
        return f"{repo}:{app.version}"
    return f"{repo}:{app.version}@sha256:{digest(rng, name)}"


def container(w: Writer, app: App, rng: random.Random, i: int, violation: str | None,
              kind: str, name: str) -> None:
    w(i, f"- name: {name}")
    j = i + 2
    w(j, f"image: {image_ref(app, rng, violation, name)}")
    if rng.random() < 0.5:
        w(j, "imagePullPolicy: IfNotPresent")
    if rng.random() < 0.4:
        w(j, f"args: [\"--port={app.port}\", \"--log-format=json\"]")
    if kind != "CronJob":
        w(j, "ports:")
        w(j + 2, "- name: http")
        w(j + 4, f"containerPort: {app.port}")
        if violation == "host_port":
            w(j + 4, f"hostPort: {app.port}")
        w(j + 4, "protocol: TCP")
        if rng.random() < 0.5:
            w(j + 2, "- name: metrics")
            w(j + 4, "containerPort: 9090")
    w(j, "env:")
    envs = [
        ("LOG_LEVEL", rng.choice(["info", "debug", "warn"])),
        ("SERVICE_NAME", app.name),
        ("HTTP_PORT", f"\"{app.port}\""),
    ]
    for word in rng.sample(WORDS, rng.randint(0, 2)):
        envs.append((f"FEATURE_{word.upper()}", rng.choice(["\"true\"", "\"false\""])))
    for k, v in envs:
        w(j + 2, f"- name: {k}")
        w(j + 4, f"value: {v}")
    w(j + 2, "- name: DB_PASSWORD")
    if violation == "secret_env":
        w(j + 4, f"value: \"pw-{digest(rng, app.name)[:12]}\"")
    else:
        w(j + 4, "valueFrom:")
        w(j + 6, "secretKeyRef:")
        w(j + 8, f"name: {app.name}-db")
        w(j + 8, "key: password")
    w(j, "securityContext:")
    if violation == "privileged":
        w(j + 2, "privileged: true")
    w(j + 2, f"allowPrivilegeEscalation: {'true' if violation == 'allow_escalation' else 'false'}")
    w(j + 2, f"readOnlyRootFilesystem: {'false' if violation == 'writable_rootfs' else 'true'}")
    if violation == "proc_mount":
        w(j + 2, "procMount: Unmasked")
    if violation == "no_drop_all":
        w(j + 2, "capabilities: {drop: [NET_RAW]}")
    elif violation == "cap_sys_admin":
        w(j + 2, "capabilities:")
        w(j + 4, "add: [SYS_ADMIN]")
        w(j + 4, "drop: [ALL]")
    else:
        w(j + 2, "capabilities:")
        w(j + 4, "drop: [\"ALL\"]")
    w(j, "resources:")
    if violation != "missing_requests":
        cpu_req = quantity_cpu(rng, 50, 500)
        mem_req = quantity_mem(rng, [64, 128, 256, 512])
        if rng.random() < 0.3:
            w(j + 2, f"requests: {{cpu: {cpu_req}, memory: {mem_req}}}")
        else:
            w(j + 2, "requests:")
            w(j + 4, f"cpu: {cpu_req}")
            w(j + 4, f"memory: {mem_req}")
    if violation != "missing_limits":
        w(j + 2, "limits:")
        w(j + 4, f"cpu: \"{rng.choice(['1', '2', '1500m'])}\"")
        mem = "16Gi" if violation == "memory_too_high" else quantity_mem(rng, [512, 768, 1024, 2048])
        w(j + 4, f"memory: {mem}")
        w(j + 4, f"ephemeral-storage: {rng.choice(['512Mi', '1Gi', '2Gi'])}")
    if kind != "CronJob":
        w(j, "livenessProbe:")
        w(j + 2, "httpGet:")
        w(j + 4, "path: /healthz")
        w(j + 4, "port: http")
        w(j + 2, f"initialDelaySeconds: {rng.choice([5, 10, 15])}")
        w(j + 2, "periodSeconds: 10")
        w(j, "readinessProbe:")
        w(j + 2, "httpGet: {path: /ready, port: http}")
        w(j + 2, "periodSeconds: 5")
    w(j, "volumeMounts:")
    w(j + 2, "- name: tmp")
    w(j + 4, "mountPath: /tmp")
    if violation == "host_path":
        w(j + 2, "- name: host-logs")
        w(j + 4, "mountPath: /host/var/log")
        w(j + 4, "readOnly: true")


def pick_violation(rng: random.Random, kind: str) -> str | None:
    if rng.random() < WORKLOAD_VIOLATION_RATE:
        # CronJob containers have no ports, so no host port either.
        return rng.choice([v for v in VIOLATIONS if not (kind == "CronJob" and v == "host_port")])
    return None


def workload(app: App, rng: random.Random, kind: str, stats: dict) -> str:
    violation = pick_violation(rng, kind)
    if violation:
        stats["violations"][violation] = stats["violations"].get(violation, 0) + 1
    w = Writer()
    if rng.random() < 0.3:
        w(0, f"# {kind} for {app.name}, owned by {app.team}. Managed by the platform repo.")
    w(0, {"CronJob": "apiVersion: batch/v1"}.get(kind, "apiVersion: apps/v1"))
    w(0, f"kind: {kind}")
    name = app.name if kind != "CronJob" else f"{app.name}-{rng.choice(['cleanup', 'report', 'sync', 'backup'])}"
    app.metadata(w, name, violation, component=kind.lower(), annotations=rng.random() < 0.5)
    w(0, "spec:")
    if kind == "CronJob":
        w(2, f"schedule: \"{rng.randint(0, 59)} {rng.choice(['*', '*/2', '3', '4'])} * * *\"")
        w(2, "concurrencyPolicy: Forbid")
        w(2, "jobTemplate:")
        w(4, "spec:")
        w(6, "backoffLimit: 2")
        w(6, "template:")
        w(8, "metadata:")
        w(10, "labels:")
        app.labels(w, 12)
        w(8, "spec:")
        pod_spec(w, app, rng, 10, violation, kind, "job")
        return w.text()
    if kind in ("Deployment", "StatefulSet"):
        w(2, f"replicas: {rng.choice([1, 2, 2, 3, 3, 4, 6])}")
    if kind == "StatefulSet":
        w(2, f"serviceName: {app.name}")
    if kind == "Deployment" and rng.random() < 0.5:
        w(2, "strategy:")
        w(4, "type: RollingUpdate")
        w(4, "rollingUpdate: {maxSurge: 1, maxUnavailable: 0}")
    w(2, "selector:")
    w(4, "matchLabels:")
    w(6, f"app.kubernetes.io/name: {app.name}")
    w(2, "template:")
    w(4, "metadata:")
    w(6, "labels:")
    app.labels(w, 8)
    if rng.random() < 0.4:
        w(6, "annotations:")
        w(8, "prometheus.io/scrape: \"true\"")
        w(8, "prometheus.io/port: \"9090\"")
    w(4, "spec:")
    pod_spec(w, app, rng, 6, violation, kind, app.name.rsplit("-", 1)[0])
    if kind == "StatefulSet":
        w(2, "volumeClaimTemplates:")
        w(4, "- metadata: {name: data}")
        w(6, "spec:")
        w(8, "accessModes: [ReadWriteOnce]")
        w(8, "resources:")
        w(10, "requests:")
        w(12, f"storage: {rng.choice([10, 20, 50, 100])}Gi")
    return w.text()


def service(app: App, rng: random.Random) -> str:
    w = Writer()
    w(0, "apiVersion: v1")
    w(0, "kind: Service")
    app.metadata(w, app.name, None)
    w(0, "spec:")
    w(2, f"type: {rng.choice(['ClusterIP', 'ClusterIP', 'ClusterIP', 'NodePort'])}")
    w(2, "selector:")
    w(4, f"app.kubernetes.io/name: {app.name}")
    w(2, "ports:")
    w(4, "- name: http")
    w(6, "port: 80")
    w(6, "targetPort: http")
    w(6, "protocol: TCP")
    return w.text()


def config_map(app: App, rng: random.Random) -> str:
    w = Writer()
    w(0, "apiVersion: v1")
    w(0, "kind: ConfigMap")
    app.metadata(w, f"{app.name}-config", None)
    w(0, "data:")
    for word in rng.sample(WORDS, rng.randint(2, 5)):  # distinct keys
        key = f"{word}.{rng.choice(['timeout', 'enabled', 'url', 'size', 'ttl'])}"
        w(2, f"{key}: \"{rng.choice(['30s', 'true', 'false', '128', 'https://api.acme.example'])}\"")
    if rng.random() < 0.25:
        w(2, "application.yaml: |")
        w(4, "server:")
        w(6, f"port: {app.port}")
        w(4, "logging:")
        w(6, "level: info")
    return w.text()


def ingress(app: App, rng: random.Random) -> str:
    w = Writer()
    w(0, "apiVersion: networking.k8s.io/v1")
    w(0, "kind: Ingress")
    app.metadata(w, app.name, None, annotations=True)
    w(0, "spec:")
    w(2, "ingressClassName: nginx")
    host = f"{app.name}.{app.team}.acme.example"
    w(2, "tls:")
    w(4, f"- hosts: [{host}]")
    w(6, f"secretName: {app.name}-tls")
    w(2, "rules:")
    w(4, f"- host: {host}")
    w(6, "http:")
    w(8, "paths:")
    w(10, "- path: /")
    w(12, "pathType: Prefix")
    w(12, "backend:")
    w(14, "service:")
    w(16, f"name: {app.name}")
    w(16, "port: {name: http}")
    return w.text()


# File recipes: (file name, kinds). Weights give ~2.5 documents per file.
RECIPES = [
    (30, "deployment.yaml", ["Deployment", "Service", "ConfigMap"]),
    (12, "deployment.yaml", ["Deployment", "Service"]),
    (10, "statefulset.yaml", ["StatefulSet", "Service", "ConfigMap"]),
    (6, "daemonset.yaml", ["DaemonSet"]),
    (14, "cronjob.yaml", ["CronJob", "ConfigMap"]),
    (14, "ingress.yaml", ["Ingress", "Service", "ConfigMap"]),
    (10, "config.yaml", ["ConfigMap", "ConfigMap", "ConfigMap"]),
    (4, "worker.yaml", ["Deployment"]),
]


def render(app: App, rng: random.Random, kinds: list[str], stats: dict) -> str:
    docs = []
    for kind in kinds:
        stats["documents"] += 1
        stats["kinds"][kind] = stats["kinds"].get(kind, 0) + 1
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob"):
            docs.append(workload(app, rng, kind, stats))
        elif kind == "Service":
            docs.append(service(app, rng))
        elif kind == "ConfigMap":
            docs.append(config_map(app, rng))
        else:
            docs.append(ingress(app, rng))
    lead = "---\n" if rng.random() < 0.2 else ""
    return lead + "---\n".join(docs)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1000, help="number of files (default 1000)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--out", type=Path, required=True, help="output directory (replaced)")
    args = ap.parse_args(argv)
    if args.files < 1:
        ap.error("--files must be at least 1")

    rng = random.Random(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)

    stats: dict = {"files": 0, "documents": 0, "bytes": 0, "kinds": {}, "violations": {}}
    weights = [r[0] for r in RECIPES]
    teams = max(1, round(args.files / 250))
    app_index = 0
    written = 0
    while written < args.files:
        app = App(rng, team=app_index % teams + 1, index=app_index // teams + 1)
        app_index += 1
        app_dir = args.out / app.team / app.name
        app_dir.mkdir(parents=True, exist_ok=True)
        used: dict[str, int] = {}
        for _ in range(min(rng.randint(3, 7), args.files - written)):
            _, fname, kinds = rng.choices(RECIPES, weights=weights)[0]
            n = used.get(fname, 0)
            used[fname] = n + 1
            if n:
                stem, ext = fname.rsplit(".", 1)
                fname = f"{stem}-{n + 1}.{ext}"
            text = render(app, rng, kinds, stats)
            (app_dir / fname).write_text(text, encoding="utf-8")
            stats["files"] += 1
            stats["bytes"] += len(text.encode())
            written += 1

    stats["kinds"] = dict(sorted(stats["kinds"].items()))
    stats["violations"] = dict(sorted(stats["violations"].items()))
    stats_path = args.out.with_name(args.out.name + ".stats.json")
    stats_path.write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    print(
        f"{args.out}: {stats['files']} files, {stats['documents']} documents, "
        f"{stats['bytes'] / 1e6:.1f} MB ({stats['bytes'] / stats['files'] / 1e3:.2f} KB/file), "
        f"{sum(stats['violations'].values())} seeded violations",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
