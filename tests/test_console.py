"""The command line as a person meets it: `--help` answers without loading the pipeline, a run
prints one line per stage and no warning, and an unchanged release is recognised, not rebuilt."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from innomon.cli import run_year
from tests.conftest import copy_demo_store
from tests.helpers import latest_release

PROJECT = Path(__file__).resolve().parent.parent
HEAVY = ("prefect", "pandas", "numpy", "scipy", "statsmodels", "splink", "matplotlib", "xlsxwriter", "pandera")


def test_help_loads_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from innomon.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, check=True).stdout
    assert "usage: innomon" in out
    assert "LOADED []" in out, out


def _api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url, "the session's Prefect API"
    return str(url)


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": _api_url()}
    env.pop("PREFECT_LOGGING_LEVEL", None)  # the operator's default, not the test session's quiet one
    return subprocess.run(
        [sys.executable, "-m", "innomon.cli", *args], capture_output=True, text=True, cwd=PROJECT, env=env, timeout=600
    )


STAGE_LINE = re.compile(r"^(\d{4}) (fetch|ingest|derive|validate|link|indicators|models|publish|release)\s+(.+)$")


@pytest.fixture(scope="module")
def runs(exports: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Three commands on one store, as an operator types them: 2022 into an empty store, the same
    command again (nothing changed), and again with `-v`."""
    store = tmp_path_factory.mktemp("console") / "store"
    args = ["run", "--year", "2022", "--raw-root", str(exports), "--store", str(store)]
    return {"store": store, "first": _cli(args), "again": _cli(args), "loud": _cli(["-v", *args])}


def test_run_prints_one_line_per_stage_and_no_warning(runs: dict) -> None:
    first = runs["first"]
    assert first.returncode == 0, first.stderr
    text = first.stdout + first.stderr
    lines = text.strip().splitlines()
    assert len(lines) <= 25, text
    assert "warn" not in text.lower(), text
    stages = [m.groups() for m in map(STAGE_LINE.match, lines) if m]
    # per year fetch, ingest, derive, validate, link; then indicators, models, publish, release of 2022
    assert len(stages) == 2 * 5 + 4, text
    assert {(y, s) for y, s, _ in stages} >= {("2022", "link"), ("2021", "validate"), ("2022", "publish")}
    link = next(t for y, s, t in stages if (y, s) == ("2022", "link"))
    assert re.fullmatch(r"\d+ repeat firms linked to 2021", link), link
    release = latest_release(runs["store"], 2022).name
    assert next(t for y, s, t in stages if s == "publish") == f"release {release} staged (new)"
    assert next(t for y, s, t in stages if s == "release") == f"release {release} public and latest"
    assert not any(t.endswith("(cached)") for _, _, t in stages)

    again = runs["again"]
    assert again.returncode == 0, again.stderr
    stages = [m.groups() for m in map(STAGE_LINE.match, again.stdout.splitlines()) if m]
    uncached = ("fetch", "publish", "release")
    computed = [(y, s) for y, s, t in stages if s not in uncached and not t.endswith("(cached)")]
    assert computed == [], again.stdout
    assert next(t for y, s, t in stages if s == "publish") == f"release {release} staged (unchanged), already latest"


def test_verbose_shows_prefect_lines(runs: dict) -> None:
    """The same command, every stage cached, without and with `-v`."""
    quiet, loud = runs["again"], runs["loud"]
    assert quiet.returncode == 0 and loud.returncode == 0, (quiet.stderr, loud.stderr)
    assert "| INFO    |" not in quiet.stderr
    assert "| INFO    |" in loud.stderr and "Finished in state" in loud.stderr


def test_unchanged_release_is_not_rebuilt(demo: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every stage cached and the release complete, publishing builds nothing."""
    import tasks.publish.stage

    def must_not_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bundle was rebuilt")

    monkeypatch.setattr(tasks.publish.stage, "bundle_files", must_not_build)
    store = copy_demo_store(demo, tmp_path / "store")
    before = latest_release(store, 2023)
    result = run_year(2023, str(demo["exports"]), str(store))
    assert result["new_release"] is False
    assert result["run_id"] == before.name
    assert latest_release(store, 2023) == before


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_only_in_a_terminal_and_cleared_at_the_end() -> None:
    from innomon import progress

    assert progress.enable(io.StringIO()) is False  # a log file or pipe gets nothing
    with progress.steps("ingest", 2023, 2) as step:
        step("reading")
    term = _Terminal()
    assert progress.enable(term) is True
    try:
        with progress.steps("ingest", 2023, 2) as step:
            step("reading")
            step("mapping")
    finally:
        progress.disable()
    shown = term.getvalue().split("\r\x1b[2K")
    assert shown[1].startswith("2023 ingest      [------------------------] reading")
    assert shown[2].startswith("2023 ingest      [############------------] mapping")
    assert shown[-1] == ""  # the line is cleared when the stage ends


def test_in_process_run_leaves_the_callers_logging_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`main` quiets Prefect's console for its own run only: a test or notebook calling it keeps its
    setting, and a later `innomon -v` subprocess inherits no WARNING level from it."""
    from innomon.cli import CONSOLE_LEVEL, main

    monkeypatch.delenv(CONSOLE_LEVEL, raising=False)
    code = main(["run", "--year", "1999", "--raw-root", str(tmp_path), "--store", str(tmp_path / "store")])
    assert code == 2  # no configuration for 1999
    assert CONSOLE_LEVEL not in os.environ


def test_only_the_commands_own_process_freezes_its_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command freezes what it imported out of the collector's reach (`innomon.cli.entry`, the
    console script); a test or notebook calling `main` in its own process must keep a collector
    that sees everything."""
    from importlib.metadata import entry_points
    from types import SimpleNamespace

    from innomon import cli

    assert entry_points(group="console_scripts")["innomon"].value == "innomon.cli:entry"
    frozen: list[str] = []
    monkeypatch.setattr(cli, "gc", SimpleNamespace(freeze=lambda: frozen.append("freeze")))
    cli._preload(freeze=False)
    assert frozen == []
    cli._preload(freeze=True)
    assert frozen == ["freeze"]
    calls: list[dict] = []
    monkeypatch.setattr(cli, "main", lambda **kw: calls.append(kw) or 3)
    with pytest.raises(SystemExit) as done:
        cli.entry()
    assert done.value.code == 3 and calls == [{"own_process": True}]  # main's exit code, passed on
    assert frozen == ["freeze", "freeze"]  # and everything frozen before the exit


@pytest.mark.parametrize("command", ["run", "check", "synth", "rollback", "demo", "local-api", "result-storage"])
def test_every_help_gives_defaults_and_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from innomon.cli import main

    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "exit codes:" in out and "2  usage or configuration error" in out and "3  an input export" in out
    if command == "run":
        assert "(default: demo-output/exports)" in out, out
