"""Run-to-run noise: how much a rung's numbers move when only the seed changes, and what that makes a tie.

Rungs that differ only in their seed form a group (same budget, size and architecture). Each group's
standard deviation is measured; the pooled value (root mean of the group variances) is the noise of
one measurement. Two means of n1 and n2 seeds are *within noise* when they differ by at most
``z`` x sigma x sqrt(1/n1 + 1/n2): with z = 2, a difference pure seed noise exceeds about one time in twenty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LOSS_METRICS = ("val_loss", "val_bits_per_byte")  # every task's: the fits and their bootstrap use them
METRICS = (*LOSS_METRICS, "macro_f1")  # classification's; see ``metrics_for`` for another task metric
MODEL_KEYS = ["kind", "budget", "preset", "architecture", "tokens"]  # what stays the same across a rung's seeds
Z = 2.0


def model_groups(rungs: pd.DataFrame) -> pd.DataFrame:
    """One row per model (rungs that differ only in seed), with the mean of every number and ``seeds``.

    The row keeps the name of its first-seed rung; ``names`` lists them all.
    """
    keys = [key for key in MODEL_KEYS if key in rungs.columns]
    numeric = [column for column in rungs.columns if column not in keys and pd.api.types.is_numeric_dtype(rungs[column])]
    grouped = rungs.groupby(keys, sort=False, dropna=False)
    table = grouped[numeric].mean()
    table["seeds"] = grouped.size()
    table["name"] = grouped["name"].first()
    table["names"] = grouped["name"].agg(list)
    return table.reset_index()


def metrics_for(task_metric_column: str) -> tuple[str, ...]:
    """The columns whose seed noise the analysis measures: the losses and the task metric."""
    return (*LOSS_METRICS, task_metric_column)


def seed_noise(rungs: pd.DataFrame, metrics: tuple[str, ...] = METRICS) -> dict:
    """Each multi-seed group's spread, and the pooled standard deviation per metric (None: not measured).

    A metric a rung did not measure (NaN, e.g. the bits/byte of an encoder-decoder) leaves its group out
    of that metric's pool.
    """
    keys = [key for key in MODEL_KEYS if key in rungs.columns]
    groups, variances = [], {metric: [] for metric in metrics}
    for _, rows in rungs.groupby(keys, sort=False, dropna=False):
        if len(rows) < 2:
            continue
        group = {"names": rows["name"].tolist(), "seeds": rows["seed"].tolist() if "seed" in rows else None}
        for metric in metrics:
            values = rows[metric].to_numpy(dtype=float)
            if np.isfinite(values).all():
                group[metric] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)), "range": float(np.ptp(values))}
                variances[metric].append(float(values.var(ddof=1)))
        groups.append(group)
    pooled = {metric: (float(np.sqrt(np.mean(values))) if values else None) for metric, values in variances.items()}
    return {"groups": groups, "pooled": pooled, "z": Z}


def noise_margin(sigma: float | None, seeds_a: int = 1, seeds_b: int = 1, z: float = Z) -> float:
    """The largest difference between two means (of ``seeds_a`` and ``seeds_b`` seeds) that noise explains."""
    if sigma is None:
        return 0.0
    return float(z * sigma * np.sqrt(1 / seeds_a + 1 / seeds_b))
