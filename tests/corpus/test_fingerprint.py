import pandas as pd

from lmladder.corpus.fingerprint import fingerprint

PARAMS = {"vocab_size": 300, "splits": {"val": 0.1}}


def _tables():
    return {
        "corpus": pd.DataFrame({"doc_id": ["a", "b"], "text": ["first text", "second text"]}),
        "labelled": pd.DataFrame({"text": ["good", "bad"], "label": [1, 0]}),
    }


def test_same_input_same_hash():
    assert fingerprint(_tables(), PARAMS) == fingerprint(_tables(), dict(PARAMS))
    assert len(fingerprint(_tables(), PARAMS)) == 64


def test_changing_one_text_changes_the_hash():
    tables = _tables()
    tables["corpus"].loc[1, "text"] = "second text!"
    assert fingerprint(tables, PARAMS) != fingerprint(_tables(), PARAMS)


def test_changing_one_param_changes_the_hash():
    assert fingerprint(_tables(), {**PARAMS, "splits": {"val": 0.2}}) != fingerprint(_tables(), PARAMS)


def test_param_key_order_does_not_matter():
    assert fingerprint(_tables(), {"splits": {"val": 0.1}, "vocab_size": 300}) == fingerprint(_tables(), PARAMS)


def test_renaming_a_column_or_table_changes_the_hash():
    renamed_column = {**_tables(), "labelled": _tables()["labelled"].rename(columns={"label": "y"})}
    renamed_table = {"raw": _tables()["corpus"], "labelled": _tables()["labelled"]}
    assert fingerprint(renamed_column, PARAMS) != fingerprint(_tables(), PARAMS)
    assert fingerprint(renamed_table, PARAMS) != fingerprint(_tables(), PARAMS)


def test_row_order_matters_but_index_labels_do_not():
    # The row hashes are digested in row order (splits and caps depend on it); index=False ignores labels.
    reversed_rows = {**_tables(), "corpus": _tables()["corpus"].iloc[::-1]}
    relabelled = {**_tables(), "corpus": _tables()["corpus"].set_axis([10, 20])}
    assert fingerprint(reversed_rows, PARAMS) != fingerprint(_tables(), PARAMS)
    assert fingerprint(relabelled, PARAMS) == fingerprint(_tables(), PARAMS)


def test_values_are_compared_as_strings():
    # Values are hashed after astype(str): a column of 1/0 and one of "1"/"0" give one fingerprint.
    as_strings = {**_tables(), "labelled": _tables()["labelled"].astype({"label": str})}
    assert fingerprint(as_strings, PARAMS) == fingerprint(_tables(), PARAMS)


def test_an_arrow_dataset_hashes_like_the_dataframe_of_its_rows_and_sees_a_change_past_the_first_chunk():
    import datasets

    tables = {"corpus": pd.DataFrame({"doc_id": [str(i) for i in range(250_001)], "text": ["t"] * 250_001})}
    as_arrow = {"corpus": datasets.Dataset.from_pandas(tables["corpus"], preserve_index=False)}
    assert fingerprint(as_arrow, PARAMS) == fingerprint(tables, PARAMS)
    tables["corpus"].loc[250_000, "text"] = "changed"
    changed = {"corpus": datasets.Dataset.from_pandas(tables["corpus"], preserve_index=False)}
    assert fingerprint(changed, PARAMS) != fingerprint(as_arrow, PARAMS)


def test_a_row_selection_of_a_dataset_hashes_its_selected_rows():
    import datasets

    frame = pd.DataFrame({"text": ["a", "b", "c"]})
    selected = datasets.Dataset.from_pandas(frame, preserve_index=False).select([2, 0])
    assert fingerprint({"t": selected}, PARAMS) == fingerprint({"t": frame.iloc[[2, 0]]}, PARAMS)
