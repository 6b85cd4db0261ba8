"""Per-provider endpoints and their costs, against a real HTTP server on loopback.

The endpoint answers are written here in the shape OpenRouter's API reference
and SDK schemas give for ``GET /models/{author}/{slug}/endpoints``
(``PublicEndpoint``: ``provider_name``, ``tag``, ``quantization``,
``pricing`` with ``discount``, ``status`` 0 / negative, ``uptime_last_5m`` /
``_30m`` / ``_1d``, ``latency_last_30m`` / ``throughput_last_30m`` as
``{p50, p75, p90, p99}``, ``supported_parameters``,
``supports_implicit_caching``). Expected costs are worked out by hand below.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import threading
import time

import numpy as np
import pandas as pd
import pytest
from factories import catalog_body, model, run_cli
from pytest_httpserver import HTTPServer
from werkzeug import Response

from vision_models import cost_per_image
from vision_models.catalog.endpoints import ENDPOINT_COLUMNS, endpoints_url, fetch_endpoints
from vision_models.catalog.frame import models_frame
from vision_models.pricing.cost import PROVIDER_COST_COLUMNS

KEY = "sk-or-v1-test-secret-0123456789abcdef"
CLAUDE = "anthropic/claude-sonnet-4"
QWEN = "qwen/qwen2.5-vl-72b-instruct"


def endpoint(provider: str, prompt: str, completion: str, **extra) -> dict:
    """One endpoint in the documented shape; every field overridable, ``None`` drops it."""
    entry = {
        "name": f"{provider} | model",
        "model_name": "Model",
        "provider_name": provider,
        "tag": provider.lower().replace(" ", "-"),
        "quantization": "fp8",
        "context_length": 200_000,
        "max_completion_tokens": 64_000,
        "max_prompt_tokens": None,
        "pricing": {"prompt": prompt, "completion": completion, "request": "0", "image": "0", "discount": 0},
        "supported_parameters": ["max_tokens", "temperature"],
        "status": 0,
        "uptime_last_5m": 100,
        "uptime_last_30m": 99.5,
        "uptime_last_1d": 99.1,
        "supports_implicit_caching": False,
        "latency_last_30m": {"p50": 800.5, "p75": 1200, "p90": 2100, "p99": 5400},
        "throughput_last_30m": {"p50": 55, "p75": 48, "p90": 40, "p99": 21},
    }
    entry.update(extra)
    return {k: v for k, v in entry.items() if v is not None}


def answer(model_id: str, *endpoints: dict) -> str:
    return json.dumps(
        {
            "data": {
                "id": model_id,
                "name": f"Name of {model_id}",
                "created": 1_700_000_000,
                "description": "Test model.",
                "architecture": {"modality": "text+image->text", "input_modalities": ["text", "image"]},
                "endpoints": list(endpoints),
            }
        }
    )


CLAUDE_ENDPOINTS = answer(
    CLAUDE,
    # $3 / $15 per million tokens, as listed.
    endpoint("Anthropic", "0.000003", "0.000015", quantization="unknown", supports_implicit_caching=True),
    # The same list price with 20 % off, and a per-image price of 1,600 tokens at the prompt price.
    endpoint(
        "Google Vertex",
        "0.000003",
        "0.000015",
        pricing={"prompt": "0.000003", "completion": "0.000015", "image": "0.0048", "discount": 0.2},
        uptime_last_30m=None,  # a missing uptime
        uptime_last_5m=None,
        uptime_last_1d=None,
    ),
    # Dearer: $3.3 / $16.5.
    endpoint("Amazon Bedrock", "0.0000033", "0.0000165", max_prompt_tokens=180_000),
    # Cheapest on paper, but down.
    endpoint("Down Host", "0.000001", "0.000005", status=-5, uptime_last_30m=12.5),
)
QWEN_ENDPOINTS = answer(
    QWEN,
    endpoint("Nebius", "0.00000013", "0.0000004", context_length=32_000, quantization="fp8"),
    endpoint("Hyperbolic", "0.0000006", "0.0000006", context_length=32_768, quantization="bf16", status=None),
)


def catalog_models() -> pd.DataFrame:
    entries = [
        model(
            CLAUDE,
            prompt="0.000003",
            completion="0.000015",
            inputs=("text", "image"),
            name="Anthropic: Claude Sonnet 4",
        ),
        model(
            QWEN, prompt="0.00000025", completion="0.00000075", inputs=("text", "image"), name="Qwen: Qwen2.5 VL 72B"
        ),
        model("openai/gpt-4o-mini", prompt="0.00000015", completion="0.0000006", inputs=("text", "image")),
    ]
    return models_frame(entries, "seed")


def path_of(model_id: str) -> str:
    return f"/models/{model_id}/endpoints"


def serve(httpserver, model_id: str = CLAUDE, body: str = CLAUDE_ENDPOINTS, status: int = 200) -> None:
    httpserver.expect_request(path_of(model_id)).respond_with_data(body, status=status, content_type="application/json")


def requests_to(httpserver, path: str) -> int:
    return sum(request.path == path for request, _ in httpserver.log)


def fetch(httpserver, ids=(CLAUDE,), **options) -> pd.DataFrame:
    options.setdefault("models", catalog_models())
    return fetch_endpoints(list(ids), base_url=httpserver.url_for("/"), **options)


# ---------------------------------------------------------------- the frame


def test_one_row_per_endpoint_with_prices_in_units_and_health_fields(httpserver):
    serve(httpserver)
    frame = fetch(httpserver)
    assert list(frame.columns) == ENDPOINT_COLUMNS
    assert frame["provider_name"].tolist() == ["Amazon Bedrock", "Anthropic", "Down Host", "Google Vertex"]
    row = frame.set_index("provider_name")
    # "0.0000033" USD per token is 3.3 USD per million tokens.
    assert row.loc["Amazon Bedrock", "prompt_usd_per_mtok"] == 3.3
    assert row.loc["Amazon Bedrock", "completion_usd_per_mtok"] == 16.5
    assert row.loc["Amazon Bedrock", "max_prompt_tokens"] == 180_000
    assert pd.isna(row.loc["Anthropic", "max_prompt_tokens"])
    assert row.loc["Google Vertex", "discount"] == 0.2
    assert row.loc["Google Vertex", "image_price"] == 0.0048
    assert np.isnan(row.loc["Google Vertex", "uptime_last_30m"]) and np.isnan(
        row.loc["Google Vertex", "uptime_last_1d"]
    )
    assert row.loc["Anthropic", "uptime_last_30m"] == 99.5 and row.loc["Anthropic", "uptime_last_5m"] == 100
    assert row.loc["Down Host", "status"] == -5 and row.loc["Anthropic", "status"] == 0
    assert row.loc["Anthropic", "latency_last_30m_p50_ms"] == 800.5
    assert row.loc["Anthropic", "throughput_last_30m_p99_tokens_per_s"] == 21
    assert frame["supports_implicit_caching"].tolist() == [False, True, False, False]
    assert row.loc["Anthropic", "supported_parameters"] == ["max_tokens", "temperature"]
    assert row.loc["Anthropic", "quantization"] == "unknown" and row.loc["Anthropic", "tag"] == "anthropic"
    assert set(frame["id"]) == {CLAUDE} and set(frame["name"]) == {f"Name of {CLAUDE}"}
    assert set(frame["provider"]) == {"anthropic"}
    assert frame["fetched_at"].notna().all() and not frame["cached"].any() and not frame["stale"].any()
    assert frame.attrs["errors"] == {}
    assert str(frame["status"].dtype) == "Int64" and str(frame["context_length"].dtype) == "Int64"


def test_rows_follow_the_ids_in_the_order_given(httpserver):
    serve(httpserver)
    serve(httpserver, QWEN, QWEN_ENDPOINTS)
    frame = fetch(httpserver, ids=[QWEN, CLAUDE])
    assert frame["id"].tolist() == [QWEN] * 2 + [CLAUDE] * 4
    assert frame["provider_name"].tolist()[:2] == ["Hyperbolic", "Nebius"]
    assert pd.isna(frame.loc[0, "status"])  # Hyperbolic lists no status: unknown, not online


def test_every_field_is_optional_and_junk_is_a_missing_cell(httpserver):
    odd = answer(
        CLAUDE,
        {"provider_name": "Bare"},
        {
            "provider_name": "Junk",
            "pricing": {"prompt": "-1", "completion": "abc", "discount": 7},
            "status": "x",
            "context_length": -3,
            "uptime_last_30m": "n/a",
            "latency_last_30m": 900,
            "supported_parameters": "tools",
            "supports_implicit_caching": "yes",
            "uptime_last_7d": 97.0,
        },
        "not an endpoint",
    )
    serve(httpserver, body=odd)
    with pytest.warns(UserWarning, match="skipped 1 endpoints"):
        frame = fetch(httpserver)
    assert frame["provider_name"].tolist() == ["Bare", "Junk"]
    for column in (
        "prompt_usd_per_mtok",
        "completion_usd_per_mtok",
        "discount",
        "uptime_last_30m",
        "latency_last_30m_p50_ms",
    ):
        assert frame[column].isna().all(), column
    assert frame["status"].isna().all() and frame["context_length"].isna().all()
    assert frame["supports_implicit_caching"].isna().all()
    assert frame["supported_parameters"].tolist() == [[], []]
    assert frame["uptime_last_7d"].tolist()[1] == 97.0  # another uptime window, kept when present


def test_endpoints_url_quotes_each_part():
    assert (
        endpoints_url("http://h/api/v1/", "openai/gpt-4o-mini") == "http://h/api/v1/models/openai/gpt-4o-mini/endpoints"
    )
    assert endpoints_url("http://h", "meta-llama/llama-3.2-11b-vision-instruct:free").endswith(
        "/models/meta-llama/llama-3.2-11b-vision-instruct:free/endpoints"
    )
    assert endpoints_url("http://h", "a/b c?d") == "http://h/models/a/b%20c%3Fd/endpoints"


# ---------------------------------------------------------------- bad input


def test_an_unknown_id_is_a_value_error_with_close_matches_and_no_request(httpserver):
    serve(httpserver)
    with pytest.raises(
        ValueError, match=r"unknown model id 'anthropic/claude-sonet-4'.*close matches: anthropic/claude-sonnet-4"
    ):
        fetch(httpserver, ids=["anthropic/claude-sonet-4"])
    assert len(httpserver.log) == 0


def test_without_models_the_ids_are_checked_against_the_catalog_first(httpserver):
    httpserver.expect_request("/models").respond_with_data(catalog_body(model(CLAUDE)), content_type="application/json")
    serve(httpserver)
    with pytest.raises(ValueError, match="unknown model id 'openai/gpt-5-nano'"):
        fetch_endpoints(["openai/gpt-5-nano"], base_url=httpserver.url_for("/"))
    assert requests_to(httpserver, "/models") == 1 and requests_to(httpserver, path_of(CLAUDE)) == 0
    assert len(fetch_endpoints(CLAUDE, base_url=httpserver.url_for("/"))) == 4


@pytest.mark.parametrize("ids", [[], ["no-slash"], [""], [None]])
def test_bad_ids_are_value_errors(httpserver, ids):
    with pytest.raises(ValueError, match="model id"):
        fetch(httpserver, ids=ids)


@pytest.mark.parametrize("workers", [0, 17, 2.5, True, "4"])
def test_bad_max_workers_is_a_value_error(httpserver, workers):
    with pytest.raises(ValueError, match="max_workers"):
        fetch(httpserver, max_workers=workers)


# ---------------------------------------------------------------- cache and failures


def test_the_second_call_is_served_from_the_cache(httpserver):
    serve(httpserver)
    first = fetch(httpserver)
    second = fetch(httpserver)
    assert requests_to(httpserver, path_of(CLAUDE)) == 1
    assert second["cached"].all() and not first["cached"].any()
    same = ["cached", "fetched_at"]
    pd.testing.assert_frame_equal(first.drop(columns=same), second.drop(columns=same))
    assert (second["fetched_at"] - first["fetched_at"]).abs().max() < pd.Timedelta(seconds=1)


def test_refresh_asks_again(httpserver):
    serve(httpserver)
    fetch(httpserver)
    fetch(httpserver, refresh=True)
    assert requests_to(httpserver, path_of(CLAUDE)) == 2


def test_a_401_without_a_key_says_a_key_is_needed_and_nothing_is_cached(httpserver):
    body = json.dumps({"error": {"code": 401, "message": "No auth credentials found"}})
    serve(httpserver, body=body, status=401)
    with pytest.warns(UserWarning, match="OPENROUTER_API_KEY"):
        frame = fetch(httpserver)
    assert frame.empty and list(frame.columns) == ENDPOINT_COLUMNS
    message = frame.attrs["errors"][CLAUDE]
    assert message.startswith("Failed to fetch endpoints: 401 Unauthorized")
    assert "needs an OpenRouter API key: set OPENROUTER_API_KEY" in message
    httpserver.clear()
    serve(httpserver)
    assert not fetch(httpserver)["cached"].any()  # the 401 was not cached


def test_a_refused_key_is_named_as_refused_and_never_shown(httpserver):
    serve(httpserver, body="{}", status=401)
    with pytest.warns(UserWarning) as caught:
        frame = fetch(httpserver, api_key=KEY)
    message = frame.attrs["errors"][CLAUDE]
    assert "refused the API key" in message and KEY not in message
    assert all(KEY not in str(w.message) for w in caught)


def test_the_key_is_sent_as_bearer_and_never_written_to_the_cache(httpserver, cache_file, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    serve(httpserver)
    fetch(httpserver)
    sent = [request.headers.get("Authorization") for request, _ in httpserver.log]
    assert sent == [f"Bearer {KEY}"]
    from vision_models.http.client import close_sessions

    close_sessions()
    assert KEY.encode() not in cache_file.read_bytes()


def test_a_500_after_a_good_fetch_serves_the_cached_copy_stale(httpserver):
    serve(httpserver)
    good = fetch(httpserver)
    httpserver.clear()
    serve(httpserver, body="oops", status=500)
    with pytest.warns(UserWarning, match="500 Internal Server Error"):
        again = fetch(httpserver, refresh=True)
    assert again["stale"].all() and again["cached"].all()
    assert again.attrs["errors"] == {CLAUDE: "Failed to fetch endpoints: 500 Internal Server Error"}
    same = ["cached", "stale", "fetched_at"]
    pd.testing.assert_frame_equal(good.drop(columns=same), again.drop(columns=same))


def test_an_expired_copy_is_served_stale_when_asking_again_fails(httpserver):
    serve(httpserver)
    fetch(httpserver, expire_after=1)
    time.sleep(1.2)
    httpserver.clear()
    serve(httpserver, body="{}", status=503)
    with pytest.warns(UserWarning, match="503 Service Unavailable"):
        again = fetch(httpserver, expire_after=1)
    assert len(again) == 4 and again["stale"].all()
    assert requests_to(httpserver, path_of(CLAUDE)) == 3  # one ask, two retries of the 503


@pytest.mark.parametrize(
    "body",
    [
        catalog_body(model(CLAUDE)),  # a catalog, not an endpoints answer
        json.dumps({"data": {"id": CLAUDE}}),  # no endpoints list
        "<html>maintenance</html>",
    ],
)
def test_a_200_that_is_not_an_endpoints_answer_never_replaces_the_good_copy(httpserver, body):
    serve(httpserver)
    fetch(httpserver)
    httpserver.clear()
    serve(httpserver, body=body)
    with pytest.warns(UserWarning, match="Failed to fetch endpoints: the body is not"):
        bad = fetch(httpserver, refresh=True)
    assert len(bad) == 4 and bad["stale"].all()
    httpserver.clear()
    again = fetch(httpserver)  # fresh: the good copy is still in the cache, nothing asked
    assert len(again) == 4 and again["cached"].all() and not again["stale"].any()
    assert len(httpserver.log) == 0


def test_a_non_endpoints_200_without_a_cached_copy_is_an_error_and_is_not_cached(httpserver):
    serve(httpserver, body=catalog_body(model(CLAUDE)))
    with pytest.warns(UserWarning):
        frame = fetch(httpserver)
    assert frame.empty and "not an endpoints answer" in frame.attrs["errors"][CLAUDE]
    httpserver.clear()
    serve(httpserver)
    assert len(fetch(httpserver)) == 4
    assert requests_to(httpserver, path_of(CLAUDE)) == 1


def test_a_refused_connection_is_network_request_failed():
    with socket_closed_port() as port:
        with pytest.warns(UserWarning, match="Network request failed"):
            frame = fetch_endpoints([CLAUDE], models=catalog_models(), base_url=f"http://127.0.0.1:{port}")
    assert frame.empty and frame.attrs["errors"] == {CLAUDE: "Network request failed"}


def test_an_endpoint_that_trickles_its_answer_is_cut_at_the_deadline(httpserver):
    # The body arrives a few bytes at a time, each read well inside the 10 s read time-out: only a
    # deadline over the whole fetch bounds the wait.
    def trickle(request):
        def chunks():
            for piece in CLAUDE_ENDPOINTS.encode()[:60]:
                time.sleep(0.2)
                yield bytes([piece])

        return Response(chunks(), content_type="application/json")

    httpserver.expect_request(path_of(CLAUDE)).respond_with_handler(trickle)
    started = time.monotonic()
    with pytest.warns(UserWarning, match="timed out"):
        frame = fetch(httpserver, deadline=1.0)
    assert time.monotonic() - started < 5
    assert frame.empty and "timed out" in frame.attrs["errors"][CLAUDE]


def test_a_deeply_nested_body_is_refused_like_any_non_endpoints_answer(httpserver):
    serve(httpserver, body="[" * 100_000 + "]" * 100_000)
    with pytest.warns(UserWarning, match="nested too deeply"):
        frame = fetch(httpserver)
    assert frame.empty and "nested too deeply" in frame.attrs["errors"][CLAUDE]


def test_one_model_failing_keeps_the_others(httpserver):
    serve(httpserver)
    serve(httpserver, QWEN, "{}", status=404)
    with pytest.warns(UserWarning, match="404 Not Found"):
        frame = fetch(httpserver, ids=[CLAUDE, QWEN])
    assert set(frame["id"]) == {CLAUDE} and list(frame.attrs["errors"]) == [QWEN]


def test_requests_run_concurrently_but_never_more_than_max_workers():
    ids = [f"vendor/model-{n}" for n in range(8)]
    models = models_frame([model(i) for i in ids])
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def slow(request):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        model_id = request.path.split("/models/", 1)[1].rsplit("/endpoints", 1)[0]
        return Response(answer(model_id, endpoint("Host", "0.000001", "0.000002")), content_type="application/json")

    server = HTTPServer(threaded=True)
    for i in ids:
        server.expect_request(path_of(i)).respond_with_handler(slow)
    server.start()
    try:
        frame = fetch_endpoints(ids, models=models, base_url=server.url_for("/"), max_workers=3)
    finally:
        server.clear()
        server.stop()
    assert frame["id"].tolist() == ids
    assert 2 <= state["most"] <= 3


def test_a_cache_file_that_breaks_while_in_use_is_rebuilt(httpserver, cache_file, monkeypatch):
    serve(httpserver)
    import vision_models.catalog.endpoints as endpoints

    calls = {"n": 0}
    real = endpoints._fetch_one

    def broken_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlite3.DatabaseError("file is not a database")
        return real(*args, **kwargs)

    monkeypatch.setattr(endpoints, "_fetch_one", broken_once)
    with pytest.warns(UserWarning, match="corrupt"):
        frame = fetch(httpserver)
    assert len(frame) == 4


# ---------------------------------------------------------------- cost per provider


def claude_costs(httpserver, **options):
    serve(httpserver)
    eps = fetch(httpserver)
    models = catalog_models()
    tokens = int(cost_per_image(models[models["id"] == CLAUDE], 750, 750)["image_tokens"].iloc[0])
    costs = cost_per_image(models, 750, 750, output_tokens=100, by_provider=True, endpoints=eps, **options)
    return costs, tokens


def test_each_endpoint_is_priced_at_its_own_prices_after_its_discount(httpserver):
    costs, tokens = claude_costs(httpserver)
    assert list(costs.columns) == PROVIDER_COST_COLUMNS
    usd = costs.set_index("provider_name")["usd_per_image"]
    # tokens x prompt price + 100 answer tokens x completion price, per endpoint:
    assert usd["Anthropic"] == pytest.approx(tokens * 3e-6 + 100 * 15e-6, abs=1e-12)
    assert usd["Google Vertex"] == pytest.approx(0.8 * (tokens * 3e-6 + 100 * 15e-6), abs=1e-12)  # 20 % off
    assert usd["Amazon Bedrock"] == pytest.approx(tokens * 3.3e-6 + 100 * 16.5e-6, abs=1e-12)
    assert usd["Down Host"] == pytest.approx(tokens * 1e-6 + 100 * 5e-6, abs=1e-12)
    row = costs.set_index("provider_name")
    assert row.loc["Google Vertex", "prompt_usd_per_mtok"] == pytest.approx(2.4)
    assert row.loc["Google Vertex", "completion_usd_per_mtok"] == pytest.approx(12.0)
    # The catalog's headline ($3 / $15) for comparison, on every row of the model.
    assert np.allclose(costs["catalog_usd_per_image"], tokens * 3e-6 + 100 * 15e-6, rtol=0, atol=1e-12)


def test_the_image_price_is_read_against_the_discounted_prompt_price_as_for_the_catalog(httpserver):
    costs, _ = claude_costs(httpserver)
    vertex = costs.set_index("provider_name").loc["Google Vertex"]
    # 0.0048 USD per image with 20 % off is 0.00384; at 2.4 USD per million tokens that is 1,600 tokens.
    assert vertex["listed_image_price"] == pytest.approx(0.00384)
    assert vertex["listed_price_reading"].startswith("per image: 1,600 tokens at the prompt price")


def test_cheapest_and_dearest_leave_out_endpoints_that_are_down(httpserver):
    costs, tokens = claude_costs(httpserver)
    anthropic = tokens * 3e-6 + 100 * 15e-6
    low, high = 0.8 * anthropic, tokens * 3.3e-6 + 100 * 16.5e-6
    assert set(costs["cheapest_provider"]) == {"Google Vertex"} and set(costs["dearest_provider"]) == {"Amazon Bedrock"}
    assert set(costs["providers_priced"]) == {3}
    assert costs["min_usd_per_image"].iloc[0] == pytest.approx(low, abs=1e-12)
    assert costs["spread_usd_per_image"].iloc[0] == pytest.approx(high - low, abs=1e-12)
    assert costs["spread_pct"].iloc[0] == pytest.approx((high / low - 1) * 100, abs=1e-4)
    row = costs.set_index("provider_name")
    assert row.loc["Anthropic", "vs_cheapest_pct"] == pytest.approx(25.0)  # 1 / 0.8 - 1
    assert row.loc["Google Vertex", "vs_cheapest_pct"] == 0
    assert costs["provider_name"].tolist() == ["Google Vertex", "Anthropic", "Amazon Bedrock", "Down Host"]


def test_several_models_each_row_keeps_its_own_endpoint(httpserver):
    serve(httpserver)
    serve(httpserver, QWEN, QWEN_ENDPOINTS)
    models = catalog_models()
    eps = fetch(httpserver, ids=[CLAUDE, QWEN])
    costs = cost_per_image(models, 750, 750, output_tokens=100, by_provider=True, endpoints=eps)
    assert len(costs) == 6 and set(costs["id"]) == {CLAUDE, QWEN}
    qwen = costs[costs["id"] == QWEN].set_index("provider_name")
    tokens = int(cost_per_image(models[models["id"] == QWEN], 750, 750)["image_tokens"].iloc[0])
    assert qwen.loc["Nebius", "usd_per_image"] == pytest.approx(tokens * 0.13e-6 + 100 * 0.4e-6, abs=1e-12)
    assert qwen.loc["Hyperbolic", "usd_per_image"] == pytest.approx(tokens * 0.6e-6 + 100 * 0.6e-6, abs=1e-12)
    assert qwen.loc["Nebius", "context_length"] == 32_000 and qwen.loc["Hyperbolic", "context_length"] == 32_768
    assert set(qwen["cheapest_provider"]) == {"Nebius"}
    assert costs["id"].iloc[0] == QWEN  # the model whose cheapest endpoint is cheapest comes first
    assert "openai/gpt-4o-mini" not in set(costs["id"])  # no endpoints fetched for it: no rows


def test_by_provider_fetches_the_endpoints_when_not_given(httpserver, monkeypatch):
    monkeypatch.setenv("OPENROUTER_BASE_URL", httpserver.url_for("/"))
    serve(httpserver)
    models = catalog_models()
    costs = cost_per_image(models[models["id"] == CLAUDE], 750, 750, output_tokens=100, by_provider=True)
    assert len(costs) == 4 and requests_to(httpserver, path_of(CLAUDE)) == 1


def test_by_provider_with_no_endpoints_is_an_empty_table_with_the_columns(httpserver):
    serve(httpserver, body="{}", status=401)
    with pytest.warns(UserWarning):
        eps = fetch(httpserver)
    costs = cost_per_image(catalog_models(), 750, 750, by_provider=True, endpoints=eps)
    assert costs.empty and list(costs.columns) == PROVIDER_COST_COLUMNS
    assert CLAUDE in costs.attrs["errors"]


def test_by_provider_checks_the_image_before_fetching(httpserver):
    with pytest.raises(ValueError, match="preset"):
        cost_per_image(catalog_models(), preset="a5", by_provider=True)
    assert len(httpserver.log) == 0


# ---------------------------------------------------------------- helpers


class socket_closed_port:
    """A loopback port nobody listens on."""

    def __enter__(self) -> int:
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return self.port

    def __exit__(self, *exc) -> None:
        return None


# ---------------------------------------------------------------- command line


def cli(httpserver, *args: str) -> subprocess.CompletedProcess:
    """``vision-models ARGS`` against the loopback server, in this process (``main(argv)``, as test_cli runs it)."""
    return run_cli(*args, env={"OPENROUTER_BASE_URL": httpserver.url_for("/")})


def serve_catalog(httpserver) -> None:
    entries = [model(CLAUDE, prompt="0.000003", completion="0.000015", inputs=("text", "image")), model(QWEN)]
    httpserver.expect_request("/models").respond_with_data(catalog_body(*entries), content_type="application/json")


def test_cli_endpoints_csv_and_table(httpserver):
    serve_catalog(httpserver)
    serve(httpserver)
    out = cli(httpserver, "endpoints", CLAUDE, "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["provider_name"] for r in rows] == ["Amazon Bedrock", "Anthropic", "Down Host", "Google Vertex"]
    assert rows[0]["prompt_usd_per_mtok"] == "3.3" and rows[3]["discount"] == "0.2" and rows[3]["uptime_last_30m"] == ""
    table = cli(httpserver, "endpoints", CLAUDE)
    assert table.returncode == 0 and table.stdout.splitlines()[-1] == "4 endpoints of 1 model"
    assert "Google Vertex" in table.stdout and "20%" in table.stdout


def test_cli_endpoints_unknown_id_is_exit_2_in_one_line(httpserver):
    serve_catalog(httpserver)
    out = cli(httpserver, "endpoints", "anthropic/claude-sonet-4")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "close matches: anthropic/claude-sonnet-4" in out.stderr


def test_cli_endpoints_401_is_exit_1_saying_a_key_is_needed(httpserver):
    serve_catalog(httpserver)
    serve(httpserver, body="{}", status=401)
    out = cli(httpserver, "endpoints", CLAUDE)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().endswith("this API needs an OpenRouter API key: set OPENROUTER_API_KEY)")
    assert "api_key" not in out.stderr  # the command line has no such thing to pass
    assert "Traceback" not in out.stderr and "Warning" not in out.stderr


def test_cli_endpoints_escape_remote_text_in_the_table(httpserver):
    serve_catalog(httpserver)
    serve(httpserver, body=answer(CLAUDE, endpoint("Evil\x1b[2J Host", "0.000001", "0.000002")))
    out = cli(httpserver, "endpoints", CLAUDE)
    assert (
        out.returncode == 0 and "\x1b" not in out.stdout and "Evil\\x1b[2J Host" in out.stdout
    )  # the escape shown as in every table


def test_cli_cost_by_provider(httpserver, tmp_path):
    serve(httpserver)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(catalog_body(model(CLAUDE, prompt="0.000003", completion="0.000015", inputs=("text", "image"))))
    args = (
        "cost",
        "--source",
        str(catalog),
        "--width",
        "750",
        "--height",
        "750",
        "--output-tokens",
        "100",
        "--by-provider",
    )
    out = cli(httpserver, *args, "--format", "json")
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert [r["provider_name"] for r in records] == ["Google Vertex", "Anthropic", "Amazon Bedrock", "Down Host"]
    assert {r["cheapest_provider"] for r in records} == {"Google Vertex"}
    table = cli(httpserver, *args)
    lines = table.stdout.splitlines()
    assert lines[-1] == "4 endpoints of 1 model"
    assert lines[2].split()[-1] == "cheapest" and lines[4].split()[-1] == "dearest" and lines[5].split()[-1] == "down"
    mixed = cli(httpserver, *args, "--as-of", "2026-04-01")
    assert mixed.returncode == 2 and "--as-of" in mixed.stderr


# ---------------------------------------------------------------- the comparison widget


def test_the_comparison_widget_shows_the_provider_spread_when_given_endpoints(httpserver):
    pytest.importorskip("ipywidgets")
    from vision_models.present.widgets import ModelComparison

    serve(
        httpserver,
        body=answer(
            CLAUDE, endpoint("<b>Evil</b> Host", "0.000003", "0.000015"), endpoint("Anthropic", "0.000003", "0.000015")
        ),
    )
    serve(httpserver, QWEN, QWEN_ENDPOINTS)
    eps = fetch(httpserver, ids=[CLAUDE, QWEN])
    models = catalog_models()
    options = dict(preset="letter-200dpi", prompt_tokens=60, output_tokens=700, chart=False)
    plain = ModelComparison(models, ids=[CLAUDE, QWEN], **options)
    assert plain.by_provider is None and plain.providers.value == ""
    widget = ModelComparison(models, ids=[CLAUDE, QWEN], endpoints=eps, **options)
    assert len(widget.by_provider) == 4 and set(widget.by_provider["id"]) == {CLAUDE, QWEN}
    expected = cost_per_image(
        models[models["id"].isin([CLAUDE, QWEN])],
        by_provider=True,
        endpoints=eps,
        preset="letter-200dpi",
        prompt_tokens=60,
        output_tokens=700,
    )
    pd.testing.assert_frame_equal(widget.by_provider, expected)
    assert "&lt;b&gt;Evil&lt;/b&gt; Host" in widget.providers.value and "<b>Evil" not in widget.providers.value
    widget.select.value = (CLAUDE,)  # one model: its own endpoints
    assert len(widget.by_provider) == 2 and set(widget.by_provider["id"]) == {CLAUDE}
    widget.select.value = ()
    assert widget.by_provider is None and widget.providers.value == ""


def test_a_host_that_documents_its_own_rule_prices_its_endpoint_by_it(httpserver):
    # Alibaba Cloud Model Studio caps a Qwen-VL image at 1,280 tokens of 28x28 px by default (its vision docs):
    # 1700x2200 -> beta = sqrt(3,740,000 / 1,003,520) = 1.9305; floor(2200/1.9305/28) = 40 rows,
    # floor(1700/1.9305/28) = 31 columns -> 1,240 tokens. Nebius runs the open processor's limits: 61 x 79 = 4,819.
    body = answer(
        QWEN,
        endpoint("Alibaba", "0.0000008", "0.0000032"),
        endpoint("Nebius", "0.00000013", "0.0000004"),
    )
    serve(httpserver, QWEN, body)
    eps = fetch(httpserver, ids=(QWEN,))
    models = catalog_models()
    costs = cost_per_image(models[models["id"] == QWEN], 1700, 2200, by_provider=True, endpoints=eps)
    rows = costs.set_index("provider_name")
    assert rows.loc["Alibaba", "image_tokens"] == 1240
    assert rows.loc["Alibaba", "rule_of"] == "this host's own rule (qwen2.5-vl@alibaba)"
    assert "alibabacloud.com" in rows.loc["Alibaba", "rule_source"]
    assert rows.loc["Nebius", "image_tokens"] == 4819
    assert rows.loc["Nebius", "rule_of"] == "rule of the model, not of this host"
    assert rows.loc["Alibaba", "image_usd"] == pytest.approx(1240 * 0.8e-6)
