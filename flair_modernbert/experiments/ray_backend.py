"""The ``ray`` backend of ablations: every variant x seed is a Ray task with its own resources.

:func:`run_on_ray` submits one task per :class:`~flair_modernbert.experiments.ablation.RunSpec`, reserving
``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs for it; Ray places the tasks on the machines that have the
resources and runs as many at once as fit. Each task runs :func:`~flair_modernbert.experiments.ablation.attempt_run`
-- the very function the ``local`` backend runs -- so a run writes the same folder, ``results.json`` and
TensorBoard log either way; its torch threads are set to its CPUs.

- Without ``address`` a Ray instance is started on this machine for the ablation and stopped afterwards (no
  dashboard). With ``address`` (``auto``, ``HOST:6379`` or ``ray://HOST:10001``) the tasks go to that running
  cluster; its nodes need this package installed and the output folder on storage they all share (at the same
  path), since each run writes into it.
- The tasks get this process's ``HF_*``/``TRANSFORMERS_*`` offline switches, ``HF_HOME``,
  ``FLAIR_MODERNBERT_CACHE`` and ``FLAIR_CACHE_ROOT`` (Ray's ``runtime_env``); on the embedded instance also a
  ``PYTHONPATH`` that starts with this package's folder, so the workers import the same code as the driver.
- A task that raises (or whose worker dies) is retried once by Ray (``max_retries=1, retry_exceptions=True``);
  then the run is reported as a :class:`~flair_modernbert.experiments.ablation.FailedRun` with the original
  exception's type and message, and Ray's remote traceback in the run's ``error.txt``.
- The driver reads each finished run's ``results.json`` back (the source of truth). When the run folder is not
  visible here (no shared storage), the results the task returned are written to it instead, with a warning
  that the model and logs stayed on the worker's machine.

Ray is an optional dependency (``pip install 'flair-modernbert[cluster]'``), imported only here.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from flair_modernbert.experiments.ablation import (
    ATTEMPTS,
    Announce,
    RunOutcome,
    RunSpec,
    attempt_run,
    record_failure,
)
from flair_modernbert.training.results import RunResult, RunResults

logger = logging.getLogger(__name__)

__all__ = ["FORWARDED_ENV", "check_ray_resources", "run_on_ray", "ray_runtime_env", "ray_session"]

#: environment variables a task gets from the driver when they are set there
FORWARDED_ENV = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HF_HOME",
    "FLAIR_MODERNBERT_CACHE",
    "FLAIR_CACHE_ROOT",
)
INSTALL_HINT = "--backend ray needs Ray: pip install 'flair-modernbert[cluster]'"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _package_root() -> Path:
    import flair_modernbert

    return Path(flair_modernbert.__file__).resolve().parent.parent


def ray_runtime_env(embedded: bool) -> dict[str, Any]:
    """Ray's ``runtime_env`` for the tasks: the forwarded variables (see the module docstring).

    Args:
        embedded: the Ray instance runs on this machine, so this package's folder is put first on the
            workers' ``PYTHONPATH`` (a remote cluster imports its own installation).
    """
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    if embedded:
        paths = [str(_package_root())] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return {"env_vars": env}


@contextmanager
def ray_session(ray: Any, address: Optional[str]) -> Iterator[None]:
    """Connected to Ray for the block: to the cluster at ``address``, or (``None``) to a Ray instance started on
    this machine for the block (no dashboard, no usage report) and stopped after it. A process already connected
    (``ray.init`` called before) keeps its connection, open."""
    connected_here = not ray.is_initialized()
    if connected_here:
        embedded = address is None
        runtime_env = ray_runtime_env(embedded)
        if embedded:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(address="local", include_dashboard=False, runtime_env=runtime_env,
                     logging_level=logging.WARNING)
        else:
            ray.init(address=address, runtime_env=runtime_env, logging_level=logging.WARNING)
    try:
        yield
    finally:
        if connected_here:
            ray.shutdown()


def _train(spec: RunSpec, threads: int) -> dict[str, Any]:
    """The Ray task: one attempt at a run on the worker; returns its results (plain data) and the host."""
    import torch

    from flair_modernbert.training.run import flair_console

    torch.set_num_threads(threads)
    # the worker's console is forwarded to the driver: Flair's per-batch lines stay in the run's training.log
    flair_console(logging.WARNING)
    run = attempt_run(spec, progress=False)
    assert run.results is not None
    return {"results": run.results.to_json(), "host": socket.gethostname()}


def check_ray_resources(ray: Any, embedded: bool, cpus: float, gpus: float, announce: Announce,
                        cpus_option: str = "--cpus-per-run", gpus_option: str = "--gpus-per-run",
                        waiting: str = "the runs wait") -> None:
    """Whether the connected Ray cluster has the CPUs and GPUs one task (or actor) asks for.

    Raises:
        ValueError: it has not and it is the instance started on this machine (nothing will join it); the options
            are named. On a cluster, ``announce`` gets a warning instead (an autoscaler may add nodes).
    """
    available = ray.cluster_resources()
    short = []
    if gpus and available.get("GPU", 0) < gpus:
        short.append(f"{gpus_option} {gpus:g} but the Ray cluster has {available.get('GPU', 0):g} GPU(s)")
    if available.get("CPU", 0) < cpus:
        short.append(f"{cpus_option} {cpus:g} but the Ray cluster has {available.get('CPU', 0):g} CPU(s)")
    if not short:
        return
    if embedded:
        raise ValueError("; ".join(short) + " (the Ray instance started on this machine); lower the option or "
                         "pass --address of a cluster that has them")
    announce("warning: " + "; ".join(short) + f" now: {waiting} until such nodes join (autoscaler)")


def _outcome(spec: RunSpec, data: dict[str, Any]) -> RunResult:
    """The finished run as the driver sees it: its ``results.json``, written from the task's data if absent."""
    if not spec.results_file.is_file():
        logger.warning("%s: %s is not visible on this machine (the output folder is not on storage shared with "
                       "%s); writing the results the task returned there, the model and logs stay on %s",
                       spec.label, spec.results_file, data["host"], data["host"])
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        RunResults.from_json(data["results"]).write(spec.results_file)
    return RunResult(spec.run_dir, spec.seed, RunResults.read(spec.results_file))


def run_on_ray(
    specs: Sequence[RunSpec],
    address: Optional[str] = None,
    gpus_per_run: float = 0,
    cpus_per_run: Optional[float] = None,
    announce: Optional[Announce] = None,
) -> Iterator[tuple[RunSpec, RunOutcome]]:
    """Run every spec as a Ray task; yields ``(spec, outcome)`` as each finishes (see the module docstring).

    Args:
        specs: the runs to train.
        address: a running Ray cluster; ``None`` starts (and afterwards stops) a Ray instance on this machine.
            When this process is already connected to Ray (``ray.init`` called before), that connection is used
            and left open.
        gpus_per_run: GPUs reserved per run, in [0, 1] (a fraction lets runs share a GPU; a run trains on one).
        cpus_per_run: CPUs reserved per run (default 1); also the run's torch threads.
        announce: receives progress lines.

    Raises:
        ImportError: Ray is not installed.
        ValueError: a resource option out of range, or more than the embedded instance has.
    """
    announce = announce or (lambda line: logger.info("%s", line))
    cpus = 1.0 if cpus_per_run is None else float(cpus_per_run)
    gpus = float(gpus_per_run or 0)
    if not 0 <= gpus <= 1:
        raise ValueError(f"--gpus-per-run: a run trains on one GPU (a fraction shares one), so 0 to 1; got {gpus:g}")
    if cpus <= 0:
        raise ValueError(f"--cpus-per-run must be > 0, got {cpus:g}")
    try:
        import ray
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return _run(ray, specs, address, cpus, gpus, announce)


def _run(ray: Any, specs: Sequence[RunSpec], address: Optional[str], cpus: float, gpus: float,
         announce: Announce) -> Iterator[tuple[RunSpec, RunOutcome]]:
    embedded = address is None
    with ray_session(ray, address):
        check_ray_resources(ray, embedded, cpus, gpus, announce)
        where = "a Ray instance on this machine" if embedded else f"the Ray cluster at {address}"
        total = ray.cluster_resources()
        announce(f"{len(specs)} runs as Ray tasks on {where} ({cpus:g} CPU, {gpus:g} GPU each; "
                 f"cluster: {total.get('CPU', 0):g} CPU, {total.get('GPU', 0):g} GPU)")
        task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=ATTEMPTS - 1, retry_exceptions=True)(_train)
        threads = max(1, int(cpus))
        pending = {task.options(name=f"{spec.variant}/seed-{spec.seed}").remote(spec, threads): spec for spec in specs}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                spec = pending.pop(ref)
                try:
                    outcome: RunOutcome = _outcome(spec, ray.get(ref))
                except ray.exceptions.RayTaskError as error:  # the run raised on every attempt
                    cause = error.cause if isinstance(getattr(error, "cause", None), BaseException) else error
                    outcome = record_failure(spec, cause, ATTEMPTS, details=_ANSI.sub("", str(error)))
                except ray.exceptions.RayError as error:  # the worker or its node died on every attempt
                    outcome = record_failure(spec, error, ATTEMPTS, details=_ANSI.sub("", str(error)))
                if not isinstance(outcome, RunResult):
                    logger.info("%s failed on Ray after %d attempts: %s", spec.label, ATTEMPTS, outcome.error)
                yield spec, outcome
