"""contrib/ (#25): the systemd unit is one systemd accepts without a warning, and keeps the
sandbox of Synapse's hardened unit, so no directive can be dropped or misspelt silently."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "contrib" / "laura.service"
INSTALLED = "/opt/laura/venv/bin/laura"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed on this machine (package systemd): "
    "the unit cannot be checked by systemd itself here",
)

# The directives of the sandbox and their values (several values: all of them, any order).
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
    "SystemCallFilter": "@system-service",
    "CapabilityBoundingSet": "",
    "ReadWritePaths": "/var/lib/laura",
    "UMask": "0077",
    "StateDirectory": "laura",
    "ConfigurationDirectory": "laura",
    # Beyond the usual list, as Synapse's hardened unit has them.
    "PrivateUsers": "yes",
    "PrivateMounts": "yes",
    "ProtectProc": "invisible",
    "ProcSubset": "pid",
    "RemoveIPC": "yes",
    "AmbientCapabilities": "",
    "User": "laura",
    "Restart": "on-failure",
}


def directives(text: str) -> dict[str, list[str]]:
    """Each key of the unit with its values in order (a key may be given more than once)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_keeps_its_sandbox() -> None:
    found = directives(UNIT.read_text())
    missing = {
        key: value
        for key, value in HARDENING.items()
        if not any(sorted(value.split()) == sorted(v.split()) for v in found.get(key, []))
    }
    assert not missing, f"contrib/laura.service lost (or changed) these directives: {missing}"
    # Later lines may only narrow the filter (a "~" list), never open it again.
    assert all(v.startswith("~") for v in found["SystemCallFilter"][1:]), found
    (start,) = found["ExecStart"]
    assert start == f"{INSTALLED} run -c /etc/laura/config.yaml --no-update", start


def checkable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart's program replaced by one that exists here (the venv's own
    `laura`), because verify refuses a command it cannot find. Nothing else is changed:
    verify does not look up User= (an unknown `laura` passes, and `nobody` would be warned
    about as unsafe)."""
    laura = Path(sys.executable).parent / "laura"
    assert laura.is_file(), f"no {laura}: install the project into this venv (pip install -e .)"
    text = UNIT.read_text()
    assert text.count(f"ExecStart={INSTALLED} ") == 1
    copy = tmp_path / "laura.service"  # the same name: it is what verify reports under
    copy.write_text(text.replace(f"ExecStart={INSTALLED} ", f"ExecStart={laura} "))
    return copy


def run(*args: str) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run(
        [SYSTEMD_ANALYZE, *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_COLOR": "0", "LC_ALL": "C"},
    )


@needs_systemd_analyze
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    copy = checkable_copy(tmp_path)
    result = run("verify", "--man=no", str(copy))
    output = result.stdout + result.stderr
    print(f"systemd-analyze verify {copy} (exit {result.returncode}):\n{output}")
    assert result.returncode == 0, output
    # verify exits 0 even for an unknown key or a value it cannot parse: it only warns, in
    # lines naming the file (or the unit).
    ours = [line for line in output.splitlines() if re.search(r"laura\.service", line)]
    assert not ours, "systemd-analyze verify warned about the unit:\n" + "\n".join(ours)


@needs_systemd_analyze
def test_systemd_analyze_security_rates_the_sandbox_ok(tmp_path: Path) -> None:
    if "--offline" not in run("security", "--help").stdout:
        pytest.skip("this systemd-analyze cannot rate a unit file offline (systemd < 250)")
    copy = checkable_copy(tmp_path)
    # The exposure level (0 safest, 10 none) as systemd rates it: 1.1 when this was written.
    result = run("security", "--offline=yes", "--no-pager", "--threshold=15", str(copy))
    summary = result.stdout.strip().splitlines()[-1:] or [result.stderr]
    print(summary[0])
    assert result.returncode == 0, result.stdout + result.stderr
