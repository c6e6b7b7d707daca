import pytest
import torch

from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.errors import ConfigError
from lmladder.model import model_config
from lmladder.model.classifier import (
    ClassifierConfig,
    SequenceClassifier,
    encode_for_classification,
    pad_batch,
    predict_probabilities,
)
from lmladder.model.directory import ModelBundle, load_model_directory, save_model_directory

TEXTS = ["the movie was good and the acting was great", "the film was bad and the plot was dull"] * 20
LABELS = ("neg", "neu", "pos")
CLS, PAD = 2, 1
MAX_LENGTH = 32
SHORT = "good film"
LONG = "the movie was good and the acting was great but the plot was dull"


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(TEXTS, 300)


def make_classifier(tokenizer, architecture="decoder", pooling="last", seed=0) -> SequenceClassifier:
    torch.manual_seed(seed)
    config = model_config("nano", vocab_size=tokenizer.get_vocab_size(), max_positions=MAX_LENGTH, architecture=architecture)
    model = SequenceClassifier(config, ClassifierConfig(LABELS, pooling))
    torch.nn.init.normal_(model.head.weight, std=1.0)  # logits of order 1, so a wrongly pooled state shows
    return model.eval()


def plain_ids(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False).ids


def logits_of(model, tokenizer, texts):
    encoded = encode_for_classification(tokenizer, texts, MAX_LENGTH, model.config.architecture)
    ids, mask = pad_batch(encoded, PAD)
    with torch.no_grad():
        return model(ids, mask)


def test_special_token_ids(tokenizer):
    assert [tokenizer.token_to_id(t) for t in ("<|endoftext|>", "<|pad|>", "<|cls|>", "<|mask|>")] == [0, PAD, CLS, 3]


def test_decoder_frame_puts_cls_last(tokenizer):
    encoded = encode_for_classification(tokenizer, [SHORT, ""], MAX_LENGTH, "decoder")
    assert encoded == [plain_ids(tokenizer, SHORT) + [CLS], [CLS]]


def test_encoder_frame_puts_cls_first(tokenizer):
    encoded = encode_for_classification(tokenizer, [SHORT, ""], MAX_LENGTH, "encoder")
    assert encoded == [[CLS] + plain_ids(tokenizer, SHORT), [CLS]]


@pytest.mark.parametrize("architecture", ["decoder", "encoder"])
@pytest.mark.parametrize("max_length", [1, 2, 8, 32])
def test_oversized_text_is_truncated_to_max_length_exactly(tokenizer, architecture, max_length):
    text = "the movie was good " * 50
    full = plain_ids(tokenizer, text)
    assert len(full) > max_length
    [encoded] = encode_for_classification(tokenizer, [text], max_length, architecture)
    assert len(encoded) == max_length
    body = full[: max_length - 1]
    assert encoded == (body + [CLS] if architecture == "decoder" else [CLS] + body)


def test_text_exactly_filling_the_frame_is_kept_whole(tokenizer):
    ids = plain_ids(tokenizer, SHORT)
    [encoded] = encode_for_classification(tokenizer, [SHORT], len(ids) + 1, "decoder")
    assert encoded == ids + [CLS]


def test_pad_batch_right_pads_to_the_longest():
    ids, mask = pad_batch([[5, 6, 7], [8], [9, 10]], PAD)
    assert ids.dtype == torch.long and mask.dtype == torch.bool
    assert ids.tolist() == [[5, 6, 7], [8, PAD, PAD], [9, 10, PAD]]
    assert mask.tolist() == [[True, True, True], [True, False, False], [True, True, False]]


def test_pad_batch_of_equal_lengths_has_no_padding():
    ids, mask = pad_batch([[4, 5], [6, 7]], PAD)
    assert ids.tolist() == [[4, 5], [6, 7]]
    assert mask.all()


@pytest.mark.parametrize(
    ("architecture", "pooling"),
    [("decoder", "last"), ("encoder", "first"), ("encoder", "mean"), ("decoder", "mean"), ("decoder", "first"), ("encoder", "last")],
)
def test_logits_do_not_depend_on_padding(tokenizer, architecture, pooling):
    model = make_classifier(tokenizer, architecture, pooling)
    alone = logits_of(model, tokenizer, [SHORT])
    batched = logits_of(model, tokenizer, [LONG, SHORT])
    assert len(plain_ids(tokenizer, LONG)) > len(plain_ids(tokenizer, SHORT)) + 3
    torch.testing.assert_close(batched[1:], alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(batched[:1], logits_of(model, tokenizer, [LONG]), atol=1e-5, rtol=0)
    assert (batched[0] - batched[1]).abs().max() > 1e-2


def test_decoder_last_pooling_reads_the_cls_position(tokenizer):
    model = make_classifier(tokenizer, "decoder", "last")
    encoded = encode_for_classification(tokenizer, [LONG, SHORT], MAX_LENGTH, "decoder")
    ids, mask = pad_batch(encoded, PAD)
    with torch.no_grad():
        hidden = model.backbone.hidden_states(ids)
        expected = model.head(torch.stack([hidden[0, len(encoded[0]) - 1], hidden[1, len(encoded[1]) - 1]]))
        torch.testing.assert_close(model(ids, mask), expected, atol=1e-6, rtol=0)
    assert ids[1, len(encoded[1]) - 1] == CLS


def test_predict_probabilities_rows_sum_to_one(tokenizer):
    model = make_classifier(tokenizer)
    texts = [SHORT, "", LONG, "x" * 5000, "bad"]
    probabilities = predict_probabilities(model, tokenizer, texts, batch_size=2)
    assert probabilities.shape == (5, len(LABELS))
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(5), atol=1e-6, rtol=0)
    assert (probabilities >= 0).all()
    torch.testing.assert_close(probabilities, predict_probabilities(model, tokenizer, texts, batch_size=32), atol=1e-6, rtol=0)


def test_empty_string_gets_a_prediction(tokenizer):
    model = make_classifier(tokenizer)
    probabilities = predict_probabilities(model, tokenizer, [""])
    assert probabilities.shape == (1, len(LABELS))
    assert torch.isfinite(probabilities).all()


def test_empty_list_gives_no_rows(tokenizer):
    probabilities = predict_probabilities(make_classifier(tokenizer), tokenizer, [])
    assert probabilities.shape == (0, len(LABELS))


def test_predict_probabilities_puts_the_model_in_eval_mode(tokenizer):
    model = make_classifier(tokenizer).train()
    predict_probabilities(model, tokenizer, [SHORT])
    assert not model.training


def test_one_label_is_rejected():
    with pytest.raises(ConfigError, match=r"at least 2 labels, got \['only'\]"):
        ClassifierConfig(("only",))


def test_unknown_pooling_is_rejected():
    with pytest.raises(ConfigError, match=r"finetuning\.pooling must be one of .*got 'max'"):
        ClassifierConfig(LABELS, "max")


@pytest.mark.parametrize(("architecture", "pooling"), [("decoder", "last"), ("encoder", "mean")])
def test_saved_classifier_loads_with_labels_and_identical_logits(tmp_path, tokenizer, architecture, pooling):
    model = make_classifier(tokenizer, architecture, pooling)
    save_model_directory(ModelBundle(model, tokenizer, {"task": "sentiment"}), tmp_path / "clf")
    bundle = load_model_directory(tmp_path / "clf")
    assert isinstance(bundle.model, SequenceClassifier)
    assert bundle.model.classifier_config == model.classifier_config
    assert bundle.model.classifier_config.labels == LABELS
    assert bundle.model.config == model.config
    assert bundle.metadata == {"task": "sentiment"}
    assert torch.equal(logits_of(bundle.model, bundle.tokenizer, [LONG, SHORT, ""]), logits_of(model, tokenizer, [LONG, SHORT, ""]))


def test_an_encoder_decoder_classifies_from_its_decoders_last_state_with_the_source_padding_masked():
    from lmladder.model import ModelConfig
    from lmladder.model.classifier import ClassifierConfig, SequenceClassifier, default_pooling, pad_batch

    torch.manual_seed(0)
    config = ModelConfig(vocab_size=64, max_positions=16, n_layer=1, n_head=2, n_embd=16, architecture="encoder-decoder")
    model = SequenceClassifier(config, ClassifierConfig(("a", "b"), default_pooling("encoder-decoder"))).eval()
    assert default_pooling("encoder-decoder") == "last"
    ids, mask = pad_batch([[5, 6, 7, 2], [8, 9, 2]], pad_id=1)
    alone, _ = pad_batch([[8, 9, 2]], pad_id=1)
    batched = model(ids, mask)
    assert torch.allclose(batched[1], model(alone, torch.ones_like(alone, dtype=torch.bool))[0], atol=1e-5)  # padding changes nothing
