"""A corpus larger than memory through cleaning, deduplication, tokenizer training and packing.

    .venv/bin/python benchmarks/bench_large_corpus.py [--corpus-mb 1024] [--num-proc 2]

A corpus of ``--corpus-mb`` MB of text files is generated from the standard-library docstrings
(each copy numbered; every tenth copy unnumbered, so exact duplicates exist), then:
load_dataset("text") into a memory-mapped Arrow cache -> clean_large_corpus (normalise, mask PII,
quality filters, exact dedup; ``num_proc`` workers) -> a BPE tokenizer trained on a 20 MB sample ->
TokenStream + write_token_file (tokenise and append to the token file batch by batch).
Prints each stage's time and throughput and the peak resident memory of this process and of its
largest worker (aim: below 3 GB together, i.e. the corpus never sits in RAM).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import datasets
from bench_tokenize import MB, write_corpus_files  # this folder is on sys.path when run as a script

from lmladder.corpus.cleaning import QualityFilters
from lmladder.corpus.large import clean_large_corpus, load_text_corpus, sample_texts
from lmladder.corpus.packing import TokenStream, read_token_file, write_token_file
from lmladder.corpus.stdlib_docs import build_stdlib_corpus
from lmladder.corpus.tokenizer import train_bpe_tokenizer


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB; for children, the largest one


def resident_mb() -> dict[str, float]:
    """This process's resident memory now: anonymous (heap) and file-backed (memory-mapped Arrow
    files, page cache the kernel can drop) separately. Peak RSS counts both."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {name: int(fields[name].split()[0]) / 1024 for name in ("RssAnon", "RssFile")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus-mb", type=float, default=1024)
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--sample-mb", type=float, default=20)
    args = parser.parse_args()
    datasets.disable_progress_bars()
    seed_texts = build_stdlib_corpus()["text"].tolist()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "corpus").mkdir()
        start = time.perf_counter()
        corpus_bytes = write_corpus_files(folder / "corpus", seed_texts, args.corpus_mb, files=16, repeat_every=10)
        print(f"generated {corpus_bytes / MB:.0f} MB of text in {time.perf_counter() - start:.0f} s")
        del seed_texts
        rss_before = peak_rss_mb()

        timings, memory = {}, {}
        start = time.perf_counter()
        corpus = load_text_corpus(sorted((folder / "corpus").glob("*.txt")), cache_dir=str(folder / "cache"))
        timings["load_dataset('text') to Arrow"] = time.perf_counter() - start
        memory["load_dataset('text') to Arrow"] = resident_mb()

        start = time.perf_counter()
        filters = QualityFilters(min_chars=40, max_chars=100_000, max_symbol_ratio=0.5, min_alpha_ratio=0.3)
        cleaned, stats = clean_large_corpus(corpus, filters, num_proc=args.num_proc)
        timings["clean + exact dedup"] = time.perf_counter() - start
        memory["clean + exact dedup"] = resident_mb()

        start = time.perf_counter()
        tokenizer = train_bpe_tokenizer(sample_texts(cleaned, int(args.sample_mb * MB)), args.vocab_size)
        timings[f"tokenizer on a {args.sample_mb:.0f} MB sample"] = time.perf_counter() - start
        memory[f"tokenizer on a {args.sample_mb:.0f} MB sample"] = resident_mb()

        start = time.perf_counter()
        metadata = write_token_file(folder / "corpus.bin", TokenStream(cleaned, tokenizer, num_proc=args.num_proc))
        timings["tokenise + pack + write"] = time.perf_counter() - start
        memory["tokenise + pack + write"] = resident_mb()
        assert len(read_token_file(folder / "corpus.bin").tokens) == metadata["token_count"]

    total = sum(timings.values())
    print(f"corpus: {corpus_bytes / MB:.0f} MB, {stats['docs_in']:,} documents in; {stats['removed_by_filters']:,} filtered, "
          f"{stats['removed_exact_duplicates']:,} exact duplicates; {stats['docs_out']:,} packed as {metadata['token_count']:,} tokens")
    for name, seconds in timings.items():
        print(f"  {name:<36} {seconds:8.1f} s   after it: heap {memory[name]['RssAnon']:6.0f} MB, mapped files {memory[name]['RssFile']:6.0f} MB")
    print(f"  {'total':<36} {total:8.1f} s  {corpus_bytes / MB / total:.2f} MB/s end to end (num_proc={args.num_proc})")
    self_peak, worker_peak = peak_rss_mb(), peak_rss_mb(resource.RUSAGE_CHILDREN)
    print(f"  peak RSS: this process {self_peak:.0f} MB (before the corpus: {rss_before:.0f} MB), largest worker "
          f"{worker_peak:.0f} MB; at most {self_peak + args.num_proc * worker_peak:.0f} MB together (aim < 3072 MB)")


if __name__ == "__main__":
    main()
