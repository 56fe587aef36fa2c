#!/usr/bin/env bash
# Create .venv and install hone into it (editable). `--dev` adds the test and lint tools.
# Where no PyTorch is installed yet, install the CPU build (torch==2.13.0) rather than letting
# pip resolve an unpinned `torch`, which pulls a multi-GB CUDA build. If you want CUDA, install
# your torch into .venv first; this script keeps whatever torch it finds.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[[ "${1:-}" == "--dev" ]] && extras="[dev]"
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install -q "torch==2.13.0"
fi
.venv/bin/python -m pip install -q -e ".${extras}"
echo "installed: $(.venv/bin/hone --help >/dev/null && echo hone) into .venv"
