"""Thin nodes over ``lmladder.evaluation`` and ``lmladder.tracking``."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lmladder.corpus.documents import texts_at
from lmladder.corpus.packing import TokenFile
from lmladder.corpus.scripts import opening_words, script_mix
from lmladder.corpus.tokenizer import special_token_ids
from lmladder.errors import ConfigError
from lmladder.evaluation import (
    attention_grid_figure,
    classification_metrics,
    confusion_matrix_figure,
    directory_size_bytes,
    fit_tfidf_logistic_regression,
    language_model_metrics,
    measure_latency,
    peak_memory_during,
    per_class_table_markdown,
    reliability_diagram_figure,
    render_model_card,
    score_classifier,
    tfidf_parameter_count,
)
from lmladder.evaluation.generation import RetrievalBaseline, generation_metrics, samples_markdown
from lmladder.evaluation.language_model import mean_token_loss
from lmladder.model.classifier import encode_for_classification, predict_probabilities
from lmladder.model.directory import ModelBundle, save_model_directory
from lmladder.model.generation import generate_ids, generate_texts
from lmladder.tracking.registry import log_and_register_classifier, log_and_register_generator
from lmladder.training.plots import curves_figure
from lmladder.validation.gate import check_gate, frame_fingerprint

GENERATION_SCORES = ("chrf", "bleu", "rouge_l", "exact_match")
LENGTH_STATISTICS = ("mean_prediction_tokens", "mean_reference_tokens", "length_ratio", "empty_predictions")


def evaluate_language_model(pretrained: ModelBundle, val_tokens: TokenFile, params: dict) -> dict:
    """Perplexity and bits per byte of the pretrained model on the held-out corpus tokens. An encoder-decoder's
    span-corruption loss is no code length of the text: it gets its loss only."""
    model, tokenizer = pretrained.model, pretrained.tokenizer
    loss = mean_token_loss(
        model, val_tokens.tokens, model.config.max_positions, max_windows=params["lm_max_windows"], special_ids=special_token_ids(tokenizer)
    )
    if model.config.architecture == "encoder-decoder":
        return {"loss": loss}
    return {"loss": loss, **language_model_metrics(loss, val_tokens.metadata["bytes_per_token"])}


def _classifier_scores(bundle: ModelBundle, test: pd.DataFrame, n_bins: int) -> dict:
    return score_classifier(bundle, test["text"].tolist(), test["label"].tolist(), n_bins)


def evaluate_classifier(classifier: ModelBundle, labelled_test: pd.DataFrame, params: dict):
    """Accuracy, F1s, per-class table, confusion matrix and calibration on the test split."""
    scores = _classifier_scores(classifier, labelled_test, params["ece_bins"])
    confusion_plot = confusion_matrix_figure(np.array(scores["confusion"]), scores["labels"])
    reliability_plot = reliability_diagram_figure(scores["calibration_bins"], scores["ece"])
    return scores, confusion_plot, reliability_plot, per_class_table_markdown(scores["per_class"])


def evaluate_baseline_classifier(baseline_classifier: ModelBundle, labelled_test: pd.DataFrame, params: dict) -> dict:
    return _classifier_scores(baseline_classifier, labelled_test, params["ece_bins"])


def evaluate_tfidf_baseline(labelled_train: pd.DataFrame, labelled_test: pd.DataFrame, params: dict, seed: int) -> dict:
    """The classical baseline on the same splits: is a neural model worth it for this data?

    Its latency (batch 1, same texts and repeats as the classifier's) and size make it a point on the
    quality/cost frontier of model selection.
    """
    pipeline = fit_tfidf_logistic_regression(labelled_train["text"].tolist(), labelled_train["label"].tolist(), seed=seed)
    texts = labelled_test["text"].tolist()
    predictions = pipeline.predict(texts).tolist()
    labels = sorted(set(pipeline.classes_) | set(labelled_test["label"]))
    latency = measure_latency(pipeline.predict_proba, texts, batch_size=1, repeats=params["latency_repeats"])
    return {
        **classification_metrics(labelled_test["label"].tolist(), predictions, labels),
        "p50_ms": latency["p50_ms"],
        "p95_ms": latency["p95_ms"],
        "parameters": tfidf_parameter_count(pipeline),
    }


def measure_cost(classifier: ModelBundle, labelled_test: pd.DataFrame, params: dict) -> dict:
    """Latency at batch 1, throughput at batch 32, peak inference memory and size on disk, on this device."""
    model, tokenizer = classifier.model, classifier.tokenizer
    texts = labelled_test["text"].tolist()

    def predict(batch: list[str]):
        return predict_probabilities(model, tokenizer, batch, batch_size=len(batch))

    single = measure_latency(predict, texts, batch_size=1, repeats=params["latency_repeats"])
    batched = measure_latency(predict, texts, batch_size=32, repeats=params["throughput_repeats"])
    memory = peak_memory_during(lambda: predict((texts * 32)[:32]))
    with tempfile.TemporaryDirectory() as staging:
        save_model_directory(classifier, Path(staging) / "model")
        size = directory_size_bytes(Path(staging) / "model")
    parameters = sum(p.numel() for p in model.parameters())
    return {
        "p50_ms": single["p50_ms"],
        "p95_ms": single["p95_ms"],
        "batch_size": 1,
        "throughput_per_s": batched["throughput_per_s"],
        "throughput_batch_size": 32,
        **memory,
        "size_on_disk_bytes": size,
        "parameters": parameters,
        "flops_per_token": classifier.metadata.get("training", {}).get("model.flops_per_token"),
        "device": str(next(model.parameters()).device) + f" ({torch.get_num_threads()} threads)",
    }


def _corpus_prompts(corpus_val, settings: dict) -> list[str]:
    """The opening words of ``num_prompts`` held-out documents, evenly spaced through the split.

    Spread out rather than the first few, which often come from one source; same data, same prompts.
    ``corpus_val`` is a DataFrame, or an Arrow ``datasets.Dataset`` for a corpus larger than memory.
    """
    for name in ("num_prompts", "prompt_words"):
        value = settings[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"evaluation.generation.{name} must be a positive integer when prompts is null; got {value!r}.")
    count = settings["num_prompts"]
    rows = np.linspace(0, len(corpus_val) - 1, min(count, len(corpus_val))).round().astype(int).tolist()
    texts = texts_at(corpus_val, rows)
    return [prompt for prompt in (opening_words(text, settings["prompt_words"]) for text in texts) if prompt]


def sample_generations(pretrained: ModelBundle, corpus_val, params: dict, seed: int) -> str:
    """Continuations of prompts, as Markdown (a decoder only: an encoder does not generate).

    The prompts are ``generation.prompts``, or when that is null the opening words of held-out
    corpus documents, so they are in the language and style of the data the model learned.
    """
    model, tokenizer = pretrained.model, pretrained.tokenizer
    if model.config.architecture != "decoder":
        objective = "an encoder (masked LM)" if model.config.architecture == "encoder" else "an encoder-decoder (span corruption)"
        return f"# Sample generations\n\nNot applicable: the pretrained model is {objective}, not a language model of free text.\n"
    settings = params["generation"]
    if settings["prompts"] is None:
        prompts, origin = _corpus_prompts(corpus_val, settings), "the opening words of held-out corpus documents"
    else:
        prompts, origin = settings["prompts"], "`evaluation.generation.prompts`"
    generator = torch.Generator().manual_seed(seed)
    sections = [
        "# Sample generations",
        "",
        f"Prompts: {origin}; temperature {settings['temperature']}, top-k {settings['top_k']}, {settings['max_new_tokens']} new tokens",
        "",
    ]
    for prompt in prompts:
        ids = torch.tensor([tokenizer.encode(prompt).ids])
        output = model.generate(ids, settings["max_new_tokens"], settings["temperature"], settings["top_k"], generator)
        continuation = tokenizer.decode(output[0, ids.shape[1] :].tolist())
        sections += [f"**{prompt}**{continuation}", ""]
    return "\n".join(sections)


def attention_heatmaps(classifier: ModelBundle, labelled_test: pd.DataFrame, params: dict):
    """Attention weights (layers x heads) of the classifier's backbone on the first test example."""
    model, tokenizer = classifier.model, classifier.tokenizer
    ids = encode_for_classification(
        tokenizer, labelled_test["text"].tolist()[:1], params["attention_max_tokens"], model.config.architecture
    )[0]
    with torch.no_grad():
        _, weights = model.backbone.hidden_states(torch.tensor([ids]), return_attention=True)
    tokens = [tokenizer.decode([token]) or tokenizer.id_to_token(token) for token in ids]
    return attention_grid_figure([layer[0].numpy() for layer in weights], tokens)


def register_classifier(
    classifier: ModelBundle, labelled_test: pd.DataFrame, validated_data: dict, classifier_scores: dict, params: dict
) -> dict:
    """Log the classifier as a pyfunc model and register it with the configured alias."""
    check_gate(validated_data, {"labelled_test": frame_fingerprint(labelled_test)}, "registration")
    tags = {
        "data_fingerprint": validated_data["data_fingerprint"],
        "test_macro_f1": f"{classifier_scores['macro_f1']:.4f}",
        "test_accuracy": f"{classifier_scores['accuracy']:.4f}",
    }
    return log_and_register_classifier(
        classifier,
        params["registered_model_name"],
        params["alias"],
        labelled_test["text"].tolist()[:3],
        tags,
        allow_label_set_change=params["allow_label_set_change"],
        max_text_chars=params["max_text_chars"],
    )


def _metrics_for_mlflow(groups: dict[str, dict]) -> dict:
    flat = {}
    for group, values in groups.items():
        for name, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value is not None:
                flat[f"{group}.{name}"] = {"value": float(value), "step": 0}
    return flat


def _card_data(corpus_summary: dict, labelled_train: pd.DataFrame, params: dict) -> dict:
    """The model card's data section, as measured: corpus counts and the scripts of the (source) texts."""
    return {
        "fingerprint": corpus_summary["fingerprint"],
        "source": params["data_source"],
        "corpus_documents": corpus_summary["corpus"]["docs_out"],
        "corpus_tokens": corpus_summary["tokens"]["train_tokens"] + corpus_summary["tokens"]["val_tokens"],
        "scripts": script_mix(labelled_train["text"]),
    }


def _split_sizes(corpus_summary: dict) -> dict:
    return {split: corpus_summary["labelled"][f"{split}_examples"] for split in ("train", "val", "test")}


def _card_model(bundle: ModelBundle, training: dict, cost: dict) -> dict:
    return {
        "preset": training.get("model.preset"),
        "architecture": bundle.model.config.architecture,
        "parameters": cost["parameters"],
        "non_embedding_parameters": training.get("model.non_embedding_parameters"),
        "flops_per_token": training.get("model.flops_per_token"),
        "max_positions": bundle.model.config.max_positions,
    }


def build_report(
    language_model: dict,
    classifier_scores: dict,
    baseline_scores: dict,
    tfidf_scores: dict,
    cost: dict,
    registration: dict,
    per_class_markdown: str,
    corpus_summary: dict,
    labelled_train: pd.DataFrame,
    classifier: ModelBundle,
    finetuning_history: list[dict],
    baseline_history: list[dict],
    params: dict,
):
    """Evaluation metrics for MLflow, the model card, and the fine-tuning curves.

    The card describes the data from what was measured (corpus and labelled counts, classes, the
    scripts of the labelled texts); ``data_source`` adds the user's own description when set.
    """
    training = classifier.metadata.get("training", {})
    finetuning = classifier.metadata.get("finetuning", {})
    scalar = lambda scores: {k: scores[k] for k in ("accuracy", "macro_f1", "weighted_f1")}  # noqa: E731
    baseline_mode = baseline_history[0]["mode"] if baseline_history else "baseline"
    metrics = _metrics_for_mlflow(
        {
            "lm": language_model,
            "classifier": {**scalar(classifier_scores), "ece": classifier_scores["ece"]},
            baseline_mode: {**scalar(baseline_scores), "ece": baseline_scores["ece"]},
            "tfidf": scalar(tfidf_scores),
            "cost": {k: v for k, v in cost.items() if k not in ("batch_size", "throughput_batch_size")},
        }
    )
    card = render_model_card(
        {
            "name": f"{registration['name']} v{registration['version']} (@{registration['alias']})",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "intended_use": params["intended_use"],
            "limitations": params["limitations"],
            "data": {
                **_card_data(corpus_summary, labelled_train, params),
                "labelled_examples": _split_sizes(corpus_summary),
                "classes": classifier_scores["labels"],
            },
            "model": _card_model(classifier, training, cost),
            "training": {
                "pretraining_steps": training.get("train.max_steps"),
                "finetuning_mode": finetuning.get("mode"),
                "epochs": finetuning.get("epochs_run"),
            },
            "metrics": {
                "classifier": scalar(classifier_scores),
                "scratch": scalar(baseline_scores) if baseline_mode == "scratch" else None,
                "tfidf_baseline": scalar(tfidf_scores),
                "language_model": language_model,
            },
            "per_class_markdown": per_class_markdown,
            "calibration": {"ece": classifier_scores["ece"], "n_bins": params["ece_bins"]},
            "cost": cost,
        }
    )
    curves = curves_figure(
        {
            name: [(row["epoch"], row["val_macro_f1"]) for row in history if "val_macro_f1" in row]
            for history, name in ((finetuning_history, f"fine-tuned ({finetuning.get('mode')})"), (baseline_history, baseline_mode))
        },
        "epoch",
        "validation macro-F1",
        "fine-tuning",
        markers=True,
    )
    summary = {
        "language_model": language_model,
        "classifier": {k: v for k, v in classifier_scores.items() if k != "calibration_bins"},
        baseline_mode: scalar(baseline_scores),
        "tfidf": scalar(tfidf_scores),
        "cost": cost,
        "registration": registration,
    }
    return metrics, card, summary, curves


# ---------------------------------------------------------------------------------------------
# task: generation


def _generation_settings(bundle: ModelBundle) -> dict:
    return bundle.metadata.get("generation") or {"max_target_tokens": 32, "num_beams": 1, "length_penalty": 1.0}


def _write(bundle: ModelBundle, sources: list[str]) -> list[str]:
    settings = _generation_settings(bundle)
    return generate_texts(
        bundle.model, bundle.tokenizer, sources, settings["max_target_tokens"], settings["num_beams"], settings["length_penalty"]
    )


def _generation_scores(predictions: list[str], labelled_test: pd.DataFrame) -> dict:
    return {**generation_metrics(predictions, labelled_test["target"].tolist()), "predictions": predictions}


def evaluate_generator(generator: ModelBundle, labelled_test: pd.DataFrame) -> dict:
    """BLEU, chrF, ROUGE-L, exact match and length statistics of the generator's outputs on the test split,
    with the outputs themselves (for the samples and the report)."""
    return _generation_scores(_write(generator, labelled_test["text"].tolist()), labelled_test)


def evaluate_retrieval_baseline(labelled_train: pd.DataFrame, labelled_test: pd.DataFrame, params: dict) -> dict:
    """The classical baseline on the same splits: the target of the most similar training source (TF-IDF
    over character n-grams, any language). Its latency and size put it on model selection's frontier."""
    baseline = RetrievalBaseline().fit(labelled_train["text"].tolist(), labelled_train["target"].tolist())
    sources = labelled_test["text"].tolist()
    latency = measure_latency(baseline.predict, sources, batch_size=1, repeats=params["latency_repeats"])
    return {
        **_generation_scores(baseline.predict(sources), labelled_test),
        "p50_ms": latency["p50_ms"],
        "p95_ms": latency["p95_ms"],
        "parameters": baseline.vocabulary_size * baseline.n_train,
    }


def measure_generation_cost(generator: ModelBundle, labelled_test: pd.DataFrame, params: dict) -> dict:
    """Latency per request and per generated token at batch 1, peak memory and size on disk, on this device."""
    sources = labelled_test["text"].tolist()
    settings = _generation_settings(generator)
    written: list[int] = []

    def predict(batch: list[str]):
        # Decoding steps: the tokens written and the step that wrote the end token (when it came).
        ids = [
            generate_ids(
                generator.model,
                generator.tokenizer,
                source,
                settings["max_target_tokens"],
                settings["num_beams"],
                settings["length_penalty"],
            )
            for source in batch
        ]
        written.append(sum(min(len(tokens) + 1, settings["max_target_tokens"]) for tokens in ids))

    single = measure_latency(predict, sources, batch_size=1, repeats=params["latency_repeats"])
    timed_tokens = sum(written[-params["latency_repeats"] :])
    memory = peak_memory_during(lambda: predict(sources[:1]))
    with tempfile.TemporaryDirectory() as staging:
        save_model_directory(generator, Path(staging) / "model")
        size = directory_size_bytes(Path(staging) / "model")
    return {
        "p50_ms": single["p50_ms"],
        "p95_ms": single["p95_ms"],
        "batch_size": 1,
        "ms_per_generated_token": single["mean_ms"] * single["repeats"] / max(timed_tokens, 1),  # per decoding step
        "generated_tokens_timed": timed_tokens,
        **memory,
        "size_on_disk_bytes": size,
        "parameters": sum(p.numel() for p in generator.model.parameters()),
        "flops_per_token": generator.metadata.get("training", {}).get("model.flops_per_token"),
        "device": str(next(generator.model.parameters()).device) + f" ({torch.get_num_threads()} threads)",
    }


def generation_samples(
    labelled_test: pd.DataFrame, generator_scores: dict, baseline_scores: dict, retrieval_scores: dict, params: dict
) -> str:
    """Test sources with their reference and every system's output, as Markdown."""
    table = samples_markdown(
        labelled_test["text"].tolist(),
        labelled_test["target"].tolist(),
        {
            "fine-tuned": generator_scores["predictions"],
            "baseline": baseline_scores["predictions"],
            "retrieval": retrieval_scores["predictions"],
        },
        n=params["generation_samples"],
    )
    return f"# Generation samples (test split)\n\n{table}\n"


def register_generator(
    generator: ModelBundle, labelled_test: pd.DataFrame, validated_data: dict, generator_scores: dict, params: dict
) -> dict:
    """Log the generator as a pyfunc model (``text`` in, ``generated_text`` out) and register it with the alias."""
    check_gate(validated_data, {"labelled_test": frame_fingerprint(labelled_test)}, "registration")
    tags = {
        "data_fingerprint": validated_data["data_fingerprint"],
        **{f"test_{k}": f"{generator_scores[k]:.2f}" for k in ("chrf", "bleu", "rouge_l")},
    }
    settings = _generation_settings(generator)
    return log_and_register_generator(
        generator,
        params["generator_registered_model_name"],
        params["alias"],
        labelled_test["text"].tolist()[:3],
        tags,
        max_text_chars=params["max_text_chars"],
        max_new_tokens=settings["max_target_tokens"],
        num_beams=settings["num_beams"],
    )


def build_generation_report(
    language_model: dict,
    generator_scores: dict,
    baseline_scores: dict,
    retrieval_scores: dict,
    cost: dict,
    registration: dict,
    samples: str,
    corpus_summary: dict,
    labelled_train: pd.DataFrame,
    generator: ModelBundle,
    generator_history: list[dict],
    baseline_history: list[dict],
    params: dict,
):
    """Evaluation metrics for MLflow, the model card and the fine-tuning curves of ``task: generation``."""
    training, finetuning = generator.metadata.get("training", {}), generator.metadata.get("finetuning", {})
    scalar = lambda scores: {k: scores[k] for k in GENERATION_SCORES}  # noqa: E731
    baseline_mode = baseline_history[0]["mode"] if baseline_history else "baseline"
    metrics = _metrics_for_mlflow(
        {
            "lm": language_model,
            "generator": {**scalar(generator_scores), **{k: generator_scores[k] for k in LENGTH_STATISTICS}},
            baseline_mode: scalar(baseline_scores),
            "retrieval": scalar(retrieval_scores),
            "cost": {k: v for k, v in cost.items() if k != "batch_size"},
        }
    )
    card = render_model_card(
        {
            "task": "generation",
            "name": f"{registration['name']} v{registration['version']} (@{registration['alias']})",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "intended_use": params["generation_intended_use"],
            "limitations": params["generation_limitations"],
            "data": {**_card_data(corpus_summary, labelled_train, params), "pairs": _split_sizes(corpus_summary)},
            "model": _card_model(generator, training, cost),
            "training": {
                "pretraining_steps": training.get("train.max_steps"),
                "finetuning_mode": finetuning.get("mode"),
                "epochs": finetuning.get("epochs_run"),
            },
            "metrics": {
                "generator": scalar(generator_scores),
                "scratch": scalar(baseline_scores) if baseline_mode == "scratch" else None,
                "retrieval_baseline": scalar(retrieval_scores),
                "language_model": language_model,
            },
            "samples_markdown": samples.split("\n", 2)[-1],
            "cost": cost,
        }
    )
    curves = curves_figure(
        {
            name: [(row["epoch"], row["val_loss"]) for row in history if "val_loss" in row]
            for history, name in ((generator_history, f"fine-tuned ({finetuning.get('mode')})"), (baseline_history, baseline_mode))
        },
        "epoch",
        "validation loss (target tokens)",
        "fine-tuning",
        markers=True,
    )
    without_outputs = lambda scores: {k: v for k, v in scores.items() if k != "predictions"}  # noqa: E731
    summary = {
        "task": "generation",
        "finetuning": finetuning,
        "language_model": language_model,
        "generator": without_outputs(generator_scores),
        baseline_mode: without_outputs(baseline_scores),
        "retrieval": without_outputs(retrieval_scores),
        "cost": cost,
        "registration": registration,
    }
    return metrics, card, summary, curves
