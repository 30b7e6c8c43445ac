import math

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from retrieval.store.bm25 import BM25Index, LuceneIdfBM25


def _seed_tokens(fake_index):
    from retrieval.index import bm25_tokens

    return [bm25_tokens(c) for c in fake_index.chunks]


def test_fast_path_equals_rank_bm25_reference(fake_index, tmp_path):
    docs = _seed_tokens(fake_index)
    ref = LuceneIdfBM25(docs, k1=1.2, b=0.75)
    fast = BM25Index(docs, k1=1.2, b=0.75)
    fast.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    for q in (["9.5%", "9.5", "增长", "目标"], ["工业", "工业", "项目"], ["规上工业增加值"], ["不存在的词"]):
        assert np.allclose(ref.get_scores(q), fast.scores(q))
        assert np.allclose(ref.get_scores(q), loaded.scores(q))


def test_common_terms_keep_a_positive_idf():
    # "工业" is in 3 of 4 documents: BM25Okapi floors its idf, ours keeps it positive
    docs = [["工业", "增长"], ["工业", "项目"], ["工业"], ["农业"]]
    okapi = BM25Okapi(docs)
    ours = LuceneIdfBM25(docs)
    raw = {"工业": math.log(1.5 / 3.5), "增长": math.log(3.5 / 1.5), "项目": math.log(3.5 / 1.5), "农业": math.log(3.5 / 1.5)}
    assert okapi.idf["工业"] == pytest.approx(0.25 * sum(raw.values()) / 4)  # floored to eps * mean idf
    assert ours.idf["工业"] == pytest.approx(math.log(1 + (4 - 3 + 0.5) / (3 + 0.5)))
    assert ours.idf["农业"] == pytest.approx(math.log(1 + (4 - 1 + 0.5) / (1 + 0.5)))
    assert BM25Index(docs).scores(["工业"])[0] > 0


def test_top_orders_by_score_and_skips_zero():
    idx = BM25Index([["a", "b"], ["a"], ["c"]])
    top = idx.top(["a", "b"], depth=10)
    assert [r for r, _ in top] == [0, 1]
