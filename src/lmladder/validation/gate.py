"""The validation gate, and the fingerprints that keep it from going stale.

``data_processing`` records a fingerprint of each output it wrote in ``corpus_summary.json``, which
it writes last. Data validation recomputes them from the files as they are (a kill half-way through
processing leaves a mix that does not match the summary: validation fails, naming the file), and the
gate it writes, ``validated_data.json``, holds the fingerprints it validated and whether it passed.
Every training step recomputes the fingerprints of its own inputs and refuses to run when the gate
failed or its inputs are not the ones validated.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
from tokenizers import Tokenizer

from lmladder.corpus.tokenizer import tokenizer_sha256
from lmladder.errors import DataValidationError, StaleDataError


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Content hash of a table: its columns and every value, in order."""
    digest = hashlib.sha256(json.dumps(list(map(str, frame.columns))).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def token_file_fingerprint(metadata: dict) -> str:
    """A token file's identity from its metadata (token count, data fingerprint, tokenizer hash, ...);
    its size is checked against that metadata whenever it is opened."""
    return hashlib.sha256(json.dumps(metadata, sort_keys=True).encode("utf-8")).hexdigest()


def corpus_fingerprint(split) -> str:
    """A corpus split's content hash; an Arrow split (a corpus larger than memory) by its row count,
    as hashing it would mean reading it all once more."""
    return frame_fingerprint(split) if isinstance(split, pd.DataFrame) else f"{len(split)} rows"


def output_fingerprints(
    corpus: dict[str, object], labelled: dict[str, pd.DataFrame], token_files: dict[str, dict], tokenizer: Tokenizer
) -> dict[str, str]:
    """``{"corpus_train": ..., "labelled_train": ..., "train_tokens": ..., "tokenizer": ...}``: what
    data_processing wrote, and what training reads."""
    return {
        **{f"corpus_{name}": corpus_fingerprint(split) for name, split in corpus.items()},
        **{f"labelled_{name}": frame_fingerprint(frame) for name, frame in labelled.items()},
        **{f"{name}_tokens": token_file_fingerprint(metadata) for name, metadata in token_files.items()},
        "tokenizer": tokenizer_sha256(tokenizer),
    }


def gate_record(report: dict, fingerprints: dict[str, str]) -> dict:
    """What ``validated_data.json`` holds: the verdict, the data fingerprint and the inputs validated."""
    return {
        "passed": bool(report["success"]),
        "data_fingerprint": report["data_fingerprint"],
        "inputs": fingerprints,
        "failed": [f"{failure['suite']}: {failure['description']}" for failure in report.get("failed", [])],
    }


def check_gate(gate: dict, fingerprints: dict[str, str], step: str) -> None:
    """Raise unless ``gate`` passed and validated exactly these inputs (a subset of its ``inputs``)."""
    if "inputs" not in gate:
        raise StaleDataError(
            f"{step} refuses to run: the validation gate predates input fingerprints (an older lmladder wrote it). "
            "Run `kedro run --pipelines data_validation` again."
        )
    if not gate["passed"]:
        failures = "; ".join(gate.get("failed") or []) or "see the validation report"
        raise DataValidationError(
            f"{step} refuses to run: the last data validation failed ({failures}). Fix the data or "
            "data_validation parameters and run `kedro run --pipelines data_validation` again (validation_report.md has details)."
        )
    validated = gate["inputs"]
    changed = [name for name, value in fingerprints.items() if validated.get(name) != value]
    if changed:
        detail = ", ".join(f"{name} (validated {str(validated.get(name))[:12]}, now {fingerprints[name][:12]})" for name in changed)
        raise StaleDataError(
            f"{step} refuses to run: {detail} changed since data validation, so the gate does not cover them. "
            "Run `kedro run --pipelines data_processing` (if it was interrupted) and then `--pipelines data_validation`."
        )
