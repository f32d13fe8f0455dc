# Thin aliases for tasks.py, which needs nothing but Python 3.11+.
PY ?= python3

.PHONY: demo test bench image-test
demo:
	$(PY) tasks.py demo
test:
	$(PY) tasks.py test
bench:
	$(PY) tasks.py bench
image-test:
	bash deploy/image-test.sh
