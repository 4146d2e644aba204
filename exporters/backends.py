"""Where worlds are generated: in this process, a pool of spawned workers, or Ray.

Every backend runs :func:`exporters.world_shard.make_shard` once per planned world and
hands each finished world's record to ``on_done`` in the driver as it arrives; the order
of arrival never changes what is written (the driver sorts by split and world index).
Worker processes are started with ``spawn`` (never ``fork``: the driver may hold threads
and open files), live for many worlds (:data:`WORLDS_PER_WORKER`), and exit on their own
if the driver dies.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from exporters.atomic import OutputError
from exporters.world_shard import Library, make_shard
from scenarios.recipe_spec import RecipeSpec, WorldPlan
from sim.errors import InputError

OnDone = Callable[[dict], None]
BACKENDS = ("local", "ray")
# Pool workers are replaced after this many worlds each: resident memory drifts up a few
# percent per ten worlds (allocator arenas, bounded caches), and fresh processes (about a
# second to start) keep a long run's memory flat whatever its number of worlds. (Not
# ``max_tasks_per_child``: on Python 3.11 the executor hangs once workers retire.)
WORLDS_PER_WORKER = 24
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class BackendError(InputError):
    """A backend cannot run here (Ray missing or unreachable); ``where`` names the option."""


def run(recipe: RecipeSpec, plans: list[WorldPlan], library: Library, partial: Path, *,
        workers: int = 1, backend: str = "local", on_done: OnDone) -> None:
    """Generate the worlds of ``plans`` into shards under ``partial``."""
    if not plans:
        return
    if backend == "ray":
        _run_ray(recipe, plans, library, partial, workers=workers, on_done=on_done)
    elif workers <= 1:
        for plan in plans:
            on_done(make_shard(recipe, plan, library, partial))
    else:
        _run_pool(recipe, plans, library, partial, workers=workers, on_done=on_done)


# -- a local pool of spawned processes ---------------------------------------------------

_library: Library | None = None


def _start_worker(library: Library, parent: int) -> None:
    global _library
    _library = library
    _exit_with_parent(parent)


def _exit_with_parent(parent: int) -> None:
    """Make this worker die with the driver: nobody would collect its work. On Linux the
    kernel sends SIGKILL when the parent goes (a polling thread would wait for the GIL,
    which a long native call can hold for seconds); elsewhere a daemon thread polls."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the driver died before prctl took effect
            os._exit(1)
        return
    threading.Thread(target=_poll_parent, args=(parent,), daemon=True).start()


def _poll_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _pool_shard(recipe: RecipeSpec, plan: WorldPlan, partial: Path) -> dict:
    assert _library is not None, "worker started without a library"
    return make_shard(recipe, plan, _library, partial)


def _run_pool(recipe: RecipeSpec, plans: list[WorldPlan], library: Library, partial: Path, *,
              workers: int, on_done: OnDone) -> None:
    size = workers * WORLDS_PER_WORKER
    for start in range(0, len(plans), size):
        _run_batch(recipe, plans[start:start + size], library, partial, workers=workers,
                   on_done=on_done)


def _run_batch(recipe: RecipeSpec, plans: list[WorldPlan], library: Library, partial: Path, *,
               workers: int, on_done: OnDone) -> None:
    with cf.ProcessPoolExecutor(max_workers=workers,
                                mp_context=multiprocessing.get_context("spawn"),
                                initializer=_start_worker,
                                initargs=(library, os.getpid())) as pool:
        futures = [pool.submit(_pool_shard, recipe, plan, partial) for plan in plans]
        try:
            for future in cf.as_completed(futures):
                on_done(future.result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


# -- Ray ---------------------------------------------------------------------------------

def _ray_shard(recipe: RecipeSpec, plan: WorldPlan, library: Library, partial: str) -> dict:
    return make_shard(recipe, plan, library, Path(partial))


def _ray_probe(path: str) -> str:
    Path(path).write_text(socket.gethostname())
    return socket.gethostname()


def _run_ray(recipe: RecipeSpec, plans: list[WorldPlan], library: Library, partial: Path, *,
             workers: int, on_done: OnDone) -> None:
    try:
        import ray
    except ImportError:
        raise BackendError("--backend", "Ray is not installed; pip install 'lifeloom[ray]'") \
            from None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = not ray.is_initialized()
    if started:
        options = {"include_dashboard": False, "log_to_driver": False,
                   "logging_level": "error"}
        if not os.environ.get("RAY_ADDRESS"):  # no cluster named: a local one, this size
            options["num_cpus"] = max(1, workers)
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError) as exc:
            raise BackendError("--backend", f"cannot start or reach Ray: {exc}") from None
    try:
        probe = partial / f"probe-{uuid.uuid4().hex}"
        # A worker whose node lacks the directory fails to write: the check below says so.
        with contextlib.suppress(ray.exceptions.RayTaskError):
            ray.get(ray.remote(num_cpus=1)(_ray_probe).remote(str(probe.absolute())))
        if not probe.exists():
            raise OutputError("--out", f"{partial.parent} is not storage the Ray workers "
                                       "share with this machine (their probe file never "
                                       "appeared); use a shared filesystem")
        probe.unlink()
        task = ray.remote(num_cpus=1, max_retries=2, max_calls=WORLDS_PER_WORKER)(_ray_shard)
        shared = ray.put(library)
        pending = [task.remote(recipe, plan, shared, str(partial.absolute())) for plan in plans]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            on_done(ray.get(done[0]))
    finally:
        if started:
            ray.shutdown()
