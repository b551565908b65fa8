# The seed's targets, for the TypeScript tool. Docker targets use Compose v2 (`docker compose`);
# set COMPOSE="docker-compose" for v1.
COMPOSE ?= docker compose

.PHONY: build up down logs bash lint lint-fix test

build: ## build the eden-etl image
	$(COMPOSE) build

up: ## start redis, postgres, the workers and the dashboard in the background
	$(COMPOSE) up -d

down: ## stop and remove the containers (volumes are kept)
	$(COMPOSE) down

logs: ## follow every service's logs
	$(COMPOSE) logs -f

bash: ## a shell in a worker container
	$(COMPOSE) exec worker bash

lint: ## eslint, prettier --check, tsc --noEmit, knip
	npm run lint

lint-fix: ## fix what eslint and prettier can
	npx eslint --fix . && npm run format

test: ## build, then the whole test suite
	npm test
