"""Tetragon's GetEvents filter semantics, for the demo server to apply allow and deny lists.

Following the agent (pkg/filters): an event passes when the allow list is empty or any allow
Filter matches, and no deny Filter matches. Inside one Filter every field that is set must match;
the values of one repeated field are alternatives. Filters that look at the process (binary,
namespace, pod, labels, ...) never match events without one (throttle, test). Regexes are
searched, not anchored, as Go's `regexp.MatchString` does.

Not supported here, rejected with a clear `FilterError`: `cel_expression` (needs a CEL engine) and
`ancestor_binary_regex` (the demo agent, like the real default, runs without --enable-ancestors).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from tui.filters import FilterError, compile_regexes
from tui.filters.selectors import split_requirements
from tui.proto.tetragon import events_pb2, tetragon_pb2

Predicate = Callable[[events_pb2.GetEventsResponse], bool]

_ONEOF = events_pb2.GetEventsResponse.DESCRIPTOR.oneofs_by_name["event"]
# EventType values equal the oneof field numbers (Tetragon keeps them in sync).
EVENT_TYPE_OF_FIELD = {field.name: field.number for field in _ONEOF.fields}
_POLICY_KINDS = frozenset({"process_kprobe", "process_tracepoint", "process_uprobe", "process_lsm"})


def event_body(response: events_pb2.GetEventsResponse):
    kind = response.WhichOneof("event")
    return kind, (getattr(response, kind) if kind else None)


def get_process(response: events_pb2.GetEventsResponse) -> tetragon_pb2.Process | None:
    """The event's process, or None for kinds without one (or when it is absent)."""
    _, body = event_body(response)
    if body is None or "process" not in body.DESCRIPTOR.fields_by_name or not body.HasField("process"):
        return None
    return body.process


def get_parent(response: events_pb2.GetEventsResponse) -> tetragon_pb2.Process | None:
    _, body = event_body(response)
    if body is None or "parent" not in body.DESCRIPTOR.fields_by_name or not body.HasField("parent"):
        return None
    return body.parent


def get_policy_name(response: events_pb2.GetEventsResponse) -> str:
    kind, body = event_body(response)
    return body.policy_name if kind in _POLICY_KINDS else ""


_regexes = compile_regexes


def _any_search(regexes: list[re.Pattern[str]], text: str) -> bool:
    return any(regex.search(text) for regex in regexes)


# -- Kubernetes label selectors ------------------------------------------------------------------

_SET_RE = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_CMP_RE = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|!=|=|>|<)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*$")


def label_selector(selector: str) -> Callable[[dict[str, str]], bool]:
    """Compile one Kubernetes label selector (`a=b,c!=d,e in (f,g),!h,i`) into a predicate."""
    checks: list[Callable[[dict[str, str]], bool]] = []
    if not selector.strip():
        return lambda labels: True
    for requirement in split_requirements(selector):
        if match := _SET_RE.match(requirement):
            key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
            if op == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif match := _CMP_RE.match(requirement):
            key, op, value = match.groups()
            if op in ("=", "=="):
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
            elif op == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                try:
                    bound = int(value)
                except ValueError as error:
                    raise FilterError(f"label selector {selector!r}: {op} needs an integer") from error
                checks.append(lambda labels, k=key, b=bound, gt=(op == ">"): _int_cmp(labels.get(k), b, gt))
        elif match := _EXISTS_RE.match(requirement):
            negate, key = match.groups()
            checks.append((lambda labels, k=key: k not in labels) if negate else (lambda labels, k=key: k in labels))
        else:
            raise FilterError(f"invalid label selector {selector!r}: cannot parse {requirement.strip()!r}")
    return lambda labels: all(check(labels) for check in checks)


def _int_cmp(value: str | None, bound: int, greater: bool) -> bool:
    try:
        number = int(value) if value is not None else None
    except ValueError:
        return False
    return number is not None and (number > bound if greater else number < bound)


# -- building one Filter -------------------------------------------------------------------------

def _cap_set_check(filter_set: events_pb2.CapFilterSet, name: str) -> Callable[[Iterable[int]], bool]:
    defined = [field.name for field, _ in filter_set.ListFields()]
    if len(defined) != 1:
        raise FilterError(f"capability filter {name} must define exactly one of any/all/exactly/none, "
                          f"got {defined or 'none'}")
    kind, wanted = defined[0], set(getattr(filter_set, defined[0]))
    if kind == "any":
        return lambda caps: not wanted.isdisjoint(caps)
    if kind == "all":
        return lambda caps: wanted <= set(caps)
    if kind == "exactly":
        return lambda caps: set(caps) == wanted
    return lambda caps: wanted.isdisjoint(caps)


def _process_check(check: Callable[[tetragon_pb2.Process], bool]) -> Predicate:
    def predicate(response: events_pb2.GetEventsResponse) -> bool:
        process = get_process(response)
        return process is not None and check(process)
    return predicate


def _parent_check(check: Callable[[tetragon_pb2.Process], bool]) -> Predicate:
    def predicate(response: events_pb2.GetEventsResponse) -> bool:
        parent = get_parent(response)
        return parent is not None and check(parent)
    return predicate


def _pod_field_check(regexes: list[re.Pattern[str]], value: Callable[[tetragon_pb2.Pod], str]) -> Predicate:
    return _process_check(lambda p: p.HasField("pod") and _any_search(regexes, value(p.pod)))


def _may_be_probe(process: tetragon_pb2.Process | None) -> bool:
    return process is not None and process.pod.container.maybe_exec_probe


class _PidSet:
    """pid_set: the listed pids and every process whose parent was matched (remembered per stream)."""

    def __init__(self, pids: Iterable[int]) -> None:
        self.roots = frozenset(pids)
        self.children: set[int] = set()

    def __call__(self, response: events_pb2.GetEventsResponse) -> bool:
        process = get_process(response)
        if process is None:
            return False
        pid = process.pid.value
        if pid in self.roots or pid in self.children:
            return True
        parent = get_parent(response)
        if parent is not None and (parent.pid.value in self.roots or parent.pid.value in self.children):
            self.children.add(pid)
            return True
        return False


def build_filter(spec: events_pb2.Filter) -> list[Predicate]:
    """The predicates of one Filter (all must hold). Raises FilterError for what cannot be served."""
    preds: list[Predicate] = []
    if spec.cel_expression:
        raise FilterError("cel_expression filters are not supported by the ebtop demo server")
    if spec.ancestor_binary_regex:
        raise FilterError("ancestors are not enabled on this agent (--enable-ancestors), "
                          "cannot configure ancestor_binary_regex")
    if spec.binary_regex:
        rx = _regexes(spec.binary_regex, "binary_regex")
        preds.append(_process_check(lambda p: _any_search(rx, p.binary)))
    if spec.parent_binary_regex:
        prx = _regexes(spec.parent_binary_regex, "parent_binary_regex")
        preds.append(_parent_check(lambda p: _any_search(prx, p.binary)))
    if spec.HasField("health_check"):
        want = spec.health_check.value

        def health(response: events_pb2.GetEventsResponse) -> bool:
            probe = _may_be_probe(get_process(response)) or _may_be_probe(get_parent(response))
            return probe if want else not probe
        preds.append(health)
    if spec.namespace:
        namespaces = frozenset(spec.namespace)
        preds.append(_process_check(
            lambda p: (p.pod.namespace in namespaces) if p.HasField("pod") else ("" in namespaces)))
    if spec.namespace_regex:
        nrx = _regexes(spec.namespace_regex, "namespace_regex")
        preds.append(_pod_field_check(nrx, lambda pod: pod.namespace))
    if spec.pid:
        pids = frozenset(spec.pid)
        preds.append(_process_check(lambda p: p.pid.value in pids))
    if spec.pid_set:
        preds.append(_PidSet(spec.pid_set))
    if spec.event_set:
        types = frozenset(spec.event_set)
        preds.append(lambda r: EVENT_TYPE_OF_FIELD.get(r.WhichOneof("event") or "", 0) in types)
    if spec.pod_regex:
        porx = _regexes(spec.pod_regex, "pod_regex")
        preds.append(_pod_field_check(porx, lambda pod: pod.name))
    if spec.container_name_regex:
        crx = _regexes(spec.container_name_regex, "container_name_regex")
        preds.append(_pod_field_check(crx, lambda pod: pod.container.name))
    if spec.arguments_regex:
        arx = _regexes(spec.arguments_regex, "arguments_regex")
        preds.append(_process_check(lambda p: _any_search(arx, p.arguments)))
    if spec.parent_arguments_regex:
        parx = _regexes(spec.parent_arguments_regex, "parent_arguments_regex")
        preds.append(_parent_check(lambda p: _any_search(parx, p.arguments)))
    if spec.labels:
        selectors = [label_selector(selector) for selector in spec.labels]
        preds.append(_process_check(
            lambda p: p.HasField("pod") and any(sel(dict(p.pod.pod_labels)) for sel in selectors)))
    if spec.policy_names:
        policies = frozenset(spec.policy_names)
        preds.append(lambda r: (name := get_policy_name(r)) != "" and name in policies)
    if spec.HasField("capabilities"):
        sets = [(name, _cap_set_check(getattr(spec.capabilities, name), name))
                for name in ("permitted", "effective", "inheritable") if spec.capabilities.HasField(name)]
        preds.append(_process_check(
            lambda p: p.HasField("cap") and all(check(getattr(p.cap, name)) for name, check in sets)))
    if spec.container_id:
        cidrx = _regexes(spec.container_id, "container_id")
        preds.append(_process_check(lambda p: _any_search(cidrx, p.docker)))
    if spec.HasField("in_init_tree"):
        want_init = spec.in_init_tree.value
        preds.append(_process_check(lambda p: p.in_init_tree.value == want_init))
    return preds


class EventFilter:
    """A compiled GetEventsRequest allow/deny pair, with per-stream state (pid_set)."""

    def __init__(self, allow: Sequence[events_pb2.Filter] = (), deny: Sequence[events_pb2.Filter] = ()) -> None:
        self._allow = [build_filter(spec) for spec in allow]
        self._deny = [build_filter(spec) for spec in deny]

    @classmethod
    def from_request(cls, request: events_pb2.GetEventsRequest) -> EventFilter:
        return cls(request.allow_list, request.deny_list)

    def passes(self, response: events_pb2.GetEventsResponse) -> bool:
        if self._allow and not any(all(pred(response) for pred in preds) for preds in self._allow):
            return False
        return not any(all(pred(response) for pred in preds) for preds in self._deny)
