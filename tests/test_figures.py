"""Figures read as a reader reads them: expected values written out by hand."""

from __future__ import annotations

import pytest

from retrieval.text.figures import find_figures, format_value, quantity, same_quantity


def one(text: str):
    figs = find_figures(text)
    assert len(figs) == 1, figs
    return figs[0]


@pytest.mark.parametrize(("text", "value", "unit"), [
    ("新入规工业企业1,200家以上", 1200.0, "家"),
    ("总投资12,345.6万元", 12345.6, "万元"),
    ("1.6万户规上工业企业", 16000.0, "户"),
    ("压缩至45个工作日以内", 45.0, "工作日"),
    ("百分之九点五", 9.5, "%"),
    ("三十六家", 36.0, "家"),
])
def test_value_and_unit(text, value, unit):
    f = one(text)
    assert (f.value, f.unit) == (value, unit)


def test_trillion_is_a_quantity_of_yuan():
    f = one("营业收入1.2万亿元")
    assert (f.value, f.unit) == (1.2, "万亿元")
    assert quantity(f.value, f.unit) == ("money", 1.2e12)
    assert same_quantity((1.2, "万亿元"), (12000.0, "亿元"))
    assert not same_quantity((1.2, "万亿元"), (1.2, "亿元"))


def test_masses_compare_as_quantities():
    assert same_quantity((2e6, "吨"), (2e9, "公斤"))
    assert same_quantity((1.0, "千克"), (1.0, "公斤"))


def test_lengths_compare_as_quantities():
    assert same_quantity((3.7, "公里"), (3700.0, "米"))
    assert same_quantity((1.0, "千米"), (1.0, "公里"))


def test_durations_and_counts_compare_as_quantities():
    assert same_quantity((45.0, "工作日"), (45.0, "天"))
    assert same_quantity((30.0, "家"), (30.0, "户"))
    assert not same_quantity((45.0, "天"), (45.0, "%"))


@pytest.mark.parametrize(("text", "value", "signed"), [
    ("规上工业增加值增长-3.2%", -3.2, -3.2),
    ("规上工业增加值下降3.2%", 3.2, -3.2),
    ("规上工业增加值增长3.2%", 3.2, 3.2),
])
def test_direction_keeps_the_sign(text, value, signed):
    f = one(text)
    assert f.value == value
    assert f.signed == signed
    assert f.direction == ("down" if signed < 0 else "up")


@pytest.mark.parametrize("text", ["新培育企业1200余家", "新培育企业1200多家"])
def test_approximate_counts(text):
    f = one(text)
    assert (f.value, f.unit, f.approx) == (1200.0, "家", True)


def test_exact_count_is_not_approximate():
    assert one("新培育企业1200家").approx is False


def test_a_range_with_a_unit_at_each_end_is_one_range():
    assert [(f.value, f.high, f.unit) for f in find_figures("给予2万元至20万元的奖励")] == [(2.0, 20.0, "万元")]
    # two amounts that are not a range stay two
    assert [(f.value, f.unit) for f in find_figures("给予20万元至2万元不等")] == [(20.0, "万元"), (2.0, "万元")]


@pytest.mark.parametrize(("text", "low", "high", "unit"), [
    ("9-10家企业", 9.0, 10.0, "家"),
    ("增长8至10个百分点", 8.0, 10.0, "个百分点"),
    ("投资3~5亿元", 3.0, 5.0, "亿元"),
    ("培育1-2万户", 10000.0, 20000.0, "户"),
])
def test_a_range_keeps_both_bounds(text, low, high, unit):
    f = one(text)
    assert (f.value, f.high, f.unit) == (low, high, unit)
    assert format_value(f.value, f.unit, f.high) == f"{low:g}-{high:g}{unit}"


def test_a_single_figure_has_no_upper_bound():
    assert one("新培育企业36家").high is None


@pytest.mark.parametrize(("text", "value", "high", "unit"), [
    ("处二万元以上二十万元以下的罚款", 20000.0, 200000.0, "元"),  # the bounds of one range
    ("建成住房18·5万套", 185000.0, None, "套"),  # a decimal point printed as a middle dot
    ("竣工面积8012万平方米", 8.012e7, None, "平方米"),  # 万 multiplies any unit, not only counts
    ("弃耕抛荒连续两年以上", 2.0, None, "年"),  # a span of years
    ("苦战3年中的每一天", 3.0, None, "年"),  # a span inside a clause is still a figure
    ("1600多名报考者", 1600.0, None, "名"),
    ("收受3万港币", 30000.0, None, "港币"),
    ("公示期为三个工作日", 3.0, None, "工作日"),  # one numeral before 个工作日/个月 is a duration
    ("应当在两个月内召开会议", 2.0, None, "个月"),
    ("种了三四千亩的果树", 3000.0, 4000.0, "亩"),  # neighbouring numerals are a range
    ("争取在今后两三年内完成", 2.0, 3.0, "年"),
    ("价值千余元的药品", 1000.0, None, "元"),  # a round number alone before 余/多
    ("不足规定人数的三分之二", 0.666667, None, ""),  # a fraction: a share with no unit
    ("6个人分成两方", 6.0, None, "人"),
    ("他家一共有六口人", 6.0, None, "口"),
    ("让10亿农民看上电视", 10.0, None, "亿"),  # a bare 亿 before a noun counts it: not yuan
    ("销售额达10亿。", 10.0, None, "亿元"),  # ... and before nothing reads as money
    ("一条宽约6米的公路", 6.0, None, "米"), ("海拔1200多米", 1200.0, None, "米"),  # lengths
    ("提高了近两个百分点", 2.0, None, "个百分点"),
    ("集资引资3万余元", 3.0, None, "万元"), ("收入2万多元", 2.0, None, "万元"),  # 万, 余 or 多, then 元  # one numeral before 个百分点 is a figure
    ("副主任一至二人", 1.0, 2.0, "人"), ("三至五年内完成", 3.0, 5.0, "年"),  # a range in words
    ("处五日以上十日以下拘留", 5.0, 10.0, "日"), ("应当在十五日内作出决定", 15.0, None, "日"),  # days bounded
    ("建立家庭保健合同3050份", 3050.0, None, "份"), ("17种常见鸟类", 17.0, None, "种"),  # more measure words
    ("捐赠专著一千六百部", 1600.0, None, "部"),  # ... after a numeral of two characters or more
    ("占全年压锭68万锭的", 680000.0, None, "锭"), ("诊治居民约一点五万人次", 15000.0, None, "人次"),
    ("处以业务收入一倍以上十倍以下的罚款", 1.0, 10.0, "倍"),
    ("应多于应选代表名额三分之一至一倍", 0.333333, 1.0, "倍"),  # a share to a multiple: one range  # 一倍: one numeral before 倍 is a figure
    ("港股报升598.84点", 598.84, None, "点"),
    ("投资一至二万元", 10000.0, 20000.0, "元"), ("三至五万人", 30000.0, 50000.0, "人"),  # the multiplier of both ends
    ("实现GDP100亿元", 100.0, None, "亿元"),  # an acronym is no one-letter code  # index points: a number with decimals before 点
    ("5门考试科目", 5.0, None, "门"), ("还卖了2头猪", 2.0, None, "头"),  # measure words after digits
])
def test_more_ways_of_writing_an_amount(text, value, high, unit):
    f = one(text)
    assert (f.value, f.high, f.unit) == (value, high, unit)


@pytest.mark.parametrize("text", [
    "第三十三条破坏性地震发生后", "第二次全体会议", "我的考分排第347名",  # ordinals
    "年销售十几亿或几十亿的出版集团",  # vague numbers
    "1997年是关键的一年", "97年全省",  # years of the calendar, a year as a whole
    "落实五个一工程",  # one numeral before 个 in a name
    "卖大米换钱", "三门峡市的来信", "两头跑", "一种精神", "三部曲",  # measure words after one numeral
    "十五日上午开会", "9点开会", "晚上十一点开会",  # a day of the month, a time of day
    "竣工G65包茂高速",  # a road's code
    "在过去的25年中,麻雀减少", "5年中,已压锭", "1949年至1958年10年间发行",  # the span a statement covers
    "两年来,工程技术人员不辞劳苦", "6个多月来的实际情形表明", "改革开放二十年以来",  # since when, not how long
])
def test_what_is_not_an_amount(text):
    assert find_figures(text) == []


def test_more_than_a_number_of_months_is_approximate():
    f = one("用了6个多月的时间")
    assert (f.value, f.unit, f.approx) == (6.0, "个月", True)

