"""The little that every Porta service needs. Nothing here imports eventlet."""
