"""Many questions at once: read them from a text or CSV file, answer each, one table of answers."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from retrieval.answer.export import answer_rows
from retrieval.answer.extractive import answer_question
from retrieval.errors import UserError
from retrieval.index import Index
from retrieval.store import Filter
from retrieval.types import Answer

MAX_QUESTIONS = 1000  # one batch; about 0.1 s a question on two cores
HEADERS = ("question", "questions", "q", "问题", "問題")


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UserError("the questions file is neither UTF-8 nor GB18030: save it as UTF-8 and try again")


def read_questions(data: bytes | str, name: str = "questions.txt") -> list[str]:
    """Questions from a file's content: a CSV (``.csv``: the ``question`` column, else the first)
    or plain text (one question a line; blank lines and lines starting with ``#`` skipped).

    Raises:
        UserError: undecodable, empty, or more than MAX_QUESTIONS questions.
    """
    text = _decode(data).replace("\r\n", "\n")
    if name.lower().endswith(".csv"):
        rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
        col = 0
        if rows:
            head = [c.strip().lower() for c in rows[0]]
            found = next((i for i, c in enumerate(head) if c in HEADERS), None)
            if found is not None:
                col, rows = found, rows[1:]
        questions = [r[col].strip() for r in rows if len(r) > col and r[col].strip()]
    else:
        questions = [ln.strip() for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    if not questions:
        raise UserError(f"no questions in {name}: put one question a line (or a CSV with a 'question' column)")
    if len(questions) > MAX_QUESTIONS:
        raise UserError(f"{name} holds {len(questions)} questions; ask at most {MAX_QUESTIONS} at once")
    return questions


def answer_batch(index: Index, questions: Iterable[str], mode: str = "hybrid", alpha: float | None = None,
                 where: Filter | None = None, k: int | None = None,
                 on_progress: Callable[[int, int, str], None] | None = None) -> list[Answer]:
    """Each question answered as `answer_question` answers it, in order.

    ``on_progress(done, total, question)`` is called after each answer.
    """
    todo = list(questions)
    out = []
    for n, q in enumerate(todo, start=1):
        out.append(answer_question(index, q, mode=mode, alpha=alpha, where=where, k=k))
        if on_progress is not None:
            on_progress(n, len(todo), q)
    return out


def batch_rows(answers: Iterable[Answer], original: bool = False) -> list[dict]:
    """One table for all answers: a row per answer item (region, value, quote, source)."""
    return [row for ans in answers for row in answer_rows(ans, original)]
