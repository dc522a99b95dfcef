"""Shared pytest configuration: custom markers."""


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a test that takes seconds (deselect with "
                            "-m 'not slow')")
