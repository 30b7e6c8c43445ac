import math

import numpy as np
import pytest
from bm25_reference import LuceneIdfBM25
from rank_bm25 import BM25Okapi

from retrieval.store.bm25 import BM25, Postings, new_term_ids


def postings_of(docs: list[list[str]], vocab: dict[str, int] | None = None, start: int = 0,
                base: Postings | None = None, dead=()) -> tuple[Postings, dict[str, int]]:
    """Postings for token lists (chunk ids start, start+1, ...), as the store writes them."""
    vocab = {} if vocab is None else vocab
    cids, tids, tfs = [], [], []
    for j, doc in enumerate(docs):
        counts: dict[int, int] = {}
        for t in doc:
            tid = vocab.setdefault(t, len(vocab))
            counts[tid] = counts.get(tid, 0) + 1
        for tid, tf in counts.items():
            cids.append(start + j)
            tids.append(tid)
            tfs.append(tf)
    lengths = (np.arange(start, start + len(docs)), np.array([len(d) for d in docs], dtype=np.float32))
    base = base or Postings.empty(1.2, 0.75)
    out = base.updated(np.asarray(dead, dtype=np.int64), np.asarray(cids, dtype=np.int64),
                       np.asarray(tids, dtype=np.int64), np.asarray(tfs, dtype=np.float32), lengths, len(vocab))
    return out, vocab


def test_postings_equal_rank_bm25_reference(tmp_path):
    docs = [["9.5%", "增长", "目标", "工业"], ["工业", "工业", "项目"], ["规上工业增加值", "增长"], ["农业"], []]
    ref = LuceneIdfBM25(docs, k1=1.2, b=0.75)
    fast, vocab = postings_of(docs)
    fast.save(tmp_path)
    loaded = Postings.load(tmp_path, 1.2, 0.75)
    for q in (["9.5%", "增长", "目标"], ["工业", "工业", "项目"], ["规上工业增加值"], ["不存在的词"]):
        tids = [vocab[t] for t in q if t in vocab]
        assert np.allclose(ref.get_scores(q), fast.scores(tids))
        assert np.allclose(ref.get_scores(q), loaded.scores(tids))


def test_adds_and_deletes_give_the_scores_of_a_full_build():
    a = [["工业", "增长"], ["工业", "项目", "项目"], ["农业", "增长"]]
    b = [["工业"], ["服务业", "增长", "增长"]]
    first, vocab = postings_of(a)
    # delete chunk 1, add b as chunks 3 and 4: the live corpus is a[0], a[2], b[0], b[1]
    inc, vocab = postings_of(b, vocab, start=3, base=first, dead=[1])
    live = [a[0], a[2], *b]
    ref = LuceneIdfBM25(live, k1=1.2, b=0.75)
    for q in (["工业"], ["增长"], ["项目"], ["服务业", "农业"]):
        got = inc.scores([vocab[t] for t in q])[[0, 2, 3, 4]]
        assert np.allclose(ref.get_scores(q), got)
    assert inc.n_docs == 4
    assert inc.scores([vocab["项目"]])[1] == 0.0  # the deleted chunk is gone


def test_common_terms_keep_a_positive_idf():
    # "工业" is in 3 of 4 documents: BM25Okapi floors its idf, ours keeps it positive
    docs = [["工业", "增长"], ["工业", "项目"], ["工业"], ["农业"]]
    okapi = BM25Okapi(docs)
    ours = LuceneIdfBM25(docs)
    raw = {"工业": math.log(1.5 / 3.5), "增长": math.log(3.5 / 1.5), "项目": math.log(3.5 / 1.5), "农业": math.log(3.5 / 1.5)}
    assert okapi.idf["工业"] == pytest.approx(0.25 * sum(raw.values()) / 4)  # floored to eps * mean idf
    assert ours.idf["工业"] == pytest.approx(math.log(1 + (4 - 3 + 0.5) / (3 + 0.5)))
    assert ours.idf["农业"] == pytest.approx(math.log(1 + (4 - 1 + 0.5) / (1 + 0.5)))
    p, vocab = postings_of(docs)
    assert p.scores([vocab["工业"]])[0] > 0


def test_top_orders_by_score_skips_zero_and_applies_a_mask():
    p, vocab = postings_of([["a", "b"], ["a"], ["c"]])
    assert [r for r, _ in p.top([vocab["a"], vocab["b"]], depth=10)] == [0, 1]
    mask = np.array([False, True, True])
    assert [r for r, _ in p.top([vocab["a"], vocab["b"]], depth=10, allowed=mask)] == [1]


def test_new_terms_take_the_next_free_ids_in_order_and_known_ones_keep_theirs():
    ids = {"工业": 0, "增长": 5}
    assert new_term_ids(["增速", "工业", "目标", "增速"], ids, 6) == [(6, "增速"), (7, "目标")]
    assert ids == {"工业": 0, "增长": 5, "增速": 6, "目标": 7}
    assert new_term_ids(["增长", "工业"], ids, 8) == [] and len(ids) == 4


def test_segments_with_deletions_score_as_one_segment_of_the_live_chunks(tmp_path):
    """BM25 over three segments, some chunks deleted, uses the live corpus's N, average length and df."""
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(25)]
    docs = [list(rng.choice(words, size=rng.integers(0, 9))) for _ in range(60)]
    vocab = {w: i for i, w in enumerate(words)}
    segs = [postings_of(docs[a:b], vocab, start=a)[0] for a, b in ((0, 30), (30, 50), (50, 60))]
    for i, p in enumerate(segs):  # as the store reads them: memory-mapped files
        (tmp_path / str(i)).mkdir()
        p.save(tmp_path / str(i))
    segs = [Postings.load(tmp_path / str(i), 1.2, 0.75) for i in range(3)]
    dead = np.array([1, 2, 17, 31, 44, 59])
    live = [j for j in range(60) if j not in set(dead)]
    ref = LuceneIdfBM25([docs[j] for j in live], k1=1.2, b=0.75)
    counted = BM25(segs, dead, 1.2, 0.75)
    z = np.zeros(0, np.int64)
    one = postings_of(docs, vocab)[0].updated(dead, z, z, z.astype(np.float32), (z, z.astype(np.float32)),
                                              len(vocab))  # the live chunks merged into one segment
    assert counted.n_docs == one.n_docs == 54 and counted.avgdl == pytest.approx(np.mean([len(docs[j]) for j in live]))
    stored = BM25(segs, dead, 1.2, 0.75, df=counted.df_.astype(np.int32))  # as a generation stores df
    for q in (["w1"], ["w2", "w3", "w3"], ["w7", "w11", "w24"], ["nope"]):
        tids = [vocab[t] for t in q if t in vocab]
        got = counted.scores(tids)
        assert np.allclose(ref.get_scores(q), got[live])
        assert not got[dead].any()
        assert np.array_equal(got, stored.scores(tids)) and np.array_equal(got[: len(one.scores(tids))],
                                                                             one.scores(tids))
        assert counted.max_score(tids) == one.max_score(tids)
        assert counted.top(tids, 5) == one.top(tids, 5)
    assert [counted.df(t) for t in range(25)] == [one.df(t) for t in range(25)]


def test_a_merge_keeps_the_live_postings_whatever_the_order_of_chunk_ids():
    a, vocab = postings_of([["x", "y"], ["y"]], start=10)
    b, vocab = postings_of([["x"], ["z", "x"]], vocab, start=0)
    merged = Postings.merged([a, b], np.array([1]), None, 1.2, 0.75)
    assert merged.chunks.tolist() == [0, 10, 11]
    assert merged.slice(vocab["x"])[0].tolist() == [0, 10] and merged.slice(vocab["z"])[0].tolist() == []
    with pytest.raises(ValueError, match="twice"):
        Postings.merged([a, a], np.zeros(0, np.int64))
