from retrieval.reading.plain import classify, read_document
from retrieval.text.normalize import find_mojibake, normalize, split_sentences


def test_pinyin_note_after_cjk_is_stripped():
    assert normalize("當(dāng)下,2022年只剩三個(gè)多月").text == "当下,2022年只剩三个多月"


def test_pinyin_note_inside_real_brackets():
    # seed 004 title: the real bracket stays, the note inside it goes
    assert normalize("看各縣(市、區(qū))、園區(qū)如何“出招”").text == "看各县(市、区)、园区如何“出招”"


def test_latin_in_brackets_that_is_not_pinyin_stays():
    assert normalize("國內生產總值(GDP)增長").text == "国内生产总值(GDP)增长"


def test_nfkc_and_simplified():
    assert normalize("規上工業增加值增速達９.５％").text == "规上工业增加值增速达9.5%"


def test_mojibake_spans_are_found_and_left_out_of_matching_text():
    line = "2023年08月11日09:13 | 來源:福建日?qǐng)?bào)"
    spans = find_mojibake(line)
    assert [line[a:b] for a, b in spans] == ["?qǐng)?bào)"]
    assert normalize(line).text == "2023年08月11日09:13 | 来源:福建日"
    glued = "提供有力支撐?!霸诠I(yè)投資方面"
    assert [glued[a:b] for a, b in find_mojibake(glued)] == ["?!霸诠I(yè)"]


def test_a_real_question_mark_is_not_mojibake():
    assert find_mojibake("如何“提質(zhì)增效”?“我們將對(duì)標(biāo)") == []


def test_offsets_map_back_to_the_original():
    orig = "力爭全年規(guī)上工業(yè)增加值增長9.5%"
    nz = normalize(orig)
    i = nz.text.index("9.5%")
    a, b = nz.original_span(i, i + 4)
    assert orig[a:b] == "9.5%"
    j = nz.text.index("规上")
    a, b = nz.original_span(j, j + 2)
    assert orig[a:b] == "規(guī)上"


def test_sentences_do_not_split_inside_mojibake():
    text = "設(shè)?!苯?jīng)濟(jì)運行。第二句。"
    assert [text[a:b] for a, b in split_sentences(text)] == ["設(shè)?!苯?jīng)濟(jì)運行。", "第二句。"]


def test_site_chrome_and_meta_lines_are_not_content():
    text = (
        "人民網(wǎng)\n福建省出臺(tái)具體措施:合力抓工業(yè)  全力穩(wěn)增長\n"
        "2023年08月11日09:13 | 來源:福建日?qǐng)?bào)\n小字號(hào)\n原標(biāo)題:合力抓工業(yè) 全力穩(wěn)增長\n"
        "日前,福建省政府辦公廳印發(fā)通知。\n(責(zé)編:陳楚楚、劉卿)\n分享讓更多人看到\n返回頂部\n編輯:郭成"
    )
    kinds = [(ln.kind, ln.text[:4]) for ln in classify(text)]
    assert kinds == [
        ("chrome", "人民網("), ("title", "福建省出"), ("meta", "2023"), ("chrome", "小字號("),
        ("meta", "原標(b"), ("body", "日前,福"), ("chrome", "(責(z"), ("chrome", "分享讓更"),
        ("chrome", "返回頂部"), ("chrome", "編輯:郭"),
    ]


def test_document_fields_of_seed_001(seed_corpus):
    path = seed_corpus / "001_ab3d4e721701eb82.txt"
    doc = read_document("001_ab3d4e721701eb82", str(path), path.read_text(encoding="utf-8"), "utf-8")
    assert doc.title == "福建省出臺具體措施:合力抓工業 全力穩增長"
    assert doc.date == "2023-08-11"
    # "福建日?qǐng)?bào)": "報(" became "?"; the outlet ending is restored from its note "bào"
    assert doc.outlet == "福建日報"
