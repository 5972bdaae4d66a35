"""The readers the README names for a store's parquet files get every column.

Records of different methods carry different ``p_*``/``tp_*`` columns (and one parameter name
may be an int for one task and a float for another), so the files of one store have different
schemas; a reader that takes the first file's schema (``pd.read_parquet(dir)``) silently drops
the rest. These tests read the committed store, whose packs differ that way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.common.files import ROOT
from harness.store.store import Store

COMMITTED = ROOT / "results" / "store"
PACKS = sorted(COMMITTED.glob("packs/*/*.parquet"))
pytestmark = pytest.mark.skipif(len(PACKS) < 2, reason="no committed store with several packs")


@pytest.fixture(scope="module")
def expected() -> tuple[set[str], int]:
    frame = Store(COMMITTED).load()
    return set(frame.columns), len(frame)


def test_the_files_do_differ_in_schema(expected: tuple[set[str], int]) -> None:
    import pandas as pd

    first = set(pq.read_schema(PACKS[0]).names)
    assert first < expected[0]  # what makes a first-file-schema reader lose columns
    naive = pd.read_parquet(COMMITTED / "packs")
    assert set(naive.columns) < expected[0] and len(naive) == expected[1]


def test_pyarrow_dataset_with_unified_schema_reads_every_column(expected: tuple[set[str], int]) -> None:
    import pyarrow.dataset as ds

    files = [str(p) for p in PACKS]
    with pytest.raises(pa.ArrowTypeError):  # tp_rho: int64 for cifar10-lt, double for digits-lt
        pa.unify_schemas([pq.read_schema(f) for f in files])
    schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive")
    table = ds.dataset(files, schema=schema).to_table()
    assert set(table.column_names) == expected[0] and table.num_rows == expected[1]


def test_duckdb_union_by_name_reads_every_column(expected: tuple[set[str], int]) -> None:
    duckdb = pytest.importorskip("duckdb")
    frame = duckdb.sql(f"SELECT * FROM read_parquet('{COMMITTED}/packs/*/*.parquet', union_by_name=true)").df()
    assert set(frame.columns) == expected[0] and len(frame) == expected[1]


def test_harness_results_exports_every_column(expected: tuple[set[str], int], tmp_path: Path) -> None:
    from harness.cli import main

    out = tmp_path / "all.parquet"
    assert main(["results", "--store", str(COMMITTED), "--format", "parquet", "-o", str(out)]) == 0
    table = pq.read_table(out)
    assert set(table.column_names) == expected[0] and table.num_rows == expected[1]


_MALLOC_INFO = (
    "import ctypes, io, contextlib, tempfile, threading\n"
    "from harness.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()): main(['list'])\n"
    "libc = ctypes.CDLL(None); libc.malloc.restype = ctypes.c_void_p; libc.free.argtypes = [ctypes.c_void_p]\n"
    "libc.fopen.restype = ctypes.c_void_p; libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]; libc.fclose.argtypes = [ctypes.c_void_p]\n"
    "def info():\n"
    "    path = tempfile.mktemp(); f = libc.fopen(path.encode(), b'w'); libc.malloc_info(0, f); libc.fclose(f)\n"
    "    return open(path).read()\n"
)


def _malloc_info_after(code: str, env_set: dict[str, str]) -> str:
    """stdout of ``code`` run after ``harness list`` in a fresh process (helpers: ``libc``, ``info()``),
    with the ``MALLOC_*`` variables of the environment replaced by ``env_set``."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env_set
    out = subprocess.run([sys.executable, "-c", _MALLOC_INFO + code], capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
@pytest.mark.parametrize(("users", "one_arena"), [({}, True), ({"MALLOC_ARENA_MAX": "4"}, False)])
def test_the_command_keeps_one_malloc_arena(users: dict[str, str], one_arena: bool) -> None:
    """`harness` keeps glibc's malloc to one arena (memory a helper thread freed is then reusable
    by the cells), unless the user set ``MALLOC_ARENA_MAX``: threads that allocate after ``main``
    starts share the main arena, which ``malloc_info`` lists alone."""
    code = (
        "def churn():\n"
        "    for _ in range(100): libc.free(libc.malloc(1000))\n"
        "threads = [threading.Thread(target=churn) for _ in range(3)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(info().count('<heap nr='))"
    )
    assert (int(_malloc_info_after(code, users)) == 1) is one_arena


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
@pytest.mark.parametrize(("users", "mapped"), [({}, 1), ({"MALLOC_MMAP_THRESHOLD_": str(1 << 20)}, 2)])
def test_the_command_fixes_the_mmap_threshold(users: dict[str, str], mapped: int) -> None:
    """`harness` maps blocks of 8 MB and more whole and serves smaller ones from the heap, whatever
    the process freed before (glibc's own threshold moves with that), unless the user set
    ``MALLOC_MMAP_THRESHOLD_``: of a 6 MB and a 10 MB block held at once, only the second is
    mapped (both are at a 1 MB threshold)."""
    code = (
        "count = lambda: int(re.findall(r'<total type=\"mmap\" count=\"(\\d+)\"', info())[-1])\n"
        "before = count(); blocks = [libc.malloc(6 << 20), libc.malloc(10 << 20)]\n"
        "print(count() - before)"
    )
    assert int(_malloc_info_after("import re\n" + code, users)) == mapped


@pytest.mark.parametrize(("users", "expected"), [(None, "system"), ("mimalloc", "mimalloc")])
def test_the_command_gives_arrow_the_system_allocator(users: str | None, expected: str) -> None:
    """`harness` reads stores with Arrow's system allocator, which returns what a read freed
    (mimalloc keeps it: +62 MB peak on the README's main job), unless the user chose one."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if users:
        env["ARROW_DEFAULT_MEMORY_POOL"] = users
    code = ("import io, contextlib; from harness.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['list'])\n"
            "import pyarrow; print(pyarrow.default_memory_pool().backend_name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == expected
