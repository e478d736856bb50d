"""``python -m attnviz extract --image`` for image-to-text models: the file's keys and shapes against a run."""

import numpy as np
import pytest
from PIL import Image

from attnviz.cli.main import main
from attnviz.pretrained.image_text import load as image_text
from attnviz.pretrained.image_text.run import full

from vlm_models import save_tiny_vlm


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "picture.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.parametrize(
    ("family", "name"),
    [("llava", "self"), ("llava_next", "self"), ("qwen2_vl", "self"), ("idefics3", "self"), ("vit-gpt2", "cross")],
)
def test_extract_writes_rows_positions_and_cells(tmp_path, image_file, family, name, capsys):
    folder = save_tiny_vlm(family, tmp_path / family)
    out = tmp_path / "x.npz"
    argv = ["extract", "--model", str(folder), "--image", str(image_file), "--text", "what is it", "--out", str(out)]
    assert main([*argv, "--target", "a cat"]) == 0
    data = np.load(out)
    assert set(data.files) == {name, "tokens", "image_positions", "image_cells", "tiles", "tile_shapes"}
    loaded = image_text.load(str(folder))
    with Image.open(image_file) as image:
        weights, cells, positions, fed = full(loaded, image.convert("RGB"), "what is it", "a cat")
    np.testing.assert_array_equal(data[name], weights)
    assert data[name].shape[2] == len(data["tokens"]) == len(fed)
    if name == "self":
        assert data[name].shape[2] == data[name].shape[3]
    np.testing.assert_array_equal(data["image_positions"], positions)
    np.testing.assert_array_equal(data["image_cells"], cells.cells)
    assert data["image_cells"].shape == (len(positions), 3) and tuple(data["tiles"]) == cells.tiles
    assert f"wrote {name}" in capsys.readouterr().out


def test_bad_image_is_one_line(tmp_path, capsys):
    folder = save_tiny_vlm("llava", tmp_path / "llava")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    assert (
        main(["extract", "--model", str(folder), "--image", str(bad), "--text", "hi", "--out", str(tmp_path / "x.npz")])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not an image" in err and "\n" not in err
    assert main(["extract", "--model", str(folder), "--image", str(bad), "--out", str(tmp_path / "x.json")]) == 2
    assert ".npz only" in capsys.readouterr().err
