"""Signs requests with botocore's own SigV4 signer, for sigv4_botocore_test.cpp.

Reads a JSON list of requests on stdin and prints, for each, the headers botocore set (and its
canonical request, for the test's failure message) as a JSON list on stdout:

  {"method": "PUT", "scheme": "https", "host": "b.s3.us-east-1.amazonaws.com",
   "path": "/raw key/é" (NOT encoded: encoded here the way botocore's S3 serializer encodes a
   key, percent_encode(path, safe="/~")),
   "query": [["uploadId", "x"], ...] (not encoded), "headers": [["Range", "bytes=0-9"], ...],
   "body": "text" (UTF-8), "unsigned_payload": false,
   "access_key": "...", "secret_key": "...", "token": "..." or "",
   "region": "us-east-1", "service": "s3", "time": "20130524T000000Z"}

Run with Debian's /usr/bin/python3 (python3-botocore). The clock is fixed by replacing the
`datetime` botocore.auth reads the current time from, as botocore's own tests patch it.
"""
import datetime
import json
import sys
import types

import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.utils

_now = None


class _FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return _now


botocore.auth.datetime = types.SimpleNamespace(datetime=_FixedDatetime)


def _capturing(signer_class):
    """The signer, remembering the canonical request it signed."""

    class Capturing(signer_class):
        captured = None

        def canonical_request(self, request):
            self.captured = super().canonical_request(request)
            return self.captured

    return Capturing


def sign(case):
    global _now
    _now = datetime.datetime.strptime(case["time"], "%Y%m%dT%H%M%SZ")
    path = botocore.utils.percent_encode(case["path"], safe="/~")
    request = botocore.awsrequest.AWSRequest(
        method=case["method"],
        url=f"{case['scheme']}://{case['host']}{path}",
        headers=dict(case["headers"]),
        data=case["body"].encode("utf-8"),
        params=[tuple(p) for p in case["query"]],
    )
    if case.get("unsigned_payload"):
        request.context["client_config"] = botocore.config.Config(
            s3={"payload_signing_enabled": False}
        )
    credentials = botocore.credentials.Credentials(
        case["access_key"], case["secret_key"], case["token"] or None
    )
    if case["service"] == "s3":
        signer = _capturing(botocore.auth.S3SigV4Auth)(credentials, "s3", case["region"])
    else:
        signer = _capturing(botocore.auth.SigV4Auth)(
            credentials, case["service"], case["region"]
        )
    signer.add_auth(request)
    return {
        "encoded_path": path,
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "canonical_request": signer.captured,
    }


def main():
    cases = json.load(sys.stdin)
    json.dump([sign(c) for c in cases], sys.stdout, ensure_ascii=True, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
