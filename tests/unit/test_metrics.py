import math

import pytest

from reservoir.lib.metrics import Registry


def test_counters_gauges_histograms_render_as_prometheus_text() -> None:
    r = Registry()
    requests = r.counter("app_requests_total", "Requests", ("method", "status"))
    requests.labels("GET", 200).inc()
    requests.labels(method="GET", status=200).inc(2)
    requests.labels("POST", 'we"ird\n').inc()
    depth = r.gauge("app_queue_depth", "Queue depth")
    depth.set(5)
    depth.dec()
    r.gauge("app_ready", "Ready").set_function(lambda: 1)
    latency = r.histogram("app_latency_seconds", "Latency", buckets=(0.1, 1.0))
    latency.observe(0.05)
    latency.observe(0.5)
    latency.observe(3)
    text = r.render()
    assert "# TYPE app_requests_total counter" in text
    assert 'app_requests_total{method="GET",status="200"} 3' in text
    assert 'app_requests_total{method="POST",status="we\\"ird\\n"} 1' in text
    assert "# TYPE app_queue_depth gauge\napp_queue_depth 4" in text
    assert "app_ready 1" in text
    assert 'app_latency_seconds_bucket{le="0.1"} 1' in text
    assert 'app_latency_seconds_bucket{le="1"} 2' in text
    assert 'app_latency_seconds_bucket{le="+Inf"} 3' in text
    assert "app_latency_seconds_count 3" in text
    assert "app_latency_seconds_sum 3.55" in text
    assert text.endswith("\n")


def test_registry_returns_the_same_metric_and_refuses_conflicts() -> None:
    r = Registry()
    a = r.counter("x_total", "X", ("a",))
    assert r.counter("x_total", "X", ("a",)) is a
    with pytest.raises(ValueError, match="already registered"):
        r.gauge("x_total", "X", ("a",))
    with pytest.raises(ValueError, match="already registered"):
        r.counter("x_total", "X", ("b",))
    with pytest.raises(ValueError):
        a.labels("1", "2")
    with pytest.raises(ValueError, match="only be incremented by non-negative amounts"):
        r.counter("y_total", "Y").inc(-1)


def test_a_failing_gauge_function_reads_nan() -> None:
    r = Registry()
    g = r.gauge("broken", "Broken")
    g.set_function(lambda: 1 / 0)
    assert math.isnan(r.value("broken"))
    assert "broken NaN" in r.render()
