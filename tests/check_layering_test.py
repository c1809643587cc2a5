#!/usr/bin/env python3
"""Tests for tools/check_layering.py: the real tree passes, and a copy of it
with planted forbidden includes fails naming each one (ctest: check_layering).

    python3 tests/check_layering_test.py [-v]
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK = os.path.join(REPO, "tools", "check_layering.py")
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(CHECK))
import check_layering  # noqa: E402  (after the path is set)


def run_check(root):
  result = subprocess.run([sys.executable, CHECK, "--root", root],
                          capture_output=True, text=True, check=False)
  return result.returncode, result.stdout


class RealTreeTest(unittest.TestCase):

  def test_real_tree_passes(self):
    code, out = run_check(REPO)
    self.assertEqual(code, 0, out)
    self.assertEqual(out, "")


class PlantedViolationTest(unittest.TestCase):
  """A copy of the real tree's layered folders, then one bad include each."""

  def setUp(self):
    self.root = tempfile.mkdtemp(prefix="check_layering_test.")
    self.addCleanup(shutil.rmtree, self.root)
    keep = check_layering.CPP_EXTENSIONS
    for top in check_layering.LAYERS:
      shutil.copytree(
          os.path.join(REPO, top), os.path.join(self.root, top),
          ignore=lambda d, names: [
              n for n in names
              if not n.endswith(keep) and not os.path.isdir(os.path.join(d, n))])

  def plant(self, rel, include):
    """Appends `#include include` to rel (created if absent); its line no."""
    path = os.path.join(self.root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lines = 0
    if os.path.exists(path):
      with open(path, encoding="utf-8") as f:
        lines = sum(1 for _ in f)
    with open(path, "a", encoding="utf-8") as f:
      f.write(f"#include {include}\n")
    return lines + 1

  def assert_fails_naming(self, planted):
    """planted: [(rel, line, include)]; exactly these lines are reported."""
    code, out = run_check(self.root)
    self.assertEqual(code, 1, out)
    reported = out.splitlines()
    self.assertEqual(len(reported), len(planted), out)
    for rel, line, include in planted:
      self.assertTrue(
          any(r.startswith(f"{rel}:{line}: #include {include} -- ")
              for r in reported), f"{rel}:{line} {include} not in:\n{out}")
    return out

  def test_copy_passes_before_planting(self):
    self.assertEqual(run_check(self.root), (0, ""))

  def test_care_including_the_log_and_services_a_private_header_fail(self):
    care = "care/client_record.h"
    services = "services/access_control.cc"
    planted = [
        (care, self.plant(care, '"eventstore/event_log.h"'),
         '"eventstore/event_log.h"'),
        (services, self.plant(services, '"eventstore/event_log_impl.h"'),
         '"eventstore/event_log_impl.h"'),
    ]
    out = self.assert_fails_naming(planted)
    self.assertIn("care/ may include only eventstore/event.h", out)
    self.assertIn("eventstore/event_log_impl.h is private to eventstore/",
                  out)

  def test_each_rule(self):
    cases = [
        ("eventstore/event.cc", '"care/client_record.h"', "layers below"),
        ("base/mutex.h", '"caseline/v1/views.pb.h"', "only Abseil"),
        ("care/continuity.cc", "<rocksdb/db.h>", "only eventstore/"),
        ("care/care_decision.cc", '"caseline/v1/care_record.grpc.pb.h"',
         "gRPC stubs"),
        ("projections/audit.cc", '"grpcpp/grpcpp.h"', "grpc++ only"),
        ("services/views_service.cc", '"prometheus/registry.h"',
         "prometheus-cpp only in server/"),
        ("services/views_service.cc", '"projections/record_cache.h"',
         "private to projections/"),
        ("services/views_service.cc", '"eventstore/fault_injection_env.h"',
         "test-only"),
        ("bench/bench_util.cc", '"eventstore/key_format.h"',
         "private to eventstore/"),
        ("tools/demo.cc", '"bench/bench_util.h"', "layers below"),
        ("tests/crash_test.cc", '"server/listen_address.h"',
         "private to server/"),
    ]
    planted = []
    for rel, include, _ in cases:
      planted.append((rel, self.plant(rel, include), include))
    out = self.assert_fails_naming(planted)
    for (rel, line, include), (_, _, why) in zip(planted, cases):
      row = next(r for r in out.splitlines()
                 if r.startswith(f"{rel}:{line}: "))
      self.assertIn(why, row)

  def test_allowed_includes_pass(self):
    # Test-only headers in tests/, the named bench exception, own-folder
    # private headers, public headers from above, system headers in base/.
    self.plant("tests/crash_test.cc", '"eventstore/fault_injection_env.h"')
    self.plant("bench/storage_baseline.cc", '"rocksdb/db.h"')
    self.plant("eventstore/view_store.cc", '"eventstore/key_format.h"')
    self.plant("server/server.cc", '"projections/projection_engine.h"')
    self.plant("care/client_state.cc", '"eventstore/event.h"')
    self.plant("base/mutex.h", "<sys/types.h>")
    self.assertEqual(run_check(self.root), (0, ""))

  def test_unplaced_folder_fails(self):
    self.plant("records/client_record_store.h", '"care/client_record.h"')
    self.plant("services/views_service.cc", '"records/client_record_store.h"')
    code, out = run_check(self.root)
    self.assertEqual(code, 1, out)
    self.assertIn("records/: C++ files in a folder", out)
    self.assertIn("records/ is not in tools/check_layering.py's layers", out)


if __name__ == "__main__":
  unittest.main()
