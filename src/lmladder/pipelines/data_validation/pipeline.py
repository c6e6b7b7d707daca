from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.data_validation import nodes

CLEANING = "params:data_processing.cleaning"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.check_corpus,
                ["corpus_train", "corpus_val", CLEANING, "params:data_validation", "params:seed"],
                "corpus_validation",
                name="check_corpus",
            ),
            Node(
                nodes.check_labelled,
                ["labelled_train", "labelled_val", "labelled_test", "params:data_processing.labelled", CLEANING, "params:data_validation"],
                "labelled_validation",
                name="check_labelled",
            ),
            Node(nodes.check_tokens, ["train_tokens", "val_tokens", "params:data_validation"], "tokens_validation", name="check_tokens"),
            Node(
                nodes.check_contamination,
                [
                    "corpus_train",
                    "corpus_val",
                    "labelled_val",
                    "labelled_test",
                    "params:data_processing.decontamination.ngram_size",
                    "params:data_validation",
                    "params:seed",
                ],
                "contamination_validation",
                name="check_contamination",
            ),
            Node(
                nodes.build_validation_report,
                ["corpus_validation", "labelled_validation", "tokens_validation", "contamination_validation", "data_fingerprint"],
                ["validation_report", "validation_report_md"],
                name="build_validation_report",
            ),
            Node(nodes.require_valid_data, "validation_report", "validated_data", name="require_valid_data"),
        ]
    )
