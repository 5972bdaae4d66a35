"""``harness merge``: stores from several machines, built from real cells (gaussian-lt, smoke).

The cells run once per module into a pristine store; each test assembles the stores it needs
from copies of those files (loose, packed, edited, damaged), so that every record is one the
runner really wrote.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from harness.plan import registry
from harness.plan.cells import Cell
from harness.common.errors import UserError
from harness.store.lease import try_acquire
from harness.cli.maintain import cmd_merge as main_merge, configure_merge
from harness.run.cell import RunOptions, Status, run_cell
from harness.store.codec import decode_record, encode_record
from harness.store.store import Store

TASK = "gaussian-lt"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[Cell], Cell]:
    """Four finished cells (erm, focal × seeds 0, 1) with predictions, and one failed cell."""
    registry.load_plugins()
    store = Store(tmp_path_factory.mktemp("pristine") / "store")
    cells = [Cell.build(TASK, m, s, "smoke") for m in ("erm", "focal") for s in (0, 1)]
    assert {run_cell(c, store, RunOptions(progress=False)).status for c in cells} == {Status.OK}
    failed = Cell.build(TASK, "erm", 7, "smoke")
    outcome = run_cell(failed, store, RunOptions(progress=False, timeout_s=1e-4))
    assert outcome.status is Status.FAILED and store.has_failed(failed)
    return store, cells, failed


def _store_of(pristine: tuple[Store, list[Cell], Cell], root: Path, cells: list[Cell], failed: bool = False) -> Store:
    """A store holding copies of the pristine records (and predictions) of ``cells``."""
    source, _, failed_cell = pristine
    store = Store(root)
    for cell in cells:
        for src, dst in ((source.record_path(cell), store.record_path(cell)), (source.preds_path(cell.key), store.preds_path(cell.key))):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    if failed:
        store.failure_path(failed_cell).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source.failure_path(failed_cell), store.failure_path(failed_cell))
    return store


def _merge(*argv: str) -> int:
    """`harness merge ARGV` as the command line runs it (a UserError is one line and exit 2)."""
    parser = argparse.ArgumentParser(prog="harness merge")
    configure_merge(parser)
    try:
        return main_merge(parser.parse_args(list(argv)))
    except UserError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2


def _snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``root``: bytes, inode and mtime (a rewrite with the same bytes shows too)."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        out[str(path.relative_to(root))] = (path.read_bytes(), stat.st_ino, stat.st_mtime_ns)
    return out


def _rows(pattern: str) -> object:
    import duckdb

    frame = duckdb.sql(f"SELECT * FROM read_parquet('{pattern}', union_by_name=true)").df()
    return frame[sorted(frame.columns)].sort_values(["cell_key", "metric"]).reset_index(drop=True)


def _summary(out: str) -> str:
    return out.strip().splitlines()[-1]


def _edited(table: pa.Table, metric: str, delta: float) -> pa.Table:
    hit = pc.equal(table.column("metric"), metric)
    values = pc.if_else(hit, pc.add(table.column("value"), delta), table.column("value"))
    return table.set_column(table.column_names.index("value"), "value", values)


# -- the union -------------------------------------------------------------------------------
def test_disjoint_stores_merge_to_their_union(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    a = _store_of(pristine, tmp_path / "a", cells[:2])
    b = _store_of(pristine, tmp_path / "b", cells[2:])
    dest = tmp_path / "dest"  # does not exist yet: merge creates it
    assert _merge(str(a.root), str(b.root), "--into", str(dest)) == 0
    assert _summary(capsys.readouterr().out).startswith("4 copied, 0 already present (identical), 0 conflicts, 0 corrupt skipped")

    union = _rows(f"{tmp_path}/[ab]/records/*/*.parquet")
    merged = _rows(f"{dest}/records/*/*.parquet")
    assert list(merged.columns) == list(union.columns) and merged.equals(union)
    assert len(merged) == 4 * 8  # eight metrics per gaussian-lt cell
    for cell in cells:  # each cell's predictions came with it, byte for byte, and verify
        origin = a if cell in cells[:2] else b
        assert (dest / "preds" / f"{cell.key}.parquet").read_bytes() == origin.preds_path(cell.key).read_bytes()
        assert Store(dest).load_predictions(cell.key) is not None
    from harness.store.fsck import fsck

    report = fsck(Store(dest)).report
    assert (report.verified, report.legacy, len(report.damaged)) == (4, 0, 0)

    before = _snapshot(dest)  # merging the same stores again changes nothing
    assert _merge(str(a.root), str(b.root), "--into", str(dest)) == 0
    assert _summary(capsys.readouterr().out).startswith("0 copied, 4 already present (identical), 0 conflicts")
    assert _snapshot(dest) == before


def test_identical_overlap_is_not_copied(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    dest = _store_of(pristine, tmp_path / "dest", cells[:2])
    src = _store_of(pristine, tmp_path / "src", cells[:3])
    before = _snapshot(dest.root)
    assert _merge(str(src.root), "--into", str(dest.root)) == 0
    assert _summary(capsys.readouterr().out).startswith("1 copied, 2 already present (identical), 0 conflicts")
    after = _snapshot(dest.root)
    assert {k: v for k, v in after.items() if k in before} == before  # the overlapping files were not rewritten
    assert sorted(set(after) - set(before)) == sorted([f"preds/{cells[2].key}.parquet", f"records/{TASK}/{cells[2].key}.parquet"])


def test_dest_defaults_to_harness_store(pristine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    src = _store_of(pristine, tmp_path / "src", cells[:1])
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "env-store"))
    assert _merge(str(src.root)) == 0
    assert Store(tmp_path / "env-store").record_files() == [Store(tmp_path / "env-store").record_path(cells[0])]
    monkeypatch.setenv("HARNESS_STORE", " ")
    assert _merge(str(src.root)) == 2 and "is empty" in capsys.readouterr().err


# -- conflicts -------------------------------------------------------------------------------
def _conflicting_copy(pristine, root: Path, cells: list[Cell], edit: Cell, delta: float = 0.0123) -> Store:
    """A store whose record of ``edit`` has another balanced accuracy, rehashed: a valid record."""
    store = _store_of(pristine, root, cells)
    path = store.record_path(edit)
    table, _ = decode_record(path.read_bytes())
    path.write_bytes(encode_record(_edited(table, "balanced_accuracy", delta)))
    decode_record(path.read_bytes())  # verifies: the edit is not damage, it is other numbers
    return store


def test_a_conflict_keeps_dest_and_exits_1(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    dest = _store_of(pristine, tmp_path / "dest", cells[:2])
    src = _conflicting_copy(pristine, tmp_path / "src", cells[:2], edit=cells[1])
    before = _snapshot(dest.root)
    assert _merge(str(src.root), "--into", str(dest.root)) == 1
    out = capsys.readouterr().out
    assert _snapshot(dest.root) == before  # DEST unchanged, byte for byte
    (line,) = [x for x in out.splitlines() if x.startswith("conflict")]
    mine = dict(zip(*pq.read_table(dest.record_path(cells[1]), columns=["metric", "value"]).to_pydict().values()))
    theirs = dict(zip(*pq.read_table(src.record_path(cells[1]), columns=["metric", "value"]).to_pydict().values()))
    assert theirs["balanced_accuracy"] != mine["balanced_accuracy"]
    for part in (cells[1].key[:12], TASK, "erm", "seed 1", "balanced_accuracy", repr(mine["balanced_accuracy"]),
                 repr(theirs["balanced_accuracy"])):
        assert part in line, (part, line)
    assert "more metric" not in line  # only one metric differs
    assert _summary(out).startswith("0 copied, 1 already present (identical), 1 conflicts, 0 corrupt skipped")


def test_two_sources_disagreeing_the_first_wins_and_the_second_is_reported(pristine, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    first = _store_of(pristine, tmp_path / "first", cells[:1])
    second = _conflicting_copy(pristine, tmp_path / "second", cells[:1], edit=cells[0], delta=1e-12)
    dest = tmp_path / "dest"
    assert _merge(str(first.root), str(second.root), "--into", str(dest)) == 1
    out = capsys.readouterr().out
    assert _summary(out).startswith("1 copied, 0 already present (identical), 1 conflicts")
    assert str(second.root) in next(x for x in out.splitlines() if x.startswith("conflict"))
    kept = decode_record(Store(dest).record_path(cells[0]).read_bytes())[0]
    assert kept.equals(decode_record(first.record_path(cells[0]).read_bytes())[0])  # a 1e-12 difference is still a conflict


def test_timing_metrics_may_differ(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A speed registered with measures_time follows the machine: not a conflict."""
    from harness.plan.metrics import Metric, register_metric

    _, cells, _ = pristine
    register_metric(Metric("merge_test_cells_per_s", True, "a speed", measures_time=True))
    dest, src = Store(tmp_path / "dest"), Store(tmp_path / "src")
    for store, speed in ((dest, 10.0), (src, 12.5)):
        table, _ = decode_record(pristine[0].record_path(cells[0]).read_bytes())
        extra = table.slice(0, 1)
        extra = extra.set_column(extra.column_names.index("metric"), "metric", pa.array(["merge_test_cells_per_s"]))
        extra = extra.set_column(extra.column_names.index("value"), "value", pa.array([speed]))
        path = store.record_path(cells[0])
        path.parent.mkdir(parents=True)
        path.write_bytes(encode_record(pa.concat_tables([table, extra])))
    assert _merge(str(src.root), "--into", str(dest.root)) == 0
    assert _summary(capsys.readouterr().out).startswith("0 copied, 1 already present (identical), 0 conflicts")


# -- damaged and odd sources -----------------------------------------------------------------
def test_a_corrupt_source_record_is_reported_and_skipped(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    src = _store_of(pristine, tmp_path / "src", cells[:2])
    bad = src.record_path(cells[0])
    table = pq.read_table(bad)  # an edit that keeps the old hash: bit rot, as far as anyone can tell
    pq.write_table(_edited(table, "accuracy", 0.5), bad)
    damaged_bytes = bad.read_bytes()
    dest = tmp_path / "dest"
    assert _merge(str(src.root), "--into", str(dest)) == 1
    captured = capsys.readouterr()
    assert _summary(captured.out).startswith("1 copied, 0 already present (identical), 0 conflicts, 1 corrupt skipped")
    assert str(bad) in captured.err and "sha256" in captured.err
    assert Store(dest).record_files() == [Store(dest).record_path(cells[1])]  # the damaged record was not copied
    assert bad.read_bytes() == damaged_bytes and not (src.root / "quarantine").exists()  # the source is left alone


def test_damaged_predictions_stay_behind_and_come_later(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    src = _store_of(pristine, tmp_path / "src", cells[:1])
    preds = src.preds_path(cells[0].key)
    good = preds.read_bytes()
    table = pq.read_table(preds)
    pq.write_table(table.set_column(1, "pred", pc.add(table.column("pred"), 1)), preds)  # keeps the old hash
    dest = Store(tmp_path / "dest")
    assert _merge(str(src.root), "--into", str(dest.root)) == 1
    captured = capsys.readouterr()
    assert str(preds) in captured.err and "1 copied" in _summary(captured.out) and "1 corrupt skipped" in _summary(captured.out)
    assert dest.record_files() and not dest.preds_path(cells[0].key).exists()
    preds.write_bytes(good)  # a later merge from a good copy fills them in
    assert _merge(str(src.root), "--into", str(dest.root)) == 0
    assert "1 already present" in _summary(capsys.readouterr().out)
    assert dest.preds_path(cells[0].key).read_bytes() == good


@pytest.mark.parametrize("order", ["as compact writes it", "rows interleaved"])
def test_a_packed_source_merges(pristine, tmp_path: Path, order: str, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    from harness.store.compact import compact

    store, cells, _ = pristine
    src = _store_of(pristine, tmp_path / "src", cells)
    compact(src)
    assert src.record_files() == [] and len(src.pack_files()) == 1
    if order == "rows interleaved":  # a pack another tool wrote: a cell's rows are not contiguous
        (pack,) = src.pack_files()
        table = pq.read_table(pack)
        table = table.take(pa.array(sorted(range(table.num_rows), key=lambda i: (i % 7, i))))
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        data = sink.getvalue().to_pybytes()
        pack.unlink()
        pack.with_name(f"{hashlib.sha256(data).hexdigest()}.parquet").write_bytes(data)
    dest = _store_of(pristine, tmp_path / "dest", cells[:1])
    assert _merge(str(src.root), "--into", str(dest.root)) == 0
    assert _summary(capsys.readouterr().out).startswith("3 copied, 1 already present (identical), 0 conflicts")
    for cell in cells:  # each cell cut from the pack is the record the runner first wrote
        written = decode_record(dest.record_path(cell).read_bytes())[0]
        original = decode_record(store.record_path(cell).read_bytes())[0]
        assert written.sort_by("metric").equals(original), cell.method
    assert _rows(f"{dest.root}/records/*/*.parquet").equals(_rows(f"{store.root}/records/*/*.parquet"))


def test_a_damaged_pack_skips_its_cells(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.store.compact import compact

    _, cells, _ = pristine
    src = _store_of(pristine, tmp_path / "src", cells[:3])
    compact(src)
    (pack,) = src.pack_files()
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    pack.write_bytes(bytes(data))
    _store_of(pristine, src.root, cells[3:])  # and one good loose record beside it
    dest = Store(tmp_path / "dest")
    assert _merge(str(src.root), "--into", str(dest.root)) == 1
    captured = capsys.readouterr()
    assert _summary(captured.out).startswith("1 copied, 0 already present (identical), 0 conflicts, 1 corrupt skipped")
    assert str(pack) in captured.err and pack.exists()
    assert dest.record_files() == [dest.record_path(cells[3])]


def test_a_damaged_dest_record_is_replaced_by_a_good_copy(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """DEST's own damaged record goes to its quarantine (as any read of DEST does); the cell is
    then missing there, and the source's verified copy fills it."""
    _, cells, _ = pristine
    dest = _store_of(pristine, tmp_path / "dest", cells[:1])
    dest.record_path(cells[0]).write_bytes(b"PAR1 not parquet")
    src = _store_of(pristine, tmp_path / "src", cells[:1])
    assert _merge(str(src.root), "--into", str(dest.root)) == 0
    captured = capsys.readouterr()
    assert "quarantine" in captured.err and _summary(captured.out).startswith("1 copied")
    assert dest.record_path(cells[0]).read_bytes() != b"PAR1 not parquet" and Store(dest.root).is_finished(cells[0])


def test_failed_cells_are_not_merged(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, failed = pristine
    src = _store_of(pristine, tmp_path / "src", cells[:1], failed=True)
    dest = Store(tmp_path / "dest")
    dest.write_failure(cells[0], "CUDA out of memory")  # failed here, finished there
    assert _merge(str(src.root), "--into", str(dest.root)) == 0
    out = capsys.readouterr().out
    assert "1 failed cell(s) in the sources not merged" in out and _summary(out).startswith("1 copied")
    assert not dest.has_failed(failed) and not dest.is_finished(failed)
    assert not dest.has_failed(cells[0]) and dest.is_finished(cells[0])  # the finished copy clears DEST's failure


@pytest.mark.parametrize("make", ["missing", "file", "not-a-store", "dest-itself", "empty"])
def test_a_bad_source_exits_2_and_writes_nothing(pristine, tmp_path: Path, make: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    good = _store_of(pristine, tmp_path / "good", cells[:2])
    dest = _store_of(pristine, tmp_path / "dest", cells[2:3])
    (tmp_path / "plain").mkdir()
    bad = {"missing": str(tmp_path / "nowhere"), "file": str(good.record_path(cells[0])),
           "not-a-store": str(tmp_path / "plain"), "dest-itself": str(dest.root), "empty": ""}[make]
    before = _snapshot(dest.root)
    assert _merge(str(good.root), bad, "--into", str(dest.root)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("harness: error:"), err
    assert _snapshot(dest.root) == before


def test_an_unreadable_source_exits_2(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root reads any folder")
    _, cells, _ = pristine
    src = _store_of(pristine, tmp_path / "src", cells[:1])
    src.root.chmod(0)
    try:
        assert _merge(str(src.root), "--into", str(tmp_path / "dest")) == 2
    finally:
        src.root.chmod(0o755)
    assert "not readable" in capsys.readouterr().err and not (tmp_path / "dest").exists()


def test_dry_run_prints_what_would_be_copied_and_writes_nothing(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    src = _conflicting_copy(pristine, tmp_path / "src", cells[:3], edit=cells[0])
    dest = _store_of(pristine, tmp_path / "dest", cells[:1])
    before = _snapshot(dest.root)
    assert _merge(str(src.root), "--into", str(dest.root), "--dry-run") == 1
    out = capsys.readouterr().out
    would = sorted(x.split()[2] for x in out.splitlines() if x.startswith("would copy"))
    assert would == sorted(c.key[:12] for c in cells[1:3])
    assert sum(x.startswith("conflict") for x in out.splitlines()) == 1
    assert _summary(out).startswith("dry run, nothing written: 2 would be copied, 0 already present (identical), 1 conflicts")
    assert _snapshot(dest.root) == before
    assert _merge(str(src.root), "--into", str(tmp_path / "new"), "--dry-run") == 0  # into a store not made yet
    assert not (tmp_path / "new").exists()


# -- beside a run ----------------------------------------------------------------------------
def test_a_cell_a_live_run_is_computing_is_left_to_it(pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, cells, _ = pristine
    src = _store_of(pristine, tmp_path / "src", cells[:2])
    dest = Store(tmp_path / "dest")
    lease = try_acquire(dest.lease_path(cells[0].key), "a-run")  # this process: a live holder
    assert lease is not None
    with lease:
        assert _merge(str(src.root), "--into", str(dest.root)) == 1
        captured = capsys.readouterr()
        assert "1 busy" in _summary(captured.out) and f"busy {cells[0].key[:12]}" in captured.err
        assert not dest.record_path(cells[0]).exists() and dest.record_path(cells[1]).exists()
    assert _merge(str(src.root), "--into", str(dest.root)) == 0
    assert _summary(capsys.readouterr().out).startswith("1 copied, 1 already present (identical)")


def test_a_record_written_before_the_lease_is_compared_not_replaced(pristine, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """DEST lacked the cell when merge looked; a run stores it just before merge takes its lease:
    merge looks again under the lease and compares instead of writing over the run's record."""
    from harness.store import lease as leases
    from harness.store.merge import merge

    _, cells, _ = pristine
    src = _conflicting_copy(pristine, tmp_path / "src", cells[:1], edit=cells[0])
    dest = Store(tmp_path / "dest")
    original = leases.try_acquire

    def a_run_finishes_first(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        _store_of(pristine, dest.root, cells[:1])
        return original(path, *args, **kwargs)

    monkeypatch.setattr(leases, "try_acquire", a_run_finishes_first)
    result = merge([src.root], dest)
    assert result.copied == [] and len(result.conflicts) == 1
    assert dest.record_path(cells[0]).read_bytes() == pristine[0].record_path(cells[0]).read_bytes()


# -- hostile sources (issue 20) -----------------------------------------------------------------
def _crafted_pack(pristine, root: Path, column: str, value: str, keep: Cell | None = None) -> Path:
    """A source store whose only file is a pack of a real record with ``column`` set to
    ``value``, named by the sha256 of its bytes (so the pack's own check passes)."""
    import hashlib

    from harness.store.compact import encode_pack

    store, cells, _ = pristine
    table = pq.read_table(store.record_path(keep or cells[0])).replace_schema_metadata(None)
    table = table.set_column(table.column_names.index(column), column, pa.array([value] * len(table)))
    data = encode_pack(table)
    pack = root / "packs" / TASK / f"{hashlib.sha256(data).hexdigest()}.parquet"
    pack.parent.mkdir(parents=True)
    pack.write_bytes(data)
    return pack


@pytest.mark.parametrize("column, value", [
    ("cell_key", "../../../../outside"), ("cell_key", "{abs}/outside"), ("cell_key", "../" * 6 + "outside"),
    ("cell_key", "A" * 64), ("cell_key", "a" * 63 + "\0"), ("task", "../../outside"),
])
def test_a_crafted_pack_cannot_write_outside_dest(pristine, tmp_path: Path, column: str, value: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Was: a pack whose cell_key is ``../../../../outside`` passed fsck (exit 0) and merge wrote
    DEST/records/<task>/../../../../outside.parquet, outside DEST (exit 0)."""
    value = value.replace("{abs}", str(tmp_path))
    work = tmp_path / "a" / "b" / "c"  # deep enough that every key's target stays inside tmp_path, watched
    src, dest = work / "src", work / "dest"
    pack = _crafted_pack(pristine, src, column, value)
    before = _snapshot(tmp_path)
    assert _merge(str(src), "--into", str(dest)) == 1
    captured = capsys.readouterr()
    assert _summary(captured.out).startswith("0 copied, 0 already present (identical), 0 conflicts, 1 corrupt skipped")
    assert f"warning: {pack}: names {'cell key' if column == 'cell_key' else 'task name'} " in captured.err
    after = _snapshot(tmp_path)
    assert {k for k in after if not k.startswith("a/b/c/dest/")} == set(before)  # nothing written outside DEST
    assert [k for k in after if k.startswith("a/b/c/dest/") and "/leases/" not in k and "/records/" in k] == []
    parser = argparse.ArgumentParser(prog="harness fsck")
    from harness.cli.maintain import cmd_fsck, configure_fsck

    configure_fsck(parser)
    assert cmd_fsck(parser.parse_args(["--store", str(src), "--no-quarantine"])) == 1
    assert "0 packs verified, 1 damaged" in capsys.readouterr().out


def test_a_source_record_stripped_of_its_hash_is_not_copied(pristine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Was: copied "as read, with a hash from now on": merging laundered an unverifiable number."""
    _, cells, _ = pristine
    src = _store_of(pristine, tmp_path / "src", cells[:2])
    path = src.record_path(cells[0])
    pq.write_table(_edited(pq.read_table(path), "balanced_accuracy", 0.0342).replace_schema_metadata(None), path)
    dest = Store(tmp_path / "dest")
    assert _merge(str(src.root), "--into", str(dest.root)) == 1
    captured = capsys.readouterr()
    assert _summary(captured.out).startswith("1 copied, 0 already present (identical), 0 conflicts, 0 corrupt skipped, 1 unverified skipped")
    assert f"{path}: no content hash; skipped, not copied" in captured.err
    assert dest.record_files() == [dest.record_path(cells[1])]
    monkeypatch.setenv("HARNESS_ALLOW_UNVERIFIED", "1")  # the user's explicit word
    assert _merge(str(src.root), "--into", str(dest.root)) == 0
    assert "1 source record(s) without a content hash copied as read" in capsys.readouterr().out
    assert dest.record_path(cells[0]).exists()


def test_importing_merge_stays_light() -> None:
    code = "import sys, harness.store.merge; print(sorted(m for m in ('pyarrow', 'pandas', 'numpy', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_records_only_leaves_the_predictions_behind(pristine, tmp_path: Path) -> None:
    """What the committed store is built with: the records of a run, without its per-example outputs."""
    source = _store_of(pristine, tmp_path / "src", pristine[1][:2])
    assert len(list((source.root / "preds").glob("*.parquet"))) == 2
    dest = tmp_path / "dest"
    assert _merge(str(source.root), "--into", str(dest), "--records-only") == 0
    assert Store(dest).load([TASK])["cell_key"].nunique() == 2 and not list((dest / "preds").glob("*.parquet"))
