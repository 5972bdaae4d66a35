"""The cell graph and the executors: bases run once and first, dependents fail with their base,
retries only for dead workers, Ctrl-C keeps finished cells, GPU slots, and the same records
from local, pool, ray and slurm (submitit's local backend)."""

from __future__ import annotations

import importlib
import os
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.plan import registry
from harness.plan.cells import Cell
from harness.run.graph import plan
from harness.run.cell import RunOptions, Status
from harness.run.scheduler import execute
from harness.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "tests" / "plugins"


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The chain test family, registered here and findable by worker processes; yields the
    log file each training and post-processing appends a line to."""
    log = tmp_path / "chain.log"
    monkeypatch.setenv("CHAIN_LOG", str(log))
    monkeypatch.setenv("HARNESS_PLUGINS", "tasks,methods,chainfam")
    monkeypatch.setenv("PYTHONPATH", f"{PLUGINS}{os.pathsep}{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("HARNESS_THREADS", "1")
    monkeypatch.syspath_prepend(str(PLUGINS))
    registry.load_plugins()
    module = importlib.import_module("chainfam.chain_family")
    for cls in (module.ChainTask, module.ChainTrain, module.ChainPost, module.ChainCrash, module.ChainRaise):
        registry.register(cls)
    yield log
    for name in ("chain_train", "chain_post", "chain_crash", "chain_raise"):
        registry._methods.pop(name, None)
    registry._tasks.pop("chain-task", None)


def events(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def trainings(log: Path) -> Counter[str]:
    """cell key → how many times it trained."""
    return Counter(line.split("key=")[1].split()[0] for line in events(log) if line.startswith("train "))


def sweep(seeds: range = range(2), shifts: tuple[float, ...] = (0.1, 0.2, 0.3), work_s: float = 0.2) -> list[Cell]:
    """A τ-sweep-like grid: only dependents asked for; their bases are for the graph to add."""
    return [Cell.build("chain-task", "chain_post", s, "smoke", {"work_s": work_s}, {"shift": x}) for s in seeds for x in shifts]


# -- the graph -----------------------------------------------------------------------------
def test_plan_adds_each_missing_base_once_and_orders_it_first(chain: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    the_plan = plan(sweep(), store)
    assert len(the_plan.added_bases) == 2 and len(the_plan.training) == 2 and len(the_plan.post_processing) == 6
    position = {c.key: i for i, c in enumerate(the_plan.to_run)}
    assert all(position[c.base.key] < position[c.key] for c in the_plan.post_processing)
    assert "2 train, 6 only post-process; 2 base cell(s) added" in the_plan.summary()


def test_a_stored_base_is_reused_not_rerun(chain: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    execute(sweep(shifts=(0.1,)), store, RunOptions(progress=False))
    second = plan(sweep(shifts=(0.2, 0.3)), store)
    assert not second.added_bases and not second.training and len(second.post_processing) == 4
    execute(second.to_run, store, RunOptions(progress=False))
    assert set(trainings(chain).values()) == {1} and len(trainings(chain)) == 2


def test_a_post_hoc_run_records_its_base_as_a_cell(tmp_path: Path) -> None:
    """Before: the base trained inline, its predictions stored but no record, so it planned as
    'to run' again, and each of N workers trained it."""
    store = Store(tmp_path / "s")
    posthoc = [Cell.build("gaussian-lt", "logit_adjust_posthoc", 0, "smoke", method_params={"tau": t}) for t in (0.5, 1.0)]
    outcomes = execute(posthoc, store, RunOptions(progress=False, workers=2))
    assert sorted(o.status.value for o in outcomes) == ["ok"] * 3
    erm = Cell.build("gaussian-lt", "erm", 0, "smoke")
    assert store.is_finished(erm) and plan([erm], store).cached == [erm]
    notes = store.load(["gaussian-lt"]).drop_duplicates("cell_key").set_index("method")["notes"]
    assert (notes["logit_adjust_posthoc"] == "reused base logits").all()


@pytest.mark.parametrize("workers", [1, 2])
def test_no_base_is_trained_twice(chain: Path, tmp_path: Path, workers: int) -> None:
    outcomes = execute(sweep(seeds=range(3)), Store(tmp_path / "s"), RunOptions(progress=False, workers=workers))
    assert Counter(o.status.value for o in outcomes) == {"ok": 12}
    assert len(trainings(chain)) == 3 and set(trainings(chain).values()) == {1}
    first_post = min(i for i, line in enumerate(events(chain)) if line.startswith("post "))
    assert first_post >= 1  # no dependent before some base finished
    for line in events(chain):
        if line.startswith("post "):  # every dependent ran after its own base
            seed = line.split("seed=")[1].split()[0]
            assert any(e.startswith("train ") and f"seed={seed} " in e for e in events(chain)[:events(chain).index(line)])


def test_a_failed_base_fails_its_dependents_with_its_error(chain: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    cells = [Cell.build("chain-task", "chain_post", 0, "smoke", method_params={"base": "chain_raise", "shift": x}) for x in (0.1, 0.2)]
    outcomes = execute(cells, store, RunOptions(progress=False))
    by_method = {o.cell.method + str(o.cell.method_params.get("shift", "")): o for o in outcomes}
    assert by_method["chain_raise"].status is Status.FAILED
    for shift in ("0.1", "0.2"):
        dependent = by_method[f"chain_post{shift}"]
        assert dependent.status is Status.FAILED
        assert dependent.error.startswith("base cell chain-task") and "chain_raise always raises" in dependent.error
        assert store.has_failed(dependent.cell) and not store.is_finished(dependent.cell)
    assert not any(line.startswith("post ") for line in events(chain))


# -- retries and dead workers ----------------------------------------------------------------
def test_a_dead_worker_is_retried_and_a_raising_cell_is_not(chain: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    crash, raises = (Cell.build("chain-task", m, 0, "smoke") for m in ("chain_crash", "chain_raise"))
    outcomes = {o.cell.method: o for o in execute([crash, raises], store, RunOptions(progress=False, workers=2, retries=2))}
    assert outcomes["chain_crash"].status is Status.OK and store.is_finished(crash)
    assert outcomes["chain_raise"].status is Status.FAILED
    assert trainings(chain) == {crash.key[:12]: 2, raises.key[:12]: 1}  # the crash retried once, the raise never


def test_without_retries_a_dead_worker_fails_its_cell_and_not_the_others(chain: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    crash = Cell.build("chain-task", "chain_crash", 0, "smoke")
    fine = [Cell.build("chain-task", "chain_train", s, "smoke") for s in range(4)]
    outcomes = {o.cell.key: o for o in execute([crash, *fine], store, RunOptions(progress=False, workers=2))}
    assert outcomes[crash.key].status is Status.FAILED and "worker died" in outcomes[crash.key].error
    assert "--retries 0" in outcomes[crash.key].error and store.has_failed(crash)
    assert all(store.is_finished(c) for c in fine)


# -- GPU slots (placement logic; no GPU needed: the cells do not touch CUDA) ----------------
def test_gpu_slots_give_each_worker_one_gpu_and_record_it(chain: Path, tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    cells = [Cell.build("chain-task", "chain_train", s, "smoke", {"work_s": 0.5}) for s in range(8)]
    options = RunOptions(progress=False, device="cuda", gpus=(3, 5), cells_per_gpu=2)
    assert Counter(o.status.value for o in execute(cells, store, options)) == {"ok": 8}
    seen = {line.split("pid=")[1].split()[0]: line.split("gpu=")[1] for line in events(chain)}
    assert len(seen) <= 4 and Counter(seen.values()) <= Counter({"3": 2, "5": 2})  # K workers per GPU, one GPU each
    records = store.load(["chain-task"]).drop_duplicates("cell_key")
    assert set(records["device"]) <= {"cuda:3", "cuda:5"} and set(records["workers_on_device"]) == {2}
    assert set(records["executor"]) == {"pool"}


# -- Ctrl-C ----------------------------------------------------------------------------------
@pytest.mark.parametrize("to", ["driver", "process group"])
def test_ctrl_c_keeps_finished_cells_and_records_no_running_one(chain: Path, tmp_path: Path, to: str) -> None:
    """SIGINT to the driver alone (``kill -INT``), or to its whole process group, workers too (a
    terminal's Ctrl-C). Was also (issue 20): the running cells' leases stayed behind until the
    next run or ``harness fsck``."""
    store_dir = tmp_path / "s"
    command = [sys.executable, "-m", "harness", "run", "--tasks", "chain-task", "--methods", "chain_train",
               "--seeds", "0-11", "--scale", "smoke", "--param", "work_s=1.5", "--workers", "2",
               "--store", str(store_dir), "--no-report"]
    # A shell started without job control (`cmd &` in a script) runs pytest with SIGINT ignored,
    # and a child inherits that: give the run the default disposition, as a terminal's would have.
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while len(Store(store_dir).record_files()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    held = list((store_dir / "leases").glob("*.lease"))
    if to == "driver":
        process.send_signal(signal.SIGINT)
    else:
        os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert held and not list((store_dir / "leases").glob("*.lease"))  # the run's leases went with it
    store = Store(store_dir)
    finished = set(store.load(["chain-task"])["seed"])
    started = {int(line.split("seed=")[1].split()[0]) for line in events(chain) if line.startswith("train ")}
    assert 2 <= len(finished) < 12 and finished <= started
    assert not store.failures()  # the interrupted cells are not recorded, not even as failed
    time.sleep(1.0)
    pids = {int(line.split("pid=")[1].split()[0]) for line in events(chain)}
    assert not [p for p in pids if _alive(p)]  # no orphaned worker


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


# -- cluster executors ---------------------------------------------------------------------
@pytest.mark.cluster
def test_slurm_through_submitit_runs_the_graph_with_the_same_records(chain: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("submitit")
    monkeypatch.setenv("HARNESS_SLURM_DIR", str(tmp_path / "jobs"))
    store = Store(tmp_path / "s")
    options = RunOptions(progress=False, executor="slurm", workers=2, cluster=(("slurm_backend", "local"),))
    outcomes = execute(sweep(seeds=range(2), shifts=(0.1, 0.2)), store, options)
    assert Counter(o.status.value for o in outcomes) == {"ok": 6}
    assert set(trainings(chain).values()) == {1} and len(trainings(chain)) == 2
    records = store.load(["chain-task"]).drop_duplicates("cell_key")
    assert set(records["executor"]) == {"slurm"} and len(records) == 6
    (folder,) = (tmp_path / "jobs").iterdir()  # one private folder for the run (issue 20: was <store>/slurm/<run id>)
    assert list(folder.glob("*_log.out"))  # submitit kept each job's log
    assert list(folder.glob("*.pkl")) and stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.stat().st_uid == os.geteuid()
    assert not (tmp_path / "s" / "slurm").exists()  # no pickle in the store, where anyone who writes it could plant one
    here = Store(tmp_path / "here")
    execute(sweep(seeds=range(2), shifts=(0.1, 0.2)), here, RunOptions(progress=False))
    values = lambda s: s.load(["chain-task"]).set_index(["cell_key", "metric"])["value"].sort_index()  # noqa: E731
    assert values(here).equals(values(store))  # the same cells, the same numbers, wherever they ran


def _jobs_under(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int = 0o700) -> Path:
    base = tmp_path / "jobs"
    base.mkdir(mode=mode)
    base.chmod(mode)
    monkeypatch.setenv("HARNESS_SLURM_DIR", str(base))
    return base


@pytest.mark.parametrize("case", ["open parent", "folder not private", "folder a symlink", "folder of another user",
                                  "parent of another user"])
def test_slurm_job_files_go_only_to_a_private_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """Was (issue 20): submitit's pickles, which the jobs execute, sat in ``<store>/slurm/``,
    where anyone who may write the store could plant one."""
    from harness.common.errors import UserError
    from harness.run.executors.slurm import job_folder

    if "another user" in case and os.geteuid() != 0:
        pytest.skip("needs root to give a folder to another uid")
    base = _jobs_under(tmp_path, monkeypatch, 0o777 if case == "open parent" else 0o700)
    if case == "folder not private":
        (base / "run1").mkdir(mode=0o755)
        (base / "run1").chmod(0o755)
    elif case == "folder a symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        (base / "run1").symlink_to(tmp_path / "elsewhere")
    elif case == "folder of another user":
        (base / "run1").mkdir(mode=0o700)
        os.chown(base / "run1", 54321, 54321)
    elif case == "parent of another user":
        os.chown(base, 54321, 54321)
    with pytest.raises(UserError, match="SLURM job f"):
        job_folder("run1")


def test_slurm_refuses_an_unsafe_job_folder_before_submitting(chain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("submitit")
    from harness.common.errors import UserError

    _jobs_under(tmp_path, monkeypatch, 0o777)
    store = Store(tmp_path / "s")
    options = RunOptions(progress=False, executor="slurm", workers=2, cluster=(("slurm_backend", "local"),))
    with pytest.raises(UserError, match="which others may write"):
        execute(sweep(seeds=range(1), shifts=(0.1,)), store, options)
    assert store.record_files() == [] and not events(chain)


def test_a_private_job_folder_is_made_0700(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.run.executors.slurm import job_folder

    monkeypatch.setenv("HARNESS_SLURM_DIR", str(tmp_path / "new" / "jobs"))
    folder = job_folder("run1")
    assert folder == (tmp_path / "new" / "jobs" / "run1").resolve() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert job_folder("run1") == folder  # a folder of ours, private: taken as it is


@pytest.fixture
def ray_cluster(chain: Path) -> Iterator[Any]:
    """A real two-node Ray cluster on this machine (a head that runs nothing, 2 workers)."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, nodes
    ray.shutdown()
    cluster.shutdown()


@pytest.mark.cluster
def test_ray_runs_the_graph_on_two_nodes_and_survives_losing_one(ray_cluster: Any, chain: Path, tmp_path: Path) -> None:
    import threading

    cluster, nodes = ray_cluster
    store = Store(tmp_path / "s")
    options = RunOptions(progress=False, executor="ray", retries=2, cluster=(("address", cluster.address),))
    first = execute(sweep(seeds=range(100, 102)), store, options)  # both nodes up: each base trains once
    assert Counter(o.status.value for o in first) == {"ok": 8} and set(trainings(chain).values()) == {1}
    chain.unlink()

    cells = sweep(seeds=range(6), shifts=(0.1, 0.2), work_s=1.0)

    def kill_a_node_mid_run() -> None:
        while sum(1 for line in events(chain) if line.startswith("train ")) < 3:
            time.sleep(0.05)
        cluster.remove_node(nodes[1], allow_graceful=False)

    killer = threading.Thread(target=kill_a_node_mid_run, daemon=True)
    killer.start()
    outcomes = execute(cells, store, options)
    killer.join(timeout=60)
    statuses = Counter(o.status.value for o in outcomes)
    assert sum(statuses.values()) == 18 and set(statuses) <= {"ok", "failed"}
    for o in outcomes:  # every cell is stored, or reported failed with why
        assert store.is_finished(o.cell) if o.status is Status.OK else ("lost" in o.error or "base cell" in o.error)
    assert statuses["ok"] == 18  # with --retries 2 the surviving node finished the lost cells
    pids = {line.split("pid=")[1].split()[0] for line in events(chain)}
    assert len(pids) >= 2  # the cells really ran on both nodes' workers
    records = store.load(["chain-task"]).drop_duplicates("cell_key")
    assert set(records["executor"]) == {"ray"} and len(records) == 8 + 18
    # a base retried after its node died trained twice at most; none finished twice
    assert max(trainings(chain).values()) <= 2 and records["cell_key"].is_unique


# -- bad executor flags: one line, exit 2, nothing written ------------------------------------
@pytest.mark.parametrize("flags, says", [
    (["--gpus", "0,1"], "need --device cuda"),
    (["--cells-per-gpu", "2"], "need --device cuda"),
    (["--retries", "-1"], "--retries must be an integer >= 0"),
    (["--address", "auto"], "--address is a setting of --executor ray"),
    (["--executor", "pool", "--partition", "gpu"], "--partition is a setting of --executor slurm"),
    (["--executor", "slurm", "--time", "0"], "--time must be an integer >= 1"),
])
def test_bad_executor_flags_exit_2_before_anything_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], says: str) -> None:
    from harness.cli import main

    store = tmp_path / "s"
    code = main(["run", "--tasks", "gaussian-lt", "--methods", "erm", "--scale", "smoke", "--device", "cpu",
                 "--store", str(store), *flags])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and says in err[0], err
    assert not store.exists()


def test_estimates_come_from_stored_timings_of_similar_cells(chain: Path, tmp_path: Path) -> None:
    """Before: a method never run on a task was estimated by the task's declared guess (1 s per
    chain cell; for real tasks a 1662 s estimate for a 262 s run). Now: the same method's stored
    timings, else the task's other training methods at that scale; post-processing, a measured share of that."""
    from harness.run import estimate

    store = Store(tmp_path / "s")
    execute([Cell.build("chain-task", "chain_train", s, "smoke", {"work_s": 0.3}) for s in range(3)], store, RunOptions(progress=False))
    trained = estimate.estimate_seconds(Cell.build("chain-task", "chain_train", 9, "smoke", {"work_s": 0.3}), store)
    other = estimate.estimate_seconds(Cell.build("chain-task", "chain_crash", 0, "smoke"), store)
    post = estimate.estimate_seconds(Cell.build("chain-task", "chain_post", 0, "smoke"), store)
    assert 0.3 <= trained < 1.0 and other == trained and post == pytest.approx(estimate.POST_PROCESS_SHARE * trained)


@pytest.mark.parametrize("executor, module", [("ray", "ray"), ("slurm", "submitit")])
def test_a_missing_executor_library_is_one_line_and_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch, executor: str, module: str) -> None:
    import importlib.util

    from harness.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))
    store = tmp_path / "s"
    code = main(["run", "--tasks", "gaussian-lt", "--methods", "erm", "--scale", "smoke", "--store", str(store), "--executor", executor])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [f"harness: error: --executor {executor} needs {module}: pip install -e '.[{executor}]'"]
    assert not store.exists()


def test_one_gpu_id_is_honoured_and_cells_go_to_the_gpu_that_is_free(chain: Path, tmp_path: Path) -> None:
    """Review findings: `--gpus 3` ran in the driver (no CUDA_VISIBLE_DEVICES, device=cuda); and
    cells were bound to a GPU when submitted, so two slow cells could queue on one GPU while the
    other idled. Now every GPU run uses the pool, and only as many cells as there are slots are
    submitted: a slot that frees up takes the next ready cell."""
    store = Store(tmp_path / "s")
    execute([Cell.build("chain-task", "chain_train", 0, "smoke")], store, RunOptions(progress=False, device="cuda", gpus=(3,)))
    assert set(store.load(["chain-task"])["device"]) == {"cuda:3"}
    slow_fast = [Cell.build("chain-task", "chain_train", s, "smoke", {"work_s": 2.0 if s % 2 else 0.05}) for s in range(1, 5)]
    execute(slow_fast, store, RunOptions(progress=False, device="cuda", gpus=(0, 1)))
    gpu_of = {line.split("key=")[1].split()[0]: line.split("gpu=")[1] for line in events(chain)}
    slow = [gpu_of[c.key[:12]] for c in slow_fast if c.task_params["work_s"] == 2.0]
    assert sorted(slow) == ["0", "1"]  # the two slow cells ran side by side, one per GPU


def test_a_pool_whose_idle_worker_died_is_started_anew(chain: Path, tmp_path: Path) -> None:
    """Review finding: pebble gives up on a pool whose only worker died while idle (an OOM kill
    between cells); the next submission raised 'Unexpected error within the Pool'."""
    from harness.run.executors.pool import PoolExecutor
    from harness.store.records import utc_now

    store = Store(tmp_path / "s")
    executor = PoolExecutor(RunOptions(progress=False, workers=1, executor="pool"), store, utc_now())
    try:
        first = executor.submit([Cell.build("chain-task", "chain_train", 0, "smoke")])
        assert executor.outcome(executor.wait(first, timeout=120)[0]).status is Status.OK
        os.kill(int(events(chain)[0].split("pid=")[1].split()[0]), signal.SIGKILL)
        time.sleep(1.0)
        later = executor.submit([Cell.build("chain-task", "chain_train", s, "smoke") for s in (1, 2)])
        done: list[Any] = []
        while len(done) < 2:
            done += executor.wait([h for h in later if h not in done], timeout=120)
        assert [executor.outcome(h).status for h in later] == [Status.OK, Status.OK]
    finally:
        executor.close()


def test_dry_run_counts_the_slots_the_run_will_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["run", "--tasks", "gaussian-lt", "--methods", "erm", "--scale", "smoke", "--seeds", "0-7", "--device", "cuda",
                 "--gpus", "0,1", "--workers", "8", "--store", str(tmp_path / "s"), "--dry-run"]) == 0
    assert "on 8 slots (pool)" in capsys.readouterr().out


def test_start_brings_the_pools_workers_up_before_any_cell_is_submitted(chain: Path, tmp_path: Path) -> None:
    """``Executor.start`` starts the pool's workers (and their imports) at once, so that they
    overlap the driver's progress bar and ETA instead of following the first submission."""
    import multiprocessing

    from harness.run.executors.pool import PoolExecutor
    from harness.store.records import utc_now

    executor = PoolExecutor(RunOptions(progress=False, workers=2, executor="pool"), Store(tmp_path / "s"), utc_now())
    try:
        before = set(multiprocessing.active_children())
        executor.start([Cell.build("chain-task", "chain_train", 0, "smoke")])
        deadline = time.monotonic() + 60
        while len(set(multiprocessing.active_children()) - before) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(set(multiprocessing.active_children()) - before) == 2
        assert events(chain) == []  # nothing ran: the workers only started
    finally:
        executor.close()
