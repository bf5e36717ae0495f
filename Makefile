# The course's commands. `make lab` and `make test` each create .venv first when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := generative-course

.PHONY: help setup lab test unit notebooks bench pretrained clean

help:
	@echo "make lab         start JupyterLab on notebooks/ (sets up .venv on first use)"
	@echo "make test        unit tests + every notebook under nbval, fast budget (COURSE_FAST=1), 2 workers"
	@echo "make setup       create .venv and install requirements.txt and requirements-fid.txt"
	@echo "make unit        unit tests only"
	@echo "make notebooks   re-run every notebook at the full budget and save its outputs"
	@echo "make bench       run the benchmarks in benchmarks/"
	@echo "make pretrained  retrain the committed weights in data/pretrained/ (updates MANIFEST.json)"

$(STAMP): requirements.txt requirements-fid.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -r requirements-fid.txt
	@touch $(STAMP)

setup: $(STAMP)

lab: $(STAMP)
	$(BIN)/python -m ipykernel install --user --name $(KERNEL) --display-name "Python (generative-models course)"
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

# One pytest run, so one summary line. Two workers of one thread each (pytest-xdist): a notebook's cells
# stay together in one kernel (--dist loadscope), the notebooks go first because they are the long ones.
TEST_WORKERS ?= 2
test: $(STAMP)
	COURSE_FAST=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest notebooks tests --nbval-lax --nbval-current-env \
		-p no:cacheprovider -n $(TEST_WORKERS) --dist loadscope --durations=15

unit: $(STAMP)
	$(BIN)/python -m pytest tests -p no:cacheprovider

notebooks: $(STAMP)
	COURSE_FAST=0 $(BIN)/jupyter nbconvert --to notebook --execute --inplace notebooks/*.ipynb

bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

pretrained: $(STAMP)
	$(BIN)/python -m course_utils.pretrain gan1d mnist_classifier mnist_classifier2 mnist_gmm mnist_gan mnist_vae mnist_vae2d dcgan_cifar10 mnist_cgan mnist_cyclegan \
		dcgan_cifar10_cpu_plain dcgan_cifar10_cpu_sn_hinge dcgan_cifar10_cpu_wgan_gp mixtures2d gan_lab

clean:
	rm -rf $(VENV) .pytest_cache */__pycache__ course_utils/models/__pycache__ *.egg-info
