"""A safe, fast XML pass over every document before cimpy sees it.

cimpy logs and skips what it does not understand; this pass finds what is wrong first and names the
file, the mRID and the attribute: encoding, well-formedness, namespaces, profiles, duplicate and
dangling references, and which mandatory attributes are really present (cimpy fills defaults, so
a missing `r` would otherwise look like `r = 0`).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import msgspec
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no stubs; cimpy depends on it

from cim.reader import Document
from cim.report import Finding, Severity, error

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
CIM16_NAMESPACES = (
    "http://iec.ch/TC57/2013/CIM-schema-cim16#",
    "http://iec.ch/TC57/2012/CIM-schema-cim16#",
)
_PROFILE_KEYS = (
    ("Equipment", "EQ"),
    ("Topology", "TP"),
    ("SteadyStateHypothesis", "SSH"),
    ("StateVariables", "SV"),
    ("DiagramLayout", "DL"),
    ("GeographicalLocation", "GL"),
    ("Dynamics", "DY"),
)
MANDATORY: dict[str, tuple[str, ...]] = {
    "ACLineSegment": ("ACLineSegment.r", "ACLineSegment.x"),
    "BaseVoltage": ("BaseVoltage.nominalVoltage",),
    "PowerTransformerEnd": (
        "PowerTransformerEnd.ratedU",
        "PowerTransformerEnd.r",
        "PowerTransformerEnd.x",
        "PowerTransformerEnd.PowerTransformer",
    ),
    "Terminal": ("Terminal.ConductingEquipment",),
}
MANDATORY_ATTRS = frozenset(a for attrs in MANDATORY.values() for a in attrs)
# cimpy fills defaults (False, 0.0) for absent attributes; these tell "absent" from "set to default".
TRACKED_ATTRS = MANDATORY_ATTRS | {
    "ACDCTerminal.connected",
    "Terminal.connected",
    "Switch.open",
    "EnergyConsumer.p",
    "RotatingMachine.p",
    "ShuntCompensator.sections",
    "TapChanger.step",
    "ExternalNetworkInjection.p",
    "EnergySource.activePower",
}
# A dangling reference through these breaks the network itself; others (containers, regions,
# boundary-set objects of another party) are only worth a warning.
CRITICAL_REFERENCES = frozenset(
    {
        "Terminal.ConductingEquipment",
        "Terminal.TopologicalNode",
        "Terminal.ConnectivityNode",
        "TransformerEnd.Terminal",
        "PowerTransformerEnd.PowerTransformer",
        "ConductingEquipment.BaseVoltage",
        "TopologicalNode.BaseVoltage",
        "TransformerEnd.BaseVoltage",
        "SvVoltage.TopologicalNode",
        "ConnectivityNode.TopologicalNode",
        "RatioTapChanger.TransformerEnd",
        "SynchronousMachine.GeneratingUnit",
        "RotatingMachine.GeneratingUnit",
    }
)
_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


class Scan(msgspec.Struct, kw_only=True):
    cim_namespace: str = ""
    profiles: dict[str, str] = {}
    classes: dict[str, str] = {}
    class_counts: Counter[str] = msgspec.field(default_factory=Counter)
    present: dict[str, set[str]] = {}
    defined_in: dict[str, str] = {}
    findings: list[Finding] = []


def _check_text(doc: Document) -> None:
    match = _ENCODING.match(doc.data[:200])
    if match and match.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        raise error(
            "not_utf8",
            f"declared encoding {match.group(1).decode()!r}; CGMES requires UTF-8",
            file=doc.name,
        )
    try:
        doc.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = doc.data.count(b"\n", 0, exc.start) + 1
        raise error(
            "not_utf8", f"invalid UTF-8 byte at offset {exc.start} (line {line})", file=doc.name
        ) from exc
    if b"<!DOCTYPE" in doc.data or b"<!ENTITY" in doc.data:
        raise error("xml_dtd", "DTDs and entities are not allowed in CIM files", file=doc.name)


def _parse(doc: Document) -> Any:
    _check_text(doc)
    # lxml: cimpy parses with it too, and it is about twice as fast as ElementTree here.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(doc.data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise error(
            "malformed_xml",
            f"not well-formed XML at line {line}, column {column}: {exc}",
            file=doc.name,
        ) from exc
    if root.tag != f"{RDF}RDF":
        raise error("not_rdf", f"root element is {root.tag!r}, expected rdf:RDF", file=doc.name)
    return root


def _profile(root: Any) -> str:
    names = []
    for elem in root.iter("{http://iec.ch/TC57/61970-552/ModelDescription/1#}Model.profile"):
        text = elem.text or ""
        names += [short for key, short in _PROFILE_KEYS if key in text and short not in names]
    return "+".join(names)


def _scan_document(doc: Document, scan: Scan, refs: list[tuple[str, str, str, str]]) -> None:
    root = _parse(doc)
    scan.profiles[doc.name] = _profile(root)
    for obj in root:
        namespace, _, cls = obj.tag[1:].partition("}")
        if "CIM-schema" not in namespace and "/CIM" not in namespace:
            continue
        if namespace not in CIM16_NAMESPACES:
            raise error(
                "wrong_namespace",
                f"CIM namespace {namespace!r} is not CIM16 (CGMES 2.4.15)",
                file=doc.name,
                mrid=obj.get(f"{RDF}ID"),
            )
        if scan.cim_namespace and namespace != scan.cim_namespace:
            raise error(
                "mixed_namespaces",
                f"{namespace!r} differs from {scan.cim_namespace!r} used by the other files",
                file=doc.name,
            )
        scan.cim_namespace = namespace
        mrid = obj.get(f"{RDF}ID")
        if mrid is not None:
            if mrid in scan.classes:
                raise error(
                    "duplicate_mrid",
                    f"{cls} {mrid} is also defined in {scan.defined_in[mrid]}",
                    file=doc.name,
                    mrid=mrid,
                )
            scan.classes[mrid] = cls
            scan.defined_in[mrid] = doc.name
            scan.class_counts[cls] += 1
        else:
            mrid = (obj.get(f"{RDF}about") or "").removeprefix("#")
    if not scan.cim_namespace:
        return
    # Per-attribute XPath runs in C; walking every property element from Python costs more than
    # cimpy's own first pass on large models.
    ns = {"cim": scan.cim_namespace, "rdf": RDF[1:-1]}
    about = f"{RDF}about"
    rdf_id = f"{RDF}ID"
    for prop in root.iter(*(f"{{{scan.cim_namespace}}}{a}" for a in TRACKED_ATTRS)):
        owner = prop.getparent()
        mrid = owner.get(rdf_id) or (owner.get(about) or "").removeprefix("#")
        scan.present.setdefault(prop.tag.rpartition("}")[2], set()).add(mrid)
    for target in root.xpath("./*/*/@rdf:resource", namespaces=ns):
        if target.startswith("#") and target[1:] not in scan.classes:
            prop = target.getparent()
            obj = prop.getparent()
            mrid = obj.get(f"{RDF}ID") or (obj.get(f"{RDF}about") or "").removeprefix("#")
            refs.append((doc.name, mrid, prop.tag.rpartition("}")[2], target[1:]))


def scan_documents(docs: list[Document]) -> Scan:
    """Raise `CimImportError` for unreadable input; collect reference findings for the report."""
    scan = Scan()
    refs: list[tuple[str, str, str, str]] = []
    for doc in docs:
        _scan_document(doc, scan, refs)
    if not scan.cim_namespace:
        raise error("no_cim_content", "no CIM objects in any file", file=docs[0].name)
    warned: set[str] = set()
    for file, mrid, attribute, target in refs:
        if target in scan.classes:
            continue
        severity: Severity = "error" if attribute in CRITICAL_REFERENCES else "warning"
        if severity == "warning" and target in warned:
            continue
        warned.add(target)
        scan.findings.append(
            Finding(
                code="dangling_reference",
                severity=severity,
                file=file,
                mrid=mrid,
                attribute=attribute,
                message=f"{attribute} refers to {target}, which no file defines",
            )
        )
    return scan
