#!/usr/bin/python3
"""The Debian packages (issue 11, acceptance 2).

Builds mingus-agent and mingus-collector .debs with CPack from the build directory, then:
- metadata (dpkg-deb --field): name, version, architecture, maintainer, section, a
  description, and a Depends line that dpkg-shlibdeps filled (libc6 at least);
- contents (dpkg-deb --contents): binaries in /usr/bin, configs in /etc/mingus, systemd units
  in /lib/systemd/system, dashboards in /usr/share/mingus, copyright and changelog;
  every file under /etc/mingus is a conffile, and nothing else is; the maintainer scripts are
  there and executable;
- `lintian` reports no error (warnings are shown);
- each systemd unit passes `systemd-analyze verify` without a word, in a root made of the
  extracted packages and systemd's own targets, and keeps its hardening (DynamicUser,
  ProtectSystem=strict, NoNewPrivileges, StateDirectory under mingus/).

Usage: /usr/bin/python3 tests/integration/package_test.py --agent A --build-dir build
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

PACKAGES = {
    "mingus-agent": {
        "files": ["./usr/bin/mingus-agent", "./etc/mingus/agent.yaml",
                  "./lib/systemd/system/mingus-agent.service",
                  "./usr/share/doc/mingus-agent/copyright",
                  "./usr/share/doc/mingus-agent/changelog.gz"],
        "conffiles": ["/etc/mingus/agent.yaml"],
    },
    "mingus-collector": {
        "files": ["./usr/bin/mingus-collector", "./etc/mingus/collector.yaml",
                  "./etc/mingus/notify.yaml", "./etc/mingus/rules/performance.yml",
                  "./lib/systemd/system/mingus-collector.service",
                  "./usr/share/mingus/dashboards/api-performance.json",
                  "./usr/share/mingus/dashboards/provisioning/dashboards.yaml",
                  "./usr/share/doc/mingus-collector/copyright",
                  "./usr/share/doc/mingus-collector/changelog.gz"],
        "conffiles": None,  # every file under /etc/mingus, read from the contents
    },
}
HARDENING = ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes")


def fail(message):
    raise AssertionError(message)


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def build_packages(build_dir, out_dir):
    result = run(["cpack", "-G", "DEB", "-B", out_dir], cwd=build_dir, timeout=600)
    if result.returncode != 0:
        fail(f"cpack failed:\n{result.stdout}\n{result.stderr}")
    debs = {}
    for path in glob.glob(os.path.join(out_dir, "*.deb")):
        debs[run(["dpkg-deb", "--field", path, "Package"]).stdout.strip()] = path
    if sorted(debs) != sorted(PACKAGES):
        fail(f"cpack made {sorted(debs)}, expected {sorted(PACKAGES)}")
    return debs


def check_metadata(name, deb):
    fields = {}
    for line in run(["dpkg-deb", "--field", deb]).stdout.splitlines():
        if line and not line.startswith(" ") and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    for key in ("Package", "Version", "Architecture", "Maintainer", "Section", "Priority",
                "Description", "Depends"):
        if not fields.get(key):
            fail(f"{name}: no {key} field in {fields}")
    if "libc6" not in fields["Depends"]:
        fail(f"{name}: Depends lacks libc6 (dpkg-shlibdeps not run?): {fields['Depends']}")
    if fields["Architecture"] != run(["dpkg", "--print-architecture"]).stdout.strip():
        fail(f"{name}: architecture {fields['Architecture']}")
    h.log(f"{name} {fields['Version']} {fields['Architecture']}: Depends {fields['Depends']}")


def check_contents(name, deb, control_dir):
    listing = run(["dpkg-deb", "--contents", deb]).stdout.splitlines()
    paths = [line.split()[5] for line in listing if len(line.split()) >= 6]
    for wanted in PACKAGES[name]["files"]:
        if wanted not in paths:
            fail(f"{name}: {wanted} missing from the package:\n" + "\n".join(paths))
    etc_files = sorted(p[1:] for p, line in zip(paths, listing)
                       if p.startswith("./etc/") and not line.startswith("d"))
    expected = sorted(PACKAGES[name]["conffiles"] or etc_files)
    subprocess.run(["dpkg-deb", "--control", deb, control_dir], check=True)
    with open(os.path.join(control_dir, "conffiles")) as f:
        conffiles = sorted(f.read().split())
    if conffiles != expected or conffiles != etc_files:
        fail(f"{name}: conffiles {conffiles}, files under /etc {etc_files}")
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(control_dir, script)
        if not os.access(path, os.X_OK):
            fail(f"{name}: {script} missing or not executable")
    h.log(f"{name}: {len(paths)} entries, conffiles {conffiles}")


def check_lintian(name, deb):
    result = run(["lintian", "--tag-display-limit", "0", deb])
    tags = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:", "I:")]
    for tag in tags:
        h.log(f"  lintian {tag}")
    errors = [t for t in tags if t.startswith("E:")]
    if errors:
        fail(f"{name}: lintian errors:\n" + "\n".join(errors))


def check_units(debs, root):
    for deb in debs.values():
        subprocess.run(["dpkg-deb", "--extract", deb, root], check=True)
    # systemd-analyze resolves the units' targets and commands inside the root.
    units_dir = os.path.join(root, "lib/systemd/system")
    for target in glob.glob("/lib/systemd/system/*.target"):
        shutil.copy(target, units_dir)
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    shutil.copy("/bin/kill", os.path.join(root, "bin/kill"))
    for name in PACKAGES:
        unit = f"/lib/systemd/system/{name}.service"
        result = run(["systemd-analyze", "verify", f"--root={root}", unit])
        if result.returncode != 0 or result.stdout.strip() or result.stderr.strip():
            fail(f"{unit}: systemd-analyze verify said:\n{result.stdout}{result.stderr}")
        with open(os.path.join(root, unit.lstrip("/"))) as f:
            text = f.read()
        for setting in HARDENING + (f"StateDirectory=mingus/{name.split('-')[1]}",):
            if setting not in text.splitlines():
                fail(f"{unit}: {setting} missing")
        h.log(f"{unit}: verified")


def main():
    parser = h.agent_arg_parser(__doc__)
    parser.add_argument("--build-dir", required=True)
    args = parser.parse_args()
    checks = h.Checks()
    for tool in ("cpack", "dpkg-deb", "lintian", "systemd-analyze"):
        checks.check(f"{tool} installed", shutil.which(tool) is not None,
                     "packaging/install-deps.sh installs it")
    if checks.failed:
        checks.exit()
    with tempfile.TemporaryDirectory(prefix="mingus-package-") as tmp:
        debs = {}
        checks.run("cpack builds both packages",
                   lambda: debs.update(build_packages(os.path.abspath(args.build_dir),
                                                      os.path.join(tmp, "out"))))
        for name, deb in sorted(debs.items()):
            checks.run(f"{name} metadata", lambda: check_metadata(name, deb))
            checks.run(f"{name} contents and conffiles",
                       lambda: check_contents(name, deb, os.path.join(tmp, "control-" + name)))
            checks.run(f"{name} lintian without errors", lambda: check_lintian(name, deb))
        if debs:
            checks.run("systemd units verify", lambda: check_units(debs, os.path.join(tmp, "root")))
    checks.exit()


if __name__ == "__main__":
    main()
