"""Project settings: https://docs.kedro.org/en/stable/kedro_project_setup/settings.html

Every ``kedro`` command imports this module: it imports nothing heavy (the hooks import torch,
MLflow and the pipelines' libraries only when a session needs them).
"""

from pathlib import Path

from kedro.config import MissingConfigException, OmegaConfigLoader
from kedro.utils import find_kedro_project

from lmladder.hooks import (
    ConfigValidationHook,
    EnterRungRunHook,
    LadderRunHooks,
    RetrainingHooks,
    RunHooks,
    RunLockHooks,
    TrackingStoreHook,
)


def project_root() -> str:
    """The project folder, found from the working directory the way ``kedro`` finds it.

    Used in conf as ``${project_root:}`` so that e.g. ``sqlite:///mlflow.db`` does not depend on
    the directory ``kedro run`` was started from.
    """
    return str(find_kedro_project(Path.cwd()) or Path.cwd()).replace("\\", "/")


LADDER_RUNS = LadderRunHooks()
# kedro-mlflow's hook is registered by Kedro from the plugin's entry point, after these. pluggy calls
# the implementations of one hook last-registered first, tryfirst ones before all others, and a
# wrapper around them all: so when a session starts, the configuration is checked, then the ladder
# handed over, then kedro-mlflow sets up, all under TrackingStoreHook's lock (docs/architecture.md).
HOOKS = (
    RunHooks(),
    RunLockHooks(),
    RetrainingHooks(),
    LADDER_RUNS,
    EnterRungRunHook(LADDER_RUNS),
    TrackingStoreHook(),
    ConfigValidationHook(),
)


class ProjectConfigLoader(OmegaConfigLoader):
    """Kedro's ``OmegaConfigLoader`` with one more global, ``${globals:workspace}``: the environment
    the run uses (``local`` by default). Every output path and the registered model name contain it,
    so ``kedro run --env a`` and ``--env b`` never overwrite each other's outputs or models. An
    environment's ``globals.yml`` may set ``workspace`` itself (e.g. to share another's outputs)."""

    def __init__(self, conf_source: str, env: str | None = None, runtime_params: dict | None = None, **kwargs):
        super().__init__(conf_source, env=env, runtime_params=runtime_params, **kwargs)
        # Setting the "globals" key is the public way to give the loader its globals; it must happen
        # here, before any catalog or parameters file is read through ${globals:...}.
        try:
            declared = self["globals"]
        except MissingConfigException:
            declared = {}
        self["globals"] = {"workspace": env or kwargs.get("default_run_env") or "local", **declared}


CONFIG_LOADER_CLASS = ProjectConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {"project_root": project_root},
    # An environment (conf/test, conf/local) overrides single keys, not whole parameter groups.
    "merge_strategy": {"parameters": "soft"},
}
