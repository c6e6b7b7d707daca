"""A corpus larger than memory through the data_processing nodes, as `kedro run` runs them with
`raw_corpus: {in_memory: false}` and `corpus_train/corpus_val: ArrowDataset` (conf/hub's shape).

    .venv/bin/python benchmarks/bench_large_corpus.py [--corpus-mb 1024] [--num-proc 2]

A corpus of ``--corpus-mb`` MB of text files is generated: each document is three random
paragraphs of the standard-library docstrings; every 10th document repeats an earlier one word
for word (exact duplicate) and every 20th repeats one with a word changed (near duplicate). Then
the real nodes: TextSourceDataset(in_memory=False).load -> prepare_corpus -> clean_corpus
(normalise, mask PII, quality filters, exact dedup, MinHash-band near dedup) -> decontaminate_corpus
(against 200 of the paragraphs as held-out texts) -> split_corpus -> ArrowDataset.save ->
train_tokenizer (on a ``--sample-mb`` sample) -> tokenize_documents + TokenFileDataset.save.

Prints each stage's time and the memory of the whole process tree (this process and its
``num_proc`` workers), sampled every 0.2 s from /proc: PSS counts a page shared by several
processes once in all (the memory-mapped Arrow files are shared), so the sum over the tree is what
the run occupies; "anon" is its heap, the part the kernel cannot drop and reread from disk.
Aim: peak PSS of the tree below 3 GB.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from pathlib import Path

import datasets
import pandas as pd
import psutil

from lmladder.corpus.stdlib_docs import build_stdlib_corpus
from lmladder.datasets import ArrowDataset, TextSourceDataset, TokenFileDataset
from lmladder.parameters import default_parameters
from lmladder.pipelines.data_processing import nodes

MB = 1024 * 1024
# conf/base's data_processing parameters (the schema's defaults); the command line sets num_proc and the sample.
PARAMS = default_parameters()["data_processing"]


def write_corpus(folder: Path, paragraphs: list[str], megabytes: float, files: int = 16, seed: int = 0) -> int:
    """Write the generated corpus file by file, a document at a time: generating it costs no memory."""
    rng = random.Random(seed)
    written, recent = 0, []
    handles = [open(folder / f"part-{i:02d}.txt", "w", encoding="utf-8") for i in range(files)]
    try:
        for number in range(10**9):
            if number % 10 == 9 and recent:
                document = rng.choice(recent)
            elif number % 20 == 14 and recent:
                words = rng.choice(recent).split(" ")
                words[rng.randrange(len(words))] = "changed"
                document = " ".join(words)
            else:
                document = "\n".join(rng.choice(paragraphs) for _ in range(3))
            recent = (recent + [document])[-1000:]
            handles[number % files].write(document + "\n\n")
            written += len(document.encode("utf-8")) + 2
            if written >= megabytes * MB:
                return written
    finally:
        for handle in handles:
            handle.close()
    return written


def _rollup(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {}
    fields = (line.split() for line in lines[1:])
    return {parts[0].rstrip(":"): int(parts[1]) * 1024 for parts in fields if len(parts) >= 2 and parts[1].isdigit()}


class TreeMemory:
    """Samples PSS (and its anonymous part) of this process and its children in a thread; keeps the peaks."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak_pss, self.peak_anon, self.peak_processes = interval, 0, 0, 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> tuple[int, int]:
        me = psutil.Process()
        pids = [me.pid] + [child.pid for child in me.children(recursive=True)]
        rollups = [_rollup(pid) for pid in pids]
        pss = sum(r.get("Pss", 0) for r in rollups)
        anon = sum(r.get("Pss_Anon", 0) for r in rollups)
        self.peak_pss, self.peak_anon = max(self.peak_pss, pss), max(self.peak_anon, anon)
        self.peak_processes = max(self.peak_processes, len(pids))
        return pss, anon

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus-mb", type=float, default=1024)
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--sample-mb", type=float, default=20)
    args = parser.parse_args()
    datasets.disable_progress_bars()
    params = {**PARAMS, "corpus": {**PARAMS["corpus"], "num_proc": args.num_proc}}
    params["tokenizer"] = {**PARAMS["tokenizer"], "max_training_mb": args.sample_mb}
    params["packing"] = {**PARAMS["packing"], "num_proc": args.num_proc}

    paragraphs = sorted({p.strip() for text in build_stdlib_corpus()["text"] for p in text.split("\n\n") if len(p.strip()) > 40})
    held_out = pd.DataFrame({"text": random.Random(1).sample(paragraphs, 200)})

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "corpus").mkdir()
        start = time.perf_counter()
        corpus_bytes = write_corpus(folder / "corpus", paragraphs, args.corpus_mb)
        print(f"generated {corpus_bytes / MB:.0f} MB of text from {len(paragraphs):,} paragraphs in {time.perf_counter() - start:.0f} s")
        del paragraphs

        timings, memory = {}, {}
        with TreeMemory() as tree:
            baseline = tree.sample()

            def stage(name, function, *inputs):
                start = time.perf_counter()
                result = function(*inputs)
                timings[name] = time.perf_counter() - start
                memory[name] = tree.sample()
                return result

            raw_corpus = TextSourceDataset(
                source="text_files",
                path=str(folder / "corpus" / "*.txt"),
                document_unit="paragraph",
                in_memory=False,
                load_args={"cache_dir": str(folder / "cache")},
            )
            # Each intermediate is dropped after its last use, as Kedro's runner releases memory datasets.
            raw = stage("load_dataset('text') to Arrow", raw_corpus.load)
            documents = stage("prepare_corpus", nodes.prepare_corpus, raw, params["corpus"])
            del raw
            cleaned, stats = stage(
                "clean_corpus (filters, exact + near dedup)",
                nodes.clean_corpus,
                documents,
                params["cleaning"],
                params["dedup"],
                params["corpus"],
            )
            del documents
            clean, contaminated = stage(
                "decontaminate_corpus", nodes.decontaminate_corpus, cleaned, held_out, held_out.iloc[:0], 13, params["corpus"]
            )
            del cleaned
            train, val = stage("split_corpus", nodes.split_corpus_documents, clean, params["splits"], 0, params["corpus"])
            del clean
            splits = {
                "corpus_train": ArrowDataset(path=str(folder / "corpus_train")),
                "corpus_val": ArrowDataset(path=str(folder / "corpus_val")),
            }

            def save_splits(train, val):
                splits["corpus_train"].save(train)
                splits["corpus_val"].save(val)

            stage("save corpus_train/val (ArrowDataset)", save_splits, train, val)
            del train, val
            train, val = splits["corpus_train"].load(), splits["corpus_val"].load()
            tokenizer = stage(f"train_tokenizer ({args.sample_mb:.0f} MB sample)", nodes.train_tokenizer, train, params["tokenizer"], 0)

            def tokenize():
                for name, split in (("train", train), ("val", val)):
                    TokenFileDataset(filepath=str(folder / f"{name}_tokens.bin")).save(
                        nodes.tokenize_documents(split, tokenizer, "", params["packing"])
                    )
                return TokenFileDataset(filepath=str(folder / "train_tokens.bin")).load().metadata

            metadata = stage("tokenize + pack (TokenFileDataset)", tokenize)
            train_docs, val_docs = len(train), len(val)

    total = sum(timings.values())
    print(
        f"corpus: {corpus_bytes / MB:.0f} MB, {stats['docs_in']:,} documents in; "
        f"{sum(v for k, v in stats.items() if k.startswith('removed_') and k not in ('removed_exact_duplicates', 'removed_near_duplicates')):,} filtered, "
        f"{stats['removed_exact_duplicates']:,} exact and {stats['removed_near_duplicates']:,} near duplicates, {len(contaminated):,} contaminated; "
        f"{train_docs:,} train / {val_docs:,} val documents, {metadata['token_count']:,} train tokens"
    )
    print(f"  {'stage':<44} {'seconds':>8}   tree PSS after it (anon)")
    for name, seconds in timings.items():
        pss, anon = memory[name]
        print(f"  {name:<44} {seconds:8.1f}   {pss / MB:6.0f} MB ({anon / MB:5.0f} MB)")
    print(f"  {'total':<44} {total:8.1f}   {corpus_bytes / MB / total:.2f} MB/s end to end (num_proc={args.num_proc})")
    print(
        f"  peak PSS of the process tree: {tree.peak_pss / MB:.0f} MB (anon {tree.peak_anon / MB:.0f} MB; "
        f"before the corpus {baseline[0] / MB:.0f} MB; up to {tree.peak_processes} processes); aim < 3072 MB"
    )


if __name__ == "__main__":
    main()
