"""Start-up loads with the cycle collector paused and settles the heap once; the collector
keeps working afterwards."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from typer.testing import CliRunner

import app.cli
from app import command
from app.heap import YOUNG_THRESHOLD, pause_collection, settle_startup_heap


class _Node:
    partner: object = None


def test_after_settling_the_collector_still_frees_cycles() -> None:
    settle_startup_heap()
    frozen = gc.get_freeze_count()
    made_since = [[index] for index in range(100)]
    settle_startup_heap()  # once per process: a second call freezes nothing more

    assert gc.get_freeze_count() == frozen
    assert len(made_since) == 100
    assert gc.isenabled()
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    first, second = _Node(), _Node()
    first.partner, second.partner = second, first
    gone = weakref.ref(first)
    del first, second
    gc.collect()
    assert gone() is None


def test_the_program_loads_its_commands_with_the_collector_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(app.cli, "main", lambda: seen.append(gc.isenabled()))
    try:
        command.main()
    finally:
        gc.enable()

    assert seen == [False]


@pytest.mark.parametrize("name", ["openapi", "graphql-schema"])
def test_a_command_turns_the_collector_back_on_as_it_starts(name: str, tmp_path: Path) -> None:
    pause_collection()
    try:
        result = CliRunner().invoke(app.cli.cli, [name, "--output", str(tmp_path / "out")])
        on = gc.isenabled()
    finally:
        gc.enable()

    assert result.exit_code == 0, result.output
    assert on


def test_settling_turns_a_paused_collector_back_on() -> None:
    settle_startup_heap()  # (a first call settles; every call turns the collector back on)
    pause_collection()
    try:
        settle_startup_heap(collect=False)
        on = gc.isenabled()
    finally:
        gc.enable()

    assert on
