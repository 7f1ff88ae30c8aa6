"""From an import as written to the workspace files it names.

Resolution is by path shape, per language, not by running each language's real module
system: an import names a file (or, for Go, a folder) whose path ends in a way the
import spells out. Imports of libraries outside the workspace resolve to nothing, which
is right: their definitions are not the workspace's to show.
"""

from __future__ import annotations

import posixpath

_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs")
_JS_LANGUAGES = frozenset({"javascript", "javascriptreact", "typescript", "typescriptreact"})


def file_stems(path: str) -> tuple[str, ...]:
    """The names an import may use for the file: its stem, and also its folder's name
    for the files that can stand for a folder (``__init__.py``, ``index.ts``, Rust's
    ``mod.rs`` and ``lib.rs``; a Python ``lib.py`` is imported as ``lib``, hence both)."""
    folder, name = posixpath.split(path)
    stem = name.split(".", 1)[0]
    if stem in ("__init__", "index", "mod", "lib", "main"):
        return (stem, posixpath.basename(folder))
    return (stem,)


def module_candidates(language: str, importer: str, module: str) -> tuple[tuple[str, ...], bool]:
    """Path endings the imported file may have, and whether they are absolute paths
    (a relative import) rather than endings to match against any indexed path."""
    if language == "python":
        return _python(importer, module)
    if language in _JS_LANGUAGES:
        return _javascript(importer, module)
    if language == "go":
        return (f"/{module.strip('/')}/",), False  # a package is a folder
    if language == "rust":
        return _rust(module)
    if language == "java":
        return (f"/{module.replace('.', '/')}.java",), False
    if language in ("c", "cpp"):
        return (f"/{module.lstrip('./')}",), False
    return (), False


def lookup_stems(language: str, module: str) -> tuple[str, ...]:
    """The file stems under which the module's files are filed (see ``file_stems``)."""
    if language == "go":
        return ()  # matched by folder
    separators = {"python": ".", "rust": "::", "java": "."}.get(language, "/")
    parts = [part for part in module.replace(separators, "/").split("/") if part]
    if language == "java" and parts:
        return (parts[-1],)
    if language in ("c", "cpp") and parts:
        return (parts[-1].split(".", 1)[0],)
    return tuple(parts[-1:]) if parts else ()


def _python(importer: str, module: str) -> tuple[tuple[str, ...], bool]:
    dots = len(module) - len(module.lstrip("."))
    parts = [part for part in module[dots:].split(".") if part]
    if dots:
        base = posixpath.dirname(importer)
        for _ in range(dots - 1):
            base = posixpath.dirname(base)
        stem = posixpath.join(base, *parts) if parts else base
        return (f"{stem}.py", f"{stem}/__init__.py", f"{stem}.pyi"), True
    if not parts:
        return (), False
    stem = "/" + "/".join(parts)
    return (f"{stem}.py", f"{stem}/__init__.py", f"{stem}.pyi"), False


def _javascript(importer: str, module: str) -> tuple[tuple[str, ...], bool]:
    if module.startswith("."):
        stem = posixpath.normpath(posixpath.join(posixpath.dirname(importer), module))
        absolute = True
    else:
        stem = "/" + module.lstrip("@/~")  # a workspace alias ("@/lib/x"), maybe
        absolute = False
    stem = stem.removesuffix(".js").removesuffix(".ts")
    endings = [stem + extension for extension in _JS_EXTENSIONS]
    endings += [f"{stem}/index{extension}" for extension in _JS_EXTENSIONS]
    return tuple(endings), absolute


def _rust(module: str) -> tuple[tuple[str, ...], bool]:
    parts = [part for part in module.split("::") if part not in ("", "crate", "self", "super")]
    if not parts:
        return (), False
    stem = "/" + "/".join(parts)
    return (f"{stem}.rs", f"{stem}/mod.rs", f"/{parts[-1]}.rs", f"/{parts[-1]}/mod.rs"), False
