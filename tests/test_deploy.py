"""The deploy files: the manifest parses and mounts what the code expects; the image uses setup.sh."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
HOST_PATH = re.compile(r"""["'](/(?:var/run|run|sys/kernel/tracing|lib/modules|usr/src)(?:/[\w.-]*)*)["']""")


def _manifest() -> dict:
    return yaml.safe_load((DEPLOY / "debug-pod.yaml").read_text())


def _mounts() -> list[str]:
    return [m["mountPath"] for m in _manifest()["spec"]["containers"][0]["volumeMounts"]]


def test_manifest_is_a_privileged_host_pid_pod_with_bcc_mounts() -> None:
    pod = _manifest()
    assert pod["kind"] == "Pod" and pod["spec"]["hostPID"] is True
    container = pod["spec"]["containers"][0]
    assert container["stdin"] and container["tty"]
    assert {"BPF", "PERFMON"} <= set(container["securityContext"]["capabilities"]["add"])
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    for mount in container["volumeMounts"]:
        assert mount["name"] in volumes, mount
    assert {"/sys/kernel/tracing", "/sys/kernel/btf", "/lib/modules", "/usr/src",
            "/var/run/cilium", "/var/run/tetragon"} <= set(_mounts())


def test_every_host_path_the_code_uses_is_mounted() -> None:
    used: set[str] = set()
    # Sources are where ebtop touches the host; paths elsewhere are data (demo cwd, sensitive-file lists).
    for path in (ROOT / "tui" / "sources").rglob("*.py"):
        used.update(HOST_PATH.findall(path.read_text()))
    mounts = _mounts()
    missing = [p for p in sorted(used)
               if not any(p == m or p.startswith(m.rstrip("/") + "/") for m in mounts)]
    # /proc and the rest of /sys come with a privileged pod; tracefs, modules, headers and the
    # agents' sockets must be explicit mounts.
    assert missing == []


def test_image_installs_with_the_readme_setup_script() -> None:
    containerfile = (DEPLOY / "Containerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "bash deploy/setup.sh" in readme
    assert re.search(r"RUN bash /opt/ebtop/deploy/setup\.sh", containerfile)
    assert "deploy/entrypoint.sh" in containerfile


@pytest.mark.parametrize("script", ["setup.sh", "entrypoint.sh", "merge-headers.sh"])
def test_scripts_parse(script: str) -> None:
    subprocess.run(["bash", "-n", str(DEPLOY / script)], check=True)


@pytest.mark.kernel
def test_image_header_fallback_compiles_with_node_headers_hidden(tmp_path: Path) -> None:
    """The image's merged headers + BCC_KERNEL_SOURCE work when the node's /lib/modules has none."""
    if shutil.which("unshare") is None or not list(Path("/usr/src").glob("linux-headers-*-common")):
        pytest.skip("needs unshare and Debian's linux-headers packages (deploy/setup.sh)")
    merged = tmp_path / "headers"
    subprocess.run(["bash", str(DEPLOY / "merge-headers.sh"), str(merged)], check=True, capture_output=True)
    program = (
        "from bcc import BPF\nimport os\n"
        "b = BPF(text='BPF_ARRAY(c, u64, 1); TRACEPOINT_PROBE(raw_syscalls, sys_enter) "
        "{ int k = 0; u64 *v = c.lookup(&k); if (v) __sync_fetch_and_add(v, 1); return 0; }')\n"
        "os.getppid(); print('count', b['c'][0].value > 0); b.cleanup()\n"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    release = os.uname().release
    script = (f"mount --bind {empty} /lib/modules/{release} && "
              f"test ! -e /lib/modules/{release}/build && "
              f"BCC_KERNEL_SOURCE={merged} {sys.executable} -c \"$PROGRAM\"")
    out = subprocess.run(["unshare", "-m", "bash", "-c", script], env={**os.environ, "PROGRAM": program},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "count True" in out.stdout
