# The course's commands. `make lab` and `make test` each create .venv first when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := generative-course

.PHONY: help setup lab present test test-browser unit notebooks bench pretrained mutation clean

help:
	@echo "make lab         start JupyterLab on notebooks/ (sets up .venv on first use)"
	@echo "make present     every instructor demo in one Voila page (notebooks/demos.ipynb), sized for a projector"
	@echo "make test        unit tests + every notebook under nbval, fast budget (COURSE_FAST=1), 2 workers; then the browser test"
	@echo "make test-browser  every demo in headless Chromium, in JupyterLab and in Voila (screenshots: browser-report/)"
	@echo "make setup       create .venv and install requirements.txt and requirements-fid.txt"
	@echo "make unit        unit tests only"
	@echo "make notebooks   re-run every numbered notebook at the full budget and save its outputs (demos.ipynb stays empty)"
	@echo "make bench       run the benchmarks in benchmarks/"
	@echo "make pretrained  retrain the committed weights in data/pretrained/ (updates MANIFEST.json)"
	@echo "make mutation    mutation score (mutmut) of the losses, metrics, GMM and FID code; not part of make test"

$(STAMP): requirements.txt requirements-fid.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -r requirements-fid.txt
	@touch $(STAMP)

setup: $(STAMP)

# PYTORCH_ENABLE_MPS_FALLBACK=1: on Apple silicon, an operation MPS has no kernel for runs on the CPU (torch warns
# once per operation) instead of stopping the notebook; torch reads it when it loads, so the kernels inherit it here.
lab: $(STAMP)
	$(BIN)/python -m ipykernel install --user --name $(KERNEL) --display-name "Python (generative-models course)"
	PYTORCH_ENABLE_MPS_FALLBACK=1 $(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

# Instructor mode: only the demos' titles, sentences and widgets (no code), on localhost. PORT=8866 by default.
# share/jupyter/voila/templates/course: Voila's page without its links to a CDN (they fail offline).
PORT ?= 8866
present: $(STAMP)
	@echo "Voila is starting the demos at http://localhost:$(PORT)/ (first paint about half a minute; Ctrl+C stops it)"
	cd notebooks && PYTORCH_ENABLE_MPS_FALLBACK=1 JUPYTER_PATH=$(CURDIR)/share/jupyter ../$(BIN)/voila demos.ipynb \
		--template=course --no-browser --port=$(PORT) --Voila.ip=127.0.0.1 --VoilaExecutor.timeout=600

# The demos in a real browser (tests/browser): JupyterLab and Voila, 1920x1080; skips without Chromium.
test-browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser -p no:cacheprovider -v

# One pytest run, so one summary line. Two workers of one thread each (pytest-xdist): a notebook's cells
# stay together in one kernel (--dist loadscope), the notebooks go first because they are the long ones.
TEST_WORKERS ?= 2
# Then the browser test of the demos, alone on the machine (its 2 s redraw limit is a latency: it must not share
# the cores with the notebooks); about 80 s, and it skips, saying so, where there is no Chromium.
test: $(STAMP)
	COURSE_FAST=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest notebooks tests --nbval-lax --nbval-current-env \
		-p no:cacheprovider -n $(TEST_WORKERS) --dist loadscope --durations=15 --ignore=tests/browser
	$(BIN)/python -m pytest tests/browser -p no:cacheprovider -rs

unit: $(STAMP)
	$(BIN)/python -m pytest tests -p no:cacheprovider --ignore=tests/browser

notebooks: $(STAMP)
	COURSE_FAST=0 $(BIN)/jupyter nbconvert --to notebook --execute --inplace notebooks/[0-9]*.ipynb

bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

pretrained: $(STAMP)
	$(BIN)/python -m course_utils.pretrain gan1d gan1d_replay mnist_classifier mnist_classifier2 mnist_gmm mnist_gan mnist_vae mnist_vae2d dcgan_cifar10 mnist_cgan mnist_cyclegan \
		dcgan_cifar10_cpu_plain dcgan_cifar10_cpu_sn_hinge dcgan_cifar10_cpu_wgan_gp mixtures2d gan_lab \
		shapes_reader mnist_infogan shapes \
		mnist_flow mnist_diffusion mnist_flow_matching mnist_sampler_sweep mnist_model_table denoising_demo \
		cifar10_classifier cifar10_sr_mse cifar10_sr_l1 cifar10_srgan cifar10_colour_l1 cifar10_pix2pix_colour \
		mnist_m_pix2pix paired_quality

# Mutation testing (issue 19), developer-only: installs requirements-dev.txt, then mutmut mutates the files in
# pyproject.toml's [tool.mutmut] inside a scratch copy, mutants/ (git-ignored; tracked files are not touched), and
# runs the fast tests of those files that reach the mutated function. Prints killed / run and lists the survivors.
# COURSE_DATA and COURSE_DATA_MIRROR point the copy at this checkout's data/ and dataset mirror (tests/conftest.py
# looks for the mirror beside the repository, which from mutants/ is the wrong folder: the MNIST tests would skip).
# Results are cached in mutants/: `rm -rf mutants` to redo all. Exits 0 whatever the score (a report, not a gate).
# A subset: make mutation MUTANTS='course_utils.losses*' (mutmut's glob over mutant names).
MUTATION_WORKERS ?= 2
MUTANTS ?=
COURSE_DATA_MIRROR ?= $(abspath $(CURDIR)/../shared/datasets)
mutation: $(STAMP)
	$(BIN)/python -m pip install -r requirements-dev.txt
	COURSE_DATA=$(CURDIR)/data COURSE_DATA_MIRROR=$(COURSE_DATA_MIRROR) OMP_NUM_THREADS=1 $(BIN)/mutmut run --max-children $(MUTATION_WORKERS) $(MUTANTS)
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python -c "import json; s = json.load(open('mutants/mutmut-cicd-stats.json')); \
		run = sum(s[k] for k in ('killed', 'survived', 'timeout', 'no_tests', 'suspicious', 'segfault')); \
		print('mutation score: %d killed / %d run = %.1f%% (survived %d, timeout %d, no tests %d, suspicious %d); ' \
		'%d of %d mutants not run yet' % (s['killed'], run, 100 * s['killed'] / max(run, 1), s['survived'], \
		s['timeout'], s['no_tests'], s['suspicious'], s['total'] - run - s['skipped'], s['total']))"
	@echo "surviving mutants (inspect one with: $(BIN)/mutmut show NAME):"
	@$(BIN)/mutmut results | grep -v ": not checked$$" || true

clean:
	rm -rf $(VENV) .pytest_cache */__pycache__ course_utils/models/__pycache__ *.egg-info
