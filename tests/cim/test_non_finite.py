"""Numbers that parse as floats but mean nothing ("nan", "inf", "1e400" in the XML) are errors
that name the element and the attribute, also inside nested structures."""

from __future__ import annotations

import math

import msgspec
import pytest

from cim.importer import import_cgmes
from cim.model import GridModel, Line
from cim.scan import Scan
from cim.validation import non_finite_values
from tests.cim.samples import CIGRE_MV, xml_files

pytestmark = pytest.mark.unit


def cigre_model() -> GridModel:
    model, _ = import_cgmes(xml_files(CIGRE_MV))
    return model


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_line_parameter_is_named(bad: float) -> None:
    model = cigre_model()
    line = model.lines[3]
    broken = msgspec.structs.replace(
        model, lines=(*model.lines[:3], msgspec.structs.replace(line, x_ohm=bad), *model.lines[4:])
    )
    findings = list(non_finite_values(broken, Scan()))
    assert [(f.code, f.mrid, f.attribute) for f in findings] == [
        ("non_finite_value", line.mrid, "x_ohm")
    ]


def test_a_valid_model_has_no_non_finite_value() -> None:
    assert list(non_finite_values(cigre_model(), Scan())) == []
    assert isinstance(cigre_model().lines[0], Line)
