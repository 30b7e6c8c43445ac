"""The BM25 reference the stores are checked against: rank-bm25 with Lucene's idf.

rank-bm25's BM25Okapi floors the idf of any term found in half or more of the documents
(idf = log((N-n+0.5)/(n+0.5)) turns negative, then becomes eps * mean idf; its issues #39/#43).
The stores use Lucene's idf, log(1 + (N-n+0.5)/(n+0.5)), which is positive for every term; this
subclass keeps rank-bm25's scoring and swaps in that idf, so "fast path equals reference" is
checked against an implementation that is not ours. Used by tests/test_bm25.py and
scripts/bench_scale.py (parity on 1,000 queries).
"""

from __future__ import annotations

import math

from rank_bm25 import BM25Okapi


class LuceneIdfBM25(BM25Okapi):
    """rank-bm25's BM25Okapi with Lucene's non-negative idf."""

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = {w: math.log(1.0 + (self.corpus_size - n + 0.5) / (n + 0.5)) for w, n in nd.items()}
