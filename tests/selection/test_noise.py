import numpy as np
import pandas as pd
import pytest

from lmladder.selection.noise import model_groups, noise_margin, seed_noise


def rung(name, preset, seed, loss, f1, budget="c1", kind="isoflop"):
    return {
        "name": name,
        "kind": kind,
        "budget": budget,
        "preset": preset,
        "architecture": "decoder",
        "tokens": 1000,
        "seed": seed,
        "params": 10.0,
        "val_loss": loss,
        "val_bits_per_byte": loss / 2,
        "macro_f1": f1,
    }


RUNGS = pd.DataFrame(
    [
        rung("c1_d1", "d1", 42, 5.0, 0.60),
        rung("c1_d1_seed1", "d1", 43, 5.2, 0.64),
        rung("c1_d2", "d2", 42, 4.0, 0.70),
        rung("c1_d2_seed1", "d2", 43, 4.1, 0.71),
        rung("c2_d2", "d2", 42, 3.5, 0.75, budget="c2"),
        rung("extra", "d2", 42, 3.6, 0.76, budget=None, kind="explicit"),
    ]
)


def test_seed_groups_pool_their_variances():
    noise = seed_noise(RUNGS)
    assert [group["names"] for group in noise["groups"]] == [["c1_d1", "c1_d1_seed1"], ["c1_d2", "c1_d2_seed1"]]
    first = noise["groups"][0]
    assert first["val_loss"]["mean"] == pytest.approx(5.1)
    assert first["val_loss"]["range"] == pytest.approx(0.2)
    assert first["val_loss"]["std"] == pytest.approx(np.std([5.0, 5.2], ddof=1))
    # pooled: the root of the mean within-group variance
    expected = np.sqrt((np.var([5.0, 5.2], ddof=1) + np.var([4.0, 4.1], ddof=1)) / 2)
    assert noise["pooled"]["val_loss"] == pytest.approx(expected)
    assert noise["pooled"]["macro_f1"] == pytest.approx(np.sqrt((np.var([0.60, 0.64], ddof=1) + np.var([0.70, 0.71], ddof=1)) / 2))


def test_without_repeated_seeds_the_noise_is_unmeasured():
    noise = seed_noise(RUNGS.iloc[[0, 2, 4]])
    assert noise["groups"] == [] and noise["pooled"] == {"val_loss": None, "val_bits_per_byte": None, "macro_f1": None}
    assert noise_margin(None) == 0.0


def test_model_groups_average_seeds_and_keep_other_rungs_apart():
    models = model_groups(RUNGS).set_index("name")
    assert list(models.index) == ["c1_d1", "c1_d2", "c2_d2", "extra"]
    assert models.loc["c1_d1", "seeds"] == 2 and models.loc["c1_d1", "val_loss"] == pytest.approx(5.1)
    assert models.loc["c1_d1", "names"] == ["c1_d1", "c1_d1_seed1"]
    assert models.loc["c2_d2", "seeds"] == 1 and pd.isna(models.loc["extra", "budget"])


def test_the_margin_shrinks_with_more_seeds():
    assert noise_margin(0.01) == pytest.approx(2 * 0.01 * np.sqrt(2))
    assert noise_margin(0.01, 4, 4) == pytest.approx(noise_margin(0.01) / 2)
