"""The parameter schema: one typed dataclass per section of ``conf/base/parameters*.yml``.

``conf/base`` stays the documented copy users edit; the dataclass defaults here equal it (a test
keeps the two from drifting). ``check_parameters`` checks a run's merged parameters (environment and
``--params`` included) against the schema when a session starts, so a typo, a wrong type or an
out-of-range value fails in a second, naming its dotted path, not after the data has been processed.

Rules, everywhere: an unknown key is an error (with the closest known key as a hint), and so is a
missing one (``conf/base`` holds every key); an int is fine where a number is expected, a bool is
never an int, and ``null`` is allowed only where the field is ``Optional``.

The sections that Hydra instantiates (``pretraining.model``, ``.optimizer``, ``.lr_schedule``,
``finetuning.optimizer``, ``.lr_schedule``, and a ladder rung's overrides of them) are ``_target_``
mappings: the other keys are the target's keyword arguments, free except that the keys whose meaning
is known (``lr``, ``warmup_steps``, ``min_lr_ratio`` ...) are checked where present. Hydra imports and
calls whatever ``_target_`` names, so a target is code chosen by the configuration (``--params``
included): each must be one of ``MODEL_TARGETS``, ``OPTIMIZER_TARGETS`` or ``SCHEDULE_TARGETS``, and a
``_target_`` anywhere else (in an argument, where Hydra would build it recursively, or in any other
section), an ``_args_`` or a ``${...}`` interpolation inside such a mapping (Hydra resolves it again, and
``oc.create`` can build a ``_target_`` from a string) is an error. ``check_parameters`` checks this over
the whole tree when the session starts, and ``lmladder.training.config.instantiate_allowed`` again each
time Hydra builds one (a rung's parameters reach the training nodes through a saved file); ``check_section``
does not. Whether the objects can really be built, and whether the model and batch fit in memory, is checked by
``lmladder.training.config.validate_pretraining_params`` and ``validate_finetuning_params`` (they need
torch and Hydra).

Entry points: ``check_parameters(params)`` (the whole run), ``check_section(section, value, path)``
(one section, e.g. a rung's resolved ``pretraining``), ``parse_parameters(params)`` (the typed
``Parameters``), ``default_parameters()`` (the defaults as a mapping).

A library module: it is imported when every ``kedro`` command starts, so it imports nothing heavy
(no kedro, torch, lightning, datasets ...).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from lmladder.errors import ConfigError

# Values owned by modules this one must not import (torch, lightning, pandas); tests/test_parameters.py
# checks that each copy still equals its source.
ARCHITECTURES = ("decoder", "encoder", "encoder-decoder")  # lmladder.model.model.ARCHITECTURES
POSITIONALS = ("learned", "rotary")  # lmladder.model.model.POSITIONALS
NORMS = ("layernorm", "rmsnorm")  # lmladder.model.model.NORMS
MLPS = ("gelu", "swiglu", "relu2")  # lmladder.model.model.MLPS
MIN_VOCAB_SIZE = 292  # lmladder.corpus.tokenizer.MIN_VOCAB_SIZE: 256 bytes + 4 special tokens + 32 sentinels
RUNG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # lmladder.selection.ladder.RUNG_NAME
RESERVED_RUNG_NAMES = frozenset({"shared_data", "retraining"})  # lmladder.selection.ladder.RESERVED_NAMES
# Lightning's precision inputs (lightning_fabric.plugins.precision.precision), and our "auto".
Precision = Literal[
    "auto",
    "transformer-engine",
    "transformer-engine-float16",
    "16-true",
    "16-mixed",
    "bf16-true",
    "bf16-mixed",
    "32-true",
    "64-true",
    "64",
    "32",
    "16",
    "bf16",
    64,
    32,
    16,
]
FinetuningMode = Literal["full", "frozen", "scratch"]  # lmladder.training.finetune.MODES
Pooling = Literal["last", "first", "mean"]  # lmladder.model.classifier.POOLINGS

# What Hydra may build (see the module docstring), each where it belongs: the project's own factories and
# torch classes named one by one. Optimizers are called with the parameter groups (LBFGS needs a closure
# and SparseAdam sparse gradients: neither works here); schedules with the optimizer and ``total_steps=``,
# which among torch's schedulers only OneCycleLR accepts. tests/test_parameters.py imports each one.
MODEL_TARGETS = ("lmladder.model.model_config",)
OPTIMIZER_TARGETS = (
    "lmladder.training.optim.MuonAdamW",
    "torch.optim.AdamW",
    "torch.optim.Adam",
    "torch.optim.SGD",
    "torch.optim.RMSprop",
    "torch.optim.Adagrad",
    "torch.optim.Adadelta",
    "torch.optim.Adamax",
    "torch.optim.NAdam",
    "torch.optim.RAdam",
)
SCHEDULE_TARGETS = ("lmladder.training.optim.warmup_cosine_schedule", "torch.optim.lr_scheduler.OneCycleLR")
# The Hydra mappings of the sections, by dotted path; a rung's overrides hold the same ones (see ``hydra_targets``).
HYDRA_MAPPINGS = {
    "pretraining.model": MODEL_TARGETS,
    "pretraining.optimizer": OPTIMIZER_TARGETS,
    "pretraining.lr_schedule": SCHEDULE_TARGETS,
    "finetuning.optimizer": OPTIMIZER_TARGETS,
    "finetuning.lr_schedule": SCHEDULE_TARGETS,
}

Check = Callable[[Any, str, bool], None]  # (value, dotted path, partial) -> None, or raises ConfigError
MISSING_HINT = (
    "every parameter has a default in conf/base/parameters*.yml; restore it there (an environment or --params may change it, not remove it)"
)


# ---------------------------------------------------------------------------------------------
# Range rules (``_field(rule=...)``: a value of the right type must also satisfy it; the error says
# both, e.g. "must be a positive integer, got 0") and shape checks (``_field(check=...)``: callables
# that raise, for free-form mappings and the ladder). ``None`` reaches neither.


@dataclass(frozen=True)
class Rule:
    text: str  # what the value must be, after its type: "> 0", "in [0, 1)"
    holds: Callable[[Any], bool]


POSITIVE = Rule("> 0", lambda value: value > 0)
NON_NEGATIVE = Rule(">= 0", lambda value: value >= 0)
NON_EMPTY = Rule("(non-empty)", lambda value: bool(value.strip()))


def at_least(minimum: int, why: str = "") -> Rule:
    return Rule(f">= {minimum}{why}", lambda value: value >= minimum)


def between(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Rule:
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def holds(value) -> bool:
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        return above and below

    return Rule(f"in {interval}", holds)


def _typed(hint, rule: Rule | None = None, check: Check | None = None) -> Check:
    """A check for a key of a free-form mapping: its type and ``rule``, then ``check``."""

    def typed(value, path: str, partial: bool = False) -> None:
        value = _convert(value, hint, path, partial, rule)
        if check is not None and value is not None:
            check(value, path, partial)

    return typed


def _hydra(**checks: Check) -> Check:
    """A mapping given to ``hydra.utils.instantiate``: a ``_target_``, the other keys free (they are the
    target's arguments); the keys named in ``checks`` are checked where present. Which targets are
    allowed is not checked here but where the whole tree is (``check_parameters``) and where Hydra builds
    (``lmladder.training.config.instantiate_allowed``)."""

    def check(value: dict, path: str, partial: bool = False) -> None:
        if "_target_" not in value and not partial:
            raise ConfigError(f"missing parameter {path}._target_: the dotted path of what Hydra builds from {path}")
        for key, check_key in checks.items():
            if key in value:
                check_key(value[key], f"{path}.{key}", partial)

    return check


def _betas(value: list, path: str, partial: bool = False) -> None:
    if len(value) != 2:
        raise ConfigError(f"{path} must be two numbers [beta1, beta2], got {value!r}")
    for index, beta in enumerate(value):
        _typed(float, between(0, 1, high_open=True))(beta, f"{path}[{index}]")


MODEL_CHECKS = _hydra(
    preset=_typed(str, NON_EMPTY),
    max_positions=_typed(int, POSITIVE),
    n_layer=_typed(int, POSITIVE),
    n_head=_typed(int, POSITIVE),
    n_embd=_typed(int, POSITIVE),
    architecture=_typed(Literal[ARCHITECTURES]),
    positional=_typed(Literal[POSITIONALS]),
    norm=_typed(Literal[NORMS]),
    mlp=_typed(Literal[MLPS]),
    mlp_ratio=_typed(float, POSITIVE),
    qk_norm=_typed(bool),
    zero_init_projections=_typed(bool),
    bias=_typed(bool),
    tie_embeddings=_typed(bool),
    dropout=_typed(float, between(0, 1, high_open=True)),
)
OPTIMIZER_CHECKS = _hydra(
    lr=_typed(float, POSITIVE),
    betas=_typed(list[float], check=_betas),
    eps=_typed(float, POSITIVE),
    weight_decay=_typed(float, NON_NEGATIVE),
    momentum=_typed(float, NON_NEGATIVE),
    fused=_typed(bool),
    muon_lr=_typed(float | None, POSITIVE),  # None: Muon off (MuonAdamW is AdamW throughout)
    muon_momentum=_typed(float, between(0, 1, high_open=True)),
)
LR_SCHEDULE_CHECKS = _hydra(
    warmup_steps=_typed(int, NON_NEGATIVE),
    min_lr_ratio=_typed(float, between(0, 1)),
)


def _field(
    default: Any = dataclasses.MISSING,
    *,
    factory: Any = dataclasses.MISSING,
    rule: Rule | None = None,
    check: Check | None = None,
    optional_key: bool = False,
) -> Any:
    """A schema field. ``rule``/``check``: see above. ``optional_key``: the key may be absent (only a
    rung's ``architecture`` and overrides; every other key must be given)."""
    metadata = {"rule": rule, "check": check, "optional_key": optional_key}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


# ---------------------------------------------------------------------------------------------
# data_processing


@dataclass(frozen=True)
class Corpus:
    text_column: str = _field("text", rule=NON_EMPTY)
    text_columns: list[str] | None = None
    id_column: str | None = None
    num_proc: int | None = _field(None, rule=POSITIVE)


@dataclass(frozen=True)
class QualityFilters:
    min_chars: int = _field(40, rule=NON_NEGATIVE)
    max_chars: int = _field(20000, rule=POSITIVE)
    max_symbol_ratio: float = _field(0.35, rule=between(0, 1))
    min_alpha_ratio: float = _field(0.5, rule=between(0, 1))

    @staticmethod
    def _cross_check(values: dict, path: str) -> None:
        if values["min_chars"] > values["max_chars"]:
            raise ConfigError(
                f"{path}.min_chars={values['min_chars']} is above {path}.max_chars={values['max_chars']}: every text would be removed"
            )


@dataclass(frozen=True)
class Cleaning(QualityFilters):
    mask_pii: bool = True


def _default_domains() -> dict[str, list[str]]:
    return {
        "gui": ["tkinter", "idlelib", "turtle", "turtledemo"],
        "concurrency": [
            "asyncio",
            "concurrent",
            "multiprocessing",
            "threading",
            "_threading_local",
            "queue",
            "sched",
            "selectors",
            "subprocess",
            "contextvars",
        ],
        "networking_web": ["http", "urllib", "wsgiref", "xmlrpc", "socket", "socketserver", "ssl", "ftplib", "ipaddress", "webbrowser"],
        "email_mail": ["email", "mailbox", "smtplib", "imaplib", "poplib", "mimetypes", "quopri"],
        "text_data_formats": [
            "json",
            "csv",
            "xml",
            "html",
            "configparser",
            "tomllib",
            "plistlib",
            "difflib",
            "textwrap",
            "string",
            "re",
            "codecs",
            "base64",
            "pickle",
            "pickletools",
            "shlex",
            "gettext",
            "locale",
            "unicodedata",
            "netrc",
        ],
        "files_os": [
            "os",
            "pathlib",
            "shutil",
            "glob",
            "fnmatch",
            "tempfile",
            "zipfile",
            "tarfile",
            "gzip",
            "bz2",
            "lzma",
            "zipimport",
            "filecmp",
            "fileinput",
            "stat",
            "io",
            "_pyio",
            "posixpath",
            "ntpath",
            "genericpath",
            "shelve",
            "dbm",
            "sqlite3",
        ],
        "testing_introspection": [
            "unittest",
            "doctest",
            "inspect",
            "pdb",
            "bdb",
            "dis",
            "ast",
            "traceback",
            "pydoc",
            "symtable",
            "trace",
            "timeit",
            "cProfile",
            "profile",
            "pstats",
            "tracemalloc",
            "tokenize",
            "code",
            "codeop",
        ],
        "numbers": ["_pydecimal", "decimal", "numbers", "statistics", "fractions", "random", "cmath", "colorsys"],
    }


@dataclass(frozen=True)
class ModuleDomains:
    domains: dict[str, list[str]] = _field(factory=_default_domains)
    filters: QualityFilters = _field(factory=QualityFilters)
    min_words: int = _field(8, rule=NON_NEGATIVE)
    max_per_class: int | None = _field(400, rule=POSITIVE)


@dataclass(frozen=True)
class Labelled:
    label_from: Literal["module_domains", "column"] = "module_domains"
    text_column: str = _field("text", rule=NON_EMPTY)
    text_columns: list[str] | None = None
    label_column: str = _field("label", rule=NON_EMPTY)
    id_column: str | None = None
    labels: list[str | int] | None = None  # read as strings (GLUE's ClassLabel ids may be written 0, 1)
    filters: QualityFilters = _field(
        factory=lambda: QualityFilters(min_chars=1, max_chars=1000000, max_symbol_ratio=1.0, min_alpha_ratio=0.0)
    )
    min_words: int = _field(1, rule=NON_NEGATIVE)
    max_per_class: int | None = _field(None, rule=POSITIVE)
    module_domains: ModuleDomains = _field(factory=ModuleDomains)


@dataclass(frozen=True)
class Pairs:
    """The (source, target) pairs of ``task: generation``."""

    source: Literal["code_summaries", "table"] = "code_summaries"  # the stdlib's functions -> docstring summaries, or raw_labelled
    source_column: str = _field("source", rule=NON_EMPTY)
    target_column: str = _field("target", rule=NON_EMPTY)
    id_column: str | None = None
    max_examples: int | None = _field(3000, rule=POSITIVE)  # generating the test split costs a forward pass per token
    min_target_words: int = _field(6, rule=POSITIVE)  # decontamination: held-out targets this long are looked for in the corpus


@dataclass(frozen=True)
class Dedup:
    threshold: float = _field(0.8, rule=between(0, 1, low_open=True))
    num_perm: int = _field(128, rule=POSITIVE)
    shingle_size: int = _field(5, rule=POSITIVE)


@dataclass(frozen=True)
class Splits:
    corpus_val_fraction: float = _field(0.05, rule=between(0, 1, low_open=True, high_open=True))
    labelled_val_fraction: float = _field(0.15, rule=between(0, 1, low_open=True, high_open=True))
    labelled_test_fraction: float = _field(0.15, rule=between(0, 1, low_open=True, high_open=True))

    @staticmethod
    def _cross_check(values: dict, path: str) -> None:
        held_out = values["labelled_val_fraction"] + values["labelled_test_fraction"]
        if held_out >= 1:
            raise ConfigError(
                f"{path}.labelled_val_fraction + {path}.labelled_test_fraction = {held_out:g} leaves no labelled data "
                "for training; it must be below 1"
            )


@dataclass(frozen=True)
class Decontamination:
    ngram_size: int = _field(13, rule=POSITIVE)


@dataclass(frozen=True)
class Tokenizer:
    vocab_size: int = _field(4096, rule=at_least(MIN_VOCAB_SIZE, " (256 bytes + 4 special tokens + 32 span sentinels)"))
    min_frequency: int = _field(2, rule=NON_NEGATIVE)
    max_training_mb: float | None = _field(None, rule=POSITIVE)


@dataclass(frozen=True)
class Packing:
    batch_size: int = _field(1000, rule=POSITIVE)
    num_proc: int | None = _field(None, rule=POSITIVE)


@dataclass(frozen=True)
class DataProcessing:
    corpus: Corpus = _field(factory=Corpus)
    labelled: Labelled = _field(factory=Labelled)
    pairs: Pairs = _field(factory=Pairs)
    cleaning: Cleaning = _field(factory=Cleaning)
    dedup: Dedup = _field(factory=Dedup)
    splits: Splits = _field(factory=Splits)
    decontamination: Decontamination = _field(factory=Decontamination)
    tokenizer: Tokenizer = _field(factory=Tokenizer)
    packing: Packing = _field(factory=Packing)


# ---------------------------------------------------------------------------------------------
# data_validation


@dataclass(frozen=True)
class DataValidation:
    max_removed_share: float = _field(0.4, rule=between(0, 1))
    max_class_share_shift: float = _field(0.05, rule=between(0, 1))
    min_class_share: float = _field(0.05, rule=between(0, 1, high_open=True))
    min_examples_per_class: int = _field(1, rule=at_least(1))
    min_tokens_per_split: int = _field(2064, rule=NON_NEGATIVE)
    max_corpus_documents: int = _field(200000, rule=POSITIVE)


# ---------------------------------------------------------------------------------------------
# pretraining


def _pretraining_model() -> dict:
    return {
        "_target_": "lmladder.model.model_config",
        "preset": "tiny",
        "max_positions": 128,
        "architecture": "decoder",
        "positional": "rotary",
        "norm": "rmsnorm",
        "mlp": "relu2",
        "qk_norm": True,
        "zero_init_projections": True,
        "bias": False,
        "tie_embeddings": False,
        "dropout": 0.0,
    }


@dataclass(frozen=True)
class PretrainingData:
    block_size: int = _field(128, rule=POSITIVE)
    batch_size: int = _field(16, rule=POSITIVE)
    val_windows: int | None = _field(64, rule=POSITIVE)


@dataclass(frozen=True)
class PretrainingTrainer:
    max_steps: int | None = _field(400, rule=POSITIVE)
    max_tokens: int | None = _field(None, rule=POSITIVE)
    val_check_interval: int = _field(50, rule=POSITIVE)
    gradient_clip_val: float | None = _field(1.0, rule=NON_NEGATIVE)
    accumulate_grad_batches: int = _field(1, rule=POSITIVE)
    precision: Precision = "auto"
    accelerator: str = _field("auto", rule=NON_EMPTY)
    devices: int | str | list[int] = 1
    strategy: str = _field("auto", rule=NON_EMPTY)
    num_nodes: int = _field(1, rule=POSITIVE)
    log_every_n_steps: int = _field(10, rule=POSITIVE)
    deterministic: bool | Literal["warn"] = False

    @staticmethod
    def _cross_check(values: dict, path: str) -> None:
        if values["max_steps"] is None and values["max_tokens"] is None:
            raise ConfigError(f"{path}.max_steps must be a positive integer when {path}.max_tokens is null, got None")


@dataclass(frozen=True)
class Pretraining:
    model: dict = _field(factory=_pretraining_model, check=MODEL_CHECKS)
    optimizer: dict = _field(
        factory=lambda: {
            "_target_": "lmladder.training.optim.MuonAdamW",
            "_partial_": True,
            "lr": 0.006,
            "muon_lr": 0.04,
            "muon_momentum": 0.95,
            "betas": [0.9, 0.95],
            "eps": 1.0e-8,
            "weight_decay": 0.0,
            "fused": True,
        },
        check=OPTIMIZER_CHECKS,
    )
    lr_schedule: dict = _field(
        factory=lambda: {
            "_target_": "lmladder.training.optim.warmup_cosine_schedule",
            "_partial_": True,
            "warmup_steps": 30,
            "min_lr_ratio": 0.1,
        },
        check=LR_SCHEDULE_CHECKS,
    )
    data: PretrainingData = _field(factory=PretrainingData)
    trainer: PretrainingTrainer = _field(factory=PretrainingTrainer)
    checkpoint_dir: str = _field("data/${globals:workspace}/06_models/pretraining/checkpoints", rule=NON_EMPTY)
    peak_flops: float | None = _field(None, rule=POSITIVE)
    compile: bool | Literal["auto"] = "auto"


# ---------------------------------------------------------------------------------------------
# finetuning


@dataclass(frozen=True)
class FinetuningTrainer:
    accelerator: str = _field("auto", rule=NON_EMPTY)
    devices: int | str | list[int] = 1
    precision: Precision = "auto"
    gradient_clip_val: float | None = _field(1.0, rule=NON_NEGATIVE)


@dataclass(frozen=True)
class FinetuningGeneration:
    """How a generator (``task: generation``) is trained and then writes."""

    max_target_tokens: int = _field(32, rule=POSITIVE)  # targets are cut to this many tokens; generation stops there too
    num_beams: int = _field(1, rule=POSITIVE)  # 1: greedy
    length_penalty: float = 1.0


@dataclass(frozen=True)
class Finetuning:
    mode: FinetuningMode = "full"
    baseline_mode: FinetuningMode = "scratch"
    pooling: Pooling | None = None
    dropout: float = _field(0.1, rule=between(0, 1, high_open=True))
    class_weighted: bool = False
    batch_size: int = _field(32, rule=POSITIVE)
    max_epochs: int = _field(5, rule=POSITIVE)
    patience: int = _field(2, rule=NON_NEGATIVE)
    optimizer: dict = _field(
        factory=lambda: {"_target_": "torch.optim.AdamW", "_partial_": True, "lr": 0.001, "betas": [0.9, 0.98], "weight_decay": 0.01},
        check=OPTIMIZER_CHECKS,
    )
    lr_schedule: dict = _field(
        factory=lambda: {
            "_target_": "lmladder.training.optim.warmup_cosine_schedule",
            "_partial_": True,
            "warmup_steps": 20,
            "min_lr_ratio": 0.1,
        },
        check=LR_SCHEDULE_CHECKS,
    )
    trainer: FinetuningTrainer = _field(factory=FinetuningTrainer)
    generation: FinetuningGeneration = _field(factory=lambda: FinetuningGeneration())


# ---------------------------------------------------------------------------------------------
# evaluation


@dataclass(frozen=True)
class Generation:
    prompts: list[str] | None = None
    num_prompts: int = _field(3, rule=POSITIVE)
    prompt_words: int = _field(4, rule=POSITIVE)
    max_new_tokens: int = _field(30, rule=POSITIVE)
    temperature: float = _field(0.8, rule=NON_NEGATIVE)  # 0: greedy
    top_k: int | None = _field(40, rule=POSITIVE)


@dataclass(frozen=True)
class Evaluation:
    registered_model_name: str = _field("lmladder-classifier-${globals:workspace}", rule=NON_EMPTY)
    generator_registered_model_name: str = _field("lmladder-generator-${globals:workspace}", rule=NON_EMPTY)
    generation_samples: int = _field(8, rule=POSITIVE)  # test examples shown beside their references in the report
    allow_label_set_change: bool = False
    alias: str = _field("candidate", rule=NON_EMPTY)
    max_text_chars: int = _field(20000, rule=POSITIVE)
    ece_bins: int = _field(15, rule=POSITIVE)
    lm_max_windows: int | None = _field(64, rule=POSITIVE)
    latency_repeats: int = _field(30, rule=POSITIVE)
    throughput_repeats: int = _field(5, rule=POSITIVE)
    attention_max_tokens: int = _field(24, rule=POSITIVE)
    generation: Generation = _field(factory=Generation)
    data_source: str | None = None
    intended_use: str = (
        "Classifying texts like those of the labelled set into its classes, and comparing model sizes for that task. "
        "Not for decisions about people."
    )
    limitations: list[str] = _field(
        factory=lambda: [
            "Trained and tested on the labelled set described above only: expect lower accuracy on texts unlike it "
            "(other sources, topics or languages).",
            "Small models pretrained from scratch: quality is far below large pretrained models.",
            "Calibration is measured on the test split only; re-check it on your own data.",
        ]
    )
    generation_intended_use: str = (
        "Writing target texts (e.g. one-sentence summaries) for sources like those of the pairs set, and comparing model "
        "sizes and architectures for that task. Not for decisions about people."
    )
    generation_limitations: list[str] = _field(
        factory=lambda: [
            "Trained and tested on the pairs set described above only: expect worse outputs for sources unlike it.",
            "Small models pretrained from scratch: outputs are often fluent-looking but wrong; check them before use.",
            "BLEU, chrF and ROUGE-L compare with one reference each: a correct output worded differently scores low.",
        ]
    )


# ---------------------------------------------------------------------------------------------
# model_selection


def _pretraining_override(value: dict, path: str, partial: bool = False) -> None:
    check_section("pretraining", value, path, partial=True)


def _finetuning_override(value: dict, path: str, partial: bool = False) -> None:
    check_section("finetuning", value, path, partial=True)


@dataclass(frozen=True)
class RungSpec:
    """One explicit rung: a size and a token budget, optionally an architecture, overrides of the
    project's ``pretraining`` / ``finetuning`` parameters (checked against their schema, key by key),
    and ``held_out: true`` to keep it out of every fit (the ladder's check of its predictions)."""

    _missing_hint = "a rung needs a preset and a token budget, e.g. {preset: nano, tokens: 400000}"

    preset: str = _field(rule=NON_EMPTY)
    tokens: int = _field(rule=POSITIVE)
    architecture: Literal[ARCHITECTURES] | None = _field(None, optional_key=True)
    held_out: bool = _field(False, optional_key=True)
    pretraining: dict | None = _field(None, optional_key=True, check=_pretraining_override)
    finetuning: dict | None = _field(None, optional_key=True, check=_finetuning_override)


def _rung_names(rungs: dict, path: str, partial: bool = False) -> None:
    for name in rungs:
        if not RUNG_NAME.match(name):
            raise ConfigError(f"{path}.{name}: a name must start with a letter and use only letters, digits and '_'")
        if name in RESERVED_RUNG_NAMES:
            raise ConfigError(f"{path}.{name}: the name is reserved for another pipeline's namespace; rename it")


def _sizes(sizes: list, path: str, partial: bool = False) -> None:
    if len(set(sizes)) < 3:
        raise ConfigError(f"{path} needs at least 3 different sizes, so a parabola can locate the lowest loss; got {sizes!r}")
    for size in sizes:
        if not size.strip():
            raise ConfigError(f"{path} holds an empty size; use a preset name or a depth-dial size such as d5")


@dataclass(frozen=True)
class Budget:
    """One IsoFLOP budget: training FLOPs, and the sizes trained with them (each rung's tokens follow)."""

    _missing_hint = "a budget needs training FLOPs and sizes, e.g. {flops: 3.0e+12, sizes: [d2, d3, d4]}"

    flops: float = _field(rule=POSITIVE)
    sizes: list[str] = _field(check=_sizes)


def _default_budgets() -> dict[str, Budget | None]:
    return {
        "c1": Budget(flops=1.0e12, sizes=["1x32", "1x16", "2x32", "2x48"]),
        "c2": Budget(flops=3.0e12, sizes=["1x16", "1x32", "2x32", "2x48"]),
    }


def _default_rungs() -> dict[str, RungSpec | None]:
    return {"default_model": RungSpec(preset="tiny", tokens=1024000, held_out=True)}


@dataclass(frozen=True)
class Seeds:
    budget: str | None = _field("c1", rule=NON_EMPTY)  # every rung of this budget is trained `count` times
    count: int = _field(2, rule=at_least(1))


@dataclass(frozen=True)
class LearningRate:
    exponent: float = -0.3333  # lr ~ N^exponent (the OLMo ladder's -1/3)
    sweep: list[float] = _field(factory=lambda: [0.5, 1.0, 2.0], check=lambda value, path, partial=False: _multipliers(value, path))
    warmup_fraction: float = _field(0.06, rule=between(0, 1, high_open=True))


def _multipliers(values: list, path: str) -> None:
    for index, value in enumerate(values):
        if not value > 0:
            raise ConfigError(f"{path}[{index}] must be a positive multiplier of the learning rate, got {value!r}")


@dataclass(frozen=True)
class ArchitectureComparison:
    budget: str | None = _field("c1", rule=NON_EMPTY)  # null: no comparison
    architecture: Literal[ARCHITECTURES] | list[Literal[ARCHITECTURES]] = "encoder"  # one, or a list (three-way comparison)
    sizes: list[str] | None = _field(factory=lambda: ["1x32", "2x48"])  # null: every size of the budget


@dataclass(frozen=True)
class Constraints:
    min_macro_f1: float | None = _field(0.6, rule=between(0, 1))
    min_metric: float | None = None  # a floor on the task's metric, whatever it is (chrF 0-100 for generation)
    max_latency_ms: float | None = _field(10.0, rule=POSITIVE)
    max_params: float | None = _field(None, rule=POSITIVE)
    max_train_flops: float | None = _field(None, rule=POSITIVE)


@dataclass(frozen=True)
class Bootstrap:
    n_boot: int = _field(200, rule=POSITIVE)
    level: float = _field(0.9, rule=between(0, 1, low_open=True, high_open=True))
    seed: int = _field(0, rule=NON_NEGATIVE)


@dataclass(frozen=True)
class ModelSelection:
    budgets: dict[str, Budget | None] = _field(factory=_default_budgets, check=_rung_names)  # null drops a budget
    seeds: Seeds = _field(factory=Seeds)
    learning_rate: LearningRate = _field(factory=LearningRate)
    architecture_comparison: ArchitectureComparison = _field(factory=ArchitectureComparison)
    rungs: dict[str, RungSpec | None] = _field(factory=_default_rungs, check=_rung_names)  # null drops a rung
    rung_finetuning: dict = _field(factory=dict, check=_finetuning_override)
    constraints: Constraints = _field(factory=Constraints)
    compute_budget_flops: float | None = _field(1.0e16, rule=POSITIVE)
    extrapolate_to_params: float | None = _field(1.0e8, rule=POSITIVE)
    bootstrap: Bootstrap = _field(factory=Bootstrap)

    @staticmethod
    def _cross_check(values: dict, path: str) -> None:
        budgets = {name: budget for name, budget in values["budgets"].items() if budget is not None}
        for where in ("seeds", "architecture_comparison"):
            budget = values[where].budget
            if budget is not None and budget not in budgets:
                raise ConfigError(f"{path}.{where}.budget={budget!r} is not a budget of {path}.budgets {sorted(budgets)}")
        comparison = values["architecture_comparison"]
        if comparison.budget is not None and comparison.sizes is not None:
            unknown = sorted(set(comparison.sizes) - set(budgets[comparison.budget].sizes))
            if unknown:
                raise ConfigError(f"{path}.architecture_comparison.sizes {unknown} are not sizes of budget {comparison.budget!r}")


# ---------------------------------------------------------------------------------------------
# retraining


@dataclass(frozen=True)
class Gate:
    primary_metric: Literal["macro_f1", "accuracy", "weighted_f1"] = "macro_f1"
    min_improvement: float = 0.005
    max_ece_increase: float = _field(0.05, rule=NON_NEGATIVE)
    max_latency_increase: float = _field(0.5, rule=NON_NEGATIVE)


@dataclass(frozen=True)
class RetrainingPlan:
    """What ``kedro retrain`` decided before the run (see ``lmladder.pipelines.retraining.plan``)."""

    _missing_hint = "the plan `kedro retrain` passes holds action, fingerprint, champion_version and message; leave retraining.plan null"

    action: Literal["train", "skip", "refuse"]
    fingerprint: str | None
    champion_version: str | int | None
    message: str


@dataclass(frozen=True)
class Retraining:
    train: Literal["finetune", "pretrain"] = "finetune"
    force: bool = False
    champion_alias: str = _field("champion", rule=NON_EMPTY)
    challenger_alias: str = _field("challenger", rule=NON_EMPTY)
    lock_file: str = _field("data/${globals:workspace}/.retraining.lock", rule=NON_EMPTY)
    gate: Gate = _field(factory=Gate)
    plan: RetrainingPlan | None = None  # set by `kedro retrain`, never by users

    @staticmethod
    def _cross_check(values: dict, path: str) -> None:
        if values["champion_alias"] == values["challenger_alias"]:
            raise ConfigError(
                f"{path}.champion_alias and {path}.challenger_alias are both {values['champion_alias']!r}; "
                "a challenger that is not promoted would then take the champion's alias"
            )


# ---------------------------------------------------------------------------------------------
# The whole parameters file set


@dataclass(frozen=True)
class Parameters:
    seed: int = _field(42, rule=NON_NEGATIVE)
    task: Literal["classification", "generation"] = "classification"
    data_processing: DataProcessing = _field(factory=DataProcessing)
    data_validation: DataValidation = _field(factory=DataValidation)
    pretraining: Pretraining = _field(factory=Pretraining)
    finetuning: Finetuning = _field(factory=Finetuning)
    evaluation: Evaluation = _field(factory=Evaluation)
    model_selection: ModelSelection = _field(factory=ModelSelection)
    retraining: Retraining = _field(factory=Retraining)


# ---------------------------------------------------------------------------------------------
# Checking


def check_parameters(params: Mapping) -> None:
    """Raise ``ConfigError`` naming the dotted path of the first problem in a run's merged parameters.

    The Hydra keys come first, over the whole tree: a ``_target_`` where none belongs is named as such,
    not as one more unknown key."""
    check_hydra_keys(params, "", hydra_targets)
    parse_parameters(params)
    check_task(params)


def check_task(params: Mapping) -> None:
    """``task: generation`` needs models that write text: refused here, before anything trains, rather than
    when the generator is built after its pretraining."""
    if params.get("task") != "generation":
        return
    why = "an encoder cannot write text; use decoder or encoder-decoder"
    if (params.get("pretraining") or {}).get("model", {}).get("architecture") == "encoder":
        raise ConfigError(f"task is generation but pretraining.model.architecture is encoder: {why}")
    for key in ("mode", "baseline_mode"):
        if (params.get("finetuning") or {}).get(key) == "frozen":
            raise ConfigError(f"task is generation but finetuning.{key} is frozen: a generator trains all its weights (full or scratch)")
    # The ladder's architectures are checked when model_selection runs (LadderRunHooks.before_pipeline_run).


def hydra_targets(path: str) -> tuple[str, ...] | None:
    """The targets allowed in the Hydra mapping at ``path`` (a section's, or a ladder rung's override of
    it: ``model_selection.rungs.<name>.pretraining.model``, ``model_selection.rung_finetuning.optimizer``);
    ``None`` where no Hydra mapping is."""
    path = re.sub(r"^model_selection\.rungs\.[^.]+\.", "", path)
    path = re.sub(r"^model_selection\.rung_finetuning\.", "finetuning.", path)
    return HYDRA_MAPPINGS.get(path)


def check_hydra_keys(value: Any, path: str, targets_at: Callable[[str], tuple[str, ...] | None]) -> None:
    """Refuse, anywhere in ``value``, what would make Hydra run code the project did not choose: a
    ``_target_`` outside the allowed ones (``targets_at(path)`` of the mapping holding it; ``None``:
    none allowed there), ``_args_`` (the project's factories take keyword arguments), and, inside a
    Hydra mapping, a string holding ``${`` (Hydra would resolve it, and ``${oc.create:...}`` builds a
    mapping, ``_target_`` included, from a string)."""
    _check_hydra_keys(value, path, targets_at, inside=False)


def _check_hydra_keys(value: Any, path: str, targets_at: Callable, inside: bool) -> None:
    if isinstance(value, Mapping):
        targets = targets_at(path)
        inside = inside or targets is not None
        for key, item in value.items():
            where = _join(path, str(key))
            if key == "_target_" and (targets is None or item not in targets):
                raise ConfigError(f"{where}={item!r} is not allowed: Hydra would import and call it; {_allowed_targets(targets)}")
            if key == "_args_":
                raise ConfigError(f"{where} is not allowed: give the arguments of {path} by name (lr: 0.001), not as Hydra's _args_")
            _check_hydra_keys(item, where, targets_at, inside)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_hydra_keys(item, f"{path}[{index}]", targets_at, inside)
    elif inside and isinstance(value, str) and "${" in value:
        raise ConfigError(
            f"{path}={value!r} is not allowed: Hydra would resolve the ${{...}} again when it builds the object; give the value itself"
        )


def _allowed_targets(targets: tuple[str, ...] | None) -> str:
    if targets:
        return f"allowed here: {list(targets)}"
    everywhere = list(MODEL_TARGETS + OPTIMIZER_TARGETS + SCHEDULE_TARGETS)
    return f"a _target_ may only stand at the top of {sorted(HYDRA_MAPPINGS)} (or a rung's override of them), naming one of {everywhere}"


def parse_parameters(params: Mapping) -> Parameters:
    """The run's parameters, checked (see ``check_parameters``), as typed dataclasses."""
    return _convert(params, Parameters, "", False)


def check_section(section: str, value: Mapping, path: str | None = None, *, partial: bool = False) -> Any:
    """Check one top-level section (e.g. a rung's resolved ``pretraining``) and return it typed.

    ``path`` names it in messages (default: ``section``). ``partial``: ``value`` is an override of
    the section, so keys may be missing (the unknown ones, wrong types and ranges still fail), and a
    plain dict comes back. Hydra targets are not checked here (see the module docstring).
    """
    hints = _hints(Parameters)
    if section not in hints:
        raise ConfigError(f"unknown parameter section {section!r}; known sections: {sorted(hints)}")
    return _convert(value, hints[section], path or section, partial)


def as_dict(value: Any) -> Any:
    """A schema object as the plain mapping a parameters file holds (a rung's absent keys stay absent)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: as_dict(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get("optional_key") and getattr(value, f.name) is None)
        }
    if isinstance(value, Mapping):
        return {key: as_dict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_dict(item) for item in value]
    return value


def default_parameters(workspace: str | None = None) -> dict:
    """The schema's defaults as a parameters mapping (what ``conf/base`` holds); with ``workspace``,
    ``${globals:workspace}`` replaced by it as the config loader would."""
    defaults = as_dict(Parameters())
    return defaults if workspace is None else _substitute(defaults, "${globals:workspace}", workspace)


def _substitute(value: Any, placeholder: str, replacement: str) -> Any:
    if isinstance(value, str):
        return value.replace(placeholder, replacement)
    if isinstance(value, dict):
        return {key: _substitute(item, placeholder, replacement) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, placeholder, replacement) for item in value]
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _describe(hint: Any) -> str:
    if hint is type(None):
        return "null"
    if hint is bool:
        return "true or false"
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number"
    if hint is str:
        return "a string"
    origin = typing.get_origin(hint)
    if origin is Literal:
        return f"one of {list(typing.get_args(hint))}"
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(member) for member in typing.get_args(hint))
    if origin is list or hint is list:
        args = typing.get_args(hint)
        return f"a list, each item {_describe(args[0])}" if args else "a list"
    return "a mapping"


def _expected(hint: Any, rule: Rule | None) -> str:
    """What a value of ``hint`` satisfying ``rule`` is, in words: "a positive integer or null"."""
    members = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else (hint,)
    present = [member for member in members if member is not type(None)]
    optional = len(present) < len(members)
    core = present[0] if len(present) == 1 else None
    text = " or ".join(_describe(member) for member in present)
    if core is int and rule is POSITIVE:
        text = "a positive integer"
    elif core is int and rule is NON_NEGATIVE:
        text = "a non-negative integer"
    elif core is str and rule is NON_EMPTY:
        text = "a non-empty string"
    elif rule is not None:
        text = f"{text} {rule.text}"
    return f"{text} or null" if optional else text


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` has the outer shape of ``hint`` (a union picks its member by this)."""
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return _is_int(value)
    if hint is float:
        return _is_int(value) or isinstance(value, float)
    if hint is str:
        return isinstance(value, str)
    origin = typing.get_origin(hint)
    if origin is Literal:
        return any(value == allowed and type(value) is type(allowed) for allowed in typing.get_args(hint))
    if origin in (Union, types.UnionType):
        return any(_matches(value, member) for member in typing.get_args(hint))
    if origin is list or hint is list:
        return isinstance(value, (list, tuple))
    return isinstance(value, Mapping)


class _Mismatch(Exception):
    """The value at this path has the wrong type (``_convert`` says what was expected)."""


def _convert(value: Any, hint: Any, path: str, partial: bool, rule: Rule | None = None) -> Any:
    """``value`` checked against ``hint`` and ``rule`` (deeply), as the typed value: a dataclass for a
    section (a plain dict when ``partial``)."""
    try:
        converted = _convert_type(value, hint, path, partial)
    except _Mismatch:
        raise ConfigError(f"{path} must be {_expected(hint, rule)}, got {value!r}") from None
    if rule is not None and converted is not None and not rule.holds(converted):
        raise ConfigError(f"{path} must be {_expected(hint, rule)}, got {value!r}")
    return converted


def _convert_type(value: Any, hint: Any, path: str, partial: bool) -> Any:
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return _convert_dataclass(value, hint, path, partial)
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        for member in typing.get_args(hint):
            if member is not type(None) and _matches(value, member):
                return _convert_type(value, member, path, partial)
        raise _Mismatch
    if not _matches(value, hint):
        raise _Mismatch
    if origin is list:
        (item_hint,) = typing.get_args(hint)
        return [_convert(item, item_hint, f"{path}[{index}]", partial) for index, item in enumerate(value)]
    if origin is dict:
        _, item_hint = typing.get_args(hint)
        converted = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"{path} keys must be strings, got {key!r}")
            converted[key] = _convert(item, item_hint, _join(path, key), partial)
        return converted
    if hint is dict:
        return dict(value)
    return value


def _unknown_key(path: str, key: Any, known: list[str]) -> ConfigError:
    close = difflib.get_close_matches(str(key), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {known}"
    return ConfigError(f"unknown parameter {_join(path, key)}{hint}")


def _convert_dataclass(value: Any, cls: type, path: str, partial: bool) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path or 'parameters'} must be a mapping with keys {sorted(fields)}, got {value!r}")
    for key in value:
        if key not in fields:
            raise _unknown_key(path, key, sorted(fields))
    if not partial:
        for name, spec in fields.items():
            if name not in value and not spec.metadata.get("optional_key"):
                raise ConfigError(f"missing parameter {_join(path, name)}: {getattr(cls, '_missing_hint', MISSING_HINT)}")
    hints = _hints(cls)
    converted = {}
    for name, spec in fields.items():
        if name not in value:
            continue
        where = _join(path, name)
        item = _convert(value[name], hints[name], where, partial, spec.metadata.get("rule"))
        check = spec.metadata.get("check")
        if check is not None and item is not None:
            check(item, where, partial)
        converted[name] = item
    if partial:
        return {name: as_dict(item) for name, item in converted.items()}
    cross_check = getattr(cls, "_cross_check", None)
    if cross_check is not None:
        cross_check(converted, path)
    return cls(**converted)
