"""Evaluation measures on hand-made outputs: token errors count substitutions, insertions and deletions."""

import pytest

from attnviz.builtin.evaluate import token_edits


@pytest.mark.parametrize(
    "output, target, edits",
    [
        ("le chat noir", "le chat noir", 0),
        ("le chat noir noir", "le chat noir", 1),  # an extra token is an error (zip would have said 100%)
        ("le chat", "le chat noir", 1),  # a missing token too
        ("le chien noir", "le chat noir", 1),
        ("chat le noir", "le chat noir", 2),
        ("", "le chat noir", 3),
        ("a b c d e f", "x", 6),
    ],
)
def test_token_edits_are_the_levenshtein_distance(output, target, edits):
    assert token_edits(output.split(), target.split()) == edits
