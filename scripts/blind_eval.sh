#!/bin/bash
# The blind set's evals as JSON, for scripts/blind_summary.py (docs/quality.md).
#   bash scripts/blind_eval.sh CODE_DIR DATA_DIR OUT_PREFIX
# CODE_DIR is the checkout whose code is measured (its packages shadow the installed ones);
# DATA_DIR holds the corpus and $BLIND/pages ingested by that code. BLIND (default: this
# checkout's tests/data/blind; tests/data/blind2 is the second, all held-out set) and PY
# (default: this checkout's .venv) can be set, so a baseline checkout can be measured on the
# same gold.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
BLIND="${BLIND:-$here/tests/data/blind}"
PY="${PY:-$here/.venv/bin/python}"
cd "$1"
run() { "$PY" -c "import sys; sys.argv = ['hpkg'] + sys.argv[1:]; from search_api.cli import main; main()" "$@"; }
for split in tuned heldout; do
  [ -d "$BLIND/gold/$split" ] || continue  # blind2 has a held-out part only
  run eval structure "$BLIND/gold/$split/structure.jsonl" --corpus "$BLIND/pages" > "$3.$split.structure.json"
  run eval entities "$BLIND/gold/$split/entities.jsonl" --corpus "$BLIND/pages" --json > "$3.$split.entities.json"
  run eval search "$BLIND/gold/$split/search.jsonl" --json --data-dir "$2" > "$3.$split.search.json"
  run eval link "$BLIND/gold/$split/link.jsonl" --json --data-dir "$2" > "$3.$split.link.json"
done
