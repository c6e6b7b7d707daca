"""Data validation: Great Expectations suites (``suites``), a JSON report and its Markdown rendering
(``report``), and the gate training steps check (``gate``).

Import the submodule you need: ``gate`` is used by data processing, which must not pay for
importing Great Expectations.
"""
