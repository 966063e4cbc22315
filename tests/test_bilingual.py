"""`one_language`: a service's "中文 / English" text cut to the page's language, whole halves only."""

from __future__ import annotations

import re

import pytest

from geo_disputes.services.analysis import stats
from geo_disputes.templatetags.bilingual import one_language, split_bilingual

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_an_english_half_with_semicolons_stays_whole_and_off_the_chinese_page():
    text = "事项数:重复信访不计。 / Matters received: a group counts once; repeat petitions are not counted."
    assert one_language(text, "zh-hans") == "事项数:重复信访不计。"
    assert one_language(text, "en") == "Matters received: a group counts once; repeat petitions are not counted."


def test_an_english_half_may_hold_a_slash():
    text = "按期率:受理、不予受理或转送。 / decided by an accept / reject / transfer on time"
    assert one_language(text, "zh-hans") == "按期率:受理、不予受理或转送。"
    assert one_language(text, "en") == "decided by an accept / reject / transfer on time"


def test_several_bilingual_segments_each_cut_and_plain_text_kept():
    text = "分流到村级 / routed to village; 距离 120 米 / 120 m away; ZGE-2026-000001"
    assert one_language(text, "zh-hans") == "分流到村级; 距离 120 米; ZGE-2026-000001"
    assert one_language(text, "en") == "routed to village; 120 m away; ZGE-2026-000001"
    assert one_language("plain English only", "zh-hans") == "plain English only"
    # English words after a pair continue its English half (a routing reason's Chinese partners do not).
    assert one_language("分流到村级 / routed to village; see rule 3", "zh-hans") == "分流到村级"
    reason = "分流到村级 / routed to village; 协同部门: 自然资源局"
    assert one_language(reason, "en") == "routed to village; 协同部门: 自然资源局"
    assert one_language("只有中文", "en") == "只有中文"


def test_the_intake_s_missing_location_message_is_cut_in_either_language():
    from geo_disputes.services.cases import intake

    source = open(intake.__file__, encoding="utf-8").read()
    assert "a location is required" in source
    text = (
        "请填写位置：在地图上点选、输入经纬度（及坐标系）或填写地块编码"
        " / a location is required: lon/lat with datum, or parcel_code"
    )
    assert one_language(text, "zh-hans").startswith("请填写位置") and "required" not in one_language(text, "zh-hans")
    assert one_language(text, "en") == "a location is required: lon/lat with datum, or parcel_code"


@pytest.mark.parametrize("key", sorted(stats.DEFINITIONS))
def test_every_dashboard_definition_is_one_chinese_and_one_english_half(key):
    text = stats.DEFINITIONS[key]
    assert text.count(" / ") == 1, key
    [(zh, en)] = split_bilingual(text)
    assert CJK.search(zh) and not CJK.search(en), key
    assert one_language(text, "zh-hans") == zh.strip() or one_language(text, "zh-hans") == zh
    assert one_language(text, "en") == en
    assert not re.search(r"[A-Za-z]{4,} [a-z]{3,}", one_language(text, "zh-hans")), key  # no English sentence
