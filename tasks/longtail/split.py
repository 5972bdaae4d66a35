"""A long-tail data split held in memory, and the EXP long-tail profile. No torch, no NumPy import
(the arrays arrive from the task's loader)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Split:
    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    n_classes: int
    table_rows: Any = None  # features that are ids into a hashed table: the table rows they index

    @property
    def counts(self) -> Any:
        import numpy as np

        return np.bincount(self.y_train, minlength=self.n_classes)


def exp_profile(n_max: int, rho: float, n_classes: int) -> list[int]:
    """EXP long-tail profile n_c = ⌊n_max · ρ^(−c/(C−1))⌋ (Cao et al. 2019; Menon et al. 2021)."""
    return [int(n_max * rho ** (-c / (n_classes - 1))) for c in range(n_classes)]
