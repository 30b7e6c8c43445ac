from retrieval.text.tokens import tokenize


def test_figures_with_units_stay_whole():
    toks = tokenize("力爭一季度實現規上工業增加值增速達9.5%")
    assert "9.5%" in toks
    assert "387.6亿元" in tokenize("總投資387.6億元的12個項目")
    assert "45工作日" not in tokenize("壓縮至45個工作日以內")
    assert "45个工作日" in tokenize("壓縮至45個工作日以內")


def test_policy_terms_from_the_user_dictionary():
    toks = tokenize("積極培育小升規企業，規上工業增加值，專精特新")
    assert {"小升规", "规上工业增加值", "专精特新"} <= set(toks)


def test_punctuation_and_function_words_are_dropped():
    assert tokenize("。，！？、“”") == []
    assert "的" not in tokenize("提出了增长的目标")


def test_traditional_and_simplified_give_the_same_tokens():
    assert tokenize("增長目標") == tokenize("增长目标")
