import pandas as pd

from lmladder.corpus.cleaning import QualityFilters, clean_documents
from lmladder.corpus.dedup import exact_duplicate_mask
from lmladder.corpus.large import clean_large_corpus, load_text_corpus, sample_texts

FILTERS = QualityFilters(min_chars=20, max_chars=10_000, max_symbol_ratio=0.5, min_alpha_ratio=0.3)
PARAGRAPHS = [
    "The socket module provides access to the BSD socket interface.",
    "Write to me at someone@example.com about the  socket module.",
    "short",
    "The socket module provides access to the BSD socket interface.",  # exact duplicate
    "THE SOCKET MODULE PROVIDES ACCESS TO THE BSD SOCKET INTERFACE.",  # same dedup key as the first
    "汉字的文本也应该被保留下来并且不被过滤掉，因为它是正常的文本。",
    "%%%% ### !!!! @@@@ $$$$ ^^^^ &&&& **** (((( )))) ____",
]


def test_large_path_cleans_like_the_in_memory_path_and_drops_exact_duplicates(tmp_path):
    for i, chunk in enumerate((PARAGRAPHS[:4], PARAGRAPHS[4:])):
        (tmp_path / f"part-{i}.txt").write_text("\n\n".join(chunk) + "\n")
    corpus = load_text_corpus(sorted(tmp_path.glob("*.txt")), cache_dir=str(tmp_path / "cache"))
    assert len(corpus) == len(PARAGRAPHS)

    cleaned, stats = clean_large_corpus(corpus, FILTERS, num_proc=2, batch_size=2)

    in_memory, _ = clean_documents(pd.DataFrame({"text": PARAGRAPHS}), FILTERS)
    expected = in_memory["text"][~exact_duplicate_mask(in_memory["text"])].tolist()
    assert cleaned["text"] == expected
    assert "<EMAIL>" in cleaned["text"][1]
    assert stats == {"docs_in": 7, "removed_by_filters": 2, "removed_exact_duplicates": 2, "docs_out": 3}
    assert sample_texts(cleaned, max_bytes=10)[:1] and len(sample_texts(cleaned, max_bytes=10**6)) == 3
