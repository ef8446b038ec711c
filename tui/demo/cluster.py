"""The small simulated cluster behind `ebtop --demo`, and the seeded timeline of what happens in it.

Both demo servers expand the same `Episode` stream: the Hubble side into flows, the Tetragon side into
process events. Because they share it, the pod that runs `curl` is the pod whose flows show the
connection, at the same instant. Nothing here knows about protobuf.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

CLUSTER_NAME = "default"
NODES = ("worker-1", "worker-2")


@dataclass(frozen=True)
class Pod:
    """One pod with everything either API reports about it."""

    name: str
    namespace: str
    node: str
    ip: str
    workload: str
    workload_kind: str
    app: str
    identity: int
    container: str
    image: str
    container_id: str
    entrypoint: tuple[str, ...]
    pid: int
    labels: tuple[str, ...] = field(default=())

    def k8s_labels(self) -> list[str]:
        """Labels as Hubble prints them (`k8s:key=value`)."""
        base = [
            f"k8s:app={self.app}",
            f"k8s:io.kubernetes.pod.namespace={self.namespace}",
            f"k8s:io.cilium.k8s.policy.cluster={CLUSTER_NAME}",
        ]
        return base + [f"k8s:{label}" for label in self.labels]

    def pod_labels(self) -> dict[str, str]:
        """Labels as Tetragon's Pod.pod_labels map carries them."""
        labels = {"app": self.app}
        for label in self.labels:
            key, _, value = label.partition("=")
            labels[key] = value
        return labels


@dataclass(frozen=True)
class External:
    """A destination outside the cluster (world identity), reached by name."""

    fqdn: str
    ip: str
    port: int


# Stable, readable container ids: derived from names, not from Python's salted hash.
def _cid(name: str) -> str:
    value = 0
    for char in name:
        value = (value * 131 + ord(char)) % (16**16)
    return f"containerd://{value:016x}{'0' * 48}"


PODS: tuple[Pod, ...] = tuple(
    Pod(name, ns, node, ip, workload, kind, app, ident, app, image, _cid(name), entry, pid, labels)
    for (name, ns, node, ip, workload, kind, app, ident, image, entry, pid, labels) in (
        ("frontend-7d9c5b7f8-x2lqp", "shop", "worker-1", "10.0.1.17", "frontend", "Deployment", "frontend",
         21734, "docker.io/library/nginx:1.27", ("/usr/sbin/nginx", "-g", "daemon off;"), 4211,
         ("tier=web",)),
        ("api-5f6b8d9c4-k7wzn", "shop", "worker-1", "10.0.1.42", "api", "Deployment", "api",
         40512, "ghcr.io/example/shop-api:2.4.1", ("/app/api", "--listen=:8080"), 4388, ("tier=backend",)),
        ("api-5f6b8d9c4-q9t2m", "shop", "worker-2", "10.0.2.51", "api", "Deployment", "api",
         40512, "ghcr.io/example/shop-api:2.4.1", ("/app/api", "--listen=:8080"), 3120, ("tier=backend",)),
        ("postgres-0", "shop", "worker-2", "10.0.2.30", "postgres", "StatefulSet", "postgres",
         11841, "docker.io/library/postgres:16", ("/usr/local/bin/postgres",), 2977, ("tier=db",)),
        ("redis-6c7f9d8b5-m4hjd", "shop", "worker-1", "10.0.1.88", "redis", "Deployment", "redis",
         59213, "docker.io/library/redis:7.2", ("/usr/local/bin/redis-server", "*:6379"), 2890, ("tier=cache",)),
        ("coredns-5d78c9869d-8xk2v", "kube-system", "worker-2", "10.0.2.2", "coredns", "Deployment",
         "kube-dns", 102, "registry.k8s.io/coredns/coredns:v1.11.1",
         ("/coredns", "-conf", "/etc/coredns/Corefile"), 1402, ("k8s-app=kube-dns",)),
        ("loadgen-84b6c7d5f9-r8vts", "tools", "worker-2", "10.0.2.77", "loadgen", "Deployment", "loadgen",
         33019, "docker.io/curlimages/curl:8.5.0", ("/bin/sh", "-c", "while true; do sleep 1; done"), 5120,
         ()),
    )
)

EXTERNALS: tuple[External, ...] = (
    External("api.payments.example.com", "203.0.113.10", 443),
    External("objects.storage.example.net", "198.51.100.24", 443),
)
KUBE_DNS_SERVICE_IP = "10.96.0.10"
MISSING_NAMES = ("api.payment.example.com", "redis.shop.svc.cluster.local.shop.svc.cluster.local")


def pod_by_app(app: str) -> list[Pod]:
    """Every pod of one app, in declaration order."""
    return [pod for pod in PODS if pod.app == app]


@dataclass(frozen=True)
class Episode:
    """One thing that happens in the cluster, at `t` seconds after the scenario starts.

    kinds and their `params`:
    - ``http``: src pod calls dst pod: method, path, status, latency_ms, port.
    - ``tcp``: src pod opens a TCP connection to dst pod: port, bytes (database, cache).
    - ``dns``: src pod asks kube-dns for `qname` (`qtype`): rcode ``NOERROR`` or ``NXDOMAIN``, ips.
    - ``external``: src pod's container runs `sh -c "curl -s https://<fqdn>/…"`: fqdn, ip, port, path, exit.
    - ``shadow``: src pod's container runs `sh -c "cat /etc/shadow"` (a sensitive read), exit status.
    - ``denied``: src pod tries dst pod on `port` and is dropped by policy (Policy denied).
    - ``ping``: src pod sends ICMP echo to dst pod.
    - ``health``: the node's kubelet probes dst pod on `port` (host identity).

    Connection kinds also carry the client's ephemeral port, `sport` (`dns_sport` for the lookup
    of an ``external`` one), so both servers report the same 5-tuple; ports are reused now and
    then, as a kernel does, but never while the earlier connection could still be alive. An
    ``external`` episode from tools/loadgen to the storage API is ``dropped`` by policy.
    """

    t: float
    kind: str
    src: Pod | None
    dst: Pod | External | None
    params: dict[str, object]


EPHEMERAL_PORTS = (32768, 60999)
PORT_REUSE_CHANCE = 0.15
PORT_REUSE_AFTER_S = 5.0
"""A port is handed out again only this long after its last use: every demo connection is over by then."""


class _Ports:
    """Ephemeral source ports per client address, from their own RNG (the episode sequence stays as it was)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed * 104_729 + 3)
        self.used: dict[str, deque[tuple[float, int]]] = {}

    def take(self, ip: str, t: float) -> int:
        recent = self.used.setdefault(ip, deque())
        busy = {port for when, port in recent if when > t - PORT_REUSE_AFTER_S}
        if recent and recent[0][0] <= t - PORT_REUSE_AFTER_S and self.rng.random() < PORT_REUSE_CHANCE:
            port = recent.popleft()[1]  # the kernel hands out a port this client used before
        else:
            port = self.rng.randint(*EPHEMERAL_PORTS)
            while port in busy:
                port = self.rng.randint(*EPHEMERAL_PORTS)
        recent.append((t, port))
        while len(recent) > 256:
            recent.popleft()
        return port


def external_dropped(src: Pod, ext: External) -> bool:
    """Egress policy: the tools namespace may not reach the storage API (the demo's dropped curl)."""
    return src.namespace == "tools" and ext.fqdn.startswith("objects.storage.")


def episodes(seed: int = 1, rate: float = 50.0) -> Iterator[Episode]:
    """An endless, seeded timeline of episodes, `rate` episodes per second of scenario time on average.

    Same seed and rate, same sequence: both demo servers and the tests depend on that.
    """
    ports = _Ports(seed)
    for ep in _episodes(seed, rate):
        if ep.kind in ("http", "tcp", "denied", "dns"):
            assert ep.src is not None
            ep.params["sport"] = ports.take(ep.src.ip, ep.t)
        elif ep.kind == "external":
            assert ep.src is not None and isinstance(ep.dst, External)
            ep.params["dns_sport"] = ports.take(ep.src.ip, ep.t)
            ep.params["sport"] = ports.take(ep.src.ip, ep.t)
            ep.params["dropped"] = external_dropped(ep.src, ep.dst)
        elif ep.kind == "health":
            ep.params["sport"] = ports.take(f"host:{ep.params['node']}", ep.t)
        yield ep


def _episodes(seed: int, rate: float) -> Iterator[Episode]:
    rng = random.Random(seed)
    frontend, = pod_by_app("frontend")
    apis = pod_by_app("api")
    postgres, = pod_by_app("postgres")
    redis, = pod_by_app("redis")
    loadgen, = pod_by_app("loadgen")
    clients = (frontend, loadgen, *apis)
    paths = ("/api/products", "/api/cart", "/api/checkout", "/api/products/42", "/healthz")
    t = 0.0
    while True:
        t += rng.expovariate(rate)
        roll = rng.random()
        if roll < 0.34:
            api = rng.choice(apis)
            src = rng.choice((frontend, loadgen))
            status = rng.choices((200, 201, 404, 500, 503), weights=(80, 6, 7, 5, 2))[0]
            latency = rng.lognormvariate(2.5, 0.6) * (4 if status >= 500 else 1)
            method = "POST" if rng.random() < 0.2 else "GET"
            yield Episode(t, "http", src, api, {"method": method, "path": rng.choice(paths),
                                               "status": status, "latency_ms": round(latency, 3),
                                               "port": 8080})
        elif roll < 0.52:
            api = rng.choice(apis)
            dst, port = (postgres, 5432) if rng.random() < 0.5 else (redis, 6379)
            yield Episode(t, "tcp", api, dst, {"port": port, "bytes": rng.randint(200, 40_000)})
        elif roll < 0.80:
            src = rng.choice(clients)
            if rng.random() < 0.12:
                yield Episode(t, "dns", src, None, {"qname": rng.choice(MISSING_NAMES) + ".", "qtype": "A",
                                                   "rcode": "NXDOMAIN", "ips": []})
            else:
                target = rng.choice((*EXTERNALS, postgres, redis))
                if isinstance(target, External):
                    qname, ips = target.fqdn, [target.ip]
                else:
                    qname, ips = f"{target.app}.{target.namespace}.svc.cluster.local", [target.ip]
                yield Episode(t, "dns", src, None, {"qname": qname + ".", "qtype": rng.choice(("A", "AAAA")),
                                                   "rcode": "NOERROR", "ips": ips})
        elif roll < 0.87:
            ext = rng.choice(EXTERNALS)
            src = rng.choice((frontend, loadgen))
            yield Episode(t, "external", src, ext, {"fqdn": ext.fqdn, "ip": ext.ip, "port": ext.port,
                                                   "path": "/v1/charge" if "payments" in ext.fqdn else "/bucket",
                                                   "exit": 0 if rng.random() < 0.9 else 6})
        elif roll < 0.89:
            src = rng.choice(apis)
            yield Episode(t, "shadow", src, None, {"path": "/etc/shadow", "exit": rng.choice((0, 1))})
        elif roll < 0.94:
            yield Episode(t, "denied", loadgen, postgres, {"port": 5432})
        elif roll < 0.97:
            yield Episode(t, "ping", loadgen, rng.choice(apis), {})
        else:
            dst = rng.choice(PODS)
            yield Episode(t, "health", None, dst, {"port": 8080 if dst.app == "api" else 80, "node": dst.node})
