"""A Markdown model card: what the model is for, what it was trained on, how well it does, what it costs.

The card is rendered from a plain dict so any stage can assemble it from JSON it already has.
Required entries raise :class:`ConfigError` when missing; optional ones (a from-scratch run, the
cost measurements, a calibration estimate...) simply drop their rows or sections.
"""

from __future__ import annotations

from datetime import datetime

from lmladder.corpus.scripts import describe_script_mix
from lmladder.errors import ConfigError

REQUIRED_KEYS = (
    "name",
    "created",
    "intended_use",
    "limitations",
    "data",
    "data.fingerprint",
    "model",
    "training",
    "metrics",
    "metrics.classifier",
    "metrics.classifier.accuracy",
    "metrics.classifier.macro_f1",
)

# A generator's card (``task: generation``) needs its scores instead of the classifier's.
GENERATION_REQUIRED_KEYS = tuple(key for key in REQUIRED_KEYS if not key.startswith("metrics.classifier")) + (
    "metrics.generator",
    "metrics.generator.chrf",
)
GENERATION_SYSTEMS = (
    ("generator", "Fine-tuned generator"),
    ("scratch", "Same architecture, trained from scratch"),
    ("retrieval_baseline", "TF-IDF nearest neighbour (retrieval)"),
)
NOT_CALIBRATED = (
    "## Calibration\n\nDoes not apply: the generator writes text, it gives no class probabilities to calibrate. "
    "Its per-token probabilities are not reported as confidences."
)

# (key under metrics, name in the results table), in the order the table lists them.
SYSTEMS = (
    ("classifier", "Fine-tuned classifier"),
    ("scratch", "Same architecture, trained from scratch"),
    ("tfidf_baseline", "TF-IDF + logistic regression"),
)

# Upper ECE bounds and what a reader should take from them; the thresholds are rules of thumb.
CALIBRATION_READINGS = (
    (0.02, "well calibrated: its confidences can be read as probabilities"),
    (0.05, "reasonably calibrated: confidences are close to observed accuracy"),
    (0.10, "noticeably miscalibrated: treat confidences as rankings rather than probabilities"),
    (float("inf"), "poorly calibrated: recalibrate (e.g. temperature scaling) before trusting its confidences"),
)


def render_model_card(card: dict) -> str:
    """The model card as Markdown.

    ``card`` holds ``name``, ``created`` (ISO 8601), ``intended_use``, ``limitations`` (list) and
    the dicts ``data`` (``fingerprint`` required; ``source``, corpus and labelled counts, ``classes`` and
    ``scripts``, the share of each script among the labelled texts' letters, optional), ``model``,
    ``training``, ``metrics`` (``classifier`` required; ``scratch``,
    ``tfidf_baseline``, ``language_model`` optional), plus optional ``per_class_markdown``,
    ``calibration`` {``ece``, ``n_bins``} and ``cost``. ``cost`` takes the keys that
    :func:`~lmladder.evaluation.cost.measure_latency` and
    :func:`~lmladder.evaluation.cost.peak_memory_during` return, plus ``size_on_disk_bytes``.
    """
    generation = card.get("task") == "generation"
    _check_required_keys(card, GENERATION_REQUIRED_KEYS if generation else REQUIRED_KEYS)
    _check_created(card["created"])
    if generation:
        return _generation_card(card)
    sections = [
        _title_and_summary(card),
        _intended_use(card),
        _data(card["data"]),
        _model(card["model"]),
        _training(card["training"]),
        _results(card["metrics"]),
        _per_class(card.get("per_class_markdown")),
        _calibration(card.get("calibration")),
        _cost(card.get("cost")),
        _limitations(card["limitations"]),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _generation_card(card: dict) -> str:
    generator, model = card["metrics"]["generator"], card["model"]
    facts = [_model_description(model)] + ([f"{_count(model['parameters'])} parameters"] if model.get("parameters") is not None else [])
    title = (
        f"# Model card: {card['name']}\n\n"
        f"Text generator (source text -> target text): {', '.join(facts)}; created {card['created']}. "
        f"Test chrF {generator['chrf']:.1f}, BLEU {generator['bleu']:.1f}, ROUGE-L {generator['rouge_l']:.1f}."
    )
    samples = card.get("samples_markdown")
    sections = [
        title,
        _intended_use(card),
        _data(card["data"]),
        _model(model),
        _training(card["training"]),
        _generation_results(card["metrics"]),
        f"## Sample outputs (test split)\n\n{samples.strip()}" if samples else None,
        NOT_CALIBRATED,
        _cost(card.get("cost")),
        _limitations(card["limitations"]),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _generation_results(metrics: dict) -> str:
    systems = [(name, metrics[key]) for key, name in GENERATION_SYSTEMS if metrics.get(key)]
    lines = [
        "## Results",
        "",
        "Scores on the test split, 0-100 (sacreBLEU's BLEU and chrF, ROUGE-L F-measure, exact match).",
        "",
        "| System | chrF | BLEU | ROUGE-L | Exact match |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, scores in systems:
        lines.append(f"| {name} | {scores['chrf']:.1f} | {scores['bleu']:.1f} | {scores['rouge_l']:.1f} | {scores['exact_match']:.1f} |")
    ranked = sorted(systems, key=lambda item: item[1]["chrf"], reverse=True)
    if len(ranked) >= 2:
        (best, first), (runner_up, second) = ranked[0], ranked[1]
        lines += [
            "",
            f"Best by chrF: {best} ({first['chrf']:.1f}), ahead of {runner_up} ({second['chrf']:.1f}) by {first['chrf'] - second['chrf']:.1f}.",
        ]
    language_model = _language_model_sentence(metrics.get("language_model") or {})
    if language_model:
        lines += ["", language_model]
    return "\n".join(lines)


def _title_and_summary(card: dict) -> str:
    model, classifier = card["model"], card["metrics"]["classifier"]
    facts = [_model_description(model)]
    if model.get("parameters") is not None:
        facts.append(f"{_count(model['parameters'])} parameters")
    if card["data"].get("classes"):
        facts.append(f"{len(card['data']['classes'])} classes")
    return (
        f"# Model card: {card['name']}\n\n"
        f"Text classifier: {', '.join(facts)}; created {card['created']}. "
        f"Test accuracy {classifier['accuracy']:.3f}, macro-F1 {classifier['macro_f1']:.3f}."
    )


def _model_description(model: dict) -> str:
    architecture = model.get("architecture") or "Transformer"
    return f"{architecture} ({model['preset']} preset)" if model.get("preset") else str(architecture)


def _intended_use(card: dict) -> str:
    return f"## Intended use\n\n{card['intended_use']}"


def _data(data: dict) -> str:
    rows = [
        ("Fingerprint", f"`{data['fingerprint']}`"),
        ("Source", data.get("source")),
        ("Corpus documents", _count_or_none(data.get("corpus_documents"))),
        ("Corpus tokens", _count_or_none(data.get("corpus_tokens"))),
    ]
    for split, examples in (data.get("labelled_examples") or {}).items():
        rows.append((f"Labelled examples ({split})", _count(examples)))
    for split, examples in (data.get("pairs") or {}).items():
        rows.append((f"Source-target pairs ({split})", _count(examples)))
    if data.get("classes"):
        rows.append(("Classes", ", ".join(f"`{label}`" for label in data["classes"])))
    if data.get("scripts"):
        what = "sources" if data.get("pairs") else "labelled texts"
        rows.append((f"Scripts of the {what}", describe_script_mix(data["scripts"])))
    summary = _data_summary(data)
    return "## Data\n\n" + (f"{summary}\n\n" if summary else "") + _key_value_table(rows)


def _data_summary(data: dict) -> str | None:
    # Said from the counts and scripts the run measured, so the card is true whatever the data was.
    parts = []
    if data.get("corpus_documents") is not None:
        tokens = f" ({data['corpus_tokens']:,} tokens)" if data.get("corpus_tokens") is not None else ""
        parts.append(f"Language model pretrained on {data['corpus_documents']:,} corpus documents{tokens}")
    if data.get("labelled_examples"):
        classes = f" in {len(data['classes'])} classes" if data.get("classes") else ""
        scripts = f", written in {describe_script_mix(data['scripts'])}" if data.get("scripts") else ""
        parts.append(f"classifier trained and evaluated on {sum(data['labelled_examples'].values()):,} labelled texts{classes}{scripts}")
    if data.get("pairs"):
        scripts = f", sources written in {describe_script_mix(data['scripts'])}" if data.get("scripts") else ""
        parts.append(f"generator trained and evaluated on {sum(data['pairs'].values()):,} source-target pairs{scripts}")
    if not parts:
        return None
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _model(model: dict) -> str:
    rows = [
        ("Preset", model.get("preset")),
        ("Architecture", model.get("architecture")),
        ("Parameters", _count_or_none(model.get("parameters"))),
        ("Non-embedding parameters", _count_or_none(model.get("non_embedding_parameters"))),
        ("FLOPs per token", _count_or_none(model.get("flops_per_token"))),
        ("Maximum positions", _count_or_none(model.get("max_positions"))),
    ]
    return _section_or_empty("## Model", rows)


def _training(training: dict) -> str:
    rows = [
        ("Pretraining steps", _count_or_none(training.get("pretraining_steps"))),
        ("Fine-tuning mode", training.get("finetuning_mode")),
        ("Fine-tuning epochs", training.get("epochs")),
    ]
    return _section_or_empty("## Training", rows)


def _results(metrics: dict) -> str:
    systems = [(name, metrics[key]) for key, name in SYSTEMS if metrics.get(key)]
    lines = [
        "## Results",
        "",
        "| System | Accuracy | Macro-F1 | Weighted-F1 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, scores in systems:
        lines.append(
            f"| {name} | {_score(scores.get('accuracy'))} | {_score(scores.get('macro_f1'))} | {_score(scores.get('weighted_f1'))} |"
        )
    verdict = _best_system_sentence(systems)
    if verdict:
        lines += ["", verdict]
    language_model = _language_model_sentence(metrics.get("language_model") or {})
    if language_model:
        lines += ["", language_model]
    return "\n".join(lines)


def _best_system_sentence(systems: list[tuple[str, dict]]) -> str | None:
    # Ranked by macro-F1: with imbalanced classes accuracy rewards ignoring the rare ones.
    scored = [(name, scores["macro_f1"]) for name, scores in systems if scores.get("macro_f1") is not None]
    if len(scored) < 2:
        return None
    ranked = sorted(scored, key=lambda item: item[1], reverse=True)
    (best, best_f1), (runner_up, runner_up_f1) = ranked[0], ranked[1]
    margin = best_f1 - runner_up_f1
    if round(margin, 3) == 0:
        return f"Best by macro-F1: a tie between {best} and {runner_up} ({best_f1:.3f})."
    return (
        f"Best by macro-F1: {best} ({best_f1:.3f}), ahead of {runner_up} ({runner_up_f1:.3f}) by {margin:.3f} ({100 * margin:.1f} points)."
    )


def _language_model_sentence(language_model: dict) -> str | None:
    parts = []
    if language_model.get("perplexity") is not None:
        parts.append(f"perplexity {language_model['perplexity']:.2f}")
    if language_model.get("bits_per_byte") is not None:
        parts.append(f"{language_model['bits_per_byte']:.3f} bits per byte")
    if not parts:
        return None
    return "Pretrained language model on held-out text: " + ", ".join(parts) + "."


def _per_class(per_class_markdown: str | None) -> str | None:
    if not per_class_markdown:
        return None
    return f"## Per-class results\n\n{per_class_markdown.strip()}"


def _calibration(calibration: dict | None) -> str | None:
    if not calibration or calibration.get("ece") is None:
        return None
    ece = calibration["ece"]
    bins = f" over {calibration['n_bins']} equal-width bins" if calibration.get("n_bins") else ""
    reading = next(text for bound, text in CALIBRATION_READINGS if ece < bound)
    return (
        "## Calibration\n\n"
        f"Expected calibration error (ECE) {ece:.3f}{bins}: on average the top-label confidence "
        f"is {100 * ece:.1f} percentage points away from the observed accuracy; the model is {reading}."
    )


def _cost(cost: dict | None) -> str | None:
    if not cost:
        return None
    batch = f" (batch of {cost['batch_size']})" if cost.get("batch_size") else ""
    rows = [
        (f"Latency p50{batch}", _milliseconds(cost.get("p50_ms"))),
        (f"Latency p95{batch}", _milliseconds(cost.get("p95_ms"))),
        ("Throughput", f"{cost['throughput_per_s']:,.1f} texts/s" if cost.get("throughput_per_s") is not None else None),
        ("Peak memory (RSS increase)", _bytes(cost.get("peak_rss_increase_bytes"))),
        ("Peak GPU memory", _bytes(cost.get("cuda_peak_bytes"))),
        ("Size on disk", _bytes(cost.get("size_on_disk_bytes"))),
        ("Device", cost.get("device")),
    ]
    return _section_or_empty("## Cost", rows)


def _limitations(limitations: list[str]) -> str:
    if isinstance(limitations, str):  # a bare string would otherwise render one bullet per character
        limitations = [limitations]
    if not limitations:
        return "## Limitations\n\nNone recorded."
    return "## Limitations\n\n" + "\n".join(f"- {item}" for item in limitations)


def _section_or_empty(header: str, rows: list[tuple[str, object]]) -> str | None:
    table = _key_value_table(rows)
    return f"{header}\n\n{table}" if table else None


def _key_value_table(rows: list[tuple[str, object]]) -> str:
    present = [(key, value) for key, value in rows if value is not None and value != ""]
    if not present:
        return ""
    return "\n".join(["| | |", "| --- | --- |"] + [f"| {key} | {value} |" for key, value in present])


def _check_required_keys(card: dict, required: tuple[str, ...]) -> None:
    if not isinstance(card, dict):
        raise ConfigError(f"A model card is built from a dict; got {type(card).__name__}.")
    for dotted in required:
        value = card
        for part in dotted.split("."):
            if not isinstance(value, dict) or value.get(part) is None:
                raise ConfigError(f"The model card is missing the required key '{dotted}'.")
            value = value[part]


def _check_created(created: str) -> None:
    try:
        datetime.fromisoformat(str(created))
    except ValueError as error:
        raise ConfigError(f"'created' must be an ISO 8601 date or timestamp; got {created!r}.") from error


def _count(value: int | float) -> str:
    value = float(value)
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= threshold:
            return f"{value:,.0f} ({value / threshold:.1f}{suffix})"
    return f"{value:,.0f}"


def _count_or_none(value) -> str | None:
    return None if value is None else _count(value)


def _score(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _milliseconds(value) -> str | None:
    return None if value is None else f"{value:.2f} ms"


def _bytes(value) -> str | None:
    if value is None:
        return None
    for threshold, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= threshold:
            return f"{value / threshold:.1f} {unit} ({int(value):,} bytes)"
    return f"{int(value):,} bytes"
