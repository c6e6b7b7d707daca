import numpy as np
import pandas as pd

from lmladder.corpus.dedup import (
    band_duplicate_mask,
    dedup_key,
    deduplicate,
    exact_duplicate_mask,
    lsh_band_hashes,
    near_duplicate_mask,
)
from tests.corpus.conftest import ONE_WORD_CHANGED, PARAGRAPH, UNRELATED


def test_dedup_key_ignores_case_and_spacing():
    assert dedup_key("Hello  World") == dedup_key(" hello\nWORLD\t") != dedup_key("hello worlds")


def test_exact_duplicates_after_the_first_are_flagged():
    mask = exact_duplicate_mask(["Hello  World", "other", "hello world", "HELLO\nworld "])
    assert mask.tolist() == [False, False, True, True]


def test_near_duplicate_with_one_word_changed_is_flagged():
    assert len(PARAGRAPH.split()) > 80
    assert near_duplicate_mask([PARAGRAPH, ONE_WORD_CHANGED]).tolist() == [False, True]


def test_unrelated_texts_are_kept():
    assert near_duplicate_mask([PARAGRAPH, UNRELATED, "short one", ""]).tolist() == [False, False, False, False]


def test_deduplicate_keeps_first_occurrences_and_counts_removals():
    docs = pd.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d", "e"],
            "text": [PARAGRAPH, "Hello world", ONE_WORD_CHANGED, "hello   WORLD", UNRELATED],
        }
    )
    kept, stats = deduplicate(docs)
    assert kept["doc_id"].tolist() == ["a", "b", "e"]
    assert kept.index.tolist() == [0, 1, 2]
    assert stats == {"removed_exact_duplicates": 1, "removed_near_duplicates": 1}


def test_lsh_band_hashes_match_where_the_lsh_index_finds_a_near_duplicate():
    texts = [PARAGRAPH, ONE_WORD_CHANGED, UNRELATED, "", PARAGRAPH.upper()]
    bands = lsh_band_hashes(texts)
    assert bands.shape == (5, 9) and bands.dtype == np.uint64  # 9 bands of 13 rows for 0.8 and 128 permutations
    assert (bands[0] == bands[1]).any() and not (bands[0] == bands[2]).any()
    assert (bands[3] == 0).all()  # no shingles: no band
    assert (bands[0] == bands[4]).all()  # shingles are case-folded
    assert band_duplicate_mask(bands.T).tolist() == near_duplicate_mask(texts).tolist() == [False, True, False, False, True]


def test_band_duplicates_are_compared_with_every_earlier_row_and_zero_is_no_band():
    # a~b share band 0, b~c share band 1, a and c share nothing: c goes too (near_duplicate_mask would keep it)
    bands = np.array([[1, 2], [1, 3], [4, 3], [0, 0], [0, 0]], dtype=np.uint64)
    assert band_duplicate_mask(bands.T).tolist() == [False, True, True, False, False]
    assert band_duplicate_mask([]).tolist() == []
