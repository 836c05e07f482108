"""Defects a newcomer's trial of the pages found: file names instead of server paths, LIKE
wildcards taken literally, one charset on CSV downloads, an icon, and the product's own error
pages in the request's language."""

from __future__ import annotations

import pytest

from dashboards.access import public
from tests.dashboards.test_pages import estate, officer_of  # noqa: F401
from tests.dashboards.users import field, make_token, make_user


def test_search_takes_like_wildcards_literally(app, estate):  # noqa: F811
    make_user(app, "op", {"operator"})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, 'op', {'operator'})}"
    assert client.get("/search?q=SN00000000").get_data(as_text=True).count("/observed/") > 1
    for text in ("%", "_", "SN%4", "\\"):
        page = client.get("/search", query_string={"q": text}).get_data(as_text=True)
        assert page.count("/observed/") == 0, text


def test_upload_error_names_the_users_file_not_the_server_path(app, estate):  # noqa: F811
    officer = officer_of(app, "D002")
    csrf = field(officer.get("/census/upload").get_data(as_text=True), "csrf_token")
    import io
    response = officer.post("/census/upload", data={
        "csrf_token": csrf, "file": (io.BytesIO(b"not a workbook at all"), "我的普查表.xlsx")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "我的普查表.xlsx: " in page
    assert "uploads" not in page and "/tmp" not in page


def test_csv_downloads_carry_one_charset(app, estate):  # noqa: F811
    make_user(app, "boss", {"leader", "census_admin"})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = \
        f"Bearer {make_token(app, 'boss', {'leader', 'census_admin'})}"
    for url in ("/reports/idle.csv", "/census/export.csv?category=device"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8", url


def test_pages_name_an_icon_that_is_served(app, anonymous):
    page = anonymous.get("/login").get_data(as_text=True)
    assert 'rel="icon"' in page
    href = page.split('rel="icon"', 1)[1].split('href="', 1)[1].split('"', 1)[0]
    icon = anonymous.get(href)
    assert icon.status_code == 200 and b"<svg" in icon.data
    icon.close()


@pytest.fixture
def failing(app):
    """A public route that fails, with exceptions answered as in production."""
    app.add_url_rule("/test-boom", "test_boom", public(lambda: 1 // 0))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_error_pages_are_the_products_own_in_the_request_language(failing, anonymous):
    for lang, words in (("zh", "未找到请求的资源"), ("en", "Not found")):
        response = anonymous.get(f"/no-such-page?lang={lang}")
        page = response.get_data(as_text=True)
        assert response.status_code == 404 and response.mimetype == "text/html"
        assert f'id="reason">{words}<' in page and "requested URL" not in page
    response = anonymous.get("/test-boom?lang=zh")
    assert response.status_code == 500 and 'id="reason">服务器内部错误<' in \
        response.get_data(as_text=True)
    response = anonymous.get("/test-boom?lang=en")
    assert 'id="reason">Internal server error<' in response.get_data(as_text=True)
    api = anonymous.get("/api/no-such-thing")
    assert api.status_code == 404 and api.json["errors"][0]["reason"]


def test_fact_names_and_asset_kinds_are_labelled():
    from dashboards import facts
    assert facts.label("guest_os", "zh") == "客户机操作系统"
    assert facts.label("swap_bytes", "en") == "swap"
    assert facts.label("machine_id", "zh") == "机器ID" and facts.label("cpu_vendor", "zh")
    assert facts.kind_label("hypervisor", "zh") == "宿主机"
    assert facts.kind_label("instance", "en") == "instance"
    assert facts.kind_label("something_new", "zh") == "something_new"


def test_observed_asset_links_only_to_a_target_that_exists(app, ledger, estate):  # noqa: F811
    import datetime as dt

    from ledger.models import ObservedAsset, TargetState
    now = dt.datetime.now(dt.timezone.utc)
    make_user(app, "op", {"operator"})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, 'op', {'operator'})}"
    with ledger.session() as session:
        targets = {name for name, in session.query(TargetState.name)}
        assets = session.query(ObservedAsset.id, ObservedAsset.source, ObservedAsset.kind).all()
        session.add(ObservedAsset(natural_key="cloud:test-vm", source="cloud-nowhere",
                                  collector="cloud", kind="instance", hostname="vm-x",
                                  first_seen=now, last_seen=now))
        session.commit()
        orphan = session.query(ObservedAsset.id).filter_by(source="cloud-nowhere").scalar()
    linked = next(a for a in assets if a.source in targets)
    page = client.get(f"/observed/{linked.id}?lang=zh").get_data(as_text=True)
    assert f'href="/targets/{linked.source}"' in page
    page = client.get(f"/observed/{orphan}?lang=zh").get_data(as_text=True)
    assert "/targets/cloud-nowhere" not in page and "cloud-nowhere" in page
    assert "<small>云主机</small>" in page
    found = client.get("/search?q=vm-x&lang=zh").get_data(as_text=True)
    assert "<td>云主机</td>" in found and "<td>instance</td>" not in found


def test_edit_form_errors_name_the_field_label_without_a_row(app, estate):  # noqa: F811
    import re
    officer = officer_of(app, "D002")
    code = next(c for i, c in enumerate(estate.devices) if i % 4 == 1)   # owned by D002
    form = officer.get(f"/census/device/{code}/edit?lang=zh").get_data(as_text=True)
    values = dict(re.findall(r'<input name="(\w+)" id="f-\w+" value="([^"]*)"', form))
    values.update(re.findall(
        r'<select name="(\w+)"[^>]*>(?:(?!</select>).)*?<option value="([^"]*)" selected',
        form, re.S))
    bad = officer.post(f"/census/device/{code}/edit", data={
        **values, "mac": "zz", "csrf_token": field(form, "csrf_token")})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "MAC地址 [zz]: " in page
    assert "第1行" not in page and "device " not in page and "mac [zz]" not in page


def test_silence_form_errors_are_in_the_request_language(app):
    from tests.dashboards.users import login
    make_user(app, "oncall", {"operator"})
    browser = app.test_client()
    login(browser, "oncall")
    csrf = field(browser.get("/silences?lang=zh").get_data(as_text=True), "csrf_token")
    cases = (({"matchers": "nonsense", "comment": "x"}, "匹配条件: 每行一个条件"),
             ({"matchers": 'job=~"("', "comment": "x"}, "正则表达式无法解析"),
             ({"matchers": 'job="a"', "comment": ""}, "说明: 请填写静默原因"),
             ({"matchers": 'job="a"', "comment": "x", "duration": "soon"}, "时长无法识别"))
    for form, words in cases:
        response = browser.post("/silences", data={"csrf_token": csrf, **form})
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and words in page, form
        assert "expected name=" not in page
    browser.get("/silences?lang=en")
    page = browser.post("/silences", data={"csrf_token": csrf, "matchers": "nonsense",
                                           "comment": "x"}).get_data(as_text=True)
    assert "one condition a line" in page


def test_census_list_shows_choice_labels_not_stored_keys(app, estate):  # noqa: F811
    from ledger.census.const import CHOICES
    from ledger.census.fields import CATEGORIES
    officer = officer_of(app, "D002")
    page = officer.get("/census?category=device&lang=zh").get_data(as_text=True)
    rows = page[page.index('id="rows"'):]
    spec = CATEGORIES["device"].by_key["device_type"]
    labels = {key: zh for key, zh, _en in CHOICES[spec.choices]}
    shown = [key for key in labels if f"<td>{key}</td>" in rows]
    assert not shown, shown
    assert any(f"<td>{zh}</td>" in rows for zh in labels.values())


def test_finding_details_read_as_labelled_parts():
    from dashboards.finding_details import detail_parts
    parts = detail_parts({"name": "边界防火墙", "reason": "keys", "candidates": ["device:A"],
                          "basis": "declared", "money_basis": "purchase_price",
                          "kind": "instance", "declared_status": "not_started",
                          "cpu_p95": 26.97, "overdue": True, "due": None}, "zh")
    assert parts == [("名称", "边界防火墙"), ("原因", "标识指向多条登记"),
                     ("判定依据", "按登记信息"), ("金额依据", "购置金额(元)"),
                     ("类型", "云主机"), ("填报进度", "未开始"), ("CPU P95 (%)", "26.97"),
                     ("已逾期", "是")]
    assert detail_parts({"last_answer": "2026-12-01T18:31:31+00:00", "due": "2026-11-12"},
                        "zh", "Asia/Shanghai") == [("last answer", "2026-12-02 02:31:31 UTC+0800"),
                                                   ("计划完成", "2026-11-12")]
    from dashboards.finding_details import state_reason_text
    assert state_reason_text("condition cleared", "zh") == "问题已消除"
    assert state_reason_text("换了新设备", "zh") == "换了新设备"
    assert state_reason_text(None, "en") == ""
    assert ("reason", "its keys point at several declared assets") in [
        (k, v) for k, v in detail_parts({"reason": "keys"}, "en")]


def test_findings_page_shows_no_key_value_text(app, estate):  # noqa: F811
    import re
    officer = officer_of(app, "D002")
    page = officer.get("/findings?lang=zh").get_data(as_text=True)
    details = re.findall(r'<span class="detail">([^<]*)</span>', page)
    assert details and not [d for d in details if "=" in d or "_" in d]


def test_audit_content_reads_before_and_after_with_labels():
    from dashboards.auditlog import change_lines
    assert change_lines("device", {"vendor": [None, "山石网科"], "status": ["in_use", "idle"]},
                        "zh") == ["厂商: ∅ → 山石网科", "使用状态: 在用 → 闲置"]
    assert change_lines("device", {"status": ["in_use", "idle"]}, "en") == \
        ["status: in use → idle"]
    assert change_lines("user", {"roles": ["operator"], "source_address": "127.0.0.1"},
                        "zh") == ['roles: ["operator"]', "source_address: 127.0.0.1"]
    assert change_lines("user", None, "zh") == []


def test_audit_page_shows_no_escaped_json(app, estate):  # noqa: F811
    import re

    from tests.dashboards.test_pages import SECRET
    from tests.dashboards.users import login
    make_user(app, "auditor", {"audit_admin"}, totp=SECRET)
    auditor = app.test_client()
    login(auditor, "auditor", totp=SECRET)
    page = auditor.get("/audit?lang=zh&object_type=device").get_data(as_text=True)
    cells = re.findall(r'<td class="changes">(.*?)</td>', page, re.S)
    assert cells and any("→" in cell for cell in cells)
    assert not [c for c in cells if "\\u" in c or "{&#34;" in c or '{"' in c]


def test_reports_open_on_the_last_month_with_enough_data():
    import datetime as dt

    from dashboards.reports import default_month
    today = dt.date(2026, 12, 1)
    november = [dt.date(2026, 11, d) for d in range(2, 31)]
    assert default_month(november + [today], today) == "2026-11"      # one day of December
    assert default_month([today], today) == "2026-12"                  # all there is
    assert default_month(november, today) == "2026-11"
    late = [dt.date(2026, 12, d) for d in range(1, 20)]
    assert default_month(november[-5:] + late, dt.date(2026, 12, 20)) == "2026-12"
    october = [dt.date(2026, 10, d) for d in range(1, 32)]
    assert default_month(october + november[:3], today) == "2026-11"  # complete months: newest
    assert default_month([], today) is None


def test_demo_history_and_live_series_are_one_line():
    from dashboards.charts import charts_for
    from dashboards.operator import merge_lines
    from monitor.store.base import SeriesKey
    keys = [SeriesKey("snmp", (("demo", "true"), ("target", "sw")), "varbinds"),
            SeriesKey("snmp", (("target", "sw"),), "varbinds")]
    (spec,) = [c for c in charts_for(keys) if c.field == "varbinds"]
    assert spec.label_tag is None                       # "demo" names no line
    merged = merge_lines([("", [(1.0, 5.0), (2.0, 6.0)]), ("", [(3.0, 7.0)]),
                          ("GE1/0/10", [(1.0, 1.0)]), ("GE1/0/2", [(1.0, 2.0)])])
    assert merged == [("", [(1.0, 5.0), (2.0, 6.0), (3.0, 7.0)]),
                      ("GE1/0/2", [(1.0, 2.0)]), ("GE1/0/10", [(1.0, 1.0)])]


def test_line_charts_use_si_prefixes_pad_one_point_and_keep_legends_clear():
    import datetime as dt

    from dashboards import figures
    one = figures.line_chart("接口入方向流量", [("GE1", [(1_700_000_000.0, 1.2e9)])], "B",
                             "Asia/Shanghai", "时间")
    assert one.layout.yaxis.exponentformat == "SI" and one.layout.yaxis.ticksuffix == "B"
    low, high = (dt.datetime.fromisoformat(v) for v in one.layout.xaxis.range)
    assert (high - low).total_seconds() == figures.MIN_SPAN
    two = figures.line_chart("标题", [("a", [(0.0, 1.0), (7200.0, 2.0)]),
                                    ("b", [(0.0, 1.0)])], "%", "UTC", "time")
    assert two.layout.xaxis.autorange is True
    assert two.layout.legend.y < 0 and two.layout.legend.yanchor == "top"   # under the plot
    timeline = figures.state_timeline("接口状态", [("GigabitEthernet1/0/1", [(0.0, 1.0)])],
                                      {1.0: "正常"}, "UTC", "time", 60.0)
    assert timeline.layout.yaxis.automargin is True


def test_unnamed_series_take_the_chart_title_and_generic_titles_are_labelled(app):
    import time

    from dashboards.charts import KNOWN, series_title
    from dashboards.operator import _figure
    assert series_title("interface", "rx_packets_per_second", "zh") == "接口 · 入方向包速率"
    assert series_title("snmp", "varbinds", "en") == "SNMP · variables"
    poll = next(spec for spec in KNOWN if spec.measurement == "poll" and spec.field == "up")
    now = time.time()
    with app.test_request_context("/?lang=zh"):
        chart = _figure(poll, [("", [(now - 60, 0.0)])], now)
    import html
    import json
    figure = json.loads(html.unescape(chart["html"].split('data-figure="')[1].split('"')[0]))
    assert [trace["y"] for trace in figure["data"]] == [["采集结果"]]
    assert [trace["name"] for trace in figure["data"]] == ["中断"]


def test_screen_storage_shows_what_exists_never_a_misleading_zero():
    from dashboards.screen import declared_storage_tib, storage_shown
    assert declared_storage_tib(["800 TiB", "分布式存储 1.5PiB", "若干", None or ""]) == 800 + 1536
    assert abs(declared_storage_tib(["1 TB"]) - 1e12 / 2 ** 40) < 1e-9
    assert storage_shown({"storage_bytes": 2 * 2 ** 40, "vm_disk_bytes": 0}, 800) == \
        ("2.0", "observed")
    assert storage_shown({"storage_bytes": 0}, 800.0) == ("800.0", "declared")
    assert storage_shown({}, 0.0) == ("—", "none")


def test_screen_figures_make_room_for_labels_and_name_departments():
    from dashboards import figures_screen as fs
    groups = [{"key": "D001", "cores": 64}, {"key": "D002", "cores": 32}]
    sunburst = fs.distribution("分布", groups, {"D001": "省本级", "D002": "省本级"}, "cores",
                               "全部", {"D001": "省公安厅", "D002": "省交通运输厅"})
    assert {"省公安厅", "省交通运输厅"} <= set(sunburst.data[0].labels)
    assert not {"D001", "D002"} & set(sunburst.data[0].labels)
    trend = fs.trend("趋势", [{"day": "2026-11-30", "cpu": 20.0, "memory": 40.0}],
                     {"cpu": "CPU", "memory": "内存"})
    bars = fs.kpi_bars("指标", {"ledger_accuracy": {"value": 0.9, "target": 0.95}},
                       {"ledger_accuracy": "台账准确率"})
    idle = fs.idle_bars("闲置投资最多的部门", [{"name": "省交通运输厅", "amount": 1e6}], str)
    for figure in (trend, bars, idle):
        assert figure.layout.yaxis.automargin is True
