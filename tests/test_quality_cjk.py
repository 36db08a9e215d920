"""Chinese text is first-class: counted in characters, with its own rule set."""

from __future__ import annotations

import pyarrow as pa

from corpuskit.document import make_batch
from corpuskit.registry import step_class
from test_quality_helpers import CHINESE, batch_of


def run(name: str, batch: pa.RecordBatch, **params):
    step = step_class(name)(**params)
    step.ensure_setup()
    return step.process(batch)


def test_zh_quality_keeps_real_chinese_prose() -> None:
    out = run("zh_quality", batch_of([{"id": str(i), "text": t} for i, t in enumerate(CHINESE)]))
    assert out.reasons is None or out.reasons.null_count == len(CHINESE), out.reasons
    rows = out.batch.to_pylist()
    for row, text in zip(rows, CHINESE):
        han = sum("\u4e00" <= c <= "\u9fff" for c in text)
        assert row["cjk_chars"] == han
        assert row["cjk_ratio"] > 0.8
        assert row["cjk_stop_chars"] >= 2
        assert row["cjk_top_2gram_frac"] < 0.1


def test_zh_quality_drops_spam_and_non_chinese() -> None:
    spam = "好好好好好好好好好好好好好好好！！！！！！！！！！买买买买买买买买买买买买买买买买买买买买！！！！"
    nav = "首页\n登录\n注册\n帮助\n联系我们\n网站导航\n关于我们\n广告服务\n免费注册\n宾馆索引\n服务说明\n诚聘英才"
    english = "This page is almost entirely English text with just one Chinese word: 中文. " * 3
    out = run("zh_quality", batch_of([{"id": "spam", "text": spam}, {"id": "nav", "text": nav},
                                      {"id": "en", "text": english}]))
    reasons = out.reasons.to_pylist()
    assert reasons[0] is not None and out.batch.column("cjk_top_2gram_frac")[0].as_py() > 0.2
    assert run("zh_quality", batch_of([{"id": "spam", "text": spam}]), min_stop_chars=None).reasons.to_pylist()[0] \
        in ("zh_quality:top_2gram", "zh_quality:dup_5gram")
    assert reasons[1] == "zh_quality:line_punct_ratio"
    assert reasons[2] in ("zh_quality:too_few_chars", "zh_quality:cjk_ratio")


def test_word_rules_count_chinese_in_characters() -> None:
    long_zh = "\n".join(CHINESE * 2)
    batch = make_batch(["zh"], [long_zh], ["t"], [None])
    row = run("gopher_quality_signals", batch).batch.to_pylist()[0]
    assert row["gopher_words"] > 300  # characters, not one word per sentence
    assert row["gopher_stop_words"] >= 2  # 的, 是, 了 ... count as stop words
    # without CJK splitting (datatrove's behaviour) a Chinese page is a handful of "words"
    row_dt = run("gopher_quality_signals", batch, cjk_chars=False).batch.to_pylist()[0]
    assert row_dt["gopher_words"] < 50
    assert run("gopher_quality", batch).reasons is None or \
        run("gopher_quality", batch).reasons.to_pylist() == [None]
