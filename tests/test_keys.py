"""No built-in key outside the demo (issue 30, point 1): a real run without a key of its own, with a
short key or with the public demo key exits 2 in one sentence before anything starts; the key's
fingerprint in folder names is an HMAC; `linking.key_env` names the variable that is read."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from innomon import keys
from innomon.cli import main
from innomon.errors import ConfigError

GOOD_KEY = "a-real-organisations-key-0123456789abcdef"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "No panel key: set INNOMON_PANEL_KEY"),
        ("short-key", "holds 9 bytes; a panel key needs at least 32"),
        (keys.DEMO_KEY, "holds the demo key, which is public"),
    ],
)
def test_a_real_run_refuses_to_start_without_a_key_of_its_own(
    value: str | None, says: str, demo: dict, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.delenv(keys.DEMO_FLAG)  # a real run: not the demo, not a test
    if value is None:
        monkeypatch.delenv("INNOMON_PANEL_KEY", raising=False)
    else:
        monkeypatch.setenv("INNOMON_PANEL_KEY", value)
    store = tmp_path / "store"
    code = main(["run", "--year", "2023", "--raw-root", str(demo["exports"]), "--store", str(store)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and says in err, err
    assert not store.exists()  # refused before anything was read or written


def test_a_flow_run_refuses_too(demo: dict, tmp_path: Path, monkeypatch) -> None:
    """A deployment run (the flow itself, on a worker without a key) stops at its configure step."""
    from flows.annual import annual_flow

    monkeypatch.delenv(keys.DEMO_FLAG)
    monkeypatch.delenv("INNOMON_PANEL_KEY", raising=False)
    with pytest.raises(ConfigError, match="No panel key"):
        annual_flow(2023, str(demo["exports"]), str(tmp_path / "store"))
    assert not list((tmp_path / "store").rglob("*.parquet"))


def test_the_demo_says_it_uses_the_demo_key_and_names_its_folder_by_hmac(demo: dict) -> None:
    demo_key = keys.DEMO_KEY.encode()
    expected = hmac.new(demo_key, b"innomon-panel-key-fingerprint", hashlib.sha256).hexdigest()[:16]
    assert keys.fingerprint(demo_key) == expected
    folders = {p.name for p in (demo["store"] / "processed" / "panel").iterdir() if p.is_dir()}
    assert folders == {expected}
    bare = hashlib.sha256(b"fingerprint:" + demo_key).hexdigest()[:16]  # the old bare hash, guessable
    assert bare not in folders


def test_the_variable_the_configuration_names_is_read(tmp_path: Path, monkeypatch) -> None:
    from innomon import config
    from tests.helpers import edit_yaml
    from tests.rollover import config_with_2024

    cdir = config_with_2024(tmp_path)
    edit_yaml(cdir / "base.yaml", lambda d: d["linking"].update(key_env="INNOMON_NORTH_KEY"))
    monkeypatch.delenv(keys.DEMO_FLAG)
    monkeypatch.delenv("INNOMON_PANEL_KEY", raising=False)
    monkeypatch.setenv("INNOMON_NORTH_KEY", GOOD_KEY)
    named = config.load_typed(2023, cdir).linking.key_env
    assert named == "INNOMON_NORTH_KEY"
    assert keys.panel_key(named) == GOOD_KEY.encode()
    monkeypatch.delenv("INNOMON_NORTH_KEY")
    monkeypatch.setenv("INNOMON_PANEL_KEY", GOOD_KEY)  # the default variable is not read instead
    with pytest.raises(ConfigError, match="INNOMON_NORTH_KEY"):
        keys.panel_key(named)
