"""A corpus written to break things: shared by tests/test_hostile.py and scripts/hostile.py.

Each entry says what a correct build does with it: "indexed" (readable text, however odd) or
"skipped" (named in the skipped list with a reason). Entries that need a non-root user
(chmod 000) are only made when the process is not root, because root reads everything.
"""

from __future__ import annotations

import os
from pathlib import Path

ESC = "\x1b"
ANSI = f"{ESC}[31m红色{ESC}[0m{ESC}]0;pwned\x07{ESC}[2J"
IMAGE_DIR = "![p](https:/host:8766/p.png).txt"
SCRIPT_NAME = "<script>alert(1)</script>.txt"
HUGE_NUMBER = "9" * 310
BODY = "廣安區工業增長攻堅，一季度規上工業增加值增速達9.5%。岳池縣招商引資簽約項目36個。"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def make_hostile_corpus(root: Path, big_bytes: int = 2_000_000) -> dict[str, str]:
    """Write the hostile corpus under ``root``; return {path relative to root: expected outcome}.

    ``big_bytes`` sizes the file that must be refused by the size limit (Settings.max_file_bytes).
    """
    root.mkdir(parents=True, exist_ok=True)
    text = "標題：惡意文件\n" + BODY + "\n"
    files: dict[str, tuple[bytes, str]] = {
        "nul.txt": (b"\x00" * 4096, "skipped"),
        "binary.txt": (bytes(range(256)) * 16, "skipped"),
        "png.md": (b"\x89PNG\r\n\x1a\n" + b"\x00\x01\x02\x03IHDR" * 200, "skipped"),
        "empty.txt": (b"", "skipped"),
        "blank.txt": (b"   \n\n\t\n", "skipped"),
        "huge_number.txt": (f"标题\n全年产值增长{HUGE_NUMBER}亿元，一季度增长9.5%。\n".encode(), "indexed"),
        "huge_cn_number.txt": (("标题\n企业" + "九" * 400 + "家。百分之" + "九" * 300 + "。\n").encode(), "indexed"),
        "ansi.txt": (f"{ANSI}标题\n{BODY}{ANSI}\x07\x08\x7f\x9b31m结束。\n".encode(), "indexed"),
        "gb18030.txt": (text.encode("gb18030"), "indexed"),
        "big5.txt": (text.encode("big5"), "indexed"),
        "utf16.txt": (text.encode("utf-16"), "indexed"),
        "utf16le_nobom.txt": (("标题\n" + BODY * 3 + "\n").encode("utf-16-le"), "indexed"),
        "utf8bom.md": (b"\xef\xbb\xbf" + text.encode(), "indexed"),
        "invalid_utf8.txt": (b"\xff\xfe\xfd\xc0\xc1" * 50 + BODY.encode(), "indexed_or_skipped"),
        IMAGE_DIR + "/inside.txt": (text.encode(), "indexed"),
        IMAGE_DIR + "/nul.txt": (b"\x00" * 512, "skipped"),
        "<script>alert(2)</script>.md": (b"\x01\x02" * 300, "skipped"),
        "![x](https:/host:8766/x.png).txt": (text.encode(), "indexed"),
        SCRIPT_NAME: (text.encode(), "indexed"),
        "<img src=x onerror=alert(1)>/a.md": (text.encode(), "indexed"),
        "a" * 40 + "/" + "/".join(f"d{i}" for i in range(40)) + "/deep.txt": (text.encode(), "indexed"),
        "long_paragraph.txt": (("标题\n" + "工业增长" * 12_500 + "\n").encode(), "indexed"),
        "long_sentences.txt": (("标题\n" + "ﷺ工业增长。" * 2000 + "\n").encode(), "indexed"),
        "html.txt": (("<h1>標題<script>alert(1)</script></h1>\n"
                      "<b>正文</b>：**粗体** [链接](javascript:alert(1)) ![i](https://x/y.png) "
                      "<img src=x onerror=alert(1)> $x$ :red[红] " + BODY + "\n").encode(), "indexed"),
        "surrogate_escape.md": (("标题\n" + BODY + "\n").encode() + b"\xed\xa0\x80\n", "indexed_or_skipped"),
        "too_big.txt": (("标题\n" + "工" * (big_bytes // 3 + 10) + "\n").encode(), "skipped"),
        "control_name_\x1b[31m.txt": (text.encode(), "indexed"),
        "newline\nname.txt": (text.encode(), "indexed"),
    }
    expected: dict[str, str] = {}
    for rel, (data, outcome) in files.items():
        _write(root, rel, data)
        expected[rel] = outcome
    os.symlink("missing-target.txt", root / "dangling.txt")
    expected["dangling.txt"] = "skipped"
    os.symlink("loop_b.txt", root / "loop_a.txt")
    os.symlink("loop_a.txt", root / "loop_b.txt")
    expected["loop_a.txt"] = expected["loop_b.txt"] = "skipped"
    os.symlink("self.txt", root / "self.txt")
    expected["self.txt"] = "skipped"
    os.symlink(".", root / "folder_loop")
    expected["folder_loop"] = "skipped"
    os.mkfifo(root / "pipe.txt")
    expected["pipe.txt"] = "skipped"
    if not IS_ROOT:
        _write(root, "unreadable.txt", text.encode())
        (root / "unreadable.txt").chmod(0)
        expected["unreadable.txt"] = "skipped"
        _write(root, "locked/inside.txt", text.encode())
        (root / "locked").chmod(0)
        expected["locked"] = "skipped"
    return expected


def unlock(root: Path) -> None:
    """Give back the permissions taken by make_hostile_corpus, so the folder can be removed."""
    for rel in ("locked", "unreadable.txt"):
        path = root / rel
        if path.exists() or path.is_symlink():
            path.chmod(0o755)


# --- fuzzing: the text functions that must not raise on any string ---------------------------

PIECES = (
    "當(dāng)", "日?qǐng)?bào)", "?!霸诠I(yè)", "9.5%", "9" * 40, "1.6万户", "387.6亿元", "ﷺ", "。", "；", "!?",
    "\x1b[31m", "\x1b]0;x\x07", "\x00", "\x7f", "\x9b", "\ud800", "\udfff", "\u202e", "\ufeff", "百分之九点五",
    "三十六家", "九" * 30, "2023年8月11日", "3月底", "广安区", "岳池县", "廣安區", "河北", "一季度", "全年",
    " ", "\n", "\t", "（", ")", "“", "”", "<script>", "![p](https://h/p.png)", ":red[x]", "$x$", "哪些地区",
    "Which regions", "多少", "工业增加值", "增长", "达到", "以上", "\u3000", "ａｂｃ１２３", "㍻", "Ⅻ",
)


def random_string(rng, max_pieces: int = 12) -> str:
    """A string of hostile pieces, CJK and arbitrary code points (surrogates included)."""
    out = []
    for _ in range(rng.randint(0, max_pieces)):
        pick = rng.random()
        if pick < 0.6:
            out.append(rng.choice(PIECES))
        elif pick < 0.8:
            out.append(chr(rng.randint(0x4E00, 0x9FFF)))
        else:
            out.append(chr(rng.randint(0, 0x10FFFF)))
    return "".join(out)


def fuzz_targets() -> dict:
    """name -> function of one string, for every text function that must accept any string."""
    from retrieval.answer.question import analyze
    from retrieval.reading.plain import read_document
    from retrieval.render import highlight, md_escape, term_spans, terminal_text
    from retrieval.text.chunking import chunk_document, split_long
    from retrieval.text.figures import find_dates, find_figures
    from retrieval.text.normalize import normalize, split_sentences
    from retrieval.text.regions import mentions
    from retrieval.text.tokens import tokenize

    return {
        "normalize": normalize,
        "split_sentences": split_sentences,
        "tokenize": tokenize,
        "find_figures": lambda s: find_figures(normalize(s).text),
        "find_dates": lambda s: find_dates(normalize(s).text),
        "mentions": lambda s: mentions(normalize(s).text),
        "analyze": analyze,
        "split_long": lambda s: split_long(s, 20),
        "chunk_document": lambda s: chunk_document(read_document("d.txt", "d.txt", s, "utf-8"), 20),
        "highlight": lambda s: highlight(s, term_spans(s, s[:4])),
        "md_escape": md_escape,
        "terminal_text": terminal_text,
    }
