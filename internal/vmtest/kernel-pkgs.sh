#!/bin/bash
# kernel-pkgs.sh - print the packages (as ./relative/paths from the
# repository root) whose _test.go files define a TestKernel* test, so that
# only they boot a VM:
#   go test -exec "$PWD/internal/vmtest/vm-exec.sh" -run '^TestKernel' $(internal/vmtest/kernel-pkgs.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
grep -rlE --include='*_test.go' --exclude-dir=.cache --exclude-dir=.git --exclude-dir=testdata --exclude-dir=vendor '^func TestKernel[A-Za-z0-9_]*\(' . |
	xargs -r -n1 dirname | LC_ALL=C sort -u
