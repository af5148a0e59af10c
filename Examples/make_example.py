"""Writes Examples/example.pickle: a small stream of independent pickles, as a Python service would log them.

Run: python3 Examples/make_example.py   (the output is committed; this script documents how it was made)
"""
import collections
import datetime
import os
import pickle

records = [
    {"id": 1, "user": "ada", "scores": [9.5, 7.25], "tags": {"admin", "ops"}},
    ("tuple", b"\x00\xffbytes", None, True, 2**100, -0.0, float("inf")),
    collections.OrderedDict([("first", 1), ("second", [1, 2, 3])]),
    datetime.datetime(2026, 11, 24, 12, 30, 0, tzinfo=datetime.timezone.utc),
]
shared = ["shared"]
records.append({"a": shared, "b": shared, "self": None})
records[-1]["self"] = records[-1]

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "example.pickle")
with open(path, "wb") as f:
    for protocol, record in zip([0, 2, 3, 4, 5], records):
        pickle.dump(record, f, protocol=protocol)
