"""The one catalogue: negotiation, fallbacks, domains, the adapters and the CLI switch."""

from __future__ import annotations

import threading

from ledger import findings, i18n
from ledger.census.messages import message


def test_negotiation_order():
    assert i18n.negotiate("en", "zh", "zh-CN") == "en"
    assert i18n.negotiate(None, "en", "zh-CN") == "en"
    assert i18n.negotiate("xx", None, "fr;q=1, en-GB;q=0.8, zh;q=0.5") == "en"
    assert i18n.negotiate(None, None, "en;q=0.4, zh-Hans-CN;q=0.9") == "zh"
    assert i18n.negotiate(None, None, "fr, de") == "zh"
    assert i18n.negotiate(None, None, None, "en") == "en"
    assert i18n.negotiate(None, None, "en;q=0") == "zh"


def test_domains_keep_their_own_words():
    # "not_found" means a census row in one domain and a finding in the other.
    assert message("not_found", "zh") == "记录不存在"
    assert findings.message(findings.FindingError("not_found"), "en").startswith("no such finding")
    assert message("too_long", "en", limit=5) == "longer than 5 characters"


def test_fallbacks_and_parameters():
    i18n.register("test", {"only_en": ("", "English only"), "n": ("共 %d 条", "%d rows")})
    assert i18n.dgettext("test", "only_en", "zh") == "English only"
    assert i18n.dgettext("test", "n", "zh", 3) == "共 3 条"
    assert i18n.dgettext("test", "unknown", "en") == "unknown"


def test_current_language_is_per_context():
    seen = {}

    def other():
        seen["other"] = i18n.current()

    with i18n.use("en"):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert i18n.current() == "en"
        assert findings.message(findings.FindingError("reason_required")).startswith("a reason")
    assert seen["other"] == "zh" and i18n.current() == "zh"


def test_web_catalogue_is_complete():
    import dashboards.i18n  # noqa: F401 - registers the pages' words
    assert [m for m in i18n.missing() if m[0] != "test"] == []
    assert i18n.gettext("nav_targets", "en") == "Targets"
    assert i18n.gettext("nav_targets", "zh") == "采集目标"


def test_cli_language_switch(tmp_path, capsys):
    from monitor.cli import main
    from python_calamine import CalamineWorkbook

    from ledger.census.fields import CATEGORIES
    sheets = {}
    for lang in ("en", "zh"):
        path = tmp_path / f"{lang}.xlsx"
        assert main(["--lang", lang, "census", "template", str(path),
                     "--data-dir", str(tmp_path)]) == 0
        # The run's language was the run's only: the caller's is the default still.
        assert i18n.current() == "zh"
        sheets[lang] = CalamineWorkbook.from_path(str(path)).sheet_names
    assert any(CATEGORIES["device"].label("en") in name for name in sheets["en"])
    assert any(CATEGORIES["device"].label("zh") in name for name in sheets["zh"])
