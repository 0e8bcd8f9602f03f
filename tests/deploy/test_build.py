"""`sam build` of template.yaml, overridden to x86_64 (the only Rust target here), makes the
Lambda bootstrap: an x86-64 ELF that asks for no newer glibc than provided.al2023 has.

The build goes to target/sam/build, so it never replaces a deployable `.aws-sam/` build.
cargo-lambda runs there exactly as `make lambda-build` runs it (same command, same target
directory), so whichever runs second reuses the first one's release build. `make test` then
hands this bootstrap to tests/lambda_runtime.rs (PLANTRAK_TEST_BOOTSTRAP), which invokes it
under cargo-lambda's runtime emulator with each sample event.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import time

import pytest

import cfn
from local_stack import ROOT, VENV_BIN

BUILD_DIR = ROOT / "target" / "sam" / "build"
CACHE_DIR = ROOT / "target" / "sam" / "cache"
BOOTSTRAP = BUILD_DIR / "SyncFunction" / "bootstrap"
# glibc of Amazon Linux 2023, the provided.al2023 runtime.
MAX_GLIBC = (2, 34)
EM_X86_64 = 62

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def built():
    env = dict(os.environ)
    env.update({"SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": cfn.REGION})
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    started = time.monotonic()
    done = subprocess.run(
        [str(VENV_BIN / "sam"), "build", "--template-file", str(cfn.TEMPLATE),
         "--build-dir", str(BUILD_DIR), "--cache-dir", str(CACHE_DIR),
         "--parameter-overrides", "Architecture=x86_64"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800,
    )
    print(f"sam build took {time.monotonic() - started:.0f} s")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return BOOTSTRAP


def test_sam_build_makes_an_x86_64_bootstrap(built):
    header = built.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", "not an ELF file"
    assert header[4] == 2, "not a 64-bit ELF"
    (machine,) = struct.unpack_from("<H", header, 18)
    assert machine == EM_X86_64, f"ELF machine {machine}, not x86-64"
    assert os.access(built, os.X_OK)
    built_template = (BUILD_DIR / "template.yaml").read_text()
    assert "CodeUri: SyncFunction" in built_template


def test_the_bootstrap_needs_glibc_2_34_at_most(built):
    done = subprocess.run(["objdump", "-T", str(built)], capture_output=True, text=True, check=True)
    versions = {
        tuple(int(part) for part in version.split("."))
        for version in re.findall(r"\bGLIBC_(\d+(?:\.\d+)+)\b", done.stdout)
    }
    assert versions, "no GLIBC symbol versions: is the bootstrap dynamically linked?"
    newest = max(versions)
    print("newest GLIBC symbol version:", ".".join(map(str, newest)))
    assert newest <= MAX_GLIBC, f"needs GLIBC {'.'.join(map(str, newest))}, provided.al2023 has 2.34"
