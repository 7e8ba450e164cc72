#!/usr/bin/env python3
"""Write the seed corpora of the libFuzzer targets into fuzz/corpus/<target>/.

  tools/make_fuzz_seeds.py [DATA_DIR]     (default: tests/data in this repository)

Seeds come from the SDK local-mode samples and the reference toolkit's vectors in DATA_DIR,
plus hand-made edge cases. Output is deterministic (fixed mtimes, no randomness), so re-running
the script on unchanged inputs leaves the committed files byte for byte unchanged. Every file is
small; the whole corpus stays far below 200 KB.
"""
import bz2
import gzip
import io
import json
import lzma
import pathlib
import shutil
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
GENERATED = ["fuzz_py_json", "fuzz_job_config", "fuzz_hyperparams", "fuzz_extract",
             "fuzz_shared_file", "fuzz_credentials_json"]
SEP = b"\x1e"  # document separator of fuzz_job_config and fuzz_hyperparams (never valid JSON)


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def safe(name):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def as_file_text(value):
    """hyperparameters.json stores every value as a JSON-encoded string (the SDK's format)."""
    return {k: json.dumps(v) for k, v in value.items()}


def json_seeds(samples, vectors):
    seen = set()
    for path in sorted(samples.glob("**/input/config/*.json")):
        text = path.read_bytes()
        if text not in seen:
            seen.add(text)
            write("fuzz_py_json", f"sample-{len(seen):02d}-{path.name}", text)
    for vec in vectors:
        for key, value in vec["input"].items():
            if key.endswith(".json") and isinstance(value, dict):
                write("fuzz_py_json", safe(f"vector-{vec['name']}-{key}"), json.dumps(value))
    hand_made = {
        "python-constants": '[NaN, Infinity, -Infinity, null, true, false]',
        "big-int": "123456789012345678901234567890123456789",
        "neg-zero-floats": "[-0.0, 0, -0, 1e-05, 1e16, 1.7976931348623157e308, 5e-324]",
        "overflow-underflow": "[1e400, -1e400, 1e-400, 0.1e-999999999999]",
        "escapes": r'"\u00e9\ud83d\ude00\ud800\udc00\ud800x\"\\\/\b\f\n\r\t"',
        "duplicate-keys": '{"a": 1, "b": 2, "a": 3}',
        "nested": '{"a": [{"b": [[], {}]}], "c": {"d": {"e": null}}}',
        "whitespace": ' \t\r\n{ "k" : [ 1 , 2 ] } \n',
        "err-extra-data": '{"a": 1} x',
        "err-unterminated": '{"a": "abc',
        "err-control-char": '"a\tb"',
        "err-bad-escape": r'"\x41"',
        "err-trailing-comma": "[1, 2,]",
        "err-number-backtrack": "[1., 1e, -]",
        "err-bom": "\ufeff{}",
        "deep": "[" * 600 + "]" * 600,
    }
    for name, text in hand_made.items():
        write("fuzz_py_json", f"hand-{name}.json", text)
    write("fuzz_py_json", "hand-err-invalid-utf8.json", b'"\xff\xc3"')
    write("fuzz_py_json", "hand-err-too-many-digits.json", "1" * 4301)


def job_config_seeds(samples, vectors):
    def doc(value):
        return json.dumps(value).encode()

    n = 0
    for host_dir in sorted(samples.glob("**/input/config")):
        parts = [(host_dir / f).read_bytes() if (host_dir / f).exists() else b""
                 for f in ("resourceconfig.json", "inputdataconfig.json", "hyperparameters.json")]
        n += 1
        write("fuzz_job_config", f"sample-{n:02d}", SEP.join(parts))
    for vec in vectors:
        inp = vec["input"]
        if "resourceconfig.json" not in inp:
            continue
        hps = as_file_text(inp.get("hyperparameters_decoded", {}))
        parts = [doc(inp["resourceconfig.json"]), doc(inp.get("inputdataconfig.json", {})),
                 doc(hps)]
        write("fuzz_job_config", safe(f"vector-{vec['name']}"), SEP.join(parts))
    rc = doc({"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]})
    write("fuzz_job_config", "hand-checkpoint",
          SEP.join([rc, b"{}", b"{}", doc({"LocalPath": "/opt/ml/checkpoints", "S3Uri": "s3://b"})]))
    write("fuzz_job_config", "hand-missing-resourceconfig",
          SEP.join([b"", doc({"training": {}}), doc({"epochs": "3"})]))
    write("fuzz_job_config", "hand-resourceconfig-only", rc)
    write("fuzz_job_config", "hand-bad-types",
          SEP.join([doc({"current_host": 1, "hosts": "algo-1"}), b"[]", b"null"]))
    write("fuzz_job_config", "hand-instance-groups",
          doc({"current_host": "a", "hosts": ["a"], "instance_groups": [
              {"instance_group_name": "g", "hosts": ["a"]}, {"hosts": [1]}]}))


def hyperparams_seeds(samples, vectors):
    seen = set()
    for path in sorted(samples.glob("**/input/config/hyperparameters.json")):
        text = path.read_bytes()
        if text not in seen:
            seen.add(text)
            write("fuzz_hyperparams", f"sample-{len(seen):02d}.json", text)
    for vec in vectors:
        inp = vec["input"]
        if "hyperparameters.json" in inp:
            write("fuzz_hyperparams", safe(f"vector-{vec['name']}.json"),
                  json.dumps(inp["hyperparameters.json"]))
        if "hyperparameters_decoded" in inp:
            write("fuzz_hyperparams", safe(f"vector-{vec['name']}-decoded.json"),
                  json.dumps(as_file_text(inp["hyperparameters_decoded"])))
    write("fuzz_hyperparams", "hand-not-strings.json",
          json.dumps({"a": 1, "b": [1, "x"], "c": {"z": None, "y": 1.5}, "": "1", "é": "true"}))
    write("fuzz_hyperparams", "hand-raw-bytes",
          SEP.join([b"lr", b"0.1", b"name", b"\xff\xferaw", b"sagemaker_program", b'"t.py"',
                    b"smrun_launcher", b'"native"', "ß".encode(), b'{"k": "\\ud800"}']))


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    """members: (name, type, data_or_target, mode)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, kind, payload, mode in members:
            info = tarfile.TarInfo(name)
            info.mtime, info.mode, info.uid, info.gid = 1600000000, mode, 1000, 1000
            info.uname = info.gname = "user"
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                         "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE,
                         "chr": tarfile.CHRTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = payload
            tar.addfile(info)
    # tarfile pads to 10 KiB records; keep only the members and the two end-of-archive blocks,
    # which is all a reader needs and keeps the seeds (and the fuzzer's inputs) small.
    data = buf.getvalue().rstrip(b"\0")
    data += b"\0" * (-len(data) % 512)
    return data + b"\0" * 1024


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def extract_seeds():
    source = [("./", "dir", None, 0o755), ("train.py", "file", b"print('hi')\n", 0o644),
              ("pkg", "dir", None, 0o755), ("pkg/__init__.py", "file", b"", 0o644),
              ("run.sh", "file", b"#!/bin/sh\necho ok\n", 0o4755)]
    write("fuzz_extract", "valid.tar.gz", gz(tar_bytes(source)))
    write("fuzz_extract", "valid-gnu.tar", tar_bytes(source, tarfile.GNU_FORMAT))
    write("fuzz_extract", "valid-ustar.tar.bz2",
          bz2.compress(tar_bytes(source, tarfile.USTAR_FORMAT), 9))
    write("fuzz_extract", "valid.tar.xz", lzma.compress(tar_bytes(source)))
    write("fuzz_extract", "empty.tar", tar_bytes([]))
    write("fuzz_extract", "dotdot.tar", tar_bytes([("a.py", "file", b"x", 0o644),
                                                   ("../escape.txt", "file", b"x", 0o644)]))
    write("fuzz_extract", "absolute.tar", tar_bytes([("/tmp/abs.txt", "file", b"x", 0o644)]))
    write("fuzz_extract", "symlink-inside.tar.gz",
          gz(tar_bytes([("lib", "dir", None, 0o755), ("lib/real.py", "file", b"x = 1\n", 0o644),
                        ("alias.py", "symlink", "lib/real.py", 0o777)])))
    write("fuzz_extract", "symlink-escape.tar",
          tar_bytes([("up", "symlink", "..", 0o777), ("up/evil.txt", "file", b"x", 0o644)]))
    write("fuzz_extract", "symlink-chain.tar",
          tar_bytes([("d", "dir", None, 0o755), ("d/l", "symlink", ".", 0o777),
                     ("d/l2", "symlink", "l/..", 0o777), ("x", "symlink", "d/l2/../..", 0o777)]))
    write("fuzz_extract", "hardlink.tar",
          tar_bytes([("a.txt", "file", b"data", 0o644), ("b.txt", "hardlink", "a.txt", 0o644),
                     ("c.txt", "hardlink", "../outside", 0o644)]))
    write("fuzz_extract", "special.tar",
          tar_bytes([("ok.txt", "file", b"x", 0o644), ("fifo", "fifo", None, 0o644)]))
    write("fuzz_extract", "dir-mode-000.tar",
          tar_bytes([("locked", "dir", None, 0o000), ("locked/f", "file", b"x", 0o644)]))
    write("fuzz_extract", "truncated.tar.gz", gz(tar_bytes(source))[:150])
    # Regression seed: names with a newline reaching the on-disk checks' error messages.
    write("fuzz_extract", "newline-names.tar",
          tar_bytes([("l\nk", "symlink", "x", 0o777), ("l\nk", "file", b"x", 0o644)]))


def shared_file_seeds():
    t = "fuzz_shared_file"
    write(t, "credentials", "[default]\naws_access_key_id = AKIDEXAMPLE\n"
          "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n"
          "aws_session_token = FwoGZXIvYXdzEXAMPLE==\n\n[ci]\naws_access_key_id=AKIDCI\n"
          "aws_secret_access_key=secret\n")
    write(t, "config", "# comment\n; other comment\n[default]\nregion = us-east-1\n"
          "[profile dev]   # trailing comment\nregion: eu-west-1\ns3 =\n"
          "    addressing_style = path\n    max_concurrent_requests = 4\n"
          "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = default\n"
          "[sso-session s]\nsso_start_url = https://example.awsapps.com/start\n")
    write(t, "crlf-bom-cr", b"\xef\xbb\xbf[default]\r\naws_access_key_id = A\r\r\n"
          b"  continued\rKEY:value\r")
    write(t, "err-property-first", "aws_access_key_id = A\n[default]\n")
    write(t, "err-duplicates", "[a]\nk = 1\nK = 2\n[a]\n")
    write(t, "err-headers", "[]\n[unterminated\n[ok] junk\n= v\nno delimiter\n")
    write(t, "odd-names", "[[x]]\n[ padded  name ]\nkey with spaces = v=a:b\n[a]b] # c\n"
          "k=\n\t\x0b\x0c\n  indented = first\n")


def credentials_json_seeds():
    t = "fuzz_credentials_json"
    ecs = {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
           "Token": "IQoJb3JpZ2luX2VjEXAMPLE==", "Expiration": "2019-05-29T00:21:43Z",
           "RoleArn": "arn:aws:iam::123456789012:role/r"}
    write(t, "container.json", json.dumps(ecs))
    imds = dict(ecs, Code="Success", LastUpdated="2019-05-28T18:03:09Z", Type="AWS-HMAC",
                Expiration="2019-05-29T00:21:43.123+02:00")
    write(t, "imds.json", json.dumps(imds, indent=2))
    write(t, "imds-failure.json", json.dumps({"Code": "AssumeRoleUnauthorizedAccess",
                                               "Message": "denied", "LastUpdated": "x"}))
    write(t, "no-token-no-expiration.json", '{"AccessKeyId": "A", "SecretAccessKey": "S"}')
    write(t, "nulls-and-types.json", '{"AccessKeyId": "A", "SecretAccessKey": 1, "Token": null, '
          '"Expiration": null}')
    write(t, "bad-values.json", '{"AccessKeyId": "A B", "SecretAccessKey": "s\\n", '
          '"Expiration": "9999-12-31T23:59:59Z"}')
    write(t, "truncated.json", '{"AccessKeyId": "A", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG')
    write(t, "iso8601-offset", "2020-02-29T23:59:59.999999999-01:30")
    write(t, "iso8601-far", "0000-01-01T00:00:00+23:59")
    # Regression seed: a number beyond a double made nlohmann::json throw out_of_range, which
    # parse_credentials_json did not catch.
    write(t, "number-out-of-range.json", '{"AccessKeyId": "A", "SecretAccessKey": "S", '
          '"Expiration": 2e22222222222}')


def main():
    data = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data"
    samples = data / "samples"
    vectors = json.loads((data / "vectors" / "toolkit-vectors.json").read_text())
    # Only the targets made here are regenerated; other corpora in fuzz/corpus are left alone.
    for target in GENERATED:
        if (CORPUS / target).exists():
            shutil.rmtree(CORPUS / target)
    json_seeds(samples, vectors)
    job_config_seeds(samples, vectors)
    hyperparams_seeds(samples, vectors)
    extract_seeds()
    shared_file_seeds()
    credentials_json_seeds()
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    count = sum(1 for p in CORPUS.rglob("*") if p.is_file())
    print(f"make_fuzz_seeds: {count} files, {total} bytes in {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
