"""Facts of the cloud and hardware collectors become observed assets, on both backends."""

from __future__ import annotations

import datetime as dt
import http.server
import threading

from sqlalchemy import select

from collectors.libvirt.collector import LibvirtCollector
from collectors.prometheus.collector import PrometheusCollector
from collectors.redfish.collector import RedfishCollector
from ledger.models import ObservedAsset
from ledger.observed import record_facts
from tests.collectors.libvirt.test_libvirt import NODE
from tests.collectors.prometheus.test_prometheus import RECORDED, Page
from tests.collectors.redfish.test_redfish import Mockup


def serve(handler, **attributes):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in attributes.items():
        setattr(server, name, value)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_hosts_instances_and_servers_land_in_the_ledger(ledger):
    bmc = serve(Mockup, faults={})
    exporter = serve(Page, status=200, body=RECORDED.read_bytes(), token="")
    try:
        polls = {
            "kvm-01": ("libvirt", LibvirtCollector("kvm-01", {"uri": f"test://{NODE}"})),
            "bmc-01": ("redfish", RedfishCollector(
                "bmc-01", {"url": f"http://127.0.0.1:{bmc.server_address[1]}"})),
            "vm-01": ("prometheus", PrometheusCollector(
                "vm-01", {"url": f"http://127.0.0.1:{exporter.server_address[1]}/metrics"})),
        }
        now = dt.datetime.now(dt.timezone.utc)
        with ledger.session() as session:
            for source, (kind, collector) in polls.items():
                obs = collector.collect()
                collector.close()
                assert obs.status == "ok", obs.error
                record_facts(session, source=source, collector=kind, facts=obs.facts,
                             department="大数据局", seen_at=now)
            session.commit()
            assets = list(session.scalars(select(ObservedAsset)))
            rows = {(r.source, r.kind): r for r in assets}
    finally:
        for server in (bmc, exporter):
            server.shutdown()
            server.server_close()
    guests = {r.natural_key: r for r in assets if r.kind == "instance"}
    assert set(guests) == {"instance:5d0f4c1e-7a3b-4f0e-9a61-2c8e4b1f0a11",
                           "instance:9b2e6d4a-1c3f-4e5a-8b7c-0d9e8f7a6b54"}
    guest = guests["instance:5d0f4c1e-7a3b-4f0e-9a61-2c8e4b1f0a11"]
    assert guest.instance_uuid == "5d0f4c1e-7a3b-4f0e-9a61-2c8e4b1f0a11"
    assert guest.attributes["vcpus"] == 8 and guest.macs == ["52:54:00:1a:2b:3c"]
    server = rows[("bmc-01", "server")]
    assert (server.natural_key, server.vendor, server.model) == (
        "serial:Contoso:437XR1138R2", "Contoso", "3500")
    host = rows[("vm-01", "host")]
    assert host.hostname == "vm" and host.mac == "02:fc:00:00:00:01"
    assert host.department == "大数据局"
    assert ("kvm-01", "hypervisor") in rows


def test_cloud_projects_map_to_departments_in_the_ledger(ledger):
    from collectors.openstack.collector import OpenStackCollector
    from tests.apis.openstack import PROJECT_ID, OpenStackAPI

    with OpenStackAPI() as api:
        collector = OpenStackCollector("zwy", {
            "auth_url": api.url, "username": "admin", "password": "secret",
            "departments": {PROJECT_ID: "大数据局"}})
        obs = collector.collect()
        collector.close()
    assert obs.status == "ok", obs.error
    now = dt.datetime.now(dt.timezone.utc)
    with ledger.session() as session:
        record_facts(session, source="zwy", collector="openstack", facts=obs.facts,
                     department="政务云中心", seen_at=now)
        session.commit()
        rows = {r.natural_key: r for r in session.scalars(select(ObservedAsset))}
    server = rows["instance:f5dc173b-6804-445a-a6d8-c705dad5b5eb"]
    assert server.department == "大数据局"            # the project's mapping wins
    assert server.attributes["vcpus"] == 1 and server.macs == ["00:0c:29:0d:11:74"]
    volume = rows["res:volume:cinder:cb49b381-9012-40cb-b8ee-80c19a4801b5"]
    assert volume.department == "政务云中心"          # unmapped project: the target's tag
    assert rows["ip:192.168.1.135/host2"].kind == "hypervisor"
    assert {r.kind for r in rows.values()} == {"instance", "hypervisor", "volume",
                                               "storage_pool"}


def test_vsphere_hosts_and_vms_land_in_the_ledger(ledger):
    from collectors.vsphere.collector import VsphereCollector
    from tests.apis.vcsim import VcSim

    with VcSim() as sim:
        collector = VsphereCollector("vc", {"url": sim.url, "username": "ledger",
                                            "password": "secret", "verify_tls": False,
                                            "departments": {"Resources": "大数据局"}})
        obs = collector.collect()
        collector.close()
    assert obs.status == "ok", obs.error
    with ledger.session() as session:
        record_facts(session, source="vc", collector="vsphere", facts=obs.facts,
                     department=None, seen_at=dt.datetime.now(dt.timezone.utc))
        session.commit()
        rows = list(session.scalars(select(ObservedAsset)))
    kinds = {}
    for row in rows:
        kinds.setdefault(row.kind, []).append(row)
    # Four hosts sharing the simulator's one serial stay four assets (keyed by UUID).
    assert len(kinds["hypervisor"]) == 4 and len(kinds["instance"]) == 4
    assert all(r.natural_key.startswith("uuid:") for r in kinds["hypervisor"])
    assert {r.department for r in kinds["instance"]} == {"大数据局"}   # every pool is "Resources"
    assert len(kinds["datastore"]) == 1


def test_kubernetes_nodes_and_namespaces_land_in_the_ledger(ledger):
    from collectors.kubernetes.collector import KubernetesCollector
    from tests.apis.kubernetes import TOKEN, KubernetesAPI

    with KubernetesAPI() as api:
        collector = KubernetesCollector("k8s", {"url": api.url, "token": TOKEN,
                                                "department_label": "ledger.gov/department"})
        obs = collector.collect()
        collector.close()
    assert obs.status == "ok", obs.error
    with ledger.session() as session:
        record_facts(session, source="k8s", collector="kubernetes", facts=obs.facts,
                     department=None, seen_at=dt.datetime.now(dt.timezone.utc))
        session.commit()
        rows = {r.natural_key: r for r in session.scalars(select(ObservedAsset))}
    assert rows["uuid:aa829ca9-73d7-064d-9019-df07404ad448"].mgmt_ip == "192.168.0.113"
    assert rows["res:namespace:k8s:dsj-prod"].department == "大数据局"
