"""Bad input gets one clear line on stderr and exit 2, before any cell runs — no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.common.text import md_escape, tex_escape


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--timeout", "0", "--dry-run"], "--timeout must be a positive"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--timeout", "nan", "--dry-run"], "--timeout must be a positive"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--timeout", "-1", "--dry-run"], "--timeout must be a positive"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "4294967296", "--dry-run"], "out of range"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "0-2000000", "--dry-run"], "more than 10,000 seeds"),
        (["run", "--tasks", "gaussian-lt", "--methods", "erm", "--workers", "0", "--dry-run"], "--workers must be"),
        (["run", "--claims", "no-such-claim", "--dry-run"], "unknown claim or family"),
        (["run", "--claims", "longtail", "--tasks", "digits-lt", "--dry-run"], "drop --tasks"),
        (["claims", "--family", "nosuch"], "unknown family 'nosuch'"),
        (["results", "-o", "/nonexistent/dir/x.csv"], "does not exist"),
        (["table", "--store", "/typo/store"], "no store at /typo/store"),
        (["table", "--store", ""], "is empty"),
        ([], "name a verb"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], expected: str, capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    (tmp_path / "store").mkdir()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_suite_names_as_a_string_are_a_list(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    suite = tmp_path / "suite.toml"
    suite.write_text('tasks = "digits-lt,gaussian-lt"\nmethods = "erm"\nseeds = "0"\nscale = "smoke"\n')
    assert main(["run", str(suite), "--dry-run", "--no-baseline"]) == 0
    out = capsys.readouterr().out
    assert "2 cells" in out and "digits-lt × erm" in out and "gaussian-lt × erm" in out
    suite.write_text('tasks = ["digits-lt"]\nmethods = ["erm"]\nseeds = -1\n')
    assert main(["run", str(suite), "--dry-run"]) == 2
    assert "out of range" in capsys.readouterr().err


def test_table_metric_typo_and_empty_scale(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    assert main(["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke", "--no-report"]) == 0
    assert main(["table", "--metric", "balanced_acuracy"]) == 2
    assert "did you mean 'balanced_accuracy'" in capsys.readouterr().err
    assert main(["table", "--metric", "accuracy", "--scale", "full"]) == 0  # no full records: a line, not an IndexError
    assert "no records" in capsys.readouterr().out


def test_an_unimportable_plugin_is_one_line() -> None:
    env = {**os.environ, "HARNESS_PLUGINS": "nosuchmodule"}
    done = subprocess.run([sys.executable, "-m", "harness", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "cannot import plugin package 'nosuchmodule'" in done.stderr and "Traceback" not in done.stderr


def test_names_are_escaped_in_markdown_and_latex() -> None:
    assert md_escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert md_escape("a|b") == "a\\|b"
    assert tex_escape("CIFAR-10-LT ρ=100, 50% of_x") == "CIFAR-10-LT $\\rho$=100, 50\\% of\\_x"


# -- issue 20: params carry their ranges, suites are checked, grids are capped, no tracebacks ---------

@pytest.mark.parametrize(
    "argv,expected",
    [
        (["--tasks", "gaussian-lt", "--methods", "erm", "--param", "gaussian-lt.positive_rate=1.5"], "positive_rate must be in (0, 1), got '1.5'"),
        (["--tasks", "gaussian-lt", "--methods", "erm", "--param", "gaussian-lt.positive_rate=0"], "positive_rate must be in (0, 1)"),
        (["--tasks", "iflytek-few", "--methods", "erm", "--param", "dropout=1"], "dropout must be in [0, 1)"),
        (["--tasks", "gaussian-lt", "--methods", "class_balanced", "--param", "class_balanced.beta=1"], "beta must be in [0, 1)"),
        (["--tasks", "gaussian-lt", "--methods", "ldam_drw", "--param", "ldam_drw.s=0"], "s must be > 0"),
        (["--tasks", "atec", "--methods", "cosent", "--param", "atec.valid_fraction=1"], "valid_fraction must be in [0.01, 0.99]"),
    ],
)
def test_params_out_of_their_range_are_refused(argv: list[str], expected: str, capsys: pytest.CaptureFixture, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    assert main(["run", *argv, "--seeds", "0", "--scale", "smoke", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_every_float_param_of_the_families_declares_a_range_or_says_why_not() -> None:
    """Rates, fractions, scales and exponents carry their ranges; the few unbounded ones are listed."""
    from harness.plan import registry

    unbounded = {("pair-file", "label_min"), ("pair-file", "label_max"), ("csv-board", "tolerance"), ("flatnce-numerics", "s_pos"),
                 ("logit_adjust", "tau"), ("logit_adjust_posthoc", "tau"), ("powell-grid", "lo"), ("powell-grid", "hi")}
    missing = [(c.name, p.name) for c in [*registry.tasks().values(), *registry.methods().values()] for p in c.params
               if p.type == "float" and p.minimum is None and p.maximum is None and (c.name, p.name) not in unbounded]
    assert not missing, missing
    assert "positive_rate:float=0.05 ∈ (0, 1)" in registry.get_task("gaussian-lt").params[0].describe()


def _suite(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "suite.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


@pytest.mark.parametrize(
    "text,expected",
    [
        ('tasks = ["gaussian-lt"]\nmethods = ["erm"]\nscale = "huge"\n', "scale must be one of smoke, small, full, auto, got 'huge'"),
        ('tasks = ["gaussian-lt"]\nmethods = ["erm"]\nscal = "small"\n', "unknown key 'scal'; did you mean 'scale'?"),
        ('tasks = ["gaussian-lt"]\nmethods = ["erm"]\ndevice = "tpu"\n', "device must be one of auto, cpu, cuda"),
        ('tasks = ["gaussian-lt"]\nmethods = ["erm"]\nexecutor = 7\n', "executor must be one of local, pool, ray, slurm"),
        ('tasks = ["gaussian-lt"]\nmethods = ["erm"]\nparams = 3\n', "[params]: expected a table"),
        ('tasks = ["gaussian-lt"]\nmethods = ["erm"]\nseeds = true\n', "seeds must be a range"),
        ('tasks = ["gaussian-lt"]\nmethods = ["erm"]\n[params]\n"gaussian-lt.positive_rate" = 2.0\n', "positive_rate must be in (0, 1)"),
        ('tasks = ["gaussian-lt"]\nmethods = ["erm"]\n[params]\n"focal.gamma" = {a = 1}\n', "must be a value or a list of values"),
        (b"\xff\xfe\x00tasks = 1\x80\n", "is not UTF-8 text (byte 0"),
    ],
)
def test_suite_keys_and_values_are_checked(text: str | bytes, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    assert main(["run", _suite(tmp_path, text), "--seeds", "0", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "store").exists()


def test_a_folder_as_suite_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["run", str(tmp_path), "--dry-run"]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_an_unbounded_grid_is_refused_before_it_is_built(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """focal.gamma × n_train of 3,000 × 300 values hung the dry run past 120 s (900k cells)."""
    from harness.plan import grid

    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    built: list[int] = []
    real = grid.Cell.build
    monkeypatch.setattr(grid.Cell, "build", staticmethod(lambda *a, **k: built.append(1) or real(*a, **k)))
    gammas = ",".join(str(i) for i in range(1, 3001))
    sizes = ",".join(str(n) for n in range(100, 30001, 100))
    argv = ["run", "--tasks", "gaussian-lt", "--methods", "focal", "--no-baseline", "--seeds", "0", "--scale", "smoke", "--dry-run",
            "--param", f"focal.gamma={gammas}", "--param", f"n_train={sizes}"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "asks for 900,000 cells (focal.gamma: 3,000 values × n_train: 300 values × 1 seed), more than the cap of 5,000" in err
    assert "--max-cells" in err and built == []  # refused from the list lengths, not after building 900k cells
    small = ["run", "--tasks", "gaussian-lt", "--methods", "focal", "--no-baseline", "--seeds", "0-2", "--scale", "smoke", "--dry-run",
             "--param", "focal.gamma=1,2,3"]
    assert main([*small, "--max-cells", "8"]) == 2 and "asks for 9 cells" in capsys.readouterr().err
    assert main([*small, "--max-cells", "9"]) == 0 and "9 cells asked for" in capsys.readouterr().out
    assert main([*small, "--max-cells", "0"]) == 2 and "--max-cells must be an integer >= 1" in capsys.readouterr().err


def test_slurm_without_a_cluster_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no srun here
    pytest.importorskip("submitit")
    assert main(["run", "--tasks", "gaussian-lt", "--methods", "erm", "--seeds", "0", "--scale", "smoke", "--executor", "slurm",
                 "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "`srun` is not on this machine's PATH" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("verb", [["results", "--output"], ["results", "--format", "parquet", "--output"], ["table", "--out"],
                                  ["report", "--out"]])
def test_an_output_path_that_is_a_folder_is_one_line(verb: list[str], tmp_path: Path, capsys: pytest.CaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "store"
    (store / "records").mkdir(parents=True)
    folder = tmp_path / "out"
    folder.mkdir()
    assert main([*verb, str(folder), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert f"{folder} is a folder; give a file name" in err and "Traceback" not in err
