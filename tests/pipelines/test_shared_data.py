"""WikiText-2 and SST-2 from the shared data folder, as local files with the Hub's schemas, through
the real pipelines: the same column mapping as `conf/hub`, only the catalog points at files."""

from __future__ import annotations

import shutil

import pytest
import yaml

from lmladder.selection.ladder import deep_merge
from tests.conftest import PROJECT_ROOT, SHARED_DATA, kedro_run, outputs, runs_of

pytestmark = pytest.mark.skipif(
    not (SHARED_DATA / "sst2").is_dir() or not (SHARED_DATA / "wikitext-2").is_dir(),
    reason=f"shared data sets not found at {SHARED_DATA} (WikiText-2 and SST-2 are not shipped with the repository)",
)


def hub_shaped_local_env(project) -> str:
    """conf/<env>: conf/hub's parameters (and conf/test's tiny training sizes), local files as sources."""
    env = project / "conf" / "hub_local"
    env.mkdir()
    hub = yaml.safe_load((PROJECT_ROOT / "conf" / "hub" / "parameters.yml").read_text())
    tiny = yaml.safe_load((PROJECT_ROOT / "conf" / "test" / "parameters.yml").read_text())
    params = deep_merge(deep_merge(tiny, hub), {"data_validation": {"min_tokens_per_split": 520}})
    (env / "parameters.yml").write_text(yaml.safe_dump(params))
    wikitext = project / "data" / "01_raw" / "wikitext"
    wikitext.mkdir(parents=True)
    shutil.copy(SHARED_DATA / "wikitext-2" / "valid.txt", wikitext / "valid.txt")
    hub_catalog = yaml.safe_load((PROJECT_ROOT / "conf" / "hub" / "catalog.yml").read_text())
    catalog = {
        # the Hub's WikiText rows are lines of these files, memory-mapped as conf/hub loads them
        "raw_corpus": {
            "type": "lmladder.datasets.TextSourceDataset",
            "source": "text_files",
            "path": str(wikitext / "*.txt"),
            "document_unit": "line",
            "in_memory": hub_catalog["raw_corpus"]["in_memory"],
            "load_args": {"cache_dir": str(outputs(project, "hub_local") / "02_intermediate" / "datasets_cache")},
        },
        # its SST-2 rows have these columns
        "raw_labelled": {"type": "lmladder.datasets.TextSourceDataset", "source": "table", "path": str(SHARED_DATA / "sst2" / "dev.tsv")},
        "corpus_train": hub_catalog["corpus_train"],
        "corpus_val": hub_catalog["corpus_val"],
    }
    (env / "catalog.yml").write_text(yaml.safe_dump(catalog))
    return "hub_local"


def test_wikitext_and_sst2_are_processed_validated_pretrained_on_and_fine_tuned(project_copy):
    env = hub_shaped_local_env(project_copy)
    result = kedro_run(project_copy, "--pipelines", "data_processing,data_validation,pretraining,finetuning", env=env)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, output[-3000:]

    _, runs = runs_of(project_copy)
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.metrics["corpus_metrics.corpus.docs_in"] > 1000
    assert run.data.metrics["corpus_metrics.tokens.train_tokens"] > 100_000
    assert run.data.metrics["pretraining_metrics.final_step"] == 30
    assert "finetune.val_macro_f1" in run.data.metrics
    summary = (outputs(project_copy, "hub_local") / "08_reporting" / "corpus_summary.json").read_text()
    assert '"0"' in summary and '"1"' in summary
    assert (outputs(project_copy, "hub_local") / "06_models" / "classifier" / "model.safetensors").exists()
    assert (outputs(project_copy, "hub_local") / "03_primary" / "corpus_train" / "dataset_info.json").exists()  # the Arrow path ran
