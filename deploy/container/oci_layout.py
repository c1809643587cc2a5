#!/usr/bin/python3
"""Wraps a root file system tarball as an OCI image layout (one layer).

    oci_layout.py ROOTFS_TAR OUT_DIR

The image configuration (user, entrypoint, command, environment, working
directory, volumes, ports, stop signal, health check) is read from the last
stage of Containerfile beside this script, so the image build-rootfs.sh makes
and the one a container engine would build from the Containerfile are
configured by the same lines. Reproducible: the layer is gzipped with no
timestamp and the configuration's dates are fixed.
"""
import gzip
import hashlib
import json
import os
import re
import shlex
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CREATED = "1970-01-01T00:00:00Z"


def final_stage_instructions(path):
    """(INSTRUCTION, argument) of the Containerfile's last stage, with
    continuation lines joined and comments dropped."""
    logical, current = [], ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if not current and (not stripped or stripped.startswith("#")):
                continue
            if stripped.startswith("#"):
                continue
            if stripped.endswith("\\"):
                current += stripped[:-1] + " "
                continue
            logical.append(current + stripped)
            current = ""
    stages = [i for i, l in enumerate(logical) if l.upper().startswith("FROM ")]
    out = []
    for l in logical[stages[-1] + 1:]:
        word, _, rest = l.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def duration_ns(text):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    if not m:
        raise ValueError(f"cannot read duration {text!r}")
    scale = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    return int(m.group(1)) * scale[m.group(2)]


def image_config(containerfile):
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    config = {}
    for word, rest in final_stage_instructions(containerfile):
        if word == "ENTRYPOINT":
            config["Entrypoint"] = json.loads(rest)
        elif word == "CMD":
            config["Cmd"] = json.loads(rest)
        elif word == "USER":
            config["User"] = rest
        elif word == "WORKDIR":
            config["WorkingDir"] = rest
        elif word == "VOLUME":
            config["Volumes"] = {v: {} for v in json.loads(rest)}
        elif word == "EXPOSE":
            config["ExposedPorts"] = {
                (p if "/" in p else p + "/tcp"): {} for p in rest.split()}
        elif word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
        elif word == "STOPSIGNAL":
            config["StopSignal"] = rest
        elif word == "HEALTHCHECK":
            # Docker's extension of the image configuration; the OCI image
            # specification has no health check, podman reads this one.
            options, _, command = rest.partition("CMD ")
            check = {"Test": ["CMD"] + json.loads(command)}
            for option in options.split():
                key, _, value = option.lstrip("-").partition("=")
                name = {"interval": "Interval", "timeout": "Timeout",
                        "start-period": "StartPeriod", "retries": "Retries"}[key]
                check[name] = int(value) if key == "retries" else duration_ns(value)
            config["Healthcheck"] = check
        elif word in ("RUN", "COPY"):
            pass  # build-rootfs.sh does these from the same files
        else:
            raise ValueError(f"oci_layout.py does not know {word}")
    config["Env"] = [f"{k}={v}" for k, v in env.items()]
    return config


def write_blob(oci, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(oci, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rootfs, oci = sys.argv[1], sys.argv[2]
    shutil.rmtree(oci, ignore_errors=True)
    os.makedirs(os.path.join(oci, "blobs", "sha256"))
    with open(os.path.join(oci, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    diff_id = hashlib.sha256()
    layer_path = os.path.join(oci, "layer.tar.gz")
    with open(rootfs, "rb") as src, open(layer_path, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as gz:
            while chunk := src.read(1 << 20):
                diff_id.update(chunk)
                gz.write(chunk)
    layer = hashlib.sha256()
    with open(layer_path, "rb") as f:
        while chunk := f.read(1 << 20):
            layer.update(chunk)
    layer_digest = "sha256:" + layer.hexdigest()
    layer_size = os.path.getsize(layer_path)
    os.rename(layer_path, os.path.join(oci, "blobs", "sha256", layer.hexdigest()))

    config = {
        "created": CREATED,
        "architecture": "amd64" if os.uname().machine == "x86_64" else os.uname().machine,
        "os": "linux",
        "config": image_config(os.path.join(HERE, "Containerfile")),
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id.hexdigest()]},
        "history": [{"created": CREATED,
                     "created_by": "deploy/container/build-rootfs.sh (mmdebstrap)"}],
    }
    config_digest, config_size = write_blob(
        oci, json.dumps(config, indent=1, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = write_blob(
        oci, json.dumps(manifest, indent=1, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest, "size": manifest_size,
                       "annotations": {"org.opencontainers.image.ref.name": "latest"}}],
    }
    with open(os.path.join(oci, "index.json"), "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
    print(json.dumps(config["config"], sort_keys=True))


if __name__ == "__main__":
    main()
