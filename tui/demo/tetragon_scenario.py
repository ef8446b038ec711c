"""The Tetragon side of the demo: `cluster.episodes()` expanded into Tetragon process events.

Both demo servers read the same seeded timeline, so the pod whose flows show a connection to an
external address is the pod where `curl` runs and `tcp_connect` fires, at the same instant.

What comes out, shaped like a real agent's stream:
- just before the first episode, one exec per pod: the container entrypoint, child of a containerd
  shim on the pod's node (the shim started before anyone listened, so it only appears as `parent`);
- ``external``: `sh -c "curl -s https://<fqdn><path>"` forked (flag ``clone``) by the entrypoint,
  `curl` exec'd in place on the same pid (no ``clone``, parent = the sh image), a `tcp_connect`
  kprobe from the pod IP to the external ip:port right after the DNS lookup the Hubble side shows
  (next to its SYN flow), then curl's exit; exit 6 (name not resolved) has no connect;
- ``shadow``: `sh -c "cat /etc/shadow"` with an `fd_install` kprobe on `/etc/shadow`; sometimes the
  policy kills it (action SIGKILL, exit by signal);
- ``health``: an exec probe run through the shim (`maybe_exec_probe`, not in the init tree);
- ``tcp`` to postgres: the postmaster forks a backend without exec; only its exit is reported,
  with an exec_id no exec ever carried;
- every TCP connection of the Hubble side (http, tcp, external, denied, health) has its sockets here,
  from the join policy (`deploy/tracingpolicy-join.yaml`): `tcp_connect` from the client process,
  `inet_csk_accept` (a `sock_arg` return value) in the server's entrypoint, `tcp_close` on both ends,
  with the episode's own 5-tuple (`params["sport"]`) and times. Clients: nginx (frontend), the api
  entrypoint, loadgen's forked `curl` (http, and the denied connect to postgres, which exits 28),
  the node's kubelet for health checks (a host process); external curls that policy drops connect,
  time out and exit 28;
- the loadgen shell loop runs `sleep 1` once a second;
- now and then an episode is delivered out of order (its exit before its execs), as the agent's
  event cache does when pod information arrives late.

Nothing here paces or filters: `tetragon_events()` yields `(deliver_at, response)` in delivery order,
deterministic for a seed, with event times `start + episode time`.
"""

from __future__ import annotations

import base64
import heapq
import random
import time as _time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tui.demo.cluster import CLUSTER_NAME, NODES, PODS, Episode, External, Pod, episodes
from tui.proto.tetragon import capabilities_pb2 as caps_pb2
from tui.proto.tetragon import events_pb2, tetragon_pb2

# How long each node had been up when the scenario starts (Tetragon's ktime is boot-relative).
_BOOT_AGE_NS = {node: (2 * 86_400 + 3_600 * (i + 3) + 17 * i) * 1_000_000_000 for i, node in enumerate(NODES)}
_FIRST_CHILD_PID = {node: 30_000 + 200_000 * i for i, node in enumerate(NODES)}  # disjoint per node
_UNSET_AUID = 4_294_967_295

# Docker's default capability set: what an unprivileged container process holds.
_CONTAINER_CAPS = (
    caps_pb2.CAP_CHOWN, caps_pb2.DAC_OVERRIDE, caps_pb2.CAP_FOWNER, caps_pb2.CAP_FSETID, caps_pb2.CAP_KILL,
    caps_pb2.CAP_SETGID, caps_pb2.CAP_SETUID, caps_pb2.CAP_SETPCAP, caps_pb2.CAP_NET_BIND_SERVICE,
    caps_pb2.CAP_NET_RAW, caps_pb2.CAP_SYS_CHROOT, caps_pb2.CAP_MKNOD, caps_pb2.CAP_AUDIT_WRITE,
    caps_pb2.CAP_SETFCAP,
)
_HOST_CAPS = tuple(range(41))  # root on the host: every capability

# Which uid each workload's image runs as.
_UIDS = {"postgres": 999, "redis": 999, "api": 65_532}

CONNECT_POLICY = "connect-outside-cluster"
JOIN_POLICY = "ebtop-join-sockets"
CURL_TIMEOUT = 28
CONNECT_TIMEOUT_S = 2.0
KUBELET_PID = 871
SENSITIVE_POLICY = "sensitive-files"
SHADOW_KILL_CHANCE = 0.3
OUT_OF_ORDER_CHANCE = 0.05
# Containers start half a second before the first episode, so every episode finds its pod running.
ENTRYPOINT_T = -0.5
# Within an `external` episode: sh forks just before the episode instant, curl replaces it, and the
# connect follows the DNS lookup the Hubble side shows (query at +2 ms), close to its SYN flow.
SH_EXEC_DT = -0.001
CHILD_EXEC_DT = -0.0005
CONNECT_DT = 0.0035
CURL_COULD_NOT_RESOLVE = 6
# Same fixed default start as the Hubble scenario (2026-01-01T00:00:00Z), so both agree by default.
DEFAULT_START_S = 1_767_225_600
POSTGRES_FORK_CHANCE = 0.6


def exec_id(node: str, ktime_ns: int, pid: int) -> str:
    """Tetragon's process key: base64 of "<node>:<ktime ns>:<pid>"."""
    return base64.b64encode(f"{node}:{ktime_ns}:{pid}".encode()).decode()


def join_arguments(argv: Iterable[str]) -> str:
    """argv[1:] as Tetragon reports it: space-joined, elements containing a space in double quotes."""
    return " ".join(f'"{arg}"' if " " in arg else arg for arg in argv)


def to_unix_ns(start_time: datetime | float | int | None) -> int:
    """Scenario start as Unix nanoseconds (None = now)."""
    if start_time is None:
        return _time.time_ns()
    if isinstance(start_time, datetime):
        return int(round(start_time.timestamp() * 1_000_000)) * 1_000
    return int(round(float(start_time) * 1_000_000)) * 1_000


@dataclass(order=True)
class _Pending:
    deliver_at: float
    seq: int
    response: events_pb2.GetEventsResponse


class TetragonScenario:
    """Turns episodes into Tetragon events, keeping the per-node pid and process state."""

    def __init__(self, seed: int = 1, start_ns: int = 0) -> None:
        self.start_ns = start_ns
        self._rng = random.Random(seed * 7_919 + 17)
        self._next_pid = dict(_FIRST_CHILD_PID)
        self._seq = 0
        self._shims = {pod.name: self._shim(pod) for pod in PODS}
        self._kubelets = {node: self._kubelet(node) for node in NODES}
        self.entrypoints: dict[str, tetragon_pb2.Process] = {}

    # -- building blocks -------------------------------------------------------------------------

    def _ts(self, message, t: float) -> None:
        message.FromNanoseconds(self.start_ns + round(t * 1e9))

    def _ktime(self, node: str, t: float) -> int:
        return _BOOT_AGE_NS[node] + round(t * 1e9)

    def _alloc_pid(self, node: str) -> int:
        pid = self._next_pid[node]
        self._next_pid[node] = pid + self._rng.randint(1, 9)
        return pid

    def _shim(self, pod: Pod) -> tetragon_pb2.Process:
        """The host-side containerd shim that started the pod's container (never exec'd in view)."""
        cid = pod.container_id.split("://", 1)[-1]
        started = -(600.0 + pod.identity % 97)
        process = tetragon_pb2.Process(
            exec_id=exec_id(pod.node, self._ktime(pod.node, started), pod.pid - 17),
            cwd="/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + cid,
            binary="/usr/bin/containerd-shim-runc-v2",
            arguments=join_arguments(("-namespace", "k8s.io", "-id", cid, "-address",
                                      "/run/containerd/containerd.sock")),
            flags="execve clone",
            parent_exec_id=exec_id(pod.node, self._ktime(pod.node, -_BOOT_AGE_NS[pod.node] / 1e9 + 1.2), 1),
            refcnt=1,
        )
        process.pid.value = pod.pid - 17
        process.tid.value = pod.pid - 17
        process.uid.value = 0
        process.auid.value = _UNSET_AUID
        self._ts(process.start_time, started)
        process.cap.permitted.extend(_HOST_CAPS)
        process.cap.effective.extend(_HOST_CAPS)
        return process

    def _kubelet(self, node: str) -> tetragon_pb2.Process:
        """The node's kubelet (host process, no pod): the client of every health check on that node."""
        started = -(_BOOT_AGE_NS[node] / 1e9) + 9.5
        process = tetragon_pb2.Process(
            exec_id=exec_id(node, self._ktime(node, started), KUBELET_PID),
            cwd="/", binary="/usr/bin/kubelet",
            arguments=join_arguments(("--config=/var/lib/kubelet/config.yaml",
                                      "--kubeconfig=/etc/kubernetes/kubelet.conf")),
            flags="execve clone",
            parent_exec_id=exec_id(node, self._ktime(node, -_BOOT_AGE_NS[node] / 1e9 + 1.2), 1),
            refcnt=1,
        )
        process.pid.value = process.tid.value = KUBELET_PID
        process.uid.value = 0
        process.auid.value = _UNSET_AUID
        self._ts(process.start_time, started)
        process.cap.permitted.extend(_HOST_CAPS)
        process.cap.effective.extend(_HOST_CAPS)
        return process

    def _init(self, node: str) -> tetragon_pb2.Process:
        """pid 1 of the node (systemd), the kubelet's parent."""
        process = tetragon_pb2.Process(
            exec_id=exec_id(node, self._ktime(node, -_BOOT_AGE_NS[node] / 1e9 + 1.2), 1),
            cwd="/", binary="/usr/lib/systemd/systemd", arguments="--system --deserialize=36",
            flags="procFS", refcnt=1)
        process.pid.value = process.tid.value = 1
        process.uid.value = 0
        return process

    def _container_process(self, pod: Pod, t: float, pid: int, argv: tuple[str, ...], *, clone: bool,
                           parent: tetragon_pb2.Process, container_pid: int, in_init_tree: bool = True,
                           probe: bool = False) -> tetragon_pb2.Process:
        """A process image inside `pod`'s container, exec'd at `t`."""
        process = tetragon_pb2.Process(
            exec_id=exec_id(pod.node, self._ktime(pod.node, t), pid),
            cwd="/",
            binary=argv[0],
            arguments=join_arguments(argv[1:]),
            flags="execve rootcwd clone" if clone else "execve rootcwd",
            docker=pod.container_id.split("://", 1)[-1][:31],
            parent_exec_id=parent.exec_id,
            refcnt=1,
        )
        process.pid.value = pid
        process.tid.value = pid
        process.uid.value = _UIDS.get(pod.app, 0)
        process.auid.value = _UNSET_AUID
        self._ts(process.start_time, t)
        process.in_init_tree.value = in_init_tree
        process.cap.SetInParent()  # the agent always sends the sets, empty for a non-root user
        if process.uid.value == 0:
            process.cap.permitted.extend(_CONTAINER_CAPS)
            process.cap.effective.extend(_CONTAINER_CAPS)
        k8s = process.pod
        k8s.namespace = pod.namespace
        k8s.name = pod.name
        k8s.workload = pod.workload
        k8s.workload_kind = pod.workload_kind
        k8s.pod_labels.update(pod.pod_labels())
        container = k8s.container
        container.id = pod.container_id
        container.name = pod.container
        container.image.name = pod.image
        container.image.id = f"{pod.image.rsplit(':', 1)[0]}@sha256:{pod.container_id[-64:][:16]:0<64}"
        self._ts(container.start_time, ENTRYPOINT_T)
        container.pid.value = container_pid
        container.maybe_exec_probe = probe
        return process

    def _response(self, t: float, node: str) -> events_pb2.GetEventsResponse:
        response = events_pb2.GetEventsResponse(node_name=node, cluster_name=CLUSTER_NAME)
        self._ts(response.time, t)
        return response

    def _exec(self, t: float, node: str, process, parent) -> events_pb2.GetEventsResponse:
        response = self._response(t, node)
        response.process_exec.process.CopyFrom(process)
        response.process_exec.parent.CopyFrom(parent)
        return response

    def _exit(self, t: float, node: str, process, parent, *, status: int = 0,
              signal: str = "") -> events_pb2.GetEventsResponse:
        response = self._response(t, node)
        body = response.process_exit
        body.process.CopyFrom(process)
        body.process.refcnt = 0
        body.parent.CopyFrom(parent)
        body.status = status
        body.signal = signal
        self._ts(body.time, t)
        return response

    def _kprobe(self, t: float, node: str, process, parent, function: str, policy: str,
                action: int = tetragon_pb2.KPROBE_ACTION_POST) -> events_pb2.GetEventsResponse:
        response = self._response(t, node)
        body = response.process_kprobe
        body.process.CopyFrom(process)
        body.parent.CopyFrom(parent)
        body.function_name = function
        body.policy_name = policy
        body.action = action
        return response

    def _sock(self, t: float, node: str, process, parent, function: str, local: tuple[str, int],
              remote: tuple[str, int], state: str, *, returned: bool = False,
              policy: str = JOIN_POLICY) -> events_pb2.GetEventsResponse:
        """A join-policy kprobe carrying the socket (an argument, or the return value of an accept)."""
        response = self._kprobe(t, node, process, parent, function, policy)
        body = response.process_kprobe
        arg = getattr(body, "return") if returned else body.args.add()
        sock = arg.sock_arg
        sock.family, sock.type, sock.protocol = "AF_INET", "SOCK_STREAM", "IPPROTO_TCP"
        (sock.saddr, sock.sport), (sock.daddr, sock.dport) = local, remote
        sock.cookie = self._rng.getrandbits(63)
        sock.state = state
        return response

    def _connection(self, t: float, end: float, client: tuple[Pod | str, Any, Any], cip: str, sport: int,
                    server: Pod | None, sip: str, dport: int, *, accept_after: float = 0.0003,
                    connect: bool = True) -> list[_Pending]:
        """connect / accept / close on both ends of one TCP connection of the Hubble side."""
        where, process, parent = client
        cnode = where.node if isinstance(where, Pod) else where
        out = []
        if connect:
            out.append(self._pending(t, self._sock(t, cnode, process, parent, "tcp_connect", (cip, sport),
                                                   (sip, dport), "TCP_SYN_SENT")))
        out.append(self._pending(end, self._sock(end, cnode, process, parent, "tcp_close", (cip, sport),
                                                 (sip, dport), "TCP_CLOSE")))
        if server is not None and server.app != "loadgen":
            entry = self.entrypoints[server.name]
            shim = self._shims[server.name]
            ta = t + accept_after
            out.append(self._pending(ta, self._sock(ta, server.node, entry, shim, "inet_csk_accept",
                                                    (sip, dport), (cip, sport), "TCP_ESTABLISHED",
                                                    returned=True)))
            out.append(self._pending(end, self._sock(end, server.node, entry, shim, "tcp_close", (sip, dport),
                                                     (cip, sport), "TCP_CLOSE")))
        return out

    def _pending(self, deliver_at: float, response) -> _Pending:
        self._seq += 1
        return _Pending(deliver_at, self._seq, response)

    # -- episodes --------------------------------------------------------------------------------

    def start(self) -> list[_Pending]:
        """The container entrypoints, one exec per pod, just before the first episode."""
        out = []
        for index, pod in enumerate(PODS):
            t = ENTRYPOINT_T + index * 1e-6
            shim = self._shims[pod.name]
            entry = self._container_process(pod, t, pod.pid, pod.entrypoint, clone=True, parent=shim,
                                            container_pid=1)
            self.entrypoints[pod.name] = entry
            out.append(self._pending(t, self._exec(t, pod.node, entry, shim)))
        return out

    def sleep_tick(self, t: float) -> list[_Pending]:
        """loadgen's `while true; do sleep 1; done`: one forked `sleep 1` per second."""
        pod = next(p for p in PODS if p.app == "loadgen")
        parent = self.entrypoints[pod.name]
        pid = self._alloc_pid(pod.node)
        sleeper = self._container_process(pod, t, pid, ("/bin/sleep", "1"), clone=True, parent=parent,
                                          container_pid=pid - _FIRST_CHILD_PID[pod.node] + 40)
        end = t + 1.0 + self._rng.uniform(0.0005, 0.002)
        return [self._pending(t, self._exec(t, pod.node, sleeper, parent)),
                self._pending(end, self._exit(end, pod.node, sleeper, parent))]

    def expand(self, episode: Episode) -> list[_Pending]:
        """Events for one episode (most kinds are network-only and give none)."""
        if episode.kind == "external":
            return self._external(episode)
        if episode.kind == "shadow":
            return self._shadow(episode)
        if episode.kind == "health":
            return self._health(episode)
        if episode.kind == "tcp":
            return self._tcp(episode) + (self._postgres_backend(episode)
                                         if getattr(episode.dst, "app", "") == "postgres" else [])
        if episode.kind == "http":
            return self._http(episode)
        if episode.kind == "denied":
            return self._denied(episode)
        return []

    def _entry(self, pod: Pod) -> tuple[Pod, Any, Any]:
        return pod, self.entrypoints[pod.name], self._shims[pod.name]

    def _http(self, episode: Episode) -> list[_Pending]:
        """frontend's nginx proxies to an api pod; loadgen forks `curl` for each request."""
        src, dst, params = episode.src, episode.dst, episode.params
        assert isinstance(src, Pod) and isinstance(dst, Pod)
        t, sport, dport = episode.t, int(params["sport"]), int(params["port"])
        end = t + float(params["latency_ms"]) / 1e3 + 0.003
        if src.app != "loadgen":
            return self._connection(t, end, self._entry(src), src.ip, sport, dst, dst.ip, dport)
        url = f"http://{dst.app}.{dst.namespace}.svc.cluster.local:{dport}{params['path']}"
        command = ("/usr/bin/curl", "-s", "-X", "POST", url) if params["method"] == "POST" else (
            "/usr/bin/curl", "-s", url)
        parent, sh, curl = self._shell_then(src, t, command)
        exit_at = end + 0.0005
        events = [
            self._pending(t + SH_EXEC_DT, self._exec(t + SH_EXEC_DT, src.node, sh, parent)),
            self._pending(t + CHILD_EXEC_DT, self._exec(t + CHILD_EXEC_DT, src.node, curl, sh)),
            *self._connection(t, end, (src, curl, sh), src.ip, sport, dst, dst.ip, dport),
            self._pending(exit_at, self._exit(exit_at, src.node, curl, sh, status=0)),
        ]
        return events

    def _tcp(self, episode: Episode) -> list[_Pending]:
        """An api pod's client library talks to postgres or redis."""
        src, dst, params = episode.src, episode.dst, episode.params
        assert isinstance(src, Pod) and isinstance(dst, Pod)
        end = episode.t + 0.004 + int(params["bytes"]) * 40e-9
        return self._connection(episode.t, end, self._entry(src), src.ip, int(params["sport"]), dst, dst.ip,
                                int(params["port"]))

    def _denied(self, episode: Episode) -> list[_Pending]:
        """loadgen's curl tries postgres directly; policy drops the SYN, curl times out (exit 28)."""
        src, dst, params = episode.src, episode.dst, episode.params
        assert isinstance(src, Pod) and isinstance(dst, Pod)
        t, dport = episode.t, int(params["port"])
        url = f"telnet://{dst.app}.{dst.namespace}.svc.cluster.local:{dport}"
        parent, sh, curl = self._shell_then(src, t, ("/usr/bin/curl", "-s", "--connect-timeout", "1", url))
        end = t + 1.0
        events = [
            self._pending(t + SH_EXEC_DT, self._exec(t + SH_EXEC_DT, src.node, sh, parent)),
            self._pending(t + CHILD_EXEC_DT, self._exec(t + CHILD_EXEC_DT, src.node, curl, sh)),
            *self._connection(t, end, (src, curl, sh), src.ip, int(params["sport"]), None, dst.ip, dport),
            self._pending(end + 0.0002, self._exit(end + 0.0002, src.node, curl, sh, status=CURL_TIMEOUT)),
        ]
        return self._maybe_out_of_order(events, execs=2)

    def _shell_then(self, pod: Pod, t: float, command: tuple[str, ...]):
        """`sh -c "<command>"` forked by the entrypoint and exec'ing `command` in place."""
        parent = self.entrypoints[pod.name]
        pid = self._alloc_pid(pod.node)
        cpid = pid - _FIRST_CHILD_PID[pod.node] + 40
        script = " ".join((command[0].rsplit("/", 1)[-1], *command[1:]))
        sh = self._container_process(pod, t + SH_EXEC_DT, pid, ("/bin/sh", "-c", script), clone=True,
                                     parent=parent, container_pid=cpid)
        child = self._container_process(pod, t + CHILD_EXEC_DT, pid, command, clone=False, parent=sh,
                                        container_pid=cpid)
        return parent, sh, child

    def _maybe_out_of_order(self, events: list[_Pending], execs: int) -> list[_Pending]:
        """With a small chance, hold the first `execs` events back until after the last one."""
        if self._rng.random() < OUT_OF_ORDER_CHANCE:
            last = max(p.deliver_at for p in events)
            for offset, pending in enumerate(events[:execs]):
                pending.deliver_at = last + 0.002 + offset * 1e-6
        return events

    def _external(self, episode: Episode) -> list[_Pending]:
        pod, ext, params = episode.src, episode.dst, episode.params
        assert isinstance(pod, Pod) and isinstance(ext, External)
        t = episode.t
        url = f"https://{params['fqdn']}{params['path']}"
        parent, sh, curl = self._shell_then(pod, t, ("/usr/bin/curl", "-s", url))
        status = int(params["exit"])
        events = [
            self._pending(t + SH_EXEC_DT, self._exec(t + SH_EXEC_DT, pod.node, sh, parent)),
            self._pending(t + CHILD_EXEC_DT, self._exec(t + CHILD_EXEC_DT, pod.node, curl, sh)),
        ]
        if status == CURL_COULD_NOT_RESOLVE:  # the name did not resolve: curl never connects
            end = t + self._rng.uniform(0.005, 0.05)
            events.append(self._pending(end, self._exit(end, pod.node, curl, sh, status=status)))
            return self._maybe_out_of_order(events, execs=2)
        tc = t + CONNECT_DT
        local, remote = (pod.ip, int(params["sport"])), (str(params["ip"]), int(params["port"]))
        connect = self._sock(tc, pod.node, curl, sh, "tcp_connect", local, remote, "TCP_SYN_SENT",
                             policy=CONNECT_POLICY)
        connect.process_kprobe.message = "Connection to an address outside the cluster"
        connect.process_kprobe.tags.append("observability.network")
        if params.get("dropped"):  # policy drops the SYNs: curl gives up on the connect
            end, status = tc + CONNECT_TIMEOUT_S, CURL_TIMEOUT
        else:
            end = tc + self._rng.uniform(0.05, 0.4)
        events.append(self._pending(tc, connect))
        events += self._connection(tc, end, (pod, curl, sh), pod.ip, local[1], None, remote[0], remote[1],
                                   connect=False)
        events.append(self._pending(end, self._exit(end, pod.node, curl, sh, status=status)))
        return self._maybe_out_of_order(events, execs=2)

    def _shadow(self, episode: Episode) -> list[_Pending]:
        pod, params = episode.src, episode.params
        assert isinstance(pod, Pod)
        t = episode.t
        path = str(params.get("path", "/etc/shadow"))
        parent, sh, cat = self._shell_then(pod, t, ("/bin/cat", path))
        killed = self._rng.random() < SHADOW_KILL_CHANCE
        action = tetragon_pb2.KPROBE_ACTION_SIGKILL if killed else tetragon_pb2.KPROBE_ACTION_POST
        opened = self._kprobe(t, pod.node, cat, sh, "fd_install", SENSITIVE_POLICY, action)
        opened.process_kprobe.message = "Sensitive file opened"
        opened.process_kprobe.tags.append("observability.filesystem")
        opened.process_kprobe.args.add(int_arg=3)
        opened.process_kprobe.args.add().file_arg.MergeFrom(
            tetragon_pb2.KprobeFile(path=path, permission="-rw-r-----"))
        end = t + (0.0003 if killed else self._rng.uniform(0.001, 0.01))
        exit_event = (self._exit(end, pod.node, cat, sh, signal="SIGKILL") if killed
                      else self._exit(end, pod.node, cat, sh, status=int(params.get("exit", 0))))
        events = [
            self._pending(t + SH_EXEC_DT, self._exec(t + SH_EXEC_DT, pod.node, sh, parent)),
            self._pending(t + CHILD_EXEC_DT, self._exec(t + CHILD_EXEC_DT, pod.node, cat, sh)),
            self._pending(t, opened),
            self._pending(end, exit_event),
        ]
        return self._maybe_out_of_order(events, execs=2)

    def _health(self, episode: Episode) -> list[_Pending]:
        pod = episode.dst
        assert isinstance(pod, Pod)
        t = episode.t
        argv = (("/bin/grpc_health_probe", "-addr=:8080") if pod.app == "api"
                else ("/bin/cat", "/tmp/healthy"))
        shim = self._shims[pod.name]
        pid = self._alloc_pid(pod.node)
        probe = self._container_process(pod, t, pid, argv, clone=True, parent=shim,
                                        container_pid=pid - _FIRST_CHILD_PID[pod.node] + 40,
                                        in_init_tree=False, probe=True)
        end = t + self._rng.uniform(0.002, 0.02)
        kubelet = self._kubelets[pod.node]
        node_ip = f"10.0.{NODES.index(pod.node) + 1}.1"
        check = self._connection(t, t + 0.0003, (pod.node, kubelet, self._init(pod.node)), node_ip, int(episode.params["sport"]),
                                 pod, pod.ip, int(episode.params["port"]), accept_after=0.00005)
        return [self._pending(t, self._exec(t, pod.node, probe, shim)),
                self._pending(end, self._exit(end, pod.node, probe, shim)), *check]

    def _postgres_backend(self, episode: Episode) -> list[_Pending]:
        if self._rng.random() >= POSTGRES_FORK_CHANCE:
            return []
        pod = episode.dst
        assert isinstance(pod, Pod)
        t = episode.t
        postmaster = self.entrypoints[pod.name]
        pid = self._alloc_pid(pod.node)
        backend = tetragon_pb2.Process()
        backend.CopyFrom(postmaster)
        backend.exec_id = exec_id(pod.node, self._ktime(pod.node, t), pid)
        backend.pid.value = pid
        backend.tid.value = pid
        backend.flags = "clone"
        backend.parent_exec_id = postmaster.exec_id
        backend.pod.container.pid.value = pid - _FIRST_CHILD_PID[pod.node] + 40
        self._ts(backend.start_time, t)
        end = t + self._rng.uniform(0.02, 1.5)
        return [self._pending(end, self._exit(end, pod.node, backend, postmaster))]


def tetragon_events(seed: int = 1, rate: float = 50.0,
                    start_time: datetime | float | int | None = DEFAULT_START_S) -> Iterator[tuple[float, events_pb2.GetEventsResponse]]:
    """Endless `(deliver_at, response)` pairs in delivery order; `deliver_at` is scenario seconds.

    `start_time` anchors event times (Unix seconds, a datetime, or None for now); the sequence of
    events is the same for a seed whatever the start.
    """
    scenario = TetragonScenario(seed, to_unix_ns(start_time))
    heap: list[_Pending] = []
    for pending in scenario.start():
        heapq.heappush(heap, pending)
    next_tick = 1.0
    # Every event of an episode is delivered no earlier than this before the episode's time.
    lead = -SH_EXEC_DT
    for episode in episodes(seed, rate):
        while next_tick <= episode.t:
            for pending in scenario.sleep_tick(next_tick):
                heapq.heappush(heap, pending)
            next_tick += 1.0
        while heap and heap[0].deliver_at < episode.t - lead:
            pending = heapq.heappop(heap)
            yield pending.deliver_at, pending.response
        for pending in scenario.expand(episode):
            heapq.heappush(heap, pending)
