"""Building the training objects from parameters with Hydra, and the checks of the training parameters
that need torch and Hydra, run when a pipeline that trains starts (before its first node): whether Hydra
can build the objects, and whether the model and a batch fit in memory. Keys, types, ranges and the
allowed Hydra targets of the whole run are the schema's (``lmladder.parameters``), checked earlier, when
the session starts; ``instantiate_allowed`` checks the targets again at the moment Hydra builds them."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Sequence

import psutil
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from lmladder.errors import ConfigError
from lmladder.model import parameter_counts
from lmladder.parameters import HYDRA_MAPPINGS, Tokenizer, check_hydra_keys, check_section
from lmladder.training.hardware import CPU_BF16_MIN_SPEEDUP, cpu_prefers_bf16, matmul_probe, step_prefers_bf16, step_probe

log = logging.getLogger(__name__)

# The tokenizer is trained after these checks run; its configured size (data_processing.tokenizer.vocab_size)
# stands in for it, and conf/base's when a caller gives none.
DEFAULT_VOCAB_SIZE = Tokenizer().vocab_size
FP32_BYTES = 4


def instantiate_allowed(mapping: dict, section: str, path: str | None = None, **kwargs):
    """``hydra.utils.instantiate(mapping, **kwargs)``, once ``mapping``'s ``_target_`` is one the schema
    allows for ``section`` (a key of ``HYDRA_MAPPINGS``: ``"pretraining.optimizer"``) and nothing inside it
    would make Hydra build anything else (``check_hydra_keys``). ``path`` names the mapping in messages
    (default: ``section``); a build that fails is a ``ConfigError`` naming it, and so is a partial (an
    optimizer or schedule, called later with the parameters) given an argument its target does not take:
    otherwise that surfaces only when training starts.

    Every Hydra build of parameters goes through here, not only the session-start check: a ladder rung's
    parameters reach the training nodes through a saved file (``ladder_parameters``), so a run of just
    those nodes would otherwise build whatever ``_target_`` that file holds."""
    path = path or section
    targets = HYDRA_MAPPINGS[section]
    check_hydra_keys(mapping, path, lambda where: targets if where == path else None)
    try:
        built = instantiate(mapping, **kwargs)
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, ConfigError):  # the project's own factory refused a value: its message says which
            raise ConfigError(f"{path}: {cause}") from None
        raise ConfigError(f"{path} could not be built: {error}") from error
    if isinstance(built, functools.partial):
        try:
            inspect.signature(built.func).bind_partial(*built.args, **built.keywords)
        except TypeError as error:
            raise ConfigError(f"{path}: {mapping['_target_']} {error}; remove that key from {path} or choose another _target_") from None
    return built


def build_model_config(model_params: dict, vocab_size: int, path: str = "pretraining.model"):
    """The ``ModelConfig`` that ``model_params`` (a ``pretraining.model`` mapping) describes, at ``vocab_size``."""
    return instantiate_allowed(model_params, "pretraining.model", path, vocab_size=vocab_size)


def build_optimizer_and_schedule(params: dict, section: str, path: str | None = None) -> tuple:
    """The optimizer and learning-rate schedule partials of ``params`` (the ``pretraining`` or
    ``finetuning`` parameters, or a rung's), each built by ``instantiate_allowed``."""
    path = path or section
    return tuple(instantiate_allowed(params[name], f"{section}.{name}", f"{path}.{name}") for name in ("optimizer", "lr_schedule"))


def trains_on_gpu(accelerator: str) -> bool:
    """Whether Lightning's ``accelerator`` setting puts training on a CUDA GPU, without initialising CUDA
    in this process: ``torch.cuda.is_available()`` calls ``cudaGetDeviceCount``, which initialises the
    driver and breaks fork-based DDP later (unless PYTORCH_NVML_BASED_CUDA_CHECK=1, which importing
    Lightning sets); ``torch.cuda.device_count()`` asks NVML (the runtime only where NVML is missing)."""
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.device_count() > 0)


def choose_precision(
    precision: str, accelerator: str, model=None, batch_size: int | None = None, block_size: int | None = None
) -> tuple[str, dict]:
    """The precision to train in, and the measurements that chose it (run parameters; empty unless ``auto``
    decided on a CPU).

    ``auto``: bf16 mixed precision on a GPU that supports it. On a CPU, bf16 only where it is faster: the
    cached matmul probe must find bf16 matmuls ``CPU_BF16_MIN_SPEEDUP`` times faster than fp32 (AMX,
    AVX512-BF16), and then a training step of ``model`` (a ``Transformer``, on ``batch_size`` x
    ``block_size`` tokens; cached per model and shape) must measure faster under bf16 autocast too. Without
    a model (fine-tuning), a CPU trains in fp32. See ``lmladder.training.hardware``."""
    if precision != "auto":
        return precision, {}
    if trains_on_gpu(accelerator):
        return ("bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "32-true"), {}
    if model is None:
        log.info("precision auto: 32-true (fine-tuning trains in fp32 on a CPU)")
        return "32-true", {}
    probe = matmul_probe("cpu")
    evidence = {
        "train.matmul_fp32_gflops": round(probe["fp32_flops"] / 1e9, 1),
        "train.matmul_bf16_gflops": round(probe["bf16_flops"] / 1e9, 1),
    }
    if not cpu_prefers_bf16(probe):
        reason = f"bf16 matmuls are not {CPU_BF16_MIN_SPEEDUP:g}x faster than fp32 on this CPU"
        choice = "32-true"
    else:
        step = step_probe(model, batch_size, block_size)
        evidence.update(
            {"train.step_fp32_ms": round(step["fp32_step_s"] * 1e3, 1), "train.step_bf16_ms": round(step["bf16_step_s"] * 1e3, 1)}
        )
        choice = "bf16-mixed" if step_prefers_bf16(step) else "32-true"
        reason = (
            f"a training step takes {step['fp32_step_s'] * 1e3:.0f} ms in fp32 and {step['bf16_step_s'] * 1e3:.0f} ms under bf16 autocast"
        )
    log.info(
        "precision auto: %s on this CPU (matmuls: bf16 %.0f GFLOP/s, fp32 %.0f GFLOP/s; %s)",
        choice,
        probe["bf16_flops"] / 1e9,
        probe["fp32_flops"] / 1e9,
        reason,
    )
    return choice, evidence


def resolve_precision(precision: str, accelerator: str) -> str:
    """``choose_precision`` without a model: fine-tuning's (and any caller's without a step to measure)."""
    return choose_precision(precision, accelerator)[0]


def device_peak_flops(precision: str, accelerator: str) -> float:
    """The cached matmul peak of the device and precision training uses: the MFU denominator."""
    probe = matmul_probe("cuda" if trains_on_gpu(accelerator) and torch.cuda.is_available() else "cpu")
    return probe["bf16_flops"] if str(precision).startswith("bf16") else probe["fp32_flops"]


def training_memory_bytes(config, batch_size: int, sequence_length: int, *, logits: bool = True, frozen: bool = False) -> int:
    """Peak memory of one training step of ``config`` (a ``ModelConfig``) on ``batch_size`` sequences of
    ``sequence_length`` tokens, in fp32, from the shapes alone (rounded up, never measured):

    - weights, gradients and AdamW's two moments: 4 copies of the parameters;
    - activations kept for the backward pass, per token and layer: about 10 x n_embd (norms, q/k/v,
      attention output, residuals) + 3 x the MLP width (its input, activation and output) + 2 x n_head x
      sequence_length (attention scores and their softmax, where the kernel keeps them);
    - with ``logits`` (a language model): 4 copies of batch x length x vocab (the logits, log-softmax and
      both gradients; at a large vocabulary they are most of it).

    ``frozen``: the model is a frozen backbone (fine-tuning's ``frozen`` mode): no gradients or optimizer
    moments for it, only its weights, and no activations kept for a backward pass, so one layer's at a
    time as the forward pass runs. The classification head that does train is ignored (n_embd x classes).

    benchmarks/bench_memory_estimate.py compares it with the measured peak of a small model's training steps.
    """
    tokens = batch_size * sequence_length
    per_token_layer = 10 * config.n_embd + 3 * config.mlp_hidden + 2 * config.n_head * sequence_length
    copies, layers_kept = (1, 1) if frozen else (4, config.n_layer)
    floats = copies * parameter_counts(config)["total"] + tokens * layers_kept * per_token_layer
    if logits:
        floats += 4 * tokens * config.vocab_size
    return FP32_BYTES * floats


def available_memory_bytes() -> int:
    """Memory a new allocation can get without swapping (``psutil``'s ``available``: free memory plus
    the caches the kernel can drop). Not ``total``: what other processes already hold (and this one,
    torch included) cannot go to the batch, and a run past ``available`` swaps until the machine freezes."""
    return psutil.virtual_memory().available


def check_memory(needed: int, section: str, parameter: str, what: str, *, accelerator: str, available: int | None = None) -> None:
    """Refuse a training step of ``needed`` bytes that does not fit in host memory (``available``, by
    default ``available_memory_bytes()``). On a GPU the step lives in device memory, which is not checked:
    reading it would initialise CUDA in this process (see ``trains_on_gpu``), so it is only logged."""
    if trains_on_gpu(accelerator):
        log.info(
            "%s: training runs on a GPU (trainer.accelerator=%s); its memory is not checked before training "
            "(the estimate is about %.1f GB: %s)",
            section,
            accelerator,
            needed / 1e9,
            what,
        )
        return
    available = available_memory_bytes() if available is None else available
    if needed > available:
        raise ConfigError(
            f"{section}: training needs about {needed / 1e9:,.1f} GB of memory ({what}) but {available / 1e9:,.1f} GB is available; "
            f"lower {section}.{parameter} (or the model size). This is host memory: trainer.accelerator={accelerator} does not "
            "train on a GPU"
        )


def validate_pretraining_params(
    params: dict, section: str = "pretraining", *, vocab_size: int = DEFAULT_VOCAB_SIZE, available_memory: int | None = None
) -> None:
    """Raise ``ConfigError`` naming the first bad key: the schema (``lmladder.parameters``: keys, types,
    ranges), then whether Hydra can build the optimizer, schedule and model config from it (allowed
    targets only), whether the training windows fit the model, and whether a training step fits in memory
    (``check_memory``; ``available_memory``: host memory, by default ``available_memory_bytes()``).
    ``section`` names the parameters in messages (a rung's, say); ``vocab_size``: the tokenizer's."""
    check_section("pretraining", params, section)
    build_optimizer_and_schedule(params, "pretraining", section)
    config = build_model_config(params["model"], vocab_size, f"{section}.model")
    block_size, batch_size = params["data"]["block_size"], params["data"]["batch_size"]
    if block_size > config.max_positions:
        raise ConfigError(f"{section}.data.block_size={block_size} is above {section}.model.max_positions={config.max_positions}")
    ranks = ranks_in_host_memory(params["trainer"])
    check_memory(
        training_memory_bytes(config, batch_size, block_size) * ranks,
        section,
        "data.batch_size",
        f"a batch of {batch_size} x {block_size} tokens, {config.vocab_size} logits each"
        + (f", on each of {ranks} ranks" if ranks > 1 else ""),
        accelerator=params["trainer"]["accelerator"],
        available=available_memory,
    )


def ranks_in_host_memory(trainer: dict) -> int:
    """Training processes on this machine that each hold a model, its optimizer state and a batch in host
    memory: every rank on a CPU, none on GPUs (device memory, not checked)."""
    from lmladder.training.distributed import world_size  # it imports this module

    return 1 if trains_on_gpu(trainer.get("accelerator", "auto")) else world_size({**trainer, "num_nodes": 1})


def validate_finetuning_params(
    params: dict,
    section: str = "finetuning",
    *,
    model_params: dict | None = None,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    available_memory: int | None = None,
    modes: Sequence[str] | None = None,
) -> None:
    """As ``validate_pretraining_params``, for the fine-tuning parameters: the schema, whether Hydra can
    build the optimizer and schedule, and, given the model's parameters (``model_params``: the
    ``pretraining.model`` it was trained with), whether a batch of ``finetuning.batch_size`` texts of the
    model's ``max_positions`` tokens fits in memory (the classifier has no vocabulary-sized logits).
    ``modes``: the fine-tuning modes that will train, by default ``mode`` and ``baseline_mode`` (the
    finetuning pipeline trains both; a ladder rung only ``mode``). Only when all are ``frozen`` does the
    backbone count without gradients, optimizer moments and kept activations."""
    check_section("finetuning", params, section)
    build_optimizer_and_schedule(params, "finetuning", section)
    if model_params is None:
        return
    config = build_model_config(model_params, vocab_size)
    batch_size = params["batch_size"]
    frozen = all(mode == "frozen" for mode in modes or (params["mode"], params["baseline_mode"]))
    ranks = ranks_in_host_memory(params["trainer"])
    check_memory(
        training_memory_bytes(config, batch_size, config.max_positions, logits=False, frozen=frozen) * ranks,
        section,
        "batch_size",
        f"a batch of {batch_size} texts of up to {config.max_positions} tokens{', frozen backbone' if frozen else ''}"
        + (f", on each of {ranks} ranks" if ranks > 1 else ""),
        accelerator=params["trainer"]["accelerator"],
        available=available_memory,
    )
