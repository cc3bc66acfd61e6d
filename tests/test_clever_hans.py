"""The planted Clever Hans: the shipped model relies on the corner tag, and SpRAy on its LRP
maps of that class separates the images it explains by the tag from the others."""

from __future__ import annotations

import numpy as np
import pytest

from interpret_widgets.dataset import explain_dataset, spray
from interpret_widgets.demo import CLASS_NAMES, load_demo_model
from interpret_widgets.demo.clever_hans import (
    CLEVER_HANS_CLASS,
    TAG_BOX,
    clever_hans_images,
    stamp_tag,
)
from interpret_widgets.model import get_adapter


@pytest.fixture(scope="module")
def hans_model():
    return load_demo_model("clever_hans")


def test_images_carry_the_tag_as_documented():
    images, labels, masks, tagged = clever_hans_images(600, seed=4)
    plain, plain_labels, plain_masks, none = clever_hans_images(600, seed=4, tag_rate=0,
                                                                other_rate=0)
    np.testing.assert_array_equal(labels, plain_labels)
    np.testing.assert_array_equal(masks, plain_masks)
    assert not none.any()
    hans = labels == CLEVER_HANS_CLASS
    assert 0.8 < tagged[hans].mean() <= 1.0 and 0.0 < tagged[~hans].mean() < 0.1
    rows, cols = TAG_BOX
    np.testing.assert_array_equal(images[tagged][:, rows, cols], stamp_tag(plain[0])[rows, cols]
                                  [None].repeat(tagged.sum(), 0))
    outside = np.ones(images.shape[1:3], bool)
    outside[rows, cols] = False
    np.testing.assert_array_equal(images[:, outside], plain[:, outside])
    first = clever_hans_images(10, seed=4)
    np.testing.assert_array_equal(first[3], tagged[:10])  # image i does not depend on n
    with pytest.raises(ValueError, match="tag_rate"):
        clever_hans_images(4, tag_rate=1.5)


def test_the_model_uses_the_tag(hans_model):
    """Held out (seed 7): the class is recognised with its tag and far less often without."""
    images, labels, _, tagged = clever_hans_images(800, seed=7, tag_rate=1.0, other_rate=0.0)
    clean = clever_hans_images(800, seed=7, tag_rate=0.0, other_rate=0.0)[0]
    hans = labels == CLEVER_HANS_CLASS
    adapter = get_adapter(hans_model)
    with_tag = np.mean(adapter.logits(images[hans]).argmax(1) == CLEVER_HANS_CLASS)
    without = np.mean(adapter.logits(clean[hans]).argmax(1) == CLEVER_HANS_CLASS)
    assert with_tag > 0.8 and without < with_tag - 0.5, (with_tag, without)
    # the tag alone turns other classes into the Clever Hans class far more often than chance
    others = np.stack([stamp_tag(x) for x in clean[~hans][:200]])
    share = np.mean(adapter.logits(others).argmax(1) == CLEVER_HANS_CLASS)
    assert share > 0.1, (share, CLASS_NAMES[CLEVER_HANS_CLASS])


def test_spray_finds_the_tag_cluster(hans_model, tmp_path):
    """LRP (ε-z⁺) maps of the class, half of them tagged: SpRAy's clusters must agree with
    the tag's presence on at least 90 % of the images (chance is 50 %)."""
    images, labels, _, tagged = clever_hans_images(640, seed=12, tag_rate=0.5, other_rate=0.0)
    hans = labels == CLEVER_HANS_CLASS
    result = explain_dataset(hans_model, images[hans], "lrp", labels=labels[hans],
                             out=tmp_path, rule="epsilon_plus")
    found = spray(result, CLEVER_HANS_CLASS, n_clusters=2, size=16)
    truth = tagged[hans][found.indices]
    agreement = max(np.mean((found.labels == 1) == truth), np.mean((found.labels == 0) == truth))
    assert agreement >= 0.9, agreement
    tag_cluster = int(np.round(found.labels[truth].mean()))
    corner = found.prototypes[tag_cluster][:2, :2].sum()  # the tag's 4×4-pixel blocks
    assert corner > found.prototypes[1 - tag_cluster][:2, :2].sum()
