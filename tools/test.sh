#!/usr/bin/env bash
# The project's test command: formatting, lints, unit tests and end-to-end tests (CLI, and the
# real app under Xvfb). Needs no GPU and no network beyond the package registries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/system-deps.sh test
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test
