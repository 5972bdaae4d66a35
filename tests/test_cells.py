"""Cell keys are canonical; requests expand to the intended grid; malformed input is refused."""

from __future__ import annotations


import pytest

from harness.plan.cells import Cell
from harness.cli import build_parser
from harness.cli.run import request_from_args
from harness.common.errors import UserError
from harness.plan.grid import RunRequest, expand, parse_param, parse_seeds


def _cells(*argv: str) -> list[Cell]:
    args = build_parser().parse_args(["run", *argv])
    request, _ = request_from_args(args)
    request.scale = "smoke"
    return expand(request)


def test_key_ignores_flag_order() -> None:
    a = _cells("--tasks", "digits-lt", "--methods", "focal", "--param", "gamma=1", "--param", "digits-lt.rho=20")
    b = _cells("--param", "digits-lt.rho=20", "--methods", "focal", "--param", "gamma=1", "--tasks", "digits-lt")
    assert [c.key for c in a] == [c.key for c in b]


def test_key_resolves_defaults() -> None:
    explicit = Cell.build("digits-lt", "focal", 0, "smoke", {"rho": "10"}, {"gamma": "2"})
    implicit = Cell.build("digits-lt", "focal", 0, "smoke")
    assert explicit.key == implicit.key
    assert implicit.method_params == {"gamma": 2.0}


@pytest.mark.parametrize(
    "change",
    [
        dict(method_params={"gamma": 1.0}),
        dict(task_params={"rho": 20}),
        dict(seed=1),
        dict(scale="small"),
        dict(method="erm", method_params={}),
    ],
)
def test_any_change_changes_key(change: dict) -> None:
    base = dict(task="digits-lt", method="focal", seed=0, scale="smoke", task_params={}, method_params={})
    assert Cell.build(**base).key != Cell.build(**{**base, **change}).key


def test_unseeded_task_collapses_seeds(fake_family: list[str]) -> None:
    from harness.plan import registry

    FakeTask = registry.get_task("fake-task")
    FakeTask.seeded = False
    try:
        assert Cell.build("fake-task", "const", 3, "smoke").seed == 0
    finally:
        FakeTask.seeded = True


def test_param_grid_is_cartesian() -> None:
    cells = _cells("--tasks", "digits-lt", "--methods", "focal,erm", "--seeds", "0-1", "--param", "focal.gamma=0.5,1,2")
    focal = [c for c in cells if c.method == "focal"]
    assert sorted({c.method_params["gamma"] for c in focal}) == [0.5, 1.0, 2.0]
    assert len(focal) == 6 and len([c for c in cells if c.method == "erm"]) == 2


def test_unqualified_param_applies_to_every_owner() -> None:
    cells = _cells("--tasks", "digits-lt", "--methods", "logit_adjust,logit_adjust_posthoc", "--param", "tau=0.5,1.5")
    assert {(c.method, c.method_params["tau"]) for c in cells} == {
        (m, t) for m in ("logit_adjust", "logit_adjust_posthoc") for t in (0.5, 1.5)
    }


@pytest.mark.parametrize(
    "spec,expected",
    [("0-4", [0, 1, 2, 3, 4]), ("3", [3]), ("0,2,5", [0, 2, 5]), ("0-1,5", [0, 1, 5]), (7, [7]), ([1, "3-4"], [1, 3, 4])],
)
def test_seed_ranges(spec: object, expected: list[int]) -> None:
    assert parse_seeds(spec) == expected


@pytest.mark.parametrize("spec", ["4-0", "a", "0-", "1..3", ""])
def test_malformed_seed_range(spec: str) -> None:
    with pytest.raises(UserError, match="seed range"):
        parse_seeds(spec)


@pytest.mark.parametrize("text", ["gamma", "gamma=", "=1", "gamma=1,,2"])
def test_malformed_param(text: str) -> None:
    with pytest.raises(UserError, match="--param"):
        parse_param(text)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--param", "focal.gamma=abc"], "expects a float"),
        (["--param", "gamma=-1"], "must be >= 0"),
        (["--param", "beta=1"], "unknown parameter 'beta'"),
        (["--param", "digits-lt.rho=x"], "expects a float"),
        (["--param", "erm.gamma=1"], "not selected"),
    ],
)
def test_bad_params_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        _cells("--tasks", "digits-lt", "--methods", "focal", *argv)


def test_method_of_another_family_is_an_empty_selection(fake_family: list[str]) -> None:
    with pytest.raises(UserError, match="empty selection"):
        expand(RunRequest(["digits-lt"], ["const"], [0], "smoke"))


def test_suite_file_with_cli_override(tmp_path: object) -> None:
    suite = tmp_path / "suite.toml"  # type: ignore[operator]
    suite.write_text('tasks = ["digits-lt"]\nmethods = ["focal"]\nseeds = "0-2"\n[params]\n"focal.gamma" = [0.5, 1]\n')
    args = build_parser().parse_args(["run", str(suite), "--seeds", "4", "--param", "focal.gamma=3"])
    request, _ = request_from_args(args)
    request.scale = "smoke"
    cells = expand(request)
    assert {(c.seed, c.method_params["gamma"]) for c in cells} == {(4, 3.0)}


def test_suite_with_unknown_key(tmp_path: object) -> None:
    suite = tmp_path / "suite.toml"  # type: ignore[operator]
    suite.write_text('tasks = ["digits-lt"]\nmethod = ["focal"]\n')
    with pytest.raises(UserError, match="unknown key 'method'"):
        request_from_args(build_parser().parse_args(["run", str(suite)]))
