import errno
import io

import matplotlib
import mlflow
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, DatasetError
from mlflow import MlflowClient

from lmladder.datasets import AtomicDataset
from tests.conftest import PROJECT_ROOT

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

GOOD = pd.DataFrame({"doc_id": ["a", "b"], "text": ["kept", "also kept"]})
NEW = pd.DataFrame({"doc_id": ["c"], "text": ["new " * 10_000]})
REAL_TO_PARQUET = pd.DataFrame.to_parquet


def disk_full_half_way(self, target, **kwargs):
    """Writes the first half of the real Parquet bytes, then fails as a full disk does."""
    buffer = io.BytesIO()
    REAL_TO_PARQUET(self, buffer, **kwargs)
    target.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    raise OSError(errno.ENOSPC, "No space left on device")


def parquet(path) -> AtomicDataset:
    return AtomicDataset(dataset="pandas.ParquetDataset", filepath=str(path))


def test_a_disk_full_half_way_leaves_the_previous_parquet_loadable_and_no_temporary_file(tmp_path, monkeypatch):
    target = parquet(tmp_path / "corpus_train.parquet")
    target.save(GOOD)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full_half_way)
    with pytest.raises(
        DatasetError,
        match=r"could not save .*corpus_train\.parquet \(\[Errno 28\] No space left on device\); "
        r"the previous corpus_train\.parquet is unchanged\. Free disk space",
    ):
        target.save(NEW)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(target.load(), GOOD)
    assert [path.name for path in tmp_path.iterdir()] == ["corpus_train.parquet"]


def test_a_good_save_replaces_the_file(tmp_path):
    target = parquet(tmp_path / "out" / "corpus_train.parquet")
    assert not target.exists()
    target.save(GOOD)
    target.save(NEW)
    assert target.exists()
    pd.testing.assert_frame_equal(target.load(), NEW)
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["corpus_train.parquet"]


@pytest.mark.parametrize(
    ("config", "name", "data"),
    [
        ("json.JSONDataset", "report.json", {"passed": True, "failed": []}),
        ({"type": "json.JSONDataset", "save_args": {"indent": 4}}, "report.json", {"passed": False}),
        ("text.TextDataset", "card.md", "# Model card\n\nunicode: 机器学习\n"),
    ],
)
def test_json_and_text_round_trip_with_the_inner_datasets_options(tmp_path, config, name, data):
    target = AtomicDataset(dataset=config, filepath=str(tmp_path / name))
    target.save(data)
    assert target.load() == data
    if isinstance(config, dict):
        assert (tmp_path / name).read_text().startswith('{\n    "passed"')


def test_a_plot_is_written_as_a_png(tmp_path):
    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    AtomicDataset(dataset="matplotlib.MatplotlibDataset", filepath=str(tmp_path / "curve.png")).save(figure)
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [path.name for path in tmp_path.iterdir()] == ["curve.png"]


def test_a_list_of_plots_is_refused_and_leaves_nothing(tmp_path):
    figures = [plt.subplots()[0] for _ in range(2)]
    target = AtomicDataset(dataset="matplotlib.MatplotlibDataset", filepath=str(tmp_path / "curves.png"))
    with pytest.raises(DatasetError, match=r"MatplotlibDataset wrote a folder, not one file, for .*curves\.png"):
        target.save(figures)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("dataset", "filepath", "message"),
    [
        ({"save_args": {}}, "x.json", r"`dataset` needs a `type`"),
        ({"type": "json.JSONDataset", "filepath": "y.json"}, "x.json", r"remove \['filepath'\] from `dataset`"),
        ({"type": "json.JSONDataset", "versioned": True}, "x.json", r"remove \['versioned'\] from `dataset`.*versioning is not supported"),
        ("json.JSONDataset", "s3://bucket/x.json", r"writes local files only.*s3://bucket/x\.json"),
        ("json.NoSuchDataset", "x.json", r"(?s)x\.json.*NoSuchDataset"),
    ],
)
def test_bad_configurations_are_named(tmp_path, dataset, filepath, message):
    with pytest.raises(DatasetError, match=message):
        AtomicDataset(dataset=dataset, filepath=filepath if "://" in filepath else str(tmp_path / filepath))


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """A fresh SQLite tracking store with one experiment; the previous URI comes back afterwards."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    experiment_id = MlflowClient(uri).create_experiment("atomic", artifact_location=(tmp_path / "artifacts").as_uri())
    yield MlflowClient(uri), experiment_id
    mlflow.set_tracking_uri(previous)


def test_kedro_mlflow_logs_the_final_file_and_nothing_when_a_save_fails(tmp_path, tracking, monkeypatch):
    client, experiment_id = tracking
    catalog = DataCatalog.from_config(
        {
            "corpus_train": {
                "type": "kedro_mlflow.io.artifacts.MlflowArtifactDataset",
                "artifact_path": "data",
                "dataset": {
                    "type": "lmladder.datasets.AtomicDataset",
                    "dataset": "pandas.ParquetDataset",
                    "filepath": str(tmp_path / "c.parquet"),
                },
            }
        }
    )
    with mlflow.start_run(experiment_id=experiment_id) as run:
        catalog.save("corpus_train", GOOD)
        monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full_half_way)
        with pytest.raises(DatasetError, match="No space left on device"):
            catalog.save("corpus_train", NEW)
        monkeypatch.undo()
    assert [artifact.path for artifact in client.list_artifacts(run.info.run_id, "data")] == ["data/c.parquet"]
    logged = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="data/c.parquet", dst_path=str(tmp_path / "dl"))
    pd.testing.assert_frame_equal(pd.read_parquet(logged), GOOD)
    pd.testing.assert_frame_equal(catalog.load("corpus_train"), GOOD)


def _file_datasets(entry: dict):
    """(type, config) of every dataset in a catalog entry that holds a ``filepath`` itself."""
    if "filepath" in entry:
        yield entry["type"], entry
    if isinstance(entry.get("dataset"), dict):
        yield from _file_datasets(entry["dataset"])


@pytest.mark.parametrize("env", ["base", "hub"])
def test_every_file_output_of_the_catalog_is_saved_atomically(env):
    catalog = yaml.safe_load((PROJECT_ROOT / "conf" / env / "catalog.yml").read_text())
    atomic = {"lmladder.datasets.AtomicDataset", "lmladder.datasets.TokenizerDataset", "lmladder.datasets.TokenFileDataset"}
    in_place = {name: kind for name, entry in catalog.items() for kind, _ in _file_datasets(entry) if kind not in atomic}
    assert in_place == {}, "these catalog entries write their file in place; wrap them in lmladder.datasets.AtomicDataset"
