"""What a launch plan is made of, whatever the engine: flags and environment variables, each
with the reason it was chosen (which `--dry-run` prints), and the refusal when nothing fits."""

from __future__ import annotations

from dataclasses import dataclass


class PlanError(Exception):
    """No launch fits; the message says what the user can pass or change."""


@dataclass(frozen=True, slots=True)
class Flag:
    """One command-line argument (value None for a switch) and why it was chosen."""

    name: str
    value: str | None
    reason: str

    def argv(self) -> tuple[str, ...]:
        return (self.name,) if self.value is None else (self.name, self.value)


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One environment variable for the server and why it is set."""

    name: str
    value: str
    reason: str
