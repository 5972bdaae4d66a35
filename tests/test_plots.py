"""``harness plot``: the guard over committed figures, and what the long-tail figures show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.report import figures as figure_guard

from harness.plan import registry
from harness.cli import main
from harness.store.store import Store


# -- the guard -------------------------------------------------------------------------------
def _plot_scores(records: Any, store: Any, outdir: Path) -> list[Path]:
    """A plotter of the fake family: the score of every stored cell (notes no sources, so the
    guard falls back to every record of the family)."""
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "testing_scores.svg"
    rows = records.sort_values(["method", "seed"])
    path.write_text("<svg>" + ",".join(f"{m}:{s}:{v:.3f}" for m, s, v in zip(rows["method"], rows["seed"], rows["value"])) + "</svg>")
    return [path]


@pytest.fixture
def plotting(fake_family: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake family with a plotter, and a project root of its own (its results/figures)."""
    registry.register_plotter("testing", _plot_scores)
    monkeypatch.setattr("harness.common.files.ROOT", tmp_path / "project")
    yield tmp_path / "project" / "results" / "figures"
    registry._plotters.pop("testing", None)


def _run(store: Path, seeds: str) -> None:
    assert main(["run", "--tasks", "fake-task", "--methods", "const", "--seeds", seeds, "--store", str(store), "--no-report"]) == 0


def test_plot_refuses_to_replace_a_committed_figure_with_less(plotting: Path, tmp_path: Path, capsys: Any) -> None:
    full, partial = tmp_path / "full", tmp_path / "partial"
    _run(full, "0-2")
    _run(partial, "0-1")
    assert main(["plot", "--store", str(full)]) == 0
    figure = plotting / "testing_scores.svg"
    committed = figure.read_text()
    assert committed.count("const:") == 3
    manifest = json.loads((plotting / "figures.json").read_text())
    assert manifest["testing_scores"]["cells"] == {"fake-task · const(label=x,value=0.5) · small": [0, 1, 2]}
    capsys.readouterr()

    assert main(["plot", "--store", str(partial)]) == 2  # seed 2 is not in that store
    err = capsys.readouterr().err
    assert "testing_scores would no longer show 1 cell(s) (e.g. fake-task · const(label=x,value=0.5) · small seed 2)" in err
    assert "--force" in err and err.count("\n") == 1
    assert figure.read_text() == committed

    elsewhere = tmp_path / "scratch"
    assert main(["plot", "--store", str(partial), "--output", str(elsewhere)]) == 0  # another folder: always written
    assert (elsewhere / "testing_scores.svg").read_text().count("const:") == 2
    assert figure.read_text() == committed

    assert main(["plot", "--store", str(full)]) == 0  # the same cells (or more): redrawn
    assert main(["plot", "--store", str(partial), "--force"]) == 0
    assert figure.read_text().count("const:") == 2
    assert json.loads((plotting / "figures.json").read_text())["testing_scores"]["cells"] == {
        "fake-task · const(label=x,value=0.5) · small": [0, 1]}


def test_plot_refuses_a_committed_figure_it_knows_nothing_about(plotting: Path, tmp_path: Path, capsys: Any) -> None:
    _run(tmp_path / "s", "0-2")
    plotting.mkdir(parents=True)
    (plotting / "testing_scores.svg").write_text("<svg>hand-made</svg>")
    assert main(["plot", "--store", str(tmp_path / "s")]) == 2
    assert "testing_scores has no entry in figures.json" in capsys.readouterr().err
    assert (plotting / "testing_scores.svg").read_text() == "<svg>hand-made</svg>"


def test_lost_cells_compares_seeds_per_group() -> None:
    old = {"t · a · small": [0, 1, 2], "t · b · small": [0]}
    assert figure_guard.lost_cells(old, {"t · a · small": [0, 1, 2, 3], "t · b · full": [0]}) == ["t · b · small seed 0"]
    assert figure_guard.lost_cells(old, {**old, "t · c · small": [5]}) == []


# -- long-tail figures -----------------------------------------------------------------------
def _record(method: str, params: dict[str, Any], seed: int, value: float) -> dict[str, Any]:
    task = {"few_threshold": 20, "many_threshold": 100, "n_max": 125, "rho": 10.0, "split_seed": 0}
    return {"cell_key": f"{method}{params}{seed}", "task": "digits-lt", "family": "longtail", "method": method, "seed": seed,
            "scale": "small", "metric": "balanced_accuracy", "value": value,
            "params_json": json.dumps({"method": params, "task": task})}


def test_tau_sweep_keeps_one_line_per_base() -> None:
    from tasks.longtail.plots import tau_series

    rows = [_record("logit_adjust_posthoc", {"base": "erm", "tau": t}, s, 0.9 + t / 100) for t in (0.0, 0.5, 1.0, 1.5, 2.0) for s in (0, 1)]
    rows += [_record("logit_adjust_posthoc", {"base": "logit_adjust", "tau": -1.0}, s, 0.5) for s in (0, 1)]
    rows += [_record("logit_adjust", {"tau": 1.0}, s, 0.95) for s in (0, 1)]
    scale, series = tau_series(pd.DataFrame(rows))
    assert scale == "small"
    assert {k: sorted(set(v["tau"])) for k, v in series.items()} == {
        "LA loss (τ in training)": [1.0],
        "post-hoc, base=erm": [0.0, 0.5, 1.0, 1.5, 2.0],
        "post-hoc, base=logit_adjust": [-1.0],
    }
    assert (series["post-hoc, base=erm"]["value"] > 0.8).all()  # the base=logit_adjust point is not on the erm line


def test_a_redraw_gives_the_same_bytes(tmp_path: Path) -> None:
    from tasks.longtail.plots import tau_sweep_figure

    rows = pd.DataFrame([_record("logit_adjust_posthoc", {"base": "erm", "tau": t}, s, 0.9 + t / 100 + s / 1000)
                         for t in (0.0, 1.0, 2.0) for s in (0, 1)])
    first = tau_sweep_figure("digits-lt", rows, tmp_path / "a")
    second = tau_sweep_figure("digits-lt", rows, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]  # no date, no random SVG ids


def test_frequency_bands_keep_equal_counts_together() -> None:
    from tasks.longtail.plots import frequency_bands

    counts = np.array([100, 25, 100, 50, 75, 25, 100, 50, 25, 75, 100, 30])
    bands = frequency_bands(counts, bands=4)
    flat = np.concatenate(bands)
    assert sorted(flat) == list(range(len(counts)))
    assert [sorted(set(counts[b]), reverse=True) for b in bands] == [[100], [75, 50], [30, 25]]
    assert list(counts[flat]) == sorted(counts, reverse=True)


@pytest.fixture(scope="module")
def digits_store(tmp_path_factory: Any) -> Store:
    root = tmp_path_factory.mktemp("digits") / "store"
    assert main(["run", "--tasks", "digits-lt", "--methods", "logit_adjust,focal", "--seeds", "0-1", "--scale", "smoke",
                 "--store", str(root), "--no-report"]) == 0
    return Store(root)


def test_per_class_matrix_is_the_mean_recall_of_each_class(digits_store: Store) -> None:
    from harness.plan.metrics import per_class_accuracy
    from tasks.longtail.plots import per_class_matrix

    records = digits_store.load(["digits-lt"])
    scale, rows, matrix, counts, used = per_class_matrix("digits-lt", records, digits_store)
    assert scale == "smoke"
    assert rows == ["erm (n=2)", "focal (n=2)", "logit_adjust (n=2)"]  # the baseline first
    assert matrix.shape == (3, 10) and len(counts) == 10 and counts[0] > counts[-1]
    erm = records[records["method"] == "erm"].drop_duplicates("cell_key")["cell_key"]
    expected = np.mean([per_class_accuracy(p["y"].to_numpy(), p["pred"].to_numpy(), 10)
                        for p in map(digits_store.load_predictions, erm)], axis=0)
    np.testing.assert_allclose(matrix[0], expected)
    assert set(used["cell_key"]) == set(records["cell_key"])


@pytest.mark.parametrize("many", [20, 4])  # 4: digits' 10 classes drawn as frequency bands
def test_per_class_figure_is_written_with_its_sources(digits_store: Store, tmp_path: Path, many: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.longtail import plots

    monkeypatch.setattr(plots, "MANY_CLASSES", many)
    figure_guard.take_noted()
    paths = plots.per_class_figure("digits-lt", digits_store.load(["digits-lt"]), digits_store, tmp_path)
    assert [p.name for p in paths] == ["longtail_digits-lt_per_class.png", "longtail_digits-lt_per_class.svg"]
    svg = paths[1].read_text()
    assert "logit_adjust (n=2)" in svg and "training" in svg
    assert ("frequency band" in svg) == (many == 4)
    assert figure_guard.take_noted()["longtail_digits-lt_per_class"]["digits-lt · erm · smoke"] == [0, 1]


def test_no_predictions_no_per_class_figure(digits_store: Store, tmp_path: Path) -> None:
    from tasks.longtail.plots import per_class_figure

    class RecordsOnly:  # like the committed results/store: records, no per-example predictions
        def load_predictions(self, key: str) -> None:
            return None

    assert per_class_figure("digits-lt", digits_store.load(["digits-lt"]), RecordsOnly(), tmp_path) == []
    assert not list(tmp_path.iterdir())


def test_heatmap_colour_scale_is_zero_to_one() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tasks.longtail.plots import _heatmap

    fig, ax = plt.subplots()
    image = _heatmap(ax, np.array([[0.91, 0.95], [0.88, np.nan]]), ["a", "b"], ["c0", "c1"])
    assert image.get_clim() == (0.0, 1.0)  # a narrow range is shown as it is, never stretched
    assert sorted(t.get_text() for t in ax.texts) == ["0.88", "0.91", "0.95", "no test\nexample"]
    plt.close(fig)


def test_ner_panel_shows_only_the_from_scratch_protocol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A MiniLM cell of CoNLL-2003 is another protocol: the F1-vs-speed panel (BiLSTM heads) must
    not average it in (it did: the filter read a column that records do not have)."""
    import pandas as pd

    import tasks.ner.plots as ner_plots

    rows = [{"task": "conll2003", "scale": "small", "method": "crf", "seed": s, "tp_encoder": enc, "params_json": "{}", "metric": m, "value": v}
            for s in (0, 1) for enc, f1 in (("bilstm", 0.6), ("minilm", 0.9))
            for m, v in (("f1", f1), ("train_sents_per_cpu_s", 500.0))]
    seen: list[float] = []
    real_errorbar = __import__("matplotlib.axes", fromlist=["Axes"]).Axes.errorbar

    def spy(self: Any, x: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend(float(v) for v in (y if hasattr(y, "__len__") else [y]))
        return real_errorbar(self, x, y, *args, **kwargs)

    monkeypatch.setattr("matplotlib.axes.Axes.errorbar", spy)
    ner_plots.f1_vs_speed(pd.DataFrame(rows), None, tmp_path)
    assert seen and all(abs(v - 60.0) < 1e-9 for v in seen), seen
