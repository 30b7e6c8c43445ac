from retrieval.render import highlight, merge_spans, term_spans


def test_highlight_escapes_everything():
    text = "<script>alert(1)</script> 增速达9.5%"
    out = highlight(text, [(text.index("9.5%"), len(text))])
    assert out == "&lt;script&gt;alert(1)&lt;/script&gt; 增速达<mark>9.5%</mark>"


def test_overlapping_spans_merge():
    assert merge_spans([(5, 8), (0, 2), (1, 3), (7, 9)]) == [(0, 3), (5, 9)]


def test_terms_are_found_across_scripts():
    text = "力爭全年規(guī)上工業(yè)增加值增長9.5%"
    spans = term_spans(text, "规上工业增加值增长9.5%")
    found = {text[a:b] for a, b in spans}
    assert "9.5%" in found
    assert any("規(guī)上工業(yè)增加值" in f for f in found)
