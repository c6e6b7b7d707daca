from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.data_processing import nodes

P = "params:data_processing"
T = "params:task"  # classification or generation: which labelled data the nodes make (see nodes.py)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(nodes.fingerprint_data, ["raw_corpus", "raw_labelled", P, T], "data_fingerprint", name="fingerprint_data"),
            Node(nodes.prepare_corpus, ["raw_corpus", f"{P}.corpus"], "corpus_documents", name="prepare_corpus"),
            Node(
                nodes.prepare_labelled,
                ["raw_labelled", f"{P}.labelled", T, f"{P}.pairs", "params:seed"],
                "labelled_examples",
                name="prepare_labelled",
            ),
            Node(
                nodes.clean_corpus,
                ["corpus_documents", f"{P}.cleaning", f"{P}.dedup", f"{P}.corpus"],
                ["clean_corpus", "corpus_cleaning_stats"],
                name="clean_corpus",
            ),
            Node(
                nodes.clean_labelled,
                ["labelled_examples", f"{P}.cleaning.mask_pii", f"{P}.labelled", "params:seed", T],
                ["clean_labelled", "labelled_ledger"],
                name="clean_labelled",
            ),
            Node(
                nodes.split_labelled_examples,
                ["clean_labelled", f"{P}.splits", "params:seed", T],
                ["labelled_train", "labelled_val", "labelled_test"],
                name="split_labelled",
            ),
            Node(
                nodes.decontaminate_corpus,
                [
                    "clean_corpus",
                    "labelled_val",
                    "labelled_test",
                    f"{P}.decontamination.ngram_size",
                    f"{P}.corpus",
                    T,
                    f"{P}.pairs.min_target_words",
                ],
                ["decontaminated_corpus", "contaminated_doc_ids"],
                name="decontaminate_corpus",
            ),
            Node(
                nodes.split_corpus_documents,
                ["decontaminated_corpus", f"{P}.splits", "params:seed", f"{P}.corpus"],
                ["corpus_train", "corpus_val"],
                name="split_corpus",
            ),
            Node(nodes.train_tokenizer, ["corpus_train", f"{P}.tokenizer", "params:seed"], "tokenizer", name="train_tokenizer"),
            Node(
                nodes.tokenize_documents,
                ["corpus_train", "tokenizer", "data_fingerprint", f"{P}.packing"],
                "train_tokens",
                name="tokenize_train",
            ),
            Node(
                nodes.tokenize_documents,
                ["corpus_val", "tokenizer", "data_fingerprint", f"{P}.packing"],
                "val_tokens",
                name="tokenize_val",
            ),
            Node(
                nodes.summarise_corpus,
                [
                    "corpus_cleaning_stats",
                    "labelled_ledger",
                    "contaminated_doc_ids",
                    "labelled_train",
                    "labelled_val",
                    "labelled_test",
                    "corpus_train",
                    "corpus_val",
                    "tokenizer",
                    "train_tokens",
                    "val_tokens",
                    "data_fingerprint",
                    T,
                ],
                ["corpus_metrics", "corpus_summary"],
                name="summarise_corpus",
            ),
        ]
    )
