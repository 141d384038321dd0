"""A small blueprint with one indicator of each kind, shared by the scoring tests."""

import pytest

from touchpoint.model import Blueprint, ControlIndicator, Touchpoint


def make_blueprint() -> Blueprint:
    return Blueprint(
        name="test-shop",
        stages=["awareness", "transaction", "cooperation"],
        touchpoints=[
            Touchpoint(
                code="MAIL",
                name="E-mail reply",
                category="channel",
                stage="awareness",
                line="service",
                channels=["email"],
                key=True,
                indicators=[
                    ControlIndicator(
                        "reply-24h",
                        "Reply within 24 hours",
                        kind="time_limit",
                        target=24,
                        unit="hours",
                    ),
                    ControlIndicator(
                        "calls",
                        "Three follow-up calls within 7 days",
                        kind="count",
                        target=3,
                        counts=["CALL"],
                        within="7 days",
                    ),
                ],
            ),
            Touchpoint(
                code="CALL",
                name="Follow-up call",
                category="people",
                stage="cooperation",
                line="service",
                channels=["phone"],
            ),
            Touchpoint(
                code="SHOP",
                name="Showroom visit",
                category="channel",
                stage="transaction",
                line="product",
                channels=["store"],
                key=True,
                indicators=[
                    ControlIndicator("csat", "Rated 4 or better", kind="rating", target=4, scale=5),
                    ControlIndicator("smile", "Greeted with a smile", kind="checklist"),
                    ControlIndicator(
                        "wait",
                        "Served within 10 minutes",
                        kind="time_limit",
                        target=10,
                        unit="minutes",
                        comparison="<",
                    ),
                ],
            ),
        ],
    )


@pytest.fixture(scope="session")
def blueprint() -> Blueprint:
    return make_blueprint()
