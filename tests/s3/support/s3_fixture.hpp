#pragma once

// Everything the s3 tests use to run real components on loopback only (one include):
//   loopback.hpp         the binary's loopback-only network namespace; isolated_child_env()
//   s3_server.hpp        S3Server (npm s3rver over HTTP or HTTPS), S3Objects (botocore)
//   test_ca.hpp          TestCa: a CA and server certificates made with openssl at test time
//   fault_proxy.hpp      FaultProxy: scripted S3 faults in front of an S3Server, request log
//   raw_http.hpp         raw_http_exchange(): one HTTP exchange with no library in between
//   service_process.hpp  ServiceProcess: how those servers are started and stopped

#include "s3/support/fault_proxy.hpp"
#include "s3/support/loopback.hpp"
#include "s3/support/raw_http.hpp"
#include "s3/support/s3_server.hpp"
#include "s3/support/service_process.hpp"
#include "s3/support/test_ca.hpp"
