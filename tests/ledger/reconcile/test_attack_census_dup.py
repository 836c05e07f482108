"""The census's duplicate check compares serials as reconciliation does (without case,
spaces or full-width forms): a full-width copy of a declared serial is the same device
declared twice, refused like the ASCII copy, never a second device that then stays
missing for good."""

from __future__ import annotations

import copy

import pytest

from ledger.census.files import read_file
from ledger.census.service import CensusRejected, CensusService
from tests.ledger.census.builders import ROWS, filled_workbook


@pytest.mark.parametrize("twin_serial", ["2102351931dmk8000123",
                                         "２１０２３５１９３１ＤＭＫ８０００１２３",
                                         "2102 3519 31DM K800 0123"])
def test_a_copy_of_a_serial_is_a_census_duplicate(ledger, tmp_path, twin_serial):
    rows = copy.deepcopy(ROWS)
    twin = list(rows["设备"][0])
    twin[0], twin[6], twin[7], twin[8], twin[9] = "DEV99", twin_serial, None, None, None
    rows["设备"].append(twin)
    with pytest.raises(CensusRejected) as exc:
        CensusService(ledger.engine, actor="test").apply(
            read_file(filled_workbook(tmp_path / "c.xlsx", rows)))
    (error,) = exc.value.errors
    assert "重复" in error.reason and "序列号" in error.reason and error.value == twin_serial
