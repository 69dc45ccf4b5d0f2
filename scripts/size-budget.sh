#!/usr/bin/env bash
# Fails when what a page downloads for the embeddable bundle (dist/embed: the entry script, the
# glue and the wasm it names, the stylesheet) is above the budget in scripts/size-budget.txt,
# compressed with gzip -9 and with brotli -q 11. Builds nothing: run ./scripts/build.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

budget_file=scripts/size-budget.txt
budget() {
  awk -v key="$1" '$1 == key { print $2; found = 1 } END { if (!found) exit 1 }' "$budget_file" \
    || { echo "$budget_file has no \"$1 <bytes>\" line" >&2; exit 1; }
}
max_gzip=$(budget gzip)
max_brotli=$(budget brotli)

mapfile -t files < <(embed_files dist/embed)
[ ${#files[@]} -eq 4 ] || exit 1
size_table "${files[@]}"
printf '  %-52s %9d %9d %9d\n' total "$TOTAL_RAW" "$TOTAL_GZIP" "$TOTAL_BROTLI"
printf '  %-52s %9s %9d %9d\n' "budget ($budget_file)" "" "$max_gzip" "$max_brotli"

over=0
check() {
  if [ "$2" -gt "$3" ]; then
    echo "size budget exceeded: dist/embed is $2 bytes with $1, over the budget of $3 by $(($2 - $3))." >&2
    over=1
  fi
}
check "gzip -9" "$TOTAL_GZIP" "$max_gzip"
check "brotli -q 11" "$TOTAL_BROTLI" "$max_brotli"
if [ $over -ne 0 ]; then
  echo "Make the bundle smaller, or raise the budget in $budget_file and say why in the commit." >&2
  exit 1
fi
echo "within the size budget: gzip $TOTAL_GZIP of $max_gzip, brotli $TOTAL_BROTLI of $max_brotli bytes"
