"""A stand-in for the container credentials endpoint or EC2 instance metadata (IMDSv2), on
127.0.0.1 only, for credentials_test.cpp.

  credential_server.py container|imds [--token T] [--expiration ISO8601] [--fail-first N]
                       [--fail-after N] [--status N] [--body TEXT]

Prints "PORT <n>" once it listens, then serves until killed. Every credentials document has a
new key: AccessKeyId "STANDINKEY<n>", SecretAccessKey "stand-in-secret-<n>", Token
"stand-in-token-<n>" (n counts credentials documents served). GET /__log returns the requests
seen so far (method, path, headers) as JSON.

container: any GET path answers the document; with --token, an Authorization header other than
  T is answered 401.
imds: PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds and answers a session
  token; every GET needs X-aws-ec2-metadata-token with it (else 401). The role list is
  "stand-in-role", its document at .../security-credentials/stand-in-role.
--fail-first N answers the first N credential requests 500, --fail-after N every request after
N documents were served; --status N answers every credentials document request N; --body
replaces the document.
"""
import argparse
import http.server
import json
import sys
import threading

SESSION = "imds-session-token-0123456789"
ROLE = "stand-in-role"
CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["container", "imds"])
    parser.add_argument("--token")
    parser.add_argument("--expiration", default="2040-01-01T00:00:00Z")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-after", type=int, default=-1)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--body")
    args = parser.parse_args()

    lock = threading.Lock()
    state = {"served": 0, "failures_left": args.fail_first, "log": []}

    def document():
        state["served"] += 1
        n = state["served"]
        return json.dumps(
            {
                "Code": "Success",
                "LastUpdated": "2020-01-01T00:00:00Z",
                "Type": "AWS-HMAC",
                "AccessKeyId": f"STANDINKEY{n}",
                "SecretAccessKey": f"stand-in-secret-{n}",
                "Token": f"stand-in-token-{n}",
                "Expiration": args.expiration,
            }
        )

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *unused):
            pass

        def reply(self, status, body=""):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with lock:
                if self.path == "/__log":
                    return self.reply(200, json.dumps(state["log"]))
                state["log"].append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers)}
                )
                if args.mode == "container":
                    return self.container()
                return self.imds()

        def credentials(self):
            if 0 <= args.fail_after <= state["served"]:
                return self.reply(500, "{}")
            if state["failures_left"] > 0:
                state["failures_left"] -= 1
                return self.reply(500, "{}")
            if args.status != 200:
                return self.reply(args.status, '{"message": "refused"}')
            return self.reply(200, args.body if args.body is not None else document())

        def container(self):
            if self.command != "GET":
                return self.reply(405)
            if args.token is not None and self.headers.get("Authorization") != args.token:
                return self.reply(401, '{"message": "bad token"}')
            return self.credentials()

        def imds(self):
            if self.path == "/latest/api/token":
                if self.command != "PUT":
                    return self.reply(405)
                if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.reply(400)
                return self.reply(200, SESSION)
            if self.headers.get("X-aws-ec2-metadata-token") != SESSION:
                return self.reply(401)
            if self.command != "GET":
                return self.reply(405)
            if self.path == CREDS_PATH:
                return self.reply(200, ROLE + "\n")
            if self.path == CREDS_PATH + ROLE:
                return self.credentials()
            return self.reply(404)

        do_GET = do_PUT = do_POST = handle_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    sys.stdout.write(f"PORT {server.server_address[1]}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
