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


SENTINELS = list(range(4, 36))
END = 0


@pytest.fixture(scope="module")
def corrupted():
    from lmladder.training.objectives import corrupt_spans

    ids = torch.randint(36, VOCAB, (200, 128), generator=torch.Generator().manual_seed(0))
    return ids, *corrupt_spans(ids, SENTINELS, END, torch.Generator().manual_seed(1))


def test_span_corruption_shapes_follow_the_counts(corrupted):
    from lmladder.model.model import span_corruption_lengths

    ids, encoder, decoder_inputs, labels = corrupted
    encoder_length, decoder_length, noise, spans = span_corruption_lengths(128)
    assert encoder.shape == (200, encoder_length) and labels.shape == decoder_inputs.shape == (200, decoder_length)
    assert (noise, spans) == (19, 6)
    assert torch.equal(decoder_inputs[:, 0], torch.full((200,), END)) and torch.equal(decoder_inputs[:, 1:], labels[:, :-1])
    assert torch.equal(labels[:, -1], torch.full((200,), END))


def test_span_corruption_uses_each_sentinel_once_in_order_and_reconstructs_the_window(corrupted):
    ids, encoder, _, labels = corrupted
    for row in range(len(ids)):
        source, target = encoder[row].tolist(), labels[row, :-1].tolist()
        assert [t for t in source if t in SENTINELS] == SENTINELS[:6] == [t for t in target if t in SENTINELS]
        assert target[0] == SENTINELS[0]  # the target opens with the first span's sentinel
        spans, current = {}, None
        for token in target:
            if token in SENTINELS:
                current = token
                spans[current] = []
            else:
                spans[current].append(token)
        assert all(spans.values()), "every span holds at least one token"
        rebuilt = [t for token in source for t in (spans[token] if token in SENTINELS else [token])]
        assert rebuilt == ids[row].tolist()


def test_span_corruption_spans_differ_between_windows_and_hold_19_tokens_in_6_spans(corrupted):
    _, encoder, _, labels = corrupted
    assert len({tuple(row) for row in encoder.tolist()}) == 200
    noise_tokens = int((labels[:, :-1] >= 36).sum())
    assert noise_tokens / (200 * 6) == pytest.approx(19 / 6)


def test_span_corruption_is_reproducible_with_a_seeded_generator():
    from lmladder.training.objectives import corrupt_spans

    ids = torch.randint(36, VOCAB, (4, 64), generator=torch.Generator().manual_seed(0))
    first = corrupt_spans(ids, SENTINELS, END, torch.Generator().manual_seed(5))
    second = corrupt_spans(ids, SENTINELS, END, torch.Generator().manual_seed(5))
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_span_corruption_refuses_windows_with_more_spans_than_sentinels():
    from lmladder.errors import ConfigError
    from lmladder.training.objectives import corrupt_spans

    with pytest.raises(ConfigError, match=r"makes 6 spans, more than the tokenizer's 4 sentinels; lower pretraining.data.block_size"):
        corrupt_spans(torch.full((1, 128), 40), SENTINELS[:4], END)
