from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.evaluation import nodes

P = "params:evaluation"


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.evaluate_language_model,
                ["pretrained_model", "val_tokens", P],
                "language_model_scores",
                name="evaluate_language_model",
            ),
            Node(
                nodes.evaluate_classifier,
                ["classifier", "labelled_test", P],
                ["classifier_scores", "confusion_matrix_plot", "reliability_diagram_plot", "per_class_table"],
                name="evaluate_classifier",
            ),
            Node(
                nodes.evaluate_baseline_classifier,
                ["baseline_classifier", "labelled_test", P],
                "baseline_scores",
                name="evaluate_baseline_classifier",
            ),
            Node(
                nodes.evaluate_tfidf_baseline,
                ["labelled_train", "labelled_test", P, "params:seed"],
                "tfidf_scores",
                name="evaluate_tfidf_baseline",
            ),
            Node(nodes.measure_cost, ["classifier", "labelled_test", P], "cost", name="measure_cost"),
            Node(
                nodes.sample_generations,
                ["pretrained_model", "corpus_val", P, "params:seed"],
                "sample_generations",
                name="sample_generations",
            ),
            Node(nodes.attention_heatmaps, ["classifier", "labelled_test", P], "attention_heatmap_plot", name="attention_heatmaps"),
            Node(
                nodes.register_classifier,
                ["classifier", "labelled_test", "validated_data", "classifier_scores", P],
                "registration",
                name="register_classifier",
            ),
            Node(
                nodes.build_report,
                [
                    "language_model_scores",
                    "classifier_scores",
                    "baseline_scores",
                    "tfidf_scores",
                    "cost",
                    "registration",
                    "per_class_table",
                    "corpus_summary",
                    "labelled_train",
                    "classifier",
                    "finetuning_history",
                    "baseline_history",
                    P,
                ],
                ["evaluation_metrics", "model_card", "evaluation_summary", "finetuning_curves_plot"],
                name="build_report",
            ),
        ]
    )
