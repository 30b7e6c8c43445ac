"""Preloaded by the fault tests' fork server: runs the text stages once on a seed file.

That loads what they load on first use (jieba's dictionary, the region tables, pypinyin), so
every build child forked from the server starts warm (a cold start takes seconds) and a kill's
random moment falls across the build, not mostly in those first loads.
"""

from conftest import SEEDS

from retrieval.build import _prepare, _readings
from retrieval.reading import read_path
from retrieval.settings import Settings

_seed = min(SEEDS.iterdir())
_readings({t for ts in _prepare(read_path(_seed, SEEDS), Settings())[3] for t in ts})
