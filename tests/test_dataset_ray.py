"""The Ray engine on a local Ray cluster started here: the same results as the local engine,
a worker killed mid-run is replaced and its batch retried, an interrupted run resumes."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from interpret_widgets import methods
from interpret_widgets.dataset import explain_dataset
from interpret_widgets.dataset.result import shard_path
from interpret_widgets.demo import demo_images

ray = pytest.importorskip("ray", reason="Ray is the optional [scale] extra")


def _start_local_ray(attempts: int = 3) -> None:
    """``ray.init(num_cpus=2)``, tried again if the node times out while starting: on a
    loaded 2-core machine Ray's dashboard agent can start slower than the raylet waits."""
    for attempt in range(attempts):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            return
        except Exception as error:  # noqa: BLE001 - Ray raises a bare Exception here
            ray.shutdown()
            if "timed out during startup" not in str(error) or attempt == attempts - 1:
                raise


@pytest.fixture(scope="module")
def cluster():
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no usage report to any host
    _start_local_ray()
    # this module's functions travel to the workers by value (tests/ is not on their path)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def images():
    return demo_images(512, seed=11)[0]


@pytest.fixture(scope="module")
def local_result(demo_model, images, tmp_path_factory):
    return explain_dataset(demo_model, images, "grad_cam", batch_size=64, shard_size=128,
                           out=tmp_path_factory.mktemp("local"))


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_equals_local_image_by_image(cluster, demo_model, images, local_result, workers,
                                         tmp_path):
    result = explain_dataset(demo_model, images, "grad_cam", batch_size=64, shard_size=128,
                             out=tmp_path, engine="ray", workers=workers)
    assert len(result) == 512
    np.testing.assert_array_equal(result.predictions, local_result.predictions)
    np.testing.assert_array_equal(result.targets, local_result.targets)
    # the same compiled probes on the same batches: equal up to float16 storage rounding
    np.testing.assert_allclose(result.maps, local_result.maps, rtol=2e-3, atol=1e-6)
    np.testing.assert_allclose(result.scores, local_result.scores, rtol=1e-5, atol=1e-5)


def dies_once(model, x, target=None, marker=""):
    """Grad-CAM, except that the first call anywhere kills its worker process outright."""
    if not os.path.exists(marker):
        with open(marker, "w"):
            pass
        os._exit(1)
    return methods.grad_cam(model, x, target=target)


def test_a_killed_actor_is_replaced_and_the_result_is_complete(
    cluster, demo_model, images, local_result, tmp_path
):
    marker = str(tmp_path / "died")
    result = explain_dataset(demo_model, images[:256], dies_once, batch_size=64,
                             shard_size=128, out=tmp_path / "out", engine="ray", workers=1,
                             marker=marker)
    assert os.path.exists(marker)  # a worker did die mid-run
    assert len(result) == 256
    np.testing.assert_allclose(result.maps, local_result.maps[:256], rtol=2e-3, atol=1e-6)


def test_an_interrupted_ray_run_resumes_without_redoing_shards(
    cluster, demo_model, images, local_result, tmp_path
):
    with pytest.raises(methods.Stopped):
        explain_dataset(demo_model, images, "grad_cam", batch_size=64, shard_size=128,
                        out=tmp_path, engine="ray", workers=1,
                        progress=lambda done, total: done == 0)  # stop after one shard
    finished = [s for s in range(4) if shard_path(tmp_path, s).is_file()]
    assert 1 <= len(finished) < 4
    stamps = {s: shard_path(tmp_path, s).stat().st_mtime_ns for s in finished}
    starts = []
    result = explain_dataset(demo_model, images, "grad_cam", batch_size=64, shard_size=128,
                             out=tmp_path, engine="ray", workers=1,
                             progress=lambda done, total: starts.append(done))
    assert starts[0] == 128 * len(finished)  # the finished shards count as done at once
    assert {s: shard_path(tmp_path, s).stat().st_mtime_ns for s in finished} == stamps
    np.testing.assert_allclose(result.maps, local_result.maps, rtol=2e-3, atol=1e-6)


def test_a_ray_dataset_source(cluster, demo_model, images, local_result, tmp_path):
    rows = ray.data.from_items([{"image": image} for image in images[:96]])
    result = explain_dataset(demo_model, rows, "grad_cam", batch_size=32, shard_size=64,
                             out=tmp_path, engine="ray", workers=1)
    assert len(result) == 96
    np.testing.assert_allclose(result.maps, local_result.maps[:96], rtol=2e-3, atol=1e-6)
