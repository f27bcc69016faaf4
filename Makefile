# KubeStack — see README.md. Every target is safe to run from a clean checkout on Debian 12.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SLN := KubeStack.Operator.sln

.PHONY: help build test crds docs up down lab-up lab-down bench clean
.PHONY: soak
.PHONY: deploy

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build every project (warnings are errors)
	dotnet build $(SLN) -nologo

test: ## the default test suite, with an "N passed, N failed" summary
	./hack/test.sh

crds: ## regenerate crds/ from the catalog (and the chart's copy)
	dotnet run --project tools/KubeStack.Gen -- crds crds
	cp crds/*.yaml charts/kubestack/crds/

docs: ## regenerate docs/api/ from the catalog
	dotnet run --project tools/KubeStack.Gen -- docs docs/api

deploy: ## copy crds/ into charts/kubestack and render deploy/kubestack.yaml from the chart (fetches Helm once)
	./hack/render-deploy.sh

up: ## bring up the local stack and run a real VM lifecycle (see README)
	./hack/up.sh

down: ## stop exactly what `make up` started
	./hack/down.sh

lab-up: ## start the host lab (libvirtd, OVS, OVN, FTP; installs Debian packages when missing)
	./lab/lab-up.sh

lab-down: ## stop what lab-up started
	./lab/lab-down.sh

bench: ## benchmarks (never part of `make test`)
	./hack/bench.sh

soak: ## long reliability runs (fault, crash and concurrency suites scaled up)
	./hack/soak.sh

clean:
	dotnet clean $(SLN) -nologo
	rm -rf artifacts
