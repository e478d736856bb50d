"""The English -> French-like word lists of the translate task."""

from __future__ import annotations

# english singular, english plural, french singular, french plural, gender
NOUNS = [
    ("cat", "cats", "chat", "chats", "m"),
    ("dog", "dogs", "chien", "chiens", "m"),
    ("car", "cars", "voiture", "voitures", "f"),
    ("house", "houses", "maison", "maisons", "f"),
    ("boy", "boys", "garçon", "garçons", "m"),
    ("girl", "girls", "fille", "filles", "f"),
    ("man", "men", "homme", "hommes", "m"),
    ("woman", "women", "femme", "femmes", "f"),
    ("book", "books", "livre", "livres", "m"),
    ("table", "tables", "table", "tables", "f"),
    ("apple", "apples", "pomme", "pommes", "f"),
    ("bird", "birds", "oiseau", "oiseaux", "m"),
    ("horse", "horses", "cheval", "chevaux", "m"),
    ("tree", "trees", "arbre", "arbres", "m"),
    ("flower", "flowers", "fleur", "fleurs", "f"),
    ("door", "doors", "porte", "portes", "f"),
    ("window", "windows", "fenêtre", "fenêtres", "f"),
    ("teacher", "teachers", "professeur", "professeurs", "m"),
    ("friend", "friends", "ami", "amis", "m"),
    ("city", "cities", "ville", "villes", "f"),
    ("garden", "gardens", "jardin", "jardins", "m"),
    ("letter", "letters", "lettre", "lettres", "f"),
    ("song", "songs", "chanson", "chansons", "f"),
    ("cake", "cakes", "gâteau", "gâteaux", "m"),
    ("hat", "hats", "chapeau", "chapeaux", "m"),
    ("ball", "balls", "balle", "balles", "f"),
]

# english, (masc sg, fem sg, masc pl, fem pl), goes before the noun in French
ADJECTIVES = [
    ("red", ("rouge", "rouge", "rouges", "rouges"), False),
    ("blue", ("bleu", "bleue", "bleus", "bleues"), False),
    ("green", ("vert", "verte", "verts", "vertes"), False),
    ("black", ("noir", "noire", "noirs", "noires"), False),
    ("white", ("blanc", "blanche", "blancs", "blanches"), False),
    ("happy", ("heureux", "heureuse", "heureux", "heureuses"), False),
    ("fast", ("rapide", "rapide", "rapides", "rapides"), False),
    ("heavy", ("lourd", "lourde", "lourds", "lourdes"), False),
    ("small", ("petit", "petite", "petits", "petites"), True),
    ("big", ("grand", "grande", "grands", "grandes"), True),
    ("old", ("vieux", "vieille", "vieux", "vieilles"), True),
    ("new", ("nouveau", "nouvelle", "nouveaux", "nouvelles"), True),
    ("pretty", ("joli", "jolie", "jolis", "jolies"), True),
    ("good", ("bon", "bonne", "bons", "bonnes"), True),
]

# english base, english 3rd singular, english past, french 3sg, french 3pl, french participle
VERBS = [
    ("see", "sees", "saw", "voit", "voient", "vu"),
    ("eat", "eats", "ate", "mange", "mangent", "mangé"),
    ("like", "likes", "liked", "aime", "aiment", "aimé"),
    ("want", "wants", "wanted", "veut", "veulent", "voulu"),
    ("find", "finds", "found", "trouve", "trouvent", "trouvé"),
    ("take", "takes", "took", "prend", "prennent", "pris"),
    ("watch", "watches", "watched", "regarde", "regardent", "regardé"),
    ("carry", "carries", "carried", "porte", "portent", "porté"),
    ("open", "opens", "opened", "ouvre", "ouvrent", "ouvert"),
    ("buy", "buys", "bought", "achète", "achètent", "acheté"),
    ("draw", "draws", "drew", "dessine", "dessinent", "dessiné"),
]

# english determiner -> french (masc sg, fem sg, plural); None where English has no such form
DETERMINERS = {
    "the": ("le", "la", "les"),
    "a": ("un", "une", None),
    "some": (None, None, "des"),
    "my": ("mon", "ma", "mes"),
    "this": ("ce", "cette", None),
    "these": (None, None, "ces"),
}
# "of" + determiner: contracted in French ("of the" -> "du"), a many-to-one alignment
OF_CONTRACTIONS = {("the", "m"): "du", ("the", "pl"): "des", ("a", "m"): "d'un", ("a", "f"): "d'une"}
