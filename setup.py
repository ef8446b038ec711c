"""Package list for setuptools: `tui` plus the top-level `bpf/` directory installed as `tui.bpf`.

pyproject's `packages.find` cannot add a package that lives outside `tui/`, so the list is made here;
everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["tui", "tui.*"]), "tui.bpf"],
    package_dir={"tui.bpf": "bpf"},
)
