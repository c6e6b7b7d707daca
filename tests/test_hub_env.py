"""`kedro run --env hub` without network: stops at the first node, naming what it could not reach
and how to use local files instead. (HF_HUB_OFFLINE makes "no network" certain on any machine.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import yaml

from tests.conftest import PLAIN_LOGGING, PROJECT_ROOT, outputs, written


def test_hub_env_without_network_fails_fast_and_says_how_to_use_local_files(project_copy):
    shutil.copytree(PROJECT_ROOT / "conf" / "hub", project_copy / "conf" / "hub")
    env = {
        **os.environ,
        "KEDRO_DISABLE_TELEMETRY": "1",
        "KEDRO_LOGGING_CONFIG": str(PLAIN_LOGGING),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(project_copy / "hf_home"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env", "hub", "--pipelines", "data_processing"],
        cwd=project_copy,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "DataSourceError" in output
    assert "could not load dataset 'Salesforce/wikitext' (config 'wikitext-103-raw-v1', split 'train')" in output
    assert "point the catalog at local files" in output
    assert not written(outputs(project_copy, "hub") / "03_primary")


def test_hub_catalog_matches_the_hubs_schemas():
    catalog = yaml.safe_load((PROJECT_ROOT / "conf" / "hub" / "catalog.yml").read_text())
    params = yaml.safe_load((PROJECT_ROOT / "conf" / "hub" / "parameters.yml").read_text())["data_processing"]
    assert (catalog["raw_corpus"]["dataset"], catalog["raw_corpus"]["name"]) == ("Salesforce/wikitext", "wikitext-103-raw-v1")
    assert (catalog["raw_labelled"]["dataset"], catalog["raw_labelled"]["name"]) == ("nyu-mll/glue", "sst2")
    # WikiText rows: {text}; SST-2 rows: {sentence, label (0/1), idx}
    assert params["corpus"]["text_column"] == "text"
    labelled = params["labelled"]
    assert (labelled["label_from"], labelled["text_column"], labelled["label_column"]) == ("column", "sentence", "label")
    assert labelled["labels"] == ["0", "1"]
