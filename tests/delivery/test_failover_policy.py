import pytest

from messaging.services.errors import ServiceError
from messaging.services.failover_policy import delay_seconds, get_policy, set_policy, validate_policy

pytestmark = pytest.mark.django_db


def test_it_defaults_to_the_seed_rule(app, settings):
    settings.PARLEY_FAILOVER_SECONDS = 42
    assert get_policy(app) is None
    assert delay_seconds(app) == 42


def test_it_stores_and_clears_a_policy(app):
    assert set_policy(app, {"delaySeconds": 30, "chain": ["web", "messenger", "twilio", "email"]}) == {
        "delaySeconds": 30, "chain": ["web", "messenger", "twilio", "email"]}
    app.refresh_from_db()
    assert get_policy(app)["chain"][1] == "messenger"
    assert delay_seconds(app) == 30
    set_policy(app, None)
    app.refresh_from_db()
    assert get_policy(app) is None


@pytest.mark.parametrize("bad, says", [
    ([], "object"),
    ({"delaySeconds": 0, "chain": ["web"]}, "delaySeconds"),
    ({"delaySeconds": "5", "chain": ["web"]}, "delaySeconds"),
    ({"delaySeconds": 5, "chain": []}, "chain"),
    ({"delaySeconds": 5, "chain": ["pigeon"]}, "pigeon"),
    ({"delaySeconds": 5, "chain": ["web", "web"]}, "twice"),
    ({"delaySeconds": 5, "chain": ["web"], "extra": 1}, "extra"),
])
def test_it_refuses_bad_policies_and_changes_nothing(app, bad, says):
    with pytest.raises(ServiceError) as error:
        set_policy(app, bad)
    assert says in error.value.description
    app.refresh_from_db()
    assert get_policy(app) is None
    with pytest.raises(ServiceError):
        validate_policy(bad)
