"""Render the seed articles as real web pages, PDFs and Word files, for the reader tests and bench.

Everything is generated from ``corpus/*.txt`` (read through ``read_path``), never hand-edited:

- ``render_html``: a news page with a nav bar, breadcrumbs, share bar, related links, an editor
  line, a footer with copyright, a tracking ``<script>``, ``<meta>`` date/site name/author, the
  article's headings as ``<h2>`` (section) / ``<h3>`` (its deck), and a ``<table>`` of figures;
- ``render_sidebar_html``: the article's text inside nested ``<div>``s beside a sidebar of other
  headlines;
- ``render_pdf``: A5 pages in reportlab's built-in CJK font (STSong-Light), paragraphs wrapped at
  the page width with a first-line indent (or as blocks parted by space), a running header and a
  page number on every page;
- ``render_docx``: heading styles and one table of figures taken from the article;
- ``render_scanned_pdf``: a page with a drawing and no text layer.

``CHROME`` lists every piece of page furniture the renderers add, for the leak checks.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

from retrieval.reading import read_path
from retrieval.reading.meta import display
from retrieval.types import Document

SITE = "工信产业观察网"
FALLBACK_DATE = "2023-03-24"  # for seeds that state no date
NAV = ("首页", "要闻", "产业动态", "地方工信", "政策解读", "数据发布", "视频专区")
SHARE = ("分享到：", "微信好友", "新浪微博", "QQ空间")
RELATED = (
    "全省制造业数字化转型现场会在蓉召开",
    "一季度全国规上工业企业利润数据发布解读",
    "专精特新中小企业培育工作推进会举行",
)
SIDEBAR = (
    "热点排行：新能源汽车产销两旺势头延续",
    "热点排行：多地出台稳外贸十二条措施",
    "热点排行：工业互联网标识解析体系建设提速",
    "编辑推荐：县域经济高质量发展调研手记",
)
FOOTER = ("关于我们 | 联系我们 | 网站地图 | 广告服务", f"Copyright © 2023 {SITE} 版权所有 京ICP备19020218号-3")
SCRIPT = (
    "var _hmt=_hmt||[];(function(){var hm=document.createElement('script');"
    "hm.src='//hm.baidu.com/hm.js?9f3a';})();"
)
EDITOR = "（责任编辑：王晓明）"
RUNNING_HEADER = f"{SITE} · 地方工信专栏"
# Distinctive strings of the furniture above: none may appear in a body, heading or table line.
CHROME = (*NAV[2:], "微信好友", "新浪微博", "QQ空间", *RELATED, *SIDEBAR, "网站地图", "版权所有", "京ICP备",
          "hm.baidu.com", "_hmt", "王晓明", "地方工信专栏", "相关新闻")
PAGE_NUMBER_LINE = re.compile(r"^\s*(?:-\s*\d+\s*-|第\s*\d+\s*页.*|\d{1,3})\s*$")


@dataclass(frozen=True)
class Article:
    """A seed article as the renderers need it: blocks of (kind, original text)."""

    name: str  # file stem
    title: str
    date: str  # ISO
    outlet: str
    author: str | None
    blocks: tuple[tuple[str, str], ...]  # ("heading"|"subtitle"|"body"|"meta", text)


def article_from(doc: Document) -> Article:
    """The parts of a .txt Document a publisher would put on a page (its own chrome left out)."""
    blocks = tuple(
        (ln.kind, ln.text.strip()) for ln in doc.lines
        if ln.kind in ("heading", "subtitle", "body") or (ln.kind == "meta" and not _is_dateline(ln.text))
    )
    return Article(
        name=Path(doc.doc_id).stem, title=doc.title, date=doc.date or FALLBACK_DATE,
        outlet=doc.outlet or SITE, author=doc.author, blocks=blocks,
    )


def _is_dateline(text: str) -> bool:
    from retrieval.reading.meta import is_dateline

    return is_dateline(text)


def load_articles(seeds: Path) -> list[tuple[Document, Article]]:
    """Every seed .txt as (its Document, its Article)."""
    out = []
    for path in sorted(seeds.glob("*.txt")):
        doc = read_path(path, seeds)
        out.append((doc, article_from(doc)))
    return out


def _dateline(a: Article) -> str:
    y, m, d = a.date.split("-")
    return f"发布时间：{y}年{m}月{d}日 来源：{a.outlet}"


def _article_html(a: Article, rows: list[tuple[str, str]]) -> str:
    parts = []
    for kind, text in a.blocks:
        tag = {"heading": "h2", "subtitle": "h3"}.get(kind, "p")
        parts.append(f"<{tag}>{html.escape(text)}</{tag}>")
    if rows:  # a table of figures after the first paragraph
        cells = "".join(f"<tr><td>{html.escape(s)}</td><td>{html.escape(f)}</td></tr>" for s, f in rows)
        at = next((i for i, (k, _) in enumerate(a.blocks) if k == "body"), 0) + 1
        parts.insert(at, f"<table><tr><th>指标</th><th>数值</th></tr>{cells}</table>")
    return "\n".join(parts)


def render_html(a: Article, rows: list[tuple[str, str]] | None = None) -> bytes:
    """A news page around the article, with the furniture a real site has (and a table of ``rows``)."""
    e = html.escape
    nav = "".join(f'<li><a href="/c{i}/">{n}</a></li>' for i, n in enumerate(NAV))
    related = "".join(f'<li><a href="/a/{i}.html">{r}</a></li>' for i, r in enumerate(RELATED))
    share = "".join(f'<a href="#" class="share-{i}">{s}</a>' for i, s in enumerate(SHARE))
    author = f'\n<meta name="author" content="{e(a.author)}">' if a.author else ""
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{e(a.title)}_{SITE}</title>
<meta name="keywords" content="工业,稳增长"><meta property="og:site_name" content="{SITE}">
<meta property="og:title" content="{e(a.title)}"><meta name="publishdate" content="{a.date}">
<meta property="article:published_time" content="{a.date}T09:13:00+08:00">{author}
<script type="text/javascript">{SCRIPT}</script>
<style>.nav li{{display:inline}}</style></head>
<body>
<div class="header"><div id="nav" class="nav"><ul>{nav}</ul></div></div>
<div class="crumbs"><a href="/">首页</a> &gt; <a href="/c3/">地方工信</a> &gt; 正文</div>
<div class="main-wrap"><div class="article">
<h1>{e(a.title)}</h1>
<div class="article-info"><span class="time">{_dateline(a)}</span></div>
<div class="share-bar">{share}</div>
<div id="articleContent" class="article-content">
{_article_html(a, rows or [])}
</div>
<p class="editor">{EDITOR}</p>
<div class="share-bar bottom">{share}</div>
</div>
<div class="related-news"><h4>相关新闻</h4><ul>{related}</ul></div>
</div>
<div class="footer"><p>{e(FOOTER[0])}</p><p>{e(FOOTER[1])}</p></div>
<script>document.write('<img src="//stat.example.cn/p.gif">');</script>
</body></html>"""
    return page.encode("utf-8")


def render_sidebar_html(a: Article) -> bytes:
    """Main text deep in nested <div>s, a sidebar of other headlines beside it, GBK-encoded."""
    side = "".join(f'<li><a href="/n/{i}.shtml">{s}</a></li>' for i, s in enumerate(SIDEBAR))
    # headings as bold paragraphs, as many Chinese sites write them
    paras = "\n".join(f"<div class=\"para\"><p>{html.escape(t)}</p></div>" if k == "body" else
                      f"<p><strong>{html.escape(t)}</strong></p>" for k, t in a.blocks)
    page = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>{html.escape(a.title)}</title><meta property="og:site_name" content="{SITE}"></head>
<body><div id="container"><div class="row">
<div class="col-side"><div class="side-box"><div class="side-title">热点新闻</div><ul>{side}</ul></div></div>
<div class="col-main"><div class="content-box"><div class="inner"><div class="title-area">
<h1>{html.escape(a.title)}</h1><div class="info">{_dateline(a)}</div></div>
<div class="txt-area"><div class="txt">
{paras}
</div></div></div></div></div>
</div></div>
<div class="foot">{html.escape(FOOTER[1])}</div></body></html>"""
    return page.encode("gb18030")


def _cjk_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _set_pdf_meta(data: bytes, meta: dict[str, str]) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=io.BytesIO(data))
    writer.add_metadata(meta)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_pdf(a: Article, dateline: bool = True, indent: bool = True) -> bytes:
    """A5 pages: title, dateline, indented paragraphs wrapped at the page width, header and page number.

    Without ``dateline`` the date is only in the PDF's /CreationDate; without ``indent`` paragraphs
    are blocks parted by a blank space, as many government PDFs set them.
    """
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A5
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = _cjk_font()
    title = ParagraphStyle("t", fontName=font, fontSize=15, leading=21, wordWrap="CJK", spaceAfter=6)
    info = ParagraphStyle("i", fontName=font, fontSize=9, leading=13, wordWrap="CJK", spaceAfter=8)
    head = ParagraphStyle("h", fontName=font, fontSize=12.5, leading=18, wordWrap="CJK", spaceBefore=6)
    sub = ParagraphStyle("s", fontName=font, fontSize=11, leading=16, wordWrap="CJK")
    body = ParagraphStyle("b", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK",
                          firstLineIndent=21 if indent else 0, spaceBefore=0 if indent else 8)

    def furniture(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(doc.leftMargin, A5[1] - 30, RUNNING_HEADER)
        canvas.drawCentredString(A5[0] / 2, 22, f"- {doc.page} -")
        canvas.restoreState()

    story = [Paragraph(escape(a.title), title)]
    if dateline:
        story.append(Paragraph(escape(_dateline(a)), info))
    for kind, text in a.blocks:
        style = {"heading": head, "subtitle": sub}.get(kind, body)
        story.append(Paragraph(escape(text), style))
    story.append(Spacer(1, 6))
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A5, leftMargin=42, rightMargin=42, topMargin=50, bottomMargin=45,
                      title=a.title, author=a.author).build(story, onFirstPage=furniture, onLaterPages=furniture)
    y, m, d = a.date.split("-")
    return _set_pdf_meta(buf.getvalue(), {"/CreationDate": f"D:{y}{m}{d}091300+08'00'"})


def render_scanned_pdf() -> bytes:
    """One page with a drawing and no text layer, as a scanner makes it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setFillGray(0.85)
    c.rect(50, 50, A4[0] - 100, A4[1] - 100, fill=1, stroke=0)
    for i in range(40):
        c.setFillGray(0.2)
        c.rect(80, A4[1] - 100 - i * 18, 300 + (i * 37) % 120, 9, fill=1, stroke=0)
    c.showPage()
    c.save()
    return buf.getvalue()


def figure_rows(doc: Document, limit: int = 4) -> list[tuple[str, str]]:
    """(subject, figure) pairs the article states, for a DOCX table: the article's own facts."""
    from retrieval.text.chunking import chunk_document
    from retrieval.text.facts import facts_of_document

    rows, seen = [], set()
    for f in facts_of_document(doc, chunk_document(doc)):
        if f.unit == "日期" or not (2 <= len(f.subject) <= 16) or f.subject in seen:
            continue
        seen.add(f.subject)
        rows.append((f.subject, f.raw))
        if len(rows) == limit:
            break
    return rows


def render_docx(a: Article, rows: list[tuple[str, str]]) -> bytes:
    """Title and heading styles, the dateline, the paragraphs, and a table of figures after the first one."""
    import docx

    d = docx.Document()
    props = d.core_properties
    props.title, props.author = a.title, a.author or ""
    props.created = dt.datetime.fromisoformat(a.date + "T09:13:00")
    d.add_heading(a.title, 0)
    d.add_paragraph(_dateline(a))
    table_done = not rows
    for kind, text in a.blocks:
        if kind == "heading":
            d.add_heading(text, 2)
        elif kind == "subtitle":
            d.add_heading(text, 3)
        else:
            d.add_paragraph(text)
        if kind == "body" and not table_done:
            t = d.add_table(rows=1, cols=2)
            t.rows[0].cells[0].text, t.rows[0].cells[1].text = "指标", "数值"
            for subject, figure in rows:
                cells = t.add_row().cells
                cells[0].text, cells[1].text = subject, figure
            table_done = True
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def write_corpora(seeds: Path, dest: Path) -> dict[str, Path]:
    """One corpus folder per format under dest (txt, html, pdf, docx), plus the extra page shapes."""
    folders = {fmt: dest / fmt for fmt in ("txt", "html", "pdf", "docx")}
    for f in folders.values():
        f.mkdir(parents=True, exist_ok=True)
    for doc, a in load_articles(seeds):
        (folders["txt"] / f"{a.name}.txt").write_bytes(Path(doc.path).read_bytes())
        (folders["html"] / f"{a.name}.html").write_bytes(render_html(a, figure_rows(doc)))
        (folders["pdf"] / f"{a.name}.pdf").write_bytes(render_pdf(a))
        (folders["docx"] / f"{a.name}.docx").write_bytes(render_docx(a, figure_rows(doc)))
    return folders


def content_lines(doc: Document) -> list[str]:
    """The lines a reader offers as content: body, heading, subtitle and table."""
    return [ln.text for ln in doc.lines if ln.kind in ("body", "heading", "subtitle", "table")]


def leaked(doc: Document) -> list[str]:
    """Content lines carrying page furniture or a page number."""
    return [t for t in content_lines(doc) if any(c in t for c in CHROME) or PAGE_NUMBER_LINE.match(t)]


def _key(text: str) -> str:
    from retrieval.text.normalize import norm_text

    return "".join(norm_text(display(text)).split())


def recovered(reference: Document, other: Document) -> tuple[int, int]:
    """(body paragraphs of the .txt reference found in ``other``, body paragraphs of the reference).

    A paragraph is recovered when some body line of ``other`` is equal to it after normalization
    (pinyin notes and mojibake dropped, NFKC, Simplified) with all whitespace removed: the whole
    paragraph, as one line, with nothing missing and nothing glued to it.
    """
    found = {_key(ln.text) for ln in other.lines if ln.kind == "body"}
    ref = [_key(ln.text) for ln in reference.lines if ln.kind == "body"]
    return sum(k in found for k in ref), len(ref)
