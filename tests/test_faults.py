"""Kills during builds and rebuilds under readers (a reduced scripts/faults.py run)."""

import pytest
from faults_harness import corpus_docs, kill_test, set_corpus, snapshot_test


def test_corpus_states_differ_by_three_added_and_one_removed(tmp_path):
    a, b = corpus_docs("A"), corpus_docs("B")
    assert len(a - b) == 1 and len(b - a) == 3
    set_corpus(tmp_path, "B")
    assert {p.name for p in tmp_path.iterdir()} == b
    set_corpus(tmp_path, "A")
    assert {p.name for p in tmp_path.iterdir()} == a


@pytest.mark.slow  # builds slowed by sleeps and killed: about a minute
def test_killed_builds_leave_a_searchable_index_as_before_or_after(tmp_path):
    rep = kill_test(tmp_path, kills=3, seed=5, aims=(3, 5, 6))  # SQLite writes, publishing, published
    assert rep.errors == []
    assert (rep.kills, rep.full) == (3, 2)
    assert rep.searches > 0 and rep.failed == 0 and rep.foreign == 0
    assert rep.consistent == 3 and rep.recovered == 3 and rep.stray == 0


@pytest.mark.slow  # 20 rebuilds under two readers
def test_readers_never_open_a_mix_of_two_builds(tmp_path):
    rep = snapshot_test(tmp_path, rebuilds=20, readers=2, seed=5)
    assert rep.messages == []
    assert rep.opens > 20 and rep.errors == 0 and rep.mixed == 0
    assert rep.generations > 2  # the readers did see the index change under them
