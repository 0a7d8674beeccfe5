#!/usr/bin/env bash
# Produce the outputs of `curate run`, `curate dedup` and `curate tokenize` with the code of one checkout,
# to compare two checkouts byte for byte with scripts/compare_outputs.py (e.g. before and after a refactor).
#
#   scripts/compare_outputs.sh prepare TREE            # once: fixed inputs in $CMP_INPUT, made by TREE's code
#   scripts/compare_outputs.sh run TREE DEST [ray]     # every command, outputs to DEST (ray: also the Ray runner)
#   python scripts/compare_outputs.py REF_DEST NEW_DEST
#
# Example (old = a worktree of the commit before the refactor):
#   git worktree add /tmp/ref-tree <commit>
#   scripts/compare_outputs.sh prepare /tmp/ref-tree
#   scripts/compare_outputs.sh run /tmp/ref-tree /tmp/cmp/ref ray
#   scripts/compare_outputs.sh run /tmp/ref-tree /tmp/cmp/ref2          # the old code again: what varies by itself
#   scripts/compare_outputs.sh run "$PWD" /tmp/cmp/new ray
#   python scripts/compare_outputs.py /tmp/cmp/ref /tmp/cmp/new
#
# Every output is written under one fixed path ($CMP_WORK/out) and then moved to DEST, so the absolute paths
# recorded inside outputs (lineage, manifests, stats) are the same in every run. The dedup and tokenize
# commands read fixed inputs (not this run's `curate run` output), so they see the same bytes every time.
# Needs the tokenizers of ../shared/data/tokenizer/ (or $CURATE_SHARED_DATA/tokenizer, or $TOKENIZER_DIR).
set -euo pipefail

CMP_INPUT=${CMP_INPUT:-/tmp/curate-cmp-input}
CMP_WORK=${CMP_WORK:-/tmp/curate-cmp-work}
PY=${PYTHON:-python}
TOKENIZER_DIR=${TOKENIZER_DIR:-${CURATE_SHARED_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}/tokenizer}
TOK=$TOKENIZER_DIR/llama2-32k__dolma-llama-test-tokenizer.json
TOK2=$TOKENIZER_DIR/continualnat-sp32k-en-de-fr-es.tokenizer.json

curate() {  # curate with the code of $TREE; stdout+stderr to $OUT/<log>.log
    local log=$1; shift
    if ! PYTHONPATH=$TREE "$PY" -m curate "$@" > "$OUT/$log.log" 2>&1; then
        echo "FAILED: curate $* (see $OUT/$log.log)" >&2
        tail -5 "$OUT/$log.log" >&2
        return 1
    fi
}

prepare() {
    OUT=$CMP_INPUT
    rm -rf "$CMP_INPUT" && mkdir -p "$CMP_INPUT"
    cp "$TREE/pipelines/sample/sample.warc.gz" "$CMP_INPUT/"
    curate prepare-run run sample --runner local --input "$CMP_INPUT/sample.warc.gz" --output "$CMP_INPUT/sample-run"
    PYTHONPATH=$TREE "$PY" - "$CMP_INPUT" <<'EOF'
"""dups.jsonl: the sample's documents plus near, exact and URL duplicates, a reused id, an empty text and a
broken line; sample.parquet: ten of the documents again (for a run against a saved index)."""
import glob
import json
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq

root = sys.argv[1]
rng = random.Random(7)
files = sorted(glob.glob(f"{root}/sample-run/data/language=*/*.parquet"))
rows = [r for f in files for r in pq.read_table(f).to_pylist()]
out = []
for i, r in enumerate(rows):
    base = {"id": r["id"], "text": r["text"], "url": r["url"], "language": r["language"],
            "crawl_date": str(r["crawl_date"]) if r.get("crawl_date") else None}
    out.append(base)
    words = r["text"].split()
    if i % 3 == 0:  # near duplicate: about 1 % of the words changed
        w = list(words)
        for k in rng.sample(range(len(w)), max(1, len(w) // 150)):
            w[k] = "xyz"
        out.append({**base, "id": r["id"] + "-near", "text": " ".join(w), "url": r["url"] + "?v=2"})
    if i % 4 == 0:  # exact duplicate after normalisation, no URL
        out.append({**base, "id": r["id"] + "-exact", "text": "  " + r["text"].upper(), "url": None})
    if i % 5 == 0:  # the same URL crawled again, another text
        out.append({**base, "id": r["id"] + "-url", "text": "Other text " + " ".join(words[:50]),
                    "url": r["url"].replace("https://", "http://www.") + "#frag"})
    if i % 7 == 0:  # a reused id
        out.append({**base, "text": "a different document " * 10})
    if i % 9 == 0:  # no text, no id
        out.append({"text": "   "})
with open(f"{root}/dups.jsonl", "w", encoding="utf-8") as fh:
    for o in out:
        fh.write(json.dumps(o, ensure_ascii=False) + "\n")
    fh.write("not json\n")
table = pa.concat_tables([pq.read_table(f) for f in files][:10]).select(["id", "text", "url", "language"])
pq.write_table(table, f"{root}/sample.parquet")
EOF
}

run() {
    OUT=$CMP_WORK/out
    local in=$CMP_INPUT
    rm -rf "$OUT" "$DEST" && mkdir -p "$OUT"
    cd "$OUT"
    curate run run sample --runner local --input "$in/sample.warc.gz" --output "$OUT/sample"
    cat > "$OUT/tokpipe.yaml" <<EOF
name: sample-tok
input:
  paths: [$in/sample.warc.gz]
output:
  dir: $OUT/sampletok
  docs_per_file: 1000
dedup:
  buckets: 4
tokenize:
  tokenizer: $TOK
EOF
    curate runtok run "$OUT/tokpipe.yaml" --runner local
    curate dedup dedup "$in/sample-run/data" --output "$OUT/dedup" --runner local --save-index "$OUT/index"
    curate dedup2 dedup "$in/sample-run/data" --output "$OUT/dedup2" --runner local --against "$OUT/index"
    curate d1 dedup "$in/dups.jsonl" --output "$OUT/d1" --runner local --save-index "$OUT/idx"
    curate d2 dedup "$in/dups.jsonl" --output "$OUT/d2" --keep longest --scope global
    curate d3 dedup "$in/dups.jsonl" "$in/sample.parquet" --output "$OUT/d3" --against "$OUT/idx"
    curate tok tokenize "$in/sample-run" --tokenizer "$TOK" --output "$OUT/tok" --runner local
    curate tok2 tokenize "$in/sample-run/data" --tokenizer "$TOK2" --output "$OUT/tok2" --no-per-language \
        --shard-tokens 5000
    if [ "${RAY:-}" = ray ]; then
        curate runray run sample --runner ray --num-cpus 2 --input "$in/sample.warc.gz" --output "$OUT/sampleray"
        curate dray dedup "$in/dups.jsonl" --output "$OUT/dray" --runner ray --num-cpus 2
        curate tokray tokenize "$in/sample-run" --tokenizer "$TOK" --output "$OUT/tokray" --runner ray --num-cpus 2
    fi
    cd /
    mkdir -p "$(dirname "$DEST")" && mv "$OUT" "$DEST"
    echo "outputs of $TREE -> $DEST"
}

case "${1:-}" in
    prepare) TREE=$(cd "$2" && pwd); prepare ;;
    run) TREE=$(cd "$2" && pwd); DEST=$3; RAY=${4:-}; run ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
esac
