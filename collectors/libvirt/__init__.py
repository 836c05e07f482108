"""KVM hosts through libvirt (see collector.py)."""
