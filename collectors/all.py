"""The explicit list of built-in collectors. Add a new collector here."""

from collectors.host import HostCollector  # noqa: F401
from collectors.snmp.collector import SnmpCollector  # noqa: F401
from collectors.prometheus.collector import PrometheusCollector  # noqa: F401
from collectors.redfish.collector import RedfishCollector  # noqa: F401
from collectors.libvirt.collector import LibvirtCollector  # noqa: F401
from collectors.openstack.collector import OpenStackCollector  # noqa: F401
from collectors.vsphere.collector import VsphereCollector  # noqa: F401
from collectors.kubernetes.collector import KubernetesCollector  # noqa: F401
