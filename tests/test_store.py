"""The store: atomic writes, resume, failure isolation, corrupt files, readers, bad locations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harness.plan.cells import Cell
from harness.cli import main
from harness.common.errors import UserError
from harness.run.graph import Overwrite, plan
from harness.run.cell import RunOptions, Status, run_cell
from harness.run.scheduler import execute
from harness.store.store import Store

OPTS = RunOptions(progress=False)


def _cells(*methods: str, seeds: range = range(3)) -> list[Cell]:
    return [Cell.build("fake-task", m, s, "smoke") for m in methods for s in seeds]


def test_records_have_the_tidy_schema(fake_family: list[str], store: Store) -> None:
    (outcome,) = execute(_cells("const", seeds=range(1)), store, OPTS)
    assert outcome.status is Status.OK
    table = pq.read_table(store.record_path(outcome.cell)).to_pandas()
    for column in ["cell_key", "run_id", "task", "task_version", "family", "method", "method_version", "seed", "scale",
                   "split", "p_value", "tp_offset", "params_json", "metric", "value", "higher_is_better", "status",
                   "error", "wall_s", "train_s", "eval_s", "started_at", "finished_at", "git_sha", "git_dirty",
                   "harness_version", "python", "torch", "device", "gpu_name", "hostname", "executor",
                   "workers_on_device", "batch_size", "precision"]:
        assert column in table.columns, column
    assert table.loc[0, "value"] == pytest.approx(0.5)


def test_resume_skips_finished_cells(fake_family: list[str], store: Store) -> None:
    cells = _cells("const")
    execute(cells, store, OPTS)
    assert len(fake_family) == 3
    the_plan = plan(cells + _cells("const", seeds=range(3, 4)), store, Overwrite.NEVER)
    assert len(the_plan.cached) == 3 and [c.seed for c in the_plan.to_run] == [3]
    assert len(plan(cells, store, Overwrite.ALWAYS).to_run) == 3


def test_nan_fails_alone_and_is_not_cached(fake_family: list[str], store: Store) -> None:
    outcomes = execute(_cells("nan-method", "const", seeds=range(2)), store, OPTS)
    status = {(o.cell.method, o.cell.seed): o.status for o in outcomes}
    assert status == {("nan-method", 0): Status.FAILED, ("nan-method", 1): Status.FAILED,
                      ("const", 0): Status.OK, ("const", 1): Status.OK}
    failed = [o for o in outcomes if o.status is Status.FAILED]
    assert "non-finite" in failed[0].error
    assert not store.is_finished(failed[0].cell) and store.has_failed(failed[0].cell)
    assert set(store.load()["method"]) == {"const"}
    # retried next time (default), skipped with --overwrite missing
    assert len(plan(_cells("nan-method", seeds=range(2)), store, Overwrite.NEVER).to_run) == 2
    assert len(plan(_cells("nan-method", seeds=range(2)), store, Overwrite.MISSING).skipped_failed) == 2


def test_timeout_fails_the_cell(fake_family: list[str], store: Store) -> None:
    outcome = run_cell(Cell.build("fake-task", "slow-method", 0, "smoke"), store, RunOptions(timeout_s=0.05, progress=False))
    assert outcome.status is Status.FAILED and "timeout" in outcome.error


def test_run_exits_nonzero_with_failures_and_keeps_others(fake_family: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--tasks", "fake-task", "--methods", "const,nan-method", "--seeds", "0-2", "--scale", "smoke",
                 "--device", "cpu", "--store", str(tmp_path), "--no-report"])
    out = capsys.readouterr()
    assert code == 1
    assert "3 ran, 0 cached, 3 failed" in out.out and "FAILED" in out.err
    assert len(Store(tmp_path).record_files()) == 3


def test_corrupt_record_is_quarantined_and_recomputed(fake_family: list[str], store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    cell = _cells("const", seeds=range(1))[0]
    execute([cell], store, OPTS)
    store.record_path(cell).write_bytes(b"PAR1 this is not parquet")
    assert not store.is_finished(cell)
    assert "quarantine" in capsys.readouterr().err
    assert list((store.root / "quarantine").iterdir())
    execute([cell], store, OPTS)
    assert store.is_finished(cell) and len(store.load()) == 1


def test_killed_writer_leaves_no_partial_file(tmp_path: Path) -> None:
    """A process killed while writing a large record leaves nothing readable under the final name."""
    target = tmp_path / "records" / "big.parquet"
    script = textwrap.dedent(f"""
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq, sys
        from pathlib import Path
        from harness.common.files import atomic_write_bytes
        table = pa.table({{"x": np.random.default_rng(0).random(30_000_000)}})
        def slow_write(handle):
            print("writing", flush=True)
            pq.write_table(table, handle, row_group_size=100_000)
        atomic_write_bytes(Path({str(target)!r}), slow_write)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not target.exists()
    leftovers = list(target.parent.iterdir())
    assert leftovers and all(p.name.startswith(".") for p in leftovers)  # temp files are hidden and never read
    assert Store(tmp_path).record_files() == []
    Store(tmp_path).ensure_writable()  # the next writer removes what the dead one left
    assert list(target.parent.iterdir()) == []


def test_readers_read_the_store_directly(fake_family: list[str], store: Store) -> None:
    import duckdb
    import pandas as pd
    import pyarrow.dataset as ds

    execute(_cells("const"), store, OPTS)
    pattern = str(store.root / "records" / "*" / "*.parquet")
    n_duck = duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}', union_by_name=true)").fetchall()[0][0]
    n_arrow = ds.dataset(str(store.root / "records"), format="parquet").count_rows()
    n_pandas = len(pd.concat(pd.read_parquet(p) for p in store.record_files()))
    assert n_duck == n_arrow == n_pandas == 3


def test_unwritable_store_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(UserError, match="not writable"):
        Store(blocker / "store").ensure_writable()


def test_unwritable_store_on_cli_exits_2(fake_family: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["run", "--tasks", "fake-task", "--methods", "const", "--scale", "smoke", "--store", str(blocker / "s")])
    assert code == 2 and "not writable" in capsys.readouterr().err
    assert blocker.read_text() == "x"


def test_dry_run_writes_nothing(fake_family: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--tasks", "fake-task", "--methods", "const", "--seeds", "0-1", "--scale", "smoke",
                 "--store", str(tmp_path / "s"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and "2 to run (2 train, 0 only post-process)" in out and out.count("\n  train ") == 2 and "estimated work" in out
    assert not (tmp_path / "s").exists()


# -- compaction ------------------------------------------------------------------------------
def _sorted(df):  # type: ignore[no-untyped-def]
    return df.sort_values(["cell_key", "metric"]).reset_index(drop=True)


def test_compact_packs_records_and_reads_the_same(fake_family: list[str], store: Store) -> None:
    from harness.store.compact import compact

    cells = _cells("const", seeds=range(5))
    execute(cells, store, OPTS)
    before = _sorted(store.load())
    (result,) = compact(Store(store.root))
    assert result.cells == 5 and result.inputs == 5 and store.record_files() == []
    (pack,) = store.pack_files()
    assert pack.stem == __import__("hashlib").sha256(pack.read_bytes()).hexdigest()
    fresh = Store(store.root)
    after = _sorted(fresh.load())
    assert after[before.columns].equals(before[before.columns].astype(after[before.columns].dtypes))
    assert plan(cells, fresh, Overwrite.NEVER).to_run == []  # packed cells are cached
    assert compact(Store(store.root)) == []  # one file: nothing to do


def test_a_newer_loose_record_wins_over_its_packed_one(fake_family: list[str], store: Store) -> None:
    from harness.store.compact import compact

    cells = _cells("const", seeds=range(3))
    execute(cells, store, OPTS)
    compact(store)
    execute(cells[:1], store, OPTS)  # recomputed (--overwrite always) after compaction
    records = Store(store.root).load()
    assert len(records) == 3 and records["cell_key"].is_unique
    newest = records.set_index("cell_key").loc[cells[0].key, "finished_at"]
    assert newest == pq.read_table(store.record_path(cells[0])).column("finished_at")[0].as_py()
    (result,) = compact(Store(store.root))
    assert result.inputs == 2 and result.cells == 3 and len(store.pack_files()) == 1


def test_reading_compacts_past_the_threshold(fake_family: list[str], store: Store) -> None:
    execute(_cells("const", seeds=range(4)), store, OPTS)
    assert len(Store(store.root, auto_compact=5).load()) == 4 and len(store.record_files()) == 4
    assert len(Store(store.root, auto_compact=4).load()) == 4
    assert store.record_files() == [] and len(store.pack_files()) == 1
    assert len(Store(store.root).load()) == 4


def test_a_damaged_pack_is_quarantined(fake_family: list[str], store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.store.compact import compact

    execute(_cells("const", seeds=range(3)), store, OPTS)
    compact(store)
    (pack,) = store.pack_files()
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 4
    pack.write_bytes(bytes(data))
    assert len(Store(store.root).load()) == 0
    assert "do not match the sha256 in its name" in capsys.readouterr().err
    assert store.pack_files() == [] and len(list((store.root / "quarantine").glob("*.parquet"))) == 1


def test_duckdb_reads_both_layouts(fake_family: list[str], store: Store) -> None:
    import duckdb
    from harness.store.compact import compact

    execute(_cells("const", seeds=range(3)), store, OPTS)
    compact(store)
    execute(_cells("const", seeds=range(3, 5)), store, OPTS)
    files = [str(store.root / "records" / "*" / "*.parquet"), str(store.root / "packs" / "*" / "*.parquet")]
    n = duckdb.sql(f"SELECT count(DISTINCT cell_key) FROM read_parquet({files}, union_by_name=true)").fetchall()[0][0]
    assert n == 5


def test_a_run_prints_the_table_of_the_scale_it_ran(fake_family: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: a `--scale smoke` run over a store that also held small cells printed the small
    table ('scale small', without the smoke rows just run)."""
    common = ["run", "--tasks", "fake-task", "--seeds", "0-2", "--store", str(tmp_path / "s")]
    assert main([*common, "--methods", "const", "--scale", "small"]) == 0
    capsys.readouterr()
    assert main([*common, "--methods", "const", "--param", "value=0.7", "--scale", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "scale smoke" in out and "scale small" not in out and "0.70" in out
