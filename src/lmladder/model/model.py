"""The Transformer in one file, after nanoGPT's model.py.

One ``ModelConfig`` dataclass covers the three architectures the field chooses between: a decoder
(causal language model, GPT), an encoder (bidirectional, masked language model, BERT) and the original
encoder-decoder (an encoder's states read by a causal decoder through cross-attention, T5/BART), plus the
usual options: learned or rotary positions, LayerNorm or RMSNorm, GELU, SwiGLU or ReLU² MLP, QK-norm,
zero-initialised residual projections, biases, tied embeddings, dropout. Attention goes through ``F.scaled_dot_product_attention`` (flash/memory-
efficient kernels where the device has them).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from lmladder.errors import ConfigError

ARCHITECTURES = ("decoder", "encoder", "encoder-decoder")
POSITIONALS = ("learned", "rotary")
NORMS = ("layernorm", "rmsnorm")
MLPS = ("gelu", "swiglu", "relu2")


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = 4096
    max_positions: int = 256  # longest sequence the model accepts
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    architecture: str = "decoder"  # decoder: causal LM; encoder: bidirectional, masked LM; encoder-decoder: T5-style
    # (n_layer encoder blocks and n_layer decoder blocks, one shared token embedding)
    positional: str = "learned"  # learned absolute embeddings or rotary (RoPE) in attention
    norm: str = "layernorm"
    mlp: str = "gelu"  # gelu, swiglu or relu2 (ReLU squared, as in modded-nanogpt)
    mlp_ratio: float = 4.0  # hidden width / n_embd (SwiGLU uses 2/3 of it: same parameters as GELU)
    qk_norm: bool = False  # RMSNorm of each head's queries and keys before attention
    zero_init_projections: bool = False  # residual projections start at zero: each block starts as the identity
    bias: bool = True  # biases in linear layers and LayerNorm
    tie_embeddings: bool = True  # the output layer shares the token embedding matrix
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_positions", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"model.{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ConfigError(f"model.n_embd={self.n_embd} must be divisible by model.n_head={self.n_head}")
        if self.positional == "rotary" and (self.n_embd // self.n_head) % 2:
            raise ConfigError(f"model.positional=rotary needs an even head size, got n_embd/n_head={self.n_embd // self.n_head}")
        for name, allowed in (("architecture", ARCHITECTURES), ("positional", POSITIONALS), ("norm", NORMS), ("mlp", MLPS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"model.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout!r}")
        if not self.mlp_ratio > 0:
            raise ConfigError(f"model.mlp_ratio must be positive, got {self.mlp_ratio!r}")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def mlp_hidden(self) -> int:
        hidden = int(self.mlp_ratio * self.n_embd)
        return 2 * hidden // 3 if self.mlp == "swiglu" else hidden

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown model config keys {unknown}; known keys are {sorted(known)}")
        return cls(**values)


# Size presets: (n_layer, n_head, n_embd). Non-embedding parameters ~ 12 * n_layer * n_embd^2,
# from ~0.1M to GPT-2 small's 85M, each 2-4x the one before.
PRESETS: dict[str, tuple[int, int, int]] = {
    "nano": (2, 2, 64),  # 0.10M
    "micro": (3, 3, 96),  # 0.33M
    "tiny": (4, 4, 128),  # 0.79M
    "mini": (6, 6, 192),  # 2.7M
    "small": (8, 8, 256),  # 6.3M
    "medium": (8, 6, 384),  # 14M
    "base": (10, 8, 512),  # 31M
    "gpt2-small": (12, 12, 768),  # 85M
}


# Sizes between and below the presets, for a ladder that must resolve where loss is lowest:
# - the depth dial (nanochat's) ``d<k>``: k layers of width 32k in heads of 32; the presets up to
#   ``small`` are points on it (nano = d2, micro = d3, tiny = d4, mini = d6, small = d8);
# - ``<layers>x<width>``, e.g. ``2x48``: any shape, width a multiple of 16, in heads of 32 where the
#   width allows and of 16 otherwise.
DEPTH_DIAL = re.compile(r"^d([1-9][0-9]?)$")
SHAPE = re.compile(r"^([1-9][0-9]?)x([1-9][0-9]*)$")
DIAL_HEAD_SIZE = 32


def preset_shape(preset: str) -> tuple[int, int, int]:
    """(n_layer, n_head, n_embd) of a preset name, a depth-dial size ``d<k>`` or a shape ``<layers>x<width>``."""
    if preset in PRESETS:
        return PRESETS[preset]
    text = preset if isinstance(preset, str) else ""
    if match := DEPTH_DIAL.match(text):
        depth = int(match.group(1))
        return depth, depth, DIAL_HEAD_SIZE * depth
    if (match := SHAPE.match(text)) and int(match.group(2)) % 16 == 0:
        layers, width = int(match.group(1)), int(match.group(2))
        return layers, width // (32 if width % 32 == 0 else 16), width
    raise ConfigError(
        f"unknown model preset {preset!r}; choose one of {list(PRESETS)}, a depth-dial size d1 .. d99 "
        "or a shape <layers>x<width> with the width a multiple of 16 (e.g. 2x48)"
    )


def model_config(preset: str, **overrides) -> ModelConfig:
    """A preset's (or depth-dial size's) config with any field overridden (``vocab_size`` usually comes
    from the tokenizer)."""
    n_layer, n_head, n_embd = preset_shape(preset)
    return ModelConfig.from_dict({"n_layer": n_layer, "n_head": n_head, "n_embd": n_embd, **overrides})


def _stack_parameters(config: ModelConfig) -> tuple[int, int]:
    """Non-embedding parameters of (the encoder or decoder stack, an encoder-decoder's decoder stack)."""
    d, hidden, bias = config.n_embd, config.mlp_hidden, config.bias
    norm = d + (d if bias and config.norm == "layernorm" else 0)
    attention = 4 * d * d + (4 * d if bias else 0)
    if config.mlp == "swiglu":
        mlp = 3 * d * hidden + (2 * hidden + d if bias else 0)
    else:
        mlp = 2 * d * hidden + (hidden + d if bias else 0)
    qk_norm = 2 * config.head_size if config.qk_norm else 0  # RMSNorm gains of queries and keys
    block = 2 * norm + attention + mlp + qk_norm
    cross_block = block + norm + attention + qk_norm  # plus a cross-attention and its norm
    return config.n_layer * block + norm, config.n_layer * cross_block + norm


def parameter_counts(config: ModelConfig) -> dict[str, int]:
    """Exact parameter counts from the config alone (tests check them against the real model).

    ``non_embedding`` excludes token and position embeddings and the output layer: the N of
    scaling laws (Kaplan et al., 2020). An encoder-decoder counts both stacks; its embeddings are shared
    by the two stacks and counted once.
    """
    stack, cross_stack = _stack_parameters(config)
    non_embedding = stack + (cross_stack if config.architecture == "encoder-decoder" else 0)
    token_embedding = config.vocab_size * config.n_embd
    position_embedding = config.max_positions * config.n_embd if config.positional == "learned" else 0
    output = 0 if config.tie_embeddings else config.vocab_size * config.n_embd
    return {
        "total": non_embedding + token_embedding + position_embedding + output,
        "non_embedding": non_embedding,
        "embedding": token_embedding + position_embedding + output,
    }


def flops_per_token(config: ModelConfig, sequence_length: int) -> int:
    """Training FLOPs per token: 6 x (matmul parameters) + the attention term, as in nanoGPT/PaLM.

    Matmul parameters are the non-embedding ones plus the output projection, which is a real
    vocab x d matmul whether or not it shares weights with the embedding. For an encoder-decoder, per
    token of a ``sequence_length`` window trained with span corruption (``span_corruption_lengths``): the
    encoder reads the corrupted window, the decoder writes the spans, and the total is divided by the
    window's length, so every architecture's figure is FLOPs per token of the same token files.
    """
    if config.architecture == "encoder-decoder":
        encoder_length, decoder_length = span_corruption_lengths(sequence_length)[:2]
        return round(encoder_decoder_flops(config, encoder_length, decoder_length) / sequence_length)
    matmul_params = parameter_counts(config)["non_embedding"] + config.vocab_size * config.n_embd
    return 6 * matmul_params + 12 * config.n_layer * config.n_embd * sequence_length


def encoder_decoder_flops(config: ModelConfig, encoder_length: int, decoder_length: int) -> int:
    """Training FLOPs of one (source, target) pair of an encoder-decoder: 6 x parameters x the tokens they
    apply to: the encoder's on the source, the decoder's and the output layer on the target, except the
    cross-attentions' key/value projections, which read the encoder's states (source tokens); plus the
    attention terms: self-attention over each side's length, cross-attention of each target token over
    the source."""
    encoder, decoder = _stack_parameters(config)
    d = config.n_embd
    cross_key_value = config.n_layer * (2 * d * d + (2 * d if config.bias else 0))
    decoder += config.vocab_size * d - cross_key_value
    lengths = encoder_length * encoder_length + decoder_length * decoder_length + decoder_length * encoder_length
    attention = 12 * config.n_layer * d * lengths
    return 6 * ((encoder + cross_key_value) * encoder_length + decoder * decoder_length) + attention


# T5's span corruption (Raffel et al., 2020): 15% of a window's tokens, in spans of mean length 3, each
# span replaced by one sentinel in the encoder's input; the decoder writes each sentinel and its span.
NOISE_DENSITY = 0.15
MEAN_SPAN_LENGTH = 3.0


def span_corruption_lengths(length: int, noise_density: float = NOISE_DENSITY, mean_span_length: float = MEAN_SPAN_LENGTH):
    """(encoder length, decoder length, noise tokens, spans) for a window of ``length`` tokens. The decoder
    writes each span's sentinel and tokens and then the end-of-text token."""
    noise = min(max(1, round(length * noise_density)), length - 1)
    spans = min(max(1, round(noise / mean_span_length)), noise, length - noise)
    return length - noise + spans, noise + spans + 1, noise, spans


def _norm(config: ModelConfig) -> nn.Module:
    if config.norm == "rmsnorm":
        return nn.RMSNorm(config.n_embd)
    return nn.LayerNorm(config.n_embd, bias=config.bias)


def rotary_tables(head_size: int, length: int, base: float = 10000.0, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    inverse_frequency = 1.0 / base ** (torch.arange(0, head_size, 2, device=device).float() / head_size)
    angles = torch.outer(torch.arange(length, device=device).float(), inverse_frequency)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x[2i], x[2i+1]) of each head by position-dependent angles (RoPE)."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    rotated = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return rotated.flatten(-2).type_as(x)


class SelfAttention(nn.Module):
    def __init__(self, config: ModelConfig, causal: bool):
        super().__init__()
        self.config, self.causal = config, causal
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.proj.residual_projection = True
        self.resid_dropout = nn.Dropout(config.dropout)
        if config.qk_norm:
            self.q_norm, self.k_norm = nn.RMSNorm(config.head_size), nn.RMSNorm(config.head_size)

    def forward(self, x, rotary=None, attention_mask=None, return_weights=False):
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        q, k, v = (t.view(batch, length, self.config.n_head, self.config.head_size).transpose(1, 2) for t in (q, k, v))
        if self.config.qk_norm:  # in the norm's dtype: under bf16 autocast q and k arrive in bf16, its gains in fp32
            q, k = self.q_norm(q.float()).type_as(q), self.k_norm(k.float()).type_as(k)
        if rotary is not None:
            q, k = apply_rotary(q, *rotary), apply_rotary(k, *rotary)
        causal = self.causal
        if return_weights:  # explicit softmax, only to inspect attention (heatmaps)
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.config.head_size)
            if causal:
                scores = scores.masked_fill(torch.ones(length, length, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            if attention_mask is not None:
                scores = scores.masked_fill(~attention_mask[:, None, None, :], float("-inf"))
            weights = scores.softmax(dim=-1)
            y = weights @ v
        else:
            weights = None
            mask = None
            if attention_mask is not None:  # padding: queries may not attend to pad keys
                mask = attention_mask[:, None, None, :]
                if causal:
                    mask = mask & torch.ones(length, length, dtype=torch.bool, device=x.device).tril()
            y = F.scaled_dot_product_attention(
                q,
                k,
                v,
                attn_mask=mask,
                dropout_p=self.config.dropout if self.training else 0.0,
                is_causal=causal and mask is None,
            )
        y = y.transpose(1, 2).contiguous().view(batch, length, width)
        return self.resid_dropout(self.proj(y)), weights


class MLP(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.kind = config.mlp
        hidden = config.mlp_hidden
        self.up = nn.Linear(config.n_embd, hidden, bias=config.bias)
        if self.kind == "swiglu":
            self.gate = nn.Linear(config.n_embd, hidden, bias=config.bias)
        self.down = nn.Linear(hidden, config.n_embd, bias=config.bias)
        self.down.residual_projection = True
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        if self.kind == "swiglu":
            hidden = F.silu(self.gate(x)) * self.up(x)
        elif self.kind == "relu2":
            hidden = F.relu(self.up(x)).square()
        else:
            hidden = F.gelu(self.up(x))
        return self.dropout(self.down(hidden))


class CrossAttention(nn.Module):
    """An encoder-decoder's decoder queries attend to every (non-pad) encoder position. No causal mask and
    no rotary angles: positions are already in the encoder's states (T5 and BART do the same)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.q = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.kv = nn.Linear(config.n_embd, 2 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.proj.residual_projection = True
        self.resid_dropout = nn.Dropout(config.dropout)
        if config.qk_norm:
            self.q_norm, self.k_norm = nn.RMSNorm(config.head_size), nn.RMSNorm(config.head_size)

    def forward(self, x, memory, memory_mask=None):
        batch, length, width = x.shape
        heads = lambda t: t.view(batch, t.shape[1], self.config.n_head, self.config.head_size).transpose(1, 2)  # noqa: E731
        q, (k, v) = heads(self.q(x)), (heads(t) for t in self.kv(memory).split(width, dim=2))
        if self.config.qk_norm:
            q, k = self.q_norm(q.float()).type_as(q), self.k_norm(k.float()).type_as(k)
        mask = memory_mask[:, None, None, :] if memory_mask is not None else None
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.config.dropout if self.training else 0.0)
        return self.resid_dropout(self.proj(y.transpose(1, 2).contiguous().view(batch, length, width)))


class Block(nn.Module):
    def __init__(self, config: ModelConfig, causal: bool, cross: bool = False):
        super().__init__()
        self.norm1 = _norm(config)
        self.attention = SelfAttention(config, causal)
        if cross:
            self.norm_cross = _norm(config)
            self.cross_attention = CrossAttention(config)
        self.norm2 = _norm(config)
        self.mlp = MLP(config)

    def forward(self, x, rotary=None, attention_mask=None, return_weights=False, memory=None, memory_mask=None):
        attended, weights = self.attention(self.norm1(x), rotary, attention_mask, return_weights)
        x = x + attended
        if memory is not None:
            x = x + self.cross_attention(self.norm_cross(x), memory, memory_mask)
        return x + self.mlp(self.norm2(x)), weights


def _init_weights(module: nn.Module, config: ModelConfig) -> None:
    # GPT-2: N(0, 0.02), and residual projections scaled by 1/sqrt(2 * n_layer) so the
    # residual stream's variance does not grow with depth; or, with zero_init_projections
    # (modded-nanogpt), zero, so that every block starts as the identity.
    if isinstance(module, nn.Linear):
        residual = getattr(module, "residual_projection", False)
        std = 0.02 / math.sqrt(2 * config.n_layer) if residual else 0.02
        if residual and config.zero_init_projections:
            std = 0.0
        nn.init.normal_(module.weight, mean=0.0, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)


class _Embeddings(nn.Module):
    """Token embedding, and learned positions or rotary tables: what every architecture starts with.
    (A base class, not a submodule: saved models keep the parameter names ``token_embedding.weight``...)"""

    def _build_embeddings(self, config: ModelConfig) -> None:
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        if config.positional == "learned":
            self.position_embedding = nn.Embedding(config.max_positions, config.n_embd)
        else:
            cos, sin = rotary_tables(config.head_size, config.max_positions)
            self.register_buffer("rotary_cos", cos, persistent=False)
            self.register_buffer("rotary_sin", sin, persistent=False)
        self.dropout = nn.Dropout(config.dropout)

    def _embed(self, idx: torch.Tensor) -> tuple[torch.Tensor, tuple | None]:
        """Embedded tokens (learned positions added) and the rotary tables for their length, if rotary."""
        length = idx.shape[1]
        if length > self.config.max_positions:
            raise ValueError(f"sequence of {length} tokens is longer than max_positions={self.config.max_positions}")
        x = self.token_embedding(idx)
        rotary = None
        if self.config.positional == "learned":
            x = x + self.position_embedding(torch.arange(length, device=idx.device))
        else:
            rotary = (self.rotary_cos[:length], self.rotary_sin[:length])
        return self.dropout(x), rotary

    def _output_layer(self, config: ModelConfig) -> None:
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.token_embedding.weight


def _cross_entropy(logits, targets, ignore_index):
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=ignore_index)


class Transformer(_Embeddings):
    """A decoder (causal) or an encoder (bidirectional) stack; ``EncoderDecoder`` is the third architecture."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.architecture == "encoder-decoder":
            raise ConfigError("architecture encoder-decoder is built by EncoderDecoder (or build_model), not Transformer")
        self.config = config
        self._build_embeddings(config)
        self.blocks = nn.ModuleList(Block(config, causal=config.architecture == "decoder") for _ in range(config.n_layer))
        self.final_norm = _norm(config)
        self._output_layer(config)
        self.apply(lambda module: _init_weights(module, config))

    def hidden_states(self, idx, attention_mask=None, return_attention=False):
        """Final-norm hidden states [B, T, d] (and per-layer attention weights if asked)."""
        x, rotary = self._embed(idx)
        attention = []
        for block in self.blocks:
            x, weights = block(x, rotary, attention_mask, return_attention)
            attention.append(weights)
        x = self.final_norm(x)
        return (x, attention) if return_attention else x

    def forward(self, idx, targets=None, attention_mask=None, ignore_index: int = -100):
        """Logits [B, T, vocab]; with ``targets`` also the mean cross-entropy over non-ignored targets."""
        logits = self.lm_head(self.hidden_states(idx, attention_mask))
        return logits, None if targets is None else _cross_entropy(logits, targets, ignore_index)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None, generator=None):
        """Sample continuations of ``idx`` [B, T] (decoder only); temperature 0 is greedy."""
        if self.config.architecture != "decoder":
            raise ConfigError("generate() needs a decoder; an encoder model has no next-token distribution")
        for _ in range(max_new_tokens):
            context = idx[:, -self.config.max_positions :]
            logits = self(context)[0][:, -1, :]
            if temperature == 0:
                next_token = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                next_token = torch.multinomial(logits.softmax(dim=-1), num_samples=1, generator=generator)
            idx = torch.cat((idx, next_token), dim=1)
        return idx


class EncoderDecoder(_Embeddings):
    """The original Transformer (Vaswani et al., 2017; T5's layout): ``n_layer`` bidirectional encoder blocks
    read the source; ``n_layer`` causal decoder blocks write the target, each also attending to the
    encoder's final states. One token embedding serves the encoder, the decoder and (tied) the output."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.architecture != "encoder-decoder":
            raise ConfigError(f"EncoderDecoder needs architecture encoder-decoder, got {config.architecture!r}; use Transformer")
        self.config = config
        self._build_embeddings(config)
        self.encoder_blocks = nn.ModuleList(Block(config, causal=False) for _ in range(config.n_layer))
        self.encoder_norm = _norm(config)
        self.decoder_blocks = nn.ModuleList(Block(config, causal=True, cross=True) for _ in range(config.n_layer))
        self.final_norm = _norm(config)
        self._output_layer(config)
        self.apply(lambda module: _init_weights(module, config))

    def encode(self, idx: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's final states [B, S, d]; ``attention_mask`` True on real (non-pad) source tokens."""
        x, rotary = self._embed(idx)
        for block in self.encoder_blocks:
            x = block(x, rotary, attention_mask)[0]
        return self.encoder_norm(x)

    def decoder_states(self, decoder_idx, memory, memory_mask=None, return_attention=False):
        """The decoder's final-norm states [B, T, d] (and its self-attention weights per layer if asked). The
        decoder needs no padding mask of its own: with right padding, real positions never attend (causally)
        to pads."""
        x, rotary = self._embed(decoder_idx)
        attention = []
        for block in self.decoder_blocks:
            x, weights = block(x, rotary, None, return_attention, memory=memory, memory_mask=memory_mask)
            attention.append(weights)
        x = self.final_norm(x)
        return (x, attention) if return_attention else x

    def decode(self, decoder_idx: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Next-token logits [B, T, vocab] for each decoder position."""
        return self.lm_head(self.decoder_states(decoder_idx, memory, memory_mask))

    def hidden_states(self, idx, attention_mask=None, return_attention=False):
        """One text read by both stacks, as BART classifies: the encoder reads it, the decoder reads it again
        (causally, attending to the encoder); the decoder's states [B, T, d] (and self-attention weights)."""
        return self.decoder_states(idx, self.encode(idx, attention_mask), attention_mask, return_attention)

    def forward(self, idx, decoder_idx, targets=None, attention_mask=None, ignore_index: int = -100):
        """Logits [B, T, vocab] of the decoder (teacher forcing on ``decoder_idx``) and, with ``targets``,
        the mean cross-entropy over non-ignored targets."""
        logits = self.decode(decoder_idx, self.encode(idx, attention_mask), attention_mask)
        return logits, None if targets is None else _cross_entropy(logits, targets, ignore_index)

    @torch.no_grad()
    def generate(self, idx, start_id: int, end_id: int, max_new_tokens: int, num_beams: int = 1, length_penalty: float = 1.0):
        """Token ids written for one source ``idx`` [S] (without the start and end tokens): greedy with
        ``num_beams=1``, beam search otherwise; at most ``max_new_tokens``, fewer when ``end_id`` comes."""
        memory = self.encode(idx.view(1, -1))

        def next_logits(prefixes: torch.Tensor) -> torch.Tensor:
            return self.decode(prefixes[:, -self.config.max_positions :], memory.expand(len(prefixes), -1, -1))[:, -1]

        start = torch.tensor([[start_id]], device=idx.device)
        if num_beams == 1:
            return greedy_search(next_logits, start, end_id, max_new_tokens)
        return beam_search(next_logits, start, end_id, max_new_tokens, num_beams, length_penalty)


def build_model(config: ModelConfig) -> Transformer | EncoderDecoder:
    """The model of a config's architecture."""
    return EncoderDecoder(config) if config.architecture == "encoder-decoder" else Transformer(config)


def beam_search(next_logits, prefix: torch.Tensor, end_id: int, max_new_tokens: int, num_beams: int, length_penalty: float = 1.0):
    """Beam search after ``prefix`` [1, T]. ``next_logits`` maps prefixes [k, t] to next-token logits
    [k, vocab]. Returns the written ids, without ``end_id``.

    Beam search keeps the ``num_beams`` best unfinished hypotheses by summed log-probability; a hypothesis
    that writes ``end_id`` is finished and scored by its log-probability over length ** length_penalty
    (length_penalty 0: no normalisation). It stops when ``num_beams`` hypotheses have finished or at the
    length limit (unfinished hypotheses then compete too). With one beam this is greedy search, exactly.
    """
    if not isinstance(num_beams, int) or num_beams < 1:
        raise ConfigError(f"num_beams must be a positive integer, got {num_beams!r}")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ConfigError(f"max_new_tokens must be a non-negative integer, got {max_new_tokens!r}")
    normalised = lambda score, length: score / max(length, 1) ** length_penalty  # noqa: E731
    beams: list[tuple[float, list[int]]] = [(0.0, [])]
    finished: list[tuple[float, list[int]]] = []
    for _ in range(max_new_tokens):
        written = torch.tensor([tokens for _, tokens in beams], dtype=torch.long, device=prefix.device).view(len(beams), -1)
        log_probs = next_logits(torch.cat((prefix.expand(len(beams), -1), written), dim=1)).float().log_softmax(dim=-1)
        scores = torch.tensor([score for score, _ in beams], device=log_probs.device)[:, None] + log_probs
        top = scores.flatten().topk(min(2 * num_beams, scores.numel()))
        alive = []
        for score, index in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            beam, token = divmod(index, log_probs.shape[1])
            if token == end_id:
                finished.append((normalised(score, len(beams[beam][1]) + 1), beams[beam][1]))
            else:
                alive.append((score, beams[beam][1] + [token]))
            if len(alive) == num_beams:
                break
        beams = alive
        if len(finished) >= num_beams or not beams:
            break
    else:
        finished += [(normalised(score, len(tokens)), tokens) for score, tokens in beams]
    return max(finished, key=lambda hypothesis: hypothesis[0])[1]


def greedy_search(next_logits, prefix: torch.Tensor, end_id: int, max_new_tokens: int) -> list[int]:
    """The most likely next token at each step after ``prefix`` [1, T], until ``end_id`` (not returned)."""
    written: list[int] = []
    sequence = prefix
    for _ in range(max_new_tokens):
        token = int(next_logits(sequence)[0].argmax())
        if token == end_id:
            break
        written.append(token)
        sequence = torch.cat((sequence, sequence.new_tensor([[token]])), dim=1)
    return written
