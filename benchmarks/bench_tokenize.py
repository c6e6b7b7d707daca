"""Tokenise + pack throughput against raw ``Tokenizer.encode_batch``, and peak memory on a large corpus.

    .venv/bin/python benchmarks/bench_tokenize.py [--corpus-mb 200] [--sample-mb 20]

1. Throughput: the same in-memory text is encoded by ``Tokenizer.encode_batch`` alone (the
   reference) and by lmladder's ``TokenStream`` + ``write_token_file`` (datasets.map, packing,
   writing the token file). Prints both in MB/s and their ratio (aim: >= 0.7).
2. Memory: a generated corpus of ``--corpus-mb`` MB of text files is loaded with
   ``datasets.load_dataset("text")`` (Arrow on disk) and packed; prints throughput and the peak
   resident memory of this process (aim: < 2 GB, i.e. streaming, not the corpus in RAM).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import datasets

from lmladder.corpus.packing import TokenStream, read_token_file, write_token_file
from lmladder.corpus.stdlib_docs import build_stdlib_corpus
from lmladder.corpus.tokenizer import train_bpe_tokenizer

MB = 1024 * 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def sample_texts(seed_texts: list[str], megabytes: float) -> list[str]:
    """Repeat the seed documents, each copy numbered so no two documents are identical."""
    texts, size, copy = [], 0, 0
    while size < megabytes * MB:
        for text in seed_texts:
            document = f"[{copy}] {text}"
            texts.append(document)
            size += len(document.encode("utf-8"))
        copy += 1
    return texts


def write_corpus_files(folder: Path, seed_texts: list[str], megabytes: float, files: int = 8, repeat_every: int = 0) -> int:
    """Write the corpus file by file, a document at a time, so generating it costs no memory.

    Each copy of the seed documents is numbered, so no two are identical, except every
    ``repeat_every``-th copy (0: none), which repeats them word for word: exact duplicates.
    """
    written, copy = 0, 0
    handles = [open(folder / f"part-{i:02d}.txt", "w", encoding="utf-8") for i in range(files)]
    try:
        while written < megabytes * MB:
            repeated = repeat_every and copy % repeat_every == repeat_every - 1
            for index, text in enumerate(seed_texts):
                document = (text if repeated else f"[{copy}] {text}") + "\n\n"
                handles[index % files].write(document)
                written += len(document.encode("utf-8"))
            copy += 1
    finally:
        for handle in handles:
            handle.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus-mb", type=float, default=200)
    parser.add_argument("--sample-mb", type=float, default=20)
    parser.add_argument("--vocab-size", type=int, default=8192)
    args = parser.parse_args()
    datasets.disable_progress_bars()

    seed_texts = build_stdlib_corpus()["text"].tolist()
    tokenizer = train_bpe_tokenizer(seed_texts, args.vocab_size)

    texts = sample_texts(seed_texts, args.sample_mb)
    sample_bytes = sum(len(text.encode("utf-8")) for text in texts)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        reference_tokens = sum(len(encoding.ids) for encoding in tokenizer.encode_batch(texts))
        reference_s = time.perf_counter() - start

        dataset = datasets.Dataset.from_dict({"text": texts})
        start = time.perf_counter()
        metadata = write_token_file(Path(tmp) / "sample.bin", TokenStream(dataset, tokenizer))
        ours_s = time.perf_counter() - start
    assert metadata["token_count"] == reference_tokens + len(texts)  # + one end-of-text per document
    del texts, dataset

    reference_mbps, ours_mbps = sample_bytes / MB / reference_s, sample_bytes / MB / ours_s
    print(f"throughput on {sample_bytes / MB:.1f} MB ({reference_tokens:,} tokens, vocab {args.vocab_size}):")
    print(f"  Tokenizer.encode_batch (reference)   {reference_mbps:8.2f} MB/s  {reference_tokens / reference_s:12,.0f} tokens/s")
    print(f"  lmladder tokenise + pack + write     {ours_mbps:8.2f} MB/s  {metadata['token_count'] / ours_s:12,.0f} tokens/s")
    print(f"  ratio lmladder / reference           {ours_mbps / reference_mbps:8.2f}  (aim >= 0.7)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "corpus").mkdir()
        corpus_bytes = write_corpus_files(folder / "corpus", seed_texts, args.corpus_mb)
        rss_before = peak_rss_mb()
        start = time.perf_counter()
        corpus = datasets.load_dataset(
            "text",
            data_files=str(folder / "corpus" / "*.txt"),
            sample_by="paragraph",
            split="train",
            cache_dir=str(folder / "cache"),
        )
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        metadata = write_token_file(folder / "corpus.bin", TokenStream(corpus, tokenizer, num_proc=None))
        pack_s = time.perf_counter() - start
        token_file = read_token_file(folder / "corpus.bin")
        assert len(token_file.tokens) == metadata["token_count"]

    print(f"large corpus: {corpus_bytes / MB:.0f} MB of text, {metadata['documents']:,} documents, {metadata['token_count']:,} tokens")
    print(f"  load_dataset('text') to Arrow        {load_s:8.1f} s")
    print(f"  tokenise + pack + write              {pack_s:8.1f} s  {corpus_bytes / MB / pack_s:.2f} MB/s")
    print(f"  peak RSS                             {peak_rss_mb():8.0f} MB  (before the large corpus: {rss_before:.0f} MB; aim < 2048 MB)")


if __name__ == "__main__":
    main()
