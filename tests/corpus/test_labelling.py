import pandas as pd
import pytest

from lmladder.corpus.labelling import (
    cap_per_class,
    check_label_set,
    domain_of,
    label_by_domain,
    label_from_columns,
    module_domain_map,
)
from lmladder.corpus.sources import read_table
from lmladder.errors import ConfigError, MissingColumnError, UnknownLabelError

DOMAINS = {"email": ["email", "smtplib"], "data": ["json", "csv"], "mime": ["email.mime"]}


def test_module_domain_map_inverts_domains():
    assert module_domain_map({"email": ["email", "smtplib"], "data": ["json"]}) == {
        "email": "email",
        "smtplib": "email",
        "json": "data",
    }


def test_module_in_two_domains_is_a_config_error():
    with pytest.raises(ConfigError, match="module 'json' is listed under both 'data' and 'web'"):
        module_domain_map({"data": ["json"], "web": ["http", "json"]})


@pytest.mark.parametrize(
    ("module", "domain"),
    [
        ("email", "email"),
        ("email.mime.text", "mime"),
        ("email.parser", "email"),
        ("json.decoder", "data"),
        ("emailx", None),
        ("os.path", None),
    ],
)
def test_domain_of_uses_longest_listed_prefix(module, domain):
    assert domain_of(module, module_domain_map(DOMAINS)) == domain


def test_label_by_domain_drops_unmapped_modules():
    docs = pd.DataFrame(
        {
            "doc_id": ["e", "j", "o"],
            "source": ["email.mime.text", "json", "os.path"],
            "text": ["mime doc", "json doc", "os doc"],
        }
    )
    assert label_by_domain(docs, DOMAINS).to_dict("records") == [
        {"doc_id": "e", "text": "mime doc", "label": "mime"},
        {"doc_id": "j", "text": "json doc", "label": "data"},
    ]


def test_label_from_columns_renames_and_stringifies():
    table = pd.DataFrame({"uid": [10, 11], "sentence": ["good", "bad"], "y": [1, 0], "extra": ["x", "y"]})
    assert label_from_columns(table, "sentence", "y", id_column="uid").to_dict("records") == [
        {"doc_id": "10", "text": "good", "label": "1"},
        {"doc_id": "11", "text": "bad", "label": "0"},
    ]


def test_label_from_columns_numbers_rows_without_id_column():
    table = pd.DataFrame({"sentence": ["good", "bad"], "y": [1, 0]}, index=[7, 3])
    assert label_from_columns(table, "sentence", "y")["doc_id"].tolist() == ["row-0", "row-1"]


@pytest.mark.parametrize(
    ("text_column", "label_column", "id_column", "message"),
    [
        ("sentence", "target", None, r"no column 'target' \(the label_column parameter\)"),
        ("body", "y", None, r"no column 'body' \(the text_column parameter\)"),
        ("sentence", "y", "uid", r"no column 'uid' \(the id_column parameter\)"),
    ],
)
def test_label_from_columns_names_the_missing_column(text_column, label_column, id_column, message):
    table = pd.DataFrame({"sentence": ["good"], "y": [1]})
    with pytest.raises(MissingColumnError, match=message):
        label_from_columns(table, text_column, label_column, id_column)


def test_label_from_columns_tells_which_parameter_to_set_for_an_ordinary_header():
    with pytest.raises(MissingColumnError, match=r"its columns are \['sentence', 'y'\]\. Set labelled.label_column to one of them\.$"):
        label_from_columns(pd.DataFrame({"sentence": ["good"], "y": [1]}), "sentence", "label")


def test_label_from_columns_blanks_missing_text():
    table = pd.DataFrame({"sentence": ["good", None], "y": [1, 0]})
    assert label_from_columns(table, "sentence", "y")["text"].tolist() == ["good", ""]


AG_NEWS = 'Class Index,Title,Description\n3,Wall St. Bears Claw Back,"Short-sellers, Wall Street\'s band"\n4,New Chip,\n'


def test_label_from_columns_joins_text_columns_in_order(tmp_path):
    (tmp_path / "ag.csv").write_text(AG_NEWS)
    examples = label_from_columns(read_table(str(tmp_path / "ag.csv")), "text", "Class Index", text_columns=["Title", "Description"])
    assert examples.to_dict("records") == [
        {"doc_id": "row-0", "text": "Wall St. Bears Claw Back\nShort-sellers, Wall Street's band", "label": "3"},
        {"doc_id": "row-1", "text": "New Chip", "label": "4"},
    ]


def test_label_from_columns_names_missing_text_columns():
    table = pd.DataFrame({"Title": ["t"], "y": [1]})
    with pytest.raises(
        MissingColumnError, match=r"no column 'Body' \(the text_columns parameter\).*Set labelled.text_columns to one of them"
    ):
        label_from_columns(table, "text", "y", text_columns=["Title", "Body"])


def test_label_from_columns_refuses_empty_text_columns():
    with pytest.raises(ConfigError, match=r"labelled.text_columns must be a non-empty list of columns .* got \[\]"):
        label_from_columns(pd.DataFrame({"text": ["t"], "y": [1]}), "text", "y", text_columns=[])


def test_label_from_headerless_csv_says_the_header_is_missing(tmp_path):
    path = tmp_path / "ag.csv"
    path.write_text(
        '3,"Wall St. Bears Claw Back Into the Black (Reuters)","Reuters - Short-sellers, Wall Street\'s dwindling band."\n'
        '3,"Carlyle Looks Toward Commercial Aerospace (Reuters)","Reuters - Private investment firm Carlyle Group."\n'
    )
    with pytest.raises(
        MissingColumnError,
        match=r"no column 'text' .* the file probably has no header row\. Read it with `load_args: \{header: null, names: \[text, label\]\}`.*this file has 3",
    ):
        label_from_columns(read_table(str(path)), "text", "label")


def test_check_label_set_returns_sorted_seen_labels_when_none_declared():
    examples = pd.DataFrame({"label": ["neg", "pos", "neg", "neutral"]})
    assert check_label_set(examples, None) == ["neg", "neutral", "pos"]


def test_check_label_set_returns_declared_labels_as_strings():
    examples = pd.DataFrame({"label": ["1", "0", "1"]})
    assert check_label_set(examples, [1, 0, 2]) == ["1", "0", "2"]


def test_check_label_set_names_unknown_labels():
    examples = pd.DataFrame({"label": ["pos", "maybe", "neg", "maybe"]})
    with pytest.raises(UnknownLabelError, match=r"outside the declared set \['pos', 'neg'\]: 'maybe' \(2 rows\)"):
        check_label_set(examples, ["pos", "neg"])


def _examples():
    return pd.DataFrame({"doc_id": list("abcdef"), "text": list("ABCDEF"), "label": ["p", "q", "p", "p", "q", "q"]})


def test_cap_per_class_keeps_first_by_order_in_original_row_order():
    order = pd.Series([3, 1, 2, 5, 4, 0])
    assert cap_per_class(_examples(), 1, order)["doc_id"].tolist() == ["c", "f"]
    assert cap_per_class(_examples(), 2, order)["doc_id"].tolist() == ["a", "b", "c", "f"]


def test_cap_per_class_without_cap_returns_everything():
    assert cap_per_class(_examples(), None, pd.Series(range(6)))["doc_id"].tolist() == list("abcdef")


def test_cap_per_class_is_deterministic_under_shuffling():
    order = pd.Series([3, 1, 2, 5, 4, 0])
    shuffled = _examples().sample(frac=1, random_state=2)
    assert cap_per_class(shuffled, 2, order).to_dict("records") == cap_per_class(_examples(), 2, order).to_dict("records")
