"""A PEP 517 build backend in the standard library only, so that `pip install client/python`
needs nothing from a package index (this machine has none; pip's build isolation would fetch
setuptools otherwise). It builds a pure-Python wheel of mingus_monitor/, an sdist, and an
editable wheel (PEP 660) whose .pth file points at this folder.

The metadata comes from pyproject.toml's [project] table (name, version, description,
requires-python: plain `key = "value"` lines) and README.md.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "mingus_monitor"
TAG = "py3-none-any"


def _project():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    table = text.split("[project]", 1)[1].split("\n[", 1)[0]
    fields = dict(re.findall(r'^([a-z-]+)\s*=\s*"([^"]*)"', table, re.M))
    return fields


def _dist_name(project):
    return re.sub(r"[-_.]+", "_", project["name"]).lower()


def _metadata(project):
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    lines.append('Provides-Extra: flask')
    lines.append('Requires-Dist: flask>=2; extra == "flask"')
    lines.append("Description-Content-Type: text/markdown")
    readme = os.path.join(ROOT, "README.md")
    body = ""
    if os.path.exists(readme):
        with open(readme, encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _package_files():
    base = os.path.join(ROOT, PACKAGE)
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".typed")):
                path = os.path.join(folder, name)
                yield path, os.path.relpath(path, ROOT).replace(os.sep, "/")


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory, contents):
    """contents: [(arcname, bytes)] of the package; adds the .dist-info. Returns the name."""
    project = _project()
    dist = _dist_name(project)
    info = f"{dist}-{project['version']}.dist-info"
    contents = list(contents) + [
        (f"{info}/METADATA", _metadata(project).encode("utf-8")),
        (f"{info}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: mingus_build\nRoot-Is-Purelib: true\n"
                           f"Tag: {TAG}\n").encode()),
        (f"{info}/top_level.txt", f"{PACKAGE}\n".encode()),
    ]
    record = [_record_line(name, data) for name, data in contents] + [f"{info}/RECORD,,"]
    contents.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    filename = f"{dist}-{project['version']}-{TAG}.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        for name, data in contents:
            whl.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    contents = []
    for path, arcname in _package_files():
        with open(path, "rb") as f:
            contents.append((arcname, f.read()))
    return _write_wheel(wheel_directory, contents)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    pth = f"_{_dist_name(_project())}_editable.pth"
    return _write_wheel(wheel_directory, [(pth, (ROOT + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    project = _project()
    base = f"{_dist_name(project)}-{project['version']}"
    filename = base + ".tar.gz"
    paths = [p for p, _ in _package_files()]
    for extra in ("pyproject.toml", "README.md", "_build/mingus_build.py"):
        if os.path.exists(os.path.join(ROOT, extra)):
            paths.append(os.path.join(ROOT, extra))
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for path in paths:
            tar.add(path, arcname=f"{base}/{os.path.relpath(path, ROOT)}")
        pkg_info = _metadata(project).encode("utf-8")
        member = tarfile.TarInfo(f"{base}/PKG-INFO")
        member.size = len(pkg_info)
        tar.addfile(member, io.BytesIO(pkg_info))
    return filename
