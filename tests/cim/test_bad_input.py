from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from cim.importer import import_cgmes
from cim.reader import ReaderLimits
from cim.report import CimImportError
from tests.cim.samples import CIGRE_MV, xml_files

pytestmark = pytest.mark.unit


def _cigre() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in xml_files(CIGRE_MV)}


def _eq_name() -> str:
    return next(n for n in _cigre() if n.endswith("_EQ.xml"))


def _import_with(name: str, data: bytes, **kwargs: object) -> CimImportError:
    files = _cigre()
    files[name] = data
    with pytest.raises(CimImportError) as info:
        import_cgmes(list(files.items()), **kwargs)  # type: ignore[arg-type]
    return info.value


def _edit(old: bytes, new: bytes) -> tuple[str, bytes]:
    name = _eq_name()
    data = _cigre()[name]
    assert old in data
    return name, data.replace(old, new, 1)


def test_malformed_xml_names_the_file_and_line() -> None:
    name = _eq_name()
    err = _import_with(name, _cigre()[name][:5000])
    assert err.code == "malformed_xml"
    assert err.file == name
    assert "line" in str(err)


def test_wrong_namespace() -> None:
    err = _import_with(
        *_edit(b"http://iec.ch/TC57/2012/CIM-schema-cim16#", b"http://iec.ch/TC57/CIM100#")
    )
    assert err.code == "wrong_namespace"


def test_non_utf8_bytes() -> None:
    name, data = _edit(
        b"<cim:IdentifiedObject.name>L12-13<", b"<cim:IdentifiedObject.name>L\xe912-13<"
    )
    err = _import_with(name, data)
    assert (err.code, err.file) == ("not_utf8", name)


def test_missing_equipment_profile() -> None:
    files = [(n, d) for n, d in _cigre().items() if not n.endswith("_EQ.xml")]
    with pytest.raises(CimImportError) as info:
        import_cgmes(files)
    assert info.value.code in {"missing_profile", "dangling_reference"}
    assert any(f.code == "missing_profile" and f.attribute == "EQ" for f in info.value.findings)


def test_dangling_reference_names_file_mrid_and_attribute() -> None:
    name, data = _edit(
        b'<cim:Terminal.ConductingEquipment rdf:resource="#Load7-I"/>',
        b'<cim:Terminal.ConductingEquipment rdf:resource="#nowhere"/>',
    )
    err = _import_with(name, data)
    assert (err.code, err.file, err.mrid, err.attribute) == (
        "dangling_reference",
        name,
        "E-288",
        "Terminal.ConductingEquipment",
    )


def test_missing_mandatory_attribute() -> None:
    err = _import_with(*_edit(b"<cim:ACLineSegment.x>1.750620</cim:ACLineSegment.x>", b""))
    assert (err.code, err.mrid, err.attribute) == ("missing_attribute", "L12-13", "ACLineSegment.x")


def test_negative_length_and_zero_impedance() -> None:
    name, data = _edit(b"<cim:Conductor.length>4.890000", b"<cim:Conductor.length>-4.89")
    err = _import_with(name, data)
    assert (err.code, err.mrid, err.attribute) == ("negative_length", "L12-13", "Conductor.length")
    data = data.replace(b"<cim:ACLineSegment.r>1.647930", b"<cim:ACLineSegment.r>0").replace(
        b"<cim:ACLineSegment.x>1.750620", b"<cim:ACLineSegment.x>0"
    )
    assert any(f.code == "zero_impedance" for f in _import_with(name, data).findings)


def test_zero_base_voltage() -> None:
    err = _import_with(
        *_edit(b"<cim:BaseVoltage.nominalVoltage>20.00", b"<cim:BaseVoltage.nominalVoltage>0")
    )
    assert err.code == "zero_base_voltage"
    assert err.attribute == "BaseVoltage.nominalVoltage"


def test_unconvertible_number_names_the_attribute() -> None:
    err = _import_with(*_edit(b"<cim:ACLineSegment.r>1.647930", b"<cim:ACLineSegment.r>one"))
    assert (err.code, err.mrid, err.attribute) == ("bad_value", "L12-13", "ACLineSegment.r")


def test_dtd_is_refused() -> None:
    name = _eq_name()
    data = _cigre()[name].replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
    assert _import_with(name, data).code == "xml_dtd"


def test_strict_mode_turns_warnings_into_errors() -> None:
    with pytest.raises(CimImportError) as info:
        import_cgmes(xml_files(CIGRE_MV), strict=True)
    assert info.value.findings[0].severity == "warning"


def test_oversized_file() -> None:
    with pytest.raises(CimImportError) as info:
        import_cgmes(xml_files(CIGRE_MV), limits=ReaderLimits(max_file_bytes=10_000))
    assert info.value.code == "file_too_large"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_of_profiles_imports(tmp_path: Path) -> None:
    path = tmp_path / "cigre.zip"
    path.write_bytes(_zip(_cigre()))
    model, report = import_cgmes([path])
    assert len(model.buses) == 15
    assert all(f.startswith("cigre.zip/") for f in report.files)


def test_zip_bomb_is_stopped_before_it_expands() -> None:
    bomb = _zip({"bomb.xml": b"<" + b" " * 50_000_000})
    with pytest.raises(CimImportError) as info:
        import_cgmes([("bomb.zip", bomb)])
    assert info.value.code == "zip_bomb"
    assert info.value.file == "bomb.zip/bomb.xml"


def test_zip_member_count_and_nesting() -> None:
    many = _zip({f"{i}.xml": b"<x/>" for i in range(5)})
    with pytest.raises(CimImportError) as info:
        import_cgmes([("many.zip", many)], limits=ReaderLimits(max_zip_members=3))
    assert info.value.code == "zip_too_many_members"
    with pytest.raises(CimImportError) as info:
        import_cgmes([("nested.zip", _zip({"inner.zip": _zip(_cigre())}))])
    assert info.value.code == "zip_nested"


def test_total_upload_limit() -> None:
    with pytest.raises(CimImportError) as info:
        import_cgmes(xml_files(CIGRE_MV), limits=ReaderLimits(max_total_bytes=100_000))
    assert info.value.code == "upload_too_large"
