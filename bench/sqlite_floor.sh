#!/usr/bin/env bash
# The storage engine's floor for a bulk import (docs/benchmarks.md, "CSV imports"): how fast
# SQLite alone can add N leads and their `imported` activities to lms's own schema (every index
# the lead API reads through), with no lms code in the loop. Each transaction is one
# INSERT ... SELECT of B generated rows (random name, phone, email, company: the index keys land
# at random places, as real leads do) plus the activities: the cheapest way SQLite can be asked
# to do the work, so a time here is a lower bound for any importer on this schema and machine.
#
#   bash bench/sqlite_floor.sh                 # N=850000 (the 1M-row benchmark file's inserts)
#   N=200000 BATCHES="5000 50000" bash bench/sqlite_floor.sh
#   ACTIVITIES=0 bash bench/sqlite_floor.sh    # no activity row per lead (lms's import since
#                                              # SQLite migration 6: one timeline entry per job)
# Needs the `sqlite3` shell (Debian package sqlite3); the same pragmas as lms's writer
# (WAL, synchronous FULL, a 96 MiB cache).
set -euo pipefail
cd "$(dirname "$0")/.."
LMS=${LMS:-build/lms}
N=${N:-850000}
BATCHES=${BATCHES:-"5000 10000 50000 $N"}
ACTIVITIES=${ACTIVITIES:-1}
DIR=${DIR:-/tmp/lms-bench-floor}
command -v sqlite3 >/dev/null || { echo "sqlite3 shell missing: apt-get install -y sqlite3" >&2; exit 1; }
mkdir -p "$DIR"
rm -f "$DIR"/schema.db*
"$LMS" migrate --db "$DIR/schema.db" >/dev/null

script() {  # B
  python3 - "$1" "$N" "$ACTIVITIES" <<'EOF'
import sys
b, n, activities = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] != "0"
print("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-98304;")
done = 0
while done < n:
    size = min(b, n - done)
    print("BEGIN;")
    print(f"""WITH RECURSIVE g(i) AS (SELECT {done} UNION ALL SELECT i + 1 FROM g WHERE i < {done + size - 1})
INSERT INTO leads (id, org, name, phone, email, company, source, status, assignee, tags, custom, version,
                   created_at, updated_at, created_by, import_id)
SELECT printf('01a2%020d%s', i, hex(randomblob(4))), 1, hex(randomblob(6)) || ' ' || hex(randomblob(5)),
       '+1' || (2000000000 + (i * 7919) % 7999999999), lower(hex(randomblob(8))) || '@example.com',
       'Company ' || (abs(random()) % 50000), 'import', 'new', NULL, '[]', '{{}}', 1,
       1700000000000 + i / 5000, 1700000000000 + i / 5000, 'user', 'job' FROM g;""")
    if activities:
        print(f"""INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at)
SELECT printf('01a3%020d', seq), 1, id, 'imported', 'user', '{{"importId":"job"}}', created_at
FROM leads WHERE seq > {done};""")
    print("COMMIT;")
    done += size
EOF
}

printf '| rows per transaction | seconds | rows/s | CPU s (user+sys) |\n|---|---|---|---|\n'
for B in $BATCHES; do
  cp "$DIR/schema.db" "$DIR/floor.db"
  rm -f "$DIR/floor.db-wal" "$DIR/floor.db-shm"
  script "$B" >"$DIR/floor.sql"
  /usr/bin/time -f "%e %U %S" -o "$DIR/time.txt" sqlite3 "$DIR/floor.db" <"$DIR/floor.sql" >/dev/null
  read -r wall user sys <"$DIR/time.txt"
  got=$(sqlite3 "$DIR/floor.db" "SELECT count(*) FROM leads")
  [ "$got" = "$N" ] || { echo "expected $N leads, found $got" >&2; exit 1; }
  printf '| %s | %s | %.0f | %.1f |\n' "$B" "$wall" "$(echo "$N / $wall" | bc -l)" "$(echo "$user + $sys" | bc -l)"
done
