"""Threads carry their names into the kernel, so `top -H` shows what each one is."""

from __future__ import annotations

import threading
from pathlib import Path

from tui.threads import name_threads, set_os_thread_name


def _kernel_name(native_id: int) -> str:
    return Path(f"/proc/self/task/{native_id}/comm").read_text().strip()


def test_threads_started_after_the_hook_have_their_names_in_the_kernel() -> None:
    seen: dict[str, str] = {}
    ready = threading.Event()

    def body() -> None:
        seen["name"] = _kernel_name(threading.get_native_id())
        ready.set()

    main = threading.current_thread().name
    name_threads("ebtop-test-ui")
    try:
        thread = threading.Thread(target=body, name="hubble-reader")
        thread.start()
        ready.wait(5)
        thread.join(5)
        assert seen["name"] == "hubble-reader"
        assert _kernel_name(threading.get_native_id()) == "ebtop-test-ui"
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
        threading.current_thread().name = main
        set_os_thread_name("pytest")
