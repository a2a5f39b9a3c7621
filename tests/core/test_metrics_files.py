"""Reading every process's metric files while another process is creating one."""

from __future__ import annotations

from core import metrics


def test_a_metric_file_being_created_is_skipped_not_a_crash(tmp_path, monkeypatch):
    # A worker booting beside another: its histogram file exists but is still empty.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "histogram_4242.db").write_bytes(b"")
    assert metrics.forward_lag_buckets() == {}
    assert metrics.merged_families("counter") == []
