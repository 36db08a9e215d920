"""One stats record for every step, task and run, so every stage reports the same way.

The accounting invariant: ``records_in == docs_out + dropped + duplicates + quarantined``,
where ``dropped`` counts documents removed by a filter with a named reason (the reader's
skips included) and ``duplicates`` those removed by a dedup stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepStats:
    name: str
    kind: str = "step"
    docs_in: int = 0
    docs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    drops: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int = 1) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + n

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + n

    def merge(self, other: "StepStats") -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.seconds += other.seconds
        for k, v in other.drops.items():
            self.drops[k] = self.drops.get(k, 0) + v
        for k, v in other.counters.items():
            self.counters[k] = self.counters.get(k, 0) + v

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind,
            "docs_in": self.docs_in, "docs_out": self.docs_out,
            "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 4),
            "drops": dict(sorted(self.drops.items())),
            "counters": dict(sorted(self.counters.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StepStats":
        return cls(name=d["name"], kind=d.get("kind", "step"), docs_in=d["docs_in"], docs_out=d["docs_out"],
                   bytes_in=d["bytes_in"], bytes_out=d["bytes_out"], seconds=d.get("seconds", 0.0),
                   drops=dict(d.get("drops", {})), counters=dict(d.get("counters", {})))


@dataclass
class TaskStats:
    """What one task (one input file or file group, in one segment) did."""

    records_in: int = 0
    quarantined: int = 0
    docs_out: int = 0
    bytes_out: int = 0
    steps: list[StepStats] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: "TaskStats") -> None:
        self.records_in += other.records_in
        self.quarantined += other.quarantined
        self.docs_out += other.docs_out
        self.bytes_out += other.bytes_out
        self.seconds += other.seconds
        self.warnings.extend(other.warnings)
        by_name = {s.name: s for s in self.steps}
        for s in other.steps:
            if s.name in by_name:
                by_name[s.name].merge(s)
            else:
                copy = StepStats.from_dict(s.to_dict())
                self.steps.append(copy)
                by_name[s.name] = copy

    def to_dict(self) -> dict[str, Any]:
        return {
            "records_in": self.records_in, "quarantined": self.quarantined,
            "docs_out": self.docs_out, "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 4), "warnings": list(self.warnings),
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TaskStats":
        return cls(records_in=d["records_in"], quarantined=d["quarantined"], docs_out=d["docs_out"],
                   bytes_out=d["bytes_out"], seconds=d.get("seconds", 0.0), warnings=list(d.get("warnings", [])),
                   steps=[StepStats.from_dict(s) for s in d.get("steps", [])])
