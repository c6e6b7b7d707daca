"""Custom Kedro datasets: raw text sources, Arrow document sets, tokenizers, token files, model directories,
and any single-file dataset saved atomically.

The catalog names them ``lmladder.datasets.<Class>``; each is imported on first use (PEP 562), so a
run that never touches a model directory never imports torch.
"""

from importlib import import_module

_MODULES = {
    "ArrowDataset": "arrow",
    "AtomicDataset": "atomic",
    "ModelDirectoryDataset": "model_directory",
    "TextSourceDataset": "text_source",
    "TokenFileDataset": "token_file",
    "TokenizerDataset": "tokenizer",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
