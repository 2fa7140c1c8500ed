"""Uploading CGMES models of a zone over REST: versions, summaries, paging, exports, the
zone's node list, and who may do what. Reference counts come from the XML text itself and
from the CIGRE MV benchmark's definition (CIGRE TF C6.04.02: 15 buses, two 110/20 kV
transformers), not from our importer."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import pytest

from gateway.settings import Settings
from tests.grid_models.driver import Models, cigre_files, rdf_ids, stored_state, zipped

pytestmark = pytest.mark.integration


def _eq_tp() -> tuple[bytes, bytes]:
    files = cigre_files()
    eq = next(d for n, d in files.items() if n.endswith("_EQ.xml"))
    tp = next(d for n, d in files.items() if n.endswith("_TP.xml"))
    return eq, tp


async def test_upload_cigre_mv_gives_version_1_with_summary(models: Models) -> None:
    eq, tp = _eq_tp()
    response = await models.upload(name="CIGRE MV")
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"{models.base}/1"
    body = response.json()
    assert (body["version"], body["name"], body["zone_id"]) == (1, "CIGRE MV", models.zone_id)
    counts = body["summary"]["counts"]
    assert counts["buses"] == len(rdf_ids(tp, "TopologicalNode")) == 15
    assert counts["lines"] == len(rdf_ids(eq, "ACLineSegment"))
    assert counts["transformers"] == len(rdf_ids(eq, "PowerTransformer")) == 2
    assert counts["loads"] == len(rdf_ids(eq, "EnergyConsumer"))
    assert body["summary"]["voltage_levels_kv"] == [110.0, 20.0]
    names = sorted(f["name"] for f in body["files"])
    assert names == sorted(cigre_files())
    assert all(len(f["sha256"]) == 64 for f in body["files"])
    assert body["finding_counts"]["error"] == 0
    assert body["report"]["profiles"]  # EQ, TP, SV, DL recognised per file

    again = await models.get("/1")
    assert again.status_code == 200
    assert again.json()["summary"] == body["summary"]
    assert (await models.get("/latest")).json()["id"] == body["id"]


async def test_versions_are_numbered_and_paged_newest_first(models: Models) -> None:
    for _ in range(3):
        assert (await models.upload()).status_code == 201
    versions = await models.all_pages("", limit=2)
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert (await models.get("/latest")).json()["version"] == 3
    assert (await models.get("/2")).json()["version"] == 2
    assert (await models.get("/4")).status_code == 404
    bad = await models.get("/zero")
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_no_model_yet_is_404(models: Models) -> None:
    response = await models.get("/latest")
    assert response.status_code == 404
    assert "no model" in response.json()["detail"]


async def test_nodes_and_lines_are_cursor_paged(models: Models) -> None:
    eq, tp = _eq_tp()
    assert (await models.upload()).status_code == 201
    nodes = await models.all_pages("/latest/nodes", limit=4)
    assert {n["mrid"] for n in nodes} == rdf_ids(tp, "TopologicalNode")
    assert [n["mrid"] for n in nodes] == sorted(n["mrid"] for n in nodes)
    lines = await models.all_pages("/1/lines", limit=5)
    assert {x["mrid"] for x in lines} == rdf_ids(eq, "ACLineSegment")
    # Line L12-13 of the sample: r and x as written in its EQ profile.
    line = next(x for x in lines if x["mrid"] == "L12-13")
    assert (line["r_ohm"], line["x_ohm"]) == (1.64793, 1.75062)


async def test_zone_nodes_become_the_model_buses_keeping_referenced_ones(
    models: Models, settings: Settings
) -> None:
    market = models.market
    await market.participant("agg", "aggregator")
    await market.session("s1", "zone")
    order = await market.call(
        "POST", "/v1/flex-offers", market.keys["agg"], market.offer_body("s1")
    )
    assert order.status_code in (201, 202), order.text
    _, tp = _eq_tp()

    response = await models.upload()
    assert response.status_code == 201, response.text
    changes = response.json()["nodes"]
    # The zone started with node-1..node-5; an offer names node-3, so it stays.
    assert changes == {"added": 15, "updated": 0, "removed": 4, "kept_referenced": ["node-3"]}
    state = await stored_state(settings.database_url, models.zone_id)
    assert state["nodes"] == sorted({*rdf_ids(tp, "TopologicalNode"), "node-3"})

    second = await models.upload()
    assert second.json()["nodes"] == {
        "added": 0,
        "updated": 0,
        "removed": 0,
        "kept_referenced": ["node-3"],
    }


async def test_zip_upload_and_cgmes_export_reimport_equal(models: Models) -> None:
    first = await models.upload_zip(zipped(cigre_files()))
    assert first.status_code == 201, first.text
    assert first.json()["files"][0]["name"] == "model.zip"
    assert all(f.startswith("model.zip/") for f in first.json()["report"]["files"])

    export = await models.get("/1/export", format="cgmes")
    assert export.status_code == 200
    assert export.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        profiles = {n.rsplit("_", 1)[-1] for n in archive.namelist()}
    assert {"EQ.xml", "TP.xml", "SSH.xml", "SV.xml"} <= profiles

    second = await models.upload_zip(export.content)
    assert second.status_code == 201, second.text
    assert second.json()["summary"] == first.json()["summary"]
    for path in ("nodes", "lines"):
        one = await models.all_pages(f"/1/{path}", limit=100)
        two = await models.all_pages(f"/2/{path}", limit=100)
        for a, b in zip(one, two, strict=True):
            a.pop("connectivity_node_mrids", None)
            b.pop("connectivity_node_mrids", None)
            assert a.keys() == b.keys()
            for key in a:
                if isinstance(a[key], float):
                    assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-9), key
                else:
                    assert a[key] == b[key], key


async def test_pandapower_export_loads_in_pandapower(models: Models) -> None:
    assert (await models.upload()).status_code == 201
    export = await models.get("/latest/export", format="pandapower")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/json")
    json.loads(export.content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower as pp

        net = pp.from_json_string(export.text)
        pp.runpp(net, numba=False)
    assert len(net.bus) == 15
    # CIGRE MV under its published loading: every bus within 0.9..1.1 pu.
    assert net.res_bus.vm_pu.between(0.9, 1.1).all()


async def test_object_rules(models: Models) -> None:
    market = models.market
    await market.participant("dso2", "dso")
    await market.participant("agg", "aggregator")
    other_zone = await market.zone("zone2", "dso2")
    assert (await models.upload()).status_code == 201

    # Another DSO sees neither the zone nor its models, and cannot upload to it.
    assert (await models.upload(key=market.keys["dso2"])).status_code == 404
    assert (await models.get("/latest", key=market.keys["dso2"])).status_code == 404
    assert (await models.get("/latest/lines", key=market.keys["dso2"])).status_code == 404
    # An aggregator may read versions, summaries and nodes, not upload or take the network.
    denied = await models.upload(key=market.keys["agg"])
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    assert (await models.get("", key=market.keys["agg"])).status_code == 200
    assert (await models.get("/latest", key=market.keys["agg"])).status_code == 200
    assert (await models.get("/latest/nodes", key=market.keys["agg"])).status_code == 200
    assert (await models.get("/latest/lines", key=market.keys["agg"])).status_code == 403
    assert (await models.get("/latest/export", key=market.keys["agg"])).status_code == 403
    # The market operator may upload for any zone.
    fmo = await models.upload(key=market.fmo_key, zone_id=other_zone)
    assert fmo.status_code == 201, fmo.text
    assert fmo.json()["uploaded_by"] != market.ids["dso2"]
    assert (await models.get("/latest", key=market.keys["dso2"])).status_code == 404
    unknown = await models.upload(zone_id="no-such-zone")
    assert unknown.status_code == 404


async def test_json_body_is_415(models: Models) -> None:
    response = await models.market.call("POST", models.base, models.market.keys["dso"], {"a": 1})
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["detail"]


async def test_empty_multipart_is_422(models: Models) -> None:
    response = await models.market.client.post(
        models.base,
        headers={
            "X-API-Key": models.market.keys["dso"],
            "Content-Type": "multipart/form-data; boundary=xyz",
        },
        content=b'--xyz\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--xyz--\r\n',
    )
    assert response.status_code == 422, response.text
