"""Crisis responses and the operator-edited hotline table."""

from pathlib import Path

import pytest

from esbot_dialogue.safety.crisis_response import CrisisResponder, HotlineConfigError, load_hotlines, select_locale
from esbot_dialogue.safety.levels import (ABUSE_VIOLENCE, HARM_TO_OTHERS, MEDICAL_EMERGENCY, SUICIDE_SELF_HARM,
                                          Assessment, RiskLevel)

TABLE = Path(__file__).resolve().parents[1] / "config" / "safety_hotlines.yaml"


@pytest.fixture(scope="module")
def table():
    return load_hotlines(TABLE)


def test_shipped_table_has_the_required_locales_and_numbers(table):
    assert {"US", "UK", "CA", "AU", "IN", "INTL"} <= set(table)
    assert table["US"].crisis.number == "988" and table["US"].emergency == "911"
    assert table["UK"].crisis.number == "116 123" and table["UK"].emergency == "999"
    assert table["CA"].crisis.number == "988" and table["CA"].emergency == "911"
    assert table["AU"].crisis.number == "13 11 14" and table["AU"].emergency == "000"
    assert "14416" in table["IN"].crisis.number and table["IN"].emergency == "112"
    assert "findahelpline.com" in table["INTL"].crisis.name
    assert "MUST CHECK" in TABLE.read_text()


@pytest.mark.parametrize("locale, expected", [("US", "US"), ("en_GB", "UK"), ("gb", "UK"), ("en-AU", "AU")])
def test_locale_aliases(table, locale, expected):
    hotlines, warning = select_locale(table, locale)
    assert hotlines.locale == expected and warning is None


def test_unknown_locale_falls_back_with_a_warning(table):
    hotlines, warning = select_locale(table, "fr_FR")
    assert hotlines.locale == "INTL" and "fr_FR" in warning


@pytest.mark.parametrize("content, message", [
    ("locales: [", "not valid YAML"),
    ("foo: 1", "non-empty 'locales'"),
    ("locales: {XX: {name: X, emergency: '1'}}", "lacks 'crisis'"),
    ("locales: {XX: {name: X, emergency: '1', crisis: {name: a}}}", "lacks number, how"),
    ("fallback: ZZ\nlocales: {XX: {name: X, emergency: '1', crisis: {name: a, number: '1', how: call}}}",
     "fallback locale 'ZZ'"),
])
def test_broken_table_is_refused_with_the_reason(tmp_path, content, message):
    path = tmp_path / "hotlines.yaml"
    path.write_text(content)
    with pytest.raises(HotlineConfigError, match=message):
        load_hotlines(path)


def test_missing_table_is_refused(tmp_path):
    with pytest.raises(HotlineConfigError, match="cannot read"):
        load_hotlines(tmp_path / "absent.yaml")


@pytest.mark.parametrize("locale", ["US", "UK", "CA", "AU", "IN", "INTL"])
@pytest.mark.parametrize("category", [SUICIDE_SELF_HARM, HARM_TO_OTHERS, ABUSE_VIOLENCE, MEDICAL_EMERGENCY])
@pytest.mark.parametrize("level", [RiskLevel.HIGH, RiskLevel.IMMEDIATE])
def test_responses_are_short_point_to_help_and_urge_emergency_when_immediate(table, locale, category, level):
    responder = CrisisResponder(table[locale])
    text = responder.crisis_response(Assessment(level, category))
    assert len(text.split()) <= 60
    if level == RiskLevel.IMMEDIATE or category == MEDICAL_EMERGENCY:
        assert table[locale].emergency in text
    else:
        assert table[locale].crisis.number in text or (table[locale].domestic_violence
                                                       and table[locale].domestic_violence.number in text)
    for judgement in ("should have", "calm down", "dramatic", "diagnos"):
        assert judgement not in text.lower()


def test_abuse_response_gives_the_domestic_violence_line(table):
    text = CrisisResponder(table["UK"]).crisis_response(Assessment(RiskLevel.HIGH, ABUSE_VIOLENCE))
    assert "0808 2000 247" in text and "not your fault" in text
