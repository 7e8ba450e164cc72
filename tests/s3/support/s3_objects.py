#!/usr/bin/python3
"""Puts and gets objects with botocore, for smrun's s3 tests (tests/s3/support/s3_objects.cpp).

    /usr/bin/python3 s3_objects.py --endpoint URL [--ca-bundle PEM] [--region R]
        [--attempts N] [--access-key K --secret-key S [--session-token T]] < OPS.json

Reads a JSON list of operations on stdin and runs them in order with one botocore client
(path-style addressing, SigV4, `--attempts` total attempts, default 1 = no retries); writes a JSON
list of results, one per operation, to stdout. An S3 error does not stop the run: its result has
"ok": false, "status" and "code". Operations:

  {"op": "create_bucket", "bucket": B}
  {"op": "put", "bucket": B, "key": K, "file": PATH, "content_type": T?, "metadata": {..}?}
  {"op": "get", "bucket": B, "key": K, "file": PATH, "range": "bytes=0-9"?}  body -> PATH
  {"op": "head", "bucket": B, "key": K}      -> size, etag, content_type, metadata
  {"op": "list", "bucket": B, "prefix": P?}  -> keys (every page, ListObjectsV2)
  {"op": "delete", "bucket": B, "key": K}

Only Debian's botocore (python3-botocore) under /usr/bin/python3 is used; the environment the
fixture passes has no AWS_* variables and a temporary HOME, so no machine credentials are read.
"""

import argparse
import json
import sys

import botocore.config
import botocore.exceptions
import botocore.session


def client_for(args):
    session = botocore.session.Session()
    config = botocore.config.Config(
        region_name=args.region,
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"total_max_attempts": args.attempts, "mode": "standard"},
        connect_timeout=10,
        read_timeout=args.read_timeout,
    )
    return session.create_client(
        "s3", endpoint_url=args.endpoint, region_name=args.region,
        aws_access_key_id=args.access_key, aws_secret_access_key=args.secret_key,
        aws_session_token=args.session_token,
        verify=args.ca_bundle if args.ca_bundle else True, config=config)


def run(client, op):
    kind = op["op"]
    if kind == "create_bucket":
        client.create_bucket(Bucket=op["bucket"])
        return {}
    if kind == "put":
        extra = {}
        if op.get("content_type"):
            extra["ContentType"] = op["content_type"]
        if op.get("metadata"):
            extra["Metadata"] = op["metadata"]
        with open(op["file"], "rb") as f:
            r = client.put_object(Bucket=op["bucket"], Key=op["key"], Body=f.read(), **extra)
        return {"etag": r.get("ETag")}
    if kind == "get":
        extra = {"Range": op["range"]} if op.get("range") else {}
        r = client.get_object(Bucket=op["bucket"], Key=op["key"], **extra)
        data = r["Body"].read()
        with open(op["file"], "wb") as f:
            f.write(data)
        return {"size": len(data), "etag": r.get("ETag"),
                "status": r["ResponseMetadata"]["HTTPStatusCode"]}
    if kind == "head":
        r = client.head_object(Bucket=op["bucket"], Key=op["key"])
        return {"size": r["ContentLength"], "etag": r.get("ETag"),
                "content_type": r.get("ContentType"), "metadata": r.get("Metadata", {})}
    if kind == "list":
        keys, token = [], None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            r = client.list_objects_v2(Bucket=op["bucket"], Prefix=op.get("prefix", ""), **extra)
            keys += [o["Key"] for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return {"keys": keys}
            token = r["NextContinuationToken"]
    if kind == "delete":
        client.delete_object(Bucket=op["bucket"], Key=op["key"])
        return {}
    raise ValueError(f"unknown op {kind!r}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--ca-bundle")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--attempts", type=int, default=1)
    parser.add_argument("--read-timeout", type=int, default=60)
    parser.add_argument("--access-key", default="S3RVER")
    parser.add_argument("--secret-key", default="S3RVER")
    parser.add_argument("--session-token")
    args = parser.parse_args()
    client = client_for(args)
    results = []
    for op in json.load(sys.stdin):
        try:
            result = {"ok": True}
            result.update(run(client, op))
        except botocore.exceptions.ClientError as e:
            err = e.response.get("Error", {})
            result = {"ok": False, "code": err.get("Code"), "message": err.get("Message"),
                      "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                      "region_header": e.response.get("ResponseMetadata", {})
                      .get("HTTPHeaders", {}).get("x-amz-bucket-region")}
        except (botocore.exceptions.BotoCoreError, OSError) as e:
            result = {"ok": False, "code": type(e).__name__, "message": str(e), "status": None}
        results.append(result)
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
