"""What the corpus tests share."""

from attnviz.maps.statistics import REGISTRY

# Batched vs run alone: within 1e-6 of a weight's scale, absolute for the statistics between 0 and 1, relative for
# the distance (in tokens, up to the token limit)
WITHIN_1E_6 = {
    name: {"atol": 1e-6, "rtol": 0} if REGISTRY[name].upper else {"atol": 0, "rtol": 1e-6} for name in REGISTRY
}
