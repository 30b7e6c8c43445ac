"""policyqa: semantic search and cited answers over Chinese industrial-policy news.

``retrieval.open_index(path).search(query, k=10, mode="hybrid")`` is the entry point; the
import is lazy so that ``policyqa --help`` does not load numpy, FAISS or jieba.
"""

from __future__ import annotations

from typing import Any

__all__ = ["answer_question", "build_index", "open_index"]


def __getattr__(name: str) -> Any:
    if name in ("open_index", "build_index"):
        from retrieval import index

        return getattr(index, name)
    if name == "answer_question":
        from retrieval.answer.extractive import answer_question

        return answer_question
    raise AttributeError(name)
