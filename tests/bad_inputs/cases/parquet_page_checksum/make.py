"""Writes data.parquet for this case: a small long-format panel written by
pyarrow with page checksums, then one byte of the target column's data page
flipped, so that the page's CRC no longer matches (pyarrow itself refuses
it: "CRC checksum verification failed"). Run with pyarrow installed:
python3 make.py"""

import datetime

import pyarrow as pa
import pyarrow.parquet as pq

days = [datetime.date(2024, 1, 1) + datetime.timedelta(days=t) for t in range(5)]
table = pa.table(
    {
        "id": ["a"] * 5,
        "date": days,
        "y": [1.5, 2.5, 3.5, 4.5, 5.5],
    }
)
pq.write_table(table, "data.parquet", compression="none", use_dictionary=False, write_page_checksum=True)
data = bytearray(open("data.parquet", "rb").read())
# The plain-encoded doubles of `y` in the data page (1.5 then 2.5, little
# endian; the statistics hold 1.5 alone): flip a mantissa bit of the first,
# inside the page the CRC covers.
at = bytes(data).index(bytes.fromhex("000000000000f83f" "0000000000000440"))
data[at] ^= 0x01
open("data.parquet", "wb").write(bytes(data))
try:
    pq.read_table("data.parquet", page_checksum_verification=True)
    raise SystemExit("pyarrow read the damaged page")
except OSError as e:
    print("pyarrow refuses it:", e)
