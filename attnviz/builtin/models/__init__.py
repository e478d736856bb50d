"""The built-in models, one file each, plus the registry of their names, maps and kinds and one spec a family
(``families``: how it is built, trained and measured).

Every model's forward returns its output first and then its attention as
``{map name: tensor [batch, layer, head, query, key]}``; ``registry`` names the maps and their kinds.
This package face imports nothing, so that reading the registry never loads torch.
"""
