import pytest

from lmladder.evaluation.scores import score_classifier
from lmladder.model.directory import ModelBundle
from lmladder.training.finetune import build_classifier
from tests.pipelines.model_inputs import model_inputs


@pytest.fixture(scope="module")
def bundle_and_test(tmp_path_factory):
    inputs = model_inputs(tmp_path_factory.mktemp("scores"))
    pretrained = inputs["pretrained_model"]
    classifier = build_classifier(pretrained.model, ["files", "network", "numbers"], "full", "last", 0.0)
    return ModelBundle(classifier, pretrained.tokenizer, {}), inputs["labelled_test"]


def test_scores_have_tables_and_calibration(bundle_and_test):
    bundle, test = bundle_and_test
    scores = score_classifier(bundle, test["text"].tolist(), test["label"].tolist(), n_bins=10)
    assert scores["labels"] == ["files", "network", "numbers"]
    assert sum(map(sum, scores["confusion"])) == len(test)
    assert 0 <= scores["ece"] <= 1 and len(scores["calibration_bins"]) == 10
    assert [row["label"] for row in scores["per_class"]] == scores["labels"]


def test_a_label_the_model_never_saw_counts_as_wrong(bundle_and_test):
    bundle, test = bundle_and_test
    truth = test["label"].tolist()
    known = score_classifier(bundle, test["text"].tolist(), truth, n_bins=10)
    renamed = ["dates" if label == "numbers" else label for label in truth]  # a label added after training
    scores = score_classifier(bundle, test["text"].tolist(), renamed, n_bins=10)
    assert scores["labels"] == ["files", "network", "numbers", "dates"]
    assert scores["per_class"][3] == {"label": "dates", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": truth.count("numbers")}
    correct_on_numbers = known["confusion"][2][2]
    assert scores["accuracy"] == pytest.approx(known["accuracy"] - correct_on_numbers / len(truth))
    assert 0 <= scores["ece"] <= 1
