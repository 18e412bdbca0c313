"""Property: whatever bytes or YAML a post file holds, the loader returns
posts and/or problems. It never raises, and it finishes in bounded time."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spi_campaign.config import load_config
from spi_campaign.loader import read_post_file
from spi_campaign.validate import check_campaign
from spi_campaign.models import Campaign

KEYS = ["id", "title", "topic", "status", "publish_at", "repeat", "until", "accounts", "text", "link",
        "hashtags", "media", "variants", "thread", "path", "alt", "url", "x", "arsip", "<<"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
                    st.sampled_from(["2026-12-09 09:00", "2026-02-30 09:00", "0 9 * * FRI", "* * *", "draft",
                                     "approved", "arsip", "x", "https://jaga.id", "media/p.png", "2027-03-31"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)), max_leaves=20)
documents = st.one_of(st.dictionaries(st.sampled_from(KEYS), values, max_size=10), st.lists(values, max_size=3), values)


def _config(tmp: Path):
    (tmp / "posts").mkdir(exist_ok=True)
    cfg = tmp / "config.yaml"
    cfg.write_text("accounts:\n  arsip: {platform: file, path: o.jsonl}\n")
    return load_config(cfg)


def _check(path: Path, config) -> None:
    posts, problems, ok = read_post_file(path, config)
    campaign = Campaign(config=config, posts=posts, problems=problems, files=1)
    check_campaign(campaign)
    for p in campaign.problems:
        assert p.severity in ("error", "warning") and p.message and "\n" not in p.message
    if not ok:
        assert any(p.severity == "error" for p in problems)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes(tmp_path, data):
    config = _config(tmp_path)
    path = tmp_path / "posts" / "f.yaml"
    path.write_bytes(data)
    _check(path, config)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents)
# found by this test: values with a newline were echoed into one-line messages
@example(doc=[{"publish_at": "0\n0"}])
@example(doc=[{"id": None, "repeat": "\n"}])
def test_random_yaml_structures(tmp_path, doc):
    import yaml

    config = _config(tmp_path)
    path = tmp_path / "posts" / "f.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    _check(path, config)


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#\n %@`,?") + ["\t", "\u00e9"]), max_size=200))
def test_random_yaml_text(tmp_path, text):
    config = _config(tmp_path)
    path = tmp_path / "posts" / "f.yaml"
    path.write_text(text, encoding="utf-8")
    _check(path, config)


@settings(max_examples=300, deadline=2000)
@given(doc=documents)
def test_fast_constructor_matches_pyyaml(doc):
    """yamlio builds plain documents itself (for speed and line numbers); it
    must produce exactly what PyYAML's safe constructor produces."""
    import yaml

    from spi_campaign import yamlio

    class Standard(yamlio._Loader):
        construct_document = yamlio._Base.construct_document

    text = yaml.safe_dump(doc, allow_unicode=True)
    for extra in ("", "\n---\nmore: [1, 0x1f, 1_000, .inf, ~, yes, '2026-12-09 09:00']\n"):
        try:
            expected = list(yaml.load_all(text + extra, Loader=Standard))
        except yaml.YAMLError:
            continue
        assert yamlio.load_text(text + extra) == expected
