"""The stages have one source (schemas.vocabulary.STAGES): the command line takes every one of
them, and each names a task of the annual flow."""

from __future__ import annotations

import pytest

from innomon.cli import parse_steps
from innomon.errors import ConfigError
from schemas.vocabulary import STAGES


def test_every_stage_is_the_name_of_a_task_of_the_annual_flow() -> None:
    from flows import annual

    task_names = {getattr(v, "name", None) for v in vars(annual).values() if hasattr(v, "with_options")}
    assert set(STAGES) <= task_names, set(STAGES) - task_names


@pytest.mark.parametrize("stage", STAGES)
def test_the_command_line_takes_every_stage_in_steps(stage: str) -> None:
    assert parse_steps(f" {stage},models ") == [stage, "models"]


def test_the_command_line_refuses_an_unknown_stage_naming_the_stages() -> None:
    with pytest.raises(ConfigError, match=r"Unknown stage 'weighting'.*weights"):
        parse_steps("weighting")
