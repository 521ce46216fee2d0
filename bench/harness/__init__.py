"""The end-to-end benchmark harness behind bench/run: corpus, signature sets, tool runs, report."""
