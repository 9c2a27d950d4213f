#!/usr/bin/env python3
"""count_junit.py FILE — prints "PASSED FAILED" for a meson JUnit log.

Each GoogleTest case (meson protocol 'gtest') is one testcase; a plain test is one
testcase too. Skipped cases count as neither (and fail the run under
WEIR_REQUIRE_ALL=1, where the tests themselves turn a skip into a failure)."""
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print("0 0")
    sys.exit(0)

passed = failed = 0
for case in root.iter("testcase"):
    tags = {child.tag for child in case}
    if "failure" in tags or "error" in tags:
        failed += 1
    elif "skipped" in tags:
        continue
    else:
        passed += 1
print(passed, failed)
