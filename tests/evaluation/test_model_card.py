import copy

import pytest

from lmladder.errors import ConfigError
from lmladder.evaluation.model_card import render_model_card

SECTION_HEADERS = [
    "# Model card: stdlib-topics",
    "## Intended use",
    "## Data",
    "## Model",
    "## Training",
    "## Results",
    "## Per-class results",
    "## Calibration",
    "## Cost",
    "## Limitations",
]


@pytest.fixture
def card() -> dict:
    return {
        "name": "stdlib-topics",
        "created": "2025-03-14T09:26:53+00:00",
        "data": {
            "fingerprint": "sha256:9f86d081884c7d65",
            "corpus_documents": 1_204,
            "corpus_tokens": 3_456_789,
            "labelled_examples": {"train": 800, "validation": 100, "test": 120},
            "classes": ["io", "net", "text"],
            "source": "Python standard library docs",
        },
        "model": {
            "preset": "nano",
            "architecture": "encoder",
            "parameters": 1_234_567,
            "non_embedding_parameters": 801_000,
            "flops_per_token": 2_469_134,
            "max_positions": 256,
        },
        "training": {"pretraining_steps": 500, "finetuning_mode": "full", "epochs": 3},
        "metrics": {
            "classifier": {"accuracy": 0.8417, "macro_f1": 0.8123, "weighted_f1": 0.8391},
            "scratch": {"accuracy": 0.6583, "macro_f1": 0.6011, "weighted_f1": 0.6402},
            "tfidf_baseline": {"accuracy": 0.7917, "macro_f1": 0.7734, "weighted_f1": 0.7880},
            "language_model": {"perplexity": 17.25, "bits_per_byte": 1.234},
        },
        "per_class_markdown": "| label | precision | recall | F1 | support |\n| --- | ---: | ---: | ---: | ---: |\n| io | 0.900 | 0.850 | 0.874 | 40 |",
        "calibration": {"ece": 0.0734, "n_bins": 15},
        "cost": {
            "p50_ms": 3.21,
            "p95_ms": 4.56,
            "throughput_per_s": 2_480.5,
            "batch_size": 32,
            "peak_rss_increase_bytes": 200 * 2**20,
            "cuda_peak_bytes": None,
            "size_on_disk_bytes": 5 * 2**20,
        },
        "intended_use": "Routing questions about the Python standard library to the right docs section.",
        "limitations": ["Trained on English documentation only.", "Three coarse topics; anything else is forced into one."],
    }


def results_rows(markdown: str) -> list[str]:
    section = markdown.split("## Results")[1].split("\n## ")[0]
    return [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_card_has_every_section_in_order(card):
    markdown = render_model_card(card)
    positions = [markdown.index(header + "\n") for header in SECTION_HEADERS]
    assert positions == sorted(positions)


def test_card_states_the_data_fingerprint_and_provenance(card):
    markdown = render_model_card(card)
    assert "sha256:9f86d081884c7d65" in markdown
    assert "Python standard library docs" in markdown
    assert "| Labelled examples (test) | 120 |" in markdown
    assert "3,456,789" in markdown


def test_data_is_described_from_its_counts_and_scripts_when_no_source_is_given(card):
    del card["data"]["source"]
    card["data"].update(classes=["负面", "正面"], scripts={"Han": 0.968, "Latin": 0.029, "Cyrillic": 0.003})
    section = render_model_card(card).split("## Data")[1].split("\n## ")[0]
    assert (
        "Language model pretrained on 1,204 corpus documents (3,456,789 tokens); classifier trained and "
        "evaluated on 1,020 labelled texts in 2 classes, written in Han 97%, Latin 3%." in section
    )
    assert "| Scripts of the labelled texts | Han 97%, Latin 3% |" in section  # under 1%: not shown
    assert "Source" not in section


def test_results_compare_the_three_systems(card):
    rows = results_rows(render_model_card(card))
    assert rows == [
        "| Fine-tuned classifier | 0.842 | 0.812 | 0.839 |",
        "| Same architecture, trained from scratch | 0.658 | 0.601 | 0.640 |",
        "| TF-IDF + logistic regression | 0.792 | 0.773 | 0.788 |",
    ]


def test_results_say_which_system_is_best_and_by_how_much(card):
    markdown = render_model_card(card)
    # 0.8123 - 0.7734 = 0.0389 over the runner-up, the TF-IDF baseline
    assert "Best by macro-F1: Fine-tuned classifier (0.812), ahead of TF-IDF + logistic regression (0.773) by 0.039" in markdown


def test_the_baseline_can_win(card):
    card["metrics"]["tfidf_baseline"]["macro_f1"] = 0.85
    assert "Best by macro-F1: TF-IDF + logistic regression (0.850), ahead of Fine-tuned classifier (0.812) by 0.038" in render_model_card(
        card
    )


def test_no_scratch_run_drops_its_row_only(card):
    card["metrics"]["scratch"] = None
    markdown = render_model_card(card)
    assert [row.split(" | ")[0] for row in results_rows(markdown)] == ["| Fine-tuned classifier", "| TF-IDF + logistic regression"]
    assert "scratch" not in markdown


def test_a_classifier_alone_gets_no_comparison_sentence(card):
    del card["metrics"]["scratch"], card["metrics"]["tfidf_baseline"]
    markdown = render_model_card(card)
    assert len(results_rows(markdown)) == 1
    assert "Best by macro-F1" not in markdown


def test_language_model_quality_is_reported(card):
    assert "perplexity 17.25, 1.234 bits per byte" in render_model_card(card)


def test_calibration_gives_the_ece_and_a_reading(card):
    section = render_model_card(card).split("## Calibration")[1].split("\n## ")[0]
    assert "0.073 over 15 equal-width bins" in section
    assert "7.3 percentage points" in section
    assert "noticeably miscalibrated" in section


def test_cost_rows_are_in_readable_units(card):
    section = render_model_card(card).split("## Cost")[1].split("\n## ")[0]
    assert "| Latency p50 (batch of 32) | 3.21 ms |" in section
    assert "| Latency p95 (batch of 32) | 4.56 ms |" in section
    assert "2,480.5 texts/s" in section
    assert "200.0 MiB" in section
    assert "5.0 MiB" in section
    assert "GPU" not in section  # cuda_peak_bytes is None: no row


def test_limitations_are_listed(card):
    section = render_model_card(card).split("## Limitations")[1]
    assert "- Trained on English documentation only." in section
    assert "- Three coarse topics; anything else is forced into one." in section


def test_optional_sections_are_omitted_when_absent(card):
    for key in ("per_class_markdown", "calibration", "cost"):
        del card[key]
    markdown = render_model_card(card)
    for header in ("## Per-class results", "## Calibration", "## Cost"):
        assert header not in markdown
    assert "## Limitations" in markdown


@pytest.mark.parametrize(
    "dotted", ["name", "intended_use", "limitations", "data.fingerprint", "metrics.classifier", "metrics.classifier.macro_f1"]
)
def test_missing_required_key_is_named(card, dotted):
    broken = copy.deepcopy(card)
    *parents, last = dotted.split(".")
    holder = broken
    for part in parents:
        holder = holder[part]
    del holder[last]
    with pytest.raises(ConfigError, match=f"'{dotted}'"):
        render_model_card(broken)


def test_created_must_be_an_iso_date(card):
    card["created"] = "last Tuesday"
    with pytest.raises(ConfigError, match="created"):
        render_model_card(card)
