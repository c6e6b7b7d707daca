import pytest
import torch

from lmladder.training.objectives import IGNORE_INDEX, mask_tokens

SPECIAL = [0, 1, 2, 3]
MASK_ID = 3
VOCAB = 300


@pytest.fixture(scope="module")
def masked():
    ids = torch.randint(4, VOCAB, (400, 500), generator=torch.Generator().manual_seed(0))
    ids[:, ::10] = torch.tensor(SPECIAL).repeat(50)[:50]
    inputs, labels = mask_tokens(ids, MASK_ID, VOCAB, SPECIAL, 0.15, torch.Generator().manual_seed(1))
    return ids, inputs, labels


def test_about_15_percent_of_regular_tokens_are_selected(masked):
    ids, _, labels = masked
    selected = labels != IGNORE_INDEX
    regular = ~torch.isin(ids, torch.tensor(SPECIAL))
    assert selected.sum() / regular.sum() == pytest.approx(0.15, abs=0.015)


def test_selected_tokens_split_80_10_10(masked):
    ids, inputs, labels = masked
    selected = labels != IGNORE_INDEX
    count = selected.sum()
    masked_share = (selected & (inputs == MASK_ID)).sum() / count
    unchanged_share = (selected & (inputs == ids)).sum() / count
    random_share = (selected & (inputs != ids) & (inputs != MASK_ID)).sum() / count
    assert masked_share == pytest.approx(0.8, abs=0.03)
    assert unchanged_share == pytest.approx(0.1, abs=0.03)
    assert random_share == pytest.approx(0.1, abs=0.03)


def test_random_replacements_are_regular_tokens(masked):
    ids, inputs, labels = masked
    replaced = (labels != IGNORE_INDEX) & (inputs != ids) & (inputs != MASK_ID)
    assert inputs[replaced].min() >= 4
    assert inputs[replaced].max() < VOCAB


def test_special_tokens_are_never_selected(masked):
    ids, inputs, labels = masked
    special = torch.isin(ids, torch.tensor(SPECIAL))
    assert special.sum() == 400 * 50
    assert torch.all(labels[special] == IGNORE_INDEX)
    assert torch.equal(inputs[special], ids[special])


def test_labels_hold_the_original_ids_only_where_selected(masked):
    ids, inputs, labels = masked
    selected = labels != IGNORE_INDEX
    assert torch.equal(labels[selected], ids[selected])
    assert torch.equal(inputs[~selected], ids[~selected])


def test_same_generator_seed_same_masks():
    ids = torch.randint(4, VOCAB, (8, 64), generator=torch.Generator().manual_seed(0))
    first = mask_tokens(ids, MASK_ID, VOCAB, SPECIAL, generator=torch.Generator().manual_seed(5))
    second = mask_tokens(ids, MASK_ID, VOCAB, SPECIAL, generator=torch.Generator().manual_seed(5))
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])


def test_tiny_probability_still_yields_one_target():
    ids = torch.tensor([[0, 2, 17, 18, 19], [20, 21, 22, 23, 1]])
    inputs, labels = mask_tokens(ids, MASK_ID, VOCAB, SPECIAL, 1e-9, torch.Generator().manual_seed(0))
    selected = labels != IGNORE_INDEX
    assert selected.sum() == 1
    assert selected[0, 2]
    assert labels[0, 2] == 17


def test_all_special_tokens_yield_no_targets():
    ids = torch.tensor([[0, 1, 2, 3, 1]])
    inputs, labels = mask_tokens(ids, MASK_ID, VOCAB, SPECIAL, 0.5, torch.Generator().manual_seed(0))
    assert torch.all(labels == IGNORE_INDEX)
    assert torch.equal(inputs, ids)
