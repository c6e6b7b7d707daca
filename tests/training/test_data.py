import numpy as np
import pytest
import torch

from lmladder.errors import ConfigError
from lmladder.training.data import FixedWindows, RandomWindows

TOKENS = np.arange(1000, dtype=np.uint16)


def test_random_windows_are_deterministic_per_seed_and_index():
    first = RandomWindows(TOKENS, block_size=16, num_samples=50, seed=7)
    second = RandomWindows(TOKENS, block_size=16, num_samples=50, seed=7)
    for index in (0, 1, 49, 17, 0):
        for a, b in zip(first[index], second[index], strict=True):
            assert torch.equal(a, b)
    assert len({int(first[i][0][0]) for i in range(50)}) > 40


def test_random_windows_depend_on_the_seed():
    starts = [int(RandomWindows(TOKENS, 16, 20, seed=seed)[3][0][0]) for seed in range(5)]
    assert len(set(starts)) > 1


def test_random_window_targets_are_inputs_shifted_by_one():
    dataset = RandomWindows(TOKENS, block_size=16, num_samples=30, seed=0)
    for index in range(30):
        inputs, targets = dataset[index]
        assert inputs.shape == targets.shape == (16,)
        assert inputs.dtype == targets.dtype == torch.int64
        assert torch.equal(inputs[1:], targets[:-1])
        start = int(inputs[0])
        assert torch.equal(inputs, torch.arange(start, start + 16))
        assert torch.equal(targets, torch.arange(start + 1, start + 17))


def test_random_windows_stay_inside_the_token_array():
    tokens = np.array([5, 6, 7, 8, 9, 10], dtype=np.uint16)
    dataset = RandomWindows(tokens, block_size=4, num_samples=40, seed=0)
    starts = {int(dataset[i][0][0]) for i in range(40)}
    assert starts == {5, 6}


def test_start_rotates_the_indices():
    fresh = RandomWindows(TOKENS, block_size=16, num_samples=10, seed=3)
    rotated = RandomWindows(TOKENS, block_size=16, num_samples=10, seed=3)
    rotated.start = 4
    for index in range(10):
        assert torch.equal(rotated[index][0], fresh[(index + 4) % 10][0])
    rotated.start = 23
    assert torch.equal(rotated[0][0], fresh[3][0])


def test_fixed_windows_are_evenly_spaced_and_non_overlapping():
    dataset = FixedWindows(np.arange(101, dtype=np.uint16), block_size=10)
    assert len(dataset) == 10
    starts = [int(dataset[i][0][0]) for i in range(len(dataset))]
    assert starts == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    inputs = torch.cat([dataset[i][0] for i in range(len(dataset))])
    assert torch.equal(inputs, torch.arange(100))
    inputs, targets = dataset[9]
    assert torch.equal(targets, torch.arange(91, 101))


def test_fixed_windows_count_is_capped_by_max_windows():
    dataset = FixedWindows(np.arange(101, dtype=np.uint16), block_size=10, max_windows=3)
    assert len(dataset) == 3
    assert [int(dataset[i][0][0]) for i in range(3)] == [0, 30, 60]
    assert len(FixedWindows(np.arange(101, dtype=np.uint16), block_size=10, max_windows=50)) == 10
    assert len(FixedWindows(np.arange(101, dtype=np.uint16), block_size=10, max_windows=None)) == 10


def test_exactly_one_window_is_enough():
    tokens = np.arange(17, dtype=np.uint16)
    assert len(FixedWindows(tokens, block_size=16)) == 1
    inputs, targets = RandomWindows(tokens, block_size=16, num_samples=3)[2]
    assert torch.equal(inputs, torch.arange(16))
    assert torch.equal(targets, torch.arange(1, 17))


@pytest.mark.parametrize("make", [lambda t: RandomWindows(t, 16, 4), lambda t: FixedWindows(t, 16)])
def test_token_array_shorter_than_one_window(make):
    with pytest.raises(ConfigError, match="block_size"):
        make(np.arange(16, dtype=np.uint16))
