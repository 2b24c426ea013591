"""boson inspect on every fixture, checked against what mlx-lm itself built from the same
checkpoint: per-module formats, layer schedule, tied head, dispatch groups, sizes."""

import pytest

from boson_util import boson_format, fixture_dirs, inspect_json, mlx_formats, run_boson

pytestmark = pytest.mark.usefixtures("fixtures_dir")


def _ids():
    return [d.name for d in fixture_dirs()]


@pytest.fixture(params=_ids() or ["<no fixtures>"])
def fixture(request):
    dirs = {d.name: d for d in fixture_dirs()}
    if request.param not in dirs:
        pytest.fail("no fixtures generated under build/fixtures")
    return dirs[request.param]


def test_formats_match_mlx_lm(fixture):
    rep = inspect_json(fixture)
    model, ref = mlx_formats(fixture)
    got = {w["module"]: boson_format(w) for w in rep["weights"]}
    tied = rep["lm_head_tied"]
    # mlx-lm has no lm_head module when tied; boson reports the embedding once
    assert ("lm_head" not in ref) == tied
    assert set(got) == set(ref), (
        f"modules only in boson: {sorted(set(got) - set(ref))[:5]}, "
        f"only in mlx-lm: {sorted(set(ref) - set(got))[:5]}")
    bad = {m: (got[m], ref[m]) for m in ref if got[m] != ref[m]}
    assert not bad, f"format disagreements (boson, mlx-lm): {list(bad.items())[:5]}"


def test_schedule_and_groups(fixture):
    rep = inspect_json(fixture)
    model, ref = mlx_formats(fixture)
    lm = getattr(model, "language_model", model)
    layers = lm.model.layers
    assert len(rep["layers"]) == len(layers)
    for lp, layer in zip(rep["layers"], layers):
        assert (lp["kind"] == "gdn") == bool(layer.is_linear)
        i = lp["layer"]
        gdn = [s for s in lp["sets"] if s["set"] == "gdn_in"]
        if lp["kind"] == "gdn":
            assert len(gdn) == 1
            names = ["in_proj_qkv", "in_proj_z", "in_proj_b", "in_proj_a"]
            if hasattr(layer.linear_attn, "in_proj_qkvz"):
                names = ["in_proj_qkvz", "in_proj_ba"]
            fmts = {ref[f"model.layers.{i}.linear_attn.{n}"] for n in names}
            # one dispatch per distinct format, never more
            assert len(gdn[0]["groups"]) == len(fmts), (i, gdn[0], fmts)
            members = sorted(m for g in gdn[0]["groups"] for m in g["members"])
            assert members == sorted(names)
        else:
            assert not gdn
            qkv = [s for s in lp["sets"] if s["set"] == "attn_qkv"]
            fmts = {ref[f"model.layers.{i}.self_attn.{n}"] for n in ("q_proj", "k_proj", "v_proj")}
            assert len(qkv) == 1 and len(qkv[0]["groups"]) == len(fmts)


def test_sizes(fixture):
    rep = inspect_json(fixture)
    shards = [p for p in fixture.glob("model*.safetensors") if "mtp" not in p.name]
    assert rep["sizes"]["bytes_on_disk"] == sum(p.stat().st_size for p in shards)
    assert 0 < rep["sizes"]["bytes_per_token"] <= rep["sizes"]["weight_bytes"] * 2
    assert rep["sizes"]["kv_bytes_per_position"] > 0


def test_text_report_mentions_plan(fixture):
    p = run_boson("inspect", fixture, check=True)
    assert "dispatch plan" in p.stdout
    assert "GDN projections:" in p.stdout
