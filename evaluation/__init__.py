"""The evals (entities, structure, search, link) against gold files: top floor, they compose
ingest and kg (rules: ../shared/eval/README.md)."""
