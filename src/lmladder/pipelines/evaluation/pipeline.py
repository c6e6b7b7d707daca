from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.evaluation import nodes
from lmladder.pipelines.session_task import session_task

P = "params:evaluation"


def create_pipeline(task: str | None = None, **kwargs) -> Pipeline:
    """``task``: classification or generation; default the session's ``task``."""
    if session_task(task) == "generation":
        return generation_pipeline()
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


def generation_pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.evaluate_language_model,
                ["pretrained_model", "val_tokens", P],
                "language_model_scores",
                name="evaluate_language_model",
            ),
            Node(nodes.evaluate_generator, ["generator", "labelled_test"], "generator_scores", name="evaluate_generator"),
            Node(
                nodes.evaluate_generator,
                ["baseline_generator", "labelled_test"],
                "baseline_generator_scores",
                name="evaluate_baseline_generator",
            ),
            Node(
                nodes.evaluate_retrieval_baseline,
                ["labelled_train", "labelled_test", P],
                "retrieval_scores",
                name="evaluate_retrieval_baseline",
            ),
            Node(nodes.measure_generation_cost, ["generator", "labelled_test", P], "cost", name="measure_cost"),
            Node(
                nodes.generation_samples,
                ["labelled_test", "generator_scores", "baseline_generator_scores", "retrieval_scores", P],
                "generation_samples",
                name="generation_samples",
            ),
            Node(
                nodes.register_generator,
                ["generator", "labelled_test", "validated_data", "generator_scores", P],
                "registration",
                name="register_generator",
            ),
            Node(
                nodes.build_generation_report,
                [
                    "language_model_scores",
                    "generator_scores",
                    "baseline_generator_scores",
                    "retrieval_scores",
                    "cost",
                    "registration",
                    "generation_samples",
                    "corpus_summary",
                    "labelled_train",
                    "generator",
                    "generator_history",
                    "baseline_generator_history",
                    P,
                ],
                ["evaluation_metrics", "model_card", "evaluation_summary", "finetuning_curves_plot"],
                name="build_report",
            ),
        ]
    )
