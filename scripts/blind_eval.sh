#!/bin/bash
# usage: blind_eval.sh CODE_DIR DATA_DIR OUT
cd "$1"
PY=/work/main/.venv/bin/python
B=/work/main/tests/data/blind
run() { $PY -c "import sys; sys.argv=['hpkg']+sys.argv[1:]; from search_api.cli import main; main()" "$@"; }
for split in tuned heldout; do
  run eval structure $B/gold/$split/structure.jsonl --corpus $B/pages > $3.$split.structure.json
  run eval entities $B/gold/$split/entities.jsonl --corpus $B/pages --json > $3.$split.entities.json
  run eval search $B/gold/$split/search.jsonl --json --data-dir $2 > $3.$split.search.json
  run eval link $B/gold/$split/link.jsonl --json --data-dir $2 > $3.$split.link.json
done
echo done
