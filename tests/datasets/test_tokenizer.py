from lmladder.datasets import TokenizerDataset

TEXT = "the lazy fox 机器学习"


def test_save_then_load_gives_the_same_tokenizer(tmp_path, tokenizer):
    dataset = TokenizerDataset(filepath=str(tmp_path / "tok" / "tokenizer.json"))
    assert not dataset.exists()
    dataset.save(tokenizer)
    loaded = dataset.load()
    assert dataset.exists()
    assert loaded.get_vocab() == tokenizer.get_vocab()
    assert loaded.encode(TEXT).ids == tokenizer.encode(TEXT).ids
    assert loaded.decode(loaded.encode(TEXT).ids) == TEXT


def test_save_leaves_no_partial_file(tmp_path, tokenizer):
    dataset = TokenizerDataset(filepath=str(tmp_path / "tokenizer.json"))
    dataset.save(tokenizer)
    dataset.save(tokenizer)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tokenizer.json"]
