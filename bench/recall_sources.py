"""The source trees the recall benchmark cuts its cases from, found without downloading.

Two projects, for two jobs:

  tuning     pip 23.2.1 (``pip/_internal``): the context ranking was tuned on cases cut
             from it. That exact version is used wherever it can be found, so the tuning
             set stays the one that was tuned on: the installed pip if it is 23.2.1, else
             the pip wheel that Python 3.11's ``ensurepip`` bundles (unpacked once into
             the temporary folder). Only when neither is there does the installed pip
             stand in, and the cases are cut again from it.
  held-out   ``torch/fx`` of the installed torch, which nobody tuned on. The project pins
             torch (``torch==2.13.0`` in the ``transformers`` extra), so every machine set
             up with ``pip install -e '.[host,test,transformers]'`` has the same source and
             the held-out cases stay valid; torch.fx is a library of ~100 modules that
             import each other's classes and functions (``Graph``, ``Node``, ``Proxy``,
             ``GraphModule``, passes), written by other people in another style than pip.
             Only ``fx/`` is copied into the workspace (all of torch would take minutes to
             index on 2 cores): a smaller workspace than a torch developer's, so
             definitions found by name alone are less ambiguous than they would be there.
"""

from __future__ import annotations

import ensurepip
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sample_tree import torch_source

TUNING_PIP_VERSION = "23.2.1"


@dataclass(frozen=True)
class SourceTree:
    """A package's source: the folder the benchmark copies and opens as the workspace."""

    package: str  # the top-level package: its import name and the workspace folder's name
    version: str
    root: Path  # the package folder (installed, or unpacked from a wheel)
    project: Path  # where cases are cut, and where the definitions they need must lie
    copied: tuple[str, ...] = ()  # folders under ``root`` the workspace holds; () for all
    note: str = ""  # how this tree was found, when that is not the obvious way

    def copy_workspace(self, into: Path) -> Path:
        """A copy of the package folder (or of the ``copied`` parts of it) under ``into``,
        as a developer would open it, outside any git repository that ignores it (where
        Python lives inside a checkout that ignores it, pyenv's ``versions/``, Quill
        rightly treats the installed files as private)."""
        copy = into / self.package
        ignore = shutil.ignore_patterns("__pycache__")
        if not self.copied:
            shutil.copytree(self.root, copy, ignore=ignore)
        for part in self.copied:
            shutil.copytree(self.root / part, copy / part, ignore=ignore)
        return copy


def pip_source() -> SourceTree:
    """pip 23.2.1 if it can be found here (see the module's docstring), else the installed pip."""
    # Found through its distribution, not imported: a benchmark has no business running pip.
    installed = Path(str(metadata.distribution("pip").locate_file("pip"))).resolve()
    version = metadata.version("pip")
    if version == TUNING_PIP_VERSION:
        return _pip_tree(installed, version)
    bundled = _bundled_pip_wheel()
    if bundled is not None:
        return _pip_tree(_unpacked(bundled), TUNING_PIP_VERSION, f"unpacked from {bundled}")
    note = (
        f"pip {TUNING_PIP_VERSION} not found (neither installed nor bundled with ensurepip): "
        f"the installed pip {version} stands in, and its cases are not the tuned ones"
    )
    return _pip_tree(installed, version, note)


def torch_fx_source() -> SourceTree:
    """``torch/fx`` of the installed torch (read from its files: torch is not imported)."""
    root = torch_source().resolve()
    version = metadata.version("torch").split("+", 1)[0]  # the CPU and CUDA builds agree
    return SourceTree("torch", version, root, root / "fx", copied=("fx",))


def _pip_tree(root: Path, version: str, note: str = "") -> SourceTree:
    return SourceTree("pip", version, root, root / "_internal", note=note)


def _bundled_pip_wheel() -> Path | None:
    if ensurepip.version() != TUNING_PIP_VERSION:
        return None
    name = f"pip-{TUNING_PIP_VERSION}-py3-none-any.whl"
    wheel = Path(ensurepip.__file__).parent / "_bundled" / name
    return wheel if wheel.is_file() else None


def _unpacked(wheel: Path) -> Path:
    """The ``pip`` folder of ``wheel``, unpacked once into the temporary folder (and then
    reused): renamed into place whole, so a run cut short leaves nothing half-written."""
    target = Path(tempfile.gettempdir()) / "quill-bench" / wheel.stem
    if not target.is_dir():
        partial = target.with_name(f"{wheel.stem}.{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if name.startswith("pip/")]
            archive.extractall(partial, members)
        try:
            partial.rename(target)
        except OSError:  # another run unpacked it first
            shutil.rmtree(partial, ignore_errors=True)
    return target / "pip"
