from retrieval.reading.plain import read_document
from retrieval.text.chunking import chunk_document, split_long
from retrieval.text.normalize import norm_text

LONG = "004_04f38ca700b2c47f"


def _doc(corpus, doc_id):
    path = corpus / f"{doc_id}.txt"
    return read_document(doc_id, str(path), path.read_text(encoding="utf-8"), "utf-8")


def test_heading_becomes_section_of_paragraphs_below(seed_corpus):
    chunks = chunk_document(_doc(seed_corpus, LONG))
    target = [c for c in chunks if c.text.startswith("聚焦項(xiàng)目突破")]
    assert len(target) == 1
    assert target[0].section == "廣安區"
    assert target[0].subtitle.startswith("緊盯招商引資項目建設轉企升規")
    yuechi = [c for c in chunks if c.text.startswith("2023年,岳池縣")]
    assert yuechi[0].section == "岳池縣"


def test_heading_and_subtitle_lines_are_not_chunks(seed_corpus):
    chunks = chunk_document(_doc(seed_corpus, LONG))
    texts = {c.text for c in chunks}
    assert "廣安區(qū):" not in texts
    assert not any(t.startswith("緊盯招商引資項(xiàng)目建設(shè)轉(zhuǎn)企升規(guī) ") for t in texts)
    assert not any(t.startswith("分享讓更多人看到") for t in texts)
    sections = {c.section for c in chunks}
    assert {"廣安區", "華鎣市", "武勝縣", "廣安經開區", "前鋒區", "岳池縣", "鄰水縣", "川渝高竹新區"} <= sections


def test_offsets_and_stable_ids(seed_corpus):
    doc = _doc(seed_corpus, LONG)
    first = chunk_document(doc)
    for c in first:
        assert doc.text[c.start : c.end] == c.text
    again = chunk_document(_doc(seed_corpus, LONG))
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first)


def test_long_paragraph_splits_at_sentence_ends():
    para = "第一句話很長很長。" * 30 + "最後一句！"
    pieces = split_long(para, 100)
    assert len(pieces) > 1
    assert all(len(norm_text(para[a:b])) <= 100 for a, b in pieces)
    assert all(para[a:b].endswith(("。", "！")) for a, b in pieces)
    assert "".join(para[a:b] for a, b in pieces) == para


def test_chunk_budget_counts_normalized_characters(seed_corpus):
    doc = _doc(seed_corpus, LONG)
    assert all(len(c.norm) <= 400 for c in chunk_document(doc, 400))
