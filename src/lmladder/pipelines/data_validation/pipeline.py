from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.data_validation import nodes

P = "params:data_validation"
T = "params:task"  # generation: the labelled datasets hold (source, target) pairs


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.check_corpus,
                ["corpus_train", "corpus_val", "params:data_processing.cleaning", P, "params:seed"],
                "corpus_validation",
                name="check_corpus",
            ),
            Node(
                nodes.check_labelled,
                ["labelled_train", "labelled_val", "labelled_test", "params:data_processing.labelled", P, T],
                "labelled_validation",
                name="check_labelled",
            ),
            Node(nodes.check_tokens, ["train_tokens", "val_tokens", P], "tokens_validation", name="check_tokens"),
            Node(
                nodes.check_contamination,
                [
                    "corpus_train",
                    "corpus_val",
                    "labelled_val",
                    "labelled_test",
                    "params:data_processing.decontamination.ngram_size",
                    P,
                    "params:seed",
                    T,
                    "params:data_processing.pairs.min_target_words",
                ],
                "contamination_validation",
                name="check_contamination",
            ),
            Node(nodes.check_removals, ["corpus_summary", P], "removals_validation", name="check_removals"),
            Node(
                nodes.check_outputs,
                [
                    "corpus_summary",
                    "corpus_train",
                    "corpus_val",
                    "labelled_train",
                    "labelled_val",
                    "labelled_test",
                    "tokenizer",
                    "train_tokens",
                    "val_tokens",
                ],
                ["outputs_validation", "validated_inputs"],
                name="check_outputs",
            ),
            Node(
                nodes.build_validation_report,
                [
                    "corpus_validation",
                    "labelled_validation",
                    "tokens_validation",
                    "contamination_validation",
                    "removals_validation",
                    "outputs_validation",
                    "corpus_summary",
                ],
                ["validation_report", "validation_report_md"],
                name="build_validation_report",
            ),
            Node(nodes.record_gate, ["validation_report", "validated_inputs"], "validated_data", name="record_gate"),
            Node(nodes.require_valid_data, ["validation_report", "validated_data"], None, name="require_valid_data"),
        ]
    )
