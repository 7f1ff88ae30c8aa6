"""The `quill host --engine` names that start an external model server instead of loading a
model in the host: each maps to a launcher, as each embedded engine maps to a factory
(`quill_host.engines`).

`quill host` dispatches through this table and knows no launcher by name, so adding one is one
entry here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from quill_host.launcher.cli import add_tgi_arguments, run_tgi


@dataclass(frozen=True, slots=True)
class Launcher:
    """An `--engine` whose model runs in a server of its own, which the host plans, starts and
    supervises (announcing its URL as the host would its own)."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    """Adds the options it reads to `quill host`'s parser (listed under their own heading)."""
    run: Callable[[argparse.Namespace], int]
    """Runs it from the parsed arguments until it ends; the process exit status."""


LAUNCHERS: Mapping[str, Launcher] = MappingProxyType(
    {"tgi": Launcher(add_arguments=add_tgi_arguments, run=run_tgi)}
)
"""Every launcher by its `--engine` name."""
