"""Facts in general form: one per region, each group of regions with its own figure, national
statements as national; written out by hand for sentences made up for the rule, not from a corpus."""

from __future__ import annotations

from retrieval.reading import read_bytes
from retrieval.text.chunking import chunk_document
from retrieval.text.facts import extract_facts
from retrieval.text.regions import attribute_regions, document_region, named_places, subject_region


def read(text: str, title: str = "一篇报道"):
    return read_bytes(f"{title}\n\n{text}\n".encode(), "d.txt", "d.txt")


def facts_of(text: str):
    doc = read(text)
    chunks = attribute_regions([doc], chunk_document(doc))
    return [(f.region, f.value, f.unit, f.qualifier) for f in extract_facts([doc], chunks) if f.unit != "日期"]


def test_two_groups_of_regions_with_two_targets_are_four_facts():
    got = facts_of("江苏、浙江单位GDP能耗下降3%左右，安徽、江西力争下降2.5%以上。")
    assert got == [("江苏省", 3.0, "%", "左右"), ("浙江省", 3.0, "%", "左右"),
                   ("安徽省", 2.5, "%", "力争、以上"), ("江西省", 2.5, "%", "力争、以上")]


def test_respectively_pairs_regions_and_figures_in_order():
    got = facts_of("湖南、湖北的工业增加值分别增长8%和7.5%。")
    assert [(r, v) for r, v, _, _ in got] == [("湖南省", 8.0), ("湖北省", 7.5)]


def test_a_figure_after_another_keeps_its_regions():
    got = facts_of("河北、山西粮食产量增长5%，农民收入增长6%。")
    assert [(r, v) for r, v, _, _ in got] == [("河北省", 5.0), ("山西省", 5.0), ("河北省", 6.0), ("山西省", 6.0)]


def test_a_national_statement_is_national_even_under_a_dateline():
    got = facts_of("本报北京1月5日讯 全国城镇住房建设共投资542亿元。")
    assert got == [("全国", 542.0, "亿元", "")]


def test_a_dateline_is_not_what_a_report_is_about():
    assert document_region(read("新华社北京1月23日电 记者报道：沧州市工业增加值增长9%。")).name == "沧州市"
    assert document_region(read("新华社北京1月23日电 全国政协委员名单公布。")) is None


def test_bounds_are_canonical_qualifiers():
    got = facts_of("全省新增企业不到300家。")
    assert got[0][3] == "以下"


def test_an_opening_without_a_place_gives_way_to_the_place_the_text_names_most():
    opening = "大地上一层厚厚的积雪。\n\n村庄安静。\n\n远处有几只雪鸟。\n\n"
    doc = read(opening + "在黑龙江省五常市民乐乡，农民收入增长。\n\n五常市大米远近闻名。")
    assert document_region(doc).name == "五常市"
    assert document_region(read(opening + "后来去了沈阳一次。")) is None  # named once: not enough


def test_a_place_in_a_name_is_not_what_a_text_is_about():
    names = [p.name for p in named_places("邯郸钢铁公司兼并了舞阳钢铁公司,《上海市条例》出台,会议在北京举行,沧州市增长9%。")]
    assert names == ["沧州市"]


def test_an_opening_that_names_three_provinces_is_about_the_country():
    doc = read("获奖者是:内蒙古奈曼旗青年;天津大学研究生;湖南永顺教师;贵州从江青年。\n\n奈曼旗治沙。")
    assert document_region(doc) is None
    assert document_region(read("内蒙古奈曼旗青年治沙,造林十万亩。")).name == "奈曼旗"



def test_a_list_of_things_takes_its_figures_in_order():
    got = [(f.subject, f.value) for f in extract_of("多乡一品,如某乡重点抓香蕉、荔枝、龙眼,面积分别达8.1万亩、30万亩和15万亩。")]
    assert got == [("香蕉面积", 81000.0), ("荔枝面积", 300000.0), ("龙眼面积", 150000.0)]


def test_figures_after_respectively_take_the_subjects_before():
    got = [(f.subject, f.value) for f in extract_of("全年完成投资160亿元,竣工面积2322万平方米,比上年分别增长2.72%和3.98%。")]
    assert [s for s, v in got if v in (2.72, 3.98)] == [s for s, v in got if v in (160.0, 2.322e7)]


def test_a_speakers_tag_is_not_the_paragraphs_subject():
    assert subject_region("王某(沧州市副市长):山东省寿光市全市蔬菜种植面积达到55万亩。").name == "寿光市"
    assert subject_region("孟某(北京市副市长):几年来,全市基本菜田达到65万亩。").name == "北京市"  # the office's scope


def extract_of(text: str):
    doc = read(text)
    return [f for f in extract_facts([doc], attribute_regions([doc], chunk_document(doc))) if f.unit != "日期"]


def test_a_bare_measure_takes_the_thing_measured_before_it():
    got = [f.subject for f in extract_of("全市水果种植面积达到188万亩,总产60.38万吨。")]
    assert got == ["水果种植面积", "水果总产"]


def test_a_place_named_twice_among_others_is_not_what_a_report_is_about():
    opening = "工商银行支持国企改革。\n\n银行积极参与兼并。\n\n效果明显。\n\n"
    doc = read(opening + "在北京、天津创办了交易所。\n\n上海和深圳各有一家。\n\n北京的那家后来关闭。")
    assert document_region(doc) is None


def test_a_count_of_places_is_not_each_listed_places_figure():
    got = facts_of("据黑龙江、辽宁、吉林等25个省、自治区、直辖市统计,已筹集资金15亿元。")
    assert ("黑龙江省", 25.0, "个", "") not in got
    assert {r for r, v, _, _ in got if v == 15.0} == {"黑龙江省", "辽宁省", "吉林省"}


def test_a_fine_after_a_warning_is_a_fine():
    assert [f.subject for f in extract_of("有下列行为之一的,处警告或者五百元以下罚款。")] == ["罚款"]


def test_a_change_from_one_figure_to_another_is_of_one_subject():
    """"X由A提高到B": A and B are both figures of X, whatever time words stand before them."""
    got = extract_of("河南省城镇居民人均住房面积由1993年底的6.9平方米提高到1997年底的8.45平方米，"
                     "农村贫困人口由去年的120万人减少至80万人。")
    subjects = {f.value: f.subject for f in got if f.unit != "日期"}
    assert subjects[6.9] == subjects[8.45] and "人均住房面积" in subjects[6.9]
    assert subjects[1.2e6] == subjects[8e5] and "贫困人口" in subjects[1.2e6]


def test_a_value_of_something_is_about_the_thing_after_it():
    """"把价值千余元的药品…", "将价值5万元的设备…": the figure is what the thing after it is worth."""
    got = [f.subject for f in extract_of("他把价值千余元的药品无偿赠送给灾区，并将价值5万元的设备运到山区。")]
    assert len(got) == 2 and got[0].startswith("药品") and got[1].startswith("设备")


def test_a_count_of_provinces_is_a_statement_about_the_country():
    """"28个省、自治区、直辖市建立了…": how many provinces did it is the country's figure; a count
    of a province's cities, or of its province-level zones, stays the province's."""
    text = ("湖南省民政厅介绍：目前已有28个省、自治区、直辖市建立了帮困资金制度，20个省份出台了办法。"
            "全省14个市州全部建立了制度，全省还有5个省级开发区。")
    got = {(f.value, f.unit): f.region for f in extract_of(text)}
    assert got[(28.0, "个")] == got[(20.0, "个")] == "全国"
    assert got[(14.0, "个")] == got[(5.0, "个")] == "湖南省"


def test_a_sentence_without_a_place_continues_the_place_of_the_sentence_before_it():
    got = facts_of("铁路售票改革成效明显。以沈阳站为例：过去售票员每天售票1万张。如今日均售票2万张，售票员减少到80人。")
    assert [(r, v) for r, v, _, _ in got] == [("沈阳市", 10000.0), ("沈阳市", 20000.0), ("沈阳市", 80.0)]
    # a new paragraph starts afresh, and a national statement stays national
    got = facts_of("以沈阳站为例：每天售票1万张。\n\n全国日均售票300万张。")
    assert [(r, v) for r, v, _, _ in got] == [("沈阳市", 10000.0), ("全国", 3000000.0)]


def test_a_place_visited_to_investigate_is_not_what_the_figures_are_about():
    doc = read("办案人员兵分两路，到江西、福建调查，掌握了他收受300万元的事实。", title="安徽查处一起受贿案")
    chunks = attribute_regions([doc], chunk_document(doc))
    got = [(f.region, f.value) for f in extract_facts([doc], chunks) if f.unit != "日期"]
    assert got == [("安徽省", 300.0)]
    # ... but a report on a visit is about the place visited
    assert document_region(read("去年9月，记者来到湖南省桑植县调查研究。\n\n那里的茶园很多。")).name == "桑植县"
    # a place someone went to, with no errand named, is still where what follows happened
    got = facts_of("他专程赶赴南京，把价值500元的药品送到病人手中。")
    assert [r for r, *_ in got] == ["南京市"]


def test_a_place_the_text_names_far_more_often_than_its_opening_place_is_what_it_is_about():
    body = ("记者日前来到绍兴。\n\n宁波钢铁厂去年利润增长。\n\n宁波钢铁厂的工人说，宁波钢铁厂的产品好。\n\n"
            "宁波钢铁厂今年还要扩建。")
    assert document_region(read(body, title="一个大案")).name == "宁波市"
    # named as often as the opening's place, it is not
    assert document_region(read("绍兴市的经济增长。\n\n绍兴市工厂多。\n\n宁波钢铁厂去年利润增长。\n\n宁波钢铁厂扩建。",
                                title="一个报道")).name == "绍兴市"


def test_a_rank_in_the_country_is_not_a_national_figure():
    doc = read("而今，宁海拥有全国最大的船队，开通5条航线。全国共有航线300条。", title="宁海县的渔业")
    chunks = attribute_regions([doc], chunk_document(doc))
    got = [(f.region, f.value) for f in extract_facts([doc], chunks) if f.unit != "日期"]
    assert got == [("宁海县", 5.0), ("全国", 300.0)]


def test_a_numbered_set_the_text_keeps_naming_is_a_name_not_a_figure():
    text = ("要坚持三项基本方针。\n\n三项基本方针是长期的。\n\n落实三项基本方针，全省新建企业三家，出台措施五条。")
    got = [(v, u) for _, v, u, _ in facts_of(text)]
    assert got == [(3.0, "家"), (5.0, "条")]


def test_a_village_named_in_the_text_is_the_place_of_its_figures():
    body = ("在湖南省桑植县的大山里，有一个叫青岩的自然寨，散居着40户人家。\n\n"
            "这个寨子过去人均收入不到300元。")
    doc = read(body, title="青岩寨的变化")
    assert document_region(doc).name == "青岩寨"
    chunks = attribute_regions([doc], chunk_document(doc))
    got = [(f.region, f.county, f.value) for f in extract_facts([doc], chunks) if f.unit != "日期"]
    assert got == [("青岩寨", "桑植县", 40.0), ("青岩寨", "桑植县", 300.0)]


def test_a_village_the_text_names_twice_is_a_place_a_kind_of_village_is_not():
    got = facts_of("大别山深处的桃花岭村，村民种茶500亩。\n\n全县贫困村减少20个，去桃花岭村的路修了8公里。")
    assert [(r, v) for r, v, _, _ in got] == [("桃花岭村", 500.0), ("", 20.0), ("桃花岭村", 8.0)]


def test_a_count_of_the_places_listed_is_not_each_places_count():
    doc = read("在宁波、温州创办了两家证券交易所，宁波、温州新增企业各30家。", title="浙江的证券业")
    chunks = attribute_regions([doc], chunk_document(doc))
    got = [(f.region, f.value) for f in extract_facts([doc], chunks) if f.unit != "日期"]
    assert got == [("浙江省", 2.0), ("宁波市", 30.0), ("温州市", 30.0)]  # the two: the article's


def test_a_dateline_that_opens_the_headline_is_not_what_a_report_is_about():
    doc = read("其中出口增长20%。", title="本报北京1月9日讯 记者报道：1997年，我国外贸增长12%。")
    assert document_region(doc) is None


def test_a_share_or_a_change_against_a_base_is_of_the_subject_before_it():
    doc = read("少数民族委员共有257人，占总数的11.71%，比上届增加17名。")
    chunks = attribute_regions([doc], chunk_document(doc))
    got = [f.subject for f in extract_facts([doc], chunks) if f.unit != "日期"]
    assert got == ["少数民族委员", "少数民族委员", "少数民族委员"]
    doc = read("新建市场一个，占地面积680亩，比重达30%。")
    chunks = attribute_regions([doc], chunk_document(doc))
    assert [f.subject for f in extract_facts([doc], chunks) if f.unit != "日期"] == ["占地面积", "比重"]


def test_a_level_word_after_a_conjunction_is_not_a_county():
    from retrieval.text.regions import mentions

    assert [p.name for p in mentions("省、自治区、直辖市和县级人民政府应当")] == []
    assert [p.name for p in mentions("和县县城的人口")] == ["和县"]


def test_a_foreign_country_is_a_place_of_its_own():
    from retrieval.text.regions import mentions

    assert [p.name for p in mentions("英国麻雀的数目减少了95%")] == ["英国"]
    assert [p.name for p in mentions("纳税人增加纳税申报")] == []  # 加纳 across two words
    assert [p.name for p in mentions("根据本法国家建立制度")] == []  # 法国 across two words
    # a figure a sentence states for a foreign country is the country's, whatever the article's place
    doc = read("世界卫生组织在广东省调查一周。\n\n津巴布韦获得援助信贷1.76亿美元，广东省出口增长5%。\n\n"
               "调查结果表明，英国麻雀的数目减少了60%。", title="广东省的调查")
    chunks = attribute_regions([doc], chunk_document(doc))
    got = [(f.region, f.value) for f in extract_facts([doc], chunks) if f.unit != "日期"]
    assert got == [("津巴布韦", 1.76e8), ("广东省", 5.0), ("英国", 60.0)]


def test_a_chinese_place_in_a_paragraph_about_another_country_is_its_figures_place():
    got = facts_of("日本经济去年下滑，对广东的投资减少了5亿美元。")
    assert [(r, v) for r, v, _, _ in got] == [("广东省", 5e8)]


def test_a_country_that_opens_a_compound_and_the_world_as_a_whole():
    from retrieval.text.regions import mentions

    assert [p.name for p in mentions("英国政府有关部门的调查")] == ["英国"]  # jieba reads 英国政府 as one word
    doc = read("广东省出口增长5%。\n\n英国政府的调查显示，常见鸟类减少了60%。\n\n这种服务可为全世界6000万用户提供邮电服务。",
               title="广东省的新闻")
    chunks = attribute_regions([doc], chunk_document(doc))
    got = [(f.region, f.value) for f in extract_facts([doc], chunks) if f.unit != "日期"]
    assert got == [("广东省", 5.0), ("英国", 60.0), ("", 6000.0)]  # the world's users (6000万) are no place's


def test_review_cases_of_places():
    from retrieval.text.regions import mentions

    # a country's name inside a Chinese place or a word is no country
    assert [p.name for p in mentions("辽宁省锦州市黑山县粮食产量")] == ["黑山县"]
    assert [p.name for p in mentions("蒙古族群众过春节")] == []
    assert [p.name for p in mentions("印度洋海啸")] == []
    # 到 inside 达到/受到 is no errand: the place stays the sentence's
    assert [p.name for p in named_places("达到广东省检查验收标准的企业有52家")] == ["广东省"]
    assert [p.name for p in named_places("受到江苏省委检查组的好评")] == ["江苏省"]


def test_review_cases_of_facts():
    # the topic carried from a sentence ends at a sentence naming another place, figures or not,
    # and at the paragraph's own whole (全省)
    doc = read("售票改革成效明显。以济南站为例：过去每天售票1万张。青岛站也在扩建。如今日均售票2万张。", title="山东省铁路")
    chunks = attribute_regions([doc], chunk_document(doc))
    got = [(f.region, f.value) for f in extract_facts([doc], chunks) if f.unit != "日期"]
    assert got == [("济南市", 10000.0), ("山东省", 20000.0)]
    doc = read("经济运行平稳。济南市工业增长8.5%。全省工业增长7.6%。", title="山东省经济")
    chunks = attribute_regions([doc], chunk_document(doc))
    got = [(f.region, f.value) for f in extract_facts([doc], chunks) if f.unit != "日期"]
    assert got == [("济南市", 8.5), ("山东省", 7.6)]
    # 全国第三产业 is national; 全国最大 a rank
    assert facts_of("本报北京1月5日讯 全国第三产业增加值增长8%。")[0][0] == "全国"
    # the world in another clause does not blank the figure's place
    doc = read("面对全球金融危机，今年全省出口增长10%。", title="山东省外贸")
    chunks = attribute_regions([doc], chunk_document(doc))
    assert [f.region for f in extract_facts([doc], chunks) if f.unit != "日期"] == ["山东省"]
    # 各: each place's count, not one count of the list
    assert [(r, v) for r, v, _, _ in facts_of("宁波、温州各开设2家门店。")] == [("宁波市", 2.0), ("温州市", 2.0)]
    # an article number holds no set's name: 三条 in 第十三条 is not counted
    law = "第十三条 规定。\n\n第二十三条 规定。\n\n第三十三条 规定。\n\n全省新建公路三条。"
    assert [(v, u) for _, v, u, _ in facts_of(law)] == [(3.0, "条")]
