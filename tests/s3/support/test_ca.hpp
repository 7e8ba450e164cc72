#pragma once

// A throw-away certificate authority for HTTPS tests, made with the openssl CLI (argv, no
// shell) in a temporary directory: P-256 keys, valid for two days from now.
//
//   TestCa ca;                                   // CA key + self-signed CA certificate
//   ServerCert cert = ca.issue_server_cert();    // for 127.0.0.1 and localhost
//   S3Server server({.tls = cert});              // https://127.0.0.1:PORT
//   env["AWS_CA_BUNDLE"] = ca.cert().string();   // what the client must trust
//
// A second TestCa is an unrelated CA: a client trusting only it must refuse the server.

#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace smrun::test {

struct ServerCert {
  fs::path cert;  // PEM: the server certificate (leaf only)
  fs::path key;   // PEM: its private key (unencrypted)
  fs::path ca;    // PEM: the certificate of the CA that signed it
};

class TestCa {
 public:
  explicit TestCa(std::string common_name = "smrun test CA");
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // The CA certificate (PEM): pass as AWS_CA_BUNDLE / HttpOptions::ca_bundle.
  const fs::path& cert() const { return m_cert; }
  const fs::path& dir() const { return m_dir.path(); }

  // A server certificate signed by this CA, with these subjectAltName entries (openssl syntax).
  ServerCert issue_server_cert(std::vector<std::string> subject_alt_names = {"IP:127.0.0.1",
                                                                             "DNS:localhost"},
                               const std::string& common_name = "localhost");

 private:
  TempDir m_dir;
  fs::path m_cert;
  fs::path m_key;
  int m_issued = 0;
};

}  // namespace smrun::test
