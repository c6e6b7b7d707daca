import copy
import csv
import functools

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from sklearn.metrics import f1_score
from sklearn.utils.class_weight import compute_class_weight

from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.errors import ConfigError
from lmladder.model import Transformer, model_config
from lmladder.model.classifier import SequenceClassifier, predict_probabilities
from lmladder.training.finetune import build_classifier, class_weights, finetune
from lmladder.training.optim import warmup_cosine_schedule

LABELS = ("neg", "pos")
SUBJECTS = ("movie", "film", "plot", "acting", "story", "script")


def sentiment_examples(repeat: int = 1) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for subject in SUBJECTS:
        for word, label in (("good", "pos"), ("bad", "neg")):
            texts.append(f"the {subject} was {word}")
            labels.append(label)
    return texts * repeat, labels * repeat


TRAIN = sentiment_examples(repeat=8)
VAL = sentiment_examples()


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(TRAIN[0], 300)


def pretrained_backbone(tokenizer, seed: int = 0, **overrides) -> Transformer:
    pl.seed_everything(seed)
    return Transformer(model_config("nano", vocab_size=tokenizer.get_vocab_size(), max_positions=32, **overrides))


def run_finetune(model, tokenizer, train=TRAIN, val=VAL, **overrides):
    options = dict(
        optimizer=functools.partial(torch.optim.AdamW, lr=3e-3),
        lr_schedule=functools.partial(warmup_cosine_schedule, warmup_steps=2),
        batch_size=16,
        max_epochs=6,
        patience=2,
        trainer=dict(accelerator="cpu"),
    )
    return finetune(model, tokenizer, train, val, **{**options, **overrides})


def macro_f1(model: SequenceClassifier, tokenizer, data) -> float:
    texts, labels = data
    predicted = predict_probabilities(model, tokenizer, texts).argmax(dim=1).numpy()
    targets = np.array([model.classifier_config.labels.index(label) for label in labels])
    return float(f1_score(targets, predicted, average="macro", zero_division=0))


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


def learn_then_unlearn(optimizer, total_steps, learning_steps):
    """Gradient descent for ``learning_steps``, then ascent: later epochs are worse than earlier ones."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 if step < learning_steps else -1.0)


@pytest.fixture(scope="module")
def learned(tokenizer):
    model = build_classifier(pretrained_backbone(tokenizer), LABELS, "full", "last")
    before = macro_f1(model, tokenizer, VAL)
    return before, run_finetune(model, tokenizer, max_epochs=6, patience=6)


@pytest.mark.parametrize("architecture", ["decoder", "encoder"])
def test_full_mode_copies_every_pretrained_tensor(tokenizer, architecture):
    pretrained = pretrained_backbone(tokenizer, architecture=architecture)
    model = build_classifier(pretrained, LABELS, "full", "last" if architecture == "decoder" else "first")
    expected = pretrained.state_dict()
    copied = model.backbone.state_dict()
    assert copied.keys() == expected.keys()
    for name, tensor in expected.items():
        assert torch.equal(copied[name], tensor), name
        assert copied[name].data_ptr() != tensor.data_ptr(), name
    assert model.config == pretrained.config
    assert all(parameter.requires_grad for parameter in model.parameters())


def test_scratch_mode_has_the_same_architecture_with_other_weights(tokenizer):
    pretrained = pretrained_backbone(tokenizer)
    full = build_classifier(pretrained, LABELS, "full", "last").state_dict()
    scratch = build_classifier(pretrained, LABELS, "scratch", "last").state_dict()
    assert scratch.keys() == full.keys()
    assert {name: t.shape for name, t in scratch.items()} == {name: t.shape for name, t in full.items()}
    backbone_keys = [name for name in scratch if name.startswith("backbone.")]
    assert any(not torch.equal(scratch[name], full[name]) for name in backbone_keys)
    assert not torch.equal(scratch["backbone.token_embedding.weight"], full["backbone.token_embedding.weight"])


def test_unknown_mode_is_rejected(tokenizer):
    with pytest.raises(ConfigError, match=r"finetuning\.mode must be one of .*got 'partial'"):
        build_classifier(pretrained_backbone(tokenizer), LABELS, "partial", "last")


def test_unknown_pooling_is_rejected(tokenizer):
    with pytest.raises(ConfigError, match=r"finetuning\.pooling must be one of .*got 'max'"):
        build_classifier(pretrained_backbone(tokenizer), LABELS, "full", "max")


def test_frozen_mode_trains_only_the_head(tokenizer):
    model = build_classifier(pretrained_backbone(tokenizer), LABELS, "frozen", "last")
    assert not any(parameter.requires_grad for parameter in model.backbone.parameters())
    assert all(parameter.requires_grad for parameter in model.head.parameters())
    backbone, head = snapshot(model.backbone), snapshot(model.head)
    result = run_finetune(model, tokenizer, max_epochs=2)
    assert result.epochs_run == 2
    for name, tensor in result.model.backbone.state_dict().items():
        assert torch.equal(tensor, backbone[name]), name
    assert not torch.equal(result.model.head.weight, head["weight"])


def test_full_mode_trains_the_backbone_and_leaves_the_pretrained_model_alone(tokenizer):
    pretrained = pretrained_backbone(tokenizer)
    original = snapshot(pretrained)
    model = build_classifier(pretrained, LABELS, "full", "last")
    result = run_finetune(model, tokenizer, max_epochs=2)
    trained = result.model.backbone.state_dict()
    changed = [name for name, tensor in original.items() if not torch.equal(trained[name], tensor)]
    assert "blocks.0.attention.qkv.weight" in changed
    assert "token_embedding.weight" in changed
    for name, tensor in pretrained.state_dict().items():
        assert torch.equal(tensor, original[name]), name


def test_class_weights_are_sklearn_balanced():
    labels = [0, 0, 0, 1, 2, 2]
    weights = class_weights(labels, 3)
    assert weights.dtype == torch.float32
    assert torch.equal(weights, torch.tensor([6 / 9, 6 / 3, 6 / 6], dtype=torch.float32))
    expected = compute_class_weight("balanced", classes=np.arange(3), y=np.array(labels))
    np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)


def test_class_weights_with_an_absent_class_stay_finite():
    weights = class_weights([0, 0, 1, 1], 3)
    assert torch.isfinite(weights).all()
    assert torch.equal(weights[:2], torch.tensor([4 / 6, 4 / 6], dtype=torch.float32))


def test_finetune_learns_a_separable_task(learned, tokenizer):
    before, result = learned
    assert before < 1.0
    assert result.best_val_macro_f1 == 1.0
    assert macro_f1(result.model, tokenizer, VAL) == 1.0
    assert result.epochs_run == len(result.history)
    assert [row["epoch"] for row in result.history] == list(range(result.epochs_run))
    assert not result.model.training


def test_history_rows_hold_every_epochs_validation_metrics(learned):
    _, result = learned
    for row in result.history:
        assert {"epoch", "val_loss", "val_macro_f1", "val_accuracy"} <= set(row)
        assert 0.0 <= row["val_macro_f1"] <= 1.0
    assert result.history[result.best_epoch]["val_macro_f1"] == result.best_val_macro_f1


def logged_train_losses(tmp_path) -> dict[int, float]:
    with open(tmp_path / "csv" / "version_0" / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    return {int(row["epoch"]): float(row["train_loss_epoch"]) for row in rows if row.get("train_loss_epoch")}


def test_history_train_loss_is_that_epochs_training_loss(tmp_path, tokenizer):
    model = build_classifier(pretrained_backbone(tokenizer), LABELS, "full", "last")
    result = run_finetune(model, tokenizer, max_epochs=3, patience=3, logger=CSVLogger(tmp_path, name="csv"))
    logged = logged_train_losses(tmp_path)
    assert sorted(logged) == [0, 1, 2]
    assert [row.get("train_loss_epoch") for row in result.history] == pytest.approx([logged[0], logged[1], logged[2]], abs=1e-6)


def test_early_stopping_when_macro_f1_cannot_improve(learned, tokenizer):
    _, perfect = learned
    result = run_finetune(copy.deepcopy(perfect.model), tokenizer, max_epochs=20, patience=1)
    assert result.best_val_macro_f1 == 1.0
    assert result.epochs_run < 20
    assert len(result.history) == result.epochs_run


def test_returned_model_has_the_best_epochs_weights(tokenizer):
    model = build_classifier(pretrained_backbone(tokenizer), LABELS, "full", "last")
    result = run_finetune(model, tokenizer, max_epochs=6, patience=6, lr_schedule=functools.partial(learn_then_unlearn, learning_steps=12))
    scores = [row["val_macro_f1"] for row in result.history]
    assert result.epochs_run == 6
    assert scores[-1] < max(scores)
    assert result.best_val_macro_f1 == max(scores)
    assert result.best_epoch == scores.index(max(scores))
    assert macro_f1(result.model, tokenizer, VAL) == pytest.approx(result.best_val_macro_f1, abs=1e-6)


def test_dropout_is_active_even_for_a_model_handed_over_in_eval_mode(tokenizer):
    pretrained = pretrained_backbone(tokenizer)
    results = []
    for mode in ("train", "eval"):
        pl.seed_everything(1)
        model = build_classifier(pretrained, LABELS, "full", "last", dropout=0.5)
        getattr(model, mode)()
        results.append(run_finetune(model, tokenizer, max_epochs=1).model.state_dict())
    assert all(torch.equal(results[0][name], results[1][name]) for name in results[0])


def test_class_weighted_training_learns_an_imbalanced_task(tokenizer):
    texts, labels = TRAIN
    keep = [i for i, label in enumerate(labels) if label == "pos" or i % 3 == 1]
    train = ([texts[i] for i in keep], [labels[i] for i in keep])
    assert train[1].count("pos") > 2 * train[1].count("neg")
    model = build_classifier(pretrained_backbone(tokenizer), LABELS, "full", "last")
    result = run_finetune(model, tokenizer, train=train, class_weighted=True)
    assert result.best_val_macro_f1 == 1.0


def test_training_labels_unknown_to_the_classifier(tokenizer):
    model = build_classifier(pretrained_backbone(tokenizer), LABELS, "full", "last")
    texts, labels = TRAIN
    with pytest.raises(ConfigError, match=r"training labels \['meh'\] are not among the classifier's labels \['neg', 'pos'\]"):
        run_finetune(model, tokenizer, train=(texts + ["the film was fine"], labels + ["meh"]))


def test_validation_labels_unknown_to_the_classifier(tokenizer):
    model = build_classifier(pretrained_backbone(tokenizer), LABELS, "full", "last")
    texts, labels = VAL
    with pytest.raises(ConfigError, match="'meh'"):
        run_finetune(model, tokenizer, val=(texts + ["the film was fine"], labels + ["meh"]))


@pytest.mark.parametrize("max_epochs", [0, -1, 2.0])
def test_max_epochs_must_be_a_positive_integer(tokenizer, max_epochs):
    model = build_classifier(pretrained_backbone(tokenizer), LABELS, "full", "last")
    with pytest.raises(ConfigError, match=rf"finetuning\.max_epochs must be a positive integer, got {max_epochs!r}"):
        run_finetune(model, tokenizer, max_epochs=max_epochs)
