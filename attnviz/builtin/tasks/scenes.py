"""scenes: small RGB images of 1-3 objects, a caption naming them, and where each named object is.

A scene is 64 x 64 pixels over a noisy dark background with one to three objects that never overlap
(shape: circle, square, triangle; colour: red, green, blue, yellow; 14-22 pixels across; anywhere).
The caption names the objects from left to right (their centres are at least one cell apart
horizontally): "red circle left of blue square". The gold alignment links each colour and shape word
to the cells of the 8 x 8 grid (8 pixels a cell) that its object covers; "left" and "of" name nothing.
A user composes a scene (picks the objects, placed at random) or draws a random one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

SIZE, CELL = 64, 8
GRID = (SIZE // CELL, SIZE // CELL)
SHAPES = ("circle", "square", "triangle")
COLOURS = {"red": (0.9, 0.15, 0.1), "green": (0.15, 0.8, 0.2), "blue": (0.2, 0.35, 0.95), "yellow": (0.95, 0.85, 0.1)}
COLOUR_NAMES = tuple(COLOURS)
RELATION = ("left", "of")
VOCABULARY = (*COLOUR_NAMES, *SHAPES, *RELATION)
MIN_OBJECT, MAX_OBJECT, MAX_OBJECTS = 14, 22, 3
MIN_GAP = CELL  # horizontal distance between object centres, so that "left of" is never a close call
PLACEMENT_TRIES = 200
BACKGROUND, NOISE = 0.25, 0.06


_ROWS, _COLS = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) + 0.5  # pixel centres


class SceneError(ValueError):
    """A scene that cannot be built: the message is one plain sentence."""


@dataclass(frozen=True)
class SceneObject:
    colour: str
    shape: str
    size: int  # side of its bounding box in pixels
    x: int  # top-left corner of its bounding box
    y: int

    @property
    def centre_x(self) -> float:
        return self.x + self.size / 2


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # float32 (3, 64, 64) in [0, 1]
    objects: tuple[SceneObject, ...]  # in reading order, left to right
    masks: np.ndarray  # bool (objects, 64, 64)
    caption: tuple[str, ...]
    alignment: tuple[int | None, ...]  # per caption word: the object it names, or None

    def cells(self, index: int) -> np.ndarray:
        """bool (8, 8): the grid cells object ``index`` covers."""
        return self.masks[index].reshape(GRID[0], CELL, GRID[1], CELL).any(axis=(1, 3))

    def gold_cells(self) -> tuple[np.ndarray | None, ...]:
        """Per caption word, the bool (8, 8) cells of the object it names (None for 'left' and 'of')."""
        return tuple(None if i is None else self.cells(i) for i in self.alignment)


def mask(shape: str, size: int, x: int, y: int) -> np.ndarray:
    """bool (64, 64): the pixels of one object."""
    u, v = (_COLS - x) / size, (_ROWS - y) / size  # 0..1 inside the bounding box
    inside = (u >= 0) & (u < 1) & (v >= 0) & (v < 1)
    if shape == "circle":
        return inside & ((u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25)
    if shape == "square":
        return inside & (np.abs(u - 0.5) <= 0.42) & (np.abs(v - 0.5) <= 0.42)
    if shape == "triangle":  # apex at the top centre, base at the bottom
        return inside & (np.abs(u - 0.5) <= 0.5 * v)
    raise SceneError(f"Unknown shape {shape!r}: choose one of {', '.join(SHAPES)}.")


def caption_of(objects: tuple[SceneObject, ...]) -> tuple[tuple[str, ...], tuple[int | None, ...]]:
    """(caption words, the object each word names) for objects already in reading order."""
    words: list[str] = []
    alignment: list[int | None] = []
    for i, obj in enumerate(objects):
        if i:
            words += RELATION
            alignment += [None, None]
        words += [obj.colour, obj.shape]
        alignment += [i, i]
    return tuple(words), tuple(alignment)


def render(objects: list[SceneObject] | tuple[SceneObject, ...], seed: int = 0) -> Scene:
    """The scene holding ``objects`` (any order) over a background drawn from ``seed``; SceneError if invalid."""
    _check(objects)
    objects = tuple(sorted(objects, key=lambda o: o.centre_x))
    rng = np.random.default_rng(seed)
    image = BACKGROUND + NOISE * rng.standard_normal((3, SIZE, SIZE), dtype=np.float32)
    masks = np.stack([mask(o.shape, o.size, o.x, o.y) for o in objects])
    for obj, pixels in zip(objects, masks, strict=True):
        jitter = 0.04 * rng.standard_normal((3, int(pixels.sum())), dtype=np.float32)
        image[:, pixels] = np.asarray(COLOURS[obj.colour], dtype=np.float32)[:, None] + jitter
    caption, alignment = caption_of(objects)
    return Scene(np.clip(image, 0, 1, out=image), objects, masks, caption, alignment)


def _check(objects) -> None:
    if not 1 <= len(objects) <= MAX_OBJECTS:
        raise SceneError(f"A scene holds 1 to {MAX_OBJECTS} objects; got {len(objects)}.")
    for o in objects:
        if o.colour not in COLOURS or o.shape not in SHAPES:
            raise SceneError(f"Pick colours from {', '.join(COLOUR_NAMES)} and shapes from {', '.join(SHAPES)}.")
        if not MIN_OBJECT <= o.size <= MAX_OBJECT or not (0 <= o.x <= SIZE - o.size and 0 <= o.y <= SIZE - o.size):
            raise SceneError(f"Objects are {MIN_OBJECT}-{MAX_OBJECT} pixels across and lie inside the image.")
    for i, a in enumerate(objects):
        for b in objects[i + 1 :]:
            if _overlap(a, b) or abs(a.centre_x - b.centre_x) < MIN_GAP:
                raise SceneError("Objects must not overlap, and their centres must be a cell (8 pixels) apart.")


def _overlap(a: SceneObject, b: SceneObject) -> bool:
    """Bounding boxes overlap or touch (a one-pixel margin keeps the masks apart)."""
    return a.x < b.x + b.size + 1 and b.x < a.x + a.size + 1 and a.y < b.y + b.size + 1 and b.y < a.y + a.size + 1


def place(picks: list[tuple[str, str]], rng: random.Random) -> list[SceneObject]:
    """Random sizes and positions for (colour, shape) picks; SceneError if they do not fit."""
    placed: list[SceneObject] = []
    for colour, shape in picks:
        for _ in range(PLACEMENT_TRIES):
            size = rng.randint(MIN_OBJECT, MAX_OBJECT)
            candidate = SceneObject(colour, shape, size, rng.randint(0, SIZE - size), rng.randint(0, SIZE - size))
            try:
                _check([*placed, candidate])
            except SceneError:
                continue
            placed.append(candidate)
            break
        else:
            raise SceneError("These objects do not fit in one scene; pick fewer.")
    return placed


def compose(picks: list[tuple[str, str]], seed: int = 0) -> Scene:
    """A scene holding the picked (colour, shape) objects at random places drawn from ``seed``."""
    if not 1 <= len(picks) <= MAX_OBJECTS:
        raise SceneError(f"Pick 1 to {MAX_OBJECTS} objects.")
    return render(place(list(picks), random.Random(f"scenes:compose:{seed}")), seed)


def sample(rng: random.Random) -> Scene:
    """A random scene: 1-3 objects of random colour and shape, its background seeded from ``rng``."""
    picks = [(rng.choice(COLOUR_NAMES), rng.choice(SHAPES)) for _ in range(rng.randint(1, MAX_OBJECTS))]
    while True:  # three large objects rarely leave no room for the last one: place them all again
        try:
            objects = place(picks, rng)
        except SceneError:
            continue
        return render(objects, rng.randrange(2**32))


def scenes(n: int, seed: int) -> list[Scene]:
    """``n`` random scenes from ``seed`` (the same scenes for the same seed)."""
    rng = random.Random(f"scenes:{seed}")
    return [sample(rng) for _ in range(n)]


def parse_picks(text: str) -> list[tuple[str, str]]:
    """'red circle, blue square' -> [("red", "circle"), ("blue", "square")]; SceneError with one sentence."""
    picks = []
    for part in (p.strip().lower() for p in text.replace(" and ", ",").split(",")):
        if not part:
            continue
        words = part.split()
        if len(words) != 2 or words[0] not in COLOURS or words[1] not in SHAPES:
            raise SceneError(
                f"Name each object as a colour and a shape ({', '.join(COLOUR_NAMES)}; {', '.join(SHAPES)}), "
                "separated by commas: 'red circle, blue square'."
            )
        picks.append((words[0], words[1]))
    if not 1 <= len(picks) <= MAX_OBJECTS:
        raise SceneError(f"Pick 1 to {MAX_OBJECTS} objects.")
    return picks


def scene_for(objects: str, seed: int) -> Scene:
    """The page's scene: the named objects placed from ``seed``; when ``objects`` is empty, random scene ``seed``."""
    return compose(parse_picks(objects), seed) if objects.strip() else scenes(1, seed)[0]
