#!/usr/bin/env python3
"""Caseline's layering check: fails on an #include that breaks the folder rules.

Reads every C++ file (.h, .cc) under the folders in LAYERS and prints one line
per forbidden include: `file:line: #include "x" -- rule`. Exit status 0 when
there is none, 1 when there is any, 2 on a usage error. The rules are stated
once, here, below; docs/testing.md ("Static checks") explains them.

    python3 tools/check_layering.py [--root DIR]

Both "..." and <...> includes are checked (a <rocksdb/db.h> is as much a
RocksDB include as a "rocksdb/db.h"). Includes inside comments or disabled
#if blocks are not told apart from live ones: write them so they pass.
"""

import argparse
import fnmatch
import os
import re
import sys

# ---------------------------------------------------------------------------
# The rules.
#
# 1. Layers. A folder may include its own headers and those of folders below
#    it, never above:
#      base < eventstore < care < projections < services < cluster
#           < server < tools < bench < tests
#    base/ is the bottom and includes only Abseil. proto/ (the generated
#    caseline/v1/*.pb.h and wire_constants.h) sits under everything but base/.
LAYERS = ["base", "eventstore", "care", "projections", "services", "cluster",
          "server", "tools", "bench", "tests"]

# 2. Public faces. A folder's headers are private unless listed here: a file
#    outside the folder may include only these. Patterns are fnmatch patterns
#    in which '*' does not cross a '/' and '**' does. A new header is private
#    until it is added to this list on purpose.
PUBLIC = {
    "base": ["base/mutex.h", "base/read_file.h", "base/status_macros.h"],
    # The log's narrow face (event_log.h), its plain value types (event.h),
    # the views' store, and two pure, documented pieces: the envelope
    # (docs/log_format.md; audit.cc re-seals events with it) and the request
    # checks (the request fuzzer runs them); signed heads (signing, the
    # offline check of a backup: the server, services and the CLI use it). Private: event_log_impl.h,
    # key_format.h, info_log.h.
    "eventstore": ["eventstore/event.h", "eventstore/event_log.h",
                   "eventstore/view_store.h", "eventstore/envelope.h",
                   "eventstore/validation.h",
                   "eventstore/replication.h", "eventstore/log_observer.h",
                   "eventstore/signed_head.h",
                   "eventstore/key_encryption.h",
                   "eventstore/payload_crypto.h"],
    # The care domain is the layer's whole purpose; proto_time.h is its own
    # helper.
    "care": ["care/access_policy.h", "care/care_decision.h",
             "care/care_event_context.h", "care/client_matching.h",
             "care/client_record.h", "care/client_state.h",
             "care/calendar.h", "care/command_catalog.h",
             "care/continuity.h", "care/event_summary.h", "care/measures.h",
             "care/organization_directory.h", "care/proto_time.h",
             "care/views_config.h", "care/worklist.h",
             "care/referral_list.h", "care/upcasting.h",
             "care/birth_date.h", "care/match_model.h", "care/nicknames.h"],
    # Private: record_cache.h, test_log.h (the folder's own test helper).
    "projections": ["projections/projection.h",
                    "projections/projection_engine.h",
                    "projections/access_projection.h",
                    "projections/audit.h", "projections/care_stream.h",
                    "projections/client_record_store.h",
                    "projections/continuity_projection.h",
                    "projections/duplication_projection.h"],
    # What server/ wires together; event_conversion.h is the request ->
    # command step the request fuzzer drives. Private: grpc_status.h.
    "services": ["services/access_control.h", "services/admin_service.h",
                 "services/care_command_handler.h",
                 "services/care_record_service.h",
                 "services/event_conversion.h",
                 "services/event_log_service.h",
                 "services/unparsed_request.h", "services/views_service.h"],
    # The etcd client (its face carries no gRPC or protobuf types; the
    # generated etcd/... headers are the folder's own).
    # What server/ wires: the cluster log and its options; the etcd client
    # (tests drive it). Private: cluster_node.h.
    "cluster": ["cluster/etcd_client.h", "cluster/cluster_log.h",
                "cluster/cluster_options.h"],
    # Private: access_config_file.h, views_config_file.h, listen_address.h.
    # server.h's options name the FHIR endpoint's (fhir_options.h); the
    # export's e2e test holds exports running with bulk_export.h's test hook
    # (which needs fhir_common.h and fhir_endpoint.h).
    "server": ["server/server.h", "server/health.h", "server/metrics.h",
               "server/fhir/fhir_options.h", "server/fhir/fhir_endpoint.h",
               "server/fhir/fhir_common.h", "server/fhir/bulk_export.h"],
    # The demo network (bench, tests) and the CLI's commands and JSON (tests).
    "tools": ["tools/demo/demo.h", "tools/cli_command.h", "tools/cli_json.h"],
    "bench": [],
    "tests": [],
}

# 3. Test-only headers: private, but tests/ may include them (they drive the
#    end-to-end tests' faults and damaged files). Never in a production
#    folder outside their own.
TEST_ONLY = ["eventstore/fault_injection_env.h", "eventstore/test_files.h",
             "eventstore/log_tamper.h"]

# 4. Third-party and special includes, by (include pattern, folders allowed,
#    why). An include that matches a pattern is allowed only in the listed
#    folders.
THIRD_PARTY = [
    ("rocksdb/**", {"eventstore"},
     "only eventstore/ includes rocksdb/ (the log owns the storage engine)"),
    ("grpcpp/**",
     {"services", "cluster", "server", "tools", "bench", "tests"},
     "grpc++ only in services/ and above (care/ and projections/ are "
     "transport-free)"),
    ("grpc/**",
     {"services", "cluster", "server", "tools", "bench", "tests"},
     "grpc only in services/ and above"),
    ("**.grpc.pb.h",
     {"services", "cluster", "server", "tools", "bench", "tests"},
     "gRPC stubs (*.grpc.pb.h) only in services/ and above"),
    ("unicode/**", {"care"},
     "ICU only in care/ (client matching's name and address normalisation, "
     "care/client_matching.cc); the layers above see normalised strings"),
    ("phonenumbers/**", {"care"},
     "libphonenumber only in care/ (client matching's E.164 phones, "
     "care/client_matching.cc)"),
    ("prometheus/**", {"server"},
     "prometheus-cpp only in server/ (server/metrics.cc; the layers below "
     "report through narrow interfaces such as eventstore/log_observer.h)"),
]

# 5. Narrower rules for one folder: only these of a lower folder's public
#    headers, and (for base/) only these third-party prefixes.
ONLY = {
    # The domain is pure: of the log it sees only the plain value types.
    ("care", "eventstore"): (["eventstore/event.h"],
                             "care/ may include only eventstore/event.h of "
                             "eventstore/ (the plain value types; no log I/O)"),
}
BASE_ALLOWED = ["absl/**", "base/**"]

# 6. Named exceptions: (file pattern, include pattern, why). Keep them few.
EXCEPTIONS = [
    ("bench/storage_baseline.*", "rocksdb/**",
     "the storage baseline measures bare RocksDB against the event log"),
    ("bench/storage_baseline.*", "eventstore/key_format.h",
     "the storage baseline writes the log's own key layout to bare RocksDB"),
    ("cluster/*_test.cc", "tests/etcd_cluster.h",
     "the cluster's unit tests run against real etcd members, started by "
     "the tests' harness"),
]
# ---------------------------------------------------------------------------

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
CPP_EXTENSIONS = (".h", ".cc", ".hpp", ".cpp", ".inc")
# Top-level folders that hold no layered C++ of ours: generated protos and
# hand-written proto constants, deployment, docs; build trees are skipped.
NON_LAYER_DIRS = {"proto", "deploy", "docs"}


def _glob_to_regex(pattern):
  """fnmatch, except that '*' and '?' do not cross a '/' and '**' does."""
  out = []
  i = 0
  while i < len(pattern):
    if pattern.startswith("**", i):
      out.append(".*")
      i += 2
      continue
    ch = pattern[i]
    if ch == "*":
      out.append("[^/]*")
    elif ch == "?":
      out.append("[^/]")
    else:
      out.append(re.escape(ch))
    i += 1
  return re.compile("".join(out) + r"\Z")


def matches(path, patterns):
  return any(_glob_to_regex(p).match(path) for p in patterns)


def folder_of(path):
  return path.split("/", 1)[0] if "/" in path else ""


def excepted(rel_file, include):
  return any(fnmatch.fnmatchcase(rel_file, f) and matches(include, [i])
             for f, i, _ in EXCEPTIONS)


def check_include(rel_file, include, quoted, root_dirs):
  """Returns the rule `include` breaks in `rel_file`, or None."""
  src = folder_of(rel_file)
  target = folder_of(include)
  if excepted(rel_file, include):
    return None

  if src == "base" and quoted and not matches(include, BASE_ALLOWED):
    return "base/ includes only Abseil (absl/) and base/"

  for pattern, allowed, why in THIRD_PARTY:
    if matches(include, [pattern]) and src not in allowed:
      return why

  if target not in LAYERS:
    if quoted and target in root_dirs and target not in NON_LAYER_DIRS:
      return (f"{target}/ is not in tools/check_layering.py's layers; add it "
              "there")
    return None

  if target == src:
    return None
  if LAYERS.index(target) > LAYERS.index(src):
    return (f"{src}/ may not include {target}/: layers include only the "
            f"layers below them ({' < '.join(LAYERS)})")
  if (src, target) in ONLY:
    allowed, why = ONLY[(src, target)]
    if not matches(include, allowed):
      return why
  if matches(include, TEST_ONLY):
    if src == "tests":
      return None
    return f"{include} is test-only: only {target}/ and tests/ include it"
  if not matches(include, PUBLIC[target]):
    return (f"{include} is private to {target}/ (public: "
            f"{', '.join(PUBLIC[target]) or 'none'})")
  return None


def cpp_files(root, top):
  base = os.path.join(root, top)
  for dirpath, dirnames, filenames in os.walk(base):
    dirnames.sort()
    for name in sorted(filenames):
      if name.endswith(CPP_EXTENSIONS):
        yield os.path.relpath(os.path.join(dirpath, name), root).replace(
            os.sep, "/")


def unlisted_folders(root):
  """Top-level folders with C++ files that the rules do not place."""
  out = []
  for name in sorted(os.listdir(root)):
    path = os.path.join(root, name)
    if (not os.path.isdir(path) or name.startswith((".", "build"))
        or name in LAYERS or name in NON_LAYER_DIRS):
      continue
    if any(True for _ in cpp_files(root, name)):
      out.append(name)
  return out


def run(root, out=sys.stdout):
  """Prints each violation under `root`; returns how many there were."""
  root_dirs = {d for d in os.listdir(root)
               if os.path.isdir(os.path.join(root, d))}
  violations = 0
  for name in unlisted_folders(root):
    print(f"{name}/: C++ files in a folder tools/check_layering.py does not "
          "place; add it to LAYERS and PUBLIC", file=out)
    violations += 1
  for top in LAYERS:
    if not os.path.isdir(os.path.join(root, top)):
      continue
    for rel in cpp_files(root, top):
      with open(os.path.join(root, rel), encoding="utf-8",
                errors="replace") as f:
        for lineno, line in enumerate(f, 1):
          m = INCLUDE_RE.match(line)
          if not m:
            continue
          quoted = m.group(1) == '"'
          include = m.group(2).strip()
          why = check_include(rel, include, quoted, root_dirs)
          if why:
            shown = f'"{include}"' if quoted else f"<{include}>"
            print(f"{rel}:{lineno}: #include {shown} -- {why}", file=out)
            violations += 1
  return violations


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument(
      "--root", default=os.path.dirname(os.path.dirname(os.path.abspath(
          __file__))), help="repository root (default: this script's ../)")
  args = parser.parse_args(argv)
  if not os.path.isdir(args.root):
    print(f"check_layering: no such directory: {args.root}", file=sys.stderr)
    return 2
  violations = run(args.root)
  if violations:
    print(f"check_layering: {violations} forbidden include(s); the rules are "
          "in tools/check_layering.py and docs/testing.md", file=sys.stderr)
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
