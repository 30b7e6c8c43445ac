"""A corpus's own words and places, beside the package's general ones.

An analyst's corpus may use words jieba splits wrongly (a campaign's name, a local slogan) and
places cpca does not know (a provincial development zone). They go in the corpus folder, not in
the package:

- ``<corpus>/.policyqa/words.txt``: jieba's user-dictionary lines, ``word [frequency] [tag]``;
- ``<corpus>/.policyqa/places.tsv``: ``name<TAB>province<TAB>city<TAB>county-level name``, as
  the package's ``retrieval/data/aliases.tsv``.

The build reads them (the folder itself is not indexed), records them with the index's
settings (a change rebuilds the index in full, as any tokenizer change does), and whoever opens
the index registers them again, so questions are tokenized and placed as the passages were.
Lines starting with # are comments.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER = ".policyqa"


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8-sig")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def load(corpus: Path) -> dict:
    """The corpus's words and places (empty lists when it has none)."""
    folder = Path(corpus) / FOLDER
    words = [ln for ln in _lines(folder / "words.txt") if ln.split()]
    places = []
    for ln in _lines(folder / "places.tsv"):
        cells = [c.strip() for c in ln.split("\t")]
        if len(cells) != 4 or not all(cells[:2]):
            log.warning("%s: a place row needs 4 tab-separated cells, skipped: %s", folder / "places.tsv", ln)
            continue
        places.append(cells)
    return {"words": words, "places": places}


def register(vocabulary: dict | None) -> None:
    """Make the words and places known to the tokenizer and the region finder of this process."""
    if not vocabulary:
        return
    from retrieval.text.regions import add_places
    from retrieval.text.tokens import add_words

    add_words(vocabulary.get("words", []))
    add_places([tuple(r) for r in vocabulary.get("places", [])])
