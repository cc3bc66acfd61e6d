"""Data-set jobs with the local engine: results equal the methods image by image, shards
on disk, resume skips finished shards, stop, SpRAy on planted clusters, embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from model_guard import untouched

from interpret_widgets import methods
from interpret_widgets.dataset import explain_dataset, map_features, spray
from interpret_widgets.dataset.embed import embed
from interpret_widgets.dataset.result import DatasetResult, shard_path


@pytest.fixture(scope="module")
def data(demo_data):
    images, labels, masks = demo_data
    return images[:40], labels[:40].astype(np.int64)


def test_local_equals_the_method_image_by_image(demo_model, data, tmp_path):
    images, _ = data
    with untouched(demo_model):
        result = explain_dataset(demo_model, images, "grad_cam", batch_size=8, shard_size=16,
                                 out=tmp_path)
    assert len(result) == 40 and result.manifest.shards == 3
    logits = demo_model_logits(demo_model, images)
    np.testing.assert_array_equal(result.predictions, logits.argmax(axis=1))
    np.testing.assert_array_equal(result.targets, result.predictions)
    np.testing.assert_allclose(result.scores, logits.max(axis=1), rtol=1e-5, atol=1e-5)
    reference = methods.grad_cam(demo_model, images, target=result.targets.astype(int))
    # maps are stored as float16: relative error ≤ 2^-11 of each value, plus subnormals
    np.testing.assert_allclose(result.maps, reference, rtol=2e-3, atol=1e-6)
    assert result.maps.dtype == np.float32 and result.maps.shape == (40, 16, 16)


def demo_model_logits(model, images):
    from interpret_widgets.model import get_adapter

    return get_adapter(model).logits(images)


def test_labels_are_the_targets_and_kwargs_reach_the_method(demo_model, data, tmp_path):
    images, labels = data
    result = explain_dataset(demo_model, images[:12], "lrp", labels=labels[:12], shard_size=5,
                             out=tmp_path, rule="epsilon_plus")
    np.testing.assert_array_equal(result.targets, labels[:12])
    reference = methods.lrp(demo_model, images[:12], target=labels[:12].astype(int),
                            rule="epsilon_plus")
    np.testing.assert_allclose(result.maps, reference, rtol=2e-3, atol=1e-6)


def test_stream_of_batches_gives_the_same_shards(demo_model, data, tmp_path):
    images, labels = data
    whole = explain_dataset(demo_model, images, "saliency", labels=labels, shard_size=16,
                            out=tmp_path / "a")
    stream = ((images[i : i + 7], labels[i : i + 7]) for i in range(0, 40, 7))
    streamed = explain_dataset(demo_model, stream, "saliency", shard_size=16,
                               out=tmp_path / "b")
    assert len(streamed) == 40 and streamed.manifest.shards == 3
    np.testing.assert_array_equal(streamed.maps, whole.maps)
    np.testing.assert_array_equal(streamed.targets, labels)


def test_resume_skips_finished_shards_and_stop_interrupts(demo_model, data, tmp_path):
    images, _ = data
    seen = []

    def progress(done, total):
        seen.append((done, total))
        return done == 0  # stop after the first shard

    with pytest.raises(methods.Stopped, match="after 16 of 40"):
        explain_dataset(demo_model, images, "grad_cam", shard_size=16, out=tmp_path,
                        progress=progress)
    assert seen == [(0, 40), (16, 40)]
    assert shard_path(tmp_path, 0).is_file() and not shard_path(tmp_path, 1).is_file()
    with pytest.raises(ValueError, match="incomplete"):
        DatasetResult(tmp_path)
    first = shard_path(tmp_path, 0).stat().st_mtime_ns
    calls = []
    result = explain_dataset(demo_model, images, "grad_cam", shard_size=16, out=tmp_path,
                             progress=lambda d, t: calls.append(d))
    assert shard_path(tmp_path, 0).stat().st_mtime_ns == first  # not recomputed
    assert calls == [0, 16, 32, 40] and len(result) == 40
    fresh = explain_dataset(demo_model, images, "grad_cam", shard_size=16, out=tmp_path / "new")
    np.testing.assert_array_equal(result.maps, fresh.maps)


def test_bad_input_is_a_clear_error(demo_model, data, tmp_path):
    images, labels = data
    with pytest.raises(ValueError, match="unknown method 'gradcam'"):
        explain_dataset(demo_model, images, "gradcam")
    with pytest.raises(ValueError, match="engine"):
        explain_dataset(demo_model, images, "grad_cam", engine="spark")
    with pytest.raises(ValueError, match="labels has 3 entries for 40 images"):
        explain_dataset(demo_model, images, "grad_cam", labels=labels[:3])
    with pytest.raises(ValueError, match="batch_size"):
        explain_dataset(demo_model, images, "grad_cam", batch_size=0)
    explain_dataset(demo_model, images[:4], "grad_cam", out=tmp_path)
    with pytest.raises(ValueError, match="another job"):
        explain_dataset(demo_model, images[:4], "saliency", out=tmp_path)
    with pytest.raises(ValueError, match="channels"):
        explain_dataset(demo_model, images[..., :1], "grad_cam")
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        explain_dataset(demo_model, images, "grad_cam", progress="bar")


class _Maps:
    def __init__(self, maps, targets):
        self.maps, self.targets = maps, targets


def test_spray_separates_two_planted_strategies():
    """Maps of class 3 light up either the top-left corner or the centre (plus noise);
    SpRAy must find two clusters, from the eigengap, that are exactly the two groups."""
    rng = np.random.default_rng(0)
    n = 60
    group = rng.random(n) < 0.4
    maps = rng.random((n, 32, 32)).astype(np.float32) * 0.2
    maps[group, 0:6, 0:6] += 3.0
    maps[~group, 12:20, 12:20] += 3.0
    targets = np.full(n + 5, 3)
    targets[-5:] = 1  # other class: not analysed
    all_maps = np.concatenate([maps, rng.random((5, 32, 32)).astype(np.float32)])
    result = spray(_Maps(all_maps, targets), 3, size=8)
    np.testing.assert_array_equal(result.indices, np.arange(n))
    assert result.n_clusters == 2
    agreement = max(np.mean(result.labels == group), np.mean(result.labels != group))
    assert agreement == 1.0
    assert result.embedding.shape == (n, 2) and result.prototypes.shape == (2, 8, 8)
    corner = int(np.bincount(result.labels[group]).argmax())
    assert result.prototypes[corner][0, 0] > result.prototypes[corner][3, 3]
    assert all(group[i] == (result.labels[i] == corner) for i in result.nearest[corner])
    # eigenvalues of a normalized Laplacian lie in [0, 2], the first is 0
    assert result.eigenvalues[0] == pytest.approx(0.0, abs=1e-8)
    assert np.all(result.eigenvalues <= 2.0 + 1e-9)


def test_map_features_is_block_mean_then_unit_norm():
    maps = np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4)
    feats = map_features(maps, 2)
    block = maps[0].reshape(2, 2, 2, 2).mean(axis=(1, 3)).ravel()
    np.testing.assert_allclose(feats[0], block / np.linalg.norm(block), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="size"):
        map_features(maps, 5)


def test_embed_is_the_penultimate_layer(demo_model, data):
    images, _ = data
    vectors = embed(demo_model, images, batch_size=16)
    gap = methods.activations(demo_model, images, ["gap"])["gap"]
    np.testing.assert_allclose(vectors, gap, rtol=1e-5, atol=1e-6)
    relu3 = embed(demo_model, images[:4], "relu3")
    expected = methods.activations(demo_model, images[:4], ["relu3"])["relu3"].mean(axis=(1, 2))
    np.testing.assert_allclose(relu3, expected, rtol=1e-5, atol=1e-6)


def test_pca_embedding_is_the_svd_projection_up_to_sign():
    """The PCA embedding (used above 5,000 maps) projects on the leading principal axes:
    the same coordinates as an SVD of the centred features, each axis up to its sign."""
    from types import SimpleNamespace

    from interpret_widgets.dataset import map_embedding

    rng = np.random.default_rng(0)
    patterns = rng.normal(size=(3, 32, 32))
    weights = rng.normal(size=(400, 3)) * [4.0, 2.0, 1.0]
    maps = 10.0 + np.einsum("nk,khw->nhw", weights, patterns) + 0.1 * rng.normal(size=(400, 32, 32))
    got = map_embedding(SimpleNamespace(maps=maps.astype(np.float32)), 3, method="pca")
    features = map_features(maps.astype(np.float32), 16).astype(np.float64)
    centred = features - features.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    assert singular[0] > 1.3 * singular[1] > 1.3 * 1.3 * singular[2] > singular[3]  # distinct axes
    expected = centred @ vt[:3].T
    signs = np.sign(np.sum(got * expected, axis=0))
    assert got.shape == (400, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected * signs, atol=1e-5 * np.abs(expected).max())
