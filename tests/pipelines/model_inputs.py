"""Small real inputs for the model pipelines: a tiny pretrained model and a separable labelled set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from lmladder.corpus.packing import TokenFile
from lmladder.corpus.tokenizer import SPECIAL_TOKENS, train_bpe_tokenizer
from lmladder.model import Transformer, model_config
from lmladder.model.directory import ModelBundle
from lmladder.validation.gate import frame_fingerprint

TOPICS = {
    "network": "socket connection server client port request http",
    "files": "path directory file folder read write disk",
    "numbers": "decimal fraction integer float round sum mean",
}


def labelled_split(per_class: int, offset: int) -> pd.DataFrame:
    rows = []
    for label, words in TOPICS.items():
        vocabulary = words.split()
        for i in range(per_class):
            picked = [vocabulary[(i + offset + j) % len(vocabulary)] for j in range(5)]
            rows.append((f"{label}-{offset}-{i}", f"This function handles the {' '.join(picked)} case.", label))
    return pd.DataFrame(rows, columns=["doc_id", "text", "label"])


def passed_gate(train: pd.DataFrame, val: pd.DataFrame, test: pd.DataFrame) -> dict:
    """A gate (``validated_data``) that passed on exactly these labelled splits."""
    splits = {"labelled_train": train, "labelled_val": val, "labelled_test": test}
    return {"passed": True, "data_fingerprint": "f" * 64, "inputs": {name: frame_fingerprint(split) for name, split in splits.items()}}


def model_inputs(tmp_path) -> dict:
    train, val, test = labelled_split(24, 0), labelled_split(8, 100), labelled_split(8, 200)
    tokenizer = train_bpe_tokenizer(pd.concat([train, val])["text"].tolist() * 3, 300)
    torch.manual_seed(0)
    model = Transformer(model_config("nano", vocab_size=tokenizer.get_vocab_size(), max_positions=32))
    eot = tokenizer.token_to_id(SPECIAL_TOKENS["eot"])
    ids = np.concatenate([np.array(e.ids + [eot], dtype=np.uint16) for e in tokenizer.encode_batch(val["text"].tolist())])
    metadata = {"token_count": len(ids), "vocab_size": tokenizer.get_vocab_size(), "dtype": "uint16", "bytes_per_token": 2.0}
    pretrained = ModelBundle(model, tokenizer, {"training": {"model.preset": "nano", "model.flops_per_token": 1000, "train.max_steps": 0}})
    return {
        "pretrained_model": pretrained,
        "labelled_train": train,
        "labelled_val": val,
        "labelled_test": test,
        "val_tokens": TokenFile(path=tmp_path / "val_tokens.bin", tokens=ids, metadata=metadata),
        "validated_data": passed_gate(train, val, test),
    }
