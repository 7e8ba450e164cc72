#include "s3/support/test_ca.hpp"

#include <random>
#include <sstream>
#include <stdexcept>

#include "s3/support/service_process.hpp"

namespace smrun::test {

namespace {

void openssl(const std::vector<std::string>& args, const fs::path& cwd) {
  ProcessOptions opts;
  opts.argv = {find_program("openssl").string()};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.cwd = cwd;
  opts.timeout = std::chrono::seconds(30);
  ProcessResult r = run_process(opts);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error("openssl" + cmd + " failed (exit " + std::to_string(r.exit_code) +
                             (r.timed_out ? ", timed out" : "") + "): " + r.err);
  }
}

std::string random_serial() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned long long> dist(1ULL << 32, (1ULL << 62));
  std::ostringstream s;
  s << "0x" << std::hex << dist(rd);
  return s.str();
}

}  // namespace

TestCa::TestCa(std::string common_name) {
  m_cert = m_dir / "ca.pem";
  m_key = m_dir / "ca.key";
  // An explicit config: the result must not depend on the machine's openssl.cnf.
  write_file(m_dir / "ca.cnf",
             "[req]\n"
             "distinguished_name = dn\n"
             "prompt = no\n"
             "x509_extensions = v3_ca\n"
             "[dn]\n"
             "CN = " +
                 common_name +
                 "\n"
                 "[v3_ca]\n"
                 "basicConstraints = critical,CA:TRUE\n"
                 "keyUsage = critical,keyCertSign,cRLSign\n"
                 "subjectKeyIdentifier = hash\n");
  openssl({"req", "-x509", "-config", "ca.cnf", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days",
           "2", "-set_serial", random_serial()},
          m_dir.path());
}

ServerCert TestCa::issue_server_cert(std::vector<std::string> subject_alt_names,
                                     const std::string& common_name) {
  const std::string name = "server" + std::to_string(++m_issued);
  std::string sans;
  for (const auto& s : subject_alt_names) sans += (sans.empty() ? "" : ",") + s;
  write_file(m_dir / (name + ".cnf"),
             "[req]\n"
             "distinguished_name = dn\n"
             "prompt = no\n"
             "[dn]\n"
             "CN = " +
                 common_name +
                 "\n"
                 "[ext]\n"
                 "basicConstraints = critical,CA:FALSE\n"
                 "keyUsage = critical,digitalSignature\n"
                 "extendedKeyUsage = serverAuth\n"
                 "subjectKeyIdentifier = hash\n"
                 "authorityKeyIdentifier = keyid\n" +
                 (sans.empty() ? "" : "subjectAltName = " + sans + "\n"));
  openssl(
      {"req", "-new", "-config", name + ".cnf", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key", "-out", name + ".csr"},
      m_dir.path());
  openssl({"x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial",
           random_serial(), "-days", "2", "-extfile", name + ".cnf", "-extensions", "ext", "-out",
           name + ".pem"},
          m_dir.path());
  return {m_dir / (name + ".pem"), m_dir / (name + ".key"), m_cert};
}

}  // namespace smrun::test
