"""Writes data.parquet for this case: weekly sales stamped at midnight UTC
of each Monday, in a timestamp column labelled America/Los_Angeles. Read
as that zone's wall clock (as pyarrow and pandas show them) the stamps
fall on Sunday afternoons, off the W-MON frequency, and the error must say
the time zone it read them in. Run with pyarrow installed: python3 make.py"""

import datetime

import pyarrow as pa
import pyarrow.parquet as pq

mondays = [datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(weeks=t) for t in range(6)]
table = pa.table(
    {
        "id": ["a"] * 6,
        "week": pa.array(mondays, type=pa.timestamp("ms", tz="UTC")).cast(pa.timestamp("ms", tz="America/Los_Angeles")),
        "y": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0],
    }
)
pq.write_table(table, "data.parquet")
print(pq.read_table("data.parquet").to_pandas()["week"].iloc[0])
