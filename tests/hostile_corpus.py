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
