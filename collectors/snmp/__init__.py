"""SNMP collector (see collector.py): wire client and BER codec apart from the MIB mapping."""
