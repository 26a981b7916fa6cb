"""The documents service's entrypoints by area: mixins that `DocumentsService` (service.py) inherits."""
