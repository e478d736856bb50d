"""attnviz.maps.image_rows by hand: sinks, rows set aside and renormalised, image share, weights over the image."""

import numpy as np
import pytest

from attnviz.maps import image_rows


def test_a_sink_is_an_image_token_whose_norm_is_over_five_medians_at_a_layer_read():
    norms = np.array(
        [
            [1.0, 1.0, 2.0, 5.1, 1.0],  # median 1: token 3 is over 5 x 1
            [2.0, 2.0, 2.0, 2.0, 10.0],  # median 2: token 4 is 10, not over 5 x 2
        ]
    )
    assert image_rows.visual_sinks(norms).tolist() == [3]
    assert image_rows.visual_sinks(norms, ratio=4.9).tolist() == [3, 4]
    assert image_rows.visual_sinks(norms[1:], ratio=4.9).tolist() == [4]  # one layer read (a captioner's encoder)
    assert image_rows.visual_sinks(np.zeros((0, 4))).tolist() == []  # no norms, no sinks


def test_set_aside_zeroes_the_keys_and_renormalises_each_row():
    row = np.array([[[0.5, 0.25, 0.125, 0.125]], [[0.1, 0.2, 0.3, 0.4]]])  # [layer, head, key]
    kept = image_rows.set_aside(row, np.array([0, 2]))
    np.testing.assert_allclose(kept[0, 0], [0, 0.25 / 0.375, 0, 0.125 / 0.375], rtol=1e-6)
    np.testing.assert_allclose(kept[1, 0], [0, 2 / 6, 0, 4 / 6], rtol=1e-6)
    assert row[0, 0, 0] == 0.5  # the input is not touched
    with pytest.raises(ValueError, match="all its weight"):
        image_rows.set_aside(np.array([[[1.0, 0.0]]]), np.array([0]))


def test_image_share_is_the_head_mean_of_each_layers_weight_on_the_image_positions():
    row = np.array([[[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]])  # 1 layer, 2 heads, 3 keys
    positions = np.array([1, 2])
    np.testing.assert_allclose(image_rows.image_share(row, positions), [(0.9 + 0.5) / 2])
    np.testing.assert_allclose(image_rows.over_image(row, positions), [[[0.6, 0.3], [0.2, 0.3]]])
