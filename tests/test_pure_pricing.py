"""Pricing is pure: ``price_images`` reads no store, file or environment and opens no socket; ``vm.cost_per_image``
is the convenience that reads the trials store and fetches the endpoints, then calls it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, MutableMapping

import pandas as pd
import pytest
from factories import model

import vision_models as vm
from vision_models.catalog.frame import models_frame
from vision_models.pricing.cost import price_images

MINI = "openai/gpt-4o-mini"

#: Audit events (PEP 578) that mean I/O: files, sockets, databases, processes, directory listings.
IO_EVENTS = ("open", "socket.", "sqlite3.", "subprocess.", "os.listdir", "os.scandir", "os.system", "os.exec")

_watching: list[list[str]] = []


def _hook(event: str, args: tuple) -> None:
    if _watching and event.startswith(IO_EVENTS):
        _watching[-1].append(event)


sys.addaudithook(_hook)  # a hook stays for the process; it records only inside `io_events()`


class _NoEnvironment(MutableMapping):
    """``os.environ`` that fails on any read: the pure functions must not consult it."""

    def __getitem__(self, key):
        raise AssertionError(f"read the environment: {key}")

    def __setitem__(self, key, value):
        raise AssertionError(f"wrote the environment: {key}")

    def __delitem__(self, key):
        raise AssertionError(f"wrote the environment: {key}")

    def __iter__(self) -> Iterator:
        raise AssertionError("listed the environment")

    def __len__(self) -> int:
        raise AssertionError("listed the environment")


class io_events:
    """Record the I/O audit events raised inside the block (``.seen``)."""

    def __enter__(self):
        self.seen: list[str] = []
        _watching.append(self.seen)
        return self

    def __exit__(self, *exc):
        _watching.pop()


@pytest.fixture
def catalog():
    return models_frame([model(MINI, prompt="0.00000015", completion="0.0000006", inputs=("text", "image"))])


@pytest.fixture
def store_that_must_not_be_read(tmp_path, monkeypatch):
    """A trials path that raises if opened: a directory named like the store, as the environment's default."""
    trap = tmp_path / "trials.sqlite"
    trap.mkdir()
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(trap))
    return trap


def test_price_images_touches_no_file_socket_or_environment(catalog, store_that_must_not_be_read, monkeypatch):
    import socket
    import warnings

    price_images(catalog, 1700, 2200, output_tokens=700)  # first call: the modules it imports are loaded
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading the trap would be a warning
        with monkeypatch.context() as blocked:
            blocked.setattr(socket, "socket", None)  # any socket is a TypeError
            blocked.setattr(os, "environ", _NoEnvironment())
            with io_events() as io:
                costs = price_images(catalog, 1700, 2200, output_tokens=700, prefer_measured=True)
                with pytest.raises(ValueError, match="endpoints=None"):
                    price_images(catalog, 1700, 2200, by_provider=True)
    assert io.seen == []
    assert costs["method"].tolist() != ["measured"] and "measured_image_tokens" not in costs


def test_the_io_probe_sees_the_convenience_read_the_store(catalog, tmp_path, monkeypatch):
    """The probe above can fail: vm.cost_per_image does open the trials store when there is one."""
    import sqlite3
    import warnings

    path = tmp_path / "not-a-store.sqlite"
    sqlite3.connect(path).close()  # an empty SQLite file: not the trials store, so one warning
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(path))
    with warnings.catch_warnings(record=True), io_events() as io:
        warnings.simplefilter("always")
        vm.cost_per_image(catalog, 1700, 2200)
    assert io.seen, "reading the store raised no audit event"


def measured(tokens: float, width: int = 1700, height: int = 2200) -> pd.DataFrame:
    """A measured_image_tokens() frame of one row for MINI."""
    return pd.DataFrame({
        "model": [MINI], "width_px": [width], "height_px": [height], "pixels": [float(width * height)], "pages": [3.0],
        "measured_image_tokens": [tokens], "estimated_image_tokens": [25_501.0], "estimate_ratio": [25_501.0 / tokens],
    })  # fmt: skip


def test_a_measurements_frame_sets_the_image_tokens_to_the_measured_value(catalog, store_that_must_not_be_read):
    # By hand, OpenAI's tile rule for gpt-4o-mini at 1700x2200: fit 2048x2048 -> 1583x2048, shortest side 768 ->
    # 768x994, 2x2 tiles of 512: 2,833 + 4 x 5,667 = 25,501 image tokens.
    plain = price_images(catalog, 1700, 2200, output_tokens=700).set_index("id").loc[MINI]
    assert plain["image_tokens"] == 25_501
    shown = price_images(catalog, 1700, 2200, output_tokens=700, measured=measured(2_900)).set_index("id").loc[MINI]
    assert shown["image_tokens"] == 25_501 and shown["measured_image_tokens"] == 2_900  # shown, not priced
    priced = price_images(catalog, 1700, 2200, output_tokens=700, measured=measured(2_900), prefer_measured=True)
    row = priced.set_index("id").loc[MINI]
    assert row["image_tokens"] == 2_900 and row["method"] == "measured" and not row["uncertain"]
    # 2,900 x $0.15/M = $0.000435 for the image; 700 x $0.60/M = $0.00042 for the answer.
    assert row["image_usd"] == pytest.approx(0.000435, abs=1e-12)
    assert row["usd_per_image"] == pytest.approx(0.000855, abs=1e-12)


def test_a_measurement_of_another_size_is_not_used(catalog):
    # 1000x1000 is 1,000,000 pixels, far from 1700x2200 = 3,740,000 (more than 25 % away): not comparable.
    row = price_images(catalog, 1700, 2200, measured=measured(900, 1000, 1000), prefer_measured=True)
    assert row["image_tokens"].tolist() == [25_501] and row["measured_image_tokens"].isna().all()


def test_the_convenience_is_the_pure_table_with_the_store_read(catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("VISION_MODELS_TRIALS", str(tmp_path / "absent.sqlite"))  # no store: nothing to add
    pd.testing.assert_frame_equal(
        vm.cost_per_image(catalog, 1700, 2200, output_tokens=700), price_images(catalog, 1700, 2200, output_tokens=700)
    )
    frame = measured(2_900)
    pd.testing.assert_frame_equal(
        vm.cost_per_image(catalog, 1700, 2200, measured=frame, prefer_measured=True),
        price_images(catalog, 1700, 2200, measured=frame, prefer_measured=True),
    )


def test_the_old_path_of_cost_per_image_says_it_is_the_pure_table_now():
    from vision_models.pricing import cost

    with pytest.warns(DeprecationWarning, match="pure price_images now"):
        old = cost.cost_per_image
    assert old is price_images
