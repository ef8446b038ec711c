"""The profile model: top functions, call tree, icicle layout, folded lines, bounds, scope, zoom."""

from __future__ import annotations

from tui.model.stacks import (
    OTHER,
    Frame,
    ProfileInterval,
    Scope,
    StackCounts,
    StackSample,
    call_tree,
    fold_name,
    folded_lines,
    hot_path,
    icicle,
    top_functions,
    tree_rows,
)


def f(name: str, module: str = "app", named: bool = True, kernel: bool = False) -> Frame:
    return Frame(name, module, named, kernel)


def sample(pid: int, comm: str, names: str, count: int, **kw) -> StackSample:
    return StackSample(pid, comm, tuple(f(n) for n in names.split(";")), count, **kw)


def fixed() -> StackCounts:
    counts = StackCounts()
    counts.add_interval(ProfileInterval([
        sample(10, "web", "main;serve;parse", 60),
        sample(10, "web", "main;serve;write", 30),
        sample(11, "db", "main;query;parse", 10, container="abc123", pod="uid-1"),
    ], 1.0, taken=120, idle=20))
    return counts


def test_top_functions_self_and_total() -> None:
    rows = {r.name: r for r in top_functions(fixed().samples())}
    assert (rows["parse"].self_count, rows["parse"].total_count) == (70, 70)
    assert (rows["serve"].self_count, rows["serve"].total_count) == (0, 90)
    assert (rows["main"].self_count, rows["main"].total_count) == (0, 100)
    assert [r.name for r in top_functions(fixed().samples(), limit=2)] == ["parse", "write"]


def test_recursion_counts_once_in_total() -> None:
    rows = {r.name: r for r in top_functions([sample(1, "x", "main;rec;rec;rec", 5)])}
    assert rows["rec"].total_count == 5
    assert rows["rec"].self_count == 5


def test_call_tree_counts_callers_to_callees() -> None:
    root = call_tree(fixed().samples())
    assert root.count == 100
    web = root.children["web"]
    assert web.count == 90
    serve = web.find(("main", "serve"))
    assert serve is not None and serve.count == 90 and serve.self_count == 0
    assert [c.name for c in serve.sorted_children()] == ["parse", "write"]
    assert serve.children["parse"].self_count == 60


def test_tree_rows_fold_and_hot_path() -> None:
    root = call_tree(fixed().samples())
    assert [path for _d, path, _n in tree_rows(root, set())] == [("web",), ("db",)]
    expanded = hot_path(root)
    assert ("web", "main", "serve") in expanded
    rows = tree_rows(root, expanded)
    assert [(d, p[-1]) for d, p, _n in rows][:5] == [(0, "web"), (1, "main"), (2, "serve"), (3, "parse"),
                                                     (3, "write")]


def test_icicle_widths_follow_samples() -> None:
    root = call_tree(fixed().samples())
    rows = icicle(root, 100, 6)
    assert [(c.node.name, c.x, c.width) for c in rows[1]] == [("web", 0, 90), ("db", 90, 10)]
    assert [(c.node.name, c.width) for c in rows[4]] == [("parse", 60), ("write", 30), ("parse", 10)]
    for row in rows:
        assert sum(c.width for c in row) <= 100
        spans = sorted((c.x, c.x + c.width) for c in row)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_icicle_drops_what_rounds_to_zero() -> None:
    counts = StackCounts()
    counts.add([sample(1, "x", "main;big", 999), sample(1, "x", "main;tiny", 1)])
    rows = icicle(call_tree(counts.samples()), 20, 4)
    assert [c.node.name for c in rows[3]] == ["big"]


def test_folded_lines_root_first_busiest_first() -> None:
    lines = folded_lines(fixed().samples())
    assert lines == ["web;main;serve;parse 60", "web;main;serve;write 30", "db;main;query;parse 10"]


def test_folded_merges_pids_of_one_comm_and_cleans_names() -> None:
    lines = folded_lines([sample(1, "w", "main;a", 2), sample(2, "w", "main;a", 3)])
    assert lines == ["w;main;a 5"]
    assert fold_name("a;b\nc") == "a_b_c"
    assert fold_name("operator new(unsigned long)") == "operator new(unsigned long)"


def test_bound_folds_new_stacks_into_other() -> None:
    counts = StackCounts(max_stacks=3)
    for i in range(10):
        counts.add([sample(1, "x", f"main;fn{i}", 1)])
    assert len(counts.counts) <= 4
    assert counts.total == 10
    assert counts.folded_away == 7
    assert any(key[5] == (OTHER,) for key in counts.counts)


def test_scope_filter_and_zoom() -> None:
    counts = fixed()
    assert sum(s.count for s in counts.samples(Scope("pid", 11))) == 10
    assert sum(s.count for s in counts.samples(Scope("pod", "uid-1"))) == 10
    assert sum(s.count for s in counts.samples(Scope("container", "abc123"))) == 10
    assert sum(s.count for s in counts.samples(text="WRITE")) == 30
    assert sum(s.count for s in counts.samples(text="db")) == 10  # the comm
    zoomed = counts.samples(zoom="serve")
    assert {s.frames[0].name for s in zoomed} == {"serve"}
    assert sum(s.count for s in zoomed) == 90


def test_unnamed_share_and_clear() -> None:
    counts = StackCounts()
    counts.add([StackSample(1, "x", (f("main"), f("lib.so+0x10", "lib.so", named=False)), 4)])
    assert counts.unnamed_share == 0.5
    counts.clear()
    assert counts.total == 0 and counts.counts == {} and counts.unnamed_share == 0.0


def test_processes_and_groups() -> None:
    counts = fixed()
    assert counts.processes() == [(10, "web", 90), (11, "db", 10)]
    assert counts.groups("pod") == [("uid-1", 10)]
