"""Project commands (Kedro adds the ``cli`` group of ``<package>.cli`` to ``kedro``).

``kedro retrain`` is the scheduled entry point of retraining (cron, and the Airflow DAG built from
``conf/airflow/retraining_dag.j2``): it decides first, then runs the retraining pipeline only when
there is something to train, so that building pipelines (``kedro viz``, ``kedro airflow create``, a
notebook) never plans, locks or queries the registry.
"""

from __future__ import annotations

from pathlib import Path

import click
from kedro.framework.cli.utils import env_option, split_string
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from omegaconf import OmegaConf


def parse_params(ctx: click.Context, param, value: str) -> dict:
    """``a.b=1,c=x`` -> ``{"a": {"b": 1}, "c": "x"}``, values typed as in YAML (as ``kedro run --params``)."""
    items = split_string(ctx, param, value)
    bad = [item for item in items if "=" not in item or not item.partition("=")[0].strip()]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is not key=value", ctx=ctx, param=param)
    return OmegaConf.to_container(OmegaConf.from_dotlist([item.strip() for item in items]))


@click.group(name="lmladder")
def cli() -> None:
    """lmladder's project commands."""


@cli.command()
@env_option
@click.option("--params", default="", callback=parse_params, help="Parameters to override, as for `kedro run`: key1=value1,key2.sub=value2")
@click.option("--conf-source", default=None, help="Configuration folder or archive, as for `kedro run`")
@click.pass_obj
def retrain(metadata, env: str | None, params: dict, conf_source: str | None) -> None:
    """Retrain when the data or the training config changed, promote only if better (exit 0 when up to date)."""
    run_retraining(metadata.project_path, env=env, params=params, conf_source=conf_source)


def run_retraining(project_path: Path, env: str | None = None, params: dict | None = None, conf_source: str | None = None) -> dict:
    """Plan, then run ``retraining`` (or ``retraining_pretrain``) with the plan as ``retraining.plan``.

    Two sessions: the first only loads the configuration (with the tracking store set up by the
    hooks) to plan; the second runs, its parameters holding the plan. The retraining lock is held
    from planning until the run ends.
    """
    # Imported here: `kedro --help` and every other command load this module.
    from lmladder.pipelines.retraining.pipeline import LAST_OUTPUT, NO_TRAINING_NODE
    from lmladder.pipelines.retraining.plan import retraining_plan

    metadata = bootstrap_project(project_path)
    params = params or {}
    with KedroSession.create(project_path=metadata.project_path, env=env, runtime_params=params, conf_source=conf_source) as session:
        context = session.load_context()
        catalog = context.catalog  # paths resolved against the project, credentials applied
    mode = context.config_loader["parameters"]["retraining"]["train"]
    with retraining_plan(context.config_loader, catalog, Path(context.project_path)) as plan:
        planned = OmegaConf.to_container(OmegaConf.merge(params, {"retraining": {"plan": plan}}))
        with KedroSession.create(project_path=metadata.project_path, env=env, runtime_params=planned, conf_source=conf_source) as session:
            pipeline = "retraining_pretrain" if mode == "pretrain" else "retraining"
            if plan["action"] == "train":
                session.run(pipeline_names=[pipeline], to_outputs=[LAST_OUTPUT])
            else:
                session.run(pipeline_names=[pipeline], node_names=[NO_TRAINING_NODE])
    return plan
