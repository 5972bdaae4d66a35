"""The matching family's sections of ``results/tables/matching.md`` (the engine writes the skeleton).

Rows are tasks, columns methods; each entry is ``mean ± std (n seeds)`` over the stored cells at
the task's default params (the from-scratch encoder) at scale small. The articles' BERT-base
numbers come from another protocol (a pretrained encoder fine-tuned on the full train sets), so
they have a section of their own and never stand beside these cells. Further sections:
first-epoch valid Spearman, the scoring speed of cached bi-encoder vectors against the
cross-encoder, the MiniLM calibration cell and the grid's measured minutes. Torch-free.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from harness.api import FamilyPage, PageView, Section, default_params, mean_sd, register_page, registry

FAMILY = "matching"
METHODS = ("cosent", "sbert", "cosine_mse", "interaction")
ORDER = ("atec", "bq", "lcqmc", "pawsx", "stsb-zh", "afqmc", "stsb-en", "mrpc", "pair-file")
SCALE = "small"

INTRO = """\
Articles: [CoSENT (1)](https://kexue.fm/archives/8847) (2022-01-06) and
[CoSENT (2)](https://kexue.fm/archives/8860) (2022-01-12), which fine-tune BERT-base on the full
train sets. **Protocol of the tables below (not the articles')**: scale small, a 1-layer d=64
Transformer trained from scratch on the CPU (characters for Chinese, BERT word pieces for
English, mean pooling), ≤2,000 train / 500 valid / 2,000 test pairs per task, 3 epochs, Adam 1e-3,
batch 32, the epoch with the best valid Spearman kept (the cross-encoder on binary tasks: best
valid accuracy). ATEC, BQ, LCQMC and PAWSX have no train file in the bundle: train/valid are
carved 80/20 from their valid files (valid_fraction=0.2, carve_seed=0); AFQMC and MRPC carve valid
10% from train. The articles' BERT-base numbers are in their own section."""


def default_records(records: Any, scale: str) -> Any:
    """Records of the family's tasks at their default task params and method params, one scale."""
    tasks = {name: default_params(cls) for name, cls in registry.tasks().items() if cls.family == FAMILY}
    methods = {name: default_params(cls) for name, cls in registry.methods().items() if FAMILY in cls.families}
    keep = []
    for task, method, params, sc in zip(records["task"], records["method"], records["params_json"], records["scale"]):
        p = json.loads(params)
        keep.append(sc == scale and task in tasks and p["task"] == tasks[task] and p["method"] == methods.get(method))
    return records[keep]


def _summary(values: list[float]) -> str:
    if not values:
        return "—"
    return mean_sd(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None, len(values), 2)


def _table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)])


def metric_table(records: Any, metric: str, tasks: list[str]) -> str:
    rows = []
    for task in tasks:
        sel = records[(records["task"] == task) & (records["metric"] == metric)]
        if not sel.empty:
            rows.append([task, *(_summary([float(v) for v in sel[sel["method"] == m]["value"]]) for m in METHODS)])
    return _table(["task", *METHODS], rows)


def speed_table(records: Any, tasks: list[str]) -> str:
    rows = []
    for task in tasks:
        def med(method: str, metric: str) -> float | None:
            v = records[(records["task"] == task) & (records["method"] == method) & (records["metric"] == metric)]["value"]
            return float(statistics.median(v)) if len(v) else None

        bi, bi_enc, cross = med("cosent", "pairs_per_s"), med("cosent", "pairs_per_s_with_encoding"), med("interaction", "pairs_per_s")
        if bi is not None and cross is not None and bi_enc is not None:
            rows.append([task, f"{bi:,.0f}", f"{bi_enc:,.0f}", f"{cross:,.0f}", f"{bi / cross:,.0f}×", f"{bi_enc / cross:,.1f}×"])
    return _table(["task", "cosent pairs/s (cached vectors)", "cosent pairs/s incl. encoding", "interaction pairs/s",
                   "ratio cached / cross", "ratio incl. encoding / cross"], rows)


def calibration_line(records: Any) -> str:
    rows = records[(records["task"] == "stsb-en") & (records["metric"] == "spearman")]
    for params, value in zip(rows["params_json"], rows["value"]):
        p = json.loads(params)["task"]
        if p.get("encoder") == "minilm" and p.get("freeze") and p.get("pooling") == "mean":
            return f"Frozen all-MiniLM-L6-v2 (mean pooling, cosine), STS-B en test: Spearman **{float(value):.2f}** (MTEB STSBenchmark: 82.03)."
    return "Frozen all-MiniLM-L6-v2 calibration cell: not run yet."


def majority_line(records: Any, tasks: list[str]) -> str:
    """The majority-class rate of each binary task's test split: an accuracy near it learned nothing."""
    if not len(records):
        return ""
    rows = records[records["metric"] == "majority_accuracy"]
    rates = rows.groupby("task")["value"].first()
    shown = ", ".join(f"{t} {rates[t]:.1f}" for t in tasks if t in rates.index)
    return f"Majority-class rate of each test split (a constant answer): {shown}; claims leave out a task where no compared model beats it." if shown else ""


def published_table(claims: list[Any], metric: str) -> str:
    """The articles' per-task numbers of ``metric`` (from the claims' ``published_by_task``)."""
    values: dict[str, dict[str, float]] = {}
    for claim in claims:
        if claim.metric == metric:
            for task, by_method in claim.published_by_task.items():
                values.setdefault(task, {}).update(by_method)
    rows = [[task, *(f"{values[task][m]:.2f}" if m in values[task] else "" for m in METHODS)] for task in ORDER if task in values]
    return _table(["task", *METHODS], rows)


def sections(view: PageView) -> list[Section]:
    records = default_records(view.records, SCALE) if len(view.records) else view.records
    tasks = [t for t in ORDER if t in registry.tasks()]
    cells = records.drop_duplicates("cell_key") if len(records) else records
    minutes = float(cells["wall_s"].sum() / 60.0) if len(cells) else 0.0
    return [
        Section("Test Spearman × 100 (mean ± std (n seeds))",
                f"Grid: {len(cells)} cells, {minutes:.1f} minutes of cell wall time on 1 thread each (shared 2-core CPU).\n\n"
                + metric_table(records, "spearman", tasks)),
        Section("Test accuracy × 100, every model at its best-valid-accuracy epoch (8860's selection)",
                metric_table(records, "accuracy_acc_selected", tasks) + "\n\nAt the threshold maximising valid accuracy; "
                "`accuracy` (the epoch kept by valid Spearman) and `accuracy_powell` (bojone/CoSENT's Powell search on tanh(t)) "
                "are stored beside it for every cell. " + majority_line(records, tasks)),
        Section("Valid Spearman lost while the training loss fell (8847's Sentence-BERT claim)",
                metric_table(records, "valid_spearman_fall", tasks)),
        Section("Valid Spearman × 100 after the first epoch (8847's convergence claim)", metric_table(records, "valid_spearman_epoch1", tasks)),
        Section("Scoring speed on the test split (median over seeds, same cells)", speed_table(records, tasks)),
        Section("Calibration of the evaluation path", calibration_line(view.records) if len(view.records) else calibration_line(records)),
        Section("Published: BERT-base fine-tuned on the full train sets (the articles' protocol, not the one above)",
                "Test Spearman × 100 (8847 Table A1):\n\n" + published_table(view.claims, "spearman")
                + "\n\nTest accuracy × 100 at the valid threshold (8860 Table B1):\n\n" + published_table(view.claims, "accuracy_acc_selected")
                + "\n\nFirst-epoch valid Spearman on ATEC (8847, BERT): CoSENT 48.78, SBERT 41.54."),
    ]


register_page(FAMILY, FamilyPage(title="Sentence matching: CoSENT vs Sentence-BERT vs cos-MSE vs interaction",
                                 intro=INTRO, sections=sections))
