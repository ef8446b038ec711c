"""Expand the shared demo timeline (`tui.demo.cluster.episodes`) into Hubble flows.

Each episode becomes the handful of events a real Cilium node reports for it: trace points of the
TCP handshake and teardown (from-endpoint, to-endpoint, to-stack, to-network), policy verdicts, DNS
and HTTP records from the L7 proxy, ICMP echo, policy drops. Every flow is reported by the node of
the pod that observed it, with `node_name` and `time` on the GetFlowsResponse as an agent sets them.
The output is deterministic for a seed and sorted by time.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from tui.demo.cluster import (
    CLUSTER_NAME,
    KUBE_DNS_SERVICE_IP,
    NODES,
    Episode,
    External,
    Pod,
    episodes,
    pod_by_app,
)
from tui.proto.flow import flow_pb2
from tui.proto.observer import observer_pb2

# Cilium monitor event types (event_type.type) and trace sub types (event_type.sub_type).
EVENT_DROP, EVENT_TRACE, EVENT_POLICY_VERDICT, EVENT_TRACE_SOCK, EVENT_L7 = 1, 4, 5, 7, 129
TO_ENDPOINT, TO_PROXY, TO_STACK, FROM_ENDPOINT, TO_NETWORK = 0, 1, 3, 5, 11
_OBS_POINT = {
    TO_ENDPOINT: flow_pb2.TO_ENDPOINT, TO_PROXY: flow_pb2.TO_PROXY, TO_STACK: flow_pb2.TO_STACK,
    FROM_ENDPOINT: flow_pb2.FROM_ENDPOINT, TO_NETWORK: flow_pb2.TO_NETWORK,
}
# policy_match_type values (pkg/monitor/api): 0 none, 1 L3-Only, 2 L3-L4, 3 L4-Only, 4 all.
MATCH_NONE, MATCH_L3_ONLY, MATCH_L3_L4 = 0, 1, 2

IDENTITY_HOST, IDENTITY_WORLD = 1, 2
NODE_IPS = {node: f"10.0.{i}.1" for i, node in enumerate(NODES, start=1)}
DNS_PROXY_PORT = 37581
HTTP_PROXY_PORT = 15001
NXDOMAIN_TTL = 4294967295
RCODES = {"NOERROR": 0, "SERVFAIL": 2, "NXDOMAIN": 3}
RCODE_TEXT = {2: "Server Failure", 3: "Non-Existent Domain"}
DEFAULT_START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z: fixed, so tests see fixed times


@dataclass(frozen=True)
class Peer:
    """One side of a packet: a pod, the node itself (host identity) or an address outside the cluster."""

    ip: str
    node: str | None
    pod: Pod | None = None
    identity: int = 0
    labels: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


def pod_peer(pod: Pod) -> Peer:
    return Peer(pod.ip, pod.node, pod, pod.identity, tuple(pod.k8s_labels()))


def host_peer(node: str) -> Peer:
    return Peer(NODE_IPS[node], node, None, IDENTITY_HOST, ("reserved:host",))


def world_peer(ext: External) -> Peer:
    return Peer(ext.ip, None, None, IDENTITY_WORLD, ("reserved:world",), (ext.fqdn,))


def _endpoint_id(pod: Pod) -> int:
    value = 0
    for char in pod.name:
        value = (value * 31 + ord(char)) % 3989
    return value + 100


def _mac(ip: str) -> str:
    parts = [int(p) for p in ip.split(".")]
    return "0a:58:" + ":".join(f"{p:02x}" for p in parts)


def _fill_endpoint(endpoint: flow_pb2.Endpoint, peer: Peer) -> None:
    endpoint.identity = peer.identity
    endpoint.labels.extend(peer.labels)
    if peer.pod is not None:
        pod = peer.pod
        endpoint.ID = _endpoint_id(pod)
        endpoint.cluster_name = CLUSTER_NAME
        endpoint.namespace = pod.namespace
        endpoint.pod_name = pod.name
        endpoint.workloads.add(name=pod.workload, kind=pod.workload_kind)


TCP_FLAG_ORDER = ("SYN", "ACK", "RST", "FIN", "PSH", "URG", "ECE", "CWR", "NS")


def tcp_summary(flags: str) -> str:
    """`TCP Flags: SYN, ACK` in the order Hubble prints them."""
    names = set(flags.split(","))
    return "TCP Flags: " + ", ".join(name for name in TCP_FLAG_ORDER if name in names)


class _Builder:
    """Turns episodes into flows; holds the seeded RNG for ports, ids and TTLs."""

    def __init__(self, seed: int, start_ns: int) -> None:
        self.rng = random.Random(seed * 7919 + 17)
        self.start_ns = start_ns
        self.connects: list[tuple[str, int, int]] | None = None
        """When a list: (server as the map names it, SYN-to-SYN-ACK ns, SYN-ACK time) of each handshake."""

    def _known_connect(self, server: Peer, delta_ns: int, synack_ns: int) -> None:
        if self.connects is not None:
            name = f"{server.pod.namespace}/{server.pod.workload}" if server.pod else server.names[0]
            self.connects.append((name, delta_ns, synack_ns))

    # -- helpers ---------------------------------------------------------------------------------
    def _base(self, t_ns: int, node: str, src: Peer, dst: Peer, *, verdict: int = flow_pb2.FORWARDED,
              is_reply: bool | None = False, direction: int = flow_pb2.TRAFFIC_DIRECTION_UNKNOWN,
              ) -> observer_pb2.GetFlowsResponse:
        response = observer_pb2.GetFlowsResponse(node_name=node)
        response.time.FromNanoseconds(t_ns)
        flow = response.flow
        flow.time.FromNanoseconds(t_ns)
        flow.uuid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        flow.verdict = verdict
        flow.node_name = node
        flow.IP.source, flow.IP.destination, flow.IP.ipVersion = src.ip, dst.ip, flow_pb2.IPv4
        _fill_endpoint(flow.source, src)
        _fill_endpoint(flow.destination, dst)
        flow.source_names.extend(src.names)
        flow.destination_names.extend(dst.names)
        flow.traffic_direction = direction
        if is_reply is not None:
            flow.is_reply.value = is_reply
            flow.reply = is_reply
        return response

    @staticmethod
    def _service(flow: flow_pb2.Flow, src: Peer, dst: Peer, service: tuple[str, str] | None,
                 reply: bool) -> None:
        if service is None:
            return
        target = flow.source_service if reply else flow.destination_service
        target.name, target.namespace = service
        del src, dst

    def trace(self, t_ns: int, node: str, src: Peer, dst: Peer, sport: int, dport: int, flags: str,
              point: int, *, reply: bool, reason: int, service: tuple[str, str] | None = None,
              direction: int = flow_pb2.TRAFFIC_DIRECTION_UNKNOWN) -> observer_pb2.GetFlowsResponse:
        response = self._base(t_ns, node, src, dst, is_reply=reply, direction=direction)
        flow = response.flow
        flow.ethernet.source, flow.ethernet.destination = _mac(src.ip), _mac(dst.ip)
        flow.l4.TCP.source_port, flow.l4.TCP.destination_port = sport, dport
        for flag in flags.split(","):
            setattr(flow.l4.TCP.flags, flag, True)
        flow.Type = flow_pb2.L3_L4
        flow.event_type.type, flow.event_type.sub_type = EVENT_TRACE, point
        flow.trace_observation_point = _OBS_POINT[point]
        flow.trace_reason = reason
        if point == TO_PROXY:
            flow.proxy_port = HTTP_PROXY_PORT
        self._service(flow, src, dst, service, reply)
        flow.Summary = tcp_summary(flags)
        return response

    def udp_trace(self, t_ns: int, node: str, src: Peer, dst: Peer, sport: int, dport: int, point: int, *,
                  reply: bool, service: tuple[str, str] | None = None) -> observer_pb2.GetFlowsResponse:
        response = self._base(t_ns, node, src, dst, is_reply=reply,
                              direction=flow_pb2.EGRESS if point == TO_PROXY else flow_pb2.INGRESS)
        flow = response.flow
        flow.ethernet.source, flow.ethernet.destination = _mac(src.ip), _mac(dst.ip)
        flow.l4.UDP.source_port, flow.l4.UDP.destination_port = sport, dport
        flow.Type = flow_pb2.L3_L4
        flow.event_type.type, flow.event_type.sub_type = EVENT_TRACE, point
        flow.trace_observation_point = _OBS_POINT[point]
        flow.trace_reason = flow_pb2.REPLY if reply else flow_pb2.NEW
        if point == TO_PROXY:
            flow.proxy_port = DNS_PROXY_PORT
        self._service(flow, src, dst, service, reply)
        flow.Summary = "UDP"
        return response

    def policy_verdict(self, t_ns: int, node: str, src: Peer, dst: Peer, sport: int, dport: int, *,
                       direction: int, verdict: int, match: int, policy: tuple[str, str] | None,
                       udp: bool = False) -> observer_pb2.GetFlowsResponse:
        response = self._base(t_ns, node, src, dst, verdict=verdict, is_reply=False, direction=direction)
        flow = response.flow
        if udp:
            flow.l4.UDP.source_port, flow.l4.UDP.destination_port = sport, dport
            flow.Summary = "UDP"
        else:
            flow.l4.TCP.source_port, flow.l4.TCP.destination_port = sport, dport
            flow.l4.TCP.flags.SYN = True
            flow.Summary = tcp_summary("SYN")
        flow.Type = flow_pb2.L3_L4
        flow.event_type.type = EVENT_POLICY_VERDICT
        flow.policy_match_type = match
        if verdict == flow_pb2.DROPPED:
            flow.drop_reason = flow_pb2.POLICY_DENIED
            flow.drop_reason_desc = flow_pb2.POLICY_DENIED
        if policy is not None:
            name, namespace = policy
            policies = {
                (flow_pb2.INGRESS, True): flow.ingress_allowed_by,
                (flow_pb2.EGRESS, True): flow.egress_allowed_by,
                (flow_pb2.INGRESS, False): flow.ingress_denied_by,
                (flow_pb2.EGRESS, False): flow.egress_denied_by,
            }[(direction, verdict != flow_pb2.DROPPED)]
            policies.add(name=name, namespace=namespace, kind="CiliumNetworkPolicy",
                         labels=[f"k8s:io.cilium.k8s.policy.name={name}",
                                 f"k8s:io.cilium.k8s.policy.namespace={namespace}"],
                         revision=3)
        return response

    def ephemeral(self) -> int:
        return self.rng.randint(32768, 60999)

    def _sport(self, ep: Episode, name: str = "sport") -> int:
        """The episode's client port (shared with the Tetragon side), else a fresh one."""
        port = ep.params.get(name)
        return int(port) if isinstance(port, int) else self.ephemeral()

    # -- episodes --------------------------------------------------------------------------------
    def expand(self, ep: Episode) -> list[observer_pb2.GetFlowsResponse]:
        t0 = self.start_ns + int(ep.t * 1e9)
        handler = getattr(self, f"_ep_{ep.kind}", None)
        return handler(ep, t0) if handler is not None else []

    def _handshake(self, t: int, client: Peer, server: Peer, sport: int, dport: int, *,
                   service: tuple[str, str] | None, policy: tuple[str, str] | None, proxy: bool,
                   rtt_ns: int) -> tuple[list[observer_pb2.GetFlowsResponse], int]:
        """SYN / policy verdict / SYN-ACK / ACK as seen at the client's and the server's node."""
        out = []
        cnode, snode = client.node, server.node
        ingress, egress = flow_pb2.INGRESS, flow_pb2.EGRESS
        if cnode is not None:
            out.append(self.trace(t, cnode, client, server, sport, dport, "SYN", FROM_ENDPOINT, reply=False,
                                  reason=flow_pb2.NEW, service=service, direction=egress))
            if snode is not None and snode != cnode:
                out.append(self.trace(t + 9_000, cnode, client, server, sport, dport, "SYN", TO_NETWORK,
                                      reply=False, reason=flow_pb2.NEW, direction=egress))
        if snode is not None:
            ts = t + rtt_ns // 4
            out.append(self.policy_verdict(ts, snode, client, server, sport, dport, direction=ingress,
                                           verdict=flow_pb2.REDIRECTED if proxy else flow_pb2.FORWARDED,
                                           match=MATCH_L3_L4, policy=policy))
            point = TO_PROXY if proxy else TO_ENDPOINT
            out.append(self.trace(ts + 4_000, snode, client, server, sport, dport, "SYN", point, reply=False,
                                  reason=flow_pb2.NEW, direction=ingress))
            if cnode is None:  # server side of a connection from outside: reply leaves via the stack
                out.append(self.trace(ts + 30_000, snode, server, client, dport, sport, "SYN,ACK", TO_STACK,
                                      reply=True, reason=flow_pb2.REPLY, direction=ingress))
                self._known_connect(server, 30_000 - 4_000, ts + 30_000)
        if cnode is not None:
            tr = t + rtt_ns
            out.append(self.trace(tr, cnode, server, client, dport, sport, "SYN,ACK", TO_ENDPOINT, reply=True,
                                  reason=flow_pb2.REPLY, service=service, direction=egress))
            self._known_connect(server, rtt_ns, tr)
            out.append(self.trace(tr + 20_000, cnode, client, server, sport, dport, "ACK", FROM_ENDPOINT,
                                  reply=False, reason=flow_pb2.ESTABLISHED, service=service, direction=egress))
        return out, t + rtt_ns + 20_000

    def _teardown(self, t: int, client: Peer, server: Peer, sport: int, dport: int, *,
                  service: tuple[str, str] | None, rtt_ns: int) -> list[observer_pb2.GetFlowsResponse]:
        out = []
        egress = flow_pb2.EGRESS
        if client.node is not None:
            out.append(self.trace(t, client.node, client, server, sport, dport, "ACK,FIN", FROM_ENDPOINT,
                                  reply=False, reason=flow_pb2.ESTABLISHED, service=service, direction=egress))
            out.append(self.trace(t + rtt_ns, client.node, server, client, dport, sport, "ACK,FIN", TO_ENDPOINT,
                                  reply=True, reason=flow_pb2.REPLY, service=service, direction=egress))
        elif server.node is not None:
            out.append(self.trace(t, server.node, client, server, sport, dport, "ACK,FIN", TO_ENDPOINT,
                                  reply=False, reason=flow_pb2.ESTABLISHED, direction=flow_pb2.INGRESS))
            out.append(self.trace(t + rtt_ns, server.node, server, client, dport, sport, "ACK,FIN", TO_STACK,
                                  reply=True, reason=flow_pb2.REPLY, direction=flow_pb2.INGRESS))
        return out

    def _rtt(self, a: Peer, b: Peer) -> int:
        same = a.node is not None and a.node == b.node
        base = 60_000 if same else (240_000 if a.node and b.node else 9_000_000)
        return int(base * self.rng.uniform(0.8, 1.6))

    def _ep_http(self, ep: Episode, t: int) -> list[observer_pb2.GetFlowsResponse]:
        assert ep.src is not None and isinstance(ep.dst, Pod)
        client, server = pod_peer(ep.src), pod_peer(ep.dst)
        params = ep.params
        sport, dport = self._sport(ep), int(params["port"])
        service = (ep.dst.app, ep.dst.namespace)
        rtt = self._rtt(client, server)
        out, t = self._handshake(t, client, server, sport, dport, service=service,
                                 policy=("api-allow-web", ep.dst.namespace), proxy=True, rtt_ns=rtt)
        method, path, code = str(params["method"]), str(params["path"]), int(params["status"])
        latency_ns = int(float(params["latency_ms"]) * 1e6)
        url = f"http://{ep.dst.app}.{ep.dst.namespace}.svc.cluster.local:{dport}{path}"
        request_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        headers = (("User-Agent", "curl/8.5.0" if ep.src.app == "loadgen" else "nginx/1.27"),
                   ("X-Request-Id", request_id))
        snode = ep.dst.node
        t_req = t + 50_000
        req = self._base(t_req, snode, client, server, is_reply=False, direction=flow_pb2.INGRESS)
        self._l7_http(req.flow, flow_pb2.REQUEST, method, url, 0, 0, headers, sport, dport)
        req.flow.Summary = f"HTTP/1.1 {method} {url}"
        t_resp = t_req + latency_ns
        resp = self._base(t_resp, snode, server, client, is_reply=True, direction=flow_pb2.INGRESS)
        self._l7_http(resp.flow, flow_pb2.RESPONSE, method, url, code, latency_ns, headers[1:], dport, sport)
        resp.flow.Summary = f"HTTP/1.1 {code} {latency_ns // 1_000_000}ms ({method} {url})"
        out += [req, resp]
        out += self._teardown(t_resp + rtt, client, server, sport, dport, service=service, rtt_ns=rtt)
        return out

    @staticmethod
    def _l7_http(flow: flow_pb2.Flow, kind: int, method: str, url: str, code: int, latency_ns: int,
                 headers: tuple[tuple[str, str], ...], sport: int, dport: int) -> None:
        flow.Type = flow_pb2.L7
        flow.event_type.type = EVENT_L7
        flow.l4.TCP.source_port, flow.l4.TCP.destination_port = sport, dport
        flow.l7.type = kind
        flow.l7.latency_ns = latency_ns
        http = flow.l7.http
        http.code, http.method, http.url, http.protocol = code, method, url, "HTTP/1.1"
        for key, value in headers:
            http.headers.add(key=key, value=value)

    def _ep_tcp(self, ep: Episode, t: int) -> list[observer_pb2.GetFlowsResponse]:
        assert ep.src is not None and isinstance(ep.dst, Pod)
        client, server = pod_peer(ep.src), pod_peer(ep.dst)
        sport, dport = self._sport(ep), int(ep.params["port"])
        rtt = self._rtt(client, server)
        policy = (f"{ep.dst.app}-allow-api", ep.dst.namespace)
        out, t = self._handshake(t, client, server, sport, dport, service=None, policy=policy, proxy=False,
                                 rtt_ns=rtt)
        node = client.node
        assert node is not None
        out.append(self.trace(t + 30_000, node, client, server, sport, dport, "PSH,ACK", FROM_ENDPOINT,
                              reply=False, reason=flow_pb2.ESTABLISHED, direction=flow_pb2.EGRESS))
        t_data = t + 30_000 + rtt + int(ep.params["bytes"]) * 40
        out.append(self.trace(t_data, node, server, client, dport, sport, "PSH,ACK", TO_ENDPOINT,
                              reply=True, reason=flow_pb2.REPLY, direction=flow_pb2.EGRESS))
        out += self._teardown(t_data + 200_000, client, server, sport, dport, service=None, rtt_ns=rtt)
        return out

    def _dns_exchange(self, t: int, pod: Pod, qname: str, qtype: str, rcode: int, ips: list[str],
                      sport: int | None = None) -> tuple[list[observer_pb2.GetFlowsResponse], int]:
        """Query through the DNS proxy to kube-dns and the answer back, as the client's node sees it."""
        coredns, = pod_by_app("kube-dns")
        client, server = pod_peer(pod), pod_peer(coredns)
        node = pod.node
        sport = self.ephemeral() if sport is None else sport
        service = ("kube-dns", "kube-system")
        out = self._sock_xlate(t, node, client, server, sport, service)
        t += 30_000
        out += [
            self.policy_verdict(t, node, client, server, sport, 53, direction=flow_pb2.EGRESS,
                                verdict=flow_pb2.REDIRECTED, match=MATCH_L3_L4,
                                policy=("allow-kube-dns", pod.namespace), udp=True),
            self.udp_trace(t + 5_000, node, client, server, sport, 53, TO_PROXY, reply=False, service=service),
        ]
        out[0].flow.destination_service.name, out[0].flow.destination_service.namespace = service
        latency = int(self.rng.uniform(0.3, 2.5) * 1e6) * (8 if rcode == RCODES["SERVFAIL"] else 1)
        ttl = NXDOMAIN_TTL if rcode else self.rng.choice((5, 30, 30, 60))
        summary_q = f"{qname} {qtype}"
        req = self._base(t + 40_000, node, client, server, is_reply=False, direction=flow_pb2.EGRESS)
        self._l7_dns(req.flow, flow_pb2.REQUEST, qname, qtype, 0, [], 0, sport, service, reply=False)
        req.flow.Summary = f"DNS Query {summary_q}"
        t_resp = t + 40_000 + latency
        resp = self._base(t_resp, node, server, client, is_reply=True, direction=flow_pb2.EGRESS)
        self._l7_dns(resp.flow, flow_pb2.RESPONSE, qname, qtype, rcode, ips, ttl, sport, service, reply=True)
        resp.flow.l7.latency_ns = latency
        if rcode:
            resp.flow.Summary = f"DNS Answer RCode: {RCODE_TEXT[rcode]} TTL: {ttl} (Proxy {summary_q})"
        else:
            resp.flow.Summary = f'DNS Answer "{",".join(ips)}" TTL: {ttl} (Proxy {summary_q})'
        answer = self.udp_trace(t_resp + 15_000, node, server, client, 53, sport, TO_ENDPOINT, reply=True,
                                service=service)
        return out + [req, resp, answer], t_resp + 15_000

    def _sock_xlate(self, t: int, node: str, client: Peer, backend: Peer, sport: int,
                    service: tuple[str, str]) -> list[observer_pb2.GetFlowsResponse]:
        """Socket-LB translation of the kube-dns ClusterIP to the CoreDNS backend (trace-sock events)."""
        vip = Peer(KUBE_DNS_SERVICE_IP, None, None, IDENTITY_WORLD, ("reserved:world",))
        cookie, cgroup = self.rng.getrandbits(40), 10_000 + _endpoint_id(client.pod) if client.pod else 0
        out = []
        for offset, (dst, point, verdict) in enumerate((
            (vip, flow_pb2.SOCK_XLATE_POINT_PRE_DIRECTION_FWD, flow_pb2.TRACED),
            (backend, flow_pb2.SOCK_XLATE_POINT_POST_DIRECTION_FWD, flow_pb2.TRANSLATED),
        )):
            response = self._base(t + offset * 2_000, node, client, dst, verdict=verdict, is_reply=None,
                                  direction=flow_pb2.EGRESS)
            flow = response.flow
            flow.l4.UDP.source_port, flow.l4.UDP.destination_port = sport, 53
            flow.Type = flow_pb2.SOCK
            flow.event_type.type, flow.event_type.sub_type = EVENT_TRACE_SOCK, point
            flow.sock_xlate_point = point
            flow.socket_cookie, flow.cgroup_id = cookie, cgroup
            flow.destination_service.name, flow.destination_service.namespace = service
            flow.Summary = "UDP"
            out.append(response)
        return out

    @staticmethod
    def _l7_dns(flow: flow_pb2.Flow, kind: int, qname: str, qtype: str, rcode: int, ips: list[str], ttl: int,
                sport: int, service: tuple[str, str], *, reply: bool) -> None:
        flow.Type = flow_pb2.L7
        flow.event_type.type = EVENT_L7
        if reply:
            flow.l4.UDP.source_port, flow.l4.UDP.destination_port = 53, sport
            flow.source_service.name, flow.source_service.namespace = service
        else:
            flow.l4.UDP.source_port, flow.l4.UDP.destination_port = sport, 53
            flow.destination_service.name, flow.destination_service.namespace = service
        flow.l7.type = kind
        dns = flow.l7.dns
        dns.query, dns.rcode, dns.ttl, dns.observation_source = qname, rcode, ttl, "proxy"
        dns.qtypes.append(qtype)
        if reply and ips:
            dns.ips.extend(ips)
            dns.rrtypes.append(qtype)

    def _ep_dns(self, ep: Episode, t: int) -> list[observer_pb2.GetFlowsResponse]:
        assert ep.src is not None
        ips = [str(ip) for ip in ep.params["ips"]]  # type: ignore[union-attr]
        qtype = str(ep.params["qtype"])
        if qtype == "AAAA":
            ips = []  # the demo cluster is IPv4-only: AAAA answers are empty NOERROR
        out, _ = self._dns_exchange(t, ep.src, str(ep.params["qname"]), qtype,
                                    RCODES[str(ep.params["rcode"])], ips, self._sport(ep))
        return out

    def _ep_external(self, ep: Episode, t: int) -> list[observer_pb2.GetFlowsResponse]:
        """curl to a name outside the cluster: DNS first, then TLS over TCP to the world identity."""
        assert ep.src is not None and isinstance(ep.dst, External)
        failed = int(ep.params["exit"]) == 6  # curl: could not resolve host
        rcode = RCODES["SERVFAIL"] if failed else RCODES["NOERROR"]
        out, t = self._dns_exchange(t + 2_000_000, ep.src, ep.dst.fqdn + ".", "A", rcode,
                                    [] if failed else [ep.dst.ip], self._sport(ep, "dns_sport"))
        if failed:
            return out
        client, server = pod_peer(ep.src), world_peer(ep.dst)
        node = ep.src.node
        sport, dport = self._sport(ep), ep.dst.port
        rtt = self._rtt(client, server)
        t += 200_000
        if ep.params.get("dropped"):
            return out + self._egress_denied(t, node, client, server, sport, dport)
        out.append(self.policy_verdict(t, node, client, server, sport, dport, direction=flow_pb2.EGRESS,
                                       verdict=flow_pb2.FORWARDED, match=MATCH_L3_L4,
                                       policy=("allow-external-apis", ep.src.namespace)))
        out.append(self.trace(t + 4_000, node, client, server, sport, dport, "SYN", FROM_ENDPOINT, reply=False,
                              reason=flow_pb2.NEW, direction=flow_pb2.EGRESS))
        out.append(self.trace(t + 9_000, node, client, server, sport, dport, "SYN", TO_STACK, reply=False,
                              reason=flow_pb2.NEW, direction=flow_pb2.EGRESS))
        out.append(self.trace(t + rtt, node, server, client, dport, sport, "SYN,ACK", TO_ENDPOINT, reply=True,
                              reason=flow_pb2.REPLY, direction=flow_pb2.EGRESS))
        self._known_connect(server, rtt - 4_000, t + rtt)  # from the SYN leaving the pod at t + 4 us
        out.append(self.trace(t + rtt + 20_000, node, client, server, sport, dport, "ACK", FROM_ENDPOINT,
                              reply=False, reason=flow_pb2.ESTABLISHED, direction=flow_pb2.EGRESS))
        t_data = t + rtt + 60_000
        out.append(self.trace(t_data, node, client, server, sport, dport, "PSH,ACK", FROM_ENDPOINT, reply=False,
                              reason=flow_pb2.ESTABLISHED, direction=flow_pb2.EGRESS))
        out.append(self.trace(t_data + 3 * rtt, node, server, client, dport, sport, "PSH,ACK", TO_ENDPOINT,
                              reply=True, reason=flow_pb2.REPLY, direction=flow_pb2.EGRESS))
        out += self._teardown(t_data + 4 * rtt, client, server, sport, dport, service=None, rtt_ns=rtt)
        return out

    def _egress_denied(self, t: int, node: str, client: Peer, server: Peer, sport: int, dport: int,
                       ) -> list[observer_pb2.GetFlowsResponse]:
        """No egress policy allows it: the SYN and its retransmission 1 s later are dropped at the source."""
        out = []
        for ts in (t, t + 1_000_000_000):
            out.append(self.policy_verdict(ts, node, client, server, sport, dport, direction=flow_pb2.EGRESS,
                                           verdict=flow_pb2.DROPPED, match=MATCH_NONE, policy=None))
            drop = self._base(ts + 3_000, node, client, server, verdict=flow_pb2.DROPPED, is_reply=False,
                              direction=flow_pb2.EGRESS)
            flow = drop.flow
            flow.l4.TCP.source_port, flow.l4.TCP.destination_port = sport, dport
            flow.l4.TCP.flags.SYN = True
            flow.Type = flow_pb2.L3_L4
            flow.event_type.type, flow.event_type.sub_type = EVENT_DROP, flow_pb2.POLICY_DENIED
            flow.drop_reason = flow_pb2.POLICY_DENIED
            flow.drop_reason_desc = flow_pb2.POLICY_DENIED
            flow.Summary = tcp_summary("SYN")
            out.append(drop)
        return out

    def _ep_denied(self, ep: Episode, t: int) -> list[observer_pb2.GetFlowsResponse]:
        assert ep.src is not None and isinstance(ep.dst, Pod)
        client, server = pod_peer(ep.src), pod_peer(ep.dst)
        sport, dport = self._sport(ep), int(ep.params["port"])
        out = [self.trace(t, ep.src.node, client, server, sport, dport, "SYN", FROM_ENDPOINT, reply=False,
                          reason=flow_pb2.NEW, direction=flow_pb2.EGRESS)]
        if ep.dst.node != ep.src.node:
            out.append(self.trace(t + 9_000, ep.src.node, client, server, sport, dport, "SYN", TO_NETWORK,
                                  reply=False, reason=flow_pb2.NEW, direction=flow_pb2.EGRESS))
        td = t + 80_000
        out.append(self.policy_verdict(td, ep.dst.node, client, server, sport, dport, direction=flow_pb2.INGRESS,
                                       verdict=flow_pb2.DROPPED, match=MATCH_NONE, policy=None))
        drop = self._base(td + 3_000, ep.dst.node, client, server, verdict=flow_pb2.DROPPED, is_reply=False,
                          direction=flow_pb2.INGRESS)
        flow = drop.flow
        flow.ethernet.source, flow.ethernet.destination = _mac(client.ip), _mac(server.ip)
        flow.l4.TCP.source_port, flow.l4.TCP.destination_port = sport, dport
        flow.l4.TCP.flags.SYN = True
        flow.Type = flow_pb2.L3_L4
        flow.event_type.type, flow.event_type.sub_type = EVENT_DROP, flow_pb2.POLICY_DENIED
        flow.drop_reason = flow_pb2.POLICY_DENIED
        flow.drop_reason_desc = flow_pb2.POLICY_DENIED
        flow.file.name, flow.file.line = "bpf_lxc.c", 2108
        flow.Summary = tcp_summary("SYN")
        out.append(drop)
        return out

    def _ep_ping(self, ep: Episode, t: int) -> list[observer_pb2.GetFlowsResponse]:
        assert ep.src is not None and isinstance(ep.dst, Pod)
        client, server = pod_peer(ep.src), pod_peer(ep.dst)
        rtt = self._rtt(client, server)
        out = []
        for offset, (src, dst, node, point, icmp_type, reply) in enumerate((
            (client, server, ep.src.node, FROM_ENDPOINT, 8, False),
            (client, server, ep.dst.node, TO_ENDPOINT, 8, False),
            (server, client, ep.src.node, TO_ENDPOINT, 0, True),
        )):
            ts = t + offset * (rtt // 2)
            response = self._base(ts, node, src, dst, is_reply=reply,
                                  direction=flow_pb2.INGRESS if point == TO_ENDPOINT and not reply
                                  else flow_pb2.EGRESS)
            flow = response.flow
            flow.ethernet.source, flow.ethernet.destination = _mac(src.ip), _mac(dst.ip)
            flow.l4.ICMPv4.type = icmp_type
            flow.Type = flow_pb2.L3_L4
            flow.event_type.type, flow.event_type.sub_type = EVENT_TRACE, point
            flow.trace_observation_point = _OBS_POINT[point]
            flow.trace_reason = flow_pb2.REPLY if reply else flow_pb2.NEW
            flow.Summary = "ICMPv4 EchoReply" if reply else "ICMPv4 EchoRequest"
            out.append(response)
        return out

    def _ep_health(self, ep: Episode, t: int) -> list[observer_pb2.GetFlowsResponse]:
        """The kubelet on the pod's node probes it: host identity to the pod, replies via to-stack."""
        assert isinstance(ep.dst, Pod)
        host, server = host_peer(ep.dst.node), pod_peer(ep.dst)
        sport, dport = self._sport(ep), int(ep.params["port"])
        node, rtt = ep.dst.node, 50_000
        ingress = flow_pb2.INGRESS
        self._known_connect(server, rtt, t + rtt)
        return [
            self.trace(t, node, host, server, sport, dport, "SYN", TO_ENDPOINT, reply=False,
                       reason=flow_pb2.NEW, direction=ingress),
            self.trace(t + rtt, node, server, host, dport, sport, "SYN,ACK", TO_STACK, reply=True,
                       reason=flow_pb2.REPLY, direction=ingress),
            self.trace(t + rtt + 10_000, node, host, server, sport, dport, "ACK", TO_ENDPOINT, reply=False,
                       reason=flow_pb2.ESTABLISHED, direction=ingress),
            self.trace(t + 3 * rtt, node, host, server, sport, dport, "ACK,FIN", TO_ENDPOINT, reply=False,
                       reason=flow_pb2.ESTABLISHED, direction=ingress),
            self.trace(t + 4 * rtt, node, server, host, dport, sport, "ACK,FIN", TO_STACK, reply=True,
                       reason=flow_pb2.REPLY, direction=ingress),
        ]


def flow_responses(seed: int = 1, rate: float = 40.0, start_ns: int = DEFAULT_START_NS,
                   ) -> Iterator[observer_pb2.GetFlowsResponse]:
    """Endless, time-sorted GetFlowsResponse(flow=...) stream for the seeded demo cluster.

    `rate` is episodes per second of scenario time; timestamps are `start_ns` plus scenario time
    (plus the few micro/milliseconds each exchange takes). Same arguments, same flows.
    """
    builder = _Builder(seed, start_ns)
    pending: list[tuple[int, int, observer_pb2.GetFlowsResponse]] = []
    counter = 0
    for ep in episodes(seed, rate):
        horizon = start_ns + int(ep.t * 1e9)
        while pending and pending[0][0] <= horizon:
            yield heapq.heappop(pending)[2]
        for response in builder.expand(ep):
            heapq.heappush(pending, (response.time.ToNanoseconds(), counter, response))
            counter += 1


def known_connect_times(seed: int = 1, rate: float = 40.0, until_ns: int = DEFAULT_START_NS + 60 * 10**9,
                        start_ns: int = DEFAULT_START_NS) -> dict[str, list[int]]:
    """The SYN-to-SYN-ACK times (ns) the scenario sets in handshakes complete before `until_ns`, by destination.

    The handshakes of the flows `flow_responses` yields (same seed, rate and start) with times before
    `until_ns`: tests check the connect-time figures ebtop derives from those flows against these.
    """
    builder = _Builder(seed, start_ns)
    builder.connects = []
    for ep in episodes(seed, rate):
        if start_ns + int(ep.t * 1e9) >= until_ns:
            break
        builder.expand(ep)
    out: dict[str, list[int]] = {}
    for name, delta, synack_ns in builder.connects:
        if synack_ns < until_ns:
            out.setdefault(name, []).append(delta)
    return out


__all__ = ["DEFAULT_START_NS", "KUBE_DNS_SERVICE_IP", "NODE_IPS", "flow_responses", "known_connect_times",
           "tcp_summary"]
