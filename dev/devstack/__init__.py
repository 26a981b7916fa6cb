"""Porta's development stack: infrastructure, the process launcher and the pytest fixtures."""
