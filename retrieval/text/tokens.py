"""BM25 tokens: jieba words of normalized text, with figures and their units kept whole."""

from __future__ import annotations

import functools
import logging
import re
import warnings
from importlib import resources

from retrieval.text.normalize import norm_text

log = logging.getLogger(__name__)

TOKENIZER_VERSION = "jieba-search-figures-2"
UNITS = (
    "个百分点|百分点|%|‰|亿元|万元|千元|元|亿美元|万美元|亿|万|家|个工作日|工作日|个|户|场|项|天|日|"
    "条|台|套|倍|人次|人|吨|千瓦|平方米|亩|公里|年|月|季度"
)
FIGURE = re.compile(rf"\d+(?:\.\d+)?(?:{UNITS})?")
WORD = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
# Function words and question words: they carry no topic in either a question or a passage.
STOPWORDS = frozenset(
    """
    的 了 和 与 及 是 在 有 为 对 等 将 把 被 也 都 就 而 并 或 之 其 这 那 个 中 上 下 以 于 从 到 由 向
    哪些 哪个 哪 什么 多少 几 几个 多大 如何 怎么 怎样 吗 呢 啥 是否 提出 有关 关于 请问
    the a an of in on to for and or is are was were which what how many much when where who
    set sets did do does by with at from that this
    """.split()
)


@functools.lru_cache(maxsize=1)
def _jieba():
    with warnings.catch_warnings():  # jieba 0.42.1 imports the deprecated pkg_resources
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    with resources.as_file(resources.files("retrieval") / "data" / "userdict.txt") as path:
        tok.load_userdict(str(path))
    return tok


def add_words(lines: list[str]) -> None:
    """Add user-dictionary lines ("word [freq] [tag]") to the tokenizer of this process."""
    tok = _jieba()
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else (parts[1] if len(parts) == 2 and not parts[1].isdigit() else None)
        tok.add_word(parts[0], freq, tag)


def tokenize_normalized(text: str) -> list[str]:
    """Tokens of already-normalized text (Simplified, NFKC)."""
    tokens: list[str] = []
    pos = 0
    lowered = text.lower()
    for m in FIGURE.finditer(lowered):
        tokens.extend(_words(lowered[pos : m.start()]))
        fig = m.group(0)
        tokens.append(fig)
        number = re.match(r"\d+(?:\.\d+)?", fig).group(0)  # type: ignore[union-attr]
        if number != fig:
            tokens.append(number)  # "9.5%" also matches "9.5个百分点" on the number
        pos = m.end()
    tokens.extend(_words(lowered[pos:]))
    return tokens


def _words(segment: str) -> list[str]:
    if not segment.strip():
        return []
    return [
        w for w in _jieba().cut_for_search(segment, HMM=True)
        if WORD.search(w) and w.strip() and w not in STOPWORDS
    ]


def tokenize(text: str) -> list[str]:
    """Normalize then tokenize (for queries and raw text)."""
    return tokenize_normalized(norm_text(text))
