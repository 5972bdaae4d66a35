"""The NER family's sections of ``results/tables/ner.md`` (the engine writes the page skeleton).

Rows are the five heads; each table holds the newest record per cell at the highest scale
stored for that task (``full`` > ``small`` > ``smoke``), bundled corpora and the from-scratch
encoder only (other encoders are other protocols). Cells: mean ± sample std (n seeds). Speeds are
per CPU second of one torch thread (see :mod:`tasks.ner._protocol`). The articles' BERT-base
numbers come from another protocol (a pretrained encoder fine-tuned on a GPU), so they have a
section of their own and never stand beside these cells. Torch-free.
"""

from __future__ import annotations

import statistics
from typing import Any

from harness.api import SCALE_ORDER, FamilyPage, PageView, Section, mean_sd, register_page

FAMILY = "ner"
TASKS = ("peoples-daily", "cluener", "conll2003", "wnut17")
METHODS = ("crf", "softmax", "globalpointer", "globalpointer_norope", "efficient_globalpointer")
# Published, BERT-base fine-tuned on a GPU (kexue.fm/archives/8373 and /8877)
PUBLISHED_F1 = {
    "peoples-daily": {"crf": 95.46, "globalpointer": 95.51, "globalpointer_norope": 62.59, "efficient_globalpointer": 95.36},
    "cluener": {"crf": 78.70, "globalpointer": 79.44, "efficient_globalpointer": 80.04},
}
PUBLISHED_VALID_F1 = {"peoples-daily": {"globalpointer": 96.25, "globalpointer_norope": 54.35}}
PUBLISHED_SPEED_VS_CRF = {"peoples-daily": 1.56, "cluener": 1.22}  # GlobalPointer training speed ÷ CRF's
BERT_HEAD_PARAMS = {"globalpointer": 2 * 768 * 64 + 2 * 64, "globalpointer_norope": 2 * 768 * 64 + 2 * 64,
                    "efficient_globalpointer": 4 * 64 + 2, "crf": 2 * (768 + 1), "softmax": 2 * (768 + 1)}

INTRO = """\
Articles: [GlobalPointer](https://kexue.fm/archives/8373) (2021-05-01) and
[Efficient GlobalPointer](https://kexue.fm/archives/8877) (2022-01-25), which fine-tune
BERT-base on a GPU. **Protocol of the tables below (not the articles')**: a from-scratch encoder
(a 1×64 BiLSTM over characters for Chinese, over words + a character CNN + casing for English)
trained on the CPU at `small` scale — fixed subsamples of ≤1,500 training / 300 valid / 1,000
test sentences, 4 epochs, Adam 1e-2, batch 32, the epoch with the best valid F1 kept. People's
Daily has no train file in the bundle: its train and valid sets are carved from the upstream dev
file (fixed seed) and its test set is the upstream test file. CLUENER's dev set is the test set
(test labels are not public) and valid is carved from train. On WNUT-17 (rare entities, 1,500
training sentences) no head learns anything at this scale. F1 is corpus-level exact-span micro F1
(equal to seqeval strict IOB2). The articles' BERT-base numbers are in their own section."""


def bilstm_cells(records: Any) -> Any:
    """The from-scratch encoder's cells (other encoders are other protocols)."""
    if len(records) and "tp_encoder" in records:
        return records[records["tp_encoder"].isna() | (records["tp_encoder"] == "bilstm")]
    return records


def _scale_of(df: Any, task: str) -> str | None:
    present = set(df.loc[df["task"] == task, "scale"]) if len(df) else set()
    return next((s for s in SCALE_ORDER if s in present), None)


def _cell(values: list[float], digits: int = 2, scale: float = 1.0) -> str:
    if not values:
        return "—"
    return mean_sd(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None, len(values), digits, scale)


def _values(df: Any, task: str, method: str, metric: str, scale: str | None) -> list[float]:
    if scale is None or not len(df):
        return []
    sel = df[(df["task"] == task) & (df["method"] == method) & (df["metric"] == metric) & (df["scale"] == scale)]
    return [float(v) for v in sel.sort_values("seed")["value"]]


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def sections(view: PageView) -> list[Section]:
    df = bilstm_cells(view.records)
    scales = {t: _scale_of(df, t) for t in TASKS}
    cols = [f"{t} ({scales[t] or 'no records'})" for t in TASKS]

    def per_method(metric: str, digits: int = 2, scale: float = 100.0) -> list[list[str]]:
        return [[m] + [_cell(_values(df, t, m, metric, scales[t]), digits, scale) for t in TASKS] for m in METHODS]

    speed_rows = []
    for m in METHODS:
        row = [m]
        for t in TASKS:
            v = _values(df, t, m, "train_sents_per_cpu_s", scales[t])
            crf = _values(df, t, "crf", "train_sents_per_cpu_s", scales[t])
            ratio = f" · {statistics.fmean(v) / statistics.fmean(crf):.2f}×" if v and crf else ""
            row.append(_cell(v, 0, 1.0) + ratio)
        speed_rows.append(row)
    params = [[m] + [f"{int(v[0]):,}" if (v := _values(df, t, m, "params_per_type", scales[t])) else "—" for t in TASKS] for m in METHODS]
    small = df[(df["metric"] == "cell_cpu_s") & (df["scale"] == "small") & df["task"].isin(TASKS)] if len(df) else df
    cost = f"\n\nCost of the `small` grid stored here: {len(small)} cells, {small['value'].sum() / 60:.1f} CPU minutes (one thread each)." if len(small) else ""
    published = [[m, *(f"{PUBLISHED_F1[t][m]:.2f}" if m in PUBLISHED_F1[t] else "" for t in PUBLISHED_F1),
                  f"{PUBLISHED_VALID_F1['peoples-daily'][m]:.2f}" if m in PUBLISHED_VALID_F1["peoples-daily"] else "",
                  f"{BERT_HEAD_PARAMS[m]:,}"] for m in METHODS]
    return [
        Section("Test F1 (×100), mean ± std (n seeds)", _table(["method", *cols], per_method("f1"))),
        Section("Valid F1 (×100)", _table(["method", *cols], per_method("valid_f1"))),
        Section("Head parameters per entity type (read from the model)", _table(["method", *TASKS], params) +
                "\n\nGP: 2·D·d + 2d; EGP: 4d + 2 (its shared D → 2d layer is not per type); CRF/softmax: the B-/I- rows "
                "of the emission layer, 2·(D + 1). D = 128 (BiLSTM 2×64), d = 64."),
        Section("Training speed: sentences per CPU second (one thread), and ratio to CRF", _table(["method", *cols], speed_rows)),
        Section("Prediction speed: sentences per CPU second (one thread)", _table(["method", *cols], per_method("predict_sents_per_cpu_s", 0, 1.0)) + cost),
        Section("Published: BERT-base fine-tuned on a GPU (the articles' protocol, not the one above)",
                _table(["method", "People's Daily test F1", "CLUENER test F1", "People's Daily valid F1", "head params per type (D = 768)"], published) +
                "\n\nTraining speed (GPU): GlobalPointer trains " +
                ", ".join(f"{r}× as fast as CRF on {t}" for t, r in PUBLISHED_SPEED_VS_CRF.items()) + "; EGP about as fast as GP."),
    ]


register_page(FAMILY, FamilyPage(title="NER: CRF vs softmax vs GlobalPointer vs Efficient GlobalPointer", intro=INTRO, sections=sections))
